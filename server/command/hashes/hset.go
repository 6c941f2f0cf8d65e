package hashes

import (
	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/reply"
)

// hset implements
//
//	HSET key field value [field value ...]
//	HMSET key field value [field value ...]
//
// HSET replies with the number of fields created, HMSET with OK. An odd
// number of field/value arguments is an arity error, checked before the
// key's type, as Redis does.
func hset(c *command.Ctx, args [][]byte) (reply.Value, error) {
	if len(args)%2 != 0 {
		return reply.Value{}, command.ArityError(string(args[0]))
	}
	it, _, err := lookupWrite(c, args[1])
	if err != nil {
		return reply.Value{}, err
	}
	h := mutableHash(c, args[1], it)
	created := int64(0)
	for i := 2; i < len(args); i += 2 {
		if h.SetCfg(args[i], args[i+1], &c.DB.Cfg) {
			created++
		}
	}
	c.Dirty += int64(len(args)-2) / 2
	c.Notify(command.ClassHash, "hset", args[1])
	if command.EqualFold(args[0], "hmset") {
		return reply.OK, nil
	}
	return reply.Int(created), nil
}

// hsetnx implements
//
//	HSETNX key field value
//
// It sets field only if it does not exist yet and replies 1 if it did so,
// 0 otherwise.
func hsetnx(c *command.Ctx, args [][]byte) (reply.Value, error) {
	it, h, err := lookupWrite(c, args[1])
	if err != nil {
		return reply.Value{}, err
	}
	if h != nil {
		if _, ok := h.Get(args[2]); ok {
			return reply.Int(0), nil
		}
	}
	mutableHash(c, args[1], it).SetCfg(args[2], args[3], &c.DB.Cfg)
	c.Dirty++
	c.Notify(command.ClassHash, "hset", args[1])
	return reply.Int(1), nil
}
