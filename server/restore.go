package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/cairndb/cairn/modules"
	"github.com/cairndb/cairn/server/atrest"
	"github.com/cairndb/cairn/server/backup"
	"github.com/cairndb/cairn/server/cluster"
	"github.com/cairndb/cairn/server/durable"
	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/server/shard"
	"github.com/cairndb/cairn/server/slot"
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
	// plus, for every shard, the archived log entries whose leader time
	// is at or before it.
	ToTime time.Time
	// Archives are more backup directories whose log archives (DIR/log)
	// a point-in-time restore reads, besides the one of From's backup
	// directory: in a cluster each node archives the shards it hosts into
	// its own --backup-dir, so give every node's. Each entry is taken from
	// whichever archive holds it.
	Archives []string
	// RaftAddr is the Raft address the restored node will run with (it
	// is recorded in the data directory). Default 127.0.0.1:16379, the
	// default of a node on port 6379; in cluster mode the address Peers
	// gives NodeID.
	RaftAddr string
	// KeyFile is the encryption key file (--encryption-key-file) the new
	// node will run with: it decrypts an encrypted backup and encrypts
	// what the restore writes. Required for an encrypted backup.
	KeyFile string
	// Keys is KeyFile's keyring (loaded from KeyFile when nil).
	Keys *atrest.Keyring
	// NodeID and Peers, when Peers is set, restore into a node of a new
	// cluster (the --node-id and --peers it will start with); Shards is
	// that cluster's number of shards (default: the backup's). Every
	// node of the new cluster is restored from the same backup with the
	// same Peers and Shards. Without Peers: a single node.
	NodeID uint64
	Peers  map[uint64]string
	Shards int
	// Progress, if set, is told how far each phase is ("load" in bytes,
	// "replay" in entries, "split" in shards, "import").
	Progress func(phase string, done, total int64)
	// Logger receives the restore's logs. Default slog.Default().
	Logger *slog.Logger
}

// RestoreResult is what a restore produced.
type RestoreResult struct {
	// Backup is the backup restored from; Index and Time where the
	// restored state stands (log index in the backed-up shard's log and
	// its leader time, Unix ms; of the first shard for a backup of
	// several).
	Backup string
	Index  uint64
	Time   int64
	// Replayed is how many archived entries were applied on top of the
	// backup (all shards).
	Replayed int
	// Points are, per backed-up shard, where its restored state stands
	// (a point-in-time restore).
	Points []RestorePoint
	// Digest is the restored state digest (single node); Keys the key
	// count (all shards).
	Digest uint64
	Keys   int
	// Shards is the number of shards restored into (1: a single node).
	Shards int
}

// RestorePoint is where one backed-up shard's state stands after a
// point-in-time replay: its log index and that entry's leader time (Unix
// ms), and the archived entries applied.
type RestorePoint struct {
	Shard    uint64
	Index    uint64
	Time     int64
	Replayed int
}

// Restore directory layout of a restored cluster node: RestoreDir holds
// the seed (RestoreSeedFile: the directory's configuration and FT
// definitions, each shard's state checksum) and one state file per shard
// of the new cluster (RestoreShardFile), encrypted with the node's keys
// when it has some. The node reads them when the cluster bootstraps.
const (
	RestoreDir      = "restore"
	RestoreSeedFile = "seed.json"
)

// RestoreShardFile is the name of shard id's state file in RestoreDir.
func RestoreShardFile(id uint64) string { return fmt.Sprintf("shard-%d.snap", id) }

// restoreSeed is RestoreSeedFile.
type restoreSeed struct {
	Format int               `json:"format"`
	Backup string            `json:"backup"`
	NodeID uint64            `json:"node_id"`
	Peers  map[uint64]string `json:"peers"`
	Seed   cluster.Seed      `json:"seed"`
}

// Restore builds the data directory of a new single node, or of one node
// of a new cluster, from a backup (and, with ToTime, the log archive): it
// verifies the backup's checksums, loads every shard's snapshot into a
// scratch state machine (each digest must be the manifest's), replays
// archived entries through the real apply up to ToTime, re-splits the keys
// by hash slot over the shards of the target (one for a single node), and
// then either imports the state into a fresh node on Dir, restarts it and
// checks the digest again (single node), or writes each new shard's state
// and the cluster's seed into Dir for the cluster's first start. On error
// nothing is left in Dir.
func Restore(cfg RestoreConfig) (_ *RestoreResult, err error) {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	clusterTarget := len(cfg.Peers) > 0
	if cfg.RaftAddr == "" {
		cfg.RaftAddr = fmt.Sprintf("%s:%d", DefaultBind, DefaultPort+RaftPortOffset)
		if clusterTarget {
			cfg.RaftAddr = cfg.Peers[cfg.NodeID]
		}
	}
	progress := cfg.Progress
	if progress == nil {
		progress = func(string, int64, int64) {}
	}
	if cfg.From == "" || cfg.Dir == "" {
		return nil, errors.New("restore needs --from and --dir")
	}
	if cfg.KeyFile != "" && cfg.Keys == nil {
		if cfg.Keys, err = atrest.LoadKeyFile(cfg.KeyFile); err != nil {
			return nil, err
		}
	}
	if cfg.Keys != nil && cfg.KeyFile == "" {
		return nil, errors.New("restore with keys needs the key file the new node will run with (KeyFile)")
	}
	if clusterTarget {
		if cfg.NodeID == 0 || cfg.Peers[cfg.NodeID] == "" {
			return nil, fmt.Errorf("restore into a cluster: --node-id %d is not one of --peers", cfg.NodeID)
		}
		if cfg.Shards < 0 || cfg.Shards > slot.Count {
			return nil, fmt.Errorf("restore into a cluster: bad shard count %d", cfg.Shards)
		}
	} else if cfg.NodeID != 0 || cfg.Shards > 1 {
		return nil, errors.New("--node-id and --shards restore into a cluster: give --peers too")
	}

	// 1. Which backup: the one named, or the newest suitable one.
	root, m, err := pickBackup(cfg.From, cfg.ToTime)
	if err != nil {
		return nil, err
	}
	if len(m.SnapshotFormat) != len(SnapshotFormat) || m.SnapshotFormat > SnapshotFormat {
		return nil, fmt.Errorf("backup %s holds snapshot format %q, newer than this binary's %q", m.Name, m.SnapshotFormat, SnapshotFormat)
	}
	if m.Encrypted && cfg.Keys == nil {
		return nil, fmt.Errorf("backup %s: %w", m.Name, backup.ErrNeedKey)
	}
	bdir := filepath.Join(root, m.Name)
	dirJSON, err := backup.ReadDirectory(bdir, m, cfg.Keys)
	if err != nil {
		return nil, err
	}
	log.Info("restore: backup chosen", "backup", m.Name, "created", m.Created, "mode", m.Mode, "shards", len(m.Shards), "encrypted", m.Encrypted)

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

	// 3. Verify the checksums while loading every shard's snapshot into a
	// scratch state machine: each digest must be the recorded one.
	rt, err := modules.NewRuntime(context.Background(), modules.Config{})
	if err != nil {
		return nil, fmt.Errorf("start the Wasm runtime: %w", err)
	}
	defer rt.Close(context.Background())
	var total, done int64
	for _, sh := range m.Shards {
		total += sh.Size
	}
	load := func(sh backup.Shard) (*shard.Offline, error) {
		off := shard.NewOffline(Commands(nil), rt, log)
		_, err := backup.VerifyFile(bdir, sh, func(r io.Reader) (backup.Loaded, error) {
			pr := &progressReader{r: r, total: total, done: done, lastShown: done, fn: func(d, t int64) { progress("load", d, t) }}
			if err := off.Load(pr); err != nil {
				return backup.Loaded{}, err
			}
			return backup.Loaded{Index: off.Applied(), Digest: off.Digest()}, nil
		}, cfg.Keys)
		if err != nil {
			off.Close()
			return nil, err
		}
		if got := backup.FormatDigest(off.Digest()); got != sh.Digest || off.Applied() != sh.Index {
			off.Close()
			return nil, fmt.Errorf("%w: shard %d loads with digest %s at index %d, manifest says %s at %d", backup.ErrCorrupt, sh.ID, got, off.Applied(), sh.Digest, sh.Index)
		}
		return off, nil
	}
	offs := make([]*shard.Offline, len(m.Shards))
	defer func() {
		for _, o := range offs {
			if o != nil {
				o.Close()
			}
		}
	}()
	for i, sh := range m.Shards {
		if offs[i], err = load(sh); err != nil {
			return nil, err
		}
		done += sh.Size
		progress("load", done, total)
	}
	sh0 := m.Shards[0]

	// 4. Point in time: replay every shard's archived entries up to
	// ToTime, from the archive next to the backup and the others given.
	res := &RestoreResult{Backup: m.Name, Index: sh0.Index, Time: sh0.Time}
	if !cfg.ToTime.IsZero() {
		dirs := []string{root}
		for _, d := range cfg.Archives {
			if filepath.Clean(d) != filepath.Clean(root) {
				dirs = append(dirs, d)
			}
		}
		for i, sh := range m.Shards {
			p, err := replayTo(dirs, cfg, sh, offs[i], progress, log)
			if err != nil {
				return nil, err
			}
			res.Points = append(res.Points, p)
			res.Replayed += p.Replayed
		}
		res.Index, res.Time = res.Points[0].Index, res.Points[0].Time
	}

	// 5. Who owns each slot: the shard the backup's slot map gives it;
	// after a point-in-time replay of a cluster backup, the shard whose
	// replayed slot state owns it (slot moves are steps in the shards'
	// logs, so that is where the slot's keys were at ToTime).
	owner := make([]*shard.Offline, slot.Count)
	if !cfg.ToTime.IsZero() && m.Mode == "cluster" {
		if err := ownersAt(m, offs, owner, cfg.ToTime); err != nil {
			return nil, err
		}
	} else if err := ownersOf(m, offs, owner); err != nil {
		return nil, err
	}
	want := 0
	for sl, o := range owner {
		if o != nil {
			want += o.CountSlot(uint16(sl))
		}
	}
	from := func(sl uint16) *shard.Offline { return owner[sl] }

	if clusterTarget {
		return restoreCluster(cfg, m, dirJSON, offs, from, want, rt, res, progress, log)
	}

	// 6. A single node: one shard with every slot's keys.
	off := offs[0]
	if len(offs) > 1 || m.Mode == "cluster" {
		progress("split", 0, 1)
		if err := off.Reslot(nil, func(sl uint16) *shard.Offline { return owner[sl] }); err != nil {
			return nil, fmt.Errorf("re-split the keys: %w", err)
		}
		progress("split", 1, 1)
	}
	res.Digest, res.Keys, res.Shards = off.Digest(), off.Keys(), 1
	if res.Keys != want {
		return nil, fmt.Errorf("re-split the keys: %d keys, the backup holds %d", res.Keys, want)
	}

	// 7. A fresh node on Dir takes the state (as its Raft snapshot);
	// restarted, it must come back with the same digest.
	progress("import", 0, 1)
	base := Config{Dir: cfg.Dir, Port: -1, RaftAddr: cfg.RaftAddr, Logger: log, MinFreeDisk: -1, MemoryGuard: -1, passive: true, EncryptionKeyFile: cfg.KeyFile}
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

// replayTo applies the archived entries of shard sh after the backup up
// to cfg.ToTime on off, reading the archives in dirs.
func replayTo(dirs []string, cfg RestoreConfig, sh backup.Shard, off *shard.Offline, progress func(string, int64, int64), log *slog.Logger) (RestorePoint, error) {
	p := RestorePoint{Shard: sh.ID, Index: sh.Index, Time: sh.Time}
	target := cfg.ToTime.UnixMilli()
	end, endTime, err := backup.ArchivesEnd(dirs, cfg.Keys, sh.ID)
	if err != nil {
		return p, err
	}
	if endTime < target {
		at := "nothing is archived"
		if end > 0 {
			at = fmt.Sprintf("it ends at %s (index %d)", time.UnixMilli(endTime).UTC().Format(time.RFC3339Nano), end)
		}
		return p, fmt.Errorf("--to-time %s is after the end of the log archive of shard %d: %s", cfg.ToTime.UTC().Format(time.RFC3339Nano), sh.ID, at)
	}
	total := int64(end) - int64(sh.Index)
	last, _, err := backup.ReplayArchives(dirs, cfg.Keys, sh.ID, sh.Index, func(e backup.Entry) (bool, error) {
		if e.Time > target {
			return false, nil
		}
		if err := off.Apply(e.Index, e.Data); err != nil {
			return false, err
		}
		// Raft's own (empty) entries carry the time of the entry before
		// them in the segment, or 0 at the start of a node's archive.
		p.Time = max(p.Time, e.Time)
		p.Replayed++
		if p.Replayed%1024 == 0 {
			progress("replay", int64(p.Replayed), total)
		}
		return true, nil
	})
	if err != nil {
		return p, fmt.Errorf("replay the log archive: %w", err)
	}
	progress("replay", int64(p.Replayed), int64(p.Replayed))
	p.Index = last
	log.Info("restore: log replayed", "shard", sh.ID, "entries", p.Replayed, "log_index", p.Index, "time", time.UnixMilli(p.Time).UTC())
	return p, nil
}

// ownersOf sets owner[slot] to the shard the backup's slot map gives it.
func ownersOf(m *backup.Manifest, offs []*shard.Offline, owner []*shard.Offline) error {
	for i, sh := range m.Shards {
		for _, r := range sh.Slots {
			if r[0] < 0 || r[1] >= slot.Count || r[0] > r[1] {
				return fmt.Errorf("%w: shard %d: bad slot range %v", backup.ErrCorrupt, sh.ID, r)
			}
			for sl := r[0]; sl <= r[1]; sl++ {
				if owner[sl] != nil {
					return fmt.Errorf("%w: slot %d belongs to two shards", backup.ErrCorrupt, sl)
				}
				owner[sl] = offs[i]
			}
		}
	}
	return nil
}

// ownersAt sets owner[slot] to the shard whose state, replayed to ToTime,
// owns the slot. During a move both shards can own a slot (the target
// after IMPORT, the source until DROP, frozen): their keys are the same
// then (writes to a frozen slot are refused), and the unfrozen one is
// taken. A slot the backup's slot map assigns, or whose keys some shard
// holds, must have an owner at ToTime: else its keys are in a shard the
// backup does not have (one added after it) or in a move's step the
// replay did not reach (a move ran across ToTime and the shards' leader
// clocks disagree on the order of its steps), and restoring without them
// would be a silent partial restore.
func ownersAt(m *backup.Manifest, offs []*shard.Offline, owner []*shard.Offline, at time.Time) error {
	var mapped [slot.Count]bool
	for _, sh := range m.Shards {
		for _, r := range sh.Slots {
			for sl := max(r[0], 0); sl <= r[1] && sl < slot.Count; sl++ {
				mapped[sl] = true
			}
		}
	}
	for i := range slot.Count {
		sl := uint16(i)
		var pick, frozenPick *shard.Offline
		var pickID uint64
		for j, o := range offs {
			owned, frozen := o.SlotOwned(sl)
			switch {
			case !owned:
			case frozen:
				frozenPick = o
			case pick != nil:
				return fmt.Errorf("%w: slot %d is owned by shards %d and %d at %s", backup.ErrCorrupt, sl, pickID, m.Shards[j].ID, at.UTC().Format(time.RFC3339Nano))
			default:
				pick, pickID = o, m.Shards[j].ID
			}
		}
		if pick == nil {
			pick = frozenPick
		}
		if pick == nil {
			held := mapped[sl]
			for _, o := range offs {
				held = held || o.CountSlot(sl) > 0
			}
			if held {
				return fmt.Errorf("slot %d is owned by none of backup %s's shards at %s: it moved to a shard added after the backup (restore from a later backup), or a slot move ran across that moment and the shards' clocks disagree on the order of its steps (choose a moment a few seconds earlier or later)", sl, m.Name, at.UTC().Format(time.RFC3339Nano))
			}
		}
		owner[sl] = pick
	}
	return nil
}

// restoreCluster writes, for one node of a new cluster, the state of every
// shard of the new layout (the bootstrap's: shard i of n owns slots
// [i*16384/n, (i+1)*16384/n)) and the seed. Each new shard starts from a
// copy of the backup's first shard (its configuration, libraries and FT
// definitions) holding exactly the keys of its slots, taken from the
// backed-up shard that owned each slot. The files are the same on every
// node restored from the same backup with the same shard count, and the
// directory records their checksums.
func restoreCluster(cfg RestoreConfig, m *backup.Manifest, dirJSON []byte, offs []*shard.Offline, from func(uint16) *shard.Offline,
	want int, rt *modules.Runtime, res *RestoreResult, progress func(string, int64, int64), log *slog.Logger) (*RestoreResult, error) {
	n := cfg.Shards
	if n == 0 {
		n = len(m.Shards)
	}
	var seed restoreSeed
	seed.Format, seed.Backup, seed.NodeID, seed.Peers = 1, m.Name, cfg.NodeID, cfg.Peers
	seed.Seed.InitState = map[uint64]string{}
	if dirJSON != nil {
		var topo cluster.Topology
		if err := json.Unmarshal(dirJSON, &topo); err != nil {
			return nil, fmt.Errorf("%w: directory: %v", backup.ErrCorrupt, err)
		}
		seed.Seed.Config, seed.Seed.ConfigEpoch = topo.Config, topo.ConfigEpoch
		seed.Seed.FTIndexes, seed.Seed.FTAliases, seed.Seed.FTEpoch = topo.FTIndexes, topo.FTAliases, topo.FTEpoch
		if !cfg.ToTime.IsZero() {
			// The configuration (with the ACL users) as of ToTime: the
			// newest any shard had applied by then (each shard applies
			// the directory's through its own log, recording the
			// directory epoch), not the backup's.
			var newest *shard.Offline
			var epoch uint64
			for _, o := range offs {
				if _, e := o.Config(); newest == nil || e > epoch {
					newest, epoch = o, e
				}
			}
			seed.Seed.Config, seed.Seed.ConfigEpoch = configChanges(newest), epoch
		}
	} else {
		// A single-node backup: its configuration (with the ACL users)
		// lives in its state; the new directory records what differs
		// from the defaults, at epoch 1, so CONFIG GET, ACL and the
		// shards agree. Its FT indexes stay in the shards (see
		// docs/backups.md).
		seed.Seed.Config = configChanges(offs[0])
		if seed.Seed.Config != nil {
			seed.Seed.ConfigEpoch = 1
		}
	}
	rdir := filepath.Join(cfg.Dir, RestoreDir)
	if err := os.MkdirAll(rdir, 0o700); err != nil {
		return nil, err
	}
	got := 0
	for j := range n {
		progress("split", int64(j), int64(n))
		lo, hi := j*slot.Count/n, (j+1)*slot.Count/n
		owned := make([]uint16, 0, hi-lo)
		for sl := lo; sl < hi; sl++ {
			owned = append(owned, uint16(sl))
		}
		// A copy of the first shard as it stands (after a point-in-time
		// replay, if any).
		nj := shard.NewOffline(Commands(nil), rt, log)
		pr, pw := io.Pipe()
		go func() { pw.CloseWithError(offs[0].WriteSnapshot(pw)) }()
		err := nj.Load(pr)
		pr.Close()
		if err != nil {
			nj.Close()
			return nil, fmt.Errorf("copy shard %d: %w", m.Shards[0].ID, err)
		}
		err = nj.Reslot(owned, func(sl uint16) *shard.Offline {
			if o := from(sl); o != offs[0] {
				return o
			}
			return nj // nj is a copy of the first shard
		})
		if err != nil {
			nj.Close()
			return nil, fmt.Errorf("re-split the keys: %w", err)
		}
		id := uint64(j + 1)
		keys, digest := nj.Keys(), nj.Digest()
		_, sum, err := backup.WriteFile(filepath.Join(rdir, RestoreShardFile(id)), cfg.Keys, nj.WriteSnapshot)
		nj.Close()
		if err != nil {
			return nil, fmt.Errorf("write shard %d: %w", id, err)
		}
		// Read it back: it must load with the same digest.
		chk := shard.NewOffline(Commands(nil), rt, log)
		r, err := backup.OpenFile(filepath.Join(rdir, RestoreShardFile(id)), cfg.Keys)
		if err == nil {
			err = chk.Load(r)
			r.Close()
		}
		d := chk.Digest()
		chk.Close()
		if err != nil || d != digest {
			return nil, fmt.Errorf("shard %d: the written state does not load back (digest %016x, want %016x): %v", id, d, digest, err)
		}
		seed.Seed.InitState[id] = sum
		got += keys
		log.Info("restore: shard written", "shard", id, "slots", fmt.Sprintf("%d-%d", lo, hi-1), "keys", keys, "sha256", sum)
	}
	progress("split", int64(n), int64(n))
	if got != want {
		return nil, fmt.Errorf("re-split the keys: %d keys in %d shards, the backup holds %d", got, n, want)
	}
	data, err := json.MarshalIndent(&seed, "", "  ")
	if err != nil {
		return nil, err
	}
	if _, _, err := backup.WriteFile(filepath.Join(rdir, RestoreSeedFile), cfg.Keys, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	}); err != nil {
		return nil, fmt.Errorf("write the seed: %w", err)
	}
	if err := durable.WriteFile(filepath.Join(cfg.Dir, "node.id"), []byte(strconv.FormatUint(cfg.NodeID, 10)+"\n")); err != nil {
		return nil, err
	}
	res.Keys, res.Shards = got, n
	log.Info("restore complete", "dir", cfg.Dir, "backup", m.Name, "node", cfg.NodeID, "shards", n, "keys", got)
	return res, nil
}

// configChanges returns the replicated parameters of o's configuration
// that differ from the defaults (nil when none do).
func configChanges(o *shard.Offline) map[string]string {
	cfgNow, _ := o.Config()
	def := keyspace.DefaultConfig()
	var out map[string]string
	for _, name := range keyspace.ConfigNames() {
		v, _ := cfgNow.Get(name)
		if d, _ := def.Get(name); v != d {
			if out == nil {
				out = map[string]string{}
			}
			out[name] = v
		}
	}
	return out
}

// readRestoreSeed reads the seed cairn restore wrote into dir (nil when
// there is none).
func readRestoreSeed(dir string, keys *atrest.Keyring) (*restoreSeed, error) {
	path := filepath.Join(dir, RestoreDir, RestoreSeedFile)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	r, err := backup.OpenFile(path, keys)
	if err != nil {
		return nil, fmt.Errorf("restored seed: %w", err)
	}
	defer r.Close()
	var s restoreSeed
	if err := json.NewDecoder(r).Decode(&s); err != nil {
		return nil, fmt.Errorf("restored seed %s: %w", path, err)
	}
	if s.Format != 1 {
		return nil, fmt.Errorf("restored seed %s: format %d, this binary reads 1", path, s.Format)
	}
	return &s, nil
}

// check refuses to start a restored node with another identity or
// other peers than it was restored for.
func (s *restoreSeed) check(node uint64, peers map[uint64]string) error {
	if node != 0 && node != s.NodeID {
		return fmt.Errorf("this data directory was restored for node %d (cairn restore --node-id), not --node-id %d", s.NodeID, node)
	}
	if len(peers) > 0 && !maps.Equal(peers, s.Peers) {
		return fmt.Errorf("this data directory was restored for --peers %v, not %v", s.Peers, peers)
	}
	return nil
}

// openInitState opens a restored shard's state in dir, after checking its
// SHA-256 is sum; (nil, nil) when dir holds none.
func openInitState(dir string, keys *atrest.Keyring) func(uint64, string) (io.ReadCloser, error) {
	return func(id uint64, sum string) (io.ReadCloser, error) {
		path := filepath.Join(dir, RestoreDir, RestoreShardFile(id))
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		got, err := backup.FileSHA256(path, keys)
		if err != nil {
			return nil, err
		}
		if got != sum {
			return nil, fmt.Errorf("%s has SHA-256 %s, the directory records %s: this node was restored from another backup or shard count", path, got, sum)
		}
		return backup.OpenFile(path, keys)
	}
}

// pickBackup returns the backup directory root and the manifest of the
// backup to restore: from itself, or the newest in from at or before
// toTime. A backup of several shards is at or before toTime when every
// shard's view is.
func pickBackup(from string, toTime time.Time) (string, *backup.Manifest, error) {
	if _, err := os.Stat(filepath.Join(from, backup.ManifestFile)); err == nil {
		m, err := backup.ReadManifest(from)
		if err != nil {
			return "", nil, err
		}
		if !toTime.IsZero() {
			for _, sh := range m.Shards {
				if sh.Time > toTime.UnixMilli() {
					return "", nil, fmt.Errorf("backup %s was taken after --to-time %s (shard %d's view is at %s): restore from an earlier backup", m.Name, toTime.UTC().Format(time.RFC3339Nano), sh.ID, time.UnixMilli(sh.Time).UTC().Format(time.RFC3339Nano))
				}
			}
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
		if len(m.Shards) == 0 {
			continue
		}
		if toTime.IsZero() || backupTime(m) <= toTime.UnixMilli() {
			if pick == nil || backupTime(m) >= backupTime(pick) {
				pick = m
			}
		}
	}
	if pick == nil {
		earliest := all[0]
		for _, m := range all {
			if backupTime(m) < backupTime(earliest) {
				earliest = m
			}
		}
		return "", nil, fmt.Errorf("no backup in %s at or before --to-time %s (the earliest, %s, was taken at %s)", from, toTime.UTC().Format(time.RFC3339Nano), earliest.Name, time.UnixMilli(backupTime(earliest)).UTC().Format(time.RFC3339Nano))
	}
	return from, pick, nil
}

// backupTime is when a backup stands: its latest shard view's leader
// time (Unix ms).
func backupTime(m *backup.Manifest) int64 {
	var t int64
	for _, sh := range m.Shards {
		t = max(t, sh.Time)
	}
	return t
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
