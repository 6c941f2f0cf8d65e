package shard

import (
	"sync/atomic"
	"time"

	"github.com/lni/vfs"
)

// fsyncProbe measures how long an fsync takes on the Raft log's file
// system: every interval it appends a small record to a probe file in the
// log directory and times the fsync. Dragonboat's log writer does not expose
// its own fsync timings without giving up its preallocation, so INFO reports
// this probe (raft_fsync_probe_usec) next to the measured commit latency.
type fsyncProbe struct {
	last atomic.Int64 // ns
	lat  Latency
	stop chan struct{}
	done chan struct{}
}

func startFsyncProbe(fs vfs.FS, dir string, interval time.Duration) *fsyncProbe {
	p := &fsyncProbe{stop: make(chan struct{}), done: make(chan struct{})}
	go p.run(fs, fs.PathJoin(dir, "fsync-probe"), interval)
	return p
}

// run goes through the log's file system (HostConfig.FS), so tests that
// replace it see the probe's writes too. The file is recreated (emptied)
// every 1024 records.
func (p *fsyncProbe) run(fs vfs.FS, path string, interval time.Duration) {
	defer close(p.done)
	var f vfs.File
	defer func() {
		if f != nil {
			f.Close()
			fs.Remove(path)
		}
	}()
	buf := make([]byte, 512)
	t := time.NewTicker(interval)
	defer t.Stop()
	for n := 0; ; n++ {
		if n%1024 == 0 {
			if f != nil {
				f.Close()
			}
			var err error
			if f, err = fs.Create(path); err != nil {
				f = nil
			}
		}
		start := time.Now()
		if f != nil {
			if _, err := f.Write(buf); err == nil && f.Sync() == nil {
				d := time.Since(start)
				p.last.Store(int64(d))
				p.lat.Observe(d)
			}
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
