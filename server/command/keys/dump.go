package keys

import (
	"errors"
	"math"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/server/rdb"
	"github.com/cairndb/cairn/server/reply"
)

// Errors of RESTORE, in Redis's words.
const (
	errBusyKey      = command.Msg("BUSYKEY Target key name already exists.")
	errBadPayload   = command.Msg("ERR DUMP payload version or checksum are wrong")
	errBadFormat    = command.Msg("ERR Bad data format")
	errBadTTL       = command.Msg("ERR Invalid TTL value, must be >= 0")
	errBadIdletime  = command.Msg("ERR Invalid IDLETIME value, must be >= 0")
	errBadFreq      = command.Msg("ERR Invalid FREQ value, must be >= 0 and <= 255")
	errDumpCantType = command.Msg("ERR DUMP of this value type is not supported")
)

// dump is DUMP key: the value serialized in Redis's RDB format (type byte,
// object, RDB version, CRC64), or nil if the key does not exist.
func dump(c *command.Ctx, args [][]byte) (reply.Value, error) {
	it := c.DB.Get(args[1], c.Now)
	if it == nil {
		return reply.Nil, nil
	}
	p, err := rdb.Dump(it.Str, it.Obj)
	if err != nil {
		return reply.Value{}, errDumpCantType
	}
	return reply.Bulk(p), nil
}

// restore is RESTORE key ttl serialized-value [REPLACE] [ABSTTL]
// [IDLETIME seconds] [FREQ frequency]. ttl is in milliseconds, 0 for no
// expiry, absolute with ABSTTL; a ttl already past creates nothing (but
// still deletes the old value with REPLACE) and replies OK, as Redis 7.
func restore(c *command.Ctx, args [][]byte) (reply.Value, error) {
	replace, absttl := false, false
	idle, freq := int64(-1), int64(-1)
	for j := 4; j < len(args); j++ {
		more := len(args) - j - 1
		switch {
		case isOpt(args[j], "replace"):
			replace = true
		case isOpt(args[j], "absttl"):
			absttl = true
		case isOpt(args[j], "idletime") && more >= 1 && freq == -1:
			v, err := command.ParseInt(args[j+1])
			if err != nil {
				return reply.Value{}, err
			}
			if v < 0 {
				return reply.Value{}, errBadIdletime
			}
			idle = v
			j++
		case isOpt(args[j], "freq") && more >= 1 && idle == -1:
			v, err := command.ParseInt(args[j+1])
			if err != nil {
				return reply.Value{}, err
			}
			if v < 0 || v > 255 {
				return reply.Value{}, errBadFreq
			}
			freq = v
			j++
		default:
			return reply.Value{}, command.ErrSyntax
		}
	}
	key := args[1]
	if !replace && c.DB.Lookup(key, c.Now) != nil {
		return reply.Value{}, errBusyKey
	}
	ttl, err := command.ParseInt(args[2])
	if err != nil {
		return reply.Value{}, err
	}
	if ttl < 0 {
		return reply.Value{}, errBadTTL
	}
	str, obj, err := rdb.RestoreCfg(args[3], &c.DB.Cfg)
	if err != nil {
		if errors.Is(err, rdb.ErrChecksum) {
			return reply.Value{}, errBadPayload
		}
		return reply.Value{}, errBadFormat
	}

	deleted := false
	if replace {
		deleted = c.DB.Delete(key)
	}
	if ttl != 0 && !absttl {
		ttl += c.Now // wraps on overflow, as in Redis: then already expired
	}
	if ttl != 0 && ttl <= c.Now {
		if deleted {
			c.Dirty++
			c.Notify(command.ClassGeneric, "del", key)
		}
		return reply.OK, nil
	}
	it := &keyspace.Item{Key: string(key), ExpireAt: ttl, Str: str, Obj: obj}
	c.DB.PutItem(it)
	if freq >= 0 && c.DB.Cfg.MaxMemoryPolicy.IsLFU() {
		it.SetFreq(int(freq)) // objectSetLRUOrLFU: FREQ counts under an LFU policy
	}
	if idle > 0 {
		// Back-date the access time; Redis clamps absurd idle times too.
		it.Touch(c.Now - min(idle, c.Now/1000, math.MaxInt64/1000)*1000)
	} else {
		it.Touch(c.Now)
	}
	c.Dirty++
	c.Notify(command.ClassGeneric, "restore", key)
	return reply.OK, nil
}
