package shard_test

import (
	"fmt"
	"math/rand/v2"
	"runtime/debug"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/lni/vfs"

	"github.com/cairndb/cairn/server/entry"
	"github.com/cairndb/cairn/server/reply"
	"github.com/cairndb/cairn/server/shard"
)

// groupMember is one replica of a three-replica group, on its own strict
// in-memory disk.
type groupMember struct {
	addr string
	mem  *vfs.MemFS
	host *shard.Host
	sh   *shard.Shard
}

// TestPowerLossGroup cuts the power under a three-replica group: in some
// rounds the leader loses power alone first (the other two go on
// accepting writes), then the whole group loses power at once. After each
// restart every acknowledged write — committed on a quorum of fsynced
// logs — must be on the new leader. A replica that loses power is cut off
// the network first, as a machine without power sends nothing more.
func TestPowerLossGroup(t *testing.T) {
	const rounds = 6
	net := shard.NewFaultNet()
	base := 43000 + rand.IntN(2000)*10
	ms := make([]*groupMember, 3)
	members := map[uint64]string{}
	addrs := make([]string, 3)
	for i := range ms {
		addrs[i] = "127.0.0.1:" + strconv.Itoa(base+i)
		ms[i] = &groupMember{addr: addrs[i], mem: vfs.NewStrictMem()}
		members[uint64(i+1)] = addrs[i]
	}
	startAll := func() {
		var wg sync.WaitGroup
		errs := make([]error, len(ms))
		for i, m := range ms {
			wg.Add(1)
			go func() {
				defer wg.Done()
				h, err := shard.NewHost(shard.HostConfig{Dir: powerDir, RaftAddr: m.addr, RTTMillisecond: 5, FS: m.mem, FaultNet: net})
				if err != nil {
					errs[i] = err
					return
				}
				s, err := h.StartShard(shard.Options{ReplicaID: uint64(i + 1), Members: members, SnapshotEntries: 25, CompactionOverhead: 5}, table)
				if err != nil {
					h.Close()
					errs[i] = err
					return
				}
				m.host, m.sh = h, s
			}()
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	leader := func() *shard.Shard {
		for _, m := range ms {
			if m.host != nil && m.sh.IsLeader() {
				return m.sh
			}
		}
		return nil
	}
	// powerOff isolates a replica, stops its fsyncs and stops it.
	powerOff := func(m *groupMember) {
		net.Isolate(m.addr, addrs)
		m.mem.SetIgnoreSyncs(true)
		m.host.Close()
		m.host, m.sh = nil, nil
	}
	defer func() {
		for _, m := range ms {
			if m.host != nil {
				m.host.Close()
			}
		}
	}()

	var mu sync.Mutex
	off := false
	sets := map[string]string{}
	ctrMin, ctrMax := map[int]int64{}, map[int]int64{}
	hostsMu := sync.RWMutex{} // writers look up the leader under RLock
	startAll()
	start := time.Now()
	leaderCuts := 0
	for round := 0; round <= rounds; round++ {
		// Barrier: once a write of the new leader's is applied, every
		// committed entry is applied there.
		var sh *shard.Shard
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			if sh = leader(); sh != nil {
				if _, err := sh.Propose(entry.Commands, [][][]byte{args("set", "barrier", strconv.Itoa(round))}).Wait(); err == nil {
					break
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("round %d: no leader accepts writes", round)
			}
		}
		read := func(cmd ...string) reply.Value {
			spec, _ := table.Resolve(args(cmd...))
			return sh.Read(spec, args(cmd...))
		}
		mu.Lock()
		for k, v := range sets {
			if got := read("get", k); !reply.Equal(got, reply.BulkString(v)) {
				t.Fatalf("after round %d: acknowledged SET %s %s lost: %v", round, k, v, got)
			}
		}
		for w, lo := range ctrMin {
			got := read("get", "ctr:"+strconv.Itoa(w))
			if n, _ := strconv.ParseInt(string(got.Str), 10, 64); n < lo || n > ctrMax[w] {
				t.Fatalf("after round %d: counter %d = %v, acknowledged %d, proposed %d", round, w, got, lo, ctrMax[w])
			}
		}
		off = false
		mu.Unlock()
		if round == rounds {
			break
		}

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
					hostsMu.RLock()
					sh := leader()
					hostsMu.RUnlock()
					if sh == nil {
						time.Sleep(5 * time.Millisecond)
						continue
					}
					key := fmt.Sprintf("g:%d:%d:%d", round, w, i)
					mu.Lock()
					ctrMax[w]++
					mu.Unlock()
					rs, err := sh.Propose(entry.Commands, [][][]byte{args("set", key, key), args("incr", "ctr:"+strconv.Itoa(w))}).Wait()
					if err != nil {
						continue
					}
					mu.Lock()
					if !off {
						sets[key] = key
						ctrMin[w] = max(ctrMin[w], rs[1].Int)
					}
					mu.Unlock()
				}
			}()
		}
		time.Sleep(time.Duration(30+rand.IntN(150)) * time.Millisecond)
		if round%2 == 1 {
			// The leader loses power alone; the other two elect a leader
			// and go on.
			hostsMu.Lock()
			for _, m := range ms {
				if m.host != nil && m.sh.IsLeader() {
					powerOff(m)
					leaderCuts++
					break
				}
			}
			hostsMu.Unlock()
			time.Sleep(time.Duration(300+rand.IntN(300)) * time.Millisecond)
		}
		// The whole group loses power.
		mu.Lock()
		off = true
		mu.Unlock()
		hostsMu.Lock()
		for _, m := range ms {
			if m.host != nil {
				powerOff(m)
			}
		}
		hostsMu.Unlock()
		close(stop)
		wg.Wait()
		for _, m := range ms {
			m.mem.ResetToSyncedState()
			m.mem.SetIgnoreSyncs(false)
		}
		net.Heal()
		debug.FreeOSMemory()
		startAll()
	}
	mu.Lock()
	defer mu.Unlock()
	if len(sets) < rounds {
		t.Fatalf("only %d acknowledged writes", len(sets))
	}
	t.Logf("%d group-wide power cuts (%d after the leader alone lost power), %d acknowledged writes, all found, in %v",
		rounds, leaderCuts, len(sets), time.Since(start).Round(time.Millisecond))
}
