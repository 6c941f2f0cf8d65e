package search

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"unsafe"

	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/vector"
	"github.com/cairndb/cairn/vector/query"
)

// Hit is one matching document.
type Hit struct {
	Key string
	// Dist holds distances yielded by the query (KNN AS name, or
	// $YIELD_DISTANCE_AS), by name.
	Dist Dists
	// Score is the relevance score (Search only) and Explain its
	// explanation (SearchOptions.Explain).
	Score   float64
	Explain *Explain
}

// Result is a query's answer before SORTBY/LIMIT.
type Result struct {
	Hits []Hit
	// Total is the number of matches (total_results).
	Total int
	// ScoreField is the KNN distance name (`__<field>_score` or AS).
	ScoreField string
}

// QueryError is a query that does not fit the index; its text is what
// RediSearch says.
type QueryError struct{ Msg string }

func (e *QueryError) Error() string { return e.Msg }

func qerr(format string, a ...any) error { return &QueryError{fmt.Sprintf(format, a...)} }

// evaluator matches documents of one index at one time.
type evaluator struct {
	ix    *Index
	db    *keyspace.DB
	now   int64
	rng   map[*query.Node]map[string]float32 // VECTOR_RANGE results
	yield map[string]*query.Node
	// cand and ord: term clauses' matches from the TEXT postings, and
	// TEXT field ordinals (collectCached).
	cand map[*query.Node]map[string]uint64
	ord  []int
}

// Run evaluates q over ix with db's current state at now. MaxResults caps
// the vector range results gathered (0: no cap).
func (ix *Index) Run(db *keyspace.DB, now int64, q *query.Query) (*Result, error) {
	ev := &evaluator{ix: ix, db: db, now: now, rng: map[*query.Node]map[string]float32{}}
	if err := ev.prepare(q.Root); err != nil {
		return nil, err
	}
	root := ix.pruneStopWords(q.Root)
	if root == nil {
		// Only stop words: nothing matches (the KNN clause neither).
		return &Result{ScoreField: knnScoreField(ix, q)}, nil
	}
	q = &query.Query{Root: root, KNN: q.KNN}
	res := &Result{}
	if q.KNN != nil {
		f := ix.Def.Field(q.KNN.Field)
		if f == nil || f.Type != Vector {
			return nil, qerr("Unknown field `%s`", q.KNN.Field)
		}
		v := ix.Vector(f)
		vec, err := ev.queryVector(f, q.KNN.Vector)
		if err != nil {
			return nil, err
		}
		res.ScoreField = q.KNN.As
		if res.ScoreField == "" {
			res.ScoreField = "__" + f.Attribute + "_score"
		}
		if q.KNN.K == 0 {
			return res, nil
		}
		opt := &vector.SearchOptions{EF: q.KNN.EFRuntime}
		if q.Root.Kind != query.All {
			if sets, ok := ev.exactPostings(q.Root); ok {
				// The TAG postings are the match set itself: a small one
				// is scanned exactly, a large one filters the graph walk
				// by membership instead of reading each visited hash.
				opt.Keys = postingKeys(sets, v.ExactThreshold(opt))
				opt.Filter = func(key string) bool { return inPostings(sets, key) }
			} else {
				// A small match set is scanned exactly; the predicate is
				// then only a fallback (and spares the engine building a
				// key set).
				opt.Keys = ev.smallMatchSet(q.Root, v.ExactThreshold(opt))
				opt.Filter = func(key string) bool { return ev.matchKey(q.Root, key) }
			}
		}
		rs, err := v.Search(vec, min(q.KNN.K, max(v.Len(), 1)), opt)
		if err != nil {
			return nil, qerr("Error parsing vector similarity query: %v", err)
		}
		// Every key in the vector index is a hash of the index at apply
		// time; with no key expiring, none can be expired now, so `*`
		// needs no look-up of each hit's hash.
		recheck := q.Root.Kind == query.All && ev.db.Expiring() > 0
		// One backing array for the hits' distances: a query yields one
		// per hit (two or more only with $YIELD_DISTANCE_AS).
		dists := make([]NamedDist, len(rs))
		res.Hits = make([]Hit, 0, len(rs))
		for i, r := range rs {
			if recheck && !ev.matchKey(q.Root, r.Key) {
				continue // expired, not yet deleted
			}
			dists[i] = NamedDist{res.ScoreField, r.Distance}
			h := Hit{Key: r.Key, Dist: dists[i : i+1 : i+1]}
			ev.addYields(&h)
			res.Hits = append(res.Hits, h)
		}
		res.Total = len(res.Hits)
		return res, nil
	}
	ix.ids.Scan(func(d doc) bool {
		if ev.matchKey(q.Root, d.key) {
			h := Hit{Key: d.key}
			ev.addYields(&h)
			res.Hits = append(res.Hits, h)
		}
		return true
	})
	res.Total = len(res.Hits)
	return res, nil
}

// smallMatchSet returns the documents matching n when the TAG postings
// bound them by at most limit candidates, and nil otherwise. Each
// candidate is checked against the whole query (and expiry) on its hash,
// so the set is exactly the matches; a small set lets the vector engine
// scan just those keys exactly instead of evaluating n on the hash of every
// node (or slot) it visits.
func (ev *evaluator) smallMatchSet(n *query.Node, limit int) []string {
	if limit < 0 || ev.ix.tags == nil {
		return nil
	}
	cands, ok := ev.ix.tags.candidates(ev.ix, ev.db, n, limit)
	if !ok {
		return nil
	}
	keys := make([]string, 0, len(cands))
	for k := range cands {
		if ev.matchKey(n, k) {
			keys = append(keys, k)
		}
	}
	return keys
}

// exactPostings returns the TAG postings whose union is exactly the set
// of documents matching n, when there is one: n is a TAG clause or an OR
// of them (postings are split, trimmed and case-folded as the clause
// compares), and no key of the keyspace has a TTL (an expired key is
// still in the postings until its deletion is applied). The postings
// change only at apply time, which the caller's read lock excludes.
func (ev *evaluator) exactPostings(n *query.Node) ([]map[string]struct{}, bool) {
	if ev.ix.tags == nil || ev.db.Expiring() > 0 || !tagsOnly(n) {
		return nil, false
	}
	return ev.ix.tags.postings(ev.ix, ev.db, n), true
}

// tagsOnly reports whether n is a TAG clause or an OR of such clauses.
func tagsOnly(n *query.Node) bool {
	switch n.Kind {
	case query.Tag:
		return true
	case query.Or:
		for _, ch := range n.Children {
			if !tagsOnly(ch) {
				return false
			}
		}
		return len(n.Children) > 0
	}
	return false
}

// postingKeys returns the keys of the union of sets, or nil when they hold
// more than limit keys in all.
func postingKeys(sets []map[string]struct{}, limit int) []string {
	n := 0
	for _, ks := range sets {
		n += len(ks)
	}
	if limit < 0 || n > limit {
		return nil
	}
	keys := make([]string, 0, n)
	for i, ks := range sets {
		for k := range ks {
			if i == 0 || !inPostings(sets[:i], k) {
				keys = append(keys, k)
			}
		}
	}
	return keys
}

// inPostings reports whether key is in one of sets.
func inPostings(sets []map[string]struct{}, key string) bool {
	for _, ks := range sets {
		if _, ok := ks[key]; ok {
			return true
		}
	}
	return false
}

func (ev *evaluator) addYields(h *Hit) {
	for name, n := range ev.yield {
		if d, ok := ev.rng[n][h.Key]; ok {
			h.Dist.Set(name, d)
		}
	}
}

// queryVector decodes a query blob for field f.
func (ev *evaluator) queryVector(f *Field, blob []byte) ([]float32, error) {
	want := f.Vec.Dim * f.Vec.Type.Size()
	if len(blob) != want {
		return nil, qerr("Error parsing vector similarity query: query vector blob size (%d) does not match index's expected size (%d).", len(blob), want)
	}
	v, err := vector.Decode(f.Vec.Type, blob, f.Vec.Dim)
	if err != nil {
		return nil, qerr("Error parsing vector similarity query: %v", err)
	}
	return v, nil
}

// typedField returns the schema field a query clause names, or the error
// for an unknown field or one of another type (label names the type).
func (ev *evaluator) typedField(name string, typ FieldType, label string) (*Field, error) {
	f := ev.ix.Def.Field(name)
	if f == nil {
		return nil, qerr("Unknown field `%s`", name)
	}
	if f.Type != typ {
		return nil, qerr("Syntax error: field `%s` is not a %s field", name, label)
	}
	return f, nil
}

// prepare checks the fields the query names and runs its VECTOR_RANGE
// clauses.
func (ev *evaluator) prepare(n *query.Node) error {
	switch n.Kind {
	case query.Term:
		if n.Field != "" {
			if _, err := ev.typedField(n.Field, Text, "TEXT"); err != nil {
				return err
			}
		}
	case query.Tag:
		if _, err := ev.typedField(n.Field, Tag, "TAG"); err != nil {
			return err
		}
	case query.Numeric:
		if _, err := ev.typedField(n.Field, Numeric, "NUMERIC"); err != nil {
			return err
		}
	case query.VectorRange:
		f, err := ev.typedField(n.Field, Vector, "VECTOR")
		if err != nil {
			return err
		}
		if n.Radius < 0 {
			return qerr("Error parsing vector similarity query: negative radius")
		}
		vec, err := ev.queryVector(f, n.Vector)
		if err != nil {
			return err
		}
		rs, err := ev.ix.Vector(f).Range(vec, float32(min(n.Radius, math.MaxFloat32)), nil)
		if err != nil {
			return qerr("Error parsing vector similarity query: %v", err)
		}
		m := make(map[string]float32, len(rs))
		for _, r := range rs {
			m[r.Key] = r.Distance
		}
		ev.rng[n] = m
		if n.YieldDistanceAs != "" {
			if ev.yield == nil {
				ev.yield = map[string]*query.Node{}
			}
			ev.yield[n.YieldDistanceAs] = n
		}
	}
	for _, c := range n.Children {
		if err := ev.prepare(c); err != nil {
			return err
		}
	}
	return nil
}

// matchKey tells whether the live hash under key matches n.
func (ev *evaluator) matchKey(n *query.Node, key string) bool {
	it := ev.db.Peek([]byte(key))
	if it == nil || it.Expired(ev.now) {
		return false
	}
	h, ok := it.Obj.(*keyspace.Hash)
	if !ok {
		return false
	}
	return ev.match(n, key, h)
}

func (ev *evaluator) match(n *query.Node, key string, h *keyspace.Hash) bool {
	switch n.Kind {
	case query.All:
		return true
	case query.And:
		for _, c := range n.Children {
			if !ev.match(c, key, h) {
				return false
			}
		}
		return true
	case query.Or:
		for _, c := range n.Children {
			if ev.match(c, key, h) {
				return true
			}
		}
		return false
	case query.Not:
		return !ev.match(n.Children[0], key, h)
	case query.VectorRange:
		_, ok := ev.rng[n][key]
		return ok
	case query.Numeric:
		f := ev.ix.Def.Field(n.Field)
		v, ok := h.Get([]byte(f.Identifier))
		if !ok {
			return false
		}
		x, err := parseNumber(v)
		if err != nil {
			return false
		}
		if x < n.Lo || (n.LoExcl && x == n.Lo) || x > n.Hi || (n.HiExcl && x == n.Hi) {
			return false
		}
		return true
	case query.Tag:
		f := ev.ix.Def.Field(n.Field)
		v, ok := h.Get([]byte(f.Identifier))
		if !ok {
			return false
		}
		// Read under the state machine's read lock (no apply runs), so
		// v can be viewed as a string without a copy.
		rest := unsafe.String(unsafe.SliceData(v), len(v))
		for rest != "" {
			var t string
			t, rest, _ = strings.Cut(rest, string(f.Separator))
			t = strings.TrimSpace(t)
			if t == "" {
				continue
			}
			for i, want := range n.Values {
				if tagMatch(t, want, n.Prefix[i], f.CaseSensitive) {
					return true
				}
			}
		}
		return false
	case query.Term:
		for i := range ev.ix.Def.Fields {
			f := &ev.ix.Def.Fields[i]
			if f.Type != Text || (n.Field != "" && f.Attribute != n.Field) {
				continue
			}
			v, ok := h.Get([]byte(f.Identifier))
			if !ok {
				continue
			}
			for _, w := range query.Tokens(string(v), ev.ix.isStop) {
				if w == n.Values[0] || (n.Prefix[0] && strings.HasPrefix(w, n.Values[0])) {
					return true
				}
			}
		}
		return false
	}
	return false
}

// knnScoreField is the name of q's KNN distance ("" without KNN).
func knnScoreField(ix *Index, q *query.Query) string {
	if q.KNN == nil {
		return ""
	}
	if q.KNN.As != "" {
		return q.KNN.As
	}
	if f := ix.Def.Field(q.KNN.Field); f != nil {
		return "__" + f.Attribute + "_score"
	}
	return "__" + q.KNN.Field + "_score"
}

func tagMatch(have, want string, prefix, cs bool) bool {
	if !cs {
		have, want = strings.ToLower(have), strings.ToLower(want)
	}
	if prefix {
		return strings.HasPrefix(have, want)
	}
	return have == want
}

// ErrNotSortable is returned for SORTBY on an unknown attribute.
var ErrNotSortable = errors.New("Property is not sortable")
