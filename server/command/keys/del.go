package keys

import (
	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/reply"
)

// del is DEL key [key ...] and UNLINK key [key ...]: it removes the keys
// that exist and returns how many it removed. A key given twice counts
// once. With lazyfree-lazy-user-del yes (replicated), DEL is UNLINK.
func del(c *command.Ctx, args [][]byte) (reply.Value, error) {
	if c.DB.Cfg.LazyfreeLazyUserDel != 0 {
		return unlink(c, args)
	}
	var n int64
	for _, k := range args[1:] {
		if c.DB.Lookup(k, c.Now) != nil {
			c.DB.Delete(k)
			n++
			c.Notify(command.ClassGeneric, "del", k)
		}
	}
	c.Dirty += n
	return reply.Int(n), nil
}

// unlink is UNLINK key [key ...]: DEL whose big values are freed in the
// background (keyspace.DB.Unlink).
func unlink(c *command.Ctx, args [][]byte) (reply.Value, error) {
	var n int64
	for _, k := range args[1:] {
		if c.DB.Lookup(k, c.Now) != nil {
			c.DB.Unlink(k)
			n++
			c.Notify(command.ClassGeneric, "del", k)
		}
	}
	c.Dirty += n
	return reply.Int(n), nil
}
