package vector

import (
	"math"
	"slices"
	"unsafe"
)

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
func (ix *Index) greedy(q *qvec, ep cand, l int) cand {
	for {
		changed := false
		nbs := ix.list(ep.id, l)
		for _, nb := range nbs {
			ix.prefetch(nb)
		}
		for _, nb := range nbs {
			c := cand{ix.distTo(q, nb), nb}
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
// returns the results sorted by distance (equal distances in the heap's
// deterministic order) and the closest node seen,
// accepted or not (the entry point for the next level down).
func (ix *Index) searchLayer(q *qvec, eps []cand, ef, l int, accept func(uint32, *node) bool, vis *visitSet) ([]cand, cand) {
	cands := candHeap{c: vis.cands[:0]}
	res := maxHeap{candHeap{c: vis.res[:0]}}
	defer func() { vis.cands, vis.res = cands.c[:0], res.c[:0] }()
	best := eps[0]
	// With no filter and every slot in use live (no tombstone, no freed
	// slot: the counts say so), every node is accepted and its slot need
	// not be read at all — one cache miss less per neighbour.
	allLive := accept == nil && ix.live == int(ix.n)
	ok := func(id uint32, nd *node) bool {
		if allLive {
			return true
		}
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
		if l == 0 && cands.len() > 0 {
			// The next candidate is most often the next expanded: start
			// loading its neighbour list while this one's are computed.
			ix.prefetchList0(cands.top().id)
		}
		// Two passes over the neighbours: first the unvisited ones' slots,
		// with a prefetch of each one's vector (independent loads, so
		// their cache misses overlap), then the distances. The order of
		// processing is unchanged.
		nbs := vis.nbs[:0]
		nds := vis.nds[:0]
		for _, nb := range ix.list(c.id, l) {
			if vis.visit(nb) {
				ix.prefetch(nb)
				nd := ix.node(nb)
				if !allLive {
					prefetchLines(unsafe.Pointer(nd), 1)
				}
				nbs = append(nbs, nb)
				nds = append(nds, nd)
			}
		}
		vis.nbs, vis.nds = nbs, nds
		for i, nb := range nbs {
			nd := nds[i]
			x := cand{ix.distTo(q, nb), nb}
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
		v := ix.stored(c.id)
		good := true
		for _, s := range out {
			if ix.distTo(&v, s) < c.d {
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

// insert links the new live node id into the graph, searching each level
// with a candidate list of ef.
func (ix *Index) insert(id uint32, ef int) {
	nd := ix.mut(id)
	level := int(nd.level)
	nd.up = nil
	if level > 0 {
		nd.up = make([][]uint32, level)
	}
	ix.setList(id, 0, nil)
	qs := ix.stored(id)
	q := &qs
	if !ix.hasEntry {
		ix.entry, ix.hasEntry, ix.maxLevel = id, true, level
		return
	}
	ep := cand{ix.distTo(q, ix.entry), ix.entry}
	for l := ix.maxLevel; l > level; l-- {
		ep = ix.greedy(q, ep, l)
	}
	vis := ix.getVisit()
	defer ix.visited.Put(vis)
	notSelf := func(x uint32, _ *node) bool { return x != id }
	for l := min(level, ix.maxLevel); l >= 0; l-- {
		vis.reset(ix.n)
		res, best := ix.searchLayer(q, []cand{ep}, ef, l, notSelf, vis)
		sel := ix.selectNeighbors(res, ix.cfg.M)
		ix.mut(id)
		ix.setList(id, l, sel)
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
	ix.mut(s)
	ls := ix.list(s, l)
	sv := ix.stored(s)
	mmax := ix.maxLinks(l)
	if len(ls) < mmax {
		ix.appendList(s, l, id)
		return
	}
	cs := make([]cand, 0, len(ls)+1)
	for _, x := range append(ls[:len(ls):len(ls)], id) {
		cs = append(cs, cand{ix.distTo(&sv, x), x})
	}
	sortCands(cs)
	ix.setList(s, l, ix.selectNeighbors(cs, mmax))
}

// Deleted nodes are cleaned up by an incremental, deterministic sweep.
// A delete turns a node into a tombstone (slotTomb): it still routes
// searches but is never returned. When tombstones pass the threshold,
// startSweep marks all of them doomed (slotDoomed); then every mutation
// advances a cursor over the slots by a bounded amount of work, repairing
// the live nodes whose lists point at doomed nodes. When the cursor
// reaches the end, finishSweep strips any remaining link to a doomed node
// and frees the doomed slots. Insertions never link to a non-live node,
// so a node behind the cursor stays clean. The sweep's state (cursor,
// node states) is part of the snapshot and the digest, and its progress
// depends only on the sequence of mutations: replicas sweep identically.

// Sweep budget per mutation: at most sweepRepairs neighbour-list repairs
// and sweepScan slots looked at.
const (
	sweepRepairs = 8
	sweepScan    = 1024
)

// startSweep dooms every tombstone and starts the cursor at slot 0.
func (ix *Index) startSweep() {
	for id := uint32(0); id < ix.n; id++ {
		if ix.node(id).state == slotTomb {
			ix.mut(id).state = slotDoomed
		}
	}
	ix.doomed += ix.tombs
	ix.tombs = 0
	ix.sweeping, ix.cursor = true, 0
}

// sweepStep advances the sweep by at most repairs repairs and scan slots,
// finishing it when the cursor reaches the end.
func (ix *Index) sweepStep(repairs, scan int) {
	for ix.cursor < ix.n && repairs > 0 && scan > 0 {
		id := ix.cursor
		ix.cursor++
		scan--
		nd := ix.node(id)
		if nd.state != slotLive {
			continue
		}
		for l := 0; l <= int(nd.level); l++ {
			if slices.ContainsFunc(ix.list(id, l), ix.isDoomed) {
				ix.repair(id, l)
				repairs--
			}
		}
	}
	if ix.cursor >= ix.n {
		ix.finishSweep()
	}
}

// isDoomed reports whether slot x is doomed by the running sweep.
func (ix *Index) isDoomed(x uint32) bool { return ix.node(x).state == slotDoomed }

// finishSweep removes every remaining link to a doomed node (tombstones
// deleted during the sweep may hold some), frees the doomed slots, and
// moves the entry point off a freed node.
func (ix *Index) finishSweep() {
	for id := uint32(0); id < ix.n; id++ {
		nd := ix.node(id)
		if nd.state != slotLive && nd.state != slotTomb {
			continue
		}
		for l := 0; l <= int(nd.level); l++ {
			if ls := ix.list(id, l); slices.ContainsFunc(ls, ix.isDoomed) {
				ls = slices.DeleteFunc(slices.Clone(ls), ix.isDoomed)
				ix.mut(id)
				ix.setList(id, l, ls)
			}
		}
	}
	// Freed in descending id order, so alloc hands out the lowest first.
	for id := ix.n; id > 0; id-- {
		if ix.node(id-1).state == slotDoomed {
			*ix.mut(id - 1) = node{}
			ix.pushFree(id - 1)
		}
	}
	ix.doomed, ix.sweeping, ix.cursor = 0, false, 0
	// A new entry point when the old one was freed: the remaining node of
	// the highest level, lowest id.
	if ix.hasEntry && ix.node(ix.entry).state == slotEmpty {
		// With no node left the entry is 0, as in a new index (a stale id
		// would not survive a snapshot round trip).
		ix.entry, ix.hasEntry, ix.maxLevel = 0, false, 0
		for id := uint32(0); id < ix.n; id++ {
			nd := ix.node(id)
			if nd.state != slotEmpty && (!ix.hasEntry || int(nd.level) > ix.maxLevel) {
				ix.entry, ix.hasEntry, ix.maxLevel = id, true, int(nd.level)
			}
		}
	}
}

// vacuum runs sweeps to completion until no tombstone is left.
func (ix *Index) vacuum() {
	for ix.sweeping || ix.tombs > 0 {
		if !ix.sweeping {
			ix.startSweep()
		}
		ix.sweepStep(math.MaxInt, math.MaxInt)
	}
}

// repair replaces the doomed nodes in u's level-l list: u keeps its other
// neighbours and fills the vacated places with the nearest live nodes
// reachable through the doomed ones (one more hop through non-live nodes,
// so chains of deleted nodes do not cut u off). Filling by distance, not
// by the full heuristic, keeps a repair to ~M distance computations.
func (ix *Index) repair(u uint32, l int) {
	uv := ix.stored(u)
	var keep, gone []uint32
	cur := ix.list(u, l)
	for _, x := range cur {
		if ix.isDoomed(x) {
			gone = append(gone, x)
		} else {
			keep = append(keep, x)
		}
	}
	var cs []cand
	seen := append([]uint32{u}, cur...)
	var expand func(t uint32, depth int)
	expand = func(t uint32, depth int) {
		if int(ix.node(t).level) < l {
			return
		}
		for _, x := range ix.list(t, l) {
			if slices.Contains(seen, x) {
				continue
			}
			seen = append(seen, x)
			switch xn := ix.node(x); xn.state {
			case slotLive:
				cs = append(cs, cand{ix.distTo(&uv, x), x})
			case slotTomb, slotDoomed:
				if depth > 0 {
					expand(x, depth-1)
				}
			}
		}
	}
	for _, t := range gone {
		expand(t, 1)
	}
	sortCands(cs)
	room := min(ix.maxLinks(l)-len(keep), len(gone))
	for i := 0; i < len(cs) && i < room; i++ {
		keep = append(keep, cs[i].id)
	}
	ix.mut(u)
	ix.setList(u, l, keep)
}

// searchRange is the level-0 range search: a beam search whose frontier is
// pruned at max(bound, the ef-th best distance seen), so it explores at
// least what a KNN search of ef would and keeps going through every node
// within bound. It returns the accepted live nodes within radius.
func (ix *Index) searchRange(q *qvec, ep cand, ef int, radius, bound float32, accept func(uint32, *node) bool, vis *visitSet) []Result {
	cands := candHeap{}
	top := maxHeap{} // the ef best seen, any state
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
		for _, nb := range ix.list(c.id, 0) {
			if !vis.visit(nb) {
				continue
			}
			x := cand{ix.distTo(q, nb), nb}
			if x.d <= bound || top.len() < ef || x.less(top.top()) {
				consider(x)
			}
		}
	}
	return out
}

// prefetchList0 hints the CPU to start loading slot id's level-0
// neighbour list. A hint only.
func (ix *Index) prefetchList0(id uint32) {
	p := ix.pages[id>>pageBits]
	off := int(id&pageMask) * ix.l0Stride()
	prefetchLines(unsafe.Pointer(&p.l0[off]), (4*ix.l0Stride()+127)/64)
}
