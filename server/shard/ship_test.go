package shard_test

import (
	"bytes"
	"strconv"
	"testing"

	sm "github.com/lni/dragonboat/v4/statemachine"

	"github.com/cairndb/cairn/server/entry"
	"github.com/cairndb/cairn/server/shard"
)

// shipped wraps source entries (index -> bytes, nil for Raft's own) of
// source shard src into one entry.Shipped.
func shipped(src uint64, from uint64, ents ...[]byte) []byte {
	cmds := make([][][]byte, len(ents))
	for i, b := range ents {
		cmds[i] = [][]byte{[]byte(strconv.FormatUint(src, 10)), []byte(strconv.FormatUint(from+uint64(i), 10)), b}
	}
	return encode(entry.Shipped, 999999, 7, cmds...)
}

// TestSMShippedExactlyOnce: source entries of every kind applied through
// entry.Shipped leave the destination in the source's state (digest,
// clock), a source entry shipped twice (overlapping batches, after a
// snapshot restore) is applied once, and the position survives the
// snapshot.
func TestSMShippedExactlyOnce(t *testing.T) {
	srcEnts := [][]byte{
		encode(entry.Commands, 1000, 1, args("set", "a", "1"), args("incr", "n")),
		nil, // a new leader's empty entry
		encode(entry.Commands, 1500, 2, args("set", "t", "x", "px", "100"), args("spop", "nosuch")),
		encode(entry.Multi, 2000, 3, args("incr", "n"), args("hset", "h", "f", "v")),
		encode(entry.Expire, 2100, 4, args("t")),
		encodeV(2, entry.Config, 2200, args("maxmemory-policy", "allkeys-lru")),
		encode(entry.Commands, 2300, 5, args("incr", "n"), args("sadd", "s", "a", "b", "c"), args("spop", "s")),
	}
	src := shard.NewTestSM(table)
	for i, b := range srcEnts {
		if b == nil {
			continue
		}
		if _, err := src.SM().Update([]sm.Entry{{Index: uint64(i + 1), Cmd: b}}); err != nil {
			t.Fatal(err)
		}
	}
	dst := shard.NewTestSM(table)
	// Batches overlap: 1-3, then 2-5 (2 and 3 again), then the rest.
	apply(t, dst, 1, shipped(1, 1, srcEnts[0:3]...))
	apply(t, dst, 2, shipped(1, 2, srcEnts[1:5]...))
	if p := dst.ShipPosition(1); p.Index != 5 || p.Time != 2100 {
		t.Fatalf("position after 5: %+v", p)
	}
	ctx, _ := dst.SM().PrepareSnapshot()
	var buf bytes.Buffer
	if err := dst.SM().SaveSnapshot(ctx, &buf, nil, nil); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(buf.Bytes(), []byte("CAIRNSM6")) {
		t.Fatalf("header %q", buf.Bytes()[:8])
	}
	r := shard.NewTestSM(table)
	if err := r.SM().RecoverFromSnapshot(bytes.NewReader(buf.Bytes()), nil, nil); err != nil {
		t.Fatal(err)
	}
	if p := r.ShipPosition(1); p.Index != 5 || p.Time != 2100 {
		t.Fatalf("position after restore: %+v", p)
	}
	// The restored replica gets 4-7 again: 4 and 5 are skipped.
	apply(t, r, 3, shipped(1, 4, srcEnts[3:]...))
	if r.Halted() != "" {
		t.Fatal(r.Halted())
	}
	if got, want := r.DB().StateDigest(), src.DB().StateDigest(); got != want {
		t.Fatalf("digest %x, source %x", got, want)
	}
	if r.LastTime() != src.LastTime() {
		t.Fatalf("clock %d, source %d", r.LastTime(), src.LastTime())
	}
	if p := r.ShipPosition(1); p.Index != 7 || p.Time != 2300 {
		t.Fatalf("final position %+v", p)
	}
}

// TestSMShippedUnknownHalts: a shipped source entry this binary does not
// understand stops the destination; it is not skipped.
func TestSMShippedUnknownHalts(t *testing.T) {
	dst := shard.NewTestSM(table)
	apply(t, dst, 1, shipped(1, 1, encode(entry.Kind(99), 1000, 1, args("set", "a", "1"))))
	if dst.Halted() == "" {
		t.Fatal("not halted")
	}
	if p := dst.ShipPosition(1); p.Index != 0 {
		t.Fatalf("position advanced past an unknown entry: %+v", p)
	}
}

// snapChunk is one entry.ShipSnapshot chunk.
func snapChunk(src, idx uint64, tm int64, off int, last bool, data []byte) []byte {
	l := "0"
	if last {
		l = "1"
	}
	return encodeV(5, entry.ShipSnapshot, 999999, [][]byte{
		[]byte(strconv.FormatUint(src, 10)), []byte(strconv.FormatUint(idx, 10)),
		[]byte(strconv.FormatInt(tm, 10)), []byte(strconv.Itoa(off)), []byte(l), data,
	})
}

// TestSMShipSnapshotInstall: a source snapshot shipped in chunks is
// staged in replicated state (a destination snapshot taken mid-transfer
// carries the stage, so a replica restored from it installs the same
// state), installed by the last chunk with the source's digest and clock,
// keeps the destination's other ship positions, and a stale or
// out-of-order chunk changes nothing. Shipping then resumes after it.
func TestSMShipSnapshotInstall(t *testing.T) {
	src := shard.NewTestSM(table)
	apply(t, src, 1, encode(entry.Commands, 1000, 1, args("set", "a", "1"), args("sadd", "s", "x", "y", "z"), args("spop", "s")))
	apply(t, src, 2, encode(entry.Commands, 1200, 2, args("hset", "h", "f", "v"), args("incr", "n")))
	var snap bytes.Buffer
	if _, err := src.WriteSnapshot(&snap); err != nil {
		t.Fatal(err)
	}
	data := snap.Bytes()
	half := len(data) / 2

	dst := shard.NewTestSM(table)
	apply(t, dst, 1, shipped(7, 1, encode(entry.Commands, 900, 1, args("set", "other", "1")))) // another source's position
	apply(t, dst, 2, encode(entry.Commands, 950, 1, args("set", "gone", "1")))
	apply(t, dst, 3, snapChunk(1, 2, 1200, 0, false, data[:half]))
	apply(t, dst, 4, snapChunk(1, 2, 1200, half+1, true, data[half+1:])) // a gap: ignored
	if dst.ShipPosition(1).Index != 0 {
		t.Fatal("a chunk that does not follow the stage was installed")
	}
	// A destination snapshot mid-transfer carries the stage.
	ctx, _ := dst.SM().PrepareSnapshot()
	var buf bytes.Buffer
	if err := dst.SM().SaveSnapshot(ctx, &buf, nil, nil); err != nil {
		t.Fatal(err)
	}
	r := shard.NewTestSM(table)
	if err := r.SM().RecoverFromSnapshot(bytes.NewReader(buf.Bytes()), nil, nil); err != nil {
		t.Fatal(err)
	}
	for _, d := range []*shard.TestSM{dst, r} {
		apply(t, d, 5, snapChunk(1, 2, 1200, half, true, data[half:]))
		if d.Halted() != "" {
			t.Fatal(d.Halted())
		}
		if got, want := d.DB().StateDigest(), src.DB().StateDigest(); got != want {
			t.Fatalf("digest %x after install, source %x", got, want)
		}
		if d.LastTime() != src.LastTime() {
			t.Fatalf("clock %d, source %d", d.LastTime(), src.LastTime())
		}
		if p := d.ShipPosition(1); p.Index != 2 || p.Time != 1200 {
			t.Fatalf("position after install: %+v", p)
		}
		if p := d.ShipPosition(7); p.Index != 1 {
			t.Fatalf("another source's position lost: %+v", p)
		}
		if d.Applied() != 5 {
			t.Fatalf("applied %d, want this log's 5", d.Applied())
		}
		// A replay of the transfer is below the position: nothing changes.
		apply(t, d, 6, snapChunk(1, 2, 1200, 0, true, data))
		apply(t, d, 7, shipped(1, 2, encode(entry.Commands, 1200, 2, args("incr", "n"))))
		apply(t, d, 8, shipped(1, 3, encode(entry.Commands, 1300, 3, args("incr", "n"))))
	}
	apply(t, src, 3, encode(entry.Commands, 1300, 3, args("incr", "n")))
	if a, b, c := dst.DB().StateDigest(), r.DB().StateDigest(), src.DB().StateDigest(); a != c || b != c {
		t.Fatalf("digests after resuming: %x %x, source %x", a, b, c)
	}
}
