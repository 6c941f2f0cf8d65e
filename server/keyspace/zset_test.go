package keyspace

import (
	"bytes"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
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
