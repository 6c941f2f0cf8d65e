package command

import (
	"sort"
	"strings"

	"github.com/cairndb/cairn/server/reply"
)

// Table is the registry of every command the server knows, built once at
// start-up from the families' spec tables.
type Table struct {
	byName map[string]*Spec
	sorted []*Spec
}

// NewTable builds a table from spec lists. A duplicate name panics: it is a
// programming error.
func NewTable(families ...[]*Spec) *Table {
	t := &Table{byName: map[string]*Spec{}}
	for _, f := range families {
		for _, s := range f {
			if _, dup := t.byName[s.Name]; dup {
				panic("command: duplicate spec " + s.Name)
			}
			t.byName[s.Name] = s
			t.sorted = append(t.sorted, s)
		}
	}
	sort.Slice(t.sorted, func(i, j int) bool { return t.sorted[i].Name < t.sorted[j].Name })
	return t
}

// Lookup finds the spec for a command name in any letter case.
func (t *Table) Lookup(name []byte) *Spec {
	var buf [32]byte
	if len(name) > len(buf) {
		return t.byName[strings.ToLower(string(name))]
	}
	for i, c := range name {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	return t.byName[string(buf[:len(name)])]
}

// All returns every spec in name order.
func (t *Table) All() []*Spec { return t.sorted }

// Len returns the number of top-level commands.
func (t *Table) Len() int { return len(t.sorted) }

// CheckArity tells whether args fit the spec's arity.
func CheckArity(s *Spec, n int) bool {
	if s.Arity >= 0 {
		return n == s.Arity
	}
	return n >= -s.Arity
}

// Resolve finds the spec that handles args, descending into subcommands,
// and checks its arity. It returns an error reply for unknown commands and
// subcommands and for wrong arity, exactly as Redis words them.
func (t *Table) Resolve(args [][]byte) (*Spec, error) {
	s := t.Lookup(args[0])
	if s == nil {
		return nil, UnknownCommand(args)
	}
	if len(s.Sub) > 0 && s.Run == nil {
		if len(args) < 2 {
			if CheckArity(s, len(args)) && s.Flags&Conn != 0 {
				return s, nil // e.g. bare COMMAND
			}
			return nil, ArityError(s.Name)
		}
		for _, sub := range s.Sub {
			if EqualFold(args[1], sub.Name[len(s.Name)+1:]) {
				if !CheckArity(sub, len(args)) {
					return nil, Msg("ERR wrong number of arguments for '" + sub.Name + "' command")
				}
				return sub, nil
			}
		}
		return nil, UnknownSubcommand(args[0], args[1])
	}
	if !CheckArity(s, len(args)) {
		return nil, ArityError(s.Name)
	}
	return s, nil
}

// Exec runs a resolved command and turns an error into its reply.
func Exec(s *Spec, c *Ctx, args [][]byte) reply.Value {
	v, err := s.Run(c, args)
	if err != nil {
		return ErrorReply(err)
	}
	return v
}

// Apply resolves and runs one write command at apply time. Commands were
// checked before they were proposed, but the log may be replayed by a newer
// binary, so an unknown command is answered, not trusted.
func (t *Table) Apply(c *Ctx, args [][]byte) reply.Value {
	if len(args) == 0 {
		return reply.Error("ERR empty command")
	}
	s, err := t.Resolve(args)
	if err != nil {
		return ErrorReply(err)
	}
	if s.Run == nil || s.Flags&Write == 0 {
		return reply.Error("ERR command '" + s.Name + "' cannot be applied")
	}
	c.DB.SetClock(c.Now)
	return Exec(s, c, args)
}

// ApplyInMulti is Apply for a command queued in a transaction: read-only
// commands run too, at the transaction's point in the log.
func (t *Table) ApplyInMulti(c *Ctx, args [][]byte) reply.Value {
	if len(args) == 0 {
		return reply.Error("ERR empty command")
	}
	s, err := t.Resolve(args)
	if err != nil {
		return ErrorReply(err)
	}
	if s.Run == nil || s.Flags&Conn != 0 {
		return reply.Error("ERR command '" + s.Name + "' cannot be applied")
	}
	c.DB.SetClock(c.Now)
	return Exec(s, c, args)
}
