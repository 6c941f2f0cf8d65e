package clustertest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cairndb/cairn/server"
	"github.com/cairndb/cairn/server/atrest"
	"github.com/cairndb/cairn/server/backup"
	"github.com/cairndb/cairn/server/cluster/control"
	"github.com/cairndb/cairn/server/servertest"
)

// TestClusterBackupRestore: BACKUP CREATE on one node of a 3-node cluster
// (2 replicas per shard, so node 1 lacks a shard and asks its leader's
// node for it) backs up every shard and the directory, encrypted with the
// nodes' key (a recognizable value is in no backup file); BACKUP
// LIST/INFO/DELETE work; cairn restore without the key is refused
// clearly; restored with the key into a new 3-node cluster of 2 shards
// (keys re-split by slot), the cluster starts and serves every key with
// its TTL, the FT index, the ACL user and the configuration; the same
// backup restored into a single node serves every key too.
func TestClusterBackupRestore(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	keyFile := filepath.Join(root, "keys")
	if err := os.WriteFile(keyFile, atrest.FormatKeys(map[uint32][]byte{1: bytes.Repeat([]byte{9}, atrest.KeySize)}), 0o600); err != nil {
		t.Fatal(err)
	}
	bdir := func(i int) string { return filepath.Join(root, fmt.Sprintf("backups%d", i)) }
	c := Start(t, Options{Nodes: 3, Shards: 3, Replicas: 2, Mod: func(i int, cfg *server.Config) {
		cfg.BackupDir = bdir(i)
		cfg.EncryptionKeyFile = keyFile
	}})
	cl := c.Client()
	const n = 300
	const secret = "RECOGNIZABLE-SECRET-7f3a"
	for i := range n {
		if err := cl.Set(ctx, fmt.Sprintf("k:%d", i), fmt.Sprintf("%s-%d", secret, i), 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if err := cl.Set(ctx, "ttl", "v", time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	n1 := c.NodeClient(1)
	for _, cmd := range [][]any{
		{"FT.CREATE", "idx", "ON", "HASH", "PREFIX", "1", "doc:", "SCHEMA", "name", "TAG"},
		{"ACL", "SETUSER", "alice", "on", ">alicepw", "~*", "+@all"},
		{"CONFIG", "SET", "hash-max-listpack-entries", "77"},
	} {
		if err := n1.Do(ctx, cmd...).Err(); err != nil {
			t.Fatalf("%v: %v", cmd, err)
		}
	}
	for i := range 20 {
		if err := cl.HSet(ctx, fmt.Sprintf("doc:%d", i), "name", fmt.Sprintf("t%d", i%2)).Err(); err != nil {
			t.Fatal(err)
		}
	}

	// The backup, from node 1.
	name, err := n1.Do(ctx, "BACKUP", "CREATE", "cb").Text()
	if err != nil || name != "cb" {
		t.Fatalf("BACKUP CREATE: %q %v", name, err)
	}
	m, err := backup.ReadManifest(filepath.Join(bdir(1), "cb"))
	if err != nil {
		t.Fatal(err)
	}
	keys := 0
	for _, sh := range m.Shards {
		keys += sh.Keys
	}
	if m.Mode != "cluster" || len(m.Shards) != 3 || m.Directory != backup.DirectoryFile || !m.Encrypted || keys != n+1+20 {
		t.Fatalf("manifest: mode %s, %d shards, directory %q, encrypted %v, %d keys", m.Mode, len(m.Shards), m.Directory, m.Encrypted, keys)
	}
	if hits := grepTree(t, bdir(1), []byte(secret)); len(hits) > 0 {
		t.Fatalf("plaintext value found in %v", hits)
	}
	list, err := n1.Do(ctx, "BACKUP", "LIST").Slice()
	if err != nil || len(list) != 1 {
		t.Fatalf("BACKUP LIST: %v %v", list, err)
	}
	info, err := n1.Do(ctx, "BACKUP", "INFO", "cb").Result()
	if err != nil || !strings.Contains(fmt.Sprint(info), "mode:cluster") {
		t.Fatalf("BACKUP INFO: %v %v", info, err)
	}
	if _, err := n1.Do(ctx, "BACKUP", "CREATE", "gone").Text(); err != nil {
		t.Fatal(err)
	}
	if err := n1.Do(ctx, "BACKUP", "DELETE", "gone").Err(); err != nil {
		t.Fatal(err)
	}
	if err := n1.Do(ctx, "BACKUP", "INFO", "gone").Err(); err == nil || !strings.Contains(err.Error(), "no such backup") {
		t.Fatalf("INFO of a deleted backup: %v", err)
	}
	from := filepath.Join(bdir(1), "cb")

	// Without the key: a clear error, nothing left behind.
	nokey := filepath.Join(root, "nokey")
	if _, err := server.Restore(server.RestoreConfig{From: from, Dir: nokey, Peers: map[uint64]string{1: "127.0.0.1:1"}, NodeID: 1, Logger: quietLog()}); !errors.Is(err, backup.ErrNeedKey) {
		t.Fatalf("restore without the key: %v", err)
	}
	if _, err := os.Stat(nokey); err == nil {
		t.Fatal("a refused restore left its directory")
	}

	// A new cluster of 3 nodes and 2 shards from it.
	c2 := Start(t, Options{Nodes: 3, Shards: 2, Replicas: 3, Mod: func(i int, cfg *server.Config) {
		cfg.EncryptionKeyFile = keyFile
		res, err := server.Restore(server.RestoreConfig{From: from, Dir: cfg.Dir, KeyFile: keyFile, NodeID: cfg.NodeID, Peers: cfg.Peers, Shards: 2, Logger: quietLog()})
		if err != nil {
			t.Fatalf("restore node %d: %v", i, err)
		}
		if res.Shards != 2 || res.Keys != keys {
			t.Fatalf("restore node %d: %+v", i, res)
		}
	}})
	cl2 := c2.Client()
	for i := range n {
		if v, err := cl2.Get(ctx, fmt.Sprintf("k:%d", i)).Result(); err != nil || v != fmt.Sprintf("%s-%d", secret, i) {
			t.Fatalf("restored k:%d = %q, %v", i, v, err)
		}
	}
	if ttl, err := cl2.TTL(ctx, "ttl").Result(); err != nil || ttl < 50*time.Minute {
		t.Fatalf("restored TTL %v %v", ttl, err)
	}
	for i := 1; i <= 3; i++ {
		nc := c2.NodeClient(i)
		if topo := c2.Topology(); !strings.Contains(topo, `"init_state"`) {
			t.Fatalf("directory without restored states: %s", topo)
		}
		if v, err := nc.ConfigGet(ctx, "hash-max-listpack-entries").Result(); err != nil || v["hash-max-listpack-entries"] != "77" {
			t.Fatalf("node %d: CONFIG GET: %v %v", i, v, err)
		}
		a := servertest.Client(t, c2.Addr(i))
		if err := a.Do(ctx, "AUTH", "alice", "alicepw").Err(); err != nil {
			t.Fatalf("node %d: AUTH alice: %v", i, err)
		}
		a.Close()
	}
	if size, err := dbsizeSum(ctx, cl2); err != nil || size != int64(keys) {
		t.Fatalf("DBSIZE over the masters: %d %v, want %d", size, err, keys)
	}
	resp2 := servertest.Client(t, c2.Addr(2), func(o *redis.Options) { o.Protocol = 2 })
	res, err := resp2.Do(ctx, "FT.SEARCH", "idx", "@name:{t1}", "NOCONTENT").Slice()
	if err != nil || len(res) == 0 || res[0] != int64(10) {
		t.Fatalf("FT.SEARCH on the restored cluster: %v %v", res, err)
	}
	// A restarted node of the restored cluster comes back with the same
	// keys (its replicas start from the restored state again, then
	// recover their Raft snapshot and log).
	c2.Restart(2)
	c2.WaitServing(30 * time.Second)
	for i := 0; i < n; i += 7 {
		if v, err := cl2.Get(ctx, fmt.Sprintf("k:%d", i)).Result(); err != nil || v != fmt.Sprintf("%s-%d", secret, i) {
			t.Fatalf("after a restart, k:%d = %q, %v", i, v, err)
		}
	}
	if size, err := dbsizeSum(ctx, cl2); err != nil || size != int64(keys) {
		t.Fatalf("after a restart, DBSIZE over the masters: %d %v, want %d", size, err, keys)
	}
	// The restored cluster's data directories are encrypted too.
	if hits := grepTree(t, filepath.Dir(c2.cfgs[0].Dir), []byte(secret)); len(hits) > 0 {
		t.Fatalf("plaintext value found in %v", hits)
	}

	// The same backup into a single node.
	single := filepath.Join(root, "single")
	raft := fmt.Sprintf("127.0.0.1:%d", servertest.FreePort(t))
	r1, err := server.Restore(server.RestoreConfig{From: from, Dir: single, KeyFile: keyFile, RaftAddr: raft, Logger: quietLog()})
	if err != nil || r1.Keys != keys {
		t.Fatalf("restore into a single node: %+v %v", r1, err)
	}
	sn, err := server.Start(server.Config{Dir: single, Port: -1, RaftAddr: raft, EncryptionKeyFile: keyFile, Logger: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	defer sn.Close()
	sc := servertest.Client(t, sn.Addr())
	if s, err := sc.DBSize(ctx).Result(); err != nil || s != int64(keys) {
		t.Fatalf("single node DBSIZE %d %v", s, err)
	}
	if v, err := sc.Get(ctx, "k:7").Result(); err != nil || v != secret+"-7" {
		t.Fatalf("single node k:7 = %q %v", v, err)
	}
}

// dbsizeSum adds up DBSIZE over the masters (each counts its shard's keys).
func dbsizeSum(ctx context.Context, cl *redis.ClusterClient) (int64, error) {
	var size atomic.Int64
	err := cl.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
		s, err := m.DBSize(ctx).Result()
		size.Add(s)
		return err
	})
	return size.Load(), err
}

func quietLog() *slog.Logger {
	if os.Getenv("CAIRN_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func grepTree(t *testing.T, root string, needle []byte) []string {
	t.Helper()
	var hits []string
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if b, _ := os.ReadFile(p); bytes.Contains(b, needle) {
			hits = append(hits, p)
		}
		return nil
	})
	return hits
}

// TestSingleBackupIntoCluster: a single node's backup restored into a new
// 3-node cluster of 3 shards: every key is served from its slot's shard,
// and the node's configuration and ACL users become the cluster's.
func TestSingleBackupIntoCluster(t *testing.T) {
	ctx := context.Background()
	bdir := filepath.Join(t.TempDir(), "backups")
	sn := servertest.Start(t, func(c *server.Config) { c.BackupDir = bdir })
	sc := sn.Client(t)
	const n = 200
	for i := range n {
		if err := sc.Set(ctx, fmt.Sprintf("s:%d", i), i, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	for _, cmd := range [][]any{
		{"ACL", "SETUSER", "bob", "on", ">bobpw", "~*", "+@all"},
		{"CONFIG", "SET", "zset-max-listpack-entries", "33"},
		{"BACKUP", "CREATE", "sb"},
	} {
		if err := sc.Do(ctx, cmd...).Err(); err != nil {
			t.Fatalf("%v: %v", cmd, err)
		}
	}
	from := filepath.Join(bdir, "sb")
	c := Start(t, Options{Nodes: 3, Shards: 3, Replicas: 3, Mod: func(i int, cfg *server.Config) {
		if _, err := server.Restore(server.RestoreConfig{From: from, Dir: cfg.Dir, NodeID: cfg.NodeID, Peers: cfg.Peers, Shards: 3, Logger: quietLog()}); err != nil {
			t.Fatalf("restore node %d: %v", i, err)
		}
	}})
	cl := c.Client()
	for i := range n {
		if v, err := cl.Get(ctx, fmt.Sprintf("s:%d", i)).Int(); err != nil || v != i {
			t.Fatalf("s:%d = %d %v", i, v, err)
		}
	}
	if size, err := dbsizeSum(ctx, cl); err != nil || size != n {
		t.Fatalf("DBSIZE over the masters %d %v", size, err)
	}
	for i := 1; i <= 3; i++ {
		if v, err := c.NodeClient(i).ConfigGet(ctx, "zset-max-listpack-entries").Result(); err != nil || v["zset-max-listpack-entries"] != "33" {
			t.Fatalf("node %d: CONFIG GET %v %v", i, v, err)
		}
		a := servertest.Client(t, c.Addr(i))
		if err := a.Do(ctx, "AUTH", "bob", "bobpw").Err(); err != nil {
			t.Fatalf("node %d: AUTH bob: %v", i, err)
		}
	}
}

// TestClusterScheduledBackup: every node of a cluster carries the same
// backup window; the cluster is backed up once in it (by the node leading
// the directory), with every shard and the directory, however often each
// node's schedule checks.
func TestClusterScheduledBackup(t *testing.T) {
	root := t.TempDir()
	bdir := func(i int) string { return filepath.Join(root, fmt.Sprintf("backups%d", i)) }
	now := time.Now().UTC()
	window := now.Add(-time.Hour).Format("15:04") + "-" + now.Add(time.Hour).Format("15:04")
	c := Start(t, Options{Nodes: 3, Shards: 3, Replicas: 3, Mod: func(i int, cfg *server.Config) {
		cfg.BackupDir, cfg.BackupWindow, cfg.BackupRetentionDays = bdir(i), window, 1
	}})
	cl := c.Client()
	for i := range 50 {
		if err := cl.Set(context.Background(), fmt.Sprint("x", i), i, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	// The schedules checked at their start (perhaps before the directory
	// had a leader) and check every 30 s; two more checks on every node
	// now: the window's backup is taken once, by the directory leader's
	// node.
	for range 2 {
		for i := 1; i <= 3; i++ {
			c.Node(i).BackupSchedule().Tick()
		}
	}
	var found []*backup.Manifest
	leader := 0
	for i := 1; i <= 3; i++ {
		all, err := (&backup.Store{Dir: bdir(i)}).List()
		if err != nil {
			t.Fatal(err)
		}
		found = append(found, all...)
		if len(all) > 0 {
			leader = i
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d scheduled backups over the cluster, want 1", len(found))
	}
	if !c.Node(leader).DirectoryLeader() {
		t.Fatalf("the backup was taken by node %d, which does not lead the directory", leader)
	}
	if m := found[0]; !m.Scheduled || m.Mode != "cluster" || len(m.Shards) != 3 || m.Directory == "" || !strings.HasPrefix(m.Name, "auto-") {
		t.Fatalf("scheduled backup %+v", m)
	}
}

// TestClusterBackupChunks: a shard the backing-up node does not host
// comes from its leader's node in many small chunks (the chunk size is
// lowered to 2 KiB), and the backup holds every key of every shard.
func TestClusterBackupChunks(t *testing.T) {
	defer func(n int) { control.BackupChunkSize = n }(control.BackupChunkSize)
	control.BackupChunkSize = 2 << 10
	ctx := context.Background()
	bdir := filepath.Join(t.TempDir(), "backups")
	c := Start(t, Options{Nodes: 3, Shards: 3, Replicas: 1, Mod: func(i int, cfg *server.Config) {
		if i == 1 {
			cfg.BackupDir = bdir
		}
	}})
	cl := c.Client()
	const n = 600
	val := strings.Repeat("v", 200)
	for i := range n {
		if err := cl.Set(ctx, fmt.Sprintf("k:%d", i), fmt.Sprintf("%s-%d", val, i), 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if name, err := c.NodeClient(1).Do(ctx, "BACKUP", "CREATE", "chunks").Text(); err != nil || name != "chunks" {
		t.Fatalf("BACKUP CREATE: %q %v", name, err)
	}
	m, err := backup.ReadManifest(filepath.Join(bdir, "chunks"))
	if err != nil {
		t.Fatal(err)
	}
	keys := 0
	for _, sh := range m.Shards {
		keys += sh.Keys
	}
	if len(m.Shards) != 3 || keys != n {
		t.Fatalf("backup of %d shards with %d keys, want 3 and %d", len(m.Shards), keys, n)
	}
	// One replica per shard: node 1 hosts one shard and reads the two
	// others (each well over 2 KiB) from nodes 2 and 3.
	served := c.Node(2).BackupChunksServed() + c.Node(3).BackupChunksServed()
	var total int64
	for _, sh := range m.Shards {
		total += sh.Size
	}
	if served < 10 {
		t.Fatalf("%d chunks served by the other nodes, want many (backup of %d bytes)", served, total)
	}
	t.Logf("%d chunks of at most %d bytes served for a backup of %d bytes", served, control.BackupChunkSize, total)
	if c.Node(1).BackupChunksServed() != 0 {
		t.Fatalf("node 1 served %d chunks to itself", c.Node(1).BackupChunksServed())
	}
	// The remote shards load (the backup was verified) and a check again
	// now reads every file back against its checksum.
	if err := c.NodeClient(1).Do(ctx, "BACKUP", "INFO", "chunks").Err(); err != nil {
		t.Fatal(err)
	}
}
