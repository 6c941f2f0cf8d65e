package vector

import (
	"fmt"
	"math"
	"math/bits"
	"slices"
)

// Quant is how an index stores its vectors (Config.Quant): as float32s,
// as 8-bit integers with a per-vector range (Q8), or as one sign bit a
// component (BIN), the three encodings of Redis 8's vector sets. A
// quantized index only supports the IP metric over unit vectors (the
// caller normalises), and computes distances on the quantized form, as
// Redis does:
//
//   - Q8: a vector v becomes q[i] = round(v[i]·127/r) with r = max|v[i]|;
//     the distance of (q, r) and (p, s) is 1 - dot(q, p)·(r/127)·(s/127),
//     the integer dot product exact in int32, clamped to [0, 2]; a zero
//     vector (r = 0) is at distance 1 from everything.
//   - BIN: bit i is set when v[i] > 0; the distance is 2·hamming/dim.
//
// Both are integer arithmetic plus a fixed sequence of correctly rounded
// float32 operations (explicit conversions forbid fused multiply-add), so
// every replica computes the same bits on every CPU; no assembly, no
// CPU-feature dispatch.
type Quant uint8

// The quantizations, numbered as Redis numbers them.
const (
	QuantNone Quant = 0 // float32, 4 bytes a component
	QuantQ8   Quant = 1 // int8 plus a float32 range a vector
	QuantBin  Quant = 2 // 1 bit a component, in 64-bit words
)

// String returns the name VINFO prints (f32, int8, bin).
func (q Quant) String() string {
	switch q {
	case QuantNone:
		return "f32"
	case QuantQ8:
		return "int8"
	case QuantBin:
		return "bin"
	}
	return fmt.Sprintf("Quant(%d)", uint8(q))
}

// binWords is the number of 64-bit words of a BIN vector of dim bits.
func binWords(dim int) int { return (dim + 63) / 64 }

// qvec is a vector in the index's stored form: f for QuantNone, q and r
// for Q8, b for BIN.
type qvec struct {
	f []float32
	q []int8
	r float32
	b []uint64
}

// quantizeQ8 stores v as int8s in dst (len(v)) and returns the range
// max|v[i]|; a zero vector gives zeros and range 0.
func quantizeQ8(v []float32, dst []int8) float32 {
	var maxAbs float32
	for _, x := range v {
		if x > maxAbs {
			maxAbs = x
		}
		if -x > maxAbs {
			maxAbs = -x
		}
	}
	if maxAbs == 0 {
		clear(dst)
		return 0
	}
	scale := 127 / maxAbs
	for i, x := range v {
		r := math.Round(float64(float32(x * scale))) // half away from zero, as roundf
		dst[i] = int8(max(-127, min(127, r)))
	}
	return maxAbs
}

// quantizeBin stores the signs of v in dst (binWords(len(v)) words):
// bit i set when v[i] > 0; unused bits stay 0.
func quantizeBin(v []float32, dst []uint64) {
	clear(dst)
	for i, x := range v {
		if x > 0 {
			dst[i/64] |= 1 << (i % 64)
		}
	}
}

// dotQ8Go is the exact integer dot product of two int8 vectors (|sum| <=
// 127²·MaxDim < 2^31; integer addition is exact, so the order of the
// sums does not matter).
func dotQ8Go(a, b []int8) int32 {
	b = b[:len(a)]
	var s0, s1 int32
	for len(a) >= 8 && len(b) >= 8 {
		x, y := a[:8:8], b[:8:8]
		s0 += int32(x[0])*int32(y[0]) + int32(x[1])*int32(y[1]) + int32(x[2])*int32(y[2]) + int32(x[3])*int32(y[3])
		s1 += int32(x[4])*int32(y[4]) + int32(x[5])*int32(y[5]) + int32(x[6])*int32(y[6]) + int32(x[7])*int32(y[7])
		a, b = a[8:], b[8:]
	}
	for i := range a {
		s0 += int32(a[i]) * int32(b[i])
	}
	return s0 + s1
}

// distQ8 is the Q8 distance 1 - dot·(ra/127)·(rb/127), clamped to [0, 2].
func distQ8(a, b []int8, ra, rb float32) float32 {
	if ra == 0 || rb == 0 {
		return 1
	}
	scale := float32(float32(ra/127) * float32(rb/127))
	d := 1 - float32(float32(dotQ8(a, b))*scale)
	return max(0, min(2, d))
}

// distBin is the BIN distance 2·hamming(a, b)/dim.
func distBin(a, b []uint64, dim int) float32 {
	b = b[:len(a)]
	n := 0
	for i, x := range a {
		n += bits.OnesCount64(x ^ b[i])
	}
	return float32(float32(n)*2) / float32(dim)
}

// dequantQ8 returns q·r/127 component by component (what Redis's VEMB
// computes before scaling back by the norm).
func dequantQ8(q []int8, r float32) []float32 {
	out := make([]float32, len(q))
	for i, x := range q {
		out[i] = float32(float32(x)*r) / 127
	}
	return out
}

// dequantBin returns ±1 by bit.
func dequantBin(b []uint64, dim int) []float32 {
	out := make([]float32, dim)
	for i := range out {
		if b[i/64]>>(i%64)&1 == 1 {
			out[i] = 1
		} else {
			out[i] = -1
		}
	}
	return out
}

// Requantize returns a copy of an unquantized IP index whose vectors are
// stored quantized with q, keeping every slot, level, neighbour list,
// tombstone, the free list and the sweep state: the same graph, without
// a rebuild. It reads vector-set snapshots written before quantized
// storage existed (which kept the dequantized floats); re-quantizing
// those gives back the original int8s and signs. ix is not changed.
func (ix *Index) Requantize(q Quant) (*Index, error) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	if ix.cfg.Quant != QuantNone {
		return nil, fmt.Errorf("%w: index is already quantized (%s)", ErrBadConfig, ix.cfg.Quant)
	}
	cfg := ix.cfg
	cfg.Quant = q
	out, err := New(cfg)
	if err != nil {
		return nil, err
	}
	for id := uint32(0); id < ix.n; id++ {
		got := out.alloc()
		src := ix.node(id)
		nd := out.mut(got)
		if src.state == slotEmpty {
			continue
		}
		nd.key, nd.state, nd.level = src.key, src.state, src.level
		v, _ := out.prepare(ix.stored(id).f)
		out.setVec(got, v)
		if cfg.Algorithm == HNSW {
			if nd.level > 0 {
				nd.up = make([][]uint32, nd.level)
				for l := 1; l <= int(nd.level); l++ {
					nd.up[l-1] = slices.Clone(ix.list(id, l))
				}
			}
			out.setList(got, 0, ix.list(id, 0))
		}
		if nd.state == slotLive {
			out.keys[nd.key] = got
		}
	}
	out.free = slices.Clone(ix.free)
	out.live, out.tombs, out.doomed = ix.live, ix.tombs, ix.doomed
	out.sweeping, out.cursor = ix.sweeping, ix.cursor
	out.entry, out.hasEntry, out.maxLevel = ix.entry, ix.hasEntry, ix.maxLevel
	return out, nil
}
