package shard_test

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/cairndb/cairn/server/entry"
	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/server/reply"
	"github.com/cairndb/cairn/server/shard"
	"github.com/cairndb/cairn/server/slot"
)

// slotOp applies one slot operation entry and returns its reply.
func slotOp(t testing.TB, s *shard.TestSM, idx *uint64, cmd [][]byte) reply.Value {
	t.Helper()
	*idx++
	rs := replies(t, apply(t, s, *idx, encode(entry.SlotOp, 1, *idx, cmd)))
	if len(rs) != 1 {
		t.Fatalf("%d replies", len(rs))
	}
	return rs[0]
}

func mustOK(t testing.TB, what string, v reply.Value) reply.Value {
	t.Helper()
	if v.Kind == reply.KindError {
		t.Fatalf("%s: %s", what, v.Str)
	}
	return v
}

func mustStale(t testing.TB, what string, v reply.Value) {
	t.Helper()
	if v.Kind != reply.KindError || !strings.HasPrefix(string(v.Str), shard.StalePrefix) {
		t.Fatalf("%s: want a %q refusal, got %v %q", what, shard.StalePrefix, v.Kind, v.Str)
	}
}

func get(t testing.TB, s *shard.TestSM, _ *uint64, key string) string {
	t.Helper()
	it := s.DB().Get([]byte(key), 1)
	if it == nil {
		return ""
	}
	return string(it.Str)
}

// TestSlotOpFencing: every step of a slot move is checked against the
// slot's replicated marks. A late IMPORT after the move cannot overwrite
// a newer value; a deposed claimant's FREEZE and DROP are refused once a
// newer claim has touched the slot; old (version 1) entries still apply.
func TestSlotOpFencing(t *testing.T) {
	sl := slot.OfString("k")
	slots := []uint16{sl}
	src := shard.NewClusterTestSM(table, slots)
	dst := shard.NewClusterTestSM(table, nil)
	var si, di uint64
	si++
	mustOK(t, "set", do(t, src, si, 1, "set", "k", "old"))

	f := shard.Fence{Mig: 1, Epoch: 5}
	// IMPORT before PREPARE: the slot is not importing.
	mustStale(t, "import before prepare", slotOp(t, dst, &di, shard.SlotOpCommand(shard.OpImport, f, slots, nil)))
	st := mustOK(t, "prepare", slotOp(t, dst, &di, shard.SlotOpCommand(shard.OpPrepare, f, slots)))
	if st.Elems[0].Str[0] != shard.SlotImporting {
		t.Fatalf("after PREPARE: status %d", st.Elems[0].Str[0])
	}
	fr := mustOK(t, "freeze", slotOp(t, src, &si, shard.SlotOpCommand(shard.OpFreeze, f, slots)))
	items := fr.Elems[1].Str
	// Another migration's IMPORT is refused even with a newer epoch.
	mustStale(t, "import of another migration", slotOp(t, dst, &di, shard.SlotOpCommand(shard.OpImport, shard.Fence{Mig: 2, Epoch: 6}, slots, items)))
	mustOK(t, "import", slotOp(t, dst, &di, shard.SlotOpCommand(shard.OpImport, f, slots, items)))
	mustOK(t, "drop", slotOp(t, src, &si, shard.SlotOpCommand(shard.OpDrop, f, slots)))
	di++
	mustOK(t, "set new", do(t, dst, di, 1, "set", "k", "new"))

	// The move's IMPORT arrives again (a retry, or a deposed leader's).
	mustStale(t, "late import", slotOp(t, dst, &di, shard.SlotOpCommand(shard.OpImport, f, slots, items)))
	if v := get(t, dst, &di, "k"); v != "new" {
		t.Fatalf("after a late IMPORT k = %q, want new", v)
	}

	// Moving the slot back (migration 3): claimed first at epoch 7 by a
	// meta leader that is then deposed, then at epoch 9.
	old, cur := shard.Fence{Mig: 3, Epoch: 7}, shard.Fence{Mig: 3, Epoch: 9}
	mustOK(t, "prepare (old)", slotOp(t, src, &si, shard.SlotOpCommand(shard.OpPrepare, old, slots)))
	mustOK(t, "freeze (old)", slotOp(t, dst, &di, shard.SlotOpCommand(shard.OpFreeze, old, slots)))
	mustOK(t, "prepare", slotOp(t, src, &si, shard.SlotOpCommand(shard.OpPrepare, cur, slots)))
	fr = mustOK(t, "freeze", slotOp(t, dst, &di, shard.SlotOpCommand(shard.OpFreeze, cur, slots)))
	mustStale(t, "late drop", slotOp(t, dst, &di, shard.SlotOpCommand(shard.OpDrop, old, slots)))
	mustStale(t, "late freeze", slotOp(t, dst, &di, shard.SlotOpCommand(shard.OpFreeze, old, slots)))
	mustStale(t, "late import", slotOp(t, src, &si, shard.SlotOpCommand(shard.OpImport, old, slots, fr.Elems[1].Str)))
	mustStale(t, "late unfreeze", slotOp(t, dst, &di, shard.SlotOpCommand(shard.OpUnfreeze, old, slots)))
	// A reconciler acting on a directory older than the claim.
	mustStale(t, "stale assign", slotOp(t, src, &si, shard.SlotOpCommand(shard.OpAssign, shard.Fence{Epoch: 8}, slots)))
	if v := get(t, dst, &di, "k"); v != "new" {
		t.Fatalf("frozen source lost k: %q", v)
	}
	mustOK(t, "import", slotOp(t, src, &si, shard.SlotOpCommand(shard.OpImport, cur, slots, fr.Elems[1].Str)))
	mustOK(t, "drop", slotOp(t, dst, &di, shard.SlotOpCommand(shard.OpDrop, cur, slots)))
	if v := get(t, src, &si, "k"); v != "new" {
		t.Fatalf("moved back: k = %q, want new", v)
	}

	// The state survives a snapshot: the late step is still refused.
	re := shard.NewClusterTestSM(table, nil)
	snapshotInto(t, src, re)
	ri := si
	mustStale(t, "late import after a snapshot", slotOp(t, re, &ri, shard.SlotOpCommand(shard.OpImport, old, slots, nil)))
	if v := get(t, re, &ri, "k"); v != "new" {
		t.Fatalf("after snapshot: k = %q", v)
	}
}

// TestSlotOpVersion1: entries written before fencing (no version tag)
// apply as they always did.
func TestSlotOpVersion1(t *testing.T) {
	sl := slot.OfString("k")
	s := shard.NewClusterTestSM(table, nil)
	var idx uint64
	enc := shard.EncodeSlots([]uint16{sl})
	mustOK(t, "v1 assign", slotOp(t, s, &idx, [][]byte{[]byte(shard.OpAssign), enc}))
	idx++
	mustOK(t, "set", do(t, s, idx, 1, "set", "k", "v"))
	fr := mustOK(t, "v1 freeze", slotOp(t, s, &idx, [][]byte{[]byte(shard.OpFreeze), enc}))
	if fr.Elems[0].Str[0] != shard.SlotOwned|shard.SlotFrozen || len(fr.Elems[1].Str) == 0 {
		t.Fatalf("v1 freeze: %v", fr.Elems)
	}
	mustOK(t, "v1 drop", slotOp(t, s, &idx, [][]byte{[]byte(shard.OpDrop), enc}))
	mustOK(t, "v1 import", slotOp(t, s, &idx, [][]byte{[]byte(shard.OpImport), enc, fr.Elems[1].Str, []byte("1")}))
	if v := get(t, s, &idx, "k"); v != "v" {
		t.Fatalf("after v1 import: k = %q", v)
	}
}

func snapshotInto(t testing.TB, from, to *shard.TestSM) {
	t.Helper()
	ctx, err := from.SM().PrepareSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := from.SM().SaveSnapshot(ctx, &buf, nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := to.SM().RecoverFromSnapshot(&buf, nil, nil); err != nil {
		t.Fatal(err)
	}
}

// TestSlotStateSnapshotV1: a snapshot written before fencing (slot state
// version 1: owned and frozen bitmaps only) still loads.
func TestSlotStateSnapshotV1(t *testing.T) {
	sl := slot.OfString("k")
	b := binary.AppendVarint([]byte("CAIRNSM3"), 1)
	b = binary.AppendUvarint(b, 7)
	b = append(b, 1)
	var owned, frozen [slot.Count / 64]uint64
	owned[sl>>6] |= 1 << (sl & 63)
	frozen[sl>>6] |= 1 << (sl & 63)
	for _, set := range [][slot.Count / 64]uint64{owned, frozen} {
		for _, w := range set {
			b = binary.LittleEndian.AppendUint64(b, w)
		}
	}
	var db bytes.Buffer
	if _, err := keyspace.New().Snapshot().WriteTo(&db); err != nil {
		t.Fatal(err)
	}
	b = append(b, db.Bytes()...)
	s := shard.NewClusterTestSM(table, nil)
	if err := s.SM().RecoverFromSnapshot(bytes.NewReader(b), nil, nil); err != nil {
		t.Fatal(err)
	}
	idx := uint64(7)
	st := mustOK(t, "status", slotOp(t, s, &idx, shard.SlotOpCommand(shard.OpStatus, shard.Fence{}, []uint16{sl})))
	if st.Elems[0].Str[0] != shard.SlotOwned|shard.SlotFrozen {
		t.Fatalf("v1 snapshot: status %d", st.Elems[0].Str[0])
	}
	// A frozen slot of an unknown (pre-fencing) migration: a fenced DROP
	// needs a FREEZE of its own first.
	f := shard.Fence{Mig: 1, Epoch: 3}
	mustStale(t, "drop without freeze", slotOp(t, s, &idx, shard.SlotOpCommand(shard.OpDrop, f, []uint16{sl})))
	mustOK(t, "freeze", slotOp(t, s, &idx, shard.SlotOpCommand(shard.OpFreeze, f, []uint16{sl})))
	mustOK(t, "drop", slotOp(t, s, &idx, shard.SlotOpCommand(shard.OpDrop, f, []uint16{sl})))
}
