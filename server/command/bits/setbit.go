package bits

import (
	"slices"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/command/strs"
	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/server/reply"
)

// setbitCmd is SETBIT key offset value. It replies the bit's old value. As
// Redis 7.0, a call that neither creates nor grows the string and leaves
// the bit as it was changes nothing (no event, no dirty), though the value
// still becomes "raw".
func setbitCmd(c *command.Ctx, args [][]byte) (reply.Value, error) {
	off, err := parseBitOffset(c, args[2], false, 0)
	if err != nil {
		return reply.Value{}, err
	}
	on, err := command.ParseInt(args[3])
	if err != nil || on&^1 != 0 {
		return reply.Value{}, errBitValue
	}
	it, err := strs.LookupWrite(c, args[1])
	if err != nil {
		return reply.Value{}, err
	}
	byteIdx := int(off >> 3)
	mask := byte(1) << (7 - off&7)
	if it == nil {
		buf := make([]byte, byteIdx+1)
		if on == 1 {
			buf[byteIdx] = mask
		}
		strs.StoreOwned(c, args[1], buf, 0, true)
		c.Notify(command.ClassString, "setbit", args[1])
		return reply.Int(0), nil
	}
	old := int64(bitAt(it.Str, off))
	grow := byteIdx >= len(it.Str)
	if !grow && old == on {
		markRaw(c, it)
		return reply.Int(old), nil
	}
	m := c.DB.Mutable(it)
	m.Str = withBit(m.Str, byteIdx, mask, on == 1, m != it)
	it = m
	it.Raw = true
	c.Dirty++
	c.Notify(command.ClassString, "setbit", args[1])
	return reply.Int(old), nil
}

// withBit returns s with the bit mask of byte i set or cleared: in place
// past the current length (zero-filled) or if s is private, else on a copy.
func withBit(s []byte, i int, mask byte, on, private bool) []byte {
	if n := len(s); i >= n {
		s = slices.Grow(s, i+1-n)[:i+1]
		clear(s[n:])
	} else if !private {
		s = slices.Clone(s)
	}
	if on {
		s[i] |= mask
	} else {
		s[i] &^= mask
	}
	return s
}

// markRaw records that Redis unshared the value (dbUnshareStringValue),
// which makes its encoding "raw" even when nothing else changes.
func markRaw(c *command.Ctx, it *keyspace.Item) {
	if !it.Raw {
		it = c.DB.Mutable(it)
		it.Raw = true
	}
}

// getbitCmd is GETBIT key offset.
func getbitCmd(c *command.Ctx, args [][]byte) (reply.Value, error) {
	off, err := parseBitOffset(c, args[2], false, 0)
	if err != nil {
		return reply.Value{}, err
	}
	it, err := strs.LookupRead(c, args[1])
	if err != nil || it == nil {
		return reply.Int(0), err
	}
	return reply.Int(int64(bitAt(it.Str, off))), nil
}
