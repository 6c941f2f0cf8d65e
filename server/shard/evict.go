package shard

import (
	"math"
	"math/rand/v2"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	sm "github.com/lni/dragonboat/v4/statemachine"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/entry"
	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/server/reply"
)

// maxmemory.
//
// The keyspace counts the bytes of its state (keyspace/memory.go); the
// count is deterministic, so every replica compares the same number with
// db.Cfg.MaxMemory at the same log index.
//
// Apply time is the authority: a DenyOOM command (or a transaction holding
// one) is refused with Redis's OOM error when the used memory is over the
// limit and the policy cannot evict anything (noeviction, or a volatile-*
// policy with no key that has an expiry).
//
// Under an eviction policy the leader keeps memory bounded ahead of the
// writes: before it proposes a write batch it estimates the memory after
// everything in flight is applied, and if that is over the limit it picks
// keys (Redis's approximated LRU/LFU with an eviction pool, random, or
// nearest TTL) and proposes an Evict entry ahead of the batch. A
// background loop does the same when the writers are idle. Every replica
// applies the Evict entry and deletes the same keys.
//
// The leader also refuses, before proposing, a batch of DenyOOM commands
// that apply would refuse anyway (it saves log space), and any DenyOOM
// batch while the process is over its memory guard (memguard.go).

// Redis's replies.
var (
	errOOM          = reply.Error("OOM command not allowed when used memory > 'maxmemory'.")
	errExecAbortOOM = reply.Error("EXECABORT Transaction discarded because of: OOM command not allowed when used memory > 'maxmemory'.")
)

// Eviction tuning: Redis's EVPOOL_SIZE and Cairn's batching.
const (
	evictRounds   = 2 // sample rounds per pick
	evictPoolSize = 16
	evictMaxBatch = 512 // keys in one Evict entry
)

// maxmemorySamples is maxmemory-samples (Redis's default 5): how many
// keys the leader samples per eviction round. It is node-local (CONFIG SET
// on a node changes that node's): only a leader samples, and what it picks
// goes through the log as an Evict entry, so no replica's apply depends on
// it. It is per process, as the node is (the lazyfree counters are too).
var maxmemorySamples atomic.Int64

func init() { maxmemorySamples.Store(5) }

// SetMaxmemorySamples sets maxmemory-samples (at least 1).
func SetMaxmemorySamples(n int64) { maxmemorySamples.Store(max(n, 1)) }

// memMirror publishes what the leader's admission needs without the lock.
// The applier refreshes it after each batch.
type memMirror struct {
	used, max, keys, expiring atomic.Int64
	policy                    atomic.Uint32
}

// publishMem settles the keyspace's memory count and publishes it. Called
// with the write lock held, after each batch and snapshot load.
func (s *stateMachine) publishMem() {
	db := s.db
	db.SettleMemory()
	s.mem.used.Store(db.UsedMemory())
	s.mem.max.Store(db.Cfg.MaxMemory)
	s.mem.keys.Store(int64(db.Len()))
	s.mem.expiring.Store(int64(db.Expiring()))
	s.mem.policy.Store(uint32(db.Cfg.MaxMemoryPolicy))
}

// cannotEvict tells whether policy p has nothing to evict.
func cannotEvict(p keyspace.EvictionPolicy, keys, expiring int64) bool {
	switch {
	case p == keyspace.NoEviction:
		return true
	case p.IsVolatile():
		return expiring == 0
	}
	return keys == 0
}

// outOfMemory is the apply-time test: used memory over maxmemory and
// nothing the policy could evict.
func (s *stateMachine) outOfMemory() bool {
	db := s.db
	if db.Cfg.MaxMemory <= 0 {
		return false
	}
	db.SettleMemory()
	return db.UsedMemory() > db.Cfg.MaxMemory && cannotEvict(db.Cfg.MaxMemoryPolicy, int64(db.Len()), int64(db.Expiring()))
}

// isDenyOOM tells whether cmd resolves to a DenyOOM command.
func isDenyOOM(t *command.Table, cmd [][]byte) bool {
	if len(cmd) == 0 {
		return false
	}
	spec, err := t.Resolve(cmd)
	return err == nil && spec.Flags&command.DenyOOM != 0
}

// denyOOM is checked before each command of a Commands entry.
func (s *stateMachine) denyOOM(cmd [][]byte) bool {
	return s.db.Cfg.MaxMemory > 0 && isDenyOOM(s.table, cmd) && s.outOfMemory()
}

// multiOOM is checked before a transaction: Redis refuses EXEC when the
// transaction holds a DenyOOM command and memory is out.
func (s *stateMachine) multiOOM(cmds [][][]byte) bool {
	if s.db.Cfg.MaxMemory <= 0 {
		return false
	}
	for _, cmd := range cmds {
		if isDenyOOM(s.table, cmd) {
			return s.outOfMemory()
		}
	}
	return false
}

// applyEvict deletes the keys of an Evict entry that still exist (with an
// expiry, under a volatile-* policy). Nothing is evicted if the replicated
// configuration no longer evicts.
func (s *stateMachine) applyEvict(e *entry.Entry) sm.Result {
	db := s.db
	p := db.Cfg.MaxMemoryPolicy
	if db.Cfg.MaxMemory <= 0 || p == keyspace.NoEviction {
		return sm.Result{}
	}
	db.SetClock(s.lastTime)
	notify := s.onChange != nil && s.notifyMask.Load()&command.ClassBit(command.ClassEvicted) != 0
	n := uint64(0)
	for _, cmd := range e.Cmds {
		if len(cmd) != 1 {
			continue
		}
		it := db.Peek(cmd[0])
		if it == nil || (p.IsVolatile() && it.ExpireAt == 0) {
			continue
		}
		db.Delete(cmd[0])
		db.Stats.EvictedKeys.Add(1)
		n++
		if notify {
			s.change.Events = append(s.change.Events, command.Event{Class: command.ClassEvicted, Name: "evicted", Key: string(cmd[0])})
		}
	}
	s.dirty.Add(int64(n))
	return sm.Result{Value: n}
}

// MemoryStatus is what INFO reports about maxmemory.
type MemoryStatus struct {
	Used, Max   int64
	Policy      keyspace.EvictionPolicy
	EvictedKeys int64
}

// Memory returns the shard's accounted memory and maxmemory settings.
func (s *Shard) Memory() MemoryStatus {
	st := MemoryStatus{Used: s.sm.mem.used.Load(), Max: s.sm.mem.max.Load(), Policy: keyspace.EvictionPolicy(s.sm.mem.policy.Load())}
	st.EvictedKeys = s.sm.db.Stats.EvictedKeys.Load()
	return st
}

// SetMaxMemoryForTest sets this replica's maxmemory and policy directly,
// bypassing the log. Tests only (single replica): CONFIG SET replicates
// them through a Config entry.
func (s *Shard) SetMaxMemoryForTest(max int64, p keyspace.EvictionPolicy) {
	s.sm.mu.Lock()
	s.sm.db.Cfg.MaxMemory = max
	s.sm.db.Cfg.MaxMemoryPolicy = p
	s.sm.publishMem()
	s.sm.mu.Unlock()
}

// evictor is the leader's eviction state.
type evictor struct {
	inflight atomic.Int64 // estimated growth of proposed, unapplied writes
	evicting atomic.Int64 // accounted size of keys in unapplied Evict entries

	mu       sync.Mutex
	pool     []poolEntry         // best candidates so far, ascending score
	proposed map[string]struct{} // keys in unapplied Evict entries
	rng      *rand.Rand
}

type poolEntry struct {
	key   string
	score int64
}

// writeEstimate is how much a write entry may grow the keyspace: its
// bytes plus the per-key overhead for each command.
func writeEstimate(size, cmds int) int64 { return int64(size) + 128*int64(cmds) }

// isWriteKind tells whether entries of kind k carry client writes.
func isWriteKind(k entry.Kind) bool {
	return k == entry.Commands || k == entry.Multi || k == entry.WatchedMulti
}

// admit runs before a write entry is proposed. It proposes evictions the
// entry needs, and returns a Pending already answered when the entry would
// only be refused (so it never enters the log); nil to go ahead.
func (s *Shard) admit(kind entry.Kind, cmds [][][]byte, est int64) *Pending {
	m := &s.sm.mem
	max := m.max.Load()
	guard := memGuardOver()
	if max <= 0 && !guard {
		return nil
	}
	refuse := guard
	if max > 0 {
		p := keyspace.EvictionPolicy(m.policy.Load())
		used := m.used.Load()
		over := used + s.ev.inflight.Load() + est - s.ev.evicting.Load() - max
		if over > 0 && p != keyspace.NoEviction {
			s.evict(over)
		}
		if used > max && cannotEvict(p, m.keys.Load(), m.expiring.Load()) {
			refuse = true
		}
	}
	if !refuse {
		return nil
	}
	t := s.sm.table
	switch kind {
	case entry.Commands:
		// Answer here only if apply would refuse every command.
		for _, cmd := range cmds {
			if !isDenyOOM(t, cmd) {
				return nil
			}
		}
		out := make([]reply.Value, len(cmds))
		for i := range out {
			out[i] = errOOM
		}
		return &Pending{pre: out, kind: kind, n: len(cmds)}
	case entry.Multi, entry.WatchedMulti:
		body := cmds
		if kind == entry.WatchedMulti && len(body) > 0 {
			body = body[1:]
		}
		for _, cmd := range body {
			if isDenyOOM(t, cmd) {
				return &Pending{pre: []reply.Value{errExecAbortOOM}, kind: kind, n: len(cmds)}
			}
		}
	}
	return nil
}

// OverMemory tells whether a DenyOOM command would be refused now: the
// leader's early check, which MULTI uses to refuse queued commands as
// Redis does. Apply time remains the authority.
func (s *Shard) OverMemory() bool {
	if memGuardOver() {
		return true
	}
	m := &s.sm.mem
	max := m.max.Load()
	return max > 0 && m.used.Load() > max && cannotEvict(keyspace.EvictionPolicy(m.policy.Load()), m.keys.Load(), m.expiring.Load())
}

// evict picks keys worth at least need bytes under the policy and proposes
// their eviction, without waiting.
func (s *Shard) evict(need int64) {
	ev := &s.ev
	ev.mu.Lock()
	if ev.proposed == nil {
		ev.proposed = map[string]struct{}{}
		ev.rng = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	var keys []string
	var freed int64
	now := time.Now().UnixMilli()
	s.sm.mu.RLock()
	db := s.sm.db
	p := db.Cfg.MaxMemoryPolicy
	if db.Cfg.MaxMemory > 0 && p != keyspace.NoEviction {
		for tries := 0; freed < need && len(keys) < evictMaxBatch && tries < 4*evictMaxBatch; tries++ {
			it := ev.next(db, p, now)
			if it == nil {
				break
			}
			if _, dup := ev.proposed[it.Key]; dup {
				continue
			}
			ev.proposed[it.Key] = struct{}{}
			keys = append(keys, it.Key)
			freed += it.MemSize()
		}
	}
	s.sm.mu.RUnlock()
	ev.mu.Unlock()
	if len(keys) == 0 {
		return
	}
	ev.evicting.Add(freed)
	cmds := make([][][]byte, len(keys))
	for i, k := range keys {
		cmds[i] = [][]byte{[]byte(k)}
	}
	pend := s.Propose(entry.Evict, cmds)
	go func() {
		pend.Wait()
		ev.evicting.Add(-freed)
		ev.mu.Lock()
		for _, k := range keys {
			delete(ev.proposed, k)
		}
		ev.mu.Unlock()
	}()
}

// next returns the next key to evict under policy p, or nil if there is
// none. Called with ev.mu and the read lock held.
func (ev *evictor) next(db *keyspace.DB, p keyspace.EvictionPolicy, now int64) *keyspace.Item {
	volatile := p.IsVolatile()
	if p == keyspace.AllKeysRandom || p == keyspace.VolatileRandom {
		var got *keyspace.Item
		db.Sample(volatile, 1, ev.rng.IntN, func(it *keyspace.Item) { got = it })
		return got
	}
	// Redis's evictionPoolPopulate: sample a few keys and keep the best
	// candidates seen so far in a small pool sorted by score; then take
	// the best one. Each pick samples maxmemory-samples keys evictRounds times.
	for try := 0; try < 4; try++ {
		for range evictRounds {
			ev.populate(db, p, volatile, now)
		}
		// The best candidate that still exists.
		for len(ev.pool) > 0 {
			e := ev.pool[len(ev.pool)-1]
			ev.pool = ev.pool[:len(ev.pool)-1]
			it := db.Peek([]byte(e.key))
			if it == nil || (volatile && it.ExpireAt == 0) {
				continue
			}
			if _, dup := ev.proposed[e.key]; dup {
				continue
			}
			return it
		}
	}
	return nil
}

// populate samples keys into the pool.
func (ev *evictor) populate(db *keyspace.DB, p keyspace.EvictionPolicy, volatile bool, now int64) {
	{
		db.Sample(volatile, int(min(maxmemorySamples.Load(), 1<<20)), ev.rng.IntN, func(it *keyspace.Item) {
			if _, dup := ev.proposed[it.Key]; dup {
				return
			}
			sc := evictScore(it, p, &db.Cfg, now)
			for _, e := range ev.pool {
				if e.key == it.Key {
					return
				}
			}
			if len(ev.pool) >= evictPoolSize {
				if sc <= ev.pool[0].score {
					return
				}
				ev.pool = ev.pool[1:]
			}
			i := sort.Search(len(ev.pool), func(i int) bool { return ev.pool[i].score > sc })
			ev.pool = append(ev.pool, poolEntry{})
			copy(ev.pool[i+1:], ev.pool[i:])
			ev.pool[i] = poolEntry{key: it.Key, score: sc}
		})
	}
}

// evictScore is higher for better candidates: idle time (LRU), rarity
// (LFU) or nearness of expiry (TTL).
func evictScore(it *keyspace.Item, p keyspace.EvictionPolicy, cfg *keyspace.Config, now int64) int64 {
	switch {
	case p.IsLFU():
		return int64(255 - it.Freq(now, cfg))
	case p == keyspace.VolatileTTL:
		return math.MaxInt64 - it.ExpireAt
	}
	return it.IdleSeconds(now)
}

// evictLoop evicts on the leader while memory is over the limit and no
// write triggers it.
func (s *Shard) evictLoop() {
	defer s.wg.Done()
	startMemGuard(s.host.memGuard)
	t := time.NewTicker(s.opts.ExpiryInterval)
	defer t.Stop()
	for {
		select {
		case <-s.quit:
			return
		case <-t.C:
		}
		m := &s.sm.mem
		max := m.max.Load()
		if max <= 0 || keyspace.EvictionPolicy(m.policy.Load()) == keyspace.NoEviction || !s.IsLeader() || s.passive.Load() {
			continue
		}
		if over := m.used.Load() + s.ev.inflight.Load() - s.ev.evicting.Load() - max; over > 0 {
			s.evict(over)
		}
	}
}
