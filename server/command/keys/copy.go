package keys

import (
	"bytes"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/server/reply"
)

// Errors of COPY, in Redis's words.
const (
	errDBRange    = command.Msg("ERR DB index is out of range")
	errSameObject = command.Msg("ERR source and destination objects are the same")
	errIntRange   = command.Msg("ERR value is out of range, value must between -2147483648 and 2147483647")
)

// copyCmd is COPY source destination [DB destination-db] [REPLACE]: it
// copies the value and expiry of source to destination and returns 1, or 0
// if source does not exist or destination does and REPLACE is not given.
// Cairn has only database 0.
func copyCmd(c *command.Ctx, args [][]byte) (reply.Value, error) {
	replace := false
	for j := 3; j < len(args); j++ {
		switch {
		case isOpt(args[j], "replace"):
			replace = true
		case isOpt(args[j], "db") && j+1 < len(args):
			db, err := command.ParseInt(args[j+1])
			if err != nil {
				return reply.Value{}, err
			}
			if db < -1<<31 || db > 1<<31-1 {
				return reply.Value{}, errIntRange
			}
			if db != 0 {
				return reply.Value{}, errDBRange
			}
			j++
		default:
			return reply.Value{}, command.ErrSyntax
		}
	}
	src, dst := args[1], args[2]
	if bytes.Equal(src, dst) {
		return reply.Value{}, errSameObject
	}
	it := c.DB.Lookup(src, c.Now)
	if it == nil {
		return reply.Int(0), nil
	}
	it.Touch(c.Now)
	if c.DB.Lookup(dst, c.Now) != nil && !replace {
		return reply.Int(0), nil
	}
	n := &keyspace.Item{Key: string(dst), ExpireAt: it.ExpireAt, Raw: it.Raw}
	if it.Obj != nil {
		n.Obj = it.Obj.Clone()
	} else {
		n.Str = append(make([]byte, 0, len(it.Str)), it.Str...)
	}
	c.DB.PutItem(n)
	n.Touch(c.Now)
	c.Dirty++
	c.Notify(command.ClassGeneric, "copy_to", dst)
	return reply.Int(1), nil
}
