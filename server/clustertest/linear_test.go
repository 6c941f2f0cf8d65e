package clustertest

// Fault-injection tests: a register workload checked for linearizability
// (porcupine) and an append workload checked for lost, duplicated and
// reordered writes, under crashes, partitions, leader isolation,
// membership changes and slot migrations.
//
// Each default test is short. Set CAIRN_CHAOS_DURATION (e.g. 5m) to run
// TestChaos that long, in rounds on fresh clusters with random shapes;
// CAIRN_CHAOS_SEED replays a seed (`make chaos`).

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/redis/go-redis/v9"

	"github.com/cairndb/cairn/server/slot"
)

// runOptions shape one fault-injection run.
type runOptions struct {
	Cluster Options
	// Duration of the faulty phase.
	Duration time.Duration
	// Faults are injected one at a time from the test goroutine: each is
	// held for Hold, then undone, then the cluster runs clean for Gap.
	Faults    []string
	Hold, Gap [2]time.Duration
	// Operator faults run concurrently with Faults, from their own
	// goroutine, every OperatorGap.
	Operator    []string
	OperatorGap [2]time.Duration
	// Workload.
	RegKeys, AppKeys              int
	ClusterClients, StickyClients int
	// CheckTimeout bounds porcupine.
	CheckTimeout time.Duration
	// Skew sets nodes' clock offsets for the whole run (node → offset).
	Skew map[int]time.Duration
	// TTLProbe writes keys with EX 100 and checks they keep their TTL.
	TTLProbe bool
}

// runResult holds a run's figures.
type runResult struct {
	Ops, Acked, Refused, Unknown, ReadsFailed int64
	Faults                                    int64
	Linearizable                              porcupine.CheckResult
	RegOps, UnknownKept, UnknownDropped       int
	Append                                    appendStats
	AppendProblems                            int
}

func (r runResult) String() string {
	return fmt.Sprintf("ops %d (acknowledged %d, refused %d, unknown outcome %d, failed reads %d), faults %d; "+
		"porcupine: %s over %d register ops (%d unknown-outcome writes kept, %d unobserved dropped); "+
		"append: %d acknowledged, %d unknown (%d applied), %d refused, %d reads, %d tokens in final values, %d problems",
		r.Ops, r.Acked, r.Refused, r.Unknown, r.ReadsFailed, r.Faults,
		r.Linearizable, r.RegOps, r.UnknownKept, r.UnknownDropped,
		r.Append.Acked, r.Append.Unknown, r.Append.UnknownApplied, r.Append.Refused, r.Append.Reads, r.Append.FinalTokens, r.AppendProblems)
}

func (o *runOptions) defaults() {
	if o.Duration == 0 {
		o.Duration = 8 * time.Second
	}
	if o.Hold == [2]time.Duration{} {
		o.Hold = [2]time.Duration{500 * time.Millisecond, 2500 * time.Millisecond}
	}
	if o.Gap == [2]time.Duration{} {
		o.Gap = [2]time.Duration{300 * time.Millisecond, 1500 * time.Millisecond}
	}
	if o.OperatorGap == [2]time.Duration{} {
		o.OperatorGap = [2]time.Duration{500 * time.Millisecond, 3 * time.Second}
	}
	if o.RegKeys == 0 {
		o.RegKeys = 5
	}
	if o.AppKeys == 0 {
		o.AppKeys = 3
	}
	if o.ClusterClients == 0 {
		o.ClusterClients = 4
	}
	if o.CheckTimeout == 0 {
		o.CheckTimeout = 2 * time.Minute
	}
}

// runFaults starts a cluster, runs the workload under the nemesis,
// repairs the cluster and checks everything. Failures are reported on t.
func runFaults(t *testing.T, seed uint64, o runOptions) runResult {
	o.defaults()
	c := Start(t, o.Cluster)
	if len(o.Skew) > 0 {
		// A group's first entry sets its clock from the leader's wall
		// clock (nothing else exists yet): the cluster is born with sane
		// clocks (the first idle tick comes within half a second), then
		// the skew starts.
		time.Sleep(1500 * time.Millisecond)
	}
	for i, d := range o.Skew {
		c.SetSkew(i, d)
	}
	var probe *ttlProbe
	if o.TTLProbe {
		probe = startTTLProbe(t, c, seed)
		defer probe.finish()
	}
	regKeys := spreadKeys("reg", o.RegKeys)
	appKeys := spreadKeys("app", o.AppKeys)
	allKeys := append(append([]string{}, regKeys...), appKeys...)
	w := startWorkload(c, workloadOptions{
		RegKeys: regKeys, AppKeys: appKeys,
		ClusterClients: o.ClusterClients, StickyClients: o.StickyClients,
		Seed: seed,
	})
	defer w.stop()
	nem := newNemesis(t, c, w.rec, seed)
	snap := "100000 (default)"
	if o.Cluster.SnapshotEntries > 0 {
		snap = strconv.FormatUint(o.Cluster.SnapshotEntries, 10)
	}
	t.Logf("cluster: %d nodes, %d shards, %d replicas each, snapshot every %s entries; %d cluster + %d sticky clients; faults %v, operator %v; keys %v %v",
		c.Len(), len(nem.want), o.Cluster.Replicas, snap, o.ClusterClients, o.StickyClients, o.Faults, o.Operator, regKeys, appKeys)

	end := time.Now().Add(o.Duration)
	sleepUntil := func(d time.Duration) {
		if rem := time.Until(end); d > rem {
			d = max(rem, 0)
		}
		time.Sleep(d)
	}
	var opWG sync.WaitGroup
	if len(o.Operator) > 0 {
		opWG.Add(1)
		go func() {
			defer opWG.Done()
			for {
				sleepUntil(nem.dur(o.OperatorGap[0], o.OperatorGap[1]))
				if !time.Now().Before(end) {
					return
				}
				nem.inject(o.Operator[nem.intn(len(o.Operator))], allKeys)
			}
		}()
	}
	for len(o.Faults) > 0 {
		sleepUntil(nem.dur(o.Gap[0], o.Gap[1]))
		if !time.Now().Before(end) {
			break
		}
		undo := nem.inject(o.Faults[nem.intn(len(o.Faults))], allKeys)
		if undo != nil {
			time.Sleep(nem.dur(o.Hold[0], o.Hold[1]))
			undo()
		}
	}
	if len(o.Faults) == 0 {
		sleepUntil(o.Duration)
	}
	opWG.Wait()
	nem.repair(90 * time.Second)

	// The repaired cluster must make progress again.
	acked := w.cnt.acked.Load()
	deadline := time.Now().Add(30 * time.Second)
	for w.cnt.acked.Load() < acked+20 {
		if time.Now().After(deadline) {
			t.Fatalf("no progress after repair: %d operations acknowledged in 30s (%s)", w.cnt.acked.Load()-acked, &w.cnt)
		}
		time.Sleep(20 * time.Millisecond)
	}
	w.stop()
	if probe != nil {
		probe.finish()
	}

	res := runResult{
		Ops: w.cnt.ops.Load(), Acked: w.cnt.acked.Load(), Refused: w.cnt.refused.Load(),
		Unknown: w.cnt.unknown.Load(), ReadsFailed: w.cnt.readsFailed.Load(), Faults: nem.faults.Load(),
	}
	if res.Acked == 0 {
		t.Errorf("no operation was acknowledged (%s)", &w.cnt)
	}

	// Final values, once every replica agrees with its leader.
	final := settle(t, c, w.rec, allKeys, o.ClusterClients+o.StickyClients, regKeys)

	// Linearizability of the registers.
	h := w.rec.registerHistory()
	res.RegOps, res.UnknownKept, res.UnknownDropped = len(h.Ops), h.UnknownKept, h.UnknownDropped
	var msg string
	res.Linearizable, msg = checkLinearizable(h, o.CheckTimeout, "")
	if res.Linearizable != porcupine.Ok {
		t.Errorf("register history is not linearizable (seed %d): %s", seed, msg)
	}

	// Appends.
	appFinal := map[string]string{}
	for _, k := range appKeys {
		appFinal[k] = final[k]
	}
	w.rec.mu.Lock()
	apps, reads := w.rec.apps, w.rec.reads
	w.rec.mu.Unlock()
	var problems []string
	res.Append, problems = checkAppends(apps, reads, appFinal)
	res.AppendProblems = len(problems)
	if len(problems) > 0 {
		t.Errorf("append check failed (seed %d), %d problems:\n  %s", seed, len(problems), strings.Join(problems, "\n  "))
	}
	if res.Append.Acked == 0 && len(appKeys) > 0 {
		t.Errorf("no append was acknowledged")
	}
	if t.Failed() || os.Getenv("CAIRN_CHAOS_TIMELINE") != "" {
		t.Logf("timeline (operations by the second they were sent):%s", w.rec.timeline())
	}
	t.Logf("summary (seed %d): %s", seed, res)
	return res
}

// settle reads every key on the healed cluster through its shard's
// leader and waits until every replica of the shard (READONLY reads) holds
// the same value: replicas must converge. It returns the final values and
// adds the final reads of register keys to the history (as client id).
func settle(t *testing.T, c *Cluster, rec *recorder, keys []string, id int, regKeys []string) map[string]string {
	t.Helper()
	cl := c.Client()
	out := map[string]string{}
	deadline := time.Now().Add(30 * time.Second)
	for _, k := range keys {
		var lastProblem string
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			call := rec.now()
			v, err := cl.Get(ctx, k).Result()
			ret := rec.now()
			cancel()
			if err == redis.Nil {
				v, err = "", nil
			}
			if err != nil {
				lastProblem = fmt.Sprintf("leader read: %v", err)
			} else {
				out[k] = v
				lastProblem = replicasDiffer(c, k, v)
				if lastProblem == "" {
					if slices.Contains(regKeys, k) {
						rec.addReg(regOp{Client: id, Key: k, Value: v, Call: call, Ret: ret, Out: outOK})
					}
					break
				}
			}
			if time.Now().After(deadline) {
				if _, ok := out[k]; !ok {
					t.Fatalf("final read of %s: %s", k, lastProblem)
				}
				t.Errorf("key %s: replicas do not converge within 30s: %s", k, lastProblem)
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return out
}

// replicasDiffer reads key from every replica of its shard and describes
// the first that does not hold want ("" when all do).
func replicasDiffer(c *Cluster, key, want string) string {
	v, err := c.topoView()
	if err != nil {
		return fmt.Sprintf("topology: %v", err)
	}
	sh := v.shard(v.owner(slot.OfString(key)))
	if sh == nil {
		return fmt.Sprintf("no shard owns slot %d", slot.OfString(key))
	}
	for _, node := range sh.Replicas {
		got, err := replicaGet(c, int(node), key)
		if err == redis.Nil {
			got, err = "", nil
		}
		if err != nil || got != want {
			return fmt.Sprintf("replica on node %d of shard %d has %d bytes (...%q), err %v; the leader has %d bytes (...%q)",
				node, sh.ID, len(got), tail(got, 30), err, len(want), tail(want, 30))
		}
	}
	return ""
}

// ---- the tests ----

// TestCrashRestart stops and restarts nodes (often a shard leader) on
// their data, with snapshots every 20 entries.
func TestCrashRestart(t *testing.T) {
	runFaults(t, chaosSeed(t), runOptions{
		Duration: 7 * time.Second,
		Cluster:  Options{Nodes: 3, SnapshotEntries: 20},
		Faults:   []string{faultKill},
	})
}

// TestLeaderIsolation cuts the leader of a workload key's shard off while
// clients, including ones pinned to nodes, keep talking to it: a deposed
// leader must neither serve a stale read nor acknowledge a write.
func TestLeaderIsolation(t *testing.T) {
	runFaults(t, chaosSeed(t), runOptions{
		Duration:      7 * time.Second,
		Cluster:       Options{Nodes: 3, SnapshotEntries: 20},
		Faults:        []string{faultIsolateLeader},
		StickyClients: 3,
	})
}

// TestPartitions splits five nodes into a majority and a minority, cuts
// single nodes off, and cuts a leader's links one way.
func TestPartitions(t *testing.T) {
	runFaults(t, chaosSeed(t), runOptions{
		Duration:      7 * time.Second,
		Cluster:       Options{Nodes: 5, Shards: 3, Replicas: 3},
		Faults:        []string{faultPartition, faultIsolate, faultOneWay},
		StickyClients: 2,
	})
}

// TestMembershipChanges removes replicas (often the leader) and adds them
// back mid-run; a re-added node gets a new replica ID and catches up by
// snapshot (every 20 entries, so the log it needs is gone). While the
// nemesis avoids the known re-add bug it waits, before re-adding, until
// the node has dropped its old replica (about ten seconds), so the default
// run does one cycle, which outlasts Duration.
func TestMembershipChanges(t *testing.T) {
	runFaults(t, chaosSeed(t), runOptions{
		Cluster:     Options{Nodes: 3, SnapshotEntries: 20},
		Operator:    []string{faultMembership},
		OperatorGap: [2]time.Duration{100 * time.Millisecond, time.Second},
		Duration:    3 * time.Second,
	})
}

// TestSlotMigration moves the workload keys' slots between shards while
// the clients use them.
func TestSlotMigration(t *testing.T) {
	runFaults(t, chaosSeed(t), runOptions{
		Cluster:     Options{Nodes: 3, SnapshotEntries: 20},
		Operator:    []string{faultMoveSlots},
		OperatorGap: [2]time.Duration{100 * time.Millisecond, 800 * time.Millisecond},
		Duration:    8 * time.Second,
	})
}

// TestChaos mixes every fault: network faults and crashes one at a time,
// membership changes and slot moves concurrently with them. By default
// it runs one short round; with CAIRN_CHAOS_DURATION it runs rounds on
// fresh, randomly shaped clusters for that long and logs totals.
// CAIRN_CHAOS_FAULTS (a comma-separated list of fault kinds: kill,
// isolate, isolate-leader, partition, one-way, membership, moveslots)
// limits the faults; CAIRN_CHAOS_TIMELINE=1 logs each run's operations
// per second (acknowledged, refused, unknown outcome, failed reads).
func TestChaos(t *testing.T) {
	seed := chaosSeed(t)
	total := time.Duration(0)
	if s := os.Getenv("CAIRN_CHAOS_DURATION"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			t.Fatalf("CAIRN_CHAOS_DURATION=%q: %v", s, err)
		}
		total = d
	}
	if total == 0 {
		runFaults(t, seed, chaosOptions(seed, 10*time.Second, false))
		return
	}
	start := time.Now()
	var sum runResult
	rounds, failed := 0, 0
	for round := 0; time.Since(start) < total; round++ {
		rs := seed + uint64(round)
		left := total - time.Since(start)
		o := chaosOptions(rs, left, true)
		var res runResult
		ok := t.Run(fmt.Sprintf("round%d-seed%d", round, rs), func(t *testing.T) {
			t.Logf("round %d: seed %d (replay with CAIRN_CHAOS_SEED=%d CAIRN_CHAOS_DURATION=%v)", round, rs, rs, o.Duration.Round(time.Second))
			res = runFaults(t, rs, o)
		})
		rounds++
		if !ok {
			failed++
		}
		sum.Ops += res.Ops
		sum.Acked += res.Acked
		sum.Refused += res.Refused
		sum.Unknown += res.Unknown
		sum.ReadsFailed += res.ReadsFailed
		sum.Faults += res.Faults
		sum.RegOps += res.RegOps
		sum.UnknownKept += res.UnknownKept
		sum.UnknownDropped += res.UnknownDropped
		sum.Append.Acked += res.Append.Acked
		sum.Append.Unknown += res.Append.Unknown
		sum.Append.UnknownApplied += res.Append.UnknownApplied
		sum.Append.Refused += res.Append.Refused
		sum.Append.Reads += res.Append.Reads
		sum.Append.FinalTokens += res.Append.FinalTokens
		sum.AppendProblems += res.AppendProblems
	}
	verdict := "all linearizable, no append anomalies"
	if failed > 0 {
		verdict = fmt.Sprintf("%d FAILED rounds", failed)
	}
	t.Logf("chaos totals over %d rounds in %v (base seed %d): %s", rounds, time.Since(start).Round(time.Second), seed, verdict)
	t.Logf("chaos totals: ops %d, acknowledged %d, refused %d, unknown outcome %d, failed reads %d, faults %d",
		sum.Ops, sum.Acked, sum.Refused, sum.Unknown, sum.ReadsFailed, sum.Faults)
	t.Logf("chaos totals: porcupine checked %d register ops (%d unknown-outcome writes kept, %d dropped); append: %d acknowledged, %d unknown (%d applied), %d refused, %d reads, %d tokens, %d problems",
		sum.RegOps, sum.UnknownKept, sum.UnknownDropped, sum.Append.Acked, sum.Append.Unknown, sum.Append.UnknownApplied,
		sum.Append.Refused, sum.Append.Reads, sum.Append.FinalTokens, sum.AppendProblems)
}

// chaosOptions draws a round's shape from its seed. long rounds (the
// CAIRN_CHAOS_DURATION mode) vary the cluster and last 20-60 s.
func chaosOptions(seed uint64, left time.Duration, long bool) runOptions {
	rng := rand.New(rand.NewPCG(seed, 0x636861))
	o := runOptions{
		Cluster:       Options{Nodes: 3, SnapshotEntries: 20},
		Duration:      left,
		Faults:        networkFaults,
		Operator:      operatorFaults,
		StickyClients: 2,
		TTLProbe:      true,
	}
	if !long && os.Getenv("CAIRN_AVOID_FIXED_BUGS") != "" {
		// While the known re-add bug is avoided a membership cycle takes
		// ten seconds with every other fault on hold; the short round
		// leaves it to TestMembershipChanges.
		o.Operator = []string{faultMoveSlots}
	}
	if f := os.Getenv("CAIRN_CHAOS_FAULTS"); f != "" {
		keep := func(kinds []string) []string {
			var out []string
			for _, k := range kinds {
				if slices.Contains(strings.Split(f, ","), k) {
					out = append(out, k)
				}
			}
			return out
		}
		o.Faults, o.Operator = keep(o.Faults), keep(o.Operator)
	}
	if long {
		if rng.IntN(2) == 0 {
			o.Skew = map[int]time.Duration{1 + rng.IntN(3): skews[rng.IntN(len(skews))]}
		}
		o.Cluster.Nodes = []int{3, 3, 5}[rng.IntN(3)]
		o.Cluster.Shards = 2 + rng.IntN(3)
		o.Cluster.Replicas = []int{3, o.Cluster.Nodes}[rng.IntN(2)]
		if rng.IntN(3) == 0 {
			o.Cluster.SnapshotEntries = 0 // the default (rare snapshots)
		}
		o.Duration = min(left, time.Duration(20+rng.IntN(41))*time.Second)
		o.ClusterClients = 3 + rng.IntN(4)
		o.StickyClients = rng.IntN(4)
		o.RegKeys = 3 + rng.IntN(5)
		o.AppKeys = 1 + rng.IntN(4)
		o.CheckTimeout = 5 * time.Minute
	}
	return o
}
