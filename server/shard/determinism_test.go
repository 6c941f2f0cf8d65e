package shard_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	sm "github.com/lni/dragonboat/v4/statemachine"

	"github.com/cairndb/cairn/server/entry"
	"github.com/cairndb/cairn/server/reply"
	"github.com/cairndb/cairn/server/shard"
)

// TestSMDeterminismAllFamilies is TestSMDeterminism over the workload of
// every family: commands that draw on the entry's seed and time (SPOP,
// SRANDMEMBER, HRANDFIELD and ZRANDMEMBER inside MULTI, XADD *), blocking
// pops as the plain writes their wake-up re-runs are, MULTI and
// WATCH-guarded MULTI entries, Expire entries and slot operations (freeze,
// drop, import of exported items, assign) on cluster-mode state machines.
// Three state machines apply the same log — one entry per Update, random
// batches, all at once — and a fourth restores a snapshot taken midway
// (serialized while the first kept applying) and replays the rest. All
// must give the same replies and end with the same digest.
func TestSMDeterminismAllFamilies(t *testing.T) {
	for seed := range uint64(3) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			const n = 2500
			logs := &logBuf{}
			a := workloadSM(true, logs)
			w := newWorkload(randSource{rand.New(rand.NewPCG(seed, 2024))}, table)
			w.cluster, w.randomized = true, true

			log := make([][]byte, n)
			res := make([]sm.Result, n)
			var snap bytes.Buffer
			var snapDigest uint64
			saved := make(chan error, 1)
			randomOK := map[string]int{}
			for i := range log {
				log[i] = w.entry(func(k []byte) uint64 { return a.DB().KeyDigest(k, a.LastTime()) })
				res[i] = apply(t, a, uint64(i+1), log[i])
				res[i].Data = append([]byte(nil), res[i].Data...)
				countRandomized(t, log[i], res[i], randomOK)
				var e entry.Entry
				if entry.Decode(log[i], &e) == nil && e.Kind == entry.SlotOp {
					for _, v := range replies(t, res[i]) {
						if v.Kind == reply.KindArray && len(v.Elems) == 2 && len(v.Elems[1].Str) > 0 {
							w.exports = append(w.exports, append([]byte(nil), v.Elems[1].Str...))
						}
					}
				}
				if i%7 == 0 { // DUMP payloads for RESTORE
					k := []byte(w.pick(wKeys))
					if v := a.Read(a.LastTime(), table.Lookup([]byte("dump")), [][]byte{[]byte("dump"), k}); v.Kind == reply.KindBulk && v.Str != nil {
						w.dumps = append(w.dumps, append([]byte(nil), v.Str...))
					}
				}
				if i+1 == n/2 {
					ctx, err := a.SM().PrepareSnapshot()
					if err != nil {
						t.Fatal(err)
					}
					snapDigest = a.StateDigest()
					go func() { saved <- a.SM().SaveSnapshot(ctx, &snap, nil, nil) }()
				}
			}
			if err := <-saved; err != nil {
				t.Fatal(err)
			}
			if a.Panics() != 0 {
				t.Fatalf("panics during the workload:\n%s", logs)
			}

			check := func(name string, s *shard.TestSM, from int, out []sm.Entry) {
				t.Helper()
				for j, e := range out {
					i := from + j
					if e.Result.Value != res[i].Value || !bytes.Equal(e.Result.Data, res[i].Data) {
						t.Fatalf("%s: entry %d replies differ:\n a %v\n %s %v\n%s", name, i+1, replies(t, res[i]), name, replies(t, e.Result), describe(log[i]))
					}
				}
			}
			// b: random batches; c: the whole log in one Update.
			b, c := workloadSM(true, logs), workloadSM(true, logs)
			r := rand.New(rand.NewPCG(seed, 3))
			for i := 0; i < n; {
				k := min(n-i, 1+r.IntN(40))
				batch := make([]sm.Entry, k)
				for j := range batch {
					batch[j] = sm.Entry{Index: uint64(i + j + 1), Cmd: log[i+j]}
				}
				out, err := b.SM().Update(batch)
				if err != nil {
					t.Fatal(err)
				}
				check("b", b, i, out)
				i += k
			}
			all := make([]sm.Entry, n)
			for i := range all {
				all[i] = sm.Entry{Index: uint64(i + 1), Cmd: log[i]}
			}
			out, err := c.SM().Update(all)
			if err != nil {
				t.Fatal(err)
			}
			check("c", c, 0, out)

			// d: the midway snapshot, then the log tail.
			d := workloadSM(true, logs)
			if err := d.SM().RecoverFromSnapshot(&snap, nil, nil); err != nil {
				t.Fatal(err)
			}
			if d.StateDigest() != snapDigest {
				t.Fatal("the restored snapshot differs from the state it was taken of")
			}
			for i := n / 2; i < n; i++ {
				out, err := d.SM().Update([]sm.Entry{{Index: uint64(i + 1), Cmd: log[i]}})
				if err != nil {
					t.Fatal(err)
				}
				check("d", d, i, out)
			}
			want := a.StateDigest()
			for name, s := range map[string]*shard.TestSM{"b": b, "c": c, "d": d} {
				if s.StateDigest() != want || s.DB().Len() != a.DB().Len() || s.LastTime() != a.LastTime() {
					t.Fatalf("%s diverged from a", name)
				}
			}
			// The workload must exercise what it claims.
			t.Logf("FT documents at the end: fti0 %d, fti1 %d", a.FTDocs("fti0"), a.FTDocs("fti1"))
			t.Logf("%d keys; non-error replies of randomized/blocking commands: %v", a.DB().Len(), randomOK)
			for _, name := range []string{"ft.create", "vadd", "vrem", "vsetattr", "spop", "srandmember", "hrandfield", "zrandmember", "xadd", "blpop|brpop", "blmove", "bzpopmin|bzpopmax", "blmpop", "bzmpop", "brpoplpush", "xreadgroup", "slotop-items", "restore", "multi", "watchedmulti-nil", "expire"} {
				if randomOK[name] == 0 {
					t.Errorf("no successful %s in the workload", name)
				}
			}
		})
	}
}

// countRandomized tallies, by command, the non-error, non-empty replies of
// the commands TestSMDeterminismAllFamilies must exercise.
func countRandomized(t *testing.T, b []byte, r sm.Result, counts map[string]int) {
	var e entry.Entry
	if err := entry.Decode(b, &e); err != nil {
		t.Fatal(err)
	}
	rs := replies(t, r)
	var cmds [][][]byte
	var vals []reply.Value
	switch e.Kind {
	case entry.Expire:
		if r.Value > 0 {
			counts["expire"]++
		}
		return
	case entry.SlotOp:
		for _, v := range rs {
			if v.Kind == reply.KindArray && len(v.Elems) == 2 && len(v.Elems[1].Str) > 0 {
				counts["slotop-items"]++
			}
		}
		return
	case entry.Commands:
		cmds, vals = e.Cmds, rs
	case entry.Multi, entry.WatchedMulti:
		if len(rs) == 1 && rs[0].Kind == reply.KindArray {
			counts["multi"]++
			cmds = e.Cmds
			if e.Kind == entry.WatchedMulti {
				cmds = cmds[1:]
			}
			vals = rs[0].Elems
		} else if e.Kind == entry.WatchedMulti && len(rs) == 1 && rs[0].Kind == reply.KindNilArray {
			counts["watchedmulti-nil"]++
		}
	}
	for i, c := range cmds {
		if i >= len(vals) || len(c) == 0 || vals[i].IsError() || vals[i].Kind == reply.KindNil || vals[i].Kind == reply.KindNilArray ||
			(vals[i].Kind == reply.KindArray && len(vals[i].Elems) == 0) {
			continue
		}
		name := string(bytes.ToLower(c[0]))
		switch name {
		case "blpop", "brpop":
			name = "blpop|brpop"
		case "bzpopmin", "bzpopmax":
			name = "bzpopmin|bzpopmax"
		}
		counts[name]++
	}
}
