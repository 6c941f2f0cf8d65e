package keys

import (
	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/server/reply"
)

// randomKeyTries is how many random picks RANDOMKEY makes before it falls
// back to walking the keyspace for a live key.
const randomKeyTries = 100

// randomkey is RANDOMKEY: a random live key, or nil when there is none.
// Expired keys not yet removed are skipped, as Redis skips (and deletes)
// them; if every pick hits one, the first live key in keyspace order from
// a random point is returned.
func randomkey(c *command.Ctx, args [][]byte) (reply.Value, error) {
	pick := func(n int) int { return c.Rand().IntN(n) }
	for i := 0; i < randomKeyTries; i++ {
		it := c.DB.Random(pick)
		if it == nil {
			return reply.Nil, nil
		}
		if !it.Expired(c.Now) {
			return reply.BulkString(it.Key), nil
		}
	}
	start := c.DB.Random(pick)
	var found *keyspace.Item
	find := func(it *keyspace.Item) bool {
		if !it.Expired(c.Now) {
			found = it
			return false
		}
		return true
	}
	if start != nil {
		c.DB.Scan(keyspace.Ord(start.Key), find)
	}
	if found == nil {
		c.DB.Scan(0, find)
	}
	if found == nil {
		return reply.Nil, nil
	}
	return reply.BulkString(found.Key), nil
}
