package bits

import (
	"slices"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/command/strs"
	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/server/reply"
)

// BITFIELD operations and overflow behaviours.
const (
	bfGet = iota
	bfSet
	bfIncrby

	owWrap = iota
	owSat
	owFail
)

// bfOp is one parsed BITFIELD operation.
type bfOp struct {
	op     int
	ow     int
	signed bool
	bits   uint
	offset uint64
	value  int64 // SET value or INCRBY increment
}

// parseBitfield parses BITFIELD's operations exactly as Redis: errors are
// reported in argument order, before the key is looked up. readonly tells
// whether there are only GETs.
func parseBitfield(c *command.Ctx, args [][]byte) (ops []bfOp, highest uint64, readonly bool, err error) {
	ow := owWrap
	readonly = true
	for j := 2; j < len(args); j++ {
		rem := len(args) - j - 1
		var op bfOp
		switch sub := args[j]; {
		case is(sub, "get") && rem >= 2:
			op.op = bfGet
		case is(sub, "set") && rem >= 3:
			op.op = bfSet
		case is(sub, "incrby") && rem >= 3:
			op.op = bfIncrby
		case is(sub, "overflow") && rem >= 1:
			j++
			switch t := args[j]; {
			case is(t, "wrap"):
				ow = owWrap
			case is(t, "sat"):
				ow = owSat
			case is(t, "fail"):
				ow = owFail
			default:
				return nil, 0, false, errOverflow
			}
			continue
		default:
			return nil, 0, false, command.ErrSyntax
		}
		if op.signed, op.bits, err = parseBfType(args[j+1]); err != nil {
			return nil, 0, false, err
		}
		if op.offset, err = parseBitOffset(c, args[j+2], true, int(op.bits)); err != nil {
			return nil, 0, false, err
		}
		if op.op != bfGet {
			readonly = false
			highest = max(highest, op.offset+uint64(op.bits)-1)
			if op.value, err = command.ParseInt(args[j+3]); err != nil {
				return nil, 0, false, err
			}
			j++
		}
		op.ow = ow
		ops = append(ops, op)
		j += 2
	}
	return ops, highest, readonly, nil
}

// parseBfType parses a bitfield type: i1..i64 or u1..u63 (lower case; the
// width is read as a C string, up to a NUL byte).
func parseBfType(arg []byte) (signed bool, bits uint, err error) {
	if len(arg) == 0 || (arg[0] != 'i' && arg[0] != 'u') {
		return false, 0, errBfType
	}
	signed = arg[0] == 'i'
	n, perr := command.ParseInt(strs.Cstr(arg[1:]))
	if perr != nil || n < 1 || (signed && n > 64) || (!signed && n > 63) {
		return false, 0, errBfType
	}
	return signed, uint(n), nil
}

// bitfieldCmd is BITFIELD key [GET type offset] [SET type offset value]
// [INCRBY type offset increment] [OVERFLOW WRAP|SAT|FAIL] ...
func bitfieldCmd(c *command.Ctx, args [][]byte) (reply.Value, error) {
	return bitfield(c, args, false)
}

// bitfieldRoCmd is BITFIELD_RO key [GET type offset ...].
func bitfieldRoCmd(c *command.Ctx, args [][]byte) (reply.Value, error) {
	return bitfield(c, args, true)
}

func bitfield(c *command.Ctx, args [][]byte, ro bool) (reply.Value, error) {
	ops, highest, readonly, err := parseBitfield(c, args)
	if err != nil {
		return reply.Value{}, err
	}
	key := args[1]
	if readonly {
		var it *keyspace.Item
		if ro {
			it, err = strs.LookupRead(c, key)
		} else {
			it, err = strs.LookupReadForWrite(c, key)
		}
		if err != nil {
			return reply.Value{}, err
		}
		var s []byte
		if it != nil {
			s = it.Str
		}
		out := make([]reply.Value, len(ops))
		for i, op := range ops {
			out[i] = reply.Int(getField(s, op))
		}
		return reply.Array(out...), nil
	}
	if ro {
		return reply.Value{}, errBfRO
	}
	it, err := strs.LookupWrite(c, key)
	if err != nil {
		return reply.Value{}, err
	}
	// Redis's lookupStringForBitCommand: create or zero-pad the string so
	// that the highest bit written exists.
	need := int(highest>>3) + 1
	var s []byte
	shared := 0 // leading bytes of s that readers may alias
	grown := false
	if it == nil {
		s = make([]byte, need)
		it = strs.StoreOwned(c, key, s, 0, true)
		c.Dirty-- // counted below, per change, as Redis
		grown = true
	} else {
		m := c.DB.Mutable(it)
		s = m.Str
		if m == it { // not a fresh copy
			shared = len(s)
		}
		it = m
		if n := len(s); need > n {
			s = slices.Grow(s, need-n)[:need]
			clear(s[n:])
			grown = true
		}
	}
	changes := 0
	out := make([]reply.Value, len(ops))
	for i, op := range ops {
		if op.op == bfGet {
			out[i] = reply.Int(getField(s, op))
			continue
		}
		var oldv, newv uint64
		var ret int64
		overflow := false
		if op.signed {
			old := getSigned(s, op.offset, op.bits)
			nv := op.value
			if op.op == bfIncrby {
				var wrapped int64
				overflow, wrapped = signedOverflow(old, op.value, op.bits, op.ow)
				if overflow {
					nv = wrapped
				} else {
					nv = old + op.value
				}
				ret = nv
			} else {
				var wrapped int64
				if overflow, wrapped = signedOverflow(nv, 0, op.bits, op.ow); overflow {
					nv = wrapped
				}
				ret = old
			}
			oldv, newv = uint64(old), uint64(nv)
		} else {
			old := getUnsigned(s, op.offset, op.bits)
			nv := uint64(op.value)
			if op.op == bfIncrby {
				nv = old + uint64(op.value)
				var wrapped uint64
				if overflow, wrapped = unsignedOverflow(old, op.value, op.bits, op.ow); overflow {
					nv = wrapped
				}
				ret = int64(nv)
			} else {
				var wrapped uint64
				if overflow, wrapped = unsignedOverflow(nv, 0, op.bits, op.ow); overflow {
					nv = wrapped
				}
				ret = int64(old)
			}
			oldv, newv = old, nv
		}
		if overflow && op.ow == owFail {
			out[i] = reply.Nil
			continue
		}
		out[i] = reply.Int(ret)
		if oldv != newv && op.offset>>3 < uint64(shared) {
			// The field overlaps bytes a reader may alias: write a copy.
			s = slices.Clone(s)
			shared = 0
		}
		setField(s, op.offset, op.bits, newv)
		if grown || oldv != newv {
			changes++
		}
	}
	it.Str = s
	it.Raw = true
	if changes > 0 {
		c.Dirty += int64(changes)
		c.Notify(command.ClassString, "setbit", key)
	}
	return reply.Array(out...), nil
}

// getField reads a GET operation's field; bits past the end are zeros.
func getField(s []byte, op bfOp) int64 {
	if op.signed {
		return getSigned(s, op.offset, op.bits)
	}
	return int64(getUnsigned(s, op.offset, op.bits))
}

// getUnsigned reads bits bits at offset, MSB first, as an unsigned integer.
func getUnsigned(s []byte, offset uint64, bits uint) uint64 {
	var v uint64
	for j := uint(0); j < bits; j++ {
		v = v<<1 | uint64(bitAt(s, offset+uint64(j)))
	}
	return v
}

// getSigned reads a two's complement field of bits bits.
func getSigned(s []byte, offset uint64, bits uint) int64 {
	v := getUnsigned(s, offset, bits)
	if bits < 64 && v&(1<<(bits-1)) != 0 {
		v |= ^uint64(0) << bits
	}
	return int64(v)
}

// setField writes the low bits bits of v at offset, MSB first. The bytes
// must exist.
func setField(s []byte, offset uint64, bits uint, v uint64) {
	for j := uint(0); j < bits; j++ {
		i := offset >> 3
		mask := byte(1) << (7 - offset&7)
		if v&(1<<(bits-1-j)) != 0 {
			s[i] |= mask
		} else {
			s[i] &^= mask
		}
		offset++
	}
}

// unsignedOverflow is Redis's checkUnsignedBitfieldOverflow: whether
// value+incr leaves the range of a bits-wide unsigned field, and the value
// to store instead under WRAP or SAT.
func unsignedOverflow(value uint64, incr int64, bits uint, ow int) (bool, uint64) {
	maxv := uint64(1)<<bits - 1
	maxincr := int64(maxv - value)
	minincr := -int64(value)
	if value > maxv || (incr > 0 && incr > maxincr) {
		switch ow {
		case owWrap:
			return true, (value + uint64(incr)) &^ (^uint64(0) << bits)
		case owSat:
			return true, maxv
		}
		return true, 0
	}
	if incr < 0 && incr < minincr {
		switch ow {
		case owWrap:
			return true, (value + uint64(incr)) &^ (^uint64(0) << bits)
		case owSat:
			return true, 0
		}
		return true, 0
	}
	return false, 0
}

// signedOverflow is Redis's checkSignedBitfieldOverflow for a bits-wide
// two's complement field.
func signedOverflow(value, incr int64, bits uint, ow int) (bool, int64) {
	maxv := int64(1)<<(bits-1) - 1
	if bits == 64 {
		maxv = 1<<63 - 1
	}
	minv := -maxv - 1
	maxincr := int64(uint64(maxv) - uint64(value))
	minincr := minv - value
	wrap := func() int64 {
		r := uint64(value) + uint64(incr)
		if bits < 64 {
			if r&(1<<(bits-1)) != 0 {
				r |= ^uint64(0) << bits
			} else {
				r &^= ^uint64(0) << bits
			}
		}
		return int64(r)
	}
	if value > maxv || (bits != 64 && incr > maxincr) || (value >= 0 && incr > 0 && incr > maxincr) {
		switch ow {
		case owWrap:
			return true, wrap()
		case owSat:
			return true, maxv
		}
		return true, 0
	}
	if value < minv || (bits != 64 && incr < minincr) || (value < 0 && incr < 0 && incr < minincr) {
		switch ow {
		case owWrap:
			return true, wrap()
		case owSat:
			return true, minv
		}
		return true, 0
	}
	return false, 0
}
