package clustertest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cairndb/cairn/server/cluster/control"
)

// TestDelReplicaGuard: CLUSTER DELREPLICA is refused while a replica that
// would remain is down or behind the leader (the shard would keep fewer
// live, caught-up replicas than a quorum of its new membership), changing
// nothing, and allowed once every remaining replica is healthy.
func TestDelReplicaGuard(t *testing.T) {
	c := Start(t, Options{Nodes: 3})
	cl := c.Client()
	key := keyInSlots("guard", 0, 5460) // shard 1: replicas 1, 2, 3
	setRetry(t, c, cl, key, "v0")
	waitReplica(t, c, 3, key, "v0", 20*time.Second)

	refused := func(what string) {
		t.Helper()
		_, err := c.admin(1, 15*time.Second, "CLUSTER", "DELREPLICA", 1, 2)
		if err == nil || !strings.HasPrefix(err.Error(), control.RemovalRefused) {
			t.Fatalf("%s: DELREPLICA 1 2 answered %v, want a refusal (%q...)", what, err, control.RemovalRefused)
		}
		t.Logf("%s: %v", what, err)
		v, terr := c.topoView()
		if terr != nil {
			t.Fatal(terr)
		}
		if sh := v.shard(1); sh == nil || fmt.Sprint(sh.Replicas) != "[1 2 3]" {
			t.Fatalf("%s: a refused removal changed the directory: %+v", what, sh)
		}
	}

	// Node 3 down: of the remaining {1, 3} only one is live, the new
	// membership's quorum is two.
	c.Stop(3)
	refused("node 3 down")
	c.Restart(3)
	waitReplica(t, c, 3, key, "v0", 30*time.Second)

	// Node 3 cut off from the other nodes' Raft traffic (its client port
	// still answers) while the shard commits writes: it is behind.
	c.Isolate(3)
	for i := range 5 {
		setRetry(t, c, cl, key, fmt.Sprintf("behind%d", i))
	}
	refused("node 3 behind")
	c.Heal()

	// Every replica healthy: the removal goes through (once node 3 has
	// caught up again).
	waitReplica(t, c, 3, key, "behind4", 30*time.Second)
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, err := c.admin(1, 15*time.Second, "CLUSTER", "DELREPLICA", 1, 2)
		if err == nil {
			break
		}
		if !strings.HasPrefix(err.Error(), control.RemovalRefused) || time.Now().After(deadline) {
			t.Fatalf("healthy shard: DELREPLICA 1 2: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	v, err := c.topoView()
	if err != nil {
		t.Fatal(err)
	}
	if sh := v.shard(1); sh == nil || fmt.Sprint(sh.Replicas) != "[1 3]" {
		t.Fatalf("after DELREPLICA 1 2: %+v", sh)
	}
	setRetry(t, c, cl, key, "after")
	waitReplica(t, c, 3, key, "after", 20*time.Second)
}
