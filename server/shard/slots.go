package shard

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/reply"
	"github.com/cairndb/cairn/server/slot"
)

// slotSet is a bitmap of hash slots.
type slotSet [slot.Count / 64]uint64

func (s *slotSet) has(i uint16) bool { return s[i>>6]&(1<<(i&63)) != 0 }
func (s *slotSet) set(i uint16)      { s[i>>6] |= 1 << (i & 63) }
func (s *slotSet) clear(i uint16)    { s[i>>6] &^= 1 << (i & 63) }

// slotState is what a cluster shard knows about its hash slots: the ones
// it owns (serves) and, of those, the ones frozen for a migration (reads
// are served, writes answer TRYAGAIN); the ones it is about to receive
// (importing); and, per slot touched by a fenced slot move, the fence. It
// is part of the replicated state: every replica and every replay agrees
// on it, so a stale router can never make a shard accept a key it has
// given away, and a stale slot-move step can never apply.
type slotState struct {
	owned, frozen, importing slotSet
	// marks holds, per slot, the highest migration epoch any fenced step
	// carried and the migration the slot is frozen or importing for.
	marks map[uint16]slotMark
}

// slotMark fences one slot. epoch only grows: a step with an older epoch
// (one sent by a deposed meta leader) is refused. mig names the migration
// the slot is frozen (source) or importing (target) for; 0 for none.
type slotMark struct {
	epoch, mig uint64
}

// Fence identifies who sends a slot operation: a migration and the
// directory epoch at which the current meta leader claimed it (its
// fencing token), or, for an ASSIGN by the reconciler, no migration and
// the epoch of the directory it acted on.
type Fence struct {
	Mig, Epoch uint64
}

// Encode encodes a fence for a SlotOp argument (16 bytes).
func (f Fence) Encode() []byte {
	b := binary.BigEndian.AppendUint64(make([]byte, 0, 16), f.Mig)
	return binary.BigEndian.AppendUint64(b, f.Epoch)
}

// DecodeFence decodes Fence.Encode.
func DecodeFence(b []byte) (Fence, error) {
	if len(b) != 16 {
		return Fence{}, errors.New("bad fence")
	}
	return Fence{Mig: binary.BigEndian.Uint64(b), Epoch: binary.BigEndian.Uint64(b[8:])}, nil
}

// Slot operation names.
//
// A SlotOp entry's command has two formats. Version 1 (logs written
// before fencing; still applied exactly as before, never proposed any
// more): op, slots, args. Version 2: slotOpV2, op, slots, fence, args —
// every step is checked against the slots' marks.
const (
	// OpAssign makes the shard own the listed slots (no data moves). Its
	// fence is the directory epoch the reconciler acted on: refused if a
	// migration with a newer epoch has touched one of the slots.
	OpAssign = "ASSIGN"
	// OpPrepare (target) marks the listed slots it does not own as
	// importing for the fence's migration. Owned slots are left alone.
	OpPrepare = "PREPARE"
	// OpFreeze (source) freezes the listed owned slots for the migration
	// and returns their items.
	OpFreeze = "FREEZE"
	// OpImport (target) adds items (the argument) and takes the listed
	// slots; every slot must be importing for the fence's migration. In a
	// version 1 entry the items are the third argument and the slots are
	// taken only if the fourth is "1".
	OpImport = "IMPORT"
	// OpDrop (source) deletes the listed slots' items and gives the slots
	// up; every owned listed slot must be frozen for the migration.
	OpDrop = "DROP"
	// OpUnfreeze rolls a step back: it lifts a freeze (source) or an
	// importing mark (target) set for the migration.
	OpUnfreeze = "UNFREEZE"
	// OpStatus changes nothing; it reports the listed slots' state as of
	// its place in the log.
	OpStatus = "STATUS"
)

// slotOpV2 starts a version 2 SlotOp command (op names never start with
// '@').
const slotOpV2 = "@2"

// Slot status bits reported per slot by every SlotOp.
const (
	SlotOwned     = 1
	SlotFrozen    = 2
	SlotImporting = 4
)

// StalePrefix starts the error for a slot-move step refused by its fence.
const StalePrefix = "STALE "

// EncodeSlots encodes a slot list for a SlotOp argument.
func EncodeSlots(slots []uint16) []byte {
	b := make([]byte, 0, 2*len(slots))
	for _, s := range slots {
		b = binary.BigEndian.AppendUint16(b, s)
	}
	return b
}

func decodeSlots(b []byte) ([]uint16, error) {
	if len(b)%2 != 0 {
		return nil, errors.New("odd slot list")
	}
	out := make([]uint16, len(b)/2)
	for i := range out {
		out[i] = binary.BigEndian.Uint16(b[2*i:])
		if out[i] >= slot.Count {
			return nil, errors.New("slot out of range")
		}
	}
	return out, nil
}

// The operations each SlotOp encoding knows (halt.go stops the shard on
// any other).
var (
	slotOpsV1 = []string{OpAssign, OpFreeze, OpImport, OpDrop, OpUnfreeze, OpStatus}
	slotOpsV2 = []string{OpAssign, OpPrepare, OpFreeze, OpImport, OpDrop, OpUnfreeze, OpStatus}
)

// slotOpCommand builds a version 2 SlotOp command.
func slotOpCommand(op string, slots, fence []byte, extra [][]byte) [][]byte {
	return append([][]byte{[]byte(slotOpV2), []byte(op), slots, fence}, extra...)
}

// applySlotOp runs one slot operation. The reply is an array: a status
// byte per listed slot (after the operation) and, for FREEZE, the items.
func (s *stateMachine) applySlotOp(cmd [][]byte) reply.Value {
	if s.slots == nil {
		return reply.Error("ERR slot operations need cluster mode")
	}
	if len(cmd) > 0 && string(cmd[0]) == slotOpV2 {
		return s.applySlotOpV2(cmd[1:])
	}
	return s.applySlotOpV1(cmd)
}

// status reports the listed slots' state bits.
func (st *slotState) status(slots []uint16) []byte {
	status := make([]byte, len(slots))
	for i, sl := range slots {
		if st.owned.has(sl) {
			status[i] |= SlotOwned
		}
		if st.frozen.has(sl) {
			status[i] |= SlotFrozen
		}
		if st.importing.has(sl) {
			status[i] |= SlotImporting
		}
	}
	return status
}

// applySlotOpV1 applies a version 1 (unfenced) entry, as before fencing.
func (s *stateMachine) applySlotOpV1(cmd [][]byte) reply.Value {
	if len(cmd) < 2 {
		return reply.Error("ERR bad slot operation")
	}
	slots, err := decodeSlots(cmd[1])
	if err != nil {
		return reply.Error("ERR bad slot operation: " + err.Error())
	}
	st := s.slots
	var items []byte
	switch string(cmd[0]) {
	case OpAssign:
		for _, sl := range slots {
			st.owned.set(sl)
		}
	case OpFreeze:
		for _, sl := range slots {
			if st.owned.has(sl) {
				st.frozen.set(sl)
				items = s.db.ExportSlot(items, sl)
			}
		}
	case OpImport:
		if len(cmd) != 4 {
			return reply.Error("ERR bad slot operation")
		}
		if _, err := s.db.Import(cmd[2]); err != nil {
			return reply.Error("ERR import: " + err.Error())
		}
		if string(cmd[3]) == "1" {
			for _, sl := range slots {
				st.owned.set(sl)
				st.frozen.clear(sl)
			}
		}
		s.dirty.Add(1)
	case OpDrop:
		for _, sl := range slots {
			s.dirty.Add(int64(s.db.DeleteSlot(sl)))
			st.owned.clear(sl)
			st.frozen.clear(sl)
		}
	case OpUnfreeze:
		for _, sl := range slots {
			st.frozen.clear(sl)
		}
	case OpStatus:
	default:
		return reply.Error("ERR unknown slot operation")
	}
	return reply.Array(reply.Bulk(st.status(slots)), reply.Bulk(items))
}

// applySlotOpV2 applies a fenced operation: op, slots, fence, args. A
// refused operation changes nothing.
func (s *stateMachine) applySlotOpV2(cmd [][]byte) reply.Value {
	if len(cmd) < 3 {
		return reply.Error("ERR bad slot operation")
	}
	op := string(cmd[0])
	slots, err := decodeSlots(cmd[1])
	if err != nil {
		return reply.Error("ERR bad slot operation: " + err.Error())
	}
	f, err := DecodeFence(cmd[2])
	if err != nil {
		return reply.Error("ERR bad slot operation: " + err.Error())
	}
	args := cmd[3:]
	st := s.slots
	if st.marks == nil {
		st.marks = map[uint16]slotMark{}
	}
	stale := func(format string, a ...any) reply.Value {
		return reply.Error(StalePrefix + fmt.Sprintf(format, a...))
	}
	if op != OpStatus {
		if op != OpAssign && f.Mig == 0 {
			return reply.Error("ERR bad slot operation: no migration")
		}
		for _, sl := range slots {
			if m := st.marks[sl]; f.Epoch < m.epoch {
				return stale("%s for migration %d at epoch %d: slot %d has seen epoch %d", op, f.Mig, f.Epoch, sl, m.epoch)
			}
		}
	}
	// raise records the step's epoch on a slot; mig sets (or with 0
	// clears) the migration it is frozen or importing for.
	raise := func(sl uint16, mig uint64) {
		st.marks[sl] = slotMark{epoch: f.Epoch, mig: mig}
	}
	var items []byte
	switch op {
	case OpAssign:
		for _, sl := range slots {
			if st.importing.has(sl) {
				return stale("ASSIGN of slot %d, importing for migration %d", sl, st.marks[sl].mig)
			}
		}
		for _, sl := range slots {
			st.owned.set(sl)
		}
	case OpPrepare:
		for _, sl := range slots {
			if st.owned.has(sl) {
				raise(sl, st.marks[sl].mig)
				continue
			}
			st.importing.set(sl)
			raise(sl, f.Mig)
		}
	case OpFreeze:
		for _, sl := range slots {
			if !st.owned.has(sl) {
				raise(sl, st.marks[sl].mig)
				continue
			}
			st.frozen.set(sl)
			raise(sl, f.Mig)
			items = s.db.ExportSlot(items, sl)
		}
	case OpImport:
		if len(args) != 1 {
			return reply.Error("ERR bad slot operation")
		}
		for _, sl := range slots {
			if !st.importing.has(sl) || st.marks[sl].mig != f.Mig {
				return stale("IMPORT for migration %d: slot %d is not importing for it", f.Mig, sl)
			}
		}
		if _, err := s.db.Import(args[0]); err != nil {
			return reply.Error("ERR import: " + err.Error())
		}
		for _, sl := range slots {
			st.owned.set(sl)
			st.importing.clear(sl)
			raise(sl, 0)
		}
		s.dirty.Add(1)
	case OpDrop:
		for _, sl := range slots {
			if st.owned.has(sl) && (!st.frozen.has(sl) || st.marks[sl].mig != f.Mig) {
				return stale("DROP for migration %d: slot %d is not frozen for it", f.Mig, sl)
			}
		}
		for _, sl := range slots {
			if !st.owned.has(sl) {
				raise(sl, st.marks[sl].mig)
				continue
			}
			s.dirty.Add(int64(s.db.DeleteSlot(sl)))
			st.owned.clear(sl)
			st.frozen.clear(sl)
			raise(sl, 0)
		}
	case OpUnfreeze:
		for _, sl := range slots {
			m := st.marks[sl]
			if m.mig != f.Mig {
				raise(sl, m.mig)
				continue
			}
			st.frozen.clear(sl)
			st.importing.clear(sl)
			raise(sl, 0)
		}
	case OpStatus:
	default:
		return reply.Error("ERR unknown slot operation")
	}
	return reply.Array(reply.Bulk(st.status(slots)), reply.Bulk(items))
}

// NotOwnedPrefix starts the error a cluster shard answers for a key in a
// slot it does not own; the slot number follows. The router turns it into
// MOVED (or TRYAGAIN while the directory catches up).
const NotOwnedPrefix = "CAIRNNOTOWNED "

// FrozenPrefix starts the error for a write to a slot frozen by a
// migration.
const FrozenPrefix = "TRYAGAIN "

// checkSlots returns a non-nil error reply when cmd touches a slot this
// shard does not own, or (for writes) one frozen by a migration.
func (st *slotState) check(spec *command.Spec, cmd [][]byte) (reply.Value, bool) {
	if spec == nil {
		return reply.Value{}, false
	}
	for _, k := range spec.Keys(cmd) {
		sl := slot.Of(cmd[k])
		if !st.owned.has(sl) {
			return reply.Error(NotOwnedPrefix + strconv.Itoa(int(sl))), true
		}
		if spec.IsWrite() && st.frozen.has(sl) {
			return reply.Error(FrozenPrefix + "slot " + strconv.Itoa(int(sl)) + " is being moved to another shard, try again"), true
		}
	}
	return reply.Value{}, false
}

// Slot state in a snapshot: a flag byte, then per flag
//
//	0: none (a single-node shard)
//	1: owned and frozen bitmaps (before fencing; still read)
//	2: owned, frozen and importing bitmaps, a uvarint count of marks and
//	   per mark (ascending slots) the slot (2 bytes), uvarint epoch and
//	   uvarint migration
const (
	slotStateNone = 0
	slotStateV1   = 1
	slotStateV2   = 2
)

func appendSlotState(dst []byte, st *slotState) []byte {
	if st == nil {
		return append(dst, slotStateNone)
	}
	dst = append(dst, slotStateV2)
	for _, set := range []*slotSet{&st.owned, &st.frozen, &st.importing} {
		for _, w := range set {
			dst = binary.LittleEndian.AppendUint64(dst, w)
		}
	}
	keys := make([]uint16, 0, len(st.marks))
	for sl := range st.marks {
		keys = append(keys, sl)
	}
	slices.Sort(keys)
	dst = binary.AppendUvarint(dst, uint64(len(keys)))
	for _, sl := range keys {
		m := st.marks[sl]
		dst = binary.BigEndian.AppendUint16(dst, sl)
		dst = binary.AppendUvarint(dst, m.epoch)
		dst = binary.AppendUvarint(dst, m.mig)
	}
	return dst
}

// readSlotState reads what appendSlotState wrote (any version); def is
// returned for a snapshot without slot state.
func readSlotState(br *bufio.Reader, def *slotState) (*slotState, error) {
	flag, err := br.ReadByte()
	if err != nil {
		return nil, err
	}
	var sets []*slotSet
	st := &slotState{}
	switch flag {
	case slotStateNone:
		return def, nil
	case slotStateV1:
		sets = []*slotSet{&st.owned, &st.frozen}
	case slotStateV2:
		sets = []*slotSet{&st.owned, &st.frozen, &st.importing}
	default:
		return nil, fmt.Errorf("slot state version %d", flag)
	}
	var w [8]byte
	for _, set := range sets {
		for i := range set {
			if _, err := io.ReadFull(br, w[:]); err != nil {
				return nil, err
			}
			set[i] = binary.LittleEndian.Uint64(w[:])
		}
	}
	if flag == slotStateV1 {
		return st, nil
	}
	n, err := binary.ReadUvarint(br)
	if err != nil {
		return nil, err
	}
	if n > slot.Count {
		return nil, errors.New("too many slot marks")
	}
	st.marks = make(map[uint16]slotMark, n)
	for range n {
		if _, err := io.ReadFull(br, w[:2]); err != nil {
			return nil, err
		}
		sl := binary.BigEndian.Uint16(w[:2])
		if sl >= slot.Count {
			return nil, errors.New("slot out of range")
		}
		var m slotMark
		if m.epoch, err = binary.ReadUvarint(br); err != nil {
			return nil, err
		}
		if m.mig, err = binary.ReadUvarint(br); err != nil {
			return nil, err
		}
		st.marks[sl] = m
	}
	return st, nil
}

func initialSlots(owned []uint16) *slotState {
	st := &slotState{}
	for _, sl := range owned {
		st.owned.set(sl)
	}
	return st
}
