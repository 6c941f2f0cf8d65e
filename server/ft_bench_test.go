package server_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cairndb/cairn/server/servertest"
)

// TestFT_Throughput measures durable HSET ingest of vectors into an HNSW
// index and KNN search latency/QPS through RESP on one node. It runs only
// with CAIRN_FT_BENCH=1 (it takes a while); numbers are logged.
func TestFT_Throughput(t *testing.T) {
	if os.Getenv("CAIRN_FT_BENCH") == "" {
		t.Skip("set CAIRN_FT_BENCH=1 to run")
	}
	const docs, dim, queries = 10000, 128, 500
	n := servertest.Start(t)
	ctx := context.Background()
	c := n.Client(t, func(o *redis.Options) { o.PoolSize = 32 })
	if err := c.Do(ctx, "FT.CREATE", "b", "PREFIX", "1", "v:", "SCHEMA", "t", "TAG", "v", "VECTOR", "HNSW", "6", "TYPE", "FLOAT32", "DIM", dim, "DISTANCE_METRIC", "L2").Err(); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 1))
	vec := func() string {
		v := make([]float32, dim)
		for i := range v {
			v[i] = r.Float32()
		}
		return f32blob(v...)
	}
	blobs := make([]string, docs)
	for i := range blobs {
		blobs[i] = vec()
	}
	start := time.Now()
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < docs; i += 16 {
				if err := c.HSet(ctx, fmt.Sprintf("v:%d", i), "t", []string{"a", "b"}[i%2], "v", blobs[i]).Err(); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	ingest := time.Since(start)
	qs := make([]string, queries)
	for i := range qs {
		qs[i] = vec()
	}
	for _, conns := range []int{1, 16} {
		lat := make([]time.Duration, queries)
		start = time.Now()
		var wg sync.WaitGroup
		for w := range conns {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < queries; i += conns {
					t0 := time.Now()
					if err := c.FTSearchWithArgs(ctx, "b", "*=>[KNN 10 @v $q EF_RUNTIME 100]", &redis.FTSearchOptions{NoContent: true,
						Params: map[string]interface{}{"q": qs[i]}, DialectVersion: 2}).Err(); err != nil {
						t.Error(err)
						return
					}
					lat[i] = time.Since(t0)
				}
			}()
		}
		wg.Wait()
		el := time.Since(start)
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		t.Logf("KNN 10 (EF_RUNTIME 100) over %d x %d-d HNSW, %d conns: %.0f QPS, p50 %v, p99 %v", docs, dim, conns, float64(queries)/el.Seconds(), lat[queries/2], lat[queries*99/100])
	}
	info, _ := c.FTInfo(ctx, "b").Result()
	t.Logf("durable ingest (16 conns): %d HSETs in %v = %.0f/s; vector_index_sz_mb %.1f (%.0f B/vector)", docs, ingest, float64(docs)/ingest.Seconds(), info.VectorIndexSzMB, info.VectorIndexSzMB*(1<<20)/docs)
}
