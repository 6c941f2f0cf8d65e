package shard

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/entry"
	"github.com/cairndb/cairn/server/reply"
)

// Linearizable reads.
//
// A leader may serve a read from its applied state only if no other leader
// can have committed a write since it last confirmed its leadership. It
// confirms leadership with a ReadIndex round (a heartbeat acknowledged by a
// quorum). With CheckQuorum on, a follower that has heard from the leader
// within the election timeout ignores vote requests (Raft thesis §6.4, and
// Dragonboat's dropRequestVoteFromHighTermNode), so once a quorum has
// acknowledged a heartbeat sent after time t0, no new leader can be elected
// before t0 + election timeout, measured by the followers' tick counts.
//
// The lease therefore runs from t0 (taken before the ReadIndex is issued)
// for half the election timeout. Clock assumption: the leader's and the
// followers' clocks advance at rates within a factor of two of each other
// over one election timeout (200 ms by default) — any ordinary clock does.
// Exceptions, handled explicitly:
//   - leader transfer bypasses the vote check, so the leader drops its
//     lease before it asks for a transfer and takes none for two election
//     timeouts after;
//   - a follower that restarts forgets when it last heard from the leader,
//     so a restarted node waits two election timeouts before it starts its
//     replicas (RestartDelay).
// Outside a lease every read waits for its own ReadIndex round, so a
// deposed leader never serves a stale read.

// monoNow is a monotonic clock reading in nanoseconds.
var monoBase = time.Now()

func monoNow() int64 { return int64(time.Since(monoBase)) }

type lease struct {
	until       atomic.Int64 // monoNow deadline of the current lease
	noLease     atomic.Int64 // no lease may be granted before this
	transfers   atomic.Int64 // bumped by every leader transfer
	mu          sync.Mutex
	renewing    chan struct{}
	reads       atomic.Int64 // reads served by the lease
	readIndexes atomic.Int64 // ReadIndex rounds completed
}

// electionTimeout is the shard's minimum election timeout.
func (s *Shard) electionTimeout() time.Duration {
	return time.Duration(s.opts.ElectionRTT*s.host.rtt) * time.Millisecond
}

// RestartDelay is how long a restarted node waits before starting its
// replicas, so leases granted with its help before it stopped have run out.
func RestartDelay(electionRTT, rttMS uint64) time.Duration {
	if electionRTT == 0 {
		electionRTT = DefaultElectionRTT
	}
	if rttMS == 0 {
		rttMS = DefaultRTTMillisecond
	}
	return 2 * time.Duration(electionRTT*rttMS) * time.Millisecond
}

// readIndex runs one ReadIndex round: when it returns nil, this replica
// has applied everything committed before the call started.
func (s *Shard) readIndex() error {
	if s.closed.Load() {
		return ErrClosed
	}
	rs, err := s.host.readIndex(s.opts.ShardID, 2*time.Second)
	if err != nil {
		return mapErr(err)
	}
	defer rs.Release()
	r := <-rs.ResultC()
	switch {
	case r.Completed():
		s.lease.readIndexes.Add(1)
		return nil
	case r.Timeout():
		return ErrTimeout
	case r.Terminated():
		return ErrClosed
	default:
		return ErrNotLeader
	}
}

// renew confirms leadership with a ReadIndex round and, if allowed,
// extends the lease from the round's start.
func (s *Shard) renew() error {
	t0 := monoNow()
	gen := s.lease.transfers.Load()
	if err := s.readIndex(); err != nil {
		return err
	}
	if !s.IsLeader() {
		return ErrNotLeader
	}
	if gen == s.lease.transfers.Load() && t0 >= s.lease.noLease.Load() {
		until := t0 + int64(s.electionTimeout()/2)
		for {
			cur := s.lease.until.Load()
			if until <= cur || s.lease.until.CompareAndSwap(cur, until) {
				break
			}
		}
	}
	return nil
}

// Barrier returns nil when a read served now from this replica's applied
// state is linearizable: this replica is the leader and either holds a
// lease or has just completed a ReadIndex round. Otherwise it returns
// ErrNotLeader, ErrReadTimeout, ErrClosed or the halt.
func (s *Shard) Barrier() error {
	return readErr(s.barrier())
}

// readErr is a barrier's error as reads report it: a timeout is
// ErrReadTimeout, not the write's ErrTimeout ("may or may not have been
// applied"), since a read that timed out changed nothing.
func readErr(err error) error {
	if errors.Is(err, ErrTimeout) {
		return ErrReadTimeout
	}
	return err
}

func (s *Shard) barrier() error {
	if s.sm.halted.Load() != nil {
		return s.Halted()
	}
	if monoNow() < s.lease.until.Load() && s.IsLeader() {
		s.lease.reads.Add(1)
		return nil
	}
	// Join a renewal already under way; it may grant a lease covering
	// this read. A renewal that started before this read cannot vouch
	// for it without a lease, so then the read runs its own round.
	s.lease.mu.Lock()
	ch := s.lease.renewing
	if ch == nil {
		ch = make(chan struct{})
		s.lease.renewing = ch
		s.lease.mu.Unlock()
		err := s.renew()
		s.lease.mu.Lock()
		s.lease.renewing = nil
		s.lease.mu.Unlock()
		close(ch)
		return err
	}
	s.lease.mu.Unlock()
	<-ch
	if monoNow() < s.lease.until.Load() && s.IsLeader() {
		return nil
	}
	return s.readIndex()
}

// leaseLoop keeps the leader's lease fresh, so reads rarely wait.
func (s *Shard) leaseLoop() {
	defer s.wg.Done()
	every := s.electionTimeout() / 5
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.quit:
			return
		case <-t.C:
		}
		if !s.IsLeader() {
			continue
		}
		if s.lease.until.Load()-monoNow() < int64(2*every) {
			s.renew()
		}
	}
}

// TransferLeader asks Raft to make replica target the leader. The lease is
// dropped first: the transfer target may win an election at once.
func (s *Shard) TransferLeader(target uint64) error {
	s.lease.transfers.Add(1)
	s.lease.noLease.Store(monoNow() + int64(2*s.electionTimeout()))
	s.lease.until.Store(0)
	return mapErr(s.host.nh.RequestLeaderTransfer(s.opts.ShardID, target))
}

// LinearRead runs a read-only command after Barrier.
func (s *Shard) LinearRead(now time.Time, spec *command.Spec, args [][]byte) (reply.Value, error) {
	if err := s.Barrier(); err != nil {
		return reply.Value{}, err
	}
	return s.ReadAt(now, spec, args), nil
}

// LeaseStats reports reads served by the lease and ReadIndex rounds.
func (s *Shard) LeaseStats() (leaseReads, readIndexes int64) {
	return s.lease.reads.Load(), s.lease.readIndexes.Load()
}

// Leader returns the group's leader replica ID and term, if known.
func (s *Shard) Leader() (id, term uint64, ok bool) {
	id, term, ok, err := s.host.nh.GetLeaderID(s.opts.ShardID)
	return id, term, ok && err == nil
}

// ID returns the shard (Raft group) ID.
func (s *Shard) ID() uint64 { return s.opts.ShardID }

// ReplicaID returns this replica's ID.
func (s *Shard) ReplicaID() uint64 { return s.opts.ReplicaID }

// Applied returns the index of the last log entry this replica applied.
func (s *Shard) Applied() uint64 { return s.sm.applied.Load() }

// Members returns the group's voting members (replica ID → Raft address).
func (s *Shard) Members(ctx context.Context) (map[uint64]string, error) {
	m, err := s.host.nh.SyncGetShardMembership(ctx, s.opts.ShardID)
	if err != nil {
		return nil, mapErr(err)
	}
	out := make(map[uint64]string, len(m.Nodes))
	for id, addr := range m.Nodes {
		out[id] = addr
	}
	return out, nil
}

// AddReplica adds a voting member; it must then be started with Join.
func (s *Shard) AddReplica(ctx context.Context, id uint64, addr string) error {
	return mapErr(s.host.nh.SyncRequestAddReplica(ctx, s.opts.ShardID, id, addr, 0))
}

// RemoveReplica removes a member.
func (s *Shard) RemoveReplica(ctx context.Context, id uint64) error {
	return mapErr(s.host.nh.SyncRequestDeleteReplica(ctx, s.opts.ShardID, id, 0))
}

// SlotOp proposes one fenced slot operation and waits for it: it returns
// the slots' status bytes (SlotOwned, SlotFrozen, SlotImporting) after the
// operation and, for OpFreeze, the frozen slots' items. A step refused by
// its fence fails with an error starting with StalePrefix.
func (s *Shard) SlotOp(op string, f Fence, slots []uint16, extra ...[]byte) (status, items []byte, err error) {
	return s.SlotOpRaw(op, EncodeSlots(slots), f.Encode(), extra...)
}

// SlotOpRaw is SlotOp with the slot list and fence already encoded
// (EncodeSlots, Fence.Encode).
func (s *Shard) SlotOpRaw(op string, slots, fence []byte, extra ...[]byte) (status, items []byte, err error) {
	if _, err := DecodeFence(fence); err != nil {
		return nil, nil, err
	}
	cmd := slotOpCommand(op, slots, fence, extra)
	// A short timeout: while a step of a slot move waits, its slots are
	// frozen; after a leader change the move retries at once.
	replies, err := s.propose(entry.SlotOp, [][][]byte{cmd}, 2*time.Second).Wait()
	if err != nil {
		return nil, nil, err
	}
	if len(replies) != 1 {
		return nil, nil, errors.New("shard: slot operation without reply")
	}
	v := replies[0]
	if v.Kind == reply.KindError {
		return nil, nil, errors.New(string(v.Str))
	}
	if v.Kind != reply.KindArray || len(v.Elems) != 2 {
		return nil, nil, errors.New("shard: bad slot operation reply")
	}
	return v.Elems[0].Str, v.Elems[1].Str, nil
}

// OwnsSlot tells whether this replica's applied state owns slot sl and
// has not frozen it: a write for it would be applied here, not refused.
func (s *Shard) OwnsSlot(sl uint16) bool {
	s.sm.mu.RLock()
	defer s.sm.mu.RUnlock()
	st := s.sm.slots
	return st == nil || (st.owned.has(sl) && !st.frozen.has(sl))
}

// OwnedSlots returns the slots this replica's applied state owns (all of
// them for a single-node shard) and the frozen ones.
func (s *Shard) OwnedSlots() (owned, frozen []uint16) {
	s.sm.mu.RLock()
	defer s.sm.mu.RUnlock()
	st := s.sm.slots
	for i := 0; i < len(slotSet{})*64; i++ {
		sl := uint16(i)
		if st == nil || st.owned.has(sl) {
			owned = append(owned, sl)
		}
		if st != nil && st.frozen.has(sl) {
			frozen = append(frozen, sl)
		}
	}
	return owned, frozen
}
