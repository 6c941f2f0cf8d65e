package keyspace

import (
	"strconv"
	"strings"
	"testing"
)

func checkUsed(t *testing.T, db *DB, when string) {
	t.Helper()
	db.SettleMemory()
	if got, want := db.UsedMemory(), db.RecountMemory(); got != want {
		t.Fatalf("%s: UsedMemory %d, recount %d", when, got, want)
	}
}

// TestMemorySlotMoves: exporting a slot, importing it elsewhere and
// deleting it at the source keep both counts exact (the slot-migration
// path: Import uses PutItem, DeleteSlot deletes).
func TestMemorySlotMoves(t *testing.T) {
	src, dst := New(), New()
	for i := range 2000 {
		k := []byte("k" + strconv.Itoa(i))
		switch i % 3 {
		case 0:
			src.Put(k, []byte(strings.Repeat("s", i%50)), nil, 0)
		case 1:
			h := NewHash()
			for f := range i % 200 {
				h.Set([]byte("f"+strconv.Itoa(f)), []byte("v"))
			}
			src.Put(k, nil, h, int64(1_800_000_000_000+i))
		case 2:
			s := NewSet()
			for m := range i % 150 {
				s.Add([]byte("m" + strconv.Itoa(m)))
			}
			src.Put(k, nil, s, 0)
		}
	}
	checkUsed(t, src, "built")
	total := src.UsedMemory()
	moved := 0
	for s := uint16(0); s < 16384 && moved < 200; s++ {
		if src.CountSlot(s) == 0 {
			continue
		}
		n, err := dst.Import(src.ExportSlot(nil, s))
		if err != nil {
			t.Fatal(err)
		}
		src.DeleteSlot(s)
		moved += n
	}
	checkUsed(t, src, "source after DeleteSlot")
	checkUsed(t, dst, "target after Import")
	if src.UsedMemory()+dst.UsedMemory() != total {
		t.Fatalf("moved %d keys: %d + %d != %d", moved, src.UsedMemory(), dst.UsedMemory(), total)
	}
	// Importing the same slots again replaces the keys: no change.
	before := dst.UsedMemory()
	for s := uint16(0); s < 16384; s++ {
		if dst.CountSlot(s) > 0 {
			if _, err := dst.Import(dst.ExportSlot(nil, s)); err != nil {
				t.Fatal(err)
			}
		}
	}
	checkUsed(t, dst, "re-imported")
	if dst.UsedMemory() != before {
		t.Fatalf("re-import changed used memory: %d -> %d", before, dst.UsedMemory())
	}
}
