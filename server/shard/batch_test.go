package shard_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/cairndb/cairn/server"
	"github.com/cairndb/cairn/server/entry"
	"github.com/cairndb/cairn/server/reply"
	"github.com/cairndb/cairn/server/shard"
)

// batchWriters runs writers goroutines, each proposing rounds writes on
// its own keys through Shard.Propose (single commands and small
// pipelines, some answered with errors, some panicking when withPanic),
// and checks that every writer gets exactly its own replies. It returns
// the number of commands proposed and of panicking commands.
func batchWriters(t *testing.T, s *shard.Shard, writers, rounds int, withPanic bool) (cmds, panics int) {
	t.Helper()
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for g := range writers {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			fail := func(format string, a ...any) {
				errs <- fmt.Errorf("writer %d: "+format, append([]any{g}, a...)...)
			}
			key := fmt.Sprintf("w%d:str", g)
			ctr := fmt.Sprintf("w%d:ctr", g)
			n, p := 0, 0
			for i := range rounds {
				var batch [][][]byte
				var want []reply.Value
				val := strconv.Itoa(g*100000 + i)
				switch i % 5 {
				case 0:
					batch = [][][]byte{args("set", key, val)}
					want = []reply.Value{reply.OK}
				case 1:
					batch = [][][]byte{args("incr", ctr)}
					want = []reply.Value{reply.Int(int64(i/5 + 1))}
				case 2: // WRONGTYPE: key holds a string
					batch = [][][]byte{args("lpush", key, "x")}
					want = []reply.Value{reply.Error("WRONGTYPE Operation against a key holding the wrong kind of value")}
				case 3: // a pipeline: several commands, one Propose
					batch = [][][]byte{args("append", key, "!"), args("set", key, val), args("getset", key, val+"b")}
					want = []reply.Value{reply.Int(int64(len(strconv.Itoa(g*100000+i-3)) + 1)), reply.OK, reply.BulkString(val)}
				case 4:
					if withPanic && i%10 == 4 {
						batch = [][][]byte{args("testpanic", fmt.Sprintf("w%d:p", g), val)}
						want = []reply.Value{reply.Error("ERR internal error executing 'testpanic', see the server log")}
						p++
					} else {
						batch = [][][]byte{args("del", fmt.Sprintf("w%d:none", g))}
						want = []reply.Value{reply.Int(0)}
					}
				}
				n += len(batch)
				got, err := s.Propose(entry.Commands, batch).Wait()
				if err != nil {
					fail("round %d: %v", i, err)
					return
				}
				if len(got) != len(want) {
					fail("round %d: %d replies, want %d: %v", i, len(got), len(want), got)
					return
				}
				for j := range want {
					if !reply.Equal(got[j], want[j]) {
						fail("round %d reply %d: %v, want %v", i, j, got[j], want[j])
						return
					}
				}
			}
			mu.Lock()
			cmds += n
			panics += p
			mu.Unlock()
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		t.FailNow()
	}
	return cmds, panics
}

func startTable(t *testing.T, dir, addr string) (*shard.Host, *shard.Shard) {
	t.Helper()
	h, err := shard.NewHost(shard.HostConfig{Dir: dir, RaftAddr: addr, RTTMillisecond: 5})
	if err != nil {
		t.Fatal(err)
	}
	s, err := h.StartShard(shard.Options{Logger: slog.New(slog.NewTextHandler(&logBuf{}, nil))}, server.Commands(panicSpecs))
	if err != nil {
		h.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := s.WaitLeader(ctx); err != nil {
		h.Close()
		t.Fatal(err)
	}
	return h, s
}

// TestBatchedProposeOwnReplies: many concurrent writers share coalesced
// entries, and each gets exactly the replies of its own commands —
// including error replies (WRONGTYPE) and the internal error of a command
// that panicked at apply time, which affects no other command of the
// entry. After a snapshot and a restart the state is the same.
func TestBatchedProposeOwnReplies(t *testing.T) {
	dir, addr := t.TempDir(), freeAddr(t)
	h, s := startTable(t, dir, addr)
	e0, c0 := s.BatchStats()
	cmds, panics := batchWriters(t, s, 40, 150, true)
	e1, c1 := s.BatchStats()
	entries, batched := e1-e0, c1-c0
	t.Logf("%d commands in %d coalesced entries (%.1f per entry)", batched, entries, float64(batched)/float64(max(entries, 1)))
	if batched != int64(cmds) {
		t.Fatalf("batched %d commands, proposed %d", batched, cmds)
	}
	if entries >= batched {
		t.Fatalf("no write was coalesced: %d entries for %d commands", entries, batched)
	}
	if panics == 0 {
		t.Fatal("no command panicked")
	}
	_, before := s.StateDigest()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := s.Snapshot(ctx); err != nil {
		t.Fatal(err)
	}
	h.Close()
	h, s = startTable(t, dir, addr)
	defer h.Close()
	if _, after := s.StateDigest(); after != before {
		t.Fatalf("state digest %x after restart, %x before", after, before)
	}
}

// TestBatchedReplicasAgree: coalesced entries written by concurrent
// writers on the leader apply to the same state on every replica.
func TestBatchedReplicasAgree(t *testing.T) {
	g := startGroup(t, shard.Options{})
	l := g.lead(1)
	batchWriters(t, l, 30, 100, false)
	// A last write every replica must reach.
	g.write(l, "set", "last", "1")
	_, want := l.StateDigest()
	idx, _ := l.StateDigest()
	deadline := time.Now().Add(20 * time.Second)
	for _, s := range g.shards {
		for {
			a, d := s.StateDigest()
			if a >= idx {
				if a == idx && d != want {
					t.Fatalf("replica %d: digest %x at %d, leader %x", s.ReplicaID(), d, a, want)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("replica %d applied %d of %d", s.ReplicaID(), a, idx)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// TestBatchedFailureReachesEveryWriter: writers held in a batch when the
// host closes each get an error (or their reply, if their entry was
// applied first) and none hangs.
func TestBatchedFailureReachesEveryWriter(t *testing.T) {
	h, s := startTable(t, t.TempDir(), freeAddr(t))
	var wg sync.WaitGroup
	var mu sync.Mutex
	var ok, failed int
	stop := make(chan struct{})
	for g := range 40 {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				rs, err := s.Propose(entry.Commands, [][][]byte{args("set", fmt.Sprintf("k%d", g), strconv.Itoa(i))}).Wait()
				mu.Lock()
				switch {
				case err == nil && len(rs) == 1 && reply.Equal(rs[0], reply.OK):
					ok++
				case errors.Is(err, shard.ErrClosed), errors.Is(err, shard.ErrTimeout), errors.Is(err, shard.ErrNotLeader):
					failed++
				default:
					t.Errorf("writer %d: %v %v", g, rs, err)
				}
				mu.Unlock()
				if err != nil {
					return
				}
			}
		}(g)
	}
	time.Sleep(300 * time.Millisecond)
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	h.Close()
	close(stop)
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("writers still waiting 30s after the host closed")
	}
	t.Logf("%d applied, %d failed", ok, failed)
	if ok == 0 {
		t.Fatal("nothing applied before the close")
	}
}
