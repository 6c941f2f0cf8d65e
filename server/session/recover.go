package session

import (
	"fmt"
	"runtime/debug"

	"github.com/cairndb/cairn/server/command"
)

// dispatchGuarded is dispatch with a recover: a panic while serving one
// command (a connection handler, a read, MULTI bookkeeping, reply
// encoding) is logged and answered with command.InternalError, and the
// node keeps serving. Reads and writes recover their own handlers' panics
// deeper down (package shard), so this catches bugs of the connection
// layer itself. When writes pipelined before the command are still
// pending, their replies can no longer be matched to them: the connection
// is closed after the error, as the client cannot tell which of its
// commands ran.
func (s *Server) dispatchGuarded(c *client, args [][]byte) {
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		name := "unknown"
		func() {
			defer func() { recover() }()
			name = s.table.SpecName(args)
		}()
		s.log.Error("panic while serving a command; answered with an error",
			"client", c.id, "addr", c.addr, "command", name, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
		s.stats.errors.Add(1)
		if len(c.batch) > 0 {
			c.resetBatch()
			c.closing = true
		}
		if c.tx.in {
			c.tx.abort = true
		}
		c.reply(command.InternalError(name))
	}()
	s.dispatch(c, args)
}
