package shard

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/cairndb/cairn/server/keyspace"
)

// TestEvictorPicksByPolicy checks the leader's choice of keys: 200 keys,
// of which 20 "cold" ones (old access time, low access frequency or, for
// volatile-ttl, the nearest expiry); half of the keys have an expiry. The
// approximated LRU/LFU (samples + pool) must pick mostly cold keys, the
// volatile policies only keys with an expiry.
func TestEvictorPicksByPolicy(t *testing.T) {
	const (
		t0  = int64(1_700_000_000_000)
		now = t0 + 3_600_000
	)
	build := func(p keyspace.EvictionPolicy) (*keyspace.DB, map[string]bool) {
		db := keyspace.New()
		db.Cfg.MaxMemory, db.Cfg.MaxMemoryPolicy = 1, p
		cold := map[string]bool{}
		for i := range 200 {
			k := "k" + strconv.Itoa(i)
			isCold := i%10 == 0
			var exp int64
			if i%2 == 0 {
				exp = now + 10_000_000 + int64(i)*1000
				if isCold {
					exp = now + 1000 + int64(i) // nearest expiries
				}
			}
			at := now
			if isCold {
				at = t0 // idle for an hour
			}
			db.SetClock(at)
			db.Put([]byte(k), []byte(strings.Repeat("x", 50)), nil, exp)
			if isCold {
				cold[k] = true
			} else {
				// Hot keys: many reads raise their LFU counters.
				for range 50 {
					db.Get([]byte(k), now)
				}
			}
		}
		return db, cold
	}
	for _, tc := range []struct {
		p        keyspace.EvictionPolicy
		minCold  int // of the first 10 picks
		volatile bool
	}{
		{keyspace.AllKeysLRU, 8, false},
		{keyspace.AllKeysLFU, 8, false},
		{keyspace.VolatileLRU, 8, true},
		{keyspace.VolatileLFU, 8, true},
		{keyspace.VolatileTTL, 8, true},
		{keyspace.AllKeysRandom, 0, false},
		{keyspace.VolatileRandom, 0, true},
	} {
		db, cold := build(tc.p)
		ev := &evictor{proposed: map[string]struct{}{}, rng: rand.New(rand.NewPCG(1, 2))}
		nCold := 0
		for i := range 10 {
			it := ev.next(db, tc.p, now)
			if it == nil {
				t.Fatalf("%v: no candidate at pick %d", tc.p, i)
			}
			if tc.volatile && it.ExpireAt == 0 {
				t.Fatalf("%v picked %s, which has no expiry", tc.p, it.Key)
			}
			if _, dup := ev.proposed[it.Key]; dup {
				t.Fatalf("%v picked %s twice", tc.p, it.Key)
			}
			ev.proposed[it.Key] = struct{}{}
			if cold[it.Key] {
				nCold++
			}
		}
		t.Logf("%v: %d of 10 picks cold", tc.p, nCold)
		if nCold < tc.minCold {
			t.Errorf("%v: %d of 10 picks were cold keys, want at least %d", tc.p, nCold, tc.minCold)
		}
	}
	// volatile-* with no key that has an expiry has nothing to offer.
	db := keyspace.New()
	db.Put([]byte("a"), []byte("v"), nil, 0)
	ev := &evictor{proposed: map[string]struct{}{}, rng: rand.New(rand.NewPCG(1, 2))}
	for _, p := range []keyspace.EvictionPolicy{keyspace.VolatileLRU, keyspace.VolatileLFU, keyspace.VolatileTTL, keyspace.VolatileRandom} {
		if it := ev.next(db, p, now); it != nil {
			t.Fatalf("%v picked %s without volatile keys", p, it.Key)
		}
	}
}

// TestEvictorMaxmemorySamples: maxmemory-samples (node-local) is how many
// keys one sampling round of the leader's evictor looks at.
func TestEvictorMaxmemorySamples(t *testing.T) {
	defer SetMaxmemorySamples(5)
	db := keyspace.New()
	db.Cfg.MaxMemory, db.Cfg.MaxMemoryPolicy = 1, keyspace.AllKeysLRU
	for i := range 1000 {
		db.Put([]byte("k"+strconv.Itoa(i)), []byte("v"), nil, 0)
	}
	for _, n := range []int64{1, 5, 12} {
		SetMaxmemorySamples(n)
		ev := &evictor{proposed: map[string]struct{}{}, rng: rand.New(rand.NewPCG(1, 2))}
		ev.populate(db, keyspace.AllKeysLRU, false, 0)
		// Distinct keys sampled, all kept (the pool holds 16).
		if got := len(ev.pool); got < int(n)-1 || got > int(n) {
			t.Errorf("maxmemory-samples %d: %d candidates after one round", n, got)
		}
	}
}
