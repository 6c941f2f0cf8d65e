package streams

import (
	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/server/reply"
)

const (
	errXGroupNoKey = command.Msg("ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.")
	errEntriesRead = command.Msg("ERR value for ENTRIESREAD must be positive or -1")
	errBusyGroup   = command.Msg("BUSYGROUP Consumer Group name already exists")
)

var xgroupHelpLines = []string{
	"CREATE <key> <groupname> <id|$> [option]",
	"    Create a new consumer group. Options are:",
	"    * MKSTREAM",
	"      Create the empty stream if it does not exist.",
	"    * ENTRIESREAD entries_read",
	"      Set the group's entries_read counter (internal use).",
	"CREATECONSUMER <key> <groupname> <consumer>",
	"    Create a new consumer in the specified group.",
	"DELCONSUMER <key> <groupname> <consumer>",
	"    Remove the specified consumer.",
	"DESTROY <key> <groupname>",
	"    Remove the specified group.",
	"SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
	"    Set the current group ID and entries_read counter.",
}

func xgroupHelp(c *command.Ctx, args [][]byte) (reply.Value, error) {
	return helpReply("XGROUP", xgroupHelpLines), nil
}

func noGroupForKey(group, key []byte) error {
	return command.Msg("NOGROUP No such consumer group '" + string(cString(group)) + "' for key name '" + string(cString(key)) + "'")
}

// xgroup implements the XGROUP subcommands that take a key:
//
//	XGROUP CREATE key group id|$ [MKSTREAM] [ENTRIESREAD n]
//	XGROUP SETID key group id|$ [ENTRIESREAD n]
//	XGROUP DESTROY key group
//	XGROUP CREATECONSUMER key group consumer
//	XGROUP DELCONSUMER key group consumer
//
// in xgroupCommand's order of checks: options, key type, key existence,
// group existence, then the subcommand's own argument count.
func xgroup(c *command.Ctx, args [][]byte) (reply.Value, error) {
	sub := args[1]
	create := command.EqualFold(sub, "create")
	setid := command.EqualFold(sub, "setid")
	mkstream := false
	entriesRead := int64(keyspace.InvalidEntriesRead)
	for i := 5; i < len(args); {
		switch {
		case create && isOpt(args[i], "mkstream"):
			mkstream = true
			i++
		case (create || setid) && isOpt(args[i], "entriesread") && i+1 < len(args):
			n, err := command.ParseInt(args[i+1])
			if err != nil {
				return reply.Value{}, err
			}
			if n < 0 && n != keyspace.InvalidEntriesRead {
				return reply.Value{}, errEntriesRead
			}
			entriesRead = n
			i += 2
		default:
			return reply.Value{}, subcommandSyntaxError("XGROUP", sub)
		}
	}
	key, name := args[2], args[3]
	it, s, err := lookupWrite(c, key)
	if err != nil {
		return reply.Value{}, err
	}
	var g *keyspace.StreamGroup
	if !mkstream {
		if s == nil {
			return reply.Value{}, errXGroupNoKey
		}
		if g = s.Group(name); g == nil && !create && !command.EqualFold(sub, "destroy") {
			return reply.Value{}, noGroupForKey(name, key)
		}
	}
	switch {
	case create && len(args) <= 8:
		var id streamID
		if isChar(args[4], '$') {
			if s != nil {
				id = s.LastID
			}
		} else if id, err = parseStrictID(args[4]); err != nil {
			return reply.Value{}, err
		}
		if s != nil && s.Group(name) != nil {
			return reply.Value{}, errBusyGroup
		}
		s = mutable(c, key, it)
		s.CreateGroup(name, id, entriesRead)
		c.Dirty++
		c.Notify(command.ClassStream, "xgroup-create", key)
		return reply.OK, nil
	case setid && (len(args) == 5 || len(args) == 7):
		var id streamID
		if isChar(args[4], '$') {
			id = s.LastID
		} else if id, err = parseID(args[4], 0, false, nil); err != nil {
			return reply.Value{}, err
		}
		g = mutable(c, key, it).Group(name)
		g.LastID = id
		g.EntriesRead = entriesRead
		c.Dirty++
		c.Notify(command.ClassStream, "xgroup-setid", key)
		return reply.OK, nil
	case command.EqualFold(sub, "destroy") && len(args) == 4:
		if g == nil {
			return reply.Int(0), nil
		}
		mutable(c, key, it).DestroyGroup(name)
		c.Dirty++
		c.Notify(command.ClassStream, "xgroup-destroy", key)
		return reply.Int(1), nil
	case command.EqualFold(sub, "createconsumer") && len(args) == 5:
		if g.Consumer(args[4]) != nil {
			return reply.Int(0), nil
		}
		mutable(c, key, it).Group(name).CreateConsumer(args[4], c.Now)
		c.Dirty++
		c.Notify(command.ClassStream, "xgroup-createconsumer", key)
		return reply.Int(1), nil
	case command.EqualFold(sub, "delconsumer") && len(args) == 5:
		if g.Consumer(args[4]) == nil {
			return reply.Int(0), nil
		}
		pending, _ := mutable(c, key, it).Group(name).DeleteConsumer(args[4])
		c.Dirty++
		c.Notify(command.ClassStream, "xgroup-delconsumer", key)
		return reply.Int(int64(pending)), nil
	}
	return reply.Value{}, subcommandSyntaxError("XGROUP", sub)
}
