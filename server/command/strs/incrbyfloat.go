package strs

import (
	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/reply"
)

// incrbyfloatCmd is INCRBYFLOAT key increment. The sum is computed as C
// long double and stored in Redis's human-friendly "%.17Lf" form (see
// longdouble.go), so the stored value and the reply match Redis's bytes.
// The key's TTL is kept.
func incrbyfloatCmd(c *command.Ctx, args [][]byte) (reply.Value, error) {
	it, err := lookupWrite(c, args[1])
	if err != nil {
		return reply.Value{}, err
	}
	value := newLD()
	var expire int64
	if it != nil {
		v, ok := parseLongDouble(it.Str)
		if !ok {
			return reply.Value{}, command.ErrNotFloat
		}
		value, expire = v, it.ExpireAt
	}
	incr, ok := parseLongDouble(args[2])
	if !ok {
		return reply.Value{}, command.ErrNotFloat
	}
	// Any infinite operand makes the sum inf or NaN (big.Float would
	// panic on inf + -inf).
	if value.IsInf() || incr.IsInf() {
		return reply.Value{}, command.ErrNaN
	}
	value.Add(value, incr)
	if ldOverflows(value) {
		return reply.Value{}, command.ErrNaN
	}
	s := []byte(formatLongDouble(value))
	storeOwned(c, args[1], s, expire, false)
	return reply.Bulk(s), nil
}
