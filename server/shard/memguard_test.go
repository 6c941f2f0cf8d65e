package shard

import (
	"testing"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/command/keys"
	"github.com/cairndb/cairn/server/command/strs"
	"github.com/cairndb/cairn/server/entry"
	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/server/reply"
)

func TestReadRSS(t *testing.T) {
	if readRSS() <= 0 {
		t.Error("readRSS found no resident memory")
	}
}

// TestAdmit: the leader's check before proposing. While the process is
// over its memory guard, or memory is over maxmemory with nothing to
// evict, a batch of DenyOOM commands is answered with the OOM error
// without entering the log, and so is a transaction holding one; a batch
// with another command goes to the log (apply answers each command).
func TestAdmit(t *testing.T) {
	s := &Shard{sm: &stateMachine{db: keyspace.New(), table: command.NewTable(strs.Specs, keys.Specs)}}
	a := func(v ...string) [][]byte {
		out := make([][]byte, len(v))
		for i := range v {
			out[i] = []byte(v[i])
		}
		return out
	}
	set, del := a("set", "k", "v"), a("del", "k")
	check := func(when string, kind entry.Kind, cmds [][][]byte, want ...reply.Value) {
		t.Helper()
		p := s.admit(kind, cmds, 100)
		if len(want) == 0 {
			if p != nil {
				t.Fatalf("%s: refused %q: %v", when, cmds, p.pre)
			}
			return
		}
		if p == nil || len(p.pre) != len(want) {
			t.Fatalf("%s: %q admitted", when, cmds)
		}
		for i := range want {
			if !reply.Equal(p.pre[i], want[i]) {
				t.Fatalf("%s: reply %v, want %v", when, p.pre[i], want[i])
			}
		}
	}
	check("no limit", entry.Commands, [][][]byte{set})

	memGuard.over.Store(true)
	check("guard", entry.Commands, [][][]byte{set, set}, errOOM, errOOM)
	check("guard, mixed batch", entry.Commands, [][][]byte{set, del})
	check("guard, multi", entry.Multi, [][][]byte{del, set}, errExecAbortOOM)
	check("guard, watched multi", entry.WatchedMulti, [][][]byte{a("k", "0"), set}, errExecAbortOOM)
	check("guard, multi without denyoom", entry.Multi, [][][]byte{del})
	if !s.OverMemory() {
		t.Fatal("OverMemory false over the guard")
	}
	memGuard.over.Store(false)

	s.sm.mem.max.Store(1000)
	s.sm.mem.used.Store(2000)
	s.sm.mem.keys.Store(10)
	check("noeviction over maxmemory", entry.Commands, [][][]byte{set}, errOOM)
	s.sm.mem.policy.Store(uint32(keyspace.VolatileLRU))
	check("volatile-lru, nothing volatile", entry.Commands, [][][]byte{set}, errOOM)
	s.sm.mem.used.Store(500)
	check("under maxmemory", entry.Commands, [][][]byte{set})
}
