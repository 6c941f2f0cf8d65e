package rdb

import "encoding/binary"

// Ziplist (src/ziplist.c), the encoding of small aggregates before Redis
// 7.0: a 10-byte header (total bytes uint32 LE, offset of the last entry
// uint32 LE, number of entries uint16 LE, 65535 = unknown), the entries and
// an 0xFF terminator. Each entry is the previous entry's length (1 byte, or
// 0xFE and 4 bytes LE), an encoding (with a string length or small integer
// folded in) and the data. Cairn only reads ziplists (old payloads).

const (
	zlHeaderSize = 10
	zlEnd        = 0xff
	zlBigPrevLen = 0xfe
)

// ZiplistEntries validates a ziplist fully (header, every entry's prevlen
// and encoding, the tail offset, the count and the terminator) and calls
// fn with each entry in order; integers are given in decimal. The bytes
// passed to fn may alias zl or a reused scratch buffer.
func ZiplistEntries(zl []byte, fn func(entry []byte) error) error {
	if len(zl) < zlHeaderSize+1 || int(binary.LittleEndian.Uint32(zl)) != len(zl) || zl[len(zl)-1] != zlEnd {
		return ErrBadFormat
	}
	tail := int(binary.LittleEndian.Uint32(zl[4:]))
	numele := int(binary.LittleEndian.Uint16(zl[8:]))
	end := len(zl) - 1
	if tail > end {
		return ErrBadFormat
	}
	p := zlHeaderSize
	prev := -1
	prevRaw := 0
	count := 0
	var scratch []byte
	for p < end && zl[p] != zlEnd {
		start := p
		// prevlen
		var prevlen int
		if zl[p] < zlBigPrevLen {
			prevlen = int(zl[p])
			p++
		} else {
			if p+5 > end {
				return ErrBadFormat
			}
			prevlen = int(binary.LittleEndian.Uint32(zl[p+1:]))
			p += 5
		}
		if prevlen != prevRaw {
			return ErrBadFormat
		}
		if p >= end {
			return ErrBadFormat
		}
		enc := zl[p]
		var hdr, dlen int
		isInt := false
		var v int64
		need := func(n int) bool { return p+n <= end }
		switch {
		case enc>>6 == 0: // 00pppppp
			hdr, dlen = 1, int(enc&0x3f)
		case enc>>6 == 1: // 01pppppp qqqqqqqq
			if !need(2) {
				return ErrBadFormat
			}
			hdr, dlen = 2, int(enc&0x3f)<<8|int(zl[p+1])
		case enc>>6 == 2: // 10______ + 4 bytes BE
			if !need(5) {
				return ErrBadFormat
			}
			n := binary.BigEndian.Uint32(zl[p+1:])
			if uint64(n) > uint64(end-p) {
				return ErrBadFormat
			}
			hdr, dlen = 5, int(n)
		case enc == 0xc0: // int16
			if !need(3) {
				return ErrBadFormat
			}
			hdr, isInt, v = 3, true, int64(int16(binary.LittleEndian.Uint16(zl[p+1:])))
		case enc == 0xd0: // int32
			if !need(5) {
				return ErrBadFormat
			}
			hdr, isInt, v = 5, true, int64(int32(binary.LittleEndian.Uint32(zl[p+1:])))
		case enc == 0xe0: // int64
			if !need(9) {
				return ErrBadFormat
			}
			hdr, isInt, v = 9, true, int64(binary.LittleEndian.Uint64(zl[p+1:]))
		case enc == 0xf0: // int24
			if !need(4) {
				return ErrBadFormat
			}
			u := uint32(zl[p+1]) | uint32(zl[p+2])<<8 | uint32(zl[p+3])<<16
			hdr, isInt, v = 4, true, int64(int32(u<<8)>>8)
		case enc == 0xfe: // int8
			if !need(2) {
				return ErrBadFormat
			}
			hdr, isInt, v = 2, true, int64(int8(zl[p+1]))
		case enc >= 0xf1 && enc <= 0xfd: // 4-bit immediate 0..12
			hdr, isInt, v = 1, true, int64(enc&0x0f)-1
		default:
			return ErrBadFormat
		}
		if !need(hdr + dlen) {
			return ErrBadFormat
		}
		var data []byte
		if isInt {
			scratch = formatIntTo(scratch[:0], v)
			data = scratch
		} else {
			data = zl[p+hdr : p+hdr+dlen]
		}
		if err := fn(data); err != nil {
			return ErrBadFormat
		}
		p += hdr + dlen
		prevRaw = p - start
		prev = start
		count++
	}
	if p != end {
		return ErrBadFormat
	}
	if prev >= 0 && prev != tail {
		return ErrBadFormat
	}
	if numele != 65535 && numele != count {
		return ErrBadFormat
	}
	return nil
}

// ZipmapEntries validates a zipmap (src/zipmap.c, the hash encoding of
// RDB version 1-3 files) and calls fn with each field and value in order.
// Layout: <count byte> then per entry <len>field<len><free>value<free
// bytes>, then 0xFF; a length is 1 byte below 254, else 254 and 4 bytes LE.
func ZipmapEntries(zm []byte, fn func(field, value []byte) error) error {
	if len(zm) < 2 {
		return ErrBadFormat
	}
	end := len(zm) - 1
	p := 1
	count := 0
	readLen := func() (int, bool) {
		if p >= end {
			return 0, false
		}
		if zm[p] < 254 {
			n := int(zm[p])
			p++
			return n, true
		}
		if p+5 > end {
			return 0, false
		}
		n := binary.LittleEndian.Uint32(zm[p+1:])
		p += 5
		if uint64(n) > uint64(end-p) {
			return 0, false
		}
		return int(n), true
	}
	for p < end && zm[p] != 0xff {
		flen, ok := readLen()
		if !ok || p+flen > end {
			return ErrBadFormat
		}
		field := zm[p : p+flen]
		p += flen
		vlen, ok := readLen()
		if !ok || p >= end {
			return ErrBadFormat
		}
		free := int(zm[p])
		p++
		if p+vlen+free > end {
			return ErrBadFormat
		}
		value := zm[p : p+vlen]
		p += vlen + free
		if err := fn(field, value); err != nil {
			return ErrBadFormat
		}
		count++
	}
	if count == 0 || p != end || zm[end] != 0xff {
		return ErrBadFormat
	}
	if zm[0] != 254 && int(zm[0]) != count {
		return ErrBadFormat
	}
	return nil
}
