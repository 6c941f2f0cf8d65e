package strs

import (
	"math"
	"strconv"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/reply"
)

// errDecrOverflow is DECRBY's error for a decrement of LLONG_MIN, whose
// negation overflows.
const errDecrOverflow = command.Msg("ERR decrement would overflow")

// incrDecr adds incr to the integer stored at key (0 if missing), keeping
// the key's TTL, as Redis's incrDecrCommand.
func incrDecr(c *command.Ctx, key []byte, incr int64) (reply.Value, error) {
	it, err := lookupWrite(c, key)
	if err != nil {
		return reply.Value{}, err
	}
	var value, expire int64
	if it != nil {
		if value, err = command.ParseInt(it.Str); err != nil {
			return reply.Value{}, err
		}
		expire = it.ExpireAt
	}
	if (incr < 0 && value < 0 && incr < math.MinInt64-value) ||
		(incr > 0 && value > 0 && incr > math.MaxInt64-value) {
		return reply.Value{}, command.ErrOverflow
	}
	value += incr
	storeOwned(c, key, strconv.AppendInt(nil, value, 10), expire, false)
	// INCR, DECR, INCRBY and DECRBY all raise "incrby", as in Redis.
	c.Notify(command.ClassString, "incrby", key)
	return reply.Int(value), nil
}

// incrCmd is INCR key.
func incrCmd(c *command.Ctx, args [][]byte) (reply.Value, error) {
	return incrDecr(c, args[1], 1)
}

// decrCmd is DECR key.
func decrCmd(c *command.Ctx, args [][]byte) (reply.Value, error) {
	return incrDecr(c, args[1], -1)
}

// incrbyCmd is INCRBY key increment.
func incrbyCmd(c *command.Ctx, args [][]byte) (reply.Value, error) {
	incr, err := command.ParseInt(args[2])
	if err != nil {
		return reply.Value{}, err
	}
	return incrDecr(c, args[1], incr)
}

// decrbyCmd is DECRBY key decrement.
func decrbyCmd(c *command.Ctx, args [][]byte) (reply.Value, error) {
	decr, err := command.ParseInt(args[2])
	if err != nil {
		return reply.Value{}, err
	}
	if decr == math.MinInt64 {
		return reply.Value{}, errDecrOverflow
	}
	return incrDecr(c, args[1], -decr)
}
