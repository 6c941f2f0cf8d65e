package keyspace

import (
	"unsafe"

	"github.com/cespare/xxhash/v2"
)

// index is the keyspace's hash index for point lookups: an open-addressing
// table of item pointers with linear probing and backward-shift deletion.
// It costs one pointer and one 32-bit hash tag per slot (about 16-32
// bytes a key at its load factors), less than a Go map[string]*Item,
// because the key is read through the item instead of being stored
// again. The tag (the hash's high half) is compared first, so a probe
// reads the item — a cache miss, then another for the key's bytes — only
// when the tags agree: about once per successful look-up instead of once
// per slot of the probe run.
type index struct {
	slots []*Item
	tags  []uint32
	n     int
}

func hashKey(key string) uint64 { return xxhash.Sum64String(key) }

func tagOf(h uint64) uint32 { return uint32(h >> 32) }

func (x *index) mask() uint64 { return uint64(len(x.slots) - 1) }

// get returns the item under key, or nil.
func (x *index) get(key []byte) *Item {
	if x.n == 0 {
		return nil
	}
	k := unsafe.String(unsafe.SliceData(key), len(key))
	m := x.mask()
	h := hashKey(k)
	tag := tagOf(h)
	for i := h & m; ; i = (i + 1) & m {
		it := x.slots[i]
		if it == nil || (x.tags[i] == tag && it.Key == k) {
			return it
		}
	}
}

// set stores it, replacing an item with the same key.
func (x *index) set(it *Item) {
	if (x.n+1)*4 > len(x.slots)*3 {
		x.grow()
	}
	x.put(it)
}

// put is set without the load check (grow reinserts with it).
func (x *index) put(it *Item) {
	m := x.mask()
	h := hashKey(it.Key)
	tag := tagOf(h)
	for i := h & m; ; i = (i + 1) & m {
		cur := x.slots[i]
		if cur == nil {
			x.slots[i], x.tags[i] = it, tag
			x.n++
			return
		}
		if x.tags[i] == tag && cur.Key == it.Key {
			x.slots[i] = it
			return
		}
	}
}

func (x *index) grow() {
	old := x.slots
	x.slots = make([]*Item, max(16, 2*len(old)))
	x.tags = make([]uint32, len(x.slots))
	x.n = 0
	for _, it := range old {
		if it != nil {
			x.put(it)
		}
	}
}

// del removes key, shifting later members of its probe run back so
// lookups never stop early at a hole.
func (x *index) del(key string) {
	if x.n == 0 {
		return
	}
	m := x.mask()
	h := hashKey(key)
	tag := tagOf(h)
	i := h & m
	for {
		it := x.slots[i]
		if it == nil {
			return
		}
		if x.tags[i] == tag && it.Key == key {
			break
		}
		i = (i + 1) & m
	}
	x.slots[i] = nil
	x.n--
	for j := (i + 1) & m; x.slots[j] != nil; j = (j + 1) & m {
		home := hashKey(x.slots[j].Key) & m
		// Move slots[j] into the hole at i unless its home lies
		// cyclically within (i, j].
		if (j > i && (home <= i || home > j)) || (j < i && home <= i && home > j) {
			x.slots[i], x.slots[j] = x.slots[j], nil
			x.tags[i] = x.tags[j]
			i = j
		}
	}
}

// prefetch reads the home slot of each key, then the item found there, in
// two passes, so the cache misses of different keys overlap instead of
// waiting one after another as separate look-ups do. It changes nothing;
// the sum it returns only keeps the compiler from dropping the loads.
func (x *index) prefetch(keys [][]byte) uintptr {
	if x.n == 0 {
		return 0
	}
	var its [prefetchMax]*Item
	n := min(len(keys), len(its))
	m := x.mask()
	var sum uintptr
	for i, k := range keys[:n] {
		j := hashKey(unsafe.String(unsafe.SliceData(k), len(k))) & m
		its[i] = x.slots[j]
		sum += uintptr(x.tags[j])
	}
	for _, it := range its[:n] {
		if it != nil {
			sum += uintptr(len(it.Key))
		}
	}
	return sum
}

// prefetchMax bounds one prefetch: what fits in the caches alongside the
// commands that use it.
const prefetchMax = 32
