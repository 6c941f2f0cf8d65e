package clustertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

type opsTopo struct {
	Myself uint64 `json:"myself"`
	Nodes  []struct {
		ID uint64 `json:"id"`
	} `json:"nodes"`
	Shards []struct {
		ID            uint64   `json:"id"`
		Replicas      []uint64 `json:"replicas"`
		CurrentLeader uint64   `json:"current_leader"`
		SlotCount     int      `json:"slot_count"`
	} `json:"shards"`
	Migrations []json.RawMessage `json:"migrations"`
}

func (c *Cluster) opsTopo(t *testing.T) opsTopo {
	t.Helper()
	var v opsTopo
	if err := json.Unmarshal([]byte(c.Topology()), &v); err != nil {
		t.Fatalf("topology: %v", err)
	}
	return v
}

// writer sets keys w<n> = n in order through a ClusterClient until stopped,
// recording acknowledged ones and how long each write took.
type writer struct {
	acked   sync.Map // key → value
	count   atomic.Int64
	errs    atomic.Int64
	lastErr atomic.Value
	maxLat  atomic.Int64
	lastOK  atomic.Int64 // unix nanos of the last acknowledged write
	stop    chan struct{}
	once    sync.Once
	wg      sync.WaitGroup
}

func startWriters(cl *redis.ClusterClient, n int, prefix string) *writer {
	w := &writer{stop: make(chan struct{})}
	for g := range n {
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			for i := 0; ; i++ {
				select {
				case <-w.stop:
					return
				default:
				}
				k := fmt.Sprintf("%s%d-%d", prefix, g, i)
				start := time.Now()
				err := cl.Set(context.Background(), k, i, 0).Err()
				lat := time.Since(start)
				if err != nil {
					w.errs.Add(1)
					w.lastErr.Store(err.Error())
					continue
				}
				for {
					cur := w.maxLat.Load()
					if int64(lat) <= cur || w.maxLat.CompareAndSwap(cur, int64(lat)) {
						break
					}
				}
				w.acked.Store(k, i)
				w.count.Add(1)
				w.lastOK.Store(time.Now().UnixNano())
			}
		}()
	}
	return w
}

func (w *writer) halt() {
	w.once.Do(func() { close(w.stop) })
	w.wg.Wait()
}

func (w *writer) verify(t *testing.T, cl *redis.ClusterClient) {
	t.Helper()
	n := 0
	w.acked.Range(func(k, v any) bool {
		got, err := atoi(readBack(cl, k.(string)))
		if err != nil || got != v.(int) {
			t.Errorf("acknowledged %s=%d reads %d, %v", k, v, got, err)
		}
		n++
		return n < 100000
	})
	t.Logf("verified %d acknowledged writes", n)
}

// readBack reads key for a check of acknowledged writes. A read has no
// side effect, so a transient refusal (a leader election, a Raft read
// that timed out under load, a slot mid-move) is retried for up to 20 s;
// any value read, right or wrong, and any other error are returned at
// once for the caller to judge.
func readBack(cl redis.Cmdable, key string) (string, error) {
	deadline := time.Now().Add(20 * time.Second)
	for {
		v, err := cl.Get(context.Background(), key).Result()
		if err == nil || !transient(err) || time.Now().After(deadline) {
			return v, err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// transient reports whether err says only that the cluster could not
// answer just now (no leader, a timed-out Raft read, a slot being moved,
// a connection to a node that is down).
func transient(err error) bool {
	if err == redis.Nil {
		return false
	}
	msg := err.Error()
	for _, p := range []string{"UNCERTAIN ", "CLUSTERDOWN ", "TRYAGAIN ", "LOADING ", "i/o timeout", "connection refused", "EOF", "connection reset"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	var ne net.Error
	return errors.As(err, &ne)
}

// atoi converts readBack's result as go-redis's Int would.
func atoi(v string, err error) (int, error) {
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(v)
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	waitForOr(t, timeout, what, cond, nil)
}

// waitForOr is waitFor that runs dump, to log the state, before failing.
func waitForOr(t *testing.T, timeout time.Duration, what string, cond func() bool, dump func()) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			if dump != nil {
				dump()
			}
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestFailoverUnderLoad(t *testing.T) {
	c := Start(t, Options{})
	cl := c.Client()
	w := startWriters(cl, 8, "f")
	waitFor(t, 10*time.Second, "writes", func() bool { return w.count.Load() > 200 })

	// Stop the node that leads shard 1 (and maybe more).
	v := c.opsTopo(t)
	victim := int(v.Shards[0].CurrentLeader)
	before := w.count.Load()
	stopped := time.Now()
	c.Stop(victim)
	t.Logf("stopped node %d (leader of shard 1)", victim)
	// Every shard must accept writes again within 5 s: keys on all slots
	// are written by the writers, so progress by all writers is the check.
	// Every slot group accepts a write again within 5 s.
	deadline := stopped.Add(5 * time.Second)
	for _, tag := range []string{"{a}", "{b}", "{c}", "{d}", "{e}", "{f}", "{g}", "{h}"} {
		if err := c.Write(context.Background(), "probe"+tag, "1", deadline); err != nil {
			t.Fatalf("no successful write to probe%s within 5 s of the stop: %v", tag, err)
		}
	}
	t.Logf("writes to every slot group succeed %v after the stop", time.Since(stopped).Round(time.Millisecond))
	// go-redis's ClusterClient refreshes its slot map every 10 s (or on
	// MOVED), so its writers resume within about that.
	waitFor(t, 30*time.Second, "more writes", func() bool {
		if os.Getenv("CAIRN_TEST_LOG") != "" {
			t.Logf("acked %d errs %d last %v", w.count.Load(), w.errs.Load(), w.lastErr.Load())
			time.Sleep(time.Second)
		}
		return w.count.Load() > before+500
	})

	c.Restart(victim)
	c.WaitServing(30 * time.Second)
	waitFor(t, 10*time.Second, "writes after restart", func() bool { return w.count.Load() > before+1000 })
	w.halt()
	t.Logf("%d writes acknowledged, %d client errors (last: %v)", w.count.Load(), w.errs.Load(), w.lastErr.Load())
	w.verify(t, c.Client())

	// The restarted node caught up: its replicas hold every key.
	rc := c.NodeClient(victim)
	if err := rc.ReadOnly(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
}

func TestReshardingUnderLoad(t *testing.T) {
	c := Start(t, Options{})
	ctx := context.Background()
	cl := c.Client()
	// Pipelines are not retried by go-redis; the SETs are idempotent, so
	// a batch that meets a leader change is sent again.
	for lo := 0; lo < 5000; lo += 500 {
		var err error
		for try := 0; try < 20; try++ {
			pipe := cl.Pipeline()
			for i := lo; i < lo+500; i++ {
				pipe.Set(ctx, fmt.Sprintf("pre%d", i), i, 0)
			}
			if _, err = pipe.Exec(ctx); err == nil {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	w := startWriters(cl, 8, "r")
	waitFor(t, 10*time.Second, "writes", func() bool { return w.count.Load() > 200 })

	// Move 3000 slots of shard 1 to shard 2 while the writers run.
	start := time.Now()
	if err := c.NodeClient(1).Do(ctx, "CLUSTER", "MOVESLOTS", "2", "0", "2999").Err(); err != nil {
		t.Fatalf("MOVESLOTS: %v", err)
	}
	moveTook := time.Since(start)
	w.halt()
	if n := w.errs.Load(); n != 0 {
		t.Errorf("%d client errors during resharding (last: %v)", n, w.lastErr.Load())
	}
	t.Logf("moved 3000 slots in %v; %d writes during the move, worst write latency %v",
		moveTook.Round(time.Millisecond), w.count.Load(), time.Duration(w.maxLat.Load()).Round(time.Millisecond))

	slots, err := cl.ClusterSlots(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	covered := 0
	for _, s := range slots {
		covered += s.End - s.Start + 1
	}
	if covered != 16384 {
		t.Fatalf("slots cover %d", covered)
	}
	v := c.opsTopo(t)
	if v.Shards[0].SlotCount != 5461-3000 || v.Shards[1].SlotCount != 5461+3000 {
		t.Fatalf("slot counts after move: %+v", v.Shards)
	}
	for i := range 5000 {
		got, err := atoi(readBack(cl, fmt.Sprintf("pre%d", i)))
		if err != nil || got != i {
			t.Fatalf("pre%d = %d, %v", i, got, err)
		}
	}
	w.verify(t, cl)
	// The keys of a moved slot live on its new shard only.
	var total atomic.Int64
	cl.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
		n, err := m.DBSize(ctx).Result()
		total.Add(n)
		return err
	})
	want := int64(5000 + w.count.Load())
	if total.Load() != want {
		t.Fatalf("DBSIZE over masters %d, want %d (duplicated or lost keys)", total.Load(), want)
	}
}

func TestMembershipOperations(t *testing.T) {
	c := Start(t, Options{SnapshotEntries: 50})
	ctx := context.Background()
	cl := c.Client()
	w := startWriters(cl, 4, "m")
	defer w.halt()
	waitFor(t, 10*time.Second, "writes", func() bool { return w.count.Load() > 200 })
	admin := c.NodeClient(1)
	do := func(args ...any) {
		t.Helper()
		if err := admin.Do(ctx, args...).Err(); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
	}
	hasReplica := func(shard, node uint64) func() bool {
		return func() bool {
			for _, s := range c.opsTopo(t).Shards {
				if s.ID == shard {
					for _, r := range s.Replicas {
						if r == node {
							return true
						}
					}
				}
			}
			return false
		}
	}

	// A key of shard 1 (slots 0-5460), written before node 4 exists.
	var key1 string
	for i := 0; key1 == ""; i++ {
		k := fmt.Sprintf("shard1-%d", i)
		if sl, _ := admin.ClusterKeySlot(ctx, k).Result(); sl <= 5460 {
			key1 = k
		}
	}
	if err := cl.Set(ctx, key1, "old", 0).Err(); err != nil {
		t.Fatal(err)
	}

	// A fourth node joins and takes a replica of shard 1 (snapshot catch-up).
	n4 := c.Join(1)
	waitFor(t, 10*time.Second, "node 4 in the directory", func() bool { return len(c.opsTopo(t).Nodes) == 4 })
	do("CLUSTER", "ADDREPLICA", "1", "4")
	ro := redis.NewClient(&redis.Options{Addr: c.Addr(n4), MaxRetries: -1})
	defer ro.Close()
	if err := ro.ReadOnly(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "node 4 serving shard 1 reads", func() bool {
		v, err := ro.Get(ctx, key1).Result()
		return err == nil && v == "old"
	})

	// Replace node 2 by node 4 everywhere, then forget node 2.
	do("CLUSTER", "REPLACENODE", "2", "4")
	for _, sh := range []uint64{1, 2, 3} {
		waitFor(t, 10*time.Second, "node 4 replicating every shard", hasReplica(sh, 4))
	}
	waitFor(t, 30*time.Second, "node 2 left every group", func() bool {
		for _, s := range c.opsTopo(t).Shards {
			for _, r := range s.Replicas {
				if r == 2 {
					return false
				}
			}
		}
		return true
	})
	c.Stop(2)
	do("CLUSTER", "FORGET", "2")

	// A new shard on nodes 4, 1, 3 takes slots, then is drained away.
	id, err := admin.Do(ctx, "CLUSTER", "ADDSHARD", "4", "1", "3").Int()
	if err != nil || id != 4 {
		t.Fatalf("ADDSHARD = %d, %v", id, err)
	}
	do("CLUSTER", "MOVESLOTS", "4", "100", "299")
	if got := c.opsTopo(t).Shards[3].SlotCount; got != 200 {
		t.Fatalf("new shard owns %d slots", got)
	}
	do("CLUSTER", "DRAIN", "4")
	if n := len(c.opsTopo(t).Shards); n != 3 {
		t.Fatalf("%d shards after DRAIN", n)
	}
	waitFor(t, 10*time.Second, "writes after the operations", func() bool { return w.count.Load() > 1000 })
	w.halt()
	t.Logf("%d writes acknowledged, %d client errors (last: %v)", w.count.Load(), w.errs.Load(), w.lastErr.Load())
	w.verify(t, c.Client())
}

func TestRedisClusterReplies(t *testing.T) {
	c := Start(t, Options{})
	ctx := context.Background()
	cl := c.NodeClient(1)
	if n, err := cl.ClusterKeySlot(ctx, "foo").Result(); err != nil || n != 12182 {
		t.Fatalf("KEYSLOT foo = %d, %v", n, err)
	}
	if n, _ := cl.ClusterKeySlot(ctx, "{user1000}.following").Result(); n != 3443 {
		t.Fatalf("KEYSLOT with hash tag = %d", n)
	}
	err := cl.MSet(ctx, "a", 1, "b", 2).Err()
	if err == nil || err.Error() != "CROSSSLOT Keys in request don't hash to the same slot" {
		t.Fatalf("MSET across slots: %v", err)
	}
	if err := cl.MSet(ctx, "{t}a", 1, "{t}b", 2).Err(); err != nil && !strings.HasPrefix(err.Error(), "MOVED ") {
		t.Fatalf("MSET same slot: %v", err)
	}
	// A key of a shard node 1 does not lead answers MOVED <slot> <leader>.
	// Just after start node 1 may still lead every shard: wait until the
	// balancer has moved some leadership to the shards' preferred replicas.
	v := c.opsTopo(t)
	waitFor(t, 20*time.Second, "a shard led by another node than node 1", func() bool {
		v = c.opsTopo(t)
		for _, s := range v.Shards {
			if s.CurrentLeader != 1 {
				return true
			}
		}
		return false
	})
	moved := 0
	for _, k := range []string{"a", "b", "c", "foo", "bar", "baz"} {
		err := cl.Get(ctx, k).Err()
		if err != nil && strings.HasPrefix(err.Error(), "MOVED ") {
			slot, _ := cl.ClusterKeySlot(ctx, k).Result()
			if !strings.HasPrefix(err.Error(), fmt.Sprintf("MOVED %d 127.0.0.1:", slot)) {
				t.Fatalf("GET %s: %v", k, err)
			}
			moved++
		} else if err != nil && !errors.Is(err, redis.Nil) {
			t.Fatalf("GET %s: %v", k, err)
		}
	}
	if moved == 0 {
		t.Fatalf("node 1 served every key; leaders: %+v", v.Shards)
	}
	if err := cl.Do(ctx, "CLUSTER", "COUNTKEYSINSLOT", "16384").Err(); err == nil || err.Error() != "ERR Invalid slot" {
		t.Fatalf("COUNTKEYSINSLOT 16384: %v", err)
	}
	if err := cl.Do(ctx, "CLUSTER", "GETKEYSINSLOT", "1", "-1").Err(); err == nil || err.Error() != "ERR Invalid slot or number of keys" {
		t.Fatalf("GETKEYSINSLOT bad count: %v", err)
	}
	if err := cl.Do(ctx, "CLUSTER", "NOSUCH").Err(); err == nil || !strings.HasPrefix(err.Error(), "ERR unknown subcommand 'NOSUCH'") {
		t.Fatalf("unknown subcommand: %v", err)
	}
	id, err := cl.ClusterMyID(ctx).Result()
	if err != nil || len(id) != 40 {
		t.Fatalf("MYID = %q, %v", id, err)
	}
	nodes, err := cl.ClusterNodes(ctx).Result()
	// The main port stands for one of its node's shard endpoints (the
	// one of the shard it leads, if any): master or replica.
	if err != nil || !strings.Contains(nodes, id+" ") || !(strings.Contains(nodes, "myself,master") || strings.Contains(nodes, "myself,slave")) {
		t.Fatalf("NODES:\n%s", nodes)
	}
	shards, err := cl.ClusterShards(ctx).Result()
	if err != nil || len(shards) != 3 {
		t.Fatalf("SHARDS = %v, %v", shards, err)
	}
	for _, s := range shards {
		if len(s.Nodes) != 3 || len(s.Slots) == 0 {
			t.Fatalf("shard %+v", s)
		}
		masters := 0
		for _, n := range s.Nodes {
			if n.Role == "master" {
				masters++
			}
		}
		if masters != 1 {
			t.Fatalf("shard with %d masters: %+v", masters, s)
		}
	}
	info, err := cl.ClusterInfo(ctx).Result()
	if err != nil || !strings.Contains(info, "cluster_state:ok\r\n") || !strings.Contains(info, "cluster_slots_assigned:16384\r\n") {
		t.Fatalf("INFO:\n%s", info)
	}

	// READONLY lets a replica serve reads of slots it does not lead.
	cc := c.Client()
	if err := cc.Set(ctx, "ro-key", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	slot, _ := cl.ClusterKeySlot(ctx, "ro-key").Result()
	for i := 1; i <= 3; i++ {
		rc := redis.NewClient(&redis.Options{Addr: c.Addr(i), MaxRetries: -1})
		err := rc.Get(ctx, "ro-key").Err()
		if err != nil && strings.HasPrefix(err.Error(), "MOVED") {
			if err := rc.ReadOnly(ctx).Err(); err != nil {
				t.Fatal(err)
			}
			waitFor(t, 5*time.Second, "replica read", func() bool {
				v, err := rc.Get(ctx, "ro-key").Result()
				return err == nil && v == "v"
			})
			if err := rc.Set(ctx, "ro-key", "w", 0).Err(); err == nil || !strings.HasPrefix(err.Error(), fmt.Sprintf("MOVED %d ", slot)) {
				t.Fatalf("write on a READONLY replica connection: %v", err)
			}
		}
		rc.Close()
	}
}
