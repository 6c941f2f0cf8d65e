//go:build linux

package modules

import (
	"fmt"
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
type cowMemory struct {
	region []byte // the whole reservation
	size   int    // current length of the Wasm memory
	fd     int    // the snapshot memfd; -1 until sealed
	sealed int    // bytes mapped from fd
}

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
	return &cowMemory{region: region, fd: -1}, nil
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
	for off := 0; off < n; {
		w, err := unix.Pwrite(fd, m.region[off:n], int64(off))
		if err != nil {
			return fail(fmt.Errorf("pwrite: %w", err))
		}
		off += w
	}
	addr := unsafe.Pointer(&m.region[0])
	if _, err := unix.MmapPtr(fd, 0, addr, uintptr(n), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_FIXED); err != nil {
		return fail(fmt.Errorf("mmap snapshot: %w", err))
	}
	m.fd, m.sealed = fd, n
	return nil
}

// reset restores the sealed snapshot. It reports false when memory grew
// past the snapshot (the caller then replaces the instance).
func (m *cowMemory) reset() bool {
	if m.fd < 0 || m.size != m.sealed {
		return false
	}
	return unix.Madvise(m.region[:m.sealed], unix.MADV_DONTNEED) == nil
}
