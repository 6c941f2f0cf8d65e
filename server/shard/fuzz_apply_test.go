package shard_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	sm "github.com/lni/dragonboat/v4/statemachine"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/entry"
	"github.com/cairndb/cairn/server/reply"
	"github.com/cairndb/cairn/server/shard"
)

// allSlots is every hash slot, owned by the cluster state machines of the
// workload tests at start.
var allSlots = func() []uint16 {
	out := make([]uint16, 16384)
	for i := range out {
		out[i] = uint16(i)
	}
	return out
}()

// workloadSM returns a state machine for the workload tests: small
// proto-max-bulk-len (no 512 MB strings), logs kept for failure reports.
func workloadSM(cluster bool, logs *logBuf) *shard.TestSM {
	opts := shard.Options{ShardID: 1, InitialConfig: []shard.ConfigPair{{Name: "proto-max-bulk-len", Value: "1048576"}}, Logger: slog.New(slog.NewTextHandler(logs, nil))}
	if cluster {
		opts.Cluster, opts.InitialSlots = true, allSlots
	}
	return shard.NewTestSMOpts(table, opts)
}

// describe renders an encoded entry for failure messages.
func describe(b []byte) string {
	var e entry.Entry
	if err := entry.Decode(b, &e); err != nil {
		return fmt.Sprintf("undecodable %q", b)
	}
	var s strings.Builder
	fmt.Fprintf(&s, "kind %d time %d seed %d:", e.Kind, e.Time, e.Seed)
	for _, c := range e.Cmds {
		fmt.Fprintf(&s, "\n    %q", c)
	}
	return s.String()
}

// runApplyWorkload drives w through the real apply path — encoded entries
// into a state machine's Update, one entry at a time, with reads between
// them — and fails on any recovered panic (an internal-error reply is a
// bug the recover hid), then checks that a second state machine applying
// the same log in one Update call gives the same replies and state, and
// that a snapshot of the first restores to the same state.
func runApplyWorkload(t testing.TB, w *workload, maxEntries int) {
	logs := &logBuf{}
	a := workloadSM(w.cluster, logs)
	var log [][]byte
	var res []sm.Result
	fail := func(what string) {
		t.Helper()
		var last strings.Builder
		for i := max(0, len(log)-4); i < len(log); i++ {
			fmt.Fprintf(&last, "\n  entry %d: %s", i+1, describe(log[i]))
		}
		t.Fatalf("%s\nlast entries:%s\nlog:\n%s", what, last.String(), logs.String())
	}
	for len(log) < maxEntries && !w.done {
		b := w.entry(func(k []byte) uint64 { return a.DB().KeyDigest(k, a.LastTime()) })
		log = append(log, b)
		r := apply(t, a, uint64(len(log)), b)
		r.Data = append([]byte(nil), r.Data...)
		res = append(res, r)
		if a.Panics() != 0 {
			fail("a command panicked at apply")
		}
		if a.Halted() != "" {
			// A damaged entry (w.corrupt) stops the shard for good: it
			// is never skipped. Every replica stops at the same entry;
			// what follows is checked on the entries before it.
			break
		}
		var e entry.Entry
		if entry.Decode(b, &e) == nil && e.Kind == entry.SlotOp {
			for _, v := range replies(t, r) {
				if v.Kind == reply.KindArray && len(v.Elems) == 2 && len(v.Elems[1].Str) > 0 && len(w.exports) < 8 {
					w.exports = append(w.exports, append([]byte(nil), v.Elems[1].Str...))
				}
			}
		}
		for range w.n(3) {
			cmd := w.read()
			args := toArgs(cmd)
			sp, err := table.Resolve(args)
			if err != nil {
				continue
			}
			v := a.Read(a.LastTime()+int64(w.n(100)), sp, args)
			if a.Panics() != 0 {
				fail(fmt.Sprintf("read %q panicked", cmd))
			}
			if sp.Name == "dump" && v.Kind == reply.KindBulk && v.Str != nil && len(w.dumps) < 16 {
				w.dumps = append(w.dumps, append([]byte(nil), v.Str...))
			}
		}
	}
	b := workloadSM(w.cluster, logs)
	batch := make([]sm.Entry, len(log))
	for i := range log {
		batch[i] = sm.Entry{Index: uint64(i + 1), Cmd: log[i]}
	}
	out, err := b.SM().Update(batch)
	if err != nil {
		t.Fatal(err)
	}
	for i := range out {
		if out[i].Result.Value != res[i].Value || !bytes.Equal(out[i].Result.Data, res[i].Data) {
			fail(fmt.Sprintf("entry %d: replies differ between replicas:\n a %v\n b %v\n%s", i+1, replies(t, res[i]), replies(t, out[i].Result), describe(log[i])))
		}
	}
	if a.StateDigest() != b.StateDigest() || a.DB().Len() != b.DB().Len() {
		fail("replicas diverged")
	}
	if a.Halted() != "" {
		if b.Halted() != a.Halted() {
			fail(fmt.Sprintf("replicas halted differently: %q vs %q", a.Halted(), b.Halted()))
		}
		if _, err := a.SM().PrepareSnapshot(); err == nil {
			fail("a halted replica took a snapshot")
		}
		return
	}
	ctx, err := a.SM().PrepareSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	var snap bytes.Buffer
	if err := a.SM().SaveSnapshot(ctx, &snap, nil, nil); err != nil {
		fail("save snapshot: " + err.Error())
	}
	c := workloadSM(w.cluster, logs)
	if err := c.SM().RecoverFromSnapshot(&snap, nil, nil); err != nil {
		fail("recover snapshot: " + err.Error())
	}
	if c.DB().Digest() != a.DB().Digest() || c.StateDigest() != a.StateDigest() {
		fail("a restored snapshot differs from the state it was taken of")
	}
}

// FuzzApply drives random command sequences of every family, MULTI,
// WATCH-guarded MULTI, Expire and (in cluster mode) slot-operation entries
// through the apply path: see runApplyWorkload. The input bytes are the
// workload's choices; the first one picks cluster mode and whether some
// entries are damaged.
func FuzzApply(f *testing.F) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 24 {
		b := make([]byte, 64+i*40)
		for j := range b {
			b[j] = byte(r.Uint32())
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		w := newWorkload(&byteSource{b: data[1:]}, table)
		w.cluster, w.corrupt = data[0]&1 == 1, data[0]&2 == 2
		runApplyWorkload(t, w, 200)
	})
}

// TestApplyRandom runs the FuzzApply workload from seeded generators:
// briefly by default, and for CAIRN_APPLY_FUZZ (a duration, e.g. 10m) when
// set, from a seed taken from the clock; CAIRN_APPLY_SEED replays one seed
// (a failing subtest's name).
func TestApplyRandom(t *testing.T) {
	d := 2 * time.Second
	if testing.Short() {
		d = 300 * time.Millisecond
	}
	if s := os.Getenv("CAIRN_APPLY_FUZZ"); s != "" {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			t.Fatal(err)
		}
	}
	var seeds []uint64
	if s := os.Getenv("CAIRN_APPLY_SEED"); s != "" {
		var seed uint64
		fmt.Sscan(s, &seed)
		seeds = []uint64{seed}
	}
	deadline := time.Now().Add(d)
	runs := 0
	first := uint64(1)
	if os.Getenv("CAIRN_APPLY_FUZZ") != "" {
		first = uint64(time.Now().UnixNano()) // new seeds each long run; a failing subtest is named by its seed
	}
	for seed := first; ; seed++ {
		if seeds != nil {
			if runs == len(seeds) {
				break
			}
			seed = seeds[runs]
		} else if time.Now().After(deadline) && runs > 0 {
			break
		}
		runs++
		ok := t.Run(fmt.Sprint(seed), func(t *testing.T) {
			w := newWorkload(randSource{rand.New(rand.NewPCG(seed, 99))}, table)
			w.cluster, w.corrupt = seed%2 == 1, seed%4 < 2
			runApplyWorkload(t, w, 400)
		})
		if !ok {
			break
		}
	}
	t.Logf("%d workloads", runs)
}

// TestWorkloadCoversEveryFamily: the workload issues commands of every
// family and every entry kind.
func TestWorkloadCoversEveryFamily(t *testing.T) {
	w := newWorkload(randSource{rand.New(rand.NewPCG(5, 5))}, table)
	w.cluster = true
	groups := map[string]bool{}
	kinds := map[entry.Kind]bool{}
	for range 3000 {
		b := w.entry(func([]byte) uint64 { return 0 })
		var e entry.Entry
		if err := entry.Decode(b, &e); err != nil {
			t.Fatal(err)
		}
		kinds[e.Kind] = true
		if e.Kind == entry.Commands || e.Kind == entry.Multi {
			for _, c := range e.Cmds {
				if sp := table.Lookup(c[0]); sp != nil {
					groups[sp.Group] = true
				}
			}
		}
	}
	for _, g := range []string{"string", "generic", "hash", "list", "set", "sorted-set", "geo", "bitmap", "hyperloglog", "stream"} {
		if !groups[g] {
			t.Errorf("no %s command in the workload (groups %v)", g, groups)
		}
	}
	for _, k := range []entry.Kind{entry.Commands, entry.Multi, entry.WatchedMulti, entry.Expire, entry.SlotOp} {
		if !kinds[k] {
			t.Errorf("no entry of kind %d", k)
		}
	}
	var _ command.Flag
}
