package clustertest

import (
	"context"
	"encoding/json"
	"maps"
	"net"
	"strconv"
	"testing"
	"time"
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
