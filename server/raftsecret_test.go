package server_test

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cairndb/cairn/server"
	"github.com/cairndb/cairn/server/raftauth/raftauthtest"
	"github.com/cairndb/cairn/server/servertest"
)

// TestRaftSecret_Transport: without tls-cluster, the Raft transport of a
// cluster accepts only peers that know --raft-secret. Two nodes started
// with the same secret form a cluster over real TCP and serve; on their
// Raft port, a plaintext peer is disconnected and a TLS peer with a
// certificate derived from another secret fails the handshake, while one
// derived from the cluster's secret is accepted. A single node (random
// secret) accepts no peer at all; cluster mode without a secret does not
// start.
func TestRaftSecret_Transport(t *testing.T) {
	const secret = "raft-secret-test-0123456789"
	peers := map[uint64]string{}
	for i := uint64(1); i <= 2; i++ {
		peers[i] = "127.0.0.1:" + strconv.Itoa(servertest.FreePort(t))
	}
	nodes := make([]*server.Node, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range nodes {
		cfg := server.Config{Port: -1, ShardPorts: -1, Dir: t.TempDir(), NodeID: uint64(i + 1), Peers: peers,
			RaftAddr: peers[uint64(i+1)], Shards: 1, Replicas: 2, Logger: quiet(), RaftSecret: secret}
		wg.Add(1)
		go func() {
			defer wg.Done()
			nodes[i], errs[i] = server.Start(cfg)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("start node %d: %v", i+1, err)
		}
		t.Cleanup(nodes[i].Close)
	}
	ctx := context.Background()
	deadline := time.Now().Add(60 * time.Second)
	for _, n := range nodes {
		c := redis.NewClient(&redis.Options{Addr: n.Addr(), MaxRetries: -1})
		for {
			info, err := c.ClusterInfo(ctx).Result()
			if err == nil && strings.Contains(info, "cluster_state:ok") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("node %s not serving: %q %v", n.Addr(), info, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
		c.Close()
	}
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{nodes[0].Addr()}})
	defer cc.Close()
	for i := range 20 {
		k := "key" + strconv.Itoa(i)
		if err := cc.Set(ctx, k, i, 0).Err(); err != nil {
			t.Fatalf("SET %s: %v", k, err)
		}
		if v, err := cc.Get(ctx, k).Int(); err != nil || v != i {
			t.Fatalf("GET %s: %d %v", k, v, err)
		}
	}
	// Both replicas applied the writes: Raft traffic flows between them.
	waitDigestsEqual(t, nodes)

	for _, addr := range peers {
		if err := raftauthtest.Plain(addr); err == nil {
			t.Errorf("Raft port %s accepted a plaintext peer", addr)
		}
		if err := raftauthtest.TLS(addr, "another-secret-0123456789"); err == nil {
			t.Errorf("Raft port %s accepted a peer of another secret", addr)
		} else {
			t.Logf("peer of another secret at %s: %v", addr, err)
		}
		if err := raftauthtest.TLS(addr, secret); err != nil {
			t.Errorf("Raft port %s refused a peer of the cluster's secret: %v", addr, err)
		}
	}

	// A node started with the secret joins over the authenticated
	// transport: Start returns once its meta replica holds the directory,
	// which only Raft messages from the other nodes bring.
	joinAddr := "127.0.0.1:" + strconv.Itoa(servertest.FreePort(t))
	joined, err := server.Start(server.Config{Port: -1, ShardPorts: -1, Dir: t.TempDir(), Join: nodes[0].Addr(),
		RaftAddr: joinAddr, Logger: quiet(), RaftSecret: secret})
	if err != nil {
		t.Fatalf("join with the cluster's secret: %v", err)
	}
	t.Cleanup(joined.Close)
	if err := raftauthtest.TLS(joinAddr, "another-secret-0123456789"); err == nil {
		t.Error("the joined node's Raft port accepted a peer of another secret")
	}

	// CLUSTER ADDNODE is node-only: a plain client is refused, and so is a
	// node started with another secret (its join credential is wrong),
	// which therefore never enters the directory.
	pc := redis.NewClient(&redis.Options{Addr: nodes[0].Addr(), MaxRetries: -1})
	defer pc.Close()
	if err := pc.Do(ctx, "CLUSTER", "ADDNODE", "127.0.0.1:1", "127.0.0.1:2").Err(); err == nil || !strings.HasPrefix(err.Error(), "NOPERM") {
		t.Errorf("a client's CLUSTER ADDNODE: %v, want NOPERM", err)
	}
	if n, err := server.Start(server.Config{Port: -1, ShardPorts: -1, Dir: t.TempDir(), Join: nodes[0].Addr(),
		RaftAddr: "127.0.0.1:" + strconv.Itoa(servertest.FreePort(t)), Logger: quiet(), RaftSecret: "another-secret-0123456789"}); err == nil {
		n.Close()
		t.Error("a node with another Raft secret joined")
	} else if !strings.Contains(err.Error(), "WRONGPASS") {
		t.Errorf("join with another secret: %v", err)
	}
	if topo, err := pc.Do(ctx, "CLUSTER", "TOPOLOGY").Text(); err != nil || strings.Count(topo, `"raft":`) != 3 {
		t.Errorf("the directory after the refused join: %v %s", err, topo)
	}

	// Cluster mode needs the secret (or tls-cluster).
	if n, err := server.Start(server.Config{Port: -1, ShardPorts: -1, Dir: t.TempDir(), NodeID: 1, Peers: map[uint64]string{1: "127.0.0.1:" + strconv.Itoa(servertest.FreePort(t))}, Logger: quiet()}); err == nil {
		n.Close()
		t.Error("a cluster node started without --raft-secret")
	} else if !strings.Contains(err.Error(), "--raft-secret") {
		t.Errorf("error without a secret: %v", err)
	}
	if n, err := server.Start(server.Config{Port: -1, Dir: t.TempDir(), RaftSecret: "short", Logger: quiet()}); err == nil {
		n.Close()
		t.Error("a node started with a 5-byte Raft secret")
	}

	// A single node: a random secret, no peer accepted, even one that
	// guesses a secret.
	raftAddr := "127.0.0.1:" + strconv.Itoa(servertest.FreePort(t))
	single, err := server.Start(server.Config{Port: -1, Dir: t.TempDir(), RaftAddr: raftAddr, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer single.Close()
	c := redis.NewClient(&redis.Options{Addr: single.Addr()})
	defer c.Close()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatalf("single node SET: %v", err)
	}
	if err := raftauthtest.Plain(raftAddr); err == nil {
		t.Error("a single node's Raft port accepted a plaintext peer")
	}
	if err := raftauthtest.TLS(raftAddr, secret); err == nil {
		t.Error("a single node's Raft port accepted a TLS peer")
	}
}

// waitDigestsEqual waits until every node holds the same applied index
// and state digest for each shard they share.
func waitDigestsEqual(t *testing.T, nodes []*server.Node) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		first := nodes[0].StateDigests()
		same := len(first) > 0
		for _, n := range nodes[1:] {
			for id, d := range n.StateDigests() {
				if f, ok := first[id]; !ok || f != d {
					same = false
				}
			}
		}
		if same {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("replicas differ: %v", first)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
