package hashes

import (
	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/reply"
)

// hget implements
//
//	HGET key field
//
// It replies with the field's value, or nil.
func hget(c *command.Ctx, args [][]byte) (reply.Value, error) {
	h, err := readHash(c, args[1])
	if err != nil || h == nil {
		return reply.Nil, err
	}
	v, ok := h.Get(args[2])
	if !ok {
		return reply.Nil, nil
	}
	return reply.Bulk(v), nil
}

// hmget implements
//
//	HMGET key field [field ...]
//
// It replies with an array of the fields' values, nil for missing fields
// (all nil for a missing key).
func hmget(c *command.Ctx, args [][]byte) (reply.Value, error) {
	h, err := readHash(c, args[1])
	if err != nil {
		return reply.Value{}, err
	}
	out := make([]reply.Value, len(args)-2)
	for i, f := range args[2:] {
		out[i] = reply.Nil
		if h == nil {
			continue
		}
		if v, ok := h.Get(f); ok {
			out[i] = reply.Bulk(v)
		}
	}
	return reply.Array(out...), nil
}

// hexists implements
//
//	HEXISTS key field
//
// It replies 1 if the field exists, 0 otherwise.
func hexists(c *command.Ctx, args [][]byte) (reply.Value, error) {
	h, err := readHash(c, args[1])
	if err != nil || h == nil {
		return reply.Int(0), err
	}
	if _, ok := h.Get(args[2]); ok {
		return reply.Int(1), nil
	}
	return reply.Int(0), nil
}

// hstrlen implements
//
//	HSTRLEN key field
//
// It replies with the length of the field's value, 0 if it does not exist.
func hstrlen(c *command.Ctx, args [][]byte) (reply.Value, error) {
	h, err := readHash(c, args[1])
	if err != nil || h == nil {
		return reply.Int(0), err
	}
	v, _ := h.Get(args[2])
	return reply.Int(int64(len(v))), nil
}

// hlen implements
//
//	HLEN key
//
// It replies with the number of fields, 0 for a missing key.
func hlen(c *command.Ctx, args [][]byte) (reply.Value, error) {
	h, err := readHash(c, args[1])
	if err != nil || h == nil {
		return reply.Int(0), err
	}
	return reply.Int(int64(h.Len())), nil
}
