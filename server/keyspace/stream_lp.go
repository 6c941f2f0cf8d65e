package keyspace

import (
	"encoding/binary"
	"math"
	"strconv"
)

// Listpack primitives for stream nodes. A stream node is stored exactly as
// Redis stores it: one listpack (src/listpack.c) holding a master entry and
// delta-encoded entries, so its size (and therefore where Redis starts a new
// node) and its RDB serialization are Redis's own.
//
// A listpack is a 6-byte header (total bytes, uint32 LE; element count,
// uint16 LE, 65535 = unknown), the elements, and a 0xFF terminator. Each
// element is an encoding byte (with a small integer or length folded in),
// the data, and a backlen: the element's length written backwards in 7-bit
// groups.

const (
	lpHdrSize        = 6
	lpEOFByte        = 0xff
	lpNumeleUnknown  = 65535
	lpEnc6BitStr     = 0x80
	lpEnc13BitInt    = 0xc0
	lpEnc12BitStr    = 0xe0
	lpEnc16BitInt    = 0xf1
	lpEnc24BitInt    = 0xf2
	lpEnc32BitInt    = 0xf3
	lpEnc64BitInt    = 0xf4
	lpEnc32BitStr    = 0xf0
	lpMaxIntStrLen   = 20 // LONG_STR_SIZE-1: longer strings are never integers
	lpStreamMaxBytes = 1 << 30
)

// lpStringToInt64 is listpack.c's lpStringToInt64: the canonical decimal
// form of an int64 (no '+', no leading zeros, no "-0").
func lpStringToInt64(s []byte) (int64, bool) {
	n := len(s)
	if n == 0 || n > lpMaxIntStrLen {
		return 0, false
	}
	if n == 1 && s[0] == '0' {
		return 0, true
	}
	i, neg := 0, false
	if s[0] == '-' {
		neg = true
		i = 1
		if n == 1 {
			return 0, false
		}
	}
	if s[i] < '1' || s[i] > '9' {
		return 0, false
	}
	var v uint64
	for ; i < n; i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		if v > math.MaxUint64/10 {
			return 0, false
		}
		v *= 10
		if v > math.MaxUint64-uint64(c-'0') {
			return 0, false
		}
		v += uint64(c - '0')
	}
	if neg {
		if v > 1<<63 {
			return 0, false
		}
		return -int64(v), true
	}
	if v > math.MaxInt64 {
		return 0, false
	}
	return int64(v), true
}

func lpBacklenSize(l int) int {
	switch {
	case l <= 127:
		return 1
	case l < 16383:
		return 2
	case l < 2097151:
		return 3
	case l < 268435455:
		return 4
	}
	return 5
}

func lpAppendBacklen(dst []byte, l int) []byte {
	switch {
	case l <= 127:
		return append(dst, byte(l))
	case l < 16383:
		return append(dst, byte(l>>7), byte(l&127)|128)
	case l < 2097151:
		return append(dst, byte(l>>14), byte((l>>7)&127)|128, byte(l&127)|128)
	case l < 268435455:
		return append(dst, byte(l>>21), byte((l>>14)&127)|128, byte((l>>7)&127)|128, byte(l&127)|128)
	}
	return append(dst, byte(l>>28), byte((l>>21)&127)|128, byte((l>>14)&127)|128, byte((l>>7)&127)|128, byte(l&127)|128)
}

// lpIntLen is the encoded size of an integer element without its backlen.
func lpIntLen(v int64) int {
	switch {
	case v >= 0 && v <= 127:
		return 1
	case v >= -4096 && v <= 4095:
		return 2
	case v >= math.MinInt16 && v <= math.MaxInt16:
		return 3
	case v >= -1<<23 && v <= 1<<23-1:
		return 4
	case v >= math.MinInt32 && v <= math.MaxInt32:
		return 5
	}
	return 9
}

// lpIntSize is the whole encoded size of an integer element.
func lpIntSize(v int64) int {
	l := lpIntLen(v)
	return l + lpBacklenSize(l)
}

// lpStrLen is the encoded size of a string element of n bytes without its
// backlen.
func lpStrLen(n int) int {
	switch {
	case n < 64:
		return 1 + n
	case n < 4096:
		return 2 + n
	}
	return 5 + n
}

// lpElemSize is the whole encoded size s will take (as lpAppend encodes it).
func lpElemSize(s []byte) int {
	if v, ok := lpStringToInt64(s); ok {
		return lpIntSize(v)
	}
	l := lpStrLen(len(s))
	return l + lpBacklenSize(l)
}

// lpAppendIntRaw appends an integer element (no header update).
func lpAppendIntRaw(dst []byte, v int64) []byte {
	start := len(dst)
	switch {
	case v >= 0 && v <= 127:
		dst = append(dst, byte(v))
	case v >= -4096 && v <= 4095:
		u := uint64(v) & (1<<13 - 1)
		dst = append(dst, byte(u>>8)|lpEnc13BitInt, byte(u))
	case v >= math.MinInt16 && v <= math.MaxInt16:
		dst = append(dst, lpEnc16BitInt, byte(v), byte(v>>8))
	case v >= -1<<23 && v <= 1<<23-1:
		dst = append(dst, lpEnc24BitInt, byte(v), byte(v>>8), byte(v>>16))
	case v >= math.MinInt32 && v <= math.MaxInt32:
		dst = append(dst, lpEnc32BitInt)
		dst = binary.LittleEndian.AppendUint32(dst, uint32(v))
	default:
		dst = append(dst, lpEnc64BitInt)
		dst = binary.LittleEndian.AppendUint64(dst, uint64(v))
	}
	return lpAppendBacklen(dst, len(dst)-start)
}

// lpAppendRaw appends s as lpAppend does: integer-encoded if it is the
// canonical form of an int64 (no header update).
func lpAppendRaw(dst []byte, s []byte) []byte {
	if v, ok := lpStringToInt64(s); ok {
		return lpAppendIntRaw(dst, v)
	}
	start := len(dst)
	n := len(s)
	switch {
	case n < 64:
		dst = append(dst, byte(n)|lpEnc6BitStr)
	case n < 4096:
		dst = append(dst, byte(n>>8)|lpEnc12BitStr, byte(n))
	default:
		dst = append(dst, lpEnc32BitStr)
		dst = binary.LittleEndian.AppendUint32(dst, uint32(n))
	}
	dst = append(dst, s...)
	return lpAppendBacklen(dst, len(dst)-start)
}

// lpSetHeader writes the total size and element count of lp.
func lpSetHeader(lp []byte, numele int) {
	binary.LittleEndian.PutUint32(lp, uint32(len(lp)))
	if numele >= lpNumeleUnknown {
		numele = lpNumeleUnknown
	}
	binary.LittleEndian.PutUint16(lp[4:], uint16(numele))
}

func lpNumele(lp []byte) int { return int(binary.LittleEndian.Uint16(lp[4:])) }

// lpElem decodes the element at p of a listpack that is known to be
// valid: an integer (isInt) or a string that aliases lp. next is the offset
// of the following element (the terminator after the last one).
func lpElem(lp []byte, p int) (v int64, s []byte, isInt bool, next int) {
	enc := lp[p]
	var hdr, dlen int
	switch {
	case enc&0x80 == 0:
		return int64(enc), nil, true, p + 2
	case enc&0xc0 == lpEnc6BitStr:
		hdr, dlen = 1, int(enc&0x3f)
	case enc&0xe0 == lpEnc13BitInt:
		u := uint64(enc&0x1f)<<8 | uint64(lp[p+1])
		if u >= 1<<12 {
			v = int64(u) - 1<<13
		} else {
			v = int64(u)
		}
		return v, nil, true, p + 3
	case enc&0xf0 == lpEnc12BitStr:
		hdr, dlen = 2, int(enc&0x0f)<<8|int(lp[p+1])
	case enc == lpEnc16BitInt:
		return int64(int16(binary.LittleEndian.Uint16(lp[p+1:]))), nil, true, p + 4
	case enc == lpEnc24BitInt:
		u := uint32(lp[p+1]) | uint32(lp[p+2])<<8 | uint32(lp[p+3])<<16
		return int64(int32(u<<8) >> 8), nil, true, p + 5
	case enc == lpEnc32BitInt:
		return int64(int32(binary.LittleEndian.Uint32(lp[p+1:]))), nil, true, p + 6
	case enc == lpEnc64BitInt:
		return int64(binary.LittleEndian.Uint64(lp[p+1:])), nil, true, p + 10
	default: // lpEnc32BitStr
		hdr, dlen = 5, int(binary.LittleEndian.Uint32(lp[p+1:]))
	}
	l := hdr + dlen
	return 0, lp[p+hdr : p+l], false, p + l + lpBacklenSize(l)
}

// lpInt decodes an integer element (a string holding a canonical integer
// is accepted, as Redis's lpGetInteger does; validation guarantees it).
func lpInt(lp []byte, p int) (int64, int) {
	v, s, isInt, next := lpElem(lp, p)
	if !isInt {
		v, _ = lpStringToInt64(s)
	}
	return v, next
}

// lpSkip returns the offset of the element after the one at p.
func lpSkip(lp []byte, p int) int {
	_, _, _, next := lpElem(lp, p)
	return next
}

// lpBytes returns the element at p as bytes: strings alias lp, integers
// are formatted into new memory.
func lpBytes(lp []byte, p int) ([]byte, int) {
	v, s, isInt, next := lpElem(lp, p)
	if isInt {
		return strconv.AppendInt(make([]byte, 0, 20), v, 10), next
	}
	return s, next
}

// lpEqual tells whether the element at p equals b.
func lpEqual(lp []byte, p int, b []byte) (bool, int) {
	v, s, isInt, next := lpElem(lp, p)
	if isInt {
		w, ok := lpStringToInt64(b)
		return ok && w == v, next
	}
	return string(s) == string(b), next
}

// lpCheckElem validates the element at p of lp (whose terminator is at
// end) and returns the offset after it, or -1.
func lpCheckElem(lp []byte, p, end int) int {
	if p >= end {
		return -1
	}
	enc := lp[p]
	var hdr, dlen int
	need := func(n int) bool { return p+n <= end }
	switch {
	case enc&0x80 == 0:
		hdr = 1
	case enc&0xc0 == lpEnc6BitStr:
		hdr, dlen = 1, int(enc&0x3f)
	case enc&0xe0 == lpEnc13BitInt:
		hdr = 2
	case enc&0xf0 == lpEnc12BitStr:
		if !need(2) {
			return -1
		}
		hdr, dlen = 2, int(enc&0x0f)<<8|int(lp[p+1])
	case enc == lpEnc16BitInt:
		hdr = 3
	case enc == lpEnc24BitInt:
		hdr = 4
	case enc == lpEnc32BitInt:
		hdr = 5
	case enc == lpEnc64BitInt:
		hdr = 9
	case enc == lpEnc32BitStr:
		if !need(5) {
			return -1
		}
		n := binary.LittleEndian.Uint32(lp[p+1:])
		if uint64(n) > uint64(end-p) {
			return -1
		}
		hdr, dlen = 5, int(n)
	default:
		return -1
	}
	l := hdr + dlen
	bl := lpBacklenSize(l)
	if !need(l + bl) {
		return -1
	}
	// The backlen must decode to l.
	var got uint64
	shift := 0
	for q := p + l + bl - 1; q >= p+l; q-- {
		got |= uint64(lp[q]&127) << shift
		shift += 7
		if (q == p+l) != (lp[q]&128 == 0) {
			return -1
		}
	}
	if got != uint64(l) {
		return -1
	}
	return p + l + bl
}
