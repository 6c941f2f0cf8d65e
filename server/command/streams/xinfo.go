package streams

import (
	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/server/reply"
)

var xinfoHelpLines = []string{
	"CONSUMERS <key> <groupname>",
	"    Show consumers of <groupname>.",
	"GROUPS <key>",
	"    Show the stream consumer groups.",
	"STREAM <key> [FULL [COUNT <count>]",
	"    Show information about the stream.",
}

func xinfoHelp(c *command.Ctx, args [][]byte) (reply.Value, error) {
	return helpReply("XINFO", xinfoHelpLines), nil
}

// xinfoKey looks the key up as xinfoCommand: "ERR no such key" if it does
// not exist.
func xinfoKey(c *command.Ctx, key []byte) (*keyspace.Stream, error) {
	s, err := readStream(c, key)
	if err == nil && s == nil {
		err = keyspace.ErrNoSuchKey
	}
	return s, err
}

func lagValue(s *keyspace.Stream, g *keyspace.StreamGroup) reply.Value {
	if lag, ok := s.Lag(g); ok {
		return reply.Int(lag)
	}
	return reply.Nil
}

func entriesReadValue(g *keyspace.StreamGroup) reply.Value {
	if g.EntriesRead == keyspace.InvalidEntriesRead {
		return reply.Nil
	}
	return reply.Int(g.EntriesRead)
}

// xinfoConsumers implements XINFO CONSUMERS key group: name, pending and
// idle of each consumer (Redis 7.0's fields; 7.2 adds "inactive").
func xinfoConsumers(c *command.Ctx, args [][]byte) (reply.Value, error) {
	s, err := xinfoKey(c, args[2])
	if err != nil {
		return reply.Value{}, err
	}
	g := s.Group(args[3])
	if g == nil {
		return reply.Value{}, noGroupForKey(args[3], args[2])
	}
	out := make([]reply.Value, 0, len(g.Consumers()))
	for _, sc := range g.Consumers() {
		out = append(out, reply.Map(
			reply.BulkString("name"), reply.BulkString(sc.Name),
			reply.BulkString("pending"), reply.Int(int64(sc.PendingLen())),
			reply.BulkString("idle"), reply.Int(max(c.Now-sc.SeenTime, 0)),
		))
	}
	return reply.Array(out...), nil
}

// xinfoGroups implements XINFO GROUPS key.
func xinfoGroups(c *command.Ctx, args [][]byte) (reply.Value, error) {
	s, err := xinfoKey(c, args[2])
	if err != nil {
		return reply.Value{}, err
	}
	out := make([]reply.Value, 0, len(s.Groups()))
	for _, g := range s.Groups() {
		out = append(out, reply.Map(
			reply.BulkString("name"), reply.BulkString(g.Name),
			reply.BulkString("consumers"), reply.Int(int64(len(g.Consumers()))),
			reply.BulkString("pending"), reply.Int(int64(g.PendingLen())),
			reply.BulkString("last-delivered-id"), idBulk(g.LastID),
			reply.BulkString("entries-read"), entriesReadValue(g),
			reply.BulkString("lag"), lagValue(s, g),
		))
	}
	return reply.Array(out...), nil
}

// xinfoStream implements XINFO STREAM key [FULL [COUNT count]], with
// Redis 7.0's fields (7.2 adds consumers' active-time in FULL).
func xinfoStream(c *command.Ctx, args [][]byte) (reply.Value, error) {
	s, err := xinfoKey(c, args[2])
	if err != nil {
		return reply.Value{}, err
	}
	full := false
	count := int64(10)
	if opts := args[3:]; len(opts) > 0 {
		if len(opts) != 1 && len(opts) != 3 {
			return reply.Value{}, subcommandSyntaxError("XINFO", args[1])
		}
		if !isOpt(opts[0], "full") {
			return reply.Value{}, subcommandSyntaxError("XINFO", args[1])
		}
		if len(opts) == 3 {
			if !isOpt(opts[1], "count") {
				return reply.Value{}, subcommandSyntaxError("XINFO", args[1])
			}
			n, err := command.ParseInt(opts[2])
			if err != nil {
				return reply.Value{}, err
			}
			if n < 0 {
				n = 10
			}
			count = n
		}
		full = true
	}
	kv := []reply.Value{
		reply.BulkString("length"), reply.Int(int64(s.Length())),
		reply.BulkString("radix-tree-keys"), reply.Int(int64(s.NodeCount())),
		reply.BulkString("radix-tree-nodes"), reply.Int(int64(s.RaxNodes())),
		reply.BulkString("last-generated-id"), idBulk(s.LastID),
		reply.BulkString("max-deleted-entry-id"), idBulk(s.MaxDeletedID),
		reply.BulkString("entries-added"), reply.Int(int64(s.EntriesAdded)),
		reply.BulkString("recorded-first-entry-id"), idBulk(s.FirstID),
	}
	if !full {
		first, last := reply.Nil, reply.Nil
		if e := rangeReply(s, streamID{}, keyspace.MaxStreamID, 1, false); len(e) > 0 {
			first = e[0]
		}
		if e := rangeReply(s, streamID{}, keyspace.MaxStreamID, 1, true); len(e) > 0 {
			last = e[0]
		}
		kv = append(kv,
			reply.BulkString("groups"), reply.Int(int64(len(s.Groups()))),
			reply.BulkString("first-entry"), first,
			reply.BulkString("last-entry"), last)
		return reply.Map(kv...), nil
	}
	kv = append(kv, reply.BulkString("entries"), reply.Array(rangeReply(s, streamID{}, keyspace.MaxStreamID, count, false)...))
	groups := make([]reply.Value, 0, len(s.Groups()))
	for _, g := range s.Groups() {
		var pel []reply.Value
		g.AscendPending(streamID{}, func(pe keyspace.PendingEntry) bool {
			if count != 0 && int64(len(pel)) >= count {
				return false
			}
			pel = append(pel, reply.Array(idBulk(pe.ID), reply.BulkString(pe.Consumer),
				reply.Int(pe.DeliveryTime), reply.Int(int64(pe.DeliveryCount))))
			return true
		})
		cons := make([]reply.Value, 0, len(g.Consumers()))
		for _, sc := range g.Consumers() {
			var cpel []reply.Value
			sc.AscendPending(streamID{}, func(id streamID) bool {
				if count != 0 && int64(len(cpel)) >= count {
					return false
				}
				pe, _ := g.Pending(id)
				cpel = append(cpel, reply.Array(idBulk(id), reply.Int(pe.DeliveryTime), reply.Int(int64(pe.DeliveryCount))))
				return true
			})
			cons = append(cons, reply.Map(
				reply.BulkString("name"), reply.BulkString(sc.Name),
				reply.BulkString("seen-time"), reply.Int(sc.SeenTime),
				reply.BulkString("pel-count"), reply.Int(int64(sc.PendingLen())),
				reply.BulkString("pending"), reply.Array(cpel...),
			))
		}
		groups = append(groups, reply.Map(
			reply.BulkString("name"), reply.BulkString(g.Name),
			reply.BulkString("last-delivered-id"), idBulk(g.LastID),
			reply.BulkString("entries-read"), entriesReadValue(g),
			reply.BulkString("lag"), lagValue(s, g),
			reply.BulkString("pel-count"), reply.Int(int64(g.PendingLen())),
			reply.BulkString("pending"), reply.Array(pel...),
			reply.BulkString("consumers"), reply.Array(cons...),
		))
	}
	kv = append(kv, reply.BulkString("groups"), reply.Array(groups...))
	return reply.Map(kv...), nil
}

const (
	errSetIDSmallerDel   = command.Msg("ERR The ID specified in XSETID is smaller than current max_deleted_entry_id")
	errSetIDSmallerTop   = command.Msg("ERR The ID specified in XSETID is smaller than the target stream top item")
	errSetIDAddedSmaller = command.Msg("ERR The entries_added specified in XSETID is smaller than the target stream length")
	errSetIDMaxDel       = command.Msg("ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id")
	errEntriesAddedNeg   = command.Msg("ERR entries_added must be positive")
)

// xsetid implements
//
//	XSETID key last-id [ENTRIESADDED entries-added] [MAXDELETEDID max-deleted-id]
func xsetid(c *command.Ctx, args [][]byte) (reply.Value, error) {
	id, err := parseStrictID(args[2])
	if err != nil {
		return reply.Value{}, err
	}
	var maxDel streamID
	entriesAdded := int64(-1)
	for i := 3; i < len(args); i += 2 {
		more := len(args) - 1 - i
		switch {
		case isOpt(args[i], "entriesadded") && more > 0:
			n, err := command.ParseInt(args[i+1])
			if err != nil {
				return reply.Value{}, err
			}
			if n < 0 {
				return reply.Value{}, errEntriesAddedNeg
			}
			entriesAdded = n
		case isOpt(args[i], "maxdeletedid") && more > 0:
			if maxDel, err = parseStrictID(args[i+1]); err != nil {
				return reply.Value{}, err
			}
			if id.Less(maxDel) {
				return reply.Value{}, errSetIDMaxDel
			}
		default:
			return reply.Value{}, command.ErrSyntax
		}
	}
	it, s, err := lookupWrite(c, args[1])
	if err != nil {
		return reply.Value{}, err
	}
	if s == nil {
		return reply.Value{}, keyspace.ErrNoSuchKey
	}
	if s.Length() > 0 {
		top, _ := s.LastEntryID()
		if id.Less(top) {
			return reply.Value{}, errSetIDSmallerTop
		}
		if entriesAdded != -1 && s.Length() > uint64(entriesAdded) {
			return reply.Value{}, errSetIDAddedSmaller
		}
	}
	if id.Less(s.MaxDeletedID) {
		return reply.Value{}, errSetIDSmallerDel
	}
	s = c.DB.Mutable(it).Obj.(*keyspace.Stream)
	s.LastID = id
	if entriesAdded != -1 {
		s.EntriesAdded = uint64(entriesAdded)
	}
	if !maxDel.IsZero() {
		s.MaxDeletedID = maxDel
	}
	c.Dirty++
	c.Notify(command.ClassStream, "xsetid", args[1])
	return reply.OK, nil
}
