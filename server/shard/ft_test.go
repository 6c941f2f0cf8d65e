package shard_test

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/cairndb/cairn/server/reply"
	"github.com/cairndb/cairn/server/shard"
)

func vecBlob(r *rand.Rand, dim int) string {
	b := make([]byte, 4*dim)
	for i := range dim {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(r.Float32()))
	}
	return string(b)
}

// ftKNN is the FT.SEARCH a test runs on every replica.
func ftKNN(q string) []string {
	return []string{"FT.SEARCH", "idx", "@tag:{a|b}=>[KNN 10 @v $q]", "PARAMS", "2", "q", q, "NOCONTENT", "DIALECT", "2"}
}

// TestFT_ReplicasIdentical: three replicas apply FT.CREATE, inserts,
// updates, deletes and expiries (with a leader change midway) and end
// with identical state digests (keyspace and FT registry, HNSW graphs
// included) and identical search replies.
func TestFT_ReplicasIdentical(t *testing.T) {
	g := startGroup(t, shard.Options{ShardID: 1})
	r := rand.New(rand.NewPCG(7, 7))
	const dim = 16
	s := g.lead(1)
	for i := range 150 {
		g.write(s, "HSET", fmt.Sprintf("d:%d", i), "tag", []string{"a", "b", "c"}[i%3], "v", vecBlob(r, dim))
	}
	g.write(s, "FT.CREATE", "idx", "PREFIX", "1", "d:", "SCHEMA", "tag", "TAG", "v", "VECTOR", "HNSW", "6", "TYPE", "FLOAT32", "DIM", fmt.Sprint(dim), "DISTANCE_METRIC", "COSINE")
	for i := 150; i < 300; i++ {
		g.write(s, "HSET", fmt.Sprintf("d:%d", i), "tag", []string{"a", "b", "c"}[i%3], "v", vecBlob(r, dim))
	}
	s = g.lead(2)
	for i := range 100 {
		k := fmt.Sprintf("d:%d", r.IntN(300))
		switch i % 4 {
		case 0:
			g.write(s, "DEL", k)
		case 1:
			g.write(s, "HSET", k, "v", vecBlob(r, dim))
		case 2:
			g.write(s, "PEXPIRE", k, "1")
		default:
			g.write(s, "HSET", k, "v", "short") // an indexing failure
		}
	}
	time.Sleep(20 * time.Millisecond) // let the 1 ms expiries pass
	g.write(s, "SET", "tick", "1")
	q := vecBlob(r, dim)
	// The leader may still propose entries of its own (expiry of the
	// PEXPIREd keys): compare the replicas at a moment when all of them
	// have applied the leader's last index, and their search replies only
	// if that index did not move meanwhile.
	want := ""
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
		answers := make([]string, len(g.shards))
		for i, sh := range g.shards {
			spec, _ := table.Resolve(args(ftKNN(q)...))
			answers[i] = sh.Read(spec, args(ftKNN(q)...)).RESP2().String()
		}
		if la2, _ := s.StateDigest(); la2 != la {
			continue
		}
		stable := true
		for _, sh := range g.shards {
			if a, _ := sh.StateDigest(); a != la {
				stable = false
			}
		}
		if !stable {
			continue
		}
		for i := range answers {
			if answers[i] != answers[0] {
				t.Fatalf("replica %d answers %s, replica 1 %s", i+1, answers[i], answers[0])
			}
		}
		want = answers[0]
		break
	}
	if want == "" || want == "[0]" {
		t.Fatalf("empty search result %s", want)
	}
}

// TestFT_ConcurrentSearchAndWrites runs searches on connection goroutines
// while the apply goroutine indexes writes (run it with -race), and
// checks that a search never returns a key deleted before it started.
func TestFT_ConcurrentSearchAndWrites(t *testing.T) {
	n := start(t, t.TempDir(), freeAddr(t), shard.Options{ShardID: 1, ReplicaID: 1})
	check(t, n.write("FT.CREATE", "idx", "PREFIX", "1", "d:", "SCHEMA", "tag", "TAG", "v", "VECTOR", "HNSW", "6", "TYPE", "FLOAT32", "DIM", "8", "DISTANCE_METRIC", "L2"), reply.OK, "FT.CREATE")
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 200 {
		n.write("HSET", fmt.Sprintf("d:%d", i), "tag", "a", "v", vecBlob(r, 8))
	}
	var deleted sync.Map
	stop := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan string, 4)
	for w := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rr := rand.New(rand.NewPCG(uint64(w), 9))
			for {
				select {
				case <-stop:
					return
				default:
				}
				var gone []string
				deleted.Range(func(k, _ any) bool { gone = append(gone, k.(string)); return true })
				v := n.read(ftKNN(vecBlob(rr, 8))...).RESP2()
				if v.IsError() {
					errs <- v.String()
					return
				}
				for _, e := range v.Elems[1:] {
					for _, g := range gone {
						if string(e.Str) == g {
							errs <- "deleted key " + g + " returned"
							return
						}
					}
				}
			}
		}()
	}
	for i := range 200 {
		k := fmt.Sprintf("d:%d", i)
		if i%2 == 0 {
			n.write("DEL", k)
			deleted.Store(k, true)
		} else {
			n.write("HSET", k, "v", vecBlob(r, 8))
		}
		if i%50 == 0 {
			n.snapshot()
		}
	}
	close(stop)
	wg.Wait()
	select {
	case e := <-errs:
		t.Fatal(e)
	default:
	}
	v := n.read("FT.SEARCH", "idx", "*", "LIMIT", "0", "0").RESP2()
	if v.Elems[0].Int != 100 {
		t.Fatalf("documents after the run: %v", v)
	}
}
