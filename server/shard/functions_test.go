package shard_test

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"

	sm "github.com/lni/dragonboat/v4/statemachine"

	"github.com/cairndb/cairn/modules/modulestest"
	"github.com/cairndb/cairn/server/entry"
	"github.com/cairndb/cairn/server/reply"
	"github.com/cairndb/cairn/server/shard"
)

// functionLog is a log of FUNCTION and FCALL entries among plain writes:
// loads, calls that write, calls that run out of fuel after writing,
// calls reading the entry's time and seed, a transaction with FCALL,
// DELETE, RESTORE and FLUSH.
func functionLog(t *testing.T, seed uint64) [][]byte {
	r := rand.New(rand.NewPCG(seed, 12))
	test, incr := modulestest.Fixture(t, "test"), modulestest.Fixture(t, "c_incr")
	now := int64(1_700_000_000_000)
	var log [][]byte
	add := func(kind entry.Kind, cmds ...[][]byte) {
		now += r.Int64N(50)
		log = append(log, encode(kind, now, r.Uint64(), cmds...))
	}
	add(entry.Commands, [][]byte{[]byte("FUNCTION"), []byte("LOAD"), modulestest.Payload("t", test)})
	add(entry.Commands, [][]byte{[]byte("FUNCTION"), []byte("LOAD"), modulestest.Payload("c", incr)})
	keys := []string{"a", "b", "c", "{x}1", "{x}2"}
	var dump []byte
	for i := 0; i < 300; i++ {
		k := keys[r.IntN(len(keys))]
		switch n := r.IntN(20); {
		case n < 6:
			add(entry.Commands, args("FCALL", "incr", "1", k))
		case n < 8:
			add(entry.Commands, args("FCALL", "incrspin", "1", k)) // out of fuel mid-write
		case n < 10:
			add(entry.Commands, args("FCALL", "cincr", "1", k), args("FCALL", "random", "0"), args("FCALL", "time", "0"))
		case n < 12:
			add(entry.Multi, args("SET", k, "5"), args("FCALL", "incr", "1", k), args("FCALL_RO", "ping", "0"))
		case n < 13:
			add(entry.Commands, args("FCALL", "trap", "0"), args("FCALL", "recurse", "0"), args("FCALL", "incr", "0", k))
		case n < 14:
			add(entry.Commands, args("SET", k, "notanumber"), args("FCALL", "incr", "1", k))
		case n < 15 && i%50 == 0:
			if dump == nil {
				add(entry.Commands, args("FUNCTION", "DELETE", "c"))
				dump = []byte("x")
			} else {
				add(entry.Commands, args("FUNCTION", "LOAD", "REPLACE", string(modulestest.Payload("c", incr))))
			}
		case n < 16 && i == 200:
			add(entry.Commands, args("FUNCTION", "FLUSH"))
			add(entry.Commands, [][]byte{[]byte("FUNCTION"), []byte("LOAD"), modulestest.Payload("t", test)})
		default:
			add(entry.Commands, args("INCR", k))
		}
	}
	return log
}

// TestSMFunctionsDeterminism: three state machines apply the same log of
// FUNCTION/FCALL entries (one entry per Update, random batches, all at
// once) and a fourth restores a snapshot taken midway and replays the
// rest; all give the same replies and end with the same keyspace and
// library digests, including calls that ran out of fuel after writing.
func TestSMFunctionsDeterminism(t *testing.T) {
	for seed := range uint64(2) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			log := functionLog(t, seed)
			n := len(log)
			a := shard.NewTestSM(table)
			res := make([]sm.Result, n)
			var snap bytes.Buffer
			fuel := 0
			for i, e := range log {
				res[i] = apply(t, a, uint64(i+1), e)
				res[i].Data = append([]byte(nil), res[i].Data...)
				for _, v := range replies(t, res[i]) {
					if v.Kind == reply.KindError && strings.Contains(string(v.Str), "ran out of fuel") {
						fuel++
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
				}
			}
			if fuel == 0 {
				t.Fatal("no call ran out of fuel: the log does not exercise it")
			}
			if a.FunctionDigest() == 0 {
				t.Fatal("no library set after the log")
			}
			check := func(name string, s *shard.TestSM, from int, out []sm.Entry) {
				t.Helper()
				for j, e := range out {
					i := from + j
					if e.Result.Value != res[i].Value || !bytes.Equal(e.Result.Data, res[i].Data) {
						t.Fatalf("%s: entry %d replies differ:\n%v\nvs\n%v", name, i, replies(t, e.Result), replies(t, res[i]))
					}
				}
			}
			entries := func(from, to int) []sm.Entry {
				out := make([]sm.Entry, 0, to-from)
				for i := from; i < to; i++ {
					out = append(out, sm.Entry{Index: uint64(i + 1), Cmd: log[i]})
				}
				return out
			}
			b := shard.NewTestSM(table)
			r := rand.New(rand.NewPCG(seed, 3))
			for i := 0; i < n; {
				j := min(n, i+1+r.IntN(20))
				out, err := b.SM().Update(entries(i, j))
				if err != nil {
					t.Fatal(err)
				}
				check("batched", b, i, out)
				i = j
			}
			c := shard.NewTestSM(table)
			out, err := c.SM().Update(entries(0, n))
			if err != nil {
				t.Fatal(err)
			}
			check("all at once", c, 0, out)
			d := shard.NewTestSM(table)
			if err := d.SM().RecoverFromSnapshot(&snap, nil, nil); err != nil {
				t.Fatal(err)
			}
			out, err = d.SM().Update(entries(n/2, n))
			if err != nil {
				t.Fatal(err)
			}
			check("from snapshot", d, n/2, out)
			for name, s := range map[string]*shard.TestSM{"batched": b, "all at once": c, "from snapshot": d} {
				if s.DB().Digest() != a.DB().Digest() {
					t.Fatalf("%s: keyspace digest differs", name)
				}
				if s.FunctionDigest() != a.FunctionDigest() {
					t.Fatalf("%s: library digest differs", name)
				}
				if s.Halted() != "" || s.Panics() != 0 {
					t.Fatalf("%s: halted %q, %d panics", name, s.Halted(), s.Panics())
				}
			}
		})
	}
}

// TestSMFunctionSnapshot: the library set survives a snapshot (FCALL works
// on the restored replica) and a function section from a newer binary
// halts the replica instead of being skipped.
func TestSMFunctionSnapshot(t *testing.T) {
	a := shard.NewTestSM(table)
	now := int64(1_700_000_000_000)
	apply(t, a, 1, encode(entry.Commands, now, 1, [][]byte{[]byte("FUNCTION"), []byte("LOAD"), modulestest.Payload("c", modulestest.Fixture(t, "c_incr"))}))
	if v := do(t, a, 2, now, "FCALL", "cincr", "1", "k"); v.Kind != reply.KindInt || v.Int != 1 {
		t.Fatalf("FCALL: %v", v)
	}
	var snap bytes.Buffer
	ctx, err := a.SM().PrepareSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	if err := a.SM().SaveSnapshot(ctx, &snap, nil, nil); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(snap.Bytes(), []byte("CAIRNSM6")) {
		t.Fatalf("snapshot header %q", snap.Bytes()[:8])
	}
	b := shard.NewTestSM(table)
	if err := b.SM().RecoverFromSnapshot(bytes.NewReader(snap.Bytes()), nil, nil); err != nil {
		t.Fatal(err)
	}
	if v := do(t, b, 3, now, "FCALL", "cincr", "1", "k"); v.Kind != reply.KindInt || v.Int != 2 {
		t.Fatalf("FCALL after restore: %v", v)
	}
	if b.FunctionDigest() != a.FunctionDigest() {
		t.Fatal("library digest differs after restore")
	}

	newer := bytes.Replace(snap.Bytes(), []byte("CAIRNFN1"), []byte("CAIRNFN9"), 1)
	if bytes.Equal(newer, snap.Bytes()) {
		t.Fatal("no function section in the snapshot")
	}
	c := shard.NewTestSM(table)
	if err := c.SM().RecoverFromSnapshot(bytes.NewReader(newer), nil, nil); err != nil {
		t.Fatal(err)
	}
	if h := c.Halted(); !strings.Contains(h, "function section") {
		t.Fatalf("halted %q, want a halt on the newer function section", h)
	}
}

// TestFunctionsGatedByClusterVersion: FUNCTION and FCALL came with entry
// format 3 and carry format 9 since calls spend other fuel; while the
// cluster version is 8 a leader refuses them (an older node would halt on
// them, or spend other fuel) without reaching the log, then accepts them.
func TestFunctionsGatedByClusterVersion(t *testing.T) {
	var cv atomic.Int32
	cv.Store(8)
	s := startVersioned(t, table, &cv)
	load := [][]byte{[]byte("FUNCTION"), []byte("LOAD"), modulestest.Payload("c", modulestest.Fixture(t, "c_incr"))}
	for _, p := range []*shard.Pending{
		s.Propose(entry.Commands, [][][]byte{load}),
		s.Propose(entry.Commands, [][][]byte{args("fcall", "cincr", "1", "k")}),
		s.Propose(entry.Multi, [][][]byte{args("set", "a", "1"), args("EVAL", "return 1", "0")}),
	} {
		if _, err := p.Wait(); !errors.Is(err, shard.ErrFeatureGated) {
			t.Fatalf("at cluster version 8: %v, want ErrFeatureGated", err)
		}
	}
	cv.Store(9)
	out, err := s.Propose(entry.Commands, [][][]byte{load, args("fcall", "cincr", "1", "k")}).Wait()
	if err != nil || len(out) != 2 || string(out[0].Str) != "c" || out[1].Int != 1 {
		t.Fatalf("at cluster version 9: %v %v", out, err)
	}
}

// TestFTCreateGatedByClusterVersion: FT.CREATE carries entry format 10
// (TEXT WEIGHT and STOPWORDS are part of the definition); while the
// cluster version is 9 a leader refuses it, alone or inside MULTI, without
// reaching the log; at 10 it creates the index.
func TestFTCreateGatedByClusterVersion(t *testing.T) {
	var cv atomic.Int32
	cv.Store(9)
	s := startVersioned(t, table, &cv)
	create := args("FT.CREATE", "idx", "SCHEMA", "t", "TEXT", "WEIGHT", "2")
	for _, p := range []*shard.Pending{
		s.Propose(entry.Commands, [][][]byte{create}),
		s.Propose(entry.Multi, [][][]byte{args("set", "a", "1"), create}),
	} {
		if _, err := p.Wait(); !errors.Is(err, shard.ErrFeatureGated) {
			t.Fatalf("at cluster version 9: %v, want ErrFeatureGated", err)
		}
	}
	// Nothing was created: at 10 the same FT.CREATE answers OK (not
	// "Index already exists"), and a second one the error.
	cv.Store(10)
	out, err := s.Propose(entry.Commands, [][][]byte{create, create}).Wait()
	if err != nil || len(out) != 2 || string(out[0].Str) != "OK" || string(out[1].Str) != "Index already exists" {
		t.Fatalf("at cluster version 10: %v %v", out, err)
	}
}
