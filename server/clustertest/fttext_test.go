package clustertest

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/cairndb/cairn/server/servertest"
)

// TestFTTextScoresAcrossShards: a text query over a 3-shard cluster is
// merged by relevance score (each shard scores with its own term
// statistics, as RediSearch's coordinator does): scores non-increasing,
// ties by key, the same matches and total as one node holding all the
// data, LIMIT pages the merged order, and without WITHSCORES the reply
// has no scores (RESP2 and RESP3).
func TestFTTextScoresAcrossShards(t *testing.T) {
	c := Start(t, Options{})
	ref := servertest.Start(t)
	ctx := context.Background()
	proto := func(p int) func(*redis.Options) { return func(o *redis.Options) { o.Protocol = p } }
	node := func(i, p int) *redis.Client { return servertest.Client(t, c.Addr(i), proto(p)) }
	refc := ref.Client(t, proto(2))
	create := []any{"FT.CREATE", "txt", "PREFIX", "1", "doc:", "SCHEMA", "title", "TEXT", "WEIGHT", "3", "body", "TEXT", "n", "NUMERIC"}
	for _, cl := range []*redis.Client{node(1, 2), refc} {
		if err := cl.Do(ctx, create...).Err(); err != nil {
			t.Fatal(err)
		}
	}
	cl := c.Client()
	defer cl.Close()
	words := []string{"alpha", "beta", "gamma", "delta", "alpha beta", "alpha alpha gamma"}
	for i := 0; i < 60; i++ {
		key := fmt.Sprintf("doc:%02d", i)
		fields := []any{"title", words[i%len(words)], "body", words[(i/3)%len(words)] + " filler words here", "n", i}
		if err := cl.HSet(ctx, key, fields...).Err(); err != nil {
			t.Fatal(err)
		}
		refc.HSet(ctx, key, fields...)
	}
	type hit struct {
		key   string
		score float64
	}
	parse := func(v any, withScores bool) (int64, []hit) {
		a := v.([]any)
		var out []hit
		for i := 1; i < len(a); {
			h := hit{key: a[i].(string)}
			i++
			if withScores {
				h.score, _ = strconv.ParseFloat(a[i].(string), 64)
				i++
			}
			i++ // fields
			out = append(out, h)
		}
		return a[0].(int64), out
	}
	for _, q := range []string{"alpha", "alpha gamma", "@title:alpha | beta", "gam*", "*"} {
		v, err := node(2, 2).Do(ctx, "FT.SEARCH", "txt", q, "WITHSCORES", "LIMIT", "0", "100").Result()
		if err != nil {
			t.Fatalf("%q: %v", q, err)
		}
		total, hits := parse(v, true)
		rv, err := refc.Do(ctx, "FT.SEARCH", "txt", q, "WITHSCORES", "LIMIT", "0", "100").Result()
		if err != nil {
			t.Fatal(err)
		}
		rtotal, rhits := parse(rv, true)
		if total != rtotal || len(hits) != len(rhits) || total == 0 {
			t.Fatalf("%q: total %d (%d hits), single node %d (%d)", q, total, len(hits), rtotal, len(rhits))
		}
		keys := func(hs []hit) []string {
			var out []string
			for _, h := range hs {
				out = append(out, h.key)
			}
			slices.Sort(out)
			return out
		}
		if !reflect.DeepEqual(keys(hits), keys(rhits)) {
			t.Fatalf("%q: matches differ from the single node", q)
		}
		for i := 1; i < len(hits); i++ {
			a, b := hits[i-1], hits[i]
			if a.score < b.score || (a.score == b.score && a.key > b.key) {
				t.Fatalf("%q: not merged by (score desc, key): %v before %v", q, a, b)
			}
		}
		// A page of the merged order, from another node; without
		// WITHSCORES no scores, in both protocols.
		v, err = node(3, 2).Do(ctx, "FT.SEARCH", "txt", q, "LIMIT", "3", "4").Result()
		if err != nil {
			t.Fatal(err)
		}
		_, page := parse(v, false)
		for i, h := range page {
			if h.key != hits[3+i].key {
				t.Fatalf("%q: page %v, merged %v", q, page, hits[3:7])
			}
		}
		v3, err := node(1, 3).Do(ctx, "FT.SEARCH", "txt", q, "LIMIT", "0", "2").Result()
		if err != nil {
			t.Fatal(err)
		}
		res := v3.(map[any]any)["results"].([]any)
		for i, r := range res {
			m := r.(map[any]any)
			if _, ok := m["score"]; ok || m["id"] != hits[i].key {
				t.Fatalf("%q RESP3: %v", q, m)
			}
		}
	}
}
