package regions

import (
	"errors"
	"testing"
)

func ents(from, n uint64) []Entry {
	var out []Entry
	for i := range n {
		out = append(out, Entry{Index: from + i, Data: []byte{byte(from + i)}})
	}
	return out
}

// coalesce merges the entry frames already received, takes heartbeats on
// the way, and hands back the first frame it cannot merge.
func TestCoalesce(t *testing.T) {
	var ps pullState
	frames := make(chan frame, 16)
	frames <- frame{b: batch{applied: 20, ents: ents(4, 3)}}
	frames <- frame{b: batch{applied: 21}} // a heartbeat
	frames <- frame{b: batch{applied: 22, ents: ents(7, 2)}}
	frames <- frame{b: batch{snap: &SnapshotChunk{Index: 30}}}
	frames <- frame{b: batch{ents: ents(31, 1)}}
	got, held, err := coalesce(ents(1, 3), frames, &ps)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 8 || got[0].Index != 1 || got[7].Index != 8 {
		t.Fatalf("coalesced %v", got)
	}
	for i, e := range got {
		if e.Index != uint64(i+1) || e.Data[0] != byte(i+1) {
			t.Fatalf("entry %d: %+v", i, e)
		}
	}
	if ps.srcApplied.Load() != 22 {
		t.Fatalf("source applied %d, want 22", ps.srcApplied.Load())
	}
	if held == nil || held.b.snap == nil || held.b.snap.Index != 30 {
		t.Fatalf("held %+v, want the snapshot chunk", held)
	}
	if len(frames) != 1 {
		t.Fatalf("%d frames left, want 1 (after the snapshot chunk)", len(frames))
	}

	// Nothing more received: what it was given.
	<-frames
	got, held, err = coalesce(ents(1, 2), frames, &ps)
	if err != nil || held != nil || len(got) != 2 {
		t.Fatalf("alone: %v %v %v", got, held, err)
	}

	// An error frame is handed back, not swallowed.
	boom := errors.New("boom")
	frames <- frame{err: boom}
	if _, held, _ = coalesce(ents(1, 1), frames, &ps); held == nil || held.err != boom {
		t.Fatalf("held %+v, want the error", held)
	}

	// A gap is an error.
	frames <- frame{b: batch{ents: ents(5, 1)}}
	if _, _, err = coalesce(ents(1, 3), frames, &ps); err == nil {
		t.Fatal("a gap was merged")
	}

	// Bounded by entries: the rest stays for the next proposal.
	for i := range uint64(3) {
		frames <- frame{b: batch{ents: ents(2+i*coalesceEntries, coalesceEntries)}}
	}
	got, _, err = coalesce(ents(1, 1), frames, &ps)
	if err != nil || len(got) != 1+coalesceEntries || len(frames) != 2 {
		t.Fatalf("bounded: %d entries, %d frames left, %v", len(got), len(frames), err)
	}
}
