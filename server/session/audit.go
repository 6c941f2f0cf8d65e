package session

import (
	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/reply"
)

// Auditor records security-relevant and administrative commands after
// they ran: the audit log (server/audit, --audit-log). Config.Audit nil
// records nothing.
type Auditor interface {
	// Audited reports whether the command named name (its table name:
	// "flushall", "config|set") is recorded. It is asked for every
	// command, so it must be cheap.
	Audited(name string) bool
	// Record records one command that ran: who (user, client address),
	// its raw arguments (the auditor redacts them) and errText, the
	// error reply's text or "" on success.
	Record(user, addr, name string, args [][]byte, errText string)
}

// audit hands a command that ran and its reply to the auditor, if the
// command is audited. Every path that runs a command calls it: dispatch
// (connection commands, reads), flushBatch (writes) and EXEC (queued
// commands), so a command is audited by name wherever it ran.
func (s *Server) audit(c *client, spec *command.Spec, args [][]byte, v reply.Value) {
	a := s.cfg.Audit
	if a == nil || !a.Audited(spec.Name) {
		return
	}
	var errText string
	if v.Kind == reply.KindError {
		errText = string(v.Str)
	}
	a.Record(c.auditUser(), c.addr, spec.Name, args, errText)
}

// auditUser is the ACL user the client is authenticated as, for the
// audit log ("default" before any AUTH).
func (c *client) auditUser() string {
	c.mu.Lock()
	name := c.userName
	c.mu.Unlock()
	if name == "" {
		return "default"
	}
	return name
}
