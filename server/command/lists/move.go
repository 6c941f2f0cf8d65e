package lists

import (
	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/reply"
)

// lmove implements
//
//	LMOVE source destination LEFT|RIGHT LEFT|RIGHT
//
// It pops an element from one end of source, pushes it onto one end of
// destination and replies with it (nil if source does not exist).
func lmove(c *command.Ctx, args [][]byte) (reply.Value, error) {
	from, err := parseWhere(args[3])
	if err != nil {
		return reply.Value{}, err
	}
	to, err := parseWhere(args[4])
	if err != nil {
		return reply.Value{}, err
	}
	v, _, err := move(c, args[1], args[2], from, to)
	return v, err
}

// rpoplpush implements
//
//	RPOPLPUSH source destination
//
// LMOVE source destination RIGHT LEFT.
func rpoplpush(c *command.Ctx, args [][]byte) (reply.Value, error) {
	v, _, err := move(c, args[1], args[2], false, true)
	return v, err
}

// blmove implements
//
//	BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout
//
// LMOVE that blocks while source does not exist.
func blmove(c *command.Ctx, args [][]byte) (reply.Value, error) {
	from, err := parseWhere(args[3])
	if err != nil {
		return reply.Value{}, err
	}
	to, err := parseWhere(args[4])
	if err != nil {
		return reply.Value{}, err
	}
	if _, err := parseTimeout(args[5], c.Now); err != nil {
		return reply.Value{}, err
	}
	return bmove(c, args[1], args[2], from, to)
}

// brpoplpush implements
//
//	BRPOPLPUSH source destination timeout
//
// BLMOVE source destination RIGHT LEFT timeout.
func brpoplpush(c *command.Ctx, args [][]byte) (reply.Value, error) {
	if _, err := parseTimeout(args[3], c.Now); err != nil {
		return reply.Value{}, err
	}
	return bmove(c, args[1], args[2], false, true)
}

func bmove(c *command.Ctx, src, dst []byte, from, to bool) (reply.Value, error) {
	v, ok, err := move(c, src, dst, from, to)
	if err != nil || ok {
		return v, err
	}
	if c.NoBlock {
		return reply.Nil, nil
	}
	return command.Blocked, nil
}

// move is Redis's lmoveGenericCommand: ok is false when source does not
// exist. The destination's type is checked before anything changes; the
// events are the push on destination, then the pop on source.
func move(c *command.Ctx, src, dst []byte, from, to bool) (reply.Value, bool, error) {
	sit, sl, err := lookupWrite(c, src)
	if err != nil || sit == nil || sl.Len() == 0 {
		return reply.Nil, false, err
	}
	dit, _, err := lookupWrite(c, dst)
	if err != nil {
		return reply.Value{}, false, err
	}
	sl = mutable(c, src, sit)
	v := pop(sl, from)
	dl := sl // a rotation when source is destination
	if string(src) != string(dst) {
		dl = mutable(c, dst, dit)
	}
	dl.GrowCheck(len(v), 1)
	push(dl, v, to)
	if to {
		c.Notify(command.ClassList, "lpush", dst)
	} else {
		c.Notify(command.ClassList, "rpush", dst)
	}
	if from {
		c.Notify(command.ClassList, "lpop", src)
	} else {
		c.Notify(command.ClassList, "rpop", src)
	}
	deleteIfEmpty(c, src, sl)
	c.Dirty++
	return reply.Bulk(v), true, nil
}
