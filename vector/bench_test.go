package vector

import (
	"testing"

	"github.com/cairndb/cairn/vector/vectortest"
)

func BenchmarkSearch(b *testing.B) {
	data := vectortest.Clustered(10000, 64, 50, 0.3, 1)
	queries := vectortest.Clustered(200, 64, 50, 0.3, 2)
	ix := build(b, hnswConfig, data)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ix.Search(queries[i%len(queries)], 10, &SearchOptions{EF: 100})
	}
}

func BenchmarkL2(b *testing.B) {
	v := vectortest.Clustered(2, 128, 1, 0.3, 1)
	for i := 0; i < b.N; i++ {
		l2sq(v[0], v[1])
	}
}

func BenchmarkInsert(b *testing.B) {
	data := vectortest.Clustered(b.N, 128, 50, 0.3, 1)
	ix, _ := New(Config{Algorithm: HNSW, Dim: 128})
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ix.Set(key(i), data[i])
	}
}

func BenchmarkSearchEF10(b *testing.B) {
	all := vectortest.ClusteredLowRank(10200, 128, 100, 32, 0.3, 1)
	ix := build(b, Config{Algorithm: HNSW, Dim: 128}, all[:10000])
	queries := all[10000:]
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ix.Search(queries[i%len(queries)], 10, &SearchOptions{EF: 10})
	}
}

func BenchmarkSearch50k(b *testing.B) {
	data, queries := dataset(50000, 500, 128, 100, 1)
	ix := build(b, Config{Algorithm: HNSW, Dim: 128}, data)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ix.Search(queries[i%len(queries)], 10, &SearchOptions{EF: 100})
	}
}
