package strs

import (
	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/keyspace"
)

// Exported string helpers for the families whose values are strings too
// (bitmaps, HyperLogLogs). They follow this package's rules: stored bytes
// are never overwritten in place.

// LookupWrite is the write path's string lookup: it deletes the key if it
// has expired and returns the live string item, nil, or ErrWrongType.
func LookupWrite(c *command.Ctx, key []byte) (*keyspace.Item, error) {
	return lookupWrite(c, key)
}

// LookupReadForWrite is LookupWrite plus the keyspace hit/miss accounting
// of Redis's lookupKeyRead, for write commands that read keys.
func LookupReadForWrite(c *command.Ctx, key []byte) (*keyspace.Item, error) {
	return lookupReadForWrite(c, key)
}

// LookupRead is the read path's string lookup.
func LookupRead(c *command.Ctx, key []byte) (*keyspace.Item, error) {
	return lookupRead(c, key)
}

// StoreOwned stores val, which the caller allocated and gives away, under
// key with the given expiry (0 = none), replacing any previous value, and
// counts one change.
func StoreOwned(c *command.Ctx, key, val []byte, expireAt int64, raw bool) *keyspace.Item {
	return storeOwned(c, key, val, expireAt, raw)
}

// MaxBulkLen returns the proto-max-bulk-len limit in force.
func MaxBulkLen(c *command.Ctx) int64 { return maxBulkLen(c) }

// Cstr returns b up to its first NUL byte, as C string functions see it.
func Cstr(b []byte) []byte { return cstr(b) }
