package shard_test

import (
	"context"
	"errors"
	"net"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairndb/cairn/server/entry"
	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/server/reply"
	"github.com/cairndb/cairn/server/shard"
)

func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

type node struct {
	t    testing.TB
	host *shard.Host
	sh   *shard.Shard
	dir  string
	addr string
	opts shard.Options
	once sync.Once
}

// start starts (or restarts) a single-member host and shard on dir.
func start(t testing.TB, dir, addr string, opts shard.Options) *node {
	t.Helper()
	h, err := shard.NewHost(shard.HostConfig{Dir: dir, RaftAddr: addr, RTTMillisecond: 5})
	if err != nil {
		t.Fatal(err)
	}
	s, err := h.StartShard(opts, table)
	if err != nil {
		h.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := s.WaitLeader(ctx); err != nil {
		h.Close()
		t.Fatal(err)
	}
	n := &node{t: t, host: h, sh: s, dir: dir, addr: addr, opts: opts}
	t.Cleanup(n.close)
	return n
}

func (n *node) close() {
	n.once.Do(func() {
		n.host.Close()
		// Each NodeHost allocates Dragonboat's default LogDB write buffers
		// (16 x 128 MB with tan). Reused, that heap must be zeroed, which
		// made the next NewHost in this process take 5-15 s; memory given
		// back to the OS comes back zeroed for free.
		debug.FreeOSMemory()
	})
}

func (n *node) restart() *node {
	n.close()
	return start(n.t, n.dir, n.addr, n.opts)
}

func (n *node) snapshot() uint64 {
	n.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	idx, err := n.sh.Snapshot(ctx)
	if err != nil {
		n.t.Fatalf("Snapshot: %v", err)
	}
	return idx
}

// write proposes one command and returns its reply.
func (n *node) write(cmd ...string) reply.Value {
	n.t.Helper()
	rs, err := n.sh.Propose(entry.Commands, [][][]byte{args(cmd...)}).Wait()
	if err != nil {
		n.t.Fatalf("%q: %v", cmd, err)
	}
	if len(rs) != 1 {
		n.t.Fatalf("%q: %d replies", cmd, len(rs))
	}
	return rs[0]
}

func (n *node) read(cmd ...string) reply.Value {
	n.t.Helper()
	spec, err := table.Resolve(args(cmd...))
	if err != nil {
		n.t.Fatalf("%q: %v", cmd, err)
	}
	return n.sh.Read(spec, args(cmd...))
}

// waitGone waits until key is physically removed (not merely expired).
func (n *node) waitGone(t *testing.T, key string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		gone := false
		n.sh.View(func(db *keyspace.DB) { gone = db.Peek([]byte(key)) == nil })
		if gone {
			return
		}
	}
	t.Fatalf("%s was not removed by active expiry", key)
}

func (n *node) digest() (d uint64, keys int) {
	n.sh.View(func(db *keyspace.DB) { d, keys = db.Digest(), db.Len() })
	return
}

func (n *node) expireAt(key string) int64 {
	var at int64 = -1
	n.sh.View(func(db *keyspace.DB) {
		if it := db.Peek([]byte(key)); it != nil {
			at = it.ExpireAt
		}
	})
	return at
}

func check(t testing.TB, got, want reply.Value, what string) {
	t.Helper()
	if !reply.Equal(got, want) {
		t.Fatalf("%s = %v, want %v", what, got, want)
	}
}

func TestHostProposeAndRead(t *testing.T) {
	n := start(t, t.TempDir(), freeAddr(t), shard.Options{})
	check(t, n.write("set", "a", "1"), reply.OK, "SET")
	check(t, n.write("incr", "a"), reply.Int(2), "INCR")
	check(t, n.write("hset", "a", "f", "v"), reply.Error("WRONGTYPE Operation against a key holding the wrong kind of value"), "HSET on a string")
	check(t, n.read("get", "a"), reply.BulkString("2"), "GET")
	check(t, n.read("get", "nope"), reply.Nil, "GET missing")

	// One entry, several commands: one reply each.
	rs, err := n.sh.Propose(entry.Commands, [][][]byte{args("set", "b", "x"), args("append", "b", "yz"), args("strlen", "b")}).Wait()
	if err != nil || len(rs) != 3 {
		t.Fatalf("batch: %v %v", rs, err)
	}
	check(t, rs[0], reply.OK, "batch SET")
	check(t, rs[1], reply.Int(3), "batch APPEND")
	if !rs[2].IsError() {
		t.Fatalf("a read-only command was applied from the log: %v", rs[2])
	}
	// MULTI: one EXEC array.
	rs, err = n.sh.Propose(entry.Multi, [][][]byte{args("incr", "a"), args("del", "b")}).Wait()
	if err != nil || len(rs) != 1 {
		t.Fatalf("multi: %v %v", rs, err)
	}
	check(t, rs[0], reply.Array(reply.Int(3), reply.Int(1)), "EXEC")

	// Concurrent proposals are all applied, each exactly once.
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := n.sh.Propose(entry.Commands, [][][]byte{args("incr", "ctr")}).Wait(); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	check(t, n.read("get", "ctr"), reply.BulkString("200"), "counter")

	st := n.sh.Status()
	if !st.IsLeader || !n.sh.IsLeader() || st.AppliedIndex == 0 || st.LastLogIndex < st.AppliedIndex || st.LeaderID != 1 {
		t.Fatalf("status %+v", st)
	}
	if st.LastCommit <= 0 || n.host.LastCommit() != st.LastCommit {
		t.Fatalf("LastCommit %v", st.LastCommit)
	}

	n.close()
	if _, err := n.sh.Propose(entry.Commands, [][][]byte{args("set", "a", "1")}).Wait(); !errors.Is(err, shard.ErrClosed) {
		t.Fatalf("Propose after close: %v", err)
	}
}

// TestHostRestart: a snapshot plus the log tail written after it restore
// everything on restart, TTLs included.
func TestHostRestart(t *testing.T) {
	n := start(t, t.TempDir(), freeAddr(t), shard.Options{})
	for i := range 300 {
		k := "key:" + strconv.Itoa(i)
		switch i % 3 {
		case 0:
			n.write("set", k, strings.Repeat("v", i), "px", "3600000")
		case 1:
			n.write("set", k, strconv.Itoa(i))
		case 2:
			n.write("hset", k, "a", "1", "b", strings.Repeat("x", 70)) // hashtable
		}
	}
	big := []string{"hset", "big"}
	for i := range 200 {
		big = append(big, "f"+strconv.Itoa(i), strconv.Itoa(i))
	}
	n.write(big...)
	n.write("append", "key:1", "-raw")
	n.write("set", "short", "x", "px", "1") // expires at once; must stay expired
	n.write("hset", "lp", "z", "1", "a", "2")

	idx := n.snapshot()
	if idx == 0 {
		t.Fatal("Snapshot index 0")
	}
	// Asking again with nothing new is not an error.
	if idx2 := n.snapshot(); idx2 < idx {
		t.Fatalf("second Snapshot: %d < %d", idx2, idx)
	}
	if st := n.sh.Status(); st.SnapshotIndex < idx || st.LastSnapshotUnix == 0 {
		t.Fatalf("status after snapshot %+v", st)
	}

	// The tail: changes to snapshotted keys and new ones.
	n.write("del", "key:3")
	n.write("pexpire", "key:4", "7200000")
	n.write("persist", "key:0")
	n.write("hset", "big", "f0", "changed", "new", "1")
	n.write("hdel", "lp", "z")
	n.write("rename", "key:2", "renamed")
	n.write("set", "tail", "t", "ex", "3600")
	n.write("setrange", "key:7", "0", "XY")

	// The leader's active expiry removes "short" through the log at a
	// moment of its choosing; wait for it so the digests compared across
	// restarts do not race with that entry.
	n.waitGone(t, "short")
	wantDigest, wantKeys := n.digest()
	wantTTL := map[string]int64{}
	for _, k := range []string{"key:0", "key:4", "key:6", "tail", "renamed", "key:1"} {
		wantTTL[k] = n.expireAt(k)
	}
	if wantTTL["key:6"] == 0 || wantTTL["tail"] == 0 || wantTTL["key:0"] != 0 {
		t.Fatalf("TTLs before restart: %v", wantTTL)
	}
	before := n.sh.Status()

	n = n.restart()
	gotDigest, gotKeys := n.digest()
	if gotDigest != wantDigest || gotKeys != wantKeys {
		t.Fatalf("after restart: %d keys (digest match %v), want %d keys", gotKeys, gotDigest == wantDigest, wantKeys)
	}
	for k, at := range wantTTL {
		if got := n.expireAt(k); got != at {
			t.Errorf("%s expires at %d after restart, want %d", k, got, at)
		}
	}
	check(t, n.read("get", "short"), reply.Nil, "expired key after restart")
	check(t, n.read("get", "key:1"), reply.BulkString("1-raw"), "appended")
	check(t, n.read("object", "encoding", "key:1"), reply.BulkString("raw"), "encoding of an appended string")
	check(t, n.read("object", "encoding", "lp"), reply.BulkString("listpack"), "listpack")
	check(t, n.read("object", "encoding", "key:5"), reply.BulkString("hashtable"), "hashtable by value size")
	check(t, n.read("hget", "big", "f0"), reply.BulkString("changed"), "HGET from the tail")
	check(t, n.read("exists", "key:3"), reply.Int(0), "deleted in the tail")
	check(t, n.read("get", "key:7"), reply.BulkString("XY"), "SETRANGE in the tail")
	if ttl := n.read("pttl", "key:4"); ttl.Int < 7_000_000 || ttl.Int > 7_200_000 {
		t.Fatalf("PTTL key:4 = %v", ttl)
	}
	st := n.sh.Status()
	if st.SnapshotIndex < idx {
		t.Fatalf("snapshot index after restart %d < %d", st.SnapshotIndex, idx)
	}
	if st.LastLogIndex < before.LastLogIndex {
		t.Fatalf("log index after restart %d < %d", st.LastLogIndex, before.LastLogIndex)
	}
	// Writes work after the restart, and a second restart (now with two
	// snapshots' worth of history) still restores.
	check(t, n.write("incr", "key:1000"), reply.Int(1), "INCR after restart")
	n.snapshot()
	n.write("set", "after2", "x")
	d, k := n.digest()
	n = n.restart()
	if d2, k2 := n.digest(); d2 != d || k2 != k {
		t.Fatalf("second restart: %d keys, want %d", k2, k)
	}
}

// TestHostRestartLogOnly: no snapshot at all; the whole state comes from
// replaying the log, and relative TTLs resolve from the entries' times,
// not from the replay time.
func TestHostRestartLogOnly(t *testing.T) {
	n := start(t, t.TempDir(), freeAddr(t), shard.Options{})
	n.write("set", "a", "1", "px", "3600000")
	n.write("hset", "h", "f", "v")
	n.write("expire", "h", "7200")
	at := map[string]int64{"a": n.expireAt("a"), "h": n.expireAt("h")}
	d, k := n.digest()
	time.Sleep(20 * time.Millisecond) // a replay "now" would differ
	n = n.restart()
	if d2, k2 := n.digest(); d2 != d || k2 != k {
		t.Fatalf("after replay: %d keys, want %d; digest match %v", k2, k, d2 == d)
	}
	for key, want := range at {
		if got := n.expireAt(key); got != want {
			t.Fatalf("%s expires at %d after replay, want %d", key, got, want)
		}
	}
}

// TestHostActiveExpiry: the leader finds expired keys and deletes them
// through the log, in batches.
func TestHostActiveExpiry(t *testing.T) {
	n := start(t, t.TempDir(), freeAddr(t), shard.Options{ExpiryInterval: 10 * time.Millisecond})
	const ttl = 600
	var cmds [][][]byte
	for i := range ttl { // more than one batch of 256
		cmds = append(cmds, args("set", "t:"+strconv.Itoa(i), "v", "px", "150"))
	}
	for i := range 50 {
		cmds = append(cmds, args("set", "p:"+strconv.Itoa(i), "v"))
	}
	if _, err := n.sh.Propose(entry.Commands, cmds).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, keys := n.digest(); keys != ttl+50 {
		t.Fatalf("%d keys", keys)
	}
	applied := n.sh.Status().AppliedIndex
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, keys := n.digest()
		if keys == 50 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("active expiry left %d keys", keys)
		}
		time.Sleep(10 * time.Millisecond)
	}
	var expired int64
	n.sh.View(func(db *keyspace.DB) { expired = db.Stats.ExpiredKeys.Load() })
	if expired != ttl {
		t.Fatalf("ExpiredKeys stat %d, want %d", expired, ttl)
	}
	st := n.sh.Status()
	if st.AppliedIndex < applied+3 { // at least 3 expiry entries (600 keys / 256)
		t.Fatalf("expiry went through %d log entries, want >= 3", st.AppliedIndex-applied)
	}
	check(t, n.read("dbsize"), reply.Int(50), "DBSIZE")
	// The deletions are in the log: a replay ends with the same keyspace.
	d, _ := n.digest()
	n = n.restart()
	if d2, keys := n.digest(); d2 != d || keys != 50 {
		t.Fatalf("after restart %d keys", keys)
	}
}

// TestHostSnapshotUnderLoad: snapshots taken while writes keep coming; a
// restart restores the final state.
func TestHostSnapshotUnderLoad(t *testing.T) {
	n := start(t, t.TempDir(), freeAddr(t), shard.Options{SnapshotEntries: 200, CompactionOverhead: 50})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				k := "w" + strconv.Itoa(w) + ":" + strconv.Itoa(i%500)
				var cmd [][]byte
				switch i % 4 {
				case 0:
					cmd = args("set", k, strings.Repeat("x", i%100), "px", "3600000")
				case 1:
					cmd = args("append", k, "tail")
				case 2:
					cmd = args("hset", "h"+k, "f"+strconv.Itoa(i%150), "v")
				case 3:
					cmd = args("del", k)
				}
				if _, err := n.sh.Propose(entry.Commands, [][][]byte{cmd}).Wait(); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	// Readers build replies that alias the stored bytes and use them after
	// the read lock is released, as the session layer does; the race detector
	// checks that writers never overwrite those bytes.
	getSpec, hgetallSpec, getrangeSpec := table.Lookup([]byte("get")), table.Lookup([]byte("hgetall")), table.Lookup([]byte("getrange"))
	var touched sync.WaitGroup
	for r := range 2 {
		touched.Add(1)
		go func() {
			defer touched.Done()
			sum := 0
			var walk func(v reply.Value)
			walk = func(v reply.Value) {
				for _, b := range v.Str {
					sum += int(b)
				}
				for _, e := range v.Elems {
					walk(e)
				}
			}
			for i := 0; ctx.Err() == nil; i++ {
				k := "w" + strconv.Itoa((i+r)%4) + ":" + strconv.Itoa(i%500)
				walk(n.sh.Read(getSpec, args("get", k)))
				walk(n.sh.Read(hgetallSpec, args("hgetall", "h"+k)))
				walk(n.sh.Read(getrangeSpec, args("getrange", k, "0", "-1")))
			}
			_ = sum
		}()
	}
	for range 3 {
		time.Sleep(150 * time.Millisecond)
		n.snapshot()
	}
	cancel()
	wg.Wait()
	touched.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	d, k := n.digest()
	if k == 0 {
		t.Fatal("no writes")
	}
	n = n.restart()
	if d2, k2 := n.digest(); d2 != d || k2 != k {
		t.Fatalf("after restart %d keys, want %d", k2, k)
	}
}

// TestHostAppliedIndexAfterRestart: after a restart from a snapshot with
// no log tail, the applied index (INFO raft_applied_index,
// master_repl_offset) must be the snapshot's index, not 0: the state
// machine holds everything up to it.
func TestHostAppliedIndexAfterRestart(t *testing.T) {
	n := start(t, t.TempDir(), freeAddr(t), shard.Options{})
	for range 10 {
		n.write("incr", "a")
	}
	idx := n.snapshot()
	if st := n.sh.Status(); st.AppliedIndex != idx {
		t.Fatalf("applied %d, snapshot %d", st.AppliedIndex, idx)
	}
	n = n.restart()
	check(t, n.read("get", "a"), reply.BulkString("10"), "restored value")
	if st := n.sh.Status(); st.AppliedIndex < idx {
		t.Errorf("applied index after restart = %d, want >= %d (snapshot index; last log index %d)", st.AppliedIndex, idx, st.LastLogIndex)
	}
}
