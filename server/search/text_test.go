package search

import (
	"bufio"
	"bytes"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/vector"
	"github.com/cairndb/cairn/vector/query"
)

// textCorpus is a small TEXT index whose scores are computed by hand in
// TestScorers. title has WEIGHT 2; "there" is a default stop word.
func textCorpus(t *testing.T) (*Index, *keyspace.DB) {
	t.Helper()
	db := keyspace.New()
	r := NewRegistry()
	def := Definition{Name: "t", Fields: []Field{
		{Identifier: "title", Attribute: "title", Type: Text, Weight: 2},
		{Identifier: "body", Attribute: "body", Type: Text},
		{Identifier: "tag", Attribute: "tag", Type: Tag, Separator: ','},
		{Identifier: "n", Attribute: "n", Type: Numeric},
	}}
	if err := r.Create(def, db, 0); err != nil {
		t.Fatal(err)
	}
	// Indexed in this order: document ids 1..6.
	for _, d := range [][]string{
		{"d1", "title", "Hello world", "body", "hello there, friend", "tag", "x", "n", "1"},
		{"d2", "title", "Goodbye", "body", "hello HELLO hello", "tag", "y", "n", "2"},
		{"d3", "title", "other", "body", "world peace", "n", "3"},
		{"d4", "body", "nothing here", "n", "4"},
		{"d5", "tag", "x", "n", "5"},
		{"d6", "body", "alpha beta gamma delta", "n", "6"},
	} {
		putHash(db, d[0], d[1:]...)
		r.Touched(db, d[0], 0)
	}
	return r.Get("t"), db
}

func searchScores(t *testing.T, ix *Index, db *keyspace.DB, q string, opt SearchOptions) string {
	t.Helper()
	pq, err := query.Parse(q, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := ix.Search(db, 0, pq, opt)
	if err != nil {
		t.Fatal(err)
	}
	SortByScore(res.Hits)
	var out []string
	for _, h := range res.Hits {
		out = append(out, fmt.Sprintf("%s=%.6g", h.Key, h.Score))
	}
	return strings.Join(out, " ")
}

// TestScorers checks each scorer against the formulas computed by hand.
// Six documents, so RediSearch's totalDocs (its doc table size, from 1) is
// 7: idf(hello) = idf(world) = logb(1+7/2) = 2, idf(friend) = idf(peace)
// = idf(alpha) = logb(1+7/1) = 3. Frequencies: d1 hello 2(title)+1 = 3, world 2,
// friend 1, maxFreq 3, length 2+2+3+1 = 8 (the running frequency of each
// occurrence); d2 goodbye 2, hello 3, maxFreq 3; d3 other 2, world 1,
// peace 1, maxFreq 2, length 4; d4 maxFreq
// 1; d5 has no text; d6 maxFreq 1. Distinct terms 3+2+3+2+0+4 = 14, so
// BM25's average length is 14/6.
func TestScorers(t *testing.T) {
	ix, db := textCorpus(t)
	k1 := float64(float32(1.2))
	avg := 14.0 / 6
	bm := func(idf, f float64) float64 { return idf * f / (f + k1*(0.5+0.5*avg)) }
	g := func(x float64) string { return fmt.Sprintf("%.6g", x) }
	for _, tc := range []struct {
		q, scorer, want string
	}{
		// TFIDF: freq*idf/maxFreq.
		{"hello", "", "d1=2 d2=2"},                // 3*2/3 each; tie by id
		{"world", "", "d1=" + g(4.0/3) + " d3=1"}, // 2*2/3, 1*2/2
		{"hello world", "", "d1=" + g(10.0/3)},    // (6+4)/3, adjacent: slop 1
		{"hello friend", "", "d1=3"},              // (6+3)/3; positions 1,3 vs 4: slop 1
		{"alpha delta", "", "d6=2"},               // (3+3)/1, positions 1 and 4: slop sqrt(9)=3
		{"@title:world", "", "d1=" + g(4.0/3)},    // d3 has world in body only
		{"@body:hello", "", "d1=2 d2=2"},          // TF counts every field
		{"hel*", "", "d1=2 d2=2"},                 // prefix: union of expansions
		{"the hello", "", "d1=2 d2=2"},            // stop words are dropped
		{"the", "", ""},                           // ... and match nothing alone
		{"@n:[1 6]", "", "d4=1 d6=1 d3=0.5 d1=" + g(1.0/3) + " d2=" + g(1.0/3) + " d5=0"},
		{"*", "", "d4=1 d6=1 d3=0.5 d1=" + g(1.0/3) + " d2=" + g(1.0/3) + " d5=0"},
		{"@tag:{x}", "", "d1=0 d5=0"},                  // tags have no IDF
		{"hello @tag:{x}", "", "d1=1"},                 // 6/3, slop 2 (the tag union meets the end marker)
		{"hello -world", "", "d2=0.2"},                 // 6/3; the NOT child has no positions: slop sqrt(100)
		{"world | peace", "", "d3=2.5 d1=" + g(4.0/3)}, // d3: (1*2+1*3)/2
		{"world", "TFIDF.DOCNORM", "d1=0.5 d3=0.5"},    // 4/(2+2+3+1), 2/(2+1+1)
		{"world", "BM25", "d1=" + g(bm(2, 2)) + " d3=" + g(bm(2, 1))},
		{"hello world", "BM25", "d1=" + g(bm(2, 3)+bm(2, 2))},
		{"hello | world", "DISMAX", "d1=3 d2=3 d3=1"},
		{"hello world", "DISMAX", "d1=5"},
		{"@tag:{x}", "DISMAX", "d1=1 d5=1"},
		{"hello", "DOCSCORE", "d1=1 d2=1"},
		{"hello", "HAMMING", "d1=0 d2=0"},
	} {
		// With the node's TEXT postings (built by the first query) and
		// without them (every document analysed per query).
		for _, cached := range []bool{true, false} {
			saved := ix.text
			if !cached {
				ix.text = nil
			}
			if got := searchScores(t, ix, db, tc.q, SearchOptions{Scorer: tc.scorer}); got != tc.want {
				t.Errorf("%q %s (cached %v):\n got %s\nwant %s", tc.q, tc.scorer, cached, got, tc.want)
			}
			ix.text = saved
		}
	}
}

// TestTextCacheFollowsWrites: once built, the TEXT postings follow every
// write at apply time; answers equal those of a cold index.
func TestTextCacheFollowsWrites(t *testing.T) {
	ix, db := textCorpus(t)
	r := NewRegistry()
	r.byName["t"], r.names = ix, []string{"t"}
	q := "hello | world | peac* | @title:other"
	searchScores(t, ix, db, q, SearchOptions{}) // builds the cache
	if !ix.text.built {
		t.Fatal("cache not built")
	}
	putHash(db, "d3", "title", "hello", "body", "world world peaceful")
	r.Touched(db, "d3", 0)
	db.Delete([]byte("d2"))
	r.Touched(db, "d2", 0)
	putHash(db, "d7", "title", "other hello")
	r.Touched(db, "d7", 0)
	for _, sc := range []string{"", "BM25", "TFIDF.DOCNORM"} {
		warm := searchScores(t, ix, db, q, SearchOptions{Scorer: sc})
		saved := ix.text
		ix.text = &textCache{}
		cold := searchScores(t, ix, db, q, SearchOptions{Scorer: sc})
		ix.text = saved
		if warm != cold || !strings.Contains(warm, "d7=") || strings.Contains(warm, "d2=") {
			t.Fatalf("%s: warm %s, cold %s", sc, warm, cold)
		}
	}
}

func TestExplainScore(t *testing.T) {
	ix, db := textCorpus(t)
	pq, _ := query.Parse("hello world", nil)
	res, err := ix.Search(db, 0, pq, SearchOptions{Explain: true})
	if err != nil || len(res.Hits) != 1 {
		t.Fatal(res, err)
	}
	var b strings.Builder
	var walk func(e *Explain, depth int)
	walk = func(e *Explain, depth int) {
		fmt.Fprintf(&b, "%s%s\n", strings.Repeat(" ", depth), e.Text)
		for _, c := range e.Children {
			walk(c, depth+1)
		}
	}
	walk(res.Hits[0].Explain, 0)
	want := `Final TFIDF : words TFIDF 10.00 * document score 1.00 / norm 3 / slop 1
 (Weight 1.00 * total children TFIDF 10.00)
  (TFIDF 6.00 = Weight 1.00 * TF 3 * IDF 2.00)
  (TFIDF 4.00 = Weight 1.00 * TF 2 * IDF 2.00)
`
	if b.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", b.String(), want)
	}
}

func TestMinOffsetDelta(t *testing.T) {
	term := func(pos ...uint32) *result { return &result{kind: rTerm, term: "t", freq: 1, pos: pos} }
	for _, tc := range []struct {
		r    *result
		want int
	}{
		{term(1), 1},
		{aggregate(rIntersect, []*result{term(1, 9), term(2)}), 1},
		{aggregate(rIntersect, []*result{term(1), term(5)}), 4},
		{aggregate(rIntersect, []*result{term(1), term(3), term(6)}), 3},                   // sqrt(4+9)
		{aggregate(rIntersect, []*result{term(1), {kind: rNumeric, freq: 1}}), 10},         // one child with positions: 100
		{aggregate(rIntersect, []*result{{kind: rVirtual}, {kind: rNumeric, freq: 1}}), 1}, // none: children-1
	} {
		if got := tc.r.minOffsetDelta(); got != tc.want {
			t.Errorf("%+v: %d, want %d", tc.r, got, tc.want)
		}
	}
	if got := math.Logb(1 + 7.0/2); got != 2 {
		t.Fatal(got)
	}
}

// TestTextWeightsSnapshot: weights and stop words survive a snapshot
// (format 2); a registry without them is still written as format 1.
func TestTextWeightsSnapshot(t *testing.T) {
	ix, db := textCorpus(t)
	_ = db
	r := NewRegistry()
	r.byName["t"], r.names = ix, []string{"t"}
	got := roundTrip(t, r)
	if w := got.Get("t").Def.Fields[0].Weight; w != 2 {
		t.Fatalf("weight %v", w)
	}
	ix.Def.Fields[0].Weight = 1
	ix.Def.CustomStopWords, ix.Def.StopWords = true, []string{"foo"}
	got = roundTrip(t, r)
	if d := got.Get("t").Def; !d.CustomStopWords || len(d.StopWords) != 1 || d.StopWords[0] != "foo" {
		t.Fatalf("stop words %+v", d)
	}
	ix.Def.CustomStopWords, ix.Def.StopWords = false, nil
	var b strings.Builder
	if _, err := r.Snapshot().WriteTo(&b); err != nil || !strings.HasPrefix(b.String(), "CAIRNFT1") {
		t.Fatalf("plain registry not written as version 1: %q %v", b.String()[:8], err)
	}
}

func roundTrip(t *testing.T, r *Registry) *Registry {
	t.Helper()
	var buf bytes.Buffer
	if _, err := r.Snapshot().WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	got, err := Load(bufio.NewReader(&buf))
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// TestRediSearchScores replays two corpora of RediSearch 2.x's own scorer
// tests (tests/pytests/test_scorers.py: testScoreTagIndex and the
// EXPLAINSCORE tests) and checks Cairn's scores against the values they
// expect. Those documents carry document scores (FT.ADD score), which
// Cairn does not have, so the expected values are compared after
// multiplying Cairn's score by the document score the test gave.
func TestRediSearchScores(t *testing.T) {
	newIndex := func() (*Registry, *keyspace.DB) {
		db := keyspace.New()
		r := NewRegistry()
		if err := r.Create(Definition{Name: "t", Fields: []Field{
			{Identifier: "title", Attribute: "title", Type: Text, Weight: 10},
			{Identifier: "body", Attribute: "body", Type: Text},
		}}, db, 0); err != nil {
			t.Fatal(err)
		}
		return r, db
	}
	r, db := newIndex()
	const n = 25
	docScore := map[string]float64{}
	for i := range n {
		key := fmt.Sprintf("doc%d", i)
		putHash(db, key, "title", strings.Repeat("hello world ", i), "body", strings.Repeat("lorem ipsum ", i))
		r.Touched(db, key, 0)
		docScore[key] = math.Sqrt(float64(n-i+10) / float64(n+10))
	}
	ix := r.Get("t")
	pq, _ := query.Parse("hello world", nil)
	for _, tc := range []struct {
		scorer string
		want   map[string]float64
		noDoc  bool
	}{
		{"TFIDF", map[string]float64{"doc1": 1.97, "doc2": 1.94, "doc3": 1.91, "doc4": 1.88, "doc5": 1.85}, false},
		{"TFIDF.DOCNORM", map[string]float64{"doc1": 0.9, "doc2": 0.59, "doc3": 0.43, "doc4": 0.34, "doc5": 0.28}, false},
		{"BM25", map[string]float64{"doc4": 1.75, "doc5": 1.75, "doc3": 1.74, "doc6": 1.74, "doc7": 1.72}, false},
		{"DISMAX", map[string]float64{"doc24": 480, "doc23": 460, "doc22": 440, "doc21": 420, "doc20": 400}, true},
	} {
		res, err := ix.Search(db, 0, pq, SearchOptions{Scorer: tc.scorer})
		if err != nil || res.Total != n-1 {
			t.Fatalf("%s: %v %v", tc.scorer, res, err)
		}
		for _, h := range res.Hits {
			want, ok := tc.want[h.Key]
			if !ok {
				continue
			}
			got := h.Score
			if !tc.noDoc {
				got *= docScore[h.Key]
			}
			if math.Round(got*100)/100 != want {
				t.Errorf("%s %s: %v (x doc score: %.4f), want %v", tc.scorer, h.Key, h.Score, got, want)
			}
		}
	}

	// The EXPLAINSCORE corpus: the slop grows with the distance between
	// the terms (1, 2, 3). " body" is not a schema field there.
	r, db = newIndex()
	for _, d := range [][2]string{{"doc1", "hello world"}, {"doc2", "hello another world"}, {"doc3", "hello yet another world"}} {
		putHash(db, d[0], "title", d[1], " body", "lorem ist ipsum")
		r.Touched(db, d[0], 0)
	}
	res, err := r.Get("t").Search(db, 0, pq, SearchOptions{Explain: true})
	if err != nil || len(res.Hits) != 3 {
		t.Fatal(res, err)
	}
	for i, h := range res.Hits {
		want := fmt.Sprintf("Final TFIDF : words TFIDF 20.00 * document score 1.00 / norm 10 / slop %d", i+1)
		kid := h.Explain.Children[0]
		if h.Explain.Text != want || kid.Text != "(Weight 1.00 * total children TFIDF 20.00)" ||
			len(kid.Children) != 2 || kid.Children[1].Text != "(TFIDF 10.00 = Weight 1.00 * TF 10 * IDF 1.00)" {
			t.Errorf("%s: %+v", h.Key, h.Explain)
		}
	}
}

// BenchmarkTextSearch: a scored term query over 10k documents of 20
// words (the statistics are gathered from every document per query).
func BenchmarkTextSearch(b *testing.B) {
	words := strings.Fields("lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore magna aliqua enim minim veniam quis nostrud exercitation ullamco laboris nisi aliquip commodo consequat")
	db := keyspace.New()
	r := NewRegistry()
	if err := r.Create(Definition{Name: "t", Fields: []Field{{Identifier: "body", Attribute: "body", Type: Text}}}, db, 0); err != nil {
		b.Fatal(err)
	}
	for i := range 10000 {
		var sb strings.Builder
		for j := range 20 {
			sb.WriteString(words[(i*7+j*j)%len(words)] + " ")
		}
		key := fmt.Sprintf("d%d", i)
		putHash(db, key, "body", sb.String())
		r.Touched(db, key, 0)
	}
	ix := r.Get("t")
	for _, q := range []string{"magna", "lab*", "magna -dolor", "*"} {
		pq, err := query.Parse(q, nil)
		if err != nil {
			continue
		}
		b.Run(q, func(b *testing.B) {
			for range b.N {
				res, err := ix.Search(db, 0, pq, SearchOptions{})
				if err != nil {
					b.Fatal(err)
				}
				SortByScore(res.Hits)
			}
		})
		b.Run(q+"/unscored", func(b *testing.B) {
			for range b.N {
				if _, err := ix.Run(db, 0, pq); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestCustomStopWords: STOPWORDS 0 indexes and searches every word; a
// custom list replaces the default one.
func TestCustomStopWords(t *testing.T) {
	for _, tc := range []struct {
		stop       []string
		q, matches string
	}{
		{[]string{}, "the", "a b"},
		{[]string{}, "the cat", "a"},
		{[]string{"cat"}, "the cat", "a b"},
		{[]string{"cat"}, "cat", ""},
	} {
		db := keyspace.New()
		r := NewRegistry()
		if err := r.Create(Definition{Name: "t", CustomStopWords: true, StopWords: tc.stop,
			Fields: []Field{{Identifier: "body", Attribute: "body", Type: Text}}}, db, 0); err != nil {
			t.Fatal(err)
		}
		putHash(db, "a", "body", "the cat")
		r.Touched(db, "a", 0)
		putHash(db, "b", "body", "the dog")
		r.Touched(db, "b", 0)
		pq, _ := query.Parse(tc.q, nil)
		for _, scored := range []bool{false, true} {
			var res *Result
			var err error
			if scored {
				res, err = r.Get("t").Search(db, 0, pq, SearchOptions{})
			} else {
				res, err = r.Get("t").Run(db, 0, pq)
			}
			if err != nil {
				t.Fatal(err)
			}
			var keys []string
			for _, h := range res.Hits {
				keys = append(keys, h.Key)
			}
			if got := strings.Join(keys, " "); got != tc.matches {
				t.Errorf("stop %v %q (scored %v): %q, want %q", tc.stop, tc.q, scored, got, tc.matches)
			}
		}
	}
}

// TestKNNScores: a KNN hit scores its filter clause; under `*` it is a
// metric record alone: 0, or the document score under DOCSCORE.
func TestKNNScores(t *testing.T) {
	db := keyspace.New()
	r := NewRegistry()
	if err := r.Create(Definition{Name: "t", Fields: []Field{
		{Identifier: "body", Attribute: "body", Type: Text},
		{Identifier: "v", Attribute: "v", Type: Vector, Vec: vector.Config{Algorithm: vector.FLAT, Dim: 2}},
	}}, db, 0); err != nil {
		t.Fatal(err)
	}
	for i, body := range []string{"hello world", "hello hello", "other"} {
		key := fmt.Sprintf("k%d", i)
		putHash(db, key, "body", body, "v", string(blob(float32(i), 0)))
		r.Touched(db, key, 0)
	}
	ix := r.Get("t")
	params := map[string][]byte{"q": blob(0, 0)}
	for _, tc := range []struct{ q, scorer, want string }{
		{"*=>[KNN 2 @v $q]", "", "k0=0 k1=0"},
		{"*=>[KNN 2 @v $q]", "DOCSCORE", "k0=1 k1=1"},
		{"*=>[KNN 2 @v $q]", "BM25", "k0=0 k1=0"},
		// hello: idf logb(1+4/2) = 1; k0 1/1, k1 2/2.
		{"(hello)=>[KNN 3 @v $q]", "", "k0=1 k1=1"},
	} {
		pq, err := query.Parse(tc.q, params)
		if err != nil {
			t.Fatal(err)
		}
		res, err := ix.Search(db, 0, pq, SearchOptions{Scorer: tc.scorer, KNNScores: true, Explain: true})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, h := range res.Hits {
			if h.Explain == nil {
				t.Fatalf("%q: no explanation", tc.q)
			}
			out = append(out, fmt.Sprintf("%s=%.6g", h.Key, h.Score))
		}
		if got := strings.Join(out, " "); got != tc.want {
			t.Errorf("%q %s: %s, want %s", tc.q, tc.scorer, got, tc.want)
		}
	}
}

// TestTextCacheConcurrentReaders: concurrent queries (the state machine's
// read lock admits many) build and read the TEXT postings safely.
func TestTextCacheConcurrentReaders(t *testing.T) {
	ix, db := textCorpus(t)
	want := searchScores(t, ix, db, "hello | wor*", SearchOptions{})
	ix.text = &textCache{}
	done := make(chan string, 8)
	for range 8 {
		go func() {
			pq, _ := query.Parse("hello | wor*", nil)
			res, err := ix.Search(db, 0, pq, SearchOptions{})
			if err != nil {
				done <- err.Error()
				return
			}
			SortByScore(res.Hits)
			var out []string
			for _, h := range res.Hits {
				out = append(out, fmt.Sprintf("%s=%.6g", h.Key, h.Score))
			}
			done <- strings.Join(out, " ")
		}()
	}
	for range 8 {
		if got := <-done; got != want {
			t.Fatalf("concurrent: %s, want %s", got, want)
		}
	}
}
