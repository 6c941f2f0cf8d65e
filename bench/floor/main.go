// Command floor measures the durable-write floor of Cairn layer by layer,
// in one run, with Cairn's own Dragonboat settings:
//
//	L0  raw Dragonboat: a NodeHost and replica configured exactly as Cairn
//	    configures its own (shard.HostConfig.NodeHostConfig,
//	    shard.Options.RaftConfig), a state machine that does nothing, and
//	    -c goroutines each proposing one small entry at a time (Propose,
//	    then wait on the result, as Cairn does).
//	L1  Cairn's shard: the real entry codec and state machine apply
//	    (shard.Host/Shard, the full command table), -c goroutines each
//	    proposing one SET at a time through Shard.Propose(...).Wait(), the
//	    path the RESP server takes for a SET with -P 1.
//	L2  the real server: bin/cairn over loopback, driven by
//	    redis-benchmark -t set -c C -P 1 -n N -r R.
//	redis  redis-server --appendonly yes --appendfsync always, the same
//	    redis-benchmark run (the reference at the same durability).
//
// For each layer it reports throughput, p50/p99 latency, CPU microseconds
// per write (the process under test: getrusage for the in-process layers,
// /proc/PID/stat for the servers) and, when perf(1) can read syscall
// tracepoints, fsyncs, syscalls and context switches per write. After the
// measurement window it captures a CPU profile and an execution trace of
// the same load (in-process for L0/L1, through CAIRN_PPROF for L2), and
// summarises them with go tool pprof / go tool trace.
//
// Usage (see `make bench-floor`):
//
//	go run ./bench/floor -cairn bin/cairn -out bench/out/floor.md
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"runtime/trace"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/lni/dragonboat/v4"
	sm "github.com/lni/dragonboat/v4/statemachine"

	"github.com/cairndb/cairn/server"
	"github.com/cairndb/cairn/server/entry"
	"github.com/cairndb/cairn/server/shard"
)

var (
	flagLayers   = flag.String("layers", "l0,l1,l2,redis", "layers to run, comma separated (l0, l1, l2, redis)")
	flagDur      = flag.Duration("d", 15*time.Second, "measurement window per in-process layer (L0, L1)")
	flagWarm     = flag.Duration("warmup", 2*time.Second, "load before each measurement window")
	flagConc     = flag.Int("c", 50, "concurrent proposers / redis-benchmark connections")
	flagN        = flag.Int("n", 500000, "redis-benchmark requests for L2 and redis")
	flagR        = flag.Int("r", 100000, "key space (redis-benchmark -r)")
	flagCairn    = flag.String("cairn", "bin/cairn", "cairn binary for L2")
	flagOut      = flag.String("out", "bench/out/floor.md", "results document")
	flagProfDir  = flag.String("profdir", "bench/out/floor", "CPU profiles, traces, their summaries and the data dirs")
	flagProf     = flag.Duration("cpuprofile", 6*time.Second, "CPU profile length per layer after the window (0: none)")
	flagTrace    = flag.Duration("trace", time.Second, "execution trace length per layer after the window (0: none)")
	flagPerf     = flag.Bool("perf", true, "count syscalls and context switches with perf stat when available")
	flagGOGC     = flag.Int("gogc", 50, "GC percent for the in-process layers (bin/cairn sets 50)")
	flagNote     = flag.String("note", "", "free text for the header (e.g. machine shared/noisy)")
	flagKeepData = flag.Bool("keep", false, "keep the data dirs")
	flagL1Snap   = flag.Uint64("l1-snapshot-entries", 0, "experiment: L1's shard.Options.SnapshotEntries (0: Cairn's default)")
)

// result is one layer's row.
type result struct {
	layer, what    string
	ops            int64
	secs           float64
	p50, p99       time.Duration
	cpuUS          float64 // CPU µs per write of the process under test
	clientCPUUS    float64 // redis-benchmark's CPU µs per write (L2, redis)
	perf           map[string]float64
	prof, trc      string // file paths
	traceOps       int64  // writes completed during the trace
	extra          string
	fail           error
	entriesPerSync float64
}

func main() {
	flag.Parse()
	killOnSignal()
	debug.SetGCPercent(*flagGOGC)
	if abs, err := filepath.Abs(*flagProfDir); err == nil {
		*flagProfDir = abs
	}
	if err := os.MkdirAll(*flagProfDir, 0o755); err != nil {
		fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(*flagOut), 0o755); err != nil {
		fatal(err)
	}
	started := time.Now()
	load := readLoadavg()
	want := map[string]bool{}
	for _, l := range strings.Split(*flagLayers, ",") {
		want[strings.TrimSpace(l)] = true
	}
	var rows []*result
	run := func(name string, f func() *result) {
		if !want[name] {
			return
		}
		fmt.Fprintf(os.Stderr, "floor: %s ...\n", name)
		r := f()
		if r.fail != nil {
			fmt.Fprintf(os.Stderr, "floor: %s failed: %v\n", name, r.fail)
		} else {
			fmt.Fprintf(os.Stderr, "floor: %s %.0f ops/s p50 %s p99 %s cpu %.1f us/op\n", name, float64(r.ops)/r.secs, ms(r.p50), ms(r.p99), r.cpuUS)
		}
		rows = append(rows, r)
	}
	run("l0", layer0)
	run("l1", layer1)
	run("l2", layer2)
	run("redis", layerRedis)
	doc := report(rows, started, load)
	if err := os.WriteFile(*flagOut, []byte(doc), 0o644); err != nil {
		fatal(err)
	}
	fmt.Print(doc)
	for _, r := range rows {
		if r.fail != nil {
			os.Exit(1)
		}
	}
}

// children are the servers and perf processes running now; a signal to
// this program stops them before it exits.
var children struct {
	sync.Mutex
	m map[*exec.Cmd]bool
}

func track(c *exec.Cmd)   { children.Lock(); children.m[c] = true; children.Unlock() }
func untrack(c *exec.Cmd) { children.Lock(); delete(children.m, c); children.Unlock() }

func killOnSignal() {
	children.m = map[*exec.Cmd]bool{}
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		s := <-ch
		children.Lock()
		for c := range children.m {
			if c.Process != nil {
				c.Process.Kill()
			}
		}
		children.Unlock()
		fmt.Fprintf(os.Stderr, "floor: %v, stopped\n", s)
		os.Exit(1)
	}()
}

func fatal(err error) {
	fmt.Fprintf(os.Stderr, "floor: %v\n", err)
	os.Exit(1)
}

// ---- in-process layers ----

// setArgs is a SET as redis-benchmark sends it: key:%012d, 3-byte value.
func setArgs(rng *rand.Rand) [][]byte {
	return [][]byte{[]byte("SET"), fmt.Appendf(nil, "key:%012d", rng.IntN(*flagR)), []byte("xxx")}
}

// setEntrySize is the encoded size of the entry Cairn proposes for one SET;
// L0 proposes payloads of this size.
func setEntrySize() int {
	rng := rand.New(rand.NewPCG(1, 2))
	e := entry.Entry{Version: entry.Version, Kind: entry.Commands, Time: time.Now().UnixNano(), Seed: 1, Cmds: [][][]byte{setArgs(rng)}}
	return entry.Size(&e)
}

// nopSM is L0's state machine: it applies nothing.
type nopSM struct{ applied atomic.Uint64 }

func (m *nopSM) Update(es []sm.Entry) ([]sm.Entry, error) {
	for i := range es {
		es[i].Result = sm.Result{Value: uint64(len(es[i].Cmd))}
	}
	m.applied.Add(uint64(len(es)))
	return es, nil
}
func (m *nopSM) Lookup(any) (any, error)       { return nil, nil }
func (m *nopSM) PrepareSnapshot() (any, error) { return nil, nil }
func (m *nopSM) Close() error                  { return nil }
func (m *nopSM) RecoverFromSnapshot(io.Reader, []sm.SnapshotFile, <-chan struct{}) error {
	return nil
}
func (m *nopSM) SaveSnapshot(any, io.Writer, sm.ISnapshotFileCollection, <-chan struct{}) error {
	return nil
}

func freeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func dataDir(name string) string {
	d := filepath.Join(*flagProfDir, "data-"+name)
	os.RemoveAll(d)
	if err := os.MkdirAll(d, 0o755); err != nil {
		fatal(err)
	}
	return d
}

func cleanup(d string) {
	if !*flagKeepData {
		os.RemoveAll(d)
	}
}

func layer0() *result {
	r := &result{layer: "L0", what: "raw Dragonboat (nop state machine, Cairn's NodeHost/replica config)"}
	dir := dataDir("l0")
	defer cleanup(dir)
	hc := shard.HostConfig{Dir: dir, RaftAddr: freeAddr()}
	nh, err := dragonboat.NewNodeHost(hc.NodeHostConfig())
	if err != nil {
		r.fail = err
		return r
	}
	defer nh.Close()
	rc := shard.Options{}.RaftConfig()
	m := &nopSM{}
	err = nh.StartConcurrentReplica(map[uint64]dragonboat.Target{rc.ReplicaID: nh.RaftAddress()}, false,
		func(uint64, uint64) sm.IConcurrentStateMachine { return m }, rc)
	if err != nil {
		r.fail = err
		return r
	}
	if err := waitLeader(func() bool { _, _, ok, err := nh.GetLeaderID(rc.ShardID); return err == nil && ok }); err != nil {
		r.fail = err
		return r
	}
	sess := nh.GetNoOPSession(rc.ShardID)
	size := setEntrySize()
	r.extra = fmt.Sprintf("%d-byte payload (the encoded size of one SET entry)", size)
	before := m.applied.Load()
	drive(r, "l0", func(rng *rand.Rand, buf []byte) error {
		// The payload varies like Cairn's entries do (key, seed, time).
		binaryFill(buf, rng)
		rs, err := nh.Propose(sess, buf, 10*time.Second)
		if err != nil {
			return err
		}
		res := <-rs.ResultC()
		rs.Release()
		if !res.Completed() {
			return fmt.Errorf("proposal not completed: %v", res)
		}
		return nil
	}, size)
	_ = before
	return r
}

func binaryFill(b []byte, rng *rand.Rand) {
	for i := 0; i+8 <= len(b); i += 8 {
		v := rng.Uint64()
		for j := range 8 {
			b[i+j] = byte(v >> (8 * j))
		}
	}
}

func layer1() *result {
	r := &result{layer: "L1", what: "Cairn shard: entry codec + state machine apply (Shard.Propose(SET).Wait())"}
	dir := dataDir("l1")
	defer cleanup(dir)
	h, err := shard.NewHost(shard.HostConfig{Dir: dir, RaftAddr: freeAddr()})
	if err != nil {
		r.fail = err
		return r
	}
	defer h.Close()
	if *flagL1Snap != 0 {
		r.extra = fmt.Sprintf("experiment: SnapshotEntries %d (not Cairn's default)", *flagL1Snap)
	}
	s, err := h.StartShard(shard.Options{SnapshotEntries: *flagL1Snap}, server.Commands())
	if err != nil {
		r.fail = err
		return r
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	err = s.WaitLeader(ctx)
	cancel()
	if err != nil {
		r.fail = err
		return r
	}
	drive(r, "l1", func(rng *rand.Rand, _ []byte) error {
		vs, err := s.Propose(entry.Commands, [][][]byte{setArgs(rng)}).Wait()
		if err != nil {
			return err
		}
		if len(vs) != 1 {
			return fmt.Errorf("%d replies", len(vs))
		}
		return nil
	}, 0)
	return r
}

func waitLeader(ok func() bool) error {
	deadline := time.Now().Add(time.Minute)
	for !ok() {
		if time.Now().After(deadline) {
			return errors.New("no leader after 1m")
		}
		time.Sleep(5 * time.Millisecond)
	}
	return nil
}

// drive runs -c closed-loop workers calling op: warm-up, the measurement
// window (latency samples, rusage, perf), then the CPU profile and the
// trace of the same load.
func drive(r *result, name string, op func(*rand.Rand, []byte) error, bufSize int) {
	var (
		stop     atomic.Bool
		measure  atomic.Bool
		done     atomic.Int64
		firstErr atomic.Value
		wg       sync.WaitGroup
		samples  = make([][]int64, *flagConc)
	)
	for w := 0; w < *flagConc; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), uint64(time.Now().UnixNano())))
			buf := make([]byte, bufSize)
			local := make([]int64, 0, 1<<16)
			for !stop.Load() {
				t0 := time.Now()
				if err := op(rng, buf); err != nil {
					firstErr.CompareAndSwap(nil, err)
					stop.Store(true)
					break
				}
				if measure.Load() {
					local = append(local, int64(time.Since(t0)))
				}
				done.Add(1)
			}
			samples[w] = local
		}(w)
	}
	time.Sleep(*flagWarm)
	pc := startPerf(os.Getpid())
	ru0 := rusage()
	n0 := done.Load()
	t0 := time.Now()
	measure.Store(true)
	time.Sleep(*flagDur)
	measure.Store(false)
	n1 := done.Load()
	secs := time.Since(t0).Seconds()
	ru1 := rusage()
	r.perf = pc.stop()
	r.ops, r.secs = n1-n0, secs
	if r.ops > 0 {
		r.cpuUS = float64(ru1-ru0) / 1e3 / float64(r.ops)
	}
	if *flagProf > 0 {
		path := filepath.Join(*flagProfDir, name+".cpu.prof")
		if f, err := os.Create(path); err == nil {
			if pprof.StartCPUProfile(f) == nil {
				time.Sleep(*flagProf)
				pprof.StopCPUProfile()
				r.prof = path
			}
			f.Close()
		}
	}
	if *flagTrace > 0 {
		path := filepath.Join(*flagProfDir, name+".trace")
		if f, err := os.Create(path); err == nil {
			if trace.Start(f) == nil {
				d0 := done.Load()
				time.Sleep(*flagTrace)
				trace.Stop()
				r.trc, r.traceOps = path, done.Load()-d0
			}
			f.Close()
		}
	}
	stop.Store(true)
	wg.Wait()
	if e := firstErr.Load(); e != nil {
		r.fail = e.(error)
	}
	var all []int64
	for _, s := range samples {
		all = append(all, s...)
	}
	r.p50, r.p99 = pct(all, 0.50), pct(all, 0.99)
}

func pct(s []int64, q float64) time.Duration {
	if len(s) == 0 {
		return 0
	}
	slices.Sort(s)
	i := int(q * float64(len(s)))
	if i >= len(s) {
		i = len(s) - 1
	}
	return time.Duration(s[i])
}

// rusage is this process's user+sys CPU time in ns.
func rusage() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// ---- perf stat ----

var perfEvents = []struct{ key, event string }{
	{"fsync", "syscalls:sys_enter_fsync"},
	{"fdatasync", "syscalls:sys_enter_fdatasync"},
	{"write", "syscalls:sys_enter_write"},
	{"pwrite64", "syscalls:sys_enter_pwrite64"},
	{"writev", "syscalls:sys_enter_writev"},
	{"read", "syscalls:sys_enter_read"},
	{"futex", "syscalls:sys_enter_futex"},
	{"epoll_pwait", "syscalls:sys_enter_epoll_pwait"},
	{"syscalls", "raw_syscalls:sys_enter"},
	{"cs", "context-switches"},
}

type perfCounter struct {
	cmd *exec.Cmd
	out *bytes.Buffer
}

var perfOK = sync.OnceValue(func() bool {
	if !*flagPerf {
		return false
	}
	if _, err := exec.LookPath("perf"); err != nil {
		return false
	}
	return exec.Command("perf", "stat", "-e", "syscalls:sys_enter_fsync", "--", "true").Run() == nil
})

func startPerf(pid int) *perfCounter {
	if !perfOK() {
		return nil
	}
	var evs []string
	for _, e := range perfEvents {
		evs = append(evs, e.event)
	}
	c := &perfCounter{out: &bytes.Buffer{}}
	c.cmd = exec.Command("perf", "stat", "-x", ",", "-e", strings.Join(evs, ","), "-p", strconv.Itoa(pid))
	c.cmd.Stderr = c.out
	if err := c.cmd.Start(); err != nil {
		return nil
	}
	track(c.cmd)
	time.Sleep(100 * time.Millisecond) // attach before the window
	return c
}

// stop ends perf stat and returns the counts by key.
func (c *perfCounter) stop() map[string]float64 {
	if c == nil {
		return nil
	}
	c.cmd.Process.Signal(os.Interrupt)
	c.cmd.Wait()
	untrack(c.cmd)
	out := map[string]float64{}
	for _, line := range strings.Split(c.out.String(), "\n") {
		f := strings.Split(line, ",")
		if len(f) < 3 {
			continue
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			continue
		}
		for _, e := range perfEvents {
			if f[2] == e.event || strings.HasPrefix(f[2], e.event+":") {
				out[e.key] = v
			}
		}
	}
	return out
}

// ---- server layers ----

func layer2() *result {
	r := &result{layer: "L2", what: "bin/cairn over loopback, redis-benchmark -t set -P 1"}
	dir := dataDir("l2")
	defer cleanup(dir)
	port, raft, pp := freePort(), freeAddr(), freeAddr()
	cmd := exec.Command(*flagCairn, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir, "--raft-addr", raft, "--loglevel", "warn")
	cmd.Env = append(os.Environ(), "CAIRN_PPROF="+pp)
	logf, _ := os.Create(filepath.Join(*flagProfDir, "l2.log"))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		r.fail = err
		return r
	}
	track(cmd)
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		untrack(cmd)
		logf.Close()
	}()
	serverRun(r, "l2", cmd.Process.Pid, port, func() (string, string) {
		var prof, trc string
		var c0 int64
		if *flagProf > 0 {
			p := filepath.Join(*flagProfDir, "l2.cpu.prof")
			if fetch(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", pp, int(flagProf.Seconds())), p) == nil {
				prof = p
			}
		}
		if *flagTrace > 0 {
			p := filepath.Join(*flagProfDir, "l2.trace")
			c0 = infoInt(port, "total_commands_processed")
			if fetch(fmt.Sprintf("http://%s/debug/pprof/trace?seconds=%g", pp, flagTrace.Seconds()), p) == nil {
				trc = p
				r.traceOps = infoInt(port, "total_commands_processed") - c0
			}
		}
		return prof, trc
	})
	return r
}

func layerRedis() *result {
	r := &result{layer: "redis", what: "redis-server --appendonly yes --appendfsync always, same redis-benchmark"}
	dir := dataDir("redis")
	defer cleanup(dir)
	port := freePort()
	cmd := exec.Command("redis-server", "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
		"--appendonly", "yes", "--appendfsync", "always", "--save", "", "--logfile", filepath.Join(*flagProfDir, "redis.log"))
	if err := cmd.Start(); err != nil {
		r.fail = err
		return r
	}
	track(cmd)
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		untrack(cmd)
	}()
	serverRun(r, "redis", cmd.Process.Pid, port, nil)
	return r
}

func freePort() int {
	a := freeAddr()
	_, p, _ := net.SplitHostPort(a)
	n, _ := strconv.Atoi(p)
	return n
}

func fetch(url, path string) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(f, resp.Body)
	return err
}

// serverRun waits for the server, warms it up, measures one
// redis-benchmark run and then (profile != nil) profiles it under the same
// load.
func serverRun(r *result, name string, pid, port int, profile func() (string, string)) {
	if err := waitPing(port); err != nil {
		r.fail = err
		return
	}
	bench := func(n int, csvOut bool) *exec.Cmd {
		args := []string{"-h", "127.0.0.1", "-p", strconv.Itoa(port), "-t", "set", "-c", strconv.Itoa(*flagConc), "-P", "1", "-n", strconv.Itoa(n), "-r", strconv.Itoa(*flagR)}
		if csvOut {
			args = append(args, "--csv")
		} else {
			args = append(args, "-q")
		}
		return exec.Command("redis-benchmark", args...)
	}
	// Warm-up: about -warmup of load at 40k/s.
	if err := bench(max(int(flagWarm.Seconds()*40000), 1000), false).Run(); err != nil {
		r.fail = fmt.Errorf("warm-up: %w", err)
		return
	}
	pc := startPerf(pid)
	cpu0 := procCPU(pid)
	b := bench(*flagN, true)
	var out, errb bytes.Buffer
	b.Stdout, b.Stderr = &out, &errb
	err := b.Run()
	cpu1 := procCPU(pid)
	r.perf = pc.stop()
	if err != nil {
		r.fail = fmt.Errorf("redis-benchmark: %v: %s", err, errb.String())
		return
	}
	os.WriteFile(filepath.Join(*flagProfDir, name+".csv"), out.Bytes(), 0o644)
	rps, p50, p99, err := parseCSV(out.Bytes())
	if err != nil {
		r.fail = err
		return
	}
	r.ops = int64(*flagN)
	r.secs = float64(*flagN) / rps
	r.p50, r.p99 = p50, p99
	r.cpuUS = float64(cpu1-cpu0) / 1e3 / float64(r.ops)
	if ps := b.ProcessState; ps != nil {
		r.clientCPUUS = float64((ps.UserTime() + ps.SystemTime()).Nanoseconds()) / 1e3 / float64(r.ops)
	}
	if profile != nil {
		bg := bench(100000000, false)
		bg.Stdout, bg.Stderr = io.Discard, io.Discard
		if bg.Start() == nil {
			track(bg)
			time.Sleep(500 * time.Millisecond)
			r.prof, r.trc = profile()
			bg.Process.Kill()
			bg.Wait()
			untrack(bg)
		}
	}
}

// infoInt reads one integer field of INFO from a server.
func infoInt(port int, field string) int64 {
	c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), time.Second)
	if err != nil {
		return 0
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	c.Write([]byte("*2\r\n$4\r\nINFO\r\n$5\r\nstats\r\n"))
	br := bufio.NewReader(c)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return 0
		}
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return n
		}
	}
}

func waitPing(port int) error {
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), time.Second)
		if err == nil {
			c.SetDeadline(time.Now().Add(2 * time.Second))
			c.Write([]byte("*1\r\n$4\r\nPING\r\n"))
			line, _ := bufio.NewReader(c).ReadString('\n')
			c.Close()
			if strings.HasPrefix(line, "+PONG") {
				return nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("server on port %d did not answer PING", port)
}

// parseCSV reads redis-benchmark --csv: a header, then
// "SET","rps","avg","min","p50","p95","p99","max".
func parseCSV(b []byte) (rps float64, p50, p99 time.Duration, err error) {
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		return 0, 0, 0, err
	}
	for _, rec := range recs {
		if len(rec) >= 7 && strings.EqualFold(rec[0], "SET") {
			rps, _ = strconv.ParseFloat(rec[1], 64)
			a, _ := strconv.ParseFloat(rec[4], 64)
			c, _ := strconv.ParseFloat(rec[6], 64)
			return rps, time.Duration(a * 1e6), time.Duration(c * 1e6), nil
		}
	}
	return 0, 0, 0, fmt.Errorf("no SET row in redis-benchmark output: %q", b)
}

// procCPU is a process's utime+stime in ns, from /proc/PID/stat.
func procCPU(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	f := strings.Fields(s[i+2:])
	// Fields after the command: state is f[0]; utime and stime are the
	// 14th and 15th fields of the line, f[11] and f[12] here.
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return (ut + st) * int64(time.Second) / clkTck
}

const clkTck = 100 // USER_HZ on Linux

func readLoadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "?"
}

// ---- report ----

func ms(d time.Duration) string { return fmt.Sprintf("%.3f", float64(d)/1e6) }

func perOp(r *result, keys ...string) string {
	if r.perf == nil || r.ops == 0 {
		return "n/a"
	}
	sum, found := 0.0, false
	for _, k := range keys {
		if v, ok := r.perf[k]; ok {
			sum += v
			found = true
		}
	}
	if !found {
		return "n/a"
	}
	return fmt.Sprintf("%.2f", sum/float64(r.ops))
}

func report(rows []*result, started time.Time, load string) string {
	var b strings.Builder
	rev := "unknown"
	if out, err := exec.Command("git", "describe", "--always", "--dirty").Output(); err == nil {
		rev = strings.TrimSpace(string(out))
	}
	redisVer := "?"
	if out, err := exec.Command("redis-server", "--version").Output(); err == nil {
		redisVer = strings.TrimSpace(string(out))
	}
	fmt.Fprintf(&b, "## Floor, layer by layer (`make bench-floor`)\n\n")
	fmt.Fprintf(&b, "%s; cairn `%s`; %s; %d CPUs; load avg at start %s; %s; run took %.0f s.",
		started.UTC().Format("2006-01-02T15:04Z"), rev, runtime.Version(), runtime.NumCPU(), load, redisVer, time.Since(started).Seconds())
	if *flagNote != "" {
		fmt.Fprintf(&b, " **%s**", *flagNote)
	}
	fmt.Fprintf(&b, "\n\n`%s`\n\n", strings.Join(os.Args, " "))
	fmt.Fprintf(&b, "%d concurrent proposers / connections, one write at a time each (-P 1), keys key:%%012d over -r %d, 3-byte values. L0/L1: %s window after %s warm-up, GOGC=%d; L2/redis: redis-benchmark -n %d. CPU = the process under test (in-process: the whole bench process incl. the proposer goroutines; servers: /proc/PID/stat); client = redis-benchmark's own CPU. Per-write syscall and context-switch counts from `perf stat -p` over the window.\n\n",
		*flagConc, *flagR, *flagDur, *flagWarm, *flagGOGC, *flagN)
	b.WriteString("| layer | what | ops/s | p50 ms | p99 ms | CPU µs/write | cores busy | client CPU µs/write | fsyncs/write | writes/fsync | syscalls/write | futex/write | ctx switches/write |\n")
	b.WriteString("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range rows {
		if r.fail != nil {
			fmt.Fprintf(&b, "| %s | %s | failed: %v ||||||||||| \n", r.layer, r.what, r.fail)
			continue
		}
		client := ""
		if r.clientCPUUS > 0 {
			client = fmt.Sprintf("%.1f", r.clientCPUUS)
		}
		batch := "n/a"
		if r.perf != nil {
			if f := r.perf["fsync"] + r.perf["fdatasync"]; f > 0 {
				batch = fmt.Sprintf("%.1f", float64(r.ops)/f)
			}
		}
		fmt.Fprintf(&b, "| %s | %s | %.0f | %s | %s | %.1f | %.2f | %s | %s | %s | %s | %s | %s |\n",
			r.layer, r.what, float64(r.ops)/r.secs, ms(r.p50), ms(r.p99), r.cpuUS, r.cpuUS*float64(r.ops)/r.secs/1e6, client,
			perOp(r, "fsync", "fdatasync"), batch, perOp(r, "syscalls"), perOp(r, "futex"), perOp(r, "cs"))
	}
	b.WriteString("\n")
	for _, r := range rows {
		if r.extra != "" {
			fmt.Fprintf(&b, "%s: %s.\n", r.layer, r.extra)
		}
	}
	if len(rows) > 0 && rows[0].perf != nil {
		b.WriteString("\nSyscalls per write by kind:\n\n| layer | fsync+fdatasync | write | pwrite64 | writev | read | futex | epoll_pwait | all syscalls |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
		for _, r := range rows {
			if r.fail != nil {
				continue
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", r.layer,
				perOp(r, "fsync", "fdatasync"), perOp(r, "write"), perOp(r, "pwrite64"), perOp(r, "writev"),
				perOp(r, "read"), perOp(r, "futex"), perOp(r, "epoll_pwait"), perOp(r, "syscalls"))
		}
	}
	b.WriteString("\n*cores busy* = CPU µs/write x ops/s: how much of the 2 cores the process under test used.\n")
	b.WriteString("\n### Where the CPU goes (CPU profile by category, µs per write)\n\n")
	cats := map[string]map[string]float64{}
	cpu := map[string]float64{}
	var layers []string
	for _, r := range rows {
		if r.prof == "" {
			continue
		}
		c, err := categorize(r.prof)
		if err != nil {
			fmt.Fprintf(&b, "%s: %v\n", r.layer, err)
			continue
		}
		cats[r.layer] = c
		cpu[r.layer] = r.cpuUS
		layers = append(layers, r.layer)
		writeTop(r.prof, strings.TrimSuffix(r.prof, ".prof")+".top.txt")
	}
	if len(layers) > 0 {
		b.WriteString("| category |")
		for _, l := range layers {
			b.WriteString(" " + l + " |")
		}
		b.WriteString("\n|---|")
		for range layers {
			b.WriteString("---:|")
		}
		b.WriteString("\n")
		for _, c := range categories {
			fmt.Fprintf(&b, "| %s |", c.name)
			for _, l := range layers {
				fmt.Fprintf(&b, " %.1f%% · %.1f |", 100*cats[l][c.name], cats[l][c.name]*cpu[l])
			}
			b.WriteString("\n")
		}
		b.WriteString("| **total CPU µs/write** |")
		for _, l := range layers {
			fmt.Fprintf(&b, " %.1f |", cpu[l])
		}
		b.WriteString("\n| profile samples (10 ms each) |")
		for _, l := range layers {
			fmt.Fprintf(&b, " %.0f |", cats[l][totalKey]/1e7)
		}
		b.WriteString("\n\nEach cell: share of the profile's samples · that share of the window's CPU µs/write. ")
		b.WriteString("Categories are assigned per sample from its stack, first match in the order listed (see bench/floor/profile.go). Full `go tool pprof -top` output: `*.top.txt` next to the profiles.\n")
	}
	b.WriteString("\n### Hand-offs and blocking (execution trace)\n\n")
	b.WriteString("From a trace of the same load taken after the window (`go tool trace -pprof=KIND`, per write completed during the trace). *Wake-ups*: goroutines made runnable (sched profile events); *runnable wait*: time woken goroutines waited for a P; *syscall block*: time in blocking syscalls; *mean fsync*: the log's fsync, time per call; *sync block*: time goroutines spent blocked on channels, select and mutexes (mostly idle waiting).\n\n")
	b.WriteString("| layer | writes in trace | wake-ups/write | runnable wait µs/write | syscall block µs/write | sync block events/write | mean fsync ms | top wakers (sched, by delay) | top syscalls (by delay) |\n|---|---:|---:|---:|---:|---:|---:|---|---|\n")
	for _, r := range rows {
		if r.trc == "" || r.traceOps == 0 {
			continue
		}
		sc, sy, sn := traceProfile(r.trc, "sched"), traceProfile(r.trc, "syscall"), traceProfile(r.trc, "sync")
		n := float64(r.traceOps)
		fsyncMs := "n/a"
		if sy.fsyncs > 0 {
			fsyncMs = fmt.Sprintf("%.3f", sy.fsyncDelay/1e6/sy.fsyncs)
		}
		fmt.Fprintf(&b, "| %s | %d | %.2f | %.1f | %.1f | %.2f | %s | %s | %s |\n", r.layer, r.traceOps,
			sc.count/n, sc.delay/1e3/n, sy.delay/1e3/n, sn.count/n, fsyncMs, sc.top, sy.top)
	}
	b.WriteString("\n")
	b.WriteString("Files: " + *flagProfDir + "/{l0,l1,l2}.cpu.prof, .trace, .top.txt; inspect with `go tool pprof -top FILE` and `go tool trace FILE`.\n")
	return b.String()
}
