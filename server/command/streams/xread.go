package streams

import (
	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/server/reply"
)

const (
	errUnbalanced   = command.Msg("ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.")
	errGroupInXRead = command.Msg("ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.")
	errNoAckInXRead = command.Msg("ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.")
	errMissingGroup = command.Msg("ERR Missing GROUP option for XREADGROUP")
	errDollarGroup  = command.Msg("ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.")
	errGtInXRead    = command.Msg("ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.")
	errTimeoutInt   = command.Msg("ERR timeout is not an integer or out of range")
	errTimeoutNeg   = command.Msg("ERR timeout is negative")
)

// xreadArgs are the parsed options of XREAD and XREADGROUP.
type xreadArgs struct {
	timeout    int64 // -1: no BLOCK
	count      int64
	streamsArg int // index of the first key
	nstreams   int
	noack      bool
	group      []byte
	consumer   []byte
}

func parseXRead(args [][]byte, group bool) (a xreadArgs, err error) {
	a.timeout = -1
	for i := 1; i < len(args); i++ {
		more := len(args) - i - 1
		o := args[i]
		switch {
		case isOpt(o, "block") && more > 0:
			i++
			if a.timeout, err = parseTimeout(args[i]); err != nil {
				return a, err
			}
		case isOpt(o, "count") && more > 0:
			i++
			n, err := command.ParseInt(args[i])
			if err != nil {
				return a, err
			}
			a.count = max(n, 0)
		case isOpt(o, "streams") && more > 0:
			a.streamsArg = i + 1
			n := len(args) - a.streamsArg
			if n%2 != 0 {
				return a, errUnbalanced
			}
			a.nstreams = n / 2
			return a, nil
		case isOpt(o, "group") && more >= 2:
			if !group {
				return a, errGroupInXRead
			}
			a.group, a.consumer = args[i+1], args[i+2]
			i += 2
		case isOpt(o, "noack"):
			if !group {
				return a, errNoAckInXRead
			}
			a.noack = true
		default:
			return a, command.ErrSyntax
		}
	}
	return a, nil
}

// parseTimeout parses BLOCK's milliseconds as getTimeoutFromObjectOrReply.
func parseTimeout(b []byte) (int64, error) {
	n, err := command.ParseInt(b)
	if err != nil {
		return 0, errTimeoutInt
	}
	if n < 0 {
		return 0, errTimeoutNeg
	}
	return n, nil
}

// blockTimeout is BlockSpec.Timeout of XREAD and XREADGROUP: BLOCK's
// milliseconds (0 waits forever), or -1 without BLOCK (no blocking).
func blockTimeout(args [][]byte) int64 {
	a, err := parseXRead(args, command.EqualFold(args[0], "xreadgroup"))
	if err != nil {
		return -1
	}
	return a.timeout
}

// xreadKeys finds the keys of XREAD (startFrom 1) and XREADGROUP (4): the
// first half of the arguments after STREAMS.
func xreadKeys(startFrom int) func(args [][]byte) []int {
	return func(args [][]byte) []int {
		for i := startFrom; i < len(args); i++ {
			if command.EqualFold(args[i], "streams") {
				n := (len(args) - i - 1) / 2
				keys := make([]int, n)
				for j := range keys {
					keys[j] = i + 1 + j
				}
				return keys
			}
		}
		return nil
	}
}

// xread implements
//
//	XREAD [COUNT count] [BLOCK ms] STREAMS key [key ...] id [id ...]
//
// It replies with [[key, entries] ...] for the streams that have entries
// after the given IDs ("$": the stream's last ID), or a null array. With
// BLOCK and nothing to serve it returns command.Blocked, with "$" resolved
// in c.BlockArgs so that the re-run only sees newer entries.
func xread(c *command.Ctx, args [][]byte) (reply.Value, error) {
	a, err := parseXRead(args, false)
	if err != nil {
		return reply.Value{}, err
	}
	if a.streamsArg == 0 {
		return reply.Value{}, command.ErrSyntax
	}
	n := a.nstreams
	ids := make([]streamID, n)
	dollar := false
	for i := 0; i < n; i++ {
		s, err := readStream(c, args[a.streamsArg+i])
		if err != nil {
			return reply.Value{}, err
		}
		idArg := args[a.streamsArg+n+i]
		switch {
		case isChar(idArg, '$'):
			dollar = true
			if s != nil {
				ids[i] = s.LastID
			}
		case isChar(idArg, '>'):
			return reply.Value{}, errGtInXRead
		default:
			if ids[i], err = parseStrictID(idArg); err != nil {
				return reply.Value{}, err
			}
		}
	}
	var out []reply.Value
	for i := 0; i < n; i++ {
		key := args[a.streamsArg+i]
		s, _ := readStream(c, key)
		if s == nil || s.Length() == 0 {
			continue
		}
		if last, _ := s.LastEntryID(); !ids[i].Less(last) {
			continue
		}
		start, _ := ids[i].Incr()
		entries := rangeReply(s, start, keyspace.MaxStreamID, a.count, false)
		out = append(out, reply.Array(reply.Bulk(key), reply.Array(entries...)))
	}
	if len(out) > 0 {
		return reply.Value{Kind: reply.KindPairArray, Elems: out}, nil
	}
	if a.timeout == -1 || c.NoBlock {
		return reply.NilArray, nil
	}
	if dollar {
		c.BlockArgs = make([][]byte, len(args))
		for i, arg := range args {
			c.BlockArgs[i] = append([]byte(nil), arg...)
		}
		for i := 0; i < n; i++ {
			if j := a.streamsArg + n + i; isChar(args[j], '$') {
				c.BlockArgs[j] = ids[i].Append(nil)
			}
		}
	}
	return command.Blocked, nil
}

// xreadgroup implements
//
//	XREADGROUP GROUP group consumer [COUNT count] [BLOCK ms] [NOACK] STREAMS key [key ...] id [id ...]
//
// ">" reads entries never delivered to the group (adding them to the
// pending list of the consumer unless NOACK); another ID reads the
// consumer's own pending history from that ID. The consumer is created
// when something is served to it, and its seen time set to c.Now, as in
// Redis 7.0.
func xreadgroup(c *command.Ctx, args [][]byte) (reply.Value, error) {
	a, err := parseXRead(args, true)
	if err != nil {
		return reply.Value{}, err
	}
	if a.streamsArg == 0 {
		return reply.Value{}, command.ErrSyntax
	}
	if a.group == nil {
		return reply.Value{}, errMissingGroup
	}
	n := a.nstreams
	ids := make([]streamID, n)
	for i := 0; i < n; i++ {
		key := args[a.streamsArg+i]
		_, s, err := lookupWrite(c, key)
		if err != nil {
			return reply.Value{}, err
		}
		if s == nil || s.Group(a.group) == nil {
			return reply.Value{}, command.Msg("NOGROUP No such key '" + string(cString(key)) + "' or consumer group '" +
				string(cString(a.group)) + "' in XREADGROUP with GROUP option")
		}
		idArg := args[a.streamsArg+n+i]
		switch {
		case isChar(idArg, '$'):
			return reply.Value{}, errDollarGroup
		case isChar(idArg, '>'):
			ids[i] = keyspace.MaxStreamID
		default:
			if ids[i], err = parseStrictID(idArg); err != nil {
				return reply.Value{}, err
			}
		}
	}
	var out []reply.Value
	for i := 0; i < n; i++ {
		key := args[a.streamsArg+i]
		it, s, _ := lookupWrite(c, key)
		g := s.Group(a.group)
		gt := ids[i]
		serve, history := false, false
		if gt != keyspace.MaxStreamID {
			serve, history = true, true
		} else if s.Length() > 0 {
			if last, _ := s.LastEntryID(); g.LastID.Less(last) {
				serve = true
				gt = g.LastID
			}
		}
		if !serve {
			continue
		}
		s = c.DB.Mutable(it).Obj.(*keyspace.Stream)
		g = s.Group(a.group)
		cons := g.Consumer(a.consumer)
		if cons == nil {
			cons = g.CreateConsumer(a.consumer, c.Now)
			c.Dirty++
			c.Notify(command.ClassStream, "xgroup-createconsumer", key)
		}
		cons.SeenTime = c.Now
		start, _ := gt.Incr()
		var entries []reply.Value
		if history {
			entries = historyReply(c, s, g, cons, start, a.count)
		} else {
			changed := false
			s.Range(start, keyspace.MaxStreamID, false, func(id streamID, fv [][]byte) bool {
				if g.LastID.Less(id) {
					s.Advance(g, id)
					changed = true
				}
				entries = append(entries, entryValue(id, fv))
				if !a.noack {
					g.Deliver(id, cons, c.Now)
					changed = true
				}
				return a.count == 0 || int64(len(entries)) < a.count
			})
			if changed {
				c.Dirty++
			}
		}
		out = append(out, reply.Array(reply.Bulk(key), reply.Array(entries...)))
	}
	if len(out) > 0 {
		return reply.Value{Kind: reply.KindPairArray, Elems: out}, nil
	}
	if a.timeout == -1 || c.NoBlock {
		return reply.NilArray, nil
	}
	return command.Blocked, nil
}

// historyReply serves a consumer's pending entries from start on
// (streamReplyWithRangeFromConsumerPEL): each delivery is counted again;
// entries deleted from the stream are answered [id, nil].
func historyReply(c *command.Ctx, s *keyspace.Stream, g *keyspace.StreamGroup, cons *keyspace.StreamConsumer, start streamID, count int64) []reply.Value {
	var ids []streamID
	cons.AscendPending(start, func(id streamID) bool {
		ids = append(ids, id)
		return count == 0 || int64(len(ids)) < count
	})
	out := make([]reply.Value, 0, len(ids))
	for _, id := range ids {
		fv, ok := s.Get(id)
		if !ok {
			out = append(out, reply.Array(idBulk(id), reply.NilArray))
			continue
		}
		out = append(out, entryValue(id, fv))
		g.Redeliver(id, c.Now)
	}
	return out
}
