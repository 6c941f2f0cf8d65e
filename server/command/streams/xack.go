package streams

import (
	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/server/reply"
)

// xack implements XACK key group id [id ...]: it removes the IDs from the
// group's pending list and replies with how many were pending. A missing
// key or group replies 0 before the IDs are parsed, as Redis.
func xack(c *command.Ctx, args [][]byte) (reply.Value, error) {
	it, s, err := lookupWrite(c, args[1])
	if err != nil {
		return reply.Value{}, err
	}
	if s == nil || s.Group(args[2]) == nil {
		return reply.Int(0), nil
	}
	ids := make([]streamID, len(args)-3)
	for j := range ids {
		if ids[j], err = parseStrictID(args[j+3]); err != nil {
			return reply.Value{}, err
		}
	}
	g := s.Group(args[2])
	pending := false
	for _, id := range ids {
		if _, ok := g.Pending(id); ok {
			pending = true
			break
		}
	}
	if !pending {
		return reply.Int(0), nil
	}
	g = c.DB.Mutable(it).Obj.(*keyspace.Stream).Group(args[2])
	acked := int64(0)
	for _, id := range ids {
		if g.Ack(id) {
			acked++
		}
	}
	c.Dirty += acked
	return reply.Int(acked), nil
}

// xpending implements
//
//	XPENDING key group [[IDLE min-idle] start end count [consumer]]
//
// The short form replies with [count, first, last, [[consumer, count] ...]];
// the extended one with [id, consumer, idle ms, deliveries] per entry.
func xpending(c *command.Ctx, args [][]byte) (reply.Value, error) {
	justInfo := len(args) == 3
	if len(args) != 3 && (len(args) < 6 || len(args) > 9) {
		return reply.Value{}, command.ErrSyntax
	}
	var start, end streamID
	var count, minIdle int64
	var consumerName []byte
	if len(args) >= 6 {
		si := 3
		if isOpt(args[3], "idle") {
			n, err := command.ParseInt(args[4])
			if err != nil {
				return reply.Value{}, err
			}
			minIdle = n
			if len(args) < 8 {
				return reply.Value{}, command.ErrSyntax
			}
			si += 2
		}
		n, err := command.ParseInt(args[si+2])
		if err != nil {
			return reply.Value{}, err
		}
		count = max(n, 0)
		if start, end, err = parseRange(args[si], args[si+1]); err != nil {
			return reply.Value{}, err
		}
		if si+3 < len(args) {
			consumerName = args[si+3]
		}
	}
	s, err := readStream(c, args[1])
	if err != nil {
		return reply.Value{}, err
	}
	var g *keyspace.StreamGroup
	if s != nil {
		g = s.Group(args[2])
	}
	if g == nil {
		return reply.Value{}, command.Msg("NOGROUP No such key '" + string(cString(args[1])) + "' or consumer group '" + string(cString(args[2])) + "'")
	}
	if justInfo {
		if g.PendingLen() == 0 {
			return reply.Array(reply.Int(0), reply.Nil, reply.Nil, reply.NilArray), nil
		}
		first, _ := g.FirstPending()
		last, _ := g.LastPending()
		var cons []reply.Value
		for _, sc := range g.Consumers() {
			if n := sc.PendingLen(); n > 0 {
				cons = append(cons, reply.Array(reply.BulkString(sc.Name), reply.BulkInt(int64(n))))
			}
		}
		return reply.Array(reply.Int(int64(g.PendingLen())), idBulk(first.ID), idBulk(last.ID), reply.Array(cons...)), nil
	}
	out := []reply.Value{}
	emit := func(pe keyspace.PendingEntry) bool {
		if end.Less(pe.ID) || count == 0 {
			return false
		}
		if minIdle != 0 && c.Now-pe.DeliveryTime < minIdle {
			return true
		}
		count--
		out = append(out, reply.Array(idBulk(pe.ID), reply.BulkString(pe.Consumer),
			reply.Int(max(c.Now-pe.DeliveryTime, 0)), reply.Int(int64(pe.DeliveryCount))))
		return true
	}
	if consumerName != nil {
		sc := g.Consumer(consumerName)
		if sc == nil {
			return reply.EmptyArray, nil
		}
		sc.AscendPending(start, func(id streamID) bool {
			pe, _ := g.Pending(id)
			return emit(pe)
		})
	} else {
		g.AscendPending(start, emit)
	}
	return reply.Array(out...), nil
}
