package clustertest

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cairndb/cairn/modules/modulestest"
)

// TestFunctionsOnEveryShard: as in Redis Cluster, a library is loaded on
// every master (each shard's leader endpoint); FCALL is then routed by its
// declared keys to the shard owning them and runs there (through its log);
// keys of two slots are CROSSSLOT; FUNCTION LIST on each master shows the
// library.
func TestFunctionsOnEveryShard(t *testing.T) {
	c := Start(t, Options{Nodes: 3, Shards: 2, Replicas: 3})
	ctx := context.Background()
	cc := c.Client()
	payload := string(modulestest.Payload("c", modulestest.Fixture(t, "c_incr")))
	masters := 0
	if err := cc.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
		masters++
		return m.FunctionLoad(ctx, payload).Err()
	}); err != nil {
		t.Fatal(err)
	}
	if masters != 2 {
		t.Fatalf("%d masters, want one per shard", masters)
	}
	if err := cc.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
		libs, err := m.FunctionList(ctx, redis.FunctionListQuery{}).Result()
		if err == nil && (len(libs) != 1 || libs[0].Name != "c") {
			t.Errorf("FUNCTION LIST on %s: %+v", m.Options().Addr, libs)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	// {a} and {b} hash to slots of different shards (0-8191, 8192-16383).
	for _, k := range []string{"{a}n", "{b}n", "{c}n", "{d}n"} {
		for want := int64(1); want <= 3; want++ {
			if got, err := cc.FCall(ctx, "cincr", []string{k}).Int64(); err != nil || got != want {
				t.Fatalf("FCALL cincr %s: %d, %v; want %d", k, got, err, want)
			}
		}
		if v, err := cc.Get(ctx, k).Result(); err != nil || v != "3" {
			t.Fatalf("GET %s: %q, %v", k, v, err)
		}
		if v, err := cc.FCallRO(ctx, "cping", []string{k}).Result(); err != nil || v != "PONG" {
			t.Fatalf("FCALL_RO cping %s: %v, %v", k, v, err)
		}
	}
	_, err := c.NodeClient(1).FCall(ctx, "cincr", []string{"{a}n", "{b}n"}).Result()
	if err == nil || !strings.HasPrefix(err.Error(), "CROSSSLOT") {
		t.Fatalf("FCALL over two slots: %v", err)
	}
	// Every replica of every shard: the same keys and libraries at the
	// same index (shard.StateDigest includes the library set).
	waitEqualDigests(t, c, 2, 3)
}

// TestFunctionsReachNewShard: a shard created after the libraries were
// loaded (CLUSTER ADDSHARD) receives them before it takes slots, so FCALL
// on its keys works.
func TestFunctionsReachNewShard(t *testing.T) {
	c := Start(t, Options{Nodes: 3, Shards: 1, Replicas: 3})
	ctx := context.Background()
	n1 := c.NodeClient(1)
	payload := string(modulestest.Payload("c", modulestest.Fixture(t, "c_incr")))
	if err := c.Client().ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
		return m.FunctionLoad(ctx, payload).Err()
	}); err != nil {
		t.Fatal(err)
	}
	id, err := n1.Do(ctx, "CLUSTER", "ADDSHARD", "1", "2", "3").Int()
	if err != nil {
		t.Fatal(err)
	}
	key := "{new}n"
	slot, _ := n1.ClusterKeySlot(ctx, key).Result()
	ss := strconv.FormatInt(slot, 10)
	mctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := n1.Do(mctx, "CLUSTER", "MOVESLOTS", strconv.Itoa(id), ss, ss).Err(); err != nil {
		t.Fatal(err)
	}
	cc := c.Client()
	cc.ReloadState(ctx)
	var last error
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		var v int64
		if v, last = cc.FCall(ctx, "cincr", []string{key}).Int64(); last == nil {
			if v != 1 {
				t.Fatalf("FCALL on the new shard: %d", v)
			}
			return
		}
	}
	t.Fatalf("FCALL on the new shard: %v", last)
}
