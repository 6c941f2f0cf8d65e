package control

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cairndb/cairn/server/cluster"
	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/durable"
	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/server/reply"
	"github.com/cairndb/cairn/server/session"
	"github.com/cairndb/cairn/server/slot"
)

// Shard endpoints. Beside its main client port, a cluster node listens on
// one port per shard replica the directory gives it. A connection there
// talks to one Redis Cluster node with one role (topoview.go): the master
// of the shard's slots while this node's replica leads the shard, else a
// replica of the leader's endpoint. Keyless commands (DBSIZE, KEYS, SCAN,
// RANDOMKEY, FLUSHALL, FLUSHDB, INFO keyspace) act on that shard alone,
// so a client's fan-out over the masters it was shown covers every key
// exactly once, except FT.*, which are cluster-wide and run as on the
// node's client port (ft.go); keys of other shards get MOVED to their leader's
// endpoint; READONLY on a replica endpoint reads the local replica.
//
// Ports are deterministic: shard N's endpoint listens on ShardPorts +
// ShardPortStep*(N-1) (default port+100, step 100), so a restarted node
// gets the same endpoints. Free ports (ShardPorts -1) are picked once and
// recorded in the data directory (shard-ports): a restarted node listens
// on them again, and takes another free port only if its old one is in
// use. Endpoints must not move: a Redis Cluster client keeps every
// address it was shown and may later ask any of them for the slot map
// (go-redis does, at random, for a minute); an endpoint that moved on a
// restart leaves such an address behind, and whatever process listens
// there next can answer as the cluster and acknowledge the client's
// writes. The address announced for an endpoint keeps the same
// distance from the node's announced client address (with --announce
// host:P, shard N's endpoint is announced at host:P+100*N by default).
// Each node records its endpoints in the directory ("announce" with
// Endpoints), so every node can list every endpoint.

// endpoints is a node's shard listeners.
type endpoints struct {
	mu      sync.Mutex
	lns     map[uint64]net.Listener // shard → listener
	addrs   map[uint64]string       // shard → announced address
	serving map[uint64]bool
	failed  map[uint64]time.Time // shard → last listen failure logged
	// picked are the free ports this node's endpoints took (ShardPorts
	// -1), as recorded in shard-ports; loaded tells whether the file
	// was read.
	picked map[uint64]int
	loaded bool
}

// shardPortsFile records, in a node's data directory, the free ports its
// shard endpoints took: a "cairn-shard-ports 1" header (the format
// version), then one "shard port" line each.
const (
	shardPortsFile   = "shard-ports"
	shardPortsHeader = "cairn-shard-ports 1"
)

// RecordedShardPorts reads the ports a node whose data directory is dir
// recorded for its shard endpoints (shard → port; empty when it recorded
// none). A file in another format or version is an error, never skipped.
func RecordedShardPorts(dir string) (map[uint64]int, error) {
	out := map[uint64]int{}
	b, err := os.ReadFile(filepath.Join(dir, shardPortsFile))
	if errors.Is(err, os.ErrNotExist) {
		return out, nil
	}
	if err != nil {
		return out, err
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if lines[0] != shardPortsHeader {
		return map[uint64]int{}, fmt.Errorf("%s: first line %q, want %q (a newer or foreign format)", shardPortsFile, lines[0], shardPortsHeader)
	}
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		var sid uint64
		port := -1
		if len(f) == 2 {
			sid, err = strconv.ParseUint(f[0], 10, 64)
			if err == nil {
				port, err = strconv.Atoi(f[1])
			}
		}
		if len(f) != 2 || err != nil || port <= 0 || port > 65535 {
			return map[uint64]int{}, fmt.Errorf("%s: bad line %q", shardPortsFile, l)
		}
		out[sid] = port
	}
	return out, nil
}

func writeShardPorts(dir string, ports map[uint64]int) error {
	var b strings.Builder
	b.WriteString(shardPortsHeader + "\n")
	for _, sid := range slices.Sorted(maps.Keys(ports)) {
		fmt.Fprintf(&b, "%d %d\n", sid, ports[sid])
	}
	return durable.WriteFile(filepath.Join(dir, shardPortsFile), []byte(b.String()))
}

// endpointPort is the port shard sid's endpoint listens on (0: any).
func (c *Plane) endpointPort(sid uint64) (int, bool) {
	base, step := c.cfg.ShardPorts, c.cfg.ShardPortStep
	if base < 0 {
		return 0, true
	}
	p := base + step*int(sid-1)
	return p, p > 0 && p <= 65535
}

// startEndpoints opens and announces the node's endpoints, then keeps
// them in line with the directory.
func (c *Plane) startEndpoints() {
	c.syncEndpoints()
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-c.quit:
				c.eps.closeAll()
				return
			case <-t.C:
			}
			c.syncEndpoints()
		}
	}()
}

func (e *endpoints) closeAll() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for sid, ln := range e.lns {
		ln.Close()
		delete(e.lns, sid)
		delete(e.addrs, sid)
		delete(e.serving, sid)
	}
}

// syncEndpoints opens a listener for every shard the directory gives
// this node and closes the others, serves them once the client server
// runs, and announces their addresses.
func (c *Plane) syncEndpoints() {
	topo := c.machine.Topology()
	me := topo.Node(c.id)
	if me == nil || me.ClientAddr == "" || c.cfg.Listener == nil {
		return
	}
	e := &c.eps
	e.mu.Lock()
	if e.lns == nil {
		e.lns, e.addrs, e.serving, e.failed = map[uint64]net.Listener{}, map[uint64]string{}, map[uint64]bool{}, map[uint64]time.Time{}
	}
	if !e.loaded && c.cfg.ShardPorts < 0 {
		var err error
		if e.picked, err = RecordedShardPorts(c.cfg.Dir); err != nil {
			c.log.Warn("shard endpoints: read the ports recorded before", "err", err)
		}
		e.loaded = true
	}
	want := map[uint64]bool{}
	for i := range topo.Shards {
		if sh := &topo.Shards[i]; sh.HasReplica(c.id) {
			want[sh.ID] = true
		}
	}
	for sid, ln := range e.lns {
		if !want[sid] {
			ln.Close()
			delete(e.lns, sid)
			delete(e.addrs, sid)
			delete(e.serving, sid)
		}
	}
	mainPort := c.cfg.Listener.Addr().(*net.TCPAddr).Port
	annHost, annPort := hostPort(me.ClientAddr)
	for sid := range want {
		if e.lns[sid] != nil {
			continue
		}
		port, ok := c.endpointPort(sid)
		if !ok {
			if time.Since(e.failed[sid]) > time.Minute {
				e.failed[sid] = time.Now()
				c.log.Error("shard endpoint port out of range; set --shard-ports/--shard-port-step", "shard", sid, "port", port)
			}
			continue
		}
		free := c.cfg.ShardPorts < 0
		if free && e.picked[sid] != 0 {
			port = e.picked[sid] // the port it had before a restart
		}
		ln, err := net.Listen("tcp", net.JoinHostPort(c.cfg.Bind, strconv.Itoa(port)))
		if err != nil && free && port != 0 {
			c.log.Warn("shard endpoint: the port it had before is in use; a new free port instead", "shard", sid, "port", port, "err", err)
			port = 0
			ln, err = net.Listen("tcp", net.JoinHostPort(c.cfg.Bind, "0"))
		}
		if err != nil {
			if time.Since(e.failed[sid]) > time.Minute {
				e.failed[sid] = time.Now()
				c.log.Error("shard endpoint: listen", "shard", sid, "port", port, "err", err)
			}
			continue
		}
		delete(e.failed, sid)
		if c.cfg.WrapListener != nil {
			ln = c.cfg.WrapListener(ln)
		}
		lport := ln.Addr().(*net.TCPAddr).Port
		ap := annPort + (lport - mainPort)
		if annPort == 0 || ap <= 0 || ap > 65535 {
			ap = lport
		}
		e.lns[sid] = ln
		e.addrs[sid] = net.JoinHostPort(annHost, strconv.Itoa(ap))
		if free && e.picked[sid] != lport {
			e.picked[sid] = lport
			if err := writeShardPorts(c.cfg.Dir, e.picked); err != nil {
				c.log.Warn("shard endpoint: record its port", "shard", sid, "port", lport, "err", err)
			}
		}
	}
	if srv := c.cfg.Server(); srv != nil {
		for sid, ln := range e.lns {
			if !e.serving[sid] {
				e.serving[sid] = true
				go srv.ServeBackend(ln, &epBackend{NodeBackend: c.cfg.Backend, c: c, sid: sid})
			}
		}
	}
	announce := maps.Clone(e.addrs)
	e.mu.Unlock()

	if len(announce) == 0 || maps.Equal(announce, me.Endpoints) {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := c.propose(ctx, cluster.Op{Op: "announce", ID: c.id, Endpoints: announce}); err != nil {
		c.log.Warn("announce shard endpoints", "err", err)
	}
}

// epBackend serves the connections of one shard endpoint. It routes to
// the shard's leader or, for a READONLY read or a keyless read on a
// replica, to this node's replica of the shard.
type epBackend struct {
	NodeBackend
	c   *Plane
	sid uint64
}

var errReadonlyReplica = reply.Error("READONLY You can't write against a read only replica.")

func (e *epBackend) Route(spec *command.Spec, args [][]byte, readOnly, asking bool) (session.Route, reply.Value, bool) {
	c := e.c
	s := c.host.Shard(e.sid)
	if ftKind(spec) != ftNone {
		// FT.*: the node's coordinator (ft.go), whichever endpoint a
		// cluster client picked for a keyless command. An index is one
		// per shard and recorded in the directory: a write or read on
		// this shard alone would leave the others without it, or answer
		// for a third of the keys.
		if readOnly && ftReadKind(spec) {
			return session.ClusterReplicaRoute, reply.Value{}, true
		}
		return session.NodeRoute, reply.Value{}, true
	}
	keys := spec.Keys(args)
	if len(keys) == 0 {
		// Keyless: this shard alone, as a Redis node answers for itself.
		switch {
		case s == nil:
			return session.Route{}, errDown, false
		case s.IsLeader():
			return session.LeaderRoute(e.sid), reply.Value{}, true
		case spec.IsWrite():
			return session.Route{}, errReadonlyReplica, false
		}
		return session.ReplicaRoute(e.sid), reply.Value{}, true
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
	if sid == e.sid && s != nil {
		if s.IsLeader() {
			return session.LeaderRoute(sid), reply.Value{}, true
		}
		if readOnly && !spec.IsWrite() {
			return session.ReplicaRoute(sid), reply.Value{}, true
		}
	}
	if sid != e.sid && s != nil && s.IsLeader() && s.OwnsSlot(sl) {
		// The directory here lags a slot move into this shard (see
		// ledOwner).
		return session.LeaderRoute(e.sid), reply.Value{}, true
	}
	return session.Route{}, c.moved(topo, sl, sid), false
}

func (e *epBackend) Cluster(args [][]byte) reply.Value { return e.c.epCommand(e.sid, args) }

// Status is the node's, with the keyspace and role of this shard's
// replica (INFO keyspace, replication).
func (e *epBackend) Status() session.Status {
	st := e.NodeBackend.Status()
	st.Keys, st.Expires, st.Hits, st.Misses, st.ExpiredKeys = 0, 0, 0, 0, 0
	c := e.c
	if s := c.host.Shard(e.sid); s != nil {
		ss := s.Status()
		st.IsLeader, st.ShardID, st.ReplicaID, st.LeaderID = ss.IsLeader, ss.ShardID, ss.ReplicaID, ss.LeaderID
		st.Term, st.AppliedIndex, st.LastLogIndex, st.SnapshotIndex = ss.Term, ss.AppliedIndex, ss.LastLogIndex, ss.SnapshotIndex
		s.View(func(db *keyspace.DB) {
			st.Keys = int64(db.Len())
			st.Expires = int64(db.Expiring())
			st.Hits = db.Stats.Hits.Load()
			st.Misses = db.Stats.Misses.Load()
			st.ExpiredKeys = db.Stats.ExpiredKeys.Load()
		})
	}
	topo := c.machine.Topology()
	if sh := topo.Shard(e.sid); sh != nil {
		if l := c.leaderOf(topo, sh); l != c.id {
			st.MasterAddr = epAddr(topo, l, e.sid)
		} else {
			st.Replicas = max(len(sh.Replicas)-1, 0)
		}
	}
	return st
}
