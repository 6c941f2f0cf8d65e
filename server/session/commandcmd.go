package session

import (
	"strings"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/command/glob"
	"github.com/cairndb/cairn/server/reply"
)

// commandInfo renders one spec as COMMAND INFO does (Redis 7 layout).
func specInfo(sp *command.Spec) reply.Value {
	flags := sp.Flags.Names()
	if sp.KeysFunc != nil {
		flags = append(flags, "movablekeys")
	}
	fv := make([]reply.Value, len(flags))
	for i, f := range flags {
		fv[i] = reply.Status(f)
	}
	acl := make([]reply.Value, len(sp.ACL))
	for i, a := range sp.ACL {
		acl[i] = reply.Status("@" + a)
	}
	var keySpecs []reply.Value
	if sp.FirstKey > 0 {
		last := sp.LastKey
		if last >= 0 {
			last -= sp.FirstKey
		}
		keySpecs = append(keySpecs, reply.Map(
			reply.BulkString("flags"), reply.Set(),
			reply.BulkString("begin_search"), reply.Map(
				reply.BulkString("type"), reply.BulkString("index"),
				reply.BulkString("spec"), reply.Map(reply.BulkString("index"), reply.Int(int64(sp.FirstKey)))),
			reply.BulkString("find_keys"), reply.Map(
				reply.BulkString("type"), reply.BulkString("range"),
				reply.BulkString("spec"), reply.Map(
					reply.BulkString("lastkey"), reply.Int(int64(last)),
					reply.BulkString("keystep"), reply.Int(int64(max(sp.Step, 1))),
					reply.BulkString("limit"), reply.Int(0))),
		))
	}
	subs := make([]reply.Value, len(sp.Sub))
	for i, s := range sp.Sub {
		subs[i] = specInfo(s)
	}
	return reply.Array(
		reply.BulkString(sp.Name), reply.Int(int64(sp.Arity)), reply.Set(fv...),
		reply.Int(int64(sp.FirstKey)), reply.Int(int64(sp.LastKey)), reply.Int(int64(sp.Step)),
		reply.Set(acl...), reply.Set(), reply.Array(keySpecs...), reply.Array(subs...),
	)
}

func commandAll(s *Server, _ *client, _ [][]byte) reply.Value {
	all := s.table.All()
	out := make([]reply.Value, len(all))
	for i, sp := range all {
		out[i] = specInfo(sp)
	}
	return reply.Array(out...)
}

func commandCount(s *Server, _ *client, _ [][]byte) reply.Value {
	return reply.Int(int64(s.table.Len()))
}

// lookupFull finds "name" or "parent|sub".
func (s *Server) lookupFull(name []byte) *command.Spec {
	parent, subName, hasSub := strings.Cut(strings.ToLower(string(name)), "|")
	sp := s.table.Lookup([]byte(parent))
	if sp == nil || !hasSub {
		return sp
	}
	for _, sub := range sp.Sub {
		if sub.Name == parent+"|"+subName {
			return sub
		}
	}
	return nil
}

func commandInfo(s *Server, c *client, args [][]byte) reply.Value {
	if len(args) == 2 {
		return commandAll(s, c, args)
	}
	out := make([]reply.Value, 0, len(args)-2)
	for _, name := range args[2:] {
		if sp := s.lookupFull(name); sp != nil {
			out = append(out, specInfo(sp))
		} else {
			out = append(out, reply.NilArray)
		}
	}
	return reply.Array(out...)
}

func specDocs(sp *command.Spec) reply.Value {
	kv := []reply.Value{
		reply.BulkString("summary"), reply.BulkString(sp.Summary),
		reply.BulkString("since"), reply.BulkString(sp.Since),
		reply.BulkString("group"), reply.BulkString(sp.Group),
	}
	if sp.Complexity != "" {
		kv = append(kv, reply.BulkString("complexity"), reply.BulkString(sp.Complexity))
	}
	if len(sp.Sub) > 0 {
		subs := make([]reply.Value, 0, 2*len(sp.Sub))
		for _, sub := range sp.Sub {
			subs = append(subs, reply.BulkString(sub.Name), specDocs(sub))
		}
		kv = append(kv, reply.BulkString("subcommands"), reply.Map(subs...))
	}
	return reply.Map(kv...)
}

func commandDocs(s *Server, _ *client, args [][]byte) reply.Value {
	var specs []*command.Spec
	if len(args) == 2 {
		specs = s.table.All()
	} else {
		for _, name := range args[2:] {
			if sp := s.lookupFull(name); sp != nil {
				specs = append(specs, sp)
			}
		}
	}
	kv := make([]reply.Value, 0, 2*len(specs))
	for _, sp := range specs {
		kv = append(kv, reply.BulkString(sp.Name), specDocs(sp))
	}
	return reply.Map(kv...)
}

func commandList(s *Server, _ *client, args [][]byte) reply.Value {
	filter := func(*command.Spec) bool { return true }
	if len(args) > 2 {
		if len(args) != 5 || !command.EqualFold(args[2], "filterby") {
			return reply.Error("ERR syntax error")
		}
		val := args[4]
		switch {
		case command.EqualFold(args[3], "module"):
			filter = func(*command.Spec) bool { return false }
		case command.EqualFold(args[3], "aclcat"):
			cat := strings.ToLower(string(val))
			filter = func(sp *command.Spec) bool {
				for _, a := range sp.ACL {
					if a == cat {
						return true
					}
				}
				return false
			}
		case command.EqualFold(args[3], "pattern"):
			filter = func(sp *command.Spec) bool { return glob.Match(val, []byte(sp.Name), true) }
		default:
			return reply.Error("ERR syntax error")
		}
	}
	var out []reply.Value
	for _, sp := range s.table.All() {
		if filter(sp) {
			out = append(out, reply.BulkString(sp.Name))
		}
		for _, sub := range sp.Sub {
			if filter(sub) {
				out = append(out, reply.BulkString(sub.Name))
			}
		}
	}
	return reply.Array(out...)
}

func (s *Server) getKeys(args [][]byte) ([]int, *command.Spec, reply.Value) {
	target := args[2:]
	sp, err := s.table.Resolve(target)
	if err != nil {
		if s.table.Lookup(target[0]) == nil {
			return nil, nil, reply.Error("ERR Invalid command specified")
		}
		return nil, nil, reply.Error("ERR Invalid number of arguments specified for command")
	}
	if (sp.FirstKey <= 0 && sp.KeysFunc == nil) || sp.Flags&command.PubSub != 0 {
		// Shard channels route like keys but are not keys (Redis's
		// NOT_KEY key specs).
		return nil, nil, reply.Error("ERR The command has no key arguments")
	}
	idx := sp.Keys(target)
	if len(idx) == 0 {
		// A command with keys given none (a bad numkeys, no STREAMS).
		return nil, nil, reply.Error("ERR Invalid arguments specified for command")
	}
	return idx, sp, reply.Value{}
}

func commandGetKeys(s *Server, _ *client, args [][]byte) reply.Value {
	idx, _, errv := s.getKeys(args)
	if idx == nil {
		return errv
	}
	out := make([]reply.Value, len(idx))
	for i, k := range idx {
		out[i] = reply.Bulk(args[2+k])
	}
	return reply.Array(out...)
}

func commandGetKeysAndFlags(s *Server, _ *client, args [][]byte) reply.Value {
	idx, sp, errv := s.getKeys(args)
	if idx == nil {
		return errv
	}
	out := make([]reply.Value, len(idx))
	for i, k := range idx {
		out[i] = reply.Array(reply.Bulk(args[2+k]), flagSet(keyFlagsOf(sp, args[2:], i)))
	}
	return reply.Array(out...)
}

func commandHelp(_ *Server, _ *client, _ [][]byte) reply.Value {
	return helpReply(
		"COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
		"(no subcommand)", "    Return details about all Redis commands.",
		"COUNT", "    Return the total number of commands in this Redis server.",
		"LIST", "    Return a list of all commands in this Redis server.",
		"INFO [<command-name> ...]", "    Return details about multiple Redis commands.",
		"DOCS [<command-name> ...]", "    Return documentation details about multiple Redis commands.",
		"GETKEYS <full-command>", "    Return the keys from a full Redis command.",
		"GETKEYSANDFLAGS <full-command>", "    Return the keys and the access flags from a full Redis command.",
		"HELP", "    Print this help.",
	)
}
