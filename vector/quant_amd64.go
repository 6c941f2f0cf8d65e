//go:build !purego

package vector

// dotQ8Sum returns the integer dot product of a and b over the first
// len(a)/16*16 components, in SSE2 (quant_amd64.s). len(b) must be >=
// len(a).
//
//go:noescape
func dotQ8Sum(a, b []int8) int32

// dotQ8 is the exact integer dot product of two int8 vectors; equal to
// dotQ8Go (integer sums are exact in any order).
func dotQ8(a, b []int8) int32 {
	b = b[:len(a)]
	s := dotQ8Sum(a, b)
	for i := len(a) &^ 15; i < len(a); i++ {
		s += int32(a[i]) * int32(b[i])
	}
	return s
}
