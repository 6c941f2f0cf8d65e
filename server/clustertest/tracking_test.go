package clustertest

import (
	"strings"
	"testing"
	"time"

	"github.com/cairndb/cairn/server/command/commandtest"
	"github.com/cairndb/cairn/server/reply"
)

// TestClusterTracking: a client tracking keys on one node (a replica it
// reads from with READONLY) is invalidated when another client writes
// the key through the shard leader's node, and on FLUSHALL there.
// Tracking is per node, for the keys the node serves, as in Redis
// Cluster: the change reaches the tracking node through its replica.
func TestClusterTracking(t *testing.T) {
	c := Start(t, Options{Nodes: 2, Shards: 1, Replicas: 2})
	dial := func(i int) *commandtest.Client {
		cl, err := commandtest.Dial(c.Addr(i))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cl.Close() })
		return cl
	}
	do := func(cl *commandtest.Client, args ...string) reply.Value {
		t.Helper()
		v, err := cl.Do(args...)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	// The writer is on the node that accepts the write (the leader's).
	writerNode := 1
	w := dial(1)
	if v := do(w, "SET", "k", "v1"); v.Kind == reply.KindError {
		if !strings.HasPrefix(string(v.Str), "MOVED") {
			t.Fatalf("SET: %s", v.Str)
		}
		writerNode = 2
		w = dial(2)
		if v := do(w, "SET", "k", "v1"); v.Kind == reply.KindError {
			t.Fatalf("SET on node 2: %s", v.Str)
		}
	}
	trackerNode := 3 - writerNode
	tr := dial(trackerNode)
	do(tr, "HELLO", "3")
	do(tr, "READONLY")
	if v := do(tr, "CLIENT", "TRACKING", "on"); v.Kind != reply.KindStatus {
		t.Fatalf("CLIENT TRACKING on: %v", v)
	}
	// Read until the replica has applied the first write.
	var err error
	deadline := time.Now().Add(5 * time.Second)
	for {
		v := do(tr, "GET", "k")
		for v.Kind == reply.KindArray { // an invalidation of the earlier read
			if v, err = tr.Read(); err != nil {
				t.Fatal(err)
			}
		}
		if string(v.Str) == "v1" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica read %v", v)
		}
		time.Sleep(20 * time.Millisecond)
	}
	expect := func(what string, want reply.Value) {
		t.Helper()
		v, err := tr.Read()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if !reply.Equal(v, want) {
			t.Fatalf("%s: got %v, want %v", what, v, want)
		}
	}
	if v := do(w, "SET", "k", "v2"); v.Kind == reply.KindError {
		t.Fatal(string(v.Str))
	}
	expect("write on the other node", reply.Array(reply.BulkString("invalidate"), reply.Array(reply.BulkString("k"))))
	do(tr, "GET", "k")
	do(w, "FLUSHALL")
	expect("FLUSHALL on the other node", reply.Array(reply.BulkString("invalidate"), reply.Nil))
	// RESET clears READONLY (and tracking): the replica redirects again.
	if v := do(tr, "RESET"); string(v.Str) != "RESET" {
		t.Fatalf("RESET: %v", v)
	}
	if v := do(tr, "GET", "k"); v.Kind != reply.KindError || !strings.HasPrefix(string(v.Str), "MOVED") {
		t.Fatalf("GET on the replica after RESET: %v, want MOVED", v)
	}
	if v := do(tr, "CLIENT", "GETREDIR"); !reply.Equal(v, reply.Int(-1)) {
		t.Fatalf("CLIENT GETREDIR after RESET: %v", v)
	}
}

// TestClusterTrackingReplicaLeaves: when the replica a tracking client
// reads from leaves its node (CLUSTER DELREPLICA), the node no longer
// sees the keys' changes: the client is told to drop its whole cache.
func TestClusterTrackingReplicaLeaves(t *testing.T) {
	c := Start(t, Options{Nodes: 3, Shards: 1})
	leader := 0
	for i := 1; i <= 3 && leader == 0; i++ {
		cl, err := commandtest.Dial(c.Addr(i))
		if err != nil {
			t.Fatal(err)
		}
		if v, err := cl.Do("SET", "k", "v1"); err == nil && v.Kind == reply.KindStatus {
			leader = i
		}
		cl.Close()
	}
	if leader == 0 {
		t.Fatal("no node accepted the write")
	}
	node := leader%3 + 1
	tr, err := commandtest.Dial(c.Addr(node))
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	for _, cmd := range [][]string{{"HELLO", "3"}, {"READONLY"}, {"CLIENT", "TRACKING", "on"}} {
		if _, err := tr.Do(cmd...); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		v, err := tr.Do("GET", "k")
		for err == nil && v.Kind == reply.KindArray { // an earlier read's invalidation
			v, err = tr.Read()
		}
		if err != nil {
			t.Fatal(err)
		}
		if string(v.Str) == "v1" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica read %v", v)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := c.admin(leader, 15*time.Second, "CLUSTER", "DELREPLICA", 1, node); err != nil {
		t.Fatalf("DELREPLICA: %v", err)
	}
	v, err := tr.Read()
	if err != nil {
		t.Fatal(err)
	}
	if want := reply.Array(reply.BulkString("invalidate"), reply.Nil); !reply.Equal(v, want) {
		t.Fatalf("after the replica left: %v, want %v", v, want)
	}
}
