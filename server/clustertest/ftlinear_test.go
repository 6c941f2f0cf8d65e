package clustertest

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/redis/go-redis/v9"
)

// ftDocVersion parses an FT.SEARCH reply (RESP2, RETURN 2 ver v) for at
// most one document: it returns the document's version ("" when no
// document matched) and checks the vector stored with it encodes the same
// version (a search must never see half of an HSET).
func ftDocVersion(reply any) (string, error) {
	r, ok := reply.([]any)
	if !ok || len(r) == 0 {
		return "", fmt.Errorf("reply %v", reply)
	}
	if n, _ := r[0].(int64); n == 0 {
		return "", nil
	}
	if len(r) != 3 {
		return "", fmt.Errorf("reply with %d elements: %v", len(r), r)
	}
	fields, _ := r[2].([]any)
	var ver, vec string
	for i := 0; i+1 < len(fields); i += 2 {
		switch fields[i] {
		case "ver":
			ver, _ = fields[i+1].(string)
		case "v":
			vec, _ = fields[i+1].(string)
		}
	}
	if len(vec) != 8 {
		return "", fmt.Errorf("document %v: vector of %d bytes", r[1], len(vec))
	}
	x := math.Float32frombits(binary.LittleEndian.Uint32([]byte(vec)))
	if strconv.Itoa(int(x)) != ver {
		return "", fmt.Errorf("document %v: version %q but the vector says %v", r[1], ver, x)
	}
	return ver, nil
}

func ftVersionVec(ver, k int) string { return ftVec([]float32{float32(ver), float32(k)}) }

// ftQuery asks for the one document with tag id k, nearest to a fixed
// point: KNN over the FLAT vector index, prefiltered by the TAG index.
func ftQuery(k int) []any {
	return []any{"FT.SEARCH", "idx", fmt.Sprintf("(@id:{%d})=>[KNN 1 @v $q]", k),
		"PARAMS", "2", "q", ftVec([]float32{0, 0}), "RETURN", "2", "ver", "v", "DIALECT", "2"}
}

func ftShard1Leader(t *testing.T, c *Cluster) int {
	for _, sh := range c.opsTopo(t).Shards {
		if sh.ID == 1 {
			return int(sh.CurrentLeader)
		}
	}
	return 0
}

// TestFTSearchAfterWriteLinearizable: concurrent clients HSET documents
// of a FLAT index (each document's version in a NUMERIC field and in its
// vector) while others FT.SEARCH them by TAG + KNN 1 through random
// nodes; the shard's leader is stopped midway. Every document is a
// register (write = HSET of a version, read = the version FT.SEARCH
// returned, or absent) and porcupine checks the whole history is
// linearizable. Then, on the new leader, a search issued after an HSET's
// reply always sees it.
func TestFTSearchAfterWriteLinearizable(t *testing.T) {
	c := Start(t, Options{Nodes: 3, Shards: 1, Replicas: 3})
	ctx := context.Background()
	create := []any{"FT.CREATE", "idx", "ON", "HASH", "PREFIX", "1", "doc:", "SCHEMA",
		"v", "VECTOR", "FLAT", "6", "TYPE", "FLOAT32", "DIM", "2", "DISTANCE_METRIC", "L2",
		"id", "TAG", "ver", "NUMERIC"}
	if err := c.NodeClient(1).Do(ctx, create...).Err(); err != nil {
		t.Fatalf("FT.CREATE: %v", err)
	}
	const keys, writers, readers = 3, 3, 3
	rec := newRecorder()
	var stop atomic.Bool
	var wg sync.WaitGroup
	var acked, reads atomic.Int64
	for w := 0; w < writers; w++ {
		// No client-side retries: go-redis would resend an HSET whose
		// first attempt the stopped leader had committed but not
		// answered, and the second copy, applied after later writes,
		// makes a history no server could be blamed for (a run in CI
		// showed one). A failed HSET is an unknown outcome instead.
		cl := workloadClient(c)
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			for seq := 1; !stop.Load(); seq++ {
				k := rng.IntN(keys)
				ver := (w+1)*100000 + seq
				op := regOp{Client: w, Key: strconv.Itoa(k), Write: true, Value: strconv.Itoa(ver), Call: rec.now()}
				err := cl.HSet(ctx, fmt.Sprintf("doc:%d", k), "v", ftVersionVec(ver, k), "id", k, "ver", ver).Err()
				op.Ret, op.Out = rec.now(), classify(err)
				if err != nil {
					op.Err = err.Error()
					time.Sleep(5 * time.Millisecond)
				} else {
					acked.Add(1)
				}
				rec.addReg(op)
			}
		}()
	}
	var readErr atomic.Value
	for r := 0; r < readers; r++ {
		nodes := make([]*redis.Client, c.Len())
		for i := range nodes {
			nodes[i] = redis.NewClient(&redis.Options{Addr: c.Addr(i + 1), Protocol: 2, MaxRetries: -1, DialTimeout: 200 * time.Millisecond, ReadTimeout: 2 * time.Second})
			defer nodes[i].Close()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(r), 2))
			for !stop.Load() {
				k := rng.IntN(keys)
				op := regOp{Client: writers + r, Key: strconv.Itoa(k), Call: rec.now()}
				reply, err := nodes[rng.IntN(len(nodes))].Do(ctx, ftQuery(k)...).Result()
				op.Ret = rec.now()
				if err != nil {
					op.Out, op.Err = outUnknown, err.Error() // dropped
					time.Sleep(5 * time.Millisecond)
				} else if op.Value, err = ftDocVersion(reply); err != nil {
					readErr.Store(err)
					op.Out = outUnknown
				} else {
					reads.Add(1)
				}
				rec.addReg(op)
			}
		}()
	}
	progress := func(what string) {
		a, r := acked.Load(), reads.Load()
		waitForOr(t, 20*time.Second, what, func() bool { return acked.Load() >= a+50 && reads.Load() >= r+50 }, func() {
			rec.mu.Lock()
			defer rec.mu.Unlock()
			t.Logf("%d acknowledged writes, %d searches; search reply error %v; last operations:\n%s",
				acked.Load(), reads.Load(), readErr.Load(), dumpRegOps(rec.reg[max(0, len(rec.reg)-8):]))
		})
	}
	progress("writes and searches before the failover")
	leader := ftShard1Leader(t, c)
	if leader == 0 {
		t.Fatal("shard 1 has no leader")
	}
	c.Stop(leader)
	waitFor(t, 20*time.Second, "a new leader", func() bool {
		l := ftShard1Leader(t, c)
		return l != 0 && l != leader
	})
	progress("writes and searches after the failover")
	stop.Store(true)
	wg.Wait()
	if err, _ := readErr.Load().(error); err != nil {
		t.Fatalf("search reply: %v", err)
	}
	h := rec.registerHistory()
	res, msg := checkLinearizable(h, time.Minute, "")
	t.Logf("porcupine: %s over %d operations (%d acknowledged writes, %d searches; leader %d stopped; unknown writes kept %d, dropped %d)",
		res, len(h.Ops), acked.Load(), reads.Load(), leader, h.UnknownKept, h.UnknownDropped)
	if res != porcupine.Ok {
		t.Fatalf("search-after-write history is not linearizable: %s", msg)
	}

	// Read-your-writes on the new leader: each search sent after the
	// HSET's reply sees that version (and a deleted document is gone).
	nl := ftShard1Leader(t, c)
	cl := redis.NewClient(&redis.Options{Addr: c.Addr(nl), Protocol: 2})
	defer cl.Close()
	for i := 1; i <= 100; i++ {
		k := i % keys
		ver := 900000 + i
		if err := cl.HSet(ctx, fmt.Sprintf("doc:%d", k), "v", ftVersionVec(ver, k), "id", k, "ver", ver).Err(); err != nil {
			t.Fatalf("HSET on the leader (node %d): %v", nl, err)
		}
		reply, err := cl.Do(ctx, ftQuery(k)...).Result()
		if err != nil {
			t.Fatalf("FT.SEARCH on the leader: %v", err)
		}
		if got, err := ftDocVersion(reply); err != nil || got != strconv.Itoa(ver) {
			t.Fatalf("search after HSET of version %d saw %q (%v)", ver, got, err)
		}
		if i%10 == 0 {
			if err := cl.Del(ctx, fmt.Sprintf("doc:%d", k)).Err(); err != nil {
				t.Fatalf("DEL: %v", err)
			}
			reply, err := cl.Do(ctx, ftQuery(k)...).Result()
			if got, perr := ftDocVersion(reply); err != nil || perr != nil || got != "" {
				t.Fatalf("search after DEL saw %q (%v %v)", got, err, perr)
			}
		}
	}
}
