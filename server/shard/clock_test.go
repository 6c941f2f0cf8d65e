package shard_test

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cairndb/cairn/server"
	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/entry"
	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/server/reply"
	"github.com/cairndb/cairn/server/shard"
)

// group is a three-replica shard on three hosts of one FaultNet, each host
// with its own wall clock (an offset from the real one).
type group struct {
	t      *testing.T
	hosts  []*shard.Host
	shards []*shard.Shard
	offset []atomic.Int64 // ns
}

func startGroup(t *testing.T, opts shard.Options) *group {
	t.Helper()
	g := &group{t: t, offset: make([]atomic.Int64, 3)}
	net := shard.NewFaultNet()
	members := map[uint64]string{}
	for i := 1; i <= 3; i++ {
		members[uint64(i)] = fmt.Sprintf("127.0.0.1:%d", 41000+i)
	}
	for i := 1; i <= 3; i++ {
		off := &g.offset[i-1]
		h, err := shard.NewHost(shard.HostConfig{Dir: t.TempDir(), RaftAddr: members[uint64(i)], RTTMillisecond: 5, FaultNet: net,
			Clock: func() time.Time { return time.Now().Add(time.Duration(off.Load())) }})
		if err != nil {
			t.Fatal(err)
		}
		g.hosts = append(g.hosts, h)
	}
	t.Cleanup(func() {
		for _, h := range g.hosts {
			h.Close()
		}
		debug.FreeOSMemory()
	})
	errs := make(chan error, 3)
	g.shards = make([]*shard.Shard, 3)
	for i := range 3 {
		go func(i int) {
			o := opts
			o.ReplicaID = uint64(i + 1)
			o.Members = members
			var err error
			g.shards[i], err = g.hosts[i].StartShard(o, table)
			errs <- err
		}(i)
	}
	for range 3 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	return g
}

// lead makes replica id (1-based) the leader.
func (g *group) lead(id int) *shard.Shard {
	g.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		for _, s := range g.shards {
			if s.IsLeader() {
				if s.ReplicaID() == uint64(id) {
					return s
				}
				s.TransferLeader(uint64(id))
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	g.t.Fatalf("replica %d did not become leader", id)
	return nil
}

func (g *group) write(s *shard.Shard, cmd ...string) {
	g.t.Helper()
	rs, err := s.Propose(entry.Commands, [][][]byte{args(cmd...)}).Wait()
	if err != nil || len(rs) != 1 || rs[0].IsError() {
		g.t.Fatalf("%q: %v %v", cmd, rs, err)
	}
}

func (g *group) pttl(s *shard.Shard, key string) int64 {
	g.t.Helper()
	a := args("pttl", key)
	spec, err := table.Resolve(a)
	if err != nil {
		g.t.Fatal(err)
	}
	v, err := s.LinearRead(time.Now(), spec, a)
	if err != nil {
		g.t.Fatal(err)
	}
	return v.Int
}

// TestClockSkewedLeader: a replica whose wall clock is a day ahead leads
// for a while and writes. Afterwards, on a sane leader, a key set with EX
// 100 before (and one set with EX 60 after) still has about its TTL left:
// the skewed leader neither made relative TTLs count from the future nor
// expired keys early. Also: the idle leader's ticks keep the applied clock
// within a few seconds of real time.
func TestClockSkewedLeader(t *testing.T) {
	g := startGroup(t, shard.Options{ShardID: 7})
	g.offset[0].Store(int64(24 * time.Hour))
	sane := g.lead(2)
	g.write(sane, "set", "z", "v", "ex", "100")
	zSet := time.Now()
	skewed := g.lead(1)
	for i := range 20 {
		g.write(skewed, "set", fmt.Sprint("x", i), "1")
		time.Sleep(25 * time.Millisecond) // active expiry runs meanwhile
	}
	sane = g.lead(3)
	kSet := time.Now()
	g.write(sane, "set", "k", "v", "ex", "60")
	// What the skewed leader could add: SlewPercent of its time leading.
	slack := int64(time.Since(zSet)/time.Millisecond)*shard.SlewPercent/100 + 500
	if got, want := g.pttl(sane, "z"), 100_000-time.Since(zSet).Milliseconds(); got < want-slack || got > 100_000 {
		t.Fatalf("EX 100 key has %d ms left after the skewed leader, want about %d", got, want)
	}
	if got, want := g.pttl(sane, "k"), 60_000-time.Since(kSet).Milliseconds(); got < want-500 || got > 60_000 {
		t.Fatalf("EX 60 key written after the skewed leader has %d ms left, want about %d", got, want)
	}
	applied, _ := sane.ClockStats()
	if d := applied - time.Now().UnixMilli(); d > slack {
		t.Fatalf("applied clock is %d ms ahead of real time", d)
	}
	// Idle: ticks keep the clock moving.
	time.Sleep(3 * time.Second)
	applied, _ = sane.ClockStats()
	if d := time.Now().UnixMilli() - applied; d > 5000 || d < -slack {
		t.Fatalf("idle shard's applied clock lags %d ms", d)
	}
}

// TestReadAgreesWithNextWrite: after the node's clock jumps back, a read
// still runs at the applied clock, so GET and the INCR right after it agree
// that the key has expired (a read at the wall clock would see it live
// while the INCR, applied at the applied clock, finds it gone).
func TestReadAgreesWithNextWrite(t *testing.T) {
	var off atomic.Int64
	n := start(t, t.TempDir(), freeAddr(t), shard.Options{Clock: func() time.Time { return time.Now().Add(time.Duration(off.Load())) }})
	check(t, n.write("set", "k", "5", "px", "3000"), reply.OK, "SET PX 3000")
	off.Store(int64(4 * time.Second)) // the clock jumps ahead...
	check(t, n.write("set", "other", "1"), reply.OK, "SET")
	off.Store(0) // ...and back
	if v := n.read("get", "k"); !reply.Equal(v, reply.Nil) {
		t.Fatalf("GET = %v, but the applied clock is past the key's expiry", v)
	}
	check(t, n.write("incr", "k"), reply.Int(1), "INCR after the GET")
}

// TestClusterVersionGatesEntryVersion: while the cluster version is 1 (a
// node has not been upgraded) the leader writes version-1 entries, which
// keep the old clock rule; at version 2 the jump is bounded.
func TestClusterVersionGatesEntryVersion(t *testing.T) {
	var cv atomic.Int32
	cv.Store(1)
	var off atomic.Int64
	n := start(t, t.TempDir(), freeAddr(t), shard.Options{
		ClusterVersion: func() uint8 { return uint8(cv.Load()) },
		Clock:          func() time.Time { return time.Now().Add(time.Duration(off.Load())) },
	})
	off.Store(int64(time.Hour))
	check(t, n.write("set", "a", "1"), reply.OK, "SET")
	if applied, _ := n.sh.ClockStats(); applied < time.Now().Add(59*time.Minute).UnixMilli() {
		t.Fatal("cluster version 1: the entry was not written at version 1 (old clock rule)")
	}
	m := start(t, t.TempDir(), freeAddr(t), shard.Options{
		ClusterVersion: func() uint8 { return 2 },
		Clock:          func() time.Time { return time.Now().Add(time.Duration(off.Load())) },
	})
	off.Store(0)
	check(t, m.write("set", "a", "1"), reply.OK, "SET")
	off.Store(int64(time.Hour))
	check(t, m.write("set", "a", "2"), reply.OK, "SET")
	if applied, clamped := m.sh.ClockStats(); applied > time.Now().Add(shard.MaxClockStep+time.Second).UnixMilli() || clamped == 0 {
		t.Fatalf("cluster version 2: the jump was not bounded (%d clamped)", clamped)
	}
}

// TestClusterVersionGatesCommands: a command introduced with entry
// format 2 (Spec.Format) is refused with ErrFeatureGated while the
// cluster version is 1 (an old node would halt on it), in a plain write,
// a batched write and a transaction, without reaching the log; once every
// node understands format 2 it is proposed and applied.
func TestClusterVersionGatesCommands(t *testing.T) {
	newer := &command.Spec{Name: "newcmd", Arity: 2, Flags: command.Write, FirstKey: 1, LastKey: 1, Step: 1, Format: 2,
		Run: func(c *command.Ctx, args [][]byte) (reply.Value, error) {
			c.DB.Put(args[1], []byte("new"), nil, 0)
			return reply.OK, nil
		}}
	tbl := server.Commands([]*command.Spec{newer})
	var cv atomic.Int32
	cv.Store(1)
	s := startVersioned(t, tbl, &cv)
	keys := func() (n int) {
		s.View(func(db *keyspace.DB) { n = db.Len() })
		return n
	}
	for _, p := range []*shard.Pending{
		s.Propose(entry.Commands, [][][]byte{args("newcmd", "k")}),
		s.Propose(entry.Commands, [][][]byte{args("set", "a", "1"), args("NEWCMD", "k")}),
		s.Propose(entry.Multi, [][][]byte{args("set", "a", "1"), args("newcmd", "k")}),
	} {
		if _, err := p.Wait(); !errors.Is(err, shard.ErrFeatureGated) {
			t.Fatalf("format-2 command at cluster version 1: %v, want ErrFeatureGated", err)
		}
	}
	if n := keys(); n != 0 {
		t.Fatalf("%d keys after refused writes, want 0: a refused entry reached the log", n)
	}
	if _, err := s.Propose(entry.Commands, [][][]byte{args("set", "a", "1")}).Wait(); err != nil {
		t.Fatalf("an old command at cluster version 1: %v", err)
	}
	cv.Store(2)
	out, err := s.Propose(entry.Commands, [][][]byte{args("newcmd", "k")}).Wait()
	if err != nil || len(out) != 1 || out[0].String() != reply.OK.String() {
		t.Fatalf("format-2 command at cluster version 2: %v %v", out, err)
	}
}

// startVersioned starts a single-replica shard over tbl whose cluster
// version is read from cv, and waits until it leads; the host closes with
// the test.
func startVersioned(t *testing.T, tbl *command.Table, cv *atomic.Int32) *shard.Shard {
	t.Helper()
	h, err := shard.NewHost(shard.HostConfig{Dir: t.TempDir(), RaftAddr: freeAddr(t), RTTMillisecond: 5})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	s, err := h.StartShard(shard.Options{ClusterVersion: func() uint8 { return uint8(cv.Load()) }}, tbl)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := s.WaitLeader(ctx); err != nil {
		t.Fatal(err)
	}
	return s
}
