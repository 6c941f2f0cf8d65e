package server_test

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cairndb/cairn/server"
	"github.com/cairndb/cairn/server/backup"
	"github.com/cairndb/cairn/server/clustertest"
	"github.com/cairndb/cairn/server/servertest"
)

// startBackupNode starts a node with backups in a temp dir.
func startBackupNode(t *testing.T, mod ...func(*server.Config)) (*servertest.Node, string) {
	t.Helper()
	bdir := filepath.Join(t.TempDir(), "backups")
	n := servertest.Start(t, append([]func(*server.Config){func(c *server.Config) {
		c.BackupDir = bdir
		server.SetBackupIntervals(c, 20*time.Millisecond, 50*time.Millisecond)
	}}, mod...)...)
	return n, bdir
}

// TestBackup_Commands: BACKUP CREATE (named and generated), LIST, INFO,
// DELETE and their errors, as a client sees them.
func TestBackup_Commands(t *testing.T) {
	n, bdir := startBackupNode(t)
	c := n.Client(t)
	for i := range 100 {
		c.Set(ctx, "k"+string(rune('a'+i%26))+strings.Repeat("x", i), i, 0)
	}
	c.HSet(ctx, "h", "f", "v")
	name, err := c.Do(ctx, "BACKUP", "CREATE", "first").Text()
	if err != nil || name != "first" {
		t.Fatalf("BACKUP CREATE first = %q, %v", name, err)
	}
	gen, err := c.Do(ctx, "BACKUP", "CREATE").Text()
	if err != nil || !strings.HasPrefix(gen, "backup-") {
		t.Fatalf("BACKUP CREATE = %q, %v", gen, err)
	}
	if err := c.Do(ctx, "BACKUP", "CREATE", "first").Err(); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("duplicate name: %v", err)
	}
	for _, bad := range []string{"../x", ".hidden", "log", "a/b"} {
		if err := c.Do(ctx, "BACKUP", "CREATE", bad).Err(); err == nil || !strings.HasPrefix(err.Error(), "ERR invalid backup name") {
			t.Fatalf("BACKUP CREATE %q: %v", bad, err)
		}
	}
	list, err := c.Do(ctx, "BACKUP", "LIST").Slice()
	if err != nil || len(list) != 2 {
		t.Fatalf("BACKUP LIST = %v, %v", list, err)
	}
	info, err := c.Do(ctx, "BACKUP", "INFO", "first").Slice()
	if err != nil {
		t.Fatal(err)
	}
	got := map[any]any{}
	for i := 0; i+1 < len(info); i += 2 {
		got[info[i]] = info[i+1]
	}
	if got["name"] != "first" || got["status"] != "verified" || got["keys"] != int64(101) {
		t.Fatalf("BACKUP INFO first = %v", got)
	}
	m, err := backup.ReadManifest(filepath.Join(bdir, "first"))
	if err != nil || len(m.Shards) != 1 || m.Shards[0].Digest == "" || len(m.Shards[0].SHA256) != 64 || m.SnapshotFormat != "CAIRNSM6" {
		t.Fatalf("manifest: %+v, %v", m, err)
	}
	// The recorded digest is the live state's at the recorded index (no
	// write since).
	for _, d := range n.StateDigests() {
		if backup.FormatDigest(d.Digest) != m.Shards[0].Digest {
			t.Fatalf("live digest %016x, backup's %s", d.Digest, m.Shards[0].Digest)
		}
	}
	if err := c.Do(ctx, "BACKUP", "INFO", "nope").Err(); err == nil || err.Error() != "ERR no such backup 'nope'" {
		t.Fatalf("BACKUP INFO nope: %v", err)
	}
	if err := c.Do(ctx, "BACKUP", "DELETE", gen).Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.Do(ctx, "BACKUP", "DELETE", gen).Err(); err == nil || !strings.Contains(err.Error(), "no such backup") {
		t.Fatalf("second DELETE: %v", err)
	}
	if list, _ := c.Do(ctx, "BACKUP", "LIST").Slice(); len(list) != 1 {
		t.Fatalf("after DELETE, LIST has %d", len(list))
	}
	if err := c.Do(ctx, "BACKUP", "CREATE", "a", "b").Err(); err == nil || !strings.Contains(err.Error(), "wrong number of arguments") {
		t.Fatalf("BACKUP CREATE a b: %v", err)
	}
	// A file changed after the backup completed: INFO reports corruption.
	f := filepath.Join(bdir, "first", m.Shards[0].File)
	flipByte(t, f, m.Shards[0].Size/2)
	if err := c.Do(ctx, "BACKUP", "INFO", "first").Err(); err == nil || !strings.Contains(err.Error(), "corrupt") {
		t.Fatalf("BACKUP INFO of a corrupted backup: %v", err)
	}

	// Without --backup-dir: a clear error.
	plain := servertest.Start(t).Client(t)
	if err := plain.Do(ctx, "BACKUP", "LIST").Err(); err == nil || !strings.Contains(err.Error(), "--backup-dir") {
		t.Fatalf("BACKUP LIST without backup dir: %v", err)
	}
}

func flipByte(t *testing.T, path string, off int64) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[off] ^= 0x55
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestRestore_RoundTrip: keys of every kind written through go-redis,
// BACKUP CREATE, more writes; cairn restore's Restore builds a new data
// dir; a node started on it serves exactly the backed-up keys (TTL kept).
// A corrupted backup is refused and leaves nothing behind.
func TestRestore_RoundTrip(t *testing.T) {
	n, bdir := startBackupNode(t)
	c := n.Client(t)
	c.Set(ctx, "s", "v", 0)
	c.Set(ctx, "ttl", "v", time.Hour)
	c.HSet(ctx, "h", "a", "1", "b", "2")
	c.RPush(ctx, "l", "x", "y", "z")
	c.SAdd(ctx, "set", "m1", "m2")
	c.ZAdd(ctx, "z", redis.Z{Score: 1.5, Member: "one"})
	c.XAdd(ctx, &redis.XAddArgs{Stream: "st", ID: "1-1", Values: []string{"f", "v"}})
	if err := c.Do(ctx, "BACKUP", "CREATE", "b1").Err(); err != nil {
		t.Fatal(err)
	}
	c.Set(ctx, "after", "1", 0) // not in the backup
	m, err := backup.ReadManifest(filepath.Join(bdir, "b1"))
	if err != nil {
		t.Fatal(err)
	}

	dir := filepath.Join(t.TempDir(), "restored")
	raft := "127.0.0.1:" + itoa(servertest.FreePort(t))
	res, err := server.Restore(server.RestoreConfig{From: filepath.Join(bdir, "b1"), Dir: dir, RaftAddr: raft, Logger: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	if backup.FormatDigest(res.Digest) != m.Shards[0].Digest || res.Keys != 7 || res.Index != m.Shards[0].Index {
		t.Fatalf("restore result %+v, manifest %+v", res, m.Shards[0])
	}
	r := servertest.Restart(t, server.Config{Port: servertest.FreePort(t), Dir: dir, RaftAddr: raft, Logger: quietLog()})
	rc := r.Client(t)
	if v, _ := rc.Get(ctx, "s").Result(); v != "v" {
		t.Fatalf("GET s = %q", v)
	}
	if ttl, _ := rc.TTL(ctx, "ttl").Result(); ttl <= 50*time.Minute {
		t.Fatalf("TTL ttl = %v", ttl)
	}
	if h, _ := rc.HGetAll(ctx, "h").Result(); len(h) != 2 || h["b"] != "2" {
		t.Fatalf("HGETALL h = %v", h)
	}
	if l, _ := rc.LRange(ctx, "l", 0, -1).Result(); strings.Join(l, ",") != "x,y,z" {
		t.Fatalf("LRANGE l = %v", l)
	}
	if s, _ := rc.ZScore(ctx, "z", "one").Result(); s != 1.5 {
		t.Fatalf("ZSCORE = %v", s)
	}
	if x, _ := rc.XLen(ctx, "st").Result(); x != 1 {
		t.Fatalf("XLEN = %d", x)
	}
	if e, _ := rc.Exists(ctx, "after").Result(); e != 0 {
		t.Fatal("a key written after the backup was restored")
	}
	if n, _ := rc.DBSize(ctx).Result(); n != 7 {
		t.Fatalf("DBSIZE = %d", n)
	}
	if err := rc.Set(ctx, "new", "1", 0).Err(); err != nil {
		t.Fatalf("restored node refuses writes: %v", err)
	}

	// Refusals: a non-empty target, a corrupted file.
	if _, err := server.Restore(server.RestoreConfig{From: filepath.Join(bdir, "b1"), Dir: dir, RaftAddr: raft, Logger: quietLog()}); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("restore into a used dir: %v", err)
	}
	flipByte(t, filepath.Join(bdir, "b1", m.Shards[0].File), m.Shards[0].Size-3)
	dir2 := filepath.Join(t.TempDir(), "restored2")
	if _, err := server.Restore(server.RestoreConfig{From: filepath.Join(bdir, "b1"), Dir: dir2, RaftAddr: raft, Logger: quietLog()}); err == nil || !strings.Contains(err.Error(), "corrupt") {
		t.Fatalf("restore of a corrupted backup: %v", err)
	}
	if _, err := os.Stat(dir2); !os.IsNotExist(err) {
		t.Fatalf("a refused restore left %s behind (%v)", dir2, err)
	}
}

// TestRestore_PointInTime: with the log archive on, a restore to a
// moment between two writes has exactly the live state's digest at the
// last entry before that moment.
func TestRestore_PointInTime(t *testing.T) {
	n, bdir := startBackupNode(t, func(c *server.Config) { c.LogArchive = true })
	c := n.Client(t)
	c.Set(ctx, "a", "1", 0)
	if err := c.Do(ctx, "BACKUP", "CREATE", "base").Err(); err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		c.Incr(ctx, "counter")
		c.RPush(ctx, "list", i)
	}
	c.Set(ctx, "soon", "x", 30*time.Second)
	c.Del(ctx, "a")
	time.Sleep(50 * time.Millisecond)
	mid := n.StateDigests()[1] // the state as of the moment
	time.Sleep(100 * time.Millisecond)
	target := time.Now()
	time.Sleep(100 * time.Millisecond)
	c.Set(ctx, "later", "1", 0)
	c.Incr(ctx, "counter")
	time.Sleep(50 * time.Millisecond)
	n.ArchiveSync()
	end := n.StateDigests()[1]
	inf, err := c.Info(ctx, "backups").Result()
	if err != nil || !strings.Contains(inf, "# Backups") || !strings.Contains(inf, "log_archive:yes") || !strings.Contains(inf, "backups:1") ||
		!regexpMust(`log_archive_shard_1:last_index=\d+,last_time_ms=\d+,gaps=0`).MatchString(inf) {
		t.Fatalf("INFO backups = %q, %v", inf, err)
	}
	if end.Digest == mid.Digest {
		t.Fatal("test writes did not change the state")
	}

	dir := filepath.Join(t.TempDir(), "pitr")
	raft := "127.0.0.1:" + itoa(servertest.FreePort(t))
	res, err := server.Restore(server.RestoreConfig{From: bdir, Dir: dir, ToTime: target, RaftAddr: raft, Logger: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	if res.Digest != mid.Digest || res.Index < mid.Applied || res.Backup != "base" || res.Replayed == 0 {
		t.Fatalf("PITR: %+v; live state at index %d had digest %016x", res, mid.Applied, mid.Digest)
	}
	r := servertest.Restart(t, server.Config{Port: servertest.FreePort(t), Dir: dir, RaftAddr: raft, Logger: quietLog()})
	rc := r.Client(t)
	if v, _ := rc.Get(ctx, "counter").Result(); v != "50" {
		t.Fatalf("counter = %q, want 50", v)
	}
	if e, _ := rc.Exists(ctx, "a", "later").Result(); e != 0 {
		t.Fatalf("EXISTS a later = %d, want 0", e)
	}

	// The same moment into a new cluster of 2 shards.
	cl := clustertest.Start(t, clustertest.Options{Nodes: 3, Shards: 2, Replicas: 3, Mod: func(i int, cfg *server.Config) {
		if _, err := server.Restore(server.RestoreConfig{From: bdir, Dir: cfg.Dir, ToTime: target, NodeID: cfg.NodeID, Peers: cfg.Peers, Shards: 2, Logger: quietLog()}); err != nil {
			t.Fatalf("PITR into cluster node %d: %v", i, err)
		}
	}}).Client()
	if v, _ := cl.Get(ctx, "counter").Result(); v != "50" {
		t.Fatalf("cluster: counter = %q, want 50", v)
	}
	if v, _ := cl.LLen(ctx, "list").Result(); v != 50 {
		t.Fatalf("cluster: LLEN list = %d, want 50", v)
	}
	for _, k := range []string{"a", "later"} {
		if e, _ := cl.Exists(ctx, k).Result(); e != 0 {
			t.Fatalf("cluster: EXISTS %s = %d, want 0", k, e)
		}
	}

	// Out of range: after the archive's end, before the first backup.
	for _, tt := range []time.Time{time.Now().Add(time.Hour), time.Now().Add(-time.Hour)} {
		d := filepath.Join(t.TempDir(), "bad")
		if _, err := server.Restore(server.RestoreConfig{From: bdir, Dir: d, ToTime: tt, RaftAddr: raft, Logger: quietLog()}); err == nil {
			t.Fatalf("restore to %v succeeded", tt)
		} else {
			t.Logf("to %v: %v", tt, err)
		}
	}
}

// TestBackup_ScheduleAndRetention: a window that holds the present takes
// one backup (not one per check); a retention of one day deletes a
// backup whose manifest says it is two days old.
func TestBackup_ScheduleAndRetention(t *testing.T) {
	now := time.Now().UTC()
	w := now.Add(-time.Minute).Format("15:04") + "-" + now.Add(2*time.Minute).Format("15:04")
	_, bdir := startBackupNode(t, func(c *server.Config) { c.BackupWindow = w; c.BackupRetentionDays = 1 })
	deadline := time.Now().Add(10 * time.Second)
	var list []*backup.Manifest
	for time.Now().Before(deadline) {
		list, _ = (&backup.Store{Dir: bdir}).List()
		if len(list) > 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(list) != 1 || !list[0].Scheduled || !strings.HasPrefix(list[0].Name, "auto-") {
		t.Fatalf("scheduled backups: %+v", list)
	}
	time.Sleep(200 * time.Millisecond) // several more checks
	if list, _ = (&backup.Store{Dir: bdir}).List(); len(list) != 1 {
		t.Fatalf("%d backups after more checks in the same window", len(list))
	}
	// Age it: rewrite its manifest's creation time two days back.
	path := filepath.Join(bdir, list[0].Name, backup.ManifestFile)
	b, _ := os.ReadFile(path)
	old := now.Add(-48 * time.Hour).Format(time.RFC3339Nano)
	b = []byte(strings.Replace(string(b), list[0].Created.Format(time.RFC3339Nano), old, 1))
	os.WriteFile(path, b, 0o644)
	deadline = time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(filepath.Join(bdir, list[0].Name)); os.IsNotExist(err) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("retention did not delete the two-day-old backup")
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
