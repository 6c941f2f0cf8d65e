package session

import (
	"math/bits"
	"time"
)

// statPend is a connection's command statistics not yet added to the
// server's shared counters. Commands of a pipeline mostly repeat one
// command at one latency bucket: the connection counts a run of those
// locally and adds it to the shared atomics once (flushStats), instead of
// five atomic adds a command on cache lines every connection writes. The
// connection flushes before it writes replies to its socket, so a client
// that has read a reply finds its command counted by INFO, LATENCY
// HISTOGRAM or the metrics on any connection.
type statPend struct {
	commands int64 // for total_commands_processed

	st     *cmdStat // the run's command; nil: no run
	bucket int      // its histogram bucket, -1: not in the histogram
	calls  int64
	usec   int64
	nsec   int64
}

// histBucket is the latency histogram's bucket of a call of usec µs.
func histBucket(usec int64) int {
	return min(bits.Len64(uint64(max(usec, 0))), len(cmdStat{}.hist)-1)
}

// countCall counts one finished call of st that took took; inHist puts
// it in the latency histogram too.
func (c *client) countCall(st *cmdStat, took time.Duration, inHist bool) {
	if st == nil {
		return
	}
	usec := took.Microseconds()
	b := -1
	if inHist {
		b = histBucket(usec)
	}
	p := &c.stat
	if p.st != st || p.bucket != b {
		c.flushCalls()
		p.st, p.bucket = st, b
	}
	p.calls++
	p.usec += usec
	p.nsec += int64(took)
}

// flushCalls adds the pending run of calls to its command's counters.
func (c *client) flushCalls() {
	p := &c.stat
	if p.st == nil || p.calls == 0 {
		p.st = nil
		return
	}
	p.st.calls.Add(p.calls)
	p.st.usec.Add(p.usec)
	p.st.nsec.Add(p.nsec)
	if p.bucket >= 0 {
		p.st.hist[p.bucket].Add(p.calls)
	}
	p.st, p.calls, p.usec, p.nsec = nil, 0, 0, 0
}

// flushStats adds everything pending to the server's counters.
func (c *client) flushStats() {
	c.flushCalls()
	if c.stat.commands > 0 {
		c.srv.stats.commands.Add(c.stat.commands)
		c.stat.commands = 0
	}
}
