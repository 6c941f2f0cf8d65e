package keyspace

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
)

func listElems(l *List) []string {
	var out []string
	l.Each(func(s []byte) bool { out = append(out, string(s)); return true })
	return out
}

// checkZip verifies the compression invariant: chunks within depth of an
// end are plain, inner ones compressed when worth it, zn counts them.
func checkZip(t *testing.T, l *List, step string) {
	t.Helper()
	live := l.chunks()
	zn := 0
	for i := range live {
		c := &live[i]
		if c.z != nil {
			zn++
			if c.buf != nil {
				t.Fatalf("%s: chunk %d has both forms", step, i)
			}
		}
		inner := l.quick && l.depth > 0 && i >= int(l.depth) && i < len(live)-int(l.depth)
		if c.z != nil && !inner {
			t.Fatalf("%s: chunk %d of %d compressed within depth %d", step, i, len(live), l.depth)
		}
		if inner && c.z == nil && int(c.end-c.start) >= 4*listMinCompress && !c.plain {
			t.Fatalf("%s: inner chunk %d of %d (%d bytes) not compressed", step, i, len(live), c.end-c.start)
		}
	}
	if zn != int(l.zn) {
		t.Fatalf("%s: zn %d, counted %d", step, l.zn, zn)
	}
}

// TestListCompressDepth: a list with list-compress-depth behaves exactly
// as one without (same elements after every operation, same snapshot
// bytes), keeps inner nodes compressed, and takes less memory.
func TestListCompressDepth(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, depth := range []int64{1, 2, 5} {
		cfg := DefaultConfig()
		cfg.ListMaxListpackSize = 16
		plainCfg := cfg
		cfg.ListCompressDepth = depth
		z, ref := NewList(), NewList()
		z.SetLimits(&cfg)
		ref.SetLimits(&plainCfg)
		elem := func() []byte {
			return []byte(fmt.Sprintf("element-%d-%s", rng.IntN(50), "aaaaaaaaaaaaaaaaaaaaaaaa"))
		}
		for step := range 3000 {
			var name string
			switch op := rng.IntN(10); {
			case op < 4:
				e := elem()
				name = "push " + string(e)
				for _, l := range []*List{z, ref} {
					l.GrowCheck(len(e), 1)
					if op%2 == 0 {
						l.PushBack(e)
					} else {
						l.PushFront(e)
					}
				}
			case op == 4 && ref.Len() > 0:
				name = "pop"
				var a, b []byte
				if rng.IntN(2) == 0 {
					a, b = z.PopFront(), ref.PopFront()
				} else {
					a, b = z.PopBack(), ref.PopBack()
				}
				if string(a) != string(b) {
					t.Fatalf("popped %q, want %q", a, b)
				}
			case op == 5 && ref.Len() > 0:
				i := rng.IntN(ref.Len())
				e := elem()
				name = "set " + strconv.Itoa(i)
				z.Set(i, e)
				ref.Set(i, e)
			case op == 6 && ref.Len() > 0:
				pivot, _ := ref.Index(rng.IntN(ref.Len()))
				pivot = slices.Clone(pivot)
				e := elem()
				name = "insert"
				z.Insert(pivot, e, true)
				ref.Insert(pivot, e, true)
			case op == 7 && ref.Len() > 10:
				e := elem()
				name = "remove"
				z.Remove(e, 2, false)
				ref.Remove(e, 2, false)
			case op == 8 && ref.Len() > 100:
				name = "trim"
				z.Trim(3, 2)
				ref.Trim(3, 2)
			case op == 9:
				name = "clone"
				z = z.Clone().(*List)
			}
			if z.Len() != ref.Len() {
				t.Fatalf("depth %d step %d %s: len %d, want %d", depth, step, name, z.Len(), ref.Len())
			}
			checkZip(t, z, name)
			if step%100 == 0 || step == 2999 {
				if !slices.Equal(listElems(z), listElems(ref)) {
					t.Fatalf("depth %d step %d %s: elements differ", depth, step, name)
				}
				if ref.Len() > 0 {
					i := rng.IntN(ref.Len())
					a, _ := z.Index(i)
					b, _ := ref.Index(i)
					if string(a) != string(b) {
						t.Fatalf("index %d differs", i)
					}
					var ra, rb []string
					n := min(ref.Len()-i, 50)
					z.Range(i, n, false, func(s []byte) { ra = append(ra, string(s)) })
					ref.Range(i, n, false, func(s []byte) { rb = append(rb, string(s)) })
					if !slices.Equal(ra, rb) {
						t.Fatal("range differs")
					}
				}
				if string(encodeListSnap(nil, z)) != string(encodeListSnap(nil, ref)) {
					t.Fatalf("depth %d step %d: snapshot encodings differ", depth, step)
				}
			}
		}
	}
}

// TestListCompressSaves: inner nodes of a long, compressible list take
// less memory with list-compress-depth 1, and setting it back to 0
// decompresses them on the next write.
func TestListCompressSaves(t *testing.T) {
	cfg := DefaultConfig()
	cfg.ListCompressDepth = 1
	l := NewList()
	l.SetLimits(&cfg)
	e := []byte("a very compressible element, a very compressible element")
	for range 5000 {
		l.GrowCheck(len(e), 1)
		l.PushBack(e)
	}
	size := func() (n int) {
		for _, c := range l.chunks() {
			n += len(c.buf) + len(c.z)
		}
		return n
	}
	zipped := size()
	if l.zn == 0 || l.Chunks() < 3 || int(l.zn) != l.Chunks()-2 {
		t.Fatalf("%d of %d chunks compressed", l.zn, l.Chunks())
	}
	cfg.ListCompressDepth = 0
	l.SetLimits(&cfg)
	l.PushBack(e)
	if l.zn != 0 {
		t.Fatalf("%d chunks still compressed", l.zn)
	}
	if plain := size(); zipped*4 > plain {
		t.Fatalf("compressed %d bytes, plain %d", zipped, plain)
	}
}
