package server_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cairndb/cairn/server/servertest"
)

func f32blob(v ...float32) string {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return string(b)
}

// ftVec is document i's vector in the FT tests: points on a line, so the
// nearest neighbours of a query are known exactly.
func ftVec(i int) []float32 { return []float32{float32(i), float32(i) * 0.5, 1} }

func ftSeed(t *testing.T, ctx context.Context, c *redis.Client, algo string) {
	t.Helper()
	schema := []*redis.FieldSchema{
		{FieldName: "title", FieldType: redis.SearchFieldTypeText},
		{FieldName: "color", FieldType: redis.SearchFieldTypeTag},
		{FieldName: "price", FieldType: redis.SearchFieldTypeNumeric, Sortable: true},
	}
	v := &redis.FieldSchema{FieldName: "v", FieldType: redis.SearchFieldTypeVector, VectorArgs: &redis.FTVectorArgs{}}
	if algo == "HNSW" {
		v.VectorArgs.HNSWOptions = &redis.FTHNSWOptions{Type: "FLOAT32", Dim: 3, DistanceMetric: "L2"}
	} else {
		v.VectorArgs.FlatOptions = &redis.FTFlatOptions{Type: "FLOAT32", Dim: 3, DistanceMetric: "L2"}
	}
	schema = append(schema, v)
	// Half the documents exist before FT.CREATE (backfill), half after.
	for i := 0; i < 20; i++ {
		if i == 10 {
			if err := c.FTCreate(ctx, "idx", &redis.FTCreateOptions{OnHash: true, Prefix: []interface{}{"doc:"}}, schema...).Err(); err != nil {
				t.Fatalf("FT.CREATE: %v", err)
			}
		}
		color := []string{"red", "green", "blue"}[i%3]
		if err := c.HSet(ctx, fmt.Sprintf("doc:%d", i), "title", fmt.Sprintf("item number %d", i), "color", color,
			"price", i*10, "v", f32blob(ftVec(i)...)).Err(); err != nil {
			t.Fatal(err)
		}
	}
	// Not under the prefix: never indexed.
	c.HSet(ctx, "other:1", "v", f32blob(ftVec(5)...))
}

func docIDs(r redis.FTSearchResult) []string {
	var ids []string
	for _, d := range r.Docs {
		ids = append(ids, d.ID)
	}
	return ids
}

func TestFT_GoRedis(t *testing.T) {
	n := servertest.Start(t)
	for _, proto := range []int{2, 3} {
		for _, algo := range []string{"FLAT", "HNSW"} {
			t.Run(fmt.Sprintf("RESP%d/%s", proto, algo), func(t *testing.T) {
				ctx := context.Background()
				c := n.Client(t, func(o *redis.Options) { o.Protocol = proto })
				c.FlushAll(ctx)
				c.FTDropIndex(ctx, "idx")
				ftSeed(t, ctx, c, algo)
				testFTClient(t, ctx, c)
			})
		}
	}
}

func testFTClient(t *testing.T, ctx context.Context, c *redis.Client) {
	knn := func(q string, k int, extra func(*redis.FTSearchOptions)) redis.FTSearchResult {
		t.Helper()
		o := &redis.FTSearchOptions{Params: map[string]interface{}{"q": f32blob(6.2, 3.1, 1)}, DialectVersion: 2}
		if extra != nil {
			extra(o)
		}
		r, err := c.FTSearchWithArgs(ctx, "idx", fmt.Sprintf("%s=>[KNN %d @v $q]", q, k), o).Result()
		if err != nil {
			t.Fatalf("KNN %s: %v", q, err)
		}
		return r
	}
	r := knn("*", 3, nil)
	if got, want := docIDs(r), []string{"doc:6", "doc:7", "doc:5"}; !slices.Equal(got, want) || r.Total != 3 {
		t.Fatalf("KNN: %v total %d, want %v", got, r.Total, want)
	}
	// Squared L2: (0.2)^2 + (0.1)^2.
	if s, _ := strconv.ParseFloat(r.Docs[0].Fields["__v_score"], 64); math.Abs(s-0.05) > 1e-5 || r.Docs[0].Fields["color"] != "red" {
		t.Fatalf("doc fields %v", r.Docs[0].Fields)
	}
	// Filtered KNN.
	r = knn("(@color:{green})", 2, nil)
	if got, want := docIDs(r), []string{"doc:7", "doc:4"}; !slices.Equal(got, want) {
		t.Fatalf("filtered KNN: %v, want %v", got, want)
	}
	r = knn("@price:[-inf (50]", 2, func(o *redis.FTSearchOptions) {
		o.Return = []redis.FTSearchReturn{{FieldName: "price"}, {FieldName: "__v_score", As: "dist"}}
	})
	if got, want := docIDs(r), []string{"doc:4", "doc:3"}; !slices.Equal(got, want) || r.Docs[0].Fields["price"] != "40" || r.Docs[0].Fields["dist"] == "" || len(r.Docs[0].Fields) != 2 {
		t.Fatalf("RETURN: %v %v", got, r.Docs)
	}
	// Non-vector queries with SORTBY and LIMIT.
	r2, err := c.FTSearchWithArgs(ctx, "idx", "@color:{red|blue} -@price:[100 +inf]", &redis.FTSearchOptions{
		SortBy: []redis.FTSearchSortBy{{FieldName: "price", Desc: true}}, LimitOffset: 1, Limit: 2, NoContent: true}).Result()
	if err != nil {
		t.Fatal(err)
	}
	// red|blue below 100: 0 2 3 5 6 8 9 -> desc 9 8 6 ...; offset 1 -> 8 6.
	if got, want := docIDs(r2), []string{"doc:8", "doc:6"}; !slices.Equal(got, want) || r2.Total != 7 {
		t.Fatalf("SORTBY/LIMIT: %v total %d, want %v total 7", got, r2.Total, want)
	}
	r2, err = c.FTSearchWithArgs(ctx, "idx", "@title:numb* @price:[30 30]", &redis.FTSearchOptions{}).Result()
	if err != nil || r2.Total != 1 || r2.Docs[0].ID != "doc:3" || r2.Docs[0].Fields["title"] != "item number 3" {
		t.Fatalf("text prefix: %+v %v", r2, err)
	}
	// Writes are reflected before the reply: update, delete, expire.
	c.HSet(ctx, "doc:6", "v", f32blob(100, 100, 100))
	c.Del(ctx, "doc:7")
	r = knn("*", 3, nil)
	if got, want := docIDs(r), []string{"doc:5", "doc:8", "doc:4"}; !slices.Equal(got, want) {
		t.Fatalf("after update/delete: %v, want %v", got, want)
	}
	// A wrong-size vector is an indexing failure, never a write error.
	if err := c.HSet(ctx, "doc:bad", "v", "xyz").Err(); err != nil {
		t.Fatalf("HSET of a bad vector failed: %v", err)
	}
	info, err := c.FTInfo(ctx, "idx").Result()
	if err != nil {
		t.Fatal(err)
	}
	if info.IndexName != "idx" || info.NumDocs != 19 || info.HashIndexingFailures != 1 || info.PercentIndexed != 1 || len(info.Attributes) != 4 {
		t.Fatalf("FT.INFO: name %q docs %d failures %d pct %v attrs %d", info.IndexName, info.NumDocs, info.HashIndexingFailures, info.PercentIndexed, len(info.Attributes))
	}
	if a := info.Attributes[3]; a.Type != "VECTOR" || a.Dim != 3 || a.DistanceMetric != "L2" {
		t.Fatalf("vector attribute %+v", a)
	}
	list, err := c.FT_List(ctx).Result()
	if err != nil || !slices.Equal(list, []string{"idx"}) {
		t.Fatalf("FT._LIST %v %v", list, err)
	}
	// Aliases.
	if err := c.FTAliasAdd(ctx, "idx", "al").Err(); err != nil {
		t.Fatal(err)
	}
	if r2, err := c.FTSearchWithArgs(ctx, "al", "*", &redis.FTSearchOptions{CountOnly: true}).Result(); err != nil || r2.Total != 19 {
		t.Fatalf("search via alias: %+v %v", r2, err)
	}
	if err := c.FTAliasDel(ctx, "al").Err(); err != nil {
		t.Fatal(err)
	}
	// Errors.
	for _, tc := range []struct {
		err  error
		want string
	}{
		{c.FTSearch(ctx, "nope", "*").Err(), "nope: no such index"},
		{c.FTInfo(ctx, "nope").Err(), "Unknown Index name"},
		{c.Do(ctx, "FT.CREATE", "idx", "SCHEMA", "t", "TEXT").Err(), "Index already exists"},
		{c.Do(ctx, "FT.SEARCH", "idx", "@price:[1 2").Err(), "Syntax error at offset 7 near [1"},
		{c.FTSearchWithArgs(ctx, "idx", "*=>[KNN 3 @v $q]", &redis.FTSearchOptions{Params: map[string]interface{}{"q": "abc"}, DialectVersion: 2}).Err(),
			"Error parsing vector similarity query: query vector blob size (3) does not match index's expected size (12)."},
		{c.FTAliasDel(ctx, "al").Err(), "Alias does not exist"},
	} {
		if tc.err == nil || tc.err.Error() != tc.want {
			t.Errorf("error %v, want %q", tc.err, tc.want)
		}
	}
	// A failed FT.CREATE creates nothing.
	if err := c.Do(ctx, "FT.CREATE", "idx2", "SCHEMA", "v", "VECTOR", "HNSW", "4", "TYPE", "FLOAT32", "DIM", "3").Err(); err == nil {
		t.Fatal("FT.CREATE without DISTANCE_METRIC succeeded")
	}
	if list, _ := c.FT_List(ctx).Result(); len(list) != 1 {
		t.Fatalf("half-created index: %v", list)
	}
	// FT.AGGREGATE: GROUPBY with reducers, APPLY, FILTER, SORTBY.
	// Documents now: 0..19 without 7 (deleted); colors by i%3.
	agg, err := c.FTAggregateWithArgs(ctx, "idx", "@price:[0 90]", &redis.FTAggregateOptions{
		GroupBy: []redis.FTAggregateGroupBy{{Fields: []interface{}{"@color"}, Reduce: []redis.FTAggregateReducer{
			{Reducer: redis.SearchCount, As: "n"}, {Reducer: redis.SearchSum, Args: []interface{}{"@price"}, As: "total"}}}},
		SortBy: []redis.FTAggregateSortBy{{FieldName: "@color", Asc: true}},
	}).Result()
	if err != nil {
		t.Fatal(err)
	}
	var rows []string
	for _, r := range agg.Rows {
		rows = append(rows, fmt.Sprint(r.Fields["color"], " ", r.Fields["n"], " ", r.Fields["total"]))
	}
	// blue: 2 5 8 -> 150; green: 1 4 -> 50; red: 0 3 6 9 -> 180.
	if got := strings.Join(rows, ","); got != "blue 3 150,green 2 50,red 4 180" || agg.Total != 3 {
		t.Fatalf("FT.AGGREGATE: %s (total %d)", got, agg.Total)
	}
	// green: 1 4 10 13 16 19 -> avg 105, max 190. APPLY after GROUPBY (go-redis's deprecated fields put APPLY first).
	agg, err = c.FTAggregateWithArgs(ctx, "idx", "*", &redis.FTAggregateOptions{}).Result()
	if err != nil || agg.Total != 19 {
		t.Fatalf("FT.AGGREGATE *: %v %v", agg, err)
	}
	r3, err := c.Do(ctx, "FT.AGGREGATE", "idx", "@color:{green}", "GROUPBY", "1", "@color", "REDUCE", "AVG", "1", "@price",
		"REDUCE", "MAX", "1", "@price", "AS", "top", "APPLY", "@top * 2 - 1", "AS", "x", "DIALECT", "2").Result()
	if want := aggRow(proto(c), "color", "green", "__generated_aliasavgprice", "105", "top", "190", "x", "379"); err != nil || fmt.Sprint(r3) != fmt.Sprint(want) {
		t.Fatalf("FT.AGGREGATE APPLY: %v %v, want %v", r3, err, want)
	}
	if r, err := c.Do(ctx, "FT.AGGREGATE", "idx", "*", "LOAD", "1", "@price", "FILTER", "@price >= 180", "SORTBY", "2", "@price", "DESC").Result(); err != nil || fmt.Sprint(r) != fmt.Sprint(expectAgg(proto(c))) {
		t.Fatalf("FT.AGGREGATE FILTER: %v %v", r, err)
	}
	// DROPINDEX DD deletes the documents.
	if err := c.FTDropIndexWithArgs(ctx, "idx", &redis.FTDropIndexOptions{DeleteDocs: true}).Err(); err != nil {
		t.Fatal(err)
	}
	if n := c.Exists(ctx, "doc:1", "doc:2").Val(); n != 0 || c.Exists(ctx, "other:1").Val() != 1 {
		t.Fatalf("DD left %d documents", n)
	}
}

// TestFT_RestartFromSnapshot: the index is in the snapshot, and a
// restarted node answers identically without a rebuild.
func TestFT_RestartFromSnapshot(t *testing.T) {
	n := servertest.Start(t)
	ctx := context.Background()
	c := n.Client(t)
	ftSeed(t, ctx, c, "HNSW")
	search := func(c *redis.Client) []string {
		r, err := c.FTSearchWithArgs(ctx, "idx", "@color:{red|green}=>[KNN 5 @v $q]", &redis.FTSearchOptions{
			Params: map[string]interface{}{"q": f32blob(9, 4.4, 1)}, DialectVersion: 2}).Result()
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, d := range r.Docs {
			out = append(out, d.ID+"="+d.Fields["__v_score"])
		}
		return out
	}
	before := search(c)
	if err := c.Do(ctx, "SAVE").Err(); err != nil {
		t.Fatal(err)
	}
	// Log tail after the snapshot.
	c.Del(ctx, "doc:9")
	c.HSet(ctx, "doc:30", "color", "red", "v", f32blob(ftVec(9)...))
	after := search(c)
	cfg := n.Cfg
	n.Close()
	n = servertest.Restart(t, cfg)
	c = n.Client(t)
	if got := search(c); !slices.Equal(got, after) {
		t.Fatalf("after restart %v, want %v (before the tail %v)", got, after, before)
	}
	info, err := c.FTInfo(ctx, "idx").Result()
	if err != nil || info.NumDocs != 20 || info.PercentIndexed != 1 {
		t.Fatalf("FT.INFO after restart: docs %d pct %v %v", info.NumDocs, info.PercentIndexed, err)
	}
}

// TestFT_FlatExact compares a FLAT index's KNN with brute force.
func TestFT_FlatExact(t *testing.T) {
	n := servertest.Start(t)
	ctx := context.Background()
	c := n.Client(t)
	const dim, docs = 8, 300
	if err := c.Do(ctx, "FT.CREATE", "f", "PREFIX", "1", "p:", "SCHEMA", "v", "VECTOR", "FLAT", "6", "TYPE", "FLOAT32", "DIM", dim, "DISTANCE_METRIC", "L2").Err(); err != nil {
		t.Fatal(err)
	}
	vec := func(i, salt int) []float32 {
		v := make([]float32, dim)
		x := uint64(i*7919 + salt*104729 + 1)
		for j := range v {
			x ^= x << 13
			x ^= x >> 7
			x ^= x << 17
			v[j] = float32(x%1000) / 100
		}
		return v
	}
	vs := map[string][]float32{}
	p := c.Pipeline()
	for i := 0; i < docs; i++ {
		k := fmt.Sprintf("p:%d", i)
		vs[k] = vec(i, 0)
		p.HSet(ctx, k, "v", f32blob(vs[k]...))
	}
	if _, err := p.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	for q := 0; q < 10; q++ {
		qv := vec(q, 1)
		type kd struct {
			k string
			d float32
		}
		var all []kd
		for k, v := range vs {
			var d float32
			for j := range v {
				x := v[j] - qv[j]
				d += x * x
			}
			all = append(all, kd{k, d})
		}
		sort.Slice(all, func(i, j int) bool { return all[i].d < all[j].d || all[i].d == all[j].d && all[i].k < all[j].k })
		r, err := c.FTSearchWithArgs(ctx, "f", "*=>[KNN 10 @v $q]", &redis.FTSearchOptions{NoContent: true,
			Params: map[string]interface{}{"q": f32blob(qv...)}, DialectVersion: 2}).Result()
		if err != nil {
			t.Fatal(err)
		}
		for i, d := range r.Docs {
			if d.ID != all[i].k {
				t.Fatalf("query %d rank %d: %s, want %s", q, i, d.ID, all[i].k)
			}
		}
	}
}

func proto(c *redis.Client) int { return c.Options().Protocol }

// aggRow is a one-row FT.AGGREGATE reply as go-redis's Do returns it.
func aggRow(proto int, kv ...string) interface{} {
	if proto == 3 {
		m := map[interface{}]interface{}{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return map[interface{}]interface{}{"attributes": []interface{}{}, "format": "STRING",
			"results": []interface{}{map[interface{}]interface{}{"extra_attributes": m, "values": []interface{}{}}}, "total_results": int64(1), "warning": []interface{}{}}
	}
	row := []interface{}{}
	for _, x := range kv {
		row = append(row, x)
	}
	return []interface{}{int64(1), row}
}

// expectAgg is the reply of the FILTER aggregation in testFTClient as
// go-redis's Do returns it for the protocol.
func expectAgg(proto int) interface{} {
	if proto == 3 {
		row := func(p string) interface{} {
			return map[interface{}]interface{}{"extra_attributes": map[interface{}]interface{}{"price": p}, "values": []interface{}{}}
		}
		return map[interface{}]interface{}{"attributes": []interface{}{}, "format": "STRING",
			"results": []interface{}{row("190"), row("180")}, "total_results": int64(2), "warning": []interface{}{}}
	}
	return []interface{}{int64(2), []interface{}{"price", "190"}, []interface{}{"price", "180"}}
}

// TestFT_Backfill: FT.CREATE over existing data indexes it in logged
// batches; FT.INFO shows the progress and ends at 100%.
func TestFT_Backfill(t *testing.T) {
	n := servertest.Start(t)
	ctx := context.Background()
	c := n.Client(t)
	const docs = 3500
	p := c.Pipeline()
	for i := range docs {
		p.HSet(ctx, fmt.Sprintf("b:%d", i), "n", i, "v", f32blob(float32(i), 0))
		p.Set(ctx, fmt.Sprintf("other:%d", i), "x", 0)
	}
	if _, err := p.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Do(ctx, "FT.CREATE", "bf", "PREFIX", "1", "b:", "SCHEMA", "n", "NUMERIC", "v", "VECTOR", "FLAT", "6", "TYPE", "FLOAT32", "DIM", "2", "DISTANCE_METRIC", "L2").Err(); err != nil {
		t.Fatal(err)
	}
	first, err := c.FTInfo(ctx, "bf").Result()
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		info, err := c.FTInfo(ctx, "bf").Result()
		if err != nil {
			t.Fatal(err)
		}
		if info.PercentIndexed == 1 {
			if info.NumDocs != docs || info.Indexing != 0 {
				t.Fatalf("after backfill: docs %d indexing %d", info.NumDocs, info.Indexing)
			}
			break
		}
		if info.Indexing != 1 || info.PercentIndexed < 0 || info.PercentIndexed >= 1 {
			t.Fatalf("during backfill: indexing %d percent %v", info.Indexing, info.PercentIndexed)
		}
		if time.Now().After(deadline) {
			t.Fatalf("backfill stuck at %v", info.PercentIndexed)
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Logf("FT.INFO right after FT.CREATE: num_docs %d, percent_indexed %v", first.NumDocs, first.PercentIndexed)
	r, err := c.FTSearchWithArgs(ctx, "bf", "@n:[3400 +inf]=>[KNN 3 @v $q]", &redis.FTSearchOptions{NoContent: true,
		Params: map[string]interface{}{"q": f32blob(3498.2, 0)}, DialectVersion: 2}).Result()
	if got := docIDs(r); err != nil || !slices.Equal(got, []string{"b:3498", "b:3499", "b:3497"}) {
		t.Fatalf("search after backfill: %v %v", got, err)
	}
}

// TestFT_WritesReindex: every kind of write reaches the index through the
// one Touched mechanism: HDEL, RENAME (in and out of the prefix), expiry,
// RESTORE, MULTI (a search inside sees the transaction's earlier write)
// and FLUSHALL.
func TestFT_WritesReindex(t *testing.T) {
	n := servertest.Start(t)
	ctx := context.Background()
	c := n.Client(t)
	if err := c.Do(ctx, "FT.CREATE", "w", "PREFIX", "1", "d:", "SCHEMA", "t", "TAG", "v", "VECTOR", "HNSW", "6", "TYPE", "FLOAT32", "DIM", "2", "DISTANCE_METRIC", "L2").Err(); err != nil {
		t.Fatal(err)
	}
	knn := func() []string {
		t.Helper()
		r, err := c.FTSearchWithArgs(ctx, "w", "*=>[KNN 10 @v $q]", &redis.FTSearchOptions{NoContent: true,
			Params: map[string]interface{}{"q": f32blob(0, 0)}, DialectVersion: 2}).Result()
		if err != nil {
			t.Fatal(err)
		}
		return docIDs(r)
	}
	expect := func(what string, want ...string) {
		t.Helper()
		if got := knn(); !slices.Equal(got, want) {
			t.Fatalf("%s: %v, want %v", what, got, want)
		}
	}
	for i := 1; i <= 4; i++ {
		c.HSet(ctx, fmt.Sprintf("d:%d", i), "t", "x", "v", f32blob(float32(i), 0))
	}
	expect("insert", "d:1", "d:2", "d:3", "d:4")
	c.HDel(ctx, "d:1", "v")
	expect("HDEL of the vector field", "d:2", "d:3", "d:4")
	c.Rename(ctx, "d:2", "x:2")
	expect("RENAME out of the prefix", "d:3", "d:4")
	c.Rename(ctx, "x:2", "d:9")
	expect("RENAME into the prefix", "d:9", "d:3", "d:4")
	dump := c.Dump(ctx, "d:3").Val()
	c.Del(ctx, "d:3")
	c.Restore(ctx, "d:5", 0, dump)
	expect("DEL + RESTORE", "d:9", "d:5", "d:4")
	c.PExpire(ctx, "d:4", 1)
	time.Sleep(10 * time.Millisecond)
	expect("expired", "d:9", "d:5")
	cmds, err := c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, "d:0", "v", f32blob(0, 0))
		p.FTSearchWithArgs(ctx, "w", "*=>[KNN 1 @v $q]", &redis.FTSearchOptions{NoContent: true,
			Params: map[string]interface{}{"q": f32blob(0, 0)}, DialectVersion: 2})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if r := cmds[1].(*redis.FTSearchCmd).Val(); len(r.Docs) != 1 || r.Docs[0].ID != "d:0" {
		t.Fatalf("search inside MULTI: %+v", r)
	}
	c.FlushAll(ctx)
	expect("FLUSHALL")
	c.HSet(ctx, "d:7", "v", f32blob(1, 1))
	expect("after FLUSHALL", "d:7")
}
