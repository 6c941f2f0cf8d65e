package shard

import (
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/lni/vfs"

	"github.com/cairndb/cairn/server/entry"
)

// ErrNoSpace is returned (wrapped in a *NoSpaceError) for a client write
// proposed while the Raft log's file system is below its free-space
// reserve. The write was not proposed: it is certainly not applied.
var ErrNoSpace = errors.New("shard: not enough free disk space for the Raft log")

// NoSpaceError tells how much space is free and how much is reserved.
type NoSpaceError struct {
	Avail, Reserve uint64
}

func (e *NoSpaceError) Error() string {
	return fmt.Sprintf("disk almost full: %s free on the Raft log's file system, below the %s reserve; writes are refused until space is freed",
		humanBytes(e.Avail), humanBytes(e.Reserve))
}

// Is makes errors.Is(err, ErrNoSpace) true.
func (e *NoSpaceError) Is(target error) bool { return target == ErrNoSpace }

func humanBytes(n uint64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d bytes", n)
}

// defaultReserve is the default free-space reserve, capped at 5% of the
// file system so that small test disks still work.
const defaultReserve = 256 << 20

// diskGuard keeps the Raft log from ever running out of space. Dragonboat
// cannot survive a failed log write or fsync: its step worker (and tan's
// fsync goroutine) panic and the process stops. So the leader refuses
// client writes — before proposing them — while the log's file system has
// less than the reserve free, and accepts them again once space returns,
// like etcd's NOSPACE alarm. Reads go on. Internal entries (active expiry,
// slot moves) are small and still pass, so TTLs keep working.
//
// The reserve must cover what can be written between two checks plus a
// new snapshot (written before the previous one is deleted), so the
// size of the largest snapshot file on disk is added to the configured
// reserve. A write burst that outruns it still ends in Dragonboat's
// fail-stop, and the restart recovers every acknowledged write from the
// synced log.
type diskGuard struct {
	stat    func() (vfs.DiskUsage, error)
	extra   func() uint64 // bytes needed on top of the reserve
	reserve int64         // <0: disabled; 0: default
	low     atomic.Bool
	avail   atomic.Uint64
	need    atomic.Uint64
	stop    chan struct{}
	done    chan struct{}
}

func startDiskGuard(fs vfs.FS, dir string, reserve int64, interval time.Duration) *diskGuard {
	return newDiskGuard(func() (vfs.DiskUsage, error) { return fs.GetDiskUsage(dir) },
		func() uint64 { return largestSnapshot(fs, dir, 0) }, reserve, interval)
}

// largestSnapshot returns the size of the largest snapshot file
// (Dragonboat's *.gbsnap) under dir.
func largestSnapshot(fs vfs.FS, dir string, depth int) uint64 {
	names, err := fs.List(dir)
	if err != nil || depth > 8 {
		return 0
	}
	var most uint64
	for _, name := range names {
		st, err := fs.Stat(fs.PathJoin(dir, name))
		switch {
		case err != nil:
		case st.IsDir():
			most = max(most, largestSnapshot(fs, fs.PathJoin(dir, name), depth+1))
		case strings.HasSuffix(name, ".gbsnap"):
			most = max(most, uint64(st.Size()))
		}
	}
	return most
}

// newDiskGuard checks stat once, then every interval (default 1s); extra
// (may be nil) is added to the reserve at each check.
func newDiskGuard(stat func() (vfs.DiskUsage, error), extra func() uint64, reserve int64, interval time.Duration) *diskGuard {
	if interval <= 0 {
		interval = time.Second
	}
	g := &diskGuard{stat: stat, extra: extra, reserve: reserve, stop: make(chan struct{}), done: make(chan struct{})}
	if reserve < 0 {
		close(g.done)
		return g
	}
	g.check()
	go g.run(interval)
	return g
}

func (g *diskGuard) run(interval time.Duration) {
	defer close(g.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-g.stop:
			return
		case <-t.C:
			g.check()
		}
	}
}

// check reads the file system's free space. A file system that cannot
// tell (an in-memory test FS) is never considered full.
func (g *diskGuard) check() {
	u, err := g.stat()
	if err != nil || u.TotalBytes == 0 {
		g.low.Store(false)
		return
	}
	need := uint64(g.reserve)
	if need == 0 {
		need = min(defaultReserve, u.TotalBytes/20)
	}
	if g.extra != nil {
		need += g.extra()
	}
	g.avail.Store(u.AvailBytes)
	g.need.Store(need)
	g.low.Store(u.AvailBytes < need)
}

// refuse returns a *NoSpaceError for a client write while space is low.
func (g *diskGuard) refuse(kind entry.Kind) error {
	if g == nil || !g.low.Load() {
		return nil
	}
	switch kind {
	case entry.Commands, entry.Multi, entry.WatchedMulti:
		return &NoSpaceError{Avail: g.avail.Load(), Reserve: g.need.Load()}
	}
	return nil
}

func (g *diskGuard) close() {
	if g.reserve >= 0 {
		close(g.stop)
	}
	<-g.done
}

// DiskLow tells whether client writes are being refused for lack of disk
// space.
func (h *Host) DiskLow() bool { return h.disk.low.Load() }
