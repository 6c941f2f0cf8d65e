//go:build !purego

package vector

// l2Sum returns reduce16 of the sixteen accumulators of (a[i]-b[i])^2 over
// i < len(a)/16*16, in SSE (distance_amd64.s). len(b) must be >= len(a).
//
//go:noescape
func l2Sum(a, b []float32) float32

// dotSum is l2Sum for a[i]*b[i].
//
//go:noescape
func dotSum(a, b []float32) float32

// l2sq returns sum((a[i]-b[i])^2), bit-identical to l2sqGo.
func l2sq(a, b []float32) float32 {
	b = b[:len(a)]
	s := l2Sum(a, b)
	for i := len(a) &^ (lanes - 1); i < len(a); i++ {
		d := a[i] - b[i]
		s += float32(d * d)
	}
	return s
}

// dot returns sum(a[i]*b[i]), bit-identical to dotGo.
func dot(a, b []float32) float32 {
	b = b[:len(a)]
	s := dotSum(a, b)
	for i := len(a) &^ (lanes - 1); i < len(a); i++ {
		s += float32(a[i] * b[i])
	}
	return s
}
