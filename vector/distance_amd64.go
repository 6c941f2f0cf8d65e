//go:build !purego

package vector

// l2Lanes adds (a[i]-b[i])^2 into acc[i%16] for i < len(a)/16*16, in SSE
// (distance_amd64.s). len(b) must be >= len(a).
//
//go:noescape
func l2Lanes(a, b []float32, acc *[lanes]float32)

// dotLanes adds a[i]*b[i] into acc[i%16] for i < len(a)/16*16, in SSE.
//
//go:noescape
func dotLanes(a, b []float32, acc *[lanes]float32)

// l2sq returns sum((a[i]-b[i])^2), bit-identical to l2sqGo.
func l2sq(a, b []float32) float32 {
	b = b[:len(a)]
	var acc [lanes]float32
	l2Lanes(a, b, &acc)
	s := reduce16(&acc)
	n := len(a) &^ (lanes - 1)
	for i := n; i < len(a); i++ {
		d := a[i] - b[i]
		s += float32(d * d)
	}
	return s
}

// dot returns sum(a[i]*b[i]), bit-identical to dotGo.
func dot(a, b []float32) float32 {
	b = b[:len(a)]
	var acc [lanes]float32
	dotLanes(a, b, &acc)
	s := reduce16(&acc)
	n := len(a) &^ (lanes - 1)
	for i := n; i < len(a); i++ {
		s += float32(a[i] * b[i])
	}
	return s
}
