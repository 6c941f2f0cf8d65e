package shard

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lni/vfs"

	"github.com/cairndb/cairn/server/entry"
)

// TestDiskGuard drives the free-space check with an injected stat
// function: the reserve, which entries are refused, recovery, and a file
// system that cannot report its usage.
func TestDiskGuard(t *testing.T) {
	var mu sync.Mutex
	u, serr := vfs.DiskUsage{AvailBytes: 50 << 30, TotalBytes: 100 << 30}, error(nil)
	set := func(avail, total uint64, err error) {
		mu.Lock()
		u, serr = vfs.DiskUsage{AvailBytes: avail, TotalBytes: total}, err
		mu.Unlock()
	}
	stat := func() (vfs.DiskUsage, error) {
		mu.Lock()
		defer mu.Unlock()
		return u, serr
	}
	waitLow := func(g *diskGuard, want bool) {
		t.Helper()
		for deadline := time.Now().Add(2 * time.Second); g.low.Load() != want; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("low = %v, want %v", !want, want)
			}
		}
	}

	var snap atomic.Uint64
	g := newDiskGuard(stat, func() uint64 { return snap.Load() }, 0, time.Millisecond)
	defer g.close()
	if err := g.refuse(entry.Commands); err != nil {
		t.Fatalf("plenty of space: %v", err)
	}
	// Default reserve: 256 MB on a big file system...
	set(255<<20, 100<<30, nil)
	waitLow(g, true)
	for _, k := range []entry.Kind{entry.Commands, entry.Multi, entry.WatchedMulti} {
		err := g.refuse(k)
		var nse *NoSpaceError
		if !errors.Is(err, ErrNoSpace) || !errors.As(err, &nse) || nse.Reserve != 256<<20 || !strings.Contains(err.Error(), "255.0 MB free") {
			t.Fatalf("kind %d on a full disk: %v", k, err)
		}
	}
	for _, k := range []entry.Kind{entry.Expire, entry.SlotOp} {
		if err := g.refuse(k); err != nil {
			t.Fatalf("internal entry kind %d refused: %v", k, err)
		}
	}
	// ...space returns...
	set(300<<20, 100<<30, nil)
	waitLow(g, false)
	// ...5% of a small one...
	set(60<<20, 1<<30, nil)
	waitLow(g, false)
	set(40<<20, 1<<30, nil)
	waitLow(g, true)
	// ...plus room for a new snapshot as large as the last one...
	set(300<<20, 100<<30, nil)
	waitLow(g, false)
	snap.Store(100 << 20)
	waitLow(g, true)
	if err := g.refuse(entry.Commands); !strings.Contains(fmt.Sprint(err), "below the 356.0 MB reserve") {
		t.Fatalf("with a 100 MB snapshot: %v", err)
	}
	snap.Store(0)
	// ...and a file system that cannot tell is never full.
	set(0, 0, errors.New("vfs: not supported"))
	waitLow(g, false)

	// An explicit reserve; a negative one disables the check.
	set(10<<20, 100<<30, nil)
	g2 := newDiskGuard(stat, nil, 5<<20, time.Millisecond)
	defer g2.close()
	if g2.low.Load() {
		t.Fatal("10 MB free is above a 5 MB reserve")
	}
	set(1<<20, 100<<30, nil)
	waitLow(g2, true)
	g3 := newDiskGuard(stat, nil, -1, time.Millisecond)
	defer g3.close()
	if err := g3.refuse(entry.Commands); err != nil {
		t.Fatalf("disabled guard refused: %v", err)
	}
}
