package sets

import (
	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/server/reply"
)

// sadd implements
//
//	SADD key member [member ...]
//
// It replies with the number of members added, creating the set if
// needed.
func sadd(c *command.Ctx, args [][]byte) (reply.Value, error) {
	it, _, err := lookupWrite(c, args[1])
	if err != nil {
		return reply.Value{}, err
	}
	s := mutableSet(c, args[1], it)
	added := int64(0)
	for _, m := range args[2:] {
		if s.AddCfg(m, &c.DB.Cfg) {
			added++
		}
	}
	if added > 0 {
		c.Notify(command.ClassSet, "sadd", args[1])
	}
	c.Dirty += added
	return reply.Int(added), nil
}

// srem implements
//
//	SREM key member [member ...]
//
// It replies with the number of members removed. A set left empty is
// deleted.
func srem(c *command.Ctx, args [][]byte) (reply.Value, error) {
	it, s, err := lookupWrite(c, args[1])
	if err != nil || it == nil {
		return reply.Int(0), err
	}
	// Clone a snapshot-shared set only if something will be removed.
	found := false
	for _, m := range args[2:] {
		if s.Has(m) {
			found = true
			break
		}
	}
	if !found {
		return reply.Int(0), nil
	}
	s = mutableSet(c, args[1], it)
	removed := int64(0)
	for _, m := range args[2:] {
		if s.Remove(m) {
			removed++
			if s.Len() == 0 {
				break
			}
		}
	}
	c.Notify(command.ClassSet, "srem", args[1])
	if s.Len() == 0 {
		c.DB.Delete(args[1])
		c.Notify(command.ClassGeneric, "del", args[1])
	}
	c.Dirty += removed
	return reply.Int(removed), nil
}

// smove implements
//
//	SMOVE source destination member
//
// It moves member from source to destination (created if needed) and
// replies 1, or 0 if member is not in source. A missing source answers 0
// whatever destination holds; a source or destination that is not a set is
// WRONGTYPE. Moving to the same key only checks membership.
func smove(c *command.Ctx, args [][]byte) (reply.Value, error) {
	src, dst, m := args[1], args[2], args[3]
	sit, ss, err := lookupWrite(c, src)
	if err != nil {
		return reply.Value{}, err
	}
	dit := c.DB.Lookup(dst, c.Now)
	if sit == nil {
		return reply.Int(0), nil
	}
	if dit != nil && dit.Type() != keyspace.TypeSet {
		return reply.Value{}, keyspace.ErrWrongType
	}
	if sit == dit {
		if ss.Has(m) {
			return reply.Int(1), nil
		}
		return reply.Int(0), nil
	}
	if !ss.Has(m) {
		return reply.Int(0), nil
	}
	ss = mutableSet(c, src, sit)
	ss.Remove(m)
	c.Notify(command.ClassSet, "srem", src)
	if ss.Len() == 0 {
		c.DB.Delete(src)
		c.Notify(command.ClassGeneric, "del", src)
	}
	c.Dirty++
	if mutableSet(c, dst, dit).AddCfg(m, &c.DB.Cfg) {
		c.Dirty++
		c.Notify(command.ClassSet, "sadd", dst)
	}
	return reply.Int(1), nil
}
