package control

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/cairndb/cairn/server/cluster"
)

// HandOffTimeout bounds the leadership hand-off of a planned stop
// (Shutdown); a group that has not changed leader by then is left to an
// election.
const HandOffTimeout = 3 * time.Second

// drainTime is how long a node that handed off leaderships keeps serving
// (redirects) before it closes its client connections.
const drainTime = 500 * time.Millisecond

// HandOff hands every group this node leads, keyspace shards and the
// directory, to another replica, all in parallel, and returns when each
// has a new leader or timeout passed (a planned stop: server.Node.Shutdown).
func (c *Plane) HandOff(timeout time.Duration) {
	start := time.Now()
	c.stopping.Store(true) // no leader balancing of its own meanwhile
	topo := c.machine.Topology()
	var wg sync.WaitGroup
	moved := 0
	var mu sync.Mutex
	for _, id := range c.LocalShards() {
		s := c.host.Shard(id)
		if s == nil || !s.IsLeader() {
			continue
		}
		var prefer []uint64 // node IDs, most preferred first
		if sh := topo.Shard(id); sh != nil {
			prefer = sh.Replicas
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			members, err := s.Members(ctx)
			cancel()
			if err != nil {
				c.log.Warn("leader hand-off: no membership", "shard", id, "err", err)
				return
			}
			ids := make([]uint64, 0, len(members))
			for rid := range members {
				ids = append(ids, rid)
			}
			targets := c.handOffTargets(ids, s.ReplicaID(), prefer)
			if len(targets) == 0 {
				return // a single-replica shard: no one to hand it to
			}
			t0 := time.Now()
			to, err := s.HandOff(targets, timeout)
			if err != nil {
				c.log.Warn("leader hand-off failed; the group will elect a leader after the election timeout", "shard", id, "err", err)
				return
			}
			c.log.Info("leader hand-off", "shard", id, "to_node", cluster.NodeOf(to), "took", time.Since(t0).Round(time.Microsecond))
			mu.Lock()
			moved++
			mu.Unlock()
		}()
	}
	if c.meta.IsLeader() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			voting, _, err := c.meta.Members(ctx)
			cancel()
			if err != nil {
				c.log.Warn("directory leader hand-off: no membership", "err", err)
				return
			}
			ids := make([]uint64, 0, len(voting))
			for id := range voting {
				ids = append(ids, id)
			}
			var prefer []uint64
			for _, nd := range topo.Nodes {
				prefer = append(prefer, nd.ID)
			}
			targets := c.handOffTargets(ids, c.id, prefer)
			if len(targets) == 0 {
				return
			}
			t0 := time.Now()
			to, err := c.meta.HandOff(targets, timeout)
			if err != nil {
				c.log.Warn("directory leader hand-off failed", "err", err)
				return
			}
			c.log.Info("directory leader hand-off", "to_node", to, "took", time.Since(t0).Round(time.Microsecond))
		}()
	}
	wg.Wait()
	if moved > 0 {
		// Drain: keep answering for a moment, now as a follower of every
		// shard, so requests in flight get their replies and clients with
		// a stale slot map are told MOVED (and refresh it) instead of
		// meeting a closed port and retrying blindly.
		time.Sleep(drainTime)
	}
	c.log.Info("leadership handed off", "shards", moved, "took", time.Since(start).Round(time.Millisecond))
}

// handOffTargets orders a group's members (replica IDs) for a hand-off:
// not this replica, nodes that answer before nodes marked down, and the
// directory's preference (the order of prefer, node IDs) first.
func (c *Plane) handOffTargets(members []uint64, self uint64, prefer []uint64) []uint64 {
	rank := func(rid uint64) int {
		r := len(prefer)
		if i := slices.Index(prefer, cluster.NodeOf(rid)); i >= 0 {
			r = i
		}
		if c.isDown(cluster.NodeOf(rid)) {
			r += 1 << 20
		}
		return r
	}
	out := make([]uint64, 0, len(members))
	for _, rid := range members {
		if rid != self {
			out = append(out, rid)
		}
	}
	slices.Sort(out)
	slices.SortStableFunc(out, func(a, b uint64) int { return rank(a) - rank(b) })
	return out
}
