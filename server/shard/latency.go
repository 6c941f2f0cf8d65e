package shard

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// LatencyBuckets is the number of buckets of a Latency histogram.
const LatencyBuckets = 40

// Latency is a lock-free histogram of durations, for metrics: bucket i
// counts durations whose whole microseconds have bit length i (bucket 0:
// under 1µs; bucket i: [2^(i-1), 2^i) µs), the last bucket also holds
// everything longer. Observing costs two atomic adds.
type Latency struct {
	counts [LatencyBuckets]atomic.Uint64
	sum    atomic.Int64 // ns
}

// Observe records one duration.
func (l *Latency) Observe(d time.Duration) {
	us := uint64(max(d.Microseconds(), 0))
	l.counts[min(bits.Len64(us), LatencyBuckets-1)].Add(1)
	l.sum.Add(int64(d))
}

// Snapshot returns the bucket counts and the sum of all durations.
func (l *Latency) Snapshot() ([]uint64, time.Duration) {
	out := make([]uint64, LatencyBuckets)
	for i := range out {
		out[i] = l.counts[i].Load()
	}
	return out, time.Duration(l.sum.Load())
}

// Quantile returns an upper bound of the q-quantile (0 < q ≤ 1) of a
// histogram laid out as Latency's buckets: the upper edge of the bucket
// that holds it (2^i µs), 0 when the histogram is empty.
func Quantile(counts []uint64, q float64) time.Duration {
	var total uint64
	for _, n := range counts {
		total += n
	}
	if total == 0 {
		return 0
	}
	rank := uint64(q*float64(total) + 0.5)
	rank = max(rank, 1)
	var cum uint64
	for i, n := range counts {
		cum += n
		if cum >= rank {
			if i == 0 {
				return time.Microsecond
			}
			return time.Duration(uint64(1)<<i) * time.Microsecond
		}
	}
	return time.Duration(uint64(1)<<(len(counts)-1)) * time.Microsecond
}
