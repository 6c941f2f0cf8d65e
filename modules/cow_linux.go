//go:build linux

package modules

import (
	"encoding/binary"
	"fmt"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// cowSupported reports whether copy-on-write reset is available.
const cowSupported = true

// cowMemory is a Wasm linear memory backed by an anonymous mapping
// reserved at the memory's maximum size, so its address never changes.
// Once sealed, its first sealed bytes are a private (copy-on-write)
// mapping of an in-memory file (memfd, no filesystem path) holding the
// post-initialization snapshot: reset drops the private pages with
// madvise(MADV_DONTNEED) and the next access sees the snapshot again, so a
// reset costs in proportion to the pages the call wrote, not to the size
// of memory.
//
// When the kernel's page map (/proc/self/pagemap, readable by the process
// itself) is available, reset is finer still: a page the call only read
// stays mapped to the snapshot, and a page some call wrote (an anonymous
// private copy) is restored by copying the snapshot's 4 KiB over it, so no
// page faults back in on the next call. See reset.
type cowMemory struct {
	region  []byte // the whole reservation
	size    int    // current length of the Wasm memory
	fd      int    // the snapshot memfd; -1 until sealed
	sealed  int    // bytes mapped from fd
	snap    []byte // read-only shared mapping of the snapshot (pagemap mode)
	pagemap int    // the process's page map (processPagemap), or -1 (reset by madvise)
	entries []byte // reused buffer of page map entries
	scan    bool   // the kernel answers PAGEMAP_SCAN (Linux 6.7+)
	regions [64]pageRegion

	// written are the byte ranges [start, end) of the sealed pages that
	// the last page-map read found no longer the snapshot's (the pages any
	// call wrote), when knownOK. A reset after a call during which the
	// thread running it took no page fault copies just these (see reset).
	written []pageRegion
	knownOK bool
}

// pmScanArg is the kernel's struct pm_scan_arg (linux/fs.h): the argument
// of the PAGEMAP_SCAN ioctl on the page map.
type pmScanArg struct {
	size, flags, start, end, walkEnd, vec, vecLen, maxPages       uint64
	categoryInverted, categoryMask, categoryAnyofMask, returnMask uint64
}

// pageRegion is the kernel's struct page_region: a run of pages in the
// categories asked for.
type pageRegion struct{ start, end, categories uint64 }

// PAGEMAP_SCAN: _IOWR('f', 16, struct pm_scan_arg), and its page
// categories.
const (
	pagemapScan   = 3<<30 | uint64(unsafe.Sizeof(pmScanArg{}))<<16 | 'f'<<8 | 16
	pageIsFile    = 1 << 2
	pageIsPresent = 1 << 3
	pageIsSwapped = 1 << 4
)

// newCOWMemory reserves max bytes (at least one OS page).
func newCOWMemory(max uint64) (*cowMemory, error) {
	n := int(max)
	if n < unix.Getpagesize() {
		n = unix.Getpagesize()
	}
	region, err := unix.Mmap(-1, 0, n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_NORESERVE)
	if err != nil {
		return nil, fmt.Errorf("reserve linear memory: %w", err)
	}
	return &cowMemory{region: region, fd: -1, pagemap: -1}, nil
}

// Reallocate implements experimental.LinearMemory: growth stays in place.
func (m *cowMemory) Reallocate(size uint64) []byte {
	if size > uint64(len(m.region)) {
		return nil
	}
	m.size = int(size)
	return m.region[:size:size]
}

// Free implements experimental.LinearMemory.
func (m *cowMemory) Free() {
	m.pagemap = -1
	if m.snap != nil {
		_ = unix.Munmap(m.snap)
		m.snap = nil
	}
	if m.fd >= 0 {
		_ = unix.Close(m.fd)
		m.fd = -1
	}
	if m.region != nil {
		_ = unix.Munmap(m.region)
		m.region = nil
	}
}

// seal copies the first n bytes (the current memory, a multiple of the
// Wasm page size) into a memfd and maps it privately over the same
// addresses. The contents do not change.
func (m *cowMemory) seal(n int) error {
	fd, err := unix.MemfdCreate("cairn-module-snapshot", unix.MFD_CLOEXEC)
	if err != nil {
		return fmt.Errorf("memfd_create: %w", err)
	}
	fail := func(err error) error {
		_ = unix.Close(fd)
		return err
	}
	if err := unix.Ftruncate(fd, int64(n)); err != nil {
		return fail(fmt.Errorf("ftruncate: %w", err))
	}
	// Pages of zeros stay holes of the file (they read as zeros), so the
	// snapshot holds only the pages initialization wrote.
	ps := unix.Getpagesize()
	for lo := 0; lo < n; {
		for lo < n && allZero(m.region[lo:min(lo+ps, n)]) {
			lo += ps
		}
		hi := lo
		for hi < n && !allZero(m.region[hi:min(hi+ps, n)]) {
			hi += ps
		}
		hi = min(hi, n)
		for off := lo; off < hi; {
			w, err := unix.Pwrite(fd, m.region[off:hi], int64(off))
			if err != nil {
				return fail(fmt.Errorf("pwrite: %w", err))
			}
			off += w
		}
		lo = hi
	}
	addr := unsafe.Pointer(&m.region[0])
	if _, err := unix.MmapPtr(fd, 0, addr, uintptr(n), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_FIXED); err != nil {
		return fail(fmt.Errorf("mmap snapshot: %w", err))
	}
	m.fd, m.sealed = fd, n
	m.written, m.knownOK = m.written[:0], false
	m.openPagemap()
	return nil
}

// reseal makes the current memory (all of its size, which may have grown
// since seal) the snapshot in place of the sealed one. On error the
// memory and the previous snapshot are unchanged.
func (m *cowMemory) reseal() error {
	old := *m
	m.fd, m.snap, m.pagemap, m.sealed = -1, nil, -1, 0
	if err := m.seal(m.size); err != nil {
		*m = old
		return err
	}
	if old.snap != nil {
		_ = unix.Munmap(old.snap)
	}
	if old.fd >= 0 {
		_ = unix.Close(old.fd)
	}
	return nil
}

// allZero reports whether b holds only zeros.
func allZero(b []byte) bool {
	for len(b) >= 8 {
		if binary.LittleEndian.Uint64(b) != 0 {
			return false
		}
		b = b[8:]
	}
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// Page map entry bits (Documentation/admin-guide/mm/pagemap.rst).
const (
	pmPresent  = 1 << 63
	pmSwapped  = 1 << 62
	pmFilePage = 1 << 61 // file page or shared anonymous: still the snapshot's
)

// openPagemap switches reset to the page-map mode when the page map can be
// read and reports the snapshot's pages as file pages; otherwise reset
// stays with madvise.
func (m *cowMemory) openPagemap() {
	snap, err := unix.Mmap(m.fd, 0, m.sealed, unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return
	}
	fd := processPagemap()
	if fd < 0 {
		_ = unix.Munmap(snap)
		return
	}
	m.snap, m.pagemap = snap, fd
	pageSink.Store(uint32(m.region[0])) // fault the first page in from the snapshot, then check it is seen as such
	if e, ok := m.readEntries(); !ok || len(e) < 8 || binary.LittleEndian.Uint64(e)&(pmPresent|pmFilePage) != pmPresent|pmFilePage {
		_ = unix.Munmap(snap)
		m.snap, m.pagemap = nil, -1
		return
	}
	// The scan must agree: the first page is the snapshot's, so no page is
	// reported before a write.
	m.scan = true
	if n, ok := m.scanWritten(); !ok || n != 0 {
		m.scan = false
	}
}

// scanWritten asks the kernel (PAGEMAP_SCAN) for the runs of sealed pages
// that are no longer the snapshot's file pages — present and anonymous, or
// swapped out — and restores each from the snapshot. It returns the pages
// restored; false when the ioctl failed (nothing was restored reliably:
// the caller falls back to reading the page map).
func (m *cowMemory) scanWritten() (int, bool) {
	base := uint64(uintptr(unsafe.Pointer(&m.region[0])))
	ps := uint64(unix.Getpagesize())
	arg := pmScanArg{
		start:             base,
		end:               base + uint64(m.sealed+int(ps)-1)/ps*ps,
		vec:               uint64(uintptr(unsafe.Pointer(&m.regions[0]))),
		vecLen:            uint64(len(m.regions)),
		categoryInverted:  pageIsFile,
		categoryMask:      pageIsFile,
		categoryAnyofMask: pageIsPresent | pageIsSwapped,
		returnMask:        pageIsPresent | pageIsSwapped,
	}
	arg.size = uint64(unsafe.Sizeof(arg))
	pages := 0
	for arg.start < arg.end {
		n, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(m.pagemap), uintptr(pagemapScan), uintptr(unsafe.Pointer(&arg)))
		if errno != 0 {
			return pages, false
		}
		for _, r := range m.regions[:n] {
			lo, hi := int(r.start-base), min(int(r.end-base), m.sealed)
			copy(m.region[lo:hi], m.snap[lo:hi])
			m.written = append(m.written, pageRegion{start: uint64(lo), end: uint64(hi)})
			pages += (hi - lo + int(ps) - 1) / int(ps)
		}
		if arg.walkEnd <= arg.start {
			return pages, false
		}
		arg.start = arg.walkEnd
	}
	return pages, true
}

// pagemapFD is the process's page map, opened by the first memory that
// needs it and kept open: one descriptor for every copy-on-write memory
// (each read and scan names its own range, so they may run at once).
var (
	pagemapMu sync.Mutex
	pagemapFD = -1
)

// processPagemap returns the descriptor of /proc/self/pagemap, or -1 when
// it cannot be opened (tried again next time).
func processPagemap() int {
	pagemapMu.Lock()
	defer pagemapMu.Unlock()
	if pagemapFD < 0 {
		if fd, err := unix.Open("/proc/self/pagemap", unix.O_RDONLY|unix.O_CLOEXEC, 0); err == nil {
			pagemapFD = fd
		}
	}
	return pagemapFD
}

// pageSink keeps openPagemap's read of the first page from being
// optimized away (atomic: libraries load on several shards at once).
var pageSink atomic.Uint32

// readEntries reads the page map entries of the sealed pages.
func (m *cowMemory) readEntries() ([]byte, bool) {
	ps := unix.Getpagesize()
	n := (m.sealed + ps - 1) / ps * 8
	if cap(m.entries) < n {
		m.entries = make([]byte, n)
	}
	e := m.entries[:n]
	off := int64(uintptr(unsafe.Pointer(&m.region[0])) / uintptr(ps) * 8)
	for done := 0; done < n; {
		r, err := unix.Pread(m.pagemap, e[done:], off+int64(done))
		if err != nil || r <= 0 {
			return nil, false
		}
		done += r
	}
	return e, true
}

// reset restores the sealed snapshot. It reports false when memory grew
// past the snapshot (the caller then replaces the instance).
//
// In page-map mode, every page that is no longer the snapshot's file page
// (present and anonymous: written by some call; or swapped out) gets the
// snapshot copied over it. Such a page stays anonymous, so it is restored
// after every later call too (whether or not that call wrote it): the
// set copied is the pages any call ever wrote, typically a few dozen for a
// Go guest, against refaulting every page a call touches after madvise.
//
// noFault tells that every write to the memory since the last reset was
// made by one thread that took no page fault meanwhile (see
// threadFaults). A page stops being the snapshot's file page only through
// a write fault, counted to the thread that took it, so the set of such
// pages is then the one the last page-map read found: the reset copies
// those ranges without asking the kernel again. The contents after a
// reset are the snapshot's either way.
func (m *cowMemory) reset(noFault bool) bool {
	if m.fd < 0 || m.size != m.sealed {
		return false
	}
	if noFault && m.knownOK {
		for _, r := range m.written {
			copy(m.region[r.start:r.end], m.snap[r.start:r.end])
		}
		return true
	}
	m.written, m.knownOK = m.written[:0], false
	if m.scan {
		if _, ok := m.scanWritten(); ok {
			m.knownOK = true
			return true
		}
		m.scan = false
		m.written = m.written[:0]
	}
	if m.pagemap >= 0 {
		if e, ok := m.readEntries(); ok {
			ps := unix.Getpagesize()
			for i := 0; i < len(e)/8; i++ {
				v := binary.LittleEndian.Uint64(e[i*8:])
				if v&pmSwapped != 0 || v&(pmPresent|pmFilePage) == pmPresent {
					lo := i * ps
					hi := min(lo+ps, m.sealed)
					copy(m.region[lo:hi], m.snap[lo:hi])
					if n := len(m.written); n > 0 && m.written[n-1].end == uint64(lo) {
						m.written[n-1].end = uint64(hi)
					} else {
						m.written = append(m.written, pageRegion{start: uint64(lo), end: uint64(hi)})
					}
				}
			}
			m.knownOK = true
			return true
		}
	}
	return unix.Madvise(m.region[:m.sealed], unix.MADV_DONTNEED) == nil
}

// views returns the snapshot and the memory, as long as each other, for a
// reset that copies chosen ranges itself; false when the memory grew past
// the snapshot or the snapshot is not mapped (madvise mode).
func (m *cowMemory) views() (snap, mem []byte, ok bool) {
	if m.fd < 0 || m.size != m.sealed || m.snap == nil {
		return nil, nil, false
	}
	return m.snap[:m.sealed], m.region[:m.sealed], true
}

// forget drops what the last page-map read found, for a reset that did not
// read it: pages may have become private since.
func (m *cowMemory) forget() { m.knownOK = false }

// pagemapScanWorks reports whether a sealed copy-on-write memory resets
// through PAGEMAP_SCAN on this kernel (checked once, on a one-page memory).
var pagemapScanWorks = sync.OnceValue(func() bool {
	const size = 1 << 16
	m, err := newCOWMemory(size)
	if err != nil {
		return false
	}
	defer m.Free()
	m.Reallocate(size)
	return m.seal(size) == nil && m.scan
})

// threadFaults returns the page faults (minor and major) the calling
// thread has taken, or -1 when the kernel does not say. The caller keeps
// the goroutine on its thread (runtime.LockOSThread) between two readings.
func threadFaults() int64 {
	var ru unix.Rusage
	if unix.Getrusage(unix.RUSAGE_THREAD, &ru) != nil {
		return -1
	}
	return int64(ru.Minflt) + int64(ru.Majflt)
}
