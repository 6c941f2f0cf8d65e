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

// candHeap is a binary heap of candidates; max selects a max-heap.
type candHeap struct {
	c   []cand
	max bool
}

// before orders by distance only: ties keep whatever order the (fully
// deterministic) sequence of pushes and pops gives them, which is the same
// on every replica, and comparing ids as well costs ~10% of a search.
func (h *candHeap) before(i, j int) bool {
	if h.max {
		return h.c[j].d < h.c[i].d
	}
	return h.c[i].d < h.c[j].d
}

func (h *candHeap) len() int { return len(h.c) }

func (h *candHeap) top() cand { return h.c[0] }

func (h *candHeap) push(x cand) {
	h.c = append(h.c, x)
	i := len(h.c) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !h.before(i, p) {
			break
		}
		h.c[i], h.c[p] = h.c[p], h.c[i]
		i = p
	}
}

func (h *candHeap) pop() cand {
	top := h.c[0]
	last := len(h.c) - 1
	h.c[0] = h.c[last]
	h.c = h.c[:last]
	i := 0
	for {
		l := 2*i + 1
		if l >= last {
			break
		}
		m := l
		if r := l + 1; r < last && h.before(r, l) {
			m = r
		}
		if !h.before(m, i) {
			break
		}
		h.c[i], h.c[m] = h.c[m], h.c[i]
		i = m
	}
	return top
}

// visitSet marks visited slots with a generation counter so that it is
// reset in O(1); searches take one from a sync.Pool.
// It also carries the search's reusable heap buffers.
type visitSet struct {
	marks []uint32
	cur   uint32
	cands []cand
	res   []cand
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

// visit marks id and reports whether it was unmarked.
func (v *visitSet) visit(id uint32) bool {
	if v.marks[id] == v.cur {
		return false
	}
	v.marks[id] = v.cur
	return true
}
