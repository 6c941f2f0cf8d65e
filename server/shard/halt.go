package shard

import (
	"context"
	"errors"
	"fmt"
	"log"
	"math"
	"time"

	sm "github.com/lni/dragonboat/v4/statemachine"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/entry"
	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/server/reply"
)

// Halting (DESIGN.md, "Versions and halting").
//
// A replica that meets a log entry it cannot apply exactly as a newer
// binary would (an unknown entry version or kind, a command or subcommand
// its table lacks, bytes that do not decode) or a snapshot in a format it
// does not know stops applying that shard. Dragonboat offers no way to
// stop one group from inside the state machine: an error returned by
// Update makes the engine panic the whole process, and blocking Update
// blocks the apply worker shared with other groups. So Update returns
// normally but, from that entry on, applies nothing and answers each entry
// with ErrHalted: the keyspace stays exactly as it was before the entry,
// the shard's applied index (ours, the one INFO and snapshots use) stays
// before it, and PrepareSnapshot refuses (ErrSnapshotAborted, which
// Dragonboat treats as a skipped snapshot), so no snapshot ever claims the
// entry as applied and the log behind it is never compacted. Dragonboat's
// in-memory applied index does move on, but it is not persisted: a restart
// replays the log from the last snapshot, so a restarted node with a binary
// that knows the entry applies it and converges. A halted replica refuses
// writes and linearizable reads (ErrHalted), hands leadership to another
// replica, and reports the reason in INFO; the node's other shards are not
// affected.

// ErrHalted is returned for writes and linearizable reads on a shard this
// replica has stopped applying.
var ErrHalted = errors.New("shard: halted")

// haltedValue marks a result answered by a halted state machine.
const haltedValue = math.MaxUint64

type haltInfo struct {
	index  uint64
	reason string
}

// halt stops applying the shard at log index (0: at a snapshot).
func (s *stateMachine) halt(index uint64, reason string) {
	if s.halted.Load() != nil {
		return
	}
	h := &haltInfo{index: index, reason: reason}
	s.halted.Store(h)
	log.Printf("shard %d: STOPPED APPLYING at log index %d: %s. This binary understands format versions up to %d. "+
		"The entry is not skipped: the shard stays stopped on this node (writes fail, no snapshot is taken) "+
		"until it is restarted with a binary that understands it.", s.opts.ShardID, index, reason, s.maxVersion())
}

func (s *stateMachine) maxVersion() uint8 {
	if s.opts.MaxFormatVersion != 0 {
		return s.opts.MaxFormatVersion
	}
	return entry.Version
}

func (s *stateMachine) haltedResult() sm.Result {
	h := s.halted.Load()
	return sm.Result{Value: haltedValue, Data: reply.Append(nil, reply.Error(fmt.Sprintf("ERR shard %d halted at log index %d on this node: %s", s.opts.ShardID, h.index, h.reason)))}
}

// unknown tells why e cannot be applied by this binary ("" if it can).
func (s *stateMachine) unknown(e *entry.Entry) string {
	if !entry.Understands(s.maxVersion(), e.Version, e.Kind) {
		return fmt.Sprintf("unknown log entry (version %d, kind %d)", e.Version, e.Kind)
	}
	switch e.Kind {
	case entry.Config:
		// A parameter this binary does not have (added by a later
		// version) changes what the writer's apply does: stop.
		for _, cmd := range e.Cmds {
			if len(cmd) == 2 && string(cmd[0]) != epochParam {
				if _, ok := keyspace.CanonicalConfigName(string(cmd[0])); !ok {
					return fmt.Sprintf("unknown config parameter %q", cmd[0])
				}
			}
		}
	case entry.SlotOp:
		for _, cmd := range e.Cmds {
			if why := unknownSlotOp(cmd); why != "" {
				return why
			}
		}
	case entry.Commands, entry.Multi, entry.WatchedMulti:
		cmds := e.Cmds
		if e.Kind == entry.WatchedMulti && len(cmds) > 0 {
			cmds = cmds[1:]
		}
		for _, cmd := range cmds {
			if len(cmd) == 0 {
				continue // answered as an empty command, by every version
			}
			sp := s.table.Lookup(cmd[0])
			if sp == nil {
				return fmt.Sprintf("unknown command %q", cmd[0])
			}
			if len(sp.Sub) > 0 && sp.Run == nil && len(cmd) > 1 {
				known := false
				for _, sub := range sp.Sub {
					if len(sub.Name) > len(sp.Name) && command.EqualFold(cmd[1], sub.Name[len(sp.Name)+1:]) {
						known = true
						break
					}
				}
				if !known {
					return fmt.Sprintf("unknown subcommand %q of %q", cmd[1], cmd[0])
				}
			}
		}
	}
	return ""
}

// unknownSlotOp tells why a slot operation names an operation this binary
// does not know ("" if it knows it). A newer binary's operation must stop
// the shard, not be answered with an error: the newer replicas apply it.
// Malformed known operations are answered with an error by every version.
func unknownSlotOp(cmd [][]byte) string {
	if len(cmd) == 0 {
		return ""
	}
	name, known := cmd[0], slotOpsV1
	if string(name) == slotOpV2 {
		if len(cmd) < 2 {
			return ""
		}
		name, known = cmd[1], slotOpsV2
	}
	for _, op := range known {
		if string(name) == op {
			return ""
		}
	}
	return fmt.Sprintf("unknown slot operation %q", name)
}

// Halted returns why this replica stopped applying the shard, or nil.
func (s *Shard) Halted() error {
	if h := s.sm.halted.Load(); h != nil {
		return fmt.Errorf("%w at log index %d: %s", ErrHalted, h.index, h.reason)
	}
	return nil
}

// handOff moves leadership away from a halted replica, so the group keeps
// serving through replicas that can apply.
func (s *Shard) handOff() {
	if s.sm.halted.Load() == nil || !s.IsLeader() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	m, err := s.Members(ctx)
	if err != nil {
		return
	}
	for id := range m {
		if id != s.opts.ReplicaID {
			s.TransferLeader(id)
			return
		}
	}
}
