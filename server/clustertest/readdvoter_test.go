package clustertest

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestReaddKeepsOldVoterUntilRemoved: a node is removed from a shard and
// added back (CLUSTER DELREPLICA, ADDREPLICA) while the shard's group has
// two voters and the other voter hears no one, so the group cannot remove
// the node's old replica yet. Once the network heals the group must remove
// the old replica, take in the new one and serve again.
//
// Bug (TestChaos, seed 1796567044568094227: "cluster not serving after
// repair", a shard without a leader for good): the node stopped its old
// replica and deleted its data as soon as its directory showed the new
// replica ID (and, leaving the shard, after ten seconds without news of
// the group, counted from a leave long since undone). The group still
// counted the old replica as a voter; with two voters, the survivor can
// neither elect a leader nor commit the removal of the dead one: the
// shard is wedged, every node reports its slots as failed.
func TestReaddKeepsOldVoterUntilRemoved(t *testing.T) {
	c := Start(t, Options{Nodes: 3, SnapshotEntries: 20})
	cl := c.Client()
	key := keyInSlots("readdvoter", 0, 5460) // shard 1: replicas 1, 2, 3
	setRetry(t, c, cl, key, "v0")

	// Two voters: nodes 1 and 2.
	adminRetry(t, c, 3, "CLUSTER", "DELREPLICA", 1, 3)
	waitNoReplica(t, c, 3, key, 30*time.Second)

	// Node 1 hears no one: the shard's group commits nothing (both voters
	// are needed), the meta group still works through nodes 2 and 3.
	c.Net.CutOneWay(c.RaftAddr(2), c.RaftAddr(1))
	c.Net.CutOneWay(c.RaftAddr(3), c.RaftAddr(1))
	// The membership guard refuses this removal (node 1, which would
	// remain, hears no one): FORCE, to build the state the bug needs.
	adminRetry(t, c, 3, "CLUSTER", "DELREPLICA", 1, 2, "FORCE")
	adminRetry(t, c, 3, "CLUSTER", "ADDREPLICA", 1, 2)
	// Node 2 sees itself re-added under a new replica ID; give its
	// reconciler (every 100 ms) a second to act on it.
	deadline := time.Now().Add(20 * time.Second)
	for {
		s, err := c.admin(2, 2*time.Second, "CLUSTER", "TOPOLOGY")
		var v struct {
			Shards []struct {
				ID       uint64            `json:"id"`
				Replicas []uint64          `json:"replicas"`
				Gen      map[string]uint32 `json:"gen"`
			} `json:"shards"`
		}
		if err == nil && json.Unmarshal([]byte(s), &v) == nil && len(v.Shards) > 0 &&
			v.Shards[0].ID == 1 && v.Shards[0].Gen["2"] == 1 && fmt.Sprint(v.Shards[0].Replicas) == "[1 2]" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("node 2 never saw itself re-added to shard 1: %v %s", err, s)
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(time.Second)
	c.Heal()

	// The shard serves again and node 2's new replica catches up.
	end := time.Now().Add(45 * time.Second)
	for {
		err := c.Write(t.Context(), key, "after", end)
		if err == nil {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("shard 1 does not serve after the heal: %v (topology %s)", err, c.Topology())
		}
		time.Sleep(100 * time.Millisecond)
	}
	waitReplica(t, c, 2, key, "after", 30*time.Second)
	c.WaitServing(30 * time.Second)
}

// adminRetry runs an admin command on node i until it succeeds (the meta
// group may be electing a leader).
func adminRetry(t *testing.T, c *Cluster, i int, args ...any) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := c.admin(i, 15*time.Second, args...)
		if err == nil {
			return
		}
		if strings.Contains(err.Error(), "already holds") || strings.Contains(err.Error(), "holds no replica") || time.Now().After(deadline) {
			t.Fatalf("%v: %v", args, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
