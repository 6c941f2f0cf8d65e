package shard

import (
	"errors"
	"fmt"
	"sync/atomic"
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
//
// Dragonboat's target ignores the TimeoutNow that ends a transfer when it
// has committed entries it has not yet applied ("campaign skipped, pending
// config change": its check is committed > applied), and the leader then
// drops proposals until it aborts the transfer an election timeout later;
// a request made meanwhile is ignored as "ongoing". Under a write load the
// target often receives the commit of the last entries together with the
// TimeoutNow, so a single request per election timeout could leave a group
// without a writable leader for several election timeouts (a CI run saw
// 848 ms). So the request is repeated every few RTTs: the first one after
// an abort starts the next try at once. Shard.HandOff also holds new
// proposals and lets the log settle before the first request, which makes
// that race unlikely.
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
	rtt := time.Duration(h.rtt) * time.Millisecond
	deadline := time.Now().Add(timeout)
	// Each target gets two tries' worth before the next is asked (a try
	// is aborted by Raft after an election timeout, 20 RTTs by default):
	// a declined first try is retried, and a target that does not answer
	// (down but not yet known to be) holds writes for under half a second.
	per := 2 * 24 * rtt
	again := 3 * rtt
	var last error
	for i := 0; time.Now().Before(deadline); i++ {
		target := targets[i%len(targets)]
		end := time.Now().Add(per)
		if end.After(deadline) {
			end = deadline
		}
		var asked time.Time
		for time.Now().Before(end) {
			if id, ok := leader(); ok && id != self {
				return id, nil
			}
			if time.Since(asked) >= again {
				if err := transfer(target); err != nil {
					last = err
				}
				asked = time.Now()
			}
			time.Sleep(time.Millisecond)
		}
	}
	if last != nil {
		return 0, fmt.Errorf("%w: %v", ErrHandOff, last)
	}
	return 0, ErrHandOff
}

// proposalHold makes this replica's new proposals wait while a planned
// hand-off is under way (Shard.HandOff): a leader transferring its
// leadership drops proposals, and a quiet log lets the target apply all
// it has before it is asked to take over. Once the hand-off ends the held
// proposals go on; Dragonboat forwards those made on a follower to the
// new leader, so a client sees a slower write, not an error.
type proposalHold struct {
	c atomic.Pointer[chan struct{}]
}

// holdMax bounds how long one proposal waits for a hand-off.
const holdMax = 2 * time.Second

// wait returns once no hand-off holds proposals (or after holdMax).
func (h *proposalHold) wait() {
	c := h.c.Load()
	if c == nil {
		return
	}
	t := time.NewTimer(holdMax)
	select {
	case <-*c:
	case <-t.C:
	}
	t.Stop()
}

// start holds new proposals until the returned release is called.
func (h *proposalHold) start() (release func()) {
	c := make(chan struct{})
	h.c.Store(&c)
	return func() {
		h.c.CompareAndSwap(&c, nil)
		close(c)
	}
}

// settle waits, at most max, until this replica's applied index has not
// moved for quiet: with proposals held, the entries in flight have been
// committed and applied, and the followers (told the commit index at
// once) have had the same time to apply them.
func (s *Shard) settle(quiet, max time.Duration) {
	end := time.Now().Add(max)
	last, since := s.sm.applied.Load(), time.Now()
	for time.Now().Before(end) {
		time.Sleep(time.Millisecond)
		if a := s.sm.applied.Load(); a != last {
			last, since = a, time.Now()
		} else if time.Since(since) >= quiet {
			return
		}
	}
}

// HandOff moves this replica's leadership to one of targets (replica IDs,
// most preferred first) and waits, at most timeout, until another replica
// leads. It returns the new leader, or at once if this replica does not
// lead.
func (s *Shard) HandOff(targets []uint64, timeout time.Duration) (uint64, error) {
	if s.IsLeader() {
		release := s.hold.start()
		defer release()
		rtt := time.Duration(s.host.rtt) * time.Millisecond
		s.settle(rtt/2, 10*rtt)
	}
	return s.host.handOff(s.opts.ShardID, s.opts.ReplicaID, targets, timeout, s.TransferLeader)
}

// HandOff is Shard.HandOff for the meta group.
func (m *Meta) HandOff(targets []uint64, timeout time.Duration) (uint64, error) {
	return m.host.handOff(m.shardID, m.replicaID, targets, timeout, func(target uint64) error {
		return mapErr(m.host.nh.RequestLeaderTransfer(m.shardID, target))
	})
}
