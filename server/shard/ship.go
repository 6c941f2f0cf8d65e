package shard

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"

	dragonboat "github.com/lni/dragonboat/v4"
	pb "github.com/lni/dragonboat/v4/raftpb"
	sm "github.com/lni/dragonboat/v4/statemachine"

	"github.com/cairndb/cairn/server/entry"
)

// Shipping between regions (package regions): the source side reads its
// committed log (ReadCommitted); the destination proposes what it
// received as entry.Shipped entries (ProposeShipped), and apply runs each
// source entry exactly as its writer did, at the source entry's time and
// seed, exactly once: the last source index applied per source shard is
// replicated state (shipState), kept in snapshots (the region section).

// CommittedEntry is one entry of a shard's log at or below the replica's
// applied index. Data is the entry as Cairn proposed it (entry codec), or
// nil for an entry of Raft's own (a new leader's empty entry, a
// membership change), which changes no state but still takes an index.
type CommittedEntry struct {
	Index uint64
	Data  []byte
}

// ErrCompacted is returned by ReadCommitted when the log no longer holds
// the first entry asked for (a snapshot compacted it away).
var ErrCompacted = errors.New("shard: log compacted past the requested index")

// readBudget bounds the bytes one ReadCommitted call reads.
const readBudget = 4 << 20

// ReadCommitted returns up to max entries of this replica's log from index
// from on, none above the applied index (so none that is not committed),
// in index order without gaps. It reads the log store under Dragonboat's
// log reader only, never the state machine, so it does not hold up
// apply or proposals beyond the bounded read. An empty result means
// nothing at or after from is applied yet.
func (s *Shard) ReadCommitted(from uint64, max int) ([]CommittedEntry, error) {
	if from == 0 {
		from = 1
	}
	s.sm.tail.use()
	applied := s.sm.applied.Load()
	if from > applied || max <= 0 {
		return nil, nil
	}
	high := min(applied+1, from+uint64(max))
	if out, ok := s.sm.tail.read(from, high-1); ok {
		// Only if the log still holds from: its compaction decides, as
		// for any reader of the log.
		if _, _, err := s.logFrom(from); err != nil {
			return nil, err
		}
		return out, nil
	}
	return s.readLog(from, high)
}

// logFrom returns the replica's log reader and the last index it holds,
// or ErrCompacted if it no longer holds from.
func (s *Shard) logFrom(from uint64) (dragonboat.ReadonlyLogReader, uint64, error) {
	lr, err := s.host.nh.GetLogReader(s.opts.ShardID)
	if err != nil {
		return nil, 0, mapErr(err)
	}
	first, last := lr.GetRange()
	if from < first {
		return nil, 0, fmt.Errorf("%w: first index held is %d, asked for %d", ErrCompacted, first, from)
	}
	return lr, last, nil
}

// readLog is ReadCommitted from the log store: entries [from, high).
func (s *Shard) readLog(from, high uint64) ([]CommittedEntry, error) {
	lr, last, err := s.logFrom(from)
	if err != nil {
		return nil, err
	}
	high = min(high, last+1)
	if high <= from {
		return nil, nil
	}
	ents, err := lr.Entries(from, high, readBudget)
	if err != nil {
		if f, _ := lr.GetRange(); from < f {
			return nil, fmt.Errorf("%w: first index held is %d, asked for %d", ErrCompacted, f, from)
		}
		return nil, err
	}
	out := make([]CommittedEntry, 0, len(ents))
	for i := range ents {
		e := &ents[i]
		if e.Index != from+uint64(i) {
			return nil, fmt.Errorf("shard: log read returned index %d, want %d", e.Index, from+uint64(i))
		}
		ce := CommittedEntry{Index: e.Index}
		switch e.Type {
		case pb.ApplicationEntry:
			if len(e.Cmd) > 0 {
				ce.Data = e.Cmd
			}
		case pb.EncodedEntry:
			// Dragonboat's encoded entry: a one-byte header (format
			// version in the high nibble, compression in bits 1-3,
			// session in bit 0), then the payload. Cairn configures no
			// compression and proposes without sessions, so the payload
			// is the rest; anything else is not shipped (shipping it raw
			// would make the destination halt), but reported.
			if len(e.Cmd) == 0 || e.Cmd[0] != 0 {
				return nil, fmt.Errorf("shard: log entry %d has an encoding shipping does not support (header %#x)", e.Index, e.Cmd[:min(1, len(e.Cmd))])
			}
			if len(e.Cmd) > 1 {
				ce.Data = e.Cmd[1:]
			}
		}
		out = append(out, ce)
	}
	return out, nil
}

// PendingData counts the entries of this replica's log past its applied
// index that carry data (Raft's own no-ops and membership changes do
// not): entries a restarted replica has still to replay, or a tail not
// committed yet. A rejoining old primary region lists its divergent
// tail once it is 0 (regions/rejoin.go).
func (s *Shard) PendingData() (int, error) {
	applied := s.sm.applied.Load()
	lr, err := s.host.nh.GetLogReader(s.opts.ShardID)
	if err != nil {
		return 0, mapErr(err)
	}
	_, last := lr.GetRange()
	n := 0
	for from := applied + 1; from <= last; {
		ents, err := lr.Entries(from, last+1, readBudget)
		if err != nil {
			return 0, err
		}
		if len(ents) == 0 {
			break
		}
		for i := range ents {
			e := &ents[i]
			switch e.Type {
			case pb.ApplicationEntry:
				if len(e.Cmd) > 0 {
					n++
				}
			case pb.EncodedEntry:
				if len(e.Cmd) > 1 {
					n++
				}
			}
		}
		from = ents[len(ents)-1].Index + 1
	}
	return n, nil
}

// LogFirstIndex returns the first index this replica's log still holds
// (entries before it were compacted into a snapshot), 0 if unknown.
func (s *Shard) LogFirstIndex() uint64 {
	lr, err := s.host.nh.GetLogReader(s.opts.ShardID)
	if err != nil {
		return 0
	}
	first, _ := lr.GetRange()
	return first
}

// AppliedIndex returns the index of the last entry this replica applied.
func (s *Shard) AppliedIndex() uint64 { return s.sm.applied.Load() }

// ShipPosition is how far a destination shard applied a source shard's
// log: the source index and the source entry's (leader) time.
type ShipPosition struct {
	Index uint64
	Time  int64
}

// ShipPosition returns the last source position this replica applied
// from the source shard src (zero if none).
func (s *Shard) ShipPosition(src uint64) ShipPosition {
	s.sm.mu.RLock()
	defer s.sm.mu.RUnlock()
	return s.sm.ship[src]
}

// ProposeShipped proposes source entries of shard src (increasing
// indexes) as one entry.Shipped entry and waits until it is applied.
// Entries at or below the position already applied are skipped at apply,
// so proposing the same entries twice (a retried batch, two leaders) is
// harmless.
func (s *Shard) ProposeShipped(src uint64, ents []CommittedEntry) error {
	cmds := make([][][]byte, len(ents))
	sb := []byte(strconv.FormatUint(src, 10))
	for i, e := range ents {
		cmds[i] = [][]byte{sb, []byte(strconv.FormatUint(e.Index, 10)), e.Data}
	}
	_, err := s.propose(entry.Shipped, cmds, s.opts.ProposalTimeout).Wait()
	return err
}

// SetPassive stops (or resumes) the leader's own proposals that change
// the keyspace or its clock: active expiry, eviction and clock ticks. A region's secondary is
// passive: its keyspace changes only by what the primary shipped, where
// the primary's own expiry and eviction entries arrive too.
func (s *Shard) SetPassive(on bool) { s.passive.Store(on) }

// applyShipped applies an entry.Shipped entry (see entry.Shipped). It
// returns why the shard must halt, or "".
func (s *stateMachine) applyShipped(e *entry.Entry) (sm.Result, string) {
	var n uint64
	for _, cmd := range e.Cmds {
		if len(cmd) != 3 {
			return sm.Result{}, "corrupt shipped entry"
		}
		src, err1 := strconv.ParseUint(string(cmd[0]), 10, 64)
		idx, err2 := strconv.ParseUint(string(cmd[1]), 10, 64)
		if err1 != nil || err2 != nil {
			return sm.Result{}, "corrupt shipped entry position"
		}
		if s.ship == nil {
			s.ship = map[uint64]ShipPosition{}
		}
		pos := s.ship[src]
		if idx <= pos.Index {
			continue // applied already: exactly once
		}
		if len(cmd[2]) == 0 {
			// Raft's own entry at the source: takes the index only.
			s.ship[src] = ShipPosition{Index: idx, Time: pos.Time}
			continue
		}
		var in entry.Entry
		if err := entry.Decode(cmd[2], &in); err != nil {
			return sm.Result{}, fmt.Sprintf("shipped entry %d of shard %d does not decode: %v", idx, src, err)
		}
		if why := s.unknown(&in); why != "" {
			return sm.Result{}, fmt.Sprintf("shipped entry %d of shard %d: %s", idx, src, why)
		}
		if in.Kind == entry.Shipped {
			// The source was itself a destination once: its positions
			// are in another log's index space. Not supported yet.
			return sm.Result{}, fmt.Sprintf("shipped entry %d of shard %d is itself a shipped entry (chained regions are not supported)", idx, src)
		}
		s.advanceClock(&in, s.index)
		s.apply(&in) // the replies went to the source's clients
		s.ship[src] = ShipPosition{Index: idx, Time: in.Time}
		n++
	}
	return sm.Result{Value: n}, ""
}

// The region section of a snapshot (after the function libraries, from
// header CAIRNSM6 on): its own version byte, then the ship positions by
// source shard in increasing order; version 2 adds, after them, the
// snapshots being received (shipStage) by source shard. Version 1 is
// still written while no snapshot is being received, so a binary that
// reads only version 1 loads such snapshots.
const (
	shipSectionV1      = 1
	shipSectionVersion = 2
)

func appendShipSection(dst []byte, ship map[uint64]ShipPosition, stage map[uint64]*shipStage) []byte {
	v := byte(shipSectionV1)
	if len(stage) > 0 {
		v = shipSectionVersion
	}
	dst = append(dst, v)
	dst = binary.AppendUvarint(dst, uint64(len(ship)))
	for _, src := range slices.Sorted(maps.Keys(ship)) {
		p := ship[src]
		dst = binary.AppendUvarint(dst, src)
		dst = binary.AppendUvarint(dst, p.Index)
		dst = binary.AppendVarint(dst, p.Time)
	}
	if v == shipSectionV1 {
		return dst
	}
	dst = binary.AppendUvarint(dst, uint64(len(stage)))
	for _, src := range slices.Sorted(maps.Keys(stage)) {
		st := stage[src]
		dst = binary.AppendUvarint(dst, src)
		dst = binary.AppendUvarint(dst, st.index)
		dst = binary.AppendVarint(dst, st.time)
		dst = binary.AppendUvarint(dst, uint64(len(st.buf)))
		dst = append(dst, st.buf...)
	}
	return dst
}

// errShipSectionVersion is returned for a region section written by a
// newer binary.
var errShipSectionVersion = errors.New("snapshot region section version is newer than this binary's")

func readShipSection(br *bufio.Reader) (map[uint64]ShipPosition, map[uint64]*shipStage, error) {
	v, err := br.ReadByte()
	if err != nil {
		return nil, nil, err
	}
	if v != shipSectionV1 && v != shipSectionVersion {
		return nil, nil, fmt.Errorf("%w (%d > %d)", errShipSectionVersion, v, shipSectionVersion)
	}
	n, err := binary.ReadUvarint(br)
	if err != nil {
		return nil, nil, err
	}
	if n > 1<<20 {
		return nil, nil, errors.New("region section too long")
	}
	out := make(map[uint64]ShipPosition, n)
	for range n {
		src, err := binary.ReadUvarint(br)
		if err != nil {
			return nil, nil, err
		}
		idx, err := binary.ReadUvarint(br)
		if err != nil {
			return nil, nil, err
		}
		t, err := binary.ReadVarint(br)
		if err != nil {
			return nil, nil, err
		}
		out[src] = ShipPosition{Index: idx, Time: t}
	}
	if v == shipSectionV1 {
		return out, nil, nil
	}
	if n, err = binary.ReadUvarint(br); err != nil {
		return nil, nil, err
	}
	if n > 1<<16 {
		return nil, nil, errors.New("region section: too many staged snapshots")
	}
	stage := make(map[uint64]*shipStage, n)
	for range n {
		var st shipStage
		src, err := binary.ReadUvarint(br)
		if err != nil {
			return nil, nil, err
		}
		if st.index, err = binary.ReadUvarint(br); err != nil {
			return nil, nil, err
		}
		if st.time, err = binary.ReadVarint(br); err != nil {
			return nil, nil, err
		}
		l, err := binary.ReadUvarint(br)
		if err != nil {
			return nil, nil, err
		}
		if l > 1<<40 {
			return nil, nil, errors.New("region section: staged snapshot too long")
		}
		st.buf = make([]byte, l)
		if _, err := io.ReadFull(br, st.buf); err != nil {
			return nil, nil, err
		}
		stage[src] = &st
	}
	return out, stage, nil
}

// Snapshot catch-up. When a source compacted its log past a destination's
// position, the link ships the source shard's snapshot instead (taken
// on the source replica by WriteShipSnapshot, at its applied index). The
// destination proposes it in chunks, entry.ShipSnapshot, through its own
// log: every destination replica stages the same bytes in replicated
// state (shipStage, kept in this shard's snapshots) and installs them at
// the same log index when the last chunk applies. So the install is
// deterministic and replicated like any entry, and a destination replica
// restarted or caught up from its own snapshot mid-transfer holds the
// same stage.

// shipStage is a source snapshot being received.
type shipStage struct {
	index uint64 // the source index the snapshot is at
	time  int64  // the source's clock at that index
	buf   []byte
}

// WriteShipSnapshot writes this replica's state as a snapshot (the
// format of its Raft snapshots) to w and returns the applied index and
// replicated clock it is at. The state machine lock is held only to take
// the copy-on-write view, not while writing.
func (s *Shard) WriteShipSnapshot(w io.Writer) (uint64, int64, error) {
	c, err := s.sm.PrepareSnapshot()
	if err != nil {
		return 0, 0, fmt.Errorf("shard: snapshot for shipping: %w", err)
	}
	sc := c.(*snapshotCtx)
	defer sc.snap.Release()
	if err := sc.writeTo(w); err != nil {
		return 0, 0, err
	}
	return sc.applied, sc.lastTime, nil
}

// ProposeShipSnapshot proposes one chunk of source shard src's snapshot
// at source index index (clock timeMs), starting at byte offset of the
// snapshot, and waits until it is applied. The last chunk installs it.
func (s *Shard) ProposeShipSnapshot(src, index uint64, timeMs int64, offset uint64, last bool, data []byte) error {
	l := "0"
	if last {
		l = "1"
	}
	cmd := [][]byte{
		[]byte(strconv.FormatUint(src, 10)), []byte(strconv.FormatUint(index, 10)),
		[]byte(strconv.FormatInt(timeMs, 10)), []byte(strconv.FormatUint(offset, 10)),
		[]byte(l), data,
	}
	_, err := s.propose(entry.ShipSnapshot, [][][]byte{cmd}, s.opts.ProposalTimeout).Wait()
	return err
}

// ShipSnapshotsInstalled counts the source snapshots this replica
// installed since it started (node-local, for INFO).
func (s *Shard) ShipSnapshotsInstalled() uint64 { return s.sm.shipInstalls.Load() }

// applyShipSnapshot applies an entry.ShipSnapshot chunk. It returns why
// the shard must halt, or "".
func (s *stateMachine) applyShipSnapshot(e *entry.Entry) (sm.Result, string) {
	if len(e.Cmds) != 1 || len(e.Cmds[0]) != 6 {
		return sm.Result{}, "corrupt shipped snapshot entry"
	}
	cmd := e.Cmds[0]
	src, err1 := strconv.ParseUint(string(cmd[0]), 10, 64)
	idx, err2 := strconv.ParseUint(string(cmd[1]), 10, 64)
	t, err3 := strconv.ParseInt(string(cmd[2]), 10, 64)
	off, err4 := strconv.ParseUint(string(cmd[3]), 10, 64)
	last := string(cmd[4]) == "1"
	if err1 != nil || err2 != nil || err3 != nil || err4 != nil || (!last && string(cmd[4]) != "0") {
		return sm.Result{}, "corrupt shipped snapshot entry header"
	}
	if idx <= s.ship[src].Index {
		return sm.Result{}, "" // already there (a retried transfer)
	}
	st := s.shipStage[src]
	if off == 0 {
		st = &shipStage{index: idx, time: t}
		if s.shipStage == nil {
			s.shipStage = map[uint64]*shipStage{}
		}
		s.shipStage[src] = st
	} else if st == nil || st.index != idx || uint64(len(st.buf)) != off {
		return sm.Result{}, "" // not the continuation of the staged transfer: ignored
	}
	st.buf = append(st.buf, cmd[5]...)
	if !last {
		return sm.Result{}, ""
	}
	// Install: the snapshot replaces the keyspace, configuration,
	// libraries, indexes and clock; this log's own applied index, ship
	// positions and other stages stay.
	delete(s.shipStage, src)
	ship, stage, applied := s.ship, s.shipStage, s.applied.Load()
	why, err := s.recoverFrom(bufio.NewReader(bytes.NewReader(st.buf)), true)
	s.ship, s.shipStage = ship, stage
	s.applied.Store(applied)
	if why == "" && err != nil {
		why = err.Error()
	}
	if why != "" {
		return sm.Result{}, fmt.Sprintf("shipped snapshot of shard %d at %d: %s", src, idx, why)
	}
	if s.ship == nil {
		s.ship = map[uint64]ShipPosition{}
	}
	s.ship[src] = ShipPosition{Index: idx, Time: t}
	s.shipInstalls.Add(1)
	return sm.Result{Value: 1}, ""
}
