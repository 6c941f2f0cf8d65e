package session

import (
	"bufio"
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/cairndb/cairn/server/durable"
)

// Effects of the node-local CONFIG parameters: loglevel, timeout, hz,
// tcp-keepalive, and CONFIG REWRITE.

// Redis log levels as slog levels.
const (
	levelVerbose = slog.LevelDebug + 2
	levelNothing = slog.LevelError + 100
)

// ParseLogLevel maps a Redis loglevel (debug, verbose, notice, warning,
// nothing) or an slog level name (debug, info, warn, error) to a level.
func ParseLogLevel(v string) (slog.Level, bool) {
	switch strings.ToLower(v) {
	case "debug":
		return slog.LevelDebug, true
	case "verbose":
		return levelVerbose, true
	case "notice", "info":
		return slog.LevelInfo, true
	case "warning", "warn":
		return slog.LevelWarn, true
	case "error":
		return slog.LevelError, true
	case "nothing":
		return levelNothing, true
	}
	return 0, false
}

// levelName is the Redis loglevel of an slog level.
func levelName(l slog.Level) string {
	switch {
	case l <= slog.LevelDebug:
		return "debug"
	case l <= levelVerbose:
		return "verbose"
	case l <= slog.LevelInfo:
		return "notice"
	case l < levelNothing:
		return "warning"
	}
	return "nothing"
}

// levelFilter drops records below a LevelVar, for a logger whose handler
// was not built over one.
type levelFilter struct {
	slog.Handler
	level *slog.LevelVar
}

func (f levelFilter) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= f.level.Level() && f.Handler.Enabled(ctx, l)
}
func (f levelFilter) WithAttrs(a []slog.Attr) slog.Handler {
	return levelFilter{f.Handler.WithAttrs(a), f.level}
}
func (f levelFilter) WithGroup(n string) slog.Handler {
	return levelFilter{f.Handler.WithGroup(n), f.level}
}

func (s *Server) initLogLevel() {
	s.logLevel = s.cfg.LogLevel
	if s.logLevel == nil {
		s.logLevel = new(slog.LevelVar)
		s.log = slog.New(levelFilter{s.log.Handler(), s.logLevel})
	}
}

// applyStartParams applies the config file's node-local parameters.
func (s *Server) applyStartParams() {
	for name, v := range s.cfg.Params {
		d := s.params.byName[name]
		if d == nil || !d.file || d.replicated || d.apply == nil {
			s.log.Warn("ignoring unknown parameter", "name", name)
			continue
		}
		cv, err := d.parse(v)
		if err != nil {
			s.log.Warn("ignoring bad parameter", "name", name, "err", err)
			continue
		}
		s.params.values[name] = cv
		d.apply(s, cv)
	}
}

// setKeepAlive applies tcp-keepalive to a new connection.
func (s *Server) setKeepAlive(tc *net.TCPConn) {
	if n := s.params.keepAlive.Load(); n > 0 {
		tc.SetKeepAliveConfig(net.KeepAliveConfig{Enable: true, Idle: time.Duration(n) * time.Second, Interval: time.Duration(n) * time.Second / 3, Count: 3})
	} else {
		tc.SetKeepAlive(false)
	}
}

// clientsCron closes clients idle for more than timeout seconds, as
// Redis's clientsCronHandleTimeout: not blocked clients, not subscribers,
// not MONITOR. It runs hz times a second.
func (s *Server) clientsCron(stop <-chan struct{}) {
	for {
		hz := max(s.params.hz.Load(), 1)
		select {
		case <-stop:
			return
		case <-time.After(time.Second / time.Duration(hz)):
		}
		timeout := s.params.timeout.Load()
		if timeout <= 0 {
			continue
		}
		now := time.Now().UnixMilli()
		var idle []*client
		s.mu.Lock()
		for _, c := range s.clients {
			if c.blockedNow.Load() || c.subscribed() || c.monitorA.Load() {
				continue
			}
			if now-c.lastInteraction.Load() > timeout*1000 {
				idle = append(idle, c)
			}
		}
		s.mu.Unlock()
		for _, c := range idle {
			s.log.Debug("closing idle client", "addr", c.addr)
			c.kill()
		}
	}
}

// rewrite rewrites the config file as Redis's CONFIG REWRITE: lines of
// parameters it manages get their current values, other lines (comments,
// port, dir...) are kept, managed parameters missing from it are appended.
// Replicated parameters are not written: they live in the Raft log. The
// new file replaces the old atomically (temp file, fsync, rename, fsync of
// the directory).
func (p *params) rewrite(path string) error {
	if path == "" {
		return errors.New("The server is running without a config file")
	}
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	p.mu.RLock()
	vals := map[string]string{}
	var order []string
	for _, d := range p.defs {
		if !d.file {
			continue
		}
		v := p.values[d.name]
		if d.name == "proto-max-bulk-len" {
			v = itoa(p.maxBulk.Load())
		}
		vals[d.name] = v
		order = append(order, d.name)
	}
	p.mu.RUnlock()
	line := func(name string) string { return name + " " + strconv.Quote(vals[name]) }
	var b strings.Builder
	done := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(string(old)))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		l := sc.Text()
		name, _, _ := strings.Cut(strings.TrimSpace(l), " ")
		name = strings.ToLower(name)
		if _, ok := vals[name]; ok && !strings.HasPrefix(name, "#") {
			if done[name] {
				continue // a repeated line: the last value won; keep one
			}
			done[name] = true
			l = line(name)
		}
		b.WriteString(l + "\n")
	}
	for _, n := range order {
		if !done[n] {
			b.WriteString(line(n) + "\n")
		}
	}
	return durable.WriteFile(path, []byte(b.String()))
}

// scheduleBgsave runs a background save once the snapshot in progress has
// finished (BGSAVE SCHEDULE, Redis's rdb_bgsave_scheduled). Several
// schedules while one waits make one save.
func (s *Server) scheduleBgsave() {
	if s.bgsaveScheduled.Swap(true) {
		return
	}
	go func() {
		defer s.bgsaveScheduled.Store(false)
		for s.backend.Status().SnapshotInProgress {
			select {
			case <-s.stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		if err := s.backend.Save(ctx); err != nil {
			s.log.Error("scheduled background snapshot failed", "err", err)
		}
	}()
}
