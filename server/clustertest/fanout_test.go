package clustertest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestFlushAllPartialFailure: FLUSHALL on a node runs on every shard the
// node leads. When one of them cannot commit (its quorum is cut off) and
// another applies it, the client must get an error saying how many shards
// failed, not OK.
func TestFlushAllPartialFailure(t *testing.T) {
	c := Start(t, Options{})
	ctx := context.Background()
	admin := c.NodeClient(1)
	// Shard 4 lives on node 1 alone: it commits whatever the network does.
	id, err := admin.Do(ctx, "CLUSTER", "ADDSHARD", "1").Int()
	if err != nil {
		t.Fatalf("ADDSHARD: %v", err)
	}
	// Just after start node 1 may still lead other shards too, and the
	// leadership balancer may move a shard while the test runs: each step
	// below is judged only when node 1 led shard 1 and the new shard, and
	// nothing else, both before and after it.
	layout := func() bool {
		led, others := 0, 0
		for _, s := range c.opsTopo(t).Shards {
			switch {
			case (s.ID == 1 || s.ID == uint64(id)) && s.CurrentLeader == 1:
				led++
			case s.ID != 1 && s.ID != uint64(id) && s.CurrentLeader == 1:
				others++
			}
		}
		return led == 2 && others == 0
	}
	// stable runs step with node 1 leading exactly its two shards
	// throughout, and returns its error.
	stable := func(what string, step func() error) error {
		for attempt := 1; ; attempt++ {
			waitFor(t, 20*time.Second, "node 1 leading shard 1 and the new shard only", layout)
			err := step()
			if layout() {
				return err
			}
			if attempt == 10 {
				t.Fatalf("%s: node 1's leadership kept changing during the step", what)
			}
			t.Logf("%s: leadership changed during the step (%v); again", what, err)
		}
	}
	// FLUSHALL is idempotent: a reply of UNCERTAIN (a Raft proposal that
	// timed out under load) is answered by sending it again.
	err = stable("FLUSHALL", func() error {
		for {
			err := admin.FlushAll(ctx).Err()
			if err == nil || !strings.HasPrefix(err.Error(), "UNCERTAIN ") {
				return err
			}
			t.Logf("FLUSHALL: %v; again", err)
		}
	})
	if err != nil {
		t.Fatalf("FLUSHALL with every shard healthy: %v", err)
	}

	// A transaction is one shard's log entry: FLUSHALL in one would flush
	// one of node 1's two shards only, so it is refused.
	err = stable("FLUSHALL in MULTI", func() error {
		_, err := admin.TxPipelined(ctx, func(p redis.Pipeliner) error { return p.FlushAll(ctx).Err() })
		return err
	})
	if err == nil || err.Error() != "ERR FLUSHALL in a transaction would apply to only one of the 2 shards this node leads; send it outside MULTI" {
		t.Fatalf("FLUSHALL in MULTI on a node leading two shards: %v", err)
	}

	// Cut node 1 off: shard 1 (replicas 1, 2, 3) loses its quorum.
	c.Isolate(1)
	defer c.Heal()
	start := time.Now()
	err = admin.FlushAll(ctx).Err()
	t.Logf("FLUSHALL with shard 1 cut off (%v): %v", time.Since(start).Round(time.Millisecond), err)
	if err == nil {
		t.Fatal("FLUSHALL answered OK although shard 1 could not apply it")
	}
	if msg := err.Error(); !strings.HasPrefix(msg, "ERR FLUSHALL failed on 1 of 2 shards") || !strings.Contains(msg, "(shard 1: ") {
		t.Fatalf("FLUSHALL error does not say which part failed: %v", err)
	}
}
