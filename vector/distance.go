package vector

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

// Metric is a distance metric.
type Metric uint8

// The metrics, with the distance RediSearch reports for each.
const (
	// L2 is the squared Euclidean distance, sum((a-b)^2).
	L2 Metric = iota
	// IP is 1 - dot(a, b).
	IP
	// Cosine is 1 - cos(a, b). Vectors are normalised when they enter the
	// index and queries when they are searched, so the distance is 1 - dot
	// of the normalised vectors.
	Cosine
)

// ErrUnknownMetric is returned by ParseMetric for a name it does not know.
var ErrUnknownMetric = errors.New("vector: unknown distance metric")

// String returns the RediSearch name of the metric.
func (m Metric) String() string {
	switch m {
	case L2:
		return "L2"
	case IP:
		return "IP"
	case Cosine:
		return "COSINE"
	}
	return fmt.Sprintf("Metric(%d)", uint8(m))
}

// ParseMetric parses a DISTANCE_METRIC argument (L2, IP, COSINE; any case).
func ParseMetric(s string) (Metric, error) {
	switch strings.ToUpper(s) {
	case "L2":
		return L2, nil
	case "IP":
		return IP, nil
	case "COSINE":
		return Cosine, nil
	}
	return 0, fmt.Errorf("%w: %q", ErrUnknownMetric, s)
}

// Determinism of the float32 arithmetic below.
//
// Every replica must compute bit-identical distances, or two replicas that
// apply the same log could build different graphs. The loops are plain Go
// with a fixed evaluation order: eight independent accumulators over
// indexes i%8 == 0..7, combined as ((s0+s1)+(s2+s3))+((s4+s5)+(s6+s7)),
// then the tail in order. No SIMD is used: assembly kernels differ in reduction order
// between CPU feature levels (AVX2 vs AVX-512 vs NEON), which changes the
// rounding. Each product is wrapped in an explicit float32(...) conversion:
// the Go specification lets a compiler fuse x*y+z into one FMA instruction
// (it does on arm64, ppc64le, s390x, and on amd64 with GOAMD64=v3), and an
// explicit conversion forces the intermediate rounding and so forbids the
// fusion. The result is IEEE-754 single-precision arithmetic in a fixed
// order: identical on every architecture Go supports.

// l2sq returns sum((a[i]-b[i])^2). len(b) must be >= len(a).
func l2sq(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3, s4, s5, s6, s7 float32
	for len(a) >= 8 && len(b) >= 8 {
		d0 := a[0] - b[0]
		d1 := a[1] - b[1]
		d2 := a[2] - b[2]
		d3 := a[3] - b[3]
		d4 := a[4] - b[4]
		d5 := a[5] - b[5]
		d6 := a[6] - b[6]
		d7 := a[7] - b[7]
		s0 += float32(d0 * d0)
		s1 += float32(d1 * d1)
		s2 += float32(d2 * d2)
		s3 += float32(d3 * d3)
		s4 += float32(d4 * d4)
		s5 += float32(d5 * d5)
		s6 += float32(d6 * d6)
		s7 += float32(d7 * d7)
		a, b = a[8:], b[8:]
	}
	s := ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
	for i := range a {
		d := a[i] - b[i]
		s += float32(d * d)
	}
	return s
}

// dot returns sum(a[i]*b[i]). len(b) must be >= len(a).
func dot(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3, s4, s5, s6, s7 float32
	for len(a) >= 8 && len(b) >= 8 {
		s0 += float32(a[0] * b[0])
		s1 += float32(a[1] * b[1])
		s2 += float32(a[2] * b[2])
		s3 += float32(a[3] * b[3])
		s4 += float32(a[4] * b[4])
		s5 += float32(a[5] * b[5])
		s6 += float32(a[6] * b[6])
		s7 += float32(a[7] * b[7])
		a, b = a[8:], b[8:]
	}
	s := ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
	for i := range a {
		s += float32(a[i] * b[i])
	}
	return s
}

// normalize returns v scaled to unit length (a copy); a zero vector is
// returned as zeros. math.Sqrt is correctly rounded (IEEE-754), so the
// result is the same on every replica.
func normalize(v []float32) []float32 {
	out := make([]float32, len(v))
	n := dot(v, v)
	if n == 0 {
		return out
	}
	norm := float32(math.Sqrt(float64(n)))
	for i, x := range v {
		out[i] = x / norm
	}
	return out
}

// Distance returns the distance between a and b under metric m, computed
// exactly as an index computes it (for Cosine the inputs are normalised
// first). a and b must have the same length.
func Distance(m Metric, a, b []float32) float32 {
	switch m {
	case IP:
		return 1 - dot(a, b)
	case Cosine:
		return 1 - dot(normalize(a), normalize(b))
	default:
		return l2sq(a, b)
	}
}

// distFunc returns the distance between two vectors already prepared for
// the index (normalised for Cosine).
func distFunc(m Metric) func(a, b []float32) float32 {
	switch m {
	case IP, Cosine:
		return func(a, b []float32) float32 { return 1 - dot(a, b) }
	default:
		return l2sq
	}
}
