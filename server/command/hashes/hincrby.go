package hashes

import (
	"math"
	"strconv"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/command/longdouble"
	"github.com/cairndb/cairn/server/reply"
)

// Errors of HINCRBY and HINCRBYFLOAT, as Redis words them.
const (
	errHashNotInt   = command.Msg("ERR hash value is not an integer")
	errHashNotFloat = command.Msg("ERR hash value is not a float")
	errIncrNaN      = command.Msg("ERR value is NaN or Infinity")
)

// hincrby implements
//
//	HINCRBY key field increment
//
// A missing field counts as 0. It replies with the new value.
func hincrby(c *command.Ctx, args [][]byte) (reply.Value, error) {
	incr, err := command.ParseInt(args[3])
	if err != nil {
		return reply.Value{}, err
	}
	it, h, err := lookupWrite(c, args[1])
	if err != nil {
		return reply.Value{}, err
	}
	var cur int64
	if h != nil {
		if v, ok := h.Get(args[2]); ok {
			if cur, err = command.ParseInt(v); err != nil {
				return reply.Value{}, errHashNotInt
			}
		}
	}
	if (incr < 0 && cur < 0 && incr < math.MinInt64-cur) || (incr > 0 && cur > 0 && incr > math.MaxInt64-cur) {
		return reply.Value{}, command.ErrOverflow
	}
	n := cur + incr
	mutableHash(c, args[1], it).SetCfg(args[2], strconv.AppendInt(nil, n, 10), &c.DB.Cfg)
	c.Dirty++
	c.Notify(command.ClassHash, "hincrby", args[1])
	return reply.Int(n), nil
}

// hincrbyfloat implements
//
//	HINCRBYFLOAT key field increment
//
// Arithmetic is done as Redis does it, in C long double (x87 80-bit
// extended precision), and the result is stored and replied as %.17Lf
// with trailing zeros removed.
func hincrbyfloat(c *command.Ctx, args [][]byte) (reply.Value, error) {
	incr, ok := longdouble.Parse(args[3])
	if !ok {
		return reply.Value{}, command.ErrNotFloat
	}
	if incr.IsInf() {
		return reply.Value{}, errIncrNaN
	}
	it, h, err := lookupWrite(c, args[1])
	if err != nil {
		return reply.Value{}, err
	}
	cur := longdouble.New()
	if h != nil {
		if v, ok := h.Get(args[2]); ok {
			if cur, ok = longdouble.Parse(v); !ok {
				return reply.Value{}, errHashNotFloat
			}
		}
	}
	sum, ok := longdouble.Add(cur, incr)
	if !ok {
		return reply.Value{}, command.ErrNaN
	}
	s := []byte(longdouble.Format(sum))
	mutableHash(c, args[1], it).SetCfg(args[2], s, &c.DB.Cfg)
	c.Dirty++
	c.Notify(command.ClassHash, "hincrbyfloat", args[1])
	return reply.Bulk(s), nil
}
