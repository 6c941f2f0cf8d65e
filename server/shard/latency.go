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
