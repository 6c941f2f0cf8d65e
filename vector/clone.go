package vector

import (
	"maps"
	"sync/atomic"
)

// genCounter hands out store generations. Generations are unique across
// every index of the process, so a page stamped with an index's current
// generation can only have been created by that index since its last
// Snapshot or Clone: two indexes that share pages after a Clone never
// mistake each other's pages for their own.
var genCounter atomic.Uint64

func nextGen() uint64 { return genCounter.Add(1) }

// Clone returns an independent copy of the index in O(pages + keys): the
// copy shares every page with ix, and each side copies a page the first
// time it writes to it (the same copy-on-write as Snapshot). The keyspace
// clones a vector set this way before changing one that a keyspace
// snapshot still references.
func (ix *Index) Clone() *Index {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.gen = nextGen()
	ix.dirShared, ix.freeShr = true, true
	return &Index{
		cfg: ix.cfg, dist: ix.dist,
		pages: ix.pages, n: ix.n, gen: nextGen(), dirShared: true,
		free: ix.free, freeShr: true,
		keys: maps.Clone(ix.keys),
		live: ix.live, tombs: ix.tombs, doomed: ix.doomed,
		sweeping: ix.sweeping, cursor: ix.cursor,
		entry: ix.entry, hasEntry: ix.hasEntry, maxLevel: ix.maxLevel,
	}
}

// MaxLevel returns the graph's top level (0 for FLAT or an empty index).
func (ix *Index) MaxLevel() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.maxLevel
}

// AppendTo appends the index in the snapshot codec (see Snapshot.WriteTo)
// to dst. It freezes the index first (O(1)), so the encoding itself runs
// without holding the index lock.
func (ix *Index) AppendTo(dst []byte) []byte {
	w := appendWriter{dst}
	ix.Snapshot().WriteTo(&w)
	return w.b
}

type appendWriter struct{ b []byte }

func (w *appendWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

// Links returns key's HNSW neighbour lists from its top level down to
// level 0, each neighbour with its distance to key; deleted nodes that
// still route searches are left out. False when key is not in the index.
func (ix *Index) Links(key string) ([][]Result, bool) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	id, ok := ix.keys[key]
	if !ok {
		return nil, false
	}
	nd := ix.node(id)
	out := make([][]Result, 0, int(nd.level)+1)
	if ix.cfg.Algorithm != HNSW {
		return append(out, nil), true
	}
	for l := int(nd.level); l >= 0; l-- {
		var ls []Result
		for _, x := range ix.list(id, l) {
			if xn := ix.node(x); xn.state == slotLive {
				ls = append(ls, Result{xn.key, ix.distIDs(id, x)})
			}
		}
		out = append(out, ls)
	}
	return out, true
}

// DistanceTo returns the distance between key's stored vector and q,
// computed exactly as a search of the index computes it (q is prepared as
// a query: normalised for Cosine, quantized for Q8 and BIN).
func (ix *Index) DistanceTo(key string, q []float32) (float32, bool) {
	qv, err := ix.prepare(q)
	if err != nil {
		return 0, false
	}
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	id, ok := ix.keys[key]
	if !ok {
		return 0, false
	}
	return ix.distTo(qv, id), true
}
