package shard

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"github.com/cairndb/cairn/modules"
	"io"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	sm "github.com/lni/dragonboat/v4/statemachine"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/entry"
	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/server/reply"
	"github.com/cairndb/cairn/server/search"
)

// stateMachine is the keyspace as a Dragonboat concurrent state machine.
// Update (apply) holds the write lock for one batch of entries; readers hold
// the read lock. PrepareSnapshot takes an O(1) copy-on-write view under the
// write lock and SaveSnapshot serializes it while updates continue.
type stateMachine struct {
	// tail: the last applied entries' data while a region link reads
	// this shard's log (shiptail.go); node-local, never read by apply.
	tail shipTail
	// digestOnly (an Offline from NewDigester): a snapshot's keyspace is
	// decoded and digested, not built; dbDigest and dbKeys are what the
	// keyspace's StateDigest and Len would have been.
	digestOnly bool
	dbDigest   uint64
	dbKeys     int
	// prefetchSink keeps the prefetch's reads from being optimized
	// away (written by the apply goroutine only; never read).
	prefetchSink uintptr

	mu    sync.RWMutex
	db    *keyspace.DB
	table *command.Table
	opts  Options
	// slots is nil for a single-node shard, which owns every slot.
	slots *slotState

	lastTime     int64 // applied entry time; never goes back (clock.go)
	clk          replClock
	halted       atomic.Pointer[haltInfo] // set when apply stopped (halt.go)
	applied      atomic.Uint64
	dirty        atomic.Int64 // changes since the last snapshot
	sinceSnap    atomic.Int64 // commands applied since the last snapshot
	snapIndex    atomic.Uint64
	lastSnapUnix atomic.Int64
	snapping     atomic.Bool
	// snapLat times SaveSnapshot (metrics).
	snapLat Latency

	// notifyMask selects keyspace notification classes
	// (command.ClassBit bits); onChange receives what each batch did.
	notifyMask atomic.Uint32
	// notifyFlags is db.Cfg's notify-keyspace-events as a pubsub mask
	// (with K and E); notifyMask and notifyFlags change only with db.Cfg
	// (config.go). cfgEpoch is the directory config version applied.
	notifyFlags atomic.Uint32
	cfgEpoch    uint64
	onChange    func(Change)
	onMiss      func(key string, notify uint32)
	onApply     func()
	change      Change

	// index is the log index of the entry being applied; panics counts
	// the panics recovered while applying or reading (recover.go).
	index  uint64
	panics atomic.Int64

	mem memMirror // maxmemory figures for the leader (evict.go)

	// ft is the FT index registry, derived from the keyspace at apply
	// time (ft.go); ftKeys and ftAll collect what the running command
	// touched; hooked is set once the keyspace hooks are installed.
	ft     *search.Registry
	ftKeys []string
	ftAll  bool
	hooked bool

	// libs is the shard's set of function libraries (functions.go),
	// created on first use.
	libs atomic.Pointer[modules.Registry]

	// ship is, per source shard of another region, the last source
	// position applied (ship.go); replicated state, under mu.
	ship map[uint64]ShipPosition
	// shipStage is, per source shard, a snapshot being received in
	// ShipSnapshot chunks (ship.go); replicated state, under mu.
	shipStage map[uint64]*shipStage
	// shipInstalls counts installed shipped snapshots (node-local).
	shipInstalls atomic.Uint64
}

// Change is what one applied batch of entries did, for the node's WATCH,
// blocked-client and keyspace-notification machinery. It is passed after
// the batch is applied, in log order; the callee must not keep it.
type Change struct {
	ShardID uint64
	// Keys were created, changed or deleted (they may repeat).
	Keys []string
	// All is set when every key may have changed (FLUSHALL, a snapshot
	// was loaded).
	All bool
	// Flushed is set when FLUSHALL/FLUSHDB ran, even on an empty keyspace
	// (All is not set then: no key changed).
	Flushed bool
	// Events are the keyspace notifications raised, in order.
	Events []command.Event
	// Notify is the applied notify-keyspace-events (pubsub mask), for
	// publishing Events.
	Notify uint32
}

// hook installs the keyspace hooks that feed the FT indexes and Change.
func (s *stateMachine) hook() {
	s.hooked = true
	if s.ft == nil {
		s.ft = search.NewRegistry()
	}
	if s.onChange == nil {
		s.db.Hooks = keyspace.Hooks{Touched: s.ftTouched}
		return
	}
	s.db.Hooks = keyspace.Hooks{
		Touched: func(key string, all bool) {
			s.ftTouched(key, all)
			if all {
				s.change.All = true
				return
			}
			s.change.Keys = append(s.change.Keys, key)
		},
		Expired: func(key string) {
			if s.notifyMask.Load()&command.ClassBit(command.ClassExpired) != 0 {
				s.change.Events = append(s.change.Events, command.Event{Class: command.ClassExpired, Name: "expired", Key: key})
			}
		},
		Miss: func(key []byte) {
			if s.onMiss != nil && s.notifyMask.Load()&command.ClassBit(command.ClassKeyMiss) != 0 {
				s.onMiss(string(key), s.notifyFlags.Load())
			}
		},
		Flushed: func() { s.change.Flushed = true },
		Created: func(key string) {
			if s.notifyMask.Load()&command.ClassBit(command.ClassNew) != 0 {
				s.change.Events = append(s.change.Events, command.Event{Class: command.ClassNew, Name: "new", Key: key})
			}
		},
	}
}

// takeEvents moves the notifications a command raised behind those the
// keyspace hooks raised meanwhile (a lazily expired key comes first).
func (s *stateMachine) takeEvents(c *command.Ctx) {
	if len(c.Events) > 0 {
		s.change.Events = append(s.change.Events, c.Events...)
		c.Events = c.Events[:0]
	}
}

// flushChange hands the batch's change to onChange. Called by the apply
// goroutine after releasing the lock.
func (s *stateMachine) flushChange() {
	if s.onChange == nil || (len(s.change.Keys) == 0 && !s.change.All && !s.change.Flushed && len(s.change.Events) == 0) {
		return
	}
	s.change.ShardID = s.opts.ShardID
	s.change.Notify = s.notifyFlags.Load()
	s.notifyChange()
	clear(s.change.Keys)
	s.change.Keys = s.change.Keys[:0]
	s.change.Events = s.change.Events[:0]
	s.change.All = false
	s.change.Flushed = false
}

// ErrBadSnapshot is returned when a snapshot stream does not decode.
var ErrBadSnapshot = errors.New("shard: bad snapshot")

func (s *stateMachine) Update(entries []sm.Entry) ([]sm.Entry, error) {
	if s.onApply != nil {
		// The entries are durable: the leader may propose the writes it
		// held back meanwhile (batch.go).
		s.onApply()
	}
	defer s.flushChange()
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.hooked {
		s.hook()
	}
	var e entry.Entry
	for i := range entries {
		ent := &entries[i]
		s.tail.record(ent.Index, ent.Cmd) // read by region links (shiptail.go)
		if s.halted.Load() != nil {
			ent.Result = s.haltedResult()
			continue
		}
		// An entry this binary cannot apply exactly as the binary that
		// wrote it would stops the shard here (halt.go): never skipped,
		// never answered and passed.
		if err := entry.Decode(ent.Cmd, &e); err != nil {
			s.halt(ent.Index, "log entry does not decode: "+err.Error())
			ent.Result = s.haltedResult()
			continue
		}
		s.index = ent.Index
		if why := s.unknown(&e); why != "" {
			s.halt(ent.Index, why)
			ent.Result = s.haltedResult()
			continue
		}
		if e.Kind == entry.Shipped || e.Kind == entry.ShipSnapshot {
			// Applied at each source entry's own time (ship.go).
			r, why := s.applyShipped(&e)
			if e.Kind == entry.ShipSnapshot {
				r, why = s.applyShipSnapshot(&e)
			}
			if why != "" {
				s.halt(ent.Index, why)
				ent.Result = s.haltedResult()
				continue
			}
			ent.Result = r
			s.applied.Store(ent.Index)
			continue
		}
		s.advanceClock(&e, ent.Index)
		ent.Result = s.apply(&e)
		s.applied.Store(ent.Index)
	}
	s.publishMem()
	return entries, nil
}

// apply runs one entry against the keyspace and encodes the replies; the
// FT indexes reflect every key it touched before it returns.
func (s *stateMachine) apply(e *entry.Entry) sm.Result {
	res := s.applyEntry(e)
	s.reindexGuarded(s.lastTime)
	return res
}

func (s *stateMachine) applyEntry(e *entry.Entry) sm.Result {
	c := command.Ctx{DB: s.db, Now: s.lastTime, ProtoMaxBulkLen: s.db.Cfg.ProtoMaxBulkLen, Search: s.ft}
	s.funcCtx(&c)
	if s.onChange != nil {
		c.NotifyMask = s.notifyMask.Load()
	}
	switch e.Kind {
	case entry.Expire:
		n := uint64(0)
		for _, cmd := range e.Cmds {
			if len(cmd) == 1 && s.expireKey(cmd[0], c.Now) {
				n++
			}
		}
		s.dirty.Add(int64(n))
		return sm.Result{Value: n}
	case entry.Evict:
		return s.applyEvict(e)
	case entry.Multi, entry.WatchedMulti:
		return s.applyMultiGuarded(&c, e)
	case entry.Commands:
		var out []byte
		for i, cmd := range e.Cmds {
			if prefetching && i%keyspace.PrefetchMax == 0 && len(e.Cmds) > 1 {
				s.prefetch(e.Cmds[i:min(i+keyspace.PrefetchMax, len(e.Cmds))])
			}
			c.Seed = e.Seed + uint64(i)
			out = s.applyCmd(&c, cmd, out, false)
		}
		s.dirty.Add(c.Dirty)
		s.sinceSnap.Add(int64(len(e.Cmds)))
		return sm.Result{Value: uint64(len(e.Cmds)), Data: out}
	case entry.Config:
		return s.applyConfig(e)
	case entry.SlotOp:
		var out []byte
		for _, cmd := range e.Cmds {
			out = reply.Append(out, s.slotOp(cmd))
		}
		return sm.Result{Value: uint64(len(e.Cmds)), Data: out}
	}
	return sm.Result{Data: reply.Append(nil, reply.Error("ERR unknown log entry kind"))}
}

// prefetching turns the apply's read-ahead on (benchmarks turn it off to
// compare).
var prefetching = true

// prefetch reads ahead what the next commands of a batch will look up:
// their keys' index entries and items (keyspace.DB.Prefetch). The key is
// taken to be each command's first argument, as it is for nearly every
// write; where it is not, the read is wasted, never wrong: prefetching
// changes nothing in the state.
func (s *stateMachine) prefetch(cmds [][][]byte) {
	var keys [keyspace.PrefetchMax][]byte
	n := 0
	for _, cmd := range cmds {
		if len(cmd) > 1 && n < len(keys) {
			keys[n] = cmd[1]
			n++
		}
	}
	s.prefetchSink += s.db.Prefetch(keys[:n])
}

// applyMulti runs a transaction: all its commands or none. A command on a
// slot this shard does not own, or a watched key that changed, stops the
// whole transaction before anything runs.
func (s *stateMachine) applyMulti(c *command.Ctx, e *entry.Entry) sm.Result {
	cmds := e.Cmds
	if e.Kind == entry.WatchedMulti {
		if len(cmds) == 0 {
			return sm.Result{Data: reply.Append(nil, reply.Error("ERR corrupt log entry"))}
		}
		w := cmds[0]
		cmds = cmds[1:]
		if s.multiOOM(cmds) {
			return sm.Result{Value: 1, Data: reply.Append(nil, errExecAbortOOM)}
		}
		for i := 0; i+1 < len(w); i += 2 {
			want, _ := strconv.ParseUint(string(w[i+1]), 10, 64)
			if s.db.KeyDigest(w[i], c.Now) != want {
				return sm.Result{Value: 1, Data: reply.Append(nil, reply.NilArray)}
			}
		}
	}
	if e.Kind == entry.Multi && s.multiOOM(cmds) {
		return sm.Result{Value: 1, Data: reply.Append(nil, errExecAbortOOM)}
	}
	if s.slots != nil {
		for _, cmd := range cmds {
			if len(cmd) == 0 {
				continue
			}
			if v, bad := s.slots.check(s.table.Lookup(cmd[0]), cmd); bad {
				return sm.Result{Value: 1, Data: reply.Append(nil, v)}
			}
		}
	}
	c.NoBlock = true
	out := append([]byte(nil), byte(reply.KindArray))
	out = binary.AppendUvarint(out, uint64(len(cmds)))
	for i, cmd := range cmds {
		c.Seed = e.Seed + uint64(i)
		out = s.applyCmd(c, cmd, out, true)
	}
	s.dirty.Add(c.Dirty)
	s.sinceSnap.Add(int64(len(cmds)))
	return sm.Result{Value: 1, Data: out}
}

func (s *stateMachine) Lookup(q interface{}) (interface{}, error) {
	return nil, errors.New("shard: Lookup is not used; read through Shard.Read")
}

type snapshotCtx struct {
	snap     *keyspace.Snapshot
	ft       *search.Snapshot
	slots    []byte
	cfg      []byte
	funcs    []byte
	ship     []byte
	lastTime int64
	applied  uint64
	dirty    int64
	since    int64
}

func (s *stateMachine) PrepareSnapshot() (interface{}, error) {
	if s.halted.Load() != nil {
		// No snapshot may claim the entry this replica could not apply.
		return nil, sm.ErrSnapshotAborted
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return &snapshotCtx{snap: s.db.Snapshot(), ft: s.ft.Snapshot(), slots: appendSlotState(nil, s.slots), cfg: appendConfigSection(nil, &s.db.Cfg, s.cfgEpoch), funcs: appendFunctionSection(nil, s.libs.Load()), ship: appendShipSection(nil, s.ship, s.shipStage), lastTime: s.lastTime, applied: s.applied.Load(), dirty: s.dirty.Load(), since: s.sinceSnap.Load()}, nil
}

// snapHeader starts a state-machine snapshot; the leader time, applied
// index, slot state, replicated configuration, function libraries and the
// FT index registry (search.Snapshot's section) follow it; version 6 adds
// the region section (ship positions, ship.go) after the libraries.
// Version 5 (no region section), 4 (no
// libraries, no FT section), 3 (no configuration either) and 2 (no slot
// state either) snapshots are still read; they recover no library, no
// index and the initial configuration.
const (
	snapHeader   = "CAIRNSM6"
	snapHeaderV5 = "CAIRNSM5"
	snapHeaderV4 = "CAIRNSM4"
	snapHeaderV3 = "CAIRNSM3"
	snapHeaderV2 = "CAIRNSM2"
)

func (s *stateMachine) SaveSnapshot(ctx interface{}, w io.Writer, _ sm.ISnapshotFileCollection, done <-chan struct{}) error {
	sc := ctx.(*snapshotCtx)
	start := time.Now()
	defer func() { s.snapLat.Observe(time.Since(start)) }()
	// Once written, the view is no longer read: apply may change the
	// items it shared in place again (keyspace.Snapshot.Release).
	defer sc.snap.Release()
	s.snapping.Store(true)
	defer s.snapping.Store(false)
	if err := sc.writeTo(w); err != nil {
		return err
	}
	// Writes applied while the snapshot was being written still count.
	s.dirty.Add(-sc.dirty)
	s.sinceSnap.Add(-sc.since)
	s.lastSnapUnix.Store(time.Now().Unix())
	return nil
}

// writeTo writes the snapshot (header, sections, FT indexes, keyspace).
func (sc *snapshotCtx) writeTo(w io.Writer) error {
	hdr := binary.AppendVarint([]byte(snapHeader), sc.lastTime)
	hdr = binary.AppendUvarint(hdr, sc.applied)
	hdr = append(hdr, sc.slots...)
	hdr = append(hdr, sc.cfg...)
	hdr = append(hdr, sc.funcs...)
	hdr = append(hdr, sc.ship...)
	if _, err := w.Write(hdr); err != nil {
		return err
	}
	if _, err := sc.ft.WriteTo(w); err != nil {
		return fmt.Errorf("save snapshot: search: %w", err)
	}
	if _, err := sc.snap.WriteTo(w); err != nil {
		return fmt.Errorf("save snapshot: %w", err)
	}
	return nil
}

func (s *stateMachine) RecoverFromSnapshot(r io.Reader, _ []sm.SnapshotFile, done <-chan struct{}) error {
	s.tail.clear() // the indexes the snapshot covers are not in the tail
	why, err := s.recoverFrom(bufio.NewReaderSize(r, 1<<20), false)
	if why != "" {
		// A format from a newer binary: stop, do not guess.
		s.halt(0, why)
		return nil
	}
	return err
}

// recoverFrom replaces the whole state with the snapshot read from br. It
// returns why the shard must halt (a section from a newer binary), or an
// error for a snapshot that does not decode. inApply: called by apply
// (ShipSnapshot, ship.go) with mu held; the caller restores what belongs
// to this log rather than the snapshot's (applied index, ship positions).
func (s *stateMachine) recoverFrom(br *bufio.Reader, inApply bool) (string, error) {
	hdr := make([]byte, len(snapHeader))
	if _, err := io.ReadFull(br, hdr); err != nil {
		return "", fmt.Errorf("%w: header", ErrBadSnapshot)
	}
	if string(hdr) != snapHeader && string(hdr) != snapHeaderV5 && string(hdr) != snapHeaderV4 && string(hdr) != snapHeaderV3 && string(hdr) != snapHeaderV2 {
		if newerSnapshot(hdr) {
			return fmt.Sprintf("snapshot format %q is newer than this binary's %q", hdr, snapHeader), nil
		}
		return "", fmt.Errorf("%w: header", ErrBadSnapshot)
	}
	t, err := binary.ReadVarint(br)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrBadSnapshot, err)
	}
	applied, err := binary.ReadUvarint(br)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrBadSnapshot, err)
	}
	var slots *slotState
	if s.opts.Cluster {
		slots = initialSlots(s.opts.InitialSlots)
	}
	if string(hdr) != snapHeaderV2 {
		if slots, err = readSlotState(br, slots); err != nil {
			return "", fmt.Errorf("%w: slot state: %v", ErrBadSnapshot, err)
		}
	}
	cfg, epoch, err := checkConfig(keyspace.DefaultConfig(), 0, s.opts.InitialConfig)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrBadSnapshot, err)
	}
	if string(hdr) == snapHeader || string(hdr) == snapHeaderV5 || string(hdr) == snapHeaderV4 {
		if cfg, epoch, err = readConfigSection(br); err != nil {
			if errors.Is(err, keyspace.ErrConfigVersion) {
				// A config section from a newer binary: stop, as for a
				// newer header.
				return err.Error(), nil
			}
			return "", fmt.Errorf("%w: config: %v", ErrBadSnapshot, err)
		}
	}
	var libs *modules.Registry
	if string(hdr) == snapHeader || string(hdr) == snapHeaderV5 {
		if libs, err = s.readFunctionSection(br); err != nil {
			if errors.Is(err, modules.ErrDumpVersion) {
				// Libraries encoded by a newer binary: stop.
				return "snapshot function section: " + err.Error(), nil
			}
			return "", fmt.Errorf("%w: functions: %v", ErrBadSnapshot, err)
		}
	} else if rt := runtimeOf(s); rt != nil {
		libs = modules.NewRegistry(rt)
	}
	reg := search.NewRegistry()
	var ship map[uint64]ShipPosition
	var stage map[uint64]*shipStage
	if string(hdr) == snapHeader {
		if ship, stage, err = readShipSection(br); err != nil {
			if errors.Is(err, errShipSectionVersion) {
				return err.Error(), nil
			}
			return "", fmt.Errorf("%w: region section: %v", ErrBadSnapshot, err)
		}
	}
	if string(hdr) == snapHeader || string(hdr) == snapHeaderV5 {
		if reg, err = search.Load(br); err != nil {
			if errors.Is(err, search.ErrVersion) {
				return err.Error(), nil
			}
			return "", fmt.Errorf("%w: search: %v", ErrBadSnapshot, err)
		}
	}
	if !inApply {
		s.mu.Lock()
		defer s.mu.Unlock()
	}
	if old := s.libs.Swap(libs); old != nil {
		if libs != nil {
			libs.InheritCallStats(old)
		}
		old.Flush(context.Background())
	}
	if !s.hooked {
		s.hook()
	}
	// Loading the keyspace touches every key: with an empty registry
	// meanwhile nothing is collected; the loaded one is already current.
	s.ft = search.NewRegistry()
	s.slots = slots
	s.ship, s.shipStage = ship, stage
	s.db.Cfg, s.cfgEpoch = cfg, epoch
	s.configChanged()
	s.db.SetClock(t)
	if s.digestOnly {
		d, n, err := keyspace.DigestSnapshot(br, &s.db.Cfg)
		if err != nil {
			if errors.Is(err, keyspace.ErrSnapshotVersion) {
				return err.Error(), nil
			}
			return "", fmt.Errorf("recover snapshot: %w", err)
		}
		s.dbDigest, s.dbKeys = d, n
	} else if err := s.db.Load(br); err != nil {
		if errors.Is(err, keyspace.ErrSnapshotVersion) {
			return err.Error(), nil
		}
		return "", fmt.Errorf("recover snapshot: %w", err)
	}
	s.ft, s.ftKeys, s.ftAll = reg, s.ftKeys[:0], false
	s.lastTime = t
	s.clk.observe(t, monoNow())
	s.applied.Store(applied)
	s.publishMem()
	s.dirty.Store(0)
	s.sinceSnap.Store(0)
	if s.onChange != nil {
		s.change.All = true
		if !inApply {
			defer s.flushChange() // apply's caller (Update) flushes
		}
	}
	return "", nil
}

// recoverSnapshot loads a snapshot stream outside apply: an Offline
// state machine's (imported false) or a backup loaded into a running
// replica (imported, backup.go), which keeps its own applied index (the
// stream's is another log's) and gets the state digest taken under the
// same lock as the load. A stream from a newer binary halts the state
// machine and returns no error (the caller checks the halt).
func (s *stateMachine) recoverSnapshot(r io.Reader, imported bool) (uint64, error) {
	s.mu.Lock()
	applied := s.applied.Load()
	why, err := s.recoverFrom(bufio.NewReaderSize(r, 1<<20), true)
	var d uint64
	if why == "" && err == nil && imported {
		s.applied.Store(applied)
		d = s.stateDigest()
	}
	if why == "" && err == nil {
		s.flushChange() // as apply's caller would (recoverFrom in apply mode leaves it)
	}
	s.mu.Unlock()
	if why != "" {
		s.halt(0, why)
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return d, nil
}

func (s *stateMachine) Close() error { return nil }
