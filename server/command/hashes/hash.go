package hashes

import (
	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/keyspace"
)

// readHash returns the hash stored at key for a read command, nil if the
// key does not exist, or ErrWrongType.
func readHash(c *command.Ctx, key []byte) (*keyspace.Hash, error) {
	it := c.DB.Get(key, c.Now)
	if it == nil {
		return nil, nil
	}
	h, ok := it.Obj.(*keyspace.Hash)
	if !ok {
		return nil, keyspace.ErrWrongType
	}
	return h, nil
}

// lookupWrite returns the live item at key and its hash for a write
// command (nil, nil if the key does not exist; an expired key is deleted),
// or ErrWrongType. Neither is mutable yet: read the hash, validate, then
// call mutableHash.
func lookupWrite(c *command.Ctx, key []byte) (*keyspace.Item, *keyspace.Hash, error) {
	it := c.DB.Lookup(key, c.Now)
	if it == nil {
		return nil, nil, nil
	}
	h, ok := it.Obj.(*keyspace.Hash)
	if !ok {
		return nil, nil, keyspace.ErrWrongType
	}
	return it, h, nil
}

// mutableHash returns a hash that may be changed in place: the one at it
// (made mutable), or a new empty hash stored at key when it is nil.
func mutableHash(c *command.Ctx, key []byte, it *keyspace.Item) *keyspace.Hash {
	if it == nil {
		return c.DB.Put(key, nil, keyspace.NewHash(), 0).Obj.(*keyspace.Hash)
	}
	return c.DB.Mutable(it).Obj.(*keyspace.Hash)
}
