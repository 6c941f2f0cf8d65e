package strs

import (
	"math"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/server/reply"
)

// Option flags of SET and GETEX, as Redis's OBJ_* flags.
const (
	optNX = 1 << iota
	optXX
	optEX
	optPX
	optKeepTTL
	optGet
	optEXAT
	optPXAT
	optPersist
)

// anyExpire is every option that sets an expiry.
const anyExpire = optEX | optPX | optEXAT | optPXAT

// parseExtended parses the options of SET (isSet) or GETEX exactly as
// Redis's parseExtendedStringArgumentsOrReply: conflicting options and
// options of the other command are syntax errors; repeating an option is
// allowed and the last value wins. It returns the flags, whether the
// expire argument is in milliseconds, and the expire argument (nil if none).
func parseExtended(opts [][]byte, isSet bool) (flags int, unitMs bool, expire []byte, err error) {
	for j := 0; j < len(opts); j++ {
		opt := cstr(opts[j])
		hasNext := j+1 < len(opts)
		switch {
		case isSet && command.EqualFold(opt, "nx") && flags&optXX == 0:
			flags |= optNX
		case isSet && command.EqualFold(opt, "xx") && flags&optNX == 0:
			flags |= optXX
		case isSet && command.EqualFold(opt, "get"):
			flags |= optGet
		case isSet && command.EqualFold(opt, "keepttl") && flags&(optPersist|anyExpire) == 0:
			flags |= optKeepTTL
		case !isSet && command.EqualFold(opt, "persist") && flags&(anyExpire|optKeepTTL) == 0:
			flags |= optPersist
		case command.EqualFold(opt, "ex") && flags&(optKeepTTL|optPersist|optEXAT|optPX|optPXAT) == 0 && hasNext:
			flags |= optEX
			unitMs = false
			expire = opts[j+1]
			j++
		case command.EqualFold(opt, "px") && flags&(optKeepTTL|optPersist|optEX|optEXAT|optPXAT) == 0 && hasNext:
			flags |= optPX
			unitMs = true
			expire = opts[j+1]
			j++
		case command.EqualFold(opt, "exat") && flags&(optKeepTTL|optPersist|optEX|optPX|optPXAT) == 0 && hasNext:
			flags |= optEXAT
			unitMs = false
			expire = opts[j+1]
			j++
		case command.EqualFold(opt, "pxat") && flags&(optKeepTTL|optPersist|optEX|optEXAT|optPX) == 0 && hasNext:
			flags |= optPXAT
			unitMs = true
			expire = opts[j+1]
			j++
		default:
			return 0, false, nil, command.ErrSyntax
		}
	}
	return flags, unitMs, expire, nil
}

// invalidExpire is Redis's addReplyErrorExpireTime for command name.
func invalidExpire(name string) error {
	return command.Msg("ERR invalid expire time in '" + name + "' command")
}

// expireAt turns an expire argument into an absolute Unix-ms time as
// Redis's getExpireMillisecondsOrReply does. Relative times (EX, PX and
// SETEX/PSETEX/GETEX's) are resolved against c.Now, the entry's leader
// time, so replaying the log never moves an expiry. Non-positive values
// and values whose conversion overflows are "invalid expire time" errors.
func expireAt(c *command.Ctx, name string, arg []byte, flags int, unitMs bool) (int64, error) {
	ms, err := command.ParseInt(arg)
	if err != nil {
		return 0, err
	}
	if ms <= 0 || (!unitMs && ms > math.MaxInt64/1000) {
		return 0, invalidExpire(name)
	}
	if !unitMs {
		ms *= 1000
	}
	if flags&(optEX|optPX) != 0 {
		ms += c.Now // wraps on overflow, as in C; caught below
	}
	if ms <= 0 {
		return 0, invalidExpire(name)
	}
	return ms, nil
}

// setGeneric is Redis's setGenericCommand. ok is the reply on success and
// abort the reply when NX/XX prevents the write (without GET).
func setGeneric(c *command.Ctx, name string, flags int, key, val, expire []byte, unitMs bool, ok, abort reply.Value) (reply.Value, error) {
	var at int64
	if expire != nil {
		var err error
		if at, err = expireAt(c, name, expire, flags, unitMs); err != nil {
			return reply.Value{}, err
		}
	}
	old := reply.Nil
	it := c.DB.Lookup(key, c.Now)
	if flags&optGet != 0 {
		if it == nil {
			c.DB.Stats.Misses.Add(1)
		} else {
			c.DB.Stats.Hits.Add(1)
			if it.Obj != nil {
				return reply.Value{}, keyspace.ErrWrongType
			}
			// The old item is replaced below, never mutated: the reply
			// may alias its bytes.
			old = reply.Bulk(it.Str)
		}
	}
	found := it != nil
	if (flags&optNX != 0 && found) || (flags&optXX != 0 && !found) {
		if flags&optGet != 0 {
			return old, nil
		}
		return abort, nil
	}
	if flags&optKeepTTL != 0 && found {
		at = it.ExpireAt
	}
	if expire != nil && at <= c.Now {
		// An absolute time already past: the value expires at once, so
		// the key is simply gone. Redis stores it and expires it later,
		// so its subscribers see "set", "expire", then "expired".
		c.DB.Delete(key)
		c.DB.Stats.ExpiredKeys.Add(1)
		c.Dirty++
		c.Notify(command.ClassString, "set", key)
		c.Notify(command.ClassGeneric, "expire", key)
		c.Notify(command.ClassExpired, "expired", key)
	} else {
		store(c, key, val, at)
		c.Notify(command.ClassString, "set", key)
		if expire != nil {
			c.Notify(command.ClassGeneric, "expire", key)
		}
	}
	if flags&optGet != 0 {
		return old, nil
	}
	return ok, nil
}

// setCmd is SET key value [NX | XX] [GET] [EX seconds | PX milliseconds |
// EXAT unix-time-seconds | PXAT unix-time-milliseconds | KEEPTTL].
func setCmd(c *command.Ctx, args [][]byte) (reply.Value, error) {
	flags, unitMs, expire, err := parseExtended(args[3:], true)
	if err != nil {
		return reply.Value{}, err
	}
	return setGeneric(c, "set", flags, args[1], args[2], expire, unitMs, reply.OK, reply.Nil)
}

// setnxCmd is SETNX key value.
func setnxCmd(c *command.Ctx, args [][]byte) (reply.Value, error) {
	return setGeneric(c, "setnx", optNX, args[1], args[2], nil, false, reply.Int(1), reply.Int(0))
}

// setexCmd is SETEX key seconds value.
func setexCmd(c *command.Ctx, args [][]byte) (reply.Value, error) {
	return setGeneric(c, "setex", optEX, args[1], args[3], args[2], false, reply.OK, reply.Nil)
}

// psetexCmd is PSETEX key milliseconds value.
func psetexCmd(c *command.Ctx, args [][]byte) (reply.Value, error) {
	return setGeneric(c, "psetex", optPX, args[1], args[3], args[2], true, reply.OK, reply.Nil)
}
