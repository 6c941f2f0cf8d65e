package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cairndb/cairn/server"
	"github.com/cairndb/cairn/server/clustertest"
	"github.com/cairndb/cairn/server/servertest"
)

// regionLink is the secondary's side of a region link whose reads the
// test delays (a long link) or cuts (bytes arriving after the cut are
// lost with the link; new dials are refused).
type regionLink struct {
	net.Conn
	delay *atomic.Int64 // ns per read
	cut   *atomic.Bool
}

func (c *regionLink) Read(b []byte) (int, error) {
	time.Sleep(time.Duration(c.delay.Load()))
	n, err := c.Conn.Read(b)
	if c.cut.Load() {
		c.Conn.Close()
		return 0, net.ErrClosed
	}
	return n, err
}

// TestLossReportRealRegions: the loss report on the dashboard of a
// secondary region's node, fed by a real primary→secondary link: zero
// and the link up when in sync; over a slow link while the primary
// writes, the entries the secondary knows the primary committed and it
// has not applied; with the link cut while the primary goes on, "link
// DOWN … at least", the primary being really further than the report
// knows; then a forced promotion confirmed with that report reaches
// exactly the position the report showed, and the region takes writes.
func TestLossReportRealRegions(t *testing.T) {
	if testing.Short() {
		t.Skip("regions test skipped with -short")
	}
	const secret = "dashboard-region-secret"
	ctx := context.Background()
	p := servertest.Start(t, func(c *server.Config) {
		c.Region, c.RegionRole, c.RegionSecret, c.RegionAddr = "r1", "primary", secret, "127.0.0.1:0"
	})
	var delay atomic.Int64
	var cut atomic.Bool
	s := servertest.Start(t, func(c *server.Config) {
		c.Region, c.RegionRole, c.RegionSecret, c.RegionAddr = "r2", "secondary", secret, "127.0.0.1:0"
		c.RegionPrimary = []string{p.RegionAddr()}
		c.RegionDial = func(addr string) (net.Conn, error) {
			if cut.Load() {
				return nil, fmt.Errorf("link cut by the test")
			}
			nc, err := net.Dial("tcp", addr)
			if err != nil {
				return nil, err
			}
			return &regionLink{Conn: nc, delay: &delay, cut: &cut}, nil
		}
	})
	pc := p.Client(t)
	// primaryApplied is the primary's applied index of its shard: the
	// source index the secondary's report counts in.
	primaryApplied := func() int64 {
		t.Helper()
		r, err := pc.Info(ctx, "raft").Result()
		if err != nil {
			t.Fatal(err)
		}
		return toInt(raftShards(parseInfo(r))["1"]["applied_index"])
	}
	d := newDashboard(t, RedisDialer(s.Addr()), func(c *Config) { c.SampleEvery = -1 })
	c := newTester(t, d)
	c.signIn("default", "")
	report := func() lossReport {
		t.Helper()
		w := c.do("GET", "/api/ops/promote/report", nil)
		var r lossReport
		if err := json.Unmarshal(w.Body.Bytes(), &r); err != nil || w.Code != 200 {
			t.Fatalf("report: %d %s", w.Code, w.Body)
		}
		return r
	}
	waitReport := func(what string, within time.Duration, ok func(lossReport) bool) lossReport {
		t.Helper()
		deadline := time.Now().Add(within)
		for {
			r := report()
			if ok(r) {
				return r
			}
			if time.Now().After(deadline) {
				t.Fatalf("report never %s: %+v", what, r)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	// In sync: nothing to lose, the link up.
	for i := range 20 {
		if err := pc.Set(ctx, fmt.Sprint("k", i), i, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	target := primaryApplied()
	r := waitReport("in sync", 20*time.Second, func(r lossReport) bool {
		return len(r.Shards) == 1 && r.Shards[0].Applied >= target && r.Shards[0].Connected
	})
	if r.Region != "r2" || r.Role != "secondary" || r.ForcedLoss != 0 || r.Unknown || r.Shards[0].SourceApplied != r.Shards[0].Applied ||
		!strings.Contains(r.Forced, "FORCED promotion of region r2: 0 committed entries") || !strings.Contains(r.Planned, "no write is lost") {
		t.Fatalf("in-sync report %+v", r)
	}
	page := c.do("GET", "/ops", nil)
	expect(t, page, 200, `id="loss-report"`)
	expect(t, page, 200, fmt.Sprintf("<td>%d</td><td>%d</td><td>0</td>", r.Shards[0].Applied, r.Shards[0].SourceApplied))

	// A slow link under writes: the secondary hears of entries before it
	// has applied them; the report counts them.
	delay.Store(int64(150 * time.Millisecond))
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			pc.Set(ctx, fmt.Sprint("slow", i%50), i, 0)
			time.Sleep(2 * time.Millisecond)
		}
	}()
	// The secondary is behind only while it proposes what it has just
	// read (one Raft round of every 150 ms read): a poll must land in
	// that window, and under a loaded CI machine each poll of the
	// dashboard is slow, so this wait is allowed longer.
	r = waitReport("behind over a slow link", time.Minute, func(r lossReport) bool {
		return len(r.Shards) == 1 && r.ForcedLoss > 0 && r.Shards[0].Connected
	})
	close(stop)
	wg.Wait()
	sh := r.Shards[0]
	if r.ForcedLoss != sh.SourceApplied-sh.Applied || sh.LagEntries != r.ForcedLoss || sh.SourceApplied > primaryApplied() || r.Unknown ||
		!strings.Contains(r.Forced, fmt.Sprintf("%s of the old primary may be lost — shard 1: %s (here %d, primary %d",
			entries(r.ForcedLoss, "committed"), entries(r.ForcedLoss), sh.Applied, sh.SourceApplied)) {
		t.Fatalf("slow-link report %+v", r)
	}
	t.Logf("over a slow link: %s", r.Forced)
	delay.Store(0)
	target = primaryApplied()
	waitReport("caught up", 20*time.Second, func(r lossReport) bool {
		return len(r.Shards) == 1 && r.Shards[0].Applied >= target && r.ForcedLoss == 0 && r.Shards[0].Connected
	})

	// The link cut: the primary goes on; the report says the link is
	// down and that more may be lost than it knows.
	cut.Store(true)
	for i := range 30 {
		if err := pc.Set(ctx, fmt.Sprint("lost", i), i, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	r = waitReport("link down", 20*time.Second, func(r lossReport) bool { return len(r.Shards) == 1 && !r.Shards[0].Connected })
	sh = r.Shards[0]
	if !r.Unknown || !strings.Contains(r.Forced, "link DOWN") || !strings.Contains(r.Forced, "may be lost at least") ||
		sh.SourceApplied >= primaryApplied() {
		t.Fatalf("cut-link report %+v (primary at %d)", r, primaryApplied())
	}
	page = c.do("GET", "/ops", nil)
	expect(t, page, 200, `<span class="bad">down</span>`)
	expect(t, page, 200, fmt.Sprintf("<td>%d or more</td>", sh.LagEntries))
	t.Logf("link cut: %s (primary at %d)", r.Forced, primaryApplied())

	// Forced promotion confirmed with that report: the region reaches
	// the position the report showed and takes writes.
	w := c.act("POST", "/api/ops/promote", map[string]any{"force": true, "max_loss": r.ForcedLoss})
	expect(t, w, 200, "promoted; shard 1 at source index "+strconv.FormatInt(sh.Applied, 10))
	sc := s.Client(t)
	if err := sc.Set(ctx, "after", "promotion", 0).Err(); err != nil {
		t.Fatalf("write on the promoted region: %v", err)
	}
	if v, err := sc.Get(ctx, "k7").Result(); err != nil || v != "7" {
		t.Fatalf("k7 on the promoted region: %q %v", v, err)
	}
	if n, _ := sc.Exists(ctx, "lost29").Result(); n != 0 {
		t.Fatal("an entry written after the cut reached the secondary")
	}
	if r := report(); r.Role != "primary" || !strings.Contains(r.Forced, "already the primary") {
		t.Fatalf("report after promotion %+v", r)
	}
}

// regionCut dials region links for the nodes of one region; once cut, it
// refuses links to the other region and closes those it dialed (links
// between the region's own nodes stay).
type regionCut struct {
	mu     sync.Mutex
	cut    bool
	remote map[string]bool
	conns  []net.Conn
}

func (d *regionCut) dial(addr string) (net.Conn, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.remote[addr] {
		return net.DialTimeout("tcp", addr, time.Second)
	}
	if d.cut {
		return nil, fmt.Errorf("link cut by the test")
	}
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err == nil {
		d.conns = append(d.conns, c)
	}
	return c, err
}

func (d *regionCut) setCut() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.cut = true
	for _, c := range d.conns {
		c.Close()
	}
	d.conns = nil
}

// TestLossReportClusterRegions: two regions of 3 nodes × 3 shards. The
// dashboard of a secondary node shows every shard's position (its node
// asks the others); with the link cut while the primary region writes
// to every shard, each shard's link shows down; a forced promotion
// confirmed with that report reaches, per shard, the position it showed.
func TestLossReportClusterRegions(t *testing.T) {
	if testing.Short() {
		t.Skip("regions test skipped with -short")
	}
	const secret = "dashboard-region-secret"
	var addrs []string
	var lns []net.Listener
	for range 6 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		addrs = append(addrs, ln.Addr().String())
	}
	for _, ln := range lns {
		ln.Close()
	}
	pAddr, sAddr := addrs[:3], addrs[3:]
	sDial := &regionCut{remote: map[string]bool{}}
	for _, a := range pAddr {
		sDial.remote[a] = true
	}
	p := clustertest.Start(t, clustertest.Options{Nodes: 3, Shards: 3, Mod: func(i int, c *server.Config) {
		c.Region, c.RegionRole, c.RegionSecret = "r1", "primary", secret
		c.RegionAddr, c.RegionPeers = pAddr[i-1], pAddr
	}})
	s := clustertest.Start(t, clustertest.Options{Nodes: 3, Shards: 3, Mod: func(i int, c *server.Config) {
		c.Region, c.RegionRole, c.RegionSecret = "r2", "secondary", secret
		c.RegionAddr, c.RegionPeers, c.RegionDial = sAddr[i-1], sAddr, sDial.dial
		c.RegionPrimary = pAddr
	}})
	ctx := context.Background()
	pc := p.Client()
	write := func(prefix string, n int) {
		t.Helper()
		for i := range n {
			if err := pc.Set(ctx, fmt.Sprint(prefix, i), i, 0).Err(); err != nil {
				t.Fatal(err)
			}
		}
	}
	write("k", 60)
	d := newDashboard(t, RedisDialer(s.Addr(1)), func(c *Config) { c.SampleEvery = -1 })
	c := newTester(t, d)
	c.signIn("default", "")
	waitReport := func(what string, ok func(lossReport) bool) lossReport {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		var r lossReport
		for {
			w := c.do("GET", "/api/ops/promote/report", nil)
			r = lossReport{}
			if err := json.Unmarshal(w.Body.Bytes(), &r); err != nil || w.Code != 200 {
				t.Fatalf("report: %d %s", w.Code, w.Body)
			}
			if ok(r) {
				return r
			}
			if time.Now().After(deadline) {
				t.Fatalf("report never %s: %+v", what, r)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	// Every shard in sync, its link up.
	r := waitReport("in sync on 3 shards", func(r lossReport) bool {
		if len(r.Shards) != 3 || r.ForcedLoss != 0 {
			return false
		}
		for _, sh := range r.Shards {
			if !sh.Connected || sh.Applied == 0 || sh.Applied != sh.SourceApplied {
				return false
			}
		}
		return true
	})
	if r.Region != "r2" || r.Role != "secondary" || r.Unknown {
		t.Fatalf("in-sync report %+v", r)
	}
	expect(t, c.do("GET", "/ops", nil), 200, `id="loss-report"`)

	// The link cut; the primary region writes to every shard.
	sDial.setCut()
	write("lost", 60)
	r = waitReport("link down on 3 shards", func(r lossReport) bool {
		if len(r.Shards) != 3 {
			return false
		}
		for _, sh := range r.Shards {
			if sh.Connected {
				return false
			}
		}
		return true
	})
	if !r.Unknown || strings.Count(r.Forced, "link DOWN") != 3 || !strings.Contains(r.Forced, "may be lost at least") {
		t.Fatalf("cut-link report %+v", r)
	}
	t.Logf("cluster regions, link cut: %s", r.Forced)
	page := c.do("GET", "/ops", nil)
	if n := strings.Count(page.Body.String(), `<span class="bad">down</span>`); n != 3 {
		t.Fatalf("ops page shows %d links down, want 3", n)
	}

	// Forced promotion confirmed with that report.
	w := c.act("POST", "/api/ops/promote", map[string]any{"force": true, "max_loss": r.ForcedLoss})
	expect(t, w, 200, "promoted; ")
	for _, sh := range r.Shards {
		if want := fmt.Sprintf("shard %d at source index %d", sh.Shard, sh.Applied); !strings.Contains(w.Body.String(), want) {
			t.Errorf("promotion reply %s does not say %q (the report's position)", w.Body, want)
		}
	}
	if err := s.Client().Set(ctx, "after", "promotion", 0).Err(); err != nil {
		t.Fatalf("write on the promoted region: %v", err)
	}
}
