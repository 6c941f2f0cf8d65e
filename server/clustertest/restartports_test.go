package clustertest

import (
	"context"
	"encoding/json"
	"maps"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/cairndb/cairn/server"
)

// TestRestartKeepsEndpointPorts: a restarted node serves its shard
// endpoints on the ports it had, so no address a client was shown is left
// behind for another process to take.
//
// Bug (TestChaos, seed 1796567044568094227: "illegal" register history and
// 50 lost acknowledged APPENDs, all of one client, in both shards, from
// 29.5 s to 32.7 s): the test nodes' endpoints took free ports at the
// first start and Port+100... after a restart (the client port being
// fixed by then). go-redis keeps every address it has seen for a minute
// and asks a random one of them for the slot map on every refresh; one of
// node 1's pre-restart endpoint ports had meanwhile been taken by a node
// of another cluster on the machine (TestProcessKillAndPause, looped by
// another engineer), which answered CLUSTER SLOTS with its own map. The
// client moved over with all its slots, and that cluster acknowledged its
// writes: it read them back, other keys were nil, and none of them was
// ever in this cluster.
func TestRestartKeepsEndpointPorts(t *testing.T) {
	c := Start(t, Options{Nodes: 3, Shards: 2})
	before := shardEndpoints(t, c, 1)
	if len(before) != 2 {
		t.Fatalf("node 1 endpoints: %v", before)
	}
	cl := c.Client()
	setRetry(t, c, cl, "rkep", "v0")

	for round := 1; round <= 2; round++ {
		c.Restart(1)
		c.WaitServing(30 * time.Second)
		waitFor(t, 10*time.Second, "node 1 announcing its endpoints", func() bool {
			return len(shardEndpoints(t, c, 1)) == 2
		})
		if after := shardEndpoints(t, c, 1); !maps.Equal(after, before) {
			t.Fatalf("restart %d moved node 1's endpoints from %v to %v", round, before, after)
		}
		// The old addresses are node 1's: no other process can listen there.
		for sid, addr := range before {
			if ln, err := net.Listen("tcp", addr); err == nil {
				ln.Close()
				t.Fatalf("restart %d: node 1's endpoint for shard %s (%s) is free", round, sid, addr)
			}
		}
		val := "v" + strconv.Itoa(round)
		setRetry(t, c, cl, "rkep", val)
		if got, err := cl.Get(context.Background(), "rkep").Result(); err != nil || got != val {
			t.Fatalf("read after restart %d: %q %v", round, got, err)
		}
	}
}

// shardEndpoints returns node id's shard endpoints (shard → address) as the
// directory records them.
func shardEndpoints(t *testing.T, c *Cluster, id uint64) map[string]string {
	t.Helper()
	var v struct {
		Nodes []struct {
			ID        uint64            `json:"id"`
			Endpoints map[string]string `json:"endpoints"`
		} `json:"nodes"`
	}
	if err := json.Unmarshal([]byte(c.Topology()), &v); err != nil {
		t.Fatalf("topology: %v", err)
	}
	for _, n := range v.Nodes {
		if n.ID == id {
			return n.Endpoints
		}
	}
	return nil
}

// TestEndpointPortTakenWhileDown: another cluster takes a stopped node's
// endpoint port, so the node comes back on another one. Clients of this
// cluster were shown the old address; they must never write there (the
// test clients dial only their own cluster's addresses).
func TestEndpointPortTakenWhileDown(t *testing.T) {
	c := Start(t, Options{Nodes: 3, Shards: 2})
	before := shardEndpoints(t, c, 1)
	cl := workloadClient(c)
	ctx := context.Background()
	for i := range 20 {
		setRetry(t, c, cl, "warm"+strconv.Itoa(i), "x") // cl learns every endpoint
	}
	c.Stop(1)
	_, ps, _ := net.SplitHostPort(before["1"])
	port, _ := strconv.Atoi(ps)
	f := Start(t, Options{Nodes: 1, Shards: 1, Mod: func(i int, cfg *server.Config) { cfg.Port = port }})
	c.Restart(1)
	c.WaitServing(30 * time.Second)
	waitFor(t, 10*time.Second, "node 1 announcing a new endpoint for shard 1", func() bool {
		ep := shardEndpoints(t, c, 1)
		return len(ep) == 2 && ep["1"] != before["1"]
	})
	t.Logf("node 1's endpoint for shard 1 moved from %s to %s; another cluster serves at %s", before["1"], shardEndpoints(t, c, 1)["1"], f.Addr(1))

	check := c.Client()
	deadline := time.Now().Add(8 * time.Second)
	n := 0
	for i := 0; time.Now().Before(deadline); i++ {
		// A slot map from a random address the client knows, as on every
		// refresh after an error.
		cl.ReloadState(ctx)
		key, val := "k"+strconv.Itoa(i%50), "v"+strconv.Itoa(i)
		if cl.Set(ctx, key, val, 0).Err() != nil {
			time.Sleep(20 * time.Millisecond)
			continue
		}
		n++
		if got, err := check.Get(ctx, key).Result(); got != val {
			t.Fatalf("SET %s %s acknowledged, but the cluster holds %q (%v): the write went elsewhere", key, val, got, err)
		}
	}
	if n == 0 {
		t.Fatal("no write acknowledged")
	}
	t.Logf("%d writes acknowledged, all in the cluster", n)
}
