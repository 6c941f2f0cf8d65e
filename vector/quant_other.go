//go:build !amd64 || purego

package vector

// dotQ8 is the exact integer dot product of two int8 vectors.
func dotQ8(a, b []int8) int32 { return dotQ8Go(a, b) }
