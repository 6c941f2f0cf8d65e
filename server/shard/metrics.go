package shard

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lni/dragonboat/v4/raftio"
)

// Metrics are one shard replica's figures for the telemetry package,
// read from counters the shard keeps anyway (nothing here is replicated
// state).
type Metrics struct {
	ShardID, ReplicaID uint64
	IsLeader           bool
	Term, Applied      uint64
	// LeaderChanges counts the leaders this replica has seen elected
	// (a new leader or a new term) since the host started.
	LeaderChanges uint64
	// Commit is the propose-to-applied latency of this replica's
	// proposals (log append, fsync, replication, apply); Snapshot the
	// time to write each snapshot. Bucket layout: see Latency.
	Commit, Snapshot       []uint64
	CommitSum, SnapshotSum time.Duration
}

// Metrics returns the shard's figures.
func (s *Shard) Metrics() Metrics {
	m := Metrics{ShardID: s.opts.ShardID, ReplicaID: s.opts.ReplicaID}
	var leader uint64
	leader, m.Term, _, _ = s.host.nh.GetLeaderID(s.opts.ShardID)
	m.IsLeader = leader == s.opts.ReplicaID
	m.Applied = s.sm.applied.Load()
	m.LeaderChanges = s.host.leaders.changes(s.opts.ShardID)
	m.Commit, m.CommitSum = s.commitLat.Snapshot()
	m.Snapshot, m.SnapshotSum = s.sm.snapLat.Snapshot()
	return m
}

// FsyncLatency returns the histogram of the fsync probe's timings on the
// log's file system (see fsyncProbe); bucket layout: see Latency.
func (h *Host) FsyncLatency() ([]uint64, time.Duration) { return h.probe.lat.Snapshot() }

// leaderWatch is the host's Dragonboat RaftEventListener: it counts
// leader elections per shard. Dragonboat calls it from its own goroutine;
// it only takes a short lock.
type leaderWatch struct {
	log    *slog.Logger
	mu     sync.Mutex
	shards map[uint64]*leaderSeen
}

type leaderSeen struct {
	leader, term uint64
	changes      atomic.Uint64
}

func (w *leaderWatch) LeaderUpdated(info raftio.LeaderInfo) {
	if info.LeaderID == 0 { // no leader (an election is on)
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.shards == nil {
		w.shards = map[uint64]*leaderSeen{}
	}
	s := w.shards[info.ShardID]
	if s == nil {
		s = &leaderSeen{}
		w.shards[info.ShardID] = s
	}
	if s.leader != info.LeaderID || s.term != info.Term {
		s.leader, s.term = info.LeaderID, info.Term
		s.changes.Add(1)
		w.log.Info("raft leader elected", "shard", info.ShardID, "replica", info.ReplicaID,
			"leader", info.LeaderID, "term", info.Term, "self", info.LeaderID == info.ReplicaID)
	}
}

func (w *leaderWatch) changes(shardID uint64) uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	if s := w.shards[shardID]; s != nil {
		return s.changes.Load()
	}
	return 0
}
