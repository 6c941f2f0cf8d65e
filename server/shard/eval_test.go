package shard_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"

	sm "github.com/lni/dragonboat/v4/statemachine"

	"github.com/cairndb/cairn/modules"
	"github.com/cairndb/cairn/modules/lua"
	"github.com/cairndb/cairn/modules/lua/luatest"
	"github.com/cairndb/cairn/server/entry"
	"github.com/cairndb/cairn/server/reply"
	"github.com/cairndb/cairn/server/shard"
)

// evalLog is a log of Lua script entries among plain writes: SCRIPT LOAD,
// EVAL and EVALSHA that write (with math.random from the entry's seed),
// EVALSHA of unknown scripts (NOSCRIPT), scripts that run out of fuel
// after writing, a transaction with EVAL, SCRIPT FLUSH, and scripts whose
// writes depend on table iteration order (cjson objects, cmsgpack maps).
func evalLog(seed uint64) [][]byte {
	r := rand.New(rand.NewPCG(seed, 21))
	now := int64(1_700_000_000_000)
	var log [][]byte
	add := func(kind entry.Kind, cmds ...[][]byte) {
		now += r.Int64N(50)
		log = append(log, encode(kind, now, r.Uint64(), cmds...))
	}
	const incr = "return redis.call('incrby', KEYS[1], math.random(10))"
	const spin = "redis.call('set', KEYS[1], ARGV[1]) while true do end"
	const json = "local t = {} for i = 1, 6 do t['k' .. math.random(100)] = {i, bit.bxor(i, 0x55)} end " +
		"local j = cjson.encode(cjson.decode(cjson.encode(t))) redis.call('set', KEYS[1], j) " +
		"redis.call('append', KEYS[1], cmsgpack.pack(cmsgpack.unpack(cmsgpack.pack(t)))) return #j"
	incrSHA := modules.ScriptSHA([]byte(incr))
	keys := []string{"a", "b", "c"}
	add(entry.Commands, args("EVALSHA", incrSHA, "1", "a")) // NOSCRIPT: not loaded yet
	for i := 0; i < 120; i++ {
		if i == 90 {
			add(entry.Commands, args("SCRIPT", "FLUSH"), args("EVALSHA", incrSHA, "1", "a")) // NOSCRIPT again
		}
		k := keys[r.IntN(len(keys))]
		switch n := r.IntN(20); {
		case n < 2:
			add(entry.Commands, args("SCRIPT", "LOAD", incr))
		case n < 8:
			add(entry.Commands, args("EVALSHA", incrSHA, "1", k)) // NOSCRIPT until loaded
		case n < 11:
			add(entry.Commands, args("EVAL", incr, "1", k), args("EVAL", "return {math.random(), redis.call('get', KEYS[1])}", "1", k),
				args("EVAL", json, "1", k+":json")) // object key order and cmsgpack maps
		case n < 12:
			add(entry.Commands, args("EVAL", spin, "1", k, fmt.Sprint("spun", i))) // out of fuel mid-write
		case n < 13:
			add(entry.Multi, args("SET", k, "5"), args("EVAL", incr, "1", k))
		case n < 14 && i%40 == 0:
			add(entry.Commands, args("SCRIPT", "FLUSH"))
		default:
			add(entry.Commands, args("INCR", k))
		}
	}
	return log
}

// TestSMEvalDeterminism: replicas applying the same log of script entries
// (one by one, all at once, and from a snapshot taken midway) give the
// same replies and end with the same keyspace and the same script cache.
func TestSMEvalDeterminism(t *testing.T) {
	luatest.Ensure(t)
	if _, err := lua.Library(context.Background()); err != nil {
		t.Fatal(err)
	}
	log := evalLog(1)
	n := len(log)
	a := shard.NewTestSM(table)
	res := make([]sm.Result, n)
	var snap bytes.Buffer
	fuel, noscript, ok := 0, 0, 0
	var snapDigest uint64
	for i, e := range log {
		res[i] = apply(t, a, uint64(i+1), e)
		res[i].Data = append([]byte(nil), res[i].Data...)
		for _, v := range replies(t, res[i]) {
			switch {
			case v.Kind == reply.KindError && strings.Contains(string(v.Str), "ran out of fuel"):
				fuel++
			case v.Kind == reply.KindError && strings.HasPrefix(string(v.Str), "NOSCRIPT"):
				noscript++
			case v.Kind == reply.KindInt:
				ok++
			}
		}
		if i+1 == n/2 {
			ctx, err := a.SM().PrepareSnapshot()
			if err != nil {
				t.Fatal(err)
			}
			if err := a.SM().SaveSnapshot(ctx, &snap, nil, nil); err != nil {
				t.Fatal(err)
			}
			snapDigest = a.FunctionDigest()
		}
	}
	if fuel == 0 || noscript == 0 || ok == 0 {
		t.Fatalf("the log does not exercise fuel (%d), NOSCRIPT (%d) and successful scripts (%d)", fuel, noscript, ok)
	}
	t.Logf("%d entries: %d out of fuel, %d NOSCRIPT, %d integer replies", n, fuel, noscript, ok)
	entries := func(from, to int) []sm.Entry {
		out := make([]sm.Entry, 0, to-from)
		for i := from; i < to; i++ {
			out = append(out, sm.Entry{Index: uint64(i + 1), Cmd: log[i]})
		}
		return out
	}
	check := func(name string, from int, out []sm.Entry) {
		t.Helper()
		for j, e := range out {
			i := from + j
			if e.Result.Value != res[i].Value || !bytes.Equal(e.Result.Data, res[i].Data) {
				t.Fatalf("%s: entry %d replies differ:\n%v\nvs\n%v", name, i, replies(t, e.Result), replies(t, res[i]))
			}
		}
	}
	b := shard.NewTestSM(table)
	for i := range log {
		out, err := b.SM().Update(entries(i, i+1))
		if err != nil {
			t.Fatal(err)
		}
		check("one by one", i, out)
	}
	c := shard.NewTestSM(table)
	out, err := c.SM().Update(entries(0, n))
	if err != nil {
		t.Fatal(err)
	}
	check("all at once", 0, out)
	d := shard.NewTestSM(table)
	if err := d.SM().RecoverFromSnapshot(&snap, nil, nil); err != nil {
		t.Fatal(err)
	}
	if d.FunctionDigest() != snapDigest {
		t.Fatalf("the script cache restored from the snapshot differs (digest %x, want %x)", d.FunctionDigest(), snapDigest)
	}
	out, err = d.SM().Update(entries(n/2, n))
	if err != nil {
		t.Fatal(err)
	}
	check("from snapshot", n/2, out)
	for name, s := range map[string]*shard.TestSM{"one by one": b, "all at once": c, "from snapshot": d} {
		if s.DB().Digest() != a.DB().Digest() {
			t.Fatalf("%s: keyspace digest differs", name)
		}
		if s.FunctionDigest() != a.FunctionDigest() {
			t.Fatalf("%s: function/script digest differs", name)
		}
		if s.Halted() != "" || s.Panics() != 0 {
			t.Fatalf("%s: halted %q, %d panics", name, s.Halted(), s.Panics())
		}
	}
}

// TestEvalGatedByClusterVersion: EVAL and SCRIPT came with entry format 7
// (older binaries answered them with an error and would diverge) and
// carry format 9 since scripts spend other fuel; while the cluster
// version is 8 a leader refuses them, then accepts them.
func TestEvalGatedByClusterVersion(t *testing.T) {
	luatest.Ensure(t)
	var cv atomic.Int32
	cv.Store(8)
	s := startVersioned(t, table, &cv)
	for _, cmd := range [][][]byte{args("EVAL", "return 1", "0"), args("SCRIPT", "LOAD", "return 1")} {
		if _, err := s.Propose(entry.Commands, [][][]byte{cmd}).Wait(); !errors.Is(err, shard.ErrFeatureGated) {
			t.Fatalf("%q at cluster version 8: %v, want ErrFeatureGated", cmd, err)
		}
	}
	cv.Store(9)
	out, err := s.Propose(entry.Commands, [][][]byte{args("EVAL", "return 7", "0")}).Wait()
	if err != nil || len(out) != 1 || out[0].Int != 7 {
		t.Fatalf("at cluster version 9: %v %v", out, err)
	}
}
