package hashes

import (
	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/reply"
)

// hdel implements
//
//	HDEL key field [field ...]
//
// It replies with the number of fields removed. A hash left empty is
// deleted.
func hdel(c *command.Ctx, args [][]byte) (reply.Value, error) {
	it, h, err := lookupWrite(c, args[1])
	if err != nil || it == nil {
		return reply.Int(0), err
	}
	// Clone a snapshot-shared hash only if something will be deleted.
	found := false
	for _, f := range args[2:] {
		if _, ok := h.Get(f); ok {
			found = true
			break
		}
	}
	if !found {
		return reply.Int(0), nil
	}
	h = mutableHash(c, args[1], it)
	deleted := int64(0)
	for _, f := range args[2:] {
		if h.Delete(f) {
			deleted++
			if h.Len() == 0 {
				break
			}
		}
	}
	c.Notify(command.ClassHash, "hdel", args[1])
	if h.Len() == 0 {
		c.DB.Delete(args[1])
		c.Notify(command.ClassGeneric, "del", args[1])
	}
	c.Dirty += deleted
	return reply.Int(deleted), nil
}
