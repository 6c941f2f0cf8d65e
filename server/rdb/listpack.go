package rdb

import (
	"encoding/binary"
	"math"
)

// Listpack (src/listpack.c): a 6-byte header (total bytes, uint32 LE;
// number of elements, uint16 LE, 65535 = unknown), the entries, and an
// 0xFF terminator. Each entry is an encoding byte (with the length or a
// small integer folded in), the data, and a "backlen": the entry's length
// written backwards in 7-bit groups so the list can be walked from the end.

const (
	lpHeaderSize     = 6
	lpEOF            = 0xff
	lpNumEleUnknown  = 65535
	lpEnc7BitUint    = 0x00 // 0xxxxxxx
	lpEnc6BitStr     = 0x80 // 10xxxxxx
	lpEnc13BitInt    = 0xc0 // 110xxxxx yyyyyyyy
	lpEnc12BitStr    = 0xe0 // 1110xxxx yyyyyyyy
	lpEnc16BitInt    = 0xf1
	lpEnc24BitInt    = 0xf2
	lpEnc32BitInt    = 0xf3
	lpEnc64BitInt    = 0xf4
	lpEnc32BitStr    = 0xf0
	lpMaxBacklenSize = 5
)

// ListpackBuilder builds a listpack by appending entries, choosing the
// encoding of each as Redis's lpAppend does, so the bytes are identical.
type ListpackBuilder struct {
	buf []byte
	n   int
}

// NewListpack returns an empty listpack builder.
func NewListpack() *ListpackBuilder {
	return &ListpackBuilder{buf: make([]byte, lpHeaderSize, 64)}
}

// Append adds an entry.
func (lp *ListpackBuilder) Append(s []byte) {
	start := len(lp.buf)
	if v, ok := canonicalInt(s); ok {
		switch {
		case v >= 0 && v <= 127:
			lp.buf = append(lp.buf, byte(v))
		case v >= -4096 && v <= 4095:
			u := uint64(v) & (1<<13 - 1)
			lp.buf = append(lp.buf, byte(u>>8)|lpEnc13BitInt, byte(u))
		case v >= math.MinInt16 && v <= math.MaxInt16:
			lp.buf = append(lp.buf, lpEnc16BitInt, byte(v), byte(v>>8))
		case v >= -1<<23 && v <= 1<<23-1:
			lp.buf = append(lp.buf, lpEnc24BitInt, byte(v), byte(v>>8), byte(v>>16))
		case v >= math.MinInt32 && v <= math.MaxInt32:
			lp.buf = append(lp.buf, lpEnc32BitInt)
			lp.buf = binary.LittleEndian.AppendUint32(lp.buf, uint32(v))
		default:
			lp.buf = append(lp.buf, lpEnc64BitInt)
			lp.buf = binary.LittleEndian.AppendUint64(lp.buf, uint64(v))
		}
	} else {
		n := len(s)
		switch {
		case n < 64:
			lp.buf = append(lp.buf, byte(n)|lpEnc6BitStr)
		case n < 4096:
			lp.buf = append(lp.buf, byte(n>>8)|lpEnc12BitStr, byte(n))
		default:
			lp.buf = append(lp.buf, lpEnc32BitStr)
			lp.buf = binary.LittleEndian.AppendUint32(lp.buf, uint32(n))
		}
		lp.buf = append(lp.buf, s...)
	}
	lp.buf = appendBacklen(lp.buf, uint64(len(lp.buf)-start))
	lp.n++
}

// Bytes finishes the listpack and returns it.
func (lp *ListpackBuilder) Bytes() []byte {
	b := append(lp.buf, lpEOF)
	binary.LittleEndian.PutUint32(b, uint32(len(b)))
	n := lp.n
	if n >= lpNumEleUnknown {
		n = lpNumEleUnknown
	}
	binary.LittleEndian.PutUint16(b[4:], uint16(n))
	return b
}

func appendBacklen(dst []byte, l uint64) []byte {
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

func backlenSize(l uint64) int {
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

// decodeBacklen reads a backlen that ends at b[end-1], walking backwards.
func decodeBacklen(b []byte, end int) (uint64, bool) {
	var v uint64
	shift := 0
	for p := end - 1; p >= 0; p-- {
		v |= uint64(b[p]&127) << shift
		if b[p]&128 == 0 {
			return v, true
		}
		shift += 7
		if shift > 28 {
			return 0, false
		}
	}
	return 0, false
}

// ListpackEntries validates a listpack fully (header, every entry's
// encoding, length and backlen, the element count and the terminator) and
// calls fn with each entry in order; integers are given in decimal. The
// bytes passed to fn may alias lp or a scratch buffer reused by the next
// call. It returns ErrBadFormat if the listpack is malformed or fn fails.
func ListpackEntries(lp []byte, fn func(entry []byte) error) error {
	if len(lp) < lpHeaderSize+1 || int(binary.LittleEndian.Uint32(lp)) != len(lp) || lp[len(lp)-1] != lpEOF {
		return ErrBadFormat
	}
	numele := int(binary.LittleEndian.Uint16(lp[4:]))
	end := len(lp) - 1
	p := lpHeaderSize
	count := 0
	var scratch []byte
	for p < end {
		var data []byte
		enc := lp[p]
		var hdr, dlen int
		isInt := false
		var v int64
		need := func(n int) bool { return p+n <= end }
		switch {
		case enc&0x80 == 0: // 7-bit uint
			hdr, isInt, v = 1, true, int64(enc&0x7f)
		case enc&0xc0 == lpEnc6BitStr:
			hdr, dlen = 1, int(enc&0x3f)
		case enc&0xe0 == lpEnc13BitInt:
			if !need(2) {
				return ErrBadFormat
			}
			u := uint64(enc&0x1f)<<8 | uint64(lp[p+1])
			if u >= 1<<12 {
				v = int64(u) - 1<<13
			} else {
				v = int64(u)
			}
			hdr, isInt = 2, true
		case enc&0xf0 == lpEnc12BitStr:
			if !need(2) {
				return ErrBadFormat
			}
			hdr, dlen = 2, int(enc&0x0f)<<8|int(lp[p+1])
		case enc == lpEnc16BitInt:
			if !need(3) {
				return ErrBadFormat
			}
			hdr, isInt, v = 3, true, int64(int16(binary.LittleEndian.Uint16(lp[p+1:])))
		case enc == lpEnc24BitInt:
			if !need(4) {
				return ErrBadFormat
			}
			u := uint32(lp[p+1]) | uint32(lp[p+2])<<8 | uint32(lp[p+3])<<16
			hdr, isInt, v = 4, true, int64(int32(u<<8)>>8)
		case enc == lpEnc32BitInt:
			if !need(5) {
				return ErrBadFormat
			}
			hdr, isInt, v = 5, true, int64(int32(binary.LittleEndian.Uint32(lp[p+1:])))
		case enc == lpEnc64BitInt:
			if !need(9) {
				return ErrBadFormat
			}
			hdr, isInt, v = 9, true, int64(binary.LittleEndian.Uint64(lp[p+1:]))
		case enc == lpEnc32BitStr:
			if !need(5) {
				return ErrBadFormat
			}
			n := binary.LittleEndian.Uint32(lp[p+1:])
			if uint64(n) > uint64(end-p) {
				return ErrBadFormat
			}
			hdr, dlen = 5, int(n)
		default:
			return ErrBadFormat
		}
		entryLen := hdr + dlen
		if !need(entryLen) {
			return ErrBadFormat
		}
		bl := backlenSize(uint64(entryLen))
		if !need(entryLen + bl) {
			return ErrBadFormat
		}
		if got, ok := decodeBacklen(lp, p+entryLen+bl); !ok || got != uint64(entryLen) {
			return ErrBadFormat
		}
		if isInt {
			scratch = formatIntTo(scratch[:0], v)
			data = scratch
		} else {
			data = lp[p+hdr : p+entryLen]
		}
		if err := fn(data); err != nil {
			return ErrBadFormat
		}
		p += entryLen + bl
		count++
	}
	if p != end {
		return ErrBadFormat
	}
	if numele != lpNumEleUnknown && numele != count {
		return ErrBadFormat
	}
	return nil
}
