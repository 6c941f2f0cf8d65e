package shard

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/lni/dragonboat/v4"
	sm "github.com/lni/dragonboat/v4/statemachine"

	"github.com/cairndb/cairn/modules"
	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/server/slot"
)

// Backups (package backup) and restores use the snapshot codec outside
// Dragonboat: WriteBackup serializes the same O(1) view SAVE takes, an
// Offline state machine loads such a stream and applies archived log
// entries through the real apply, and ImportSnapshot loads the result
// into a new replica.

// BackupPoint is where a backup of a shard stands: the applied log index
// and the leader time of the view.
type BackupPoint struct {
	Index uint64
	Time  int64 // Unix ms
}

// WriteBackup writes a point-in-time view of the replica's state machine
// to w in the snapshot format (header snapHeader): keyspace, slot state,
// configuration, function libraries, FT indexes. Taking the view holds the
// write lock for the O(1) copy only (as SAVE does); serializing runs on the
// caller's goroutine while writes go on. It does not count as a Raft
// snapshot (the log is not compacted, dirty counters are kept).
func (s *Shard) WriteBackup(w io.Writer) (BackupPoint, error) {
	v, err := s.OpenBackup()
	if err != nil {
		return BackupPoint{}, err
	}
	defer v.Release()
	if err := v.Write(w); err != nil {
		return BackupPoint{}, err
	}
	return v.Point(), nil
}

// BackupView is a point-in-time view of a replica's state machine taken
// for a backup (OpenBackup): its position is known before its stream is
// written, so a remote caller can be told it first and read the stream
// in chunks. While it is open, writes copy the items they change; Release
// it as soon as the stream is written.
type BackupView struct {
	sc   *snapshotCtx
	once bool
}

// OpenBackup takes the view WriteBackup writes (the write lock is held for
// the O(1) copy only).
func (s *Shard) OpenBackup() (*BackupView, error) {
	v, err := s.sm.PrepareSnapshot()
	if err != nil {
		if errors.Is(err, sm.ErrSnapshotAborted) {
			return nil, fmt.Errorf("shard %d is halted: no backup of it can be taken", s.opts.ShardID)
		}
		return nil, err
	}
	return &BackupView{sc: v.(*snapshotCtx)}, nil
}

// Point is where the view stands.
func (v *BackupView) Point() BackupPoint {
	return BackupPoint{Index: v.sc.applied, Time: v.sc.lastTime}
}

// Write writes the view's snapshot stream to w (once).
func (v *BackupView) Write(w io.Writer) error {
	if v.once {
		return errors.New("shard: backup view written twice")
	}
	v.once = true
	return v.sc.writeTo(w)
}

// Release ends the view (copy-on-write stops).
func (v *BackupView) Release() { v.sc.snap.Release() }

// LogRange returns the first and last index of the replica's Raft log
// (what ReadCommitted can still return starts at first).
func (s *Shard) LogRange() (first, last uint64, err error) {
	lr, err := s.host.nh.GetLogReader(s.opts.ShardID)
	if err != nil {
		return 0, 0, mapErr(err)
	}
	first, last = lr.GetRange()
	return first, last, nil
}

// ImportSnapshot replaces the replica's state with a snapshot stream (one
// an Offline state machine wrote) and makes it durable with a Raft
// snapshot. It is meant for a new single-member group nobody else writes
// to (cairn restore): the state is not proposed through the log, so on a
// group with other replicas they would diverge. It returns the state
// digest right after the load, before any later entry (an expiry) is
// applied.
func (s *Shard) ImportSnapshot(ctx context.Context, r io.Reader) (uint64, error) {
	if len(s.opts.Members) > 1 || s.opts.Cluster || s.opts.Join {
		return 0, errors.New("shard: a snapshot can be imported into a single-member group only")
	}
	d, err := s.sm.recoverSnapshot(r, true)
	if err != nil {
		return 0, err
	}
	if err := s.Halted(); err != nil {
		return 0, err
	}
	// Dragonboat writes the snapshot from the state machine as it is now:
	// a restart recovers it instead of replaying the (empty) log.
	s.sm.sinceSnap.Store(1)
	if _, err := s.host.nh.SyncRequestSnapshot(ctx, s.opts.ShardID, dragonboat.SnapshotOption{OverrideCompactionOverhead: true, CompactionOverhead: s.opts.CompactionOverhead}); err != nil {
		return 0, fmt.Errorf("snapshot the imported state: %w", mapErr(err))
	}
	return d, nil
}

// CompactNow takes a Raft snapshot of the replica and compacts its whole
// log behind it, so a replica that joins later is sent the snapshot
// rather than the log from its first entry (a restored shard's log
// starts from an initial state the joiner may not hold).
func (s *Shard) CompactNow(ctx context.Context) error {
	for {
		if s.sm.applied.Load() > 0 {
			s.sm.sinceSnap.Add(1) // a snapshot is due even with nothing new applied
			_, err := s.host.nh.SyncRequestSnapshot(ctx, s.opts.ShardID, dragonboat.SnapshotOption{OverrideCompactionOverhead: true, CompactionOverhead: 0})
			if err == nil {
				return nil
			}
			if ctx.Err() != nil {
				return mapErr(err)
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Offline is a state machine outside any Raft group: it loads a snapshot
// stream, applies log entries through the same apply as a replica, and
// reports the state digest. cairn restore builds the state it restores
// with one.
type Offline struct {
	sm *stateMachine
}

// NewOffline returns an empty offline state machine for a single-node
// shard (it owns every slot). rt runs function libraries (nil: the
// process's default runtime).
func NewOffline(table *command.Table, rt *modules.Runtime, log *slog.Logger) *Offline {
	opts := Options{Modules: rt, Logger: log}
	opts.setDefaults()
	o := &Offline{sm: &stateMachine{db: keyspace.New(), table: table, opts: opts}}
	o.sm.hook()
	return o
}

// NewDigester returns an Offline that only verifies a snapshot stream:
// Load decodes every part of it as NewOffline's would, but digests the
// keyspace's items one by one instead of building the keyspace, so it
// takes little memory and a fraction of the time. Afterwards Applied,
// Digest and Keys answer what they would after a full load; Apply and
// WriteSnapshot refuse. A backup's verification uses it.
func NewDigester(table *command.Table, rt *modules.Runtime, log *slog.Logger) *Offline {
	o := NewOffline(table, rt, log)
	o.sm.digestOnly = true
	return o
}

var errDigester = errors.New("shard: a digester (NewDigester) holds no state to apply to or write")

// Load replaces the state with a snapshot stream. A stream this binary
// cannot read (a newer format, a corrupt one) is an error.
func (o *Offline) Load(r io.Reader) error {
	if _, err := o.sm.recoverSnapshot(r, false); err != nil {
		return err
	}
	if h := o.sm.halted.Load(); h != nil {
		return fmt.Errorf("shard: %s", h.reason)
	}
	return nil
}

// Apply applies one committed log entry (its Raft index and the entry as
// Cairn proposed it) exactly as a replica does. An entry this binary
// cannot apply is an error.
func (o *Offline) Apply(index uint64, data []byte) error {
	if o.sm.digestOnly {
		return errDigester
	}
	if len(data) == 0 {
		// Raft's own entry: takes the index only.
		o.sm.applied.Store(index)
		return nil
	}
	ents := []sm.Entry{{Index: index, Cmd: data}}
	if _, err := o.sm.Update(ents); err != nil {
		return err
	}
	if h := o.sm.halted.Load(); h != nil {
		return fmt.Errorf("shard: entry %d: %s", index, h.reason)
	}
	return nil
}

// Applied returns the index of the last entry applied (or the loaded
// snapshot's).
func (o *Offline) Applied() uint64 { return o.sm.applied.Load() }

// Time returns the applied leader time (Unix ms).
func (o *Offline) Time() int64 {
	o.sm.mu.RLock()
	defer o.sm.mu.RUnlock()
	return o.sm.lastTime
}

// Digest returns the state digest (Shard.StateDigest's).
func (o *Offline) Digest() uint64 {
	o.sm.mu.RLock()
	defer o.sm.mu.RUnlock()
	return o.sm.stateDigest()
}

// Keys returns the number of keys.
func (o *Offline) Keys() int {
	o.sm.mu.RLock()
	defer o.sm.mu.RUnlock()
	if o.sm.digestOnly {
		return o.sm.dbKeys
	}
	return o.sm.db.Len()
}

// WriteSnapshot writes the state as a snapshot stream.
func (o *Offline) WriteSnapshot(w io.Writer) error {
	if o.sm.digestOnly {
		return errDigester
	}
	v, err := o.sm.PrepareSnapshot()
	if err != nil {
		return err
	}
	sc := v.(*snapshotCtx)
	defer sc.snap.Release()
	return sc.writeTo(w)
}

// Close releases the function libraries' instances.
func (o *Offline) Close() {
	if g := o.sm.libs.Load(); g != nil {
		g.Flush(context.Background())
	}
}

// Reslot re-splits state by hash slot (cairn restore into another
// number of shards): afterwards o holds, of every slot in owned, the keys
// of the Offline from(slot) names (o's own when it names o, none when
// nil), and no key of any other slot; its slot state is owned (nil owned:
// a single-node shard, which owns every slot and has no slot state).
// Everything else — configuration, function libraries, FT definitions —
// stays o's; the FT indexes are brought up to the keys it now holds.
func (o *Offline) Reslot(owned []uint16, from func(sl uint16) *Offline) error {
	var want slotSet
	if owned == nil {
		for i := range want {
			want[i] = ^uint64(0)
		}
	}
	for _, sl := range owned {
		want.set(sl)
	}
	o.sm.mu.Lock()
	defer o.sm.mu.Unlock()
	var buf []byte
	for i := 0; i < slot.Count; i++ {
		sl := uint16(i)
		src := from(sl)
		if !want.has(sl) || src != o {
			o.sm.db.DeleteSlot(sl)
		}
		if !want.has(sl) || src == nil || src == o {
			continue
		}
		src.sm.mu.RLock()
		buf = src.sm.db.ExportSlot(buf[:0], sl)
		src.sm.mu.RUnlock()
		if len(buf) == 0 {
			continue
		}
		if _, err := o.sm.db.Import(buf); err != nil {
			return fmt.Errorf("slot %d: %w", sl, err)
		}
	}
	if owned == nil {
		o.sm.slots = nil
	} else {
		o.sm.slots = initialSlots(owned)
	}
	o.sm.reindex(o.sm.lastTime)
	return nil
}

// CountSlot returns the number of keys in hash slot sl.
func (o *Offline) CountSlot(sl uint16) int {
	o.sm.mu.RLock()
	defer o.sm.mu.RUnlock()
	return o.sm.db.CountSlot(sl)
}

// Config returns the applied replicated configuration and its epoch.
func (o *Offline) Config() (keyspace.Config, uint64) {
	o.sm.mu.RLock()
	defer o.sm.mu.RUnlock()
	return o.sm.db.Cfg, o.sm.cfgEpoch
}

// HasSlotState tells whether the state has a cluster shard's slot state
// (false for a single-node shard, which owns every slot).
func (o *Offline) HasSlotState() bool {
	o.sm.mu.RLock()
	defer o.sm.mu.RUnlock()
	return o.sm.slots != nil
}

// SlotOwned tells whether the state owns hash slot sl and whether a
// migration has it frozen (a single-node shard owns every slot). A point-
// in-time restore of a cluster places each slot's keys by it: the slot
// state is replicated through the shard's log, so after a replay it is
// where the slot's keys were at that moment.
func (o *Offline) SlotOwned(sl uint16) (owned, frozen bool) {
	o.sm.mu.RLock()
	defer o.sm.mu.RUnlock()
	if o.sm.slots == nil {
		return true, false
	}
	return o.sm.slots.owned.has(sl), o.sm.slots.frozen.has(sl)
}
