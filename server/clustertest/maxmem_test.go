package clustertest

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cairndb/cairn/server"
)

// TestClusterMaxMemory is the acceptance scenario on a 3-node
// cluster whose one shard has three replicas: CONFIG SET maxmemory 2mb,
// then 1 KB values. Under noeviction the refusal is Redis's OOM error
// while reads and DEL keep working; under allkeys-lru every write succeeds,
// evicted_keys grows on every node, and all replicas end with the same
// state (the evictions went through the log).
func TestClusterMaxMemory(t *testing.T) {
	c := Start(t, Options{Nodes: 3, Shards: 1, Replicas: 3})
	ctx := context.Background()
	cc := c.Client()
	n2 := c.NodeClient(2)
	if err := n2.ConfigSet(ctx, "maxmemory", "2mb").Err(); err != nil {
		t.Fatal(err)
	}
	val := strings.Repeat("v", 1024)

	// noeviction (the default): written until refused.
	var oom error
	written := 0
	for i := 0; i < 20000 && oom == nil; i++ {
		if err := cc.Set(ctx, "k"+strconv.Itoa(i), val, 0).Err(); err != nil {
			oom = err
			break
		}
		written++
	}
	const want = "OOM command not allowed when used memory > 'maxmemory'."
	if oom == nil || oom.Error() != want {
		t.Fatalf("after %d writes of 1 KB over maxmemory 2mb: %v, want %q", written, oom, want)
	}
	if written < 1000 || written > 2100 {
		t.Fatalf("%d 1 KB values fit under 2 MB", written)
	}
	if v, err := cc.Get(ctx, "k0").Result(); err != nil || v != val {
		t.Fatalf("GET while out of memory: %v", err)
	}
	if n, err := cc.Del(ctx, "k0").Result(); err != nil || n != 1 {
		t.Fatalf("DEL while out of memory: %d %v", n, err)
	}

	// allkeys-lru: writes go on, the leader evicts through the log.
	if err := n2.ConfigSet(ctx, "maxmemory-policy", "allkeys-lru").Err(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 6000; i++ {
		if err := cc.Set(ctx, "e"+strconv.Itoa(i), val, 0).Err(); err != nil {
			t.Fatalf("write %d under allkeys-lru: %v", i, err)
		}
	}
	if n, err := cc.Get(ctx, "e5999").Result(); err != nil || n != val {
		t.Fatalf("the newest key was evicted: %v", err)
	}
	for i := 1; i <= c.Len(); i++ {
		rc := c.NodeClient(i)
		info := rc.Info(ctx, "stats", "memory").Val()
		ev := infoField(info, "evicted_keys")
		used, _ := strconv.ParseInt(infoField(info, "used_memory"), 10, 64)
		if n, _ := strconv.Atoi(ev); n < 3000 {
			t.Errorf("node %d: evicted_keys %q after 6 MB written over a 2 MB limit", i, ev)
		}
		if used > 3<<20 {
			t.Errorf("node %d: used_memory %d over a 2 MB limit", i, used)
		}
	}
	waitEqualDigests(t, c, 1, 0)
}

// waitEqualDigests waits until at least shards shards are reported and
// every replica of every shard reports the same applied index and state
// digest; with replicas > 0, every shard must also be reported by exactly
// that many replicas.
func waitEqualDigests(t *testing.T, c *Cluster, shards, replicas int) {
	t.Helper()
	var last string
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		byShard := map[uint64][]server.ShardDigest{}
		for i := 1; i <= c.Len(); i++ {
			for sh, d := range c.Node(i).StateDigests() {
				byShard[sh] = append(byShard[sh], d)
			}
		}
		ok := len(byShard) >= shards
		for _, ds := range byShard {
			if replicas > 0 && len(ds) != replicas {
				ok = false
			}
			for _, d := range ds[1:] {
				if d != ds[0] {
					ok = false
				}
			}
		}
		if ok {
			return
		}
		last = fmt.Sprint(byShard)
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("replicas differ: %s", last)
}

func infoField(info, name string) string {
	for _, line := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, name+":"); ok {
			return v
		}
	}
	return ""
}
