//go:build linux

package modules

import (
	"bytes"
	"encoding/binary"
	"runtime"
	"testing"
)

// TestCOWMemoryPagemapReset checks the page-map reset restores every page
// any call wrote, across calls writing different pages, and leaves pages
// that were only read mapped to the snapshot: with the page map read
// entry by entry, and with the kernel's PAGEMAP_SCAN where it has one.
// Rounds that write only pages written before take no page fault and
// reset from the ranges the last page-map read found; a round writing a
// new page faults and reads the page map again.
func TestCOWMemoryPagemapReset(t *testing.T) {
	t.Run("read", func(t *testing.T) { testCOWMemoryPagemapReset(t, false) })
	t.Run("scan", func(t *testing.T) { testCOWMemoryPagemapReset(t, true) })
}

func testCOWMemoryPagemapReset(t *testing.T, scan bool) {
	const size = 1 << 20
	m, err := newCOWMemory(4 << 20)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Free()
	buf := m.Reallocate(size)
	for i := range buf {
		buf[i] = byte(i * 7)
	}
	want := append([]byte(nil), buf...)
	if err := m.seal(size); err != nil {
		t.Fatal(err)
	}
	if m.pagemap < 0 {
		t.Skip("/proc/self/pagemap not readable: reset uses madvise (covered by TestReset)")
	}
	if scan && !m.scan {
		t.Skip("the kernel has no PAGEMAP_SCAN (Linux 6.7+)")
	}
	m.scan = scan
	var sum byte
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	rounds := [][]int{{0, 3, 255}, {1, 3}, {}, {0, 1, 255}, {100, 101, 102, 200}, {3, 102}}
	// Whether each round writes only pages earlier rounds wrote (so it
	// faults on none of them).
	old := []bool{false, false, true, true, false, true}
	for round, pages := range rounds {
		for i := range buf {
			sum += buf[i] // read every page: these must stay the snapshot's
		}
		f0 := threadFaults()
		for _, p := range pages {
			for j := 0; j < 4096; j += 512 {
				buf[p*4096+j] ^= 0xff
			}
		}
		noFault := f0 >= 0 && threadFaults() == f0
		if f0 >= 0 && !old[round] && noFault {
			t.Fatalf("round %d wrote a new page without a page fault", round)
		}
		if !m.reset(noFault) {
			t.Fatalf("round %d: reset failed", round)
		}
		if !bytes.Equal(buf, want) {
			t.Fatalf("round %d: memory differs from the snapshot after reset", round)
		}
	}
	e, ok := m.readEntries()
	if !ok {
		t.Fatal("page map unreadable")
	}
	copied := 0
	for i := 0; i < len(e)/8; i++ {
		if v := binary.LittleEndian.Uint64(e[i*8:]); v&(pmPresent|pmFilePage) == pmPresent {
			copied++
		}
	}
	// Pages 0, 1, 3, 100, 101, 102, 200 and 255 were written; the pages
	// only read are still the snapshot's.
	if copied != 8 {
		t.Errorf("%d anonymous pages, want the 8 written (read byte sum %d)", copied, sum)
	}
}
