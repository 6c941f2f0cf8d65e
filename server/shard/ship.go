package shard

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"

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
	applied := s.sm.applied.Load()
	if from > applied || max <= 0 {
		return nil, nil
	}
	high := min(applied+1, from+uint64(max))
	lr, err := s.host.nh.GetLogReader(s.opts.ShardID)
	if err != nil {
		return nil, mapErr(err)
	}
	first, last := lr.GetRange()
	if from < first {
		return nil, fmt.Errorf("%w: first index held is %d, asked for %d", ErrCompacted, first, from)
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

// The region section of a snapshot (after the configuration section,
// from header CAIRNSM5 on): its own version byte, then the ship
// positions by source shard in increasing order.
const shipSectionVersion = 1

func appendShipSection(dst []byte, ship map[uint64]ShipPosition) []byte {
	dst = append(dst, shipSectionVersion)
	dst = binary.AppendUvarint(dst, uint64(len(ship)))
	for _, src := range slices.Sorted(maps.Keys(ship)) {
		p := ship[src]
		dst = binary.AppendUvarint(dst, src)
		dst = binary.AppendUvarint(dst, p.Index)
		dst = binary.AppendVarint(dst, p.Time)
	}
	return dst
}

// errShipSectionVersion is returned for a region section written by a
// newer binary.
var errShipSectionVersion = errors.New("snapshot region section version is newer than this binary's")

func readShipSection(br *bufio.Reader) (map[uint64]ShipPosition, error) {
	v, err := br.ReadByte()
	if err != nil {
		return nil, err
	}
	if v != shipSectionVersion {
		return nil, fmt.Errorf("%w (%d > %d)", errShipSectionVersion, v, shipSectionVersion)
	}
	n, err := binary.ReadUvarint(br)
	if err != nil {
		return nil, err
	}
	if n > 1<<20 {
		return nil, errors.New("region section too long")
	}
	out := make(map[uint64]ShipPosition, n)
	for range n {
		src, err := binary.ReadUvarint(br)
		if err != nil {
			return nil, err
		}
		idx, err := binary.ReadUvarint(br)
		if err != nil {
			return nil, err
		}
		t, err := binary.ReadVarint(br)
		if err != nil {
			return nil, err
		}
		out[src] = ShipPosition{Index: idx, Time: t}
	}
	return out, nil
}
