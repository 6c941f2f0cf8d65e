package shard

import (
	"time"

	"github.com/cairndb/cairn/server/entry"
)

// ftTouched is the keyspace Touched hook's FT part: it collects the keys
// the running command created, changed or deleted (nothing while there
// is no index).
func (s *stateMachine) ftTouched(key string, all bool) {
	if s.ft.Len() == 0 {
		return
	}
	if all {
		s.ftAll = true
		return
	}
	s.ftKeys = append(s.ftKeys, key)
}

// reindex brings the FT indexes in line with the keys touched since the
// last call, in the order they were touched. It runs on every replica
// after each command (and each expiry, eviction or slot entry), before
// the reply is returned, so a reply to a write means the index reflects it.
func (s *stateMachine) reindex(now int64) {
	if s.ftAll {
		s.ftAll = false
		s.ft.Flushed()
	}
	if len(s.ftKeys) == 0 {
		return
	}
	for _, k := range s.ftKeys {
		s.ft.Touched(s.db, k, now)
	}
	clear(s.ftKeys)
	s.ftKeys = s.ftKeys[:0]
}

// reindexGuarded is reindex with a panic logged and counted instead of
// crashing the replica.
func (s *stateMachine) reindexGuarded(now int64) {
	defer func() {
		if r := recover(); r != nil {
			clear(s.ftKeys)
			s.ftKeys = s.ftKeys[:0]
			s.recovered(r, 0, "ft-reindex")
		}
	}()
	s.reindex(now)
}

// backfillLoop drives FT.CREATE's initial scans through the log: while
// an index backfills, the leader proposes FT._BACKFILL entries, each of
// which indexes the next batch on every replica, so no apply step scans
// the whole keyspace.
func (s *Shard) backfillLoop() {
	defer s.wg.Done()
	// Idle, the loop looks for work every 200 ms (a new FT.CREATE's
	// backfill, or this replica becoming leader while one runs); while a
	// backfill runs it proposes the next batch as soon as the last one
	// applied.
	const idle = 200 * time.Millisecond
	wait := idle
	for {
		select {
		case <-s.quit:
			return
		case <-time.After(wait):
		}
		wait = idle
		if !s.IsLeader() || s.Halted() != nil {
			continue
		}
		s.sm.mu.RLock()
		names := s.sm.ft.Backfilling()
		s.sm.mu.RUnlock()
		for _, n := range names {
			if _, err := s.Propose(entry.Commands, [][][]byte{{[]byte("FT._BACKFILL"), []byte(n)}}).Wait(); err == nil {
				wait = 0
			} else {
				wait = 5 * time.Millisecond
			}
		}
	}
}
