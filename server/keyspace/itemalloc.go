package keyspace

import (
	"strings"
	"unsafe"
)

// Items with short keys are allocated together with their key's bytes, so
// a look-up that reads an item (a cache miss) finds the key on the same or
// the next cache line instead of missing again on a separate string. The
// key string points into the object; nothing writes those bytes after
// newItem, and the string keeps the object alive like any interior
// pointer. Memory accounting (memory.go) does not depend on the layout.
type (
	itemKey16 struct {
		Item
		k [16]byte
	}
	itemKey32 struct {
		Item
		k [32]byte
	}
	itemKey48 struct {
		Item
		k [48]byte
	}
)

// newItem returns an item whose Key is a copy of key.
func newItem(key string) *Item {
	n := len(key)
	var it *Item
	var buf []byte
	switch {
	case n == 0:
		return &Item{}
	case n <= 16:
		p := new(itemKey16)
		it, buf = &p.Item, p.k[:n]
	case n <= 32:
		p := new(itemKey32)
		it, buf = &p.Item, p.k[:n]
	case n <= 48:
		p := new(itemKey48)
		it, buf = &p.Item, p.k[:n]
	default:
		return &Item{Key: strings.Clone(key)} // one copy (key may alias a buffer)
	}
	copy(buf, key)
	it.Key = unsafe.String(unsafe.SliceData(buf), n)
	return it
}
