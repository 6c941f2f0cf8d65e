package vector

import "slices"

// maxLinks returns the out-degree bound of level l: 2*M on level 0, M above.
func (ix *Index) maxLinks(l int) int {
	if l == 0 {
		return 2 * ix.cfg.M
	}
	return ix.cfg.M
}

// getVisit takes a visit set sized for the current slots from the pool.
func (ix *Index) getVisit() *visitSet {
	v, _ := ix.visited.Get().(*visitSet)
	if v == nil {
		v = &visitSet{}
	}
	v.reset(ix.n)
	return v
}

// greedy walks level l from ep towards q, one closest neighbour at a time,
// until no neighbour is closer. Ties go to the lower id.
func (ix *Index) greedy(q []float32, ep cand, l int) cand {
	for {
		changed := false
		for _, nb := range ix.node(ep.id).links[l] {
			c := cand{ix.dist(q, ix.node(nb).vec), nb}
			if c.less(ep) {
				ep, changed = c, true
			}
		}
		if !changed {
			return ep
		}
	}
}

// searchLayer is the HNSW beam search on level l from the entry points
// eps. Every node is traversed, but only nodes for which accept returns
// true (accept nil: any live node) enter the result list of size ef. It
// returns the results sorted by (distance, id) and the closest node seen,
// accepted or not (the entry point for the next level down).
func (ix *Index) searchLayer(q []float32, eps []cand, ef, l int, accept func(uint32, *node) bool, vis *visitSet) ([]cand, cand) {
	cands := candHeap{c: vis.cands[:0]}
	res := candHeap{c: vis.res[:0], max: true}
	defer func() { vis.cands, vis.res = cands.c[:0], res.c[:0] }()
	best := eps[0]
	ok := func(id uint32, nd *node) bool {
		if nd.state != slotLive {
			return false
		}
		return accept == nil || accept(id, nd)
	}
	for _, e := range eps {
		vis.visit(e.id)
		cands.push(e)
		if e.less(best) {
			best = e
		}
		if nd := ix.node(e.id); ok(e.id, nd) {
			res.push(e)
		}
	}
	for res.len() > ef {
		res.pop()
	}
	for cands.len() > 0 {
		c := cands.pop()
		if res.len() >= ef && res.top().d < c.d {
			break
		}
		for _, nb := range ix.node(c.id).links[l] {
			if !vis.visit(nb) {
				continue
			}
			nd := ix.node(nb)
			x := cand{ix.dist(q, nd.vec), nb}
			if res.len() < ef || x.d < res.top().d {
				cands.push(x)
				if x.less(best) {
					best = x
				}
				if ok(nb, nd) {
					res.push(x)
					if res.len() > ef {
						res.pop()
					}
				}
			}
		}
	}
	// Pop the max-heap into ascending order.
	out := make([]cand, res.len())
	for i := len(out) - 1; i >= 0; i-- {
		out[i] = res.pop()
	}
	return out, best
}

// selectNeighbors is the HNSW neighbour-selection heuristic (Malkov and
// Yashunin, algorithm 4): walking cs in (distance, id) order, a candidate
// is kept when it is closer to the base than to every candidate already
// kept, up to m. cs must be sorted.
func (ix *Index) selectNeighbors(cs []cand, m int) []uint32 {
	out := make([]uint32, 0, m)
	for _, c := range cs {
		if len(out) >= m {
			break
		}
		v := ix.node(c.id).vec
		good := true
		for _, s := range out {
			if ix.dist(v, ix.node(s).vec) < c.d {
				good = false
				break
			}
		}
		if good {
			out = append(out, c.id)
		}
	}
	return out
}

// sortCands sorts cs by (distance, id).
func sortCands(cs []cand) {
	slices.SortFunc(cs, func(a, b cand) int {
		if a.less(b) {
			return -1
		}
		if b.less(a) {
			return 1
		}
		return 0
	})
}

// insert links the new live node id into the graph.
func (ix *Index) insert(id uint32) {
	nd := ix.mut(id)
	level := int(nd.level)
	nd.links = make([][]uint32, level+1)
	q := nd.vec
	if !ix.hasEntry {
		ix.entry, ix.hasEntry, ix.maxLevel = id, true, level
		return
	}
	ep := cand{ix.dist(q, ix.node(ix.entry).vec), ix.entry}
	for l := ix.maxLevel; l > level; l-- {
		ep = ix.greedy(q, ep, l)
	}
	vis := ix.getVisit()
	defer ix.visited.Put(vis)
	notSelf := func(x uint32, _ *node) bool { return x != id }
	for l := min(level, ix.maxLevel); l >= 0; l-- {
		vis.reset(ix.n)
		res, best := ix.searchLayer(q, []cand{ep}, ix.cfg.EFConstruction, l, notSelf, vis)
		sel := ix.selectNeighbors(res, ix.cfg.M)
		ix.mut(id).links[l] = sel
		for _, s := range sel {
			ix.connect(s, id, l)
		}
		ep = best
	}
	if level > ix.maxLevel {
		ix.entry, ix.maxLevel = id, level
	}
}

// connect adds the link s -> id on level l, pruning s's list with the
// heuristic when it overflows.
func (ix *Index) connect(s, id uint32, l int) {
	sn := ix.mut(s)
	ls := sn.links[l]
	mmax := ix.maxLinks(l)
	if len(ls) < mmax {
		sn.links[l] = append(ls, id)
		return
	}
	cs := make([]cand, 0, len(ls)+1)
	for _, x := range append(ls[:len(ls):len(ls)], id) {
		cs = append(cs, cand{ix.dist(sn.vec, ix.node(x).vec), x})
	}
	sortCands(cs)
	sel := ix.selectNeighbors(cs, mmax)
	sn.links[l] = append(ls[:0], sel...)
}

// vacuum repairs every live node's lists that point at tombstones, then
// frees the tombstones. Slots are visited in id order, so every replica
// makes the same repairs.
func (ix *Index) vacuum() {
	if ix.tombs == 0 {
		return
	}
	for id := uint32(0); id < ix.n; id++ {
		nd := ix.node(id)
		if nd.state != slotLive {
			continue
		}
		for l := range nd.links {
			if slices.ContainsFunc(ix.node(id).links[l], func(x uint32) bool { return ix.node(x).state != slotLive }) {
				ix.repair(id, l)
			}
		}
	}
	// Free the tombstones; the free list is rebuilt in descending id order
	// so that alloc hands out the lowest free slot first.
	for id := uint32(0); id < ix.n; id++ {
		if ix.node(id).state == slotTomb {
			*ix.mut(id) = node{}
		}
	}
	ix.tombs = 0
	if ix.freeShr {
		ix.freeShr = false
	}
	ix.free = nil
	for id := ix.n; id > 0; id-- {
		if ix.node(id-1).state == slotEmpty {
			ix.free = append(ix.free, id-1)
		}
	}
	// A new entry point when the old one was deleted: the live node of the
	// highest level, lowest id.
	if ix.hasEntry && ix.node(ix.entry).state != slotLive {
		ix.hasEntry, ix.maxLevel = false, 0
		for id := uint32(0); id < ix.n; id++ {
			nd := ix.node(id)
			if nd.state == slotLive && (!ix.hasEntry || int(nd.level) > ix.maxLevel) {
				ix.entry, ix.hasEntry, ix.maxLevel = id, true, int(nd.level)
			}
		}
	}
}

// repair rebuilds u's level-l list without tombstones: the candidates are
// u's live neighbours and the live neighbours of its deleted neighbours
// (and of theirs, one more hop, so chains of deleted nodes do not cut u
// off); more than the bound are pruned with the heuristic.
func (ix *Index) repair(u uint32, l int) {
	un := ix.node(u)
	seen := map[uint32]bool{u: true}
	var cs []cand
	add := func(x uint32) {
		if seen[x] {
			return
		}
		seen[x] = true
		cs = append(cs, cand{ix.dist(un.vec, ix.node(x).vec), x})
	}
	var expand func(t uint32, depth int)
	expand = func(t uint32, depth int) {
		tn := ix.node(t)
		if int(tn.level) < l {
			return
		}
		for _, x := range tn.links[l] {
			switch ix.node(x).state {
			case slotLive:
				add(x)
			case slotTomb:
				if depth > 0 && !seen[x] {
					seen[x] = true
					expand(x, depth-1)
				}
			}
		}
	}
	for _, x := range un.links[l] {
		if ix.node(x).state == slotLive {
			add(x)
		}
	}
	for _, x := range un.links[l] {
		if ix.node(x).state == slotTomb && !seen[x] {
			seen[x] = true
			expand(x, 1)
		}
	}
	sortCands(cs)
	mmax := ix.maxLinks(l)
	var sel []uint32
	if len(cs) <= mmax {
		sel = make([]uint32, len(cs))
		for i, c := range cs {
			sel[i] = c.id
		}
	} else {
		sel = ix.selectNeighbors(cs, mmax)
	}
	w := ix.mut(u)
	w.links[l] = append(w.links[l][:0], sel...)
}

// searchRange is the level-0 range search: a beam search whose frontier is
// pruned at max(bound, the ef-th best distance seen), so it explores at
// least what a KNN search of ef would and keeps going through every node
// within bound. It returns the accepted live nodes within radius.
func (ix *Index) searchRange(q []float32, ep cand, ef int, radius, bound float32, accept func(uint32, *node) bool, vis *visitSet) []Result {
	cands := candHeap{}
	top := candHeap{max: true} // the ef best seen, any state
	var out []Result
	consider := func(c cand) {
		nd := ix.node(c.id)
		if c.d <= radius && nd.state == slotLive && (accept == nil || accept(c.id, nd)) {
			out = append(out, Result{nd.key, c.d})
		}
		cands.push(c)
		top.push(c)
		if top.len() > ef {
			top.pop()
		}
	}
	vis.visit(ep.id)
	consider(ep)
	for cands.len() > 0 {
		c := cands.pop()
		if top.len() >= ef && c.d > bound && top.top().less(c) {
			break
		}
		for _, nb := range ix.node(c.id).links[0] {
			if !vis.visit(nb) {
				continue
			}
			x := cand{ix.dist(q, ix.node(nb).vec), nb}
			if x.d <= bound || top.len() < ef || x.less(top.top()) {
				consider(x)
			}
		}
	}
	return out
}
