package keys

import (
	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/server/reply"
)

// dbsize is DBSIZE: the number of keys, including expired keys not yet
// removed, as Redis counts them.
func dbsize(c *command.Ctx, args [][]byte) (reply.Value, error) {
	return reply.Int(int64(c.DB.Len())), nil
}

// flushOptions accepts FLUSHDB/FLUSHALL's optional ASYNC or SYNC. Either
// way the keyspace is emptied at once; ASYNC hands the old one to the
// background freer (keyspace.DB.FlushAsync), which counts its keys as
// lazily freed objects, as Redis does. Without a mode it is ASYNC when
// lazyfree-lazy-user-flush is yes (replicated configuration).
func flushOptions(db *keyspace.DB, args [][]byte) (async bool, err error) {
	switch {
	case len(args) == 1:
		return db.Cfg.LazyfreeLazyUserFlush != 0, nil
	case len(args) == 2 && isOpt(args[1], "sync"):
		return false, nil
	case len(args) == 2 && isOpt(args[1], "async"):
		return true, nil
	}
	return false, command.ErrSyntax
}

func flush(db *keyspace.DB, async bool) {
	if async {
		db.FlushAsync()
	} else {
		db.Flush()
	}
}

// flushdb is FLUSHDB [ASYNC | SYNC]: it removes every key.
func flushdb(c *command.Ctx, args [][]byte) (reply.Value, error) {
	async, err := flushOptions(c.DB, args)
	if err != nil {
		return reply.Value{}, err
	}
	c.Dirty += int64(c.DB.Len())
	flush(c.DB, async)
	return reply.OK, nil
}

// flushall is FLUSHALL [ASYNC | SYNC]: FLUSHDB of the only database.
func flushall(c *command.Ctx, args [][]byte) (reply.Value, error) {
	async, err := flushOptions(c.DB, args)
	if err != nil {
		return reply.Value{}, err
	}
	c.Dirty += int64(c.DB.Len()) + 1
	flush(c.DB, async)
	return reply.OK, nil
}
