// Command vector is the vector-engine benchmark: it generates a
// deterministic Gaussian-clustered dataset, computes exact ground truth by
// brute force, and reports recall@10 at several ef, single-thread QPS,
// build rate and memory per vector for Cairn's HNSW (package vector) and
// for github.com/coder/hnsw v0.6.1 (the reference row that shows why Cairn
// has its own). With -dump it also writes the dataset for
// bench/vector/hnswlib_bench.py, which adds hnswlib's row.
//
//	go run ./bench/vector -n 20000 -dim 128 -queries 500
package main

import (
	"bytes"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/coder/hnsw"

	"github.com/cairndb/cairn/vector"
	"github.com/cairndb/cairn/vector/vectortest"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("vector", flag.ContinueOnError)
	fs.SetOutput(stderr)
	n := fs.Int("n", 20000, "vectors")
	dim := fs.Int("dim", 128, "dimension")
	nq := fs.Int("queries", 500, "queries")
	clusters := fs.Int("clusters", 100, "Gaussian clusters")
	sigma := fs.Float64("sigma", 0.3, "cluster standard deviation (centres in [-1,1]^dim)")
	m := fs.Int("m", 16, "HNSW M")
	efc := fs.Int("efc", 200, "HNSW EF_CONSTRUCTION")
	efList := fs.String("ef", "10,20,50,100,200", "EF_RUNTIME values")
	seed := fs.Uint64("seed", 1, "dataset seed")
	rank := fs.Int("rank", 0, "0: isotropic clusters; r > 0: each cluster spread along an r-dimensional subspace (embedding-like)")
	coder := fs.Bool("coder", true, "also measure github.com/coder/hnsw v0.6.1")
	dump := fs.String("dump", "", "write the dataset, queries and ground truth to this file for hnswlib_bench.py")
	hnswlibScript := fs.String("hnswlib", "", "run this hnswlib_bench.py (needs -dump and python3-hnswlib) and add its rows")
	cairnBin := fs.String("cairn", "", "end-to-end mode: start this cairn binary and measure FT.* through RESP instead of the in-process engines")
	conns := fs.Int("conns", 8, "end-to-end: ingest connections")
	pipeline := fs.Int("pipeline", 64, "end-to-end: HSETs per pipeline batch")
	filteredQueries := fs.Int("filtered-queries", 200, "end-to-end: queries per filtered case")
	outFile := fs.String("out", "", "end-to-end: also write the markdown report to this file")
	serverLog := fs.String("server-log", "", "end-to-end: append the node's output to this file")
	vsetMode := fs.Bool("vset", false, "with -cairn: measure Redis 8 vector sets (VADD ingest, VSIM QPS/p99/recall per quantization) instead of FT.*")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *vsetMode {
		if *cairnBin == "" {
			fmt.Fprintln(stderr, "-vset needs -cairn")
			return 2
		}
		return runVSet(vsetConfig{bin: *cairnBin, log: *serverLog, out: *outFile, n: *n, dim: *dim, nq: *nq,
			clusters: *clusters, rank: *rank, sigma: *sigma, seed: *seed, conns: *conns, batch: *pipeline}, stdout, stderr)
	}
	var efs []int
	for _, s := range strings.Split(*efList, ",") {
		v, err := strconv.Atoi(s)
		if err != nil {
			fmt.Fprintln(stderr, "bad -ef:", err)
			return 2
		}
		efs = append(efs, v)
	}
	const k = 10

	// Step 1: the dataset and its exact ground truth.
	// Queries come from the same generator call, so they share the
	// clusters (and subspaces) of the data.
	ds := makeDataset(*n, *dim, *nq, *clusters, *rank, *sigma, *seed, k)
	data, queries, truth := ds.data, ds.queries, ds.truth
	if *cairnBin != "" {
		return runE2E(e2eConfig{bin: *cairnBin, ds: ds, efs: efs, k: k, m: *m, efc: *efc,
			conns: *conns, pipeline: *pipeline, dump: *dump, hnswlib: *hnswlibScript, coder: *coder, log: *serverLog, out: *outFile, filteredQueries: *filteredQueries}, stdout, stderr)
	}
	fmt.Fprintf(stdout, "dataset: %s, M=%d, EF_CONSTRUCTION=%d, one thread; rates are per CPU-second of the process (getrusage / process_time), robust to a shared machine\n\n",
		ds.desc, *m, *efc)
	if *dump != "" {
		if err := writeDump(*dump, data, queries, truth, k); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
	}
	fmt.Fprintln(stdout, "| engine | build (vectors/s) | memory (bytes/vector) | ef | recall@10 | QPS (1 thread) | sorted |")
	fmt.Fprintln(stdout, "|---|---|---|---|---|---|---|")

	// Step 2: Cairn's HNSW.
	before := heap()
	ix, err := vector.New(vector.Config{Algorithm: vector.HNSW, Dim: *dim, M: *m, EFConstruction: *efc})
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	runtime.GC()
	start := cpuNow()
	for i, v := range data {
		if err := ix.Set(strconv.Itoa(i), v); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
	}
	rate := float64(*n) / cpuSince(start).Seconds()
	mem := float64(heap()-before) / float64(*n)
	for _, ef := range efs {
		var got [][]int
		sorted := true
		t0 := cpuNow()
		for _, q := range queries {
			res, _ := ix.Search(q, k, &vector.SearchOptions{EF: ef})
			ids := make([]int, len(res))
			for j, r := range res {
				ids[j], _ = strconv.Atoi(r.Key)
				if j > 0 && res[j].Distance < res[j-1].Distance {
					sorted = false
				}
			}
			got = append(got, ids)
		}
		qps := float64(len(queries)) / cpuSince(t0).Seconds()
		fmt.Fprintf(stdout, "| cairn vector.HNSW | %.0f | %.0f (MemSize %d) | %d | %.4f | %.0f | %v |\n",
			rate, mem, ix.MemSize()/int64(*n), ef, recall(got, truth), qps, sorted)
	}
	// Step 2a: filtered KNN at 2%, 10%, 50% selectivity (a tag per vector
	// from a hash of its id), then the snapshot: pause, write, load.
	notes := filtered(ix, data, queries, k, efs[len(efs)-2])
	notes += snapshotNote(ix)

	// Step 2a': hnswlib's rows, from the Python script on the dumped dataset.
	if *hnswlibScript != "" && *dump != "" {
		cmd := exec.Command("/usr/bin/python3", *hnswlibScript, *dump, *efList)
		cmd.Stdout, cmd.Stderr = stdout, stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintf(stdout, "| hnswlib | not run: %v (apt-get install -y python3-hnswlib) | | | | | |\n", err)
		}
	}

	// Step 2b: churn: delete 20% of the keys (vacuums run inside the
	// deletes that cross the threshold), then recall against the survivors.
	var lat []time.Duration
	t0 := cpuNow()
	alive := slices.Clone(data)
	for i := 0; i < *n; i += 5 {
		t1 := cpuNow()
		ix.Delete(strconv.Itoa(i))
		lat = append(lat, cpuSince(t1))
		alive[i] = nil
	}
	delRate := float64(*n/5) / cpuSince(t0).Seconds()
	ef := efs[len(efs)/2]
	var got [][]int
	for _, q := range queries {
		res, _ := ix.Search(q, k, &vector.SearchOptions{EF: ef})
		ids := make([]int, len(res))
		for j, r := range res {
			ids[j], _ = strconv.Atoi(r.Key)
		}
		got = append(got, ids)
	}
	churnTruth := make([][]vectortest.Neighbour, len(queries))
	for i, q := range queries {
		churnTruth[i] = vectortest.KNN(alive, q, k, vectortest.L2, nil)
	}
	slices.Sort(lat)
	churn := fmt.Sprintf("cairn vector.HNSW, deleting 20%% (incremental sweep): %.0f deletes per CPU-s, CPU per delete p50 %v p99 %v max %v; recall@10 at ef=%d afterwards %.4f\n",
		delRate, lat[len(lat)/2], lat[len(lat)*99/100], lat[len(lat)-1], ef, recall(got, churnTruth))
	runtime.KeepAlive(ix)
	ix = nil

	// Step 3: coder/hnsw, the reference.
	if *coder {
		coderRows(stdout, data, queries, truth, efs, *m, k)
	}
	fmt.Fprint(stdout, "\n"+notes+churn)
	return 0
}

// coderRows measures github.com/coder/hnsw v0.6.1 with the same M and a
// fixed seed, reporting a panic as a row instead of dying.
func coderRows(stdout io.Writer, data, queries [][]float32, truth [][]vectortest.Neighbour, efs []int, m, k int) {
	before := heap()
	g := hnsw.NewGraph[int]()
	g.M = m
	g.Distance = hnsw.EuclideanDistance
	g.Rng = rand.New(rand.NewSource(1))
	start := cpuNow()
	for i, v := range data {
		g.Add(hnsw.MakeNode(i, v))
	}
	rate := float64(len(data)) / cpuSince(start).Seconds()
	mem := float64(heap()-before) / float64(len(data))
	for _, ef := range efs {
		g.EfSearch = ef
		var got [][]int
		sorted := true
		t0 := cpuNow()
		for _, q := range queries {
			res := g.Search(q, k)
			ids := make([]int, len(res))
			for j, r := range res {
				ids[j] = r.Key
				if j > 0 && vectortest.L2(q, res[j].Value) < vectortest.L2(q, res[j-1].Value) {
					sorted = false
				}
			}
			got = append(got, ids)
		}
		qps := float64(len(queries)) / cpuSince(t0).Seconds()
		fmt.Fprintf(stdout, "| coder/hnsw v0.6.1 | %.0f | %.0f | %d | %.4f | %.0f | %v |\n", rate, mem, ef, recall(got, truth), qps, sorted)
	}
	// Delete 10% and search again: v0.6.1 may panic here.
	for i := 0; i < len(data); i += 10 {
		g.Delete(i)
	}
	msg := "no panic"
	func() {
		defer func() {
			if r := recover(); r != nil {
				msg = fmt.Sprintf("panic: %v", r)
			}
		}()
		g.EfSearch = efs[len(efs)-1]
		for _, q := range queries {
			g.Search(q, k)
		}
	}()
	fmt.Fprintf(stdout, "\ncoder/hnsw v0.6.1 search after deleting 10%%: %s\n", msg)
}

// filtered measures filtered KNN recall and QPS at several selectivities.
func filtered(ix *vector.Index, data, queries [][]float32, k, ef int) string {
	out := ""
	for _, pct := range selectivities {
		admit := func(i int) bool { return admitted(i, pct) }
		filter := func(key string) bool {
			i, _ := strconv.Atoi(key)
			return admit(i)
		}
		ftruth := groundTruth(data, queries, k, admit)
		var sum float64
		var spent time.Duration
		for qi, q := range queries {
			t0 := cpuNow()
			res, _ := ix.Search(q, k, &vector.SearchOptions{EF: ef, Filter: filter})
			spent += cpuSince(t0)
			ids := make([]int, len(res))
			for j, r := range res {
				ids[j], _ = strconv.Atoi(r.Key)
			}
			sum += vectortest.Recall(ids, ftruth[qi])
		}
		out += fmt.Sprintf("cairn vector.HNSW filtered KNN, %d%% of keys match: recall@10 %.4f at ef=%d, %.0f QPS\n",
			pct, sum/float64(len(queries)), ef, float64(len(queries))/spent.Seconds())
	}
	return out
}

// snapshotNote measures the snapshot pause, the write, the load, and
// checks that the loaded index has the same digest.
func snapshotNote(ix *vector.Index) string {
	t0 := time.Now()
	snap := ix.Snapshot()
	pause := time.Since(t0)
	var buf bytes.Buffer
	t1 := time.Now()
	snap.WriteTo(&buf)
	write := time.Since(t1)
	size := buf.Len()
	t2 := time.Now()
	cp, err := vector.Load(&buf)
	load := time.Since(t2)
	if err != nil {
		return fmt.Sprintf("snapshot load failed: %v\n", err)
	}
	return fmt.Sprintf("snapshot of %d vectors (wall clock): Snapshot() pause %v, WriteTo %v (%.1f MB), Load %v, digest equal: %v\n",
		ix.Len(), pause, write.Round(time.Millisecond), float64(size)/1e6, load.Round(time.Millisecond), cp.Digest() == ix.Digest())
}

// cpuNow returns the process's CPU time (user + system, all threads, so
// the garbage collector's work counts).
func cpuNow() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cpuSince returns the CPU time spent since t.
func cpuSince(t time.Duration) time.Duration { return cpuNow() - t }

// recall returns the mean recall@k of got against truth.
func recall(got [][]int, truth [][]vectortest.Neighbour) float64 {
	var s float64
	for i := range truth {
		s += vectortest.Recall(got[i], truth[i])
	}
	return s / float64(len(truth))
}

// heap returns the live heap after a full collection.
func heap() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// writeDump writes the dataset for hnswlib_bench.py: a header of four uint32
// (n, dim, queries, k), then n*dim and queries*dim float32, then
// queries*k uint32 ground-truth ids, all little endian.
func writeDump(path string, data, queries [][]float32, truth [][]vectortest.Neighbour, k int) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("dump: %w", err)
	}
	defer f.Close()
	buf := binary.LittleEndian.AppendUint32(nil, uint32(len(data)))
	buf = binary.LittleEndian.AppendUint32(buf, uint32(len(data[0])))
	buf = binary.LittleEndian.AppendUint32(buf, uint32(len(queries)))
	buf = binary.LittleEndian.AppendUint32(buf, uint32(k))
	for _, v := range slices.Concat(data, queries) {
		for _, x := range v {
			buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(x))
		}
	}
	for _, t := range truth {
		for j := 0; j < k; j++ {
			id := uint32(math.MaxUint32)
			if j < len(t) {
				id = uint32(t[j].ID)
			}
			buf = binary.LittleEndian.AppendUint32(buf, id)
		}
	}
	if _, err := f.Write(buf); err != nil {
		return fmt.Errorf("dump: %w", err)
	}
	return f.Close()
}
