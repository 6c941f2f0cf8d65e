package keyspace

import "github.com/tidwall/btree"

// ref is what the key B-tree stores: the item's order inline, so a lookup
// compares numbers held in the node's own array and dereferences an item
// only on an order tie (two keys with the same slot and 50-bit hash).
type ref struct {
	ord uint64
	it  *Item
}

func lessRef(a, b ref) bool {
	if a.ord != b.ord {
		return a.ord < b.ord
	}
	return a.it.Key < b.it.Key
}

// keyTree is the copy-on-write B-tree of items, with an API in items,
// plus a hash index for point lookups: GET and the writers' lookups cost
// one map probe instead of a walk down the tree. The index is not part of
// snapshots (Copy leaves it out); they only iterate.
type keyTree struct {
	t *btree.BTreeG[ref]
	m *index
}

func newKeyTree() keyTree {
	return keyTree{btree.NewBTreeGOptions(lessRef, btree.Options{NoLocks: true}), &index{}}
}

// lookup finds the item stored under key (nil if none).
func (k keyTree) lookup(key []byte) *Item { return k.m.get(key) }

func (k keyTree) Set(it *Item) (*Item, bool) {
	r, ok := k.t.Set(ref{it.order(), it})
	k.m.set(it)
	return r.it, ok
}

// Load adds it at the right edge when input arrives in order (bulk load).
func (k keyTree) Load(it *Item) (*Item, bool) {
	r, ok := k.t.Load(ref{it.order(), it})
	k.m.set(it)
	return r.it, ok
}

func (k keyTree) Delete(it *Item) (*Item, bool) {
	r, ok := k.t.Delete(ref{it.order(), it})
	if ok {
		k.m.del(it.Key)
	}
	return r.it, ok
}

func (k keyTree) Len() int { return k.t.Len() }

func (k keyTree) GetAt(i int) (*Item, bool) {
	r, ok := k.t.GetAt(i)
	return r.it, ok
}

// Ascend visits items from position pivot (an Ord value) on, in order.
func (k keyTree) Ascend(pivot uint64, fn func(ord uint64, it *Item) bool) {
	k.t.Ascend(ref{pivot, &Item{}}, func(r ref) bool { return fn(r.ord, r.it) })
}

func (k keyTree) Scan(fn func(*Item) bool) {
	k.t.Scan(func(r ref) bool { return fn(r.it) })
}

// Copy returns an O(1) copy-on-write copy of the tree, for iteration
// only (no hash index).
func (k keyTree) Copy() keyTree { return keyTree{t: k.t.Copy()} }
