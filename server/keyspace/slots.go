package keyspace

import (
	"bufio"
	"bytes"
)

// ExportSlot appends every item of hash slot s to dst in the snapshot item
// format, for moving the slot to another shard. Expired items are copied
// too: the importer's clock decides.
func (db *DB) ExportSlot(dst []byte, s uint16) []byte {
	db.ScanSlot(s, func(it *Item) bool {
		dst = appendItem(dst, it)
		return true
	})
	return dst
}

// DeleteSlot removes every item of hash slot s and returns how many.
func (db *DB) DeleteSlot(s uint16) int {
	var keys []string
	db.ScanSlot(s, func(it *Item) bool {
		keys = append(keys, it.Key)
		return true
	})
	for _, k := range keys {
		db.Delete([]byte(k))
	}
	return len(keys)
}

// Import adds the items encoded by ExportSlot, replacing keys that exist.
// Nothing is changed when b does not decode.
func (db *DB) Import(b []byte) (int, error) {
	sr := &snapReader{r: bufio.NewReader(bytes.NewReader(b))}
	var items []*Item
	for {
		t := Type(sr.byte())
		if sr.err != nil {
			break // io.EOF at an item boundary ends the list
		}
		it, err := sr.item(t)
		if err != nil {
			return 0, err
		}
		items = append(items, it)
	}
	for _, it := range items {
		db.PutItem(it)
	}
	return len(items), nil
}
