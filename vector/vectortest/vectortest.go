// Package vectortest generates deterministic vector datasets and exact
// ground truth for the vector package's tests and benchmark.
package vectortest

import (
	"math/rand/v2"
	"slices"
)

// Clustered returns n vectors of dimension dim drawn from `clusters`
// Gaussian clusters (centres uniform in [-1,1]^dim, standard deviation
// sigma around each), from a PCG generator seeded with seed: the same
// arguments always give the same vectors.
func Clustered(n, dim, clusters int, sigma float64, seed uint64) [][]float32 {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	centres := make([][]float64, clusters)
	for i := range centres {
		c := make([]float64, dim)
		for j := range c {
			c[j] = rng.Float64()*2 - 1
		}
		centres[i] = c
	}
	out := make([][]float32, n)
	for i := range out {
		c := centres[rng.IntN(clusters)]
		v := make([]float32, dim)
		for j := range v {
			v[j] = float32(c[j] + rng.NormFloat64()*sigma)
		}
		out[i] = v
	}
	return out
}

// Neighbour is one exact ground-truth hit.
type Neighbour struct {
	// ID is the index of the vector in the dataset.
	ID int
	// Distance is its distance to the query.
	Distance float64
}

// KNN returns the k nearest of data to q under dist (computed in float64),
// sorted by (distance, id); admit, when non-nil, restricts the candidates.
func KNN(data [][]float32, q []float32, k int, dist func(a, b []float32) float64, admit func(int) bool) []Neighbour {
	all := make([]Neighbour, 0, len(data))
	for i, v := range data {
		if v == nil || (admit != nil && !admit(i)) {
			continue
		}
		all = append(all, Neighbour{i, dist(q, v)})
	}
	slices.SortFunc(all, func(a, b Neighbour) int {
		switch {
		case a.Distance < b.Distance:
			return -1
		case a.Distance > b.Distance:
			return 1
		}
		return a.ID - b.ID
	})
	if len(all) > k {
		all = all[:k]
	}
	return all
}

// L2 is the squared Euclidean distance in float64.
func L2(a, b []float32) float64 {
	var s float64
	for i := range a {
		d := float64(a[i]) - float64(b[i])
		s += d * d
	}
	return s
}

// Recall returns |got ∩ want| / |want|.
func Recall(got []int, want []Neighbour) float64 {
	if len(want) == 0 {
		return 1
	}
	in := make(map[int]bool, len(got))
	for _, g := range got {
		in[g] = true
	}
	hit := 0
	for _, w := range want {
		if in[w.ID] {
			hit++
		}
	}
	return float64(hit) / float64(len(want))
}

// ClusteredLowRank is like Clustered but each cluster spreads along its
// own random rank-dimensional subspace (plus isotropic noise of sigma/10),
// which is closer to real embeddings: their intrinsic dimension is far
// below their nominal one. rank <= 0 means Clustered.
func ClusteredLowRank(n, dim, clusters, rank int, sigma float64, seed uint64) [][]float32 {
	if rank <= 0 {
		return Clustered(n, dim, clusters, sigma, seed)
	}
	rng := rand.New(rand.NewPCG(seed, seed^0x6a09e667f3bcc909))
	type cluster struct{ centre, basis []float64 }
	cs := make([]cluster, clusters)
	for i := range cs {
		c := cluster{make([]float64, dim), make([]float64, rank*dim)}
		for j := range c.centre {
			c.centre[j] = rng.Float64()*2 - 1
		}
		for j := range c.basis {
			c.basis[j] = rng.NormFloat64() / float64(rank)
		}
		cs[i] = c
	}
	out := make([][]float32, n)
	z := make([]float64, rank)
	for i := range out {
		c := cs[rng.IntN(clusters)]
		for r := range z {
			z[r] = rng.NormFloat64() * sigma * 3
		}
		v := make([]float32, dim)
		for j := range v {
			x := c.centre[j] + rng.NormFloat64()*sigma/10
			for r := range z {
				x += z[r] * c.basis[r*dim+j]
			}
			v[j] = float32(x)
		}
		out[i] = v
	}
	return out
}
