package server_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/cairndb/cairn/server/servertest"
)

// ftTextSeed creates a TEXT index (title WEIGHT 2) and six documents,
// indexed in order (document ids 1..6); the scores below are computed by
// hand in server/search's TestScorers from the same corpus.
func ftTextSeed(t *testing.T, ctx context.Context, c *redis.Client) {
	t.Helper()
	c.FlushAll(ctx)
	c.FTDropIndex(ctx, "txt")
	if err := c.FTCreate(ctx, "txt", &redis.FTCreateOptions{OnHash: true, Prefix: []interface{}{"t:"}},
		&redis.FieldSchema{FieldName: "title", FieldType: redis.SearchFieldTypeText, Weight: 2},
		&redis.FieldSchema{FieldName: "body", FieldType: redis.SearchFieldTypeText},
		&redis.FieldSchema{FieldName: "tag", FieldType: redis.SearchFieldTypeTag},
		&redis.FieldSchema{FieldName: "n", FieldType: redis.SearchFieldTypeNumeric},
	).Err(); err != nil {
		t.Fatal(err)
	}
	for _, d := range [][]interface{}{
		{"t:1", "title", "Hello world", "body", "hello there, friend", "tag", "x", "n", 1},
		{"t:2", "title", "Goodbye", "body", "hello HELLO hello", "tag", "y", "n", 2},
		{"t:3", "title", "other", "body", "world peace", "n", 3},
		{"t:4", "body", "nothing here", "n", 4},
		{"t:5", "tag", "x", "n", 5},
		{"t:6", "body", "alpha beta gamma delta", "n", 6},
	} {
		if err := c.HSet(ctx, d[0].(string), d[1:]...).Err(); err != nil {
			t.Fatal(err)
		}
	}
}

func scoresOf(r redis.FTSearchResult) string {
	var out []string
	for _, d := range r.Docs {
		s := "?"
		if d.Score != nil {
			s = fmt.Sprintf("%.6g", *d.Score)
		}
		out = append(out, d.ID+"="+s)
	}
	return strings.Join(out, " ")
}

// TestFT_TextScores: FT.SEARCH orders text matches by relevance
// (RediSearch's TFIDF by default, ties by insertion), WITHSCORES returns
// the scores, SCORER picks another function, EXPLAINSCORE explains; RESP2
// and RESP3 through go-redis.
func TestFT_TextScores(t *testing.T) {
	n := servertest.Start(t)
	for _, proto := range []int{2, 3} {
		t.Run(fmt.Sprintf("RESP%d", proto), func(t *testing.T) {
			ctx := context.Background()
			c := n.Client(t, func(o *redis.Options) { o.Protocol = proto; o.UnstableResp3 = true })
			ftTextSeed(t, ctx, c)
			for _, tc := range []struct {
				q, scorer, want string
			}{
				{"world", "", "t:1=1.33333 t:3=1"},
				{"hello world", "", "t:1=3.33333"},
				{"hello", "", "t:1=2 t:2=2"},
				{"alpha delta", "", "t:6=2"},
				{"world | peace", "", "t:3=2.5 t:1=1.33333"},
				{"*", "", "t:4=1 t:6=1 t:3=0.5 t:1=0.333333 t:2=0.333333 t:5=0"},
				{"@tag:{x}", "", "t:1=0 t:5=0"},
				{"world", "TFIDF.DOCNORM", "t:1=0.5 t:3=0.5"},
				{"world", "BM25", "t:1=1 t:3=0.666667"},
				{"hello | world", "DISMAX", "t:1=3 t:2=3 t:3=1"},
				{"hello", "DOCSCORE", "t:1=1 t:2=1"},
			} {
				r, err := c.FTSearchWithArgs(ctx, "txt", tc.q, &redis.FTSearchOptions{WithScores: true, Scorer: tc.scorer}).Result()
				if err != nil {
					t.Fatalf("%q: %v", tc.q, err)
				}
				if got := scoresOf(r); got != tc.want {
					t.Errorf("%q %s:\n got %s\nwant %s", tc.q, tc.scorer, got, tc.want)
				}
				// Without WITHSCORES: the same order.
				r, err = c.FTSearchWithArgs(ctx, "txt", tc.q, &redis.FTSearchOptions{Scorer: tc.scorer}).Result()
				if err != nil {
					t.Fatal(err)
				}
				var ids []string
				for _, d := range r.Docs {
					ids = append(ids, d.ID)
				}
				var wantIDs []string
				for _, w := range strings.Fields(tc.want) {
					wantIDs = append(wantIDs, strings.Split(w, "=")[0])
				}
				if strings.Join(ids, " ") != strings.Join(wantIDs, " ") {
					t.Errorf("%q %s order without WITHSCORES: %v", tc.q, tc.scorer, ids)
				}
			}
			// LIMIT pages the ordered results; SORTBY overrides the score order.
			r, err := c.FTSearchWithArgs(ctx, "txt", "*", &redis.FTSearchOptions{WithScores: true, Limit: 2, LimitOffset: 2}).Result()
			if err != nil || r.Total != 6 || scoresOf(r) != "t:3=0.5 t:1=0.333333" {
				t.Fatalf("LIMIT: %s %v", scoresOf(r), err)
			}
			r, err = c.FTSearchWithArgs(ctx, "txt", "world | hello", &redis.FTSearchOptions{SortBy: []redis.FTSearchSortBy{{FieldName: "n", Desc: true}}}).Result()
			if err != nil || strings.Join(docIDs(r), " ") != "t:3 t:2 t:1" {
				t.Fatalf("SORTBY: %v %v", docIDs(r), err)
			}
			// EXPLAINSCORE: [score, [final line, [[children line, [terms]]]]].
			v, err := c.Do(ctx, "FT.SEARCH", "txt", "hello world", "WITHSCORES", "EXPLAINSCORE", "NOCONTENT").Result()
			if err != nil {
				t.Fatal(err)
			}
			want := "[Final TFIDF : words TFIDF 10.00 * document score 1.00 / norm 3 / slop 1 [[(Weight 1.00 * total children TFIDF 10.00) [(TFIDF 6.00 = Weight 1.00 * TF 3 * IDF 2.00) (TFIDF 4.00 = Weight 1.00 * TF 2 * IDF 2.00)]]]]"
			if proto == 2 {
				a := v.([]interface{})
				if a[1] != "t:1" || fmt.Sprint(a[2].([]interface{})[0]) != "3.3333333333333335" || fmt.Sprint(a[2].([]interface{})[1]) != want {
					t.Fatalf("EXPLAINSCORE: %v", v)
				}
			} else if !strings.Contains(fmt.Sprint(v), want) {
				t.Fatalf("EXPLAINSCORE: %v", v)
			}
			for args, msg := range map[string]string{
				"FT.SEARCH txt hello SCORER NOPE":       "No such scorer NOPE",
				"FT.SEARCH txt hello SCORER tfidf":      "No such scorer tfidf",
				"FT.SEARCH txt hello EXPLAINSCORE":      "EXPLAINSCORE must be accompanied with WITHSCORES",
				"FT.SEARCH txt hello WITHSCORES SCORER": "Bad arguments for SCORER: Expected an argument, but none provided",
			} {
				var a []interface{}
				for _, w := range strings.Fields(args) {
					a = append(a, w)
				}
				if err := c.Do(ctx, a...).Err(); err == nil || err.Error() != msg {
					t.Errorf("%s: %v, want %q", args, err, msg)
				}
			}
			// A stop word alone matches nothing; in a query it is dropped.
			if r, err := c.FTSearch(ctx, "txt", "the").Result(); err != nil || r.Total != 0 {
				t.Fatalf("stop word: %+v %v", r, err)
			}
			if r, err := c.FTSearch(ctx, "txt", "the friend").Result(); err != nil || strings.Join(docIDs(r), " ") != "t:1" {
				t.Fatalf("stop word dropped: %+v %v", r, err)
			}
			// FT.INFO shows the weight.
			info, err := c.FTInfo(ctx, "txt").Result()
			if err != nil || len(info.Attributes) < 1 || info.Attributes[0].Weight != 2 {
				t.Fatalf("FT.INFO weight: %+v %v", info.Attributes, err)
			}
		})
	}
}
