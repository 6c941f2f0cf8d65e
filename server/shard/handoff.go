package shard

import (
	"errors"
	"fmt"
	"time"
)

// Leadership hand-off for a planned stop: a leader that simply exits
// leaves its group without a leader until an election timeout passes (200
// to 400 ms by default) and clients stall or fail meanwhile. Handing
// leadership to another replica first takes a round trip or two: Raft's
// leader transfer waits until the target's log has caught up with the
// leader's, then tells it to campaign at once (Dragonboat's TimeoutNow).
// Proposals arriving meanwhile are dropped, not lost: they were never
// appended, and the caller retries them on the new leader.

// ErrHandOff is returned when no replica took over in time.
var ErrHandOff = errors.New("shard: leadership hand-off did not complete")

// handOff asks each target in turn (most preferred first) to take over
// the group, until a replica other than self leads or timeout passes. It
// returns the new leader's replica ID.
func (h *Host) handOff(shardID, self uint64, targets []uint64, timeout time.Duration, transfer func(uint64) error) (uint64, error) {
	leader := func() (uint64, bool) {
		id, _, ok, err := h.nh.GetLeaderID(shardID)
		return id, ok && err == nil
	}
	if id, ok := leader(); !ok || id != self {
		return id, nil // not (or no longer) the leader: nothing to hand off
	}
	if len(targets) == 0 {
		return 0, fmt.Errorf("%w: no other replica", ErrHandOff)
	}
	deadline := time.Now().Add(timeout)
	// One try per target lasts an election timeout: a transfer that has
	// not happened by then has been aborted by Raft.
	per := time.Duration(h.rtt*20) * time.Millisecond
	var last error
	for i := 0; time.Now().Before(deadline); i++ {
		target := targets[i%len(targets)]
		if err := transfer(target); err != nil {
			last = err
		}
		end := time.Now().Add(per)
		if end.After(deadline) {
			end = deadline
		}
		for time.Now().Before(end) {
			if id, ok := leader(); ok && id != self {
				return id, nil
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
	if last != nil {
		return 0, fmt.Errorf("%w: %v", ErrHandOff, last)
	}
	return 0, ErrHandOff
}

// HandOff moves this replica's leadership to one of targets (replica IDs,
// most preferred first) and waits, at most timeout, until another replica
// leads. It returns the new leader, or at once if this replica does not
// lead.
func (s *Shard) HandOff(targets []uint64, timeout time.Duration) (uint64, error) {
	return s.host.handOff(s.opts.ShardID, s.opts.ReplicaID, targets, timeout, s.TransferLeader)
}

// HandOff is Shard.HandOff for the meta group.
func (m *Meta) HandOff(targets []uint64, timeout time.Duration) (uint64, error) {
	return m.host.handOff(m.shardID, m.replicaID, targets, timeout, func(target uint64) error {
		return mapErr(m.host.nh.RequestLeaderTransfer(m.shardID, target))
	})
}
