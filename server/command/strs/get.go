package strs

import (
	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/reply"
)

// getCmd is GET key.
func getCmd(c *command.Ctx, args [][]byte) (reply.Value, error) {
	it, err := lookupRead(c, args[1])
	if err != nil || it == nil {
		return reply.Nil, err
	}
	return reply.Bulk(it.Str), nil
}

// getdelCmd is GETDEL key.
func getdelCmd(c *command.Ctx, args [][]byte) (reply.Value, error) {
	it, err := lookupReadForWrite(c, args[1])
	if err != nil || it == nil {
		return reply.Nil, err
	}
	// The deleted item is never mutated again: the reply may alias it.
	v := reply.Bulk(it.Str)
	c.DB.Delete(args[1])
	c.Dirty++
	c.Notify(command.ClassGeneric, "del", args[1])
	return v, nil
}

// getsetCmd is GETSET key value. The new value has no expiry.
func getsetCmd(c *command.Ctx, args [][]byte) (reply.Value, error) {
	it, err := lookupReadForWrite(c, args[1])
	if err != nil {
		return reply.Value{}, err
	}
	v := reply.Nil
	if it != nil {
		v = reply.Bulk(it.Str) // the old item is replaced, never mutated
	}
	store(c, args[1], args[2], 0)
	c.Notify(command.ClassString, "set", args[1])
	return v, nil
}

// getexCmd is GETEX key [EX seconds | PX milliseconds | EXAT
// unix-time-seconds | PXAT unix-time-milliseconds | PERSIST].
//
// As in Redis, the options are checked first, then the key (a missing key
// answers nil whatever the expire value), then the expire value. An
// absolute time already past deletes the key after replying its value.
func getexCmd(c *command.Ctx, args [][]byte) (reply.Value, error) {
	flags, unitMs, expire, err := parseExtended(args[2:], false)
	if err != nil {
		return reply.Value{}, err
	}
	it, err := lookupReadForWrite(c, args[1])
	if err != nil || it == nil {
		return reply.Nil, err
	}
	var at int64
	if expire != nil {
		if at, err = expireAt(c, "getex", expire, flags, unitMs); err != nil {
			return reply.Value{}, err
		}
	}
	v := reply.Bulk(it.Str)
	switch {
	case flags&(optEXAT|optPXAT) != 0 && at <= c.Now:
		c.DB.Delete(args[1])
		c.Dirty++
		c.Notify(command.ClassGeneric, "del", args[1])
	case expire != nil:
		c.DB.SetExpire(it, at)
		c.Dirty++
		c.Notify(command.ClassGeneric, "expire", args[1])
	case flags&optPersist != 0 && it.ExpireAt != 0:
		c.DB.SetExpire(it, 0)
		c.Dirty++
		c.Notify(command.ClassGeneric, "persist", args[1])
	}
	return v, nil
}
