package shard_test

import (
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cairndb/cairn/server/entry"
	"github.com/cairndb/cairn/server/shard"
)

// TestHandOffUnderWrites hands a three-replica group's leadership around
// while eight writers INCR one counter through whichever replica leads.
// A planned hand-off holds the old leader's new proposals until the new
// leader is in place (and Dragonboat forwards them to it) instead of
// letting the transferring leader drop them: no write fails, each hand-off
// completes, and the counter equals the acknowledged INCRs.
func TestHandOffUnderWrites(t *testing.T) {
	if testing.Short() {
		t.Skip("three-replica group skipped in -short mode")
	}
	g := startGroup(t, shard.Options{ShardID: 11})
	g.lead(1)
	leader := func() *shard.Shard {
		for {
			for _, s := range g.shards {
				if s.IsLeader() {
					return s
				}
			}
			time.Sleep(time.Millisecond)
		}
	}
	var ok, failed atomic.Int64
	var lastErr atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				rs, err := leader().Propose(entry.Commands, [][][]byte{args("incr", "c")}).Wait()
				if err != nil || len(rs) != 1 || rs[0].IsError() {
					failed.Add(1)
					// A string: atomic.Value takes neither nil nor
					// values of changing types.
					lastErr.Store(fmt.Sprintf("err %v, replies %+v", err, rs))
					continue
				}
				ok.Add(1)
			}
		}()
	}
	time.Sleep(200 * time.Millisecond)
	for i := range 4 {
		cur := leader()
		var targets []uint64
		for _, s := range g.shards {
			if s != cur {
				targets = append(targets, s.ReplicaID())
			}
		}
		before := ok.Load()
		t0 := time.Now()
		to, err := cur.HandOff(targets, 3*time.Second)
		if err != nil || to == cur.ReplicaID() {
			t.Fatalf("hand-off %d from replica %d: to %d, %v", i, cur.ReplicaID(), to, err)
		}
		t.Logf("hand-off %d: replica %d -> %d in %v (%d writes meanwhile)", i, cur.ReplicaID(), to, time.Since(t0).Round(time.Millisecond), ok.Load()-before)
		time.Sleep(200 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if n := failed.Load(); n > 0 {
		t.Errorf("%d writes failed across planned hand-offs (last: %v)", n, lastErr.Load())
	}
	a := args("get", "c")
	spec, err := table.Resolve(a)
	if err != nil {
		t.Fatal(err)
	}
	v, err := leader().LinearRead(time.Now(), spec, a)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(v.Str); got != strconv.FormatInt(ok.Load(), 10) {
		t.Errorf("counter %s after %d acknowledged INCRs", got, ok.Load())
	}
}
