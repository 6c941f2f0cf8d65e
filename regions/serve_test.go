package regions

import (
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// flakySource is a SourceLog of n entries whose reads fail now and then,
// as Dragonboat's log store does transiently while the file being read is
// appended to.
type flakySource struct {
	n     uint64
	reads atomic.Int64
	fails int64 // every fails-th read fails
}

func (s *flakySource) ReadCommitted(from uint64, max int) ([]Entry, error) {
	if r := s.reads.Add(1); r%s.fails == 0 {
		return nil, errors.New("error when reading WAL: invalid chunk")
	}
	var out []Entry
	for i := from; i <= s.n && len(out) < max; i++ {
		out = append(out, Entry{Index: i, Data: []byte{byte(i)}})
	}
	return out, nil
}
func (s *flakySource) AppliedIndex() uint64 { return s.n }
func (s *flakySource) ClockMs() int64       { return 1 }
func (s *flakySource) Snapshot(io.Writer) (uint64, int64, error) {
	return 0, 0, errors.New("no snapshot")
}

// memDest is a DestLog that records what it is shipped.
type memDest struct {
	mu  sync.Mutex
	got []uint64
}

func (d *memDest) IsLeader() bool { return true }
func (d *memDest) Position(uint64) (uint64, int64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.got) == 0 {
		return 0, 0
	}
	return d.got[len(d.got)-1], 1
}
func (d *memDest) Ship(_ uint64, ents []Entry) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, e := range ents {
		d.got = append(d.got, e.Index)
	}
	return nil
}
func (d *memDest) AppliedIndex() uint64                     { return 0 }
func (d *memDest) ShipSnapshot(uint64, SnapshotChunk) error { return errors.New("unexpected snapshot") }
func (d *memDest) SnapshotsInstalled() uint64               { return 0 }

// TestServeLinkRetriesTransientReadErrors: a source log read that fails
// now and then (not a compaction) is retried by the link server, so the
// secondary gets every entry, in order, over the one connection it
// opened — the link does not drop at each failure.
func TestServeLinkRetriesTransientReadErrors(t *testing.T) {
	src := &flakySource{n: 5000, fails: 3}
	prim, err := New(Config{Name: "p", Role: Primary, Secret: "s",
		Shards:       func() []uint64 { return []uint64{1} },
		Source:       func(uint64) SourceLog { return src },
		Dest:         func(uint64) DestLog { return nil },
		BatchEntries: 64})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	prim.Start(ln)
	defer prim.Close()

	dst := &memDest{}
	var dials atomic.Int64
	sec, err := New(Config{Name: "s", Role: Secondary, Secret: "s", Primary: []string{prim.Addr()},
		Shards: func() []uint64 { return []uint64{1} },
		Source: func(uint64) SourceLog { return nil },
		Dest:   func(uint64) DestLog { return dst },
		Dial: func(addr string) (net.Conn, error) {
			dials.Add(1)
			return net.DialTimeout("tcp", addr, 3*time.Second)
		}})
	if err != nil {
		t.Fatal(err)
	}
	sln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sec.Start(sln)
	defer sec.Close()

	deadline := time.Now().Add(20 * time.Second)
	for {
		if pos, _ := dst.Position(1); pos == src.n {
			break
		}
		if time.Now().After(deadline) {
			pos, _ := dst.Position(1)
			t.Fatalf("secondary at %d of %d after 20 s", pos, src.n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	dst.mu.Lock()
	defer dst.mu.Unlock()
	for i, idx := range dst.got {
		if idx != uint64(i+1) {
			t.Fatalf("entry %d shipped as index %d", i+1, idx)
		}
	}
	if src.reads.Load() < 3 {
		t.Fatalf("only %d reads: no failure was exercised", src.reads.Load())
	}
	if n := dials.Load(); n != 1 {
		t.Fatalf("the secondary dialed %d times: the link dropped at a read failure", n)
	}
}
