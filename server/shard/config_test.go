package shard_test

import (
	"bytes"
	"strconv"
	"testing"
	"time"

	"github.com/cairndb/cairn/server/entry"
	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/server/shard"
)

// TestSMConfigEntry: an entry.Config changes db.Cfg at its log index, as a
// whole or not at all; an older directory epoch changes nothing; commands
// after it see the change; a snapshot carries it.
func TestSMConfigEntry(t *testing.T) {
	s := shard.NewTestSM(table)
	cfgEntry := func(idx uint64, pairs ...string) string {
		var cmds [][][]byte
		for i := 0; i+1 < len(pairs); i += 2 {
			cmds = append(cmds, args(pairs[i], pairs[i+1]))
		}
		rs := replies(t, apply(t, s, idx, encode(entry.Config, 1000, idx, cmds...)))
		if len(rs) != 1 {
			t.Fatalf("%d replies", len(rs))
		}
		return rs[0].String()
	}
	do(t, s, 1, 1000, "hset", "before", "a", "1", "b", "2", "c", "3")
	if got := cfgEntry(2, "hash-max-listpack-entries", "2", "proto-max-bulk-len", "1048576"); got != "OK" {
		t.Fatal(got)
	}
	if got := cfgEntry(3, "set-max-intset-entries", "5", "hash-max-listpack-entries", "x"); got == "OK" {
		t.Fatal("a bad value was accepted")
	}
	if got := s.DB().Cfg.SetMaxIntsetEntries; got != 512 {
		t.Fatalf("a refused entry changed set-max-intset-entries to %d", got)
	}
	if got := cfgEntry(4, "#epoch", "5", "zset-max-listpack-entries", "7"); got != "OK" {
		t.Fatal(got)
	}
	cfgEntry(5, "#epoch", "4", "zset-max-listpack-entries", "9") // stale
	if got := s.DB().Cfg.ZSetMaxListpackEntries; got != 7 {
		t.Fatalf("stale epoch applied: %d", got)
	}
	do(t, s, 6, 1000, "hset", "after", "a", "1", "b", "2", "c", "3")
	if enc := s.DB().Peek([]byte("before")).Obj.Encoding(); enc != "listpack" {
		t.Fatalf("before: %s", enc)
	}
	if enc := s.DB().Peek([]byte("after")).Obj.Encoding(); enc != "hashtable" {
		t.Fatalf("after: %s", enc)
	}
	if v := do(t, s, 7, 1000, "setrange", "big", "2000000", "x"); !v.IsError() {
		t.Fatalf("SETRANGE past the replicated proto-max-bulk-len: %s", v)
	}

	ctx, _ := s.SM().PrepareSnapshot()
	var buf bytes.Buffer
	if err := s.SM().SaveSnapshot(ctx, &buf, nil, nil); err != nil {
		t.Fatal(err)
	}
	r := shard.NewTestSM(table)
	if err := r.SM().RecoverFromSnapshot(bytes.NewReader(buf.Bytes()), nil, nil); err != nil {
		t.Fatal(err)
	}
	if r.DB().Cfg != s.DB().Cfg || r.DB().StateDigest() != s.DB().StateDigest() {
		t.Fatalf("recovered config %+v, want %+v", r.DB().Cfg, s.DB().Cfg)
	}
	// The epoch came back too: an entry older than it is still stale.
	apply(t, r, 8, encode(entry.Config, 1000, 8, args("#epoch", "4"), args("zset-max-listpack-entries", "9")))
	if got := r.DB().Cfg.ZSetMaxListpackEntries; got != 7 {
		t.Fatalf("stale epoch applied after recovery: %d", got)
	}
}

// TestSMConfigLFULazyfree: lfu-log-factor, lfu-decay-time and the
// lazyfree-lazy-user-* parameters are replicated: set by a Config entry on
// every replica at the same index, carried by snapshots (two replicas
// agree on the state digest), and lazyfree-lazy-user-del/-flush change
// what apply frees lazily. A Config entry naming a parameter this binary
// does not have halts the replica.
func TestSMConfigLFULazyfree(t *testing.T) {
	a, b := shard.NewTestSM(table), shard.NewTestSM(table)
	cfg := encode(entry.Config, 1000, 1, args("lfu-log-factor", "0"), args("lfu-decay-time", "7"),
		args("lazyfree-lazy-user-del", "yes"), args("lazyfree-lazy-user-flush", "yes"))
	for _, s := range []*shard.TestSM{a, b} {
		if rs := replies(t, apply(t, s, 1, cfg)); len(rs) != 1 || rs[0].String() != "OK" {
			t.Fatalf("config entry: %v", rs)
		}
		c := s.DB().Cfg
		if c.LFULogFactor != 0 || c.LFUDecayTime != 7 || c.LazyfreeLazyUserDel != 1 || c.LazyfreeLazyUserFlush != 1 {
			t.Fatalf("config %+v", c)
		}
	}
	if a.DB().StateDigest() != b.DB().StateDigest() {
		t.Fatal("replicas disagree")
	}
	// Lazy freeing follows the replicated values (the counters are per
	// process: measure one replica at a time).
	fields := []string{"hset", "h"}
	for i := range 200 { // a hashtable: free effort 200
		fields = append(fields, "f"+strconv.Itoa(i), "v")
	}
	do(t, a, 2, 1000, fields...)
	_, before := keyspace.LazyfreeStats()
	do(t, a, 3, 1000, "del", "h")
	waitFreed(t, before+1)
	do(t, a, 4, 1000, "mset", "x", "1", "y", "2")
	_, before = keyspace.LazyfreeStats()
	do(t, a, 5, 1000, "flushall")
	waitFreed(t, before+2)
	// Snapshot round trip.
	ctx, _ := a.SM().PrepareSnapshot()
	var buf bytes.Buffer
	if err := a.SM().SaveSnapshot(ctx, &buf, nil, nil); err != nil {
		t.Fatal(err)
	}
	r := shard.NewTestSM(table)
	if err := r.SM().RecoverFromSnapshot(bytes.NewReader(buf.Bytes()), nil, nil); err != nil {
		t.Fatal(err)
	}
	if r.DB().Cfg != a.DB().Cfg || r.DB().StateDigest() != a.DB().StateDigest() {
		t.Fatalf("recovered config %+v, want %+v", r.DB().Cfg, a.DB().Cfg)
	}
	// A parameter from a later version stops the replica.
	apply(t, b, 2, encode(entry.Config, 1000, 2, args("lfu-future-knob", "1")))
	if b.Halted() == "" {
		t.Fatal("unknown config parameter applied without halting")
	}
}

func waitFreed(t *testing.T, want int64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		pending, freed := keyspace.LazyfreeStats()
		if pending == 0 {
			if freed != want {
				t.Fatalf("lazyfreed_objects %d, want %d", freed, want)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("lazy freeing does not finish")
		}
		time.Sleep(time.Millisecond)
	}
}
