package vector

// cand is a node and its distance to the query.
type cand struct {
	d  float32
	id uint32
}

// less orders candidates by (distance, id): a total, deterministic order.
func (a cand) less(b cand) bool {
	return a.d < b.d || (a.d == b.d && a.id < b.id)
}

// candHeap is a binary min-heap of candidates by distance, and maxHeap a
// max-heap. They order by distance only: ties keep whatever order the
// (fully deterministic) sequence of pushes and pops gives them, which is
// the same on every replica, and comparing ids as well costs ~10% of a
// search.
type candHeap struct{ c []cand }

func (h *candHeap) len() int { return len(h.c) }

func (h *candHeap) top() cand { return h.c[0] }

func (h *candHeap) push(x cand) {
	h.c = append(h.c, x)
	c := h.c
	i := len(c) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !(c[i].d < c[p].d) {
			break
		}
		c[i], c[p] = c[p], c[i]
		i = p
	}
}

func (h *candHeap) pop() cand {
	c := h.c
	top := c[0]
	last := len(c) - 1
	c[0] = c[last]
	c = c[:last]
	h.c = c
	i := 0
	for {
		l := 2*i + 1
		if l >= last {
			break
		}
		m := l
		if r := l + 1; r < last && c[r].d < c[l].d {
			m = r
		}
		if !(c[m].d < c[i].d) {
			break
		}
		c[i], c[m] = c[m], c[i]
		i = m
	}
	return top
}

// maxHeap is a binary max-heap of candidates by distance: a candHeap of
// the negated distances. Negating a float32 only flips its sign bit, so
// every comparison (and so every tie's fate) is exactly that of a max-heap
// on the distances themselves.
type maxHeap struct{ candHeap }

func neg(x cand) cand { x.d = -x.d; return x }

func (h *maxHeap) top() cand { return neg(h.candHeap.top()) }

func (h *maxHeap) push(x cand) { h.candHeap.push(neg(x)) }

func (h *maxHeap) pop() cand { return neg(h.candHeap.pop()) }

// visitSet marks visited slots with a generation counter so that it is
// reset in O(1); searches take one from a sync.Pool.
// It also carries the search's reusable heap buffers.
type visitSet struct {
	marks []uint32
	cur   uint32
	cands []cand
	res   []cand
	nbs   []uint32
	nds   []*node
	keys  []string // exactKeys' keys, cleared after use
}

// reset prepares v for a search over n slots.
func (v *visitSet) reset(n uint32) {
	if uint32(len(v.marks)) < n {
		v.marks = make([]uint32, n+n/4+64)
		v.cur = 0
	}
	v.cur++
	if v.cur == 0 {
		clear(v.marks)
		v.cur = 1
	}
}

// seen reports whether id is marked.
func (v *visitSet) seen(id uint32) bool { return v.marks[id] == v.cur }

// visit marks id and reports whether it was unmarked.
func (v *visitSet) visit(id uint32) bool {
	if v.marks[id] == v.cur {
		return false
	}
	v.marks[id] = v.cur
	return true
}
