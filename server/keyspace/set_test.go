package keyspace

import (
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"testing"
)

func setMembers(s *Set) []string {
	var out []string
	for _, m := range s.Members(nil) {
		out = append(out, string(m))
	}
	return out
}

func checkSet(t testing.TB, s *Set, model map[string]bool) {
	t.Helper()
	if err := s.CheckSet(); err != nil {
		t.Fatal(err)
	}
	if s.Len() != len(model) {
		t.Fatalf("Len %d, model %d", s.Len(), len(model))
	}
	ms := setMembers(s)
	if len(ms) != len(model) {
		t.Fatalf("Members lists %d, model %d", len(ms), len(model))
	}
	for i, m := range ms {
		if !model[m] {
			t.Fatalf("member %q not in the model", m)
		}
		if string(s.Member(i)) != m {
			t.Fatalf("Member(%d) = %q, Members[%d] = %q", i, s.Member(i), i, m)
		}
	}
	var each []string
	s.Each(func(m []byte) bool { each = append(each, string(m)); return true })
	if !slices.Equal(each, ms) {
		t.Fatal("Each and Members disagree")
	}
	if s.IsIntset() {
		vs, _ := s.Ints()
		if !slices.IsSorted(vs) {
			t.Fatal("intset not sorted")
		}
	}
}

// setOps applies a seeded random sequence of operations to s and a model,
// checking the encoding rule (intset until a non-integer or the 513th
// member, never back) on the way, and returns the member order at the end.
func setOps(t *testing.T, seed uint64, n int, s *Set) []string {
	r := rand.New(rand.NewPCG(seed, 1))
	model := map[string]bool{}
	intset := true
	universe := 40 + r.IntN(2000)
	member := func() []byte {
		i := r.IntN(universe)
		switch i % 7 {
		case 0:
			return []byte("m" + strconv.Itoa(i))
		case 1:
			return []byte(strconv.Itoa(-i))
		case 2:
			return []byte("0" + strconv.Itoa(i)) // not canonical
		}
		return []byte(strconv.Itoa(i))
	}
	nonInts := r.IntN(3) == 0
	for step := 0; step < n; step++ {
		switch op := r.IntN(10); {
		case op < 5:
			m := member()
			if !nonInts {
				m = []byte(strconv.Itoa(r.IntN(universe)))
			}
			added := s.Add(m)
			if added == model[string(m)] {
				t.Fatalf("Add(%q) = %v, model has it: %v", m, added, model[string(m)])
			}
			model[string(m)] = true
			if _, ok := ParseSetInt(m); !ok || len(model) > SetMaxIntsetEntries {
				intset = false
			}
		case op < 7:
			m := member()
			removed := s.Remove(m)
			if removed != model[string(m)] {
				t.Fatalf("Remove(%q) = %v, model has it: %v", m, removed, model[string(m)])
			}
			delete(model, string(m))
		case op < 8:
			if s.Len() > 0 {
				m := string(s.RemoveAt(r.IntN(s.Len())))
				if !model[m] {
					t.Fatalf("RemoveAt returned %q, not a member", m)
				}
				delete(model, m)
			}
		default:
			m := member()
			if s.Has(m) != model[string(m)] {
				t.Fatalf("Has(%q) wrong", m)
			}
		}
		if s.IsIntset() != intset {
			t.Fatalf("step %d: encoding %s, want intset=%v (len %d)", step, s.Encoding(), intset, len(model))
		}
		if step%613 == 0 {
			checkSet(t, s, model)
		}
	}
	checkSet(t, s, model)
	return setMembers(s)
}

func TestSetModel(t *testing.T) {
	for seed := uint64(0); seed < 24; seed++ {
		a := setOps(t, seed, 6000, NewSet())
		b := setOps(t, seed, 6000, NewSet())
		if !slices.Equal(a, b) {
			t.Fatalf("seed %d: the same operations gave different orders", seed)
		}
	}
}

func TestParseSetInt(t *testing.T) {
	good := map[string]int64{"0": 0, "1": 1, "-1": -1, "9223372036854775807": 1<<63 - 1,
		"-9223372036854775808": -1 << 63, "123": 123}
	for s, v := range good {
		if got, ok := ParseSetInt([]byte(s)); !ok || got != v {
			t.Errorf("%q: %d %v", s, got, ok)
		}
	}
	for _, s := range []string{"", "-", "-0", "01", "+1", " 1", "1 ", "1.0", "9223372036854775808",
		"-9223372036854775809", "18446744073709551616", "99999999999999999999", "1e3", "0x10"} {
		if _, ok := ParseSetInt([]byte(s)); ok {
			t.Errorf("%q parsed", s)
		}
	}
}

func TestSetEncodings(t *testing.T) {
	s := NewSet()
	for i := 0; i < SetMaxIntsetEntries; i++ {
		s.Add([]byte(strconv.Itoa(i * 3)))
	}
	if s.Encoding() != "intset" {
		t.Fatal(s.Encoding())
	}
	s.Add([]byte("0")) // existing: no change
	if s.Encoding() != "intset" {
		t.Fatal(s.Encoding())
	}
	s.Add([]byte("1"))
	if s.Encoding() != "hashtable" || s.Len() != 513 {
		t.Fatal(s.Encoding(), s.Len())
	}
	for i := 0; i < 500; i++ {
		s.Remove([]byte(strconv.Itoa(i * 3)))
	}
	if s.Encoding() != "hashtable" {
		t.Fatal("converted back")
	}
	if err := s.CheckSet(); err != nil {
		t.Fatal(err)
	}
	s2 := NewSet()
	s2.Add([]byte("5"))
	s2.Add([]byte("-3"))
	if got := setMembers(s2); !slices.Equal(got, []string{"-3", "5"}) {
		t.Fatal(got)
	}
	s2.Add([]byte("a"))
	if s2.Encoding() != "hashtable" || !s2.Has([]byte("5")) || !s2.Has([]byte("a")) {
		t.Fatal("conversion lost members")
	}
	// Large ints near the limits.
	s3 := NewSet()
	s3.AddInt(-1 << 63)
	s3.AddInt(1<<63 - 1)
	if got := setMembers(s3); !slices.Equal(got, []string{"-9223372036854775808", "9223372036854775807"}) {
		t.Fatal(got)
	}
}

// TestSetCloneCopyOnWrite mutates clones and originals of sets of every
// representation and checks that neither sees the other's changes.
func TestSetCloneCopyOnWrite(t *testing.T) {
	for _, n := range []int{5, 100, 300, 5000} {
		for _, ints := range []bool{true, false} {
			s := NewSet()
			for i := 0; i < n; i++ {
				if ints {
					s.AddInt(int64(i))
				} else {
					s.Add([]byte("m" + strconv.Itoa(i)))
				}
			}
			mutate := func(x *Set, seed uint64) {
				r := rand.New(rand.NewPCG(seed, 9))
				for range 3 * n {
					switch r.IntN(3) {
					case 0:
						x.Add([]byte("x" + strconv.Itoa(r.IntN(2*n))))
					case 1:
						x.Remove([]byte("m" + strconv.Itoa(r.IntN(n))))
						x.Remove([]byte(strconv.Itoa(r.IntN(n))))
					default:
						if x.Len() > 1 {
							x.RemoveAt(r.IntN(x.Len()))
						}
					}
				}
				if err := x.CheckSet(); err != nil {
					t.Fatal(err)
				}
			}
			orig := setMembers(s)
			c := s.Clone().(*Set)
			mutate(c, 1)
			if !slices.Equal(setMembers(s), orig) {
				t.Fatalf("n=%d ints=%v: mutating a clone changed the original", n, ints)
			}
			// Now both are live (COPY): mutate the original too.
			cm := setMembers(c)
			c2 := c.Clone().(*Set)
			mutate(s, 2)
			if !slices.Equal(setMembers(c), cm) || !slices.Equal(setMembers(c2), cm) {
				t.Fatalf("n=%d ints=%v: mutating the original changed a clone", n, ints)
			}
			mutate(c, 3)
			if !slices.Equal(setMembers(c2), cm) {
				t.Fatalf("n=%d ints=%v: mutating a clone changed its clone", n, ints)
			}
			for _, x := range []*Set{s, c, c2} {
				if err := x.CheckSet(); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}

// TestSetScanGuarantee checks SSCAN's guarantee on a table: a member
// present for the whole iteration is returned at least once, while other
// members are added and removed and the table grows and shrinks between
// calls.
func TestSetScanGuarantee(t *testing.T) {
	for seed := uint64(0); seed < 20; seed++ {
		r := rand.New(rand.NewPCG(seed, 3))
		s := NewSet()
		stable := map[string]bool{}
		for i := 0; i < 200+r.IntN(3000); i++ {
			m := "s" + strconv.Itoa(i)
			s.Add([]byte(m))
			stable[m] = true
		}
		seen := map[string]bool{}
		cursor := uint64(0)
		calls := 0
		for {
			cursor = s.Scan(cursor, int64(1+r.IntN(30)), func(m []byte) { seen[string(m)] = true })
			calls++
			if cursor == 0 {
				break
			}
			switch r.IntN(4) {
			case 0: // grow a lot
				for range r.IntN(5000) {
					s.Add([]byte("t" + strconv.Itoa(r.IntN(1e6))))
				}
			case 1: // shrink: remove transient members
				var drop [][]byte
				s.Each(func(m []byte) bool {
					if m[0] == 't' && r.IntN(4) != 0 {
						drop = append(drop, append([]byte(nil), m...))
					}
					return true
				})
				for _, m := range drop {
					s.Remove(m)
				}
			}
			if calls > 1e6 {
				t.Fatal("scan does not terminate")
			}
		}
		for m := range stable {
			if !seen[m] {
				t.Fatalf("seed %d: %q never returned", seed, m)
			}
		}
		if err := s.CheckSet(); err != nil {
			t.Fatal(err)
		}
	}
	// A small set and an intset come whole with cursor 0.
	s := NewSet()
	s.Add([]byte("a"))
	s.Add([]byte("b"))
	n := 0
	if c := s.Scan(12345, 1, func([]byte) { n++ }); c != 0 || n != 2 {
		t.Fatal(c, n)
	}
}

func setDB() *DB {
	db := New()
	is := NewSet()
	for _, v := range []int64{5, -2, 1 << 40, 0} {
		is.AddInt(v)
	}
	db.Put([]byte("intset"), nil, is, 0)
	small := NewSet()
	for _, m := range []string{"z", "a", "", "\x00bin", "12"} {
		small.Add([]byte(m))
	}
	db.Put([]byte("small"), nil, small, 99)
	big := NewSet()
	for i := 0; i < 3000; i++ {
		big.Add([]byte("member:" + strconv.Itoa(i)))
	}
	for i := 0; i < 3000; i += 3 {
		big.Remove([]byte("member:" + strconv.Itoa(i)))
	}
	db.Put([]byte("big"), nil, big, 0)
	shrunk := NewSet()
	for i := 0; i < 600; i++ {
		shrunk.AddInt(int64(i))
	}
	for i := 3; i < 600; i++ {
		shrunk.AddInt(int64(i)) // no-op
		shrunk.Remove([]byte(strconv.Itoa(i)))
	}
	db.Put([]byte("shrunk"), nil, shrunk, 0) // a 3-member table of integers
	return db
}

func TestSetSnapshotRoundTrip(t *testing.T) {
	db := setDB()
	want := dump(t, db)
	got := load(t, serialize(t, db.Snapshot()))
	compareDumps(t, "set round trip", dump(t, got), want)
	if got.Digest() != db.Digest() {
		t.Fatal("digest")
	}
	if e := dump(t, got)["shrunk"].enc; e != "hashtable" {
		t.Fatalf("shrunk set loaded as %s", e)
	}
	for _, k := range []string{"intset", "small", "big", "shrunk"} {
		s := got.Peek([]byte(k)).Obj.(*Set)
		if err := s.CheckSet(); err != nil {
			t.Fatal(k, err)
		}
		s.Add([]byte("after-load"))
	}
	// Garbled set bodies are refused, not panicked on.
	b := serialize(t, db.Snapshot())
	for i := len(snapMagic); i < len(b); i += 1 + len(b)/300 {
		c := append([]byte(nil), b...)
		c[i] ^= 0x5a
		if err := checkLoad(c); err != nil {
			t.Fatalf("garbled at %d: %v", i, err)
		}
	}
}

// FuzzLoadSets feeds garbled snapshots holding sets of every
// representation to Load.
func FuzzLoadSets(f *testing.F) {
	db := New()
	is := NewSet()
	is.AddInt(3)
	is.AddInt(-1)
	db.Put([]byte("i"), nil, is, 0)
	small := NewSet()
	small.Add([]byte("a"))
	small.Add([]byte("b"))
	db.Put([]byte("s"), nil, small, 0)
	table := NewSet()
	for i := 0; i < 130; i++ {
		table.Add([]byte(strconv.Itoa(i%10*1000 + i)))
	}
	table.Add([]byte("x"))
	for i := 0; i < 125; i++ {
		table.RemoveAt(0)
	}
	db.Put([]byte("t"), nil, table, 0)
	f.Add(serialize(f, db.Snapshot()))
	f.Fuzz(func(t *testing.T, b []byte) {
		if err := checkLoad(b); err != nil {
			t.Fatal(err)
		}
	})
}

// TestSetSnapshotEachMutation checks copy-on-write for set writes.
func TestSetSnapshotEachMutation(t *testing.T) {
	muts := map[string]func(s *Set){
		"add":     func(s *Set) { s.Add([]byte("new")) },
		"add int": func(s *Set) { s.AddInt(77) },
		"remove":  func(s *Set) { s.RemoveAt(0); s.Remove(s.Member(s.Len() - 1)) },
		"grow": func(s *Set) {
			for i := range 5000 {
				s.Add([]byte("g" + strconv.Itoa(i)))
			}
		},
		"drain": func(s *Set) {
			for s.Len() > 1 {
				s.RemoveAt(s.Len() / 2)
			}
		},
		"add many": func(s *Set) {
			for i := range 600 {
				s.AddInt(int64(i))
			}
		},
	}
	for name, mut := range muts {
		for _, k := range []string{"intset", "small", "big", "shrunk"} {
			db := setDB()
			want := dump(t, db)
			snap := db.Snapshot()
			mut(db.Mutable(db.Peek([]byte(k))).Obj.(*Set))
			if equalState(dump(t, db)[k], want[k]) {
				t.Errorf("%s on %s changed nothing", name, k)
			}
			compareDumps(t, name+" "+k, dump(t, load(t, serialize(t, snap))), want)
			if snap.Digest() == db.Digest() {
				t.Errorf("%s on %s: digest unchanged", name, k)
			}
		}
	}
}

// TestSetMemory measures the heap used by a set of 1M small members
// ("member:N"). Redis 7.0 uses about 56 bytes a member for the same set
// (dictEntry 24 + sds 24 + buckets 8); the target is at most 2.5 times
// that.
func TestSetMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	const n = 1_000_000
	members := make([][]byte, n)
	for i := range members {
		members[i] = []byte("member:" + strconv.Itoa(i))
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	s := NewSet()
	for _, m := range members {
		s.Add(m)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	per := float64(after.HeapAlloc-before.HeapAlloc) / n
	t.Logf("%.1f bytes a member (%d members)", per, s.Len())
	if per > 2.5*56 {
		t.Errorf("%.1f bytes a member, more than 2.5x Redis", per)
	}
	runtime.KeepAlive(s)
	runtime.KeepAlive(members)
}

func BenchmarkSetAdd(b *testing.B) {
	ms := make([][]byte, 1<<20)
	for i := range ms {
		ms[i] = []byte("member:" + strconv.Itoa(i))
	}
	s := NewSet()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i&(1<<20-1) == 0 {
			s = NewSet()
		}
		s.Add(ms[i&(1<<20-1)])
	}
}

func BenchmarkSetHas(b *testing.B) {
	s := NewSet()
	ms := make([][]byte, 1<<16)
	for i := range ms {
		ms[i] = []byte("member:" + strconv.Itoa(i))
		s.Add(ms[i])
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.Has(ms[i&(1<<16-1)])
	}
}

func BenchmarkSetPop(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	s := NewSet()
	next := 0
	for b.Loop() {
		if s.Len() == 0 {
			b.StopTimer()
			for range 1 << 16 {
				s.Add([]byte("member:" + strconv.Itoa(next)))
				next++
			}
			b.StartTimer()
		}
		s.RemoveAt(r.IntN(s.Len()))
	}
}

// TestSetSnapshotConcurrent serializes snapshots on another goroutine
// while the writer keeps mutating (and cloning, as COPY does) large sets
// that the snapshots share; run it with -race.
func TestSetSnapshotConcurrent(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	db := New()
	for k := 0; k < 4; k++ {
		s := NewSet()
		for i := 0; i < 20000; i++ {
			s.Add([]byte("m" + strconv.Itoa(i)))
		}
		db.Put([]byte("k"+strconv.Itoa(k)), nil, s, 0)
	}
	for round := 0; round < 5; round++ {
		want := dump(t, db)
		snap := db.Snapshot()
		started := make(chan struct{})
		res := serializeAsync(snap, started)
		<-started
		var got snapResult
		for done, ops := false, 0; !done || ops < 20000; ops++ {
			k := []byte("k" + strconv.Itoa(r.IntN(4)))
			it := db.Mutable(db.Peek(k))
			s := it.Obj.(*Set)
			switch r.IntN(4) {
			case 0:
				s.Add([]byte("n" + strconv.Itoa(r.IntN(50000))))
			case 1:
				s.Remove([]byte("m" + strconv.Itoa(r.IntN(20000))))
			case 2:
				if s.Len() > 1 {
					s.RemoveAt(r.IntN(s.Len()))
				}
			default:
				if r.IntN(500) == 0 { // COPY: both stay live
					db.Put([]byte("copy"), nil, s.Clone(), 0)
					s.Add([]byte("after-copy"))
				}
			}
			if !done {
				select {
				case got = <-res:
					done = true
				default:
				}
			}
		}
		if got.err != nil {
			t.Fatal(got.err)
		}
		compareDumps(t, "concurrent snapshot", dump(t, load(t, got.b)), want)
	}
	for _, k := range []string{"k0", "k1", "k2", "k3", "copy"} {
		if err := db.Peek([]byte(k)).Obj.(*Set).CheckSet(); err != nil {
			t.Fatal(k, err)
		}
	}
}
