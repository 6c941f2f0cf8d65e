package regions_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cairndb/cairn/server"
	"github.com/cairndb/cairn/server/clustertest"
	"github.com/cairndb/cairn/server/servertest"
	"github.com/cairndb/cairn/server/slot"
)

// Regions of several nodes: each region is a 3-node, 3-shard cluster.

// freeAddrs picks n free loopback addresses for region link listeners
// (below the ephemeral range: see servertest.FreePort).
func freeAddrs(t *testing.T, n int) []string {
	var out []string
	for range n {
		out = append(out, fmt.Sprintf("127.0.0.1:%d", servertest.FreePort(t)))
	}
	return out
}

// cutDialer dials region links as the nodes of one region would in a
// deployment where the other region's nodes are reached only at the
// addresses they announce (--region-announce), as in deploy/compose:
// a listed address of the other region (remote) is refused, and an
// announced one (host "rN.invalid", the port of the node's listener) is
// dialed on loopback. Once cut, links to the other region are refused
// and those dialed are closed. Links between the nodes of one region
// stay.
type cutDialer struct {
	mu     sync.Mutex
	cut    bool
	remote map[string]bool
	conns  []net.Conn
	// delay, if set, delivers what a link dialed here reads that much
	// later (delayConn: the benchmark's long link).
	delay time.Duration
}

// announced is the address a node listening on addr announces to the
// other region in these tests.
func announced(region int, addr string) string {
	_, port, _ := net.SplitHostPort(addr)
	return net.JoinHostPort(fmt.Sprintf("r%d.invalid", region), port)
}

func (d *cutDialer) dial(addr string) (net.Conn, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.remote[addr] {
		return nil, fmt.Errorf("test: %s is the other region's listen address, not reachable from here (only its announced address is)", addr)
	}
	h, port, err := net.SplitHostPort(addr)
	if err != nil || !strings.HasSuffix(h, ".invalid") {
		return net.DialTimeout("tcp", addr, time.Second)
	}
	if d.cut {
		return nil, errors.New("test: region link cut")
	}
	c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", port), time.Second)
	if err != nil {
		return nil, err
	}
	d.conns = append(d.conns, c)
	if d.delay > 0 {
		return newDelayConn(c, d.delay), nil
	}
	return c, nil
}

func (d *cutDialer) setCut(on bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.cut = on
	if on {
		for _, c := range d.conns {
			c.Close()
		}
		d.conns = nil
	}
}

type regionPair struct {
	p, s       *clustertest.Cluster
	pAddr      []string // region link addresses
	sAddr      []string
	pDial      *cutDialer // links dialed by the primary region's nodes
	sDial      *cutDialer // by the secondary region's nodes
	nodes      int
	shards     []uint64
	pCl, sCl   *redis.ClusterClient
	secondaryN int
	dirs       []string // the primary region's nodes' data directories
}

func startRegionPair(t *testing.T) *regionPair { return startRegionPairDelay(t, 0) }

// startRegionPairDelay is startRegionPair with the secondary's links
// delayed by delay (primary → secondary).
func startRegionPairDelay(t *testing.T, delay time.Duration) *regionPair {
	const nodes, shards = 3, 3
	addrs := freeAddrs(t, 2*nodes)
	rp := &regionPair{pAddr: addrs[:nodes], sAddr: addrs[nodes:], pDial: &cutDialer{}, sDial: &cutDialer{delay: delay}, nodes: nodes, shards: []uint64{1, 2, 3}}
	rp.pDial.remote, rp.sDial.remote = map[string]bool{}, map[string]bool{}
	for _, a := range rp.sAddr {
		rp.pDial.remote[a] = true
	}
	for _, a := range rp.pAddr {
		rp.sDial.remote[a] = true
	}
	// Each node announces rN.invalid:port to the other region, which
	// reaches it only there (cutDialer); the secondary is given the
	// primary's announced addresses, and the old primary learns the new
	// one's at a promotion from what its nodes announce.
	var pAnn []string
	for _, a := range rp.pAddr {
		pAnn = append(pAnn, announced(1, a))
	}
	rp.dirs = make([]string, nodes)
	rp.p = clustertest.Start(t, clustertest.Options{Nodes: nodes, Shards: shards, Mod: func(i int, c *server.Config) {
		c.Region, c.RegionRole, c.RegionSecret = "r1", "primary", secret
		c.RegionAddr, c.RegionPeers, c.RegionDial = rp.pAddr[i-1], rp.pAddr, rp.pDial.dial
		c.RegionAnnounce = announced(1, rp.pAddr[i-1])
		rp.dirs[i-1] = c.Dir
	}})
	rp.s = clustertest.Start(t, clustertest.Options{Nodes: nodes, Shards: shards, Mod: func(i int, c *server.Config) {
		c.Region, c.RegionRole, c.RegionSecret = "r2", "secondary", secret
		c.RegionAddr, c.RegionPeers, c.RegionDial = rp.sAddr[i-1], rp.sAddr, rp.sDial.dial
		c.RegionAnnounce = announced(2, rp.sAddr[i-1])
		c.RegionPrimary = pAnn
	}})
	rp.pCl, rp.sCl = rp.p.Client(), rp.s.Client()
	return rp
}

// converged waits until every node of both regions holds, per shard,
// the same state digest (the secondary's shards applied the primary's
// logs to the same state).
func (rp *regionPair) converged(t *testing.T, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var bad string
		want := rp.p.Node(1).StateDigests()
		for _, c := range []*clustertest.Cluster{rp.p, rp.s} {
			for i := 1; i <= rp.nodes && bad == ""; i++ {
				got := c.Node(i).StateDigests()
				for _, id := range rp.shards {
					if got[id].Digest != want[id].Digest {
						bad = fmt.Sprintf("shard %d: digest %x, want %x (node %d)", id, got[id].Digest, want[id].Digest, i)
						break
					}
				}
			}
		}
		if bad == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("regions did not converge: %s; secondary %+v", bad, rp.s.Node(1).RegionStatus())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// keyInSlots returns a key whose hash slot is in [lo, hi].
func keyInSlots(prefix string, lo, hi uint16, n int) string {
	for i := n; ; i++ {
		k := fmt.Sprintf("%s:%d", prefix, i)
		if s := slot.OfString(k); s >= lo && s <= hi {
			return k
		}
	}
}

// TestRegionsCluster: two regions of 3 nodes and 3 shards. Writes on
// the primary converge per shard on every node of the secondary, which
// serves reads locally (its CLUSTER SLOTS name its own nodes), refuses
// writes and reports its lag per shard from any node; a slot move in
// the primary during shipping reaches the secondary (data and layout);
// a planned promotion under write load loses no acknowledged write and
// the old primary follows the new one; a forced promotion after a cut
// link reports, per shard, the position it reached, and what was not
// shipped is indeed absent.
func TestRegionsCluster(t *testing.T) {
	ctx := context.Background()
	rp := startRegionPair(t)

	// 1. Shipping on every shard; reads on the secondary.
	for i := range 150 {
		if err := rp.pCl.Set(ctx, fmt.Sprintf("k%d", i), fmt.Sprint(i), 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	rp.pCl.HSet(ctx, "h", "f", "v")
	if err := rp.pCl.ConfigSet(ctx, "maxmemory-policy", "allkeys-lru").Err(); err != nil {
		t.Fatal(err)
	}
	if err := rp.p.NodeClient(1).Do(ctx, "FT.CREATE", "idx", "ON", "HASH", "PREFIX", "1", "doc:", "SCHEMA", "f", "TEXT").Err(); err != nil {
		t.Fatal(err)
	}
	rp.converged(t, 20*time.Second)
	for i := range 150 {
		if v, err := rp.sCl.Get(ctx, fmt.Sprintf("k%d", i)).Result(); err != nil || v != fmt.Sprint(i) {
			t.Fatalf("GET k%d on the secondary: %q %v", i, v, err)
		}
	}
	const ro = "READONLY You can't write against a read only replica."
	if err := rp.sCl.Set(ctx, "k1", "x", 0).Err(); err == nil || err.Error() != ro {
		t.Fatalf("SET on the secondary: %v", err)
	}
	slots, err := rp.sCl.ClusterSlots(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, sl := range slots {
		for _, n := range sl.Nodes {
			if !rp.s.OwnsAddr(n.Addr) {
				t.Fatalf("the secondary's CLUSTER SLOTS names %s, not one of its nodes", n.Addr)
			}
		}
	}
	// Any node reports every shard's lag (as the shard's puller sees it).
	for i := 1; i <= rp.nodes; i++ {
		deadline := time.Now().Add(10 * time.Second)
	retry:
		info, err := rp.s.NodeClient(i).Info(ctx, "regions").Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"region_role:secondary", "region_lag_entries:0", "region_shard_1:", "region_shard_2:", "region_shard_3:", "link=up"} {
			if !strings.Contains(info, want) {
				if time.Now().Before(deadline) {
					time.Sleep(50 * time.Millisecond)
					goto retry
				}
				t.Fatalf("node %d INFO regions lacks %q:\n%s", i, want, info)
			}
		}
	}

	// 2. A slot move in the primary while it writes.
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; !stop.Load(); i++ {
			rp.pCl.Set(ctx, keyInSlots("mv", 0, 99, i*7), "w", 0)
			time.Sleep(time.Millisecond)
		}
	}()
	moved := keyInSlots("moved", 0, 99, 0)
	rp.pCl.Set(ctx, moved, "before-move", 0)
	if err := rp.p.NodeClient(1).Do(ctx, "CLUSTER", "MOVESLOTS", "2", "0", "99").Err(); err != nil {
		t.Fatal(err)
	}
	stop.Store(true)
	wg.Wait()
	rp.converged(t, 20*time.Second)
	deadline := time.Now().Add(10 * time.Second)
	for {
		pl, sl := slotLayout(rp.p), slotLayout(rp.s)
		if pl == sl && strings.Contains(pl, "{0 99 2}") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the slot move did not reach the secondary's layout: primary %s, secondary %s", pl, sl)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if v, err := rp.s.Client().Get(ctx, moved).Result(); err != nil || v != "before-move" {
		t.Fatalf("moved key on the secondary: %q %v", v, err)
	}
	if err := rp.s.NodeClient(1).Do(ctx, "CLUSTER", "MOVESLOTS", "1", "0", "99").Err(); err == nil || !strings.Contains(err.Error(), "secondary") {
		t.Fatalf("MOVESLOTS on the secondary: %v", err)
	}

	// 3. Planned switchover under write load: no acknowledged write lost.
	var acked sync.Map
	stop.Store(false)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				k := fmt.Sprintf("sw%d:%d", w, i)
				if rp.pCl.Set(ctx, k, "v", 0).Err() == nil {
					acked.Store(k, true)
				}
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	start := time.Now()
	res, err := rp.s.NodeClient(2).Do(ctx, "REGION", "PROMOTE").Result()
	took := time.Since(start)
	stop.Store(true)
	wg.Wait()
	if err != nil {
		t.Fatalf("REGION PROMOTE: %v", err)
	}
	t.Logf("planned switchover in %v: %v", took, res)
	n := 0
	acked.Range(func(k, _ any) bool {
		n++
		if v, err := rp.sCl.Get(ctx, k.(string)).Result(); err != nil || v != "v" {
			t.Fatalf("acknowledged write %s lost by the switchover: %q %v", k, v, err)
		}
		return true
	})
	if n == 0 {
		t.Fatal("no write acknowledged before the switchover")
	}
	for i := 1; i <= rp.nodes; i++ {
		if st := rp.s.Node(i).RegionStatus(); st.Role != "primary" {
			t.Fatalf("new primary node %d: role %s", i, st.Role)
		}
		if st := rp.p.Node(i).RegionStatus(); st.Role != "secondary" {
			t.Fatalf("old primary node %d: role %s", i, st.Role)
		}
	}
	if err := rp.pCl.Set(ctx, "k1", "x", 0).Err(); err == nil || err.Error() != ro {
		t.Fatalf("SET on the old primary: %v", err)
	}
	// The old primary was told the new primary's announced link
	// addresses (its listen addresses are not reachable from it).
	var sAnn []string
	for _, a := range rp.sAddr {
		sAnn = append(sAnn, announced(2, a))
	}
	for i := 1; i <= rp.nodes; i++ {
		info, _ := rp.p.NodeClient(i).Info(ctx, "regions").Result()
		got := regexp.MustCompile(`region_primary:(\S*)`).FindStringSubmatch(info)
		if got == nil || !sameSet(strings.Split(got[1], ","), sAnn) {
			t.Fatalf("old primary node %d follows %v, want the announced %v:\n%s", i, got, sAnn, info)
		}
	}
	for i := range 50 {
		if err := rp.sCl.Set(ctx, fmt.Sprintf("after%d", i), "new", 0).Err(); err != nil {
			t.Fatalf("write on the new primary: %v", err)
		}
	}
	rp.converged(t, 20*time.Second)
	t.Logf("%d acknowledged writes all present after the switchover", n)
	// The new primary's directory took the primary's configuration and
	// FT definitions: its shards keep the index (its FT sync would drop
	// an index its directory lacks) and a CONFIG SET reaches every shard.
	if err := rp.s.NodeClient(1).ConfigSet(ctx, "maxmemory-policy", "volatile-lru").Err(); err != nil {
		t.Fatalf("CONFIG SET on the new primary: %v", err)
	}
	time.Sleep(2500 * time.Millisecond) // past the FT sync's settle time
	for _, c := range []*clustertest.Cluster{rp.s, rp.p} {
		for i := 1; i <= rp.nodes; i++ {
			deadline := time.Now().Add(10 * time.Second)
			for {
				v, _ := c.NodeClient(i).ConfigGet(ctx, "maxmemory-policy").Result()
				l, _ := c.NodeClient(i).Do(ctx, "FT._LIST").Result()
				if v["maxmemory-policy"] == "volatile-lru" && fmt.Sprint(l) == "[idx]" {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("node %d after the switchover: maxmemory-policy %v, FT._LIST %v", i, v, l)
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
	}
	rp.converged(t, 20*time.Second)

	// 4. Forced promotion of the old primary (now the secondary) after
	// the link is cut: the writes the new primary acknowledged since
	// are not there, and the report says where each shard stopped.
	pre := map[uint64]uint64{} // positions the old primary reached before the cut
	for i := 1; i <= rp.nodes; i++ {
		for _, l := range rp.p.Node(i).RegionStatus().Shards {
			pre[l.Shard] = max(pre[l.Shard], l.Applied)
		}
	}
	rp.pDial.setCut(true)
	time.Sleep(200 * time.Millisecond)
	lost := map[string]bool{}
	for i := range 30 {
		k := fmt.Sprintf("unshipped%d", i)
		if err := rp.sCl.Set(ctx, k, "x", 0).Err(); err != nil {
			t.Fatal(err)
		}
		lost[k] = true
	}
	rep, err := rp.p.NodeClient(3).Do(ctx, "REGION", "PROMOTE", "FORCE").Slice()
	if err != nil {
		t.Fatalf("REGION PROMOTE FORCE: %v", err)
	}
	if len(rep) != len(rp.shards) {
		t.Fatalf("loss report: %v", rep)
	}
	sd := rp.s.Node(1).StateDigests()
	for _, e := range rep {
		m := e.(map[any]any)
		id, idx := uint64(m["shard"].(int64)), uint64(m["source_index"].(int64))
		if idx < pre[id] || idx > sd[id].Applied {
			t.Fatalf("shard %d reached %d: before the cut it was at %d, the new primary's log is at %d", id, idx, pre[id], sd[id].Applied)
		}
	}
	pc := rp.p.Client()
	for k := range lost {
		if n, err := pc.Exists(ctx, k).Result(); err != nil || n != 0 {
			t.Fatalf("unshipped key %s on the force-promoted region: %d %v", k, n, err)
		}
	}
	if err := pc.Set(ctx, "forced", "yes", 0).Err(); err != nil {
		t.Fatalf("write after the forced promotion: %v", err)
	}
	t.Logf("forced promotion report: %v", rep)

	// 5. A fresh region (empty data) as a secondary of the force-promoted
	// one, whose logs hold entries shipped from the other region: it
	// starts from a snapshot of each shard and converges.
	fresh := freeAddrs(t, rp.nodes)
	rp.s.Close()
	rp.s = clustertest.Start(t, clustertest.Options{Nodes: rp.nodes, Shards: len(rp.shards), Mod: func(i int, c *server.Config) {
		c.Region, c.RegionRole, c.RegionSecret = "r3", "secondary", secret
		c.RegionAddr, c.RegionPeers, c.RegionPrimary = fresh[i-1], fresh, rp.pAddr
	}})
	rp.converged(t, 30*time.Second)
	if v, err := rp.s.Client().Get(ctx, "forced").Result(); err != nil || v != "yes" {
		t.Fatalf("the rebuilt region: forced=%q %v", v, err)
	}
}

// slotLayout returns a region's slot ranges (CLUSTER TOPOLOGY).
func slotLayout(c *clustertest.Cluster) string {
	var topo struct {
		Slots []struct{ Start, End, Shard uint64 } `json:"slots"`
	}
	json.Unmarshal([]byte(c.Topology()), &topo)
	return fmt.Sprint(topo.Slots)
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// TestRegionsClusterRejoin: after a forced promotion, the old primary
// region of several nodes, once the link is back, rejoins as a secondary
// of the new primary by itself: every node of it fences, lists the
// writes it accepted that were never shipped (its divergent tail) in a
// file in its data directory, and its shards are rebuilt from the new
// primary's snapshots, so the tail is gone and the regions converge. The
// node that ran the promotion is down by then: every node of the new
// primary asks.
func TestRegionsClusterRejoin(t *testing.T) {
	ctx := context.Background()
	rp := startRegionPair(t)
	for i := range 100 {
		if err := rp.pCl.Set(ctx, fmt.Sprintf("k%d", i), fmt.Sprint(i), 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	rp.converged(t, 20*time.Second)

	// The link between the regions goes down; the primary goes on
	// accepting writes that never reach the secondary.
	rp.sDial.setCut(true)
	rp.pDial.setCut(true)
	time.Sleep(200 * time.Millisecond)
	var tail []string
	for i := range 40 {
		k := fmt.Sprintf("tail%d", i)
		if err := rp.pCl.Set(ctx, k, "lost", 0).Err(); err != nil {
			t.Fatal(err)
		}
		tail = append(tail, k)
	}
	if err := rp.pCl.Del(ctx, "k0").Err(); err != nil {
		t.Fatal(err)
	}
	rep, err := rp.s.NodeClient(2).Do(ctx, "REGION", "PROMOTE", "FORCE").Slice()
	if err != nil || len(rep) != len(rp.shards) {
		t.Fatalf("REGION PROMOTE FORCE: %v %v", rep, err)
	}
	for i := range 40 {
		if err := rp.sCl.Set(ctx, fmt.Sprintf("new%d", i), "v", 0).Err(); err != nil {
			t.Fatalf("write on the new primary: %v", err)
		}
	}
	// Still cut off, the old primary does not know and accepts more,
	// and its directory uses shard ID 4 (added and removed).
	if err := rp.pCl.Set(ctx, "late", "lost", 0).Err(); err != nil {
		t.Fatal(err)
	}
	tail = append(tail, "late")
	if id, err := rp.p.NodeClient(1).Do(ctx, "CLUSTER", "ADDSHARD", "1", "2", "3").Int(); err != nil || id != 4 {
		t.Fatalf("ADDSHARD on the old primary: %d %v", id, err)
	}
	if err := rp.p.NodeClient(1).Do(ctx, "CLUSTER", "DELSHARD", "4").Err(); err != nil {
		t.Fatalf("DELSHARD on the old primary: %v", err)
	}

	// The whole old primary region restarts, still cut off: when asked
	// to rejoin, its nodes are replaying their logs (a node lists its
	// tail only once its replicas applied every data entry they hold).
	for i := 1; i <= rp.nodes; i++ {
		rp.p.Stop(i)
	}
	for i := 1; i <= rp.nodes; i++ {
		rp.p.Restart(i)
	}

	// The node that ran the forced promotion is down when the link comes
	// back: the other nodes of the new primary ask the old one to rejoin.
	rp.s.Stop(2)

	// The link is back: the old primary region rejoins by itself.
	start := time.Now()
	rp.sDial.setCut(false)
	rp.pDial.setCut(false)
	deadline := time.Now().Add(60 * time.Second)
	for i := 1; i <= rp.nodes; i++ {
		for {
			info, err := rp.p.NodeClient(i).Info(ctx, "regions").Result()
			if strings.Contains(info, "region_role:secondary") && !strings.Contains(info, "region_rebuilding") && strings.Contains(info, "link=up") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("old primary node %d did not rejoin and rebuild (%v):\n%s", i, err, info)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	t.Logf("old primary region rejoined and rebuilt %v after the link came back", time.Since(start).Round(time.Millisecond))
	rp.s.Restart(2)
	rp.converged(t, 30*time.Second)

	const ro = "READONLY You can't write against a read only replica."
	if err := rp.pCl.Set(ctx, "x", "x", 0).Err(); err == nil || err.Error() != ro {
		t.Fatalf("SET on the rejoined old primary: %v", err)
	}
	for _, k := range tail {
		if n, err := rp.pCl.Exists(ctx, k).Result(); err != nil || n != 0 {
			t.Fatalf("discarded key %s still on the old primary: %d %v", k, n, err)
		}
	}
	if v, err := rp.pCl.Get(ctx, "k0").Result(); err != nil || v != "0" {
		t.Fatalf("k0 (its DEL was discarded) on the old primary: %q %v", v, err)
	}
	if v, err := rp.pCl.Get(ctx, "new7").Result(); err != nil || v != "v" {
		t.Fatalf("the new primary's write on the old primary: %q %v", v, err)
	}
	// Writes on the new primary keep reaching the old one.
	if err := rp.sCl.Set(ctx, "after-rejoin", "yes", 0).Err(); err != nil {
		t.Fatal(err)
	}
	rp.converged(t, 20*time.Second)
	if v, err := rp.pCl.Get(ctx, "after-rejoin").Result(); err != nil || v != "yes" {
		t.Fatalf("after the rejoin: %q %v", v, err)
	}

	// Every old primary node listed the tail of the shards it holds in
	// a file of its data directory: every discarded write with its
	// command, nothing that had been shipped.
	var all strings.Builder
	for i, dir := range rp.dirs {
		files, _ := filepath.Glob(filepath.Join(dir, "region-discarded-*.txt"))
		if len(files) != 1 {
			t.Fatalf("node %d: discarded-writes files %v", i+1, files)
		}
		b, err := os.ReadFile(files[0])
		if err != nil {
			t.Fatal(err)
		}
		all.Write(bytes.ToLower(b)) // go-redis sends commands in lower case
	}
	for _, k := range tail {
		if !strings.Contains(all.String(), fmt.Sprintf(`keys=["%s"] command="set" "%s" "lost"`, k, k)) {
			t.Fatalf("discarded write SET %s not listed:\n%s", k, all.String())
		}
	}
	if !strings.Contains(all.String(), `keys=["k0"] command="del" "k0"`) {
		t.Fatalf("discarded DEL k0 not listed:\n%s", all.String())
	}
	if strings.Contains(all.String(), `"k5"`) {
		t.Fatalf("a shipped write is listed as discarded:\n%s", all.String())
	}

	// The new primary adds shard 4, an ID the old primary's directory
	// used while it was cut off: it cannot be mirrored there, and the
	// old primary's directory leader says so in INFO regions.
	if id, err := rp.s.NodeClient(1).Do(ctx, "CLUSTER", "ADDSHARD", "1", "2", "3").Int(); err != nil || id != 4 {
		t.Fatalf("ADDSHARD on the new primary: %d %v", id, err)
	}
	deadline = time.Now().Add(20 * time.Second)
	for {
		var infos []string
		found := false
		for i := 1; i <= rp.nodes; i++ {
			info, _ := rp.p.NodeClient(i).Info(ctx, "regions").Result()
			infos = append(infos, info)
			if strings.Contains(info, "region_layout_error:region layout diverged: the primary region has shard 4, an ID this region's directory used before") {
				found = true
			}
		}
		if found {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no region_layout_error for shard 4 on the old primary:\n%s", strings.Join(infos, "\n"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestRegionsClusterShardIDs: the primary adds and removes a shard
// while the secondary cannot see it, then adds another: the secondary
// mirrors the new shard under the primary's ID (past the ID it never
// saw), with the configuration the primary's shard started with, and
// serves the keys moved to it.
func TestRegionsClusterShardIDs(t *testing.T) {
	ctx := context.Background()
	rp := startRegionPair(t)
	rp.sDial.setCut(true) // the secondary neither pulls nor sees the layout
	pn := rp.p.NodeClient(1)
	if id, err := pn.Do(ctx, "CLUSTER", "ADDSHARD", "1", "2", "3").Int(); err != nil || id != 4 {
		t.Fatalf("ADDSHARD: %d %v", id, err)
	}
	if err := pn.Do(ctx, "CLUSTER", "DELSHARD", "4").Err(); err != nil {
		t.Fatalf("DELSHARD: %v", err)
	}
	if err := pn.ConfigSet(ctx, "maxmemory-policy", "allkeys-lfu").Err(); err != nil {
		t.Fatal(err)
	}
	if id, err := pn.Do(ctx, "CLUSTER", "ADDSHARD", "1", "2", "3").Int(); err != nil || id != 5 {
		t.Fatalf("ADDSHARD: %d %v", id, err)
	}
	if err := pn.Do(ctx, "CLUSTER", "MOVESLOTS", "5", "0", "99").Err(); err != nil {
		t.Fatalf("MOVESLOTS: %v", err)
	}
	var keys []string
	for i := range 30 {
		k := keyInSlots("s5", 0, 99, i*13)
		if err := rp.pCl.Set(ctx, k, "five", 0).Err(); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	rp.sDial.setCut(false)
	rp.shards = []uint64{1, 2, 3, 5}
	deadline := time.Now().Add(30 * time.Second)
	for {
		pl, sl := slotLayout(rp.p), slotLayout(rp.s)
		if pl == sl && strings.Contains(pl, "{0 99 5}") {
			break
		}
		if time.Now().After(deadline) {
			info, _ := rp.s.NodeClient(1).Info(ctx, "regions").Result()
			t.Fatalf("shard 5 not mirrored: primary %s, secondary %s\n%s", pl, sl, info)
		}
		time.Sleep(50 * time.Millisecond)
	}
	rp.converged(t, 30*time.Second)
	for _, k := range keys {
		if v, err := rp.sCl.Get(ctx, k).Result(); err != nil || v != "five" {
			t.Fatalf("GET %s on the secondary: %q %v", k, v, err)
		}
	}
	for i := 1; i <= rp.nodes; i++ {
		if info, _ := rp.s.NodeClient(i).Info(ctx, "regions").Result(); strings.Contains(info, "region_layout_error") {
			t.Fatalf("secondary node %d:\n%s", i, info)
		}
	}
}
