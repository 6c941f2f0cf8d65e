package shard_test

import (
	"bytes"
	"testing"

	"github.com/cairndb/cairn/server/entry"
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
