package clustertest

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/cairndb/cairn/server/servertest"
)

// TestFTThroughClusterClient: FT writes sent as a Redis Cluster client
// sends them (go-redis's ClusterClient, which sends a keyless command to
// a random master's address: a shard endpoint) act on the whole cluster,
// as FT writes sent to a node's client port do. After FT.CREATE through
// the cluster client, and through each shard endpoint in turn, every node
// lists the index, FT.INFO on every node knows it and counts every
// shard's documents, and FT.SEARCH on every node finds all of them; an
// alias added and an index dropped the same way are seen by every node.
// Reads sent to a shard endpoint answer for the whole cluster too.
func TestFTThroughClusterClient(t *testing.T) {
	c := Start(t, Options{})
	ctx := context.Background()
	cl := c.Client(func(o *redis.ClusterOptions) { o.Protocol = 2 })
	const docs = 60
	for i := 0; i < docs; i++ {
		if err := cl.HSet(ctx, fmt.Sprintf("cc:%02d", i), "tag", fmt.Sprintf("t%d", i%3), "n", i).Err(); err != nil {
			t.Fatalf("HSET: %v", err)
		}
	}
	schema := func(name string) []any {
		return []any{"FT.CREATE", name, "ON", "HASH", "PREFIX", "1", "cc:", "SCHEMA", "tag", "TAG", "n", "NUMERIC", "SORTABLE"}
	}
	resp2 := func(o *redis.Options) { o.Protocol = 2 }
	nodes := make([]*redis.Client, c.Len())
	for i := range nodes {
		nodes[i] = servertest.Client(t, c.Addr(i+1), resp2)
	}
	// seen checks that every node lists index name, that FT.INFO there
	// counts all documents and FT.SEARCH finds them all (through the
	// index or an alias of it: query).
	seen := func(what, name, query string) {
		t.Helper()
		for i, n := range nodes {
			list, err := n.Do(ctx, "FT._LIST").StringSlice()
			if err != nil || !slices.Contains(list, name) {
				t.Fatalf("%s: FT._LIST on node %d: %v %v, want %s in it", what, i+1, list, err, name)
			}
			info, err := n.Do(ctx, "FT.INFO", name).Slice()
			if err != nil {
				t.Fatalf("%s: FT.INFO %s on node %d: %v", what, name, i+1, err)
			}
			if got := ftInfoField(info, "num_docs"); fmt.Sprint(got) != fmt.Sprint(docs) {
				t.Fatalf("%s: FT.INFO %s on node %d: num_docs %v, want %d", what, name, i+1, got, docs)
			}
			res, err := n.Do(ctx, "FT.SEARCH", query, "*", "NOCONTENT", "LIMIT", "0", "0").Slice()
			if err != nil || len(res) != 1 || res[0] != int64(docs) {
				t.Fatalf("%s: FT.SEARCH %s on node %d: %v %v, want %d results", what, query, i+1, res, err, docs)
			}
		}
	}
	// gone checks that no node knows name any more.
	gone := func(what, name string) {
		t.Helper()
		for i, n := range nodes {
			list, err := n.Do(ctx, "FT._LIST").StringSlice()
			if err != nil || slices.Contains(list, name) {
				t.Fatalf("%s: FT._LIST on node %d: %v %v, want no %s", what, i+1, list, err, name)
			}
			if err := n.Do(ctx, "FT.INFO", name).Err(); err == nil || err.Error() != "Unknown Index name" {
				t.Fatalf("%s: FT.INFO %s on node %d: %v, want Unknown Index name", what, name, i+1, err)
			}
		}
	}

	// Through the cluster client.
	if err := cl.Do(ctx, schema("ccidx")...).Err(); err != nil {
		t.Fatalf("FT.CREATE through the cluster client: %v", err)
	}
	seen("FT.CREATE through the cluster client", "ccidx", "ccidx")
	if err := cl.Do(ctx, schema("ccidx")...).Err(); err == nil || err.Error() != "Index already exists" {
		t.Fatalf("second FT.CREATE through the cluster client: %v, want Index already exists", err)
	}
	info, err := cl.Do(ctx, "FT.INFO", "ccidx").Slice()
	if err != nil || fmt.Sprint(ftInfoField(info, "num_docs")) != fmt.Sprint(docs) {
		t.Fatalf("FT.INFO through the cluster client: num_docs %v (%v), want %d", ftInfoField(info, "num_docs"), err, docs)
	}
	if err := cl.Do(ctx, "FT.ALIASADD", "ccalias", "ccidx").Err(); err != nil {
		t.Fatalf("FT.ALIASADD through the cluster client: %v", err)
	}
	seen("FT.ALIASADD through the cluster client", "ccidx", "ccalias")
	if err := cl.Do(ctx, "FT.ALIASADD", "ccalias", "ccidx").Err(); err == nil || err.Error() != "Alias already exists" {
		t.Fatalf("second FT.ALIASADD through the cluster client: %v, want Alias already exists", err)
	}
	if err := cl.Do(ctx, "FT.DROPINDEX", "ccidx").Err(); err != nil {
		t.Fatalf("FT.DROPINDEX through the cluster client: %v", err)
	}
	gone("FT.DROPINDEX through the cluster client", "ccidx")
	for i, n := range nodes {
		if err := n.Do(ctx, "FT.SEARCH", "ccalias", "*").Err(); err == nil {
			t.Fatalf("FT.SEARCH through the dropped index's alias on node %d answered", i+1)
		}
	}

	// Through each shard endpoint in turn: the go-redis client above
	// picked one at random; these cover every one of them, and a read
	// sent to an endpoint answers for the whole cluster.
	slots, err := cl.ClusterSlots(ctx).Result()
	if err != nil {
		t.Fatalf("CLUSTER SLOTS: %v", err)
	}
	var eps []string
	for _, r := range slots {
		if len(r.Nodes) > 0 && !slices.Contains(eps, r.Nodes[0].Addr) {
			eps = append(eps, r.Nodes[0].Addr)
		}
	}
	if len(eps) != 3 {
		t.Fatalf("shard endpoints in CLUSTER SLOTS: %v, want 3", eps)
	}
	for k, addr := range eps {
		ep := servertest.Client(t, addr, resp2)
		name := fmt.Sprintf("ep%d", k)
		if err := ep.Do(ctx, schema(name)...).Err(); err != nil {
			t.Fatalf("FT.CREATE on endpoint %s: %v", addr, err)
		}
		seen("FT.CREATE on endpoint "+addr, name, name)
		res, err := ep.Do(ctx, "FT.SEARCH", name, "*", "NOCONTENT", "LIMIT", "0", "0").Slice()
		if err != nil || len(res) != 1 || res[0] != int64(docs) {
			t.Fatalf("FT.SEARCH on endpoint %s: %v %v, want %d results", addr, res, err, docs)
		}
		if err := ep.Do(ctx, "FT.DROPINDEX", name).Err(); err != nil {
			t.Fatalf("FT.DROPINDEX on endpoint %s: %v", addr, err)
		}
		gone("FT.DROPINDEX on endpoint "+addr, name)
	}
}
