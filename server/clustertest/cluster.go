// Package clustertest runs Cairn clusters inside a test process: every
// node is a server.Node on loopback client ports, and Raft runs over a
// shard.FaultNet so a test can cut links (partitions, an isolated leader)
// and heal them. Nodes can be stopped and restarted on their data.
package clustertest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cairndb/cairn/server"
	"github.com/cairndb/cairn/server/cluster/control"
	"github.com/cairndb/cairn/server/shard"
)

// Cluster is an in-process cluster.
type Cluster struct {
	t    testing.TB
	Net  *shard.FaultNet
	mu   sync.Mutex
	cfgs []server.Config
	live []*server.Node
	base int
	// skew is each node's wall-clock offset in ns (clock nemesis).
	skew [64]atomic.Int64
}

var nextBase = struct {
	sync.Mutex
	n int
}{n: 30000}

// Options shape a test cluster.
type Options struct {
	Nodes, Shards, Replicas int
	// SnapshotEntries forces frequent snapshots when small.
	SnapshotEntries uint64
	// Verbose logs the nodes' output (CAIRN_TEST_LOG=1 also does).
	Verbose bool
	// Mod, if set, adjusts node i's (1-based) configuration.
	Mod func(i int, cfg *server.Config)
}

// Start bootstraps a cluster and waits until every slot is served.
func Start(t testing.TB, o Options) *Cluster {
	t.Helper()
	if o.Nodes == 0 {
		o.Nodes = 3
	}
	if o.Shards == 0 {
		o.Shards = o.Nodes
	}
	if o.Replicas == 0 {
		o.Replicas = min(3, o.Nodes)
	}
	nextBase.Lock()
	base := nextBase.n
	nextBase.n += 100
	nextBase.Unlock()
	c := &Cluster{t: t, Net: shard.NewFaultNet(), base: base}
	peers := map[uint64]string{}
	for i := 1; i <= o.Nodes; i++ {
		peers[uint64(i)] = c.RaftAddr(i)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if o.Verbose || os.Getenv("CAIRN_TEST_LOG") != "" {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	root := t.TempDir()
	for i := 1; i <= o.Nodes; i++ {
		c.cfgs = append(c.cfgs, server.Config{
			// Free ports, picked at the first start and kept for
			// restarts: the client port by the test (below), the shard
			// endpoints by the node (it records them in its data
			// directory; for a fixed Port the default would move them to
			// Port+100...: see TestRestartKeepsEndpointPorts).
			Port:            -1,
			ShardPorts:      -1,
			Dir:             fmt.Sprintf("%s/node%d", root, i),
			RaftAddr:        c.RaftAddr(i),
			NodeID:          uint64(i),
			Peers:           peers,
			Shards:          o.Shards,
			Replicas:        o.Replicas,
			SnapshotEntries: o.SnapshotEntries,
			FaultNet:        c.Net,
			Clock:           c.clock(i),
			Logger:          logger.With("node", i),
		})
		if o.Mod != nil {
			o.Mod(i, &c.cfgs[i-1])
		}
	}
	c.live = make([]*server.Node, o.Nodes)
	var wg sync.WaitGroup
	errs := make([]error, o.Nodes)
	for i := range c.cfgs {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c.live[i], errs[i] = server.Start(c.cfgs[i])
		}(i)
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			c.Close()
			t.Fatalf("start node %d: %v", i+1, err)
		}
		c.cfgs[i].Port = portOf(c.live[i].Addr())
	}
	t.Cleanup(c.Close)
	c.WaitServing(30 * time.Second)
	return c
}

// Join starts a new node that joins the running cluster through node
// via (1-based) and returns the new node's index.
func (c *Cluster) Join(via int) int {
	c.t.Helper()
	c.mu.Lock()
	i := len(c.cfgs) + 1
	cfg := c.cfgs[0]
	cfg.Port = -1
	cfg.Dir = fmt.Sprintf("%s-join%d", c.cfgs[0].Dir, i)
	cfg.RaftAddr = c.RaftAddr(i)
	cfg.NodeID = 0
	cfg.Peers = nil
	cfg.Join = "127.0.0.1:" + strconv.Itoa(c.cfgs[via-1].Port)
	cfg.Logger = c.cfgs[0].Logger.With("node", i)
	cfg.Clock = c.clock(i)
	c.cfgs = append(c.cfgs, cfg)
	c.live = append(c.live, nil)
	c.mu.Unlock()
	n, err := server.Start(cfg)
	if err != nil {
		c.t.Fatalf("join node %d: %v", i, err)
	}
	c.mu.Lock()
	c.cfgs[i-1].Port = portOf(n.Addr())
	c.live[i-1] = n
	c.mu.Unlock()
	return i
}

// clock is node i's (1-based) wall clock: real time plus its skew.
func (c *Cluster) clock(i int) func() time.Time {
	off := &c.skew[i-1]
	return func() time.Time { return time.Now().Add(time.Duration(off.Load())) }
}

// SetSkew sets node i's clock offset from real time (a jump, forward or
// backward, from its current offset).
func (c *Cluster) SetSkew(i int, d time.Duration) { c.skew[i-1].Store(int64(d)) }

// Skew returns node i's clock offset.
func (c *Cluster) Skew(i int) time.Duration { return time.Duration(c.skew[i-1].Load()) }

func portOf(addr string) int {
	_, p, _ := strings.Cut(addr, ":")
	n, _ := strconv.Atoi(p)
	return n
}

// RaftAddr is node i's (1-based) Raft address on the fault network.
func (c *Cluster) RaftAddr(i int) string { return "127.0.0.1:" + strconv.Itoa(c.base+i) }

// Addr is node i's client address.
func (c *Cluster) Addr(i int) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n := c.live[i-1]; n != nil {
		return n.Addr()
	}
	return "127.0.0.1:" + strconv.Itoa(c.cfgs[i-1].Port)
}

// Node returns node i, or nil while it is stopped.
func (c *Cluster) Node(i int) *server.Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.live[i-1]
}

// Len is the number of nodes.
func (c *Cluster) Len() int { return len(c.cfgs) }

// Stop stops node i (its data stays).
func (c *Cluster) Stop(i int) {
	c.mu.Lock()
	n := c.live[i-1]
	c.live[i-1] = nil
	c.mu.Unlock()
	if n != nil {
		n.Close()
	}
}

// Restart starts node i again on its data directory.
func (c *Cluster) Restart(i int) {
	c.t.Helper()
	c.Stop(i)
	cfg := c.cfgs[i-1]
	n, err := server.Start(cfg)
	if err != nil {
		c.t.Fatalf("restart node %d: %v", i, err)
	}
	c.mu.Lock()
	c.live[i-1] = n
	c.mu.Unlock()
}

// Isolate cuts node i off from every other node.
func (c *Cluster) Isolate(i int) {
	var others []string
	for j := 1; j <= len(c.cfgs); j++ {
		others = append(others, c.RaftAddr(j))
	}
	c.Net.Isolate(c.RaftAddr(i), others)
}

// Partition cuts every link between the two groups of nodes.
func (c *Cluster) Partition(a, b []int) {
	for _, i := range a {
		for _, j := range b {
			c.Net.Cut(c.RaftAddr(i), c.RaftAddr(j))
		}
	}
}

// Heal restores every link.
func (c *Cluster) Heal() { c.Net.Heal() }

// Close stops every node.
func (c *Cluster) Close() {
	for i := 1; i <= len(c.cfgs); i++ {
		c.Stop(i)
	}
}

// Client returns a go-redis cluster client seeded with every node.
func (c *Cluster) Client(mod ...func(*redis.ClusterOptions)) *redis.ClusterClient {
	var addrs []string
	for i := 1; i <= len(c.cfgs); i++ {
		addrs = append(addrs, c.Addr(i))
	}
	o := &redis.ClusterOptions{
		Addrs:           addrs,
		MaxRedirects:    16,
		DialTimeout:     time.Second,
		ReadTimeout:     5 * time.Second,
		WriteTimeout:    5 * time.Second,
		MinRetryBackoff: 10 * time.Millisecond,
		MaxRetryBackoff: 100 * time.Millisecond,
		MaxRetries:      5, // per node client too: a dead node must fail fast
		DialerRetries:   1,
		// go-redis learns of a dead master only from a state refresh
		// (default every 60 s); fast failover wants a short interval.
		ClusterStateReloadInterval: time.Second,
	}
	for _, m := range mod {
		m(o)
	}
	if o.Dialer == nil {
		timeout := o.DialTimeout
		o.Dialer = func(ctx context.Context, network, addr string) (net.Conn, error) {
			if !c.ownAddr(addr) {
				return nil, fmt.Errorf("dial %s: no node of this test cluster serves there", addr)
			}
			d := net.Dialer{Timeout: timeout, KeepAlive: 5 * time.Minute}
			return d.DialContext(ctx, network, addr)
		}
	}
	cl := redis.NewClusterClient(o)
	c.t.Cleanup(func() { cl.Close() })
	return cl
}

// ownAddr tells whether addr is one of this cluster's: a node's client
// port or a port its shard endpoints took (the ports a node records in
// shard-ports in its data directory). The cluster's clients dial nothing
// else: go-redis keeps every address it was shown and asks random ones
// for the slot map, and an address no node serves any more may by then
// belong to another process on the machine, even another cluster that
// would answer for all slots and acknowledge the client's writes (see
// TestRestartKeepsEndpointPorts).
func (c *Cluster) ownAddr(addr string) bool {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || (host != "127.0.0.1" && host != "localhost") {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, cfg := range c.cfgs {
		if strconv.Itoa(cfg.Port) == port {
			return true
		}
		ports, _ := control.RecordedShardPorts(cfg.Dir)
		for _, p := range ports {
			if strconv.Itoa(p) == port {
				return true
			}
		}
	}
	return false
}

// OwnsAddr tells whether addr is a client port or shard endpoint of
// one of this cluster's nodes.
func (c *Cluster) OwnsAddr(addr string) bool { return c.ownAddr(addr) }

// Write sets key through any live node, following MOVED as a cluster
// client that refreshes its map on errors would; it returns nil once one
// attempt succeeds or the last error at the deadline.
func (c *Cluster) Write(ctx context.Context, key, value string, deadline time.Time) error {
	var last error
	for time.Now().Before(deadline) {
		for i := 1; i <= len(c.cfgs); i++ {
			if c.Node(i) == nil {
				continue
			}
			addr := c.Addr(i)
			for hop := 0; hop < 3; hop++ {
				cl := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: 200 * time.Millisecond, ReadTimeout: time.Second})
				err := cl.Set(ctx, key, value, 0).Err()
				cl.Close()
				if err == nil {
					return nil
				}
				last = err
				if f := strings.Fields(err.Error()); len(f) == 3 && f[0] == "MOVED" {
					addr = f[2]
					continue
				}
				break
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	return last
}

// NodeClient returns a plain client of node i.
func (c *Cluster) NodeClient(i int) *redis.Client {
	cl := redis.NewClient(&redis.Options{Addr: c.Addr(i), DialTimeout: time.Second, MaxRetries: -1, ReadTimeout: time.Minute})
	c.t.Cleanup(func() { cl.Close() })
	return cl
}

// WaitServing waits until some live node reports cluster_state:ok and
// every live node answers.
func (c *Cluster) WaitServing(timeout time.Duration) {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok := true
		for i := 1; i <= len(c.cfgs); i++ {
			if c.Node(i) == nil {
				continue
			}
			cl := redis.NewClient(&redis.Options{Addr: c.Addr(i), MaxRetries: -1})
			info, err := cl.ClusterInfo(context.Background()).Result()
			cl.Close()
			if err != nil || !strings.Contains(info, "cluster_state:ok") {
				ok = false
				break
			}
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("cluster not serving after %v", timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Topology returns CLUSTER TOPOLOGY (JSON) from some live node.
func (c *Cluster) Topology() string {
	for i := 1; i <= len(c.cfgs); i++ {
		if c.Node(i) == nil {
			continue
		}
		cl := redis.NewClient(&redis.Options{Addr: c.Addr(i), MaxRetries: -1})
		s, err := cl.Do(context.Background(), "CLUSTER", "TOPOLOGY").Text()
		cl.Close()
		if err == nil {
			return s
		}
	}
	return ""
}
