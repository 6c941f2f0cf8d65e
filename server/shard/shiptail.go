package shard

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// shipTail keeps the data of the entries a replica applied last, while a
// region link reads this shard's log (ReadCommitted was called within
// tailIdle), so the link server reads a secondary's next entries from
// memory instead of the log store — which costs a file open, a read and
// an unmarshal per call on the primary's write path, and can fail
// transiently while the file is being appended to.
//
// It holds exactly what ReadCommitted would read from the log: apply sees
// every entry that carries Cairn's data, in index order; an index apply
// skips between two it saw is one of Raft's own entries (a new leader's
// empty entry, a membership change), which ReadCommitted returns with nil
// data too. A snapshot recovery (the indexes apply skips then did carry
// data) clears it. Node-local and read-only for apply: it never changes
// what a replica applies.
type shipTail struct {
	mu    sync.Mutex
	ents  []CommittedEntry // contiguous indexes from ents[0].Index
	bytes int
	// lastUse is when ReadCommitted last asked (Unix ns); 0: not
	// recording. n counts records, to look at the clock now and then.
	lastUse atomic.Int64
	n       int
}

const (
	tailMaxBytes   = 8 << 20
	tailMaxEntries = 1 << 16
	tailIdle       = 10 * time.Second
)

// use notes a reader: apply records from now on.
func (t *shipTail) use() { t.lastUse.Store(time.Now().UnixNano()) }

// record adds an applied entry; called by apply, in index order, before
// the applied index is published.
func (t *shipTail) record(index uint64, data []byte) {
	if t.lastUse.Load() == 0 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.n++; t.n%4096 == 0 && time.Since(time.Unix(0, t.lastUse.Load())) > tailIdle {
		t.lastUse.Store(0) // no reader for a while: stop and free
		t.clearLocked()
		return
	}
	if n := len(t.ents); n > 0 {
		last := t.ents[n-1].Index
		if index <= last || index-last > tailMaxEntries {
			t.clearLocked()
		} else {
			for i := last + 1; i < index; i++ {
				t.ents = append(t.ents, CommittedEntry{Index: i})
			}
		}
	}
	t.ents = append(t.ents, CommittedEntry{Index: index, Data: slices.Clone(data)})
	t.bytes += len(data)
	// Drop from the front past the bounds, in chunks so the slice is
	// shifted rarely.
	if t.bytes > tailMaxBytes || len(t.ents) > tailMaxEntries {
		k := len(t.ents) / 4
		for _, e := range t.ents[:k] {
			t.bytes -= len(e.Data)
		}
		t.ents = append(t.ents[:0], t.ents[k:]...)
		clear(t.ents[len(t.ents):cap(t.ents)])
	}
}

// clear forgets every entry (a snapshot recovery).
func (t *shipTail) clear() {
	t.mu.Lock()
	t.clearLocked()
	t.mu.Unlock()
}

func (t *shipTail) clearLocked() {
	t.ents, t.bytes = nil, 0
}

// read returns the held entries from index from up to hi (fewer if the
// tail ends before hi, or past readBudget bytes as a log read would stop;
// at least one), or false if it does not hold from.
func (t *shipTail) read(from, hi uint64) ([]CommittedEntry, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.ents) == 0 || from < t.ents[0].Index || from > t.ents[len(t.ents)-1].Index || hi < from {
		return nil, false
	}
	first := t.ents[0].Index
	ents := t.ents[from-first : min(hi, t.ents[len(t.ents)-1].Index)-first+1]
	n, size := 1, len(ents[0].Data)
	for n < len(ents) && size+len(ents[n].Data) <= readBudget {
		size += len(ents[n].Data)
		n++
	}
	return slices.Clone(ents[:n]), true
}
