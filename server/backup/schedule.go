package backup

import (
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// MaxRetentionDays bounds --backup-retention-days.
const MaxRetentionDays = 35

// Window is a daily time window in UTC, [Start, End) in minutes after
// midnight; End < Start wraps past midnight (23:00-01:00).
type Window struct {
	Start, End int
}

// ParseWindow parses "HH:MM-HH:MM" (UTC).
func ParseWindow(s string) (Window, error) {
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return Window{}, fmt.Errorf("backup window %q: want HH:MM-HH:MM (UTC)", s)
	}
	start, err1 := parseHHMM(a)
	end, err2 := parseHHMM(b)
	if err1 != nil || err2 != nil {
		return Window{}, fmt.Errorf("backup window %q: want HH:MM-HH:MM (UTC)", s)
	}
	if start == end {
		return Window{}, fmt.Errorf("backup window %q is empty", s)
	}
	return Window{Start: start, End: end}, nil
}

func parseHHMM(s string) (int, error) {
	var h, m int
	if len(s) != 5 || s[2] != ':' {
		return 0, fmt.Errorf("bad time")
	}
	if _, err := fmt.Sscanf(s, "%02d:%02d", &h, &m); err != nil || h > 23 || m > 59 || h < 0 || m < 0 {
		return 0, fmt.Errorf("bad time")
	}
	return h*60 + m, nil
}

// String formats the window as ParseWindow reads it.
func (w Window) String() string {
	return fmt.Sprintf("%02d:%02d-%02d:%02d", w.Start/60, w.Start%60, w.End/60, w.End%60)
}

// Contains tells whether t (in UTC) is inside the window, and the day the
// window that holds it opened (so a window past midnight is one day's).
func (w Window) Contains(t time.Time) (bool, string) {
	t = t.UTC()
	min := t.Hour()*60 + t.Minute()
	if w.Start < w.End {
		return min >= w.Start && min < w.End, t.Format("2006-01-02")
	}
	if min >= w.Start {
		return true, t.Format("2006-01-02")
	}
	if min < w.End {
		return true, t.AddDate(0, 0, -1).Format("2006-01-02")
	}
	return false, ""
}

// Schedule takes one backup a day inside a window and applies retention.
// Scheduling is node-local: backups are not replicated state.
type Schedule struct {
	Store *Store
	// Window is when the daily backup runs; nil: no scheduled backup
	// (retention still runs).
	Window *Window
	// RetentionDays deletes backups older than this (0: never).
	RetentionDays int
	// Sources returns the shards to back up at that moment.
	Sources func() []Source
	// Elected, if set, tells whether this node takes the scheduled
	// backup now. In a cluster every node may carry the same window, but
	// the cluster is backed up once per window: only the node that leads
	// the cluster directory takes it (it backs up every shard); the
	// others skip the check (retention still runs on their own store).
	// So every node of a cluster should carry the window: a leader
	// without one takes no scheduled backup.
	Elected func() bool
	// Interval is how often the schedule is checked. Default 30s.
	Interval time.Duration
	// Log receives the schedule's logs. Default slog.Default().
	Log *slog.Logger

	mu      sync.Mutex
	lastDay string // the day whose window got its backup
	skipped string // the day a skip was logged (not elected)
	quit    chan struct{}
	done    chan struct{}
}

// Start runs the schedule until Close.
func (sc *Schedule) Start() {
	if sc.Interval <= 0 {
		sc.Interval = 30 * time.Second
	}
	if sc.Log == nil {
		sc.Log = slog.Default()
	}
	sc.quit, sc.done = make(chan struct{}), make(chan struct{})
	// A backup already taken in today's window (before a restart) counts.
	if sc.Window != nil {
		if all, err := sc.Store.List(); err == nil {
			for _, m := range all {
				if in, day := sc.Window.Contains(m.Created); in && m.Scheduled {
					sc.lastDay = max(sc.lastDay, day)
				}
			}
		}
	}
	go sc.loop()
}

// Close stops the schedule (waiting for a backup in progress).
func (sc *Schedule) Close() {
	if sc.quit == nil {
		return
	}
	close(sc.quit)
	<-sc.done
}

func (sc *Schedule) loop() {
	defer close(sc.done)
	t := time.NewTicker(sc.Interval)
	defer t.Stop()
	for {
		sc.Tick()
		select {
		case <-sc.quit:
			return
		case <-t.C:
		}
	}
}

// elected tells whether this node takes the day's backup (logging a
// change of mind once per day).
func (sc *Schedule) elected(day string) bool {
	if sc.Elected == nil {
		return true
	}
	if sc.Elected() {
		return true
	}
	if sc.skipped != day {
		sc.skipped = day
		sc.Log.Info("scheduled backup left to the cluster directory's leader node", "window", sc.Window.String(), "day", day)
	}
	return false
}

// Tick runs one check: the day's backup if inside the window and not
// taken yet, then retention.
func (sc *Schedule) Tick() {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.Window != nil {
		if in, day := sc.Window.Contains(sc.Store.now()); in && day != sc.lastDay && sc.elected(day) {
			if _, err := sc.Store.Create("", sc.Sources(), true); err != nil {
				sc.Log.Error("scheduled backup failed; retried at the next check", "err", err, "window", sc.Window.String())
			} else {
				sc.lastDay = day
			}
		}
	}
	if sc.RetentionDays > 0 {
		if _, err := sc.Store.Prune(sc.RetentionDays); err != nil {
			sc.Log.Error("backup retention", "err", err)
		}
	}
}
