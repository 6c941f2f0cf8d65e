package shard

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	sm "github.com/lni/dragonboat/v4/statemachine"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/entry"
	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/server/reply"
)

// stateMachine is the keyspace as a Dragonboat concurrent state machine.
// Update (apply) holds the write lock for one batch of entries; readers hold
// the read lock. PrepareSnapshot takes an O(1) copy-on-write view under the
// write lock and SaveSnapshot serializes it while updates continue.
type stateMachine struct {
	mu    sync.RWMutex
	db    *keyspace.DB
	table *command.Table
	opts  Options
	// slots is nil for a single-node shard, which owns every slot.
	slots *slotState

	lastTime     int64 // latest applied entry time; entry times never go back
	applied      atomic.Uint64
	dirty        atomic.Int64 // changes since the last snapshot
	sinceSnap    atomic.Int64 // commands applied since the last snapshot
	snapIndex    atomic.Uint64
	lastSnapUnix atomic.Int64
	snapping     atomic.Bool
}

// ErrBadSnapshot is returned when a snapshot stream does not decode.
var ErrBadSnapshot = errors.New("shard: bad snapshot")

func (s *stateMachine) Update(entries []sm.Entry) ([]sm.Entry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var e entry.Entry
	for i := range entries {
		ent := &entries[i]
		if err := entry.Decode(ent.Cmd, &e); err != nil {
			// A corrupt entry is answered, never applied: every replica
			// decodes the same bytes and reaches the same conclusion.
			ent.Result = sm.Result{Data: reply.Append(nil, reply.Error("ERR corrupt log entry"))}
			continue
		}
		if e.Time > s.lastTime {
			s.lastTime = e.Time
		}
		ent.Result = s.apply(&e)
		s.applied.Store(ent.Index)
	}
	return entries, nil
}

// apply runs one entry against the keyspace and encodes the replies.
func (s *stateMachine) apply(e *entry.Entry) sm.Result {
	c := command.Ctx{DB: s.db, Now: s.lastTime, ProtoMaxBulkLen: s.opts.ProtoMaxBulkLen}
	switch e.Kind {
	case entry.Expire:
		n := uint64(0)
		for _, cmd := range e.Cmds {
			if len(cmd) == 1 && s.db.DeleteIfExpired(cmd[0], c.Now) {
				n++
			}
		}
		s.dirty.Add(int64(n))
		return sm.Result{Value: n}
	case entry.Commands, entry.Multi:
		var out []byte
		if e.Kind == entry.Multi {
			out = append(out, byte(reply.KindArray))
			out = binary.AppendUvarint(out, uint64(len(e.Cmds)))
		}
		for i, cmd := range e.Cmds {
			c.Seed = e.Seed + uint64(i)
			if s.slots != nil && len(cmd) > 0 {
				if v, bad := s.slots.check(s.table.Lookup(cmd[0]), cmd); bad {
					out = reply.Append(out, v)
					continue
				}
			}
			v := s.table.Apply(&c, cmd)
			out = reply.Append(out, v)
		}
		s.dirty.Add(c.Dirty)
		s.sinceSnap.Add(int64(len(e.Cmds)))
		return sm.Result{Value: uint64(len(e.Cmds)), Data: out}
	case entry.SlotOp:
		var out []byte
		for _, cmd := range e.Cmds {
			out = reply.Append(out, s.applySlotOp(cmd))
		}
		return sm.Result{Value: uint64(len(e.Cmds)), Data: out}
	}
	return sm.Result{Data: reply.Append(nil, reply.Error("ERR unknown log entry kind"))}
}

func (s *stateMachine) Lookup(q interface{}) (interface{}, error) {
	return nil, errors.New("shard: Lookup is not used; read through Shard.Read")
}

type snapshotCtx struct {
	snap     *keyspace.Snapshot
	slots    []byte
	lastTime int64
	applied  uint64
	dirty    int64
	since    int64
}

func (s *stateMachine) PrepareSnapshot() (interface{}, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return &snapshotCtx{snap: s.db.Snapshot(), slots: appendSlotState(nil, s.slots), lastTime: s.lastTime, applied: s.applied.Load(), dirty: s.dirty.Load(), since: s.sinceSnap.Load()}, nil
}

// snapHeader starts a state-machine snapshot; the leader time, applied
// index and slot state follow it. Version 2 snapshots (no slot state) are
// still read.
const (
	snapHeader   = "CAIRNSM3"
	snapHeaderV2 = "CAIRNSM2"
)

func (s *stateMachine) SaveSnapshot(ctx interface{}, w io.Writer, _ sm.ISnapshotFileCollection, done <-chan struct{}) error {
	sc := ctx.(*snapshotCtx)
	s.snapping.Store(true)
	defer s.snapping.Store(false)
	hdr := binary.AppendVarint([]byte(snapHeader), sc.lastTime)
	hdr = binary.AppendUvarint(hdr, sc.applied)
	hdr = append(hdr, sc.slots...)
	if _, err := w.Write(hdr); err != nil {
		return err
	}
	if _, err := sc.snap.WriteTo(w); err != nil {
		return fmt.Errorf("save snapshot: %w", err)
	}
	// Writes applied while the snapshot was being written still count.
	s.dirty.Add(-sc.dirty)
	s.sinceSnap.Add(-sc.since)
	s.lastSnapUnix.Store(time.Now().Unix())
	return nil
}

func (s *stateMachine) RecoverFromSnapshot(r io.Reader, _ []sm.SnapshotFile, done <-chan struct{}) error {
	br := bufio.NewReaderSize(r, 1<<20)
	hdr := make([]byte, len(snapHeader))
	if _, err := io.ReadFull(br, hdr); err != nil || (string(hdr) != snapHeader && string(hdr) != snapHeaderV2) {
		return fmt.Errorf("%w: header", ErrBadSnapshot)
	}
	t, err := binary.ReadVarint(br)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBadSnapshot, err)
	}
	applied, err := binary.ReadUvarint(br)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBadSnapshot, err)
	}
	var slots *slotState
	if s.opts.Cluster {
		slots = initialSlots(s.opts.InitialSlots)
	}
	if string(hdr) == snapHeader {
		flag, err := br.ReadByte()
		if err != nil {
			return fmt.Errorf("%w: %v", ErrBadSnapshot, err)
		}
		if flag == 1 {
			slots = &slotState{}
			var w [8]byte
			for _, set := range []*slotSet{&slots.owned, &slots.frozen} {
				for i := range set {
					if _, err := io.ReadFull(br, w[:]); err != nil {
						return fmt.Errorf("%w: %v", ErrBadSnapshot, err)
					}
					set[i] = binary.LittleEndian.Uint64(w[:])
				}
			}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.slots = slots
	s.db.SetClock(t)
	if err := s.db.Load(br); err != nil {
		return fmt.Errorf("recover snapshot: %w", err)
	}
	s.lastTime = t
	s.applied.Store(applied)
	s.dirty.Store(0)
	s.sinceSnap.Store(0)
	return nil
}

func (s *stateMachine) Close() error { return nil }
