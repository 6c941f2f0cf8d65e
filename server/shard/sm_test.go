package shard_test

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	sm "github.com/lni/dragonboat/v4/statemachine"

	"github.com/cairndb/cairn/server"
	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/entry"
	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/server/reply"
	"github.com/cairndb/cairn/server/shard"
)

var table = server.Commands()

func args(s ...string) [][]byte {
	out := make([][]byte, len(s))
	for i, a := range s {
		out[i] = []byte(a)
	}
	return out
}

func encode(kind entry.Kind, t int64, seed uint64, cmds ...[][]byte) []byte {
	e := entry.Entry{Kind: kind, Time: t, Seed: seed, Cmds: cmds}
	return entry.Append(nil, &e)
}

// apply feeds one encoded entry to s at index idx and returns its result.
func apply(t testing.TB, s *shard.TestSM, idx uint64, cmd []byte) sm.Result {
	t.Helper()
	out, err := s.SM().Update([]sm.Entry{{Index: idx, Cmd: cmd}})
	if err != nil {
		t.Fatal(err)
	}
	return out[0].Result
}

// replies decodes an entry result into reply values.
func replies(t testing.TB, r sm.Result) []reply.Value {
	t.Helper()
	var out []reply.Value
	data := r.Data
	for len(data) > 0 {
		v, rest, err := reply.Decode(data)
		if err != nil {
			t.Fatalf("decode result: %v", err)
		}
		out, data = append(out, v), rest
	}
	return out
}

func do(t testing.TB, s *shard.TestSM, idx uint64, now int64, cmd ...string) reply.Value {
	t.Helper()
	rs := replies(t, apply(t, s, idx, encode(entry.Commands, now, idx, args(cmd...))))
	if len(rs) != 1 {
		t.Fatalf("%q: %d replies", cmd, len(rs))
	}
	return rs[0]
}

// gen produces a random but reproducible workload of write entries over a
// small key space, with times that mostly advance and sometimes go back.
type gen struct {
	r   *rand.Rand
	now int64
	idx uint64
}

func (g *gen) key() string {
	if g.r.IntN(3) == 0 {
		return "h" + strconv.Itoa(g.r.IntN(8))
	}
	return "k" + strconv.Itoa(g.r.IntN(16))
}

func (g *gen) val() string {
	switch g.r.IntN(4) {
	case 0:
		return strconv.Itoa(g.r.IntN(100) - 20)
	case 1:
		return strings.Repeat("v", g.r.IntN(80))
	}
	return "x" + strconv.Itoa(g.r.IntN(1000))
}

func (g *gen) ms() string { return strconv.Itoa(1 + g.r.IntN(3000)) }

func (g *gen) command() []string {
	k, r := g.key(), g.r
	switch r.IntN(30) {
	case 0:
		return []string{"set", k, g.val()}
	case 1:
		return []string{"set", k, g.val(), "px", g.ms()}
	case 2:
		return []string{"set", k, g.val(), []string{"nx", "xx", "keepttl", "get"}[r.IntN(4)]}
	case 3:
		return []string{"append", k, g.val()}
	case 4:
		return []string{"setrange", k, strconv.Itoa(r.IntN(20)), g.val()}
	case 5:
		return []string{"incr", k}
	case 6:
		return []string{"incrbyfloat", k, "1.5"}
	case 7:
		return []string{"del", k, g.key()}
	case 8:
		return []string{"pexpire", k, g.ms()}
	case 9:
		return []string{"expire", k, "1"}
	case 10:
		return []string{"persist", k}
	case 11:
		return []string{"pexpireat", k, strconv.FormatInt(g.now+int64(r.IntN(4000))-500, 10)}
	case 12:
		return []string{"rename", k, g.key()}
	case 13:
		return []string{"renamenx", k, g.key()}
	case 14:
		return []string{"copy", k, g.key(), "replace"}
	case 15:
		return []string{"getdel", k}
	case 16:
		return []string{"getex", k, "px", g.ms()}
	case 17:
		return []string{"getset", k, g.val()}
	case 18:
		return []string{"mset", k, g.val(), g.key(), g.val()}
	case 19:
		return []string{"msetnx", k, g.val(), g.key(), g.val()}
	case 20:
		return []string{"psetex", k, g.ms(), g.val()}
	case 21, 22, 23:
		cmd := []string{"hset", k}
		for range 1 + r.IntN(12) {
			cmd = append(cmd, "f"+strconv.Itoa(r.IntN(150)), g.val())
		}
		return cmd
	case 24:
		cmd := []string{"hdel", k}
		for range 1 + r.IntN(5) {
			cmd = append(cmd, "f"+strconv.Itoa(r.IntN(150)))
		}
		return cmd
	case 25:
		return []string{"hincrby", k, "f" + strconv.Itoa(r.IntN(5)), "3"}
	case 26:
		return []string{"hincrbyfloat", k, "f" + strconv.Itoa(r.IntN(5)), "0.25"}
	case 27:
		return []string{"hsetnx", k, "f" + strconv.Itoa(r.IntN(150)), g.val()}
	case 28:
		return []string{"unlink", k}
	default:
		if r.IntN(20) == 0 {
			return []string{"flushall"}
		}
		return []string{"decrby", k, "7"}
	}
}

// next returns the next encoded entry.
func (g *gen) next() []byte {
	g.idx++
	switch {
	case g.r.IntN(10) == 0:
		g.now -= int64(g.r.IntN(1000)) // a clock step back: must not move the applied clock back
	default:
		g.now += int64(g.r.IntN(400))
	}
	seed := g.r.Uint64()
	switch g.r.IntN(12) {
	case 0: // active expiry from the leader
		var keys [][][]byte
		for range 1 + g.r.IntN(5) {
			keys = append(keys, [][]byte{[]byte(g.key())})
		}
		return encode(entry.Expire, g.now, seed, keys...)
	case 1: // a transaction
		var cmds [][][]byte
		for range 1 + g.r.IntN(4) {
			cmds = append(cmds, args(g.command()...))
		}
		return encode(entry.Multi, g.now, seed, cmds...)
	default:
		var cmds [][][]byte
		for range 1 + g.r.IntN(3) {
			cmds = append(cmds, args(g.command()...))
		}
		return encode(entry.Commands, g.now, seed, cmds...)
	}
}

func digest(s *shard.TestSM) uint64 { return s.DB().Digest() }

// TestSMDeterminism applies the same encoded entries to independent state
// machines, in different batchings, one of them restored midway from a
// snapshot taken (and serialized) while it kept applying, and checks that
// they end in the same state with the same replies.
func TestSMDeterminism(t *testing.T) {
	for seed := range uint64(4) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			g := &gen{r: rand.New(rand.NewPCG(seed, 77)), now: 1_700_000_000_000}
			const n = 4000
			log := make([][]byte, n)
			for i := range log {
				log[i] = g.next()
			}
			a, b := shard.NewTestSM(table), shard.NewTestSM(table)

			// a: one entry per Update; the entry bytes are scribbled over
			// after apply, so a handler keeping a reference shows up as a
			// difference from b.
			resA := make([]sm.Result, n)
			snapAt := n / 2
			var snapBuf bytes.Buffer
			var snapDigest uint64
			var snapTime int64
			saved := make(chan error, 1)
			for i := range log {
				cmd := append([]byte(nil), log[i]...)
				resA[i] = apply(t, a, uint64(i+1), cmd)
				resA[i].Data = append([]byte(nil), resA[i].Data...)
				for j := range cmd {
					cmd[j] = 0xAA
				}
				if i+1 == snapAt {
					ctx, err := a.SM().PrepareSnapshot()
					if err != nil {
						t.Fatal(err)
					}
					snapDigest, snapTime = digest(a), a.LastTime()
					go func() {
						saved <- a.SM().SaveSnapshot(ctx, &snapBuf, nil, nil)
					}()
				}
			}
			if err := <-saved; err != nil {
				t.Fatal(err)
			}

			// b: random batches.
			r := rand.New(rand.NewPCG(seed, 1))
			for i := 0; i < n; {
				k := min(n-i, 1+r.IntN(50))
				batch := make([]sm.Entry, k)
				for j := range batch {
					batch[j] = sm.Entry{Index: uint64(i + j + 1), Cmd: log[i+j]}
				}
				out, err := b.SM().Update(batch)
				if err != nil {
					t.Fatal(err)
				}
				for j, e := range out {
					ra := resA[i+j]
					if e.Result.Value != ra.Value || !bytes.Equal(e.Result.Data, ra.Data) {
						t.Fatalf("entry %d: replies differ:\n a %v\n b %v", i+j+1, replies(t, ra), replies(t, e.Result))
					}
				}
				i += k
			}
			if digest(a) != digest(b) {
				t.Fatal("state machines diverged")
			}
			if a.LastTime() != b.LastTime() || a.Applied() != n || b.Applied() != n {
				t.Fatalf("clock %d/%d applied %d/%d", a.LastTime(), b.LastTime(), a.Applied(), b.Applied())
			}

			// c: restored from a's snapshot, then the log tail.
			c := shard.NewTestSM(table)
			if err := c.SM().RecoverFromSnapshot(bytes.NewReader(snapBuf.Bytes()), nil, nil); err != nil {
				t.Fatal(err)
			}
			if digest(c) != snapDigest || c.LastTime() != snapTime {
				t.Fatalf("restored snapshot: digest match %v, clock %d want %d", digest(c) == snapDigest, c.LastTime(), snapTime)
			}
			for i := snapAt; i < n; i++ {
				res := apply(t, c, uint64(i+1), log[i])
				if res.Value != resA[i].Value || !bytes.Equal(res.Data, resA[i].Data) {
					t.Fatalf("entry %d after restore: replies differ:\n a %v\n c %v", i+1, replies(t, resA[i]), replies(t, res))
				}
			}
			if digest(c) != digest(a) {
				t.Fatal("restored state machine diverged")
			}
			errs, oks := 0, 0
			for _, res := range resA {
				for _, v := range replies(t, res) {
					if v.IsError() {
						errs++
					} else {
						oks++
					}
				}
			}
			t.Logf("%d keys at the end, %d lazily/actively expired, %d ok replies, %d errors", a.DB().Len(), a.DB().Stats.ExpiredKeys.Load(), oks, errs)
			if a.DB().Len() == 0 || a.DB().Stats.ExpiredKeys.Load() == 0 || errs > oks/3 {
				t.Fatal("the workload is too weak")
			}
		})
	}
}

// TestSMClockMonotonic: an entry whose leader time is earlier than one
// already applied (a new leader with a slower clock) must not move the
// applied clock back.
func TestSMClockMonotonic(t *testing.T) {
	s := shard.NewTestSM(table)
	do(t, s, 1, 1000, "set", "a", "1", "px", "500") // expires at 1500
	do(t, s, 2, 2000, "set", "b", "1")
	if s.LastTime() != 2000 {
		t.Fatalf("clock %d", s.LastTime())
	}
	// Applied at 1200 by the leader's clock, but the state machine's time
	// is already 2000: relative TTLs count from 2000.
	do(t, s, 3, 1200, "set", "c", "1", "px", "1000")
	if s.LastTime() != 2000 {
		t.Fatalf("clock moved back to %d", s.LastTime())
	}
	if got := s.DB().Peek([]byte("c")).ExpireAt; got != 3000 {
		t.Fatalf("c expires at %d, want 3000", got)
	}
	// a expired at 1500 <= 2000: a write at "1100" sees it gone.
	if v := do(t, s, 4, 1100, "append", "a", "x"); v.Int != 1 {
		t.Fatalf("APPEND on an expired key = %v, want 1", v)
	}
	if it := s.DB().Peek([]byte("a")); it == nil || string(it.Str) != "x" || it.ExpireAt != 0 {
		t.Fatal("APPEND did not see the key expired at the applied clock")
	}
	// An active-expiry entry from the past still uses the applied clock.
	do(t, s, 5, 2000, "set", "d", "1", "px", "100") // 2100
	apply(t, s, 6, encode(entry.Expire, 500, 0, args("d")))
	if s.DB().Peek([]byte("d")) == nil {
		t.Fatal("expire entry deleted a key that is live at the applied clock")
	}
	apply(t, s, 7, encode(entry.Expire, 2100, 0, args("d"), args("missing"), args("b")))
	if s.DB().Peek([]byte("d")) != nil || s.DB().Peek([]byte("b")) == nil {
		t.Fatal("expire entry at 2100")
	}
	// The clock survives a snapshot: after a restore, an older entry time
	// is still not used.
	ctx, _ := s.SM().PrepareSnapshot()
	var buf bytes.Buffer
	if err := s.SM().SaveSnapshot(ctx, &buf, nil, nil); err != nil {
		t.Fatal(err)
	}
	r := shard.NewTestSM(table)
	if err := r.SM().RecoverFromSnapshot(&buf, nil, nil); err != nil {
		t.Fatal(err)
	}
	if r.LastTime() != 2100 {
		t.Fatalf("restored clock %d", r.LastTime())
	}
	do(t, r, 8, 10, "set", "e", "1", "px", "5")
	if got := r.DB().Peek([]byte("e")).ExpireAt; got != 2105 {
		t.Fatalf("after restore: e expires at %d, want 2105", got)
	}
}

// TestSMEntryReplies covers the apply path's replies: batches, MULTI,
// corrupt and unknown entries, commands that may not be applied.
func TestSMEntryReplies(t *testing.T) {
	s := shard.NewTestSM(table)
	res := apply(t, s, 1, encode(entry.Commands, 1000, 1, args("set", "a", "1"), args("incr", "a"), args("hset", "a", "f", "v")))
	rs := replies(t, res)
	want := []reply.Value{reply.OK, reply.Int(2), reply.Error("WRONGTYPE Operation against a key holding the wrong kind of value")}
	if res.Value != 3 || len(rs) != 3 {
		t.Fatalf("batch: value %d, %d replies", res.Value, len(rs))
	}
	for i := range want {
		if !reply.Equal(rs[i], want[i]) {
			t.Errorf("reply %d = %v, want %v", i, rs[i], want[i])
		}
	}
	res = apply(t, s, 2, encode(entry.Multi, 1000, 1, args("incr", "a"), args("get", "a"), args("del", "a")))
	rs = replies(t, res)
	if len(rs) != 1 || rs[0].Kind != reply.KindArray || len(rs[0].Elems) != 3 {
		t.Fatalf("multi: %v", rs)
	}
	if !reply.Equal(rs[0].Elems[0], reply.Int(3)) || !reply.Equal(rs[0].Elems[2], reply.Int(1)) {
		t.Fatalf("multi replies %v", rs[0])
	}
	if !reply.Equal(rs[0].Elems[1], reply.BulkString("3")) {
		t.Fatalf("a read inside a transaction runs at its place: %v", rs[0].Elems[1])
	}

	rs = replies(t, apply(t, s, 3, encode(entry.Commands, 1000, 1, args(), args("set", "a"))))
	if len(rs) != 2 || !rs[0].IsError() || !rs[1].IsError() {
		t.Fatalf("empty/arity: %v", rs)
	}
	// Entries this binary cannot apply (corrupt, unknown kind, version,
	// command, subcommand) stop the shard: TestSMHaltsOnUnknown.
	if s.DB().Len() != 0 {
		t.Fatalf("Len %d", s.DB().Len())
	}
}

func TestSMRecoverBadSnapshot(t *testing.T) {
	s := shard.NewTestSM(table)
	for i := range 50 {
		do(t, s, uint64(i+1), 1000, "hset", "h"+strconv.Itoa(i%5), "f"+strconv.Itoa(i), "v")
	}
	ctx, _ := s.SM().PrepareSnapshot()
	var buf bytes.Buffer
	if err := s.SM().SaveSnapshot(ctx, &buf, nil, nil); err != nil {
		t.Fatal(err)
	}
	good := buf.Bytes()
	for n := range len(good) {
		err := shard.NewTestSM(table).SM().RecoverFromSnapshot(bytes.NewReader(good[:n]), nil, nil)
		if !errors.Is(err, shard.ErrBadSnapshot) && !errors.Is(err, keyspace.ErrBadSnapshot) {
			t.Fatalf("prefix %d/%d: %v", n, len(good), err)
		}
	}
	bad := append([]byte("XAIRNSM3"), good[8:]...)
	if err := shard.NewTestSM(table).SM().RecoverFromSnapshot(bytes.NewReader(bad), nil, nil); !errors.Is(err, shard.ErrBadSnapshot) {
		t.Fatalf("bad header: %v", err)
	}
	// A newer format is not an error to crash on: the shard halts.
	newer := shard.NewTestSM(table)
	if err := newer.SM().RecoverFromSnapshot(bytes.NewReader(append([]byte("CAIRNSM9"), good[8:]...)), nil, nil); err != nil || newer.Halted() == "" {
		t.Fatalf("newer header: %v, halted %q", err, newer.Halted())
	}
	r := shard.NewTestSM(table)
	if err := r.SM().RecoverFromSnapshot(bytes.NewReader(good), nil, nil); err != nil || digest(r) != digest(s) {
		t.Fatalf("good snapshot: %v", err)
	}
}

// TestSMDirtyCountsWritesDuringSave: INFO's rdb_changes_since_last_save
// (Status.Dirty) must count the writes applied after the snapshot point,
// including those applied while the snapshot was being written, as Redis
// does (server.dirty - dirty_before_bgsave).
func TestSMDirtyCountsWritesDuringSave(t *testing.T) {
	s := shard.NewTestSM(table)
	for i := range 10 {
		do(t, s, uint64(i+1), 1000, "set", "k"+strconv.Itoa(i), "v")
	}
	if s.Dirty() != 10 {
		t.Fatalf("dirty %d before snapshot, want 10", s.Dirty())
	}
	ctx, _ := s.SM().PrepareSnapshot()
	for i := range 5 { // applied after the snapshot point, before Save ends
		do(t, s, uint64(20+i), 1000, "set", "w"+strconv.Itoa(i), "v")
	}
	var buf bytes.Buffer
	if err := s.SM().SaveSnapshot(ctx, &buf, nil, nil); err != nil {
		t.Fatal(err)
	}
	if s.Dirty() != 5 {
		t.Errorf("dirty after save = %d, want 5 (the writes the snapshot does not hold)", s.Dirty())
	}
}

// TestSMSaveWhileApplying is the core concurrency invariant at the state
// machine level (run with -race): SaveSnapshot serializes a prepared
// snapshot while Update keeps applying writes that edit the same values.
func TestSMSaveWhileApplying(t *testing.T) {
	s := shard.NewTestSM(table)
	idx := uint64(0)
	now := int64(1_700_000_000_000)
	var cmds [][][]byte
	for i := range 20_000 {
		k := "k" + strconv.Itoa(i)
		switch i % 4 {
		case 0:
			cmds = append(cmds, args("set", k, strings.Repeat("s", 50), "px", "100000000"))
		case 1:
			cmds = append(cmds, args("set", k, "v"))
		case 2:
			cmds = append(cmds, args("hset", k, "a", "1", "b", "2"))
		case 3:
			c := []string{"hset", k}
			for j := range 130 {
				c = append(c, strconv.Itoa(j), "x")
			}
			cmds = append(cmds, args(c...))
		}
		if len(cmds) == 100 {
			idx++
			apply(t, s, idx, encode(entry.Commands, now, idx, cmds...))
			cmds = nil
		}
	}
	ctx, err := s.SM().PrepareSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	want, wantTime := digest(s), s.LastTime()
	var buf bytes.Buffer
	saved := make(chan error, 1)
	go func() { saved <- s.SM().SaveSnapshot(ctx, &buf, nil, nil) }()
	r := rand.New(rand.NewPCG(1, 1))
	for done := false; !done; {
		now += 10
		var batch [][][]byte
		for range 50 {
			k := "k" + strconv.Itoa(r.IntN(20_000))
			switch r.IntN(8) {
			case 0:
				batch = append(batch, args("append", k, "tail"))
			case 1:
				batch = append(batch, args("setrange", k, "0", "XY"))
			case 2:
				batch = append(batch, args("hset", k, "a", "changed", "z", strings.Repeat("z", 70)))
			case 3:
				batch = append(batch, args("hdel", k, "a", "5"))
			case 4:
				batch = append(batch, args("pexpire", k, "5"))
			case 5:
				batch = append(batch, args("persist", k))
			case 6:
				batch = append(batch, args("rename", k, "k"+strconv.Itoa(r.IntN(20_000))))
			case 7:
				batch = append(batch, args("del", k))
			}
		}
		idx++
		apply(t, s, idx, encode(entry.Commands, now, idx, batch...))
		select {
		case err := <-saved:
			if err != nil {
				t.Fatal(err)
			}
			done = true
		default:
		}
	}
	c := shard.NewTestSM(table)
	if err := c.SM().RecoverFromSnapshot(&buf, nil, nil); err != nil {
		t.Fatal(err)
	}
	if digest(c) != want || c.LastTime() != wantTime {
		t.Fatal("the snapshot does not hold the state at PrepareSnapshot")
	}
	if digest(c) == digest(s) {
		t.Fatal("no write landed during the save: the test is too weak")
	}
}

// checkTable guards the command set the workloads above rely on.
func TestWorkloadCommandsAreWrites(t *testing.T) {
	g := &gen{r: rand.New(rand.NewPCG(1, 1))}
	seen := map[string]bool{}
	for range 5000 {
		seen[g.command()[0]] = true
	}
	for name := range seen {
		spec := table.Lookup([]byte(name))
		if spec == nil || spec.Flags&command.Write == 0 {
			t.Errorf("%s is not a write command in server.Commands()", name)
		}
	}
}
