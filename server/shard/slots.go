package shard

import (
	"encoding/binary"
	"errors"
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
// are served, writes answer TRYAGAIN). It is part of the replicated state:
// every replica and every replay agrees on it, so a stale router can never
// make a shard accept a key it has given away.
type slotState struct {
	owned, frozen slotSet
}

// Slot operation names (the first argument of a SlotOp entry's command).
const (
	// OpAssign makes the shard own the listed slots (no data moves).
	OpAssign = "ASSIGN"
	// OpFreeze freezes the listed owned slots and returns their items.
	OpFreeze = "FREEZE"
	// OpImport adds items (third argument) and, if the fourth argument is
	// "1", takes ownership of the listed slots.
	OpImport = "IMPORT"
	// OpDrop deletes the listed slots' items and gives the slots up.
	OpDrop = "DROP"
	// OpUnfreeze lifts a freeze (an abandoned migration).
	OpUnfreeze = "UNFREEZE"
	// OpStatus changes nothing; it reports the listed slots' state as of
	// its place in the log.
	OpStatus = "STATUS"
)

// Slot status bits reported per slot by every SlotOp.
const (
	SlotOwned  = 1
	SlotFrozen = 2
)

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

// applySlotOp runs one slot operation. The reply is an array: a status
// byte per listed slot (after the operation) and, for FREEZE, the items.
func (s *stateMachine) applySlotOp(cmd [][]byte) reply.Value {
	if s.slots == nil {
		return reply.Error("ERR slot operations need cluster mode")
	}
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
	status := make([]byte, len(slots))
	for i, sl := range slots {
		if st.owned.has(sl) {
			status[i] |= SlotOwned
		}
		if st.frozen.has(sl) {
			status[i] |= SlotFrozen
		}
	}
	return reply.Array(reply.Bulk(status), reply.Bulk(items))
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

func appendSlotState(dst []byte, st *slotState) []byte {
	if st == nil {
		return append(dst, 0)
	}
	dst = append(dst, 1)
	for _, w := range st.owned {
		dst = binary.LittleEndian.AppendUint64(dst, w)
	}
	for _, w := range st.frozen {
		dst = binary.LittleEndian.AppendUint64(dst, w)
	}
	return dst
}

func initialSlots(owned []uint16) *slotState {
	st := &slotState{}
	for _, sl := range owned {
		st.owned.set(sl)
	}
	return st
}
