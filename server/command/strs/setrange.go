package strs

import (
	"slices"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/reply"
)

// setrangeCmd is SETRANGE key offset value. The string is zero-padded up
// to offset; the result may not exceed proto-max-bulk-len. An empty value
// changes nothing (and creates no key). The modified string is "raw".
func setrangeCmd(c *command.Ctx, args [][]byte) (reply.Value, error) {
	offset, err := command.ParseInt(args[2])
	if err != nil {
		return reply.Value{}, err
	}
	if offset < 0 {
		return reply.Value{}, command.ErrOffsetRange
	}
	val := args[3]
	it, err := lookupWrite(c, args[1])
	if err != nil {
		return reply.Value{}, err
	}
	if it == nil {
		if len(val) == 0 {
			return reply.Int(0), nil
		}
		if err := checkStringLength(c, offset, int64(len(val))); err != nil {
			return reply.Value{}, err
		}
		buf := make([]byte, offset+int64(len(val)))
		copy(buf[offset:], val)
		storeOwned(c, args[1], buf, 0, true)
		c.Notify(command.ClassString, "setrange", args[1])
		return reply.Int(int64(len(buf))), nil
	}
	if len(val) == 0 {
		return reply.Int(int64(len(it.Str))), nil
	}
	if err := checkStringLength(c, offset, int64(len(val))); err != nil {
		return reply.Value{}, err
	}
	it = c.DB.Mutable(it)
	end := int(offset) + len(val)
	if n := len(it.Str); int(offset) >= n {
		// Only bytes past the current length are written: grow in place.
		s := slices.Grow(it.Str, end-n)[:end]
		clear(s[n:offset])
		copy(s[offset:], val)
		it.Str = s
	} else {
		// Overwriting existing bytes: a read reply may still alias them,
		// so write a copy.
		s := make([]byte, max(end, n))
		copy(s, it.Str)
		copy(s[offset:], val)
		it.Str = s
	}
	it.Raw = true
	c.Dirty++
	c.Notify(command.ClassString, "setrange", args[1])
	return reply.Int(int64(len(it.Str))), nil
}

// getrangeCmd is GETRANGE key start end (and SUBSTR, its old name), with
// Redis 7.0's handling of negative and out-of-range indexes.
func getrangeCmd(c *command.Ctx, args [][]byte) (reply.Value, error) {
	start, err := command.ParseInt(args[2])
	if err != nil {
		return reply.Value{}, err
	}
	end, err := command.ParseInt(args[3])
	if err != nil {
		return reply.Value{}, err
	}
	it, err := lookupRead(c, args[1])
	if err != nil {
		return reply.Value{}, err
	}
	empty := reply.BulkString("")
	if it == nil {
		return empty, nil
	}
	s := it.Str
	n := int64(len(s))
	if start < 0 && end < 0 && start > end {
		return empty, nil
	}
	if start < 0 {
		start += n
	}
	if end < 0 {
		end += n
	}
	start, end = max(start, 0), max(end, 0)
	if end >= n {
		end = n - 1
	}
	if start > end || n == 0 {
		return empty, nil
	}
	return reply.Bulk(s[start : end+1]), nil
}
