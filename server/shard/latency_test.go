package shard

import (
	"testing"
	"time"
)

// TestLatency: durations land in the bucket of their microseconds' bit
// length, the longest in the last, and the sum is kept.
func TestLatency(t *testing.T) {
	var l Latency
	for _, d := range []time.Duration{500 * time.Nanosecond, time.Microsecond, 3 * time.Microsecond, 4 * time.Microsecond, 1023 * time.Microsecond, 1024 * time.Microsecond, 1000 * time.Hour, -time.Second} {
		l.Observe(d)
	}
	counts, sum := l.Snapshot()
	want := map[int]uint64{0: 2, 1: 1, 2: 1, 3: 1, 10: 1, 11: 1, LatencyBuckets - 1: 1}
	for i, c := range counts {
		if c != want[i] {
			t.Errorf("bucket %d = %d, want %d", i, c, want[i])
		}
	}
	wantSum := 500*time.Nanosecond + 8*time.Microsecond + 2047*time.Microsecond + 1000*time.Hour - time.Second
	if sum != wantSum {
		t.Errorf("sum %v, want %v", sum, wantSum)
	}
}

// BenchmarkLatencyObserve is the cost metrics add per committed log entry.
func BenchmarkLatencyObserve(b *testing.B) {
	var l Latency
	b.RunParallel(func(pb *testing.PB) {
		d := 300 * time.Microsecond
		for pb.Next() {
			l.Observe(d)
		}
	})
}

// TestQuantile: the quantile is the upper edge of the bucket holding it.
func TestQuantile(t *testing.T) {
	var l Latency
	for i := 0; i < 98; i++ {
		l.Observe(3 * time.Microsecond) // bucket 2: [2, 4) µs
	}
	l.Observe(100 * time.Microsecond) // bucket 7: [64, 128) µs
	l.Observe(100 * time.Microsecond)
	c, _ := l.Snapshot()
	for _, tc := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 4 * time.Microsecond}, {0.98, 4 * time.Microsecond}, {0.99, 128 * time.Microsecond}, {1, 128 * time.Microsecond}} {
		if got := Quantile(c, tc.q); got != tc.want {
			t.Errorf("Quantile(%v) = %v, want %v", tc.q, got, tc.want)
		}
	}
	if got := Quantile(make([]uint64, LatencyBuckets), 0.5); got != 0 {
		t.Errorf("empty: %v", got)
	}
}
