package keyspace

import "math/rand/v2"

// LFU access counters, as Redis's: an 8-bit logarithmic counter that an
// access increments with probability 1/((counter-LFUInitVal)*factor+1) and
// that loses one per lfu-decay-time minutes without access (measured from
// the item's last access time, which Redis keeps in the same field). The
// factor and decay time are replicated configuration (Config.LFULogFactor,
// Config.LFUDecayTime).
//
// Counters are node-local, like access times: they are updated by the reads
// the serving node runs and are not part of snapshots or digests. They only
// inform the leader's choice of keys to evict, and that choice goes through
// the log.

// LFUInitVal is the counter of a new key (Redis's LFU_INIT_VAL).
const LFUInitVal = 5

// IsLFU tells whether the policy evicts by access frequency.
func (p EvictionPolicy) IsLFU() bool { return p == AllKeysLFU || p == VolatileLFU }

// IsLRU tells whether the policy evicts by idle time.
func (p EvictionPolicy) IsLRU() bool { return p == AllKeysLRU || p == VolatileLRU }

// IsVolatile tells whether the policy evicts only keys with an expiry.
func (p EvictionPolicy) IsVolatile() bool {
	return p == VolatileLRU || p == VolatileLFU || p == VolatileRandom || p == VolatileTTL
}

// Freq returns the item's LFU counter at now (Unix ms), decayed by the
// minutes since its last access and cfg's lfu-decay-time (OBJECT FREQ).
func (it *Item) Freq(now int64, cfg *Config) int {
	c := int64(it.lfu.Load())
	if d := cfg.LFUDecayTime; d > 0 {
		idle := now/60000 - int64(it.atime.Load())/60
		if idle > 0 {
			c -= idle / d
		}
	}
	return int(max(c, 0))
}

// SetFreq sets the LFU counter (RESTORE ... FREQ).
func (it *Item) SetFreq(f int) { it.lfu.Store(uint32(min(max(f, 0), 255))) }

// lfuIncr decays the counter and counts one access, before the access
// time is updated, with cfg's lfu-log-factor and lfu-decay-time.
func (it *Item) lfuIncr(now int64, cfg *Config) {
	c := it.Freq(now, cfg)
	if c < 255 {
		base := float64(max(c-LFUInitVal, 0))
		if rand.Float64() < 1/(base*float64(cfg.LFULogFactor)+1) {
			c++
		}
	}
	if uint32(c) != it.lfu.Load() {
		it.lfu.Store(uint32(c))
	}
}

// initAccess sets a new item's access time (the entry's time) and LFU
// counter.
func (db *DB) initAccess(it *Item) {
	it.Touch(db.clock)
	it.lfu.Store(LFUInitVal)
}

// access records a write's access to it at the entry's time.
func (db *DB) access(it *Item) { db.accessAt(it, db.clock) }

// accessAt records an access to it at now: the access time and, under an
// LFU policy, the access counter.
func (db *DB) accessAt(it *Item, now int64) {
	if db.Cfg.MaxMemoryPolicy.IsLFU() {
		it.lfuIncr(now, &db.Cfg)
	}
	it.Touch(now)
}

// Sample calls fn for n items chosen by pick (given a count, it returns an
// index below it): from every key, or from the keys with an expiry when
// volatile. It reads only: the leader samples eviction candidates under
// the read lock.
func (db *DB) Sample(volatile bool, n int, pick func(int) int, fn func(it *Item)) {
	if volatile {
		m := db.expires.Len()
		for i := 0; i < n && m > 0; i++ {
			e, _ := db.expires.GetAt(pick(m))
			if it := db.find(strBytes(e.key)); it != nil {
				fn(it)
			}
		}
		return
	}
	m := db.tree.Len()
	for i := 0; i < n && m > 0; i++ {
		if it, ok := db.tree.GetAt(pick(m)); ok {
			fn(it)
		}
	}
}
