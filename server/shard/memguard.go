package shard

import (
	"bufio"
	"bytes"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The memory guard keeps a node from being killed by the OS because
// clients wrote more than the machine holds, whatever maxmemory says (it
// may be 0, the default). A sampler reads the process's resident set size
// every 50 ms; while it is over the guard limit the leader refuses DenyOOM
// writes with the OOM error before proposing them (reads and deletes go
// on). It is a node-local admission check, never an apply-time decision,
// so replicas stay identical.
//
// The limit is HostConfig.MemoryGuard (cairn --memory-guard), by default
// 80% of the smaller of the machine's memory and the cgroup's limit. The Go runtime's soft memory limit is set
// a little below it (unless GOMEMLIMIT is set), so garbage is collected
// before the guard trips.

var memGuard struct {
	once  sync.Once
	limit int64
	rss   atomic.Int64
	over  atomic.Bool
}

// memGuardOver tells whether the process is over its memory guard.
func memGuardOver() bool { return memGuard.over.Load() }

// MemoryGuard returns the guard limit (0 if disabled) and the last RSS
// sample.
func MemoryGuard() (limit, rss int64) { return memGuard.limit, memGuard.rss.Load() }

// startMemGuard starts the process's guard with limit bytes (0: the
// default, negative: disabled); the first call decides.
func startMemGuard(limit int64) {
	memGuard.once.Do(func() {
		limit := guardLimit(limit)
		memGuard.limit = limit
		if limit <= 0 {
			return
		}
		if os.Getenv("GOMEMLIMIT") == "" {
			debug.SetMemoryLimit(limit * 9 / 10)
		}
		go func() {
			for {
				rss := readRSS()
				memGuard.rss.Store(rss)
				memGuard.over.Store(rss > limit)
				time.Sleep(50 * time.Millisecond)
			}
		}()
	})
}

func guardLimit(configured int64) int64 {
	if configured != 0 {
		return configured
	}
	total := memTotal()
	if c := cgroupLimit(); c > 0 && (total == 0 || c < total) {
		total = c
	}
	return total / 10 * 8
}

// memTotal returns MemTotal from /proc/meminfo (0 if unknown).
func memTotal() int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) >= 2 && f[0] == "MemTotal:" {
			n, _ := strconv.ParseInt(f[1], 10, 64)
			return n << 10
		}
	}
	return 0
}

// cgroupLimit returns the cgroup v2 (or v1) memory limit (0 if none).
func cgroupLimit() int64 {
	for _, p := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		n, err := strconv.ParseInt(string(bytes.TrimSpace(b)), 10, 64)
		if err == nil && n > 0 && n < 1<<60 {
			return n
		}
	}
	return 0
}

// readRSS returns the process's resident set size from /proc/self/statm.
func readRSS() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := bytes.Fields(b)
	if len(f) < 2 {
		return 0
	}
	n, _ := strconv.ParseInt(string(f[1]), 10, 64)
	return n * int64(os.Getpagesize())
}
