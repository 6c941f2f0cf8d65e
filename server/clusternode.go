package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cairndb/cairn/server/cluster"
	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/durable"
	"github.com/cairndb/cairn/server/entry"
	"github.com/cairndb/cairn/server/resp"
	"github.com/cairndb/cairn/server/shard"
)

// clusterNode is a node's cluster machinery: its meta replica (the
// directory), the keyspace shards it replicates, and the reconciler that
// makes Raft memberships, slot ownership and leader placement follow the
// directory.
type clusterNode struct {
	n       *Node
	id      uint64
	host    *shard.Host
	machine *cluster.Machine
	meta    *shard.Meta
	table   *command.Table
	log     *slog.Logger

	mu         sync.Mutex
	leaderFrom map[uint64]time.Time // shard → when this node became its leader
	transfer   map[uint64]time.Time // shard → last leader transfer asked
	migrating  map[uint64]bool      // migrations run by this node
	reporting  map[uint64]bool      // leader reports in flight
	memberOp   map[uint64]bool      // membership changes in flight
	leaving    map[uint64]time.Time // shard → when this node left it in the directory

	kick chan struct{}
	quit chan struct{}
	wg   sync.WaitGroup

	stopping atomic.Bool  // a planned stop is handing leaderships off (handoff.go)
	migrated atomic.Int64 // slots moved by migrations run here
	down     sync.Map     // node ID → true while its client port does not answer
	// configBusy: shard ID → true while syncConfig works on it (config.go)
	configBusy sync.Map
	// eps are the node's shard endpoints (endpoints.go).
	eps endpoints
}

func (c *Config) clusterMode() bool { return len(c.Peers) > 0 || c.Join != "" }

const nodeIDFile = "node.id"

func readNodeID(dir string) (uint64, error) {
	b, err := os.ReadFile(filepath.Join(dir, nodeIDFile))
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
}

func writeNodeID(dir string, id uint64) error {
	return durable.WriteFile(filepath.Join(dir, nodeIDFile), []byte(strconv.FormatUint(id, 10)+"\n"))
}

// startCluster brings up the cluster side of a node: node identity, the
// meta replica, bootstrap or join, then the reconciler. It returns once
// the directory is bootstrapped and this node is in it.
func (n *Node) startCluster(table *command.Table, announce string) error {
	cfg := &n.cfg
	id, err := readNodeID(cfg.Dir)
	if err != nil {
		return fmt.Errorf("read node id: %w", err)
	}
	if cfg.NodeID != 0 && id != 0 && cfg.NodeID != id {
		return fmt.Errorf("--node-id %d but %s holds node %d", cfg.NodeID, cfg.Dir, id)
	}
	if id == 0 {
		id = cfg.NodeID
	}
	if id == 0 && cfg.Join != "" {
		// Ask the cluster for an ID; it also adds this node to the directory.
		v, err := resp.Call(cfg.Join, 30*time.Second, cfg.RequirePass, "CLUSTER", "ADDNODE", cfg.RaftAddr, announce)
		if err != nil {
			return fmt.Errorf("join %s: %w", cfg.Join, err)
		}
		if id, err = strconv.ParseUint(v, 10, 64); err != nil || id == 0 {
			return fmt.Errorf("join %s: bad node id %q", cfg.Join, v)
		}
	}
	if id == 0 {
		return errors.New("cluster mode needs --node-id (or --join to get one)")
	}
	if err := writeNodeID(cfg.Dir, id); err != nil {
		return fmt.Errorf("write node id: %w", err)
	}
	if len(cfg.Peers) > 0 {
		if addr, ok := cfg.Peers[id]; ok && addr != cfg.RaftAddr {
			return fmt.Errorf("--peers gives node %d the raft address %s but --raft-addr is %s", id, addr, cfg.RaftAddr)
		}
	}

	c := &clusterNode{
		n: n, id: id, host: n.host, machine: cluster.NewMachine(), table: table, log: n.log.With("node", id),
		leaderFrom: map[uint64]time.Time{}, transfer: map[uint64]time.Time{}, migrating: map[uint64]bool{},
		reporting: map[uint64]bool{}, memberOp: map[uint64]bool{}, leaving: map[uint64]time.Time{},
		kick: make(chan struct{}, 1), quit: make(chan struct{}),
	}
	restarting := n.host.HasData(cluster.MetaShardID, id)
	if restarting {
		// Leases granted with this node's help before it stopped must run
		// out before it may vote again (see shard/lease.go).
		time.Sleep(shard.RestartDelay(n.cfg.ElectionRTT, n.cfg.RTTMillisecond))
	}
	_, inPeers := cfg.Peers[id]
	mo := shard.MetaOptions{ShardID: cluster.MetaShardID, ReplicaID: id, ElectionRTT: n.cfg.ElectionRTT}
	if inPeers {
		mo.Members = cfg.Peers
	} else {
		mo.Join = true
	}
	if c.meta, err = n.host.StartMeta(mo, c.machine); err != nil {
		return err
	}

	// Bootstrap: the lowest-numbered peer lays out the cluster once the
	// meta group has a leader; the others wait to see it applied.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	lowest := id
	for p := range cfg.Peers {
		lowest = min(lowest, p)
	}
	for !c.machine.Topology().Bootstrapped {
		if inPeers && lowest == id && !restarting {
			nodes := make([]cluster.Node, 0, len(cfg.Peers))
			for pid, addr := range cfg.Peers {
				nodes = append(nodes, cluster.Node{ID: pid, RaftAddr: addr})
			}
			shards := cfg.Shards
			if shards == 0 {
				shards = len(cfg.Peers)
			}
			reps := cfg.Replicas
			if reps == 0 {
				reps = min(3, len(cfg.Peers))
			}
			pctx, pcancel := context.WithTimeout(ctx, 5*time.Second)
			_, err := c.propose(pctx, cluster.Op{Op: "bootstrap", Nodes: nodes, NShards: shards, NReplica: reps})
			pcancel()
			if err != nil && !strings.Contains(err.Error(), "already bootstrapped") {
				c.log.Warn("bootstrap", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return errors.New("cluster: timed out waiting for the directory (are the other peers running?)")
		case <-time.After(50 * time.Millisecond):
		}
	}
	// Tell the cluster where clients reach this node.
	for {
		topo := c.machine.Topology()
		if nd := topo.Node(id); nd != nil && nd.ClientAddr == announce && nd.Version == entry.Version {
			break
		}
		pctx, pcancel := context.WithTimeout(ctx, 5*time.Second)
		// Version: the highest log format this binary understands; the
		// cluster version is the minimum over the nodes (cluster/version.go).
		_, err := c.propose(pctx, cluster.Op{Op: "announce", ID: id, ClientAddr: announce, Version: entry.Version})
		pcancel()
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("cluster: announce: %w", err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	n.cluster = c
	c.reconcile() // start this node's shards before serving
	c.startEndpoints()
	c.wg.Add(2)
	go c.loop()
	go c.healthLoop()
	return nil
}

// healthLoop checks every 200 ms whether the other nodes answer PING on
// their client port (a node that is restarting accepts connections before
// it serves, so a TCP connect alone is not enough). It feeds the fail flags
// of CLUSTER NODES, SLOTS and SHARDS, and keeps redirects and leader
// hand-overs away from dead nodes. Routing itself follows Raft leadership.
func (c *clusterNode) healthLoop() {
	defer c.wg.Done()
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-c.quit:
			return
		case <-t.C:
		}
		var wg sync.WaitGroup
		for _, nd := range c.machine.Topology().Nodes {
			if nd.ID == c.id || nd.ClientAddr == "" {
				continue
			}
			wg.Add(1)
			go func(id uint64, addr string) {
				defer wg.Done()
				if _, err := resp.Call(addr, 300*time.Millisecond, c.n.cfg.RequirePass, "PING"); err != nil {
					c.down.Store(id, true)
				} else {
					c.down.Delete(id)
				}
			}(nd.ID, nd.ClientAddr)
		}
		wg.Wait()
	}
}

// isDown tells whether node id's client port stopped answering.
func (c *clusterNode) isDown(id uint64) bool {
	_, ok := c.down.Load(id)
	return ok
}

// propose commits a directory change.
func (c *clusterNode) propose(ctx context.Context, op cluster.Op) (uint64, error) {
	b, err := c.meta.Propose(ctx, cluster.Encode(op))
	if err != nil {
		return 0, err
	}
	return cluster.DecodeResult(b)
}

func (c *clusterNode) close() {
	select {
	case <-c.quit:
	default:
		close(c.quit)
	}
	c.wg.Wait()
}

func (c *clusterNode) poke() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

func (c *clusterNode) loop() {
	defer c.wg.Done()
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-c.quit:
			return
		case <-t.C:
		case <-c.kick:
		}
		c.reconcile()
	}
}

// reconcile makes this node's part of the cluster match the directory.
func (c *clusterNode) reconcile() {
	topo := c.machine.Topology()
	// 1. Start the replicas the directory gives this node; stop the ones
	// it no longer does.
	for i := range topo.Shards {
		sh := &topo.Shards[i]
		if !sh.HasReplica(c.id) {
			continue
		}
		if s := c.host.Shard(sh.ID); s != nil {
			if s.ReplicaID() == sh.ReplicaID(c.id) {
				c.mu.Lock()
				delete(c.leaving, sh.ID) // no leave under way (any earlier one is over)
				c.mu.Unlock()
				continue
			}
			// An older replica of this node: the node was removed and
			// added back under a new replica ID. The group may not have
			// removed the old replica yet, and its removal may need the
			// old replica's own vote (a two-voter group): it leaves like
			// a replica no longer assigned, and the new one starts after.
			if !c.retire(s, sh) {
				continue
			}
		}
		if err := c.startShard(topo, sh); err != nil {
			c.log.Warn("start shard", "shard", sh.ID, "err", err)
		}
	}
	for _, id := range c.localShards() {
		sh := topo.Shard(id)
		if sh != nil && sh.HasReplica(c.id) {
			continue
		}
		s := c.host.Shard(id)
		if s == nil {
			continue
		}
		c.retire(s, sh)
	}
	// 2. As a shard's leader: membership, slot ownership, leader report,
	// leader placement.
	for _, id := range c.localShards() {
		s := c.host.Shard(id)
		sh := topo.Shard(id)
		if s == nil || sh == nil {
			continue
		}
		if !s.IsLeader() {
			c.mu.Lock()
			delete(c.leaderFrom, id)
			c.mu.Unlock()
			continue
		}
		c.mu.Lock()
		if _, ok := c.leaderFrom[id]; !ok {
			c.leaderFrom[id] = time.Now()
		}
		c.mu.Unlock()
		c.reportLeader(s, sh)
		c.syncMembers(topo, s, sh)
		c.syncSlots(topo, s)
		c.syncConfig(topo, s, sh)
		c.balanceLeader(s, sh)
	}
	// 3. As the meta leader: meta membership and slot migrations.
	if c.meta.IsLeader() {
		c.syncMetaMembers(topo)
		c.ensureSecret(topo)
		for _, m := range topo.Migrations {
			c.mu.Lock()
			running := c.migrating[m.ID]
			if !running {
				c.migrating[m.ID] = true
			}
			c.mu.Unlock()
			if !running {
				c.wg.Add(1)
				go c.runMigration(m.ID)
			}
		}
	}
}

// retire stops replica s, which the directory no longer gives this node
// (sh is nil once the shard is gone, and lists this node under a newer
// replica ID if it was added back), once the group no longer needs it:
// a leader hands over first, a follower waits until the group has
// removed it. It tells whether s was stopped.
func (c *clusterNode) retire(s *shard.Shard, sh *cluster.Shard) bool {
	id := s.ID()
	if sh != nil && s.IsLeader() {
		// Hand leadership over before leaving the group, to the first
		// other node the directory lists.
		for _, nid := range sh.Replicas {
			if nid != c.id {
				c.transferLeader(s, sh.ReplicaID(nid))
				break
			}
		}
		return false
	}
	if sh != nil && !c.removedFromGroup(s) {
		return false // still needed for the group's quorum until removed
	}
	c.log.Info("stopping replica no longer assigned", "shard", id, "replica", s.ReplicaID())
	c.host.StopShard(id, true)
	// Its keys' changes no longer reach this node: tracking clients
	// drop their caches (a Redis replica that resyncs flushes too).
	if srv := c.n.srvPtr.Load(); srv != nil {
		srv.TrackChanged(nil, true)
	}
	c.mu.Lock()
	delete(c.leaving, id)
	c.mu.Unlock()
	return true
}

func (c *clusterNode) localShards() []uint64 {
	var out []uint64
	topo := c.machine.Topology()
	for _, sh := range topo.Shards {
		if c.host.Shard(sh.ID) != nil {
			out = append(out, sh.ID)
		}
	}
	// Replicas of shards the directory no longer lists.
	for _, id := range c.host.ShardIDs() {
		if topo.Shard(id) == nil {
			out = append(out, id)
		}
	}
	return out
}

func (c *clusterNode) startShard(topo *cluster.Topology, sh *cluster.Shard) error {
	rid := sh.ReplicaID(c.id)
	opts := shard.Options{
		ShardID:         sh.ID,
		ReplicaID:       rid,
		Cluster:         true,
		ClusterVersion:  func() uint8 { return c.machine.Topology().ClusterVersion() },
		SnapshotEntries: c.n.cfg.SnapshotEntries,
		ElectionRTT:     c.n.cfg.ElectionRTT,
		OnChange:        c.n.onChange,
		OnKeyMiss:       c.n.onKeyMiss,
		Logger:          c.log,
		InitialConfig:   shardConfig(sh),
	}
	for _, r := range sh.InitSlots {
		for sl := int(r.Start); sl <= int(r.End); sl++ {
			opts.InitialSlots = append(opts.InitialSlots, uint16(sl))
		}
	}
	if slices.Contains(sh.Initial, c.id) && rid == c.id {
		opts.Members = map[uint64]string{}
		for _, rid := range sh.Initial {
			nd := topo.Node(rid)
			if nd == nil {
				return fmt.Errorf("initial member %d is not in the directory", rid)
			}
			opts.Members[rid] = nd.RaftAddr
		}
	} else if !c.host.HasData(sh.ID, rid) {
		opts.Join = true
	}
	_, err := c.host.StartShard(opts, c.table)
	if err == nil {
		c.log.Info("replica started", "shard", sh.ID, "join", opts.Join)
	}
	return err
}

// reportLeader records this node as the shard's leader in the directory,
// a routing hint for nodes without a replica of the shard.
func (c *clusterNode) reportLeader(s *shard.Shard, sh *cluster.Shard) {
	_, term, ok := s.Leader()
	if !ok || (sh.Leader == c.id && sh.Term == term) || term < sh.Term {
		return
	}
	c.mu.Lock()
	busy := c.reporting[sh.ID]
	c.reporting[sh.ID] = true
	c.mu.Unlock()
	if busy {
		return
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		c.propose(ctx, cluster.Op{Op: "leader", Shard: sh.ID, ID: c.id, Term: term})
		cancel()
		c.mu.Lock()
		delete(c.reporting, sh.ID)
		c.mu.Unlock()
	}()
}

// syncMembers adds the replicas the directory lists to the shard's Raft
// group and removes the ones it does not, one change at a time.
func (c *clusterNode) syncMembers(topo *cluster.Topology, s *shard.Shard, sh *cluster.Shard) {
	c.mu.Lock()
	busy := c.memberOp[sh.ID]
	c.mu.Unlock()
	if busy {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	members, err := s.Members(ctx)
	cancel()
	if err != nil {
		return
	}
	var op func(context.Context) error
	var what string
	want := map[uint64]bool{}
	for _, nid := range sh.Replicas {
		want[sh.ReplicaID(nid)] = true
	}
	// Removals first: a re-added node's old replica must leave before its
	// new one can join (Raft refuses two members at one address), and a
	// dead replica being replaced stops counting toward the quorum.
	{
		ids := make([]uint64, 0, len(members))
		for rid := range members {
			ids = append(ids, rid)
		}
		slices.Sort(ids)
		for _, rid := range ids {
			if want[rid] || rid == s.ReplicaID() {
				continue // the leader leaves after handing over (reconcile step 1)
			}
			op = func(ctx context.Context) error { return s.RemoveReplica(ctx, rid) }
			what = fmt.Sprintf("remove replica %d (node %d)", rid, cluster.NodeOf(rid))
			break
		}
	}
	if op == nil {
		for _, nid := range sh.Replicas {
			rid := sh.ReplicaID(nid)
			if _, ok := members[rid]; ok {
				continue
			}
			nd := topo.Node(nid)
			if nd == nil {
				continue
			}
			addr := nd.RaftAddr
			op = func(ctx context.Context) error { return s.AddReplica(ctx, rid, addr) }
			what = fmt.Sprintf("add replica %d (node %d)", rid, nid)
			break
		}
	}
	if op != nil {
		c.memberChange(sh.ID, what, op)
	}
}

// syncSlots gives the shard's state machine the slots the directory
// assigns it that it does not own yet (a new cluster's initial layout).
// Slots under migration are left to the migration.
func (c *clusterNode) syncSlots(topo *cluster.Topology, s *shard.Shard) {
	owned, _ := s.OwnedSlots()
	have := make(map[uint16]bool, len(owned))
	for _, sl := range owned {
		have[sl] = true
	}
	var missing []uint16
	for _, r := range topo.ShardSlots(s.ID()) {
		for sl := int(r.Start); sl <= int(r.End); sl++ {
			if !have[uint16(sl)] && topo.Migrating(uint16(sl)) == nil {
				missing = append(missing, uint16(sl))
			}
		}
	}
	if len(missing) == 0 {
		return
	}
	// Fenced by the directory epoch acted on: refused if a slot move
	// newer than this view has touched one of the slots.
	if _, _, err := s.SlotOp(shard.OpAssign, shard.Fence{Epoch: topo.Epoch}, missing); err != nil {
		c.log.Warn("assign slots", "shard", s.ID(), "err", err)
	}
}

// balanceLeader moves leadership to the shard's preferred replica (the
// first listed), so leaders stay spread over the nodes.
func (c *clusterNode) balanceLeader(s *shard.Shard, sh *cluster.Shard) {
	if len(sh.Replicas) == 0 || sh.Replicas[0] == c.id || c.stopping.Load() {
		return
	}
	c.mu.Lock()
	since := c.leaderFrom[sh.ID]
	last := c.transfer[sh.ID]
	c.mu.Unlock()
	if time.Since(since) < 2*time.Second || time.Since(last) < 3*time.Second {
		return
	}
	target := sh.Replicas[0]
	if nd := c.machine.Topology().Node(target); nd == nil || nd.ClientAddr == "" || c.isDown(target) {
		return // only hand over to a node that serves
	}
	c.transferLeader(s, sh.ReplicaID(target))
}

func (c *clusterNode) transferLeader(s *shard.Shard, target uint64) {
	c.mu.Lock()
	last := c.transfer[s.ID()]
	if time.Since(last) < 2*time.Second {
		c.mu.Unlock()
		return
	}
	c.transfer[s.ID()] = time.Now()
	c.mu.Unlock()
	if err := s.TransferLeader(target); err != nil {
		c.log.Debug("leader transfer", "shard", s.ID(), "to", target, "err", err)
	} else {
		c.log.Info("leader transfer", "shard", s.ID(), "to", target)
	}
}

// syncMetaMembers keeps the meta group's membership equal to the
// directory's nodes: up to five voters, the rest non-voting.
func (c *clusterNode) syncMetaMembers(topo *cluster.Topology) {
	c.mu.Lock()
	busy := c.memberOp[cluster.MetaShardID]
	c.mu.Unlock()
	if busy {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	voting, nonVoting, err := c.meta.Members(ctx)
	cancel()
	if err != nil {
		return
	}
	var op func(context.Context) error
	for _, nd := range topo.Nodes {
		if _, ok := voting[nd.ID]; ok {
			continue
		}
		if _, ok := nonVoting[nd.ID]; ok {
			continue
		}
		nd := nd
		nv := len(voting) >= 5
		op = func(ctx context.Context) error { return c.meta.AddMember(ctx, nd.ID, nd.RaftAddr, nv) }
		break
	}
	if op == nil {
		for id := range voting {
			if topo.Node(id) == nil && id != c.id {
				id := id
				op = func(ctx context.Context) error { return c.meta.RemoveMember(ctx, id) }
				break
			}
		}
		for id := range nonVoting {
			if op == nil && topo.Node(id) == nil {
				id := id
				op = func(ctx context.Context) error { return c.meta.RemoveMember(ctx, id) }
			}
		}
	}
	if op != nil {
		c.memberChange(cluster.MetaShardID, "meta membership", op)
	}
}

// memberChange runs one membership change of a Raft group in the
// background; the group gets no other change until it ends.
func (c *clusterNode) memberChange(group uint64, what string, op func(context.Context) error) {
	c.mu.Lock()
	c.memberOp[group] = true
	c.mu.Unlock()
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := op(ctx)
		cancel()
		if err != nil {
			c.log.Warn("membership change", "group", group, "op", what, "err", err)
		} else {
			c.log.Info("membership change", "group", group, "op", what)
		}
		c.mu.Lock()
		delete(c.memberOp, group)
		c.mu.Unlock()
	}()
}

// removedFromGroup tells whether a replica the directory no longer lists
// may stop: the group has removed it (as the replica itself or, since a
// removed replica may never learn of its removal, another node reads the
// group's membership), or neither has heard of the group for ten seconds.
func (c *clusterNode) removedFromGroup(s *shard.Shard) bool {
	c.mu.Lock()
	since, ok := c.leaving[s.ID()]
	if !ok {
		since = time.Now()
		c.leaving[s.ID()] = since
	}
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	m, err := s.Members(ctx)
	if err != nil {
		// A removed replica cannot read the group's membership any more:
		// ask the nodes that replicate the shard.
		m, err = c.remoteMembers(s.ID())
	}
	if err == nil {
		_, in := m[s.ReplicaID()]
		if in {
			// News of the group: the ten seconds count from here.
			c.mu.Lock()
			c.leaving[s.ID()] = time.Now()
			c.mu.Unlock()
		}
		return !in
	}
	return time.Since(since) > 10*time.Second
}

// remoteMembers asks the other nodes the directory lists for a shard
// (CLUSTER MEMBERS) for the group's voting members; the first that can
// read them from the group answers.
func (c *clusterNode) remoteMembers(sid uint64) (map[uint64]string, error) {
	topo := c.machine.Topology()
	sh := topo.Shard(sid)
	if sh == nil || topo.Secret == "" {
		return nil, errors.New("no shard or no cluster secret")
	}
	last := errors.New("no node answers")
	for _, nid := range sh.Replicas {
		nd := topo.Node(nid)
		if nid == c.id || nd == nil || nd.ClientAddr == "" || c.isDown(nid) {
			continue
		}
		out, err := resp.CallNode(nd.ClientAddr, 500*time.Millisecond, topo.Secret, []byte("CLUSTER"), []byte("MEMBERS"), []byte(strconv.FormatUint(sid, 10)))
		if err != nil {
			last = err
			continue
		}
		m := make(map[uint64]string, len(out))
		for _, b := range out {
			rid, err := strconv.ParseUint(string(b), 10, 64)
			if err != nil {
				return nil, fmt.Errorf("bad CLUSTER MEMBERS reply %q", b)
			}
			m[rid] = ""
		}
		return m, nil
	}
	return nil, last
}
