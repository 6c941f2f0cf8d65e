package server_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/redis/go-redis/v9"

	"github.com/cairndb/cairn/modules/modulestest"
	"github.com/cairndb/cairn/server"
	"github.com/cairndb/cairn/server/backup"
	"github.com/cairndb/cairn/server/clustertest"
	"github.com/cairndb/cairn/server/servertest"
)

// scrape reads GET /metrics of addr with Prometheus's own text parser.
func scrape(t testing.TB, addr string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("scrape: %s: %s", resp.Status, b)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("scrape: Content-Type %q, want the text format", ct)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return fams
}

// sample returns the value of the family's metric whose labels include
// want (counter, gauge or histogram count), and whether there is one.
func sample(fams map[string]*dto.MetricFamily, name string, want ...string) (float64, bool) {
	f := fams[name]
	if f == nil {
		return 0, false
	}
next:
	for _, m := range f.Metric {
		for i := 0; i+1 < len(want); i += 2 {
			found := false
			for _, l := range m.Label {
				if l.GetName() == want[i] && l.GetValue() == want[i+1] {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		}
	}
	return 0, false
}

func mustSample(t *testing.T, fams map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	t.Helper()
	v, ok := sample(fams, name, labels...)
	if !ok {
		var names []string
		for n := range fams {
			names = append(names, n)
		}
		t.Fatalf("no %s%v in /metrics (families: %v)", name, labels, names)
	}
	return v
}

// TestMetrics drives known traffic through a node and reads it back from
// GET /metrics: every family is there, in the Prometheus text format, with
// the counts that traffic must have produced.
func TestMetrics(t *testing.T) {
	n := servertest.Start(t, func(c *server.Config) { c.HTTPPort = -1 })
	if n.HTTPAddr() == "" {
		t.Fatal("no HTTP listener")
	}
	c := n.Client(t)
	ctx := context.Background()

	const sets, hits, misses, pipelined = 30, 20, 7, 50
	for i := range sets {
		if err := c.Set(ctx, fmt.Sprint("k", i), "v", 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	for i := range hits {
		if err := c.Get(ctx, fmt.Sprint("k", i)).Err(); err != nil {
			t.Fatal(err)
		}
	}
	for i := range misses {
		if err := c.Get(ctx, fmt.Sprint("missing", i)).Err(); err != redis.Nil {
			t.Fatalf("GET missing: %v", err)
		}
	}
	// Pipelined writes take the batched path (one log entry).
	pipe := c.Pipeline()
	for i := range pipelined {
		pipe.Incr(ctx, "counter")
		_ = i
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	// One command that fails and one that is refused.
	if err := c.Incr(ctx, "k0").Err(); err == nil {
		t.Fatal("INCR of a non-number succeeded")
	}
	if err := c.Do(ctx, "get").Err(); err == nil {
		t.Fatal("GET without a key succeeded")
	}
	// A snapshot, so its duration is recorded.
	if err := c.Save(ctx).Err(); err != nil {
		t.Fatal(err)
	}

	fams := scrape(t, n.HTTPAddr())
	sent := float64(sets + hits + misses + pipelined + 3)

	if got := mustSample(t, fams, "redis_commands_processed_total"); got < sent {
		t.Errorf("redis_commands_processed_total = %v, want >= %v", got, sent)
	}
	if got := mustSample(t, fams, "redis_cmd_calls_total", "db_operation_name", "set"); got != sets {
		t.Errorf("SET calls = %v, want %d", got, sets)
	}
	if got := mustSample(t, fams, "redis_cmd_calls_total", "db_operation_name", "get"); got != hits+misses {
		t.Errorf("GET calls = %v, want %d", got, hits+misses)
	}
	if got := mustSample(t, fams, "redis_cmd_calls_total", "db_operation_name", "incr"); got != pipelined+1 {
		t.Errorf("INCR calls = %v, want %d", got, pipelined+1)
	}
	if got := mustSample(t, fams, "redis_cmd_failed_total", "db_operation_name", "incr"); got != 1 {
		t.Errorf("INCR failed = %v, want 1", got)
	}
	if got := mustSample(t, fams, "redis_cmd_rejected_total", "db_operation_name", "get"); got != 1 {
		t.Errorf("GET rejected = %v, want 1", got)
	}
	if got := mustSample(t, fams, "redis_keyspace_hits_total"); got != hits {
		t.Errorf("keyspace hits = %v, want %d", got, hits)
	}
	if got := mustSample(t, fams, "redis_keyspace_misses_total"); got != misses {
		t.Errorf("keyspace misses = %v, want %d", got, misses)
	}
	if got := mustSample(t, fams, "redis_db_keys", "db", "0"); got != sets+1 {
		t.Errorf("keys = %v, want %d", got, sets+1)
	}
	if got := mustSample(t, fams, "redis_clients_connected"); got < 1 {
		t.Errorf("connected clients = %v, want >= 1", got)
	}
	if got := mustSample(t, fams, "redis_connections_received_total"); got < 1 {
		t.Errorf("connections received = %v, want >= 1", got)
	}
	if got := mustSample(t, fams, "redis_memory_used_bytes"); got <= 0 {
		t.Errorf("used memory = %v, want > 0", got)
	}
	if got := mustSample(t, fams, "redis_memory_rss_bytes"); got <= 0 {
		t.Errorf("rss = %v, want > 0", got)
	}
	if got := mustSample(t, fams, "process_cpu_time_seconds_total", "cpu_mode", "user"); got <= 0 {
		t.Errorf("user CPU time = %v, want > 0", got)
	}
	for _, name := range []string{"redis_keys_evicted_total", "redis_keys_expired_total", "redis_maxmemory_bytes", "redis_connections_rejected_total"} {
		mustSample(t, fams, name)
	}

	// Histograms: each command's calls all land in its latency histogram;
	// reads and writes are summed by kind.
	checkHist := func(name string, wantCount float64, labels ...string) {
		t.Helper()
		f := fams[name]
		if f == nil || f.GetType() != dto.MetricType_HISTOGRAM {
			t.Fatalf("%s: missing or not a histogram", name)
		}
		got := mustSample(t, fams, name, labels...)
		if wantCount >= 0 && got != wantCount {
			t.Errorf("%s%v count = %v, want %v", name, labels, got, wantCount)
		}
		for _, m := range f.Metric {
			h := m.Histogram
			b := h.Bucket
			if len(b) == 0 {
				t.Errorf("%s: no buckets", name)
				continue
			}
			for i := 1; i < len(b); i++ {
				if b[i].GetCumulativeCount() < b[i-1].GetCumulativeCount() || b[i].GetUpperBound() <= b[i-1].GetUpperBound() {
					t.Errorf("%s: buckets not cumulative/ascending at %d", name, i)
				}
			}
			if last := b[len(b)-1].GetCumulativeCount(); last > h.GetSampleCount() {
				t.Errorf("%s: last bucket %d > count %d", name, last, h.GetSampleCount())
			}
			if h.GetSampleCount() > 0 && h.GetSampleSum() <= 0 {
				t.Errorf("%s: %d samples with sum %v", name, h.GetSampleCount(), h.GetSampleSum())
			}
		}
	}
	checkHist("redis_cmd_duration_seconds", sets, "db_operation_name", "set")
	checkHist("redis_cmd_duration_seconds", hits+misses, "db_operation_name", "get")
	checkHist("redis_cmd_duration_seconds", pipelined+1, "db_operation_name", "incr")
	if got := mustSample(t, fams, "cairn_request_duration_seconds", "cairn_request_kind", "write"); got < sets+pipelined+1 {
		t.Errorf("write requests = %v, want >= %d", got, sets+pipelined+1)
	}
	if got := mustSample(t, fams, "cairn_request_duration_seconds", "cairn_request_kind", "read"); got < hits+misses {
		t.Errorf("read requests = %v, want >= %d", got, hits+misses)
	}
	checkHist("cairn_request_duration_seconds", -1)
	// Every write entry was committed through Raft: at least one commit
	// (pipelined writes share entries), and the SAVE's snapshot.
	if got := mustSample(t, fams, "cairn_raft_commit_duration_seconds", "cairn_shard_id", "1"); got < 1 {
		t.Errorf("raft commits = %v, want >= 1", got)
	}
	checkHist("cairn_raft_commit_duration_seconds", -1)
	if got := mustSample(t, fams, "cairn_raft_snapshot_duration_seconds", "cairn_shard_id", "1"); got < 1 {
		t.Errorf("snapshots = %v, want >= 1", got)
	}
	checkHist("cairn_raft_fsync_duration_seconds", -1)
	if got := mustSample(t, fams, "cairn_raft_leader", "cairn_shard_id", "1"); got != 1 {
		t.Errorf("leader = %v, want 1", got)
	}
	if got := mustSample(t, fams, "cairn_raft_leader_changes_total", "cairn_shard_id", "1"); got < 1 {
		t.Errorf("leader changes = %v, want >= 1 (this node's own election)", got)
	}
	if got := mustSample(t, fams, "cairn_raft_applied_index", "cairn_shard_id", "1"); got < 2 {
		t.Errorf("applied index = %v, want >= 2", got)
	}

	// The counters move with further traffic (they are read live, not
	// cached).
	for range 5 {
		c.Get(ctx, "k1")
	}
	fams = scrape(t, n.HTTPAddr())
	if got := mustSample(t, fams, "redis_keyspace_hits_total"); got != hits+5 {
		t.Errorf("keyspace hits after 5 more = %v, want %d", got, hits+5)
	}
}

// TestMetricsHTTPListener: the listener serves only GET /metrics (other
// features mount on it), and a node without one has no address.
func TestMetricsHTTPListener(t *testing.T) {
	n := servertest.Start(t, func(c *server.Config) { c.HTTPPort = -1 })
	resp, err := http.Post("http://"+n.HTTPAddr()+"/metrics", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /metrics: %s, want 405", resp.Status)
	}
	if !n.HandleHTTP("GET /hello", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "hi") })) {
		t.Fatal("HandleHTTP refused")
	}
	resp, err = http.Get("http://" + n.HTTPAddr() + "/hello")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "hi" {
		t.Errorf("GET /hello = %q", b)
	}

	off := servertest.Start(t)
	if off.HTTPAddr() != "" || off.HandleHTTP("GET /x", http.NotFoundHandler()) {
		t.Errorf("node without HTTPPort has a listener at %q", off.HTTPAddr())
	}

	// A port that is taken: an explicit port fails the start, the
	// default one (HTTPOptional) only loses the listener.
	cfg := func(optional bool) server.Config {
		return server.Config{Port: servertest.FreePort(t), Dir: t.TempDir(), RaftAddr: "127.0.0.1:" + fmt.Sprint(servertest.FreePort(t)),
			HTTPPort: portOf(t, n.HTTPAddr()), HTTPOptional: optional, Logger: n.Cfg.Logger}
	}
	if m, err := server.Start(cfg(false)); err == nil {
		m.Close()
		t.Error("start with a taken --http-port succeeded")
	}
	m, err := server.Start(cfg(true))
	if err != nil {
		t.Fatalf("start with a taken default HTTP port: %v", err)
	}
	defer m.Close()
	if m.HTTPAddr() != "" {
		t.Errorf("HTTP listener at %q on a taken port", m.HTTPAddr())
	}
}

func portOf(t *testing.T, addr string) int {
	var port int
	if i := strings.LastIndexByte(addr, ':'); i < 0 {
		t.Fatalf("bad addr %q", addr)
	} else if _, err := fmt.Sscan(addr[i+1:], &port); err != nil {
		t.Fatal(err)
	}
	return port
}

// BenchmarkMetricsScrape measures one GET /metrics under a steady write
// load (issue target: a scrape within 50 ms with 10k keys per second of
// load); it logs the scrape time.
func BenchmarkMetricsScrape(b *testing.B) {
	n := servertest.Start(b, func(c *server.Config) { c.HTTPPort = -1 })
	c := n.Client(b)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { // ~10k SETs a second in pipelines of 100
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for i := 0; ctx.Err() == nil; i++ {
			pipe := c.Pipeline()
			for j := range 100 {
				pipe.Set(ctx, fmt.Sprint("key:", (i*100+j)%100000), "value", 0)
			}
			pipe.Exec(ctx)
			<-t.C
		}
	}()
	time.Sleep(time.Second)
	url := "http://" + n.HTTPAddr() + "/metrics"
	b.ResetTimer()
	var worst time.Duration
	for b.Loop() {
		start := time.Now()
		resp, err := http.Get(url)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		worst = max(worst, time.Since(start))
	}
	b.Logf("scrape: worst %v over %d scrapes", worst, b.N)
}

// TestMetricsCluster: in cluster mode each node reports every shard
// replica it holds, exactly one replica of each shard says it leads, and
// the writes sent through the cluster show up in the nodes' counts.
func TestMetricsCluster(t *testing.T) {
	c := clustertest.Start(t, clustertest.Options{Nodes: 3, Shards: 2, Replicas: 3,
		Mod: func(_ int, cfg *server.Config) { cfg.HTTPPort = -1 }})
	defer c.Close()
	cl := c.Client()
	defer cl.Close()
	ctx := context.Background()
	const writes = 40
	for i := range writes {
		if err := cl.Set(ctx, fmt.Sprint("key:", i), "v", 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	leaders := map[string]float64{}
	var sets, keys float64
	for i := 1; i <= c.Len(); i++ {
		fams := scrape(t, c.Node(i).HTTPAddr())
		for _, shard := range []string{"1", "2"} {
			leaders[shard] += mustSample(t, fams, "cairn_raft_leader", "cairn_shard_id", shard)
			mustSample(t, fams, "cairn_raft_commit_duration_seconds", "cairn_shard_id", shard)
			if got := mustSample(t, fams, "cairn_raft_leader_changes_total", "cairn_shard_id", shard); got < 1 {
				t.Errorf("node %d shard %s: leader changes %v, want >= 1", i, shard, got)
			}
		}
		if v, ok := sample(fams, "redis_cmd_calls_total", "db_operation_name", "set"); ok {
			sets += v
		}
		keys += mustSample(t, fams, "redis_db_keys")
	}
	for shard, n := range leaders {
		if n != 1 {
			t.Errorf("shard %s: %v replicas report leading, want 1", shard, n)
		}
	}
	if sets < writes {
		t.Errorf("SET calls over the nodes = %v, want >= %d", sets, writes)
	}
	// Keys count the shards each node leads: together every key once.
	if keys != writes {
		t.Errorf("keys over the nodes = %v, want %d", keys, writes)
	}

	// Stopping shard 1's leader elects another: the survivors count it.
	old, before := 0, map[int]float64{}
	for i := 1; i <= c.Len(); i++ {
		fams := scrape(t, c.Node(i).HTTPAddr())
		if mustSample(t, fams, "cairn_raft_leader", "cairn_shard_id", "1") == 1 {
			old = i
		}
		before[i] = mustSample(t, fams, "cairn_raft_leader_changes_total", "cairn_shard_id", "1")
	}
	c.Stop(old)
	deadline := time.Now().Add(30 * time.Second)
	for {
		elected := false
		for i := 1; i <= c.Len(); i++ {
			if i == old {
				continue
			}
			fams := scrape(t, c.Node(i).HTTPAddr())
			if mustSample(t, fams, "cairn_raft_leader", "cairn_shard_id", "1") == 1 {
				elected = true
				if got := mustSample(t, fams, "cairn_raft_leader_changes_total", "cairn_shard_id", "1"); got <= before[i] {
					t.Errorf("node %d leads shard 1 after node %d stopped, but leader changes stayed %v", i, old, got)
				}
			}
		}
		if elected {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no new leader of shard 1 within 30s")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestMetricsResetStat: CONFIG RESETSTAT clears the per-command counts
// and, as in Redis 7, the latency histograms (LATENCY HISTOGRAM is empty
// afterwards), so /metrics shows a counter reset rather than a histogram
// whose buckets disagree with its sum.
func TestMetricsResetStat(t *testing.T) {
	n := servertest.Start(t, func(c *server.Config) { c.HTTPPort = -1 })
	c := n.Client(t)
	ctx := context.Background()
	for range 3 {
		c.Set(ctx, "a", "1", 0)
	}
	if got := mustSample(t, scrape(t, n.HTTPAddr()), "redis_cmd_duration_seconds", "db_operation_name", "set"); got != 3 {
		t.Fatalf("SET duration count %v, want 3", got)
	}
	if err := c.ConfigResetStat(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	h, err := c.Do(ctx, "LATENCY", "HISTOGRAM", "set").Slice()
	if err != nil || len(h) != 0 {
		t.Errorf("LATENCY HISTOGRAM set after RESETSTAT = %v (%v), want empty", h, err)
	}
	c.Set(ctx, "a", "2", 0)
	fams := scrape(t, n.HTTPAddr())
	if got := mustSample(t, fams, "redis_cmd_duration_seconds", "db_operation_name", "set"); got != 1 {
		t.Errorf("SET duration count after RESETSTAT and one SET = %v, want 1", got)
	}
	if got := mustSample(t, fams, "redis_cmd_calls_total", "db_operation_name", "set"); got != 1 {
		t.Errorf("SET calls after RESETSTAT and one SET = %v, want 1", got)
	}
}

// TestMetricsSearchAndFunctions checks the FT index and function figures:
// documents, vector graph size and indexing failures per index; libraries,
// FCALL / FCALL_RO calls and fuel per shard.
func TestMetricsSearchAndFunctions(t *testing.T) {
	n := servertest.Start(t, func(c *server.Config) { c.HTTPPort = -1 })
	c := n.Client(t)
	ctx := context.Background()

	if err := c.Do(ctx, "FT.CREATE", "idx", "ON", "HASH", "PREFIX", "1", "doc:", "SCHEMA",
		"v", "VECTOR", "HNSW", "6", "TYPE", "FLOAT32", "DIM", "2", "DISTANCE_METRIC", "L2").Err(); err != nil {
		t.Fatal(err)
	}
	const docs = 3
	for i := range docs {
		v := make([]byte, 8)
		binary.LittleEndian.PutUint32(v, math.Float32bits(float32(i)))
		if err := c.HSet(ctx, fmt.Sprint("doc:", i), "v", v).Err(); err != nil {
			t.Fatal(err)
		}
	}
	// A vector of the wrong length cannot be indexed.
	if err := c.HSet(ctx, "doc:bad", "v", "xyz").Err(); err != nil {
		t.Fatal(err)
	}

	if got, err := c.FunctionLoad(ctx, string(modulestest.Payload("test", modulestest.Fixture(t, "test")))).Result(); err != nil || got != "test" {
		t.Fatalf("FUNCTION LOAD: %q, %v", got, err)
	}
	const calls, callsRO = 3, 2
	for range calls {
		if err := c.FCall(ctx, "ping", nil).Err(); err != nil {
			t.Fatal(err)
		}
	}
	for range callsRO {
		if err := c.FCallRO(ctx, "ping", nil).Err(); err != nil {
			t.Fatal(err)
		}
	}

	fams := scrape(t, n.HTTPAddr())
	if got := mustSample(t, fams, "cairn_search_documents", "cairn_search_index", "idx"); got != docs {
		t.Errorf("cairn_search_documents = %v, want %d", got, docs)
	}
	if got := mustSample(t, fams, "cairn_search_index_size_bytes", "cairn_search_index", "idx"); got <= 0 {
		t.Errorf("cairn_search_index_size_bytes = %v, want > 0", got)
	}
	if got := mustSample(t, fams, "cairn_search_indexing_failures_total", "cairn_search_index", "idx"); got != 1 {
		t.Errorf("cairn_search_indexing_failures_total = %v, want 1", got)
	}
	if got := mustSample(t, fams, "cairn_functions_libraries"); got != 1 {
		t.Errorf("cairn_functions_libraries = %v, want 1", got)
	}
	if got := mustSample(t, fams, "cairn_functions_calls_total", "db_operation_name", "fcall"); got != calls {
		t.Errorf("FCALL calls = %v, want %d", got, calls)
	}
	if got := mustSample(t, fams, "cairn_functions_calls_total", "db_operation_name", "fcall_ro"); got != callsRO {
		t.Errorf("FCALL_RO calls = %v, want %d", got, callsRO)
	}
	fuel := mustSample(t, fams, "cairn_functions_fuel_total")
	if fuel <= 0 {
		t.Fatalf("cairn_functions_fuel_total = %v, want > 0", fuel)
	}
	// The fuel grows with each call; a failed call counts too.
	if err := c.FCallRO(ctx, "trap", nil).Err(); err == nil {
		t.Fatal("FCALL_RO trap succeeded")
	}
	if err := c.FCall(ctx, "ping", nil).Err(); err != nil {
		t.Fatal(err)
	}
	fams = scrape(t, n.HTTPAddr())
	if got := mustSample(t, fams, "cairn_functions_fuel_total"); got <= fuel {
		t.Errorf("cairn_functions_fuel_total after a call = %v, want > %v", got, fuel)
	}
	if got := mustSample(t, fams, "cairn_functions_calls_total", "db_operation_name", "fcall_ro"); got != callsRO+1 {
		t.Errorf("FCALL_RO calls after a trap = %v, want %d", got, callsRO+1)
	}
}

// TestMetricsBackups: BACKUP CREATE shows in the backup instruments (one
// completed, its duration histogram, last success time and size); a failed
// backup (the backup directory replaced by a file) counts as failed. Without --backup-dir there is no backup family.
func TestMetricsBackups(t *testing.T) {
	ctx := context.Background()
	plain := servertest.Start(t, func(c *server.Config) { c.HTTPPort = -1 })
	if fams := scrape(t, plain.HTTPAddr()); fams["cairn_backup_completed_total"] != nil {
		t.Fatal("backup instruments reported without --backup-dir")
	}
	dir := filepath.Join(t.TempDir(), "b")
	n := servertest.Start(t, func(c *server.Config) { c.HTTPPort = -1; c.BackupDir = dir })
	c := n.Client(t)
	for i := range 100 {
		c.Set(ctx, fmt.Sprint("k", i), "v", 0)
	}
	before := time.Now().Unix()
	if err := c.Do(ctx, "BACKUP", "CREATE", "one").Err(); err != nil {
		t.Fatal(err)
	}
	fams := scrape(t, n.HTTPAddr())
	if v := mustSample(t, fams, "cairn_backup_completed_total"); v != 1 {
		t.Fatalf("completed %v", v)
	}
	if v := mustSample(t, fams, "cairn_backup_duration_seconds"); v != 1 {
		t.Fatalf("duration histogram count %v", v)
	}
	if v := mustSample(t, fams, "cairn_backup_last_success_time_seconds"); int64(v) < before {
		t.Fatalf("last success %v, before %d", v, before)
	}
	m, err := backup.ReadManifest(filepath.Join(dir, "one"))
	if err != nil {
		t.Fatal(err)
	}
	if v := mustSample(t, fams, "cairn_backup_size_bytes"); int64(v) != m.Shards[0].Size {
		t.Fatalf("size %v, manifest %d", v, m.Shards[0].Size)
	}
	// The backup directory replaced by a file: the next backup fails.
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := c.Do(ctx, "BACKUP", "CREATE", "two").Err(); err == nil {
		t.Fatal("a backup into a file succeeded")
	}
	fams = scrape(t, n.HTTPAddr())
	if v := mustSample(t, fams, "cairn_backup_failed_total"); v != 1 {
		t.Fatalf("failed %v", v)
	}
	if v := mustSample(t, fams, "cairn_backup_completed_total"); v != 1 {
		t.Fatalf("completed %v after a failure", v)
	}
}

// TestMetricsRegions: a secondary region's node reports its role, each
// shard's lag (time and entries) and link state; the primary reports its
// role and no lag. With the primary gone the link goes down: link.up 0,
// a lag that grows, and a structured "region link down" log line with
// the region, shard and log index.
func TestMetricsRegions(t *testing.T) {
	ctx := context.Background()
	const secret = "region-metrics-secret"
	p := servertest.Start(t, func(c *server.Config) {
		c.HTTPPort = -1
		c.Region, c.RegionRole, c.RegionSecret, c.RegionAddr = "r1", "primary", secret, "127.0.0.1:0"
	})
	logs := &syncBuf{}
	s := servertest.Start(t, func(c *server.Config) {
		c.HTTPPort = -1
		c.Region, c.RegionRole, c.RegionSecret, c.RegionAddr = "r2", "secondary", secret, "127.0.0.1:0"
		c.RegionPrimary = []string{p.RegionAddr()}
		c.Logger = slog.New(slog.NewTextHandler(logs, nil))
	})
	pc := p.Client(t)
	for i := range 20 {
		if err := pc.Set(ctx, fmt.Sprint("k", i), "v", 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		st := s.RegionStatus()
		if len(st.Shards) == 1 && st.Shards[0].SourceApplied > 0 && st.LagEntries == 0 && st.Shards[0].Connected {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("secondary not caught up: %+v", st)
		}
		time.Sleep(20 * time.Millisecond)
	}
	fams := scrape(t, s.HTTPAddr())
	if v := mustSample(t, fams, "cairn_region_role", "cairn_region_name", "r2", "cairn_region_role", "secondary"); v != 1 {
		t.Fatalf("role %v", v)
	}
	shard := []string{"cairn_region_name", "r2", "cairn_shard_id", "1"}
	if v := mustSample(t, fams, "cairn_region_link_up", shard...); v != 1 {
		t.Fatalf("link up %v", v)
	}
	// The primary may log more (its clock, expiry) between the status
	// read and the scrape: the lag must come back to 0, not stay there.
	for v := mustSample(t, fams, "cairn_region_lag_entries", shard...); v != 0; v = mustSample(t, fams, "cairn_region_lag_entries", shard...) {
		if time.Now().After(deadline) {
			t.Fatalf("lag entries %v after catching up", v)
		}
		time.Sleep(50 * time.Millisecond)
		fams = scrape(t, s.HTTPAddr())
	}
	if v := mustSample(t, fams, "cairn_region_lag_seconds", shard...); v > 1 {
		t.Fatalf("lag %v s after catching up", v)
	}
	mustSample(t, fams, "cairn_region_snapshots_total", shard...)
	if !strings.Contains(logs.String(), `msg="region link up" region=r2 shard=1`) {
		t.Fatalf("no region link up log:\n%s", logs.String())
	}
	pf := scrape(t, p.HTTPAddr())
	if v := mustSample(t, pf, "cairn_region_role", "cairn_region_name", "r1", "cairn_region_role", "primary"); v != 1 {
		t.Fatalf("primary role %v", v)
	}
	if _, ok := sample(pf, "cairn_region_lag_seconds"); ok {
		t.Fatal("a primary reports region lag")
	}

	// The primary goes away: the link is down and the lag grows.
	p.Close()
	deadline = time.Now().Add(15 * time.Second)
	for {
		fams = scrape(t, s.HTTPAddr())
		up, _ := sample(fams, "cairn_region_link_up", shard...)
		lag, _ := sample(fams, "cairn_region_lag_seconds", shard...)
		if up == 0 && lag >= 0.5 && strings.Contains(logs.String(), `msg="region link down" region=r2 shard=1`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("link still reported up (up %v, lag %v s); logs:\n%s", up, lag, logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(logs.String(), "log_index=") {
		t.Fatalf("region link log without log_index:\n%s", logs.String())
	}
}
