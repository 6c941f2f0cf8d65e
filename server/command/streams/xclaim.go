package streams

import (
	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/server/reply"
)

func noGroup(key, group []byte) error {
	return command.Msg("NOGROUP No such key '" + string(cString(key)) + "' or consumer group '" + string(cString(group)) + "'")
}

// claimConsumer returns the group's consumer name, creating it, and marks
// it seen at c.Now. XCLAIM and XAUTOCLAIM call it when they claim their
// first entry: Redis 7.0 creates (and refreshes) the consumer only then.
func claimConsumer(c *command.Ctx, key []byte, g *keyspace.StreamGroup, name []byte) *keyspace.StreamConsumer {
	cons := g.Consumer(name)
	if cons == nil {
		cons = g.CreateConsumer(name, c.Now)
		c.Dirty++
		c.Notify(command.ClassStream, "xgroup-createconsumer", key)
	}
	cons.SeenTime = c.Now
	return cons
}

// xclaim implements
//
//	XCLAIM key group consumer min-idle-time id [id ...] [IDLE ms] [TIME unix-ms]
//	    [RETRYCOUNT count] [FORCE] [JUSTID] [LASTID id]
//
// Pending entries idle for at least min-idle-time move to consumer; the
// reply lists them (entries, or IDs with JUSTID). Pending entries whose
// stream entry was deleted are dropped from the pending list.
func xclaim(c *command.Ctx, args [][]byte) (reply.Value, error) {
	it, s, err := lookupWrite(c, args[1])
	if err != nil {
		return reply.Value{}, err
	}
	if s == nil || s.Group(args[2]) == nil {
		return reply.Value{}, noGroup(args[1], args[2])
	}
	minIdle, err := command.ParseInt(args[4])
	if err != nil {
		return reply.Value{}, command.Msg("ERR Invalid min-idle-time argument for XCLAIM")
	}
	minIdle = max(minIdle, 0)
	var ids []streamID
	j := 5
	for ; j < len(args); j++ {
		id, err := parseStrictID(args[j])
		if err != nil {
			break
		}
		ids = append(ids, id)
	}
	now := c.Now
	deliveryTime, retryCount := int64(-1), int64(-1)
	force, justID := false, false
	var lastID streamID
	for ; j < len(args); j++ {
		more := len(args) - 1 - j
		opt := args[j]
		switch {
		case isOpt(opt, "force"):
			force = true
		case isOpt(opt, "justid"):
			justID = true
		case isOpt(opt, "idle") && more > 0:
			j++
			n, err := command.ParseInt(args[j])
			if err != nil {
				return reply.Value{}, command.Msg("ERR Invalid IDLE option argument for XCLAIM")
			}
			deliveryTime = now - n
		case isOpt(opt, "time") && more > 0:
			j++
			n, err := command.ParseInt(args[j])
			if err != nil {
				return reply.Value{}, command.Msg("ERR Invalid TIME option argument for XCLAIM")
			}
			deliveryTime = n
		case isOpt(opt, "retrycount") && more > 0:
			j++
			n, err := command.ParseInt(args[j])
			if err != nil {
				return reply.Value{}, command.Msg("ERR Invalid RETRYCOUNT option argument for XCLAIM")
			}
			retryCount = n
		case isOpt(opt, "lastid") && more > 0:
			j++
			if lastID, err = parseStrictID(args[j]); err != nil {
				return reply.Value{}, err
			}
		default:
			return reply.Value{}, command.Msg("ERR Unrecognized XCLAIM option '" + string(cString(opt)) + "'")
		}
	}
	s = c.DB.Mutable(it).Obj.(*keyspace.Stream)
	g := s.Group(args[2])
	propagateLastID := false
	if g.LastID.Less(lastID) {
		g.LastID = lastID
		propagateLastID = true
	}
	if deliveryTime != -1 {
		if deliveryTime < 0 || deliveryTime > now {
			deliveryTime = now
		}
	} else {
		deliveryTime = now
	}
	var cons *keyspace.StreamConsumer
	out := []reply.Value{}
	for _, id := range ids {
		pe, pending := g.Pending(id)
		fv, exists := s.Get(id)
		if !exists {
			if pending {
				g.Ack(id)
				c.Dirty++
				propagateLastID = false
			}
			continue
		}
		if force && !pending {
			pe = keyspace.PendingEntry{ID: id, DeliveryTime: now, DeliveryCount: 1}
			pending = true
		}
		if !pending {
			continue
		}
		if pe.Consumer != "" && minIdle != 0 && now-pe.DeliveryTime < minIdle {
			continue
		}
		if cons == nil {
			cons = claimConsumer(c, args[1], g, args[3])
		}
		count := pe.DeliveryCount
		if retryCount >= 0 {
			count = uint64(retryCount)
		} else if !justID {
			count++
		}
		g.Claim(pe, cons, deliveryTime, count)
		if justID {
			out = append(out, idBulk(id))
		} else {
			out = append(out, entryValue(id, fv))
		}
		cons.ActiveTime = now
		propagateLastID = false
		c.Dirty++
	}
	if propagateLastID {
		c.Dirty++
	}
	return reply.Array(out...), nil
}

// maxAutoclaimCount is LONG_MAX / max(sizeof(streamID), attempts factor).
const maxAutoclaimCount = 9223372036854775807 / 16

// xautoclaim implements
//
//	XAUTOCLAIM key group consumer min-idle-time start [COUNT count] [JUSTID]
//
// It claims up to COUNT pending entries idle for at least min-idle-time
// from start on (examining at most 10*COUNT) and replies with [next
// cursor, claimed entries, IDs of pending entries whose stream entry was
// deleted (dropped from the pending list)].
func xautoclaim(c *command.Ctx, args [][]byte) (reply.Value, error) {
	minIdle, err := command.ParseInt(args[4])
	if err != nil {
		return reply.Value{}, command.Msg("ERR Invalid min-idle-time argument for XAUTOCLAIM")
	}
	minIdle = max(minIdle, 0)
	start, ex, err := parseInterval(args[5], 0)
	if err != nil {
		return reply.Value{}, err
	}
	if ex {
		var ok bool
		if start, ok = start.Incr(); !ok {
			return reply.Value{}, errStartInterval
		}
	}
	count := int64(100)
	justID := false
	for j := 6; j < len(args); j++ {
		more := len(args) - 1 - j
		switch {
		case isOpt(args[j], "count") && more > 0:
			n, err := command.ParseInt(args[j+1])
			if err != nil || n < 1 || n > maxAutoclaimCount {
				return reply.Value{}, command.Msg("ERR COUNT must be > 0")
			}
			count = n
			j++
		case isOpt(args[j], "justid"):
			justID = true
		default:
			return reply.Value{}, command.ErrSyntax
		}
	}
	it, s, err := lookupWrite(c, args[1])
	if err != nil {
		return reply.Value{}, err
	}
	if s == nil || s.Group(args[2]) == nil {
		return reply.Value{}, noGroup(args[1], args[2])
	}
	s = c.DB.Mutable(it).Obj.(*keyspace.Stream)
	g := s.Group(args[2])
	var cons *keyspace.StreamConsumer
	now := c.Now
	attempts := count * 10
	claimed := []reply.Value{}
	deleted := []reply.Value{}
	cursor := start
	more := true
	next := func() (keyspace.PendingEntry, bool) {
		var pe keyspace.PendingEntry
		found := false
		if more {
			g.AscendPending(cursor, func(p keyspace.PendingEntry) bool { pe, found = p, true; return false })
		}
		return pe, found
	}
	for attempts > 0 && count > 0 {
		attempts--
		pe, ok := next()
		if !ok {
			more = false
			break
		}
		if cursor, more = pe.ID.Incr(); !more {
			cursor = keyspace.MaxStreamID
		}
		fv, exists := s.Get(pe.ID)
		if !exists {
			g.Ack(pe.ID)
			c.Dirty++
			deleted = append(deleted, idBulk(pe.ID))
			count--
			continue
		}
		if minIdle != 0 && now-pe.DeliveryTime < minIdle {
			continue
		}
		if cons == nil {
			cons = claimConsumer(c, args[1], g, args[3])
		}
		n := pe.DeliveryCount
		if !justID {
			n++
		}
		g.Claim(pe, cons, now, n)
		if justID {
			claimed = append(claimed, idBulk(pe.ID))
		} else {
			claimed = append(claimed, entryValue(pe.ID, fv))
		}
		count--
		cons.ActiveTime = now
		c.Dirty++
	}
	nextID := streamID{}
	if pe, ok := next(); ok {
		nextID = pe.ID
	}
	return reply.Array(idBulk(nextID), reply.Array(claimed...), reply.Array(deleted...)), nil
}
