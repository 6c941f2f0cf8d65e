package shard

import (
	"log/slog"
	"sync"
	"time"
)

// snapErrs remembers whether the shard's last snapshot attempt failed, so
// a failing disk is logged (not dropped) and reported by INFO, without a
// log line every second while the automatic snapshot keeps retrying.
type snapErrs struct {
	mu       sync.Mutex
	last     error
	since    time.Time // first failure of the current run
	logged   time.Time // last time the run was logged
	failures int64     // failed attempts in the current run
}

// note records the outcome of one snapshot attempt and logs failures (the
// first of a run, then at most once a minute) and the recovery.
func (e *snapErrs) note(log *slog.Logger, shardID uint64, err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := time.Now()
	if err == nil {
		if e.last != nil {
			log.Info("snapshot succeeds again", "shard", shardID, "failed_attempts", e.failures, "failing_for", now.Sub(e.since).Round(time.Second))
		}
		e.last, e.failures = nil, 0
		return
	}
	if e.last == nil {
		e.since = now
	}
	e.last = err
	e.failures++
	if e.failures == 1 || now.Sub(e.logged) >= time.Minute {
		e.logged = now
		log.Error("snapshot failed; the Raft log keeps growing until one succeeds", "shard", shardID, "err", err, "failed_attempts", e.failures)
	}
}

// err returns the last attempt's error, nil if it succeeded.
func (e *snapErrs) err() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.last
}

// SnapshotErr returns the error of the shard's last snapshot attempt, nil
// if it succeeded.
func (s *Shard) SnapshotErr() error { return s.snapErr.err() }
