package clustertest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestClusterTransactionsAndPubSub: single-slot MULTI/EXEC through a
// cluster client, CROSSSLOT for a transaction spanning slots, PUBLISH
// reaching subscribers on every node, SPUBLISH routed by slot and reaching
// shard-channel subscribers on the shard's replicas.
func TestClusterTransactionsAndPubSub(t *testing.T) {
	c := Start(t, Options{})
	ctx := context.Background()
	cl := c.Client()

	// MULTI on one slot ({user1} hash tag), through the cluster client.
	cmds, err := cl.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, "{user1}:a", "1", 0)
		p.Incr(ctx, "{user1}:a")
		p.Get(ctx, "{user1}:a")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if v := cmds[2].(*redis.StringCmd).Val(); v != "2" {
		t.Fatalf("EXEC replies %v", cmds)
	}
	// WATCH on a cluster: an interfering write aborts.
	err = cl.Watch(ctx, func(tx *redis.Tx) error {
		if err := cl.Set(ctx, "{user1}:a", "9", 0).Err(); err != nil {
			return err
		}
		_, err := tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Incr(ctx, "{user1}:a")
			return nil
		})
		return err
	}, "{user1}:a")
	if err != redis.TxFailedErr {
		t.Fatalf("WATCH in cluster: %v", err)
	}

	// A transaction across slots on one connection: CROSSSLOT, EXECABORT.
	slot := cl.ClusterKeySlot(ctx, "{user1}:a").Val()
	var conn *redis.Client
	for i := 1; i <= c.Len(); i++ {
		nc := c.NodeClient(i)
		if nc.Set(ctx, "{user1}:probe", "x", 0).Err() == nil {
			conn = nc
			break
		}
	}
	if conn == nil {
		t.Fatalf("no node serves slot %d", slot)
	}
	_, err = conn.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, "{user1}:a", "1", 0)
		p.Set(ctx, "{other}:b", "1", 0)
		return nil
	})
	if err == nil || !(strings.Contains(err.Error(), "CROSSSLOT") || strings.Contains(err.Error(), "EXECABORT") || strings.Contains(err.Error(), "MOVED")) {
		t.Fatalf("cross-slot transaction: %v", err)
	}

	// PUBLISH on node 1 reaches a subscriber on every node.
	var subs []*redis.PubSub
	for i := 1; i <= c.Len(); i++ {
		ps := c.NodeClient(i).Subscribe(ctx, "news")
		t.Cleanup(func() { ps.Close() })
		if _, err := ps.Receive(ctx); err != nil {
			t.Fatal(err)
		}
		subs = append(subs, ps)
	}
	if err := c.NodeClient(1).Publish(ctx, "news", "hello").Err(); err != nil {
		t.Fatal(err)
	}
	for i, ps := range subs {
		m, err := ps.ReceiveTimeout(ctx, 5*time.Second)
		if err != nil {
			t.Fatalf("node %d subscriber: %v", i+1, err)
		}
		if msg, ok := m.(*redis.Message); !ok || msg.Payload != "hello" {
			t.Fatalf("node %d subscriber got %v", i+1, m)
		}
	}

	// Sharded pub/sub through the cluster client: SSUBSCRIBE goes to a
	// node of the channel's slot, SPUBLISH to the slot's leader.
	ss := cl.SSubscribe(ctx, "orders")
	t.Cleanup(func() { ss.Close() })
	if _, err := ss.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		n, err := cl.SPublish(ctx, "orders", "o1").Result()
		if err != nil {
			t.Fatal(err)
		}
		if n >= 1 {
			break
		}
		// The subscriber may sit on a replica node: the leader forwards
		// to it and counts only its own subscribers.
		m, err := ss.ReceiveTimeout(ctx, 200*time.Millisecond)
		if err == nil {
			if msg, ok := m.(*redis.Message); ok && msg.Payload == "o1" {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("SPUBLISH never reached the shard-channel subscriber")
		}
	}
	m, err := ss.ReceiveTimeout(ctx, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if msg, ok := m.(*redis.Message); !ok || msg.Payload != "o1" {
		t.Fatalf("shard subscriber got %v", m)
	}
	// SPUBLISH to a node that does not lead the slot: MOVED.
	moved := false
	for i := 1; i <= c.Len(); i++ {
		if err := c.NodeClient(i).SPublish(ctx, "orders", "x").Err(); err != nil && strings.HasPrefix(err.Error(), "MOVED") {
			moved = true
		}
	}
	if !moved {
		t.Fatal("no node answered MOVED to SPUBLISH")
	}
}

// TestClusterBlockingFailover: a client blocked on a shard leader is
// served by a push through the cluster client; when the leader loses its
// leadership while the client is blocked, the client gets a redirect or an
// error — and an element pushed afterwards is not taken by it.
func TestClusterBlockingFailover(t *testing.T) {
	c := Start(t, Options{})
	ctx := context.Background()
	cl := c.Client()
	leaderOf := func(key string) int {
		for i := 1; i <= c.Len(); i++ {
			if c.NodeClient(i).LLen(ctx, key).Err() == nil {
				return i
			}
		}
		return 0
	}

	// Served in a cluster.
	l := leaderOf("bq")
	if l == 0 {
		t.Fatal("no leader for bq")
	}
	got := make(chan []string, 1)
	go func() {
		v, _ := c.NodeClient(l).BLPop(ctx, 10*time.Second, "bq").Result()
		got <- v
	}()
	time.Sleep(300 * time.Millisecond)
	if err := cl.RPush(ctx, "bq", "v1").Err(); err != nil {
		t.Fatal(err)
	}
	select {
	case v := <-got:
		if len(v) != 2 || v[1] != "v1" {
			t.Fatalf("BLPOP in cluster = %v", v)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("BLPOP not served")
	}

	// Leadership lost while blocked.
	l = leaderOf("fq")
	errc := make(chan error, 1)
	go func() {
		_, err := c.NodeClient(l).BLPop(ctx, 0, "fq").Result()
		errc <- err
	}()
	time.Sleep(300 * time.Millisecond)
	c.Isolate(l)
	var err error
	select {
	case err = <-errc:
	case <-time.After(15 * time.Second):
		t.Fatal("blocked client not released after its leader was isolated")
	}
	if err == nil || !(strings.HasPrefix(err.Error(), "MOVED") || strings.HasPrefix(err.Error(), "CLUSTERDOWN")) {
		t.Fatalf("blocked client on a deposed leader: %v", err)
	}
	c.Heal()
	deadline := time.Now().Add(20 * time.Second)
	for cl.RPush(ctx, "fq", "keep").Err() != nil {
		if time.Now().After(deadline) {
			t.Fatal("RPUSH never succeeded after heal")
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	if v := cl.LRange(ctx, "fq", 0, -1).Val(); len(v) != 1 || v[0] != "keep" {
		t.Fatalf("element after failover: %v", v)
	}
}
