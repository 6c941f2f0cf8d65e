package atrest

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/lni/vfs"
)

// file is an open encrypted file (vfs.File).
type file struct {
	fs    *FS
	inner vfs.File
	// rd reads the file when inner cannot (a write-only in-memory file).
	rd   vfs.File
	name string
	h    *header // nil until an empty file's first write
	lk   *fileLock
	lkey any

	mu         sync.Mutex
	writable   bool
	appendMode bool
	size       int64 // plaintext size (readers: as last seen)
	phys       int64 // physical size at the last scan
	pos        int64
	ci         int64  // index of the cached chunk, -1 for none
	cbuf       []byte // its plaintext
	scratch    []byte
	wbuf       []byte           // sealed chunks of one put
	pbuf       [ChunkPlain]byte // a patched chunk's plaintext
}

// readPhys reads physical bytes, through a read handle of its own if the
// inner file is write-only.
func (f *file) readPhys(b []byte, off int64) (int, error) {
	if f.rd == nil {
		n, err := f.inner.ReadAt(b, off)
		if err == nil || errors.Is(err, io.EOF) || !f.writable {
			return n, err
		}
		rd, oerr := f.fs.FS.Open(f.name)
		if oerr != nil {
			return n, err
		}
		f.rd = rd
	}
	return f.rd.ReadAt(b, off)
}

// refresh re-reads a reader's plaintext size (another handle may have
// written since). Called with f.lk held.
func (f *file) refresh() error {
	if f.writable {
		return nil
	}
	return f.scan()
}

// scan reads the file's header (once) and sets its plaintext size from
// its physical size. Called with f.lk held.
//
// The last chunk is authenticated here: if it is incomplete or fails, the
// file ends before it. That is a write torn by a power cut (appended bytes
// the disk kept only part of); it loses nothing that was synced, except
// when the cut tore the in-place rewrite of a partial last chunk
// (docs/encryption.md). Anywhere else a chunk that fails is ErrCorrupt.
func (f *file) scan() error {
	fi, err := f.inner.Stat()
	if err != nil {
		return err
	}
	phys := fi.Size()
	f.phys = phys
	if phys < HeaderSize {
		// Empty, or a header torn at creation (a prefix of one); any
		// other short file is not in this format.
		b := make([]byte, min(phys, int64(len(magic))))
		if _, err := f.readPhys(b, 0); err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		if string(b) != magic[:len(b)] {
			return fmt.Errorf("%s: %w", f.name, ErrNotEncrypted)
		}
		f.size = 0
		return nil
	}
	if f.h == nil {
		hb := make([]byte, HeaderSize)
		if _, err := f.readPhys(hb, 0); err != nil {
			return fmt.Errorf("read encryption header of %s: %w", f.name, err)
		}
		if f.h, err = f.fs.keys.parseHeader(f.name, hb); err != nil {
			return err
		}
	}
	d := phys - HeaderSize
	full, r := d/ChunkSize, d%ChunkSize
	if r <= Overhead {
		// Nothing, or a stub too short to be a chunk, after the last
		// full chunk: that full chunk is the one to check.
		if full == 0 {
			f.size = 0
			return nil
		}
		full--
		r = ChunkSize
	}
	// Chunk `full` is the last one, r physical bytes long.
	f.size = full*ChunkPlain + r - Overhead
	if f.ci == full && int64(len(f.cbuf)) == f.size-full*ChunkPlain {
		return nil // already authenticated
	}
	f.ci = -1
	if _, err := f.chunk(full); err != nil {
		if !errors.Is(err, ErrCorrupt) {
			return err
		}
		f.size = full * ChunkPlain // torn last chunk: the file ends before it
	}
	return nil
}

// physSize is the physical size of a file of n plaintext bytes.
func physSize(n int64) int64 {
	if n == 0 {
		return HeaderSize
	}
	full, r := n/ChunkPlain, n%ChunkPlain
	p := HeaderSize + full*ChunkSize
	if r > 0 {
		p += r + Overhead
	}
	return p
}

// chunk returns chunk i's plaintext (f.size must cover it). The result is
// the cache: callers copy out of it.
func (f *file) chunk(i int64) ([]byte, error) {
	n := min(ChunkPlain, f.size-i*ChunkPlain)
	if n <= 0 {
		return nil, nil
	}
	if f.ci == i && int64(len(f.cbuf)) >= n {
		return f.cbuf[:n], nil
	}
	phys := n + Overhead
	if int64(cap(f.scratch)) < phys {
		f.scratch = make([]byte, ChunkSize)
	}
	c := f.scratch[:phys]
	if _, err := f.readPhys(c, HeaderSize+i*ChunkSize); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: chunk %d: %w (file shorter than its size)", f.name, i, ErrCorrupt)
		}
		return nil, err
	}
	p, err := f.h.open(f.cbuf[:0], i, c)
	if err != nil {
		f.ci = -1
		return nil, fmt.Errorf("%s: chunk %d: %w", f.name, i, err)
	}
	f.ci, f.cbuf = i, p
	return p, nil
}

// ReadAt implements io.ReaderAt.
func (f *file) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("atrest: negative offset")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.readAt(p, off)
}

func (f *file) readAt(p []byte, off int64) (int, error) {
	f.lk.RLock()
	defer f.lk.RUnlock()
	if off+int64(len(p)) > f.size {
		if err := f.refresh(); err != nil {
			return 0, err
		}
	}
	done := 0
	for done < len(p) && off < f.size {
		i := off / ChunkPlain
		c, err := f.chunk(i)
		if err != nil {
			return done, err
		}
		n := copy(p[done:], c[off-i*ChunkPlain:])
		done += n
		off += int64(n)
	}
	if done < len(p) {
		return done, io.EOF
	}
	return done, nil
}

// Read implements io.Reader.
func (f *file) Read(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(p) == 0 {
		return 0, nil
	}
	n, err := f.readAt(p, f.pos)
	f.pos += int64(n)
	if n > 0 && errors.Is(err, io.EOF) {
		err = nil
	}
	return n, err
}

// Seek implements io.Seeker.
func (f *file) Seek(offset int64, whence int) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var base int64
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		base = f.pos
	case io.SeekEnd:
		f.lk.RLock()
		err := f.refresh()
		f.lk.RUnlock()
		if err != nil {
			return 0, err
		}
		base = f.size
	default:
		return 0, errors.New("atrest: bad whence")
	}
	if base+offset < 0 {
		return 0, errors.New("atrest: negative position")
	}
	f.pos = base + offset
	return f.pos, nil
}

// Write implements io.Writer: at the position, or at the end for a file
// opened for appending.
func (f *file) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	off := f.pos
	if f.appendMode {
		off = f.size
	}
	n, err := f.writeAt(p, off)
	f.pos = off + int64(n)
	return n, err
}

// WriteAt implements io.WriterAt.
func (f *file) WriteAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("atrest: negative offset")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.writeAt(p, off)
}

var zeros [ChunkPlain]byte

func (f *file) writeAt(p []byte, off int64) (int, error) {
	if !f.writable {
		return 0, fmt.Errorf("%s: not opened for writing", f.name)
	}
	f.lk.Lock()
	defer f.lk.Unlock()
	if f.h == nil {
		h, hb, err := f.fs.keys.newHeader()
		if err != nil {
			return 0, err
		}
		if _, err := f.inner.WriteAt(hb, 0); err != nil {
			return 0, err
		}
		f.h = h
	}
	// A write past the end fills the gap with zeros, as a file would.
	for f.size < off {
		n := min(off-f.size, ChunkPlain-f.size%ChunkPlain)
		if err := f.put(zeros[:n], f.size); err != nil {
			return 0, err
		}
	}
	if err := f.put(p, off); err != nil {
		return 0, err
	}
	return len(p), nil
}

// put writes p at off <= f.size: each chunk it touches is read (unless
// wholly replaced or cached), patched and sealed with a fresh nonce; the
// sealed chunks are written with one WriteAt. Called with f.lk held.
func (f *file) put(p []byte, off int64) error {
	if len(p) == 0 {
		return nil
	}
	first := off / ChunkPlain
	need := (int64(len(p))/ChunkPlain + 2) * ChunkSize
	if int64(cap(f.wbuf)) < need {
		f.wbuf = make([]byte, 0, need)
	}
	out := f.wbuf[:0]
	defer func() {
		if cap(f.wbuf) > 1<<20 {
			f.wbuf = nil // keep no large buffer after a large write
		}
	}()
	var last []byte
	for len(p) > 0 {
		i := off / ChunkPlain
		co := off - i*ChunkPlain
		n := min(int64(len(p)), ChunkPlain-co)
		have := max(0, min(ChunkPlain, f.size-i*ChunkPlain))
		var plain []byte
		if co == 0 && n >= have {
			plain = p[:n]
		} else {
			old, err := f.chunk(i)
			if err != nil {
				return err
			}
			plain = f.pbuf[:max(have, co+n)]
			copy(plain, old)
			copy(plain[co:], p[:n])
		}
		var err error
		if out, err = f.h.seal(out, i, plain); err != nil {
			return err
		}
		last = plain
		f.size = max(f.size, i*ChunkPlain+int64(len(plain)))
		off += n
		p = p[n:]
	}
	if _, err := f.inner.WriteAt(out, HeaderSize+first*ChunkSize); err != nil {
		f.ci = -1
		return err
	}
	// Cache the last chunk written: the next append patches it.
	f.ci = (off - 1) / ChunkPlain
	f.cbuf = append(f.cbuf[:0], last...)
	return nil
}

// Stat implements vfs.File: the plaintext size.
func (f *file) Stat() (os.FileInfo, error) {
	fi, err := f.inner.Stat()
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lk.RLock()
	err = f.refresh()
	f.lk.RUnlock()
	if err != nil {
		return nil, err
	}
	return info{fi, f.size}, nil
}

// Sync implements vfs.File.
func (f *file) Sync() error { return f.inner.Sync() }

// Close implements io.Closer.
func (f *file) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.inner == nil {
		return nil
	}
	err := f.inner.Close()
	if f.rd != nil {
		f.rd.Close()
	}
	f.inner, f.rd = nil, nil
	f.fs.unlock(f.lkey)
	return err
}
