// Package control is a node's cluster control plane. It runs the node's
// replica of the directory (package cluster) in the meta Raft group and
// makes the node follow it: the reconciler starts and stops shard
// replicas, changes Raft memberships, assigns slots and places leaders
// (plane.go); the router picks the shard a command runs on or answers
// MOVED/CROSSSLOT and fans keyless commands out over the shards this
// node leads (router.go); it serves CLUSTER (clustercmd.go, topoview.go),
// runs fenced slot migrations (migrate.go), carries replicated CONFIG SET
// to every shard (config.go), forwards pub/sub messages to other nodes
// (forward.go), opens one client endpoint per local shard replica
// (endpoints.go) and hands leaderships off before a planned stop
// (handoff.go).
//
// The session layer reaches it only through server.Node's backend, which
// implements session.Backend; the control plane knows the session package
// for the Route, Pending and Backend types it serves.
package control

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
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
	"github.com/cairndb/cairn/server/session"
	"github.com/cairndb/cairn/server/shard"
)

// Plane is a node's cluster machinery: its meta replica (the
// directory), the keyspace shards it replicates, and the reconciler that
// makes Raft memberships, slot ownership and leader placement follow the
// directory.
type Plane struct {
	cfg     Config
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
	// ftSync (under mu) and ftBusy: syncFT's state per led shard (ft.go)
	ftSync map[uint64]*ftSyncState
	ftBusy sync.Map
	// eps are the node's shard endpoints (endpoints.go).
	eps endpoints
	// fwd carries pub/sub messages to other nodes (forward.go).
	fwd forwarders
	// regionRO: the node is in a secondary region (region.go).
	regionRO atomic.Bool
	// streams are the backup streams this node serves (backupstream.go).
	streams backupStreams
}

// Config is what the control plane needs from the node that runs it.
type Config struct {
	// Dir is the node's data directory (it holds node.id).
	Dir string
	// NodeID, Join, Peers, Shards and Replicas are server.Config's, with
	// its defaults applied (Shards and Replicas are set when Peers is).
	NodeID   uint64
	Join     string
	Peers    map[uint64]string
	Shards   int
	Replicas int
	// RaftAddr is this node's Raft transport address.
	RaftAddr string
	// Announce is the client address this node announces.
	Announce string
	// RequirePass is sent with AUTH when probing peers (and when joining
	// without JoinCredential).
	RequirePass string
	// JoinCredential (raftauth.JoinCredential of the Raft secret) is what
	// this node authenticates with as a node (AUTH cairn-node) to send
	// CLUSTER ADDNODE when it joins, and what it accepts from a joining
	// node. "" under tls-cluster: there a joining node's certificate,
	// chained to the cluster's CA, is its credential.
	JoinCredential string
	// Bind, Port, ShardPorts and ShardPortStep place the shard
	// endpoints (endpoints.go); they are server.Config's with its
	// defaults applied: ShardPorts < 0 picks free ports, ShardPortStep
	// is positive.
	Bind                            string
	Port, ShardPorts, ShardPortStep int
	// RTTMillisecond, ElectionRTT and SnapshotEntries configure the
	// Raft groups this node starts.
	RTTMillisecond, ElectionRTT, SnapshotEntries uint64

	// Host runs the node's Raft groups.
	Host *shard.Host
	// Table is the command table the shards apply.
	Table *command.Table
	// Logger receives the control plane's logs.
	Logger *slog.Logger
	// Listener is the node's client listener; shard endpoints take
	// their announced port offset from it.
	Listener net.Listener
	// Server returns the node's session server, or nil before it runs.
	Server func() *session.Server
	// Backend is the node's backend; shard endpoints serve through it.
	Backend NodeBackend
	// OnChange and OnKeyMiss are passed to every shard this node starts.
	OnChange  func(shard.Change)
	OnKeyMiss func(key string, notify uint32)
	// Dial connects to another node's client address: joining,
	// internal calls, forwarding. Default nil: plain TCP (TLS clusters
	// pass a mutual-TLS dialer).
	Dial resp.Dialer
	// WrapListener, if set, wraps each shard endpoint's listener (TLS
	// when the node's client port is TLS). Default none.
	WrapListener func(net.Listener) net.Listener
	// RegionSecondary starts the plane as a secondary region's
	// (region.go): passive shards, nothing proposed into them.
	RegionSecondary bool
	// Seed, if set, is the layout of a cluster restored from a backup
	// (cairn restore): the bootstrapping peer proposes it with the
	// bootstrap, so the directory records its configuration, FT
	// definitions and each shard's initial state (its shard count
	// replaces Shards).
	Seed *cluster.Seed
	// OpenInitState opens the initial state of a restored shard, checking
	// it is the one whose SHA-256 the directory records; (nil, nil) when
	// this node's data directory does not hold it.
	OpenInitState func(shard uint64, sha256 string) (io.ReadCloser, error)
}

// NodeBackend is the node's session backend as a shard endpoint embeds
// it: the session.Backend plus the optional interfaces the session layer
// looks for (memory accounting, the node secret).
type NodeBackend interface {
	session.Backend
	session.MemoryBackend
	NodeSecret() string
}

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

// Start brings up the cluster side of a node: node identity, the
// meta replica, bootstrap or join, then the reconciler. It returns once
// the directory is bootstrapped and this node is in it.
func Start(config Config) (*Plane, error) {
	cfg := &config
	announce := cfg.Announce
	id, err := readNodeID(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("read node id: %w", err)
	}
	if cfg.NodeID != 0 && id != 0 && cfg.NodeID != id {
		return nil, fmt.Errorf("--node-id %d but %s holds node %d", cfg.NodeID, cfg.Dir, id)
	}
	if id == 0 {
		id = cfg.NodeID
	}
	if id == 0 && cfg.Join != "" {
		// Ask the cluster for an ID; it also adds this node to the directory.
		// CLUSTER ADDNODE is a node-only command: authenticate as a node
		// with the credential the Raft secret gives (under tls-cluster the
		// certificate the dialer presents does).
		var v string
		if cfg.JoinCredential != "" {
			var out [][]byte
			out, err = resp.CallNodeWith(cfg.Dial, cfg.Join, 30*time.Second, cfg.JoinCredential, []byte("CLUSTER"), []byte("ADDNODE"), []byte(cfg.RaftAddr), []byte(announce))
			if err == nil && len(out) == 1 {
				v = string(out[0])
			} else if err == nil {
				err = fmt.Errorf("bad CLUSTER ADDNODE reply %q", out)
			}
		} else {
			v, err = resp.CallWith(cfg.Dial, cfg.Join, 30*time.Second, cfg.RequirePass, "CLUSTER", "ADDNODE", cfg.RaftAddr, announce)
		}
		if err != nil {
			return nil, fmt.Errorf("join %s: %w", cfg.Join, err)
		}
		if id, err = strconv.ParseUint(v, 10, 64); err != nil || id == 0 {
			return nil, fmt.Errorf("join %s: bad node id %q", cfg.Join, v)
		}
	}
	if id == 0 {
		return nil, errors.New("cluster mode needs --node-id (or --join to get one)")
	}
	if err := writeNodeID(cfg.Dir, id); err != nil {
		return nil, fmt.Errorf("write node id: %w", err)
	}
	if len(cfg.Peers) > 0 {
		if addr, ok := cfg.Peers[id]; ok && addr != cfg.RaftAddr {
			return nil, fmt.Errorf("--peers gives node %d the raft address %s but --raft-addr is %s", id, addr, cfg.RaftAddr)
		}
	}

	c := &Plane{
		cfg: config, id: id, host: cfg.Host, machine: cluster.NewMachine(), table: cfg.Table, log: cfg.Logger.With("node", id),
		leaderFrom: map[uint64]time.Time{}, transfer: map[uint64]time.Time{}, migrating: map[uint64]bool{},
		reporting: map[uint64]bool{}, memberOp: map[uint64]bool{}, leaving: map[uint64]time.Time{},
		kick: make(chan struct{}, 1), quit: make(chan struct{}),
	}
	c.regionRO.Store(cfg.RegionSecondary)
	c.machine.OnPanic = func(op string, v any, stack []byte) {
		c.log.Error("directory op panicked; answered with an error, the directory is unchanged",
			"op", op, "panic", fmt.Sprint(v), "stack", string(stack))
	}
	restarting := cfg.Host.HasData(cluster.MetaShardID, id)
	if restarting {
		// Leases granted with this node's help before it stopped must run
		// out before it may vote again (see shard/lease.go).
		time.Sleep(shard.RestartDelay(cfg.ElectionRTT, cfg.RTTMillisecond))
	}
	_, inPeers := cfg.Peers[id]
	mo := shard.MetaOptions{ShardID: cluster.MetaShardID, ReplicaID: id, ElectionRTT: cfg.ElectionRTT}
	if inPeers {
		mo.Members = cfg.Peers
	} else {
		mo.Join = true
	}
	if c.meta, err = cfg.Host.StartMeta(mo, c.machine); err != nil {
		return nil, err
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
			pctx, pcancel := context.WithTimeout(ctx, 5*time.Second)
			op := cluster.Op{Op: "bootstrap", Nodes: nodes, NShards: cfg.Shards, NReplica: cfg.Replicas}
			if cfg.Seed != nil {
				// A restored cluster (directory format 2).
				op.Seed, op.NShards, op.V = cfg.Seed, len(cfg.Seed.InitState), 2
			}
			_, err := c.propose(pctx, op)
			pcancel()
			if err != nil && !strings.Contains(err.Error(), "already bootstrapped") {
				c.log.Warn("bootstrap", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return nil, errors.New("cluster: timed out waiting for the directory (are the other peers running?)")
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
				return nil, fmt.Errorf("cluster: announce: %w", err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	c.reconcile() // start this node's shards before serving
	c.startEndpoints()
	c.wg.Add(2)
	go c.loop()
	go c.healthLoop()
	return c, nil
}

// healthLoop checks every 200 ms whether the other nodes answer PING on
// their client port (a node that is restarting accepts connections before
// it serves, so a TCP connect alone is not enough). It feeds the fail flags
// of CLUSTER NODES, SLOTS and SHARDS, and keeps redirects and leader
// hand-overs away from dead nodes. Routing itself follows Raft leadership.
func (c *Plane) healthLoop() {
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
				if _, err := resp.CallWith(c.cfg.Dial, addr, 300*time.Millisecond, c.cfg.RequirePass, "PING"); err != nil {
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
func (c *Plane) isDown(id uint64) bool {
	_, ok := c.down.Load(id)
	return ok
}

// propose commits a directory change.
func (c *Plane) propose(ctx context.Context, op cluster.Op) (uint64, error) {
	b, err := c.meta.Propose(ctx, cluster.Encode(op))
	if err != nil {
		return 0, err
	}
	return cluster.DecodeResult(b)
}

// Close stops pub/sub forwarding, the reconciler and the health checks
// and waits for them; the node closes the Raft host afterwards.
func (c *Plane) Close() {
	c.fwd.close()
	select {
	case <-c.quit:
	default:
		close(c.quit)
	}
	c.wg.Wait()
}

func (c *Plane) poke() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

func (c *Plane) loop() {
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
func (c *Plane) reconcile() {
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
	for _, id := range c.LocalShards() {
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
	for _, id := range c.LocalShards() {
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
		if !c.regionRO.Load() {
			// A secondary region's shards get all of these from the
			// primary's shipped logs (region.go).
			c.syncSlots(topo, s)
			c.syncConfig(topo, s, sh)
			c.syncFT(topo, s)
		}
		c.balanceLeader(s, sh)
	}
	// 3. As the meta leader: meta membership and slot migrations.
	if c.meta.IsLeader() {
		c.syncMetaMembers(topo)
		c.ensureSecret(topo)
		for _, m := range topo.Migrations {
			if c.regionRO.Load() {
				break // a secondary region moves no data of its own
			}
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
func (c *Plane) retire(s *shard.Shard, sh *cluster.Shard) bool {
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
	if srv := c.cfg.Server(); srv != nil {
		srv.TrackChanged(nil, true)
	}
	c.mu.Lock()
	delete(c.leaving, id)
	c.mu.Unlock()
	return true
}

// LocalShards lists the shards this node holds a replica of.
func (c *Plane) LocalShards() []uint64 {
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

func (c *Plane) startShard(topo *cluster.Topology, sh *cluster.Shard) error {
	rid := sh.ReplicaID(c.id)
	opts := shard.Options{
		ShardID:         sh.ID,
		ReplicaID:       rid,
		Cluster:         true,
		ClusterVersion:  func() uint8 { return c.machine.Topology().ClusterVersion() },
		SnapshotEntries: c.cfg.SnapshotEntries,
		ElectionRTT:     c.cfg.ElectionRTT,
		OnChange:        c.cfg.OnChange,
		OnKeyMiss:       c.cfg.OnKeyMiss,
		Logger:          c.log,
		InitialConfig:   shardConfig(sh),
		Passive:         c.regionRO.Load(),
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
	restored, fresh := false, !c.host.HasData(sh.ID, rid)
	if sh.InitState != "" {
		// A shard of a restored cluster: its replicas start from the
		// state cairn restore wrote into each node's data directory.
		var r io.ReadCloser
		if c.cfg.OpenInitState != nil {
			var err error
			if r, err = c.cfg.OpenInitState(sh.ID, sh.InitState); err != nil {
				return fmt.Errorf("shard %d: restored state: %w", sh.ID, err)
			}
		}
		if r == nil && opts.Members != nil && !c.host.HasData(sh.ID, rid) {
			return fmt.Errorf("shard %d starts from a restored state this node's data directory does not hold: build it with cairn restore", sh.ID)
		}
		if r != nil {
			defer r.Close()
			opts.InitialState, restored = r, true
		}
	}
	s, err := c.host.StartShard(opts, c.table)
	if err != nil {
		return err
	}
	c.log.Info("replica started", "shard", sh.ID, "join", opts.Join, "restored", restored)
	if restored && fresh {
		// Compact the log behind a snapshot at once: a replica added
		// later (without the restored state) then gets the snapshot,
		// never the log from its first entry.
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			go func() {
				select {
				case <-c.quit:
					cancel()
				case <-ctx.Done():
				}
			}()
			if err := s.CompactNow(ctx); err != nil {
				c.log.Warn("restored shard: first snapshot failed; a replica added later could not catch up from the log", "shard", sh.ID, "err", err)
				return
			}
			c.log.Info("restored shard: first snapshot taken, log compacted", "shard", sh.ID)
		}()
	}
	return nil
}

// reportLeader records this node as the shard's leader in the directory,
// a routing hint for nodes without a replica of the shard.
func (c *Plane) reportLeader(s *shard.Shard, sh *cluster.Shard) {
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
func (c *Plane) syncMembers(topo *cluster.Topology, s *shard.Shard, sh *cluster.Shard) {
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
func (c *Plane) syncSlots(topo *cluster.Topology, s *shard.Shard) {
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
func (c *Plane) balanceLeader(s *shard.Shard, sh *cluster.Shard) {
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

func (c *Plane) transferLeader(s *shard.Shard, target uint64) {
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
func (c *Plane) syncMetaMembers(topo *cluster.Topology) {
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
func (c *Plane) memberChange(group uint64, what string, op func(context.Context) error) {
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
func (c *Plane) removedFromGroup(s *shard.Shard) bool {
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
func (c *Plane) remoteMembers(sid uint64) (map[uint64]string, error) {
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
		out, err := resp.CallNodeWith(c.cfg.Dial, nd.ClientAddr, 500*time.Millisecond, topo.Secret, []byte("CLUSTER"), []byte("MEMBERS"), []byte(strconv.FormatUint(sid, 10)))
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
