package shard_test

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/cairndb/cairn/server/shard"
)

// TestReadCommittedTailEqualsLog: once a region link reads a shard's log,
// ReadCommitted answers the newest entries from the tail apply keeps in
// memory; every range read must equal what the log store holds.
func TestReadCommittedTailEqualsLog(t *testing.T) {
	n := start(t, t.TempDir(), freeAddr(t), shard.Options{})
	for i := range 50 {
		n.write("SET", fmt.Sprintf("a%d", i), "v")
	}
	first, err := n.sh.ReadCommitted(1, 5) // a reader: the tail starts
	if err != nil || len(first) == 0 {
		t.Fatalf("ReadCommitted(1, 5) = %d entries, %v", len(first), err)
	}
	for i := range 300 {
		n.write("SET", fmt.Sprintf("b%d", i), fmt.Sprint(i))
		if i%100 == 0 {
			n.write("DEL", fmt.Sprintf("a%d", i/10))
		}
	}
	applied := n.sh.AppliedIndex()
	if !n.sh.TailHolds(applied) {
		t.Fatal("no tail after a reader asked")
	}
	for _, r := range [][2]uint64{{1, 400}, {40, 60}, {55, 300}, {applied - 20, 100}, {applied, 10}, {2, 1}} {
		got, err := n.sh.ReadCommitted(r[0], int(r[1]))
		if err != nil {
			t.Fatalf("ReadCommitted(%d, %d): %v", r[0], r[1], err)
		}
		if len(got) == 0 {
			t.Fatalf("ReadCommitted(%d, %d): nothing", r[0], r[1])
		}
		// The log store answers in reads of a bounded size.
		var want []shard.CommittedEntry
		for from := r[0]; from <= got[len(got)-1].Index; {
			part, err := n.sh.ReadLog(from, got[len(got)-1].Index+1)
			if err != nil || len(part) == 0 {
				t.Fatalf("ReadLog(%d): %d entries, %v", from, len(part), err)
			}
			want = append(want, part...)
			from = part[len(part)-1].Index + 1
		}
		if len(got) != len(want) {
			t.Fatalf("ReadCommitted(%d, %d): %d entries, the log %d", r[0], r[1], len(got), len(want))
		}
		for i := range got {
			if got[i].Index != want[i].Index || !bytes.Equal(got[i].Data, want[i].Data) {
				t.Fatalf("ReadCommitted(%d, %d): entry %d differs from the log", r[0], r[1], got[i].Index)
			}
		}
	}
	// The newest ranges above came from the tail, the oldest from the log.
	if !n.sh.TailHolds(applied-20) || !n.sh.TailHolds(applied) {
		t.Fatal("the tail does not hold the newest entries: the comparison did not exercise it")
	}
	if n.sh.TailHolds(2) {
		t.Fatal("the tail holds an entry applied before any reader asked")
	}
}
