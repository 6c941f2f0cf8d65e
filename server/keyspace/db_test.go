package keyspace

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"github.com/cairndb/cairn/server/slot"
)

func TestPutCopiesAndReplaces(t *testing.T) {
	db := New()
	v := []byte("hello")
	it := db.Put([]byte("k"), v, nil, 0)
	copy(v, "XXXXX")
	if got := db.Get([]byte("k"), 0); got != it || string(got.Str) != "hello" {
		t.Fatalf("Put did not copy the value: %q", got.Str)
	}
	key := []byte("k2")
	db.Put(key, []byte("a"), nil, 500)
	key[1] = '3'
	if db.Peek([]byte("k2")) == nil || db.Peek([]byte("k3")) != nil {
		t.Fatal("Put did not copy the key")
	}
	if db.Len() != 2 || db.Expiring() != 1 {
		t.Fatalf("Len %d Expiring %d", db.Len(), db.Expiring())
	}
	// Put replaces the value and the expiry.
	it = db.Put([]byte("k2"), []byte("b"), nil, 0)
	if it.ExpireAt != 0 || db.Expiring() != 0 || len(db.ExpiredKeys(1000, 10)) != 0 {
		t.Fatalf("Put kept the old expiry: %d, index %d", it.ExpireAt, db.Expiring())
	}
	it = db.Put([]byte("k2"), []byte("c"), nil, 700)
	db.Put([]byte("k2"), []byte("d"), nil, 900)
	if got := db.ExpiredKeys(800, 10); len(got) != 0 {
		t.Fatalf("stale expiry entry: %q", got)
	}
	if got := db.ExpiredKeys(900, 10); !slices.Equal(got, []string{"k2"}) {
		t.Fatalf("ExpiredKeys = %q", got)
	}
	// A string put with an Object-less nil value is an empty string.
	it = db.Put([]byte("empty"), nil, nil, 0)
	if it.Str == nil || len(it.Str) != 0 || it.Type() != TypeString {
		t.Fatalf("empty value: %#v", it.Str)
	}
	// Replacing a string with a hash changes the type.
	h := NewHash()
	h.Set([]byte("f"), []byte("v"))
	it = db.Put([]byte("k"), nil, h, 0)
	if it.Type() != TypeHash || db.Get([]byte("k"), 0).Obj != h {
		t.Fatal("Put of a hash")
	}
	checkIndex(t, db)
}

func TestGetNeverReturnsExpired(t *testing.T) {
	db := New()
	db.Put([]byte("live"), []byte("1"), nil, 0)
	db.Put([]byte("ttl"), []byte("2"), nil, 1000)
	for _, tc := range []struct {
		now  int64
		live bool
	}{{0, true}, {999, true}, {1000, false}, {5000, false}} {
		got := db.Get([]byte("ttl"), tc.now)
		if (got != nil) != tc.live {
			t.Errorf("Get at %d = %v, want live=%v", tc.now, got, tc.live)
		}
		if (db.Exists([]byte("ttl"), tc.now) != nil) != tc.live {
			t.Errorf("Exists at %d, want live=%v", tc.now, tc.live)
		}
	}
	// Get never deletes, and Peek still sees the expired item.
	if db.Len() != 2 || db.Peek([]byte("ttl")) == nil || db.Stats.ExpiredKeys.Load() != 0 {
		t.Fatalf("Get changed the DB: Len %d", db.Len())
	}
	if db.Get([]byte("live"), 1<<60) == nil {
		t.Fatal("a key without expiry expired")
	}
	if db.Get([]byte("missing"), 0) != nil {
		t.Fatal("missing key")
	}
	// Hits and misses: Get counts, Exists and Peek do not.
	db2 := New()
	db2.Put([]byte("a"), []byte("1"), nil, 10)
	db2.Get([]byte("a"), 5)
	db2.Get([]byte("a"), 10)
	db2.Get([]byte("b"), 0)
	db2.Exists([]byte("a"), 5)
	db2.Exists([]byte("b"), 5)
	db2.Peek([]byte("b"))
	if h, m := db2.Stats.Hits.Load(), db2.Stats.Misses.Load(); h != 1 || m != 2 {
		t.Fatalf("hits %d misses %d, want 1 2", h, m)
	}
}

func TestGetTouches(t *testing.T) {
	db := New()
	db.SetClock(10_000)
	it := db.Put([]byte("k"), []byte("v"), nil, 0)
	if got := it.IdleSeconds(15_500); got != 5 {
		t.Fatalf("idle after Put at clock 10s, now 15.5s: %d", got)
	}
	db.Get([]byte("k"), 14_000)
	if got := it.IdleSeconds(15_500); got != 1 {
		t.Fatalf("idle after Get at 14s: %d", got)
	}
	db.Exists([]byte("k"), 15_000)
	if got := it.IdleSeconds(15_500); got != 1 {
		t.Fatalf("Exists touched the item: idle %d", got)
	}
	if got := it.IdleSeconds(0); got != 0 {
		t.Fatalf("idle with a clock behind the access time: %d", got)
	}
}

func TestLookupDeletesExpired(t *testing.T) {
	db := New()
	db.Put([]byte("a"), []byte("1"), nil, 100)
	db.Put([]byte("b"), []byte("2"), nil, 200)
	db.Put([]byte("c"), []byte("3"), nil, 0)
	if it := db.Lookup([]byte("a"), 99); it == nil || string(it.Str) != "1" {
		t.Fatal("Lookup of a live key")
	}
	if db.Stats.ExpiredKeys.Load() != 0 || db.Len() != 3 {
		t.Fatal("Lookup of a live key changed the DB")
	}
	if db.Lookup([]byte("a"), 100) != nil {
		t.Fatal("Lookup returned an expired key")
	}
	if db.Len() != 2 || db.Peek([]byte("a")) != nil || db.Expiring() != 1 || db.Stats.ExpiredKeys.Load() != 1 {
		t.Fatalf("Lookup did not delete: Len %d Expiring %d expired %d", db.Len(), db.Expiring(), db.Stats.ExpiredKeys.Load())
	}
	if db.Lookup([]byte("a"), 100) != nil || db.Stats.ExpiredKeys.Load() != 1 {
		t.Fatal("second Lookup of a deleted key")
	}
	if db.Lookup([]byte("c"), 1<<60) == nil || db.Lookup([]byte("zz"), 0) != nil {
		t.Fatal("Lookup of a persistent / missing key")
	}
	if got := db.ExpiredKeys(1<<60, 10); !slices.Equal(got, []string{"b"}) {
		t.Fatalf("expiry index after lazy delete: %q", got)
	}
	// DeleteIfExpired: the replica's side of active expiry.
	if db.DeleteIfExpired([]byte("b"), 199) || db.DeleteIfExpired([]byte("c"), 1<<60) || db.DeleteIfExpired([]byte("zz"), 0) {
		t.Fatal("DeleteIfExpired deleted a live or missing key")
	}
	if !db.DeleteIfExpired([]byte("b"), 200) || db.Len() != 1 || db.Expiring() != 0 || db.Stats.ExpiredKeys.Load() != 2 {
		t.Fatal("DeleteIfExpired of an expired key")
	}
	checkIndex(t, db)
}

func TestDelete(t *testing.T) {
	db := New()
	db.Put([]byte("a"), []byte("1"), nil, 50)
	db.Put([]byte("b"), []byte("1"), nil, 0)
	if !db.Delete([]byte("a")) { // expired or not, it existed
		t.Fatal("Delete of an existing key")
	}
	if db.Delete([]byte("a")) || db.Delete([]byte("nope")) {
		t.Fatal("Delete of a missing key")
	}
	if db.Len() != 1 || db.Expiring() != 0 || len(db.ExpiredKeys(1000, 10)) != 0 {
		t.Fatal("Delete left the expiry entry")
	}
	if db.Stats.ExpiredKeys.Load() != 0 {
		t.Fatal("Delete counted an expiry")
	}
	// An expired-but-present key is still deleted by Delete.
	db.Put([]byte("c"), []byte("1"), nil, 1)
	if !db.Delete([]byte("c")) {
		t.Fatal("Delete of an expired key")
	}
	checkIndex(t, db)
}

func TestExpiredKeysOrderAndMax(t *testing.T) {
	db := New()
	r := rand.New(rand.NewPCG(1, 2))
	type ke struct {
		key string
		at  int64
	}
	var all []ke
	for i := range 500 {
		k := "key:" + strconv.Itoa(i)
		at := int64(0)
		if i%5 != 0 {
			at = 1000 + int64(r.IntN(50)) // many ties
		}
		db.Put([]byte(k), []byte("v"), nil, at)
		if at != 0 {
			all = append(all, ke{k, at})
		}
	}
	// Expected order: expiry time, then key order (ord, key).
	slices.SortFunc(all, func(a, b ke) int {
		if a.at != b.at {
			return int(a.at - b.at)
		}
		ia, ib := &Item{Key: a.key}, &Item{Key: b.key}
		if lessRef(ref{ia.order(), ia}, ref{ib.order(), ib}) {
			return -1
		}
		return 1
	})
	for _, now := range []int64{999, 1000, 1010, 1049, 5000} {
		var want []string
		for _, e := range all {
			if e.at <= now {
				want = append(want, e.key)
			}
		}
		for _, max := range []int{0, 1, 7, 100, 1000} {
			got := db.ExpiredKeys(now, max)
			w := want[:min(max, len(want))]
			if !slices.Equal(got, w) {
				t.Fatalf("ExpiredKeys(%d, %d) = %d keys %q..., want %d keys", now, max, len(got), got[:min(3, len(got))], len(w))
			}
		}
	}
	// ExpiredKeys is read-only.
	if db.Len() != 500 || db.Stats.ExpiredKeys.Load() != 0 {
		t.Fatal("ExpiredKeys changed the DB")
	}
}

func TestSetExpireUpdatesIndex(t *testing.T) {
	db := New()
	it := db.Put([]byte("k"), []byte("v"), nil, 0)
	it = db.SetExpire(it, 100)
	if it.ExpireAt != 100 || db.Peek([]byte("k")).ExpireAt != 100 || db.Expiring() != 1 {
		t.Fatal("SetExpire from none")
	}
	it = db.SetExpire(it, 300)
	if got := db.ExpiredKeys(200, 10); len(got) != 0 {
		t.Fatalf("old expiry entry still indexed: %q", got)
	}
	if got := db.ExpiredKeys(300, 10); !slices.Equal(got, []string{"k"}) {
		t.Fatalf("ExpiredKeys after move = %q", got)
	}
	if db.Expiring() != 1 {
		t.Fatalf("Expiring = %d", db.Expiring())
	}
	it = db.SetExpire(it, 300) // no change
	it = db.SetExpire(it, 0)
	if it.ExpireAt != 0 || db.Expiring() != 0 || len(db.ExpiredKeys(1<<60, 10)) != 0 {
		t.Fatal("SetExpire(0) did not persist the key")
	}
	if db.Get([]byte("k"), 1<<60) == nil {
		t.Fatal("persisted key expired")
	}
	// Moving the expiry into the past makes the key expired at once.
	it = db.SetExpire(it, 5)
	if db.Get([]byte("k"), 5) != nil || db.Lookup([]byte("k"), 5) != nil || db.Len() != 0 || db.Expiring() != 0 {
		t.Fatal("past expiry")
	}

	// On an item a snapshot shares, SetExpire works on a clone and leaves
	// the snapshot's item alone.
	old := db.Put([]byte("s"), []byte("v"), nil, 1000)
	snap := db.Snapshot()
	it = db.SetExpire(old, 2000)
	if it == old || old.ExpireAt != 1000 || db.Peek([]byte("s")) != it || it.ExpireAt != 2000 {
		t.Fatal("SetExpire on a shared item did not clone it")
	}
	if got := db.ExpiredKeys(1500, 10); len(got) != 0 {
		t.Fatalf("stale expiry entry after clone: %q", got)
	}
	it = db.SetExpire(it, 0)
	if db.Expiring() != 0 || old.ExpireAt != 1000 {
		t.Fatal("SetExpire(0) on the clone")
	}
	if s := load(t, serialize(t, snap)); s.Peek([]byte("s")).ExpireAt != 1000 {
		t.Fatal("snapshot lost the expiry")
	}
	checkIndex(t, db)
}

func TestFlush(t *testing.T) {
	db := New()
	for i := range 1000 {
		db.Put([]byte(strconv.Itoa(i)), []byte("v"), nil, int64(i%3))
	}
	snap := db.Snapshot()
	db.Flush()
	if db.Len() != 0 || db.Expiring() != 0 || len(db.ExpiredKeys(1<<60, 10)) != 0 || db.Get([]byte("1"), 0) != nil {
		t.Fatal("Flush left keys")
	}
	if db.Random(func(n int) int { return 0 }) != nil {
		t.Fatal("Random after Flush")
	}
	if db.Scan(0, func(*Item) bool { t.Fatal("Scan visited a key after Flush"); return true }) != 0 {
		t.Fatal("Scan cursor after Flush")
	}
	if snap.Len() != 1000 || load(t, serialize(t, snap)).Len() != 1000 {
		t.Fatal("Flush changed an earlier snapshot")
	}
	db.Put([]byte("x"), []byte("y"), nil, 9)
	if db.Len() != 1 || db.Expiring() != 1 {
		t.Fatal("Put after Flush")
	}
	checkIndex(t, db)
}

func TestMutable(t *testing.T) {
	db := New()
	db.SetClock(7000)
	it := db.Put([]byte("s"), []byte("abc"), nil, 99)
	it.Raw = true
	h := NewHash()
	h.Set([]byte("f"), []byte("1"))
	hi := db.Put([]byte("h"), nil, h, 0)
	if db.Mutable(it) != it || db.Mutable(hi) != hi {
		t.Fatal("Mutable cloned an unshared item")
	}
	snap := db.Snapshot()
	m := db.Mutable(it)
	if m == it {
		t.Fatal("Mutable did not clone a shared item")
	}
	if db.Peek([]byte("s")) != m || db.Mutable(m) != m {
		t.Fatal("the clone is not the DB's item")
	}
	if m.Key != "s" || string(m.Str) != "abc" || !m.Raw || m.ExpireAt != 99 || m.IdleSeconds(9000) != 2 {
		t.Fatalf("clone lost fields: %+v", m)
	}
	if db.Len() != 2 || db.Expiring() != 1 {
		t.Fatal("Mutable changed counts")
	}
	m.Str[0] = 'X'
	m.Str = append(m.Str, "def"...)
	if string(it.Str) != "abc" {
		t.Fatalf("clone shares the string: %q", it.Str)
	}
	mh := db.Mutable(hi)
	hashOf(t, mh).Set([]byte("f"), []byte("2"))
	hashOf(t, mh).Set([]byte("g"), []byte("3"))
	if v, _ := h.Get([]byte("f")); string(v) != "1" || h.Len() != 1 {
		t.Fatal("clone shares the hash")
	}
	got := load(t, serialize(t, snap))
	if string(got.Peek([]byte("s")).Str) != "abc" || hashOf(t, got.Peek([]byte("h"))).Len() != 1 {
		t.Fatal("snapshot changed")
	}
	checkIndex(t, db)
}

// scanAll runs a full SCAN-like iteration with the given per-call budget and
// calls between() after every call. It returns how often each key was
// returned.
func scanAll(t *testing.T, db *DB, count int, between func()) map[string]int {
	t.Helper()
	seen := map[string]int{}
	cursor := uint64(0)
	for calls := 0; ; calls++ {
		if calls > 1_000_000 {
			t.Fatal("scan does not terminate")
		}
		n := 0
		cursor = db.Scan(cursor, func(it *Item) bool {
			seen[it.Key]++
			n++
			return n < count
		})
		if cursor == 0 {
			return seen
		}
		between()
	}
}

func TestScanWholeAndCursor(t *testing.T) {
	db := New()
	if db.Scan(0, func(*Item) bool { return true }) != 0 {
		t.Fatal("empty scan")
	}
	for i := range 100 {
		db.Put([]byte("k"+strconv.Itoa(i)), nil, nil, 0)
	}
	var order []*Item
	if next := db.Scan(0, func(it *Item) bool { order = append(order, it); return true }); next != 0 {
		t.Fatalf("full scan returned cursor %d", next)
	}
	if len(order) != 100 {
		t.Fatalf("full scan visited %d", len(order))
	}
	for i := 1; i < len(order); i++ {
		if !lessRef(ref{order[i-1].order(), order[i-1]}, ref{order[i].order(), order[i]}) {
			t.Fatal("scan not in key order")
		}
	}
	// Stopping at item i returns the ord of item i+1; stopping at the last
	// returns 0. The item fn stopped on counts as visited.
	for i := range order {
		var got []*Item
		next := db.Scan(0, func(it *Item) bool { got = append(got, it); return len(got) <= i })
		if len(got) != i+1 {
			t.Fatalf("stop at %d visited %d", i, len(got))
		}
		want := uint64(0)
		if i+1 < len(order) {
			want = order[i+1].order()
		}
		if next != want {
			t.Fatalf("stop at %d: cursor %x, want %x", i, next, want)
		}
		if next != 0 {
			var first *Item
			db.Scan(next, func(it *Item) bool { first = it; return false })
			if first != order[i+1] {
				t.Fatal("resuming at the cursor does not start at the next item")
			}
		}
	}
	// A cursor is never 0 mid-way (Ord is never 0).
	if Ord("") == 0 {
		t.Fatal("Ord of the empty key is 0")
	}
	// Every key is returned exactly once by a paged scan without writes.
	for _, count := range []int{1, 3, 10, 99, 100, 1000} {
		seen := scanAll(t, db, count, func() {})
		if len(seen) != 100 {
			t.Fatalf("count %d: %d keys", count, len(seen))
		}
		for k, n := range seen {
			if n != 1 {
				t.Fatalf("count %d: %q returned %d times", count, k, n)
			}
		}
	}
}

// TestScanGuarantee checks SCAN's promise: an element present for the whole
// iteration is returned at least once, whatever inserts and deletes happen
// between calls; and nothing that never existed is returned.
func TestScanGuarantee(t *testing.T) {
	for seed := range uint64(6) {
		r := rand.New(rand.NewPCG(seed, 99))
		db := New()
		stable := map[string]bool{}
		var volatile []string
		existed := map[string]bool{}
		for i := range 3000 {
			k := fmt.Sprintf("s%d:%d", seed, i)
			db.Put([]byte(k), nil, nil, 0)
			existed[k] = true
			if i%3 == 0 {
				volatile = append(volatile, k)
			} else {
				stable[k] = true
			}
		}
		next := 0
		count := 1 + r.IntN(50)
		seen := scanAll(t, db, count, func() {
			for range r.IntN(40) {
				switch r.IntN(3) {
				case 0: // insert a new key
					k := fmt.Sprintf("n%d:%d", seed, next)
					next++
					db.Put([]byte(k), nil, nil, 0)
					existed[k] = true
					volatile = append(volatile, k)
				case 1: // delete a volatile key
					if len(volatile) > 0 {
						i := r.IntN(len(volatile))
						db.Delete([]byte(volatile[i]))
						volatile = slices.Delete(volatile, i, i+1)
					}
				case 2: // overwrite a stable key (it stays present)
					for k := range stable {
						db.Put([]byte(k), []byte("new"), nil, 0)
						break
					}
				}
			}
			if r.IntN(10) == 0 {
				db.Snapshot() // generations must not disturb the cursor
			}
		})
		for k := range stable {
			if seen[k] == 0 {
				t.Fatalf("seed %d count %d: stable key %q never returned", seed, count, k)
			}
		}
		for k := range seen {
			if !existed[k] {
				t.Fatalf("returned %q, which never existed", k)
			}
		}
	}
}

func keyInSlot(s uint16, prefix string) string {
	for i := 0; ; i++ {
		k := prefix + strconv.Itoa(i)
		if slot.OfString(k) == s {
			return k
		}
	}
}

func TestScanSlotCountSlot(t *testing.T) {
	db := New()
	want := map[uint16][]string{}
	add := func(k string) {
		db.Put([]byte(k), nil, nil, 0)
		s := slot.Of([]byte(k))
		want[s] = append(want[s], k)
	}
	for i := range 2000 {
		add("key:" + strconv.Itoa(i))
	}
	for i := range 50 {
		add("{user1000}:" + strconv.Itoa(i)) // one slot, many keys
	}
	add(keyInSlot(0, "a"))
	add(keyInSlot(0, "b"))
	add(keyInSlot(16383, "a"))
	add(keyInSlot(16383, "b"))
	db.Put([]byte("gone"), nil, nil, 0)
	db.Delete([]byte("gone"))

	total := 0
	for s := range uint16(16384) {
		n := db.CountSlot(s)
		if n != len(want[s]) {
			t.Fatalf("CountSlot(%d) = %d, want %d", s, n, len(want[s]))
		}
		total += n
		if n == 0 {
			continue
		}
		var got []string
		db.ScanSlot(s, func(it *Item) bool {
			if it.Slot() != s {
				t.Fatalf("ScanSlot(%d) visited %q of slot %d", s, it.Key, it.Slot())
			}
			got = append(got, it.Key)
			return true
		})
		slices.Sort(got)
		w := slices.Clone(want[s])
		slices.Sort(w)
		if !slices.Equal(got, w) {
			t.Fatalf("ScanSlot(%d) = %q, want %q", s, got, w)
		}
	}
	if total != db.Len() {
		t.Fatalf("slot counts sum to %d, Len %d", total, db.Len())
	}
	if n := db.CountSlot(slot.OfString("{user1000}")); n < 50 {
		t.Fatalf("hash-tag slot holds %d", n)
	}
	// Early stop.
	visited := 0
	db.ScanSlot(slot.OfString("{user1000}"), func(*Item) bool { visited++; return visited < 5 })
	if visited != 5 {
		t.Fatalf("ScanSlot did not stop: %d", visited)
	}
	// Item.Slot agrees with slot.Of for every key.
	db.Scan(0, func(it *Item) bool {
		if it.Slot() != slot.OfString(it.Key) {
			t.Fatalf("%q: Slot %d, slot.Of %d", it.Key, it.Slot(), slot.OfString(it.Key))
		}
		return true
	})
}

func TestRandom(t *testing.T) {
	db := New()
	if db.Random(func(int) int { t.Fatal("pick called on an empty DB"); return 0 }) != nil {
		t.Fatal("Random of an empty DB")
	}
	for i := range 300 {
		db.Put([]byte("r"+strconv.Itoa(i)), nil, nil, 0)
	}
	var order []*Item
	db.Scan(0, func(it *Item) bool { order = append(order, it); return true })
	for i := range order {
		got := db.Random(func(n int) int {
			if n != 300 {
				t.Fatalf("pick got n=%d", n)
			}
			return i
		})
		if got != order[i] {
			t.Fatalf("Random(%d) = %q, want %q", i, got.Key, order[i].Key)
		}
	}
	// Random is deterministic for a deterministic pick.
	r1, r2 := rand.New(rand.NewPCG(5, 5)), rand.New(rand.NewPCG(5, 5))
	for range 100 {
		if db.Random(r1.IntN) != db.Random(r2.IntN) {
			t.Fatal("Random is not a function of pick")
		}
	}
}

// TestSnapshotRelease: while a snapshot is live, writes to the items it
// shares copy them (the snapshot keeps its values); once every snapshot
// is released, those items are changed in place again (same *Item, no
// B-tree re-insert), with the same resulting state as a DB that never
// took a snapshot.
func TestSnapshotRelease(t *testing.T) {
	db, ref := New(), New()
	for i := range 200 {
		k := []byte("k" + strconv.Itoa(i))
		db.Put(k, []byte("a"), nil, 0)
		ref.Put(k, []byte("a"), nil, 0)
	}
	h := db.Put([]byte("h"), nil, NewHash(), 0)
	ref.Put([]byte("h"), nil, NewHash(), 0)
	s1 := db.Snapshot()
	s2 := db.Snapshot()
	old := db.Peek([]byte("k1"))
	if it := db.Put([]byte("k1"), []byte("b"), nil, 0); it == old || string(old.Str) != "a" {
		t.Fatal("write to a shared item did not copy it")
	}
	ref.Put([]byte("k1"), []byte("b"), nil, 0)
	s1.Release()
	s1.Release() // a second Release does nothing
	old = db.Peek([]byte("k2"))
	if it := db.Put([]byte("k2"), []byte("b"), nil, 0); it == old {
		t.Fatal("item changed in place while a snapshot is still live")
	}
	ref.Put([]byte("k2"), []byte("b"), nil, 0)
	if s := load(t, serialize(t, s2)); string(s.Peek([]byte("k1")).Str) != "a" || string(s.Peek([]byte("k2")).Str) != "a" {
		t.Fatal("live snapshot changed")
	}
	s2.Release()
	old = db.Peek([]byte("k3"))
	if it := db.Put([]byte("k3"), []byte("c"), nil, 7000); it != old || string(it.Str) != "c" || it.ExpireAt != 7000 {
		t.Fatal("write after every snapshot was released did not change the item in place")
	}
	ref.Put([]byte("k3"), []byte("c"), nil, 7000)
	if m := db.Mutable(h); m != h {
		t.Fatal("Mutable copied an item no live snapshot shares")
	}
	it := db.Peek([]byte("k4"))
	if got := db.SetExpire(it, 9000); got != it {
		t.Fatal("SetExpire copied an item no live snapshot shares")
	}
	ref.SetExpire(ref.Peek([]byte("k4")), 9000)
	if db.Digest() != ref.Digest() || db.Len() != ref.Len() || db.Expiring() != ref.Expiring() {
		t.Fatal("state differs from a DB that never took a snapshot")
	}
	checkIndex(t, db)
	// A new snapshot shares the claimed items again.
	s3 := db.Snapshot()
	defer s3.Release()
	old = db.Peek([]byte("k3"))
	if it := db.Put([]byte("k3"), []byte("d"), nil, 0); it == old || string(old.Str) != "c" {
		t.Fatal("write after a new snapshot did not copy")
	}
}
