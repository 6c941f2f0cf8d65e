package rdbtool

import (
	"fmt"
	"time"
)

// progress reports how far a long operation is: on a terminal one line
// redrawn in place, otherwise a log line every interval.
type progress struct {
	o          *Options
	verb, unit string
	total      int
	start      time.Time
	last       time.Time
}

func newProgress(o Options, verb string, total int, unit string) *progress {
	now := time.Now()
	return &progress{o: &o, verb: verb, unit: unit, total: total, start: now, last: now}
}

func (p *progress) line(done int) string {
	pct := 100.0
	if p.total > 0 {
		pct = 100 * float64(done) / float64(p.total)
	}
	return fmt.Sprintf("rdb: %s %d/%d %s (%.0f%%) in %s", p.verb, done, p.total, p.unit, pct, time.Since(p.start).Round(100*time.Millisecond))
}

// update reports done units so far (rate-limited).
func (p *progress) update(done int) {
	if p.o.Progress == nil {
		return
	}
	every := p.o.Interval
	if every <= 0 {
		every = 2 * time.Second
	}
	if p.o.Terminal {
		every = 100 * time.Millisecond
	}
	if time.Since(p.last) < every {
		return
	}
	p.last = time.Now()
	if p.o.Terminal {
		fmt.Fprintf(p.o.Progress, "\r\x1b[K%s", p.line(done))
		return
	}
	fmt.Fprintln(p.o.Progress, p.line(done))
}

// finish reports the final count.
func (p *progress) finish(done int) {
	if p.o.Progress == nil {
		return
	}
	if p.o.Terminal {
		fmt.Fprintf(p.o.Progress, "\r\x1b[K%s\n", p.line(done))
		return
	}
	fmt.Fprintln(p.o.Progress, p.line(done))
}
