package shard_test

import (
	"bytes"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/cairndb/cairn/server/entry"
	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/server/reply"
	"github.com/cairndb/cairn/server/shard"
)

// memGen is a random workload over every value type, built to cross the
// encodings' conversion points (listpack/hashtable/intset/skiplist/
// quicklist) and to exercise every mutation path the accounting follows.
type memGen struct {
	r   *rand.Rand
	now int64
	idx uint64
}

func (g *memGen) key(prefix string) string { return prefix + strconv.Itoa(g.r.IntN(6)) }

func (g *memGen) val() string {
	switch g.r.IntN(5) {
	case 0:
		return strconv.Itoa(g.r.IntN(2000) - 500)
	case 1:
		return strings.Repeat("v", g.r.IntN(120))
	case 2:
		return strings.Repeat("w", 8000+g.r.IntN(200)) // a large list element / plain node
	}
	return "x" + strconv.Itoa(g.r.IntN(300))
}

func (g *memGen) n(k int) string { return strconv.Itoa(g.r.IntN(k)) }

func (g *memGen) command() []string {
	r := g.r
	s, h, st, z, l, x := g.key("s"), g.key("h"), g.key("S"), g.key("z"), g.key("l"), g.key("x")
	any := []string{s, h, st, z, l, x}[r.IntN(6)]
	switch r.IntN(48) {
	case 0:
		return []string{"set", s, g.val()}
	case 1:
		return []string{"set", s, g.val(), "px", strconv.Itoa(1 + r.IntN(5000))}
	case 2:
		return []string{"append", s, g.val()}
	case 3:
		return []string{"setrange", s, g.n(30), g.val()}
	case 4:
		return []string{"incrby", s, g.n(100)}
	case 5:
		return []string{"setbit", s, g.n(2000), "1"}
	case 6:
		return []string{"pfadd", s, g.val(), g.val()}
	case 7:
		cmd := []string{"hset", h}
		for range 1 + r.IntN(20) {
			cmd = append(cmd, "f"+g.n(200), g.val())
		}
		return cmd
	case 8:
		return []string{"hdel", h, "f" + g.n(200), "f" + g.n(200)}
	case 9:
		return []string{"hincrby", h, "f" + g.n(10), "3"}
	case 10:
		cmd := []string{"sadd", st}
		ints := r.IntN(2) == 0
		for range 1 + r.IntN(40) {
			if !ints && r.IntN(3) == 0 {
				cmd = append(cmd, "m"+g.n(700))
			} else {
				cmd = append(cmd, g.n(900))
			}
		}
		return cmd
	case 11:
		return []string{"srem", st, g.n(900), "m" + g.n(700)}
	case 12:
		return []string{"spop", st, g.n(5)}
	case 13:
		return []string{"sinterstore", st, g.key("S"), g.key("S")}
	case 14:
		return []string{"sunionstore", st, g.key("S"), g.key("S")}
	case 15:
		return []string{"smove", st, g.key("S"), g.n(900)}
	case 16:
		cmd := []string{"zadd", z}
		for range 1 + r.IntN(30) {
			cmd = append(cmd, g.n(1000), "m"+g.n(300)+strings.Repeat("z", r.IntN(3)*40))
		}
		return cmd
	case 17:
		return []string{"zrem", z, "m" + g.n(300), "m" + g.n(300)}
	case 18:
		return []string{"zremrangebyrank", z, g.n(20), strconv.Itoa(20 + r.IntN(100))}
	case 19:
		return []string{"zincrby", z, "2", "m" + g.n(300)}
	case 20:
		return []string{"zunionstore", z, "2", g.key("z"), g.key("z")}
	case 21:
		return []string{"zpopmin", z, g.n(4)}
	case 22:
		cmd := []string{"rpush", l}
		for range 1 + r.IntN(30) {
			cmd = append(cmd, g.val())
		}
		return cmd
	case 23:
		return []string{"lpush", l, g.val(), g.val()}
	case 24:
		return []string{"lpop", l, g.n(4)}
	case 25:
		return []string{"rpop", l}
	case 26:
		return []string{"lset", l, strconv.Itoa(r.IntN(40) - 20), g.val()}
	case 27:
		return []string{"linsert", l, []string{"before", "after"}[r.IntN(2)], "x" + g.n(300), g.val()}
	case 28:
		return []string{"lrem", l, strconv.Itoa(r.IntN(5) - 2), "x" + g.n(300)}
	case 29:
		return []string{"ltrim", l, g.n(10), strconv.Itoa(r.IntN(200) - 30)}
	case 30:
		return []string{"lmove", l, g.key("l"), "left", "right"}
	case 31:
		cmd := []string{"xadd", x}
		if r.IntN(4) == 0 {
			cmd = append(cmd, "maxlen", g.n(50))
		}
		cmd = append(cmd, "*", "a", g.val())
		if r.IntN(2) == 0 {
			cmd = append(cmd, "b", g.val())
		}
		return cmd
	case 32:
		return []string{"xdel", x, "0-" + g.n(5), strconv.FormatInt(g.now-int64(r.IntN(2000)), 10) + "-0"}
	case 33:
		return []string{"xtrim", x, "maxlen", g.n(80)}
	case 34:
		return []string{"xgroup", "create", x, "g" + g.n(2), "0", "mkstream"}
	case 35:
		return []string{"xreadgroup", "group", "g" + g.n(2), "c" + g.n(3), "count", g.n(10), "streams", x, ">"}
	case 36:
		return []string{"xautoclaim", x, "g" + g.n(2), "c" + g.n(3), "0", "0-0", "count", g.n(5)}
	case 37:
		return []string{"xgroup", "delconsumer", x, "g" + g.n(2), "c" + g.n(3)}
	case 38:
		return []string{"xgroup", "destroy", x, "g" + g.n(2)}
	case 39:
		return []string{"expire", any, strconv.Itoa(1 + r.IntN(5))}
	case 40:
		return []string{"persist", any}
	case 41:
		return []string{"rename", any, []string{s, h, st, z, l, x}[r.IntN(6)]}
	case 42:
		return []string{"copy", any, g.key(any[:1]), "replace"}
	case 43:
		return []string{"del", any}
	case 44:
		return []string{"sort", l, "alpha", "limit", "0", "5", "store", g.key("l")}
	case 45:
		return []string{"getdel", s}
	case 46:
		if r.IntN(10) == 0 {
			return []string{"flushall"}
		}
		return []string{"hsetnx", h, "f" + g.n(200), g.val()}
	}
	return []string{"bitfield", s, "set", "u8", strconv.Itoa(8 * r.IntN(40)), "255"}
}

func (g *memGen) next() []byte {
	g.idx++
	g.now += int64(g.r.IntN(300))
	var cmds [][][]byte
	for range 1 + g.r.IntN(3) {
		cmds = append(cmds, args(g.command()...))
	}
	kind := entry.Commands
	if g.r.IntN(8) == 0 {
		kind = entry.Multi
	}
	return encode(kind, g.now, g.r.Uint64(), cmds...)
}

// checkMemory compares the incrementally maintained count with a recount
// of the whole keyspace.
func checkMemory(t *testing.T, s *shard.TestSM, when string) {
	t.Helper()
	db := s.DB()
	if got, want := db.UsedMemory(), db.RecountMemory(); got != want {
		t.Fatalf("%s: UsedMemory %d, recount %d (keys %d)", when, got, want, db.Len())
	}
}

// TestMemoryAccountingMatchesRecount runs random workloads of every type,
// taking snapshots meanwhile (so values shared with a snapshot are cloned
// before they change), and checks after every entry that the maintained
// count equals a from-scratch recount; then that a replica restored from a
// snapshot, and one that replayed the log, count the same.
func TestMemoryAccountingMatchesRecount(t *testing.T) {
	for seed := range uint64(3) {
		g := &memGen{r: rand.New(rand.NewPCG(seed, 7)), now: 1_700_000_000_000}
		s := shard.NewTestSM(table)
		var log [][]byte
		var peak int64
		for i := range 3000 {
			e := g.next()
			log = append(log, e)
			apply(t, s, g.idx, e)
			checkMemory(t, s, "seed "+strconv.Itoa(int(seed))+" entry "+strconv.Itoa(i))
			peak = max(peak, s.DB().UsedMemory())
			if i%250 == 0 {
				// A snapshot point: older items become shared.
				if _, err := s.SM().PrepareSnapshot(); err != nil {
					t.Fatal(err)
				}
			}
		}
		if peak < 50_000 {
			t.Fatalf("seed %d: workload too small (peak %d bytes)", seed, peak)
		}
		ctx, err := s.SM().PrepareSnapshot()
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := s.SM().SaveSnapshot(ctx, &buf, nil, nil); err != nil {
			t.Fatal(err)
		}
		restored := shard.NewTestSM(table)
		if err := restored.SM().RecoverFromSnapshot(&buf, nil, nil); err != nil {
			t.Fatal(err)
		}
		checkMemory(t, restored, "restored")
		if a, b := s.DB().UsedMemory(), restored.DB().UsedMemory(); a != b {
			t.Fatalf("seed %d: used %d, restored replica %d", seed, a, b)
		}
		replayed := shard.NewTestSM(table)
		for i, e := range log {
			apply(t, replayed, uint64(i+1), e)
		}
		if a, b := s.DB().UsedMemory(), replayed.DB().UsedMemory(); a != b {
			t.Fatalf("seed %d: used %d, replayed replica %d", seed, a, b)
		}
	}
}

// TestMemoryModelIsClose checks the model against the bytes of a plain
// dataset: 10,000 keys of 100-byte values count about what they hold plus
// a per-key overhead, and deleting them returns the count to zero.
func TestMemoryModelIsClose(t *testing.T) {
	s := shard.NewTestSM(table)
	val := strings.Repeat("v", 100)
	idx := uint64(0)
	for b := range 100 {
		var cmds [][][]byte
		for i := range 100 {
			cmds = append(cmds, args("set", "key:"+strconv.Itoa(b*100+i), val))
		}
		idx++
		apply(t, s, idx, encode(entry.Commands, 1000, idx, cmds...))
	}
	used := s.DB().UsedMemory()
	if per := used / 10_000; per < 150 || per > 400 {
		t.Fatalf("%d bytes a key for 100-byte values", per)
	}
	idx++
	do(t, s, idx, 1000, "flushall")
	if u := s.DB().UsedMemory(); u != 0 {
		t.Fatalf("used %d after FLUSHALL", u)
	}
}

var (
	oomErr      = reply.Error("OOM command not allowed when used memory > 'maxmemory'.")
	execAbortOO = reply.Error("EXECABORT Transaction discarded because of: OOM command not allowed when used memory > 'maxmemory'.")
)

func fill(t *testing.T, s *shard.TestSM, idx *uint64, prefix string, n int, ttl bool) {
	t.Helper()
	var cmds [][][]byte
	for i := range n {
		c := []string{"set", prefix + strconv.Itoa(i), strings.Repeat("d", 200)}
		if ttl {
			c = append(c, "ex", strconv.Itoa(1000+i))
		}
		cmds = append(cmds, args(c...))
	}
	*idx++
	apply(t, s, *idx, encode(entry.Commands, 1000, *idx, cmds...))
}

// TestNoEvictionOOMAtApply: over maxmemory under noeviction, DenyOOM
// commands get Redis's OOM error at apply time, on every replica alike,
// while reads, deletes and other non-DenyOOM writes work; a transaction
// holding a DenyOOM command is refused whole.
func TestNoEvictionOOMAtApply(t *testing.T) {
	s := shard.NewTestSM(table)
	idx := uint64(0)
	fill(t, s, &idx, "k", 50, false)
	db := s.DB()
	db.Cfg.MaxMemory = db.UsedMemory() - 1
	next := func() uint64 { idx++; return idx }
	for _, cmd := range [][]string{{"set", "new", "v"}, {"incr", "k1"}, {"hset", "h", "f", "v"}, {"rpush", "l", "a"}, {"setnx", "n", "1"}, {"append", "k1", "x"}} {
		if v := do(t, s, next(), 1000, cmd...); !reply.Equal(v, oomErr) {
			t.Fatalf("%q over maxmemory: %v", cmd, v)
		}
	}
	// Not DenyOOM: answered normally.
	if v := do(t, s, next(), 1000, "expire", "k2", "100"); !reply.Equal(v, reply.Int(1)) {
		t.Fatalf("expire: %v", v)
	}
	if v := do(t, s, next(), 1000, "lpop", "nolist"); v.IsError() {
		t.Fatalf("lpop: %v", v)
	}
	// A transaction with a DenyOOM command is refused whole; one without
	// runs.
	rs := replies(t, apply(t, s, next(), encode(entry.Multi, 1000, 1, args("get", "k3"), args("set", "k3", "x"))))
	if len(rs) != 1 || !reply.Equal(rs[0], execAbortOO) {
		t.Fatalf("multi with set: %v", rs)
	}
	rs = replies(t, apply(t, s, next(), encode(entry.Multi, 1000, 1, args("get", "k3"), args("del", "k4"))))
	if len(rs) != 1 || rs[0].IsError() || len(rs[0].Elems) != 2 {
		t.Fatalf("multi with get+del: %v", rs)
	}
	// Deleting frees memory; writes work again.
	if v := do(t, s, next(), 1000, "del", "k5", "k6"); !reply.Equal(v, reply.Int(2)) {
		t.Fatalf("del: %v", v)
	}
	if v := do(t, s, next(), 1000, "set", "k5", "v"); !reply.Equal(v, reply.OK) {
		t.Fatalf("set after freeing memory: %v", v)
	}
	// volatile-* with no key that has an expiry cannot evict: OOM too.
	// (k2 got one above: remove it.)
	do(t, s, next(), 1000, "persist", "k2")
	db.Cfg.MaxMemory = db.UsedMemory() - 1
	db.Cfg.MaxMemoryPolicy = keyspace.VolatileLRU
	if v := do(t, s, next(), 1000, "set", "x", "v"); !reply.Equal(v, oomErr) {
		t.Fatalf("volatile-lru without volatile keys: %v", v)
	}
	// An eviction policy with keys to evict lets the write through; the
	// leader evicts.
	db.Cfg.MaxMemoryPolicy = keyspace.AllKeysLRU
	if v := do(t, s, next(), 1000, "set", "x", "v"); !reply.Equal(v, reply.OK) {
		t.Fatalf("allkeys-lru over the limit: %v", v)
	}
}

// TestEvictEntry: an Evict entry deletes the listed keys that the policy
// may evict, counts them and is replayed identically.
func TestEvictEntry(t *testing.T) {
	evict := func(keys ...string) []byte {
		var cmds [][][]byte
		for _, k := range keys {
			cmds = append(cmds, args(k))
		}
		return encode(entry.Evict, 2000, 1, cmds...)
	}
	build := func() (*shard.TestSM, *uint64) {
		s := shard.NewTestSM(table)
		idx := uint64(0)
		fill(t, s, &idx, "p", 10, false)
		fill(t, s, &idx, "v", 10, true)
		return s, &idx
	}
	for _, tc := range []struct {
		policy  keyspace.EvictionPolicy
		max     int64
		evicted int
	}{
		{keyspace.NoEviction, 1, 0},    // the policy no longer evicts
		{keyspace.AllKeysLRU, 0, 0},    // no maxmemory
		{keyspace.AllKeysLRU, 1, 4},    // p1 p2 v1 v2
		{keyspace.AllKeysRandom, 1, 4}, // the same: the leader chose
		{keyspace.VolatileTTL, 1, 2},   // only v1 v2
		{keyspace.VolatileLFU, 1, 2},
	} {
		s, idx := build()
		db := s.DB()
		db.Cfg.MaxMemory, db.Cfg.MaxMemoryPolicy = tc.max, tc.policy
		before := db.UsedMemory()
		*idx++
		e := evict("p1", "p2", "v1", "v2", "missing")
		r := apply(t, s, *idx, e)
		if int(r.Value) != tc.evicted || int(db.Stats.EvictedKeys.Load()) != tc.evicted || db.Len() != 20-tc.evicted {
			t.Fatalf("%v max %d: evicted %d (stat %d), keys %d; want %d", tc.policy, tc.max, r.Value, db.Stats.EvictedKeys.Load(), db.Len(), tc.evicted)
		}
		if tc.evicted > 0 && db.UsedMemory() >= before {
			t.Fatalf("%v: used %d after evicting, %d before", tc.policy, db.UsedMemory(), before)
		}
		checkMemory(t, s, tc.policy.String())
		// Replaying the same entries on another replica gives the same
		// state.
		r2, idx2 := build()
		r2.DB().Cfg.MaxMemory, r2.DB().Cfg.MaxMemoryPolicy = tc.max, tc.policy
		*idx2++
		apply(t, r2, *idx2, e)
		if digest(s) != digest(r2) || s.DB().UsedMemory() != r2.DB().UsedMemory() {
			t.Fatalf("%v: replica differs after replaying the Evict entry", tc.policy)
		}
	}
}
