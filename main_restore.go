package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/cairndb/cairn/server"
)

// runRestore is `cairn restore --from BACKUP --dir NEWDIR [--to-time T]`:
// builds the data directory of a new node from a backup and, for a
// point-in-time restore, the log archive (docs/backups.md).
func runRestore(args []string, stdout, stderr io.Writer) int {
	// 1. Parse flags.
	fs := flag.NewFlagSet("cairn restore", flag.ContinueOnError)
	fs.SetOutput(stderr)
	from := fs.String("from", "", "a backup (<backup-dir>/<name>) or the backup directory (its newest backup, at or before --to-time)")
	dir := fs.String("dir", "", "data directory of the new node (must not exist or be empty)")
	toTime := fs.String("to-time", "", "point-in-time restore: the state as of this moment (RFC 3339, e.g. 2026-12-06T10:15:00Z), from the nearest earlier backup plus the log archive")
	port := fs.Int("port", server.DefaultPort, "client port the restored node will run with (sets the default --raft-addr)")
	bind := fs.String("bind", server.DefaultBind, "listen address the restored node will run with (sets the default --raft-addr)")
	raftAddr := fs.String("raft-addr", "", "Raft address the restored node will run with (default bind:port+10000); it is recorded in the data directory")
	nodeID := fs.String("node-id", "", "restore into a cluster node: not supported yet")
	peers := fs.String("peers", "", "restore into a new cluster: not supported yet")
	quiet := fs.Bool("quiet", false, "no progress output")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: cairn restore --from BACKUP --dir NEWDIR [--to-time 2026-12-06T10:15:00Z]\n\nBuilds the data directory of a new single node from a backup; then run cairn --dir NEWDIR.\n(docs/backups.md)\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() != 0 || *from == "" || *dir == "" {
		fmt.Fprintf(stderr, "cairn restore: --from and --dir are required (and nothing else)\n")
		return 2
	}
	if *nodeID != "" || *peers != "" {
		fmt.Fprintf(stderr, "cairn restore: restoring into a cluster (--node-id, --peers) is not supported yet; restore a single node\n")
		return 2
	}
	cfg := server.RestoreConfig{From: *from, Dir: *dir, RaftAddr: *raftAddr}
	if cfg.RaftAddr == "" {
		cfg.RaftAddr = net.JoinHostPort(*bind, strconv.Itoa(*port+server.RaftPortOffset))
	}
	if *toTime != "" {
		t, err := time.Parse(time.RFC3339Nano, *toTime)
		if err != nil {
			fmt.Fprintf(stderr, "cairn restore: bad --to-time %q: want RFC 3339 such as 2026-12-06T10:15:00Z\n", *toTime)
			return 2
		}
		cfg.ToTime = t
	}

	// 2. Progress on stderr: a bar redrawn in place on a terminal, a log
	// line every few seconds otherwise. The restore's own logs go there
	// too (warnings only on a terminal, so they do not break the bar).
	term := isTerminal(stderr)
	level := slog.LevelInfo
	if term {
		level = slog.LevelWarn
	}
	cfg.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	if !*quiet {
		cfg.Progress = newRestoreProgress(stderr, term)
	}

	// 3. Restore.
	start := time.Now()
	res, err := server.Restore(cfg)
	if term && !*quiet {
		fmt.Fprintln(stderr)
	}
	if err != nil {
		fmt.Fprintf(stderr, "cairn restore: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "restored backup %s into %s: %d keys at log index %d (%s), %d archived entries replayed, digest %016x, in %s\nstart it with: cairn --dir %s --raft-addr %s\n",
		res.Backup, *dir, res.Keys, res.Index, time.UnixMilli(res.Time).UTC().Format(time.RFC3339Nano), res.Replayed, res.Digest,
		time.Since(start).Round(time.Millisecond), *dir, cfg.RaftAddr)
	return 0
}

// newRestoreProgress returns a progress callback: a bar on a terminal,
// rate-limited log lines otherwise.
func newRestoreProgress(w io.Writer, term bool) func(phase string, done, total int64) {
	var last time.Time
	lastPhase := ""
	return func(phase string, done, total int64) {
		every := 2 * time.Second
		if term {
			every = 100 * time.Millisecond
		}
		final := done >= total
		if phase == lastPhase && !final && time.Since(last) < every {
			return
		}
		last, lastPhase = time.Now(), phase
		pct := 100.0
		if total > 0 {
			pct = 100 * float64(done) / float64(total)
		}
		if !term {
			fmt.Fprintf(w, "restore: %s %d/%d (%.0f%%)\n", phase, done, total, pct)
			return
		}
		const width = 30
		fill := int(pct / 100 * width)
		fill = max(0, min(width, fill))
		fmt.Fprintf(w, "\r\x1b[Krestore: %-6s [%s%s] %3.0f%%", phase, strings.Repeat("#", fill), strings.Repeat(".", width-fill), pct)
	}
}
