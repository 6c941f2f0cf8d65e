// Package lzf is the LZF compression of Redis (RDB strings, quicklist
// nodes): Compress and Decompress.
package lzf

import "sync"

// LZF, as liblzf 3.6 in Redis (src/lzf_c.c, src/lzf_d.c) with Redis's
// settings: HLOG 16, VERY_FAST. The compressor is a faithful port so that a
// DUMP of the same value is byte-identical to Redis's (Redis leaves its
// hash table uninitialized, which in rare cases lets it find a match this
// port does not; both outputs decompress to the same bytes).
//
// Compressed format:
//
//	000LLLLL <L+1 bytes>         literal run
//	LLLooooo oooooooo            back reference, length L+2
//	111ooooo LLLLLLLL oooooooo   back reference, length L+9

const (
	lzfHLog   = 16
	lzfHSize  = 1 << lzfHLog
	lzfMaxLit = 1 << 5
	lzfMaxOff = 1 << 13
	lzfMaxRef = (1 << 8) + (1 << 3)
)

// lzfTables recycles the compressor's 256 KB hash tables.
var lzfTables = sync.Pool{New: func() any { return new([lzfHSize]int32) }}

func lzfIdx(h uint32) uint32 {
	return ((h >> (3*8 - lzfHLog)) - h*5) & (lzfHSize - 1)
}

// LZFCompress compresses in into at most outLen bytes and returns the
// compressed bytes, or nil if in is empty or does not fit in outLen.
func Compress(in []byte, outLen int) []byte {
	inLen := len(in)
	if inLen == 0 || outLen <= 0 {
		return nil
	}
	// htab holds positions + 1 (0 = empty slot).
	hp := lzfTables.Get().(*[lzfHSize]int32)
	defer lzfTables.Put(hp)
	clear(hp[:])
	htab := hp[:]
	out := make([]byte, outLen+1)
	ip, op := 0, 0
	lit := 0
	op++ // start run

	frst := func(p int) uint32 { return uint32(in[p])<<8 | uint32(in[p+1]) }
	next := func(v uint32, p int) uint32 { return v<<8 | uint32(in[p+2]) }

	var hval uint32
	if inLen >= 2 {
		hval = frst(ip)
	}
	for ip < inLen-2 {
		hval = next(hval, ip)
		slot := lzfIdx(hval)
		ref := int(htab[slot]) - 1
		htab[slot] = int32(ip + 1)

		if ref > 0 && ref < ip && ip-ref-1 < lzfMaxOff &&
			in[ref] == in[ip] && in[ref+1] == in[ip+1] && in[ref+2] == in[ip+2] {
			off := ip - ref - 1
			length := 2
			maxlen := inLen - ip - length
			if maxlen > lzfMaxRef {
				maxlen = lzfMaxRef
			}
			undo := 0
			if lit == 0 {
				undo = 1
			}
			if op-undo+3+1 >= outLen {
				return nil
			}
			out[op-lit-1] = byte(lit - 1) // stop run
			op -= undo                    // undo run if length is zero
			// Redis unrolls the first 16 comparisons without checking
			// maxlen; follow it exactly so the output is identical.
			mismatch := false
			if maxlen > 16 {
				for k := 0; k < 16; k++ {
					length++
					if in[ref+length] != in[ip+length] {
						mismatch = true
						break
					}
				}
			}
			if !mismatch {
				for {
					length++
					if !(length < maxlen && in[ref+length] == in[ip+length]) {
						break
					}
				}
			}
			length -= 2 // now #octets - 1
			ip++
			if length < 7 {
				out[op] = byte((off >> 8) + (length << 5))
				op++
			} else {
				out[op] = byte((off >> 8) + (7 << 5))
				out[op+1] = byte(length - 7)
				op += 2
			}
			out[op] = byte(off)
			op++
			lit = 0
			op++ // start run
			ip += length + 1
			if ip >= inLen-2 {
				break
			}
			ip -= 2
			hval = frst(ip)
			hval = next(hval, ip)
			htab[lzfIdx(hval)] = int32(ip + 1)
			ip++
			hval = next(hval, ip)
			htab[lzfIdx(hval)] = int32(ip + 1)
			ip++
		} else {
			if op >= outLen {
				return nil
			}
			lit++
			out[op] = in[ip]
			op++
			ip++
			if lit == lzfMaxLit {
				out[op-lit-1] = byte(lit - 1)
				lit = 0
				op++
			}
		}
	}
	if op+3 > outLen {
		return nil
	}
	for ip < inLen {
		lit++
		out[op] = in[ip]
		op++
		ip++
		if lit == lzfMaxLit {
			out[op-lit-1] = byte(lit - 1)
			lit = 0
			op++
		}
	}
	out[op-lit-1] = byte(lit - 1) // end run
	if lit == 0 {
		op--
	}
	return out[:op]
}

// LZFDecompress decompresses in, which must expand to exactly outLen
// bytes. It returns nil if in is malformed or does not expand to outLen.
func Decompress(in []byte, outLen int) []byte {
	if outLen <= 0 || len(in) == 0 {
		return nil
	}
	// A back reference (at most 3 bytes) expands to at most 264 bytes, so
	// a claimed length beyond that ratio cannot be right; refuse it before
	// allocating.
	if outLen > len(in)*88 {
		return nil
	}
	out := make([]byte, outLen)
	ip, op := 0, 0
	for ip < len(in) {
		ctrl := int(in[ip])
		ip++
		if ctrl < 1<<5 { // literal run
			ctrl++
			if op+ctrl > outLen || ip+ctrl > len(in) {
				return nil
			}
			copy(out[op:], in[ip:ip+ctrl])
			op += ctrl
			ip += ctrl
			continue
		}
		length := ctrl >> 5
		ref := op - ((ctrl & 0x1f) << 8) - 1
		if ip >= len(in) {
			return nil
		}
		if length == 7 {
			length += int(in[ip])
			ip++
			if ip >= len(in) {
				return nil
			}
		}
		ref -= int(in[ip])
		ip++
		if op+length+2 > outLen || ref < 0 {
			return nil
		}
		length += 2
		for i := 0; i < length; i++ {
			out[op] = out[ref]
			op++
			ref++
		}
	}
	if op != outLen {
		return nil
	}
	return out
}
