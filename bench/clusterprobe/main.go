// Command clusterprobe measures a running local Cairn cluster for
// bench/cluster.sh: failover recovery time (RTO) and online resharding.
//
//	clusterprobe failover -dir DIR -addrs A,B,C -script deploy/local-cluster.sh [-kills 10] [-md FILE]
//	clusterprobe reshard  -addrs A,B,C [-keys 300000] [-to 2 -start 0 -end 5460] [-md FILE]
//	clusterprobe wait     -addrs A,B,C [-timeout 20s]
//
// failover: -kills times, SIGKILL a node that currently leads at least one
// shard (pid from DIR/nodeN.pid) and measure, for every shard it led, the
// time from the kill to the first successful SET of a key in that shard's
// slots. The probe sends the SET to a live node, follows MOVED, and pauses
// 5 ms after TRYAGAIN, CLUSTERDOWN, connection errors and timeouts, as a
// client refreshing its slot map on errors would. The kill's RTO is the max
// over its shards. After each kill the node is started again with
// `SCRIPT restart N` (the environment, DIR, BASE_PORT, BIN..., is
// inherited) and the probe waits until every shard is led by its preferred
// replica again. A write load (a redis.ClusterClient) runs throughout; at
// the end every acknowledged write must read back (lost writes are
// counted).
//
// reshard: preload -keys keys spread over all slots (plus the load's own
// keys), start 16 load goroutines doing SET/GET through a
// redis.ClusterClient, run CLUSTER MOVESLOTS TO START END and report its
// duration, the keys moved, the client latency before and during the move,
// the errors that reached the client, and whether every key reads its
// value afterwards.
//
// wait: exit 0 once every node serves and every shard is led by its
// preferred replica (the first listed), 1 after -timeout.
//
// Results go to stdout as "key value" lines (for the script) and, with
// -md, as a Markdown section; progress goes to stderr. The exit status is
// 0 when the measurement ran, even if a check failed: the "ok" line says
// whether every check passed (1) or not (0).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// quietLogger drops go-redis's own log lines (dial failures while a node
// is down are expected here) and counts them.
type quietLogger struct{ n atomic.Int64 }

func (q *quietLogger) Printf(context.Context, string, ...any) { q.n.Add(1) }

var goredisLog = &quietLogger{}

func main() {
	redis.SetLogger(goredisLog)
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: clusterprobe failover|reshard|wait [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "failover":
		err = failover(os.Args[2:])
	case "reshard":
		err = reshard(os.Args[2:])
	case "wait":
		err = waitCmd(os.Args[2:])
	default:
		fmt.Fprintln(os.Stderr, "usage: clusterprobe failover|reshard|wait [flags]")
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "clusterprobe:", err)
		os.Exit(1)
	}
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[probe %s] %s\n", time.Now().Format("15:04:05.000"), fmt.Sprintf(format, args...))
}

// ------------------------------------------------------------ topology

type topoNode struct {
	ID     uint64 `json:"id"`
	Raft   string `json:"raft"`
	Client string `json:"client"`
}

type topoShard struct {
	ID            uint64   `json:"id"`
	Replicas      []uint64 `json:"replicas"`
	CurrentLeader uint64   `json:"current_leader"`
	SlotCount     int      `json:"slot_count"`
}

type topoSlots struct {
	Start uint16 `json:"start"`
	End   uint16 `json:"end"`
	Shard uint64 `json:"shard"`
}

type topology struct {
	Nodes      []topoNode  `json:"nodes"`
	Shards     []topoShard `json:"shards"`
	Slots      []topoSlots `json:"slots"`
	Migrations []any       `json:"migrations"`
}

func (t *topology) owner(slot int) uint64 {
	for _, r := range t.Slots {
		if int(r.Start) <= slot && slot <= int(r.End) {
			return r.Shard
		}
	}
	return 0
}

func (t *topology) node(id uint64) *topoNode {
	for i := range t.Nodes {
		if t.Nodes[i].ID == id {
			return &t.Nodes[i]
		}
	}
	return nil
}

func (t *topology) shard(id uint64) *topoShard {
	for i := range t.Shards {
		if t.Shards[i].ID == id {
			return &t.Shards[i]
		}
	}
	return nil
}

// balanced: every shard is led by its preferred replica (the first).
func (t *topology) balanced() bool {
	for _, sh := range t.Shards {
		if len(sh.Replicas) == 0 || sh.CurrentLeader != sh.Replicas[0] {
			return false
		}
	}
	return true
}

// clients holds one plain client per node address.
type clients struct {
	mu   sync.Mutex
	opts redis.Options
	m    map[string]*redis.Client
}

func newClients(opts redis.Options) *clients {
	return &clients{opts: opts, m: map[string]*redis.Client{}}
}

func (c *clients) get(addr string) *redis.Client {
	c.mu.Lock()
	defer c.mu.Unlock()
	cl := c.m[addr]
	if cl == nil {
		o := c.opts
		o.Addr = addr
		cl = redis.NewClient(&o)
		c.m[addr] = cl
	}
	return cl
}

func (c *clients) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, cl := range c.m {
		cl.Close()
	}
}

// adminClients: short timeouts, no retries (used for topology and checks).
func adminClients() *clients {
	return newClients(redis.Options{DialTimeout: 300 * time.Millisecond, ReadTimeout: 2 * time.Second,
		WriteTimeout: 2 * time.Second, MaxRetries: -1, PoolSize: 4})
}

func fetchTopology(ctx context.Context, cl *clients, addr string) (*topology, error) {
	s, err := cl.get(addr).Do(ctx, "CLUSTER", "TOPOLOGY").Text()
	if err != nil {
		return nil, err
	}
	var t topology
	if err := json.Unmarshal([]byte(s), &t); err != nil {
		return nil, fmt.Errorf("CLUSTER TOPOLOGY from %s: %w", addr, err)
	}
	return &t, nil
}

// anyTopology asks the given addresses in turn.
func anyTopology(ctx context.Context, cl *clients, addrs []string) (*topology, string, error) {
	var last error
	for _, a := range addrs {
		t, err := fetchTopology(ctx, cl, a)
		if err == nil {
			return t, a, nil
		}
		last = err
	}
	return nil, "", fmt.Errorf("no node answered CLUSTER TOPOLOGY: %v", last)
}

// serving: CLUSTER INFO says cluster_state:ok.
func serving(ctx context.Context, cl *clients, addr string) bool {
	s, err := cl.get(addr).Do(ctx, "CLUSTER", "INFO").Text()
	return err == nil && strings.Contains(s, "cluster_state:ok")
}

// keyInShard returns a key (prefix + number) whose CLUSTER KEYSLOT falls in
// one of shard's slot ranges.
func keyInShard(ctx context.Context, cl *clients, addr string, t *topology, shard uint64, prefix string) (string, int, error) {
	for i := 0; i < 100000; i++ {
		k := prefix + strconv.Itoa(i)
		sl, err := cl.get(addr).Do(ctx, "CLUSTER", "KEYSLOT", k).Int()
		if err != nil {
			return "", 0, err
		}
		if t.owner(sl) == shard {
			return k, sl, nil
		}
	}
	return "", 0, fmt.Errorf("no key found for shard %d", shard)
}

// ------------------------------------------------------------ errors

// errKind classifies an error that reached the client.
func errKind(err error) string {
	if err == nil {
		return ""
	}
	s := err.Error()
	for _, p := range []string{"MOVED", "ASK", "TRYAGAIN", "CLUSTERDOWN", "CROSSSLOT", "LOADING", "READONLY", "NOREPLICAS"} {
		if strings.HasPrefix(s, p) {
			return p
		}
	}
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "conn-refused"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "conn-closed"
	case strings.HasPrefix(s, "redis: "):
		return s
	case strings.HasPrefix(s, "ERR"):
		return "ERR"
	}
	return "other"
}

type errCounts struct {
	mu     sync.Mutex
	n      map[string]int
	sample map[string]string
}

func newErrCounts() *errCounts { return &errCounts{n: map[string]int{}, sample: map[string]string{}} }

func (e *errCounts) add(err error) { e.addKind(errKind(err), err) }

func (e *errCounts) addKind(k string, err error) {
	e.mu.Lock()
	e.n[k]++
	if _, ok := e.sample[k]; !ok && err != nil {
		e.sample[k] = err.Error()
	}
	e.mu.Unlock()
}

func (e *errCounts) total() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	t := 0
	for _, v := range e.n {
		t += v
	}
	return t
}

// String: "kind n, kind n" or "none".
func (e *errCounts) String() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.n) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(e.n))
	for k := range e.n {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, e.n[k]))
	}
	return strings.Join(parts, ", ")
}

func (e *errCounts) samples() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	keys := make([]string, 0, len(e.sample))
	for k := range e.sample {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s: %q", k, e.sample[k]))
	}
	return strings.Join(parts, "; ")
}

// ------------------------------------------------------------ tracked keys

// tracked follows the writes of one load goroutine to its own keys, so
// that reads and the final check can tell a lost or stale value. A write
// that failed may or may not have been applied: its value stays
// acceptable until a later write to the key is acknowledged.
type tracked struct {
	keys    []string
	acked   []int64   // last acknowledged sequence number per key, -1 = none
	pending [][]int64 // failed writes since the last acknowledged one
	initial []string  // value before the load wrote (reshard preload), "" = none
}

func newTracked(keys []string, initial []string) *tracked {
	t := &tracked{keys: keys, acked: make([]int64, len(keys)), pending: make([][]int64, len(keys)), initial: initial}
	for i := range t.acked {
		t.acked[i] = -1
	}
	return t
}

func value(g int, seq int64) string { return "w" + strconv.Itoa(g) + ":" + strconv.FormatInt(seq, 10) }

// ok tells whether v (nil = missing) is an acceptable value of key i.
func (t *tracked) ok(g, i int, v *string) bool {
	if t.acked[i] >= 0 {
		if v != nil && *v == value(g, t.acked[i]) {
			return true
		}
	} else if t.initial != nil {
		if v != nil && *v == t.initial[i] {
			return true
		}
	} else if v == nil {
		return true
	}
	for _, s := range t.pending[i] {
		if v != nil && *v == value(g, s) {
			return true
		}
	}
	return false
}

// verify reads every key through cc and counts keys whose value is not
// acceptable (lost writes).
func (t *tracked) verify(ctx context.Context, cc *redis.ClusterClient, g int) (checked, lost int, err error) {
	for lo := 0; lo < len(t.keys); lo += 500 {
		hi := min(lo+500, len(t.keys))
		var vals []*string
		for attempt := 0; ; attempt++ {
			vals, err = mget(ctx, cc, t.keys[lo:hi])
			if err == nil {
				break
			}
			if attempt == 20 {
				return checked, lost, err
			}
			time.Sleep(200 * time.Millisecond)
		}
		for j, v := range vals {
			i := lo + j
			if t.acked[i] < 0 && len(t.pending[i]) == 0 && t.initial == nil {
				continue // never written
			}
			checked++
			if !t.ok(g, i, v) {
				lost++
				if lost <= 3 {
					got := "(nil)"
					if v != nil {
						got = *v
					}
					want := "(nil)"
					if t.acked[i] >= 0 {
						want = value(g, t.acked[i])
					} else if t.initial != nil {
						want = t.initial[i]
					}
					logf("LOST: key %s reads %q, want %q (pending %v)", t.keys[i], got, want, t.pending[i])
				}
			}
		}
	}
	return checked, lost, nil
}

// mget GETs keys through a cluster pipeline; nil = missing.
func mget(ctx context.Context, cc *redis.ClusterClient, keys []string) ([]*string, error) {
	pipe := cc.Pipeline()
	cmds := make([]*redis.StringCmd, len(keys))
	for i, k := range keys {
		cmds[i] = pipe.Get(ctx, k)
	}
	_, _ = pipe.Exec(ctx)
	out := make([]*string, len(keys))
	for i, c := range cmds {
		v, err := c.Result()
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out[i] = &v
	}
	return out, nil
}

func clusterClient(addrs []string, readTimeout time.Duration, pool int) *redis.ClusterClient {
	return redis.NewClusterClient(&redis.ClusterOptions{
		Addrs:                      addrs,
		ClusterStateReloadInterval: time.Second,
		DialTimeout:                time.Second,
		ReadTimeout:                readTimeout,
		WriteTimeout:               readTimeout,
		PoolSize:                   pool,
	})
}

// ------------------------------------------------------------ stats

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p*float64(len(sorted))+0.5) - 1
	i = max(0, min(i, len(sorted)-1))
	return sorted[i]
}

func ms(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e6, 'f', 1, 64) }

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// out collects the "key value" lines and the Markdown section.
type out struct {
	kv []string
	md strings.Builder
}

func (o *out) set(k string, v any) { o.kv = append(o.kv, fmt.Sprintf("%s %v", k, v)) }
func (o *out) mdf(format string, args ...any) {
	fmt.Fprintf(&o.md, format, args...)
	o.md.WriteByte('\n')
}

func (o *out) write(mdPath string) error {
	for _, l := range o.kv {
		fmt.Println(l)
	}
	if mdPath != "" {
		return os.WriteFile(mdPath, []byte(o.md.String()), 0o644)
	}
	return nil
}

// ------------------------------------------------------------ wait

// waitCmd waits until every node serves and every shard is led by its
// preferred replica; it fails after -timeout.
func waitCmd(args []string) error {
	fs := flag.NewFlagSet("wait", flag.ExitOnError)
	addrsF := fs.String("addrs", "", "client addresses of the nodes, comma separated")
	timeout := fs.Duration("timeout", 20*time.Second, "give up after this long")
	_ = fs.Parse(args)
	addrs := strings.Split(*addrsF, ",")
	ctx := context.Background()
	admin := adminClients()
	defer admin.close()
	deadline := time.Now().Add(*timeout)
	for {
		t, _, err := anyTopology(ctx, admin, addrs)
		if err == nil && waitBalanced(ctx, admin, t, time.Until(deadline)) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("leaders not on their preferred nodes after %v", *timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// ------------------------------------------------------------ failover

type killResult struct {
	node      uint64
	shards    []uint64
	rto       map[uint64]time.Duration
	attempts  map[uint64]int
	errs      map[uint64]string
	probeErrs *errCounts // errors the probes saw before recovering
	max       time.Duration
	failed    bool
	rebalance time.Duration // restart command start → balanced
	balanced  bool
	changes   map[uint64]int // leader changes per shard seen during the cycle
	// The write load during the cycle (kill → rebalanced).
	loadAcked int64
	loadErrs  int
	loadMax   time.Duration
	slow      []slowRec // load attempts slower than slowAttempt
	tKill     time.Time
	restarted time.Duration // kill → restart command returned (node answers PING)
}

// leaderWatch polls one node's CLUSTER TOPOLOGY and counts, per shard, how
// often the leader it reports changes.
type leaderWatch struct {
	changes map[uint64]int
	quit    chan struct{}
	done    chan struct{}
}

func watchLeaders(addr string) *leaderWatch {
	w := &leaderWatch{changes: map[uint64]int{}, quit: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		cl := adminClients()
		defer cl.close()
		last := map[uint64]uint64{}
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			if t, err := fetchTopology(context.Background(), cl, addr); err == nil {
				for _, sh := range t.Shards {
					cur := sh.CurrentLeader
					if cur == 0 {
						continue
					}
					if prev := last[sh.ID]; prev != 0 && prev != cur {
						w.changes[sh.ID]++
					}
					last[sh.ID] = cur
				}
			}
			select {
			case <-w.quit:
				return
			case <-tick.C:
			}
		}
	}()
	return w
}

func (w *leaderWatch) stop() map[uint64]int {
	close(w.quit)
	<-w.done
	return w.changes
}

func fmtChanges(r killResult) string {
	var ids []uint64
	for id := range r.changes {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var s []string
	for _, id := range ids {
		mark := ""
		if !slices.Contains(r.shards, id) {
			mark = " (not led by the killed node)"
		}
		s = append(s, fmt.Sprintf("shard %d: %d%s", id, r.changes[id], mark))
	}
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

func failover(args []string) error {
	fs := flag.NewFlagSet("failover", flag.ExitOnError)
	dir := fs.String("dir", "", "cluster directory holding nodeN.pid")
	addrsF := fs.String("addrs", "", "client addresses of the nodes, comma separated")
	script := fs.String("script", "deploy/local-cluster.sh", "local-cluster.sh (restart N)")
	kills := fs.Int("kills", 10, "number of kills")
	writers := fs.Int("writers", 4, "load goroutines")
	keysPer := fs.Int("keys-per-writer", 500, "keys per load goroutine")
	settle := fs.Duration("settle", time.Second, "pause after rebalancing before the next kill")
	balanceWait := fs.Duration("balance-timeout", 60*time.Second, "how long to wait for leaders to return to their preferred nodes")
	mdPath := fs.String("md", "", "write a Markdown section here")
	_ = fs.Parse(args)
	if *dir == "" || *addrsF == "" {
		return errors.New("failover needs -dir and -addrs")
	}
	addrs := strings.Split(*addrsF, ",")
	ctx := context.Background()
	admin := adminClients()
	defer admin.close()

	topo, from, err := anyTopology(ctx, admin, addrs)
	if err != nil {
		return err
	}
	if !topo.balanced() {
		logf("waiting for leaders on their preferred nodes")
		if !waitBalanced(ctx, admin, topo, *balanceWait) {
			logf("WARNING: leaders not on their preferred nodes after %v", *balanceWait)
		}
	}
	probeKey := map[uint64]string{}
	for _, sh := range topo.Shards {
		k, sl, err := keyInShard(ctx, admin, from, topo, sh.ID, "rto:")
		if err != nil {
			return err
		}
		probeKey[sh.ID] = k
		logf("shard %d: probe key %s (slot %d), preferred leader node %d", sh.ID, k, sl, sh.Replicas[0])
	}

	// Background write load.
	load := startWriteLoad(addrs, *writers, *keysPer)

	var results []killResult
	var nodeIDs []uint64
	for _, n := range topo.Nodes {
		nodeIDs = append(nodeIDs, n.ID)
	}
	for k := 0; k < *kills; k++ {
		t, _, err := anyTopology(ctx, admin, addrs)
		if err != nil {
			load.stop()
			return err
		}
		// Rotate over the nodes; take the first, from this kill's turn on,
		// that leads a shard.
		var victim uint64
		var led []uint64
		for j := range nodeIDs {
			cand := nodeIDs[(k+j)%len(nodeIDs)]
			var l []uint64
			for _, sh := range t.Shards {
				if sh.CurrentLeader == cand && t.shard(sh.ID).SlotCount > 0 {
					l = append(l, sh.ID)
				}
			}
			if len(l) > 0 {
				victim, led = cand, l
				break
			}
		}
		if victim == 0 {
			load.stop()
			return errors.New("no node leads a shard")
		}
		// Watch the shards' leaders from another node for the whole cycle.
		var observer string
		for _, n := range t.Nodes {
			if n.ID != victim {
				observer = n.Client
				break
			}
		}
		watch := watchLeaders(observer)
		errs0, acked0 := load.errs.total(), load.acked.Load()
		load.maxLat.Store(0)
		load.takeSlow()
		res := killOne(ctx, t, *dir, victim, led, probeKey, addrs)
		logf("kill %d: node %d (led shards %v): RTO %s ms %v", k+1, victim, led, ms(res.max), fmtRTO(res))
		// Restart and wait for leaders back on their preferred nodes.
		// local-cluster.sh restart starts nothing while the old pid still
		// exists: wait until the killed process is gone (reaped).
		if pid, err := readPid(*dir, victim); err == nil {
			if !waitGone(pid, 30*time.Second) {
				logf("WARNING: killed process %d still exists after 30 s", pid)
			}
		}
		t0 := time.Now()
		cmd := exec.Command("bash", *script, "restart", strconv.FormatUint(victim, 10))
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			load.stop()
			return fmt.Errorf("restart node %d: %w", victim, err)
		}
		res.restarted = time.Since(res.tKill)
		ok := waitBalanced(ctx, admin, t, *balanceWait)
		res.rebalance, res.balanced = time.Since(t0), ok
		res.changes = watch.stop()
		res.loadErrs, res.loadAcked = load.errs.total()-errs0, load.acked.Load()-acked0
		res.loadMax = time.Duration(load.maxLat.Load())
		res.slow = load.takeSlow()
		for _, r := range res.slow {
			logf("kill %d: slow load attempt on %s at kill+%.2f s: %.2f s (%s)", k+1, r.addr, r.at.Sub(res.tKill).Seconds(), r.dur.Seconds(), orOK(r.kind))
		}
		if !ok {
			logf("WARNING: kill %d: leaders not back on their preferred nodes %v after the restart", k+1, *balanceWait)
		} else {
			logf("kill %d: node %d back, leaders rebalanced %.1f s after the restart began", k+1, victim, res.rebalance.Seconds())
		}
		results = append(results, res)
		time.Sleep(*settle)
	}

	time.Sleep(500 * time.Millisecond)
	load.stop()
	checked, lost, verr := load.verify(ctx, addrs)

	// Report.
	var o out
	var rtos []time.Duration
	failedKills := 0
	for _, r := range results {
		if r.failed {
			failedKills++
			continue
		}
		rtos = append(rtos, r.max)
	}
	med, mx := median(rtos), time.Duration(0)
	for _, d := range rtos {
		mx = max(mx, d)
	}
	allOK := verr == nil && lost == 0 && failedKills == 0
	o.set("kills", len(results))
	o.set("rto_median_ms", ms(med))
	o.set("rto_max_ms", ms(mx))
	o.set("rto_failed_kills", failedKills)
	o.set("load_acked", load.acked.Load())
	o.set("load_failed", load.errs.total())
	o.set("load_errors", strconv.Quote(load.errs.String()))
	o.set("load_checked_keys", checked)
	o.set("load_lost", lost)
	o.set("ok", b2i(allOK))

	o.mdf("## Failover RTO (SIGKILL of a shard leader)")
	o.mdf("")
	o.mdf("%d kills. RTO = time from the SIGKILL to the first acknowledged SET of a key in each shard the node led (max over those shards). "+
		"The probe sends SET to a live node, follows MOVED, pauses 5 ms after TRYAGAIN / CLUSTERDOWN / connection errors. "+
		"After each kill the node is restarted and the probe waits until every shard is led by its preferred node again. "+
		"*Leader changes*: how often each shard's leader changed during the cycle (kill → rebalanced), as seen by a node that was not killed; "+
		"the killed node's shards change twice (failover, then handback), a change on another shard is collateral. "+
		"*Load*: the background writes during the cycle; the max latency includes go-redis's own retries.", len(results))
	o.mdf("")
	o.mdf("| kill | node | shards led | RTO per shard (ms) | RTO (ms) | probe attempts | errors the probe saw | restart → leaders rebalanced (s) | leader changes in the cycle | load: acked / failed / max latency (ms) |")
	o.mdf("|---:|---:|---|---|---:|---:|---|---:|---|---|")
	for i, r := range results {
		att := 0
		for _, a := range r.attempts {
			att += a
		}
		rtoS := ms(r.max)
		if r.failed {
			rtoS = "FAILED (" + strings.Join(slices.Collect(mapValues(r.errs)), "; ") + ")"
		}
		reb := fmt.Sprintf("%.1f", r.rebalance.Seconds())
		if !r.balanced {
			reb += " (not rebalanced)"
		}
		pe := "-"
		if r.probeErrs != nil {
			pe = r.probeErrs.String()
		}
		o.mdf("| %d | %d | %s | %s | %s | %d | %s | %s | %s | %d / %d / %s |", i+1, r.node, joinU(r.shards), fmtRTO(r), rtoS, att, pe, reb,
			fmtChanges(r), r.loadAcked, r.loadErrs, ms(r.loadMax))
	}
	var slowLines []string
	for i, r := range results {
		va := ""
		if nd := topo.node(r.node); nd != nil {
			va = nd.Client
		}
		if l := fmtSlow(i+1, r, va); l != "" {
			slowLines = append(slowLines, "- "+l)
		}
	}
	if len(slowLines) > 0 {
		o.mdf("")
		o.mdf("Load requests that took %v or more on one node (measured per node client, inside go-redis's redirects and retries):", slowAttempt)
		o.mdf("")
		for _, l := range slowLines {
			o.mdf("%s", l)
		}
	}
	o.mdf("")
	o.mdf("**RTO median %s ms, max %s ms** over %d kills%s.", ms(med), ms(mx), len(rtos), failedStr(failedKills))
	o.mdf("")
	verrS := ""
	if verr != nil {
		verrS = fmt.Sprintf(" VERIFY FAILED: %v.", verr)
	}
	o.mdf("Write load during the kills: %d goroutines, SET through a go-redis ClusterClient (ClusterStateReloadInterval 1 s), "+
		"%d keys. %d writes acknowledged, %d failed (errors that reached the client: %s). "+
		"Check afterwards: %d keys read, **%d lost** (a key is lost if it does not hold its last acknowledged value or a value of a failed write issued after it).%s",
		*writers, *writers**keysPer, load.acked.Load(), load.errs.total(), load.errs.String(), checked, lost, verrS)
	if s := load.errs.samples(); s != "" {
		o.mdf("")
		o.mdf("Error samples: %s", s)
	}
	return o.write(*mdPath)
}

func orOK(kind string) string {
	if kind == "" {
		return "ok"
	}
	return kind
}

// fmtSlow summarises a kill's slow load attempts by node.
func fmtSlow(k int, r killResult, victimAddr string) string {
	if len(r.slow) == 0 {
		return ""
	}
	type agg struct {
		n     int
		max   time.Duration
		first time.Duration
		kinds *errCounts
	}
	by := map[string]*agg{}
	var addrs []string
	for _, s := range r.slow {
		a := by[s.addr]
		if a == nil {
			a = &agg{kinds: newErrCounts(), first: s.at.Sub(r.tKill)}
			by[s.addr] = a
			addrs = append(addrs, s.addr)
		}
		a.n++
		a.max = max(a.max, s.dur)
		a.kinds.addKind(orOK(s.kind), nil)
	}
	sort.Strings(addrs)
	var parts []string
	for _, ad := range addrs {
		a := by[ad]
		who := ad
		if ad == victimAddr {
			who += " (the killed node)"
		}
		parts = append(parts, fmt.Sprintf("%d on %s, first at kill+%.1f s, longest %.1f s (%s)", a.n, who, a.first.Seconds(), a.max.Seconds(), a.kinds))
	}
	return fmt.Sprintf("kill %d (node restarted and answering PING at kill+%.1f s): %s", k, r.restarted.Seconds(), strings.Join(parts, "; "))
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func failedStr(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(", **%d kills never recovered**", n)
}

func mapValues[K comparable, V any](m map[K]V) func(func(V) bool) {
	return func(yield func(V) bool) {
		for _, v := range m {
			if !yield(v) {
				return
			}
		}
	}
}

func joinU(ids []uint64) string {
	var s []string
	for _, id := range ids {
		s = append(s, strconv.FormatUint(id, 10))
	}
	return strings.Join(s, ", ")
}

func fmtRTO(r killResult) string {
	var s []string
	for _, sh := range r.shards {
		if d, ok := r.rto[sh]; ok {
			s = append(s, fmt.Sprintf("shard %d: %s", sh, ms(d)))
		} else {
			s = append(s, fmt.Sprintf("shard %d: failed", sh))
		}
	}
	return strings.Join(s, ", ")
}

func readPid(dir string, node uint64) (int, error) {
	b, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("node%d.pid", node)))
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

// waitGone waits until process pid no longer exists.
func waitGone(pid int, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

// killOne SIGKILLs node victim and measures each led shard's recovery.
func killOne(ctx context.Context, t *topology, dir string, victim uint64, led []uint64, probeKey map[uint64]string, addrs []string) killResult {
	res := killResult{node: victim, shards: led, rto: map[uint64]time.Duration{}, attempts: map[uint64]int{},
		errs: map[uint64]string{}, probeErrs: newErrCounts()}
	pid, err := readPid(dir, victim)
	if err != nil {
		res.failed = true
		res.errs[0] = err.Error()
		return res
	}
	var live []string
	victimAddr := ""
	if nd := t.node(victim); nd != nil {
		victimAddr = nd.Client
	}
	for _, a := range addrs {
		if a != victimAddr {
			live = append(live, a)
		}
	}
	// Probe clients: no retries inside go-redis, short timeouts; one set per
	// shard so probes do not share connections.
	mk := func() *clients {
		return newClients(redis.Options{DialTimeout: 200 * time.Millisecond, ReadTimeout: time.Second,
			WriteTimeout: time.Second, MaxRetries: -1, PoolSize: 2})
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		res.failed = true
		res.errs[0] = fmt.Sprintf("kill %d: %v", pid, err)
		return res
	}
	t0 := time.Now()
	res.tKill = t0
	var mu sync.Mutex
	var wg sync.WaitGroup
	for si, sh := range led {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl := mk()
			defer cl.close()
			key := probeKey[sh]
			next := si // round-robin position over live nodes
			target := live[next%len(live)]
			var last error
			attempts, hops := 0, 0
			deadline := t0.Add(60 * time.Second)
			for time.Now().Before(deadline) {
				attempts++
				c, cancel := context.WithTimeout(ctx, 2*time.Second)
				err := cl.get(target).Set(c, key, strconv.FormatInt(time.Now().UnixNano(), 10), 0).Err()
				cancel()
				if err == nil {
					d := time.Since(t0)
					mu.Lock()
					res.rto[sh], res.attempts[sh] = d, attempts
					mu.Unlock()
					return
				}
				last = err
				if s := err.Error(); strings.HasPrefix(s, "MOVED ") {
					if f := strings.Fields(s); len(f) == 3 {
						if f[2] == victimAddr {
							res.probeErrs.addKind("MOVED to the killed node", err)
						} else {
							res.probeErrs.add(err)
						}
						target = f[2]
						if hops++; hops <= 3 {
							continue // follow the redirect at once
						}
						hops = 0
						time.Sleep(5 * time.Millisecond) // a redirect loop: pause
						continue
					}
				}
				hops = 0
				res.probeErrs.add(err)
				time.Sleep(5 * time.Millisecond)
				next++
				target = live[next%len(live)]
			}
			mu.Lock()
			res.failed = true
			res.attempts[sh] = attempts
			res.errs[sh] = fmt.Sprintf("shard %d: %v", sh, last)
			mu.Unlock()
		}()
	}
	wg.Wait()
	for _, d := range res.rto {
		res.max = max(res.max, d)
	}
	return res
}

// waitBalanced waits until every node in t answers CLUSTER INFO with
// cluster_state:ok and reports every shard led by its preferred replica.
func waitBalanced(ctx context.Context, admin *clients, t *topology, timeout time.Duration) bool {
	t0 := time.Now()
	for time.Since(t0) < timeout {
		ok := true
		for _, n := range t.Nodes {
			if !serving(ctx, admin, n.Client) {
				ok = false
				break
			}
			nt, err := fetchTopology(ctx, admin, n.Client)
			if err != nil || !nt.balanced() {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
		time.Sleep(100 * time.Millisecond)
	}
	return false
}

// slowHook records, for each node client of a ClusterClient, the attempts
// that took longer than a threshold (which node, how long, what error).
type slowHook struct {
	addr string
	rec  func(slowRec)
}

type slowRec struct {
	addr string
	at   time.Time
	dur  time.Duration
	kind string // errKind, "" = success
}

func (h slowHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h slowHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

func (h slowHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		st := time.Now()
		err := next(ctx, cmd)
		if d := time.Since(st); d >= slowAttempt {
			h.rec(slowRec{addr: h.addr, at: st, dur: d, kind: errKind(err)})
		}
		return err
	}
}

const slowAttempt = time.Second

// writeLoad: goroutines doing SET through a ClusterClient.
type writeLoad struct {
	cc     *redis.ClusterClient
	tr     []*tracked
	acked  atomic.Int64
	maxLat atomic.Int64 // longest SET (ns) since last reset
	errs   *errCounts
	slowMu sync.Mutex
	slow   []slowRec // attempts on one node slower than slowAttempt, since last reset
	quit   chan struct{}
	wg     sync.WaitGroup
}

func startWriteLoad(addrs []string, writers, keysPer int) *writeLoad {
	l := &writeLoad{cc: clusterClient(addrs, 3*time.Second, 2*writers), errs: newErrCounts(), quit: make(chan struct{})}
	l.cc.OnNewNode(func(rdb *redis.Client) {
		rdb.AddHook(slowHook{addr: rdb.Options().Addr, rec: func(r slowRec) {
			l.slowMu.Lock()
			l.slow = append(l.slow, r)
			l.slowMu.Unlock()
		}})
	})
	for g := range writers {
		keys := make([]string, keysPer)
		for i := range keys {
			keys[i] = fmt.Sprintf("fo:%d:%d", g, i)
		}
		tr := newTracked(keys, nil)
		l.tr = append(l.tr, tr)
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			ctx := context.Background()
			var seq int64
			for i := 0; ; i = (i + 1) % keysPer {
				select {
				case <-l.quit:
					return
				default:
				}
				seq++
				st := time.Now()
				err := l.cc.Set(ctx, tr.keys[i], value(g, seq), 0).Err()
				for d := int64(time.Since(st)); ; {
					m := l.maxLat.Load()
					if d <= m || l.maxLat.CompareAndSwap(m, d) {
						break
					}
				}
				if err == nil {
					tr.acked[i], tr.pending[i] = seq, tr.pending[i][:0]
					l.acked.Add(1)
					continue
				}
				tr.pending[i] = append(tr.pending[i], seq)
				l.errs.add(err)
				time.Sleep(5 * time.Millisecond)
			}
		}()
	}
	return l
}

// takeSlow returns and resets the slow attempts recorded so far.
func (l *writeLoad) takeSlow() []slowRec {
	l.slowMu.Lock()
	defer l.slowMu.Unlock()
	s := l.slow
	l.slow = nil
	return s
}

func (l *writeLoad) stop() {
	select {
	case <-l.quit:
	default:
		close(l.quit)
	}
	l.wg.Wait()
}

func (l *writeLoad) verify(ctx context.Context, addrs []string) (checked, lost int, err error) {
	cc := clusterClient(addrs, 10*time.Second, 8)
	defer cc.Close()
	for g, tr := range l.tr {
		c, lo, err := tr.verify(ctx, cc, g)
		checked += c
		lost += lo
		if err != nil {
			return checked, lost, err
		}
	}
	return checked, lost, nil
}

// ------------------------------------------------------------ reshard

type opRec struct {
	start int64 // unix ns
	dur   time.Duration
}

func reshard(args []string) error {
	fs := flag.NewFlagSet("reshard", flag.ExitOnError)
	addrsF := fs.String("addrs", "", "client addresses of the nodes, comma separated")
	nkeys := fs.Int("keys", 300000, "keys to preload, spread over all slots")
	vsize := fs.Int("value-size", 64, "preloaded value size in bytes")
	to := fs.Uint64("to", 2, "destination shard")
	start := fs.Int("start", 0, "first slot to move")
	end := fs.Int("end", 5460, "last slot to move")
	workers := fs.Int("clients", 16, "load goroutines")
	loadKeys := fs.Int("load-keys", 16000, "keys the load goroutines use (preloaded too)")
	base := fs.Duration("baseline", 3*time.Second, "load before the move (baseline window)")
	after := fs.Duration("after", 2*time.Second, "load after the move")
	mdPath := fs.String("md", "", "write a Markdown section here")
	_ = fs.Parse(args)
	if *addrsF == "" {
		return errors.New("reshard needs -addrs")
	}
	addrs := strings.Split(*addrsF, ",")
	ctx := context.Background()
	admin := adminClients()
	defer admin.close()

	topo, _, err := anyTopology(ctx, admin, addrs)
	if err != nil {
		return err
	}
	from := topo.owner(*start)
	for s := *start; s <= *end; s++ {
		if topo.owner(s) != from {
			return fmt.Errorf("slots %d-%d are not all owned by shard %d", *start, *end, from)
		}
	}
	if from == *to {
		return fmt.Errorf("slots %d-%d already belong to shard %d", *start, *end, *to)
	}

	// 1. Preload.
	cc := clusterClient(addrs, 10*time.Second, 16)
	defer cc.Close()
	preVal := func(i int) string {
		v := "p" + strconv.Itoa(i) + "-"
		return v + strings.Repeat("x", max(0, *vsize-len(v)))
	}
	preKey := func(i int) string { return "rs:" + strconv.Itoa(i) }
	// The load's keys: key i belongs to goroutine i % workers.
	ldKey := func(i int) string { return "ld:" + strconv.Itoa(i) }
	ldInit := func(i int) string { return "init:" + strconv.Itoa(i) }
	t0 := time.Now()
	if err := preload(ctx, cc, *nkeys, preKey, preVal, 8); err != nil {
		return fmt.Errorf("preload: %w", err)
	}
	if err := preload(ctx, cc, *loadKeys, ldKey, ldInit, 8); err != nil {
		return fmt.Errorf("preload load keys: %w", err)
	}
	preloadDur := time.Since(t0)
	logf("preloaded %d + %d keys in %.1f s", *nkeys, *loadKeys, preloadDur.Seconds())
	countBefore, err := countKeys(ctx, admin, topo, from, *start, *end)
	if err != nil {
		return err
	}
	migBefore := keysMigrated(ctx, admin, topo)
	logf("shard %d holds %d keys in slots %d-%d", from, countBefore, *start, *end)

	// 2. Load.
	type worker struct {
		tr    *tracked
		idx   []int
		recs  []opRec
		stale int
		errs  *errCounts
	}
	errs := newErrCounts()
	lc := clusterClient(addrs, 10*time.Second, *workers+4)
	defer lc.Close()
	ws := make([]*worker, *workers)
	for g := range ws {
		var keys, init []string
		var idx []int
		for i := g; i < *loadKeys; i += *workers {
			keys = append(keys, ldKey(i))
			init = append(init, ldInit(i))
			idx = append(idx, i)
		}
		ws[g] = &worker{tr: newTracked(keys, init), idx: idx, recs: make([]opRec, 0, 1<<16), errs: errs}
	}
	quit := make(chan struct{})
	var wg sync.WaitGroup
	var staleSample atomic.Value
	for g, w := range ws {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 42))
			var seq int64
			n := len(w.tr.keys)
			for {
				select {
				case <-quit:
					return
				default:
				}
				i := rng.IntN(n)
				st := time.Now()
				if rng.IntN(2) == 0 {
					seq++
					err := lc.Set(ctx, w.tr.keys[i], value(g, seq), 0).Err()
					w.recs = append(w.recs, opRec{st.UnixNano(), time.Since(st)})
					if err != nil {
						w.tr.pending[i] = append(w.tr.pending[i], seq)
						w.errs.add(err)
						continue
					}
					w.tr.acked[i], w.tr.pending[i] = seq, w.tr.pending[i][:0]
				} else {
					v, err := lc.Get(ctx, w.tr.keys[i]).Result()
					w.recs = append(w.recs, opRec{st.UnixNano(), time.Since(st)})
					if errors.Is(err, redis.Nil) {
						if !w.tr.ok(g, i, nil) {
							w.stale++
							staleSample.CompareAndSwap(nil, fmt.Sprintf("GET %s = (nil)", w.tr.keys[i]))
						}
						continue
					}
					if err != nil {
						w.errs.add(err)
						continue
					}
					if !w.tr.ok(g, i, &v) {
						w.stale++
						staleSample.CompareAndSwap(nil, fmt.Sprintf("GET %s = %q, acked seq %d", w.tr.keys[i], v, w.tr.acked[i]))
					}
				}
			}
		}()
	}
	time.Sleep(*base)
	errsBefore := errs.String()
	errsBeforeN := errs.total()

	// 3. The move.
	mover := redis.NewClient(&redis.Options{Addr: addrs[0], ReadTimeout: 30 * time.Minute, MaxRetries: -1})
	defer mover.Close()
	logf("CLUSTER MOVESLOTS %d %d %d", *to, *start, *end)
	m0 := time.Now()
	moveErr := mover.Do(ctx, "CLUSTER", "MOVESLOTS", *to, *start, *end).Err()
	m1 := time.Now()
	logf("move took %.2f s (err %v)", m1.Sub(m0).Seconds(), moveErr)
	errsDuringN := errs.total() - errsBeforeN
	time.Sleep(*after)
	close(quit)
	wg.Wait()

	// 4. Figures.
	type win struct {
		n             int
		p50, p99, max time.Duration
		secs          float64
	}
	window := func(lo, hi int64) win {
		var ds []time.Duration
		for _, w := range ws {
			for _, r := range w.recs {
				if r.start < hi && r.start+int64(r.dur) > lo {
					ds = append(ds, r.dur)
				}
			}
		}
		slices.Sort(ds)
		out := win{n: len(ds), secs: float64(hi-lo) / 1e9}
		if len(ds) > 0 {
			out.p50, out.p99, out.max = percentile(ds, 0.50), percentile(ds, 0.99), ds[len(ds)-1]
		}
		return out
	}
	var loadStart int64 = m0.UnixNano()
	for _, w := range ws {
		if len(w.recs) > 0 {
			loadStart = min(loadStart, w.recs[0].start)
		}
	}
	wb := window(loadStart+int64(500*time.Millisecond), m0.UnixNano())
	wm := window(m0.UnixNano(), m1.UnixNano())
	stale := 0
	for _, w := range ws {
		stale += w.stale
	}

	topoAfter, _, err := anyTopology(ctx, admin, addrs)
	if err != nil {
		return err
	}
	movedAll := true
	for s := *start; s <= *end; s++ {
		if topoAfter.owner(s) != *to {
			movedAll = false
			break
		}
	}
	countAfter, cerr := countKeys(ctx, admin, topoAfter, *to, *start, *end)
	if cerr != nil {
		logf("count after: %v", cerr)
		countAfter = -1
	}
	migAfter := keysMigrated(ctx, admin, topoAfter)

	// 5. Verify: every preloaded key reads its value, every load key its
	// last acknowledged value.
	vc := clusterClient(addrs, 10*time.Second, 8)
	defer vc.Close()
	wrong, missing := 0, 0
	var verr error
	for lo := 0; lo < *nkeys && verr == nil; lo += 1000 {
		hi := min(lo+1000, *nkeys)
		keys := make([]string, 0, hi-lo)
		for i := lo; i < hi; i++ {
			keys = append(keys, preKey(i))
		}
		var vals []*string
		for attempt := 0; ; attempt++ {
			vals, verr = mget(ctx, vc, keys)
			if verr == nil || attempt == 20 {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		for j, v := range vals {
			switch {
			case v == nil:
				missing++
			case *v != preVal(lo+j):
				wrong++
			}
		}
	}
	ldChecked, ldLost := 0, 0
	for g, w := range ws {
		c, l, err := w.tr.verify(ctx, vc, g)
		ldChecked += c
		ldLost += l
		if err != nil && verr == nil {
			verr = err
		}
	}

	totalOps := 0
	for _, w := range ws {
		totalOps += len(w.recs)
	}
	allOK := moveErr == nil && movedAll && verr == nil && wrong == 0 && missing == 0 && ldLost == 0 && stale == 0
	var o out
	moveDur := m1.Sub(m0)
	o.set("preload_keys", *nkeys+*loadKeys)
	o.set("preload_s", fmt.Sprintf("%.1f", preloadDur.Seconds()))
	o.set("keys_in_range_before", countBefore)
	o.set("keys_in_range_after", countAfter)
	o.set("slots_migrated", migAfter-migBefore)
	o.set("move_s", fmt.Sprintf("%.2f", moveDur.Seconds()))
	o.set("move_err", strconv.Quote(fmt.Sprint(moveErr)))
	o.set("move_keys_per_s", fmt.Sprintf("%.0f", float64(countBefore)/moveDur.Seconds()))
	o.set("base_p50_ms", ms(wb.p50))
	o.set("base_p99_ms", ms(wb.p99))
	o.set("base_max_ms", ms(wb.max))
	o.set("move_p50_ms", ms(wm.p50))
	o.set("move_p99_ms", ms(wm.p99))
	o.set("move_max_ms", ms(wm.max))
	o.set("base_ops_s", fmt.Sprintf("%.0f", float64(wb.n)/wb.secs))
	o.set("move_ops_s", fmt.Sprintf("%.0f", float64(wm.n)/wm.secs))
	o.set("errors", strconv.Quote(errs.String()))
	o.set("errors_during_move", errsDuringN)
	o.set("stale_reads", stale)
	o.set("preloaded_wrong", wrong)
	o.set("preloaded_missing", missing)
	o.set("load_lost", ldLost)
	o.set("ok", b2i(allOK))

	o.mdf("## Online resharding (CLUSTER MOVESLOTS %d %d %d under load)", *to, *start, *end)
	o.mdf("")
	o.mdf("Preload: %d keys `rs:N` (%d-byte values) plus %d load keys `ld:N`, pipelined through a ClusterClient, in %.1f s. "+
		"Load: %d goroutines, each 50/50 SET/GET on its own keys through a go-redis ClusterClient (ClusterStateReloadInterval 1 s; "+
		"MOVED/ASK/TRYAGAIN are retried inside go-redis, only errors that reach the caller are counted); every GET is checked against the goroutine's own writes. "+
		"Baseline window: %.1f s of load before the move.",
		*nkeys, *vsize, *loadKeys, preloadDur.Seconds(), *workers, wb.secs)
	o.mdf("")
	o.mdf("| figure | value |")
	o.mdf("|---|---:|")
	o.mdf("| keys in slots %d-%d before (shard %d) / after (shard %d) | %d / %d |", *start, *end, from, *to, countBefore, countAfter)
	o.mdf("| CLUSTER INFO cairn_slots_migrated, increase summed over nodes | %d |", migAfter-migBefore)
	o.mdf("| MOVESLOTS duration (s) | %.2f |", moveDur.Seconds())
	o.mdf("| keys moved per second | %.0f |", float64(countBefore)/moveDur.Seconds())
	o.mdf("| client ops/s, baseline / during move | %.0f / %.0f |", float64(wb.n)/wb.secs, float64(wm.n)/wm.secs)
	o.mdf("| client p50 (ms), baseline / during move | %s / %s |", ms(wb.p50), ms(wm.p50))
	o.mdf("| client p99 (ms), baseline / during move | %s / %s |", ms(wb.p99), ms(wm.p99))
	o.mdf("| client max latency (ms), baseline / during move | %s / %s |", ms(wb.max), ms(wm.max))
	o.mdf("| errors reaching the client: before the move / during+after | %d / %d |", errsBeforeN, errs.total()-errsBeforeN)
	o.mdf("| stale or wrong GET replies during the load | %d |", stale)
	o.mdf("| after: preloaded keys missing / wrong value (of %d) | %d / %d |", *nkeys, missing, wrong)
	o.mdf("| after: load keys not holding their last acknowledged value (of %d) | %d |", ldChecked, ldLost)
	o.mdf("")
	note := ""
	if moveErr != nil {
		note += fmt.Sprintf(" MOVESLOTS FAILED: %v.", moveErr)
	}
	if !movedAll {
		note += fmt.Sprintf(" NOT ALL SLOTS %d-%d BELONG TO SHARD %d AFTERWARDS.", *start, *end, *to)
	}
	if verr != nil {
		note += fmt.Sprintf(" VERIFY FAILED: %v.", verr)
	}
	if nSlots := *end - *start + 1; migAfter-migBefore != nSlots {
		note += fmt.Sprintf(" cairn_slots_migrated rose by %d for %d slots.", migAfter-migBefore, nSlots)
	}
	if s, ok := staleSample.Load().(string); ok {
		note += " First stale read: " + s + "."
	}
	o.mdf("Errors by kind: %s (before the move: %s; during the move: %d).%s", errs.String(), errsBefore, errsDuringN, note)
	if s := errs.samples(); s != "" {
		o.mdf("")
		o.mdf("Error samples: %s", s)
	}
	logf("total load ops %d", totalOps)
	return o.write(*mdPath)
}

// preload SETs n keys through cc, pipelined, from several goroutines.
func preload(ctx context.Context, cc *redis.ClusterClient, n int, key, val func(int) string, par int) error {
	const batch = 1000
	var next atomic.Int64
	var wg sync.WaitGroup
	errc := make(chan error, par)
	for range par {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				lo := int(next.Add(batch)) - batch
				if lo >= n {
					return
				}
				hi := min(lo+batch, n)
				var err error
				for attempt := 0; attempt < 10; attempt++ {
					pipe := cc.Pipeline()
					for i := lo; i < hi; i++ {
						pipe.Set(ctx, key(i), val(i), 0)
					}
					if _, err = pipe.Exec(ctx); err == nil {
						break
					}
					time.Sleep(200 * time.Millisecond)
				}
				if err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	select {
	case err := <-errc:
		return err
	default:
		return nil
	}
}

// countKeys sums CLUSTER COUNTKEYSINSLOT over slots lo..hi on shard's
// current leader.
func countKeys(ctx context.Context, admin *clients, t *topology, shard uint64, lo, hi int) (int, error) {
	sh := t.shard(shard)
	if sh == nil {
		return 0, fmt.Errorf("no shard %d", shard)
	}
	nd := t.node(sh.CurrentLeader)
	if nd == nil {
		return 0, fmt.Errorf("shard %d has no known leader", shard)
	}
	pipe := admin.get(nd.Client).Pipeline()
	var cmds []*redis.IntCmd
	for s := lo; s <= hi; s++ {
		cmds = append(cmds, pipe.ClusterCountKeysInSlot(ctx, s))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return 0, fmt.Errorf("COUNTKEYSINSLOT on %s: %w", nd.Client, err)
	}
	total := 0
	for _, c := range cmds {
		total += int(c.Val())
	}
	return total, nil
}

// keysMigrated sums cairn_slots_migrated from CLUSTER INFO over all nodes.
func keysMigrated(ctx context.Context, admin *clients, t *topology) int {
	total := 0
	for _, n := range t.Nodes {
		s, err := admin.get(n.Client).Do(ctx, "CLUSTER", "INFO").Text()
		if err != nil {
			continue
		}
		for _, l := range strings.Split(s, "\n") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(l), "cairn_slots_migrated:"); ok {
				n, _ := strconv.Atoi(v)
				total += n
			}
		}
	}
	return total
}
