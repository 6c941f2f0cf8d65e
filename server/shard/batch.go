package shard

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lni/dragonboat/v4"

	"github.com/cairndb/cairn/server/entry"
	"github.com/cairndb/cairn/server/reply"
)

// Coalescing client writes (issue 10).
//
// Every client write entry costs Dragonboat and the state machine a fixed
// amount of work (a pending-proposal slot, a log record, a RequestState, a
// result notification, a pass through Update) whatever it carries.
// Propose therefore joins the Commands entries of concurrent connections
// into one entry while the log is busy, with no timer:
//
//   - A write that finds nothing outstanding is proposed at once (an idle
//     shard adds no latency). Outstanding means: a coalesced entry was
//     proposed and the state machine has not started applying any entry
//     since.
//   - Otherwise it joins the open batch, which is proposed as one entry
//     as soon as (a) the state machine starts applying (Update: the log
//     write before is durable, Dragonboat takes the next one), or (b) every
//     writer released by the entries that completed meanwhile has come
//     back (expect): writers that completed together propose together,
//     and their entry reaches Dragonboat while the previous log write is
//     still in progress, so Dragonboat's step never runs without an entry
//     (a step with only a commit-index change still costs an fsync), or
//     (c) an entry failed (kickBatch, so a lost entry cannot hold writes).
//   - One writer at a time proposes; it takes the whole queue, in order.
//
// Measured at L1 (bench/floor): about 15-25 commands per entry at -c 50
// with the same writes per fsync as one entry per write. Holding writes
// until an earlier entry had been applied instead (an in-flight limit)
// split the writers into more, smaller fsync groups and cost more fsyncs
// than it saved.
//
// The joined entry is an ordinary Commands entry (no new kind, no new
// version: a Commands entry always was a list of independent commands,
// one reply each), so followers and replays of every binary apply it as
// before. The leader fixes its time and seed when it proposes it;
// command i of the entry gets seed+i, as in any Commands entry. Each
// waiter gets the replies of its own commands, a slice of the entry's
// reply vector, only after the entry is committed and applied; an entry
// that fails (timeout, leadership lost, shard halted or closed) fails
// every waiter with the same error. A command that panics is answered by
// recover.go for that command alone, so the others in the batch get their
// own replies. Keyspace notifications, WATCH and blocked-client wake-ups
// come from the per-command apply as before. Transactions (Multi,
// WatchedMulti) and internal entries are proposed on their own.
//
// Whichever writer of the entry receives Dragonboat's result decodes the
// replies and wakes the others (no extra goroutine). Per connection,
// order is kept trivially: a connection waits for its write before it
// proposes the next one.

var (
	// batching turns coalescing on (tests turn it off to compare).
	batching = true
	// batchMaxCmds and batchMaxBytes bound one coalesced entry; a write
	// larger than batchMaxBytes is proposed alone.
	batchMaxCmds  = 4096
	batchMaxBytes = 4 << 20
)

// batcher is a shard's queue of coalesced Commands entries.
type batcher struct {
	mu        sync.Mutex
	queue     []*batch // not yet proposed, oldest first; the last one is open
	proposing bool     // a writer is proposing the queue
	spare     []*batch // the proposer's reusable copy of the queue
	// outstanding: an entry was proposed that the state machine has not
	// started applying; kick: kickBatch ran while a writer was proposing.
	outstanding, kick bool
	// expect counts the writers of finished entries that have not
	// proposed again: once all are back, the held batch goes at once.
	expect int
	// entries and cmds count the coalesced entries proposed and the
	// commands they carried.
	entries, cmds atomic.Int64
}

// BatchStats reports how many coalesced Commands entries this replica
// proposed and how many client commands they carried.
func (s *Shard) BatchStats() (entries, cmds int64) {
	return s.bat.entries.Load(), s.bat.cmds.Load()
}

// batch is one coalesced Commands entry and what became of it.
type batch struct {
	cmds     [][][]byte // until proposed
	size     int        // entry.CmdsLen(cmds)
	start    time.Time  // when the oldest member was proposed
	sh       *Shard
	members  int // writers that joined
	rs       *dragonboat.RequestState
	resc     chan dragonboat.RequestResult // rs.ResultC()
	proposed chan struct{}                 // closed once rs (or err) is set
	done     chan struct{}                 // closed once err or out is set
	// err, or else out (one reply per command), once done is closed.
	err error
	out []reply.Value
}

// proposeBatched queues a Commands entry's commands for the next
// coalesced entry, and proposes the queue unless another writer is
// doing so.
func (s *Shard) proposeBatched(cmds [][][]byte) *Pending {
	p := &Pending{kind: entry.Commands, n: len(cmds), start: time.Now(), host: s.host}
	if _, err := s.writeVersion(entry.Commands, cmds); err != nil {
		p.err = err
		return p
	}
	size := entry.CmdsLen(cmds)
	est := writeEstimate(entry.HeaderMax+size, len(cmds))
	if pre := s.admit(entry.Commands, cmds, est); pre != nil {
		return pre
	}
	if s.closed.Load() {
		p.err = ErrClosed
		return p
	}
	if err := s.host.disk.refuse(entry.Commands); err != nil {
		p.err = err
		return p
	}
	p.est, p.ev = est, &s.ev
	s.ev.inflight.Add(est)

	b := &s.bat
	b.mu.Lock()
	var bt *batch
	if n := len(b.queue); n > 0 {
		last := b.queue[n-1]
		if len(last.cmds)+len(cmds) <= batchMaxCmds && last.size+size <= batchMaxBytes {
			bt = last
		}
	}
	if bt == nil {
		bt = &batch{start: p.start, sh: s, proposed: make(chan struct{}), done: make(chan struct{})}
		b.queue = append(b.queue, bt)
	}
	p.bt, p.off = bt, len(bt.cmds)
	bt.cmds = append(bt.cmds, cmds...)
	bt.size += size
	bt.members++
	if b.expect > 0 {
		b.expect--
	}
	if b.proposing || (b.outstanding && b.expect > 0) {
		// A proposer is at work, or an entry is proposed that the
		// state machine has not started applying: the log is busy, so
		// the write waits for the next apply (kickBatch).
		b.mu.Unlock()
		return p
	}
	s.proposeQueueLocked()
	b.mu.Unlock()
	return p
}

// kickBatch is called by the state machine when it starts applying a
// batch of entries (the log write holding them is durable, so Dragonboat
// is ready for the next one), and when a coalesced entry failed: it
// proposes the writes held meanwhile as one entry.
func (s *Shard) kickBatch() {
	b := &s.bat
	b.mu.Lock()
	// Writers released before this point that have not come back are not
	// waited for any longer (they may have gone on to read, or left):
	// expect counts only the writers of entries finished since.
	b.expect = 0
	if b.proposing {
		b.kick = true
	} else {
		b.outstanding = false
		if len(b.queue) > 0 {
			s.proposeQueueLocked()
		}
	}
	b.mu.Unlock()
}

// proposeQueueLocked proposes every queued batch, in order, with bat.mu
// released while proposing; only one writer does so at a time.
func (s *Shard) proposeQueueLocked() {
	b := &s.bat
	b.proposing = true
	for len(b.queue) > 0 {
		b.kick = false
		q := append(b.spare[:0], b.queue...)
		clear(b.queue)
		b.queue = b.queue[:0]
		b.mu.Unlock()
		ok := false
		for i, bt := range q {
			ok = s.proposeBatch(bt) || ok
			q[i] = nil
		}
		b.mu.Lock()
		b.spare = q[:0]
		if ok {
			b.outstanding = true
		}
		// What queued meanwhile waits for a trigger, unless one came
		// while this writer proposed (or none can come).
		if !b.kick && b.outstanding && b.expect > 0 {
			break
		}
	}
	b.proposing = false
}

// proposeBatch encodes bt as one Commands entry, stamped now, and
// proposes it; a failure to propose fails every writer of bt.
func (s *Shard) proposeBatch(bt *batch) bool {
	n := len(bt.cmds)
	err := s.proposeEntry(bt)
	if err != nil {
		bt.err = err
		close(bt.done)
	} else {
		s.bat.entries.Add(1)
		s.bat.cmds.Add(int64(n))
	}
	close(bt.proposed)
	return err == nil
}

func (s *Shard) proposeEntry(bt *batch) error {
	v, err := s.writeVersion(entry.Commands, nil) // commands gated when queued
	if err != nil {
		return err
	}
	s.hold.wait()
	if s.closed.Load() {
		return ErrClosed
	}
	e := entry.Entry{Version: v, Kind: entry.Commands, Time: s.stampTime(), Seed: rand.Uint64(), Cmds: bt.cmds}
	buf := entry.Append(make([]byte, 0, entry.HeaderMax+bt.size), &e)
	bt.cmds = nil // the entry owns its bytes now; release the arguments
	s.host.closeMu.RLock()
	if s.host.closing {
		err = ErrClosed
	} else {
		bt.rs, err = s.host.nh.Propose(s.session, buf, s.opts.ProposalTimeout)
	}
	s.host.closeMu.RUnlock()
	if err != nil {
		bt.rs = nil
		return mapErr(err)
	}
	bt.resc = bt.rs.ResultC()
	return nil
}

// finish turns a coalesced entry's result into its error or reply vector
// (the same outcome Pending.Wait gives an entry of its own) and wakes its
// writers.
func (bt *batch) finish(r dragonboat.RequestResult) {
	defer close(bt.done)
	// bt.rs is not Released to Dragonboat's pool: other writers of the
	// entry may still be selecting on its channel, which a reused
	// RequestState would hand another proposal's result.
	if !r.Completed() {
		// Never applied: the apply that would release writes held
		// behind it may not come.
		bt.sh.kickBatch()
	} else {
		b := &bt.sh.bat
		b.mu.Lock()
		b.expect += bt.members
		b.mu.Unlock()
	}
	switch {
	case r.Completed():
		d := time.Since(bt.start)
		bt.sh.host.lastCommit.Store(int64(d))
		bt.sh.commitLat.Observe(d)
	case r.Timeout():
		bt.err = ErrTimeout
		return
	case r.Terminated():
		bt.err = ErrClosed
		return
	case r.Dropped():
		bt.err = ErrNotLeader
		return
	default:
		bt.err = fmt.Errorf("shard: proposal not applied (code %v)", r)
		return
	}
	res := r.GetResult()
	if res.Value == haltedValue {
		bt.err = fmt.Errorf("%w: %s", ErrHalted, res.Data)
		return
	}
	data := res.Data
	out := make([]reply.Value, 0, min(res.Value, uint64(batchMaxCmds)))
	for len(data) > 0 {
		v, rest, err := reply.Decode(data)
		if err != nil {
			bt.err = err
			return
		}
		out, data = append(out, v), rest
	}
	bt.out = out
}

// waitBatched is Pending.Wait for a write that joined a coalesced entry:
// its own replies, or the entry's error. The first of the entry's writers
// to receive Dragonboat's result finishes the entry for all of them.
func (p *Pending) waitBatched() ([]reply.Value, error) {
	bt := p.bt
	<-bt.proposed
	if bt.rs == nil { // not proposed: done is closed, err set
		<-bt.done
	} else {
		select {
		case <-bt.done:
		case r := <-bt.resc:
			bt.finish(r)
		}
	}
	if bt.err != nil {
		return nil, bt.err
	}
	out := bt.out
	lo := min(p.off, len(out))
	hi := min(p.off+p.n, len(out))
	return out[lo:hi:hi], nil
}
