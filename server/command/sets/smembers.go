package sets

import (
	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/reply"
)

// smembers implements
//
//	SMEMBERS key
//
// It replies with every member (a RESP3 set): sorted for an intset, in the
// set's own order for a hashtable.
func smembers(c *command.Ctx, args [][]byte) (reply.Value, error) {
	s, err := readSet(c, args[1])
	if err != nil {
		return reply.Value{}, err
	}
	if s == nil {
		return reply.Set(), nil
	}
	return setReply(s), nil
}

// sismember implements
//
//	SISMEMBER key member
func sismember(c *command.Ctx, args [][]byte) (reply.Value, error) {
	s, err := readSet(c, args[1])
	if err != nil {
		return reply.Value{}, err
	}
	if s != nil && s.Has(args[2]) {
		return reply.Int(1), nil
	}
	return reply.Int(0), nil
}

// smismember implements
//
//	SMISMEMBER key member [member ...]
//
// It replies with 1 or 0 for each member.
func smismember(c *command.Ctx, args [][]byte) (reply.Value, error) {
	s, err := readSet(c, args[1])
	if err != nil {
		return reply.Value{}, err
	}
	out := make([]reply.Value, len(args)-2)
	for i, m := range args[2:] {
		out[i] = reply.Int(0)
		if s != nil && s.Has(m) {
			out[i] = reply.Int(1)
		}
	}
	return reply.Array(out...), nil
}

// scard implements
//
//	SCARD key
func scard(c *command.Ctx, args [][]byte) (reply.Value, error) {
	s, err := readSet(c, args[1])
	if err != nil || s == nil {
		return reply.Int(0), err
	}
	return reply.Int(int64(s.Len())), nil
}
