package atrest

import (
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"

	"github.com/lni/vfs"
)

// FS is a vfs.FS that stores files encrypted (format.go) in an inner
// vfs.FS and shows them in plaintext: sizes from Stat are plaintext sizes,
// reads decrypt and authenticate, writes (appends, WriteAt anywhere,
// writes past the end) re-seal the chunks they touch with fresh nonces.
//
// Directories, lock files (Lock, "LOCK") and Dragonboat's flag file
// "dragonboat.ds" (hostname, Raft address and log DB type, which Cairn
// reads before Dragonboat starts) are passed through unencrypted: they
// hold no user data.
//
// Handles of one file in one FS see each other's writes: a chunk is never
// read while another handle of the same file is rewriting it.
type FS struct {
	vfs.FS
	keys  *Keyring
	mu    sync.Mutex
	locks map[any]*fileLock
}

// fileLock orders chunk reads and writes of one file (by inode) across
// handles.
type fileLock struct {
	sync.RWMutex
	refs int
}

// NewFS wraps inner: files created through it are encrypted with keys'
// newest key; files opened through it must be encrypted with one of keys.
func NewFS(inner vfs.FS, keys *Keyring) *FS {
	return &FS{FS: inner, keys: keys, locks: map[any]*fileLock{}}
}

// Plain reports whether the file name is stored unencrypted.
func Plain(path string) bool {
	switch baseName(path) {
	case "dragonboat.ds", "LOCK":
		return true
	}
	return false
}

func baseName(p string) string {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '/' {
			return p[i+1:]
		}
	}
	return p
}

func (fs *FS) lock(fi os.FileInfo, name string) (*fileLock, any) {
	var key any = name
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		key = [2]uint64{uint64(st.Dev), st.Ino}
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	l := fs.locks[key]
	if l == nil {
		l = &fileLock{}
		fs.locks[key] = l
	}
	l.refs++
	return l, key
}

func (fs *FS) unlock(key any) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if l := fs.locks[key]; l != nil {
		if l.refs--; l.refs <= 0 {
			delete(fs.locks, key)
		}
	}
}

// Create implements vfs.FS: a new empty encrypted file (its header is
// written at once).
func (fs *FS) Create(name string) (vfs.File, error) {
	if Plain(name) {
		return fs.FS.Create(name)
	}
	inner, err := fs.FS.Create(name)
	if err != nil {
		return nil, err
	}
	h, hb, err := fs.keys.newHeader()
	if err == nil {
		_, err = inner.WriteAt(hb, 0)
	}
	if err != nil {
		inner.Close()
		return nil, err
	}
	return fs.newFile(inner, name, h, 0, true, false)
}

// Open implements vfs.FS. Directories and plain files are passed through.
func (fs *FS) Open(name string, opts ...vfs.OpenOption) (vfs.File, error) {
	inner, err := fs.FS.Open(name, opts...)
	if err != nil || Plain(name) {
		return inner, err
	}
	return fs.openExisting(inner, name, false, false)
}

// OpenForAppend implements vfs.FS. The inner file is opened for writing
// without O_APPEND (the last chunk is rewritten in place when it grows).
func (fs *FS) OpenForAppend(name string) (vfs.File, error) {
	if Plain(name) {
		return fs.FS.OpenForAppend(name)
	}
	if _, err := fs.FS.Stat(name); err != nil {
		return nil, err
	}
	inner, err := fs.FS.ReuseForWrite(name, name)
	if err != nil {
		return nil, err
	}
	return fs.openExisting(inner, name, true, true)
}

// ReuseForWrite implements vfs.FS: the file is renamed and opened for
// writing from offset 0 without truncation; it keeps its header (key and
// salt), its rewritten chunks get fresh nonces.
func (fs *FS) ReuseForWrite(oldname, newname string) (vfs.File, error) {
	if Plain(newname) {
		return fs.FS.ReuseForWrite(oldname, newname)
	}
	inner, err := fs.FS.ReuseForWrite(oldname, newname)
	if err != nil {
		return nil, err
	}
	return fs.openExisting(inner, newname, true, false)
}

// Stat implements vfs.FS: a file's size is its plaintext size (found as
// an open does, so a torn last chunk is not counted).
func (fs *FS) Stat(name string) (os.FileInfo, error) {
	fi, err := fs.FS.Stat(name)
	if err != nil || fi.IsDir() || !fi.Mode().IsRegular() || Plain(name) {
		return fi, err
	}
	inner, err := fs.FS.Open(name)
	if err != nil {
		return nil, err
	}
	f, err := fs.openExisting(inner, name, false, false)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return info{fi, f.(*file).size}, nil
}

func (fs *FS) openExisting(inner vfs.File, name string, writable, appendMode bool) (vfs.File, error) {
	fi, err := inner.Stat()
	if err != nil {
		inner.Close()
		return nil, err
	}
	if fi.IsDir() {
		return inner, nil
	}
	l, key := fs.lock(fi, name)
	f := &file{fs: fs, inner: inner, name: name, lk: l, lkey: key,
		writable: writable, appendMode: appendMode, ci: -1}
	l.RLock()
	err = f.scan()
	l.RUnlock()
	if err != nil {
		f.Close()
		return nil, err
	}
	if writable && f.phys > HeaderSize && f.phys != physSize(f.size) {
		// A torn last chunk was dropped: cut it off before writing, or
		// its bytes would outlast a shorter rewrite.
		t, ok := inner.(interface{ Truncate(int64) error })
		if !ok {
			f.Close()
			return nil, fmt.Errorf("%s: %w (torn last chunk)", name, ErrCorrupt)
		}
		if err := t.Truncate(physSize(f.size)); err != nil {
			f.Close()
			return nil, err
		}
		f.phys = physSize(f.size)
	}
	return f, nil
}

func (fs *FS) newFile(inner vfs.File, name string, h *header, size int64, writable, appendMode bool) (*file, error) {
	fi, err := inner.Stat()
	if err != nil {
		inner.Close()
		return nil, err
	}
	l, key := fs.lock(fi, name)
	return &file{fs: fs, inner: inner, name: name, h: h, lk: l, lkey: key, size: size,
		writable: writable, appendMode: appendMode, ci: -1}, nil
}

// info is a FileInfo with the plaintext size.
type info struct {
	os.FileInfo
	size int64
}

func (i info) Size() int64 { return i.size }

var _ vfs.FS = (*FS)(nil)
var _ io.ReaderAt = (*file)(nil)
