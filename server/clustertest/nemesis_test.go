package clustertest

// Nemeses: faults injected while the workload runs, and the repairs that
// bring the cluster back to full health afterwards.

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cairndb/cairn/server/cluster/control"
	"github.com/cairndb/cairn/server/slot"
)

// chaosSeed returns CAIRN_CHAOS_SEED or a fresh seed, logged so a run can
// be replayed (the fault schedule and operation mix replay exactly; the
// interleaving with Raft's timing does not).
func chaosSeed(t testing.TB) uint64 {
	if s := os.Getenv("CAIRN_CHAOS_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("CAIRN_CHAOS_SEED=%q: %v", s, err)
		}
		t.Logf("seed %d (from CAIRN_CHAOS_SEED)", v)
		return v
	}
	v := uint64(time.Now().UnixNano())
	t.Logf("seed %d (replay with CAIRN_CHAOS_SEED=%d)", v, v)
	return v
}

// ---- topology ----

type topoShard struct {
	ID            uint64   `json:"id"`
	Replicas      []uint64 `json:"replicas"`
	CurrentLeader uint64   `json:"current_leader"`
	SlotCount     int      `json:"slot_count"`
}

type topoView struct {
	Epoch  uint64      `json:"epoch"`
	Shards []topoShard `json:"shards"`
	Slots  []struct {
		Start uint16 `json:"start"`
		End   uint16 `json:"end"`
		Shard uint64 `json:"shard"`
	} `json:"slots"`
	Migrations []struct {
		ID    uint64   `json:"id"`
		Slots []uint16 `json:"slots"`
		To    uint64   `json:"to"`
	} `json:"migrations"`
}

func (c *Cluster) topoView() (*topoView, error) {
	s := c.Topology()
	if s == "" {
		return nil, fmt.Errorf("no node answers CLUSTER TOPOLOGY")
	}
	var v topoView
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return nil, err
	}
	return &v, nil
}

func (v *topoView) owner(sl uint16) uint64 {
	for _, r := range v.Slots {
		if sl >= r.Start && sl <= r.End {
			return r.Shard
		}
	}
	return 0
}

func (v *topoView) shard(id uint64) *topoShard {
	for i := range v.Shards {
		if v.Shards[i].ID == id {
			return &v.Shards[i]
		}
	}
	return nil
}

// admin sends an admin command to node i and waits up to timeout.
func (c *Cluster) admin(i int, timeout time.Duration, args ...any) (string, error) {
	cl := redis.NewClient(&redis.Options{Addr: c.Addr(i), DialTimeout: time.Second, ReadTimeout: timeout, MaxRetries: -1})
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), timeout+time.Second)
	defer cancel()
	v, err := cl.Do(ctx, args...).Result()
	if err != nil {
		return "", err
	}
	return fmt.Sprint(v), nil
}

// ---- the nemesis ----

// nemesis injects faults into a cluster. Network faults and crashes run
// one at a time from the test goroutine; operator actions (membership
// changes, slot moves) may run concurrently with them.
type nemesis struct {
	t       testing.TB
	c       *Cluster
	rec     *recorder
	mu      sync.Mutex
	rng     *rand.Rand
	stopped map[int]bool // nodes stopped and not yet restarted
	// The replicas every shard must have again after the run.
	want   map[uint64][]uint64
	faults atomic.Int64
	// avoid steered clear of server bugs found by this suite (now fixed;
	// see regressions_test.go). CAIRN_AVOID_FIXED_BUGS=1 turns it back on
	// to compare runs: a node is re-added to a shard only once it has
	// dropped its old replica, with no other fault active meanwhile
	// (exclusive); a node holding a re-added replica is never restarted
	// (rejoined); slots move only while every node replicates every shard.
	avoid     bool
	exclusive sync.Mutex
	rejoined  map[int]bool
}

func newNemesis(t testing.TB, c *Cluster, rec *recorder, seed uint64) *nemesis {
	n := &nemesis{
		t: t, c: c, rec: rec, rng: rand.New(rand.NewPCG(seed, 0x6e656d)),
		stopped: map[int]bool{}, want: map[uint64][]uint64{}, rejoined: map[int]bool{},
		avoid: os.Getenv("CAIRN_AVOID_FIXED_BUGS") != "",
	}
	v, err := c.topoView()
	if err != nil {
		t.Fatalf("topology: %v", err)
	}
	for _, sh := range v.Shards {
		n.want[sh.ID] = slices.Clone(sh.Replicas)
	}
	return n
}

func (n *nemesis) logf(format string, a ...any) {
	n.t.Logf("%7s nemesis: %s", fmtNS(n.rec.now()), fmt.Sprintf(format, a...))
}

func (n *nemesis) intn(k int) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.rng.IntN(k)
}

func (n *nemesis) dur(lo, hi time.Duration) time.Duration {
	return lo + time.Duration(n.intn(int(hi-lo)+1))
}

// pickNode picks a running node; with leader set, preferably one leading
// a shard.
func (n *nemesis) pickNode(leader bool) int {
	if leader {
		if v, err := n.c.topoView(); err == nil && len(v.Shards) > 0 {
			id := int(v.Shards[n.intn(len(v.Shards))].CurrentLeader)
			if id >= 1 && id <= n.c.Len() && n.c.Node(id) != nil {
				return id
			}
		}
	}
	var live []int
	for i := 1; i <= n.c.Len(); i++ {
		if n.c.Node(i) != nil {
			live = append(live, i)
		}
	}
	return live[n.intn(len(live))]
}

// leaderOfKey returns the node leading the shard that owns key, or 0.
func (n *nemesis) leaderOfKey(key string) int {
	v, err := n.c.topoView()
	if err != nil {
		return 0
	}
	sh := v.shard(v.owner(slot.OfString(key)))
	if sh == nil {
		return 0
	}
	return int(sh.CurrentLeader)
}

// fault kinds
const (
	faultKill          = "kill"           // stop a node, restart it on its data
	faultIsolate       = "isolate"        // cut one node off
	faultIsolateLeader = "isolate-leader" // cut off the leader of a workload key's shard
	faultPartition     = "partition"      // majority / minority split
	faultOneWay        = "one-way"        // a leader can send but not hear, or hear but not send
	faultMembership    = "membership"     // DELREPLICA then ADDREPLICA
	faultMoveSlots     = "moveslots"      // move a workload key's slot to another shard
)

var networkFaults = []string{faultKill, faultIsolate, faultIsolateLeader, faultPartition, faultOneWay, faultClock}
var operatorFaults = []string{faultMembership, faultMoveSlots}

// inject applies one fault and returns how to undo it (nil when the
// fault undoes itself).
func (n *nemesis) inject(kind string, keys []string) func() {
	if !n.avoid || kind == faultMoveSlots {
		return n.inject1(kind, keys)
	}
	// Known bugs: no fault overlaps a membership change.
	n.exclusive.Lock()
	undo := n.inject1(kind, keys)
	if undo == nil {
		n.exclusive.Unlock()
		return nil
	}
	return func() {
		defer n.exclusive.Unlock()
		undo()
	}
}

func (n *nemesis) inject1(kind string, keys []string) func() {
	c := n.c
	switch kind {
	case faultKill:
		i := n.pickNode(n.intn(2) == 0)
		n.mu.Lock()
		if n.rejoined[i] {
			// Known bug: a re-added replica does not restart.
			i = 0
			for j := 1; j <= c.Len(); j++ {
				if !n.rejoined[j] && c.Node(j) != nil && (i == 0 || n.rng.IntN(2) == 0) {
					i = j
				}
			}
		}
		n.mu.Unlock()
		if i == 0 {
			n.logf("kill skipped: every node holds a re-added replica, which does not restart (known bug)")
			return nil
		}
		n.faults.Add(1)
		n.logf("stop node %d", i)
		c.Stop(i)
		n.mu.Lock()
		n.stopped[i] = true
		n.mu.Unlock()
		return func() {
			n.logf("restart node %d", i)
			c.Restart(i)
			n.mu.Lock()
			delete(n.stopped, i)
			n.mu.Unlock()
			n.logf("node %d restarted", i)
		}
	case faultIsolate:
		n.faults.Add(1)
		i := n.pickNode(false)
		n.logf("isolate node %d", i)
		c.Isolate(i)
		return func() { n.logf("heal"); c.Heal() }
	case faultIsolateLeader:
		n.faults.Add(1)
		key := keys[n.intn(len(keys))]
		i := n.leaderOfKey(key)
		if i == 0 {
			i = n.pickNode(true)
		}
		n.logf("isolate node %d (leader of %s's shard)", i, key)
		c.Isolate(i)
		return func() { n.logf("heal"); c.Heal() }
	case faultPartition:
		n.faults.Add(1)
		nodes := make([]int, c.Len())
		for i := range nodes {
			nodes[i] = i + 1
		}
		n.mu.Lock()
		n.rng.Shuffle(len(nodes), func(i, j int) { nodes[i], nodes[j] = nodes[j], nodes[i] })
		n.mu.Unlock()
		minority := nodes[:(len(nodes)-1)/2]
		if len(minority) == 0 {
			minority = nodes[:1]
		}
		majority := nodes[len(minority):]
		n.logf("partition %v | %v", minority, majority)
		c.Partition(minority, majority)
		return func() { n.logf("heal"); c.Heal() }
	case faultOneWay:
		n.faults.Add(1)
		l := n.pickNode(true)
		deaf := n.intn(2) == 0
		for j := 1; j <= c.Len(); j++ {
			if j == l {
				continue
			}
			if deaf {
				c.Net.CutOneWay(c.RaftAddr(j), c.RaftAddr(l))
			} else {
				c.Net.CutOneWay(c.RaftAddr(l), c.RaftAddr(j))
			}
		}
		if deaf {
			n.logf("node %d hears no one (it can still send)", l)
		} else {
			n.logf("node %d cannot send (it can still hear)", l)
		}
		return func() { n.logf("heal"); c.Heal() }
	case faultClock:
		return n.clockFault()
	case faultMembership:
		n.membership()
		return nil
	case faultMoveSlots:
		n.moveSlots(keys)
		return nil
	}
	n.t.Fatalf("unknown fault %q", kind)
	return nil
}

// anyAdmin sends an admin command to running nodes, in random order,
// until one answers without a transport error.
func (n *nemesis) anyAdmin(timeout time.Duration, args ...any) (string, error) {
	var lastErr error
	start := n.intn(n.c.Len())
	for k := range n.c.Len() {
		i := 1 + (start+k)%n.c.Len()
		if n.c.Node(i) == nil {
			continue
		}
		v, err := n.c.admin(i, timeout, args...)
		if err == nil {
			return v, nil
		}
		lastErr = fmt.Errorf("node %d: %w", i, err)
		if !notSent(err) && !strings.Contains(err.Error(), "connection refused") {
			// A refusal, or a command that may still be running (a slot
			// move outlives its client): sending it again elsewhere
			// would not mean the same.
			return "", lastErr
		}
	}
	if lastErr == nil {
		lastErr = fmt.Errorf("no node is running")
	}
	return "", lastErr
}

// membership removes a replica (sometimes the shard's leader) and adds it
// back: the node gets a new replica ID and catches up by snapshot.
func (n *nemesis) membership() {
	v, err := n.c.topoView()
	if err != nil || len(v.Shards) == 0 {
		n.logf("membership: no topology: %v", err)
		return
	}
	sh := v.Shards[n.intn(len(v.Shards))]
	if len(sh.Replicas) < 2 {
		return
	}
	node := sh.Replicas[n.intn(len(sh.Replicas))]
	if n.intn(2) == 0 && sh.CurrentLeader != 0 && slices.Contains(sh.Replicas, sh.CurrentLeader) {
		node = sh.CurrentLeader
	}
	n.faults.Add(1)
	// The guard refuses a removal that would leave the shard without a
	// live, caught-up quorum (a replica down, behind, or a previous change
	// still in flight): a legitimate outcome, tried again a little later,
	// a few times, then given up.
	for try := 1; ; try++ {
		n.logf("CLUSTER DELREPLICA %d %d", sh.ID, node)
		_, err := n.anyAdmin(15*time.Second, "CLUSTER", "DELREPLICA", sh.ID, node)
		if err == nil {
			break
		}
		n.logf("DELREPLICA %d %d: %v", sh.ID, node, err)
		if !strings.Contains(err.Error(), control.RemovalRefused) || try == 5 {
			return
		}
		time.Sleep(n.dur(300*time.Millisecond, time.Second))
	}
	if n.avoid {
		// Known bug: re-adding a node before the group has removed its old
		// replica wedges the group.
		n.waitRemoved(sh.ID, node, 30*time.Second)
	} else {
		// Sometimes add it back at once, sometimes after the group has
		// had time to remove the old replica.
		time.Sleep(n.dur(0, 2*time.Second))
	}
	n.readd(sh.ID, node, 20*time.Second)
}

// waitRemoved waits until node has stopped its replica of shard, which it
// does once the group has removed it (or after ten seconds without news
// of the group), and answers MOVED for the shard's slots.
func (n *nemesis) waitRemoved(shard, node uint64, within time.Duration) bool {
	v, err := n.c.topoView()
	if err != nil {
		return false
	}
	var key string
	for _, r := range v.Slots {
		if r.Shard == shard {
			key = keyInSlots("probe", int(r.Start), int(r.End))
			break
		}
	}
	if key == "" {
		return false
	}
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if n.c.Node(int(node)) == nil {
			return false
		}
		_, err := replicaGet(n.c, int(node), key)
		if err != nil && strings.HasPrefix(err.Error(), "MOVED ") {
			n.logf("node %d no longer runs its replica of shard %d", node, shard)
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	n.logf("node %d still runs its replica of shard %d after %v", node, shard, within)
	return false
}

// readd adds node back to shard until the directory lists it.
func (n *nemesis) readd(shard, node uint64, within time.Duration) bool {
	deadline := time.Now().Add(within)
	for {
		n.logf("CLUSTER ADDREPLICA %d %d", shard, node)
		n.mu.Lock()
		n.rejoined[int(node)] = true
		n.mu.Unlock()
		_, err := n.anyAdmin(15*time.Second, "CLUSTER", "ADDREPLICA", shard, node)
		if err == nil || strings.Contains(err.Error(), "already holds") {
			return true
		}
		n.logf("ADDREPLICA %d %d: %v", shard, node, err)
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// moveSlots moves the slot of a workload key (sometimes with neighbours)
// to another shard.
func (n *nemesis) moveSlots(keys []string) {
	v, err := n.c.topoView()
	if err != nil || len(v.Shards) < 2 {
		n.logf("moveslots: no topology: %v", err)
		return
	}
	if n.avoid {
		for _, sh := range v.Shards {
			if len(sh.Replicas) < n.c.Len() {
				// Known bug: the move hangs if the meta leader does not
				// replicate both shards.
				n.logf("moveslots skipped: shard %d is not on every node (known bug)", sh.ID)
				return
			}
		}
	}
	n.faults.Add(1)
	key := keys[n.intn(len(keys))]
	sl := int(slot.OfString(key))
	from := v.owner(uint16(sl))
	var others []uint64
	for _, sh := range v.Shards {
		if sh.ID != from {
			others = append(others, sh.ID)
		}
	}
	to := others[n.intn(len(others))]
	lo, hi := sl, sl
	if n.intn(2) == 0 {
		lo, hi = max(0, sl-n.intn(300)), min(16383, sl+n.intn(300))
	}
	n.logf("CLUSTER MOVESLOTS %d %d %d (%s, from shard %d)", to, lo, hi, key, from)
	start := time.Now()
	if _, err := n.anyAdmin(20*time.Second, "CLUSTER", "MOVESLOTS", to, lo, hi); err != nil {
		n.logf("MOVESLOTS %d %d %d: %v", to, lo, hi, err)
		return
	}
	n.logf("MOVESLOTS %d %d %d done in %v", to, lo, hi, time.Since(start).Round(time.Millisecond))
}

// repair undoes everything: heals the network, restarts stopped nodes,
// gives every shard its replicas back, waits for migrations to finish and
// for the cluster to serve.
func (n *nemesis) repair(within time.Duration) {
	n.t.Helper()
	deadline := time.Now().Add(within)
	n.logf("repair")
	n.c.Heal()
	n.mu.Lock()
	var stopped []int
	for i := range n.stopped {
		stopped = append(stopped, i)
	}
	n.stopped = map[int]bool{}
	n.mu.Unlock()
	for _, i := range stopped {
		n.logf("restart node %d", i)
		n.c.Restart(i)
	}
	for {
		v, err := n.c.topoView()
		done := err == nil && len(v.Migrations) == 0
		if err == nil {
			for id, want := range n.want {
				sh := v.shard(id)
				if sh == nil {
					n.t.Fatalf("repair: shard %d is gone from the directory", id)
				}
				for _, node := range want {
					if !slices.Contains(sh.Replicas, node) {
						done = false
						if n.avoid {
							n.waitRemoved(id, node, 20*time.Second) // known bug: see membership
						}
						n.readd(id, node, time.Until(deadline))
					}
				}
			}
		}
		if done {
			break
		}
		if time.Now().After(deadline) {
			n.t.Fatalf("repair: cluster not back to full membership without migrations after %v: %v %s", within, err, n.c.Topology())
		}
		time.Sleep(100 * time.Millisecond)
	}
	n.waitServing(deadline)
	n.logf("repaired")
}

// waitServing is Cluster.WaitServing with a diagnosis when it times out:
// what every node thinks of the cluster.
func (n *nemesis) waitServing(deadline time.Time) {
	n.t.Helper()
	for {
		ok := true
		for i := 1; i <= n.c.Len(); i++ {
			if n.c.Node(i) == nil {
				continue
			}
			info, err := n.c.admin(i, 2*time.Second, "CLUSTER", "INFO")
			if err != nil || !strings.Contains(info, "cluster_state:ok") {
				ok = false
				break
			}
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	var b strings.Builder
	for i := 1; i <= n.c.Len(); i++ {
		if n.c.Node(i) == nil {
			fmt.Fprintf(&b, "\nnode %d: stopped", i)
			continue
		}
		info, err := n.c.admin(i, 2*time.Second, "CLUSTER", "INFO")
		var state []string
		for _, l := range strings.Split(info, "\n") {
			if strings.HasPrefix(l, "cluster_state") || strings.HasPrefix(l, "cluster_slots_ok") || strings.HasPrefix(l, "cairn_migrations") {
				state = append(state, strings.TrimSpace(l))
			}
		}
		topo, _ := n.c.admin(i, 2*time.Second, "CLUSTER", "TOPOLOGY")
		fmt.Fprintf(&b, "\nnode %d: %v %v\n  topology: %s", i, state, err, topo)
	}
	n.t.Fatalf("cluster not serving after repair:%s", b.String())
}
