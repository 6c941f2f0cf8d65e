package shard

import (
	"fmt"
	"testing"
)

// TestShipTailGapsAndBounds: indexes apply skips between two it records
// come back as entries without data (Raft's own entries), a replay or a
// snapshot recovery starts the tail over, reads past its end are cut
// there, and the byte bound drops the oldest entries.
func TestShipTailGapsAndBounds(t *testing.T) {
	var tl shipTail
	tl.record(1, []byte("a"))
	if _, ok := tl.read(1, 1); ok {
		t.Fatal("the tail recorded before any reader asked")
	}
	tl.use()
	tl.record(5, []byte("e"))
	tl.record(6, []byte("f"))
	tl.record(9, []byte("i")) // 7 and 8: Raft's own entries
	got, ok := tl.read(5, 20)
	if !ok {
		t.Fatal("read(5, 20): not held")
	}
	want := "5:e 6:f 7: 8: 9:i"
	if s := fmt.Sprint(render(got)); s != want {
		t.Fatalf("read(5, 20) = %s, want %s", s, want)
	}
	if got, _ := tl.read(6, 7); render(got) != "6:f 7:" {
		t.Fatalf("read(6, 7) = %s", render(got))
	}
	if _, ok := tl.read(4, 9); ok {
		t.Fatal("read(4, ...) answered: 4 was never recorded")
	}
	if _, ok := tl.read(10, 12); ok {
		t.Fatal("read(10, ...) answered past the tail")
	}
	// The data is the tail's own copy.
	buf := []byte("j")
	tl.record(10, buf)
	buf[0] = 'X'
	if got, _ := tl.read(10, 10); render(got) != "10:j" {
		t.Fatalf("read(10, 10) = %s: the tail shares the caller's buffer", render(got))
	}
	// A replay from an earlier index (or a recovery) starts over.
	tl.record(3, []byte("c"))
	if _, ok := tl.read(5, 5); ok {
		t.Fatal("entries before a replay are still served")
	}
	if got, _ := tl.read(3, 3); render(got) != "3:c" {
		t.Fatalf("after the replay read(3, 3) = %s", render(got))
	}
	tl.clear()
	if _, ok := tl.read(3, 3); ok {
		t.Fatal("clear kept entries")
	}
	// The byte bound.
	big := make([]byte, tailMaxBytes/8)
	for i := uint64(100); i < 120; i++ {
		tl.record(i, big)
	}
	if tl.bytes > tailMaxBytes {
		t.Fatalf("tail holds %d bytes, bound %d", tl.bytes, tailMaxBytes)
	}
	if _, ok := tl.read(100, 100); ok {
		t.Fatal("the oldest entries were not dropped")
	}
	if got, ok := tl.read(119, 119); !ok || len(got) != 1 || got[0].Index != 119 {
		t.Fatal("the newest entry was dropped")
	}
}

func render(es []CommittedEntry) string {
	s := ""
	for i, e := range es {
		if i > 0 {
			s += " "
		}
		s += fmt.Sprintf("%d:%s", e.Index, e.Data)
	}
	return s
}
