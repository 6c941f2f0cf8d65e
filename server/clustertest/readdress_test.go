package clustertest

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cairndb/cairn/server/servertest"
)

// TestRestartOnNewClientAddress restarts a node on another client port,
// as a recreated container comes back: the directory must learn the new
// address at start, the other nodes must redirect clients there (MOVED),
// and cluster clients must reach the node's shards at it.
func TestRestartOnNewClientAddress(t *testing.T) {
	c := Start(t, Options{})
	ctx := context.Background()
	cl := c.Client()
	// A key of shard 2, whose preferred leader is node 2.
	var key string
	for i := 0; key == ""; i++ {
		k := fmt.Sprintf("k%d", i)
		if sl, _ := cl.ClusterKeySlot(ctx, k).Result(); sl >= 5461 && sl <= 10922 {
			key = k
		}
	}
	if err := cl.Set(ctx, key, "before", 0).Err(); err != nil {
		t.Fatal(err)
	}
	oldAddr := c.Addr(2)

	c.Stop(2)
	c.mu.Lock()
	c.cfgs[1].Port = servertest.FreePort(t)
	c.mu.Unlock()
	c.Restart(2)
	newAddr := c.Addr(2)
	if newAddr == oldAddr {
		t.Fatalf("node 2 came back on its old address %s", newAddr)
	}
	t.Logf("node 2: %s -> %s", oldAddr, newAddr)

	// The directory names the new address on every node.
	for i := 1; i <= 3; i++ {
		waitFor(t, 10*time.Second, fmt.Sprintf("node %d's directory naming %s", i, newAddr), func() bool {
			s, err := c.NodeClient(i).Do(ctx, "CLUSTER", "TOPOLOGY").Text()
			if err != nil {
				return false
			}
			var v struct {
				Nodes []struct {
					ID     uint64 `json:"id"`
					Client string `json:"client"`
				} `json:"nodes"`
			}
			if json.Unmarshal([]byte(s), &v) != nil {
				return false
			}
			for _, nd := range v.Nodes {
				if nd.ID == 2 {
					return nd.Client == newAddr
				}
			}
			return false
		})
	}
	// Node 2 takes its preferred leadership back; the others redirect to
	// its new address.
	waitFor(t, 20*time.Second, "node 2 leading shard 2 again", func() bool {
		for _, s := range c.opsTopo(t).Shards {
			if s.ID == 2 {
				return s.CurrentLeader == 2
			}
		}
		return false
	})
	// MOVED names node 2's endpoint for shard 2 (topoview.go), which it
	// announced anew with its new address. (Node 1 may answer CLUSTERDOWN
	// until its health check has seen node 2 answer at the new address.)
	var ep string
	waitFor(t, 10*time.Second, "node 1 knowing node 2's new shard 2 endpoint", func() bool {
		ep = endpointAddr(t, c.NodeClient(1), 2, 2)
		return ep != "" && ep == endpointAddr(t, c.NodeClient(2), 2, 2)
	})
	var err error
	waitFor(t, 5*time.Second, "node 1 redirecting to "+ep, func() bool {
		err = c.NodeClient(1).Get(ctx, key).Err()
		return err != nil && strings.HasPrefix(err.Error(), "MOVED ") && strings.HasSuffix(err.Error(), " "+ep)
	})
	if nodes, err := c.NodeClient(1).ClusterNodes(ctx).Result(); err != nil || strings.Contains(nodes, oldAddr) {
		t.Fatalf("CLUSTER NODES still names %s (%v):\n%s", oldAddr, err, nodes)
	}

	// A fresh cluster client, seeded with node 1 only, writes and reads
	// through the new address.
	fresh := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{c.Addr(1)}, MaxRedirects: 8})
	defer fresh.Close()
	if v, err := fresh.Get(ctx, key).Result(); err != nil || v != "before" {
		t.Fatalf("GET %s after the move: %q, %v", key, v, err)
	}
	if err := fresh.Set(ctx, key, "after", 0).Err(); err != nil {
		t.Fatalf("SET %s after the move: %v", key, err)
	}
	// Node 2's new main port serves the key once node 2 leads its shard
	// again (the balancer moves leadership back to the preferred replica;
	// until then it answers MOVED).
	direct := redis.NewClient(&redis.Options{Addr: newAddr})
	defer direct.Close()
	var v string
	waitFor(t, 15*time.Second, "GET "+key+" on node 2's new address", func() bool {
		v, err = direct.Get(ctx, key).Result()
		return err == nil && v == "after"
	})
}
