package shard

import (
	"sync/atomic"

	"github.com/lni/dragonboat/v4/config"
	"github.com/lni/dragonboat/v4/raftio"
	pb "github.com/lni/dragonboat/v4/raftpb"
)

// maxEntriesPerRead bounds how many log entries one read from the LogDB
// returns.
//
// Why: a leader builds the Replicate message for a lagging follower on its
// Raft step worker, from `next` to the end of the log, limited only by a
// 64 MB byte budget; entries already applied are no longer in memory, so
// they come from tan, which opens, seeks and decodes one record per saved
// batch. A follower resumed after a pause (SIGSTOP, a long GC, a VM
// freeze) answers the heartbeats it queued meanwhile, and every one of
// those HeartbeatResps makes the leader re-read the whole lag from disk
// (the remote goes back from Wait to Retry each time). Many of them in
// one batch kept a leader's step worker busy for over 20 s: its other
// messages and ticks were not handled, its receive queue overflowed, and
// the shard stopped committing until it lost quorum and re-elected. With
// the bound, each such read costs a few records, and a lagging follower
// is caught up a bounded batch at a time instead.
const maxEntriesPerRead = 128

// boundedReadsCut counts the reads cut short at maxEntriesPerRead, for tests.
var boundedReadsCut atomic.Int64

// boundedLogDBFactory creates its inner factory's LogDB with reads bounded
// by maxEntriesPerRead.
type boundedLogDBFactory struct {
	inner config.LogDBFactory
}

func (f boundedLogDBFactory) Create(nhc config.NodeHostConfig, cb config.LogDBCallback,
	dirs, lldirs []string) (raftio.ILogDB, error) {
	db, err := f.inner.Create(nhc, cb, dirs, lldirs)
	if err != nil {
		return nil, err
	}
	return &boundedLogDB{ILogDB: db, max: maxEntriesPerRead}, nil
}

// Name is the inner LogDB's: Dragonboat records it in the data directory
// and refuses to open the directory with a LogDB of another type.
func (f boundedLogDBFactory) Name() string { return f.inner.Name() }

// boundedLogDB is an ILogDB whose IterateEntries returns at most max
// entries per call.
type boundedLogDB struct {
	raftio.ILogDB
	max uint64
}

// IterateEntries reads at most b.max entries of [low, high). When it stops
// at that bound it reports a size over maxSize: that is how a read cut
// short by its budget looks to Dragonboat's log reader, its only caller,
// which then keeps the contiguous prefix from low (dropping the last
// entry, as it does for the entry that crossed the byte budget) and asks
// again from there later (a Replicate, an apply batch). A read that is
// not cut short by the bound is passed through unchanged; with maxSize 0
// (no budget) the read is not bounded either.
func (b *boundedLogDB) IterateEntries(ents []pb.Entry, size uint64,
	shardID uint64, replicaID uint64, low uint64, high uint64,
	maxSize uint64) ([]pb.Entry, uint64, error) {
	// One more than max: the reader drops the last entry of a cut read.
	limit := b.max + 1
	if maxSize == 0 || high <= low || high-low <= limit {
		return b.ILogDB.IterateEntries(ents, size, shardID, replicaID, low, high, maxSize)
	}
	before := len(ents)
	ents, size, err := b.ILogDB.IterateEntries(ents, size, shardID, replicaID, low, low+limit, maxSize)
	if err != nil || size > maxSize || uint64(len(ents)-before) < limit {
		// An error, the byte budget, or fewer entries than asked for (a
		// gap or compaction the reader reports): as the inner LogDB said.
		return ents, size, err
	}
	boundedReadsCut.Add(1)
	return ents, maxSize + 1, nil
}
