package clustertest

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cairndb/cairn/server"
)

// TestConfigSetReachesEveryReplica: CONFIG SET on one node of a cluster
// whose nodes have different local flags reaches every shard, is applied
// by every replica (OBJECT ENCODING read from each replica), reaches a
// shard created afterwards, and leaves all replicas of a shard with the
// same state digest.
func TestConfigSetReachesEveryReplica(t *testing.T) {
	c := Start(t, Options{Nodes: 3, Shards: 2, Replicas: 3, Mod: func(i int, cfg *server.Config) {
		cfg.ProtoMaxBulkLen = int64(i) << 20
	}})
	ctx := context.Background()
	n3 := c.NodeClient(3)
	if err := n3.ConfigSet(ctx, "hash-max-listpack-entries", "2").Err(); err != nil {
		t.Fatal(err)
	}
	if got := c.NodeClient(1).ConfigGet(ctx, "hash-max-ziplist-entries").Val(); got["hash-max-ziplist-entries"] != "2" {
		t.Fatalf("CONFIG GET on another node: %v", got)
	}
	cc := c.Client()
	// Keys in both shards (slots 0-8191 and 8192-16383).
	keys := []string{"{a}h", "{b}h", "{c}h", "{d}h"}
	for _, k := range keys {
		if err := cc.HSet(ctx, k, "f1", 1, "f2", 2, "f3", 3).Err(); err != nil {
			t.Fatal(err)
		}
		// A string longer than node 1's flag (1mb) but within the
		// replicated limit (512mb): every replica applies it alike.
		if err := cc.SetRange(ctx, k+"s", 1500000, "x").Err(); err != nil {
			t.Fatal(err)
		}
	}
	checkEncodings(t, c, keys, "hashtable")

	// A shard created after the change starts with it.
	id, err := n3.Do(ctx, "CLUSTER", "ADDSHARD", "1", "2", "3").Int()
	if err != nil {
		t.Fatal(err)
	}
	key := "{new}h"
	slot, _ := n3.ClusterKeySlot(ctx, key).Result()
	ss := strconv.FormatInt(slot, 10)
	mctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := n3.Do(mctx, "CLUSTER", "MOVESLOTS", strconv.Itoa(id), ss, ss).Err(); err != nil {
		t.Fatal(err)
	}
	cc.ReloadState(ctx)
	waitFor(t, 10*time.Second, "write to the new shard", func() bool {
		return cc.HSet(ctx, key, "f1", 1, "f2", 2, "f3", 3).Err() == nil
	})
	checkEncodings(t, c, []string{key}, "hashtable")

	// Every replica of every shard: the same state at the same index.
	waitEqualDigests(t, c, 3, 3)
}

// checkEncodings waits until every node (READONLY: its replica) reports
// enc as the OBJECT ENCODING of each key.
func checkEncodings(t *testing.T, c *Cluster, keys []string, enc string) {
	t.Helper()
	ctx := context.Background()
	for i := 1; i <= c.Len(); i++ {
		rc := redis.NewClient(&redis.Options{Addr: c.Addr(i), MaxRetries: -1, Protocol: 2, PoolSize: 1})
		if err := rc.ReadOnly(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			var got string
			waitFor(t, 10*time.Second, "encoding of "+k+" on node "+strconv.Itoa(i), func() bool {
				got, _ = rc.ObjectEncoding(ctx, k).Result()
				return got == enc
			})
		}
		rc.Close()
	}
}
