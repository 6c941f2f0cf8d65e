package keyspace

import (
	"sync"
	"sync/atomic"
)

// Lazy freeing (UNLINK, FLUSHALL/FLUSHDB ASYNC), as Redis counts it.
//
// The apply path removes keys from the keyspace at once and
// deterministically; what Redis then does in a background thread is
// free the value's allocations. In Go there is no free: a value is
// reclaimed by the garbage collector once unreachable, concurrently with
// the program, and removing a key is already O(log n) whatever its size —
// DEL does not block on a big value either. What Cairn does for a value
// whose Redis free effort exceeds LazyfreeThreshold (Redis's
// LAZYFREE_THRESHOLD) is what Redis would: hand it to a background
// goroutine, which drops the last keyspace reference to it, and count it
// in lazyfree_pending_objects until then and in lazyfreed_objects after.
// The goroutine must not clear the value in place: a snapshot taken
// before the removal (copy-on-write) may still be reading it.
//
// The counters are per process, as Redis's are per server.

// LazyfreeThreshold is the free effort above which UNLINK frees a value
// in the background.
const LazyfreeThreshold = 64

var lazy struct {
	once    sync.Once
	ch      chan lazyJob
	pending atomic.Int64
	freed   atomic.Int64
}

type lazyJob struct {
	n   int64
	obj any
}

// LazyfreeStats returns lazyfree_pending_objects and lazyfreed_objects.
func LazyfreeStats() (pending, freed int64) {
	return lazy.pending.Load(), lazy.freed.Load()
}

// freeAsync hands obj (n objects as Redis counts them) to the background
// freer. It never blocks the apply path.
func freeAsync(n int64, obj any) {
	lazy.once.Do(func() {
		lazy.ch = make(chan lazyJob, 1024)
		go func() {
			for j := range lazy.ch {
				j.obj = nil // the last reference: the GC reclaims it
				lazy.pending.Add(-j.n)
				lazy.freed.Add(j.n)
			}
		}()
	})
	lazy.pending.Add(n)
	select {
	case lazy.ch <- lazyJob{n, obj}:
	default:
		// The freer is behind: dropping the reference here is just as
		// good (it is all the freer does).
		lazy.pending.Add(-n)
		lazy.freed.Add(n)
	}
}

// FreeEffort is Redis's estimate of the work to free its value: the
// number of allocations of a collection in a non-compact encoding
// (quicklist nodes, hash table or skiplist entries, stream nodes and
// consumer groups), 1 for everything else.
func FreeEffort(it *Item) int {
	switch o := it.Obj.(type) {
	case *List:
		if o.quick {
			return len(o.c) - o.h
		}
	case *Set:
		if o.Encoding() == "hashtable" {
			return o.Len()
		}
	case *Hash:
		if o.Encoding() == "hashtable" {
			return o.Len()
		}
	case *ZSet:
		if o.Encoding() == "skiplist" {
			return o.Len()
		}
	case *Stream:
		n := o.nodes.Len()
		if len(o.groups) > 0 {
			n += len(o.groups) * (1 + o.groups[0].pel.Len())
		}
		return n
	}
	return 1
}

// Unlink removes key as Delete does and, if its value is big (free
// effort above LazyfreeThreshold), hands it to the background freer.
func (db *DB) Unlink(key []byte) bool {
	it := db.find(key)
	if it == nil {
		return false
	}
	db.remove(it)
	if FreeEffort(it) > LazyfreeThreshold {
		freeAsync(1, it)
	}
	return true
}

// FlushAsync is Flush with the old keyspace handed to the background
// freer, every key counted as one lazily freed object (FLUSHALL ASYNC).
func (db *DB) FlushAsync() {
	tree, expires, n := db.tree, db.expires, db.tree.Len()
	db.Flush()
	freeAsync(int64(n), [2]any{tree, expires})
}
