package shard

import (
	"fmt"
	"runtime/debug"

	sm "github.com/lni/dragonboat/v4/statemachine"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/entry"
	"github.com/cairndb/cairn/server/reply"
)

// Panic containment. A handler that panics at apply time would otherwise
// take down every replica, and each again when it replays the log. Each
// command (and each Expire key, each slot operation, a transaction's
// prologue) runs under one deferred recover: a panic becomes an error reply
// for that command alone, the same on every replica and every replay — its
// text depends only on the command's name — and is logged with the shard,
// the log index, the panic value and the stack. Whatever the command
// changed before it panicked stays changed; since handlers are
// deterministic, every replica changed the same. The entries after it
// apply as usual.
//
// Reads get the same treatment on the serving node (readGuarded), so a
// read handler that panics answers its client an error, releases the read
// lock and leaves the node serving. The reply is command.InternalError.

// cmdName is the name a panicking command is reported under.
func (s *stateMachine) cmdName(cmd [][]byte) (name string) {
	defer func() {
		if recover() != nil {
			name = "unknown"
		}
	}()
	return s.table.SpecName(cmd)
}

// recovered logs a panic caught while applying the entry at s.index and
// counts it.
func (s *stateMachine) recovered(r any, kind entry.Kind, what string) {
	s.panics.Add(1)
	s.opts.Logger.Error("panic while applying a log entry; answered with an error",
		"shard", s.opts.ShardID, "replica", s.opts.ReplicaID, "index", s.index,
		"kind", int(kind), "command", what, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
}

// applyCmd applies one command of a Commands (multi false) or transaction
// entry and appends its encoded reply to out. A panic anywhere in it — the
// slot check, the handler, the reply encoding — is answered with
// InternalError in place of the partial reply.
func (s *stateMachine) applyCmd(c *command.Ctx, cmd [][]byte, out []byte, multi bool) (res []byte) {
	n := len(out)
	defer func() {
		if r := recover(); r != nil {
			name := s.cmdName(cmd)
			kind := entry.Commands
			if multi {
				kind = entry.Multi
			}
			s.recovered(r, kind, name)
			c.Events = c.Events[:0]
			res = reply.Append(out[:n], command.InternalError(name))
		}
	}()
	if multi {
		out = reply.Append(out, s.table.ApplyInMulti(c, cmd))
	} else {
		if s.slots != nil && len(cmd) > 0 {
			if v, bad := s.slots.check(s.table.Lookup(cmd[0]), cmd); bad {
				return reply.Append(out, v)
			}
		}
		if s.denyOOM(cmd) {
			return reply.Append(out, errOOM)
		}
		out = reply.Append(out, s.table.Apply(c, cmd))
	}
	// The reply is sent only after the indexes reflect the command.
	s.reindex(c.Now)
	s.takeEvents(c)
	return out
}

// applyMultiGuarded applies a transaction entry. Its commands are guarded
// one by one (applyCmd); a panic in its checks before any command runs
// (watched keys, slots) answers the whole EXEC with InternalError.
func (s *stateMachine) applyMultiGuarded(c *command.Ctx, e *entry.Entry) (res sm.Result) {
	defer func() {
		if r := recover(); r != nil {
			s.recovered(r, e.Kind, "exec")
			res = sm.Result{Value: 1, Data: reply.Append(nil, command.InternalError("exec"))}
		}
	}()
	return s.applyMulti(c, e)
}

// expireKey deletes key if it is still expired at now (an Expire entry's
// work for one key); a panic is logged and the key is left alone.
func (s *stateMachine) expireKey(key []byte, now int64) (deleted bool) {
	defer func() {
		if r := recover(); r != nil {
			s.recovered(r, entry.Expire, "expire")
			deleted = false
		}
	}()
	return s.db.DeleteIfExpired(key, now)
}

// slotOp runs one slot operation under recover.
func (s *stateMachine) slotOp(cmd [][]byte) (v reply.Value) {
	defer func() {
		if r := recover(); r != nil {
			s.recovered(r, entry.SlotOp, "slotop")
			v = command.InternalError("slotop")
		}
	}()
	return s.applySlotOp(cmd)
}

// readGuarded runs a read-only command under the caller's read lock (slot
// check, then the handler). A panic is logged and answered with
// InternalError; the caller still releases the lock.
func (s *stateMachine) readGuarded(c *command.Ctx, spec *command.Spec, args [][]byte) (v reply.Value) {
	defer func() {
		if r := recover(); r != nil {
			s.panics.Add(1)
			s.opts.Logger.Error("panic while running a read; answered with an error",
				"shard", s.opts.ShardID, "command", spec.Name, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			v = command.InternalError(spec.Name)
		}
	}()
	if st := s.slots; st != nil {
		if v, bad := st.check(spec, args); bad {
			return v
		}
	}
	return command.Exec(spec, c, args)
}

// notifyChange hands the batch's change to onChange. It runs on the apply
// goroutine after the lock is released: a panic in the node's WATCH,
// blocking or notification bookkeeping is logged instead of crashing the
// replica (the applied state is not affected).
func (s *stateMachine) notifyChange() {
	defer func() {
		if r := recover(); r != nil {
			s.panics.Add(1)
			s.opts.Logger.Error("panic in the change callback after apply",
				"shard", s.opts.ShardID, "index", s.index, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
		}
	}()
	s.onChange(s.change)
}
