package clustertest

import (
	"context"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cairndb/cairn/server/servertest"
)

// TestProcessKillAndPause runs a three-node cluster of real cairn
// processes over TCP and, under write load, SIGSTOPs the node leading a
// shard for longer than the election timeout (a paused leader: it must
// not serve or acknowledge anything stale when it wakes), then SIGKILLs a
// node and restarts it. Every acknowledged write must survive.
func TestProcessKillAndPause(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process cluster test skipped in -short mode")
	}
	bin := servertest.Binary(t)
	procs := startProcesses(t, bin, 3, nil)
	ctx := context.Background()
	var addrs []string
	for _, p := range procs {
		addrs = append(addrs, p.Addr())
	}
	cl := redis.NewClusterClient(&redis.ClusterOptions{
		Addrs: addrs, MaxRetries: 5, DialerRetries: 1, MaxRedirects: 16,
		MinRetryBackoff: 10 * time.Millisecond, MaxRetryBackoff: 100 * time.Millisecond,
		ReadTimeout: 2 * time.Second, WriteTimeout: 2 * time.Second, DialTimeout: time.Second,
		ClusterStateReloadInterval: time.Second,
	})
	defer cl.Close()
	waitFor(t, 30*time.Second, "cluster serving", func() bool { return cl.Set(ctx, "warmup", 1, 0).Err() == nil })

	w := startWriters(cl, 8, "p")
	defer w.halt()
	waitFor(t, 20*time.Second, "writes", func() bool { return w.count.Load() > 300 })

	// leaderOf returns the index of a node that leads a shard: the node
	// behind the first master endpoint in CLUSTER NODES (an endpoint's
	// ID is "ca1e", its node in 20 hex digits, its shard in 16).
	leaderOf := func() int {
		for _, p := range procs {
			nc := redis.NewClient(&redis.Options{Addr: p.Addr(), MaxRetries: -1})
			nodes, err := nc.ClusterNodes(ctx).Result()
			nc.Close()
			if err != nil {
				continue
			}
			for _, line := range strings.Split(nodes, "\n") {
				f := strings.Fields(line)
				if len(f) > 8 && strings.Contains(f[2], "master") && len(f[0]) == 40 {
					if n, err := strconv.ParseUint(f[0][4:24], 16, 64); err == nil && n >= 1 && int(n) <= len(procs) {
						return int(n) - 1
					}
				}
			}
		}
		t.Fatal("no node answers CLUSTER NODES with a master")
		return 0
	}

	// 1. Pause a node that leads a shard for 2 s (ten election timeouts).
	paused := leaderOf()
	if err := procs[paused].Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	before := w.count.Load()
	waitFor(t, 20*time.Second, "writes while a leader is paused", func() bool { return w.count.Load() > before+300 })
	time.Sleep(2 * time.Second)
	if err := procs[paused].Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	t.Logf("paused node %d for 2 s+; writes went on", paused+1)

	// 2. SIGKILL another node, keep writing, restart it.
	victim := (paused + 1) % 3
	procs[victim].Kill()
	before = w.count.Load()
	waitForOr(t, 20*time.Second, "writes after a kill", func() bool { return w.count.Load() > before+300 }, func() {
		t.Logf("writes: %d acknowledged (%d when the node was killed), %d errors, last %v", w.count.Load(), before, w.errs.Load(), w.lastErr.Load())
		logClusterInfo(t, procs, victim)
	})
	if err := procs[victim].Start(); err != nil {
		t.Fatal(err)
	}
	before = w.count.Load()
	waitFor(t, 30*time.Second, "writes after the restart", func() bool { return w.count.Load() > before+300 })
	w.halt()
	t.Logf("%d writes acknowledged, %d unknown outcomes (last error: %v)", w.count.Load(), w.errs.Load(), w.lastErr.Load())
	w.verify(t, cl)
}

// logClusterInfo logs every live process's CLUSTER INFO slot counts and
// CLUSTER NODES, for a test that failed waiting for the cluster.
func logClusterInfo(t *testing.T, procs []*servertest.Process, dead int) {
	t.Helper()
	ctx := context.Background()
	for i, p := range procs {
		if i == dead {
			continue
		}
		nc := redis.NewClient(&redis.Options{Addr: p.Addr(), MaxRetries: -1, ReadTimeout: 2 * time.Second})
		info, err := nc.ClusterInfo(ctx).Result()
		t.Logf("node %d CLUSTER INFO (%v):\n%s", i+1, err, info)
		nodes, err := nc.ClusterNodes(ctx).Result()
		t.Logf("node %d CLUSTER NODES (%v):\n%s", i+1, err, nodes)
		nc.Close()
	}
}
