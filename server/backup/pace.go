package backup

import (
	"io"
	"time"
)

// Pacing. Taken flat out, a backup (encode and checksum the snapshot
// view, then read it back and load it to verify) keeps one core busy for
// its whole duration; on a small machine that takes CPU from the write
// path, whose throughput drops by about half while backups run. Backups
// have time to spare (the budget is ~10 s for 1M keys, flat out takes
// ~2.5 s), so by default they are paced: after each slice of work (one
// Write of the snapshot stream, one Read of the verifying load) the
// backup goroutine sleeps long enough that the work takes at most its
// share of the wall time. Sleeping yields the core to the write path;
// the Go scheduler has no priorities, so this is how a background task
// yields.
//
// Work is measured in wall time between calls, so on a machine that is
// busy anyway (a slice takes longer because the goroutine waits for a
// core) the backup sleeps longer too: it yields most when the write path
// needs the CPU most. Measured on the shared 2-core machine at load
// average ~23 (1M keys, durable SET -c 50 while backups ran back to back),
// this kept 0.55-0.57x of the SET throughput without a backup, against
// 0.14-0.20x flat out and 0.18-0.35x when pacing by the backup thread's CPU
// time instead (which sleeps only for the CPU it used, and so ends sooner:
// 18 s instead of 32 s per backup at that load). The cost is the
// backup's duration on a busy machine.
//
// Pacing stops once a backup has run for PaceLimit: on a machine so busy
// that the paced backup would take minutes (a slice that waited for a
// core earns a sleep in proportion), the rest runs flat out, so a backup
// of 1M keys is not held up by pacing for more than that.
//
// The encode phase runs at twice the verify phase's share (capped at
// full speed): while the snapshot view is open every write copies what
// it changes (copy-on-write), so that window is kept short; the verifying
// load needs no view.

// PaceLimit is how long a backup is paced; after it, it runs flat out.
var PaceLimit = 30 * time.Second

// DefaultCPUShare is the share of wall time a backup works by default
// (Store.CPUShare 0). 0.15 since the encode and the verification got
// 2-5x cheaper (a 1M-key backup takes 1.3-1.8 s on an idle node at this
// share): measured on the quiet 2-core machine with durable SET -c 50
// while backups ran back to back, 0.15 kept 0.76-0.95x of the throughput
// without a backup (mean 0.85), 0.35 kept 0.71-0.88x (mean 0.77).
const DefaultCPUShare = 0.15

// pacer sleeps between slices of work so they take at most share of the
// wall time.
type pacer struct {
	share float64
	last  time.Duration // the clock when the previous slice ended
	until time.Time     // pacing stops then (PaceLimit)
	debt  time.Duration // sleep owed (negative: overslept)
	slept time.Duration // total sleep
}

// minSleep batches short debts: sleeping costs a timer and two switches,
// and the OS sleeps at least ~50 µs anyway.
const minSleep = 2 * time.Millisecond

func newPacer(share float64) *pacer {
	if share <= 0 || share >= 1 {
		return nil
	}
	return &pacer{share: share, until: time.Now().Add(PaceLimit)}
}

// step is called between slices of work.
func (p *pacer) step() {
	if p == nil || (p.last != 0 && time.Now().After(p.until)) {
		return
	}
	now := time.Since(start) + 1 // never 0 (pacer.last unset)
	if p.last != 0 {
		work := now - p.last
		p.debt += time.Duration(float64(work) * (1/p.share - 1))
	}
	if p.debt >= minSleep {
		t := time.Now()
		time.Sleep(p.debt)
		d := time.Since(t)
		p.slept += d
		p.debt -= d
		// An oversleep pays for a little future work, not for a burst.
		p.debt = max(p.debt, -minSleep)
	}
	p.last = time.Since(start) + 1
}

// start is the origin of the pacers' monotonic clock.
var start = time.Now()

// pacedWriter paces the writes through it.
type pacedWriter struct {
	w io.Writer
	p *pacer
}

func (pw pacedWriter) Write(b []byte) (int, error) {
	pw.p.step()
	return pw.w.Write(b)
}

// pacedReader paces the reads through it.
type pacedReader struct {
	r io.Reader
	p *pacer
}

func (pr pacedReader) Read(b []byte) (int, error) {
	pr.p.step()
	return pr.r.Read(b)
}

// shares returns the encode and verify shares of s (0: flat out).
func (s *Store) shares() (encode, verify float64) {
	switch {
	case s.CPUShare < 0 || s.CPUShare >= 1:
		return 0, 0
	case s.CPUShare == 0:
		verify = DefaultCPUShare
	default:
		verify = s.CPUShare
	}
	encode = min(2*verify, 1)
	return encode, verify
}
