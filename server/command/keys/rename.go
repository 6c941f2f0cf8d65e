package keys

import (
	"bytes"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/server/reply"
)

// rename is RENAME key newkey: it moves the value and its expiry to newkey,
// replacing whatever newkey held. A missing key is an error; renaming a key
// to itself is a no-op.
func rename(c *command.Ctx, args [][]byte) (reply.Value, error) {
	return renameGeneric(c, args, false)
}

// renamenx is RENAMENX key newkey: RENAME only if newkey does not exist;
// it returns 1 if it renamed, 0 if not.
func renamenx(c *command.Ctx, args [][]byte) (reply.Value, error) {
	return renameGeneric(c, args, true)
}

func renameGeneric(c *command.Ctx, args [][]byte, nx bool) (reply.Value, error) {
	src, dst := args[1], args[2]
	it := c.DB.Lookup(src, c.Now)
	if it == nil {
		return reply.Value{}, keyspace.ErrNoSuchKey
	}
	if bytes.Equal(src, dst) {
		if nx {
			return reply.Int(0), nil
		}
		return reply.OK, nil
	}
	if c.DB.Lookup(dst, c.Now) != nil && nx {
		return reply.Int(0), nil
	}
	// Take ownership of the value (cloning it if a snapshot shares it),
	// then move it under the new name.
	it = c.DB.Mutable(it)
	c.DB.Delete(src)
	n := &keyspace.Item{Key: string(dst), ExpireAt: it.ExpireAt, Str: it.Str, Obj: it.Obj, Raw: it.Raw}
	c.DB.PutItem(n)
	n.Touch(c.Now)
	c.Dirty++
	c.Notify(command.ClassGeneric, "rename_from", src)
	c.Notify(command.ClassGeneric, "rename_to", dst)
	if nx {
		return reply.Int(1), nil
	}
	return reply.OK, nil
}
