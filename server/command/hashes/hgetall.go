package hashes

import (
	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/reply"
)

// hkeys implements
//
//	HKEYS key
//
// It replies with the fields in the hash's order (insertion order for a
// listpack-encoded hash).
func hkeys(c *command.Ctx, args [][]byte) (reply.Value, error) {
	h, err := readHash(c, args[1])
	if err != nil || h == nil {
		return reply.Array(), err
	}
	out := make([]reply.Value, 0, h.Len())
	h.Each(func(name string, _ []byte) bool {
		out = append(out, reply.BulkString(name))
		return true
	})
	return reply.Array(out...), nil
}

// hvals implements
//
//	HVALS key
//
// It replies with the values in the hash's order.
func hvals(c *command.Ctx, args [][]byte) (reply.Value, error) {
	h, err := readHash(c, args[1])
	if err != nil || h == nil {
		return reply.Array(), err
	}
	out := make([]reply.Value, 0, h.Len())
	h.Each(func(_ string, v []byte) bool {
		out = append(out, reply.Bulk(v))
		return true
	})
	return reply.Array(out...), nil
}

// hgetall implements
//
//	HGETALL key
//
// It replies with a map of fields to values (a flat array in RESP2) in the
// hash's order; an empty map for a missing key.
func hgetall(c *command.Ctx, args [][]byte) (reply.Value, error) {
	h, err := readHash(c, args[1])
	if err != nil || h == nil {
		return reply.Map(), err
	}
	out := make([]reply.Value, 0, 2*h.Len())
	h.Each(func(name string, v []byte) bool {
		out = append(out, reply.BulkString(name), reply.Bulk(v))
		return true
	})
	return reply.Map(out...), nil
}
