package strs

import (
	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/reply"
)

// appendCmd is APPEND key value. Appending to an existing string makes it
// "raw" (Item.Raw), as Redis unshares and grows it in place; a missing key
// is created with the value as SET would.
func appendCmd(c *command.Ctx, args [][]byte) (reply.Value, error) {
	it, err := lookupWrite(c, args[1])
	if err != nil {
		return reply.Value{}, err
	}
	val := args[2]
	if it == nil {
		store(c, args[1], val, 0)
		c.Notify(command.ClassString, "append", args[1])
		return reply.Int(int64(len(val))), nil
	}
	if err := checkStringLength(c, int64(len(it.Str)), int64(len(val))); err != nil {
		return reply.Value{}, err
	}
	it = c.DB.Mutable(it)
	// append only writes past the current length, so replies that alias
	// the old bytes are unaffected.
	it.Str = append(it.Str, val...)
	it.Raw = true
	c.Dirty++
	c.Notify(command.ClassString, "append", args[1])
	return reply.Int(int64(len(it.Str))), nil
}

// strlenCmd is STRLEN key.
func strlenCmd(c *command.Ctx, args [][]byte) (reply.Value, error) {
	it, err := lookupRead(c, args[1])
	if err != nil || it == nil {
		return reply.Int(0), err
	}
	return reply.Int(int64(len(it.Str))), nil
}
