//go:build !amd64 || purego

package vector

// l2sq returns sum((a[i]-b[i])^2) (see the determinism note in distance.go).
func l2sq(a, b []float32) float32 { return l2sqGo(a, b) }

// dot returns sum(a[i]*b[i]).
func dot(a, b []float32) float32 { return dotGo(a, b) }
