package hll

import (
	"encoding/binary"
	"errors"
	"math"
	"math/bits"
	"strconv"
)

// The representation is Redis's (hyperloglog.c), byte for byte:
//
//	+------+---+-----+----------+
//	| HYLL | E | N/U | Cardin.  |
//	+------+---+-----+----------+
//
// a 16-byte header (magic "HYLL", encoding 0 dense / 1 sparse, 3 unused
// bytes, a little-endian 64-bit cached cardinality whose top bit marks it
// invalid), then the registers: 16384 6-bit registers packed LSB first
// (dense), or a run-length coding of them (sparse) with three opcodes:
//
//	ZERO   00xxxxxx           xxxxxx+1 (1..64) zero registers
//	XZERO  01xxxxxx yyyyyyyy  xxxxxxyyyyyyyy+1 (1..16384) zero registers
//	VAL    1vvvvvxx           xx+1 (1..4) registers of value vvvvv+1 (1..32)
//
// A sparse HLL is promoted to dense when a register needs a value above 32
// or the string would exceed hll-sparse-max-bytes (3000, Redis's default).
const (
	hllP         = 14
	hllQ         = 64 - hllP
	hllRegisters = 1 << hllP
	hllPMask     = hllRegisters - 1
	hllBits      = 6
	hllRegMax    = 1<<hllBits - 1
	hdrSize      = 16
	denseSize    = hdrSize + (hllRegisters*hllBits+7)/8

	encDense  = 0
	encSparse = 1
	encMax    = encSparse

	sparseMaxBytes    = 3000
	sparseValMaxValue = 32
	sparseValMaxLen   = 4
	sparseZeroMaxLen  = 64
	sparseXZeroMaxLen = 16384

	alphaInf = 0.721347520444481703680 // 0.5/ln(2)
	seed     = 0xadc83b19
)

// errCorrupt reports a sparse HLL whose opcodes do not cover exactly the
// 16384 registers.
var errCorrupt = errors.New("corrupted HLL")

// Sparse opcodes.
func isZero(b byte) bool      { return b&0xc0 == 0 }
func isXZero(b byte) bool     { return b&0xc0 == 0x40 }
func isVal(b byte) bool       { return b&0x80 != 0 }
func zeroLen(b byte) int      { return int(b&0x3f) + 1 }
func xzeroLen(b, b1 byte) int { return int(b&0x3f)<<8 | int(b1) + 1 }
func valValue(b byte) int     { return int(b>>2&0x1f) + 1 }
func valLen(b byte) int       { return int(b&3) + 1 }
func valOp(v, n int) byte     { return byte((v-1)<<2|(n-1)) | 0x80 }
func appendZeros(s []byte, n int) []byte {
	if n > sparseZeroMaxLen {
		return append(s, byte((n-1)>>8)|0x40, byte(n-1))
	}
	return append(s, byte(n-1))
}

// at returns s[i], or 0 past the end: Redis reads the string's NUL
// terminator there (an XZERO opcode cut short, the last dense register).
func at(s []byte, i int) byte {
	if i < len(s) {
		return s[i]
	}
	return 0
}

// newHLL returns an empty HLL as Redis's createHLLObject builds it: sparse,
// one XZERO opcode covering every register, a valid cached cardinality 0.
func newHLL() []byte {
	b := make([]byte, hdrSize+2, 64)
	copy(b, "HYLL")
	b[4] = encSparse
	b[hdrSize], b[hdrSize+1] = 0x40|byte((sparseXZeroMaxLen-1)>>8), byte((sparseXZeroMaxLen-1)&0xff)
	return b
}

// valid is Redis's isHLLObjectOrReply check of a string value.
func valid(b []byte) bool {
	return len(b) >= hdrSize && string(b[:4]) == "HYLL" && b[4] <= encMax &&
		(b[4] != encDense || len(b) == denseSize)
}

// cached returns the cached cardinality if it is valid.
func cached(b []byte) (uint64, bool) {
	if b[15]&0x80 != 0 {
		return 0, false
	}
	return binary.LittleEndian.Uint64(b[8:16]), true
}

func invalidate(b []byte) { b[15] |= 0x80 }

// murmur64A is MurmurHash64A, the endian-neutral variant Redis uses.
func murmur64A(key []byte, seed uint64) uint64 {
	const m = 0xc6a4a7935bd1e995
	const r = 47
	h := seed ^ uint64(len(key))*m
	n := len(key) &^ 7
	for i := 0; i < n; i += 8 {
		k := binary.LittleEndian.Uint64(key[i:])
		k *= m
		k ^= k >> r
		k *= m
		h ^= k
		h *= m
	}
	t := key[n:]
	switch len(t) {
	case 7:
		h ^= uint64(t[6]) << 48
		fallthrough
	case 6:
		h ^= uint64(t[5]) << 40
		fallthrough
	case 5:
		h ^= uint64(t[4]) << 32
		fallthrough
	case 4:
		h ^= uint64(t[3]) << 24
		fallthrough
	case 3:
		h ^= uint64(t[2]) << 16
		fallthrough
	case 2:
		h ^= uint64(t[1]) << 8
		fallthrough
	case 1:
		h ^= uint64(t[0])
		h *= m
	}
	h ^= h >> r
	h *= m
	h ^= h >> r
	return h
}

// patLen returns the register an element maps to and the length of the
// 000..1 pattern of its hash (1..51), as Redis's hllPatLen.
func patLen(ele []byte) (index int, count int) {
	h := murmur64A(ele, seed)
	index = int(h & hllPMask)
	h >>= hllP
	h |= 1 << hllQ
	return index, bits.TrailingZeros64(h) + 1
}

// denseGet returns register i of dense registers regs.
func denseGet(regs []byte, i int) int {
	b := i * hllBits / 8
	fb := uint(i * hllBits & 7)
	return int((regs[b]>>fb | at(regs, b+1)<<(8-fb)) & hllRegMax)
}

// denseSet sets register i of dense registers regs to v.
func denseSet(regs []byte, i int, v int) {
	b := i * hllBits / 8
	fb := uint(i * hllBits & 7)
	regs[b] &^= hllRegMax << fb
	regs[b] |= byte(v) << fb
	if b+1 < len(regs) {
		regs[b+1] &^= hllRegMax >> (8 - fb)
		regs[b+1] |= byte(v) >> (8 - fb)
	}
}

// buf is an HLL being updated. Its bytes are copied before the first
// change unless private: the stored value may be aliased by readers.
type buf struct {
	b       []byte
	private bool
}

func (h *buf) own() {
	if !h.private {
		n := make([]byte, len(h.b), len(h.b)+16)
		copy(n, h.b)
		h.b, h.private = n, true
	}
}

// add adds an element, as Redis's hllAdd: 1 if a register changed, 0 if
// not, -1 for a corrupted HLL.
func (h *buf) add(ele []byte) int {
	index, count := patLen(ele)
	switch h.b[4] {
	case encDense:
		return h.denseSet(index, count)
	case encSparse:
		return h.sparseSet(index, count)
	}
	return -1
}

// denseSet raises register index to count, as hllDenseSet.
func (h *buf) denseSet(index, count int) int {
	if count <= denseGet(h.b[hdrSize:], index) {
		return 0
	}
	h.own()
	denseSet(h.b[hdrSize:], index, count)
	return 1
}

// toDense converts a sparse HLL to dense, as hllSparseToDense: the header
// (magic, unused bytes, cached cardinality) is kept.
func (h *buf) toDense() error {
	s := h.b
	if s[4] == encDense {
		return nil
	}
	d := make([]byte, denseSize)
	copy(d, s[:hdrSize])
	d[4] = encDense
	regs := d[hdrSize:]
	idx := 0
	for p := hdrSize; p < len(s); {
		switch b := s[p]; {
		case isZero(b):
			idx += zeroLen(b)
			p++
		case isXZero(b):
			idx += xzeroLen(b, at(s, p+1))
			p += 2
		default:
			n, v := valLen(b), valValue(b)
			if idx+n > hllRegisters {
				return errCorrupt
			}
			for ; n > 0; n-- {
				denseSet(regs, idx, v)
				idx++
			}
			p++
		}
	}
	if idx != hllRegisters {
		return errCorrupt
	}
	h.b, h.private = d, true
	return nil
}

// sparseSet raises register index to count in a sparse HLL, exactly as
// Redis's hllSparseSet (including its opcode splitting and merging, so the
// bytes match): 1 if changed, 0 if not, -1 for a corrupted HLL.
func (h *buf) sparseSet(index, count int) int {
	if count > sparseValMaxValue {
		return h.promote(index, count)
	}
	s := h.b
	end := len(s)
	// Step 1: find the opcode covering the register.
	p, first, span, prev := hdrSize, 0, 0, -1
	oplen := 1
	for p < end {
		oplen = 1
		switch b := s[p]; {
		case isZero(b):
			span = zeroLen(b)
		case isVal(b):
			span = valLen(b)
		default:
			span = xzeroLen(b, at(s, p+1))
			oplen = 2
		}
		if index <= first+span-1 {
			break
		}
		prev = p
		p += oplen
		first += span
	}
	if span == 0 || p >= end {
		return -1
	}
	b := s[p]
	zero, xzero := isZero(b), isXZero(b)
	runlen := span

	// Step 2: trivial cases.
	if !zero && !xzero {
		if valValue(b) >= count {
			return 0
		}
		if runlen == 1 {
			h.own()
			h.b[p] = valOp(count, 1)
			h.merge(prev)
			return 1
		}
	}
	if zero && runlen == 1 {
		h.own()
		h.b[p] = valOp(count, 1)
		h.merge(prev)
		return 1
	}

	// General case: split the opcode into up to three.
	var seqBuf [5]byte
	seq := seqBuf[:0]
	last := first + span - 1
	if zero || xzero {
		if index != first {
			seq = appendZeros(seq, index-first)
		}
		seq = append(seq, valOp(count, 1))
		if index != last {
			seq = appendZeros(seq, last-index)
		}
	} else {
		cur := valValue(b)
		if index != first {
			seq = append(seq, valOp(cur, index-first))
		}
		seq = append(seq, valOp(count, 1))
		if index != last {
			seq = append(seq, valOp(cur, last-index))
		}
	}

	// Step 3: substitute the new sequence for the old opcode.
	oldlen := 1
	if xzero {
		oldlen = 2
	}
	delta := len(seq) - oldlen
	if delta > 0 && end+delta > sparseMaxBytes {
		return h.promote(index, count)
	}
	h.own()
	s = h.b
	if next := p + oldlen; next < end {
		if delta > 0 {
			s = append(s, seq[:delta]...) // room; overwritten below
		}
		copy(s[next+delta:], s[next:end])
		s = s[:end+delta]
	} else {
		// The opcode is the last one (possibly cut short): the string
		// ends where the old opcode did, plus delta.
		s = append(s[:p], seq...)[:end+delta]
	}
	copy(s[p:], seq)
	h.b = s
	h.merge(prev)
	return 1
}

// merge is step 4 of hllSparseSet: merge adjacent VAL opcodes of equal
// value, scanning up to 5 opcodes from prev (or the first opcode). It also
// invalidates the cached cardinality.
func (h *buf) merge(prev int) {
	s := h.b
	end := len(s)
	p := prev
	if p < 0 {
		p = hdrSize
	}
	for scan := 5; p < end && scan > 0; {
		scan--
		b := s[p]
		if isXZero(b) {
			p += 2
			continue
		}
		if isZero(b) {
			p++
			continue
		}
		if p+1 < end && isVal(s[p+1]) {
			v := valValue(b)
			if v == valValue(s[p+1]) {
				if n := valLen(b) + valLen(s[p+1]); n <= sparseValMaxLen {
					s[p+1] = valOp(v, n)
					copy(s[p:], s[p+1:end])
					end--
					s = s[:end]
					continue
				}
			}
		}
		p++
	}
	h.b = s
	invalidate(s)
}

// promote converts to dense and sets the register, as the promote path of
// hllSparseSet.
func (h *buf) promote(index, count int) int {
	if h.toDense() != nil {
		return -1
	}
	denseSet(h.b[hdrSize:], index, count)
	return 1
}

// histogram counts the registers of each value, as hllDenseRegHisto and
// hllSparseRegHisto; invalid reports a sparse HLL that does not cover
// exactly 16384 registers.
func histogram(s []byte, hist *[64]int) (invalid bool) {
	if s[4] == encDense {
		var regs [hllRegisters]uint8
		unpackDense(s[hdrSize:denseSize], &regs)
		rawHistogram(&regs, hist)
		return false
	}
	idx := 0
	for p := hdrSize; p < len(s); {
		switch b := s[p]; {
		case isZero(b):
			n := zeroLen(b)
			idx += n
			hist[0] += n
			p++
		case isXZero(b):
			n := xzeroLen(b, at(s, p+1))
			idx += n
			hist[0] += n
			p += 2
		default:
			n := valLen(b)
			idx += n
			hist[valValue(b)] += n
			p++
		}
	}
	return idx != hllRegisters
}

// mergeInto sets max[i] to the maximum of max[i] and register i of the
// HLL s, as Redis's hllMerge.
func mergeInto(max *[hllRegisters]uint8, s []byte) error {
	if s[4] == encDense {
		var regs [hllRegisters]uint8
		unpackDense(s[hdrSize:denseSize], &regs)
		for i, v := range regs {
			max[i] = maxU8(max[i], v)
		}
		return nil
	}
	i := 0
	for p := hdrSize; p < len(s); {
		switch b := s[p]; {
		case isZero(b):
			i += zeroLen(b)
			p++
		case isXZero(b):
			i += xzeroLen(b, at(s, p+1))
			p += 2
		default:
			n, v := valLen(b), uint8(valValue(b))
			if i+n > hllRegisters {
				return errCorrupt
			}
			for ; n > 0; n-- {
				if v > max[i] {
					max[i] = v
				}
				i++
			}
			p++
		}
	}
	if i != hllRegisters {
		return errCorrupt
	}
	return nil
}

// count estimates the cardinality of the HLL s (Redis's hllCount).
func count(s []byte) (int64, bool) {
	var hist [64]int
	if histogram(s, &hist) {
		return 0, false
	}
	return estimate(&hist), true
}

// countRegisters estimates the cardinality of raw registers.
func countRegisters(regs *[hllRegisters]uint8) int64 {
	var hist [64]int
	rawHistogram(regs, &hist)
	return estimate(&hist)
}

func maxU8(a, b uint8) uint8 {
	if b > a {
		return b
	}
	return a
}

// unpackDense decodes all dense registers, eight per six bytes.
func unpackDense(regs []byte, out *[hllRegisters]uint8) {
	i, j := 0, 0
	for ; i+8 <= len(regs) && j+8 <= len(out); i, j = i+6, j+8 {
		w := binary.LittleEndian.Uint64(regs[i:])
		o := out[j : j+8 : j+8]
		o[0] = uint8(w & 63)
		o[1] = uint8(w >> 6 & 63)
		o[2] = uint8(w >> 12 & 63)
		o[3] = uint8(w >> 18 & 63)
		o[4] = uint8(w >> 24 & 63)
		o[5] = uint8(w >> 30 & 63)
		o[6] = uint8(w >> 36 & 63)
		o[7] = uint8(w >> 42 & 63)
	}
	for ; j < len(out); j++ {
		out[j] = uint8(denseGet(regs, j))
	}
}

// rawHistogram adds the registers' values to hist (values above 63 are
// counted modulo 64, as they cannot occur).
func rawHistogram(regs *[hllRegisters]uint8, hist *[64]int) {
	// Separate tables, so consecutive increments do not wait for each
	// other.
	var h [4][64]int32
	for i := 0; i < len(regs); i += 4 {
		r := regs[i : i+4 : i+4]
		h[0][r[0]&63]++
		h[1][r[1]&63]++
		h[2][r[2]&63]++
		h[3][r[3]&63]++
	}
	for v := range hist {
		hist[v] += int(h[0][v] + h[1][v] + h[2][v] + h[3][v])
	}
}

// estimate is the cardinality estimator of Redis ≥ 5: Otmar Ertl's
// improved estimator ("New cardinality estimation algorithms for
// HyperLogLog sketches", arXiv:1702.01284), computed with the same double
// operations in the same order as Redis, so the results are identical.
// Explicit float64 conversions keep the compiler from fusing a multiply
// and an add, which would change the rounding.
func estimate(hist *[64]int) int64 {
	m := float64(hllRegisters)
	z := m * tau((m-float64(hist[hllQ+1]))/m)
	for j := hllQ; j >= 1; j-- {
		z += float64(hist[j])
		z *= 0.5
	}
	z += float64(m * sigma(float64(hist[0])/m))
	return llround(alphaInf * m * m / z)
}

// llround is C's llround (as x86-64 computes it) followed by Redis's
// conversion to uint64 and back: values out of the int64 range (an
// infinite estimate, from crafted registers) give math.MinInt64.
func llround(x float64) int64 {
	r := math.Round(x)
	if math.IsNaN(r) || r >= 1<<63 || r < -(1<<63) {
		return math.MinInt64
	}
	return int64(r)
}

func sigma(x float64) float64 {
	if x == 1 {
		return math.Inf(1)
	}
	y, z := 1.0, x
	for {
		x *= x
		zPrime := z
		z += float64(x * y)
		y += y
		if zPrime == z {
			return z
		}
	}
}

func tau(x float64) float64 {
	if x == 0 || x == 1 {
		return 0
	}
	y, z := 1.0, 1-x
	for {
		x = math.Sqrt(x)
		zPrime := z
		y *= 0.5
		d := float64((1 - x) * (1 - x))
		z -= float64(d * y)
		if zPrime == z {
			return z / 3
		}
	}
}

// decode renders a sparse HLL's opcodes as PFDEBUG DECODE does.
func decode(s []byte) []byte {
	var out []byte
	for p := hdrSize; p < len(s); {
		if len(out) > 0 {
			out = append(out, ' ')
		}
		switch b := s[p]; {
		case isZero(b):
			out = append(out, "z:"...)
			out = appendInt(out, zeroLen(b))
			p++
		case isXZero(b):
			out = append(out, "Z:"...)
			out = appendInt(out, xzeroLen(b, at(s, p+1)))
			p += 2
		default:
			out = append(out, "v:"...)
			out = appendInt(out, valValue(b))
			out = append(out, ',')
			out = appendInt(out, valLen(b))
			p++
		}
	}
	return out
}

func appendInt(b []byte, n int) []byte { return strconv.AppendInt(b, int64(n), 10) }
