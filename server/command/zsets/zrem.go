package zsets

import (
	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/server/reply"
)

// zrem implements
//
//	ZREM key member [member ...]
//
// It replies with the number of members removed; a set left empty is
// deleted.
func zrem(c *command.Ctx, args [][]byte) (reply.Value, error) {
	it, z, err := lookupWrite(c, args[1])
	if err != nil || it == nil {
		return reply.Int(0), err
	}
	found := false
	for _, m := range args[2:] {
		if _, ok := z.Score(m); ok {
			found = true
			break
		}
	}
	if !found {
		return reply.Int(0), nil
	}
	z = mutable(c, it)
	deleted := int64(0)
	for _, m := range args[2:] {
		if z.Delete(m) {
			deleted++
		}
		if z.Len() == 0 {
			break
		}
	}
	c.Notify(command.ClassZSet, "zrem", args[1])
	deleteIfEmpty(c, args[1], z)
	c.Dirty += deleted
	return reply.Int(deleted), nil
}

// zremrangebyrank implements
//
//	ZREMRANGEBYRANK key start stop
func zremrangebyrank(c *command.Ctx, args [][]byte) (reply.Value, error) {
	start, err := parseLong(args[2])
	if err != nil {
		return reply.Value{}, err
	}
	end, err := parseLong(args[3])
	if err != nil {
		return reply.Value{}, err
	}
	it, z, err := lookupWrite(c, args[1])
	if err != nil || it == nil {
		return reply.Int(0), err
	}
	n := int64(z.Len())
	if start < 0 {
		start += n
	}
	if end < 0 {
		end += n
	}
	start = max(start, 0)
	if start > end || start >= n {
		return reply.Int(0), nil
	}
	end = min(end, n-1)
	return removeRange(c, args[1], it, int(start), int(end), "zremrangebyrank"), nil
}

// zremrangebyscore implements
//
//	ZREMRANGEBYSCORE key min max
func zremrangebyscore(c *command.Ctx, args [][]byte) (reply.Value, error) {
	r, err := parseScoreRange(args[2], args[3])
	if err != nil {
		return reply.Value{}, err
	}
	it, z, err := lookupWrite(c, args[1])
	if err != nil || it == nil {
		return reply.Int(0), err
	}
	// Redis deletes from the first entry >= min (> min) while <= max
	// (< max), without the empty-range shortcut.
	start := z.First(func(e keyspace.ZEntry) bool { return r.gteMin(e.Score) })
	end := start - 1
	z.Ascend(start, func(e keyspace.ZEntry) bool {
		if !r.lteMax(e.Score) {
			return false
		}
		end++
		return true
	})
	if end < start {
		return reply.Int(0), nil
	}
	return removeRange(c, args[1], it, start, end, "zremrangebyscore"), nil
}

// zremrangebylex implements
//
//	ZREMRANGEBYLEX key min max
func zremrangebylex(c *command.Ctx, args [][]byte) (reply.Value, error) {
	r, err := parseLexRange(args[2], args[3])
	if err != nil {
		return reply.Value{}, err
	}
	it, z, err := lookupWrite(c, args[1])
	if err != nil || it == nil {
		return reply.Int(0), err
	}
	var start int
	if z.IsListpack() {
		// zzlDeleteRangeByLex: the first entry in the range, then on
		// while <= max.
		if start = r.first(z); start < 0 {
			return reply.Int(0), nil
		}
	} else {
		// zslDeleteRangeByLex: the skiplist descent to the first
		// entry >= min, then on while <= max.
		start = z.First(func(e keyspace.ZEntry) bool { return r.gteMin(e.Member) })
	}
	end := start - 1
	z.Ascend(start, func(e keyspace.ZEntry) bool {
		if !r.lteMax(e.Member) {
			return false
		}
		end++
		return true
	})
	if end < start {
		return reply.Int(0), nil
	}
	return removeRange(c, args[1], it, start, end, "zremrangebylex"), nil
}

// removeRange deletes the entries of rank start..end (a non-empty range)
// of the set at it and replies with their number.
func removeRange(c *command.Ctx, key []byte, it *keyspace.Item, start, end int, event string) reply.Value {
	z := mutable(c, it)
	n := z.DeleteRange(start, end)
	c.Notify(command.ClassZSet, event, key)
	deleteIfEmpty(c, key, z)
	c.Dirty += int64(n)
	return reply.Int(int64(n))
}
