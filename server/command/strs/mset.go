package strs

import (
	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/reply"
)

// mgetCmd is MGET key [key ...]. Missing keys and keys of another type
// answer nil.
func mgetCmd(c *command.Ctx, args [][]byte) (reply.Value, error) {
	out := make([]reply.Value, len(args)-1)
	for i, key := range args[1:] {
		it := c.DB.Get(key, c.Now)
		if it == nil || it.Obj != nil {
			out[i] = reply.Nil
		} else {
			out[i] = reply.Bulk(it.Str)
		}
	}
	return reply.Array(out...), nil
}

// msetCmd is MSET key value [key value ...].
func msetCmd(c *command.Ctx, args [][]byte) (reply.Value, error) {
	if len(args)%2 == 0 {
		return reply.Value{}, command.ArityError("mset")
	}
	for j := 1; j < len(args); j += 2 {
		store(c, args[j], args[j+1], 0)
		c.Notify(command.ClassString, "set", args[j])
	}
	return reply.OK, nil
}

// msetnxCmd is MSETNX key value [key value ...]: it sets nothing and
// answers 0 if any of the keys exists (whatever its type).
func msetnxCmd(c *command.Ctx, args [][]byte) (reply.Value, error) {
	if len(args)%2 == 0 {
		return reply.Value{}, command.ArityError("msetnx")
	}
	for j := 1; j < len(args); j += 2 {
		if c.DB.Lookup(args[j], c.Now) != nil {
			return reply.Int(0), nil
		}
	}
	for j := 1; j < len(args); j += 2 {
		store(c, args[j], args[j+1], 0)
		c.Notify(command.ClassString, "set", args[j])
	}
	return reply.Int(1), nil
}
