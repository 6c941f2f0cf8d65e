package clustertest

import (
	"context"
	"fmt"
	"math/rand"
	"reflect"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cairndb/cairn/server/servertest"
)

// TestFTReadOnlyReplicas: on a READONLY connection FT.SEARCH,
// FT.AGGREGATE and FT.INFO read this node's replica of every shard
// (stale reads allowed, as for READONLY key reads) instead of the
// leaders. A node cut off from every other keeps answering them from the
// state it has — the answers one node holding only the earlier writes
// gives, although the leaders have moved on — and catches up once
// healed; on its shard endpoints too. Without READONLY the same node
// answers from the leaders.
func TestFTReadOnlyReplicas(t *testing.T) {
	c := Start(t, Options{Shards: 2})
	ref := servertest.Start(t)
	ctx := context.Background()
	rng := rand.New(rand.NewSource(11))
	vec := func() string {
		v := make([]float32, 4)
		for i := range v {
			v[i] = float32(rng.NormFloat64())
		}
		return ftVec(v)
	}
	refc := ref.Client(t)
	create := []any{"FT.CREATE", "idx", "PREFIX", "1", "doc:", "SCHEMA",
		"v", "VECTOR", "FLAT", "6", "TYPE", "FLOAT32", "DIM", "4", "DISTANCE_METRIC", "L2", "tag", "TAG", "n", "NUMERIC"}
	if err := c.NodeClient(1).Do(ctx, create...).Err(); err != nil {
		t.Fatalf("FT.CREATE: %v", err)
	}
	if err := refc.Do(ctx, create...).Err(); err != nil {
		t.Fatalf("FT.CREATE on the single node: %v", err)
	}
	cl := c.Client()
	defer cl.Close()
	write := func(from, to int) {
		t.Helper()
		for i := from; i < to; i++ {
			key := fmt.Sprintf("doc:%03d", i)
			fields := []any{"v", vec(), "tag", fmt.Sprintf("t%d", i%3), "n", i}
			deadline := time.Now().Add(20 * time.Second)
			for {
				err := cl.HSet(ctx, key, fields...).Err()
				if err == nil {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("HSET %s: %v", key, err)
				}
				time.Sleep(50 * time.Millisecond)
			}
			if err := refc.HSet(ctx, key, fields...).Err(); err != nil {
				t.Fatalf("HSET %s on the single node: %v", key, err)
			}
		}
	}
	q := vec()
	queries := [][]any{
		{"FT.SEARCH", "idx", "*=>[KNN 6 @v $q]", "PARAMS", "2", "q", q, "RETURN", "2", "__v_score", "n", "DIALECT", "2"},
		{"FT.SEARCH", "idx", "@tag:{t1}", "SORTBY", "n", "DESC", "LIMIT", "0", "5", "RETURN", "1", "n"},
		{"FT.AGGREGATE", "idx", "*", "GROUPBY", "1", "@tag", "REDUCE", "COUNT", "0", "AS", "c", "REDUCE", "AVG", "1", "@n", "AS", "a",
			"SORTBY", "2", "@tag", "ASC"},
		{"FT.AGGREGATE", "idx", "*=>[KNN 4 @v $q]", "PARAMS", "2", "q", q, "LOAD", "1", "@n", "DIALECT", "2"},
	}
	// answers gives the answers to queries (and FT.INFO's num_docs) of a
	// client, "err: ..." for an error.
	answers := func(cl *redis.Client) []any {
		var out []any
		for _, qa := range queries {
			v, err := cl.Do(ctx, qa...).Result()
			if err != nil {
				v = "err: " + err.Error()
			}
			out = append(out, v)
		}
		info, err := cl.Do(ctx, "FT.INFO", "idx").Result()
		switch m := info.(type) {
		case []any:
			return append(out, ftInfoField(m, "num_docs"))
		case map[any]any:
			return append(out, m["num_docs"])
		}
		return append(out, fmt.Sprint("err: ", err))
	}
	readonlyAt := func(addr string, proto int) *redis.Client {
		cl := redis.NewClient(&redis.Options{
			Addr: addr, Protocol: proto, MaxRetries: -1, ReadTimeout: 10 * time.Second,
			OnConnect: func(ctx context.Context, cn *redis.Conn) error { return cn.ReadOnly(ctx).Err() },
		})
		t.Cleanup(func() { cl.Close() })
		return cl
	}
	readonly := func(i int, proto int) *redis.Client { return readonlyAt(c.Addr(i), proto) }
	refAt := func(proto int) []any {
		r := ref.Client(t, func(o *redis.Options) { o.Protocol = proto })
		defer r.Close()
		return answers(r)
	}
	same := func(what string, cl *redis.Client, want []any) {
		t.Helper()
		for _, w := range want {
			if s, ok := w.(string); ok {
				t.Fatalf("%s: the single node answered %s", what, s)
			}
		}
		var got []any
		waitForOr(t, 20*time.Second, what, func() bool {
			got = answers(cl)
			return reflect.DeepEqual(got, want)
		}, func() { t.Logf("%s:\n got %v\nwant %v", what, got, want) })
	}

	write(0, 60)
	wantA := map[int][]any{2: refAt(2), 3: refAt(3)}
	// Once the writes have replicated, every node's READONLY answers are
	// the leaders' (and one node's holding the same data).
	for i := 1; i <= 3; i++ {
		for _, p := range []int{2, 3} {
			same(fmt.Sprintf("READONLY RESP%d answers on node %d", p, i), readonly(i, p), wantA[p])
		}
	}

	// Cut off a node that leads no shard (2 shards, 3 nodes): it keeps its
	// replicas of both shards, but no leader can reach it.
	leads := map[int]bool{}
	for _, sh := range c.opsTopo(t).Shards {
		leads[int(sh.CurrentLeader)] = true
	}
	iso := 0
	for i := 1; i <= 3 && iso == 0; i++ {
		if !leads[i] {
			iso = i
		}
	}
	if iso == 0 {
		t.Fatalf("every node leads a shard: %v", leads)
	}
	other := iso%3 + 1
	c.Isolate(iso)
	write(60, 90)
	wantB := map[int][]any{2: refAt(2), 3: refAt(3)}
	if reflect.DeepEqual(wantA[2], wantB[2]) {
		t.Fatal("the second writes changed no answer")
	}
	// The leaders answer the new state; a READONLY connection elsewhere
	// catches up with it.
	same(fmt.Sprintf("answers on node %d", other), servertest.Client(t, c.Addr(other)), wantB[2])
	same(fmt.Sprintf("READONLY answers on node %d", other), readonly(other, 2), wantB[2])
	// The cut-off node answers READONLY reads from its own replicas: the
	// state before the cut, every time, in RESP2 and RESP3.
	for _, p := range []int{2, 3} {
		ro := readonly(iso, p)
		for try := 0; try < 3; try++ {
			if got := answers(ro); !reflect.DeepEqual(got, wantA[p]) {
				t.Fatalf("READONLY RESP%d on the cut-off node %d:\n got %v\nwant %v (the state before the cut)", p, iso, got, wantA[p])
			}
		}
	}
	// So does a READONLY connection to one of its shard endpoints, where
	// a cluster client sends keyless commands.
	eps := shardEndpoints(t, c, uint64(iso))
	if len(eps) == 0 {
		t.Fatalf("node %d announces no shard endpoint", iso)
	}
	for _, addr := range eps {
		if got := answers(readonlyAt(addr, 2)); !reflect.DeepEqual(got, wantA[2]) {
			t.Fatalf("READONLY on the cut-off node's endpoint %s:\n got %v\nwant %v (the state before the cut)", addr, got, wantA[2])
		}
	}
	// Without READONLY it asks the leaders (over the client port, which
	// the cut leaves up): the new state.
	same(fmt.Sprintf("answers on the cut-off node %d without READONLY", iso), servertest.Client(t, c.Addr(iso)), wantB[2])
	c.Heal()
	same(fmt.Sprintf("READONLY answers on node %d after the heal", iso), readonly(iso, 2), wantB[2])
}
