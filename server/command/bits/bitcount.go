package bits

import (
	"encoding/binary"
	"math/bits"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/command/strs"
	"github.com/cairndb/cairn/server/reply"
)

// bitRange is Redis's start/end conversion for BITCOUNT and BITPOS: it
// turns start and end (bytes, or bits with isbit) into an inclusive range
// of bits [lo, hi] of a string of n bytes; ok is false for an empty range.
func bitRange(start, end int64, n int, isbit bool) (lo, hi int64, ok bool) {
	total := int64(n)
	if isbit {
		total <<= 3
	}
	if start < 0 {
		start += total
	}
	if end < 0 {
		end += total
	}
	start, end = max(start, 0), max(end, 0)
	if end >= total {
		end = total - 1
	}
	if start > end {
		return 0, 0, false
	}
	if isbit {
		return start, end, true
	}
	return start << 3, end<<3 | 7, true
}

// parseUnit parses BITCOUNT's and BITPOS's BIT|BYTE argument.
func parseUnit(arg []byte) (isbit bool, err error) {
	switch {
	case is(arg, "bit"):
		return true, nil
	case is(arg, "byte"):
		return false, nil
	}
	return false, command.ErrSyntax
}

// bitcountCmd is BITCOUNT key [start end [BYTE|BIT]], with Redis 7.0's
// order of checks: a missing key answers 0 and a wrong type WRONGTYPE
// before the arguments are looked at.
func bitcountCmd(c *command.Ctx, args [][]byte) (reply.Value, error) {
	it, err := strs.LookupRead(c, args[1])
	if err != nil || it == nil {
		return reply.Int(0), err
	}
	s := it.Str
	switch len(args) {
	case 2:
		return reply.Int(popcount(s)), nil
	case 4, 5:
	default:
		return reply.Value{}, command.ErrSyntax
	}
	start, err := command.ParseInt(args[2])
	if err != nil {
		return reply.Value{}, err
	}
	end, err := command.ParseInt(args[3])
	if err != nil {
		return reply.Value{}, err
	}
	isbit := false
	if len(args) == 5 {
		if isbit, err = parseUnit(args[4]); err != nil {
			return reply.Value{}, err
		}
	}
	if start < 0 && end < 0 && start > end {
		return reply.Int(0), nil
	}
	lo, hi, ok := bitRange(start, end, len(s), isbit)
	if !ok {
		return reply.Int(0), nil
	}
	return reply.Int(countRange(s, lo, hi)), nil
}

// countRange counts the set bits of s in the inclusive bit range [lo, hi].
func countRange(s []byte, lo, hi int64) int64 {
	first, last := lo>>3, hi>>3
	n := popcount(s[first : last+1])
	n -= int64(bits.OnesCount8(s[first] &^ (0xff >> (lo & 7))))
	n -= int64(bits.OnesCount8(s[last] & (0xff >> (hi&7 + 1))))
	return n
}

// popcount counts the set bits of s.
func popcount(s []byte) int64 {
	var n int
	for len(s) >= 8 {
		n += bits.OnesCount64(binary.LittleEndian.Uint64(s))
		s = s[8:]
	}
	for _, b := range s {
		n += bits.OnesCount8(b)
	}
	return int64(n)
}

// bitposCmd is BITPOS key bit [start [end [BYTE|BIT]]]. A missing key is
// an infinite run of zeros; when looking for a clear bit without an
// explicit end, the string counts as zero-padded on the right.
func bitposCmd(c *command.Ctx, args [][]byte) (reply.Value, error) {
	bit, err := command.ParseInt(args[2])
	if err != nil {
		return reply.Value{}, err
	}
	if bit != 0 && bit != 1 {
		return reply.Value{}, errBitArg
	}
	it, err := strs.LookupRead(c, args[1])
	if err != nil {
		return reply.Value{}, err
	}
	if it == nil {
		return reply.Int(-bit), nil
	}
	s := it.Str
	var lo, hi int64
	ok, endGiven := true, false
	switch len(args) {
	case 3:
		lo, hi, ok = 0, int64(len(s))*8-1, len(s) > 0
	case 4, 5, 6:
		start, err := command.ParseInt(args[3])
		if err != nil {
			return reply.Value{}, err
		}
		isbit := false
		if len(args) == 6 {
			if isbit, err = parseUnit(args[5]); err != nil {
				return reply.Value{}, err
			}
		}
		end := int64(len(s)) - 1
		if len(args) >= 5 {
			if end, err = command.ParseInt(args[4]); err != nil {
				return reply.Value{}, err
			}
			endGiven = true
		}
		lo, hi, ok = bitRange(start, end, len(s), isbit)
	default:
		return reply.Value{}, command.ErrSyntax
	}
	if !ok {
		return reply.Int(-1), nil
	}
	if pos := findBit(s, lo, hi, bit == 1); pos >= 0 {
		return reply.Int(pos), nil
	}
	if bit == 1 || endGiven {
		return reply.Int(-1), nil
	}
	return reply.Int(hi + 1), nil
}

// findBit returns the position of the first set bit (one) or clear bit
// (!one) in the inclusive bit range [lo, hi] of s, or -1.
func findBit(s []byte, lo, hi int64, one bool) int64 {
	var flip byte // XOR that turns the bit looked for into a 1
	if !one {
		flip = 0xff
	}
	first, last := lo>>3, hi>>3
	for i := first; i <= last; {
		if i > first && i+8 <= last {
			// Skip whole words that cannot match.
			if w := binary.BigEndian.Uint64(s[i:]); one && w == 0 || !one && w == ^uint64(0) {
				i += 8
				continue
			}
		}
		b := s[i] ^ flip
		if i == first {
			b &= 0xff >> (lo & 7)
		}
		if i == last {
			b &^= 0xff >> (hi&7 + 1)
		}
		if b != 0 {
			return i<<3 + int64(bits.LeadingZeros8(b))
		}
		i++
	}
	return -1
}
