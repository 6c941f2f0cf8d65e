package search

import (
	"fmt"
	"math/rand"
	"slices"
	"strings"
	"testing"

	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/vector"
	"github.com/cairndb/cairn/vector/query"
)

// filterCorpus indexes n hashes d:<i> with a 4-dim vector of small
// integers (so every distance is exact in float32 and ties are common),
// tags "t<i%50>" plus "even"/"odd", and n = i.
func filterCorpus(tb testing.TB, alg vector.Algorithm, n int) (*Index, *keyspace.DB, map[string][]float32) {
	ix, db, vecs, _ := filterRegistry(tb, alg, n)
	return ix, db, vecs
}

func filterRegistry(tb testing.TB, alg vector.Algorithm, n int) (*Index, *keyspace.DB, map[string][]float32, *Registry) {
	tb.Helper()
	db := keyspace.New()
	rnd := rand.New(rand.NewSource(7))
	vecs := map[string][]float32{}
	for i := range n {
		v := make([]float32, 4)
		for j := range v {
			v[j] = float32(rnd.Intn(20))
		}
		key := fmt.Sprintf("d:%d", i)
		vecs[key] = v
		parity := []string{"even", "odd"}[i%2]
		putHash(db, key, "tag", fmt.Sprintf("t%d,%s", i%50, parity), "n", fmt.Sprint(i), "v", string(blob(v...)))
	}
	r := NewRegistry()
	def := Definition{Name: "f", Prefixes: []string{"d:"}, Seed: 1, Fields: []Field{
		{Identifier: "tag", Attribute: "tag", Type: Tag, Separator: ','},
		{Identifier: "n", Attribute: "n", Type: Numeric},
		{Identifier: "v", Attribute: "v", Type: Vector, Vec: vector.Config{Algorithm: alg, Dim: 4}},
	}}
	if err := r.Create(def, db, 0); err != nil {
		tb.Fatal(err)
	}
	for r.Backfill(db, "f", 0, BackfillBatch) {
	}
	ix := r.Get("f")
	if ix.NumDocs() != n {
		tb.Fatalf("indexed %d of %d", ix.NumDocs(), n)
	}
	return ix, db, vecs, r
}

type scored struct {
	key string
	d   float32
}

// bruteKNN is the k nearest matching documents by (distance, key), computed
// from the stored vectors and the given match predicate.
func bruteKNN(vecs map[string][]float32, q []float32, k int, match func(i int) bool) []scored {
	var all []scored
	for key, v := range vecs {
		var i int
		fmt.Sscanf(key, "d:%d", &i)
		if !match(i) {
			continue
		}
		var d float32
		for j := range v {
			d += (v[j] - q[j]) * (v[j] - q[j])
		}
		all = append(all, scored{key, d})
	}
	slices.SortFunc(all, func(a, b scored) int {
		if a.d != b.d {
			if a.d < b.d {
				return -1
			}
			return 1
		}
		if a.key < b.key {
			return -1
		}
		if a.key > b.key {
			return 1
		}
		return 0
	})
	return all[:min(k, len(all))]
}

// TestFilteredKNNBruteForce: tag and numeric filtered KNN at ~2% and ~50%
// selectivity (5000 vectors: the 2% sets go to the exact scan, the 50% ones
// through the graph) returns exactly the brute-force keys, scores and order, on
// FLAT and HNSW (the 50% HNSW case with an EF_RUNTIME that covers the
// index), and the same answer as the per-node predicate path.
func TestFilteredKNNBruteForce(t *testing.T) {
	const n, k = 5000, 10
	cases := []struct {
		name, filter string
		match        func(i int) bool
		wide         bool
	}{
		{"tag2%", "@tag:{t7}", func(i int) bool { return i%50 == 7 }, false},
		{"tag2%or", "@tag:{t7|t8}", func(i int) bool { return i%50 == 7 || i%50 == 8 }, false},
		{"num2%", "@n:[100 159]", func(i int) bool { return i >= 100 && i <= 159 }, false},
		{"tag50%", "@tag:{even}", func(i int) bool { return i%2 == 0 }, true},
		{"tagnum", "@tag:{odd} @n:[(1000 +inf]", func(i int) bool { return i%2 == 1 && i > 1000 }, true},
		{"none", "@tag:{nosuch}", func(int) bool { return false }, false},
	}
	for _, alg := range []vector.Algorithm{vector.FLAT, vector.HNSW} {
		ix, db, vecs := filterCorpus(t, alg, n)
		rnd := rand.New(rand.NewSource(3))
		for _, c := range cases {
			for range 5 {
				qv := []float32{float32(rnd.Intn(20)), float32(rnd.Intn(20)), float32(rnd.Intn(20)), float32(rnd.Intn(20))}
				qs := fmt.Sprintf("%s=>[KNN %d @v $q]", c.filter, k)
				if c.wide && alg == vector.HNSW {
					qs = fmt.Sprintf("%s=>[KNN %d @v $q EF_RUNTIME %d]", c.filter, k, n)
				}
				pq, err := query.Parse(qs, map[string][]byte{"q": blob(qv...)})
				if err != nil {
					t.Fatal(err)
				}
				res, err := ix.Run(db, 0, pq)
				if err != nil {
					t.Fatal(err)
				}
				want := bruteKNN(vecs, qv, k, c.match)
				var got []scored
				for _, h := range res.Hits {
					got = append(got, scored{h.Key, dist(h, res.ScoreField)})
				}
				if !slices.Equal(got, want) || res.Total != len(want) {
					t.Fatalf("%v %s %v: got %v (total %d), want %v", alg, c.name, qv, got, res.Total, want)
				}
				// The predicate-only path (what Run did before it gathered
				// small match sets) agrees.
				ev := &evaluator{ix: ix, db: db}
				f := ix.Def.Field("v")
				old, err := ix.Vector(f).Search(qv, k, &vector.SearchOptions{EF: pq.KNN.EFRuntime, Filter: func(key string) bool { return ev.matchKey(pq.Root, key) }})
				if err != nil {
					t.Fatal(err)
				}
				for i, r := range old {
					if i >= len(got) || got[i] != (scored{r.Key, r.Distance}) {
						t.Fatalf("%v %s: predicate path %v differs from %v", alg, c.name, old, got)
					}
				}
				if len(old) != len(got) {
					t.Fatalf("%v %s: predicate path %d hits, %d", alg, c.name, len(old), len(got))
				}
			}
		}
	}
}

// BenchmarkFilteredKNN: FT.SEARCH-style KNN with a 2% tag filter, a 50% tag
// filter and no filter over 20k HNSW vectors.
func BenchmarkFilteredKNN(b *testing.B) {
	ix, db, _ := filterCorpus(b, vector.HNSW, 20000)
	for _, f := range []string{"@tag:{t7}", "@tag:{even}", "*"} {
		pq, err := query.Parse(f+"=>[KNN 10 @v $q]", map[string][]byte{"q": blob(3, 5, 7, 9)})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(f, func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				if _, err := ix.Run(db, 0, pq); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestTagCacheFollowsWrites: after the tag postings are built, retagging,
// deleting and expiring documents (and FLUSHALL) change filtered KNN answers
// exactly as they change the brute force.
func TestTagCacheFollowsWrites(t *testing.T) {
	ix, db, vecs, r := filterRegistry(t, vector.HNSW, 3000)
	qv := []float32{5, 5, 5, 5}
	knn := func(filter string) []scored {
		t.Helper()
		pq, err := query.Parse(filter+"=>[KNN 10 @v $q]", map[string][]byte{"q": blob(qv...)})
		if err != nil {
			t.Fatal(err)
		}
		res, err := r.Get("f").Run(db, 100, pq)
		if err != nil {
			t.Fatal(err)
		}
		var got []scored
		for _, h := range res.Hits {
			got = append(got, scored{h.Key, dist(h, res.ScoreField)})
		}
		return got
	}
	tagged := map[int]bool{}
	for i := range 3000 {
		tagged[i] = i%50 == 7
	}
	check := func(step string) {
		t.Helper()
		live := map[string][]float32{}
		for k, v := range vecs {
			if it := db.Peek([]byte(k)); it != nil && !it.Expired(100) {
				live[k] = v
			}
		}
		want := bruteKNN(live, qv, 10, func(i int) bool { return tagged[i] })
		if got := knn("@tag:{T7}"); !slices.Equal(got, want) {
			t.Fatalf("%s: got %v, want %v", step, got, want)
		}
	}
	check("built")
	// Retag: ten new members (case differs: TAG is case-insensitive), ten
	// dropped, one deleted, one expired.
	for i := 0; i < 10; i++ {
		key := fmt.Sprintf("d:%d", i)
		putHash(db, key, "tag", "x, T7 ,y", "v", string(blob(vecs[key]...)))
		r.Touched(db, key, 0)
		tagged[i] = true
		key = fmt.Sprintf("d:%d", 7+50*i)
		putHash(db, key, "tag", "t8", "v", string(blob(vecs[key]...)))
		r.Touched(db, key, 0)
		tagged[7+50*i] = false
	}
	db.Delete([]byte("d:1"))
	r.Touched(db, "d:1", 0)
	delete(vecs, "d:1")
	key := "d:2"
	h := keyspace.NewHash()
	h.Set([]byte("tag"), []byte("t7"))
	h.Set([]byte("v"), blob(vecs[key]...))
	db.Put([]byte(key), nil, h, 50) // expires before the query time (100)
	r.Touched(db, key, 0)
	check("after writes")
	r.Flushed()
	if got := knn("@tag:{t7}"); len(got) != 0 {
		t.Fatalf("after flush: %v", got)
	}
	_ = ix
}

// TestExactPostingsMatchHashes: for TAG clauses and ORs of them, the
// postings exactPostings answers with are exactly the documents whose
// hash the clause matches (tags with blanks, mixed case, prefixes, several
// values, OR); other queries, and any key with a TTL, are not answered
// from postings.
func TestExactPostingsMatchHashes(t *testing.T) {
	db := keyspace.New()
	rnd := rand.New(rand.NewSource(11))
	words := []string{"red", "Red", " blue ", "BLUE", "green", "gr", "grey", "Über", "über", ""}
	for i := range 400 {
		var tags []string
		for range rnd.Intn(4) {
			tags = append(tags, words[rnd.Intn(len(words))])
		}
		putHash(db, fmt.Sprintf("d:%d", i), "tag", strings.Join(tags, ","), "n", fmt.Sprint(i), "v", string(blob(1, 2, 3, 4)))
	}
	r := NewRegistry()
	def := Definition{Name: "f", Prefixes: []string{"d:"}, Seed: 1, Fields: []Field{
		{Identifier: "tag", Attribute: "tag", Type: Tag, Separator: ','},
		{Identifier: "n", Attribute: "n", Type: Numeric},
		{Identifier: "v", Attribute: "v", Type: Vector, Vec: vector.Config{Algorithm: vector.FLAT, Dim: 4}},
	}}
	if err := r.Create(def, db, 0); err != nil {
		t.Fatal(err)
	}
	for r.Backfill(db, "f", 0, BackfillBatch) {
	}
	ix := r.Get("f")
	for _, qs := range []string{"@tag:{red}", "@tag:{RED}", "@tag:{blue}", "@tag:{gr*}", "@tag:{über}", "@tag:{red|green}",
		"@tag:{red} | @tag:{grey}", "@tag:{nosuch}", "(@tag:{blue} | @tag:{gr*})"} {
		pq, err := query.Parse(qs, nil)
		if err != nil {
			t.Fatal(err)
		}
		ev := &evaluator{ix: ix, db: db}
		if err := ev.prepare(pq.Root); err != nil {
			t.Fatal(err)
		}
		sets, ok := ev.exactPostings(pq.Root)
		if !ok {
			t.Fatalf("%s: not answered from postings", qs)
		}
		got := postingKeys(sets, 1<<20)
		slices.Sort(got)
		var want []string
		for i := range 400 {
			if k := fmt.Sprintf("d:%d", i); ev.matchKey(pq.Root, k) {
				want = append(want, k)
			}
		}
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("%s: postings %v, hashes %v", qs, got, want)
		}
		for _, k := range want {
			if !inPostings(sets, k) {
				t.Fatalf("%s: %s not a member", qs, k)
			}
		}
	}
	for _, qs := range []string{"@tag:{red} @n:[0 100]", "-@tag:{red}", "@n:[0 10]", "*"} {
		pq, err := query.Parse(qs, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := (&evaluator{ix: ix, db: db}).exactPostings(pq.Root); ok {
			t.Fatalf("%s answered from postings", qs)
		}
	}
	pq, _ := query.Parse("@tag:{red}", nil)
	db.Put([]byte("other"), []byte("x"), nil, 1<<40) // any TTL in the keyspace
	if _, ok := (&evaluator{ix: ix, db: db}).exactPostings(pq.Root); ok {
		t.Fatal("answered from postings with a key that has a TTL")
	}
}

func dist(h Hit, name string) float32 {
	d, _ := h.Dist.Get(name)
	return d
}
