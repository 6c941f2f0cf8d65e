package control

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/cairndb/cairn/server/cluster"
	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/entry"
	"github.com/cairndb/cairn/server/reply"
	"github.com/cairndb/cairn/server/session"
	"github.com/cairndb/cairn/server/shard"
	"github.com/cairndb/cairn/server/slot"
)

var (
	errCrossSlot   = reply.Error("CROSSSLOT Keys in request don't hash to the same slot")
	errSlotUnbound = "CLUSTERDOWN Hash slot not served"
	errDown        = reply.Error("CLUSTERDOWN The cluster is down")
)

// Route implements session.Backend.Route for cluster mode.
// A keyless command runs over the shards this node leads (NodeRoute);
// one with keys on its slot's shard, at the leader, or for a READONLY
// read at any replica here.
func (c *Plane) Route(spec *command.Spec, args [][]byte, readOnly, asking bool) (session.Route, reply.Value, bool) {
	keys := spec.Keys(args)
	if len(keys) == 0 {
		if readOnly && ftReadKind(spec) {
			return session.ClusterReplicaRoute, reply.Value{}, true // ft.go
		}
		return session.NodeRoute, reply.Value{}, true
	}
	sl := slot.Of(args[keys[0]])
	for _, k := range keys[1:] {
		if slot.Of(args[k]) != sl {
			return session.Route{}, errCrossSlot, false
		}
	}
	topo := c.machine.Topology()
	sid := topo.Owner(sl)
	if sid == 0 {
		return session.Route{}, reply.Error(errSlotUnbound), false
	}
	s := c.host.Shard(sid)
	if s != nil {
		if s.IsLeader() {
			return session.LeaderRoute(sid), reply.Value{}, true
		}
		if readOnly && !spec.IsWrite() {
			return session.ReplicaRoute(sid), reply.Value{}, true
		}
	}
	if other := c.ledOwner(sl, sid); other != 0 {
		return session.LeaderRoute(other), reply.Value{}, true
	}
	return session.Route{}, c.moved(topo, sl, sid), false
}

// ledOwner returns a shard other than sid that this node leads and whose
// applied state owns slot sl, or 0. It is asked only before a redirect:
// during a slot move this node's directory may lag the shards' logs (the
// slot's new shard owns it before the directory says so), and a node
// that redirected on its stale directory would bounce clients back to a
// node that already redirected them here. Serving is safe, since apply
// refuses a slot the shard does not own (fix turns that into a
// redirect).
func (c *Plane) ledOwner(sl uint16, sid uint64) uint64 {
	for _, id := range c.host.ShardIDs() {
		if id == sid {
			continue
		}
		if s := c.host.Shard(id); s != nil && s.IsLeader() && s.OwnsSlot(sl) {
			return id
		}
	}
	return 0
}

// leaderNode returns the node leading shard sid, or 0 if unknown.
func (c *Plane) leaderNode(topo *cluster.Topology, sid uint64) uint64 {
	if s := c.host.Shard(sid); s != nil {
		if id, _, ok := s.Leader(); ok {
			return cluster.NodeOf(id)
		}
	}
	if sh := topo.Shard(sid); sh != nil {
		return sh.Leader
	}
	return 0
}

// leaderAddr returns the client address of shard sid's leader, if known.
func (c *Plane) leaderAddr(topo *cluster.Topology, sid uint64) string {
	var leader uint64
	if s := c.host.Shard(sid); s != nil {
		if id, _, ok := s.Leader(); ok {
			leader = cluster.NodeOf(id)
		}
	}
	if leader == 0 {
		if sh := topo.Shard(sid); sh != nil {
			leader = sh.Leader
		}
	}
	// The leader's endpoint for the shard (topoview.go), which clients
	// see as the master of the shard's slots.
	return epAddr(topo, leader, sid)
}

// moved redirects a slot to its shard's leader, or says the cluster is
// down for it when no leader is known (clients retry CLUSTERDOWN).
func (c *Plane) moved(topo *cluster.Topology, sl uint16, sid uint64) reply.Value {
	addr := c.leaderAddr(topo, sid)
	if addr == "" {
		return errDown
	}
	ln := c.leaderNode(topo, sid)
	if ln == c.id {
		// Never a redirect to this node itself: either the hint naming it
		// is stale, or it leads the shard but could not serve the
		// request (a leader fresh from an election or a hand-off has
		// not committed an entry of its term yet, so reads must wait).
		// MOVED to itself would make clients loop at once; they retry
		// CLUSTERDOWN after a pause.
		return errDown
	} else if c.isDown(ln) {
		// The leader this node knows of is unreachable: an election is
		// due; clients retry CLUSTERDOWN rather than bounce to a dead
		// address.
		return errDown
	}
	return reply.Error("MOVED " + strconv.Itoa(int(sl)) + " " + addr)
}

// fix turns a shard's "slot not owned" answer into MOVED (or TRYAGAIN
// while the directory has not caught up with a slot move).
func (c *Plane) fix(sid uint64, v reply.Value) reply.Value {
	if v.Kind != reply.KindError || !bytes.HasPrefix(v.Str, []byte(shard.NotOwnedPrefix)) {
		return v
	}
	n, err := strconv.Atoi(string(v.Str[len(shard.NotOwnedPrefix):]))
	if err != nil || n < 0 || n >= slot.Count {
		return reply.Error("TRYAGAIN slot ownership is changing, try again")
	}
	sl := uint16(n)
	topo := c.machine.Topology()
	owner := topo.Owner(sl)
	if owner == 0 || owner == sid {
		return reply.Error("TRYAGAIN slot " + strconv.Itoa(n) + " is being moved, try again")
	}
	return c.moved(topo, sl, owner)
}

// errReply maps a shard error for a command on slot sl.
func (c *Plane) errReply(err error, spec *command.Spec, args [][]byte) reply.Value {
	if errors.Is(err, shard.ErrNotLeader) {
		if keys := specKeys(spec, args); len(keys) > 0 {
			sl := slot.Of(args[keys[0]])
			topo := c.machine.Topology()
			if sid := topo.Owner(sl); sid != 0 {
				return c.moved(topo, sl, sid)
			}
		}
		return errDown
	}
	return shard.ErrorReply(err)
}

type fixedPending struct {
	c    *Plane
	sid  uint64
	p    session.Pending
	cmds [][][]byte
	kind entry.Kind // 0: entry.Commands
}

func (f fixedPending) Wait() ([]reply.Value, error) {
	vals, err := f.p.Wait()
	if errors.Is(err, shard.ErrNotLeader) && f.cmds != nil {
		// The entry was dropped, not appended (this replica lost or is
		// handing over leadership): nothing was applied. Wait a moment
		// for the group to settle (a leader transfer takes a few
		// milliseconds): propose again if this replica leads, else
		// redirect each command to the new leader.
		deadline := time.Now().Add(time.Second)
		for time.Now().Before(deadline) {
			s := f.c.host.Shard(f.sid)
			if s == nil {
				break
			}
			if s.IsLeader() {
				kind := f.kind
				if kind == 0 {
					kind = entry.Commands
				}
				vals, err = s.Propose(kind, f.cmds).Wait()
				if !errors.Is(err, shard.ErrNotLeader) {
					break
				}
			} else if id, _, ok := s.Leader(); ok && cluster.NodeOf(id) != f.c.id {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		if errors.Is(err, shard.ErrNotLeader) && (f.kind == entry.Multi || f.kind == entry.WatchedMulti) {
			cmd := f.cmds[len(f.cmds)-1]
			return []reply.Value{f.c.errReply(err, f.c.table.Lookup(cmd[0]), cmd)}, nil
		}
		if errors.Is(err, shard.ErrNotLeader) {
			vals = make([]reply.Value, len(f.cmds))
			for i, cmd := range f.cmds {
				vals[i] = f.c.errReply(err, f.c.table.Lookup(cmd[0]), cmd)
			}
			return vals, nil
		}
	}
	for i := range vals {
		vals[i] = f.c.fix(f.sid, vals[i])
	}
	return vals, err
}

// multiPending gathers one entry per led shard (FLUSHALL and friends);
// each command's reply is taken from the last shard. When some shards
// fail and others apply the entry, the command failed: the reply says how
// many shards failed and why (partialError), never a plain OK.
type multiPending struct {
	c    *Plane
	sids []uint64
	ps   []session.Pending
	cmds [][][]byte
}

func (m multiPending) Wait() ([]reply.Value, error) {
	var out []reply.Value
	var firstErr error
	var firstSid uint64
	failed := 0
	for i, p := range m.ps {
		vals, err := p.Wait()
		if err != nil {
			failed++
			if firstErr == nil {
				firstErr, firstSid = err, m.sids[i]
			}
			continue
		}
		out = vals
	}
	switch {
	case failed == 0:
		return out, nil
	case failed == len(m.ps):
		return nil, firstErr
	}
	m.c.log.Warn("keyless write failed on some shards", "failed", failed, "shards", len(m.ps), "shard", firstSid, "err", firstErr)
	return nil, &partialError{cmd: m.cmds, failed: failed, total: len(m.ps), sid: firstSid,
		why: string(shard.ErrorReply(firstErr).Str)}
}

// partialError is a keyless write that some of the node's shards applied
// and some did not.
type partialError struct {
	cmd           [][][]byte
	failed, total int
	sid           uint64
	why           string // the first failure as its Redis error reply
}

func (e *partialError) Error() string {
	name := "the command"
	if len(e.cmd) == 1 && len(e.cmd[0]) > 0 {
		name = strings.ToUpper(string(e.cmd[0][0]))
	}
	return fmt.Sprintf("%s failed on %d of %d shards of this node, the others applied it (shard %d: %s)",
		name, e.failed, e.total, e.sid, e.why)
}

type errPending struct{ err error }

func (e errPending) Wait() ([]reply.Value, error) { return nil, e.err }

// ledShards returns the local shards this node leads, by ID.
func (c *Plane) ledShards() []*shard.Shard {
	var out []*shard.Shard
	for _, id := range c.LocalShards() {
		if s := c.host.Shard(id); s != nil && s.IsLeader() {
			out = append(out, s)
		}
	}
	return out
}

// Propose implements session.Backend.Propose for cluster mode.
func (c *Plane) Propose(r session.Route, cmds [][][]byte) session.Pending {
	switch r.Kind {
	case session.RouteReplica:
		return errPending{shard.ErrNotLeader} // writes go to leaders only
	case session.RouteNode:
		if p, ok := c.ftPropose(cmds); ok {
			return p // FT.CREATE and friends: every shard (ft.go)
		}
		led := c.ledShards()
		if len(led) == 0 {
			return errPending{shard.ErrNotLeader}
		}
		m := multiPending{c: c, cmds: cmds}
		for _, s := range led {
			m.sids = append(m.sids, s.ID())
			m.ps = append(m.ps, fixedPending{c: c, sid: s.ID(), p: s.Propose(entry.Commands, cmds)})
		}
		return m
	}
	s := c.host.Shard(r.Shard)
	if s == nil {
		return errPending{shard.ErrNotLeader}
	}
	return fixedPending{c: c, sid: r.Shard, p: s.Propose(entry.Commands, cmds), cmds: cmds}
}

// ProposeMulti proposes a transaction on the route's shard (any led shard
// for a transaction without keys).
func (c *Plane) ProposeMulti(r session.Route, watch [][]byte, cmds [][][]byte) session.Pending {
	kind, all := entry.Transaction(watch, cmds)
	var s *shard.Shard
	if r.Kind == session.RouteNode {
		for _, cmd := range cmds {
			if ftKind(c.table.Lookup(cmd[0])) == ftWrite {
				// Applied on every shard through the directory (ft.go),
				// never as part of one shard's transaction.
				return errPending{fmt.Errorf("%s in a transaction is not supported in cluster mode; send it outside MULTI",
					strings.ToUpper(string(cmd[0])))}
			}
		}
		led := c.ledShards()
		if len(led) > 1 {
			// One transaction is one entry of one shard's log: a keyless
			// write in it (FLUSHALL) would silently apply to one of the
			// node's shards only.
			for _, cmd := range cmds {
				if spec := c.table.Lookup(cmd[0]); spec != nil && spec.IsWrite() {
					return errPending{fmt.Errorf("%s in a transaction would apply to only one of the %d shards this node leads; send it outside MULTI",
						strings.ToUpper(string(cmd[0])), len(led))}
				}
			}
		}
		if len(led) > 0 {
			s = led[0]
		}
	} else {
		s = c.host.Shard(r.Shard)
	}
	if s == nil {
		return errPending{shard.ErrNotLeader}
	}
	return fixedPending{c: c, sid: s.ID(), p: s.Propose(kind, all), cmds: all, kind: kind}
}

// AckedReplicas is the number of replicas besides the leader that hold
// every acknowledged write of the route's shard: a write is acknowledged
// once a majority of the voting replicas has it.
func (c *Plane) AckedReplicas(r session.Route) int {
	s := c.host.Shard(r.Shard)
	if r.Kind == session.RouteNode || s == nil {
		return 0
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	m, err := s.Members(ctx)
	if err != nil {
		return 0
	}
	return len(m) / 2
}

// KeyDigests serves WATCH for a key's shard.
func (c *Plane) KeyDigests(r session.Route, now time.Time, keys [][]byte) ([]uint64, error) {
	s := c.host.Shard(r.Shard)
	if r.Kind == session.RouteNode || s == nil {
		return nil, shard.ErrNotLeader
	}
	return s.KeyDigests(now, keys), nil
}

// Read implements session.Backend.Read for cluster mode.
func (c *Plane) Read(r session.Route, now time.Time, spec *command.Spec, args [][]byte) reply.Value {
	if r.Kind == session.RouteNode {
		if v, ok := c.ftRead(now, spec, args, false); ok {
			return v // FT.SEARCH and friends: every shard (ft.go)
		}
		return c.readNode(now, spec, args)
	}
	if r == session.ClusterReplicaRoute {
		if v, ok := c.ftRead(now, spec, args, true); ok {
			return v // the same on a READONLY connection: replicas
		}
		return c.readNode(now, spec, args)
	}
	sid := r.Shard
	s := c.host.Shard(sid)
	if s == nil {
		return c.errReply(shard.ErrNotLeader, spec, args)
	}
	if r.Kind == session.RouteReplica {
		return c.fix(sid, s.ReadAt(now, spec, args)) // READONLY: stale reads allowed
	}
	v, err := s.LinearRead(now, spec, args)
	if err != nil {
		return c.errReply(err, spec, args)
	}
	return c.fix(sid, v)
}

// readNode runs a keyless read over the shards this node leads, as a
// Redis Cluster node answers for its own slots: DBSIZE adds up, KEYS
// concatenates, SCAN walks the shards one after another, RANDOMKEY picks
// from the first non-empty one.
func (c *Plane) readNode(now time.Time, spec *command.Spec, args [][]byte) reply.Value {
	led := c.ledShards()
	if len(led) == 0 {
		// Nothing led here: answer from an empty view of the node.
		if s := c.anyShard(); s != nil {
			led = []*shard.Shard{s}
		} else {
			return errDown
		}
	}
	for _, s := range led {
		if err := s.Barrier(); err != nil {
			return c.errReply(err, spec, args)
		}
	}
	switch strings.ToLower(spec.Name) {
	case "dbsize":
		var n int64
		for _, s := range led {
			v := s.ReadAt(now, spec, args)
			if v.Kind != reply.KindInt {
				return v
			}
			n += v.Int
		}
		return reply.Int(n)
	case "keys":
		var all []reply.Value
		for _, s := range led {
			v := s.ReadAt(now, spec, args)
			if v.Kind != reply.KindArray {
				return v
			}
			all = append(all, v.Elems...)
		}
		return reply.Array(all...)
	case "randomkey":
		for _, s := range led {
			v := s.ReadAt(now, spec, args)
			if v.Kind != reply.KindNil {
				return v
			}
		}
		return led[0].ReadAt(now, spec, args)
	case "scan":
		return scanShards(led, now, spec, args)
	}
	return led[0].ReadAt(now, spec, args)
}

func (c *Plane) anyShard() *shard.Shard {
	for _, id := range c.LocalShards() {
		if s := c.host.Shard(id); s != nil {
			return s
		}
	}
	return nil
}

// scanShards runs SCAN over several shards with one cursor: the top six
// bits pick the shard (by position), the rest is the shard's own cursor
// shifted right by six. The shift may make a shard revisit a few keys,
// which SCAN allows. (A shard cursor below 64 is rounded up to 64 so it
// does not read as "done"; no key has an order that small in practice.)
func scanShards(led []*shard.Shard, now time.Time, spec *command.Spec, args [][]byte) reply.Value {
	cur, err := command.ParseCursor(args[1])
	if err != nil {
		return command.ErrorReply(err)
	}
	idx := int(cur >> 58)
	inner := (cur & (1<<58 - 1)) << 6
	if idx >= len(led) {
		return reply.Array(reply.BulkString("0"), reply.Array())
	}
	a := append([][]byte(nil), args...)
	a[1] = []byte(strconv.FormatUint(inner, 10))
	v := led[idx].ReadAt(now, spec, a)
	if v.Kind != reply.KindArray || len(v.Elems) != 2 {
		return v
	}
	next, err := strconv.ParseUint(string(v.Elems[0].Str), 10, 64)
	if err != nil {
		return v
	}
	var out uint64
	switch {
	case next != 0:
		out = uint64(idx)<<58 | next>>6
		if next>>6 == 0 {
			out = uint64(idx)<<58 | 1
		}
	case idx+1 < len(led):
		out = uint64(idx+1) << 58
	}
	v.Elems[0] = reply.BulkString(strconv.FormatUint(out, 10))
	return v
}

func specKeys(spec *command.Spec, args [][]byte) []int {
	if spec == nil {
		return nil
	}
	return spec.Keys(args)
}
