package keyspace

import (
	"bytes"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// model is a sorted slice of entries that the tree must mirror.
type zmodel []ZEntry

func (m zmodel) find(e ZEntry) (int, bool) {
	return slices.BinarySearchFunc(m, e, func(a, b ZEntry) int {
		if zless(a, b) {
			return -1
		}
		if zless(b, a) {
			return 1
		}
		return 0
	})
}

func checkTree(t *testing.T, tr *ztree, m zmodel) {
	t.Helper()
	if tr.n != len(m) {
		t.Fatalf("len %d, model %d", tr.n, len(m))
	}
	if tr.root != nil {
		if got := tr.root.size(); got != len(m) {
			t.Fatalf("root size %d, model %d", got, len(m))
		}
		checkNode(t, tr.root, nil, nil, true)
	}
	i := 0
	tr.ascend(0, func(e ZEntry) bool {
		if e != m[i] {
			t.Fatalf("ascend %d: %v, model %v", i, e, m[i])
		}
		i++
		return true
	})
	if i != len(m) {
		t.Fatalf("ascend visited %d of %d", i, len(m))
	}
}

// checkNode verifies counts, separators and fill of a subtree whose
// entries must lie in [lo, hi).
func checkNode(t *testing.T, n *ztNode, lo, hi *ZEntry, root bool) int {
	t.Helper()
	if n.leaf() {
		for i, e := range n.items {
			if i > 0 && !zless(n.items[i-1], e) {
				t.Fatalf("leaf out of order")
			}
			if lo != nil && zless(e, *lo) || hi != nil && !zless(e, *hi) {
				t.Fatalf("leaf entry %v outside [%v, %v)", e, lo, hi)
			}
		}
		if len(n.items) > ztMaxLeaf {
			t.Fatalf("leaf overfull: %d", len(n.items))
		}
		return len(n.items)
	}
	if len(n.items) != len(n.kids)-1 || len(n.counts) != len(n.kids) {
		t.Fatalf("inner shape: %d seps, %d kids, %d counts", len(n.items), len(n.kids), len(n.counts))
	}
	if len(n.kids) > ztMaxKids || len(n.kids) < 1 || (root && len(n.kids) < 2) {
		t.Fatalf("inner fill: %d kids", len(n.kids))
	}
	total := 0
	for j, k := range n.kids {
		l, h := lo, hi
		if j > 0 {
			l = &n.items[j-1]
		}
		if j < len(n.items) {
			h = &n.items[j]
		}
		c := checkNode(t, k, l, h, false)
		if c != n.counts[j] {
			t.Fatalf("count %d, subtree has %d", n.counts[j], c)
		}
		total += c
	}
	return total
}

func TestZTreeRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := 0; round < 6; round++ {
		tr := newZtree()
		var m zmodel
		// Snapshots taken along the way must keep their content.
		type snap struct {
			tr ztree
			m  zmodel
		}
		var snaps []snap
		ops := 20000
		keys := 1 + rng.IntN(5000)
		for i := 0; i < ops; i++ {
			e := ZEntry{float64(rng.IntN(keys/3 + 1)), strconv.Itoa(rng.IntN(keys))}
			if round%2 == 1 {
				e.Score = float64(i) // ascending loads
			}
			idx, found := m.find(e)
			switch r := rng.IntN(10); {
			case r < 6:
				if !found {
					tr.insert(e)
					m = slices.Insert(m, idx, e)
				}
			default:
				if rng.IntN(3) == 0 && len(m) > 0 {
					e = m[rng.IntN(len(m))]
					idx, found = m.find(e)
				}
				if got := tr.delete(e); got != found {
					t.Fatalf("delete %v: %v, model %v", e, got, found)
				}
				if found {
					m = slices.Delete(m, idx, idx+1)
				}
			}
			if tr.rank(e) != idx {
				t.Fatalf("rank %v: %d, model %d", e, tr.rank(e), idx)
			}
			if len(m) > 0 {
				k := rng.IntN(len(m))
				if tr.at(k) != m[k] {
					t.Fatalf("at %d", k)
				}
			}
			if i%2000 == 0 {
				checkTree(t, &tr, m)
				snaps = append(snaps, snap{tr.copy(), slices.Clone(m)})
			}
		}
		checkTree(t, &tr, m)
		for _, s := range snaps {
			checkTree(t, &s.tr, s.m)
		}
		// Delete everything.
		for len(m) > 0 {
			k := rng.IntN(len(m))
			if !tr.delete(m[k]) {
				t.Fatal("delete existing failed")
			}
			m = slices.Delete(m, k, k+1)
		}
		checkTree(t, &tr, m)
		if tr.root != nil {
			t.Fatal("empty tree has a root")
		}
	}
}

func TestZTreeSearchDescend(t *testing.T) {
	var m zmodel
	for i := 0; i < 5000; i++ {
		m = append(m, ZEntry{float64(i / 3), strconv.Itoa(100000 + i)})
	}
	tr := buildZtree(m)
	checkTree(t, &tr, m)
	for _, s := range []float64{-1, 0, 1, 7, 1666, 1667, 5000} {
		want := slices.IndexFunc(m, func(e ZEntry) bool { return e.Score >= s })
		if want < 0 {
			want = len(m)
		}
		if got := tr.search(func(e ZEntry) bool { return e.Score >= s }); got != want {
			t.Errorf("search >= %v: %d, want %d", s, got, want)
		}
	}
	for _, start := range []int{0, 1, 63, 64, 1000, 4999, 10000} {
		var got []ZEntry
		tr.descend(start, func(e ZEntry) bool {
			got = append(got, e)
			return len(got) < 200
		})
		from := min(start, len(m)-1)
		for k, e := range got {
			if e != m[from-k] {
				t.Fatalf("descend %d: step %d got %v want %v", start, k, e, m[from-k])
			}
		}
		var asc []ZEntry
		tr.ascend(start, func(e ZEntry) bool {
			asc = append(asc, e)
			return len(asc) < 200
		})
		for k, e := range asc {
			if e != m[start+k] {
				t.Fatalf("ascend %d", start)
			}
		}
	}
}

func TestZSetEncodings(t *testing.T) {
	z := NewZSet()
	for i := 0; i < 128; i++ {
		z.Set([]byte("m"+strconv.Itoa(i)), float64(i%7))
	}
	if z.Encoding() != "listpack" || z.Len() != 128 {
		t.Fatalf("encoding %s len %d", z.Encoding(), z.Len())
	}
	z.Set([]byte("m0"), 100) // update: no conversion
	if z.Encoding() != "listpack" {
		t.Fatal("update converted")
	}
	z.Set([]byte("new"), 1)
	if z.Encoding() != "skiplist" || z.Len() != 129 {
		t.Fatalf("encoding %s len %d", z.Encoding(), z.Len())
	}
	if s, ok := z.Score([]byte("m0")); !ok || s != 100 {
		t.Fatal("score after convert")
	}
	if r, ok := z.Rank([]byte("m0")); !ok || r != 128 {
		t.Fatalf("rank %d", r)
	}
	z2 := NewZSet()
	z2.Set([]byte("a"), math.Copysign(0, -1))
	if s, _ := z2.Score([]byte("a")); math.Signbit(s) {
		t.Fatal("listpack kept -0")
	}
	z3 := NewZSetSkiplist()
	z3.Set([]byte("a"), math.Copysign(0, -1))
	if s, _ := z3.Score([]byte("a")); !math.Signbit(s) {
		t.Fatal("skiplist lost -0")
	}
	long := bytes.Repeat([]byte("x"), 65)
	z4 := NewZSet()
	z4.Set(long, 1)
	if z4.Encoding() != "skiplist" {
		t.Fatal("long member stayed listpack")
	}
}

func TestZSetCloneIndependent(t *testing.T) {
	z := NewZSetSkiplist()
	for i := 0; i < 1000; i++ {
		z.Set([]byte(strconv.Itoa(i)), float64(i))
	}
	c := z.Clone().(*ZSet)
	c.Delete([]byte("5"))
	c.Set([]byte("6"), -1)
	z.Set([]byte("x"), 3)
	if _, ok := z.Score([]byte("5")); !ok {
		t.Fatal("delete leaked into original")
	}
	if s, _ := z.Score([]byte("6")); s != 6 {
		t.Fatal("update leaked")
	}
	if _, ok := c.Score([]byte("x")); ok {
		t.Fatal("insert leaked into clone")
	}
	if z.Len() != 1001 || c.Len() != 999 {
		t.Fatalf("lens %d %d", z.Len(), c.Len())
	}
	if c.At(0).Member != "6" {
		t.Fatal("clone order")
	}
}

func TestZSetSnapshotRoundTrip(t *testing.T) {
	db := New()
	small := NewZSet()
	small.Set([]byte("a"), 1.5)
	small.Set([]byte("b"), math.Inf(-1))
	for i, f := range []float64{119, 120, -121, 1 << 53, 1<<53 + 2, 1e300, 0.1} {
		small.Set([]byte("s"+strconv.Itoa(i)), f)
	}
	big := NewZSet()
	for i := 0; i < 300; i++ {
		big.Set([]byte("m"+strconv.Itoa(i)), float64(i)/3)
	}
	big.Set([]byte("neg0"), math.Copysign(0, -1))
	db.Put([]byte("small"), nil, small, 0)
	db.Put([]byte("big"), nil, big, 12345)
	var buf bytes.Buffer
	if _, err := db.Snapshot().WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	db2 := New()
	if err := db2.Load(&buf); err != nil {
		t.Fatal(err)
	}
	if db.Digest() != db2.Digest() {
		t.Fatal("digest differs after round trip")
	}
	b2 := db2.Peek([]byte("big")).Obj.(*ZSet)
	if b2.Encoding() != "skiplist" || b2.Len() != 301 {
		t.Fatalf("big: %s %d", b2.Encoding(), b2.Len())
	}
	if s, _ := b2.Score([]byte("neg0")); !math.Signbit(s) {
		t.Fatal("-0 lost")
	}
	if db2.Peek([]byte("small")).Obj.(*ZSet).Encoding() != "listpack" {
		t.Fatal("small encoding")
	}
}

// checkZSet compares z with the model, through every read method.
func checkZSet(t *testing.T, z *ZSet, m zmodel, full bool) {
	t.Helper()
	if z.Len() != len(m) {
		t.Fatalf("len %d, model %d", z.Len(), len(m))
	}
	got := z.AppendEntries(nil)
	if len(got) != len(m) {
		t.Fatalf("entries %d, model %d", len(got), len(m))
	}
	for i, e := range got {
		if e != m[i] || math.Signbit(e.Score) != math.Signbit(m[i].Score) {
			t.Fatalf("entry %d: %v, model %v", i, e, m[i])
		}
		if !full {
			continue
		}
		if a := z.At(i); a != e {
			t.Fatalf("At(%d) = %v, want %v", i, a, e)
		}
		if s, ok := z.Score([]byte(e.Member)); !ok || s != e.Score {
			t.Fatalf("Score(%q) = %v %v", e.Member, s, ok)
		}
		if r, ok := z.Rank([]byte(e.Member)); !ok || r != i {
			t.Fatalf("Rank(%q) = %d %v, want %d", e.Member, r, ok, i)
		}
	}
	if !full {
		return
	}
	for _, start := range []int{-1, 0, 1, len(m) / 2, len(m) - 1, len(m), len(m) + 3} {
		var asc, desc []ZEntry
		z.Ascend(start, func(e ZEntry) bool { asc = append(asc, e); return true })
		z.Descend(start, func(e ZEntry) bool { desc = append(desc, e); return true })
		from := max(start, 0)
		if want := m[min(from, len(m)):]; !slices.Equal(asc, want) {
			t.Fatalf("Ascend(%d) = %v, want %v", start, asc, want)
		}
		var want []ZEntry
		for i := min(start, len(m)-1); i >= 0; i-- {
			want = append(want, m[i])
		}
		if !slices.Equal(desc, want) {
			t.Fatalf("Descend(%d) = %v, want %v", start, desc, want)
		}
		for _, count := range []int{0, 1, 5, 200} {
			r := z.AppendRange(nil, start, count, false)
			if start >= 0 {
				w := m[min(start, len(m)):min(start+count, len(m))]
				if !slices.Equal(r, w) {
					t.Fatalf("AppendRange(%d, %d) = %v, want %v", start, count, r, w)
				}
				r = z.AppendRange(nil, start, count, true)
				var w2 []ZEntry
				for i := min(start, len(m)-1); i >= 0 && len(w2) < count; i-- {
					w2 = append(w2, m[i])
				}
				if !slices.Equal(r, w2) {
					t.Fatalf("AppendRange(%d, %d, rev) = %v, want %v", start, count, r, w2)
				}
			}
		}
	}
	for _, th := range []float64{math.Inf(-1), -1e300, -3, 0, 0.5, 7, 1 << 60, math.Inf(1)} {
		pred := func(e ZEntry) bool { return e.Score >= th }
		want := slices.IndexFunc(m, pred)
		if want < 0 {
			want = len(m)
		}
		if got := z.First(pred); got != want {
			t.Fatalf("First(>= %v) = %d, want %d", th, got, want)
		}
		le := func(e ZEntry) bool { return e.Score <= th }
		wantLast := -1
		for i := range m {
			if le(m[i]) {
				wantLast = i
			}
		}
		if got := z.Last(le); got != wantLast {
			t.Fatalf("Last(<= %v) = %d, want %d", th, got, wantLast)
		}
	}
}

// TestZSetListpackModel drives listpacks through random changes, checking
// them against a sorted slice, that clones and earlier member strings never
// change, and the conversion to a skiplist.
func TestZSetListpackModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	scores := []float64{0, math.Copysign(0, -1), 1, -1, 63, 64, 119, 120, -120, 1e6, -1e6, 1 << 53, -(1 << 53),
		1<<53 + 2, 1 << 62, 1e300, -1e300, 0.5, -2.25, math.Inf(1), math.Inf(-1), 5e-324, math.MaxFloat64}
	score := func() float64 {
		if rng.IntN(3) == 0 {
			return float64(rng.IntN(20) - 10)
		}
		if rng.IntN(4) == 0 {
			return float64(rng.Int64N(1<<uint(rng.IntN(62)+1)) - 1<<20)
		}
		return scores[rng.IntN(len(scores))]
	}
	member := func() []byte {
		n := rng.IntN(12)
		if rng.IntN(300) == 0 {
			n = 60 + rng.IntN(10) // around the 64-byte limit
		}
		b := make([]byte, n)
		for i := range b {
			b[i] = "ab\x00\xffz"[rng.IntN(5)]
		}
		return b
	}
	converted := 0
	for round := 0; round < 100; round++ {
		ops, adds := 200, 12
		if round%4 == 0 {
			ops, adds = 400, 15 // grow past 128 entries
		}
		z := NewZSet()
		var m zmodel
		type saved struct {
			z *ZSet
			m zmodel
		}
		var clones []saved
		var seen []ZEntry // entries read earlier, with their strings
		var seenCopy []string
		for op := 0; op < ops; op++ {
			mb := member()
			switch r := rng.IntN(20); {
			case r < adds:
				f := score()
				i := slices.IndexFunc(m, func(e ZEntry) bool { return e.Member == string(mb) })
				wasLp := z.IsListpack()
				convert := wasLp && i < 0 && (len(m)+1 > ZSetMaxListpackEntries || len(mb) > ZSetMaxListpackValue)
				if convert {
					wasLp = false // scores already normalized stay so
				}
				nf := f
				if wasLp {
					nf = lpScore(f)
				}
				if i >= 0 && m[i].Score == nf {
					nf = m[i].Score // unchanged: 0 and -0 are the same score
				}
				if i >= 0 {
					m = slices.Delete(m, i, i+1)
				}
				e := ZEntry{nf, string(mb)}
				j, _ := m.find(e)
				m = slices.Insert(m, j, e)
				if added := z.Set(mb, f); added != (i < 0) {
					t.Fatalf("Set added %v, want %v", added, i < 0)
				}
			case r < adds+4:
				i := slices.IndexFunc(m, func(e ZEntry) bool { return e.Member == string(mb) })
				if len(m) > 0 && rng.IntN(2) == 0 {
					i = rng.IntN(len(m))
					mb = []byte(m[i].Member)
				}
				if got := z.Delete(mb); got != (i >= 0) {
					t.Fatalf("Delete %v, want %v", got, i >= 0)
				}
				if i >= 0 {
					m = slices.Delete(m, i, i+1)
				}
			case r < adds+5 && len(m) > 0 && rng.IntN(3) == 0:
				a := rng.IntN(len(m))
				b := a + rng.IntN(len(m)-a)
				if n := z.DeleteRange(a, b); n != b-a+1 {
					t.Fatalf("DeleteRange %d", n)
				}
				m = slices.Delete(m, a, b+1)
			case r < adds+6:
				clones = append(clones, saved{z.Clone().(*ZSet), slices.Clone(m)})
			default:
				for _, e := range z.AppendEntries(nil) {
					seen = append(seen, e)
					seenCopy = append(seenCopy, strings.Clone(e.Member))
				}
			}
			if len(m) == 0 && rng.IntN(3) == 0 {
				z = NewZSet()
			}
			checkZSet(t, z, m, op%16 == 0)
		}
		for _, c := range clones {
			checkZSet(t, c.z, c.m, true)
		}
		if !z.IsListpack() {
			converted++
		}
		for i, e := range seen {
			if e.Member != seenCopy[i] {
				t.Fatalf("member read earlier changed: %q, was %q", e.Member, seenCopy[i])
			}
		}
	}
	if converted == 0 {
		t.Error("no set was converted to a skiplist")
	}
	t.Logf("%d of 100 sets ended as skiplists", converted)
}

// TestZSetListpackEncoding checks the entry encoding's sizes and that every
// score reads back exactly.
func TestZSetListpackEncoding(t *testing.T) {
	for _, c := range []struct {
		score float64
		size  int // of the score
	}{{0, 1}, {1, 1}, {-1, 1}, {119, 1}, {-120, 1}, {120, 2}, {-121, 2}, {127, 2}, {1000, 3}, {1 << 53, 8},
		{-(1 << 53), 8}, {1<<53 + 2, 9}, {0.5, 9}, {math.Inf(1), 9}, {math.NaN(), 9}} {
		m := []byte("field:1")
		b := zlpAppendEntry(nil, m, c.score)
		if len(b) != 1+len(m)+c.size || zlpEntrySize(len(m), c.score) != len(b) {
			t.Errorf("score %v: %d bytes (size %d), want %d", c.score, len(b), zlpEntrySize(len(m), c.score), 1+len(m)+c.size)
		}
		e, next := zlpEntry(string(b), 0)
		if next != len(b) || e.Member != string(m) || math.Float64bits(e.Score) != math.Float64bits(c.score) && c.score == c.score {
			t.Errorf("score %v: read %v next %d", c.score, e, next)
		}
		if zlpNext(string(b), 0) != len(b) {
			t.Errorf("score %v: next", c.score)
		}
	}
	long := bytes.Repeat([]byte("x"), 300)
	b := zlpAppendEntry(nil, long, 2.5)
	if e, next := zlpEntry(string(b), 0); e.Member != string(long) || e.Score != 2.5 || next != len(b) || zlpNext(string(b), 0) != len(b) {
		t.Error("long member")
	}
	z := NewZSetListpack([]ZEntry{{1, string(long)}, {2, "b"}})
	if !z.Set(long[:299], 3) || z.Encoding() != "skiplist" {
		// adding a member longer than 64 bytes converts
		t.Errorf("encoding %s", z.Encoding())
	}
	z = NewZSetListpack([]ZEntry{{1, string(long)}, {2, "b"}})
	z.Set(long, 5) // updating a loaded long member keeps the listpack
	if z.Encoding() != "listpack" || z.At(1).Member != string(long) {
		t.Errorf("update of a long member: %s", z.Encoding())
	}
}

// TestZSetSetMany checks that SetMany leaves a set exactly as the same
// calls of Set do (encoding, conversion point and -0 included).
func TestZSetSetMany(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for round := 0; round < 2000; round++ {
		a, b := NewZSet(), NewZSet()
		for step := 0; step < 4; step++ {
			n := rng.IntN(3)
			if rng.IntN(3) == 0 {
				n = rng.IntN(150)
			}
			members := make([][]byte, n)
			scores := make([]float64, n)
			for i := range members {
				members[i] = []byte(strconv.Itoa(rng.IntN(40 + round%200)))
				if rng.IntN(100) == 0 {
					members[i] = bytes.Repeat([]byte("L"), 64+rng.IntN(2))
				}
				scores[i] = float64(rng.IntN(7) - 3)
				if rng.IntN(5) == 0 {
					scores[i] = math.Copysign(0, -1)
				}
			}
			want := 0
			for i := range members {
				if b.Set(members[i], scores[i]) {
					want++
				}
			}
			if got := a.SetMany(members, scores); got != want {
				t.Fatalf("round %d: added %d, want %d", round, got, want)
			}
			if a.Encoding() != b.Encoding() {
				t.Fatalf("round %d: encoding %s, want %s", round, a.Encoding(), b.Encoding())
			}
			ea, eb := a.AppendEntries(nil), b.AppendEntries(nil)
			if len(ea) != len(eb) {
				t.Fatalf("round %d: %d entries, want %d", round, len(ea), len(eb))
			}
			for i := range ea {
				if ea[i] != eb[i] || math.Signbit(ea[i].Score) != math.Signbit(eb[i].Score) {
					t.Fatalf("round %d: entry %d %v, want %v", round, i, ea[i], eb[i])
				}
			}
			for i := range members {
				members[i][0] = '!' // the set must not alias its arguments
			}
			if ea2 := a.AppendEntries(nil); !slices.Equal(ea2, eb) {
				t.Fatalf("round %d: set changed with its arguments", round)
			}
		}
	}
}
