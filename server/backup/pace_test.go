package backup

import (
	"crypto/sha256"
	"io"
	"testing"
	"time"
)

// TestPacer: work done between writes through a paced writer is followed
// by sleep in proportion (share 0.25: three times the work's CPU time),
// so the backup leaves the rest of the core to the write path; share 1
// (flat out) makes no pacer.
func TestPacer(t *testing.T) {
	p := newPacer(0.25)
	w := pacedWriter{io.Discard, p}
	buf := make([]byte, 64<<10)
	c0 := time.Now()
	slept0 := p.slept
	for range 20 {
		// Some CPU work (hashing), then a write.
		for range 40 {
			sha256.Sum256(buf)
		}
		w.Write(buf)
	}
	work := time.Since(c0) - (p.slept - slept0)
	// The last slice's sleep is owed at the next step; 19 of 20 are paid.
	want := time.Duration(float64(work) * 3 * 19 / 20 * 0.9)
	if p.slept-slept0 < want-minSleep {
		t.Fatalf("slept %v for %v of work at share 0.25, want at least ~%v", p.slept-slept0, work, want)
	}
	// Past PaceLimit, no more sleep.
	p.until = time.Now()
	before := p.slept
	for range 5 {
		for range 40 {
			sha256.Sum256(buf)
		}
		w.Write(buf)
	}
	if p.slept != before {
		t.Fatalf("slept %v past the pacing limit", p.slept-before)
	}
	if newPacer(1) != nil || newPacer(0) != nil {
		t.Fatal("a pacer for share 1 or 0")
	}
	s := &Store{}
	if e, v := s.shares(); v != DefaultCPUShare || e != 2*DefaultCPUShare {
		t.Fatalf("default shares %v %v", e, v)
	}
	s.CPUShare = 1
	if e, v := s.shares(); e != 0 || v != 0 {
		t.Fatalf("flat-out shares %v %v", e, v)
	}
}
