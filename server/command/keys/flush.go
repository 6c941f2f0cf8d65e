package keys

import (
	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/reply"
)

// dbsize is DBSIZE: the number of keys, including expired keys not yet
// removed, as Redis counts them.
func dbsize(c *command.Ctx, args [][]byte) (reply.Value, error) {
	return reply.Int(int64(c.DB.Len())), nil
}

// flushOptions accepts FLUSHDB/FLUSHALL's optional ASYNC or SYNC. Cairn
// always flushes at once (the old tree is left to the garbage collector),
// so the mode makes no difference.
func flushOptions(args [][]byte) error {
	switch {
	case len(args) == 1:
		return nil
	case len(args) == 2 && (isOpt(args[1], "sync") || isOpt(args[1], "async")):
		return nil
	}
	return command.ErrSyntax
}

// flushdb is FLUSHDB [ASYNC | SYNC]: it removes every key.
func flushdb(c *command.Ctx, args [][]byte) (reply.Value, error) {
	if err := flushOptions(args); err != nil {
		return reply.Value{}, err
	}
	c.Dirty += int64(c.DB.Len())
	c.DB.Flush()
	return reply.OK, nil
}

// flushall is FLUSHALL [ASYNC | SYNC]: FLUSHDB of the only database.
func flushall(c *command.Ctx, args [][]byte) (reply.Value, error) {
	if err := flushOptions(args); err != nil {
		return reply.Value{}, err
	}
	c.Dirty += int64(c.DB.Len()) + 1
	c.DB.Flush()
	return reply.OK, nil
}
