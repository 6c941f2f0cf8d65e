package telemetry

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	colmetrics "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	"google.golang.org/protobuf/proto"

	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// fakeSource is a Source with fixed figures.
type fakeSource struct{}

func (fakeSource) Node() Node {
	return Node{ClientsConnected: 3, CommandsProcessed: 42, KeyspaceHits: 7, KeyspaceMisses: 2, MemoryUsed: 1000}
}

func (fakeSource) Commands(fn func(Command)) {
	// get: 2 calls under 1µs, 3 of [4,8) µs, 1 of [2^29, 2^30) µs (past
	// the last exported bound, so in +Inf).
	lat := make([]uint64, 40)
	lat[0], lat[3], lat[30] = 2, 3, 1
	fn(Command{Name: "get", Kind: "read", Calls: 6, Latency: Histogram{Counts: lat, Sum: 20 * time.Minute}})
	w := make([]uint64, 40)
	w[10] = 4 // [512, 1024) µs
	fn(Command{Name: "set", Kind: "write", Calls: 4, Latency: Histogram{Counts: w, Sum: 3 * time.Millisecond}})
	fn(Command{Name: "ping", Calls: 1, Latency: Histogram{Counts: make([]uint64, 40)}})
}

func (fakeSource) Shards(fn func(Shard)) {
	fn(Shard{ID: 1, Replica: 1, Leader: true, Term: 2, Applied: 10, LeaderChanges: 1,
		Commit: Histogram{Counts: []uint64{0, 0, 5}, Sum: 10 * time.Microsecond}})
}

func (fakeSource) Fsync() Histogram { return Histogram{Counts: []uint64{0, 1}, Sum: time.Microsecond} }

func find(t *testing.T, sms []metricdata.ScopeMetrics, name string) metricdata.Histogram[float64] {
	t.Helper()
	for _, sm := range sms {
		for _, m := range sm.Metrics {
			if m.Name == name {
				return m.Data.(metricdata.Histogram[float64])
			}
		}
	}
	t.Fatalf("no %s", name)
	return metricdata.Histogram[float64]{}
}

// TestHistogramBuckets: the log2 µs buckets map onto the exported bounds
// (bucket i under 2^i µs), overflow lands in +Inf, and reads and writes
// are summed by kind without connection commands.
func TestHistogramBuckets(t *testing.T) {
	h := &histograms{src: fakeSource{}, start: time.Now()}
	sms, err := h.Produce(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	cmd := find(t, sms, "redis.cmd.duration")
	if len(cmd.DataPoints) != 3 {
		t.Fatalf("%d command points, want 3", len(cmd.DataPoints))
	}
	get := cmd.DataPoints[0]
	if v, _ := get.Attributes.Value(attrOperation); v.AsString() != "get" {
		t.Fatalf("first point is %v", v.AsString())
	}
	if len(get.Bounds) != histBounds || len(get.BucketCounts) != histBounds+1 {
		t.Fatalf("%d bounds, %d buckets", len(get.Bounds), len(get.BucketCounts))
	}
	if get.Bounds[0] != 1e-6 || get.Bounds[3] != 8e-6 {
		t.Errorf("bounds %v", get.Bounds[:4])
	}
	if get.BucketCounts[0] != 2 || get.BucketCounts[3] != 3 || get.BucketCounts[histBounds] != 1 || get.Count != 6 {
		t.Errorf("get buckets %v count %d", get.BucketCounts, get.Count)
	}
	if get.Sum != 1200 {
		t.Errorf("get sum %v, want 1200 s", get.Sum)
	}
	if get.Attributes.Len() != 1 || cmd.Temporality != metricdata.CumulativeTemporality {
		t.Errorf("attributes %v temporality %v", get.Attributes, cmd.Temporality)
	}
	req := find(t, sms, "cairn.request.duration")
	for _, p := range req.DataPoints {
		kind, _ := p.Attributes.Value(attrKind)
		want := map[string]uint64{"read": 6, "write": 4}[kind.AsString()]
		if p.Count != want {
			t.Errorf("%s requests: %d, want %d", kind.AsString(), p.Count, want)
		}
	}
	if c := find(t, sms, "cairn.raft.commit.duration"); len(c.DataPoints) != 1 || c.DataPoints[0].BucketCounts[2] != 5 {
		t.Errorf("commit histogram %+v", c.DataPoints)
	}
	if f := find(t, sms, "cairn.raft.fsync.duration"); len(f.DataPoints) != 1 || f.DataPoints[0].Count != 1 {
		t.Errorf("fsync histogram %+v", f.DataPoints)
	}
}

// TestOTLPPush: with an OTLP endpoint the provider pushes the same
// instruments over OTLP/HTTP (protobuf) to a collector.
func TestOTLPPush(t *testing.T) {
	got := make(chan *colmetrics.ExportMetricsServiceRequest, 10)
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/metrics" || r.Header.Get("Content-Type") != "application/x-protobuf" {
			t.Errorf("collector got %s %s (%s)", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
		}
		body, _ := io.ReadAll(r.Body)
		req := &colmetrics.ExportMetricsServiceRequest{}
		if err := proto.Unmarshal(body, req); err != nil {
			t.Errorf("collector: %v", err)
		}
		w.Header().Set("Content-Type", "application/x-protobuf")
		out, _ := proto.Marshal(&colmetrics.ExportMetricsServiceResponse{})
		w.Write(out)
		select {
		case got <- req:
		default:
		}
	}))
	defer collector.Close()

	tel, err := New(Config{Source: fakeSource{}, OTLPEndpoint: strings.TrimPrefix(collector.URL, "http://"), OTLPInterval: 50 * time.Millisecond, Instance: "node-1"})
	if err != nil {
		t.Fatal(err)
	}
	defer tel.Shutdown(context.Background())
	var req *colmetrics.ExportMetricsServiceRequest
	select {
	case req = <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("no OTLP export within 10s")
	}
	names := map[string]bool{}
	for _, rm := range req.ResourceMetrics {
		for _, kv := range rm.GetResource().GetAttributes() {
			if kv.Key == "service.instance.id" && kv.Value.GetStringValue() != "node-1" {
				t.Errorf("service.instance.id %q", kv.Value.GetStringValue())
			}
		}
		for _, sm := range rm.ScopeMetrics {
			for _, m := range sm.Metrics {
				names[m.Name] = true
				if m.Name == "redis.commands.processed" {
					if v := m.GetSum().GetDataPoints()[0].GetAsInt(); v != 42 {
						t.Errorf("redis.commands.processed = %d, want 42", v)
					}
				}
			}
		}
	}
	for _, want := range []string{"redis.commands.processed", "redis.keyspace.hits", "redis.cmd.calls", "redis.cmd.duration", "cairn.raft.commit.duration"} {
		if !names[want] {
			t.Errorf("OTLP export lacks %s (has %v)", want, names)
		}
	}
}

// TestCollect: in-process readers see the same instruments, histograms
// included.
func TestCollect(t *testing.T) {
	tel, err := New(Config{Source: fakeSource{}})
	if err != nil {
		t.Fatal(err)
	}
	defer tel.Shutdown(context.Background())
	rm, err := tel.Collect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var processed int64 = -1
	var sms []metricdata.ScopeMetrics
	for _, sm := range rm.ScopeMetrics {
		sms = append(sms, sm)
		for _, m := range sm.Metrics {
			if m.Name == "redis.commands.processed" {
				processed = m.Data.(metricdata.Sum[int64]).DataPoints[0].Value
			}
		}
	}
	if processed != 42 {
		t.Errorf("redis.commands.processed = %d, want 42", processed)
	}
	if h := find(t, sms, "redis.cmd.duration"); len(h.DataPoints) != 3 {
		t.Errorf("%d command histograms, want 3", len(h.DataPoints))
	}
}
