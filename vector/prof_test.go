package vector

import (
	"bufio"
	"os"
	"testing"

	"github.com/cairndb/cairn/vector/vectortest"
)

// BenchmarkSearch100kEF50 is the bench-vector operating point (100k ×
// 128-d, 100 clusters, σ 0.3, ef 50) in-process; the built index is kept
// in $CAIRN_VECTOR_CACHE when set so repeated profiles skip the build.
func BenchmarkSearch100kEF50(b *testing.B) {
	ix, queries := bench100k(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ix.Search(queries[i%len(queries)], 10, &SearchOptions{EF: 50})
	}
}

// BenchmarkSearch100kKeys2pct is the same index answering a filter that
// admits 2% of the keys, given as the candidate key set (an exact scan of
// those keys, as FT.SEARCH does for a small TAG match set).
func BenchmarkSearch100kKeys2pct(b *testing.B) {
	ix, queries := bench100k(b)
	var keys []string
	set := map[string]bool{}
	for i := 0; i < 100000; i += 50 {
		keys = append(keys, key(i))
		set[key(i)] = true
	}
	opt := &SearchOptions{EF: 100, Keys: keys, Filter: func(k string) bool { return set[k] }}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ix.Search(queries[i%len(queries)], 10, opt)
	}
}

// bench100k returns the 100k × 128-d index of the bench-vector operating
// point and its queries.
func bench100k(b *testing.B) (*Index, [][]float32) {
	all := vectortest.Clustered(101000, 128, 100, 0.3, 1)
	data, queries := all[:100000], all[100000:]
	var ix *Index
	cache := os.Getenv("CAIRN_VECTOR_CACHE")
	if cache != "" {
		if f, err := os.Open(cache); err == nil {
			ix, err = Load(bufio.NewReader(f))
			f.Close()
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	if ix == nil {
		ix = build(b, Config{Algorithm: HNSW, Dim: 128, M: 16, EFConstruction: 200}, data)
		if cache != "" {
			f, err := os.Create(cache)
			if err != nil {
				b.Fatal(err)
			}
			w := bufio.NewWriter(f)
			if _, err := ix.Snapshot().WriteTo(w); err != nil {
				b.Fatal(err)
			}
			if err := w.Flush(); err != nil {
				b.Fatal(err)
			}
			if err := f.Close(); err != nil {
				b.Fatal(err)
			}
		}
	}
	return ix, queries
}
