package lists

import (
	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/reply"
)

// lpush implements
//
//	LPUSH key element [element ...]   RPUSH key element [element ...]
//	LPUSHX key element [element ...]  RPUSHX key element [element ...]
//
// It replies with the list's length after the pushes; the X forms push
// only onto an existing list and reply 0 otherwise.
func lpush(c *command.Ctx, args [][]byte) (reply.Value, error) { return pushCmd(c, args, true, false) }
func rpush(c *command.Ctx, args [][]byte) (reply.Value, error) { return pushCmd(c, args, false, false) }
func lpushx(c *command.Ctx, args [][]byte) (reply.Value, error) {
	return pushCmd(c, args, true, true)
}
func rpushx(c *command.Ctx, args [][]byte) (reply.Value, error) {
	return pushCmd(c, args, false, true)
}

func pushCmd(c *command.Ctx, args [][]byte, head, xx bool) (reply.Value, error) {
	it, _, err := lookupWrite(c, args[1])
	if err != nil {
		return reply.Value{}, err
	}
	if it == nil && xx {
		return reply.Int(0), nil
	}
	l := mutable(c, args[1], it)
	elems := args[2:]
	l.GrowCheck(argsBytes(elems), len(elems))
	for _, e := range elems {
		push(l, e, head)
	}
	c.Dirty += int64(len(elems))
	if head {
		c.Notify(command.ClassList, "lpush", args[1])
	} else {
		c.Notify(command.ClassList, "rpush", args[1])
	}
	return reply.Int(int64(l.Len())), nil
}

// linsert implements
//
//	LINSERT key BEFORE|AFTER pivot element
//
// It replies with the new length, -1 if pivot is not in the list, 0 if
// the key does not exist.
func linsert(c *command.Ctx, args [][]byte) (reply.Value, error) {
	var after bool
	switch {
	case command.EqualFold(args[2], "after"):
		after = true
	case command.EqualFold(args[2], "before"):
	default:
		return reply.Value{}, command.ErrSyntax
	}
	it, l, err := lookupWrite(c, args[1])
	if err != nil || it == nil {
		return reply.Int(0), err
	}
	// Redis converts a listpack that the element would overflow before
	// looking for the pivot, found or not.
	if !l.Quicklist() && l.NeedsGrow(len(args[4]), 1) {
		l = mutable(c, args[1], it)
		l.GrowCheck(len(args[4]), 1)
	}
	if !l.Contains(args[3]) {
		return reply.Int(-1), nil
	}
	l = mutable(c, args[1], it)
	l.Insert(args[3], args[4], after)
	c.Notify(command.ClassList, "linsert", args[1])
	c.Dirty++
	return reply.Int(int64(l.Len())), nil
}
