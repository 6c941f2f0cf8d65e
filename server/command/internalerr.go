package command

import (
	"strings"

	"github.com/cairndb/cairn/server/reply"
)

const (
	internalErrPrefix = "ERR internal error executing '"
	internalErrSuffix = "', see the server log"
)

// InternalError is the reply to a command whose execution panicked (a bug):
// the panic is recovered and logged, and the client gets this error. It
// names the command (its spec name, never client bytes) and nothing else —
// no address, no stack — so a write's reply is the same on every replica
// and every replay of the log.
func InternalError(name string) reply.Value {
	return reply.Error(internalErrPrefix + name + internalErrSuffix)
}

// IsInternalError tells whether v is an InternalError reply.
func IsInternalError(v reply.Value) bool {
	if v.Kind != reply.KindError {
		return false
	}
	s := string(v.Str)
	return len(s) >= len(internalErrPrefix)+len(internalErrSuffix) &&
		strings.HasPrefix(s, internalErrPrefix) && strings.HasSuffix(s, internalErrSuffix)
}

// SpecName returns the name args are reported under when they fail in an
// unexpected way: the spec's name ("object|encoding" for a subcommand), or
// "unknown" when no spec matches, so that no client bytes are echoed.
func (t *Table) SpecName(args [][]byte) string {
	if len(args) == 0 {
		return "unknown"
	}
	sp := t.Lookup(args[0])
	if sp == nil {
		return "unknown"
	}
	if len(args) > 1 {
		for _, sub := range sp.Sub {
			if EqualFold(args[1], sub.Name[len(sp.Name)+1:]) {
				return sub.Name
			}
		}
	}
	return sp.Name
}
