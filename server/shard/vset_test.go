package shard_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cairndb/cairn/server/entry"
	"github.com/cairndb/cairn/server/shard"
)

// TestVSet_ReplicasIdentical: three replicas apply VADD (Q8, NOQUANT,
// BIN), VREM, VSETATTR and an expiry, with a leader change midway, and
// end with identical state digests (the vector sets' graphs included)
// and identical VSIM replies.
func TestVSet_ReplicasIdentical(t *testing.T) {
	g := startGroup(t, shard.Options{ShardID: 1})
	r := rand.New(rand.NewPCG(8, 8))
	const dim = 12
	s := g.lead(1)
	quants := []string{"Q8", "NOQUANT", "BIN"}
	for i := range 300 {
		q := quants[i%3]
		g.write(s, "VADD", "vs"+q, "FP32", vecBlob(r, dim), fmt.Sprintf("e%d", i/3), q, "SETATTR", fmt.Sprintf(`{"n": %d}`, i%10))
	}
	g.write(s, "VADD", "gone", "VALUES", "1", "1", "x")
	g.write(s, "PEXPIRE", "gone", "1")
	s = g.lead(2)
	for i := range 90 {
		q := quants[i%3]
		e := fmt.Sprintf("e%d", r.IntN(100))
		switch i % 3 {
		case 0:
			g.write(s, "VREM", "vs"+q, e)
		case 1:
			g.write(s, "VADD", "vs"+q, "FP32", vecBlob(r, dim), e, q)
		default:
			g.write(s, "VSETATTR", "vs"+q, e, `{"n": 99}`)
		}
	}
	time.Sleep(20 * time.Millisecond)
	g.write(s, "SET", "tick", "1")
	q := vecBlob(r, dim)
	deadline := time.Now().Add(20 * time.Second)
	for {
		if time.Now().After(deadline) {
			t.Fatal("replicas did not reach the leader's applied index together")
		}
		la, ld := s.StateDigest()
		caught := true
		for i, sh := range g.shards {
			applied, d := sh.StateDigest()
			if applied != la {
				caught = false
				break
			}
			if d != ld {
				t.Fatalf("replica %d: state digest %x at index %d, leader %x", i+1, d, applied, ld)
			}
		}
		if !caught {
			time.Sleep(10 * time.Millisecond)
			continue
		}
		for _, key := range []string{"vsQ8", "vsNOQUANT", "vsBIN"} {
			cmd := []string{"VSIM", key, "FP32", q, "WITHSCORES", "COUNT", "15", "FILTER", ".n < 5 or .n == 99"}
			spec, _ := table.Resolve(args(cmd...))
			first := ""
			for i, sh := range g.shards {
				a := sh.Read(spec, args(cmd...)).RESP2().String()
				if i == 0 {
					first = a
				} else if a != first {
					t.Fatalf("%s: replica %d answers %s, replica 1 %s", key, i+1, a, first)
				}
			}
			if first == "[]" {
				t.Fatalf("%s: empty VSIM reply", key)
			}
		}
		if la2, _ := s.StateDigest(); la2 == la {
			return
		}
	}
}

// TestVSetGatedByClusterVersion: vector-set commands carry entry format 8
// (quantized storage builds a different graph than format 6's float32
// arithmetic; VLINKS and VRANGE are new); while the cluster version is 7
// a leader refuses them, then accepts them.
func TestVSetGatedByClusterVersion(t *testing.T) {
	var cv atomic.Int32
	cv.Store(7)
	s := startVersioned(t, table, &cv)
	for _, cmd := range [][][]byte{args("VADD", "v", "VALUES", "1", "1", "a"), args("VRANGE", "v", "-", "+")} {
		if _, err := s.Propose(entry.Commands, [][][]byte{cmd}).Wait(); !errors.Is(err, shard.ErrFeatureGated) {
			t.Fatalf("%q at cluster version 7: %v, want ErrFeatureGated", cmd, err)
		}
	}
	cv.Store(8)
	out, err := s.Propose(entry.Commands, [][][]byte{args("VADD", "v", "VALUES", "1", "1", "a")}).Wait()
	if err != nil || len(out) != 1 || out[0].Int != 1 {
		t.Fatalf("at cluster version 8: %v %v", out, err)
	}
}
