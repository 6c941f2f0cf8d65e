package keyspace

import (
	"math/rand/v2"
	"strconv"
	"testing"
)

// TestIndexAgainstMap drives the hash index and a Go map with the same
// random inserts, replacements and deletes (many of them in long probe
// runs, on a small key space) and compares every lookup.
func TestIndexAgainstMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var x index
	want := map[string]*Item{}
	for step := 0; step < 200000; step++ {
		k := "k" + strconv.Itoa(rng.IntN(3000))
		switch rng.IntN(3) {
		case 0, 1:
			it := &Item{Key: k}
			x.set(it)
			want[k] = it
		case 2:
			x.del(k)
			delete(want, k)
		}
		if step%1000 == 0 {
			if x.n != len(want) {
				t.Fatalf("step %d: n=%d, want %d", step, x.n, len(want))
			}
			for i := 0; i < 3000; i++ {
				k := "k" + strconv.Itoa(i)
				if got := x.get([]byte(k)); got != want[k] {
					t.Fatalf("step %d: get(%s) = %p, want %p", step, k, got, want[k])
				}
			}
		}
	}
}

// benchIndex returns an index of n items under keys of redis-benchmark's
// shape ("key:" and 12 digits), and the keys.
func benchIndex(n int) (*index, [][]byte) {
	x := &index{}
	keys := make([][]byte, n)
	for i := range keys {
		k := "key:" + strconv.FormatInt(int64(1e12+i), 10)[1:]
		keys[i] = []byte(k)
		x.set(newItem(k))
	}
	return x, keys
}

// BenchmarkIndexGet looks up random keys of redis-benchmark's shape
// ("key:" and 12 digits) among 1M items, present (hit) and absent (miss).
func BenchmarkIndexGet(b *testing.B) {
	const n = 1 << 20
	x, keys := benchIndex(n)
	rng := rand.New(rand.NewPCG(1, 2))
	b.Run("hit", func(b *testing.B) {
		for b.Loop() {
			if x.get(keys[rng.IntN(n)]) == nil {
				b.Fatal("missing")
			}
		}
	})
	miss := []byte("key:999999999999")
	b.Run("miss", func(b *testing.B) {
		for b.Loop() {
			miss[4+rng.IntN(12)] = byte('0' + rng.IntN(10))
			x.get(miss)
		}
	})
}

// BenchmarkIndexPrefetch looks up batches of 32 random keys among 1M
// items one by one, with and without a prefetch of the batch first (as a
// batch of writes is applied): the per-key time is what a command's
// look-up costs.
func BenchmarkIndexPrefetch(b *testing.B) {
	const n = 1 << 20
	x, keys := benchIndex(n)
	rng := rand.New(rand.NewPCG(3, 4))
	batch := make([][]byte, prefetchMax)
	for _, pre := range []bool{false, true} {
		name := "lookups"
		if pre {
			name = "prefetch+lookups"
		}
		b.Run(name, func(b *testing.B) {
			var sink uintptr
			for b.Loop() {
				for i := range batch {
					batch[i] = keys[rng.IntN(n)]
				}
				if pre {
					sink += x.prefetch(batch)
				}
				for _, k := range batch {
					if x.get(k) == nil {
						b.Fatal("missing")
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(batch)), "ns/key")
			_ = sink
		})
	}
}

func TestIndexPrefetchChangesNothing(t *testing.T) {
	var x index
	if x.prefetch([][]byte{[]byte("a")}) != 0 {
		t.Fatal("prefetch on an empty index read something")
	}
	want := map[string]*Item{}
	for i := range 100 {
		k := "k" + strconv.Itoa(i)
		it := newItem(k)
		want[k] = it
		x.set(it)
	}
	var keys [][]byte
	for i := range 3 * prefetchMax { // more than one prefetch takes
		keys = append(keys, []byte("k"+strconv.Itoa(i*7)))
	}
	x.prefetch(keys)
	x.prefetch(nil)
	if x.n != 100 {
		t.Fatalf("n = %d after prefetch, want 100", x.n)
	}
	for k, it := range want {
		if got := x.get([]byte(k)); got != it {
			t.Fatalf("get(%s) = %p after prefetch, want %p", k, got, it)
		}
	}
}
