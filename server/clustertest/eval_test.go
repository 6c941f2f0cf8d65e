package clustertest

import (
	"context"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/cairndb/cairn/modules/lua"
	"github.com/cairndb/cairn/modules/lua/luatest"
)

// TestEvalInCluster: Lua scripts in cluster mode, as Redis Cluster runs
// them. EVAL and EVALSHA are routed by their declared keys to the shard
// owning them and run there (through its log, on every replica); a node
// that does not serve the keys' slot answers MOVED; declared keys of two
// slots are CROSSSLOT; a script touching an undeclared key is refused
// (allow-cross-slot-keys does not change that: the declared keys decide
// the route); no-cluster scripts are refused.
func TestEvalInCluster(t *testing.T) {
	luatest.Ensure(t)
	if _, err := lua.Library(context.Background()); err != nil { // compile once, before the clients' timeouts run
		t.Fatal(err)
	}
	c := Start(t, Options{Nodes: 3, Shards: 2, Replicas: 3})
	ctx := context.Background()
	cc := c.Client()
	incr := redis.NewScript("return redis.call('incr', KEYS[1])")
	// {a} and {b} hash to slots of different shards (0-8191, 8192-16383).
	for _, k := range []string{"{a}n", "{b}n", "{c}n", "{d}n"} {
		for want := int64(1); want <= 3; want++ {
			// Run: EVALSHA, then EVAL after NOSCRIPT (each shard has its
			// own script cache, as each Redis Cluster master).
			if got, err := incr.Run(ctx, cc, []string{k}).Int64(); err != nil || got != want {
				t.Fatalf("script incr %s: %d, %v; want %d", k, got, err, want)
			}
		}
		if v, err := cc.Get(ctx, k).Result(); err != nil || v != "3" {
			t.Fatalf("GET %s: %q, %v", k, v, err)
		}
		if v, err := cc.EvalRO(ctx, "#!lua flags=no-writes\nreturn redis.call('get', KEYS[1])", []string{k}).Result(); err != nil || v != "3" {
			t.Fatalf("EVAL_RO %s: %v, %v", k, v, err)
		}
	}
	errOf := func(err error) string {
		if err == nil {
			return "<nil>"
		}
		return err.Error()
	}
	n1 := c.NodeClient(1)
	// Declared keys of two slots.
	if err := n1.Eval(ctx, "return 1", []string{"{a}n", "{b}n"}).Err(); !strings.HasPrefix(errOf(err), "CROSSSLOT") {
		t.Fatalf("EVAL over two slots: %v", err)
	}
	// A node answers MOVED for keys whose slot another node's shard
	// leader serves.
	moved := false
	for i := 1; i <= c.Len(); i++ {
		for _, k := range []string{"{a}n", "{b}n"} {
			if err := c.NodeClient(i).Eval(ctx, "return redis.call('get', KEYS[1])", []string{k}).Err(); strings.HasPrefix(errOf(err), "MOVED") {
				moved = true
			}
		}
	}
	if !moved {
		t.Fatal("no node answered MOVED to EVAL")
	}
	// Undeclared keys: refused in cluster mode (Redis 7.0 refuses a key
	// of another slot; Cairn refuses any undeclared key, as its keys
	// decide the route).
	if err := cc.Eval(ctx, "return redis.call('get', '{a}other')", []string{"{a}n"}).Err(); !strings.Contains(errOf(err), "Script attempted to access a non local key in a cluster node") {
		t.Fatalf("undeclared key: %v", err)
	}
	if err := cc.Eval(ctx, "#!lua flags=allow-cross-slot-keys\nreturn redis.call('get', '{b}n')", []string{"{a}n"}).Err(); err == nil {
		t.Fatal("a key of another shard was reached")
	}
	// no-cluster.
	if err := cc.Eval(ctx, "#!lua flags=no-cluster\nreturn 1", []string{"{a}n"}).Err(); errOf(err) != "ERR Can not run script on cluster, 'no-cluster' flag is set." {
		t.Fatalf("no-cluster script: %v", err)
	}
	// Every replica of every shard: the same keys and script caches at
	// the same index.
	waitEqualDigests(t, c, 2, 3)
}
