package regions_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cairndb/cairn/server"
	"github.com/cairndb/cairn/server/servertest"
)

const secret = "region-test-secret"

func primary(t *testing.T) *servertest.Node {
	return servertest.Start(t, func(c *server.Config) {
		c.Region, c.RegionRole, c.RegionSecret, c.RegionAddr = "r1", "primary", secret, "127.0.0.1:0"
	})
}

func secondaryCfg(p *servertest.Node, mod ...func(*server.Config)) func(*server.Config) {
	return func(c *server.Config) {
		c.Region, c.RegionRole, c.RegionSecret, c.RegionAddr = "r2", "secondary", secret, "127.0.0.1:0"
		c.RegionPrimary = []string{p.RegionAddr()}
		for _, m := range mod {
			m(c)
		}
	}
}

func digest(n *servertest.Node) uint64 { return n.StateDigests()[1].Digest }

// converge waits until the secondary has applied everything the primary
// applied (lag 0) and both keyspaces have the same state digest.
func converge(t *testing.T, p, s *servertest.Node) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st := s.RegionStatus()
		pd, sd := digest(p), digest(s)
		if len(st.Shards) == 1 && st.LagEntries == 0 && st.Shards[0].SourceApplied > 0 && pd == sd {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no convergence: status %+v, digests %x / %x", st, pd, sd)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestRegions_ShipAndReadOnly: writes of every entry kind on the primary
// reach the secondary, whose state digest equals the primary's; the
// secondary serves reads, refuses writes with Redis's replica error, and
// shows its lag.
func TestRegions_ShipAndReadOnly(t *testing.T) {
	ctx := context.Background()
	p := primary(t)
	s := servertest.Start(t, secondaryCfg(p))
	pc, sc := p.Client(t), s.Client(t)

	pc.Set(ctx, "k", "v", 0)
	pc.Incr(ctx, "n")
	pc.HSet(ctx, "h", "f", "v", "g", "w")
	pc.Set(ctx, "short", "x", 50*time.Millisecond) // expired by the primary's Expire entry
	pc.SAdd(ctx, "s", "a", "b", "c", "d", "e")
	pc.SPop(ctx, "s") // random: the seed must travel
	pc.ConfigSet(ctx, "maxmemory-policy", "allkeys-lru")
	if _, err := pc.TxPipelined(ctx, func(tx redis.Pipeliner) error {
		tx.Incr(ctx, "n")
		tx.LPush(ctx, "l", "1", "2", "3")
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // the primary's active expiry deletes "short"
	converge(t, p, s)

	if got, err := sc.Get(ctx, "k").Result(); err != nil || got != "v" {
		t.Fatalf("GET on the secondary: %q %v", got, err)
	}
	if got, _ := sc.Get(ctx, "n").Result(); got != "2" {
		t.Fatalf("n on the secondary: %q", got)
	}
	if n, _ := sc.Exists(ctx, "short").Result(); n != 0 {
		t.Fatal("an expired key survived on the secondary")
	}
	pm, _ := pc.SMembers(ctx, "s").Result()
	sm, _ := sc.SMembers(ctx, "s").Result()
	if fmt.Sprint(pm) != fmt.Sprint(sm) || len(sm) != 4 {
		t.Fatalf("SPOP diverged: primary %v, secondary %v", pm, sm)
	}
	if v, _ := sc.ConfigGet(ctx, "maxmemory-policy").Result(); v["maxmemory-policy"] != "allkeys-lru" {
		t.Fatalf("config not shipped: %v", v)
	}

	const ro = "READONLY You can't write against a read only replica."
	if err := sc.Set(ctx, "k", "w", 0).Err(); err == nil || err.Error() != ro {
		t.Fatalf("SET on the secondary: %v", err)
	}
	if err := sc.ConfigSet(ctx, "maxmemory-policy", "noeviction").Err(); err == nil || err.Error() != ro {
		t.Fatalf("CONFIG SET on the secondary: %v", err)
	}
	if _, err := sc.TxPipelined(ctx, func(tx redis.Pipeliner) error { tx.Incr(ctx, "n"); return nil }); err == nil || !strings.Contains(err.Error(), "READONLY") {
		t.Fatalf("MULTI on the secondary: %v", err)
	}
	if err := pc.Set(ctx, "k2", "v2", 0).Err(); err != nil {
		t.Fatalf("the primary refused a write: %v", err)
	}

	info, err := sc.Info(ctx, "regions").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"# Regions", "region:r2", "region_role:secondary", "region_lag_ms:", "region_lag_entries:", "region_shard_1:applied="} {
		if !strings.Contains(info, want) {
			t.Fatalf("INFO regions lacks %q:\n%s", want, info)
		}
	}
	if pi, _ := pc.Info(ctx, "regions").Result(); !strings.Contains(pi, "region_role:primary") {
		t.Fatalf("primary INFO regions:\n%s", pi)
	}
	ri, err := sc.Do(ctx, "REGION", "INFO").Result()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(fmt.Sprint(ri), "secondary") {
		t.Fatalf("REGION INFO: %v", ri)
	}
}

// TestRegions_ExactlyOnceAcrossRestart: the secondary stops mid-stream
// and restarts from its data; counters incremented on the primary
// meanwhile end equal, so no entry was lost or applied twice.
func TestRegions_ExactlyOnceAcrossRestart(t *testing.T) {
	ctx := context.Background()
	p := primary(t)
	s := servertest.Start(t, secondaryCfg(p))
	pc := p.Client(t)
	incr := func(n int) {
		pipe := pc.Pipeline()
		for i := range n {
			pipe.Incr(ctx, "c")
			pipe.RPush(ctx, "log", i)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			t.Fatal(err)
		}
	}
	incr(300)
	converge(t, p, s)
	cfg := s.Cfg
	s.Close()
	incr(300)
	s2 := servertest.Restart(t, cfg)
	incr(300)
	converge(t, p, s2)
	if got, _ := s2.Client(t).Get(ctx, "c").Result(); got != "900" {
		t.Fatalf("c on the secondary after restart: %s, want 900", got)
	}
	if n, _ := s2.Client(t).LLen(ctx, "log").Result(); n != 900 {
		t.Fatalf("log length %d, want 900", n)
	}
}

// flakyConn cuts a link after a random few frames' worth of bytes.
type flakyConn struct {
	net.Conn
	left atomic.Int64
}

func (c *flakyConn) Read(b []byte) (int, error) {
	if c.left.Load() < 0 {
		c.Conn.Close()
		return 0, net.ErrClosed
	}
	n, err := c.Conn.Read(b)
	c.left.Add(-int64(n))
	return n, err
}

// TestRegions_LossyLink: a link that is cut every few kilobytes and
// delayed still converges, exactly once, while the primary writes.
func TestRegions_LossyLink(t *testing.T) {
	ctx := context.Background()
	p := primary(t)
	var dials atomic.Int64
	s := servertest.Start(t, secondaryCfg(p, func(c *server.Config) {
		c.RegionDial = func(addr string) (net.Conn, error) {
			dials.Add(1)
			time.Sleep(5 * time.Millisecond)
			nc, err := net.Dial("tcp", addr)
			if err != nil {
				return nil, err
			}
			fc := &flakyConn{Conn: nc}
			fc.left.Store(int64(2000 + dials.Load()*937%6000))
			return fc, nil
		}
	}))
	pc := p.Client(t)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 150 {
				if err := pc.Incr(ctx, "c").Err(); err != nil {
					t.Error(err)
					return
				}
				pc.Set(ctx, fmt.Sprintf("k%d:%d", w, i), i, 0)
			}
		}()
	}
	wg.Wait()
	converge(t, p, s)
	if got, _ := s.Client(t).Get(ctx, "c").Result(); got != "600" {
		t.Fatalf("c = %s, want 600", got)
	}
	if dials.Load() < 3 {
		t.Fatalf("the link was cut only %d times: the test did not exercise reconnects", dials.Load())
	}
}

// TestRegions_WrongSecret: a secondary without the secret gets nothing.
func TestRegions_WrongSecret(t *testing.T) {
	ctx := context.Background()
	p := primary(t)
	s := servertest.Start(t, secondaryCfg(p, func(c *server.Config) { c.RegionSecret = "not-the-secret" }))
	p.Client(t).Set(ctx, "k", "v", 0)
	time.Sleep(300 * time.Millisecond)
	if n, _ := s.Client(t).Exists(ctx, "k").Result(); n != 0 {
		t.Fatal("an unauthenticated secondary received entries")
	}
	st := s.RegionStatus()
	if len(st.Shards) != 1 || !strings.Contains(st.Shards[0].Err, "authentication") {
		t.Fatalf("status %+v: want an authentication error", st)
	}
}

// TestRegions_PlannedPromotion: REGION PROMOTE on the secondary while the
// primary takes writes: every acknowledged write is in the new primary,
// the old primary refuses writes and follows the new one, and new writes
// reach it.
func TestRegions_PlannedPromotion(t *testing.T) {
	ctx := context.Background()
	p := primary(t)
	s := servertest.Start(t, secondaryCfg(p))
	pc, sc := p.Client(t), s.Client(t)

	var acked atomic.Int64
	var ackedKeys sync.Map
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if err := pc.Incr(ctx, "c").Err(); err != nil {
					if !strings.HasPrefix(err.Error(), "READONLY") {
						t.Errorf("write on the primary: %v", err)
					}
					return // fenced
				}
				acked.Add(1)
				k := fmt.Sprintf("w%d:%d", w, i)
				if pc.Set(ctx, k, i, 0).Err() == nil {
					ackedKeys.Store(k, true)
				}
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	res, err := sc.Do(ctx, "REGION", "PROMOTE").Result()
	if err != nil {
		t.Fatalf("REGION PROMOTE: %v", err)
	}
	close(stop)
	wg.Wait()
	t.Logf("promoted at %v after %d acknowledged INCRs", res, acked.Load())
	if acked.Load() == 0 {
		t.Fatal("no write was acknowledged before the promotion")
	}
	if got, err := sc.Get(ctx, "c").Int64(); err != nil || got != acked.Load() {
		t.Fatalf("c on the new primary = %d (%v), want the %d acknowledged INCRs", got, err, acked.Load())
	}
	ackedKeys.Range(func(k, _ any) bool {
		if n, _ := sc.Exists(ctx, k.(string)).Result(); n != 1 {
			t.Fatalf("acknowledged key %s lost", k)
		}
		return true
	})
	if st := s.RegionStatus(); st.Role != "primary" {
		t.Fatalf("secondary's role after promotion: %s", st.Role)
	}
	if err := pc.Set(ctx, "x", "1", 0).Err(); err == nil || !strings.HasPrefix(err.Error(), "READONLY") {
		t.Fatalf("the old primary accepted a write: %v", err)
	}
	if err := sc.Set(ctx, "after", "promotion", 0).Err(); err != nil {
		t.Fatalf("the new primary refused a write: %v", err)
	}
	sc.Incr(ctx, "c")
	converge(t, s, p) // the old primary follows the new one
	if got, _ := pc.Get(ctx, "after").Result(); got != "promotion" {
		t.Fatalf("the old primary did not receive the new primary's write: %q", got)
	}
}

// TestRegions_ForcedPromotion: with the primary gone, REGION PROMOTE
// FORCE makes the secondary writable at once and reports the source
// position it reached.
func TestRegions_ForcedPromotion(t *testing.T) {
	ctx := context.Background()
	p := primary(t)
	s := servertest.Start(t, secondaryCfg(p))
	p.Client(t).Set(ctx, "k", "v", 0)
	converge(t, p, s)
	want := s.RegionStatus().Shards[0].Applied
	p.Close()
	sc := s.Client(t)
	res, err := sc.Do(ctx, "REGION", "PROMOTE", "FORCE").Result()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(fmt.Sprint(res), fmt.Sprintf("source_index %d", want)) {
		t.Fatalf("REGION PROMOTE FORCE: %v, want source_index %d", res, want)
	}
	if err := sc.Set(ctx, "k2", "v2", 0).Err(); err != nil {
		t.Fatalf("write after forced promotion: %v", err)
	}
	if got, _ := sc.Get(ctx, "k").Result(); got != "v" {
		t.Fatalf("k = %q", got)
	}
}

// TestRegions_RoleSurvivesRestart: after a planned promotion both nodes
// restart with their original flags; the promotion's outcome holds (the
// new primary takes writes, the old one follows it).
func TestRegions_RoleSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	pAddr := fmt.Sprintf("127.0.0.1:%d", servertest.FreePort(t))
	sAddr := fmt.Sprintf("127.0.0.1:%d", servertest.FreePort(t))
	p := servertest.Start(t, func(c *server.Config) {
		c.Region, c.RegionRole, c.RegionSecret, c.RegionAddr = "r1", "primary", secret, pAddr
	})
	s := servertest.Start(t, secondaryCfg(p, func(c *server.Config) { c.RegionAddr = sAddr }))
	p.Client(t).Set(ctx, "k", "v", 0)
	converge(t, p, s)
	if _, err := s.Client(t).Do(ctx, "REGION", "PROMOTE").Result(); err != nil {
		t.Fatal(err)
	}
	pcfg, scfg := p.Cfg, s.Cfg
	p.Close()
	s.Close()
	s2 := servertest.Restart(t, scfg)
	p2 := servertest.Restart(t, pcfg)
	if err := p2.Client(t).Set(ctx, "x", "1", 0).Err(); err == nil || !strings.HasPrefix(err.Error(), "READONLY") {
		t.Fatalf("the demoted region accepted a write after restart: %v", err)
	}
	if err := s2.Client(t).Set(ctx, "k", "v2", 0).Err(); err != nil {
		t.Fatalf("the promoted region refused a write after restart: %v", err)
	}
	converge(t, s2, p2)
	if got, _ := p2.Client(t).Get(ctx, "k").Result(); got != "v2" {
		t.Fatalf("k on the old primary = %q", got)
	}
}

// TestRegions_MaxStaleness: a secondary with a staleness bound serves
// reads while it keeps up and refuses them once it has not heard from
// the primary for longer than the bound.
func TestRegions_MaxStaleness(t *testing.T) {
	ctx := context.Background()
	p := primary(t)
	s := servertest.Start(t, secondaryCfg(p, func(c *server.Config) { c.RegionMaxStalenessMs = 300 }))
	p.Client(t).Set(ctx, "k", "v", 0)
	converge(t, p, s)
	sc := s.Client(t)
	if got, err := sc.Get(ctx, "k").Result(); err != nil || got != "v" {
		t.Fatalf("GET within the bound: %q %v", got, err)
	}
	p.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := sc.Get(ctx, "k").Err()
		if err != nil && strings.Contains(err.Error(), "max-staleness-ms") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("reads still served with the primary gone: %v (status %+v)", err, s.RegionStatus())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// slowConn delays every read, like a long link.
type slowConn struct {
	net.Conn
	d time.Duration
}

func (c slowConn) Read(b []byte) (int, error) {
	time.Sleep(c.d)
	return c.Conn.Read(b)
}

// TestRegions_DelayedLinkLag: over a link that delays every read by
// 50 ms, the secondary reports a lag in ms and entries while the primary
// writes, and converges to zero once it stops.
func TestRegions_DelayedLinkLag(t *testing.T) {
	ctx := context.Background()
	p := primary(t)
	s := servertest.Start(t, secondaryCfg(p, func(c *server.Config) {
		c.RegionDial = func(addr string) (net.Conn, error) {
			nc, err := net.Dial("tcp", addr)
			if err != nil {
				return nil, err
			}
			return slowConn{nc, 50 * time.Millisecond}, nil
		}
	}))
	pc := p.Client(t)
	var maxMs int64
	var maxEntries uint64
	end := time.Now().Add(time.Second)
	for i := 0; time.Now().Before(end); i++ {
		if err := pc.Set(ctx, fmt.Sprint("k", i%100), i, 0).Err(); err != nil {
			t.Fatal(err)
		}
		st := s.RegionStatus()
		maxMs, maxEntries = max(maxMs, st.LagMs), max(maxEntries, st.LagEntries)
	}
	t.Logf("max lag while writing over a 50 ms link: %d ms, %d entries", maxMs, maxEntries)
	if maxMs < 50 || maxEntries == 0 {
		t.Fatalf("lag not visible: %d ms, %d entries", maxMs, maxEntries)
	}
	converge(t, p, s)
	if st := s.RegionStatus(); st.LagMs != 0 || st.LagEntries != 0 {
		t.Fatalf("lag after convergence: %+v", st)
	}
}

// TestRegions_SnapshotCatchUp: the link is cut while the primary writes
// and compacts its log past the secondary's position; on reconnection the
// secondary is caught up from a shipped snapshot (several chunks through
// its own log), then by entries again, and its digest equals the
// primary's. A restart of the secondary afterwards keeps the state.
func TestRegions_SnapshotCatchUp(t *testing.T) {
	ctx := context.Background()
	p := servertest.Start(t, func(c *server.Config) {
		c.Region, c.RegionRole, c.RegionSecret, c.RegionAddr = "r1", "primary", secret, "127.0.0.1:0"
		c.SnapshotEntries, c.CompactionOverhead = 50, 5
	})
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
			return &cutConn{Conn: nc, cut: &cut}, nil
		}
	}))
	pc := p.Client(t)
	pc.Set(ctx, "before", "1", 0)
	converge(t, p, s)

	cut.Store(true)
	val := strings.Repeat("x", 1024)
	for i := range 8 {
		pipe := pc.Pipeline()
		for j := range 100 {
			pipe.Set(ctx, fmt.Sprintf("k%d:%d", i, j), val, 0)
			pipe.Incr(ctx, "c")
		}
		pipe.HSet(ctx, "h", fmt.Sprint(i), i)
		if _, err := pipe.Exec(ctx); err != nil {
			t.Fatal(err)
		}
	}
	pc.Del(ctx, "before")
	for range 200 { // an entry each: automatic snapshots and compactions
		if err := pc.Incr(ctx, "c").Err(); err != nil {
			t.Fatal(err)
		}
	}
	if err := pc.Save(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	// Compaction follows the snapshot on the log's next update.
	pos := s.RegionStatus().Shards[0].Applied
	for deadline := time.Now().Add(10 * time.Second); ; {
		pc.Set(ctx, "after-snapshot", "y", 0)
		info, _ := pc.Info(ctx, "regions").Result()
		var applied, first uint64
		if i := strings.Index(info, "region_shard_1:"); i >= 0 {
			fmt.Sscanf(info[i:], "region_shard_1:applied=%d,log_first=%d", &applied, &first)
		}
		if first > pos+1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the primary's log was not compacted past %d: %s", pos, info)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cut.Store(false)
	converge(t, p, s)
	st := s.RegionStatus()
	if st.Shards[0].Snapshots == 0 {
		t.Fatalf("caught up without a snapshot (%+v)", st)
	}
	sc := s.Client(t)
	if got, _ := sc.Get(ctx, "c").Result(); got != "1000" {
		t.Fatalf("c on the secondary = %q, want 1000", got)
	}
	if n, _ := sc.Exists(ctx, "before").Result(); n != 0 {
		t.Fatal("a key deleted on the primary survived the snapshot install")
	}
	pc.Set(ctx, "later", "z", 0)
	converge(t, p, s)
	cfg := s.Cfg
	s.Close()
	s2 := servertest.Restart(t, cfg)
	converge(t, p, s2)
	if got, _ := s2.Client(t).Get(ctx, "later").Result(); got != "z" {
		t.Fatalf("later = %q after restart", got)
	}
}

// cutConn fails reads once the test cuts the link.
type cutConn struct {
	net.Conn
	cut *atomic.Bool
}

func (c *cutConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if c.cut.Load() {
		// Bytes that arrive after the cut are lost with the link.
		c.Conn.Close()
		return 0, net.ErrClosed
	}
	return n, err
}

// TestRegions_ForcedPromotionRejoin: the link is cut, the primary takes
// writes the secondary never receives, the secondary is promoted by
// force and takes writes of its own. When the link is back, the old
// primary is told to rejoin: it refuses writes, saves its unshipped
// writes (keys and commands) to a file in its data directory, and is
// rebuilt from the new primary's snapshot — its state digest equals the
// new primary's, without the discarded writes — then follows it. A
// restart between the rejoin and the rebuild keeps the rebuild pending
// (the old state untouched until the snapshot installs). The outcome
// survives a restart of both with their original flags.
func TestRegions_ForcedPromotionRejoin(t *testing.T) {
	ctx := context.Background()
	pAddr := fmt.Sprintf("127.0.0.1:%d", servertest.FreePort(t))
	sAddr := fmt.Sprintf("127.0.0.1:%d", servertest.FreePort(t))
	var pcut atomic.Bool // the old primary cannot dial out
	p := servertest.Start(t, func(c *server.Config) {
		c.Region, c.RegionRole, c.RegionSecret, c.RegionAddr = "r1", "primary", secret, pAddr
		c.RegionDial = func(addr string) (net.Conn, error) {
			if pcut.Load() {
				return nil, fmt.Errorf("link cut")
			}
			return net.Dial("tcp", addr)
		}
	})
	var cut atomic.Bool
	s := servertest.Start(t, secondaryCfg(p, func(c *server.Config) {
		c.RegionAddr = sAddr
		c.RegionDial = func(addr string) (net.Conn, error) {
			if cut.Load() {
				return nil, fmt.Errorf("link cut")
			}
			nc, err := net.Dial("tcp", addr)
			if err != nil {
				return nil, err
			}
			return &cutConn{Conn: nc, cut: &cut}, nil
		}
	}))
	pc, sc := p.Client(t), s.Client(t)
	pc.Set(ctx, "shipped", "1", 0)
	pc.Incr(ctx, "c")
	converge(t, p, s)

	cut.Store(true)
	time.Sleep(250 * time.Millisecond) // the next heartbeat closes the link
	for i := range 3 {
		if err := pc.Set(ctx, fmt.Sprint("lost:", i), i, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	pc.Incr(ctx, "c")
	pc.HSet(ctx, "lost-hash", "f", "v")
	res, err := sc.Do(ctx, "REGION", "PROMOTE", "FORCE").Result()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("forced promotion at %v", res)
	if err := sc.Set(ctx, "new", "primary", 0).Err(); err != nil {
		t.Fatal(err)
	}
	sc.Incr(ctx, "c")
	// The old primary is reached and rejoins, but cannot pull its rebuild
	// snapshot yet; it restarts meanwhile: the rebuild mark survives, so
	// it does not apply the new primary's entries over its own tail.
	pcut.Store(true)
	cut.Store(false)

	deadline := time.Now().Add(10 * time.Second)
	for p.RegionStatus().Role != "secondary" {
		if time.Now().After(deadline) {
			t.Fatalf("the old primary did not rejoin: %+v", p.RegionStatus())
		}
		time.Sleep(20 * time.Millisecond)
	}
	pcfg := p.Cfg
	p.Close()
	if b, _ := os.ReadFile(filepath.Join(pcfg.Dir, "region.state")); !strings.Contains(string(b), "rebuild=1\n") {
		t.Fatalf("region.state of the rejoining old primary:\n%s", b)
	}
	p = servertest.Restart(t, pcfg)
	pc = p.Client(t)
	time.Sleep(200 * time.Millisecond)
	if got, _ := pc.Get(ctx, "lost:1").Result(); got != "1" {
		t.Fatalf("the old primary's state changed before its rebuild: lost:1 = %q", got)
	}
	pcut.Store(false)
	converge(t, s, p)
	if st := p.RegionStatus(); st.Role != "secondary" || st.Shards[0].Snapshots != 1 {
		t.Fatalf("old primary after the rebuild: %+v", st)
	}
	if n, _ := pc.Exists(ctx, "lost:0", "lost:1", "lost:2", "lost-hash").Result(); n != 0 {
		k1, _ := pc.Keys(ctx, "*").Result()
		k2, _ := sc.Keys(ctx, "*").Result()
		t.Fatalf("%d discarded keys still on the old primary: %v / %v; %x %x %+v", n, k1, k2, digest(p), digest(s), p.RegionStatus())
	}
	if got, _ := pc.Get(ctx, "new").Result(); got != "primary" {
		t.Fatalf("the old primary lacks the new primary's write: %q", got)
	}
	if got, _ := pc.Get(ctx, "c").Result(); got != "2" {
		t.Fatalf("c on the old primary = %q, want the new primary's 2", got)
	}
	if err := pc.Set(ctx, "x", "1", 0).Err(); err == nil || !strings.HasPrefix(err.Error(), "READONLY") {
		t.Fatalf("the rejoined old primary accepted a write: %v", err)
	}
	files, _ := filepath.Glob(filepath.Join(p.Dir(), "region-discarded-*.txt"))
	if len(files) != 1 {
		t.Fatalf("discarded-writes files: %v", files)
	}
	b, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`keys=["lost:0"]`, `"lost:2" "2"`, `keys=["c"] command="incr" "c"`, `keys=["lost-hash"]`} {
		if !strings.Contains(string(b), want) {
			t.Fatalf("discarded-writes file lacks %s:\n%s", want, b)
		}
	}
	if strings.Contains(string(b), `"shipped"`) {
		t.Fatalf("a shipped write is listed as discarded:\n%s", b)
	}

	// Restarted with their original flags, both keep their new roles.
	pcfg = p.Cfg
	scfg := s.Cfg
	p.Close()
	s.Close()
	s2 := servertest.Restart(t, scfg)
	p2 := servertest.Restart(t, pcfg)
	if err := s2.Client(t).Set(ctx, "after", "restart", 0).Err(); err != nil {
		t.Fatal(err)
	}
	converge(t, s2, p2)
	if got, _ := p2.Client(t).Get(ctx, "after").Result(); got != "restart" {
		t.Fatalf("after = %q on the old primary", got)
	}
}
