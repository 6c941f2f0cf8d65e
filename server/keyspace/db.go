// Package keyspace is Cairn's in-memory data: the key index, the value
// types, the expiry index and the snapshot codec. It is deterministic and
// does no I/O of its own: the same sequence of mutations, with the same
// timestamps, yields the same state on every replica.
//
// Keys live in a copy-on-write B-tree ordered by (hash slot, key hash, key).
// That order gives SCAN a stable cursor (an element present for the whole
// iteration is returned at least once whatever writes happen meanwhile), lets
// a cluster walk one slot, and makes a point-in-time snapshot an O(1) copy:
// Snapshot bumps a generation number, and any value of an older generation is
// cloned before it is mutated, so a snapshot can be serialized by another
// goroutine while writes go on.
//
// The DB is not safe for concurrent mutation; its owner (the shard state
// machine) serializes writers and lets readers in under a read lock. Read-only
// methods never change the DB.
package keyspace

import (
	"errors"
	"sync/atomic"
	"unsafe"

	"github.com/cairndb/cairn/server/slot"
	"github.com/cespare/xxhash/v2"
	"github.com/tidwall/btree"
)

// Errors returned by the keyspace. command.ErrorReply maps each to Redis's text.
var (
	// ErrWrongType is returned when a key holds a value of another type.
	ErrWrongType = errors.New("wrong type")
	// ErrNoSuchKey is returned when an operation needs an existing key.
	ErrNoSuchKey = errors.New("no such key")
)

// Type is the Redis type of a value.
type Type uint8

// Value types, in the order Redis numbers them in RDB files where possible.
const (
	TypeNone Type = iota
	TypeString
	TypeList
	TypeSet
	TypeZSet
	TypeHash
	TypeStream
	// TypeVectorSet is a Redis 8 vector set (vset.go).
	TypeVectorSet
)

// String returns the name TYPE prints.
func (t Type) String() string {
	switch t {
	case TypeString:
		return "string"
	case TypeList:
		return "list"
	case TypeSet:
		return "set"
	case TypeZSet:
		return "zset"
	case TypeHash:
		return "hash"
	case TypeStream:
		return "stream"
	case TypeVectorSet:
		return "vectorset"
	}
	return "none"
}

// Object is a container value (hash, list, set, ...). Objects are mutated in
// place only through DB.Mutable, which clones one that a snapshot still shares.
type Object interface {
	Type() Type
	// Encoding is what OBJECT ENCODING prints.
	Encoding() string
	// Clone returns a copy that can be mutated without changing the original.
	Clone() Object
	// Len is the number of elements.
	Len() int
}

// Item is one key and its value. Items reachable from a snapshot are never
// mutated; get a mutable one from DB.Mutable.
type Item struct {
	Key string
	// ExpireAt is the absolute expiry time in Unix milliseconds; 0 means
	// the key does not expire.
	ExpireAt int64
	// Str is the value of a string key. Bytes that a reader may have seen
	// are never overwritten in place: readers build replies that alias Str
	// and write them to the socket after releasing the read lock. Writers
	// may append past len(Str) or replace Str with a new slice.
	Str []byte
	// Obj is the value of any other type.
	Obj Object
	// Raw marks a string that was modified in place (APPEND, SETRANGE);
	// Redis then reports the "raw" encoding whatever its length.
	Raw bool

	acct  uint8 // memory accounting state (memory.go)
	gen   uint32
	atime atomic.Uint32 // last access, Unix seconds (OBJECT IDLETIME)
	lfu   atomic.Uint32 // LFU access counter (lfu.go)
}

// Type returns the value's type.
func (it *Item) Type() Type {
	if it.Obj != nil {
		return it.Obj.Type()
	}
	return TypeString
}

// Slot returns the item's hash slot.
func (it *Item) Slot() uint16 { return uint16(it.order() >> 50) }

// order is the item's position in the key order (see Ord). It is computed,
// not stored: the B-tree keeps it beside each item pointer, and an Item
// stays within a smaller allocation size class without it.
func (it *Item) order() uint64 { return Ord(it.Key) }

// Touch records an access at now (Unix ms) for OBJECT IDLETIME. The clock
// has one-second resolution, so most calls find nothing to store and leave
// the item's cache line clean.
func (it *Item) Touch(now int64) {
	if s := uint32(now / 1000); it.atime.Load() != s {
		it.atime.Store(s)
	}
}

// IdleSeconds returns the seconds since the last access.
func (it *Item) IdleSeconds(now int64) int64 {
	d := now/1000 - int64(it.atime.Load())
	if d < 0 {
		return 0
	}
	return d
}

// Expired tells whether the item has expired at now (Unix ms).
func (it *Item) Expired(now int64) bool { return it.ExpireAt != 0 && it.ExpireAt <= now }

const hashBits = 50

// Ord returns the position of key in the key order. It is never 0, so a SCAN
// cursor of 0 always means "start".
func Ord(key string) uint64 {
	h := xxhash.Sum64String(key) >> (64 - hashBits)
	if h == 0 {
		h = 1
	}
	return uint64(slot.OfString(key))<<hashBits | h
}

type expiry struct {
	at  int64
	ord uint64
	key string
}

func lessExpiry(a, b expiry) bool {
	if a.at != b.at {
		return a.at < b.at
	}
	if a.ord != b.ord {
		return a.ord < b.ord
	}
	return a.key < b.key
}

// Stats are counters the DB keeps for INFO.
type Stats struct {
	Hits, Misses Counter      // keyspace_hits, keyspace_misses
	ExpiredKeys  atomic.Int64 // keys deleted because they expired
	EvictedKeys  atomic.Int64 // keys deleted by maxmemory eviction
}

// Hooks are told about changes while entries are applied. The shard uses
// them for WATCH, blocked clients and keyspace notifications. Nil hooks
// are skipped.
type Hooks struct {
	// Touched is called for every key created, changed (or handed out
	// for change by Mutable) or deleted. Flush calls it with "" and all
	// set: every key changed.
	Touched func(key string, all bool)
	// Expired is called for a key deleted because it expired.
	Expired func(key string)
	// Created is called for a key that did not exist before.
	Created func(key string)
	// Miss is called by Get (the read lookup) for a missing key. Readers
	// call Get concurrently: Miss must be safe for concurrent use.
	Miss func(key []byte)
	// Flushed is called by every Flush, even of an empty keyspace
	// (client-side caching invalidates everything on FLUSHALL/FLUSHDB).
	Flushed func()
}

// DB is one keyspace.
type DB struct {
	tree    keyTree
	expires *btree.BTreeG[expiry]
	gen     uint32
	clock   int64 // the applying entry's time, Unix ms (access time of new items)
	Stats   Stats
	Hooks   Hooks
	// Cfg is the replicated configuration (CONFIG SET of parameters that
	// change what apply does). Only the applier changes it.
	Cfg Config

	// snaps counts the snapshots not yet released (snapshot.go).
	snaps atomic.Int64

	used int64   // accounted bytes of the state (memory.go)
	pend []*Item // items changed since the last SettleMemory
}

func (db *DB) touched(key string) {
	if db.Hooks.Touched != nil {
		db.Hooks.Touched(key, false)
	}
}

// New returns an empty DB.
func New() *DB {
	return &DB{
		tree:    newKeyTree(),
		expires: btree.NewBTreeGOptions(lessExpiry, btree.Options{NoLocks: true}),
		Cfg:     DefaultConfig(),
	}
}

// find returns the item stored under key, or nil.
func (db *DB) find(key []byte) *Item { return db.tree.lookup(key) }

// Prefetch brings the index entries and items of up to PrefetchMax keys
// into the cache, so that commands about to look them up one by one find
// them there: the apply of a batch of writes calls it ahead of each group
// of commands, and the memory waits of different keys overlap. It changes
// nothing and returns nothing of use (the sum keeps the reads).
func (db *DB) Prefetch(keys [][]byte) uintptr { return db.tree.m.prefetch(keys) }

// PrefetchMax is the most keys one Prefetch reads.
const PrefetchMax = prefetchMax

// SetClock tells the DB the time of the entry being applied; items it
// creates record it as their last access.
func (db *DB) SetClock(now int64) { db.clock = now }

// Peek returns the item stored under key, expired or not, or nil.
func (db *DB) Peek(key []byte) *Item {
	it := db.find(key)
	return it
}

// Get returns the live item under key at now (Unix ms), or nil if there is
// none or it has expired. It never changes the DB, so readers may call it
// under a read lock; it counts keyspace hits and misses.
func (db *DB) Get(key []byte, now int64) *Item {
	it := db.find(key)
	if it == nil || it.Expired(now) {
		db.Stats.Misses.Add(1)
		if db.Hooks.Miss != nil {
			db.Hooks.Miss(key)
		}
		return nil
	}
	db.Stats.Hits.Add(1)
	db.accessAt(it, now)
	return it
}

// Exists is Get without touching statistics or access time.
func (db *DB) Exists(key []byte, now int64) *Item {
	it := db.find(key)
	if it == nil || it.Expired(now) {
		return nil
	}
	return it
}

// Lookup is the writer's Get: it deletes the key if it has expired at now,
// as Redis's lazy expiry does, and returns the live item or nil. It must
// only be called while applying an entry (now is the entry's time), so
// every replica deletes the same keys.
func (db *DB) Lookup(key []byte, now int64) *Item {
	it := db.find(key)
	if it == nil {
		return nil
	}
	if it.Expired(now) {
		db.remove(it)
		db.Stats.ExpiredKeys.Add(1)
		if db.Hooks.Expired != nil {
			db.Hooks.Expired(it.Key)
		}
		return nil
	}
	return it
}

// Put stores a new item under key with the given value, replacing any
// previous value and expiry. expireAt 0 means no expiry. str is copied (it
// may alias a log entry); obj is taken as is. It returns the item.
func (db *DB) Put(key []byte, str []byte, obj Object, expireAt int64) *Item {
	if obj == nil {
		str = append(make([]byte, 0, len(str)), str...)
	}
	return db.put(key, str, obj, expireAt, false)
}

// PutOwned is Put for a string value the caller allocated and gives away
// (no copy); raw marks it as modified in place (OBJECT ENCODING raw).
func (db *DB) PutOwned(key []byte, str []byte, expireAt int64, raw bool) *Item {
	return db.put(key, str, nil, expireAt, raw)
}

func (db *DB) put(key []byte, str []byte, obj Object, expireAt int64, raw bool) *Item {
	prev := db.find(key)
	if db.Hooks.Touched != nil {
		if prev != nil {
			db.Hooks.Touched(prev.Key, false)
		} else {
			db.Hooks.Touched(string(key), false)
		}
	}
	if prev == nil && db.Hooks.Created != nil {
		db.Hooks.Created(string(key))
	}
	if prev != nil && db.owned(prev) {
		// Overwrite in place: no snapshot shares prev, and the B-tree and
		// index already point at it. Readers that took prev.Str keep the
		// old bytes; only the field changes.
		if prev.ExpireAt != 0 && prev.ExpireAt != expireAt {
			db.expires.Delete(expiry{prev.ExpireAt, prev.order(), prev.Key})
		}
		if expireAt != 0 && prev.ExpireAt != expireAt {
			db.expires.Set(expiry{expireAt, prev.order(), prev.Key})
		}
		db.markMem(prev)
		prev.Str, prev.Obj, prev.Raw, prev.ExpireAt = str, obj, raw, expireAt
		db.access(prev)
		return prev
	}
	it := newItem(unsafe.String(unsafe.SliceData(key), len(key)))
	k := it.Key
	it.Str, it.Obj, it.Raw, it.gen = str, obj, raw, db.gen
	db.initAccess(it)
	db.markMem(it)
	if prev, ok := db.tree.Set(it); ok {
		db.unaccount(prev)
		if prev.ExpireAt != 0 {
			db.expires.Delete(expiry{prev.ExpireAt, prev.order(), prev.Key})
		}
	}
	if expireAt != 0 {
		it.ExpireAt = expireAt
		db.expires.Set(expiry{expireAt, it.order(), k})
	}
	return it
}

// PutItem stores it (whose ord and gen are recomputed), replacing any
// previous value under its key.
func (db *DB) PutItem(it *Item) {
	db.touched(it.Key)
	if db.Hooks.Created != nil && db.find([]byte(it.Key)) == nil {
		db.Hooks.Created(it.Key)
	}
	it.gen = db.gen
	if it.atime.Load() == 0 {
		db.initAccess(it)
	}
	prev, ok := db.tree.Set(it)
	if ok && prev != it {
		db.unaccount(prev)
	}
	db.markMem(it)
	if ok && prev.ExpireAt != 0 {
		db.expires.Delete(expiry{prev.ExpireAt, prev.order(), prev.Key})
	}
	if it.ExpireAt != 0 {
		db.expires.Set(expiry{it.ExpireAt, it.order(), it.Key})
	}
}

// owned tells whether it may be changed in place: no live snapshot shares
// it. An item older than the newest snapshot is shared only while some
// snapshot is unreleased; once none is, it is claimed for the current
// generation (the snapshot's reader finished before Release, whose atomic
// decrement orders it before this change).
func (db *DB) owned(it *Item) bool {
	if it.gen == db.gen {
		return true
	}
	if db.snaps.Load() == 0 {
		it.gen = db.gen
		return true
	}
	return false
}

// Mutable returns a version of it that may be changed in place. If a
// snapshot still shares it, it is cloned (with its value) and the clone
// replaces it in the DB.
func (db *DB) Mutable(it *Item) *Item {
	db.touched(it.Key)
	if db.owned(it) {
		db.markMem(it)
		return it
	}
	c := newItem(it.Key) // not sharing it.Key, which would keep it alive
	c.ExpireAt, c.Raw, c.gen = it.ExpireAt, it.Raw, db.gen
	db.unaccount(it)
	db.markMem(c)
	if it.Obj != nil {
		c.Obj = it.Obj.Clone()
	} else {
		c.Str = append([]byte(nil), it.Str...)
	}
	c.atime.Store(it.atime.Load())
	c.lfu.Store(it.lfu.Load())
	db.tree.Set(c)
	return c
}

// SetExpire changes it's expiry; at 0 removes it. it must be live in db.
func (db *DB) SetExpire(it *Item, at int64) *Item {
	if it.ExpireAt == at {
		return it
	}
	db.touched(it.Key)
	if it.ExpireAt != 0 {
		db.expires.Delete(expiry{it.ExpireAt, it.order(), it.Key})
	}
	if !db.owned(it) {
		it = db.Mutable(it)
	} else {
		db.markMem(it)
	}
	it.ExpireAt = at
	if at != 0 {
		db.expires.Set(expiry{at, it.order(), it.Key})
	}
	return it
}

// Delete removes key and tells whether it existed (expired or not).
func (db *DB) Delete(key []byte) bool {
	it := db.find(key)
	if it == nil {
		return false
	}
	db.remove(it)
	return true
}

func (db *DB) remove(it *Item) {
	db.touched(it.Key)
	db.tree.Delete(it)
	db.unaccount(it)
	if it.ExpireAt != 0 {
		db.expires.Delete(expiry{it.ExpireAt, it.order(), it.Key})
	}
}

// DeleteIfExpired removes key if it has expired at now and tells whether it
// did. Replicas apply the leader's active-expiry entries with it.
func (db *DB) DeleteIfExpired(key []byte, now int64) bool {
	it := db.find(key)
	if it == nil || !it.Expired(now) {
		return false
	}
	db.remove(it)
	db.Stats.ExpiredKeys.Add(1)
	if db.Hooks.Expired != nil {
		db.Hooks.Expired(it.Key)
	}
	return true
}

// Len returns the number of keys, including expired keys not yet removed.
func (db *DB) Len() int { return db.tree.Len() }

// Expiring returns the number of keys with an expiry.
func (db *DB) Expiring() int { return db.expires.Len() }

// Flush removes every key.
func (db *DB) Flush() {
	if db.Hooks.Touched != nil && db.tree.Len() > 0 {
		db.Hooks.Touched("", true)
	}
	if db.Hooks.Flushed != nil {
		db.Hooks.Flushed()
	}
	db.tree = newKeyTree()
	db.expires = btree.NewBTreeGOptions(lessExpiry, btree.Options{NoLocks: true})
	for i, it := range db.pend {
		it.acct = 0
		db.pend[i] = nil
	}
	db.pend = db.pend[:0]
	db.used = 0
}

// ExpiredKeys returns up to max keys whose expiry is at or before now, in
// expiry order. The leader proposes their deletion.
func (db *DB) ExpiredKeys(now int64, max int) []string {
	var keys []string
	db.expires.Scan(func(e expiry) bool {
		if e.at > now || len(keys) >= max {
			return false
		}
		keys = append(keys, e.key)
		return true
	})
	return keys
}

// Scan calls fn for items in key order starting at cursor (0 = start) and
// returns the cursor of the first item it did not visit, or 0 when the walk
// reached the end. fn returns false to stop; the item it stopped on is
// visited (counted as returned).
func (db *DB) Scan(cursor uint64, fn func(*Item) bool) uint64 {
	var next uint64
	stopped := false
	db.tree.Ascend(cursor, func(ord uint64, it *Item) bool {
		if stopped {
			next = ord
			return false
		}
		if !fn(it) {
			stopped = true
		}
		return true
	})
	return next
}

// ScanSlot calls fn for every item in hash slot s, in key order.
func (db *DB) ScanSlot(s uint16, fn func(*Item) bool) {
	db.tree.Ascend(uint64(s)<<hashBits, func(_ uint64, it *Item) bool {
		if it.Slot() != s {
			return false
		}
		return fn(it)
	})
}

// CountSlot returns the number of keys in hash slot s.
func (db *DB) CountSlot(s uint16) int {
	n := 0
	db.ScanSlot(s, func(*Item) bool { n++; return true })
	return n
}

// Random returns the item at a position chosen by pick (given the number of
// keys, it returns an index), or nil when the DB is empty.
func (db *DB) Random(pick func(n int) int) *Item {
	n := db.tree.Len()
	if n == 0 {
		return nil
	}
	it, _ := db.tree.GetAt(pick(n))
	return it
}
