package keys

import (
	"math"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/reply"
)

// Errors of the EXPIRE family, in Redis's words.
const (
	errNXAndOthers = command.Msg("ERR NX and XX, GT or LT options at the same time are not compatible")
	errGTAndLT     = command.Msg("ERR GT and LT options at the same time are not compatible")
)

const (
	expireNX = 1 << iota
	expireXX
	expireGT
	expireLT
)

// expire is EXPIRE key seconds [NX | XX | GT | LT].
func expire(c *command.Ctx, args [][]byte) (reply.Value, error) {
	return expireGeneric(c, args, "expire", c.Now, true)
}

// pexpire is PEXPIRE key milliseconds [NX | XX | GT | LT].
func pexpire(c *command.Ctx, args [][]byte) (reply.Value, error) {
	return expireGeneric(c, args, "pexpire", c.Now, false)
}

// expireat is EXPIREAT key unix-time-seconds [NX | XX | GT | LT].
func expireat(c *command.Ctx, args [][]byte) (reply.Value, error) {
	return expireGeneric(c, args, "expireat", 0, true)
}

// pexpireat is PEXPIREAT key unix-time-milliseconds [NX | XX | GT | LT].
func pexpireat(c *command.Ctx, args [][]byte) (reply.Value, error) {
	return expireGeneric(c, args, "pexpireat", 0, false)
}

// parseExpireFlags parses the NX/XX/GT/LT options as Redis's
// parseExtendedExpireArgumentsOrReply does.
func parseExpireFlags(opts [][]byte) (int, error) {
	flags := 0
	for _, o := range opts {
		switch {
		case isOpt(o, "nx"):
			flags |= expireNX
		case isOpt(o, "xx"):
			flags |= expireXX
		case isOpt(o, "gt"):
			flags |= expireGT
		case isOpt(o, "lt"):
			flags |= expireLT
		default:
			return 0, command.Msg("ERR Unsupported option " + string(cstr(o)))
		}
	}
	if flags&expireNX != 0 && flags&(expireXX|expireGT|expireLT) != 0 {
		return 0, errNXAndOthers
	}
	if flags&expireGT != 0 && flags&expireLT != 0 {
		return 0, errGTAndLT
	}
	return flags, nil
}

// expireGeneric is Redis's expireGenericCommand. The time argument is
// relative to base (c.Now for EXPIRE and PEXPIRE, 0 for the AT forms). A
// time already past deletes the key (and still returns 1), as Redis 7 does.
func expireGeneric(c *command.Ctx, args [][]byte, name string, base int64, seconds bool) (reply.Value, error) {
	flags, err := parseExpireFlags(args[3:])
	if err != nil {
		return reply.Value{}, err
	}
	when, err := command.ParseInt(args[2])
	if err != nil {
		return reply.Value{}, err
	}
	errTime := command.Msg("ERR invalid expire time in '" + name + "' command")
	if seconds {
		if when > math.MaxInt64/1000 || when < math.MinInt64/1000 {
			return reply.Value{}, errTime
		}
		when *= 1000
	}
	if when > math.MaxInt64-base {
		return reply.Value{}, errTime
	}
	when += base

	it := c.DB.Lookup(args[1], c.Now)
	if it == nil {
		return reply.Int(0), nil
	}
	it.Touch(c.Now)
	if flags != 0 {
		cur := it.ExpireAt // 0: no expiry (Redis's -1, an infinite TTL)
		switch {
		case flags&expireNX != 0 && cur != 0,
			flags&expireXX != 0 && cur == 0,
			flags&expireGT != 0 && (cur == 0 || when <= cur),
			flags&expireLT != 0 && cur != 0 && when >= cur:
			return reply.Int(0), nil
		}
	}
	if when <= c.Now {
		c.DB.Delete(args[1])
		c.Notify(command.ClassGeneric, "del", args[1])
	} else {
		c.DB.SetExpire(it, when)
		c.Notify(command.ClassGeneric, "expire", args[1])
	}
	c.Dirty++
	return reply.Int(1), nil
}

// persist is PERSIST key: it removes the key's expiry and returns 1, or 0
// if the key does not exist or has no expiry.
func persist(c *command.Ctx, args [][]byte) (reply.Value, error) {
	it := c.DB.Lookup(args[1], c.Now)
	if it == nil {
		return reply.Int(0), nil
	}
	it.Touch(c.Now)
	if it.ExpireAt == 0 {
		return reply.Int(0), nil
	}
	c.DB.SetExpire(it, 0)
	c.Dirty++
	c.Notify(command.ClassGeneric, "persist", args[1])
	return reply.Int(1), nil
}
