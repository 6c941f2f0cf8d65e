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
	// Indexes are the shard's FT indexes, in name order.
	Indexes []IndexMetrics
	// Libraries is the number of function libraries loaded; Calls and
	// CallsRO count FCALL and FCALL_RO calls this replica ran (FCALL on
	// every replica, at apply; FCALL_RO where it was served), Fuel the
	// fuel they consumed. The counts are node-local, since the node
	// started (a snapshot's registry inherits them).
	Libraries            int
	Calls, CallsRO, Fuel int64
}

// IndexMetrics are one FT index's figures, as FT.INFO reports them.
type IndexMetrics struct {
	Name string
	// Docs is num_docs; VectorBytes the memory of the vector graphs
	// (vector_index_sz_mb, in bytes); Failures hash_indexing_failures.
	Docs, VectorBytes, Failures int64
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
	if g := s.sm.libs.Load(); g != nil {
		m.Libraries = len(g.List(""))
		m.Calls, m.CallsRO, m.Fuel = g.CallStats()
	}
	// The indexes are read under the read lock, as FT.INFO reads them
	// (VectorBytes walks each vector graph's nodes).
	s.sm.mu.RLock()
	for _, name := range s.sm.ft.Names() {
		if ix := s.sm.ft.Get(name); ix != nil {
			m.Indexes = append(m.Indexes, IndexMetrics{Name: name, Docs: int64(ix.NumDocs()),
				VectorBytes: ix.VectorBytes(), Failures: ix.Failures})
		}
	}
	s.sm.mu.RUnlock()
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

// CommitLatency returns the histogram of this replica's propose-to-applied
// latencies (Metrics.Commit) without the rest of Metrics.
func (s *Shard) CommitLatency() ([]uint64, time.Duration) { return s.commitLat.Snapshot() }
