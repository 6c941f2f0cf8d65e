package telemetry

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// histBounds is how many explicit bucket bounds exported histograms have:
// 2^0 .. 2^26 µs (1µs .. about 67s); longer durations fall in +Inf.
const histBounds = 27

// bounds are the exported bucket upper bounds in seconds: bucket i of a
// Histogram ([2^(i-1), 2^i) µs) lies under bound i (2^i µs).
var bounds = func() []float64 {
	b := make([]float64, histBounds)
	for i := range b {
		b[i] = float64(uint64(1)<<i) / 1e6
	}
	return b
}()

// histograms is a metric producer (sdk/metric.Producer): at each
// collection it turns the node's log2 latency buckets into cumulative
// OpenTelemetry histograms, so no histogram is recorded through the SDK on
// a command's path.
type histograms struct {
	src   Source
	start time.Time
}

// Produce implements sdk/metric.Producer.
func (h *histograms) Produce(context.Context) ([]metricdata.ScopeMetrics, error) {
	now := time.Now()
	point := func(hist Histogram, attrs ...attribute.KeyValue) metricdata.HistogramDataPoint[float64] {
		counts := make([]uint64, histBounds+1)
		var total uint64
		for i, c := range hist.Counts {
			counts[min(i, histBounds)] += c
			total += c
		}
		return metricdata.HistogramDataPoint[float64]{
			Attributes: attribute.NewSet(attrs...), StartTime: h.start, Time: now,
			Count: total, Bounds: bounds, BucketCounts: counts, Sum: hist.Sum.Seconds(),
		}
	}
	metric := func(name, desc string, pts []metricdata.HistogramDataPoint[float64]) metricdata.Metrics {
		return metricdata.Metrics{Name: name, Description: desc, Unit: "s",
			Data: metricdata.Histogram[float64]{Temporality: metricdata.CumulativeTemporality, DataPoints: pts}}
	}

	var cmds []metricdata.HistogramDataPoint[float64]
	byKind := map[string]*Histogram{"read": {}, "write": {}}
	h.src.Commands(func(c Command) {
		if len(c.Latency.Counts) == 0 {
			return
		}
		cmds = append(cmds, point(c.Latency, attrOperation.String(c.Name)))
		if k := byKind[c.Kind]; k != nil {
			k.add(c.Latency)
		}
	})
	var commit, snap []metricdata.HistogramDataPoint[float64]
	h.src.Shards(func(s Shard) {
		at := []attribute.KeyValue{attrShard.Int64(int64(s.ID)), attrReplica.Int64(int64(s.Replica))}
		commit = append(commit, point(s.Commit, at...))
		snap = append(snap, point(s.Snapshot, at...))
	})
	out := []metricdata.Metrics{
		metric("redis.cmd.duration", "Duration of each command's calls (INFO commandstats, LATENCY HISTOGRAM).", cmds),
		metric("cairn.request.duration", "Duration of read and write commands (MemoryDB's ReadRequestLatency and WriteRequestLatency).",
			[]metricdata.HistogramDataPoint[float64]{point(*byKind["read"], attrKind.String("read")), point(*byKind["write"], attrKind.String("write"))}),
		metric("cairn.raft.commit.duration", "Time from proposing a log entry to applying it: append, fsync, replication and apply.", commit),
		metric("cairn.raft.snapshot.duration", "Time to write a snapshot.", snap),
		metric("cairn.raft.fsync.duration", "fsync time on the Raft log's file system (probe).",
			[]metricdata.HistogramDataPoint[float64]{point(h.src.Fsync())}),
	}
	if bs, ok := h.src.(BackupSource); ok {
		if b, ok := bs.Backups(); ok {
			out = append(out, metric("cairn.backup.duration", "Time to take and verify a backup.",
				[]metricdata.HistogramDataPoint[float64]{point(b.Duration)}))
		}
	}
	return []metricdata.ScopeMetrics{{Scope: instrumentation.Scope{Name: ScopeName}, Metrics: out}}, nil
}

// add sums another histogram of the same layout into h.
func (h *Histogram) add(o Histogram) {
	if len(h.Counts) < len(o.Counts) {
		h.Counts = append(h.Counts, make([]uint64, len(o.Counts)-len(h.Counts))...)
	}
	for i, c := range o.Counts {
		h.Counts[i] += c
	}
	h.Sum += o.Sum
}
