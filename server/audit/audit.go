// Package audit writes Cairn's audit log (--audit-log): one JSON line per
// security-relevant or administrative command — AUTH and HELLO AUTH, ACL
// changes, CONFIG SET/REWRITE/RESETSTAT, cluster changes, FUNCTION
// LOAD/DELETE/FLUSH/RESTORE, FLUSHALL/FLUSHDB, REGION PROMOTE, BACKUP,
// SAVE/BGSAVE, SHUTDOWN, DEBUG, CLIENT KILL — with the time, the user, the
// client's address, the command and its result. Passwords, secrets and
// data are never written: the arguments are redacted per command
// (redact.go).
//
// The file is opened for appending (O_APPEND, mode 0600); each record is
// one write(2), so lines never interleave. Records are fsynced at most a
// second after they are written (a background flusher), and on Reopen
// and Close: a power cut loses at most the last second of records, a
// process crash none. Reopen (SIGHUP, see WatchSIGHUP) closes and reopens
// the path, for logrotate's rename-then-signal.
package audit

import (
	"encoding/json"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Record is one line of the audit log.
type Record struct {
	// Time is when the command completed, RFC 3339 with nanoseconds, UTC.
	Time string `json:"time"`
	// User is the authenticated user ("default" without ACL users); for
	// AUTH, the user the client tried to authenticate as.
	User string `json:"user"`
	// Addr is the client's address (ip:port).
	Addr string `json:"addr"`
	// Command is the command and subcommand, lowercase ("config set").
	Command string `json:"command"`
	// Args are the arguments after the (sub)command, redacted.
	Args []string `json:"args"`
	// Result is "ok" or the error reply's text.
	Result string `json:"result"`
}

// Log is an open audit log. Its methods are safe for concurrent use.
type Log struct {
	path  string
	mu    sync.Mutex
	f     *os.File
	dirty bool
	err   error // last write error, reported by Err
	stop  chan struct{}
	done  chan struct{}
	now   func() time.Time
}

// Open opens (creating it if needed) the audit log at path for appending.
func Open(path string) (*Log, error) {
	f, err := openFile(path)
	if err != nil {
		return nil, err
	}
	l := &Log{path: path, f: f, stop: make(chan struct{}), done: make(chan struct{}), now: time.Now}
	go l.flusher()
	return l, nil
}

func openFile(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
}

// flusher fsyncs written records once a second.
func (l *Log) flusher() {
	defer close(l.done)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
			l.mu.Lock()
			l.syncLocked()
			l.mu.Unlock()
		}
	}
}

func (l *Log) syncLocked() {
	if l.dirty && l.f != nil {
		if err := l.f.Sync(); err != nil {
			l.err = err
		}
		l.dirty = false
	}
}

// Audited reports whether the command named name (its command-table
// name: "flushall", "config|set") is recorded.
func (l *Log) Audited(name string) bool { return audited(name) }

// Record writes the record of a command that ran: user and addr say who,
// args are its raw arguments (the command name first; they are redacted
// here), errText is the error reply's text or "" when it succeeded.
func (l *Log) Record(user, addr, name string, args [][]byte, errText string) {
	r, ok := build(name, user, addr, args, errText)
	if !ok {
		return
	}
	r.Time = l.now().UTC().Format(time.RFC3339Nano)
	b, err := json.Marshal(r)
	if err != nil {
		return
	}
	b = append(b, '\n')
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return
	}
	if _, err := l.f.Write(b); err != nil {
		l.err = err
		return
	}
	l.dirty = true
}

// Err returns the last error writing or syncing the log, nil if none.
func (l *Log) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// Reopen fsyncs and closes the file and opens path again (a rotated log
// starts a new file).
func (l *Log) Reopen() error {
	f, err := openFile(l.path)
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f != nil {
		l.syncLocked()
		l.f.Close()
	}
	l.f = f
	return nil
}

// WatchSIGHUP reopens the log on every SIGHUP until the returned stop
// function is called. onErr, if set, is told of a failed reopen (the old
// file stays in use).
func (l *Log) WatchSIGHUP(onErr func(error)) (stop func()) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGHUP)
	quit := make(chan struct{})
	go func() {
		for {
			select {
			case <-quit:
				return
			case <-ch:
				if err := l.Reopen(); err != nil && onErr != nil {
					onErr(err)
				}
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			signal.Stop(ch)
			close(quit)
		})
	}
}

// Close fsyncs and closes the log.
func (l *Log) Close() error {
	l.mu.Lock()
	if l.f == nil {
		l.mu.Unlock()
		return nil
	}
	l.syncLocked()
	err := l.f.Close()
	l.f = nil
	l.mu.Unlock()
	close(l.stop)
	<-l.done
	return err
}

// commandName turns a table name ("config|set") into the record's
// ("config set").
func commandName(name string) string { return strings.ReplaceAll(name, "|", " ") }
