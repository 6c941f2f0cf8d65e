package keys

import (
	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/reply"
)

// exists is EXISTS key [key ...]: the number of the given keys that exist,
// a key given twice counting twice.
func exists(c *command.Ctx, args [][]byte) (reply.Value, error) {
	var n int64
	for _, k := range args[1:] {
		if c.DB.Exists(k, c.Now) != nil {
			n++
		}
	}
	return reply.Int(n), nil
}

// typeCmd is TYPE key: the type name as a status reply, "none" for a
// missing key.
func typeCmd(c *command.Ctx, args [][]byte) (reply.Value, error) {
	it := c.DB.Exists(args[1], c.Now)
	if it == nil {
		return reply.Status("none"), nil
	}
	return reply.Status(it.Type().String()), nil
}

// touch is TOUCH key [key ...]: it records an access to each key that
// exists (for OBJECT IDLETIME) and returns how many exist.
func touch(c *command.Ctx, args [][]byte) (reply.Value, error) {
	var n int64
	for _, k := range args[1:] {
		if c.DB.Get(k, c.Now) != nil {
			n++
		}
	}
	return reply.Int(n), nil
}
