package main

import (
	"fmt"
	"runtime"
	"sync"

	"github.com/cairndb/cairn/vector/vectortest"
)

// dataset is the benchmark's input: Gaussian-clustered vectors, queries
// from the same clusters, and each query's exact k nearest neighbours.
type dataset struct {
	data, queries [][]float32
	truth         [][]vectortest.Neighbour
	desc          string
}

// makeDataset generates n data vectors and nq queries from one
// vectortest.ClusteredLowRank call (so the queries share the clusters)
// and computes the exact ground truth by brute force.
func makeDataset(n, dim, nq, clusters, rank int, sigma float64, seed uint64, k int) dataset {
	all := vectortest.ClusteredLowRank(n+nq, dim, clusters, rank, sigma, seed)
	d := dataset{data: all[:n], queries: all[n:]}
	d.truth = groundTruth(d.data, d.queries, k, nil)
	shape := "isotropic"
	if rank > 0 {
		shape = fmt.Sprintf("rank-%d subspace per cluster", rank)
	}
	d.desc = fmt.Sprintf("%d x %d-d, %d Gaussian clusters (%s, sigma %.2f), %d queries, k=%d, seed %d",
		n, dim, clusters, shape, sigma, nq, k, seed)
	return d
}

// groundTruth returns the exact k nearest admitted neighbours of each
// query (L2), computed by brute force on all CPUs.
func groundTruth(data, queries [][]float32, k int, admit func(int) bool) [][]vectortest.Neighbour {
	truth := make([][]vectortest.Neighbour, len(queries))
	var wg sync.WaitGroup
	workers := runtime.GOMAXPROCS(0)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(queries); i += workers {
				truth[i] = vectortest.KNN(data, queries[i], k, vectortest.L2, admit)
			}
		}()
	}
	wg.Wait()
	return truth
}

// selectivities are the filtered-search cases: the share of keys (in %)
// that a filter admits.
var selectivities = []int{2, 10, 50}

// admitted reports whether vector i belongs to the pct% subset. The
// subsets are nested (2% within 10% within 50%) and independent of the
// clusters: they come from a hash of the id.
func admitted(i, pct int) bool { return mix(uint64(i))%100 < uint64(pct) }

// mix is the SplitMix64 finaliser.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}
