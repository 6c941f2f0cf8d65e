package sets

import (
	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/server/reply"
)

// Errors in Redis's words.
const (
	errMustBePositive = command.Msg("ERR value is out of range, must be positive")
	errCountRange     = command.Msg("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
	errValueRange     = command.Msg("ERR value is out of range")
)

// readSet returns the set stored at key for a read command, nil if the key
// does not exist, or ErrWrongType.
func readSet(c *command.Ctx, key []byte) (*keyspace.Set, error) {
	it := c.DB.Get(key, c.Now)
	if it == nil {
		return nil, nil
	}
	s, ok := it.Obj.(*keyspace.Set)
	if !ok {
		return nil, keyspace.ErrWrongType
	}
	return s, nil
}

// lookupWrite returns the live item at key and its set for a write command
// (nil, nil if the key does not exist; an expired key is deleted), or
// ErrWrongType. Neither is mutable yet: validate, then call mutableSet.
func lookupWrite(c *command.Ctx, key []byte) (*keyspace.Item, *keyspace.Set, error) {
	it := c.DB.Lookup(key, c.Now)
	if it == nil {
		return nil, nil, nil
	}
	s, ok := it.Obj.(*keyspace.Set)
	if !ok {
		return nil, nil, keyspace.ErrWrongType
	}
	return it, s, nil
}

// mutableSet returns a set that may be changed in place: the one at it
// (made mutable), or a new empty set stored at key when it is nil.
func mutableSet(c *command.Ctx, key []byte, it *keyspace.Item) *keyspace.Set {
	if it == nil {
		return c.DB.Put(key, nil, keyspace.NewSet(), 0).Obj.(*keyspace.Set)
	}
	return c.DB.Mutable(it).Obj.(*keyspace.Set)
}

// bulks turns members into bulk replies (aliasing them).
func bulks(ms [][]byte) []reply.Value {
	out := make([]reply.Value, len(ms))
	for i, m := range ms {
		out[i] = reply.Bulk(m)
	}
	return out
}

// setReply is the RESP3 set (RESP2 array) of every member of s, in its
// order.
func setReply(s *keyspace.Set) reply.Value {
	out := make([]reply.Value, 0, s.Len())
	s.EachStable(func(m []byte) { out = append(out, reply.Bulk(m)) })
	return reply.Set(out...)
}
