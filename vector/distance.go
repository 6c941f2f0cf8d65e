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

// Determinism of the float32 arithmetic.
//
// Every replica must compute bit-identical distances, or two replicas that
// apply the same log could build different graphs. The kernels therefore
// fix the evaluation order: sixteen accumulators, accumulator k summing
// the terms of indexes i with i%16 == k in increasing i, then the fixed
// tree reduce16, then the tail (len%16 elements) in order. Every
// product is wrapped in an explicit float32(...) conversion: the Go
// specification lets a compiler fuse x*y+z into one FMA instruction (it
// does on arm64, ppc64le, s390x, and on amd64 with GOAMD64=v3), and an
// explicit conversion forces the intermediate rounding and so forbids the
// fusion. The result is IEEE-754 single-precision arithmetic in a fixed
// order, the same on every architecture Go supports.
//
// On amd64 the main loop runs in SSE assembly (distance_amd64.s): four
// 4-lane registers are exactly the sixteen accumulators, and SUBPS, MULPS
// and ADDPS are the same IEEE-754 single-precision operations, each
// rounded, as the scalar code (no FMA, no horizontal adds, Go never sets
// flush-to-zero). SSE2 is part of the amd64 baseline, so there is no
// CPU-feature dispatch: every amd64 replica runs the same instructions,
// and TestKernelsMatch checks the assembly against the pure-Go kernels bit
// for bit. AVX/AVX-512 kernels from libraries were not used: they sum in
// 8 or 16 lanes with a different order (and often FMA) depending on the
// CPU, which breaks replica identity.

// lanes is the number of accumulators of the distance kernels.
const lanes = 16

// reduce16 sums the accumulators in a fixed tree.
func reduce16(s *[lanes]float32) float32 {
	for w := lanes / 2; w > 0; w /= 2 {
		for k := 0; k < w; k++ {
			s[k] += s[k+w]
		}
	}
	return s[0]
}

// l2sqGo is the pure-Go squared-L2 kernel. len(b) must be >= len(a).
func l2sqGo(a, b []float32) float32 {
	b = b[:len(a)]
	var acc [lanes]float32
	for len(a) >= lanes && len(b) >= lanes {
		for k := 0; k < lanes; k++ {
			d := a[k] - b[k]
			acc[k] += float32(d * d)
		}
		a, b = a[lanes:], b[lanes:]
	}
	s := reduce16(&acc)
	for i := range a {
		d := a[i] - b[i]
		s += float32(d * d)
	}
	return s
}

// dotGo is the pure-Go dot-product kernel. len(b) must be >= len(a).
func dotGo(a, b []float32) float32 {
	b = b[:len(a)]
	var acc [lanes]float32
	for len(a) >= lanes && len(b) >= lanes {
		for k := 0; k < lanes; k++ {
			acc[k] += float32(a[k] * b[k])
		}
		a, b = a[lanes:], b[lanes:]
	}
	s := reduce16(&acc)
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
