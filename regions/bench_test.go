package regions_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cairndb/cairn/regions"
	"github.com/cairndb/cairn/server"
	"github.com/cairndb/cairn/server/servertest"
)

// TestBenchRegions is `make bench-regions`: skipped unless
// CAIRN_BENCH_REGIONS is set (it runs for about a minute). One primary
// and one secondary node in this process, the secondary's link delayed
// by REGION_DELAY_MS (50) primary → secondary through delayConn. It measures:
// lag p50/p99/max at a paced write rate (REGION_RATE, 10000/s) for
// REGION_SECS (10) s; the primary's closed-loop write throughput with
// and without the secondary pulling; the catch-up time after a link cut
// of REGION_CUT_SECS (60) s under the paced rate; the time of a planned
// REGION PROMOTE under load. It writes a Markdown table to
// CAIRN_BENCH_REGIONS (a file path) and logs it.
func TestBenchRegions(t *testing.T) {
	b := startBench(t, "CAIRN_BENCH_REGIONS", "Regions benchmark", "single-node regions (primary and secondary nodes in one process, sharing the CPUs)")
	delay, cutSecs, row := b.delay, b.cutSecs, b.row
	ctx := context.Background()

	// Throughput without a secondary.
	p0 := primary(t)
	thrAlone := closedLoop(t, p0.Client(t), 5*time.Second)
	p0.Close()
	row("primary SET throughput, no secondary (closed loop, 32 clients × pipeline 16)", fmt.Sprintf("%.0f ops/s", thrAlone))

	p := primary(t)
	var cut atomic.Bool
	s := servertest.Start(t, secondaryCfg(p, func(c *server.Config) {
		c.RegionDial = func(addr string) (net.Conn, error) {
			if cut.Load() {
				return nil, fmt.Errorf("link cut")
			}
			nc, err := net.Dial("tcp", addr)
			if err != nil {
				return nil, err
			}
			return newDelayConn(&cutConn{Conn: nc, cut: &cut}, delay), nil
		}
	}))
	pc := p.Client(t)
	pc.Set(ctx, "warm", "1", 0)
	converge(t, p, s)

	thrWith := closedLoop(t, pc, 5*time.Second)
	row("primary SET throughput, secondary attached", fmt.Sprintf("%.0f ops/s (%.2f× without)", thrWith, thrWith/thrAlone))
	converge(t, p, s)

	// Lag at a paced rate.
	stop := b.pacedLag(pc, func() int64 { return s.RegionStatus().LagMs }, "")

	// Catch-up after a cut, the paced load going on.
	cut.Store(true)
	time.Sleep(time.Duration(cutSecs) * time.Second)
	behind := primaryApplied(pc) - s.RegionStatus().Shards[0].Applied
	cut.Store(false)
	t0 := time.Now()
	for {
		st := s.RegionStatus()
		if len(st.Shards) == 1 && st.Shards[0].Connected && st.LagMs < 200+delay.Milliseconds() && st.LagEntries < 1000 {
			break
		}
		if time.Since(t0) > 5*time.Minute {
			t.Fatalf("no catch-up in 5 minutes: %+v", st)
		}
		time.Sleep(5 * time.Millisecond)
	}
	row(fmt.Sprintf("catch-up after a %d s link cut under the paced load", cutSecs),
		fmt.Sprintf("%v until lag < %d ms (snapshots installed: %d; log entries behind when the cut ended: %d)",
			time.Since(t0).Round(time.Millisecond), 200+delay.Milliseconds(), s.RegionStatus().Shards[0].Snapshots, behind))

	// Planned switchover under the paced load.
	t1 := time.Now()
	if _, err := s.Client(t).Do(ctx, "REGION", "PROMOTE").Result(); err != nil {
		t.Fatalf("REGION PROMOTE: %v", err)
	}
	row("planned switchover (REGION PROMOTE) under the paced load", time.Since(t1).Round(time.Millisecond).String())
	stop()
	b.finish()
}

// benchRun is one regions benchmark's report (TestBenchRegions and
// TestBenchRegionsCluster): its knobs from the environment and the
// Markdown table it writes to out.
type benchRun struct {
	t                   *testing.T
	out                 string
	delay               time.Duration
	rate, secs, cutSecs int
	rep                 strings.Builder
}

// startBench skips the test unless env names an output file, reads the
// knobs and writes the report's header (what describes the topology).
func startBench(t *testing.T, env, title, what string) *benchRun {
	b := &benchRun{t: t, out: os.Getenv(env)}
	if b.out == "" {
		t.Skip("benchmark: set " + env + "=<output file> (make bench-regions)")
	}
	b.delay = time.Duration(envInt("REGION_DELAY_MS", 50)) * time.Millisecond
	b.rate, b.secs, b.cutSecs = envInt("REGION_RATE", 10000), envInt("REGION_SECS", 10), envInt("REGION_CUT_SECS", 60)
	fmt.Fprintf(&b.rep, "# %s\n\n%s; %s; link delay %v primary → secondary (delayConn); paced rate %d/s for %d s; cut %d s; load average before: %s\n\n",
		title, time.Now().UTC().Format(time.RFC3339), what, b.delay, b.rate, b.secs, b.cutSecs, loadavg())
	b.rep.WriteString("| measure | value |\n|---|---|\n")
	return b
}

func (b *benchRun) row(k, v string) {
	fmt.Fprintf(&b.rep, "| %s | %s |\n", k, v)
	b.t.Logf("%s: %s", k, v)
}

// pacedLag starts the paced load on c, samples the lag (lagMs) every
// 10 ms for secs, reports its percentiles and returns the function that
// stops the load (it keeps running for what follows).
func (b *benchRun) pacedLag(c redis.UniversalClient, lagMs func() int64, what string) (stop func()) {
	quit := make(chan struct{})
	var wrote atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); paced(c, b.rate, quit, &wrote) }()
	var lags []int64
	tick := time.NewTicker(10 * time.Millisecond)
	end := time.Now().Add(time.Duration(b.secs) * time.Second)
	for now := range tick.C {
		if now.After(end) {
			break
		}
		lags = append(lags, lagMs())
	}
	tick.Stop()
	achieved := float64(wrote.Load()) / float64(b.secs)
	slices.Sort(lags)
	pct := func(q float64) int64 { return lags[min(len(lags)-1, int(q*float64(len(lags))))] }
	b.row(fmt.Sprintf("lag at %d writes/s asked (%.0f achieved), %d s, sampled every 10 ms%s", b.rate, achieved, b.secs, what),
		fmt.Sprintf("p50 %d ms, p99 %d ms, max %d ms", pct(0.50), pct(0.99), lags[len(lags)-1]))
	return func() { close(quit); wg.Wait() }
}

// finish writes the report.
func (b *benchRun) finish() {
	fmt.Fprintf(&b.rep, "\nLoad average after: %s\n", loadavg())
	if err := os.WriteFile(b.out, []byte(b.rep.String()), 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Log("\n" + b.rep.String())
}

// primaryApplied reads the primary's applied index from INFO regions.
func primaryApplied(c *redis.Client) uint64 {
	info, _ := c.Info(context.Background(), "regions").Result()
	var applied uint64
	if i := strings.Index(info, "region_shard_1:"); i >= 0 {
		fmt.Sscanf(info[i:], "region_shard_1:applied=%d", &applied)
	}
	return applied
}

func envInt(k string, def int) int {
	var v int
	if _, err := fmt.Sscan(os.Getenv(k), &v); err == nil && v > 0 {
		return v
	}
	return def
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	return strings.Join(f[:3], " ")
}

// closedLoop runs 32 clients sending pipelines of 16 SETs for d and
// returns the acknowledged writes per second.
func closedLoop(t *testing.T, c redis.UniversalClient, d time.Duration) float64 {
	ctx := context.Background()
	var n atomic.Int64
	end := time.Now().Add(d)
	var wg sync.WaitGroup
	for w := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; time.Now().Before(end); i++ {
				pipe := c.Pipeline()
				for j := range 16 {
					pipe.Set(ctx, fmt.Sprintf("t%d:%d", w, (i*16+j)%1000), i, 0)
				}
				if _, err := pipe.Exec(ctx); err != nil {
					t.Error(err)
					return
				}
				n.Add(16)
			}
		}()
	}
	wg.Wait()
	return float64(n.Load()) / d.Seconds()
}

// paced writes at rate SETs per second (batches every 10 ms) until stop.
func paced(c redis.UniversalClient, rate int, stop chan struct{}, wrote *atomic.Int64) {
	ctx := context.Background()
	per := max(rate/100, 1)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	var wg sync.WaitGroup
	for i := 0; ; i++ {
		select {
		case <-stop:
			wg.Wait()
			return
		case <-tick.C:
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			// 8 clients per batch, as independent writers would send.
			var inner sync.WaitGroup
			for k := range 8 {
				inner.Add(1)
				go func() {
					defer inner.Done()
					pipe := c.Pipeline()
					for j := k; j < per; j += 8 {
						pipe.Set(ctx, fmt.Sprintf("p:%d", (i*per+j)%10000), i, 0)
					}
					if cmds, err := pipe.Exec(ctx); err == nil {
						wrote.Add(int64(len(cmds)))
					}
				}()
			}
			inner.Wait()
		}()
	}
}

// delayConn delivers what it reads d after it arrived, like a long link
// (latency without a bandwidth cap): a goroutine reads the connection
// and stamps each chunk.
type delayConn struct {
	net.Conn
	d    time.Duration
	ch   chan stamped
	cur  []byte
	rerr error
}

type stamped struct {
	at  time.Time
	b   []byte
	err error
}

func newDelayConn(c net.Conn, d time.Duration) *delayConn {
	dc := &delayConn{Conn: c, d: d, ch: make(chan stamped, 4096)}
	go func() {
		for {
			buf := make([]byte, 64<<10)
			n, err := c.Read(buf)
			dc.ch <- stamped{time.Now().Add(d), buf[:n], err}
			if err != nil {
				close(dc.ch)
				return
			}
		}
	}()
	return dc
}

func (c *delayConn) Read(b []byte) (int, error) {
	for len(c.cur) == 0 {
		if c.rerr != nil {
			return 0, c.rerr
		}
		s, ok := <-c.ch
		if !ok {
			return 0, io.EOF
		}
		time.Sleep(time.Until(s.at))
		c.cur, c.rerr = s.b, s.err
	}
	n := copy(b, c.cur)
	c.cur = c.cur[n:]
	return n, nil
}

// TestBenchRegionsCluster is the cluster-topology part of `make
// bench-regions`: skipped unless CAIRN_BENCH_REGIONS_CLUSTER is set (an
// output file). Two regions of 3 nodes, 3 shards x 3 replicas each, all
// in this process (so both regions share the machine's cores), the
// secondary's links delayed by REGION_DELAY_MS (50) primary → secondary.
// It measures what TestBenchRegions does, through a cluster client: the
// primary's closed-loop throughput with the link cut (the secondary
// absent: its nodes idle) and attached; lag p50/p99/max at REGION_RATE
// for REGION_SECS; catch-up after a REGION_CUT_SECS cut under the paced
// load; a planned switchover under that load.
func TestBenchRegionsCluster(t *testing.T) {
	b := startBench(t, "CAIRN_BENCH_REGIONS_CLUSTER", "Regions benchmark, cluster topology",
		"two regions of 3 nodes, 3 shards x 3 replicas each, all 6 nodes in one process (sharing the CPUs)")
	delay, cutSecs, row := b.delay, b.cutSecs, b.row
	ctx := context.Background()
	rp := startRegionPairDelay(t, delay)
	pc := rp.pCl
	status := func() regions.Status { return rp.s.Node(1).RegionStatus() }
	caughtUp := func(st regions.Status) bool {
		if len(st.Shards) != len(rp.shards) || st.LagMs >= 200+delay.Milliseconds() || st.LagEntries >= 1000 {
			return false
		}
		for _, sh := range st.Shards {
			if !sh.Connected {
				return false
			}
		}
		return true
	}
	waitCaughtUp := func(limit time.Duration) time.Duration {
		t0 := time.Now()
		for !caughtUp(status()) {
			if time.Since(t0) > limit {
				t.Fatalf("secondary not caught up in %v: %+v", limit, status())
			}
			time.Sleep(5 * time.Millisecond)
		}
		return time.Since(t0)
	}
	pc.Set(ctx, "warm", "1", 0)
	waitCaughtUp(time.Minute)

	// Throughput with the link cut (the secondary idle), then attached,
	// alternately twice.
	var alone, with []float64
	for range 2 {
		rp.sDial.setCut(true)
		alone = append(alone, closedLoop(t, pc, 5*time.Second))
		rp.sDial.setCut(false)
		waitCaughtUp(2 * time.Minute)
		with = append(with, closedLoop(t, pc, 5*time.Second))
		waitCaughtUp(2 * time.Minute)
	}
	slices.Sort(alone)
	slices.Sort(with)
	row("primary SET throughput, secondary cut off (closed loop, 32 clients × pipeline 16; 2 rounds)", fmt.Sprintf("%.0f / %.0f ops/s", alone[0], alone[1]))
	row("same, secondary attached (2 rounds, alternating)", fmt.Sprintf("%.0f / %.0f ops/s (%.2f× without, means)", with[0], with[1], (with[0]+with[1])/(alone[0]+alone[1])))

	// Lag at a paced rate.
	stop := b.pacedLag(pc, func() int64 { return status().LagMs }, " (largest over shards)")

	// Catch-up after a cut, the paced load going on.
	rp.sDial.setCut(true)
	time.Sleep(time.Duration(cutSecs) * time.Second)
	rp.sDial.setCut(false)
	took := waitCaughtUp(5 * time.Minute)
	snaps := uint64(0)
	for _, sh := range status().Shards {
		snaps += sh.Snapshots
	}
	row(fmt.Sprintf("catch-up after a %d s link cut under the paced load", cutSecs),
		fmt.Sprintf("%v until lag < %d ms on every shard (snapshots installed: %d)",
			took.Round(time.Millisecond), 200+delay.Milliseconds(), snaps))

	// Planned switchover under the paced load.
	t1 := time.Now()
	if _, err := rp.s.NodeClient(1).Do(ctx, "REGION", "PROMOTE").Result(); err != nil {
		t.Fatalf("REGION PROMOTE: %v", err)
	}
	row("planned switchover (REGION PROMOTE) under the paced load", time.Since(t1).Round(time.Millisecond).String())
	stop()
	b.finish()
}
