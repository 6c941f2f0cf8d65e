package keyspace

import "sync/atomic"

// ztree is the ordered index of a large sorted set: a copy-on-write,
// order-statistic B+tree of entries sorted by (score, member). Leaves hold
// the entries; inner nodes hold, for each child, its subtree size and a
// separator (a lower bound of the child's entries), so rank, select by
// rank, range seeks, insert and delete are all O(log n), and Copy is O(1):
// a copy and the original share nodes until one of them changes a node, at
// which point that tree clones the node (and the path to it) for itself.
//
// Separators are lower bounds, not necessarily entries still in the tree:
// child i+1 holds entries >= seps[i] and child i entries < seps[i].
// Deleting an entry never invalidates a separator, so deletes only touch
// separators when nodes are merged or rebalanced.
type ztree struct {
	root *ztNode
	cow  uint64 // nodes with this id belong to this tree alone
	n    int
}

type ztNode struct {
	cow    uint64
	items  []ZEntry  // leaf: entries; inner: separators, len(kids)-1
	kids   []*ztNode // nil for a leaf
	counts []int     // inner: entries in each kid's subtree
}

const (
	ztMaxLeaf = 64
	ztMinLeaf = ztMaxLeaf / 2
	ztMaxKids = 64
	ztMinKids = ztMaxKids / 2
)

var ztCowSeq atomic.Uint64

func newZtree() ztree { return ztree{cow: ztCowSeq.Add(1)} }

func (n *ztNode) leaf() bool { return n.kids == nil }

// size is the number of entries under n.
func (n *ztNode) size() int {
	if n.leaf() {
		return len(n.items)
	}
	s := 0
	for _, c := range n.counts {
		s += c
	}
	return s
}

// copy returns an O(1) copy-on-write copy of t. Both t and the copy may be
// changed afterwards; neither sees the other's changes.
func (t *ztree) copy() ztree {
	t.cow = ztCowSeq.Add(1)
	return ztree{root: t.root, cow: ztCowSeq.Add(1), n: t.n}
}

// mut returns a version of *p that t may change, cloning it if another
// tree may share it.
func (t *ztree) mut(p **ztNode) *ztNode {
	n := *p
	if n.cow == t.cow {
		return n
	}
	c := &ztNode{cow: t.cow}
	if n.leaf() {
		c.items = make([]ZEntry, len(n.items), max(len(n.items)+1, cap(n.items)))
		copy(c.items, n.items)
	} else {
		c.items = append(make([]ZEntry, 0, ztMaxKids), n.items...)
		c.kids = append(make([]*ztNode, 0, ztMaxKids+1), n.kids...)
		c.counts = append(make([]int, 0, ztMaxKids+1), n.counts...)
	}
	*p = c
	return c
}

// childFor returns the index of the child of inner node n whose range
// holds e.
func (n *ztNode) childFor(e ZEntry) int {
	lo, hi := 0, len(n.items)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if zless(e, n.items[m]) {
			hi = m
		} else {
			lo = m + 1
		}
	}
	return lo
}

// lowerBound returns the index of the first entry of leaf n that is >= e.
func (n *ztNode) lowerBound(e ZEntry) int {
	lo, hi := 0, len(n.items)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if zless(n.items[m], e) {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// insert adds e, which must not be in the tree.
func (t *ztree) insert(e ZEntry) {
	if t.root == nil {
		t.root = &ztNode{cow: t.cow, items: make([]ZEntry, 0, 4)}
	}
	root := t.mut(&t.root)
	right, sep, ok := t.nodeInsert(root, e)
	if ok {
		t.root = &ztNode{
			cow:    t.cow,
			items:  append(make([]ZEntry, 0, ztMaxKids), sep),
			kids:   append(make([]*ztNode, 0, ztMaxKids+1), root, right),
			counts: append(make([]int, 0, ztMaxKids+1), root.size(), right.size()),
		}
	}
	t.n++
}

// nodeInsert inserts e under the mutable node n. If n overflows it is
// split: the new right sibling and its separator are returned.
func (t *ztree) nodeInsert(n *ztNode, e ZEntry) (*ztNode, ZEntry, bool) {
	if n.leaf() {
		i := n.lowerBound(e)
		if len(n.items) < ztMaxLeaf {
			n.items = insertAt(n.items, i, e)
			return nil, ZEntry{}, false
		}
		var right *ztNode
		if i == len(n.items) {
			// Appending past a full leaf (ascending inserts): keep it
			// full and start a new one, so such loads pack leaves.
			right = &ztNode{cow: t.cow, items: append(make([]ZEntry, 0, 8), e)}
		} else {
			m := len(n.items) / 2
			right = &ztNode{cow: t.cow, items: append(make([]ZEntry, 0, ztMaxLeaf), n.items[m:]...)}
			clear(n.items[m:])
			n.items = n.items[:m]
			if i <= m {
				n.items = insertAt(n.items, i, e)
			} else {
				right.items = insertAt(right.items, i-m, e)
			}
		}
		return right, right.items[0], true
	}
	j := n.childFor(e)
	kid := t.mut(&n.kids[j])
	n.counts[j]++
	right, sep, split := t.nodeInsert(kid, e)
	if !split {
		return nil, ZEntry{}, false
	}
	n.counts[j] = kid.size()
	n.items = insertAt(n.items, j, sep)
	n.kids = insertAt(n.kids, j+1, right)
	n.counts = insertAt(n.counts, j+1, right.size())
	if len(n.kids) <= ztMaxKids {
		return nil, ZEntry{}, false
	}
	// Split an inner node. When the overflow came from its last child
	// (ascending inserts), leave the left part full.
	m := len(n.kids) / 2
	if j+1 == len(n.kids)-1 {
		m = len(n.kids) - 1
	}
	r := &ztNode{
		cow:    t.cow,
		items:  append(make([]ZEntry, 0, ztMaxKids), n.items[m:]...),
		kids:   append(make([]*ztNode, 0, ztMaxKids+1), n.kids[m:]...),
		counts: append(make([]int, 0, ztMaxKids+1), n.counts[m:]...),
	}
	up := n.items[m-1]
	clear(n.items[m-1:])
	clear(n.kids[m:])
	n.items = n.items[:m-1]
	n.kids = n.kids[:m]
	n.counts = n.counts[:m]
	return r, up, true
}

func insertAt[T any](s []T, i int, v T) []T {
	var zero T
	s = append(s, zero)
	copy(s[i+1:], s[i:])
	s[i] = v
	return s
}

func removeAt[T any](s []T, i int) []T {
	copy(s[i:], s[i+1:])
	var zero T
	s[len(s)-1] = zero
	return s[:len(s)-1]
}

// delete removes e and tells whether it was there.
func (t *ztree) delete(e ZEntry) bool {
	if t.root == nil || !t.has(e) {
		return false
	}
	root := t.mut(&t.root)
	t.nodeDelete(root, e)
	t.n--
	switch {
	case root.leaf() && len(root.items) == 0:
		t.root = nil
	case !root.leaf() && len(root.kids) == 1:
		t.root = root.kids[0]
	}
	return true
}

// has tells whether e is in the tree.
func (t *ztree) has(e ZEntry) bool {
	n := t.root
	if n == nil {
		return false
	}
	for !n.leaf() {
		n = n.kids[n.childFor(e)]
	}
	i := n.lowerBound(e)
	return i < len(n.items) && n.items[i] == e
}

// nodeDelete removes e (known to be present) from under the mutable n.
func (t *ztree) nodeDelete(n *ztNode, e ZEntry) {
	if n.leaf() {
		n.items = removeAt(n.items, n.lowerBound(e))
		return
	}
	j := n.childFor(e)
	kid := t.mut(&n.kids[j])
	t.nodeDelete(kid, e)
	n.counts[j]--
	if kid.leaf() && len(kid.items) < ztMinLeaf || !kid.leaf() && len(kid.kids) < ztMinKids {
		t.rebalance(n, j)
	}
}

// rebalance fixes the underfull child j of the mutable inner node n by
// merging it with a sibling or sharing entries with it.
func (t *ztree) rebalance(n *ztNode, j int) {
	if len(n.kids) < 2 {
		return
	}
	if j == len(n.kids)-1 {
		j-- // work on the pair (j, j+1)
	}
	l := t.mut(&n.kids[j])
	r := t.mut(&n.kids[j+1])
	if l.leaf() {
		if len(l.items)+len(r.items) <= ztMaxLeaf {
			l.items = append(l.items, r.items...)
			n.counts[j] += n.counts[j+1]
			n.items = removeAt(n.items, j)
			n.kids = removeAt(n.kids, j+1)
			n.counts = removeAt(n.counts, j+1)
			return
		}
		all := append(append(make([]ZEntry, 0, len(l.items)+len(r.items)), l.items...), r.items...)
		m := len(all) / 2
		l.items = append(l.items[:0], all[:m]...)
		clear(r.items)
		r.items = append(r.items[:0], all[m:]...)
		n.items[j] = r.items[0]
		n.counts[j], n.counts[j+1] = len(l.items), len(r.items)
		return
	}
	if len(l.kids)+len(r.kids) <= ztMaxKids {
		l.items = append(append(l.items, n.items[j]), r.items...)
		l.kids = append(l.kids, r.kids...)
		l.counts = append(l.counts, r.counts...)
		n.counts[j] += n.counts[j+1]
		n.items = removeAt(n.items, j)
		n.kids = removeAt(n.kids, j+1)
		n.counts = removeAt(n.counts, j+1)
		return
	}
	seps := append(append(append(make([]ZEntry, 0, ztMaxKids*2), l.items...), n.items[j]), r.items...)
	kids := append(append(make([]*ztNode, 0, ztMaxKids*2), l.kids...), r.kids...)
	counts := append(append(make([]int, 0, ztMaxKids*2), l.counts...), r.counts...)
	m := len(kids) / 2
	clear(l.items)
	clear(l.kids)
	clear(r.items)
	clear(r.kids)
	l.items = append(l.items[:0], seps[:m-1]...)
	l.kids = append(l.kids[:0], kids[:m]...)
	l.counts = append(l.counts[:0], counts[:m]...)
	n.items[j] = seps[m-1]
	r.items = append(r.items[:0], seps[m:]...)
	r.kids = append(r.kids[:0], kids[m:]...)
	r.counts = append(r.counts[:0], counts[m:]...)
	n.counts[j], n.counts[j+1] = l.size(), r.size()
}

// rank returns the number of entries less than e.
func (t *ztree) rank(e ZEntry) int {
	n := t.root
	if n == nil {
		return 0
	}
	r := 0
	for !n.leaf() {
		j := n.childFor(e)
		for _, c := range n.counts[:j] {
			r += c
		}
		n = n.kids[j]
	}
	return r + n.lowerBound(e)
}

// search returns the index of the first entry for which pred is true,
// given that pred is false then true along the order (Len if none).
func (t *ztree) search(pred func(ZEntry) bool) int {
	n := t.root
	if n == nil {
		return 0
	}
	r := 0
	for !n.leaf() {
		lo, hi := 0, len(n.items)
		for lo < hi {
			m := int(uint(lo+hi) >> 1)
			if pred(n.items[m]) {
				hi = m
			} else {
				lo = m + 1
			}
		}
		for _, c := range n.counts[:lo] {
			r += c
		}
		n = n.kids[lo]
	}
	lo, hi := 0, len(n.items)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if pred(n.items[m]) {
			hi = m
		} else {
			lo = m + 1
		}
	}
	return r + lo
}

// at returns the entry of rank i (0 <= i < n).
func (t *ztree) at(i int) ZEntry {
	n := t.root
	for !n.leaf() {
		j := 0
		for i >= n.counts[j] {
			i -= n.counts[j]
			j++
		}
		n = n.kids[j]
	}
	return n.items[i]
}

// ascend calls fn for the entries of rank i, i+1, ... until fn returns
// false.
func (t *ztree) ascend(i int, fn func(ZEntry) bool) {
	if t.root != nil && i < t.n {
		t.root.ascend(max(i, 0), fn)
	}
}

func (n *ztNode) ascend(i int, fn func(ZEntry) bool) bool {
	if n.leaf() {
		for _, e := range n.items[i:] {
			if !fn(e) {
				return false
			}
		}
		return true
	}
	for j, c := range n.counts {
		if i >= c {
			i -= c
			continue
		}
		if !n.kids[j].ascend(i, fn) {
			return false
		}
		i = 0
	}
	return true
}

// descend calls fn for the entries of rank i, i-1, ... 0 until fn
// returns false.
func (t *ztree) descend(i int, fn func(ZEntry) bool) {
	if t.root != nil && i >= 0 {
		t.root.descend(min(i, t.n-1), fn)
	}
}

func (n *ztNode) descend(i int, fn func(ZEntry) bool) bool {
	if n.leaf() {
		for k := i; k >= 0; k-- {
			if !fn(n.items[k]) {
				return false
			}
		}
		return true
	}
	j := 0
	for i >= n.counts[j] {
		i -= n.counts[j]
		j++
	}
	for ; j >= 0; j-- {
		if !n.kids[j].descend(i, fn) {
			return false
		}
		if j > 0 {
			i = n.counts[j-1] - 1
		}
	}
	return true
}

// buildZtree builds a tree from entries already in order, with leaves and
// inner nodes filled to about 7/8 so both inserts and deletes find room.
func buildZtree(entries []ZEntry) ztree {
	t := newZtree()
	t.n = len(entries)
	if len(entries) == 0 {
		return t
	}
	const leafFill = ztMaxLeaf * 7 / 8
	var level []*ztNode
	var firsts []ZEntry
	nl := (len(entries) + leafFill - 1) / leafFill
	for k := 0; k < nl; k++ {
		lo, hi := k*len(entries)/nl, (k+1)*len(entries)/nl
		items := make([]ZEntry, hi-lo, ztMaxLeaf)
		copy(items, entries[lo:hi])
		level = append(level, &ztNode{cow: t.cow, items: items})
		firsts = append(firsts, entries[lo])
	}
	const kidFill = ztMaxKids * 7 / 8
	for len(level) > 1 {
		np := (len(level) + kidFill - 1) / kidFill
		var up []*ztNode
		var upFirsts []ZEntry
		for k := 0; k < np; k++ {
			lo, hi := k*len(level)/np, (k+1)*len(level)/np
			n := &ztNode{
				cow:    t.cow,
				items:  append(make([]ZEntry, 0, ztMaxKids), firsts[lo+1:hi]...),
				kids:   append(make([]*ztNode, 0, ztMaxKids+1), level[lo:hi]...),
				counts: make([]int, 0, ztMaxKids+1),
			}
			for _, c := range n.kids {
				n.counts = append(n.counts, c.size())
			}
			up = append(up, n)
			upFirsts = append(upFirsts, firsts[lo])
		}
		level, firsts = up, upFirsts
	}
	t.root = level[0]
	return t
}
