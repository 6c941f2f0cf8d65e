package web

import (
	"sync"
	"time"
)

// sample is one point of the charts, taken from INFO.
type sample struct {
	T         time.Time `json:"t"`
	OpsPerSec float64   `json:"ops_per_sec"`
	// ReadOps, WriteOps, OtherOps are the calls per second of each
	// command class (see classes), from LATENCY HISTOGRAM's calls.
	ReadOps  float64 `json:"read_ops_per_sec"`
	WriteOps float64 `json:"write_ops_per_sec"`
	OtherOps float64 `json:"other_ops_per_sec"`
	// P50, P99 are the latency quantiles (µs, bucket upper bounds) of
	// all commands run since the previous sample; ReadP99, WriteP99 per
	// class. From the per-command histograms LATENCY HISTOGRAM shows
	// (the ones /metrics exports as cairn.command.duration).
	P50Usec       float64 `json:"p50_usec"`
	P99Usec       float64 `json:"p99_usec"`
	ReadP50Usec   float64 `json:"read_p50_usec"`
	ReadP99Usec   float64 `json:"read_p99_usec"`
	WriteP50Usec  float64 `json:"write_p50_usec"`
	WriteP99Usec  float64 `json:"write_p99_usec"`
	MemoryBytes   float64 `json:"memory_bytes"`
	Clients       float64 `json:"clients"`
	CommitLatency float64 `json:"commit_latency_usec"`
	FsyncUsec     float64 `json:"fsync_usec"`
	ErrorsPerSec  float64 `json:"errors_per_sec"`
	RegionLagSec  float64 `json:"region_lag_sec"`
	Keys          float64 `json:"keys"`
}

// history is the ring buffer of the last hour of samples, kept in the
// node's memory (it starts empty at every start of the node).
type history struct {
	mu   sync.Mutex
	buf  []sample
	next int
	full bool
	// previous counters, for rates
	lastT              time.Time
	lastCmds, lastErrs float64
	lastHist           map[string]*cmdHist
}

func newHistory(span, every time.Duration) *history {
	if every <= 0 {
		every = 5 * time.Second
	}
	n := int(span / every)
	if n < 2 {
		n = 2
	}
	return &history{buf: make([]sample, n)}
}

// add appends one sample from INFO and, when not nil, LATENCY
// HISTOGRAM's per-command histograms with classOf naming each
// command's class.
func (h *history) add(t time.Time, in info, hists map[string]*cmdHist, classOf func(string) string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	cmds := in.num("total_commands_processed")
	errs := in.num("total_error_replies")
	s := sample{T: t, MemoryBytes: in.num("used_memory"), Clients: in.num("connected_clients"),
		CommitLatency: in.num("raft_last_commit_latency_usec"), FsyncUsec: in.num("raft_fsync_probe_usec"),
		RegionLagSec: regionLag(in), Keys: keyCount(in)}
	if !h.lastT.IsZero() {
		if dt := t.Sub(h.lastT).Seconds(); dt > 0 {
			s.OpsPerSec = max(cmds-h.lastCmds, 0) / dt
			s.ErrorsPerSec = max(errs-h.lastErrs, 0) / dt
		}
	}
	if hists != nil {
		if h.lastHist != nil && !h.lastT.IsZero() {
			h.classFigures(&s, t.Sub(h.lastT).Seconds(), hists, classOf)
		}
		h.lastHist = hists
	}
	h.lastT, h.lastCmds, h.lastErrs = t, cmds, errs
	h.buf[h.next] = s
	h.next = (h.next + 1) % len(h.buf)
	if h.next == 0 {
		h.full = true
	}
}

// points returns the samples, oldest first.
func (h *history) points() []sample {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.full {
		return append([]sample(nil), h.buf[:h.next]...)
	}
	return append(append([]sample(nil), h.buf[h.next:]...), h.buf[:h.next]...)
}

// regionLag is the largest lag in seconds the regions section reports
// (fields ending in lag_sec or lag_ms), 0 without regions.
func regionLag(in info) float64 {
	var lag float64
	for k, v := range in.Fields["regions"] {
		var f float64
		switch {
		case hasSuffix(k, "lag_ms"):
			f = parseFloat(v) / 1000
		case hasSuffix(k, "lag_sec"), hasSuffix(k, "lag_seconds"), hasSuffix(k, "lag"):
			f = parseFloat(v)
		}
		lag = max(lag, f)
	}
	return lag
}

// keyCount sums keys=N over the keyspace section's dbN lines.
func keyCount(in info) float64 {
	var n float64
	for _, v := range in.Fields["keyspace"] {
		for _, part := range splitComma(v) {
			if k, val, ok := cut(part, "="); ok && k == "keys" {
				n += parseFloat(val)
			}
		}
	}
	return n
}

// classFigures fills s's per-class rates and quantiles from the
// difference between hists and the previous sample's histograms.
func (h *history) classFigures(s *sample, dt float64, hists map[string]*cmdHist, classOf func(string) string) {
	if dt <= 0 {
		return
	}
	var all, read, write [64]float64
	calls := map[string]float64{}
	for name, cur := range hists {
		prev := h.lastHist[name]
		k := classOf(name)
		d := cur.calls
		if prev != nil {
			d = cur.calls - prev.calls
		}
		if d < 0 { // LATENCY RESET or CONFIG RESETSTAT in between
			continue
		}
		calls[k] += d
		for i := range cur.buckets {
			n := cur.buckets[i]
			if prev != nil {
				n -= prev.buckets[i]
			}
			n = max(n, 0)
			all[i] += n
			switch k {
			case classRead:
				read[i] += n
			case classWrite:
				write[i] += n
			}
		}
	}
	s.ReadOps, s.WriteOps, s.OtherOps = calls[classRead]/dt, calls[classWrite]/dt, calls[classOther]/dt
	s.P50Usec, s.P99Usec = quantileUsec(&all, 0.5), quantileUsec(&all, 0.99)
	s.ReadP50Usec, s.ReadP99Usec = quantileUsec(&read, 0.5), quantileUsec(&read, 0.99)
	s.WriteP50Usec, s.WriteP99Usec = quantileUsec(&write, 0.5), quantileUsec(&write, 0.99)
}
