package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// categories sort CPU samples by what they were doing. A sample goes to
// the first category one of whose patterns occurs in its stack (any
// frame); the order matters: fsync before syscall, GC before alloc.
var categories = []struct {
	name     string
	patterns []string
}{
	{"fsync (log sync)", []string{"Fdatasync", "Fsync", ").Sync"}},
	{"log write syscalls", []string{"syscall.Pwrite", "syscall.Write(", "os.(*File).Write"}},
	{"network syscalls (read/write on sockets)", []string{"net.(*conn).Read", "session.(*rawSource).Read", "net.(*conn).Write", "net.(*netFD)", "internal/poll.(*FD).Read", "internal/poll.(*FD).Write", "internal/poll.(*FD).Accept"}},
	{"GC (background mark, assists, sweep)", []string{"runtime.gcBgMarkWorker", "runtime.gcAssistAlloc", "runtime.bgsweep", "runtime.gcStart", "runtime.markroot", "runtime.sweepone"}},
	{"allocation (mallocgc)", []string{"runtime.mallocgc", "runtime.newobject", "runtime.makeslice", "runtime.growslice"}},
	{"scheduler: wake/park/steal/netpoll (incl. futex)", []string{"runtime.schedule", "runtime.findRunnable", "runtime.park_m", "runtime.ready", "runtime.goready", "runtime.wakep", "runtime.futex", "runtime.netpoll", "runtime.stopm", "runtime.startm", "runtime.notesleep", "runtime.notewakeup", "runtime.mcall", "runtime.gopark", "runtime.selectgo", "runtime.chansend", "runtime.chanrecv", "runtime.lock2", "runtime.unlock2", "runtime.usleep", "runtime.osyield", "runtime.runqgrab", "runtime.nanotime", "runtime.sysmon"}},
	{"other syscalls", []string{"syscall.Syscall", "syscall.RawSyscall", "internal/runtime/syscall", "runtime/internal/syscall"}},
	{"Cairn apply (keyspace/command)", []string{"cairn/server/keyspace", "cairn/server/command"}},
	{"Cairn shard/entry/reply", []string{"cairn/server/shard", "cairn/server/entry", "cairn/server/reply"}},
	{"Cairn RESP server", []string{"cairn/server/resp", "cairn/server.", "tidwall/redcon"}},
	{"Dragonboat (raft, engine, tan, transport)", []string{"lni/dragonboat", "lni/goutils"}},
	{"benchmark driver", []string{"main.drive", "main.layer"}},
	{"other runtime", []string{"runtime."}},
	{"other", []string{""}},
}

// totalKey holds, in categorize's result, the profile's total CPU in ns.
const totalKey = "_total"

// categorize returns each category's share of the profile's samples,
// from `go tool pprof -traces`.
func categorize(prof string) (map[string]float64, error) {
	out, err := exec.Command("go", "tool", "pprof", "-traces", prof).Output()
	if err != nil {
		return nil, fmt.Errorf("pprof -traces %s: %w", prof, err)
	}
	shares := map[string]float64{}
	var total float64
	var value float64
	var stack []string
	flush := func() {
		if value == 0 {
			stack = stack[:0]
			return
		}
		all := strings.Join(stack, "\n")
		for _, c := range categories {
			hit := false
			for _, p := range c.patterns {
				if strings.Contains(all, p) {
					hit = true
					break
				}
			}
			if hit {
				shares[c.name] += value
				break
			}
		}
		total += value
		value = 0
		stack = stack[:0]
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "-----------+") {
			flush()
			continue
		}
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		// A sample starts with its value ("10ms  func"), the other frames
		// are indented function names.
		if v, ok := parseDur(f[0]); ok && len(f) >= 2 {
			flush()
			value = v
			stack = append(stack, f[1])
			continue
		}
		if value != 0 {
			stack = append(stack, f[0])
		}
	}
	flush()
	if total == 0 {
		return nil, fmt.Errorf("%s: no samples", prof)
	}
	for k := range shares {
		shares[k] /= total
	}
	shares[totalKey] = total
	return shares, nil
}

func parseDur(s string) (float64, bool) {
	for _, u := range []struct {
		suf string
		mul float64
	}{{"ms", 1e6}, {"us", 1e3}, {"µs", 1e3}, {"ns", 1}, {"s", 1e9}} {
		if strings.HasSuffix(s, u.suf) {
			v, err := strconv.ParseFloat(strings.TrimSuffix(s, u.suf), 64)
			if err != nil {
				return 0, false
			}
			return v * u.mul, true
		}
	}
	return 0, false
}

// writeTop saves `go tool pprof -top` of a profile next to it.
func writeTop(prof, path string) {
	out, err := exec.Command("go", "tool", "pprof", "-top", "-nodecount=40", prof).Output()
	if err == nil {
		os.WriteFile(path, out, 0o644)
	}
}

// traceProf is a blocking profile derived from an execution trace.
type traceProf struct {
	count, delay       float64 // events, nanoseconds
	fsyncs, fsyncDelay float64 // the samples under syscall.Fsync/Fdatasync
	top                string  // heaviest functions by delay (flat)
}

// rawSum adds up the samples' (count, delay) values of a two-valued
// profile from `go tool pprof -raw`, only those under focus if set.
func rawSum(pf, focus string) (count, delay float64) {
	args := []string{"tool", "pprof", "-raw"}
	if focus != "" {
		args = append(args, "-focus="+focus)
	}
	out, err := exec.Command("go", append(args, pf)...).Output()
	if err != nil {
		return 0, 0
	}
	inSamples := false
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "Samples:") {
			inSamples = true
			continue
		}
		if strings.HasPrefix(line, "Locations") {
			break
		}
		if !inSamples {
			continue
		}
		head, _, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		fs := strings.Fields(head)
		if len(fs) != 2 {
			continue
		}
		c, err1 := strconv.ParseFloat(fs[0], 64)
		d, err2 := strconv.ParseFloat(fs[1], 64)
		if err1 == nil && err2 == nil {
			count += c
			delay += d
		}
	}
	return count, delay
}

// traceProfile converts an execution trace into a blocking profile of the
// given kind (sched: time woken goroutines waited for a P, keyed by where
// they were woken; syscall: time in blocking syscalls; sync: time blocked
// on channels, select and mutexes), saves it and its -top text next to
// the trace, and returns its totals and heaviest functions.
func traceProfile(trc, kind string) traceProf {
	var tp traceProf
	pf := strings.TrimSuffix(trc, ".trace") + "." + kind + ".pprof"
	f, err := os.Create(pf)
	if err != nil {
		tp.top = err.Error()
		return tp
	}
	cmd := exec.Command("go", "tool", "trace", "-pprof="+kind, trc)
	cmd.Stdout = f
	err = cmd.Run()
	f.Close()
	if err != nil {
		tp.top = fmt.Sprintf("go tool trace: %v", err)
		return tp
	}
	// -raw lists each sample's values: "count delay: stack ids".
	tp.count, tp.delay = rawSum(pf, "")
	if kind == "syscall" {
		tp.fsyncs, tp.fsyncDelay = rawSum(pf, `syscall\.(Fsync|Fdatasync)`)
	}
	out, err := exec.Command("go", "tool", "pprof", "-top", "-nodecount=4", pf).Output()
	if err != nil {
		return tp
	}
	os.WriteFile(strings.TrimSuffix(pf, ".pprof")+".top.txt", out, 0o644)
	var tops []string
	inTable := false
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, "flat%") {
			inTable = true
			continue
		}
		if f := strings.Fields(line); inTable && len(f) >= 6 && f[1] != "0%" {
			tops = append(tops, fmt.Sprintf("%s %s", f[len(f)-1], f[1]))
		}
	}
	tp.top = strings.Join(tops, ", ")
	return tp
}
