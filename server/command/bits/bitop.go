package bits

import (
	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/command/strs"
	"github.com/cairndb/cairn/server/reply"
)

// Bit operations.
const (
	opAnd = iota
	opOr
	opXor
	opNot
)

// bitopCmd is BITOP AND|OR|XOR|NOT destkey key [key ...]. Missing keys are
// empty strings, shorter strings are zero-padded; the result is as long as
// the longest source. An empty result deletes destkey. The reply is the
// result's length.
func bitopCmd(c *command.Ctx, args [][]byte) (reply.Value, error) {
	var op int
	switch {
	case is(args[1], "and"):
		op = opAnd
	case is(args[1], "or"):
		op = opOr
	case is(args[1], "xor"):
		op = opXor
	case is(args[1], "not"):
		op = opNot
	default:
		return reply.Value{}, command.ErrSyntax
	}
	if op == opNot && len(args) != 4 {
		return reply.Value{}, errBitopNot
	}
	dest := args[2]
	srcs := make([][]byte, 0, len(args)-3)
	maxlen := 0
	for _, k := range args[3:] {
		it, err := strs.LookupReadForWrite(c, k)
		if err != nil {
			return reply.Value{}, err
		}
		var s []byte
		if it != nil {
			s = it.Str
		}
		srcs = append(srcs, s)
		maxlen = max(maxlen, len(s))
	}
	if maxlen == 0 {
		if c.DB.Delete(dest) {
			c.Dirty++
			c.Notify(command.ClassGeneric, "del", dest)
		}
		return reply.Int(0), nil
	}
	res := make([]byte, maxlen)
	copy(res, srcs[0])
	if op == opNot {
		for i := range res {
			res[i] = ^res[i]
		}
	}
	for _, s := range srcs[1:] {
		switch op {
		case opAnd:
			for i, b := range s {
				res[i] &= b
			}
			clear(res[len(s):])
		case opOr:
			for i, b := range s {
				res[i] |= b
			}
		case opXor:
			for i, b := range s {
				res[i] ^= b
			}
		}
	}
	strs.StoreOwned(c, dest, res, 0, true)
	c.Notify(command.ClassString, "set", dest)
	return reply.Int(int64(maxlen)), nil
}
