package keyspace

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// fill puts n keys of mixed kinds: plain, raw and expiring strings, and
// hashes in both encodings (including a hashtable that shrank below the
// listpack limits, which must stay a hashtable).
func fill(db *DB, r *rand.Rand, n int, valueLen int) {
	for i := range n {
		k := []byte("key:" + strconv.Itoa(i))
		exp := int64(0)
		if i%4 == 0 {
			exp = 1_000_000 + int64(r.IntN(1_000_000))
		}
		switch {
		case i%100 == 8: // hashtable by size
			h := NewHash()
			for j := range 130 + r.IntN(20) {
				h.Set([]byte("f"+strconv.Itoa(j)), []byte(strconv.Itoa(r.IntN(1000))))
			}
			db.Put(k, nil, h, exp)
		case i%10 == 6 || i%10 == 7: // listpack
			h := NewHash()
			for j := range 1 + r.IntN(10) {
				h.Set([]byte("f"+strconv.Itoa(j)), randBytes(r, r.IntN(20)))
			}
			db.Put(k, nil, h, exp)
		case i%10 == 9: // hashtable by value size, shrunk
			h := NewHash()
			h.Set([]byte("big"), bytes.Repeat([]byte("x"), 100))
			h.Delete([]byte("big"))
			h.Set([]byte("a"), []byte("1"))
			db.Put(k, nil, h, exp)
		default:
			it := db.Put(k, randBytes(r, valueLen), nil, exp)
			if i%10 == 5 {
				it.Raw = true
			}
		}
	}
}

// mutator applies random writes the way command handlers do: Lookup, then
// Mutable before any in-place change.
type mutator struct {
	db   *DB
	r    *rand.Rand
	n    int // keys are key:0 .. key:n-1 (some deleted)
	now  int64
	ops  int
	snap []*Snapshot // nested snapshots taken along the way
}

func (m *mutator) key() []byte { return []byte("key:" + strconv.Itoa(m.r.IntN(m.n))) }

func (m *mutator) step() {
	m.ops++
	m.now += int64(m.r.IntN(200))
	db, r := m.db, m.r
	k := m.key()
	switch r.IntN(14) {
	case 0: // SET over an existing or a new key
		db.Put(k, randBytes(r, r.IntN(150)), nil, 0)
	case 1: // SET with a TTL
		db.Put(k, randBytes(r, 10), nil, m.now+int64(r.IntN(10_000)))
	case 2: // DEL
		db.Delete(k)
	case 3, 4: // HSET, sometimes converting to hashtable
		it := db.Lookup(k, m.now)
		if it == nil {
			it = db.Put(k, nil, NewHash(), 0)
		}
		if it.Obj == nil {
			return
		}
		it = db.Mutable(it)
		h := it.Obj.(*Hash)
		for range 1 + r.IntN(5) {
			v := randBytes(r, r.IntN(20))
			if r.IntN(20) == 0 {
				v = randBytes(r, 80)
			}
			h.Set([]byte("f"+strconv.Itoa(r.IntN(160))), v)
		}
	case 5: // HDEL
		it := db.Lookup(k, m.now)
		if it == nil || it.Obj == nil {
			return
		}
		it = db.Mutable(it)
		h := it.Obj.(*Hash)
		for range 1 + r.IntN(5) {
			h.Delete([]byte("f" + strconv.Itoa(r.IntN(20))))
		}
		if h.Len() == 0 {
			db.Delete(k)
		}
	case 6, 7: // APPEND: grows in place past len(Str)
		it := db.Lookup(k, m.now)
		if it == nil || it.Obj != nil {
			return
		}
		it = db.Mutable(it)
		it.Str = append(it.Str, randBytes(r, 1+r.IntN(30))...)
		it.Raw = true
	case 8: // SETRANGE over existing bytes: writes a copy
		it := db.Lookup(k, m.now)
		if it == nil || it.Obj != nil || len(it.Str) == 0 {
			return
		}
		it = db.Mutable(it)
		s := append([]byte(nil), it.Str...)
		s[r.IntN(len(s))] ^= 0xff
		it.Str = s
		it.Raw = true
	case 9: // EXPIRE / PERSIST
		it := db.Lookup(k, m.now)
		if it == nil {
			return
		}
		at := int64(0)
		if r.IntN(3) != 0 {
			at = m.now + int64(r.IntN(20_000))
		}
		db.SetExpire(it, at)
	case 10: // RENAME: take ownership, then move the value
		it := db.Lookup(k, m.now)
		if it == nil {
			return
		}
		dst := m.key()
		it = db.Mutable(it)
		db.Delete(k)
		n := &Item{Key: string(dst), ExpireAt: it.ExpireAt, Str: it.Str, Obj: it.Obj, Raw: it.Raw}
		db.PutItem(n)
	case 11: // active expiry
		for _, key := range db.ExpiredKeys(m.now, 20) {
			db.DeleteIfExpired([]byte(key), m.now)
		}
	case 12: // in-place edits of a freshly created (current generation) value
		h := NewHash()
		h.Set([]byte("x"), []byte("1"))
		it := db.Put(k, nil, h, 0)
		it = db.Mutable(it)
		it.Obj.(*Hash).Set([]byte("y"), []byte("2"))
	case 13:
		if r.IntN(50) == 0 {
			m.snap = append(m.snap, db.Snapshot())
		}
	}
}

type snapResult struct {
	b   []byte
	err error
}

func serializeAsync(s *Snapshot, started chan<- struct{}) <-chan snapResult {
	ch := make(chan snapResult, 1)
	go func() {
		var buf bytes.Buffer
		close(started)
		_, err := s.WriteTo(&buf)
		ch <- snapResult{buf.Bytes(), err}
	}()
	return ch
}

// testConcurrentSnapshot takes a snapshot of a DB with n keys, serializes it
// on another goroutine while the writer mutates heavily, and checks that the
// bytes decode to exactly the state at snapshot time.
// With deep false the content is compared by Digest only (which hashes the
// same per-item encoding the codec writes), to keep the big case fast.
func testConcurrentSnapshot(t *testing.T, n, valueLen, minOps int, seed uint64, deep bool) {
	r := rand.New(rand.NewPCG(seed, 1))
	db := New()
	fill(db, r, n, valueLen)
	m := &mutator{db: db, r: r, n: n + n/10}
	for range 2000 { // some churn before: items of several generations
		m.step()
	}
	m.snap = nil

	var want map[string]state
	if deep {
		want = dump(t, db)
	}
	wantLen := db.Len()
	wantDigest := db.Digest()
	snap := db.Snapshot()
	if snap.Len() != wantLen {
		t.Fatalf("snapshot Len %d, want %d", snap.Len(), wantLen)
	}
	started := make(chan struct{})
	res := serializeAsync(snap, started)
	<-started
	var got snapResult
	done := false
	during := 0
	for !done || m.ops < minOps {
		m.step()
		if !done {
			select {
			case got = <-res:
				done = true
				during = m.ops
			default:
			}
		}
	}
	if got.err != nil {
		t.Fatal(got.err)
	}
	t.Logf("%d keys, %d bytes, %d writes during serialization, %d in all, %d nested snapshots", wantLen, len(got.b), during, m.ops, len(m.snap))

	// Reading the snapshot again after the writes sees the same content.
	if d := snap.Digest(); d != wantDigest {
		t.Fatalf("snapshot digest changed")
	}
	loaded := load(t, got.b)
	if deep {
		compareDumps(t, "loaded snapshot", dump(t, loaded), want)
	}
	if loaded.Len() != wantLen {
		t.Fatalf("loaded %d keys, want %d", loaded.Len(), wantLen)
	}
	if d := loaded.Digest(); d != wantDigest {
		t.Fatalf("loaded digest %x, want %x", d, wantDigest)
	}
	checkIndex(t, loaded)
	checkIndex(t, db)

	// The live DB is intact too: a snapshot of it now round-trips to it.
	if load(t, serialize(t, db.Snapshot())).Digest() != db.Digest() {
		t.Fatal("live DB does not round-trip")
	}
}

func TestSnapshotConcurrentWrites(t *testing.T) {
	for seed := range uint64(3) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			testConcurrentSnapshot(t, 20_000, 40, 20_000, seed, true)
		})
	}
}

func TestSnapshotConcurrentWrites200k(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	testConcurrentSnapshot(t, 200_000, 100, 20_000, 42, false)
}

// TestSnapshotNested serializes several snapshots of successive generations
// at once while writes go on.
func TestSnapshotNested(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	db := New()
	fill(db, r, 5000, 20)
	m := &mutator{db: db, r: r, n: 5500}
	type pending struct {
		want   map[string]state
		digest uint64
		res    <-chan snapResult
	}
	var ps []pending
	for range 4 {
		for range 3000 {
			m.step()
		}
		p := pending{want: dump(t, db), digest: db.Digest()}
		started := make(chan struct{})
		p.res = serializeAsync(db.Snapshot(), started)
		<-started
		ps = append(ps, p)
	}
	for range 10_000 {
		m.step()
	}
	for i, p := range ps {
		got := <-p.res
		if got.err != nil {
			t.Fatal(got.err)
		}
		loaded := load(t, got.b)
		compareDumps(t, fmt.Sprintf("snapshot %d", i), dump(t, loaded), p.want)
		if loaded.Digest() != p.digest {
			t.Fatalf("snapshot %d digest", i)
		}
	}
}

// TestSnapshotEachMutation checks copy-on-write for each kind of write on
// its own, so a failure names the culprit.
func TestSnapshotEachMutation(t *testing.T) {
	setup := func() *DB {
		db := New()
		db.Put([]byte("s"), []byte("hello"), nil, 5000).Raw = true
		db.Put([]byte("grow"), append(make([]byte, 0, 64), "abc"...), nil, 0) // spare capacity
		lp := NewHash()
		lp.Set([]byte("a"), []byte("1"))
		lp.Set([]byte("b"), []byte("2"))
		lp.Set([]byte("c"), []byte("3"))
		db.Put([]byte("lp"), nil, lp, 0)
		ht := NewHash()
		for i := range 200 {
			ht.Set([]byte(strconv.Itoa(i)), []byte("v"))
		}
		db.Put([]byte("ht"), nil, ht, 7000)
		return db
	}
	muts := map[string]func(db *DB){
		"put":         func(db *DB) { db.Put([]byte("s"), []byte("new"), nil, 0) },
		"delete":      func(db *DB) { db.Delete([]byte("lp")); db.Delete([]byte("ht")) },
		"flush":       func(db *DB) { db.Flush() },
		"setexpire":   func(db *DB) { db.SetExpire(db.Peek([]byte("s")), 9) },
		"persist":     func(db *DB) { db.SetExpire(db.Peek([]byte("ht")), 0) },
		"lazy expiry": func(db *DB) { db.Lookup([]byte("s"), 6000) },
		"active expiry": func(db *DB) {
			db.DeleteIfExpired([]byte("ht"), 8000)
		},
		"append": func(db *DB) {
			it := db.Mutable(db.Peek([]byte("grow")))
			it.Str = append(it.Str, "defgh"...)
			it.Raw = true
		},
		"setrange": func(db *DB) {
			it := db.Mutable(db.Peek([]byte("s")))
			it.Str = []byte("HELLO")
			it.Raw = false
		},
		"hset listpack": func(db *DB) {
			h := db.Mutable(db.Peek([]byte("lp"))).Obj.(*Hash)
			h.Set([]byte("a"), []byte("changed"))
			h.Set([]byte("d"), []byte("4"))
		},
		"hdel listpack": func(db *DB) {
			h := db.Mutable(db.Peek([]byte("lp"))).Obj.(*Hash)
			h.Delete([]byte("a")) // shifts the slice
		},
		"hset converts": func(db *DB) {
			h := db.Mutable(db.Peek([]byte("lp"))).Obj.(*Hash)
			h.Set([]byte("b"), bytes.Repeat([]byte("y"), 100))
		},
		"hset hashtable": func(db *DB) {
			h := db.Mutable(db.Peek([]byte("ht"))).Obj.(*Hash)
			for i := range 300 {
				h.Set([]byte(strconv.Itoa(i)), []byte("w"))
			}
		},
		"hdel hashtable": func(db *DB) {
			h := db.Mutable(db.Peek([]byte("ht"))).Obj.(*Hash)
			for i := range 150 {
				h.Delete([]byte(strconv.Itoa(i)))
			}
		},
		"rename": func(db *DB) {
			it := db.Mutable(db.Peek([]byte("lp")))
			db.Delete([]byte("lp"))
			n := &Item{Key: "lp2", Obj: it.Obj}
			db.PutItem(n)
			db.Mutable(n).Obj.(*Hash).Set([]byte("a"), []byte("after rename"))
		},
		"mutable twice across snapshots": func(db *DB) {
			it := db.Mutable(db.Peek([]byte("lp")))
			it.Obj.(*Hash).Set([]byte("z"), []byte("1"))
			db.Snapshot()
			it = db.Mutable(db.Peek([]byte("lp")))
			it.Obj.(*Hash).Set([]byte("a"), []byte("2"))
		},
	}
	for name, mut := range muts {
		db := setup()
		want := dump(t, db)
		snap := db.Snapshot()
		before := dump(t, db)
		mut(db)
		if after := dump(t, db); len(after) == len(before) {
			same := true
			for k, v := range before {
				if !equalState(after[k], v) {
					same = false
				}
			}
			if same && name != "lazy expiry" {
				t.Errorf("%s: the mutation changed nothing", name)
			}
		}
		compareDumps(t, name, dump(t, load(t, serialize(t, snap))), want)
		checkIndex(t, db)
	}
}

func TestSnapshotRoundTrip(t *testing.T) {
	db := New()
	db.Put([]byte(""), []byte("empty key"), nil, 0)
	db.Put([]byte("empty"), []byte{}, nil, 0)
	db.Put([]byte("bin\x00\xff\r\n"), []byte("\x00\x01\x02\xff"), nil, 1)
	db.Put([]byte("raw"), []byte("12"), nil, 0).Raw = true
	db.Put([]byte("neg"), []byte("expired long ago"), nil, -5) // decoded as a varint
	db.Put([]byte("far"), []byte("x"), nil, 1<<62)
	big := bytes.Repeat([]byte("0123456789abcdef"), 200_000) // 3.2 MB > the 1 MB buffers
	db.Put([]byte("big"), big, nil, 123)
	lp := NewHash()
	for _, f := range []string{"z", "a", "m", ""} { // insertion order must survive
		lp.Set([]byte(f), []byte("v-"+f))
	}
	db.Put([]byte("lp"), nil, lp, 0)
	shrunk := NewHash()
	shrunk.Set([]byte("f"), bytes.Repeat([]byte("v"), 65))
	shrunk.Set([]byte("f"), []byte("small"))
	db.Put([]byte("shrunk"), nil, shrunk, 777) // hashtable with one small field
	ht := NewHash()
	for i := range 1000 {
		ht.Set([]byte("field"+strconv.Itoa(i)), []byte(strconv.Itoa(i)))
	}
	db.Put([]byte("ht"), nil, ht, 0)
	bigField := NewHash()
	bigField.Set([]byte("f"), big)
	db.Put([]byte("bigfield"), nil, bigField, 0)

	want := dump(t, db)
	b := serialize(t, db.Snapshot())
	if !bytes.HasPrefix(b, []byte(snapMagic)) {
		t.Fatal("no magic")
	}
	got := load(t, b)
	compareDumps(t, "round trip", dump(t, got), want)
	if got.Digest() != db.Digest() {
		t.Fatal("digest")
	}
	if e := dump(t, got)["shrunk"].enc; e != "hashtable" {
		t.Fatalf("shrunk hash loaded as %s", e)
	}
	checkIndex(t, got)
	if got.Expiring() != 5 {
		t.Fatalf("Expiring %d", got.Expiring())
	}
	if ks := got.ExpiredKeys(123, 10); strings.Join(ks, ",") != "neg,bin\x00\xff\r\n,big" {
		t.Fatalf("expiry order after load: %q", ks)
	}
	// The loaded DB is fully usable.
	hashOf(t, got.Mutable(got.Peek([]byte("lp")))).Set([]byte("new"), []byte("1"))
	got.Put([]byte("later"), []byte("x"), nil, 5)
	checkIndex(t, got)

	// Load replaces existing content.
	other := New()
	other.Put([]byte("stale"), []byte("x"), nil, 5)
	if err := other.Load(bytes.NewReader(b)); err != nil {
		t.Fatal(err)
	}
	compareDumps(t, "load over existing", dump(t, other), want)
	checkIndex(t, other)

	// Empty DB.
	e := serialize(t, New().Snapshot())
	if string(e) != snapMagic+"\x00" {
		t.Fatalf("empty snapshot %q", e)
	}
	if load(t, e).Len() != 0 {
		t.Fatal("empty load")
	}
}

func smallStream(t testing.TB) []byte {
	db := New()
	r := rand.New(rand.NewPCG(3, 3))
	for i := range 12 {
		k := []byte("k" + strconv.Itoa(i))
		switch i % 3 {
		case 0:
			db.Put(k, randBytes(r, 5), nil, int64(i)*1000)
		case 1:
			h := NewHash()
			h.Set([]byte("a"), []byte("1"))
			h.Set([]byte("b"), randBytes(r, 3))
			db.Put(k, nil, h, 0)
		case 2:
			h := NewHash()
			if i == 2 { // one hashtable
				for j := range 130 {
					h.Set([]byte(strconv.Itoa(j)), nil)
				}
			} else {
				h.Set([]byte("x"), []byte("y"))
			}
			db.Put(k, nil, h, 99)
		}
	}
	db.Peek([]byte("k3")).Raw = true
	return serialize(t, db.Snapshot())
}

func TestLoadTruncated(t *testing.T) {
	b := smallStream(t)
	for n := range len(b) {
		err := New().Load(bytes.NewReader(b[:n]))
		if !errors.Is(err, ErrBadSnapshot) {
			t.Fatalf("prefix of %d/%d bytes: err %v", n, len(b), err)
		}
	}
	if err := New().Load(bytes.NewReader(b)); err != nil {
		t.Fatal(err)
	}
	// Bad magic and unknown types.
	for _, bad := range []string{"", "CAIRNKS", "CAIRNKS3\x00", "CAIRNKS0\x00", "XXXXXXXX\x00", snapMagic + "\x02\x01k\x00", snapMagic + "\x07\x01k\x00", snapMagic + "\xff"} {
		if err := New().Load(strings.NewReader(bad)); !errors.Is(err, ErrBadSnapshot) {
			t.Fatalf("%q: err %v", bad, err)
		}
	}
}

// childEnv marks a re-executed test binary that runs one dangerous load.
const childEnv = "CAIRN_KEYSPACE_CHILD"

// runChild re-runs test name in a subprocess with env set and returns its
// combined output and whether it passed. A Load that crashes the process
// (a fatal out-of-memory error cannot be recovered) then fails only the
// test that caused it.
func runChild(t *testing.T, name string, env ...string) (string, bool) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+name+"$", "-test.v", "-test.count=1")
	cmd.Env = append(append(os.Environ(), childEnv+"=1"), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err == nil
}

// loadRecover loads b and turns a panic into an error that says so.
func loadRecover(b []byte) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("PANIC: %v", p)
		}
	}()
	return New().Load(bytes.NewReader(b))
}

// TestLoadHugeLength: a corrupted length prefix must be an error. It runs
// the loads in subprocesses because an allocation of the claimed length can
// kill the process (runtime: out of memory), which recover cannot catch.
func TestLoadHugeLength(t *testing.T) {
	if os.Getenv(childEnv) != "" {
		n, _ := strconv.ParseUint(os.Getenv("CAIRN_LEN"), 10, 64)
		b := []byte(snapMagic)
		b = append(b, byte(TypeString))
		b = binary.AppendUvarint(b, n) // key length
		b = append(b, "short"...)
		if err := loadRecover(b); !errors.Is(err, ErrBadSnapshot) {
			t.Fatalf("key length %d: err %v", n, err)
		}
		return
	}
	// A tiny stream claiming a 200 MB key must not allocate that much.
	b := []byte(snapMagic)
	b = append(b, byte(TypeString))
	b = binary.AppendUvarint(b, 200<<20)
	b = append(b, "short"...)
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	err := loadRecover(b)
	runtime.ReadMemStats(&m1)
	if !errors.Is(err, ErrBadSnapshot) {
		t.Errorf("200 MB key length: %v", err)
	}
	if a := m1.TotalAlloc - m0.TotalAlloc; a > 64<<20 {
		t.Errorf("loading a %d-byte stream that claims a 200 MB key allocated %d MB", len(b), a>>20)
	}
	for _, n := range []uint64{1 << 62, 1 << 40, 64 << 30} {
		out, ok := runChild(t, "TestLoadHugeLength", "CAIRN_LEN="+strconv.FormatUint(n, 10))
		if !ok {
			t.Errorf("snapshot claiming a %d-byte key does not load as ErrBadSnapshot:\n%s", n, firstLines(out, 6))
		}
	}
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, "\n")
}

// TestLoadGarbled loads randomly damaged snapshots: each must either fail
// with ErrBadSnapshot or load into a consistent DB; none may panic. The
// loads run in a subprocess (see TestLoadHugeLength).
func TestLoadGarbled(t *testing.T) {
	if os.Getenv(childEnv) == "" {
		input := t.TempDir() + "/input"
		out, ok := runChild(t, "TestLoadGarbled", "CAIRN_INPUT="+input)
		if !ok {
			last, _ := os.ReadFile(input)
			t.Fatalf("garbled snapshot crashed or failed Load; last input %x:\n%s", last, firstLines(out, 12))
		}
		return
	}
	b := smallStream(t)
	r := rand.New(rand.NewPCG(11, 12))
	for i := range 600 {
		g := append([]byte(nil), b...)
		for range 1 + r.IntN(4) {
			switch r.IntN(4) {
			case 0:
				if len(g) > 0 {
					g[r.IntN(len(g))] ^= byte(1 + r.IntN(255))
				}
			case 1:
				if len(g) > 0 {
					g[r.IntN(len(g))] = byte(r.IntN(256))
				}
			case 2:
				if len(g) > 0 {
					j := r.IntN(len(g))
					g = append(g[:j], g[j+1:]...)
				}
			case 3:
				j := r.IntN(len(g) + 1)
				g = append(g[:j], append([]byte{byte(r.IntN(256))}, g[j:]...)...)
			}
		}
		// Record the input first: a fatal error ends the process.
		if err := os.WriteFile(os.Getenv("CAIRN_INPUT"), g, 0o644); err != nil {
			t.Fatal(err)
		}
		err := checkLoad(g)
		if err != nil {
			t.Fatalf("input %d (%s): %v", i, hex.EncodeToString(g), err)
		}
	}
}

// checkLoad loads b and checks the outcome: an ErrBadSnapshot, or a DB that
// is consistent and round-trips.
func checkLoad(b []byte) error {
	db := New()
	err := func() (err error) {
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("PANIC: %v", p)
			}
		}()
		return db.Load(bytes.NewReader(b))
	}()
	if err != nil {
		if !errors.Is(err, ErrBadSnapshot) {
			return fmt.Errorf("error does not wrap ErrBadSnapshot: %v", err)
		}
		return nil
	}
	// What loads, DigestSnapshot (a backup's verification, which decodes
	// strings through its own allocation-free path) digests alike — or
	// refuses for items out of key order, which Load tolerates and an
	// encoder never writes.
	if d, keys, err := DigestSnapshot(bytes.NewReader(b), &db.Cfg); (err != nil && !strings.Contains(err.Error(), "not in key order")) ||
		(err == nil && (d != db.StateDigest() || keys != db.Len())) {
		return fmt.Errorf("DigestSnapshot = %x, %d keys, %v; Load gives %x, %d keys", d, keys, err, db.StateDigest(), db.Len())
	}
	n, exp := 0, 0
	db.Scan(0, func(it *Item) bool {
		n++
		if it.ExpireAt != 0 {
			exp++
		}
		return true
	})
	if n != db.Len() || exp != db.Expiring() {
		return fmt.Errorf("inconsistent DB after load: %d items (Len %d), %d expiring (index %d)", n, db.Len(), exp, db.Expiring())
	}
	var buf bytes.Buffer
	if _, err := db.Snapshot().WriteTo(&buf); err != nil {
		return err
	}
	db2 := New()
	if err := db2.Load(&buf); err != nil {
		return fmt.Errorf("re-load of a re-serialized snapshot: %v", err)
	}
	if db2.Digest() != db.Digest() {
		return errors.New("re-serialized snapshot differs")
	}
	return nil
}

func FuzzLoad(f *testing.F) {
	f.Add(smallStream(f))
	f.Add([]byte(snapMagic + "\x00"))
	f.Add([]byte(snapMagic + "\x01\x01k\x00\x00\x01v\x00"))
	f.Add([]byte(snapMagic + "\x05\x01h\x02\x01\x02\x01a\x011\x01a\x012\x00")) // duplicate fields
	f.Add([]byte(snapMagic + "\x05\x01h\x02\x00\x02\x01a\x011\x01a\x012\x00"))
	f.Add([]byte("garbage"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if err := checkLoad(b); err != nil {
			t.Fatal(err)
		}
	})
}

// TestLoadNewerFormat: a snapshot whose magic names a newer format is
// reported as such (the shard halts on it instead of failing).
func TestLoadNewerFormat(t *testing.T) {
	db := New()
	if err := db.Load(bytes.NewReader([]byte("CAIRNKS3\x00"))); !errors.Is(err, ErrSnapshotVersion) || !errors.Is(err, ErrBadSnapshot) {
		t.Fatalf("newer magic: %v", err)
	}
	if err := db.Load(bytes.NewReader([]byte("CAIRNKS\xba\x00"))); errors.Is(err, ErrSnapshotVersion) || !errors.Is(err, ErrBadSnapshot) {
		t.Fatalf("garbled magic: %v", err)
	}
	// Version 1 (before vector sets) is still read.
	if err := db.Load(bytes.NewReader([]byte("CAIRNKS1\x00"))); err != nil {
		t.Fatalf("version 1: %v", err)
	}
}

// TestConfigSectionVersions: a version 1 config section (before the LFU
// and lazyfree parameters) still loads, with their defaults; version 2
// carries them; version 3 adds the ACL users; a newer version is
// ErrConfigVersion (the replica stops).
func TestConfigSectionVersions(t *testing.T) {
	c := DefaultConfig()
	c.HashMaxListpackEntries = 7
	c.LFULogFactor, c.LFUDecayTime, c.LazyfreeLazyUserDel, c.LazyfreeLazyUserFlush = 3, 0, 1, 1
	c.ACLUsers = "user default on nopass ~* &* +@all\n"
	enc := AppendConfig(nil, &c)
	if enc[0] != 3 {
		t.Fatalf("section version %d", enc[0])
	}
	got, err := ReadConfig(bytes.NewReader(enc))
	if err != nil || got != c {
		t.Fatalf("round trip: %+v %v", got, err)
	}
	// A version 1 section, as the previous binary wrote it.
	v1 := []byte{1}
	pairs := [][2]string{{"hash-max-listpack-entries", "7"}, {"maxmemory-policy", "allkeys-lfu"}}
	v1 = binary.AppendUvarint(v1, uint64(len(pairs)))
	for _, p := range pairs {
		for _, s := range p {
			v1 = binary.AppendUvarint(v1, uint64(len(s)))
			v1 = append(v1, s...)
		}
	}
	got, err = ReadConfig(bytes.NewReader(v1))
	want := DefaultConfig()
	want.HashMaxListpackEntries, want.MaxMemoryPolicy = 7, AllKeysLFU
	if err != nil || got != want {
		t.Fatalf("version 1: %+v %v", got, err)
	}
	// Version 1 never had the new parameters.
	bad := append([]byte{1, 1, 14}, "lfu-log-factor"...)
	bad = append(bad, 1, '3')
	if _, err := ReadConfig(bytes.NewReader(bad)); err == nil {
		t.Fatal("lfu-log-factor accepted in a version 1 section")
	}
	// Version 2 never had the ACL users.
	enc[0] = 2
	if _, err := ReadConfig(bytes.NewReader(enc)); err == nil {
		t.Fatal("acl-users accepted in a version 2 section")
	}
	enc[0] = 4
	if _, err := ReadConfig(bytes.NewReader(enc)); !errors.Is(err, ErrConfigVersion) {
		t.Fatalf("version 4: %v", err)
	}
}

// TestLFUConfig: lfu-log-factor 0 counts every access; lfu-decay-time
// sets the minutes per lost point (0: no decay).
func TestLFUConfig(t *testing.T) {
	const t0 = int64(1_700_000_000_000)
	db := New()
	db.Cfg.MaxMemoryPolicy = AllKeysLFU
	db.Cfg.LFULogFactor = 0
	db.SetClock(t0)
	db.Put([]byte("k"), []byte("v"), nil, 0)
	for range 20 {
		db.Get([]byte("k"), t0)
	}
	it := db.Peek([]byte("k"))
	if f := it.Freq(t0, &db.Cfg); f != LFUInitVal+20 {
		t.Fatalf("freq %d with lfu-log-factor 0", f)
	}
	later := t0 + 10*60000 // 10 minutes idle
	for decay, want := range map[int64]int{0: 25, 1: 15, 2: 20, 10: 24} {
		db.Cfg.LFUDecayTime = decay
		if f := it.Freq(later, &db.Cfg); f != want {
			t.Errorf("lfu-decay-time %d: freq %d after 10 minutes, want %d", decay, f, want)
		}
	}
}

// TestACLUsersParams: acl-users-seed sets the users only while there are
// none; acl-users-expect refuses a change computed from other users.
func TestACLUsersParams(t *testing.T) {
	c := DefaultConfig()
	if err := c.Set(ParamACLSeed, "a\n"); err != nil || c.ACLUsers != "a\n" {
		t.Fatalf("seed: %q %v", c.ACLUsers, err)
	}
	if err := c.Set(ParamACLSeed, "b\n"); err != nil || c.ACLUsers != "a\n" {
		t.Fatalf("second seed: %q %v", c.ACLUsers, err)
	}
	if err := c.Set(ParamACLExpect, ACLUsersDigest("a\n")); err != nil {
		t.Fatal(err)
	}
	if err := c.Set(ParamACLExpect, ACLUsersDigest("")); !errors.Is(err, ErrACLChanged) {
		t.Fatalf("stale expectation: %v", err)
	}
	if slices.Contains(ConfigNames(), ParamACLSeed) || slices.Contains(ConfigNames(), ParamACLExpect) {
		t.Fatal("pseudo-parameters are stored")
	}
}
