package shard

import (
	"os"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/lni/vfs"
)

// FaultFS wraps a file system for fault-injection tests (HostConfig.FS):
// it can make writes and fsyncs of matching files fail with a chosen error
// (syscall.ENOSPC, syscall.EIO...) and can report a chosen amount of free
// space to the disk guard. Everything else passes through.
type FaultFS struct {
	vfs.FS
	mu       sync.Mutex
	writeErr error
	syncErr  error
	match    string
	avail    *vfs.DiskUsage
	Failed   atomic.Int64 // operations failed so far
	// OnFailure, if set, is told about each failed operation.
	OnFailure func(op, path string, err error)
	// Before, if set, is called before each operation that changes the
	// file system (create, write, sync, rename, remove, mkdir, link), so
	// a test can cut power at a precise step (e.g. inside a snapshot).
	Before func(op, path string)
}

// NewFaultFS wraps fs with no fault armed.
func NewFaultFS(fs vfs.FS) *FaultFS { return &FaultFS{FS: fs} }

// FailWrites makes every write to a file whose path contains match ("" =
// any file) fail with err; nil heals.
func (f *FaultFS) FailWrites(err error, match string) {
	f.mu.Lock()
	f.writeErr, f.match = err, match
	f.mu.Unlock()
}

// FailSyncs makes every fsync of a matching file or directory fail with
// err; nil heals.
func (f *FaultFS) FailSyncs(err error, match string) {
	f.mu.Lock()
	f.syncErr, f.match = err, match
	f.mu.Unlock()
}

// SetDiskUsage makes GetDiskUsage report u; nil reports the wrapped file
// system's figures again.
func (f *FaultFS) SetDiskUsage(u *vfs.DiskUsage) {
	f.mu.Lock()
	f.avail = u
	f.mu.Unlock()
}

// GetDiskUsage implements vfs.FS.
func (f *FaultFS) GetDiskUsage(path string) (vfs.DiskUsage, error) {
	f.mu.Lock()
	u := f.avail
	f.mu.Unlock()
	if u != nil {
		return *u, nil
	}
	return f.FS.GetDiskUsage(path)
}

func (f *FaultFS) before(op, path string) {
	if f.Before != nil {
		f.Before(op, path)
	}
}

func (f *FaultFS) fault(write bool, path string) error {
	f.mu.Lock()
	err := f.syncErr
	if write {
		err = f.writeErr
	}
	if err != nil && !strings.Contains(path, f.match) {
		err = nil
	}
	cb := f.OnFailure
	f.mu.Unlock()
	if err != nil {
		f.Failed.Add(1)
		if cb != nil {
			op := "sync"
			if write {
				op = "write"
			}
			cb(op, path, err)
		}
	}
	return err
}

func (f *FaultFS) wrap(file vfs.File, path string, err error) (vfs.File, error) {
	if err != nil {
		return nil, err
	}
	return &faultFile{File: file, fs: f, path: path}, nil
}

// Create implements vfs.FS.
func (f *FaultFS) Create(name string) (vfs.File, error) {
	f.before("create", name)
	if err := f.fault(true, name); err != nil {
		return nil, err
	}
	file, err := f.FS.Create(name)
	return f.wrap(file, name, err)
}

// Link implements vfs.FS.
func (f *FaultFS) Link(oldname, newname string) error {
	f.before("link", newname)
	return f.FS.Link(oldname, newname)
}

// Remove implements vfs.FS.
func (f *FaultFS) Remove(name string) error {
	f.before("remove", name)
	return f.FS.Remove(name)
}

// RemoveAll implements vfs.FS.
func (f *FaultFS) RemoveAll(name string) error {
	f.before("remove", name)
	return f.FS.RemoveAll(name)
}

// Rename implements vfs.FS.
func (f *FaultFS) Rename(oldname, newname string) error {
	f.before("rename", newname)
	return f.FS.Rename(oldname, newname)
}

// MkdirAll implements vfs.FS.
func (f *FaultFS) MkdirAll(dir string, perm os.FileMode) error {
	f.before("mkdir", dir)
	return f.FS.MkdirAll(dir, perm)
}

// Open implements vfs.FS.
func (f *FaultFS) Open(name string, opts ...vfs.OpenOption) (vfs.File, error) {
	file, err := f.FS.Open(name, opts...)
	return f.wrap(file, name, err)
}

// OpenDir implements vfs.FS.
func (f *FaultFS) OpenDir(name string) (vfs.File, error) {
	file, err := f.FS.OpenDir(name)
	return f.wrap(file, name, err)
}

// OpenForAppend implements vfs.FS.
func (f *FaultFS) OpenForAppend(name string) (vfs.File, error) {
	file, err := f.FS.OpenForAppend(name)
	return f.wrap(file, name, err)
}

// ReuseForWrite implements vfs.FS.
func (f *FaultFS) ReuseForWrite(oldname, newname string) (vfs.File, error) {
	f.before("rename", newname)
	file, err := f.FS.ReuseForWrite(oldname, newname)
	return f.wrap(file, newname, err)
}

type faultFile struct {
	vfs.File
	fs   *FaultFS
	path string
}

func (f *faultFile) Write(p []byte) (int, error) {
	f.fs.before("write", f.path)
	if err := f.fs.fault(true, f.path); err != nil {
		return 0, err
	}
	return f.File.Write(p)
}

func (f *faultFile) WriteAt(p []byte, off int64) (int, error) {
	f.fs.before("write", f.path)
	if err := f.fs.fault(true, f.path); err != nil {
		return 0, err
	}
	return f.File.WriteAt(p, off)
}

func (f *faultFile) Sync() error {
	f.fs.before("sync", f.path)
	if err := f.fs.fault(false, f.path); err != nil {
		return err
	}
	return f.File.Sync()
}
