package keys

import (
	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/reply"
)

// ttl is TTL key: the remaining time to live in seconds (rounded as Redis
// rounds), -1 if the key has no expiry, -2 if it does not exist.
func ttl(c *command.Ctx, args [][]byte) (reply.Value, error) {
	return ttlGeneric(c, args, false, false)
}

// pttl is PTTL key: TTL in milliseconds.
func pttl(c *command.Ctx, args [][]byte) (reply.Value, error) {
	return ttlGeneric(c, args, true, false)
}

// expiretime is EXPIRETIME key: the absolute expiry as a Unix time in
// seconds, -1 if the key has no expiry, -2 if it does not exist.
func expiretime(c *command.Ctx, args [][]byte) (reply.Value, error) {
	return ttlGeneric(c, args, false, true)
}

// pexpiretime is PEXPIRETIME key: EXPIRETIME in milliseconds.
func pexpiretime(c *command.Ctx, args [][]byte) (reply.Value, error) {
	return ttlGeneric(c, args, true, true)
}

// ttlGeneric is Redis's ttlGenericCommand.
func ttlGeneric(c *command.Ctx, args [][]byte, ms, abs bool) (reply.Value, error) {
	it := c.DB.Exists(args[1], c.Now)
	if it == nil {
		return reply.Int(-2), nil
	}
	if it.ExpireAt == 0 {
		return reply.Int(-1), nil
	}
	t := it.ExpireAt
	if !abs {
		t -= c.Now
	}
	if t < 0 {
		t = 0
	}
	if !ms {
		t = (t + 500) / 1000
	}
	return reply.Int(t), nil
}
