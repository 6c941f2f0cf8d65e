package server

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// The data directory belongs to one process at a time: a second cairn on
// the same directory would run a second Raft replica with the same
// identity, which Raft cannot survive. The owner holds an exclusive flock
// on Dir/LOCK (released by the kernel when the process dies, so a crash
// never leaves a stale lock) and writes its pid there for the error
// message of the next comer.

const lockFile = "LOCK"

// dirLock is a held lock on a data directory.
type dirLock struct{ f *os.File }

// lockDir takes the data directory's lock or says who holds it.
func lockDir(dir string) (*dirLock, error) {
	path := filepath.Join(dir, lockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock data dir: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		defer f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			who := "another process"
			if b, _ := os.ReadFile(path); len(strings.TrimSpace(string(b))) > 0 {
				who = "another process (pid " + strings.TrimSpace(string(b)) + ")"
			}
			return nil, fmt.Errorf("data dir %s is in use by %s: two nodes must never share a data dir", dir, who)
		}
		return nil, fmt.Errorf("lock data dir %s: %w", dir, err)
	}
	// Ours now: record the pid (best effort; the flock is what counts).
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &dirLock{f: f}, nil
}

// release drops the lock. The LOCK file stays (removing it would race
// with a process that just opened it).
func (l *dirLock) release() {
	if l == nil || l.f == nil {
		return
	}
	l.f.Truncate(0)
	syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	l.f.Close()
	l.f = nil
}
