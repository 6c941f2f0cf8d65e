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
	var archives stringList
	fs.Var(&archives, "archive", "point-in-time restore: another backup directory whose log archive (DIR/log) to read besides the backup's own; repeat it to give every cluster node's --backup-dir")
	port := fs.Int("port", server.DefaultPort, "client port the restored node will run with (sets the default --raft-addr)")
	bind := fs.String("bind", server.DefaultBind, "listen address the restored node will run with (sets the default --raft-addr)")
	raftAddr := fs.String("raft-addr", "", "Raft address the restored node will run with (default bind:port+10000); it is recorded in the data directory")
	nodeID := fs.Uint64("node-id", 0, "restore one node of a new cluster: the --node-id it will start with (with --peers)")
	peers := fs.String("peers", "", "restore one node of a new cluster: the --peers it will start with, ID=raft-addr,... (restore every node with the same --peers and --shards)")
	shards := fs.Int("shards", 0, "number of shards of the new cluster (default: the backup's); keys are re-split by hash slot")
	keyFile := fs.String("encryption-key-file", "", "key file of an encrypted backup, and the one the restored node will run with (its data is then encrypted)")
	quiet := fs.Bool("quiet", false, "no progress output")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: cairn restore --from BACKUP --dir NEWDIR [--to-time 2026-12-06T10:15:00Z [--archive DIR ...]] [--node-id N --peers 1=ADDR,... [--shards S]] [--encryption-key-file F]\n\nBuilds the data directory of a new single node (then run cairn --dir NEWDIR), or of one node of a\nnew cluster (run it on every node with the same --peers, then start each with its --node-id and --peers).\n(docs/backups.md)\n\nFlags:\n")
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
	cfg := server.RestoreConfig{From: *from, Dir: *dir, RaftAddr: *raftAddr, KeyFile: *keyFile, NodeID: *nodeID, Shards: *shards, Archives: archives}
	if len(archives) > 0 && *toTime == "" {
		fmt.Fprintf(stderr, "cairn restore: --archive is for a point-in-time restore: give --to-time too\n")
		return 2
	}
	if *peers != "" {
		p, err := parsePeers(*peers)
		if err != nil {
			fmt.Fprintf(stderr, "cairn restore: --peers: %v\n", err)
			return 2
		}
		if _, ok := p[*nodeID]; !ok {
			fmt.Fprintf(stderr, "cairn restore: --peers does not list --node-id %d\n", *nodeID)
			return 2
		}
		cfg.Peers = p
	} else if *nodeID != 0 || *shards != 0 {
		fmt.Fprintf(stderr, "cairn restore: --node-id and --shards restore a node of a new cluster: give --peers too\n")
		return 2
	}
	if cfg.RaftAddr == "" && cfg.Peers == nil {
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
	for _, p := range res.Points {
		fmt.Fprintf(stdout, "shard %d: log index %d (%s), %d archived entries replayed\n", p.Shard, p.Index, time.UnixMilli(p.Time).UTC().Format(time.RFC3339Nano), p.Replayed)
	}
	if cfg.Peers != nil {
		fmt.Fprintf(stdout, "restored backup %s into %s as node %d of a new cluster: %d keys in %d shards, in %s\nstart it with: cairn --dir %s --node-id %d --peers %s --raft-secret SECRET (restore every peer the same way first)\n",
			res.Backup, *dir, *nodeID, res.Keys, res.Shards, time.Since(start).Round(time.Millisecond), *dir, *nodeID, *peers)
		return 0
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

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }

func (l *stringList) Set(v string) error {
	if v == "" {
		return errors.New("empty")
	}
	*l = append(*l, v)
	return nil
}
