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

// keyTree is the copy-on-write B-tree of items, with an API in items.
type keyTree struct {
	t *btree.BTreeG[ref]
}

func newKeyTree() keyTree {
	return keyTree{btree.NewBTreeGOptions(lessRef, btree.Options{NoLocks: true})}
}

func (k keyTree) Get(probe *Item) (*Item, bool) {
	r, ok := k.t.Get(ref{probe.ord, probe})
	return r.it, ok
}

func (k keyTree) Set(it *Item) (*Item, bool) {
	r, ok := k.t.Set(ref{it.ord, it})
	return r.it, ok
}

// Load adds it at the right edge when input arrives in order (bulk load).
func (k keyTree) Load(it *Item) (*Item, bool) {
	r, ok := k.t.Load(ref{it.ord, it})
	return r.it, ok
}

func (k keyTree) Delete(it *Item) (*Item, bool) {
	r, ok := k.t.Delete(ref{it.ord, it})
	return r.it, ok
}

func (k keyTree) Len() int { return k.t.Len() }

func (k keyTree) GetAt(i int) (*Item, bool) {
	r, ok := k.t.GetAt(i)
	return r.it, ok
}

func (k keyTree) Ascend(pivot *Item, fn func(*Item) bool) {
	k.t.Ascend(ref{pivot.ord, pivot}, func(r ref) bool { return fn(r.it) })
}

func (k keyTree) Scan(fn func(*Item) bool) {
	k.t.Scan(func(r ref) bool { return fn(r.it) })
}

// Copy returns an O(1) copy-on-write copy.
func (k keyTree) Copy() keyTree { return keyTree{k.t.Copy()} }
