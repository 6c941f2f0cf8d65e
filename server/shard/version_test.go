package shard_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	sm "github.com/lni/dragonboat/v4/statemachine"

	"github.com/cairndb/cairn/server/entry"
	"github.com/cairndb/cairn/server/reply"
	"github.com/cairndb/cairn/server/shard"
)

func encodeV(v uint8, kind entry.Kind, t int64, cmds ...[][]byte) []byte {
	e := entry.Entry{Version: v, Kind: kind, Time: t, Seed: 1, Cmds: cmds}
	return entry.Append(nil, &e)
}

// TestSMHaltsOnUnknown: an entry the binary cannot apply exactly as its
// writer would (corrupt, unknown version or kind, unknown command or
// subcommand) stops the shard: nothing of it or of any later entry is
// applied, the applied index stays before it, no snapshot is taken.
func TestSMHaltsOnUnknown(t *testing.T) {
	for name, bad := range map[string][]byte{
		"empty":         nil,
		"short":         {1},
		"garbage":       []byte("garbage garbage"),
		"truncated":     encode(entry.Commands, 1000, 1, args("set", "a", "1"))[:8],
		"newer version": {entry.Version + 1, 1, 0, 0, 0},
		"kind 9":        encode(entry.Kind(9), 1000, 1, args("set", "a", "1")),
		"config at v1":  entry.Append(nil, &entry.Entry{Version: 1, Kind: entry.Config, Time: 1000, Cmds: [][][]byte{args("maxmemory", "1")}}),
		"command":       encode(entry.Commands, 1000, 1, args("set", "z", "1"), args("nosuchcmd", "a")),
		"in multi":      encode(entry.Multi, 1000, 1, args("set", "z", "1"), args("nosuchcmd", "a")),
		"subcommand":    encode(entry.Commands, 1000, 1, args("xgroup", "nosuchsub", "s", "g")),
		"slot op v1":    encode(entry.SlotOp, 1000, 1, args("NOSUCHOP", "\x00\x00")),
		"slot op v2":    encode(entry.SlotOp, 1000, 1, args("@2", "NOSUCHOP", "\x00\x00", "")),
	} {
		t.Run(name, func(t *testing.T) {
			s := shard.NewTestSM(table)
			do(t, s, 1, 1000, "set", "a", "1")
			do(t, s, 2, 1000, "hset", "h", "f", "v")
			before, applied, clock := digest(s), s.Applied(), s.LastTime()
			good := encode(entry.Commands, 2000, 1, args("set", "b", "2"))
			out, err := s.SM().Update([]sm.Entry{{Index: 3, Cmd: bad}, {Index: 4, Cmd: good}})
			if err != nil {
				t.Fatal(err) // an error would make Dragonboat panic the whole node
			}
			if s.Halted() == "" {
				t.Fatal("not halted")
			}
			for _, e := range out {
				if rs := replies(t, e.Result); len(rs) != 1 || !rs[0].IsError() {
					t.Fatalf("entry %d answered %v, want the halted error", e.Index, rs)
				}
			}
			if digest(s) != before || s.Applied() != applied || s.LastTime() != clock {
				t.Fatalf("a halted state machine changed: applied %d -> %d, clock %d -> %d", applied, s.Applied(), clock, s.LastTime())
			}
			if _, err := s.SM().PrepareSnapshot(); !errors.Is(err, sm.ErrSnapshotAborted) {
				t.Fatalf("PrepareSnapshot on a halted shard: %v", err)
			}
			// Later batches are not applied either.
			apply(t, s, 5, encode(entry.Commands, 3000, 1, args("set", "c", "3")))
			if digest(s) != before {
				t.Fatal("a later entry was applied")
			}
		})
	}
}

// TestSMOldBinaryStopsThenConverges: a replica running an "old binary"
// (format version 1) meets a version-2 entry: it stops without applying
// it; its state is the state before the entry. Restarted with the new
// binary (recover its last snapshot, replay the log), it converges with a
// replica that ran the new binary throughout.
func TestSMOldBinaryStopsThenConverges(t *testing.T) {
	const t0 = 1_700_000_000_000
	log := [][]byte{
		encodeV(1, entry.Commands, t0, args("set", "a", "1")),
		encodeV(1, entry.Commands, t0+10, args("rpush", "l", "x", "y")),
		encodeV(2, entry.Commands, t0+20, args("set", "b", "2", "px", "100000")),
		encodeV(2, entry.Multi, t0+30, args("incr", "a"), args("lpop", "l")),
	}
	newSM := shard.NewTestSM(table)
	old := shard.NewTestSMVersion(table, 1)
	ref := shard.NewTestSM(table) // the state before entry 3
	var snap bytes.Buffer
	for i, b := range log {
		apply(t, newSM, uint64(i+1), b)
		apply(t, old, uint64(i+1), b)
		if i < 2 {
			apply(t, ref, uint64(i+1), b)
		}
		if i == 1 {
			ctx, err := old.SM().PrepareSnapshot()
			if err != nil {
				t.Fatal(err)
			}
			if err := old.SM().SaveSnapshot(ctx, &snap, nil, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	if old.Halted() == "" || newSM.Halted() != "" {
		t.Fatalf("halted: old %q, new %q", old.Halted(), newSM.Halted())
	}
	if digest(old) != digest(ref) || old.Applied() != 2 || old.LastTime() != ref.LastTime() {
		t.Fatalf("the old binary's state is not the state before the entry (applied %d)", old.Applied())
	}
	if digest(old) == digest(newSM) {
		t.Fatal("test is weak: entries 3-4 change nothing")
	}
	// Restart with the new binary: last snapshot plus the log behind it.
	up := shard.NewTestSM(table)
	if err := up.SM().RecoverFromSnapshot(&snap, nil, nil); err != nil {
		t.Fatal(err)
	}
	for i := 2; i < len(log); i++ {
		apply(t, up, uint64(i+1), log[i])
	}
	if up.Halted() != "" || digest(up) != digest(newSM) || up.LastTime() != newSM.LastTime() || up.Applied() != newSM.Applied() {
		t.Fatalf("the upgraded replica does not converge: halted %q", up.Halted())
	}
}

// TestSMClockJumpBounded: one entry stamped by a leader whose clock is a
// day ahead moves the applied clock by MaxClockStep at most, so a key set
// afterwards with EX 60 by a sane leader lives about 60 s, and an active
// expiry proposed from the future does not delete a key with time left.
// Today's rule (the maximum time seen) still applies to version-1 entries.
func TestSMClockJumpBounded(t *testing.T) {
	const t0 = 1_700_000_000_000
	day := (24 * time.Hour).Milliseconds()
	step := shard.MaxClockStep.Milliseconds()
	s := shard.NewTestSM(table)
	do(t, s, 1, t0, "set", "z", "v", "ex", "100")
	do(t, s, 2, t0+day, "set", "x", "1") // the skewed leader
	if got := s.LastTime(); got != t0+step {
		t.Fatalf("applied clock %d after a jump of a day, want %d", got-t0, step)
	}
	apply(t, s, 3, encode(entry.Expire, t0+day, 0, args("z")))
	if s.DB().Peek([]byte("z")) == nil {
		t.Fatal("an expiry stamped a day ahead deleted a key with 95 s left")
	}
	do(t, s, 4, t0+1000, "set", "k", "v", "ex", "60") // a sane leader
	// Two entries came from the future, each moved the clock one step.
	if got := s.DB().Peek([]byte("k")).ExpireAt - (t0 + 1000); got < 55_000 || got > 60_000+2*step {
		t.Fatalf("SET EX 60 after the jump expires %d ms after it was written", got)
	}
	// A legitimate gap is crossed in steps (the leader's idle ticks).
	now := s.LastTime()
	for i := uint64(0); i < 20; i++ {
		apply(t, s, 5+i, encode(entry.Commands, t0+60_000, 0))
	}
	if got := s.LastTime(); got != t0+60_000 || now >= got {
		t.Fatalf("ticks did not catch up: %d", got-t0)
	}
	// A backwards entry does not move the clock back.
	do(t, s, 30, t0, "set", "y", "1")
	if s.LastTime() != t0+60_000 {
		t.Fatal("clock went back")
	}
	// Version 1 keeps its meaning: the maximum time seen.
	v1 := shard.NewTestSM(table)
	apply(t, v1, 1, encodeV(1, entry.Commands, t0, args("set", "a", "1")))
	apply(t, v1, 2, encodeV(1, entry.Commands, t0+day, args("set", "a", "2")))
	if v1.LastTime() != t0+day {
		t.Fatalf("version-1 entries changed meaning: %d", v1.LastTime())
	}
}

// TestHostHaltedShard runs the halt through Dragonboat: a replica with an
// "old binary" (format 1) meets a version-2 entry. The shard halts without
// crashing the node; writes, linearizable reads and snapshots of it fail
// with ErrHalted; INFO's status shows it; another shard on the same host
// keeps serving. Restarted with the new binary, the replica replays the
// entry and converges.
func TestHostHaltedShard(t *testing.T) {
	dir, addr := t.TempDir(), freeAddr(t)
	n := start(t, dir, addr, shard.Options{ShardID: 1, MaxFormatVersion: 1})
	other, err := n.host.StartShard(shard.Options{ShardID: 2}, table)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := other.WaitLeader(ctx); err != nil {
		t.Fatal(err)
	}
	check(t, n.write("set", "k", "1"), reply.OK, "SET on format 1")
	err = n.sh.ProposeRaw(encodeV(2, entry.Commands, time.Now().UnixMilli(), args("set", "k", "2")))
	if !errors.Is(err, shard.ErrHalted) {
		t.Fatalf("the unknown entry: %v", err)
	}
	if n.sh.Halted() == nil || n.sh.Status().Halted == "" {
		t.Fatal("not halted")
	}
	if _, err := n.sh.Propose(entry.Commands, [][][]byte{args("set", "k", "3")}).Wait(); !errors.Is(err, shard.ErrHalted) {
		t.Fatalf("write on a halted shard: %v", err)
	}
	spec, _ := table.Resolve(args("get", "k"))
	if _, err := n.sh.LinearRead(time.Now(), spec, args("get", "k")); !errors.Is(err, shard.ErrHalted) {
		t.Fatalf("linearizable read on a halted shard: %v", err)
	}
	check(t, n.read("get", "k"), reply.BulkString("1"), "state before the entry")
	if _, err := n.sh.Snapshot(ctx); err == nil {
		t.Fatal("snapshot of a halted shard")
	}
	// The other shard is unaffected.
	if rs, err := other.Propose(entry.Commands, [][][]byte{args("set", "o", "1")}).Wait(); err != nil || !reply.Equal(rs[0], reply.OK) {
		t.Fatalf("other shard: %v %v", rs, err)
	}
	// Upgrade: restart with the new binary.
	n.opts.MaxFormatVersion = 0
	n = n.restart()
	if n.sh.Halted() != nil {
		t.Fatalf("still halted after the upgrade: %v", n.sh.Halted())
	}
	check(t, n.read("get", "k"), reply.BulkString("2"), "after the upgrade the entry is applied")
	check(t, n.write("incr", "c"), reply.Int(1), "writes after the upgrade")
}
