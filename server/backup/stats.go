package backup

import (
	"math/bits"
	"sync"
	"time"
)

// Stats are a store's figures since the process started, for metrics.
type Stats struct {
	// Completed and Failed count the backups taken (Create calls that
	// completed, that failed; a refused name or a busy store counts as
	// neither).
	Completed, Failed int64
	// Durations are the completed backups' durations in log2
	// microsecond buckets (Counts[i]: whole microseconds of bit length
	// i), DurationSum their total.
	Durations   []uint64
	DurationSum time.Duration
	// LastSuccess is when the last completed backup finished and
	// LastSize its size in bytes (every file's plaintext); zero before
	// the first.
	LastSuccess time.Time
	LastSize    int64
}

// statBuckets is how many duration buckets Stats keeps (up to ~2^27 µs).
const statBuckets = 28

// stats accumulates Stats.
type stats struct {
	mu sync.Mutex
	s  Stats
}

func (st *stats) record(ok bool, d time.Duration, size int64, end time.Time) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if !ok {
		st.s.Failed++
		return
	}
	if st.s.Durations == nil {
		st.s.Durations = make([]uint64, statBuckets)
	}
	us := d.Microseconds()
	i := min(bits.Len64(uint64(max(us, 0))), statBuckets-1)
	st.s.Durations[i]++
	st.s.DurationSum += d
	st.s.Completed++
	st.s.LastSuccess, st.s.LastSize = end, size
}

// Stats returns the store's figures since the process started.
func (s *Store) Stats() Stats {
	s.stats.mu.Lock()
	defer s.stats.mu.Unlock()
	out := s.stats.s
	out.Durations = append([]uint64(nil), out.Durations...)
	return out
}
