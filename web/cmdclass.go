package web

import (
	"context"
	"math/bits"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Command classes of the charts: a command is a write when COMMAND INFO
// flags it "write", a read when it flags it "readonly", other otherwise
// (connection, server, pub/sub, scripting...). The same split as the
// kind attribute of /metrics' per-command series.
const (
	classRead  = "read"
	classWrite = "write"
	classOther = "other"
)

var classes = []string{classRead, classWrite, classOther}

// classifier caches each command's class, asked once per command name
// with COMMAND INFO on the service connection.
type classifier struct {
	mu sync.Mutex
	m  map[string]string
}

func (cl *classifier) class(ctx context.Context, c Conn, name string) string {
	cl.mu.Lock()
	k, ok := cl.m[name]
	cl.mu.Unlock()
	if ok {
		return k
	}
	k = classOther
	v, err := c.Do(ctx, "COMMAND", "INFO", name)
	if err != nil {
		return k // not cached: asked again next time
	}
	if info := list(v); len(info) == 1 {
		if f := list(info[0]); len(f) > 2 {
			for _, flag := range list(f[2]) {
				switch str(flag) {
				case "write":
					k = classWrite
				case "readonly":
					if k != classWrite {
						k = classRead
					}
				}
			}
		}
	}
	cl.mu.Lock()
	if cl.m == nil {
		cl.m = map[string]string{}
	}
	cl.m[name] = k
	cl.mu.Unlock()
	return k
}

// cmdHist is one command's LATENCY HISTOGRAM entry: calls and per-bucket
// counts (bucket i holds latencies under 2^i µs and at least 2^(i-1)).
type cmdHist struct {
	calls   float64
	buckets [64]float64
}

// parseLatencyHistogram reads LATENCY HISTOGRAM's reply (a map, or a
// flat array in RESP2, of command -> {calls, histogram_usec: {bound:
// cumulative count}}) into per-bucket counts.
func parseLatencyHistogram(v any) map[string]*cmdHist {
	out := map[string]*cmdHist{}
	for name, e := range pairs(v) {
		m := pairs(e)
		h := &cmdHist{calls: float64(toInt(m["calls"]))}
		type pt struct {
			b   int
			cum float64
		}
		var pts []pt
		for bound, cum := range pairs(m["histogram_usec"]) {
			n, err := strconv.ParseUint(bound, 10, 64)
			if err != nil || n == 0 {
				continue
			}
			pts = append(pts, pt{bits.Len64(n) - 1, float64(toInt(cum))})
		}
		// cumulative -> per bucket, in bound order
		sort.Slice(pts, func(i, j int) bool { return pts[i].b < pts[j].b })
		prev := 0.0
		for _, p := range pts {
			if p.b < len(h.buckets) {
				h.buckets[p.b] = max(p.cum-prev, 0)
			}
			prev = p.cum
		}
		out[strings.ToLower(name)] = h
	}
	return out
}

// quantileUsec is the upper bound (2^i µs) of the bucket holding the
// q-quantile of counts; 0 when there is nothing.
func quantileUsec(counts *[64]float64, q float64) float64 {
	var total float64
	for _, n := range counts {
		total += n
	}
	if total == 0 {
		return 0
	}
	rank := max(q*total, 1)
	var cum float64
	for i, n := range counts {
		cum += n
		if cum >= rank {
			return float64(uint64(1) << i)
		}
	}
	return float64(uint64(1) << 63)
}
