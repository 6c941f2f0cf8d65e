package acl

import (
	"sync"
	"time"
)

// LogEntry is one ACL LOG entry: a denial or a failed authentication.
type LogEntry struct {
	Count    int64
	Reason   string // "command", "key", "channel", "auth"
	Context  string // "toplevel", "multi"
	Object   string // command name, key, channel, or AUTH/HELLO
	Username string
	// Created is when the entry was last hit (age-seconds counts from
	// it); ClientInfo is the client's CLIENT INFO line then.
	Created    time.Time
	ClientInfo string
}

// logGroupWindow: a denial equal to a recent entry (same reason,
// context, object and user, within the window) counts on it instead of
// adding one, as Redis's ACL_LOG_GROUPING_MAX_TIME_DELTA.
const logGroupWindow = 60 * time.Second

// DefaultLogLen is acllog-max-len's default.
const DefaultLogLen = 128

// Log is the ACL LOG: the latest denials, newest first. It is node-local,
// as in Redis. Safe for concurrent use.
type Log struct {
	mu      sync.Mutex
	entries []LogEntry
	max     int
}

// NewLog returns a log keeping at most max entries.
func NewLog(max int) *Log { return &Log{max: max} }

// Add records a denial.
func (l *Log) Add(e LogEntry) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := range l.entries {
		o := &l.entries[i]
		if o.Reason == e.Reason && o.Context == e.Context && o.Object == e.Object &&
			o.Username == e.Username && e.Created.Sub(o.Created) < logGroupWindow {
			o.Count++
			o.Created, o.ClientInfo = e.Created, e.ClientInfo
			m := *o
			copy(l.entries[1:i+1], l.entries[:i])
			l.entries[0] = m
			return
		}
	}
	e.Count = 1
	l.entries = append([]LogEntry{e}, l.entries...)
	if len(l.entries) > l.max {
		l.entries = l.entries[:l.max]
	}
}

// Entries returns up to n entries, newest first (n < 0: all).
func (l *Log) Entries(n int) []LogEntry {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n < 0 || n > len(l.entries) {
		n = len(l.entries)
	}
	return append([]LogEntry(nil), l.entries[:n]...)
}

// Reset empties the log.
func (l *Log) Reset() {
	l.mu.Lock()
	l.entries = nil
	l.mu.Unlock()
}
