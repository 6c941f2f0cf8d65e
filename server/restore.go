package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/cairndb/cairn/modules"
	"github.com/cairndb/cairn/server/backup"
	"github.com/cairndb/cairn/server/shard"
)

// RestoreConfig says what cairn restore restores, and where.
type RestoreConfig struct {
	// From is a backup directory (<backup-dir>/<name>, holding
	// manifest.json) or the backup directory itself, whose newest backup
	// (at or before ToTime when set) is taken. Required.
	From string
	// Dir is the new node's data directory; it must not exist or be
	// empty. Required.
	Dir string
	// ToTime, if set, restores the state as of that moment: the backup
	// plus the archived log entries whose leader time is at or before it.
	ToTime time.Time
	// RaftAddr is the Raft address the restored node will run with (it
	// is recorded in the data directory). Default 127.0.0.1:16379, the
	// default of a node on port 6379.
	RaftAddr string
	// Progress, if set, is told how far each phase is ("verify" and
	// "load" in bytes, "replay" in entries, "import").
	Progress func(phase string, done, total int64)
	// Logger receives the restore's logs. Default slog.Default().
	Logger *slog.Logger
}

// RestoreResult is what a restore produced.
type RestoreResult struct {
	// Backup is the backup restored from; Index and Time where the
	// restored state stands (log index in the backed-up shard's log and
	// its leader time, Unix ms).
	Backup string
	Index  uint64
	Time   int64
	// Replayed is how many archived entries were applied on top of the
	// backup.
	Replayed int
	// Digest is the restored state digest; Keys its key count.
	Digest uint64
	Keys   int
}

// Restore builds the data directory of a new single node from a backup
// (and, with ToTime, the log archive): it verifies the backup's
// checksums, loads its snapshot into a scratch state machine (the digest
// must be the manifest's), replays archived entries through the real apply
// up to ToTime, imports the state into a fresh node on Dir, restarts that
// node and checks the digest again. On error nothing is left in Dir.
func Restore(cfg RestoreConfig) (_ *RestoreResult, err error) {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	if cfg.RaftAddr == "" {
		cfg.RaftAddr = fmt.Sprintf("%s:%d", DefaultBind, DefaultPort+RaftPortOffset)
	}
	progress := cfg.Progress
	if progress == nil {
		progress = func(string, int64, int64) {}
	}
	if cfg.From == "" || cfg.Dir == "" {
		return nil, errors.New("restore needs --from and --dir")
	}

	// 1. Which backup: the one named, or the newest suitable one.
	root, m, err := pickBackup(cfg.From, cfg.ToTime)
	if err != nil {
		return nil, err
	}
	if m.Mode == "cluster" || len(m.Shards) != 1 {
		return nil, fmt.Errorf("backup %s has %d shards: restoring a cluster backup is not supported yet", m.Name, len(m.Shards))
	}
	if len(m.SnapshotFormat) != len(SnapshotFormat) || m.SnapshotFormat > SnapshotFormat {
		return nil, fmt.Errorf("backup %s holds snapshot format %q, newer than this binary's %q", m.Name, m.SnapshotFormat, SnapshotFormat)
	}
	sh := m.Shards[0]
	log.Info("restore: backup chosen", "backup", m.Name, "created", m.Created, "log_index", sh.Index, "keys", sh.Keys)

	// 2. The target directory: new or empty; removed again on failure.
	if ents, err := os.ReadDir(cfg.Dir); err == nil && len(ents) > 0 {
		return nil, fmt.Errorf("%s is not empty: restore builds a new data directory", cfg.Dir)
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(cfg.Dir)
		}
	}()

	// 3. Verify the checksums while loading the snapshot into a scratch
	// state machine: the digest must be the recorded one.
	rt, err := modules.NewRuntime(context.Background(), modules.Config{})
	if err != nil {
		return nil, fmt.Errorf("start the Wasm runtime: %w", err)
	}
	defer rt.Close(context.Background())
	off := shard.NewOffline(Commands(nil), rt, log)
	defer off.Close()
	bdir := filepath.Join(root, m.Name)
	_, err = backup.VerifyFile(bdir, sh, func(r io.Reader) (backup.Loaded, error) {
		pr := &progressReader{r: r, total: sh.Size, fn: func(d, t int64) { progress("load", d, t) }}
		if err := off.Load(pr); err != nil {
			return backup.Loaded{}, err
		}
		return backup.Loaded{Index: off.Applied(), Digest: off.Digest()}, nil
	})
	if err != nil {
		return nil, err
	}
	progress("load", sh.Size, sh.Size)
	if got := backup.FormatDigest(off.Digest()); got != sh.Digest || off.Applied() != sh.Index {
		return nil, fmt.Errorf("%w: loaded state has digest %s at index %d, manifest says %s at %d", backup.ErrCorrupt, got, off.Applied(), sh.Digest, sh.Index)
	}

	// 4. Point in time: replay the archived entries up to ToTime.
	res := &RestoreResult{Backup: m.Name, Index: sh.Index, Time: sh.Time}
	if !cfg.ToTime.IsZero() {
		target := cfg.ToTime.UnixMilli()
		end, endTime, err := backup.ArchiveEnd(root, sh.ID)
		if err != nil {
			return nil, err
		}
		if endTime < target {
			at := "nothing is archived"
			if end > 0 {
				at = fmt.Sprintf("it ends at %s (index %d)", time.UnixMilli(endTime).UTC().Format(time.RFC3339Nano), end)
			}
			return nil, fmt.Errorf("--to-time %s is after the end of the log archive: %s", cfg.ToTime.UTC().Format(time.RFC3339), at)
		}
		total := int64(end) - int64(sh.Index)
		last, lastTime, err := backup.ReplayArchive(root, sh.ID, sh.Index, func(e backup.Entry) (bool, error) {
			if e.Time > target {
				return false, nil
			}
			if err := off.Apply(e.Index, e.Data); err != nil {
				return false, err
			}
			res.Replayed++
			if res.Replayed%1024 == 0 {
				progress("replay", int64(res.Replayed), total)
			}
			return true, nil
		})
		if err != nil {
			return nil, fmt.Errorf("replay the log archive: %w", err)
		}
		progress("replay", int64(res.Replayed), int64(res.Replayed))
		res.Index = last
		if res.Replayed > 0 {
			res.Time = lastTime
		}
		log.Info("restore: log replayed", "entries", res.Replayed, "log_index", res.Index, "time", time.UnixMilli(res.Time).UTC())
	}
	res.Digest, res.Keys = off.Digest(), off.Keys()

	// 5. A fresh node on Dir takes the state (as its Raft snapshot);
	// restarted, it must come back with the same digest.
	progress("import", 0, 1)
	base := Config{Dir: cfg.Dir, Port: -1, RaftAddr: cfg.RaftAddr, Logger: log, MinFreeDisk: -1, MemoryGuard: -1, passive: true}
	n, err := Start(base)
	if err != nil {
		return nil, fmt.Errorf("start the new node: %w", err)
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(off.WriteSnapshot(pw)) }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	d, err := n.shard.ImportSnapshot(ctx, pr)
	cancel()
	pr.Close()
	n.Close()
	if err != nil {
		return nil, fmt.Errorf("import into the new node: %w", err)
	}
	if d != res.Digest {
		return nil, fmt.Errorf("imported state has digest %016x, want %016x", d, res.Digest)
	}
	if n, err = Start(base); err != nil {
		return nil, fmt.Errorf("restart the restored node: %w", err)
	}
	_, d = n.shard.StateDigest()
	n.Close()
	if d != res.Digest {
		return nil, fmt.Errorf("restarted node has digest %016x, want %016x", d, res.Digest)
	}
	progress("import", 1, 1)
	log.Info("restore complete", "dir", cfg.Dir, "backup", m.Name, "log_index", res.Index, "keys", res.Keys, "digest", backup.FormatDigest(res.Digest))
	return res, nil
}

// pickBackup returns the backup directory root and the manifest of the
// backup to restore: from itself, or the newest in from at or before
// toTime.
func pickBackup(from string, toTime time.Time) (string, *backup.Manifest, error) {
	if _, err := os.Stat(filepath.Join(from, backup.ManifestFile)); err == nil {
		m, err := backup.ReadManifest(from)
		if err != nil {
			return "", nil, err
		}
		if !toTime.IsZero() && len(m.Shards) > 0 && m.Shards[0].Time > toTime.UnixMilli() {
			return "", nil, fmt.Errorf("backup %s was taken at %s, after --to-time %s", m.Name, time.UnixMilli(m.Shards[0].Time).UTC().Format(time.RFC3339Nano), toTime.UTC().Format(time.RFC3339))
		}
		return filepath.Dir(filepath.Clean(from)), m, nil
	}
	st := &backup.Store{Dir: from}
	all, err := st.List()
	if err != nil {
		return "", nil, err
	}
	if len(all) == 0 {
		return "", nil, fmt.Errorf("no complete backup in %s", from)
	}
	var pick *backup.Manifest
	for _, m := range all {
		if toTime.IsZero() || (len(m.Shards) > 0 && m.Shards[0].Time <= toTime.UnixMilli()) {
			if pick == nil || m.Shards[0].Time >= pick.Shards[0].Time {
				pick = m
			}
		}
	}
	if pick == nil {
		return "", nil, fmt.Errorf("no backup in %s at or before %s (the earliest was taken at %s)", from, toTime.UTC().Format(time.RFC3339), time.UnixMilli(all[0].Shards[0].Time).UTC().Format(time.RFC3339))
	}
	return from, pick, nil
}

// progressReader reports the bytes read through it.
type progressReader struct {
	r         io.Reader
	done      int64
	total     int64
	fn        func(done, total int64)
	lastShown int64
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.done += int64(n)
	if p.done-p.lastShown >= 4<<20 {
		p.lastShown = p.done
		p.fn(p.done, p.total)
	}
	return n, err
}
