package vector

import (
	"errors"
	"math"
	"slices"
)

// ErrBadQuery is returned for an invalid K, EF, radius or query vector.
var ErrBadQuery = errors.New("vector: bad query")

// Result is one search hit.
type Result struct {
	// Key is the indexed key.
	Key string
	// Distance is the distance to the query under the index metric.
	Distance float32
}

// SearchOptions tunes one query. The zero value (or nil) means defaults.
type SearchOptions struct {
	// EF is the HNSW candidate-list size (EF_RUNTIME); at least k is used.
	// Default Config.EFRuntime.
	EF int
	// Epsilon overrides Config.Epsilon for a range query. Default 0.
	Epsilon float64
	// Filter, when set, admits only keys for which it returns true. It is
	// called under the index's read lock and must not call the index.
	Filter func(key string) bool
	// Keys, when non-nil, is the exact set of admissible keys (for example
	// the documents a tag index matched); with fewer than ExactBelow of
	// them the query scans just these keys exactly, without looking at the
	// rest of the index. Keys absent from the index are ignored. Otherwise
	// the graph path admits Filter's keys, or, without a Filter, these.
	Keys []string
	// ExactBelow is the estimated number of filter matches under which an
	// HNSW query is answered by an exact scan of the matches instead of a
	// filtered graph traversal. 0 means the default, max(2000, 5% of the
	// keys); a negative value never falls back (tests use it).
	ExactBelow int
	// Exact forces an exact scan of every live key (that passes Filter),
	// as FLAT does: the ground truth (VSIM TRUTH).
	Exact bool
	// MaxCandidates, when positive with a Filter on an HNSW index, bounds
	// the effort of the search the way Redis's VSIM FILTER-EF does: the
	// level-0 beam search (candidate list EF) walks through nodes whatever
	// the filter says, admits only matching ones to the results, and stops
	// after examining MaxCandidates candidates (the entry point counts as
	// the first), even with fewer than k results. The query then never
	// falls back to an exact scan (Keys and ExactBelow are ignored).
	MaxCandidates int
}

// resultLess orders results by (distance, key).
func resultLess(a, b Result) bool {
	return a.Distance < b.Distance || (a.Distance == b.Distance && a.Key < b.Key)
}

// Search returns the k keys nearest to q, sorted by (distance, key). FLAT
// indexes and selective filters are answered exactly; HNSW answers are
// approximate.
func (ix *Index) Search(q []float32, k int, opt *SearchOptions) ([]Result, error) {
	opt = withKeyFilter(opt)
	if k <= 0 {
		return nil, ErrBadQuery
	}
	qv, err := ix.prepare(q)
	if err != nil {
		return nil, err
	}
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	if ix.live == 0 {
		return nil, nil
	}
	if ix.cfg.Algorithm == HNSW && opt.MaxCandidates > 0 && opt.Filter != nil && !opt.Exact {
		ef := max(k, opt.EF)
		if opt.EF == 0 {
			ef = max(k, ix.cfg.EFRuntime)
		}
		vis := ix.getVisit()
		defer ix.visited.Put(vis)
		return ix.results(ix.searchBudget(qv, ix.descend(qv), ef, opt.MaxCandidates, opt.Filter, vis), k), nil
	}
	if opt.Keys != nil && (ix.cfg.Algorithm == FLAT || len(opt.Keys) <= ix.exactThreshold(opt)) {
		return ix.exactKeys(qv, k, opt.Keys), nil
	}
	if ix.cfg.Algorithm == FLAT || opt.Exact || ix.useExact(opt) {
		return ix.exactKNN(qv, k, opt.Filter), nil
	}
	ef := max(k, opt.EF)
	if opt.EF == 0 {
		ef = max(k, ix.cfg.EFRuntime)
	}
	ep := ix.descend(qv)
	vis := ix.getVisit()
	defer ix.visited.Put(vis)
	res, _ := ix.searchLayer(qv, []cand{ep}, ef, 0, ix.acceptor(opt.Filter), vis)
	return ix.results(res, k), nil
}

// searchBudget is the level-0 filtered beam search with bounded effort
// (SearchOptions.MaxCandidates = budget): every node may route, a
// neighbour enters the candidate list when it is closer than the worst
// result or the candidate list holds fewer than ef nodes, only live nodes
// passing filter enter the result list (of ef), and the search stops when
// the nearest candidate is farther than a full result list's worst, when
// no candidate is left, or after budget candidates were examined. It
// returns the results in ascending order.
func (ix *Index) searchBudget(q *qvec, ep cand, ef, budget int, filter func(string) bool, vis *visitSet) []cand {
	cands := candHeap{c: vis.cands[:0]}
	res := maxHeap{candHeap{c: vis.res[:0]}}
	defer func() { vis.cands, vis.res = cands.c[:0], res.c[:0] }()
	ok := func(nd *node) bool { return nd.state == slotLive && filter(nd.key) }
	furthest := func() float32 {
		if res.len() == 0 {
			return float32(math.Inf(1))
		}
		return res.top().d
	}
	vis.visit(ep.id)
	cands.push(ep)
	if ok(ix.node(ep.id)) {
		res.push(ep)
	}
	examined := 1
	for cands.len() > 0 && examined < budget {
		c := cands.pop()
		examined++
		if res.len() >= ef && c.d > furthest() {
			break
		}
		if cands.len() > 0 {
			ix.prefetchList0(cands.top().id)
		}
		nbs := ix.list(c.id, 0)
		for _, nb := range nbs {
			if !vis.seen(nb) {
				ix.prefetch(nb)
			}
		}
		for _, nb := range nbs {
			if !vis.visit(nb) {
				continue
			}
			x := cand{ix.distTo(q, nb), nb}
			if x.d < furthest() || cands.len() < ef {
				cands.push(x)
			}
			if ok(ix.node(nb)) && (res.len() < ef || x.d < furthest()) {
				res.push(x)
				if res.len() > ef {
					res.pop()
				}
			}
		}
	}
	out := make([]cand, res.len())
	for i := len(out) - 1; i >= 0; i-- {
		out[i] = res.pop()
	}
	return out
}

// results converts the k first candidates, sorted by distance, to
// results sorted by (distance, key). Candidates tied with the k-th's
// distance take part in the sort, so ties are broken by key whatever
// their order in cs.
func (ix *Index) results(cs []cand, k int) []Result {
	n := len(cs)
	if k < n { // k > 0 (Search)
		n = k
		for n < len(cs) && cs[n].d == cs[k-1].d {
			n++
		}
	}
	out := make([]Result, n)
	for i, c := range cs[:n] {
		out[i] = Result{ix.node(c.id).key, c.d}
	}
	sortResults(out)
	if len(out) > k {
		out = out[:k]
	}
	return out
}

func sortResults(rs []Result) {
	// Insertion-friendly: results are nearly sorted already (by distance, id).
	for i := 1; i < len(rs); i++ {
		for j := i; j > 0 && resultLess(rs[j], rs[j-1]); j-- {
			rs[j], rs[j-1] = rs[j-1], rs[j]
		}
	}
}

// acceptor turns a key filter into a node filter (nil for no filter).
func (ix *Index) acceptor(f func(string) bool) func(uint32, *node) bool {
	if f == nil {
		return nil
	}
	return func(_ uint32, nd *node) bool { return f(nd.key) }
}

// descend walks the upper levels greedily from the entry point and returns
// the level-0 entry for q.
func (ix *Index) descend(q *qvec) cand {
	ep := cand{ix.distTo(q, ix.entry), ix.entry}
	for l := ix.maxLevel; l > 0; l-- {
		ep = ix.greedy(q, ep, l)
	}
	return ep
}

// sampleSize is how many slots the filter-selectivity estimate looks at.
const sampleSize = 256

// useExact reports whether a filtered HNSW query should scan the filter
// matches exactly: it estimates the number of matches from the filter's
// verdict on up to sampleSize live slots spread evenly over the store.
func (ix *Index) useExact(opt *SearchOptions) bool {
	if opt.Filter == nil || opt.ExactBelow < 0 {
		return false
	}
	threshold := ix.exactThreshold(opt)
	if ix.live <= threshold {
		return true
	}
	step := max(1, ix.n/sampleSize)
	seen, pass := 0, 0
	for id := uint32(0); id < ix.n; id += step {
		nd := ix.node(id)
		if nd.state != slotLive {
			continue
		}
		seen++
		if opt.Filter(nd.key) {
			pass++
		}
	}
	if seen == 0 {
		return true
	}
	return pass*ix.live/seen <= threshold
}

// withKeyFilter returns opt (a copy when it changes it) with defaults and,
// when Keys is set without a Filter, a Filter admitting exactly Keys.
func withKeyFilter(opt *SearchOptions) *SearchOptions {
	if opt == nil {
		return &SearchOptions{}
	}
	if opt.Keys == nil || opt.Filter != nil {
		return opt
	}
	set := make(map[string]struct{}, len(opt.Keys))
	for _, k := range opt.Keys {
		set[k] = struct{}{}
	}
	o := *opt
	o.Filter = func(key string) bool {
		_, ok := set[key]
		return ok
	}
	return &o
}

// ExactThreshold returns the number of filter matches at or under which a
// Search with opt.Keys set is answered by an exact scan of just those keys
// (see SearchOptions.ExactBelow); -1 when it never is. A caller that
// gathers the matches itself can stop counting past it.
func (ix *Index) ExactThreshold(opt *SearchOptions) int {
	if opt == nil {
		opt = &SearchOptions{}
	}
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.exactThreshold(opt)
}

// exactThreshold returns the number of filter matches under which a query
// is answered exactly (see SearchOptions.ExactBelow).
func (ix *Index) exactThreshold(opt *SearchOptions) int {
	switch {
	case opt.ExactBelow < 0:
		return -1
	case opt.ExactBelow == 0:
		return max(2000, ix.live/20)
	}
	return opt.ExactBelow
}

// exactKeys returns the k nearest of keys (each counted once) by
// (distance, key).
func (ix *Index) exactKeys(q *qvec, k int, keys []string) []Result {
	// First the slots (a visit set dedupes them without a map), then the
	// distances, with the vectors a few keys ahead prefetched so their
	// cache misses overlap. The order of the offers is unchanged.
	vis := ix.getVisit()
	defer ix.visited.Put(vis)
	ids, ks := vis.nbs[:0], vis.keys[:0]
	for _, key := range keys {
		if id, ok := ix.keys[key]; ok && vis.visit(id) {
			ids, ks = append(ids, id), append(ks, key)
		}
	}
	const ahead = 8
	for _, id := range ids[:min(ahead, len(ids))] {
		ix.prefetch(id)
	}
	h := resultHeap{}
	for i, id := range ids {
		if i+ahead < len(ids) {
			ix.prefetch(ids[i+ahead])
		}
		h.offer(Result{ks[i], ix.distTo(q, id)}, k)
	}
	clear(ks) // no key kept alive by the pool
	vis.nbs, vis.keys = ids[:0], ks[:0]
	return h.sorted()
}

// exactKNN scans every live slot (that passes filter) and returns the k
// nearest by (distance, key).
func (ix *Index) exactKNN(q *qvec, k int, filter func(string) bool) []Result {
	h := resultHeap{}
	for id := uint32(0); id < ix.n; id++ {
		nd := ix.node(id)
		if nd.state != slotLive || (filter != nil && !filter(nd.key)) {
			continue
		}
		h.offer(Result{nd.key, ix.distTo(q, id)}, k)
	}
	return h.sorted()
}

// Range returns every key within radius of q (distance <= radius), sorted
// by (distance, key). FLAT indexes and selective filters are answered
// exactly. HNSW finds an entry with an EF beam search and then expands
// through every node within radius + |radius|*Epsilon.
func (ix *Index) Range(q []float32, radius float32, opt *SearchOptions) ([]Result, error) {
	opt = withKeyFilter(opt)
	if radius != radius || math.IsInf(float64(radius), 0) {
		return nil, ErrBadQuery
	}
	qv, err := ix.prepare(q)
	if err != nil {
		return nil, err
	}
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	if ix.live == 0 {
		return nil, nil
	}
	if ix.cfg.Algorithm == FLAT || ix.useExact(opt) {
		var out []Result
		for id := uint32(0); id < ix.n; id++ {
			nd := ix.node(id)
			if nd.state != slotLive || (opt.Filter != nil && !opt.Filter(nd.key)) {
				continue
			}
			if d := ix.distTo(qv, id); d <= radius {
				out = append(out, Result{nd.key, d})
			}
		}
		sortResultsFull(out)
		return out, nil
	}
	eps := opt.Epsilon
	if eps == 0 {
		eps = ix.cfg.Epsilon
	}
	bound := radius + float32(math.Abs(float64(radius))*eps)
	ef := opt.EF
	if ef == 0 {
		ef = ix.cfg.EFRuntime
	}
	ep := ix.descend(qv)
	vis := ix.getVisit()
	defer ix.visited.Put(vis)
	out := ix.searchRange(qv, ep, ef, radius, bound, ix.acceptor(opt.Filter), vis)
	sortResultsFull(out)
	return out, nil
}

// sortResultsFull sorts results by (distance, key).
func sortResultsFull(rs []Result) {
	slices.SortFunc(rs, func(a, b Result) int {
		if resultLess(a, b) {
			return -1
		}
		if resultLess(b, a) {
			return 1
		}
		return 0
	})
}

// resultHeap is a max-heap of results by (distance, key).
type resultHeap []Result

func (h *resultHeap) push(r Result) {
	*h = append(*h, r)
	s := *h
	i := len(s) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !resultLess(s[p], s[i]) {
			break
		}
		s[i], s[p] = s[p], s[i]
		i = p
	}
}

func (h resultHeap) down(i int) {
	n := len(h)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && resultLess(h[l], h[r]) {
			m = r
		}
		if !resultLess(h[i], h[m]) {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}

func (h *resultHeap) pop() Result {
	s := *h
	top := s[0]
	s[0] = s[len(s)-1]
	*h = s[:len(s)-1]
	h.down(0)
	return top
}

// offer keeps r if it is among the k nearest so far (h is a max-heap of
// at most k results by (distance, key)).
func (h *resultHeap) offer(r Result, k int) {
	if len(*h) < k {
		h.push(r)
	} else if resultLess(r, (*h)[0]) {
		(*h)[0] = r
		h.down(0)
	}
}

// sorted empties h into a slice ordered nearest first.
func (h *resultHeap) sorted() []Result {
	out := make([]Result, len(*h))
	for i := len(out) - 1; i >= 0; i-- {
		out[i] = h.pop()
	}
	return out
}
