package strs

import (
	"bytes"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/keyspace"
)

// defaultProtoMaxBulkLen is Redis's default proto-max-bulk-len, used when
// the context does not set one.
const defaultProtoMaxBulkLen = 512 << 20

// maxBulkLen returns the proto-max-bulk-len limit in force.
func maxBulkLen(c *command.Ctx) int64 {
	if c.ProtoMaxBulkLen > 0 {
		return c.ProtoMaxBulkLen
	}
	return defaultProtoMaxBulkLen
}

// checkStringLength mirrors Redis's checkStringLength: a string of size+add
// bytes must not exceed proto-max-bulk-len (overflow included).
func checkStringLength(c *command.Ctx, size, add int64) error {
	if size > maxBulkLen(c)-add {
		return command.ErrTooLarge
	}
	return nil
}

// lookupWrite is Redis's lookupKeyWrite plus a string type check: it
// deletes the key if it has expired and returns the live string item or nil.
func lookupWrite(c *command.Ctx, key []byte) (*keyspace.Item, error) {
	it := c.DB.Lookup(key, c.Now)
	if it == nil {
		return nil, nil
	}
	if it.Obj != nil {
		return nil, keyspace.ErrWrongType
	}
	it.Touch(c.Now)
	return it, nil
}

// lookupReadForWrite is Redis's lookupKeyRead as write commands such as
// GETSET and GETDEL use it: the lazy expiry of the write path, plus the
// keyspace hit/miss accounting of a read.
func lookupReadForWrite(c *command.Ctx, key []byte) (*keyspace.Item, error) {
	it := c.DB.Lookup(key, c.Now)
	if it == nil {
		c.DB.Stats.Misses.Add(1)
		return nil, nil
	}
	c.DB.Stats.Hits.Add(1)
	if it.Obj != nil {
		return nil, keyspace.ErrWrongType
	}
	it.Touch(c.Now)
	return it, nil
}

// lookupRead is the read path: the live string item or nil.
func lookupRead(c *command.Ctx, key []byte) (*keyspace.Item, error) {
	it := c.DB.Get(key, c.Now)
	if it == nil {
		return nil, nil
	}
	if it.Obj != nil {
		return nil, keyspace.ErrWrongType
	}
	return it, nil
}

// store sets key to a copy of val with the given expiry (0 = none),
// replacing any previous value, as Redis's setKey does.
func store(c *command.Ctx, key, val []byte, expireAt int64) *keyspace.Item {
	it := c.DB.Put(key, val, nil, expireAt)
	it.Touch(c.Now)
	c.Dirty++
	return it
}

// storeOwned is store for a freshly allocated val that nothing else
// references: it is stored without a copy.
func storeOwned(c *command.Ctx, key, val []byte, expireAt int64, raw bool) *keyspace.Item {
	if val == nil {
		val = []byte{}
	}
	it := c.DB.PutOwned(key, val, expireAt, raw)
	it.Touch(c.Now)
	c.Dirty++
	return it
}

// cstr returns b as C code sees it: up to the first NUL byte. Redis parses
// option names with C string functions, so "NX\x00junk" is NX.
func cstr(b []byte) []byte {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return b[:i]
	}
	return b
}
