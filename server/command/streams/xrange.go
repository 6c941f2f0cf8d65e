package streams

import (
	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/reply"
)

// xrange implements
//
//	XRANGE key start end [COUNT count]
//	XREVRANGE key end start [COUNT count]
//
// Bounds are IDs ("ms" alone means ms-0 for a start, ms-max for an end),
// "-" and "+", or "(" followed by an ID for an exclusive bound. COUNT 0
// replies with a null array, as Redis.
func xrange(c *command.Ctx, args [][]byte) (reply.Value, error) {
	rev := command.EqualFold(args[0], "xrevrange")
	startArg, endArg := args[2], args[3]
	if rev {
		startArg, endArg = endArg, startArg
	}
	start, end, err := parseRange(startArg, endArg)
	if err != nil {
		return reply.Value{}, err
	}
	count := int64(-1)
	for j := 4; j < len(args); j++ {
		if isOpt(args[j], "count") && j+1 < len(args) {
			n, err := command.ParseInt(args[j+1])
			if err != nil {
				return reply.Value{}, err
			}
			count = max(n, 0)
			j++
		} else {
			return reply.Value{}, command.ErrSyntax
		}
	}
	s, err := readStream(c, args[1])
	if err != nil {
		return reply.Value{}, err
	}
	if s == nil {
		return reply.EmptyArray, nil
	}
	if count == 0 {
		return reply.NilArray, nil
	}
	return reply.Array(rangeReply(s, start, end, max(count, 0), rev)...), nil
}

// xlen implements XLEN key.
func xlen(c *command.Ctx, args [][]byte) (reply.Value, error) {
	s, err := readStream(c, args[1])
	if err != nil || s == nil {
		return reply.Int(0), err
	}
	return reply.Int(int64(s.Length())), nil
}

// xdel implements XDEL key id [id ...] and replies with the number of
// entries deleted. An emptied stream is kept, as in Redis.
func xdel(c *command.Ctx, args [][]byte) (reply.Value, error) {
	it, s, err := lookupWrite(c, args[1])
	if err != nil || s == nil {
		return reply.Int(0), err
	}
	ids := make([]streamID, len(args)-2)
	for j := range ids {
		if ids[j], err = parseStrictID(args[j+2]); err != nil {
			return reply.Value{}, err
		}
	}
	// Look before cloning: deleting nothing changes nothing.
	any := false
	for _, id := range ids {
		if s.Exists(id) {
			any = true
			break
		}
	}
	if !any {
		return reply.Int(0), nil
	}
	s = mutable(c, args[1], it)
	deleted := s.Delete(ids)
	if deleted > 0 {
		c.Notify(command.ClassStream, "xdel", args[1])
		c.Dirty += int64(deleted)
	}
	return reply.Int(int64(deleted)), nil
}
