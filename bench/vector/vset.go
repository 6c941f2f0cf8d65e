package main

// The vector-set rows of make bench-vector (-vset): a bin/cairn node fed
// Redis 8 vector sets through RESP — durable VADD ingest (FP32 blobs,
// 8 connections × pipelines of 64) for NOQUANT, Q8 and BIN, MEMORY USAGE
// and RSS per element, VSIM COUNT 10 (default EF) QPS and p50/p99 with 1
// and 16 connections, recall@10 against exact cosine neighbours of the
// original float vectors, and a FILTER row at 10% selectivity.

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cairndb/cairn/vector/vectortest"
)

type vsetConfig struct {
	bin, log, out  string
	n, dim, nq     int
	clusters, rank int
	sigma          float64
	seed           uint64
	conns, batch   int
}

// cosineDist is 1 - cos(a, b).
func cosineDist(a, b []float32) float64 {
	var d, na, nb float64
	for i := range a {
		d += float64(a[i]) * float64(b[i])
		na += float64(a[i]) * float64(a[i])
		nb += float64(b[i]) * float64(b[i])
	}
	if na == 0 || nb == 0 {
		return 1
	}
	return 1 - d/math.Sqrt(na*nb)
}

// cosineTruth returns each query's exact k nearest (cosine) among data,
// admitting only ids for which admit is true (nil: all).
func cosineTruth(data, queries [][]float32, k int, admit func(int) bool) [][]vectortest.Neighbour {
	truth := make([][]vectortest.Neighbour, len(queries))
	var wg sync.WaitGroup
	workers := runtime.GOMAXPROCS(0)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(queries); i += workers {
				truth[i] = vectortest.KNN(data, queries[i], k, cosineDist, admit)
			}
		}()
	}
	wg.Wait()
	return truth
}

func runVSet(cfg vsetConfig, stdout, stderr io.Writer) int {
	if err := vsetBench(cfg, stdout); err != nil {
		fmt.Fprintln(stderr, "bench-vector -vset:", err)
		return 1
	}
	return 0
}

func vsetBench(cfg vsetConfig, stdout io.Writer) error {
	const k = 10
	all := vectortest.ClusteredLowRank(cfg.n+cfg.nq, cfg.dim, cfg.clusters, cfg.rank, cfg.sigma, cfg.seed)
	data, queries := all[:cfg.n], all[cfg.n:]
	truth := cosineTruth(data, queries, k, nil)
	admit10 := func(i int) bool { return admitted(i, 10) }
	nf := min(200, len(queries))
	truth10 := cosineTruth(data, queries[:nf], k, admit10)
	redis.SetLogger(quiet{})
	load0 := loadAvg()

	logw := io.Discard
	if cfg.log != "" {
		f, err := os.OpenFile(cfg.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return err
		}
		defer f.Close()
		logw = f
	}
	ctx := context.Background()
	var b strings.Builder
	fmt.Fprintf(&b, "dataset: %d x %d-d, %d Gaussian clusters (sigma %.2f), %d queries, k=%d, seed %d; recall against exact cosine neighbours of the original float32 vectors. One bin/cairn node, client on the same machine (%d CPUs), load average %s at start",
		cfg.n, cfg.dim, cfg.clusters, cfg.sigma, cfg.nq, k, cfg.seed, numCPU(), load0)
	var rows, frows []string
	for _, quant := range []string{"NOQUANT", "Q8", "BIN"} {
		// A fresh node per quantization, so RSS growth is this set's.
		nd, c, err := vsetNode(ctx, cfg.bin, logw)
		if err != nil {
			return err
		}
		defer os.RemoveAll(nd.dir)
		defer nd.kill()
		key := "vs:" + quant
		nd.settle(10 * time.Second)
		rss0, cpu0 := nd.rss(), nd.cpu()
		t0 := time.Now()
		if err := vadd(ctx, c, key, quant, data, cfg.conns, cfg.batch); err != nil {
			return err
		}
		wall := time.Since(t0)
		cpu := nd.cpu() - cpu0
		nd.settle(30 * time.Second)
		rss := nd.rss() - rss0
		card, err := c.Do(ctx, "VCARD", key).Int()
		if err != nil || card != cfg.n {
			return fmt.Errorf("VCARD %s = %d (%v), want %d", key, card, err, cfg.n)
		}
		mem, err := c.Do(ctx, "MEMORY", "USAGE", key).Int64()
		if err != nil {
			return fmt.Errorf("MEMORY USAGE %s: %w", key, err)
		}
		var one, many queryRun
		if one, err = vsimRun(ctx, c, key, queries, "", k, 1); err != nil {
			return err
		}
		qcpu0 := nd.cpu()
		if many, err = vsimRun(ctx, c, key, queries, "", k, 16); err != nil {
			return err
		}
		qcpu := nd.cpu() - qcpu0
		rows = append(rows, fmt.Sprintf("| %s | %.0f | %.0f | %.4f | %.0f | %s / %s | %.0f | %s / %s | %.0f | %d | %d |",
			quant, float64(cfg.n)/wall.Seconds(), float64(cfg.n)/max(cpu.Seconds(), 1e-3), recall(one.ids, truth),
			one.qps(), ms(one.pct(50)), ms(one.pct(99)), many.qps(), ms(many.pct(50)), ms(many.pct(99)),
			float64(len(queries))/max(qcpu.Seconds(), 1e-3), mem/int64(cfg.n), rss/int64(cfg.n)))
		// FILTER at 10%: attributes were set by VADD ... SETATTR.
		f, err := vsimRun(ctx, c, key, queries[:nf], ".p10 == 1", k, 1)
		if err != nil {
			return err
		}
		for i, ids := range f.ids {
			for _, id := range ids {
				if !admit10(id) {
					return fmt.Errorf("VSIM FILTER returned e%d, which the filter rejects (query %d)", id, i)
				}
			}
		}
		frows = append(frows, fmt.Sprintf("| %s | %.4f | %.0f | %s / %s |", quant, recall(f.ids, truth10), f.qps(), ms(f.pct(50)), ms(f.pct(99))))
		c.Close()
		if err := nd.stop(30 * time.Second); err != nil {
			return err
		}
		os.RemoveAll(nd.dir)
	}
	fmt.Fprintf(&b, ", %s at end.\n\n", loadAvg())
	b.WriteString("| quantization | VADD/s wall (8 conns × 64) | VADD per node CPU-s | recall@10 (COUNT 10, EF 100) | QPS 1 conn | p50 / p99 1 conn | QPS 16 conns | p50 / p99 16 conns | QPS per node CPU-s (16 conns) | MEMORY USAGE B/element | node RSS growth B/element |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|\n")
	b.WriteString(strings.Join(rows, "\n") + "\n\n")
	fmt.Fprintf(&b, "VSIM ... COUNT 10 FILTER '.p10 == 1' (10%% of elements, default FILTER-EF = COUNT×100), first %d queries, 1 connection; recall against exact cosine neighbours among the admitted elements:\n\n", nf)
	b.WriteString("| quantization | recall@10 | QPS | p50 / p99 |\n|---|---|---|---|\n")
	b.WriteString(strings.Join(frows, "\n") + "\n")
	fmt.Fprint(stdout, b.String())
	if cfg.out != "" {
		return os.WriteFile(cfg.out, []byte(b.String()), 0o644)
	}
	return nil
}

// vsetNode starts bin/cairn on free loopback ports with a temp --dir and
// returns it with a RESP2 client once it answers PING.
func vsetNode(ctx context.Context, bin string, logw io.Writer) (*node, *redis.Client, error) {
	dir, err := os.MkdirTemp("", "cairn-bench-vset-")
	if err != nil {
		return nil, nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, nil, err
	}
	rport, err := freePort()
	if err != nil {
		return nil, nil, err
	}
	nd := &node{bin: bin, dir: dir, addr: fmt.Sprintf("127.0.0.1:%d", port), raft: fmt.Sprintf("127.0.0.1:%d", rport), log: logw}
	if err := nd.start(); err != nil {
		return nil, nil, err
	}
	c := redis.NewClient(&redis.Options{Addr: nd.addr, PoolSize: 32, Protocol: 2})
	if err := waitPing(ctx, c, 30*time.Second); err != nil {
		nd.kill()
		return nil, nil, err
	}
	return nd, c, nil
}

// vadd adds every vector as element e<i> of key with quantization quant,
// attribute {"p10": 0|1}, over conns connections sending pipelines of
// batch commands (each reply means committed through the log and applied).
func vadd(ctx context.Context, c *redis.Client, key, quant string, data [][]float32, conns, batch int) error {
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	batches := (len(data) + batch - 1) / batch
	for w := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for bt := w; bt < batches; bt += conns {
				p := c.Pipeline()
				for i := bt * batch; i < min((bt+1)*batch, len(data)); i++ {
					attr := `{"p10": 0}`
					if admitted(i, 10) {
						attr = `{"p10": 1}`
					}
					p.Do(ctx, "VADD", key, "FP32", blob(data[i]), "e"+strconv.Itoa(i), quant, "SETATTR", attr)
				}
				if _, err := p.Exec(ctx); err != nil {
					errs <- fmt.Errorf("VADD: %w", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// vsimRun runs VSIM key FP32 <q> COUNT k [FILTER f] for every query over
// conns connections.
func vsimRun(ctx context.Context, c *redis.Client, key string, queries [][]float32, filter string, k, conns int) (queryRun, error) {
	r := queryRun{ids: make([][]int, len(queries)), lat: make([]time.Duration, len(queries))}
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	t0 := time.Now()
	for w := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(queries); i += conns {
				args := []any{"VSIM", key, "FP32", blob(queries[i]), "COUNT", k}
				if filter != "" {
					args = append(args, "FILTER", filter)
				}
				t1 := time.Now()
				v, err := c.Do(ctx, args...).StringSlice()
				if err != nil {
					errs <- fmt.Errorf("VSIM: %w", err)
					return
				}
				r.lat[i] = time.Since(t1)
				ids := make([]int, 0, len(v))
				for _, s := range v {
					id, err := strconv.Atoi(strings.TrimPrefix(s, "e"))
					if err != nil {
						errs <- fmt.Errorf("VSIM: unexpected element %q", s)
						return
					}
					ids = append(ids, id)
				}
				r.ids[i] = slices.Clip(ids)
			}
		}()
	}
	wg.Wait()
	r.wall = time.Since(t0)
	close(errs)
	return r, <-errs
}
