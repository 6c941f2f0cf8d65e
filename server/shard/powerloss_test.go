package shard_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lni/vfs"

	"github.com/cairndb/cairn/server/entry"
	"github.com/cairndb/cairn/server/reply"
	"github.com/cairndb/cairn/server/shard"
)

// powerModel is what the writers were told: every acknowledged write must
// be found after any power cut. Acks are recorded only while the power is
// on (cut() takes the same lock before fsyncs stop counting), so an ack
// recorded here was given after its entry's fsync really happened.
type powerModel struct {
	mu  sync.Mutex
	off bool
	// sets: key -> value of acknowledged SETs (each key written once).
	sets map[string]string
	// ctrMin: writer -> largest acknowledged INCR reply; ctrMax: how many
	// INCRs were ever proposed (a counter above it was applied twice).
	ctrMin, ctrMax map[int]int64
	// pushes: writer -> list index -> element of acknowledged RPUSHes.
	pushes map[int]map[int64]string
	acked  int
}

func newPowerModel() *powerModel {
	return &powerModel{sets: map[string]string{}, ctrMin: map[int]int64{}, ctrMax: map[int]int64{}, pushes: map[int]map[int64]string{}}
}

// ack records an acknowledged write unless the power is already off.
func (m *powerModel) ack(f func()) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.off {
		return false
	}
	f()
	m.acked++
	return true
}

// powerRig runs a single-replica host on a strict in-memory file system
// that keeps only what was fsynced when the power is cut.
type powerRig struct {
	t    *testing.T
	mem  *vfs.MemFS
	fs   *shard.FaultFS
	addr string
	opts shard.Options
	host *shard.Host
	sh   *shard.Shard
	m    *powerModel
	// cutNow is closed by cut.
	cutNow  chan struct{}
	cutOnce *sync.Once
}

const powerDir = "/cairn/raft"

func (r *powerRig) start() {
	r.t.Helper()
	r.cutNow, r.cutOnce = make(chan struct{}), new(sync.Once)
	r.m.mu.Lock()
	r.m.off = false
	r.m.mu.Unlock()
	h, err := shard.NewHost(shard.HostConfig{Dir: powerDir, RaftAddr: r.addr, RTTMillisecond: 5, FS: r.fs})
	if err != nil {
		r.t.Fatal(err)
	}
	s, err := h.StartShard(r.opts, table)
	if err != nil {
		h.Close()
		r.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := s.WaitLeader(ctx); err != nil {
		h.Close()
		r.t.Fatal(err)
	}
	r.host, r.sh = h, s
}

// cut cuts the power: from now on no fsync counts and no ack is recorded.
// It may run inside a file-system call of Dragonboat (FaultFS.Before).
func (r *powerRig) cut() {
	r.cutOnce.Do(func() {
		r.m.mu.Lock()
		r.m.off = true
		r.m.mu.Unlock()
		r.mem.SetIgnoreSyncs(true)
		close(r.cutNow)
	})
}

// powerDown stops the dead host: nothing it writes now is synced.
func (r *powerRig) powerDown() {
	r.cut()
	r.host.Close()
}

// boot drops every unsynced change and starts a new host on what is left.
func (r *powerRig) boot() {
	r.mem.ResetToSyncedState()
	r.mem.SetIgnoreSyncs(false)
	debug.FreeOSMemory()
	r.start()
}

func (r *powerRig) read(cmd ...string) reply.Value {
	r.t.Helper()
	spec, err := table.Resolve(args(cmd...))
	if err != nil {
		r.t.Fatalf("%q: %v", cmd, err)
	}
	return r.sh.Read(spec, args(cmd...))
}

// verify checks every acknowledged write against the restarted host.
func (r *powerRig) verify(when string) {
	r.t.Helper()
	m := r.m
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, v := range m.sets {
		if got := r.read("get", k); !reply.Equal(got, reply.BulkString(v)) {
			r.t.Fatalf("%s: acknowledged SET %s %s lost: GET = %v", when, k, v, got)
		}
	}
	for w, lo := range m.ctrMin {
		got := r.read("get", "ctr:"+strconv.Itoa(w))
		n, _ := strconv.ParseInt(string(got.Str), 10, 64)
		if n < lo || n > m.ctrMax[w] {
			r.t.Fatalf("%s: counter %d = %v; acknowledged up to %d, proposed %d", when, w, got, lo, m.ctrMax[w])
		}
	}
	for w, idx := range m.pushes {
		key := "list:" + strconv.Itoa(w)
		for i, want := range idx {
			if got := r.read("lindex", key, strconv.FormatInt(i, 10)); !reply.Equal(got, reply.BulkString(want)) {
				r.t.Fatalf("%s: acknowledged RPUSH %s %s (index %d) lost: LINDEX = %v", when, key, want, i, got)
			}
		}
	}
}

// writer proposes SET / INCR / RPUSH / MULTI through the real proposal
// path until its first failure (the power cut), recording acks.
func (r *powerRig) writer(sh *shard.Shard, cutNow <-chan struct{}, w, round int) {
	m := r.m
	id := strconv.Itoa(w)
	for i := 0; ; i++ {
		select {
		case <-cutNow:
			return
		default:
		}
		key := fmt.Sprintf("k:%d:%d:%d", w, round, i)
		val := strconv.Itoa(rand.IntN(1 << 30))
		elem := fmt.Sprintf("%d:%d", round, i)
		kind, cmds := entry.Commands, [][][]byte{}
		switch i % 5 {
		case 0, 1:
			cmds = append(cmds, args("set", key, val))
		case 2:
			cmds = append(cmds, args("incr", "ctr:"+id))
		case 3:
			cmds = append(cmds, args("rpush", "list:"+id, elem))
		case 4: // one entry holding a transaction of all three
			kind = entry.Multi
			cmds = append(cmds, args("set", key, val), args("incr", "ctr:"+id), args("rpush", "list:"+id, elem))
		}
		incr := i%5 == 2 || i%5 == 4
		if incr {
			m.mu.Lock()
			m.ctrMax[w]++
			m.mu.Unlock()
		}
		rs, err := sh.Propose(kind, cmds).Wait()
		if err != nil {
			return // power is off (or the host is closing): not acknowledged
		}
		if kind == entry.Multi {
			if len(rs) != 1 || len(rs[0].Elems) != 3 {
				r.t.Errorf("EXEC replies %v", rs)
				return
			}
			rs = rs[0].Elems
		}
		m.ack(func() {
			switch i % 5 {
			case 0, 1:
				m.sets[key] = val
			case 2:
				m.ctrMin[w] = max(m.ctrMin[w], rs[0].Int)
			case 3:
				m.push(w, rs[0].Int-1, elem)
			case 4:
				m.sets[key] = val
				m.ctrMin[w] = max(m.ctrMin[w], rs[1].Int)
				m.push(w, rs[2].Int-1, elem)
			}
		})
	}
}

func (m *powerModel) push(w int, idx int64, elem string) {
	if m.pushes[w] == nil {
		m.pushes[w] = map[int64]string{}
	}
	m.pushes[w][idx] = elem
}

// TestPowerLoss cuts the power many times while writers run: the strict
// in-memory file system then forgets everything that was not fsynced
// (file contents, created, renamed and removed files alike), a new host
// starts on what is left, and every acknowledged write must be there.
// Even rounds cut after a random delay; odd rounds cut at a random step of
// a snapshot or of the log compaction that follows it (any file-system
// operation on a snapshot path, or any rename/remove). Every third round
// the power fails once more at a random file operation of the restart.
func TestPowerLoss(t *testing.T) {
	const cuts = 30
	const writers = 6
	r := &powerRig{
		t:    t,
		mem:  vfs.NewStrictMem(),
		addr: freeAddr(t),
		m:    newPowerModel(),
		// Small snapshot and compaction intervals: snapshots and log
		// compaction happen all the time.
		opts: shard.Options{SnapshotEntries: 25, CompactionOverhead: 5},
	}
	r.fs = shard.NewFaultFS(r.mem)
	// snapSteps > 0 arms a cut at that many snapshot/compaction steps.
	var snapSteps atomic.Int64
	var snapCuts, timedCuts, bootCuts atomic.Int64
	// bootSteps > 0 arms a cut at that many file operations of a restart.
	var bootSteps atomic.Int64
	r.fs.Before = func(op, path string) {
		if bootSteps.Load() > 0 {
			if bootSteps.Add(-1) == 0 {
				bootCuts.Add(1)
				r.cut()
			}
			return
		}
		if snapSteps.Load() <= 0 {
			return
		}
		if !strings.Contains(path, "snapshot") && op != "rename" && op != "remove" {
			return
		}
		if snapSteps.Add(-1) == 0 {
			snapCuts.Add(1)
			r.cut()
		}
	}
	r.start()
	defer func() { r.host.Close() }()

	start := time.Now()
	for round := 0; round < cuts; round++ {
		var wg sync.WaitGroup
		sh, cutNow := r.sh, r.cutNow
		for w := range writers {
			wg.Add(1)
			go func() { defer wg.Done(); r.writer(sh, cutNow, w, round) }()
		}
		if round%2 == 1 {
			// Ask for snapshots until one is cut short.
			snapSteps.Store(1 + rand.Int64N(40))
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-cutNow:
						return
					case <-time.After(time.Duration(rand.IntN(20)) * time.Millisecond):
					}
					ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
					sh.Snapshot(ctx)
					cancel()
				}
			}()
			select {
			case <-cutNow:
			case <-time.After(2 * time.Second):
				timedCuts.Add(1)
			}
			snapSteps.Store(0)
		} else {
			time.Sleep(time.Duration(5+rand.IntN(150)) * time.Millisecond)
			timedCuts.Add(1)
		}
		// Writers blocked in Wait see the host close.
		r.powerDown()
		wg.Wait()
		if round%3 == 2 {
			// The power fails again while the host restarts (replaying
			// the log, loading a snapshot, rewriting tan's manifest).
			bootSteps.Store(1 + rand.Int64N(60))
			r.boot()
			bootSteps.Store(0)
			r.powerDown()
		}
		r.boot()
		r.verify(fmt.Sprintf("after cut %d", round+1))
	}
	r.m.mu.Lock()
	acked := r.m.acked
	r.m.mu.Unlock()
	t.Logf("%d power cuts under writers (%d inside snapshots/compaction, %d timed) plus %d during restarts, %d acknowledged writes, all found, in %v",
		cuts, snapCuts.Load(), timedCuts.Load(), bootCuts.Load(), acked, time.Since(start).Round(time.Millisecond))
	if acked < cuts {
		t.Fatalf("only %d writes were acknowledged over %d rounds", acked, cuts)
	}
	if snapCuts.Load() == 0 || bootCuts.Load() == 0 {
		t.Fatalf("%d power cuts inside snapshots, %d during restarts", snapCuts.Load(), bootCuts.Load())
	}
}
