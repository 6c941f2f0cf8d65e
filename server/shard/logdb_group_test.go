package shard_test

import (
	"fmt"
	"runtime/debug"
	"testing"
	"time"

	"github.com/cairndb/cairn/server/entry"
	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/server/shard"
)

// TestLaggingFollowerCatchUpBoundedReads: a follower cut off while the
// leader commits several times MaxEntriesPerRead entries is caught up,
// once the network heals, from entries the leader can only read back from
// its LogDB (they were applied, so no longer in memory) — in reads cut at
// the bound, each building a short Replicate on the leader's step worker
// (the unbounded read of the whole lag, repeated for every heartbeat
// response, is what stalled a leader for 20 s). The follower ends with the
// leader's applied index and state; a restart of the leader then replays
// its whole log (no snapshot) through the same bounded reads.
func TestLaggingFollowerCatchUpBoundedReads(t *testing.T) {
	net := shard.NewFaultNet()
	members := map[uint64]string{}
	for i := uint64(1); i <= 3; i++ {
		members[i] = freeAddr(t)
	}
	hosts := make([]*shard.Host, 3)
	dirs := make([]string, 3)
	for i := range hosts {
		dirs[i] = t.TempDir()
		h, err := shard.NewHost(shard.HostConfig{Dir: dirs[i], RaftAddr: members[uint64(i+1)], RTTMillisecond: 5, FaultNet: net})
		if err != nil {
			t.Fatal(err)
		}
		hosts[i] = h
	}
	t.Cleanup(func() {
		for _, h := range hosts {
			if h != nil {
				h.Close()
			}
		}
		debug.FreeOSMemory()
	})
	opts := shard.Options{ShardID: 9, Members: members}
	shards := make([]*shard.Shard, 3)
	errs := make(chan error, 3)
	for i := range shards {
		go func(i int) {
			o := opts
			o.ReplicaID = uint64(i + 1)
			var err error
			shards[i], err = hosts[i].StartShard(o, table)
			errs <- err
		}(i)
	}
	for range shards {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	var leader, lagger *shard.Shard
	deadline := time.Now().Add(20 * time.Second)
	for leader == nil {
		if time.Now().After(deadline) {
			t.Fatal("no leader")
		}
		for _, s := range shards {
			if s.IsLeader() {
				leader = s
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, s := range shards {
		if s != leader {
			lagger = s
			break
		}
	}
	lagAddr := members[lagger.ReplicaID()]
	net.Isolate(lagAddr, []string{members[1], members[2], members[3]})

	// Pipelined writes, many entries.
	const n = 6 * shard.MaxEntriesPerRead
	var pending []*shard.Pending
	for i := range n {
		pending = append(pending, leader.Propose(entry.Commands, [][][]byte{args("set", fmt.Sprint("k", i), fmt.Sprint(i))}))
	}
	for i, p := range pending {
		if rs, err := p.Wait(); err != nil || len(rs) != 1 || rs[0].IsError() {
			t.Fatalf("write %d: %v %v", i, rs, err)
		}
	}
	if st := lagger.Status(); leader.Status().AppliedIndex-st.AppliedIndex < n {
		t.Fatalf("the isolated follower is only %d entries behind", leader.Status().AppliedIndex-st.AppliedIndex)
	}
	cut := shard.BoundedReadsCut()
	net.Heal()

	want := leader.Status().AppliedIndex
	deadline = time.Now().Add(20 * time.Second)
	for lagger.Status().AppliedIndex < want {
		if time.Now().After(deadline) {
			t.Fatalf("follower applied %d of %d after the heal", lagger.Status().AppliedIndex, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if shard.BoundedReadsCut() == cut {
		t.Fatal("the catch-up made no read cut at MaxEntriesPerRead: the test did not exercise the bound")
	}
	digest := func(s *shard.Shard) (d uint64, keys int) {
		s.View(func(db *keyspace.DB) { d, keys = db.Digest(), db.Len() })
		return
	}
	ld, lk := digest(leader)
	if fd, fk := digest(lagger); fd != ld || fk != lk || lk != n {
		t.Fatalf("follower has %d keys (digest match %v), leader %d, want %d", fk, fd == ld, lk, n)
	}

	// Restart the leader's host: its state comes back from replaying the
	// log, read in bounded batches.
	li := int(leader.ReplicaID() - 1)
	hosts[li].Close()
	hosts[li] = nil
	h, err := shard.NewHost(shard.HostConfig{Dir: dirs[li], RaftAddr: members[leader.ReplicaID()], RTTMillisecond: 5, FaultNet: net})
	if err != nil {
		t.Fatal(err)
	}
	hosts[li] = h
	o := opts
	o.ReplicaID = leader.ReplicaID()
	cut = shard.BoundedReadsCut()
	restarted, err := h.StartShard(o, table)
	if err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(20 * time.Second)
	for restarted.Status().AppliedIndex < want {
		if time.Now().After(deadline) {
			t.Fatalf("restarted replica applied %d of %d", restarted.Status().AppliedIndex, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if shard.BoundedReadsCut() == cut {
		t.Fatal("the replay made no read cut at MaxEntriesPerRead")
	}
	if rd, rk := digest(restarted); rd != ld || rk != lk {
		t.Fatalf("restarted replica has %d keys (digest match %v), want %d", rk, rd == ld, lk)
	}
}
