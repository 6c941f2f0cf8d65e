package vector

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
)

// ElemType is the element type of the vector blobs stored in hash fields.
type ElemType uint8

// The element types. Every type is decoded to float32, the type the index
// stores and computes in.
const (
	// Float32 is IEEE-754 binary32, 4 bytes little endian.
	Float32 ElemType = iota
	// Float64 is IEEE-754 binary64, 8 bytes little endian, rounded to
	// float32 (round to nearest even) on decoding.
	Float64
	// Float16 is IEEE-754 binary16, 2 bytes little endian (exact in float32).
	Float16
	// BFloat16 is the top half of a binary32, 2 bytes little endian (exact
	// in float32).
	BFloat16
)

// ErrBlobSize is returned when a vector blob's length is not dim times the
// element size.
var ErrBlobSize = errors.New("vector: blob size does not match the index dimension")

// ErrUnknownType is returned by ParseElemType for a name it does not know.
var ErrUnknownType = errors.New("vector: unknown vector type")

// Size returns the number of bytes of one element.
func (t ElemType) Size() int {
	switch t {
	case Float64:
		return 8
	case Float16, BFloat16:
		return 2
	}
	return 4
}

// String returns the RediSearch name of the type.
func (t ElemType) String() string {
	switch t {
	case Float32:
		return "FLOAT32"
	case Float64:
		return "FLOAT64"
	case Float16:
		return "FLOAT16"
	case BFloat16:
		return "BFLOAT16"
	}
	return fmt.Sprintf("ElemType(%d)", uint8(t))
}

// ParseElemType parses a TYPE argument (FLOAT32, FLOAT64, FLOAT16,
// BFLOAT16; any case).
func ParseElemType(s string) (ElemType, error) {
	switch strings.ToUpper(s) {
	case "FLOAT32":
		return Float32, nil
	case "FLOAT64":
		return Float64, nil
	case "FLOAT16":
		return Float16, nil
	case "BFLOAT16":
		return BFloat16, nil
	}
	return 0, fmt.Errorf("%w: %q", ErrUnknownType, s)
}

// Decode decodes a little-endian blob of dim elements of type t. It returns
// an error wrapping ErrBlobSize when len(blob) != dim*t.Size().
func Decode(t ElemType, blob []byte, dim int) ([]float32, error) {
	sz := t.Size()
	if dim <= 0 || len(blob) != dim*sz {
		return nil, fmt.Errorf("%w: %d bytes, want %d (%d x %s)", ErrBlobSize, len(blob), dim*sz, dim, t)
	}
	out := make([]float32, dim)
	for i := range out {
		b := blob[i*sz:]
		switch t {
		case Float32:
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b))
		case Float64:
			out[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(b)))
		case Float16:
			out[i] = halfToFloat32(binary.LittleEndian.Uint16(b))
		case BFloat16:
			out[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(b)) << 16)
		}
	}
	return out, nil
}

// Encode encodes v as a little-endian blob of type t (the inverse of
// Decode; Float16 and BFloat16 round to nearest even). Tests and clients
// use it to build blobs.
func Encode(t ElemType, v []float32) []byte {
	sz := t.Size()
	out := make([]byte, len(v)*sz)
	for i, x := range v {
		b := out[i*sz:]
		switch t {
		case Float32:
			binary.LittleEndian.PutUint32(b, math.Float32bits(x))
		case Float64:
			binary.LittleEndian.PutUint64(b, math.Float64bits(float64(x)))
		case Float16:
			binary.LittleEndian.PutUint16(b, float32ToHalf(x))
		case BFloat16:
			bits := math.Float32bits(x)
			if x != x { // NaN: keep it a NaN after truncation
				binary.LittleEndian.PutUint16(b, uint16(bits>>16)|0x40)
				continue
			}
			// Round to nearest even on the dropped 16 bits.
			bits += 0x7fff + (bits>>16)&1
			binary.LittleEndian.PutUint16(b, uint16(bits>>16))
		}
	}
	return out
}

// halfToFloat32 converts an IEEE-754 binary16 to float32 exactly.
func halfToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // Inf or NaN
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case exp == 0:
		if mant == 0 {
			return math.Float32frombits(sign)
		}
		// Subnormal: mant * 2^-24.
		f := float32(mant) * (1.0 / (1 << 24))
		if sign != 0 {
			f = -f
		}
		return f
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
}

// float32ToHalf converts a float32 to binary16, rounding to nearest even.
func float32ToHalf(f float32) uint16 {
	bits := math.Float32bits(f)
	sign := uint16(bits>>16) & 0x8000
	exp := int32(bits>>23) & 0xff
	mant := bits & 0x7fffff
	if exp == 0xff {
		if mant != 0 {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	}
	e := exp - 127 + 15
	if e >= 0x1f {
		return sign | 0x7c00
	}
	if e <= 0 {
		if e < -10 {
			return sign
		}
		m := mant | 0x800000
		shift := uint32(14 - e)
		half := m >> shift
		rem := m & (1<<shift - 1)
		mid := uint32(1) << (shift - 1)
		if rem > mid || (rem == mid && half&1 == 1) {
			half++
		}
		return sign | uint16(half)
	}
	half := uint32(e)<<10 | mant>>13
	rem := mant & 0x1fff
	if rem > 0x1000 || (rem == 0x1000 && half&1 == 1) {
		half++ // may carry into the exponent, which is correct
	}
	return sign | uint16(half)
}
