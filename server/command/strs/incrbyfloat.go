package strs

import (
	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/command/longdouble"
	"github.com/cairndb/cairn/server/reply"
)

// incrbyfloatCmd is INCRBYFLOAT key increment. The sum is computed as C
// long double and stored in Redis's human-friendly "%.17Lf" form (see
// package longdouble), so the stored value and the reply match Redis's bytes.
// The key's TTL is kept.
func incrbyfloatCmd(c *command.Ctx, args [][]byte) (reply.Value, error) {
	it, err := lookupWrite(c, args[1])
	if err != nil {
		return reply.Value{}, err
	}
	value := longdouble.New()
	var expire int64
	if it != nil {
		v, ok := longdouble.Parse(it.Str)
		if !ok {
			return reply.Value{}, command.ErrNotFloat
		}
		value, expire = v, it.ExpireAt
	}
	incr, ok := longdouble.Parse(args[2])
	if !ok {
		return reply.Value{}, command.ErrNotFloat
	}
	sum, ok := longdouble.Add(value, incr)
	if !ok {
		return reply.Value{}, command.ErrNaN
	}
	s := []byte(longdouble.Format(sum))
	storeOwned(c, args[1], s, expire, false)
	c.Notify(command.ClassString, "incrbyfloat", args[1])
	return reply.Bulk(s), nil
}
