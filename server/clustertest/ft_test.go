package clustertest

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cairndb/cairn/server/servertest"
	"github.com/cairndb/cairn/server/shard"
	"github.com/cairndb/cairn/server/slot"
)

// ftVec encodes a float32 vector as FT blobs are.
func ftVec(v []float32) string {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return string(b)
}

// TestFTShardsMergeEqualsOneShard: a FLAT index over a 3-shard cluster
// answers KNN and filter queries exactly (same keys, scores, fields,
// order, totals) as one single-node index holding all the data, from
// every node and in RESP2 and RESP3; an index created on one node is
// searchable from every node; FT.INFO adds up; and the answers stay the
// same after a shard's leader changes.
func TestFTShardsMergeEqualsOneShard(t *testing.T) {
	c := Start(t, Options{})
	ref := servertest.Start(t)
	ctx := context.Background()
	const dim, docs = 8, 300
	rng := rand.New(rand.NewSource(7))
	vec := func() string {
		v := make([]float32, dim)
		for i := range v {
			v[i] = float32(rng.NormFloat64())
		}
		return ftVec(v)
	}
	proto := func(p int) func(*redis.Options) { return func(o *redis.Options) { o.Protocol = p } }
	refc := map[int]*redis.Client{2: ref.Client(t, proto(2)), 3: ref.Client(t, proto(3))}
	node := func(i, p int) *redis.Client { return servertest.Client(t, c.Addr(i), proto(p)) }

	create := []any{"FT.CREATE", "idx", "ON", "HASH", "PREFIX", "1", "doc:", "SCHEMA",
		"v", "VECTOR", "FLAT", "6", "TYPE", "FLOAT32", "DIM", fmt.Sprint(dim), "DISTANCE_METRIC", "L2",
		"tag", "TAG", "n", "NUMERIC", "SORTABLE"}
	if err := node(2, 2).Do(ctx, create...).Err(); err != nil {
		t.Fatalf("FT.CREATE on node 2: %v", err)
	}
	if err := refc[2].Do(ctx, create...).Err(); err != nil {
		t.Fatalf("FT.CREATE on the single node: %v", err)
	}
	// A second FT.CREATE fails as on a single node, from any node.
	if err := node(3, 2).Do(ctx, create...).Err(); err == nil || err.Error() != refc[2].Do(ctx, create...).Err().Error() {
		t.Fatalf("duplicate FT.CREATE: %v, want the single node's error", err)
	}
	cl := c.Client()
	defer cl.Close()
	for i := 0; i < docs; i++ {
		key := fmt.Sprintf("doc:%03d", i)
		fields := []any{"v", vec(), "tag", fmt.Sprintf("t%d", i%5), "n", i}
		if err := cl.HSet(ctx, key, fields...).Err(); err != nil {
			t.Fatalf("HSET %s: %v", key, err)
		}
		if err := refc[2].HSet(ctx, key, fields...).Err(); err != nil {
			t.Fatalf("HSET %s on the single node: %v", key, err)
		}
	}
	// The documents are spread over the shards.
	slots, err := cl.ClusterSlots(ctx).Result()
	if err != nil {
		t.Fatalf("CLUSTER SLOTS: %v", err)
	}
	ownerOf := func(key string) string {
		sl := int64(slot.Of([]byte(key)))
		for _, r := range slots {
			if int64(r.Start) <= sl && sl <= int64(r.End) && len(r.Nodes) > 0 {
				return r.Nodes[0].Addr
			}
		}
		return ""
	}
	perShard := map[string]int{}
	for i := 0; i < docs; i++ {
		perShard[ownerOf(fmt.Sprintf("doc:%03d", i))]++
	}
	if len(perShard) != 3 || perShard[""] != 0 {
		t.Fatalf("documents per shard: %v", perShard)
	}

	q := []string{vec(), vec(), vec()}
	queries := [][]any{
		{"FT.SEARCH", "idx", "*=>[KNN 10 @v $q]", "PARAMS", "2", "q", q[0], "DIALECT", "2"},
		{"FT.SEARCH", "idx", "(@tag:{t1|t3})=>[KNN 7 @v $q AS dist]", "PARAMS", "2", "q", q[1], "RETURN", "2", "dist", "n", "DIALECT", "2"},
		{"FT.SEARCH", "idx", "@n:[50 200]=>[KNN 20 @v $q]", "PARAMS", "2", "q", q[2], "NOCONTENT", "LIMIT", "5", "10", "DIALECT", "2"},
		{"FT.SEARCH", "idx", "*=>[KNN 12 @v $q]", "PARAMS", "2", "q", q[0], "SORTBY", "n", "DESC", "RETURN", "1", "tag", "LIMIT", "2", "6", "DIALECT", "2"},
		{"FT.SEARCH", "idx", "*=>[KNN 5 @v $q]", "PARAMS", "2", "q", q[1], "WITHSCORES", "DIALECT", "2"},
		{"FT.SEARCH", "idx", "@tag:{t2}", "SORTBY", "n", "DESC", "LIMIT", "3", "12", "RETURN", "1", "n"},
		{"FT.SEARCH", "idx", "@n:[10 (40]", "SORTBY", "n"},
		{"FT.SEARCH", "idx", "@n:[0 100] -@tag:{t0}", "SORTBY", "n", "ASC", "NOCONTENT", "LIMIT", "20", "15"},
		{"FT.SEARCH", "idx", "@n:[0 100]", "LIMIT", "0", "0"},
		{"FT.SEARCH", "idx", "@n:[-inf +inf]", "SORTBY", "n", "LIMIT", "290", "20", "RETURN", "1", "tag"},
		{"FT.SEARCH", "nosuch", "*"},
		{"FT.SEARCH", "idx", "@nosuch:{x}"},
		{"FT.AGGREGATE", "idx", "*", "GROUPBY", "1", "@tag", "REDUCE", "COUNT", "0", "AS", "c", "REDUCE", "SUM", "1", "@n", "AS", "s",
			"REDUCE", "MIN", "1", "@n", "AS", "lo", "REDUCE", "MAX", "1", "@n", "SORTBY", "2", "@tag", "ASC"},
		{"FT.AGGREGATE", "idx", "@n:[0 150]", "APPLY", "@n*2", "AS", "d", "FILTER", "@d > 20", "GROUPBY", "1", "@tag",
			"REDUCE", "COUNT", "0", "AS", "c", "REDUCE", "SUM", "1", "@d", "SORTBY", "4", "@c", "DESC", "@tag", "ASC", "LIMIT", "1", "3"},
		{"FT.AGGREGATE", "idx", "-@tag:{t0}", "GROUPBY", "2", "@tag", "@nosuch", "REDUCE", "MAX", "1", "@n", "AS", "hi",
			"SORTBY", "2", "@hi", "DESC", "MAX", "2"},
		{"FT.AGGREGATE", "nosuch", "*", "GROUPBY", "1", "@tag"},
		// Pipelines the coordinator runs over the shards' merged rows.
		{"FT.AGGREGATE", "idx", "*=>[KNN 20 @v $q]", "PARAMS", "2", "q", q[0], "GROUPBY", "1", "@tag",
			"REDUCE", "AVG", "1", "@n", "AS", "avg", "REDUCE", "COUNT", "0", "AS", "c", "REDUCE", "MIN", "1", "@__v_score", "AS", "best",
			"SORTBY", "2", "@tag", "ASC", "DIALECT", "2"},
		{"FT.AGGREGATE", "idx", "@n:[0 200]", "APPLY", "@n % 7", "AS", "m", "GROUPBY", "1", "@tag",
			"REDUCE", "COUNT_DISTINCT", "1", "@m", "AS", "dm", "REDUCE", "AVG", "1", "@n", "SORTBY", "2", "@tag", "DESC"},
		{"FT.AGGREGATE", "idx", "*", "GROUPBY", "1", "@tag", "REDUCE", "SUM", "1", "@n", "AS", "s", "REDUCE", "COUNT", "0", "AS", "c",
			"APPLY", "@s / @c", "AS", "mean", "SORTBY", "2", "@mean", "DESC"},
		{"FT.AGGREGATE", "idx", "@n:[0 150]", "APPLY", "@n % 4", "AS", "b", "GROUPBY", "2", "@tag", "@b", "REDUCE", "COUNT", "0", "AS", "c",
			"GROUPBY", "1", "@c", "REDUCE", "COUNT", "0", "AS", "groups", "SORTBY", "2", "@c", "ASC"},
		{"FT.AGGREGATE", "idx", "@tag:{t1|t2}", "LOAD", "2", "@n", "@tag", "SORTBY", "2", "@n", "DESC", "LIMIT", "5", "10"},
		{"FT.AGGREGATE", "idx", "*", "GROUPBY", "1", "@tag", "REDUCE", "MAX", "1", "@n", "AS", "hi", "FILTER", "@hi > 296", "SORTBY", "2", "@tag", "ASC"},
		{"FT.AGGREGATE", "idx", "*=>[KNN 8 @v $q AS d]", "PARAMS", "2", "q", q[1], "LOAD", "1", "@tag", "SORTBY", "2", "@d", "ASC", "DIALECT", "2"},
		{"FT.AGGREGATE", "idx", "(@tag:{t0|t4})=>[KNN 15 @v $q]", "PARAMS", "2", "q", q[2], "LOAD", "1", "@n", "APPLY", "@n * 2", "AS", "nn",
			"FILTER", "@nn > 100", "DIALECT", "2"},
		{"FT.AGGREGATE", "idx", "@n:[20 30]", "LOAD", "1", "@n", "APPLY", "@n - 20", "AS", "k", "LIMIT", "2", "5"},
		{"FT.AGGREGATE", "idx", "@n:[10 14]", "LOAD", "*"},
		{"FT.AGGREGATE", "idx", "@n:[0 9]", "LOAD", "1", "@tag", "SORTBY", "2", "@n", "DESC", "MAX", "3"},
		{"FT.AGGREGATE", "idx", "*", "GROUPBY", "1", "tag"},
		{"FT.AGGREGATE", "idx", "*", "GROUPBY", "1", "@tag", "REDUCE", "MEDIAN", "1", "@n"},
		{"FT.AGGREGATE", "idx", "@n:[abc", "GROUPBY", "1", "@tag"},
		{"FT.AGGREGATE", "idx", "*=>[KNN 3 @v $q]", "PARAMS", "2", "q", "abc", "DIALECT", "2"},
	}
	// ask runs a query, again after a shard read that timed out
	// (TRYAGAIN read not confirmed...) on the loaded machine or right
	// after a failover: a read changes nothing.
	ask := func(cl *redis.Client, qa []any) (any, error) {
		got, err := cl.Do(ctx, qa...).Result()
		for try := 0; try < 5 && err != nil && err.Error() == shard.ReadTimeoutReply; try++ {
			time.Sleep(200 * time.Millisecond)
			got, err = cl.Do(ctx, qa...).Result()
		}
		return got, err
	}
	check := func(stage string) {
		t.Helper()
		for qi, qa := range queries {
			for _, p := range []int{2, 3} {
				want, werr := refc[p].Do(ctx, qa...).Result()
				for i := 1; i <= 3; i++ {
					got, gerr := ask(node(i, p), qa)
					if fmt.Sprint(gerr) != fmt.Sprint(werr) || !reflect.DeepEqual(got, want) {
						t.Fatalf("%s: query %d (RESP%d) on node %d:\n got %v (err %v)\nwant %v (err %v)",
							stage, qi, p, i, got, gerr, want, werr)
					}
				}
			}
		}
		// The fan-out really merges: every query above that returns
		// documents was compared, and a KNN answer draws on several shards.
		res, err := node(1, 2).Do(ctx, "FT.SEARCH", "idx", "*=>[KNN 30 @v $q]", "PARAMS", "2", "q", q[0], "NOCONTENT", "LIMIT", "0", "30", "DIALECT", "2").Slice()
		if err != nil || len(res) != 31 || res[0] != int64(30) {
			t.Fatalf("%s: KNN 30: %v %v", stage, res, err)
		}
		owners := map[string]bool{}
		for _, k := range res[1:] {
			owners[ownerOf(k.(string))] = true
		}
		if len(owners) < 2 {
			t.Fatalf("%s: KNN 30 drew on %d shard(s)", stage, len(owners))
		}
		for i := 1; i <= 3; i++ {
			info, err := node(i, 2).Do(ctx, "FT.INFO", "idx").Slice()
			if err != nil {
				t.Fatalf("%s: FT.INFO on node %d: %v", stage, i, err)
			}
			if n := ftInfoField(info, "num_docs"); n != int64(docs) {
				t.Fatalf("%s: FT.INFO num_docs on node %d = %v, want %d", stage, i, n, docs)
			}
			if l, err := node(i, 2).Do(ctx, "FT._LIST").StringSlice(); err != nil || len(l) != 1 || l[0] != "idx" {
				t.Fatalf("%s: FT._LIST on node %d: %v %v", stage, i, l, err)
			}
		}
	}
	check("initial")
	// Random pipelines (seeded): over several shards they answer as on the
	// single node, whatever the steps and their order.
	nonEmpty := 0
	for k, qa := range randomAggregates(rand.New(rand.NewSource(5)), 150, q) {
		for _, p := range []int{2, 3} {
			want, werr := refc[p].Do(ctx, qa...).Result()
			got, gerr := ask(node(k%3+1, p), qa)
			if fmt.Sprint(gerr) != fmt.Sprint(werr) || !reflect.DeepEqual(got, want) {
				t.Fatalf("random pipeline %q (RESP%d) on node %d:\n got %v (err %v)\nwant %v (err %v)", qa, p, k%3+1, got, gerr, want, werr)
			}
			if r, ok := want.([]any); ok && len(r) > 1 {
				nonEmpty++
			}
		}
	}
	if nonEmpty < 100 {
		t.Fatalf("only %d random pipelines answered rows", nonEmpty)
	}
	// A shard's leader changes: stop the node leading shard 1.
	leader := 0
	for _, sh := range c.opsTopo(t).Shards {
		if sh.ID == 1 {
			leader = int(sh.CurrentLeader)
		}
	}
	if leader == 0 {
		t.Fatal("shard 1 has no leader")
	}
	c.Stop(leader)
	other := leader%3 + 1
	waitFor(t, 20*time.Second, "shard 1 led elsewhere", func() bool {
		for _, sh := range c.opsTopo(t).Shards {
			if sh.ID == 1 && sh.CurrentLeader != 0 && int(sh.CurrentLeader) != leader {
				return true
			}
		}
		return false
	})
	for qi, qa := range queries {
		want, werr := refc[2].Do(ctx, qa...).Result()
		got, gerr := ask(node(other, 2), qa)
		if fmt.Sprint(gerr) != fmt.Sprint(werr) || !reflect.DeepEqual(got, want) {
			t.Fatalf("after failover: query %d on node %d:\n got %v (err %v)\nwant %v (err %v)", qi, other, got, gerr, want, werr)
		}
	}
	// An alias and a second index created while a node is down reach
	// every shard once it is back.
	if err := node(other, 2).Do(ctx, "FT.ALIASADD", "al", "idx").Err(); err != nil {
		t.Fatalf("FT.ALIASADD: %v", err)
	}
	c.Restart(leader)
	c.WaitServing(30 * time.Second)
	create2 := []any{"FT.CREATE", "idx2", "PREFIX", "1", "doc:", "SCHEMA", "tag", "TAG", "n", "NUMERIC"}
	if err := node(leader, 2).Do(ctx, create2...).Err(); err != nil {
		t.Fatalf("FT.CREATE idx2 on node %d: %v", leader, err)
	}
	refc[2].Do(ctx, create2...)
	refc[2].Do(ctx, "FT.ALIASADD", "al", "idx")
	q2 := []any{"FT.SEARCH", "idx2", "@tag:{t4}", "SORTBY", "n", "LIMIT", "0", "100"}
	q3 := []any{"FT.SEARCH", "al", "@tag:{t1}", "SORTBY", "n", "DESC", "RETURN", "1", "n"}
	for _, qa := range [][]any{q2, q3} {
		want, werr := refc[2].Do(ctx, qa...).Result()
		if werr != nil {
			t.Fatalf("single node %v: %v", qa, werr)
		}
		for i := 1; i <= 3; i++ {
			waitFor(t, 20*time.Second, fmt.Sprintf("%v on node %d", qa[1], i), func() bool {
				got, err := node(i, 2).Do(ctx, qa...).Result()
				return err == nil && reflect.DeepEqual(got, want)
			})
		}
	}
	// A shard added later gets the indexes and aliases from the directory:
	// documents moved onto it stay searchable, the answers stay equal.
	admin := node(1, 2)
	id, err := admin.Do(ctx, "CLUSTER", "ADDSHARD", "1", "2", "3").Int()
	if err != nil {
		t.Fatalf("ADDSHARD: %v", err)
	}
	moved := map[int64]bool{}
	for i := 0; i < docs && len(moved) < 40; i += 7 {
		moved[int64(slot.Of([]byte(fmt.Sprintf("doc:%03d", i))))] = true
	}
	var ranges []any
	for sl := range moved {
		ranges = append(ranges, sl, sl)
	}
	mctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := admin.Do(mctx, append([]any{"CLUSTER", "MOVESLOTS", id}, ranges...)...).Err(); err != nil {
		t.Fatalf("MOVESLOTS: %v", err)
	}
	for _, qa := range append(queries[:8:8], q2, q3) {
		want, werr := refc[2].Do(ctx, qa...).Result()
		for i := 1; i <= 3; i++ {
			var got any
			var gerr error
			ok := false
			for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
				got, gerr = node(i, 2).Do(ctx, qa...).Result()
				if ok = fmt.Sprint(gerr) == fmt.Sprint(werr) && reflect.DeepEqual(got, want); ok {
					break
				}
			}
			if !ok {
				t.Fatalf("after adding shard %d: %v on node %d:\n got %v (err %v)\nwant %v (err %v)", id, qa[2], i, got, gerr, want, werr)
			}
		}
	}
	info, err := node(2, 2).Do(ctx, "FT.INFO", "idx").Slice()
	if err != nil || ftInfoField(info, "num_docs") != int64(docs) {
		t.Fatalf("FT.INFO after adding a shard: num_docs %v (%v), want %d", ftInfoField(info, "num_docs"), err, docs)
	}

	// FT.DROPINDEX on one node drops it on every shard.
	if err := node(1, 2).Do(ctx, "FT.DROPINDEX", "idx2").Err(); err != nil {
		t.Fatalf("FT.DROPINDEX: %v", err)
	}
	for i := 1; i <= 3; i++ {
		if err := node(i, 2).Do(ctx, "FT.SEARCH", "idx2", "*").Err(); err == nil || !strings.Contains(err.Error(), "no such index") {
			t.Fatalf("FT.SEARCH idx2 on node %d after FT.DROPINDEX: %v", i, err)
		}
	}
	// An FT write inside MULTI would reach one shard only: refused.
	_, err = node(1, 2).TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Do(ctx, "FT.CREATE", "idx3", "SCHEMA", "n", "NUMERIC")
		return nil
	})
	if err == nil || !strings.Contains(err.Error(), "not supported in cluster mode") {
		t.Fatalf("FT.CREATE in MULTI: %v", err)
	}
	for i := 1; i <= 3; i++ {
		if l, err := node(i, 2).Do(ctx, "FT._LIST").StringSlice(); err != nil || len(l) != 1 || l[0] != "idx" {
			t.Fatalf("FT._LIST on node %d at the end: %v %v", i, l, err)
		}
	}
}

func ftInfoField(info []any, name string) any {
	for i := 0; i+1 < len(info); i += 2 {
		if s, _ := info[i].(string); s == name {
			return info[i+1]
		}
	}
	return nil
}

// randomAggregates returns n FT.AGGREGATE commands over idx (fields v, tag,
// n) with random queries (filters, KNN over vecs) and random pipelines:
// LOAD, APPLY, FILTER, GROUPBY with every reducer, SORTBY [MAX], LIMIT,
// in any order and number.
func randomAggregates(rng *rand.Rand, n int, vecs []string) [][]any {
	props := []string{"@n", "@tag", "@x", "@y", "@__v_score", "@d", "@nosuch"}
	pick := func(a []string) string { return a[rng.Intn(len(a))] }
	queries := []string{"*", "@tag:{t1|t2}", "@n:[10 150]", "-@tag:{t0}", "*=>[KNN 10 @v $q]",
		"(@tag:{t0|t3})=>[KNN 25 @v $q]", "@n:[0 200]=>[KNN 40 @v $q AS d]"}
	var out [][]any
	for len(out) < n {
		qa := []any{"FT.AGGREGATE", "idx", pick(queries)}
		for k := rng.Intn(6); k > 0; k-- {
			switch rng.Intn(6) {
			case 0:
				if rng.Intn(4) == 0 {
					qa = append(qa, "LOAD", "*")
				} else {
					qa = append(qa, "LOAD", "2", pick(props), pick(props))
				}
			case 1:
				qa = append(qa, "APPLY", pick([]string{"@n * 2", "@n % 7", "@n > 100", "@x + 1", "@tag", "@nosuch + 1"}), "AS", pick([]string{"x", "y"}))
			case 2:
				qa = append(qa, "FILTER", pick([]string{"@n > 40", "@n < 250", "@x > 10", "@tag != 't2'", "@y"}))
			case 3:
				g := []any{"GROUPBY", "1", pick(props)}
				if rng.Intn(2) == 0 {
					g = []any{"GROUPBY", "2", pick(props), pick(props)}
				}
				for r := rng.Intn(4); r > 0; r-- {
					if fn := pick([]string{"COUNT", "SUM", "AVG", "MIN", "MAX", "COUNT_DISTINCT"}); fn == "COUNT" {
						g = append(g, "REDUCE", "COUNT", "0")
					} else {
						g = append(g, "REDUCE", fn, "1", pick(props))
					}
					if rng.Intn(2) == 0 {
						g = append(g, "AS", pick([]string{"x", "y", "c"}))
					}
				}
				qa = append(qa, g...)
			case 4:
				sb := []any{"SORTBY", "4", pick(props), pick([]string{"ASC", "DESC"}), pick(props), pick([]string{"ASC", "DESC"})}
				if rng.Intn(3) == 0 {
					sb = append(sb, "MAX", fmt.Sprint(rng.Intn(8)))
				}
				qa = append(qa, sb...)
			case 5:
				qa = append(qa, "LIMIT", fmt.Sprint(rng.Intn(6)), fmt.Sprint(rng.Intn(12)))
			}
		}
		qa = append(qa, "PARAMS", "2", "q", vecs[rng.Intn(len(vecs))], "DIALECT", "2")
		out = append(out, qa)
	}
	return out
}
