package shard

import (
	"os"
	"path/filepath"
	"sync/atomic"
	"time"
)

// fsyncProbe measures how long an fsync takes on the Raft log's file
// system: every interval it appends a small record to a probe file in the
// log directory and times the fsync. Dragonboat's log writer does not expose
// its own fsync timings without giving up its preallocation, so INFO reports
// this probe (raft_fsync_probe_usec) next to the measured commit latency.
type fsyncProbe struct {
	last atomic.Int64 // ns
	stop chan struct{}
	done chan struct{}
}

func startFsyncProbe(dir string, interval time.Duration) *fsyncProbe {
	p := &fsyncProbe{stop: make(chan struct{}), done: make(chan struct{})}
	go p.run(filepath.Join(dir, "fsync-probe"), interval)
	return p
}

func (p *fsyncProbe) run(path string, interval time.Duration) {
	defer close(p.done)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return
	}
	defer os.Remove(path)
	defer f.Close()
	buf := make([]byte, 512)
	t := time.NewTicker(interval)
	defer t.Stop()
	for n := 0; ; n++ {
		if n%1024 == 0 {
			f.Truncate(0)
			f.Seek(0, 0)
		}
		start := time.Now()
		if _, err := f.Write(buf); err == nil && f.Sync() == nil {
			p.last.Store(int64(time.Since(start)))
		}
		select {
		case <-p.stop:
			return
		case <-t.C:
		}
	}
}

func (p *fsyncProbe) close() {
	close(p.stop)
	<-p.done
}
