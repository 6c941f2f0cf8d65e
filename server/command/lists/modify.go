package lists

import (
	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/server/reply"
)

// lset implements
//
//	LSET key index element
//
// A missing key is "ERR no such key", an index outside the list
// "ERR index out of range".
func lset(c *command.Ctx, args [][]byte) (reply.Value, error) {
	it, l, err := lookupWrite(c, args[1])
	if err != nil {
		return reply.Value{}, err
	}
	if it == nil {
		return reply.Value{}, keyspace.ErrNoSuchKey
	}
	i, err := command.ParseInt(args[2])
	if err != nil {
		return reply.Value{}, err
	}
	n := int64(l.Len())
	inRange := i >= -n && i < n
	// Redis converts a listpack the element would overflow before it
	// checks the index.
	if !l.Quicklist() && l.NeedsGrow(len(args[3]), 1) {
		l = mutable(c, args[1], it)
		l.GrowCheck(len(args[3]), 1)
	}
	if !inRange {
		return reply.Value{}, errIndexRange
	}
	l = mutable(c, args[1], it)
	l.Set(int(i), args[3])
	c.Notify(command.ClassList, "lset", args[1])
	c.Dirty++
	l.ShrinkCheck()
	return reply.OK, nil
}

// lrem implements
//
//	LREM key count element
//
// It removes the first count occurrences of element (the last -count if
// negative, all if 0) and replies with the number removed.
func lrem(c *command.Ctx, args [][]byte) (reply.Value, error) {
	count, err := command.ParseInt(args[2])
	if err != nil {
		return reply.Value{}, err
	}
	it, l, err := lookupWrite(c, args[1])
	if err != nil || it == nil {
		return reply.Int(0), err
	}
	if !l.Contains(args[3]) {
		return reply.Int(0), nil
	}
	l = mutable(c, args[1], it)
	fromTail := count < 0
	if fromTail {
		count = -count // -MinInt64 stays negative: no limit, as in Redis
	}
	if count < 0 {
		count = 0
	}
	n := l.Remove(args[3], count, fromTail)
	c.Dirty += n
	c.Notify(command.ClassList, "lrem", args[1])
	deleteIfEmpty(c, args[1], l)
	return reply.Int(n), nil
}

// ltrim implements
//
//	LTRIM key start stop
//
// It keeps only the elements in the inclusive range; a list trimmed to
// nothing is deleted.
func ltrim(c *command.Ctx, args [][]byte) (reply.Value, error) {
	start, err := command.ParseInt(args[2])
	if err != nil {
		return reply.Value{}, err
	}
	end, err := command.ParseInt(args[3])
	if err != nil {
		return reply.Value{}, err
	}
	it, l, err := lookupWrite(c, args[1])
	if err != nil || it == nil {
		return reply.OK, err
	}
	n := int64(l.Len())
	from, cnt := span(start, end, n)
	left, right := from, n-from-cnt
	if cnt == 0 {
		left, right = n, 0
	}
	l = mutable(c, args[1], it)
	l.Trim(int(left), int(right))
	c.Notify(command.ClassList, "ltrim", args[1])
	deleteIfEmpty(c, args[1], l)
	c.Dirty += left + right
	return reply.OK, nil
}
