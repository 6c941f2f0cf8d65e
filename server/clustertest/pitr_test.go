package clustertest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cairndb/cairn/server"
	"github.com/cairndb/cairn/server/backup"
	"github.com/cairndb/cairn/server/servertest"
	"github.com/cairndb/cairn/server/slot"
)

// TestClusterPointInTimeRestore: a 3-node cluster with --log-archive
// yes, where every node archives every shard it hosts. A backup is taken
// on node 3; then keys are overwritten and deleted, slots move from shard
// 1 to shard 2, node 3 restarts (its archive starts a new segment, and
// the shards' leadership moves) and node 2 takes the leadership; a key is
// written just before the moment T and one just after, and after T keys
// change again and slots move back. Restored to T — into a single node
// and into a new 3-node cluster of 2 shards — every key has exactly its
// value at T. Errors: node 3's archive alone with its first segments
// gone is a gap naming the shard and the range (and nothing is left
// behind); a moment before the backup, or after the archives' end, or
// after a slot moved to a shard the backup lacks, is refused clearly.
func TestClusterPointInTimeRestore(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	bdir := func(i int) string { return filepath.Join(root, fmt.Sprintf("backups%d", i)) }
	c := Start(t, Options{Nodes: 3, Shards: 3, Replicas: 3, Mod: func(i int, cfg *server.Config) {
		cfg.BackupDir = bdir(i)
		cfg.LogArchive = true
	}})
	cl := c.Client()
	const n = 300
	key := func(i int) string { return "k:" + strconv.Itoa(i) }
	set := func(k, v string) {
		t.Helper()
		if err := cl.Set(ctx, k, v, 0).Err(); err != nil {
			t.Fatalf("SET %s: %v", k, err)
		}
	}
	for i := range n {
		set(key(i), "v1-"+strconv.Itoa(i))
	}
	n3 := c.NodeClient(3)
	if err := n3.Do(ctx, "BACKUP", "CREATE", "base").Err(); err != nil {
		t.Fatal(err)
	}

	// After the backup: overwrites, deletes, a counter.
	for i := range n {
		switch {
		case i%5 == 0:
			if err := cl.Del(ctx, key(i)).Err(); err != nil {
				t.Fatal(err)
			}
		case i%2 == 0:
			set(key(i), "v2-"+strconv.Itoa(i))
		}
		if i%10 == 0 {
			cl.Incr(ctx, "counter")
		}
	}
	// The configuration and an ACL user change after the backup.
	n1 := c.NodeClient(1)
	for _, cmd := range [][]any{
		{"CONFIG", "SET", "hash-max-listpack-entries", "77"},
		{"ACL", "SETUSER", "alice", "on", ">pw-at-T", "~*", "+@all"},
	} {
		if err := n1.Do(ctx, cmd...).Err(); err != nil {
			t.Fatalf("%v: %v", cmd, err)
		}
	}
	// Slots 0-999 move from shard 1 to shard 2, and their keys change
	// there.
	if err := c.NodeClient(1).Do(ctx, "CLUSTER", "MOVESLOTS", "2", "0", "999").Err(); err != nil {
		t.Fatalf("MOVESLOTS: %v", err)
	}
	moved := 0
	for i := range n {
		if slot.OfString(key(i)) <= 999 && i%5 != 0 {
			set(key(i), "v2m-"+strconv.Itoa(i))
			moved++
		}
	}
	if moved == 0 {
		t.Fatal("no key in slots 0-999")
	}
	// Node 3 restarts (its archiver starts new segments), then node 2
	// takes the leadership of every shard.
	c.Restart(3)
	c.WaitServing(30 * time.Second)
	if err := c.NodeClient(2).Do(ctx, "CLUSTER", "FAILOVER").Err(); err != nil {
		t.Fatalf("FAILOVER: %v", err)
	}
	for i := 1; i < n; i += 3 {
		if err := c.Write(ctx, key(i), "v3-"+strconv.Itoa(i), time.Now().Add(10*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Write(ctx, "just-before", "yes", time.Now().Add(10*time.Second)); err != nil {
		t.Fatal(err)
	}

	// The state at T, read key by key (nothing writes meanwhile).
	keys := []string{"counter", "just-before", "just-after"}
	for i := range n {
		keys = append(keys, key(i))
	}
	want := readAll(t, ctx, func(k string) (string, error) { return cl.Get(ctx, k).Result() }, keys)
	at := time.Now()
	time.Sleep(20 * time.Millisecond)
	if want["just-before"] != "yes" || want["counter"] != "30" || len(want) < n/2 {
		t.Fatalf("state at T: %d keys, just-before %q, counter %q", len(want), want["just-before"], want["counter"])
	}

	// After T: more changes, slots 0-499 move back.
	set("just-after", "yes")
	for i := range n {
		if i%4 == 0 {
			set(key(i), "v4-"+strconv.Itoa(i))
		} else if i%7 == 0 {
			cl.Del(ctx, key(i))
		}
	}
	cl.Incr(ctx, "counter")
	for _, cmd := range [][]any{
		{"CONFIG", "SET", "hash-max-listpack-entries", "99"},
		{"ACL", "SETUSER", "alice", "resetpass", ">pw-after-T"},
	} {
		if err := n1.Do(ctx, cmd...).Err(); err != nil {
			t.Fatalf("%v: %v", cmd, err)
		}
	}
	if err := c.NodeClient(1).Do(ctx, "CLUSTER", "MOVESLOTS", "1", "0", "499").Err(); err != nil {
		t.Fatalf("MOVESLOTS back: %v", err)
	}
	// Every node archives every shard (each hosts a replica of each),
	// from its own replica's committed log: a follower may apply the
	// writes after T a little after the leader acknowledged them.
	for deadline := time.Now().Add(20 * time.Second); ; {
		for i := 1; i <= 3; i++ {
			c.Node(i).ArchiveSync()
		}
		var behind string
		for i := 1; i <= 3 && behind == ""; i++ {
			for sh := uint64(1); sh <= 3; sh++ {
				if end, tm, err := backup.ArchiveEnd(bdir(i), nil, sh); err != nil || end == 0 || tm < at.UnixMilli() {
					behind = fmt.Sprintf("node %d's archive of shard %d ends at %d (%d), %v; T is %d", i, sh, end, tm, err, at.UnixMilli())
					break
				}
			}
		}
		if behind == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal(behind)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// INFO backups shows each archived shard, on every node.
	for i := 1; i <= 3; i++ {
		inf, err := c.NodeClient(i).Info(ctx, "backups").Result()
		for sh := 1; sh <= 3; sh++ {
			if err != nil || !strings.Contains(inf, "log_archive:yes") || !strings.Contains(inf, fmt.Sprintf("log_archive_shard_%d:last_index=", sh)) {
				t.Fatalf("node %d: INFO backups lacks shard %d: %q %v", i, sh, inf, err)
			}
		}
	}
	from := filepath.Join(bdir(3), "base")
	all := []string{bdir(1), bdir(2)}
	// A time before the backup: before its earliest shard view (a wall
	// clock read after BACKUP CREATE, even less a second, can be after a
	// view when a shard's replicated clock lags under load).
	bm, err := backup.ReadManifest(from)
	if err != nil {
		t.Fatal(err)
	}
	first := bm.Shards[0].Time
	for _, sh := range bm.Shards {
		first = min(first, sh.Time)
	}
	beforeBackup := time.UnixMilli(first - 1)

	// Into a single node.
	single := filepath.Join(root, "single")
	raft := fmt.Sprintf("127.0.0.1:%d", servertest.FreePort(t))
	res, err := server.Restore(server.RestoreConfig{From: from, Dir: single, ToTime: at, Archives: all, RaftAddr: raft, Logger: quietLog()})
	if err != nil {
		t.Fatalf("PITR into a single node: %v", err)
	}
	if len(res.Points) != 3 || res.Replayed == 0 {
		t.Fatalf("PITR: %+v", res)
	}
	sn, err := server.Start(server.Config{Dir: single, Port: -1, RaftAddr: raft, Logger: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	defer sn.Close()
	sc := servertest.Client(t, sn.Addr())
	got := readAll(t, ctx, func(k string) (string, error) { return sc.Get(ctx, k).Result() }, keys)
	diffState(t, "single node", want, got)
	if size, err := sc.DBSize(ctx).Result(); err != nil || size != int64(len(want)) {
		t.Fatalf("single node: DBSIZE %d %v, want %d", size, err, len(want))
	}
	checkConfigAtT(t, ctx, "single node", sn.Addr())

	// Into a new cluster of 3 nodes and 2 shards.
	c2 := Start(t, Options{Nodes: 3, Shards: 2, Replicas: 3, Mod: func(i int, cfg *server.Config) {
		if _, err := server.Restore(server.RestoreConfig{From: from, Dir: cfg.Dir, ToTime: at, Archives: all, NodeID: cfg.NodeID, Peers: cfg.Peers, Shards: 2, Logger: quietLog()}); err != nil {
			t.Fatalf("PITR into cluster node %d: %v", i, err)
		}
	}})
	cl2 := c2.Client()
	got = readAll(t, ctx, func(k string) (string, error) { return cl2.Get(ctx, k).Result() }, keys)
	diffState(t, "new cluster", want, got)
	if size, err := dbsizeSum(ctx, cl2); err != nil || size != int64(len(want)) {
		t.Fatalf("new cluster: DBSIZE over the masters %d %v, want %d", size, err, len(want))
	}
	for i := 1; i <= 3; i++ {
		checkConfigAtT(t, ctx, fmt.Sprintf("new cluster node %d", i), c2.Addr(i))
	}

	// Errors. Node 3's archive alone, without the segments it wrote
	// before its restart: a gap right after the backup.
	for sh := 1; sh <= 3; sh++ {
		segs, _ := filepath.Glob(filepath.Join(bdir(3), backup.LogDir, strconv.Itoa(sh), "*.seg"))
		slices.Sort(segs)
		if len(segs) < 2 {
			t.Fatalf("node 3's archive of shard %d has %d segments, want one from before its restart and one after", sh, len(segs))
		}
		if err := os.Remove(segs[0]); err != nil {
			t.Fatal(err)
		}
	}
	bad := filepath.Join(root, "bad")
	_, err = server.Restore(server.RestoreConfig{From: from, Dir: bad, ToTime: at, RaftAddr: raft, Logger: quietLog()})
	if !errors.Is(err, backup.ErrArchiveGap) || !strings.Contains(err.Error(), "shard 1: entries ") || !strings.Contains(err.Error(), " were not archived") {
		t.Fatalf("restore across a gap: %v", err)
	}
	if _, serr := os.Stat(bad); serr == nil {
		t.Fatal("a refused restore left its directory")
	}
	t.Logf("gap: %v", err)
	// The other nodes' archives fill it.
	raft2 := fmt.Sprintf("127.0.0.1:%d", servertest.FreePort(t))
	res2, err := server.Restore(server.RestoreConfig{From: from, Dir: filepath.Join(root, "again"), ToTime: at, Archives: all, RaftAddr: raft2, Logger: quietLog()})
	if err != nil || res2.Digest != res.Digest {
		t.Fatalf("restore with every archive after the gap: %+v %v (digest before %016x)", res2, err, res.Digest)
	}
	// Before the backup; after the end of the archives.
	if _, err := server.Restore(server.RestoreConfig{From: from, Dir: bad, ToTime: beforeBackup, Archives: all, RaftAddr: raft, Logger: quietLog()}); err == nil || !strings.Contains(err.Error(), "was taken after --to-time") {
		t.Fatalf("restore to before the backup: %v", err)
	}
	if _, err := server.Restore(server.RestoreConfig{From: bdir(3), Dir: bad, ToTime: beforeBackup, Archives: all, RaftAddr: raft, Logger: quietLog()}); err == nil || !strings.Contains(err.Error(), "no backup in "+bdir(3)+" at or before --to-time") {
		t.Fatalf("restore to before the first backup: %v", err)
	}
	if _, err := server.Restore(server.RestoreConfig{From: from, Dir: bad, ToTime: time.Now().Add(time.Hour), Archives: all, RaftAddr: raft, Logger: quietLog()}); err == nil || !strings.Contains(err.Error(), "after the end of the log archive of shard") {
		t.Fatalf("restore to after the archives' end: %v", err)
	}

	// A shard added after the backup takes a slot with a key: a moment
	// after that is refused (the backup lacks the slot's keys), not
	// restored without them.
	id, err := n1.Do(ctx, "CLUSTER", "ADDSHARD", "1", "2", "3").Int()
	if err != nil {
		t.Fatal(err)
	}
	sl := strconv.Itoa(int(slot.OfString(key(3))))
	if err := n1.Do(ctx, "CLUSTER", "MOVESLOTS", strconv.Itoa(id), sl, sl).Err(); err != nil {
		t.Fatalf("MOVESLOTS to the new shard: %v", err)
	}
	at2 := time.Now()
	time.Sleep(20 * time.Millisecond)
	for i := range n {
		set(key(i), "v5")
	}
	for i := 1; i <= 3; i++ {
		c.Node(i).ArchiveSync()
	}
	if _, err := server.Restore(server.RestoreConfig{From: from, Dir: bad, ToTime: at2, Archives: all, RaftAddr: raft, Logger: quietLog()}); err == nil || !strings.Contains(err.Error(), "slot "+sl+" is owned by none of backup base's shards") {
		t.Fatalf("restore to after a slot moved to a shard added after the backup: %v", err)
	}
}

// checkConfigAtT checks that the node at addr has the configuration and
// ACL user of the moment T (set after the backup, changed after T).
func checkConfigAtT(t *testing.T, ctx context.Context, what, addr string) {
	t.Helper()
	cl := servertest.Client(t, addr)
	if v, err := cl.ConfigGet(ctx, "hash-max-listpack-entries").Result(); err != nil || v["hash-max-listpack-entries"] != "77" {
		t.Fatalf("%s: CONFIG GET hash-max-listpack-entries = %v %v, want 77 (its value at T)", what, v, err)
	}
	a := servertest.Client(t, addr)
	if err := a.Do(ctx, "AUTH", "alice", "pw-at-T").Err(); err != nil {
		t.Fatalf("%s: AUTH alice with her password at T: %v", what, err)
	}
}

// readAll reads keys with get: value by key, missing keys left out.
func readAll(t *testing.T, ctx context.Context, get func(string) (string, error), keys []string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, k := range keys {
		v, err := get(k)
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			t.Fatalf("GET %s: %v", k, err)
		}
		out[k] = v
	}
	return out
}

// diffState fails unless got equals want, naming the keys that differ.
func diffState(t *testing.T, what string, want, got map[string]string) {
	t.Helper()
	if maps.Equal(want, got) {
		return
	}
	var diff []string
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if got[k] != want[k] {
			diff = append(diff, fmt.Sprintf("%s=%q want %q", k, got[k], want[k]))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(got)) {
		if _, ok := want[k]; !ok {
			diff = append(diff, fmt.Sprintf("%s=%q want none", k, got[k]))
		}
	}
	t.Fatalf("%s: %d keys differ from the state at T: %v", what, len(diff), diff[:min(len(diff), 10)])
}
