package search

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/vector/query"
)

// This file is RediSearch 2.x's full-text relevance: how a document's TEXT
// fields become terms (a forward index), the term statistics of the
// index, and the scoring functions (SCORER) applied to a match. It is all
// computed on the read path from the hashes themselves, so it is always
// consistent with the data; nothing here is replicated state.

// termStat is one term of a document: its weighted frequency over every
// TEXT field, its positions, and the fields holding it.
type termStat struct {
	freq   uint32
	pos    []uint32
	fields []uint16 // positions in Def.Fields
}

// textDoc is a document's TEXT fields as RediSearch's forward index sees
// them. maxFreq is the largest term frequency (TFIDF's norm), length
// TFIDF.DOCNORM's norm: the sum, over the occurrences, of the term's
// frequency so far (RediSearch 2.x's "total weighted frequency").
type textDoc struct {
	terms           map[string]*termStat
	maxFreq, length uint32
}

// weightInc is what one occurrence adds to a term's frequency in a field
// of weight w: max(1, (uint32)(float)w), as RediSearch counts it.
func weightInc(w float64) uint32 {
	if w == 0 {
		w = 1
	}
	f := float32(w)
	if f < 1 || f != f {
		return 1
	}
	if f >= math.MaxUint32 {
		return math.MaxUint32
	}
	return max(1, uint32(f))
}

// isStop tells whether w is a stop word of the index.
func (ix *Index) isStop(w string) bool {
	if !ix.Def.CustomStopWords {
		return query.IsDefaultStopWord(w)
	}
	return slices.Contains(ix.Def.StopWords, w)
}

// hasText tells whether the schema has a TEXT field.
func (ix *Index) hasText() bool {
	for i := range ix.Def.Fields {
		if ix.Def.Fields[i].Type == Text {
			return true
		}
	}
	return false
}

// analyze tokenizes h's TEXT fields in schema order. Positions run on
// across fields (RediSearch's token positions are per document); stop
// words take no position.
func (ix *Index) analyze(h *keyspace.Hash) *textDoc {
	td := &textDoc{terms: map[string]*termStat{}}
	var pos uint32
	for i := range ix.Def.Fields {
		f := &ix.Def.Fields[i]
		if f.Type != Text {
			continue
		}
		v, ok := h.Get([]byte(f.Identifier))
		if !ok {
			continue
		}
		inc := weightInc(f.Weight)
		for _, t := range query.Tokens(string(v), ix.isStop) {
			pos++
			ts := td.terms[t]
			if ts == nil {
				ts = &termStat{}
				td.terms[t] = ts
			}
			ts.freq += inc
			ts.pos = append(ts.pos, pos)
			if n := len(ts.fields); n == 0 || ts.fields[n-1] != uint16(i) {
				ts.fields = append(ts.fields, uint16(i))
			}
			// RediSearch 2.x adds the term's running frequency, not the
			// occurrence's weight, to the document length.
			td.length += ts.freq
			td.maxFreq = max(td.maxFreq, ts.freq)
		}
	}
	return td
}

// inField tells whether the term occurs in the field at position fi (-1:
// any field).
func (ts *termStat) inField(fi int) bool {
	return fi < 0 || slices.Contains(ts.fields, uint16(fi))
}

// Scorer names (FT.SEARCH SCORER).
const (
	ScorerTFIDF    = "TFIDF"
	ScorerDocNorm  = "TFIDF.DOCNORM"
	ScorerBM25     = "BM25"
	ScorerDisMax   = "DISMAX"
	ScorerDocScore = "DOCSCORE"
	ScorerHamming  = "HAMMING"
)

// ValidScorer tells whether name is a scorer RediSearch 2.x registers
// (names are case-sensitive, as there).
func ValidScorer(name string) bool {
	switch name {
	case ScorerTFIDF, ScorerDocNorm, ScorerBM25, ScorerDisMax, ScorerDocScore, ScorerHamming:
		return true
	}
	return false
}

// Explain is a score's explanation (EXPLAINSCORE): a line and the
// explanations of its parts.
type Explain struct {
	Text     string
	Children []*Explain
}

// rkind is the type of a match result, after RediSearch's index results.
type rkind uint8

const (
	rTerm rkind = 1 << iota
	rVirtual
	rNumeric
	rMetric
	rIntersect
	rUnion
)

// result is why a document matches a query node: a term occurrence
// record, a virtual / numeric / vector-range hit, or an intersection or
// union of the children that matched.
type result struct {
	kind rkind
	term string // rTerm; "" for a tag value (no IDF)
	freq uint32
	pos  []uint32 // rTerm: positions (text terms only)
	kids []*result
	mask rkind // aggregates: the kinds of the children
}

func aggregate(kind rkind, kids []*result) *result {
	r := &result{kind: kind, kids: kids}
	for _, k := range kids {
		r.freq += k.freq
		r.mask |= k.kind
	}
	return r
}

func (r *result) isAggregate() bool { return r.kind&(rIntersect|rUnion) != 0 }

// hasOffsets is RediSearch's test for a result with term positions: a
// term with positions, or an aggregate that is not purely virtual or
// numeric (even if its children have no positions, e.g. tag values).
func (r *result) hasOffsets() bool {
	switch {
	case r.kind == rTerm:
		return len(r.pos) > 0
	case r.isAggregate():
		return r.mask != rVirtual && r.mask != rNumeric
	}
	return false
}

// offsets returns r's positions in ascending order (aggregates merge
// their children's).
func (r *result) offsets() []uint32 {
	if r.kind == rTerm {
		return r.pos
	}
	var out []uint32
	for _, k := range r.kids {
		out = append(out, k.offsets()...)
	}
	slices.Sort(out)
	return out
}

// offsetEOF ends an offsets iteration, as RS_OFFSETVECTOR_EOF.
const offsetEOF = math.MaxUint32

func absDelta(a, b uint32) uint32 {
	if a > b {
		return a - b
	}
	return b - a
}

// minOffsetDelta is RediSearch's slop penalty of a result: for each two
// consecutive children with positions, the closest distance between their
// positions; the result is the square root of the sum of the squared
// distances, truncated (100 when only one child has positions; the number
// of children less one when no distance is found). It keeps RediSearch's
// 32-bit arithmetic, including a child whose positions are empty (a tag
// union), which meets the end marker at once.
func (r *result) minOffsetDelta() int {
	if !r.isAggregate() || len(r.kids) <= 1 {
		return 1
	}
	n := len(r.kids)
	var dist int32
	for i := 0; i < n; {
		for i < n && !r.kids[i].hasOffsets() {
			i++
		}
		if i == n {
			break
		}
		v1 := r.kids[i].offsets()
		i++
		for i < n && !r.kids[i].hasOffsets() {
			i++
		}
		if i == n {
			if dist == 0 {
				dist = 100
			}
			break
		}
		v2 := r.kids[i].offsets()
		next := func(v *[]uint32) uint32 {
			if len(*v) == 0 {
				return offsetEOF
			}
			p := (*v)[0]
			*v = (*v)[1:]
			return p
		}
		p1, p2 := next(&v1), next(&v2)
		cd := int32(absDelta(p2, p1))
		for cd > 1 && p1 != offsetEOF && p2 != offsetEOF {
			if d := absDelta(p2, p1); d < uint32(cd) {
				cd = int32(d)
			}
			if p2 > p1 {
				p1 = next(&v1)
			} else {
				p2 = next(&v2)
			}
		}
		dist += cd * cd
	}
	if dist == 0 {
		return n - 1
	}
	if dist < 0 {
		return 1 // wrapped; RediSearch's value is undefined here
	}
	return max(1, int(math.Sqrt(float64(dist))))
}

// textStats are the index-wide statistics a query's scores use: the
// number of documents holding each term the query names (df), the number
// of documents, and the total of their distinct terms (BM25's average
// document length).
type textStats struct {
	df         map[string]int
	numDocs    int
	numRecords int
}

// idf is RediSearch's IDF: logb(1 + totalDocs/df), where totalDocs is its
// document table size, which starts at 1 (so it is the number of
// documents plus one).
func (s *textStats) idf(term string) float64 {
	if term == "" {
		return 0 // a tag value
	}
	df := s.df[term]
	if df == 0 {
		df = 1
	}
	return math.Logb(float64(float32(1)) + float64(s.numDocs+1)/float64(df))
}

func (s *textStats) avgDocLen() float64 {
	if s.numDocs == 0 {
		return 0
	}
	return float64(s.numRecords) / float64(s.numDocs)
}

// scorer scores one match.
type scorer struct {
	name    string
	stats   *textStats
	explain bool
}

func f2(x float64) string { return fmt.Sprintf("%.2f", x) }

// score returns r's score for a document analysed as td, and its
// explanation when asked for. The document score (FT.CREATE SCORE /
// SCORE_FIELD) is always 1.
func (s *scorer) score(r *result, td *textDoc) (float64, *Explain) {
	const docScore = 1.0
	switch s.name {
	case ScorerDisMax:
		return s.dismax(r)
	case ScorerDocScore:
		return docScore, s.ex(fmt.Sprintf("Document's score is %.2f", docScore))
	case ScorerHamming:
		// Cairn documents have no payload.
		return 0, s.ex("Payloads provided to scorer vary in length")
	case ScorerBM25:
		raw, e := s.bm25(r)
		sc := docScore * raw
		slop := r.minOffsetDelta()
		sc /= float64(slop)
		return sc, s.parent(e, fmt.Sprintf("Final BM25 : words BM25 %.2f * document score %.2f / slop %d", raw, docScore, slop))
	}
	var norm uint32
	if td != nil {
		norm = td.maxFreq
		if s.name == ScorerDocNorm {
			norm = td.length
		}
	}
	raw, e := s.tfidf(r)
	if norm == 0 {
		// A document without text: RediSearch 2.x divided by zero (inf /
		// nan) until MOD-9423; since then the score is 0.
		return 0, s.parent(e, fmt.Sprintf("Final TFIDF : words TFIDF %.2f * document score %.2f / norm 0: document has no text", raw, docScore))
	}
	sc := docScore * raw / float64(norm)
	slop := r.minOffsetDelta()
	sc /= float64(slop)
	return sc, s.parent(e, fmt.Sprintf("Final TFIDF : words TFIDF %.2f * document score %.2f / norm %d / slop %d", raw, docScore, norm, slop))
}

func (s *scorer) ex(text string, kids ...*Explain) *Explain {
	if !s.explain {
		return nil
	}
	return &Explain{Text: text, Children: kids}
}

func (s *scorer) parent(child *Explain, text string) *Explain {
	if !s.explain {
		return nil
	}
	return &Explain{Text: text, Children: []*Explain{child}}
}

// kids scores r's children with fn and returns their sum (or max) and
// explanations.
func (s *scorer) kids(r *result, fn func(*result) (float64, *Explain), useMax bool) (float64, []*Explain) {
	var total float64
	var ex []*Explain
	for _, k := range r.kids {
		v, e := fn(k)
		if useMax {
			total = max(total, v)
		} else {
			total += v
		}
		if s.explain {
			ex = append(ex, e)
		}
	}
	return total, ex
}

const weight = 1.0 // query node weight ($weight is not supported)

func (s *scorer) tfidf(r *result) (float64, *Explain) {
	switch {
	case r.kind == rTerm:
		idf := s.stats.idf(r.term)
		v := weight * float64(r.freq) * idf
		return v, s.ex(fmt.Sprintf("(TFIDF %.2f = Weight %.2f * TF %d * IDF %.2f)", v, weight, r.freq, idf))
	case r.isAggregate():
		sum, ex := s.kids(r, s.tfidf, false)
		return weight * sum, s.ex(fmt.Sprintf("(Weight %.2f * total children TFIDF %.2f)", weight, sum), ex...)
	}
	v := weight * float64(r.freq)
	return v, s.ex(fmt.Sprintf("(TFIDF %.2f = Weight %.2f * Frequency %d)", v, weight, r.freq))
}

// BM25 constants, float as in RediSearch.
var (
	bm25B  = float64(float32(0.5))
	bm25K1 = float64(float32(1.2))
)

func (s *scorer) bm25(r *result) (float64, *Explain) {
	avg := s.stats.avgDocLen()
	f := float64(r.freq)
	den := f + bm25K1*(float64(float32(1)-float32(0.5))+bm25B*avg)
	switch {
	case r.kind == rTerm:
		idf := s.stats.idf(r.term)
		v := idf * f / den
		return v, s.ex(fmt.Sprintf("(%.2f = IDF %.2f * F %d / (F %d + k1 1.2 * (1 - b 0.5 + b 0.5 * Average Len %.2f)))", v, idf, r.freq, r.freq, avg))
	case r.isAggregate():
		sum, ex := s.kids(r, s.bm25, false)
		return sum * weight, s.ex(fmt.Sprintf("(Weight %.2f * children BM25 %.2f)", weight, sum), ex...)
	case r.freq != 0:
		v := weight * f / den
		return v, s.ex(fmt.Sprintf("(%.2f = Weight %.2f * F %d / (F %d + k1 1.2 * (1 - b 0.5 + b 0.5 * Average Len %.2f)))", v, weight, r.freq, r.freq, avg))
	}
	return 0, s.ex("Frequency 0 -> value 0")
}

func (s *scorer) dismax(r *result) (float64, *Explain) {
	if !r.isAggregate() {
		v := float64(r.freq)
		return weight * v, s.ex(fmt.Sprintf("DISMAX %.2f = Weight %.2f * Frequency %d", weight*v, weight, r.freq))
	}
	v, ex := s.kids(r, s.dismax, r.kind == rUnion)
	return weight * v, s.ex(fmt.Sprintf("%.2f = Weight %.2f * children DISMAX %.2f", weight*v, weight, v), ex...)
}

// queryTerms collects the text terms and prefixes n names (stop words
// pruned already).
func queryTerms(n *query.Node, terms map[string]bool, prefixes *[]string) {
	if n.Kind == query.Term {
		if n.Prefix[0] {
			*prefixes = append(*prefixes, n.Values[0])
		} else {
			terms[n.Values[0]] = true
		}
	}
	for _, c := range n.Children {
		queryTerms(c, terms, prefixes)
	}
}

// hasTerm tells whether n has a text term.
func hasTerm(n *query.Node) bool {
	if n.Kind == query.Term {
		return true
	}
	for _, c := range n.Children {
		if hasTerm(c) {
			return true
		}
	}
	return false
}

// pruneStopWords returns n without the text terms that are stop words of
// ix, as RediSearch drops them from a query: an intersection or union
// keeps its other children; nil means nothing is left (no match).
func (ix *Index) pruneStopWords(n *query.Node) *query.Node {
	switch n.Kind {
	case query.Term:
		if !n.Prefix[0] && ix.isStop(n.Values[0]) {
			return nil
		}
		return n
	case query.And, query.Or, query.Not:
		var kids []*query.Node
		for _, c := range n.Children {
			if p := ix.pruneStopWords(c); p != nil {
				kids = append(kids, p)
			}
		}
		switch {
		case len(kids) == 0:
			return nil
		case len(kids) == 1 && n.Kind != query.Not:
			return kids[0]
		}
		cp := *n
		cp.Children = kids
		return &cp
	}
	return n
}

// hasPrefix tells whether t starts with one of prefixes.
func hasPrefix(t string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(t, p) {
			return true
		}
	}
	return false
}

// SearchOptions are FT.SEARCH's scoring options.
type SearchOptions struct {
	// Scorer names the scoring function ("" is TFIDF, the default).
	Scorer string
	// Explain asks for each score's explanation (EXPLAINSCORE).
	Explain bool
	// KNNScores asks for the scores of a KNN query's hits (WITHSCORES):
	// the score of its filter clause; a `*` filter scores 0.
	KNNScores bool
}

// scoredMatch is one match before scoring.
type scoredMatch struct {
	hit Hit
	r   *result
	td  *textDoc
}

// Search evaluates q like Run and scores each hit with opt's scorer, as
// RediSearch 2.x does: hits come in document-id order with Score set
// (KNN hits in distance order, scoredMatch only with opt.KNNScores); the caller
// orders them (SortByScore). Term statistics are taken from every
// document of the index at the time of the query.
func (ix *Index) Search(db *keyspace.DB, now int64, q *query.Query, opt SearchOptions) (*Result, error) {
	if opt.Scorer == "" {
		opt.Scorer = ScorerTFIDF
	}
	if q.KNN != nil {
		res, err := ix.Run(db, now, q)
		if err != nil || !opt.KNNScores || len(res.Hits) == 0 {
			return res, err
		}
		root := ix.pruneStopWords(q.Root)
		if root == nil || root.Kind == query.All {
			// The vector hit alone is a metric record with no frequency:
			// 0 with every scorer but DOCSCORE.
			sc := &scorer{name: opt.Scorer, stats: &textStats{}, explain: opt.Explain}
			for i := range res.Hits {
				h := &res.Hits[i]
				var td *textDoc
				if opt.Explain {
					if it := db.Peek([]byte(h.Key)); it != nil {
						if hh, ok := it.Obj.(*keyspace.Hash); ok {
							td = ix.analyze(hh)
						}
					}
				}
				h.Score, h.Explain = sc.score(&result{kind: rMetric}, td)
			}
			return res, nil
		}
		keep := map[string]bool{}
		for _, h := range res.Hits {
			keep[h.Key] = true
		}
		ev := &evaluator{ix: ix, db: db, now: now, rng: map[*query.Node]map[string]float32{}}
		if err := ev.prepare(root); err != nil {
			return nil, err
		}
		ms, stats := ev.collect(root, opt, keep)
		sc := &scorer{name: opt.Scorer, stats: stats, explain: opt.Explain}
		byKey := make(map[string]scoredMatch, len(ms))
		for _, m := range ms {
			byKey[m.hit.Key] = m
		}
		for i := range res.Hits {
			h := &res.Hits[i]
			if m, ok := byKey[h.Key]; ok {
				h.Score, h.Explain = sc.score(m.r, m.td)
			}
		}
		return res, nil
	}
	if !ix.hasText() && !opt.Explain && (opt.Scorer == ScorerTFIDF || opt.Scorer == ScorerDocNorm) {
		// Without TEXT fields every document's norm is 0: all score 0,
		// so the unscored evaluation (id order) is the answer.
		return ix.Run(db, now, q)
	}
	ev := &evaluator{ix: ix, db: db, now: now, rng: map[*query.Node]map[string]float32{}}
	if err := ev.prepare(q.Root); err != nil {
		return nil, err
	}
	res := &Result{}
	root := ix.pruneStopWords(q.Root)
	if root == nil {
		return res, nil
	}
	ms, stats := ev.collect(root, opt, nil)
	sc := &scorer{name: opt.Scorer, stats: stats, explain: opt.Explain}
	for _, m := range ms {
		h := m.hit
		h.Score, h.Explain = sc.score(m.r, m.td)
		ev.addYields(&h)
		res.Hits = append(res.Hits, h)
	}
	res.Total = len(res.Hits)
	return res, nil
}

// collect matches root against the index's documents in id order (only
// those in keep, unless nil), with each match's result tree and analysed
// text, and gathers the term statistics the scores need. The statistics
// cover every document of the index (expired ones not yet deleted too, as
// they are still indexed); analysing every document is needed only when
// the query has text terms (document frequencies) or for BM25 (average
// document length).
func (ev *evaluator) collect(root *query.Node, opt SearchOptions, keep map[string]bool) ([]scoredMatch, *textStats) {
	ix := ev.ix
	stats := &textStats{df: map[string]int{}, numDocs: ix.NumDocs()}
	text := ix.hasText()
	all := text && (hasTerm(root) || opt.Scorer == ScorerBM25)
	terms := map[string]bool{}
	var prefixes []string
	queryTerms(root, terms, &prefixes)
	if text {
		if c := ix.text.acquire(ix, ev.db); c != nil {
			defer c.release()
			return ev.collectCached(c, root, stats, keep), stats
		}
	}
	var out []scoredMatch
	ix.ids.Scan(func(d doc) bool {
		it := ev.db.Peek([]byte(d.key))
		if it == nil {
			return true
		}
		h, ok := it.Obj.(*keyspace.Hash)
		if !ok {
			return true
		}
		var td *textDoc
		if all {
			td = ix.analyze(h)
			stats.numRecords += len(td.terms)
			for t := range td.terms {
				if terms[t] || hasPrefix(t, prefixes) {
					stats.df[t]++
				}
			}
		}
		if it.Expired(ev.now) || (keep != nil && !keep[d.key]) {
			return true
		}
		r := ev.resultOf(root, d.key, h, td)
		if r == nil {
			return true
		}
		if td == nil && text {
			td = ix.analyze(h)
		}
		out = append(out, scoredMatch{hit: Hit{Key: d.key}, r: r, td: td})
		return true
	})
	return out, stats
}

// collectCached is collect with the node's TEXT postings: statistics
// from the cache, term clauses matched by posting lookups, and only the
// matches of a text query analysed (for their frequencies and positions).
func (ev *evaluator) collectCached(c *textCache, root *query.Node, stats *textStats, keep map[string]bool) []scoredMatch {
	ix := ev.ix
	stats.numRecords = c.records
	ev.ord, _ = textOrdinals(ix)
	ev.cand = map[*query.Node]map[string]uint64{}
	var walk func(n *query.Node)
	walk = func(n *query.Node) {
		if n.Kind == query.Term {
			v := n.Values[0]
			if !n.Prefix[0] {
				ev.cand[n] = c.post[v]
				stats.df[v] = len(c.post[v])
			} else {
				u := map[string]uint64{}
				for t, ks := range c.post {
					if !strings.HasPrefix(t, v) {
						continue
					}
					stats.df[t] = len(ks)
					for k, b := range ks {
						u[k] |= b
					}
				}
				ev.cand[n] = u
			}
		}
		for _, ch := range n.Children {
			walk(ch)
		}
	}
	walk(root)
	termQ := hasTerm(root)
	var out []scoredMatch
	ix.ids.Scan(func(d doc) bool {
		if keep != nil && !keep[d.key] {
			return true
		}
		it := ev.db.Peek([]byte(d.key))
		if it == nil || it.Expired(ev.now) {
			return true
		}
		h, ok := it.Obj.(*keyspace.Hash)
		if !ok {
			return true
		}
		r := ev.resultOf(root, d.key, h, nil)
		if r == nil {
			return true
		}
		var td *textDoc
		if termQ {
			td = ix.analyze(h)
			if r = ev.resultOf(root, d.key, h, td); r == nil {
				return true // the cache disagrees: cannot happen
			}
		} else {
			n := c.docs[d.key]
			td = &textDoc{maxFreq: n.maxFreq, length: n.length}
		}
		out = append(out, scoredMatch{hit: Hit{Key: d.key}, r: r, td: td})
		return true
	})
	ev.cand = nil
	return out
}

// textField returns the position of the TEXT field a term names (-1: any).
func (ev *evaluator) textField(name string) int {
	if name == "" {
		return -1
	}
	for i := range ev.ix.Def.Fields {
		if f := &ev.ix.Def.Fields[i]; f.Type == Text && f.Attribute == name {
			return i
		}
	}
	return -2 // no such TEXT field (prepare reports it)
}

// resultOf returns why the document key (hash h, TEXT fields analysed as
// td) matches n, or nil if it does not.
func (ev *evaluator) resultOf(n *query.Node, key string, h *keyspace.Hash, td *textDoc) *result {
	switch n.Kind {
	case query.All:
		return &result{kind: rVirtual, freq: 1}
	case query.And:
		kids := make([]*result, 0, len(n.Children))
		for _, c := range n.Children {
			r := ev.resultOf(c, key, h, td)
			if r == nil {
				return nil
			}
			kids = append(kids, r)
		}
		return aggregate(rIntersect, kids)
	case query.Or:
		var kids []*result
		for _, c := range n.Children {
			if r := ev.resultOf(c, key, h, td); r != nil {
				kids = append(kids, r)
			}
		}
		if len(kids) == 0 {
			return nil
		}
		return aggregate(rUnion, kids)
	case query.Not:
		if ev.resultOf(n.Children[0], key, h, td) != nil {
			return nil
		}
		return &result{kind: rVirtual}
	case query.Term:
		fi := ev.textField(n.Field)
		if td == nil {
			// Matching by the cached postings (collectCached).
			bits, ok := ev.cand[n][key]
			if !ok || fi == -2 || (fi >= 0 && bits&(1<<uint(ev.ord[fi])) == 0) {
				return nil
			}
			return &result{kind: rTerm, term: n.Values[0], freq: 1}
		}
		v := n.Values[0]
		if !n.Prefix[0] {
			ts := td.terms[v]
			if ts == nil || !ts.inField(fi) {
				return nil
			}
			return &result{kind: rTerm, term: v, freq: ts.freq, pos: ts.pos}
		}
		var names []string
		for t, ts := range td.terms {
			if strings.HasPrefix(t, v) && ts.inField(fi) {
				names = append(names, t)
			}
		}
		if len(names) == 0 {
			return nil
		}
		slices.Sort(names)
		kids := make([]*result, len(names))
		for i, t := range names {
			ts := td.terms[t]
			kids[i] = &result{kind: rTerm, term: t, freq: ts.freq, pos: ts.pos}
		}
		return aggregate(rUnion, kids)
	case query.Tag:
		if !ev.match(n, key, h) {
			return nil
		}
		// One record per matching value, without IDF or positions.
		var kids []*result
		for i := range n.Values {
			one := *n
			one.Values, one.Prefix = n.Values[i:i+1], n.Prefix[i:i+1]
			if ev.match(&one, key, h) {
				kids = append(kids, &result{kind: rTerm, freq: 1})
			}
		}
		return aggregate(rUnion, kids)
	case query.Numeric:
		if !ev.match(n, key, h) {
			return nil
		}
		return &result{kind: rNumeric, freq: 1}
	case query.VectorRange:
		if !ev.match(n, key, h) {
			return nil
		}
		return &result{kind: rMetric}
	}
	return nil
}

// SortByScore orders hits by score, highest first; equal scores keep
// their order (document id, as RediSearch breaks ties).
func SortByScore(hits []Hit) {
	slices.SortStableFunc(hits, func(a, b Hit) int {
		switch {
		case a.Score > b.Score:
			return -1
		case a.Score < b.Score:
			return 1
		}
		return 0
	})
}
