package server_test

import (
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/lni/vfs"
	"github.com/redis/go-redis/v9"

	"github.com/cairndb/cairn/server"
	"github.com/cairndb/cairn/server/servertest"
)

// TestPowerLossNode cuts the power under a whole node (RESP listener,
// pipelined batches, MULTI, snapshots) whose data directory is a strict
// in-memory file system: after each cut only what was fsynced is left,
// and every reply a client received must be reflected after the restart.
// (server/shard's TestPowerLoss does many more cuts at the shard level.)
func TestPowerLossNode(t *testing.T) {
	const cuts = 6
	mem := vfs.NewStrictMem()
	cfg := server.Config{
		Port:            servertest.FreePort(t),
		RaftAddr:        "127.0.0.1:" + strconv.Itoa(servertest.FreePort(t)),
		Dir:             "/cairn/data",
		FS:              mem,
		SnapshotEntries: 30,
		Logger:          slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	var mu sync.Mutex
	off := false
	acked := map[string]string{} // key -> value of acknowledged SETs
	ctrs := map[int]int64{}      // client -> largest acknowledged INCR

	for round := 0; round <= cuts; round++ {
		n, err := server.Start(cfg)
		if err != nil {
			t.Fatalf("restart %d: %v", round, err)
		}
		c := servertest.Client(t, n.Addr())
		mu.Lock()
		for k, v := range acked {
			if got, err := c.Get(ctx, k).Result(); err != nil || got != v {
				mu.Unlock()
				n.Close()
				t.Fatalf("after cut %d: acknowledged SET %s %s lost: %q %v", round, k, v, got, err)
			}
		}
		for w, lo := range ctrs {
			got, _ := c.Get(ctx, "ctr:"+strconv.Itoa(w)).Int64()
			if got < lo {
				mu.Unlock()
				n.Close()
				t.Fatalf("after cut %d: counter %d = %d, acknowledged %d", round, w, got, lo)
			}
		}
		off = false
		mu.Unlock()
		if round == cuts {
			n.Close()
			break
		}

		var wg sync.WaitGroup
		stop := make(chan struct{})
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				cl := servertest.Client(t, n.Addr(), func(o *redis.Options) { o.ReadTimeout = 5 * time.Second })
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					// A pipeline of SETs plus a MULTI/EXEC with an INCR.
					keys := make([]string, 5)
					p := cl.Pipeline()
					for j := range keys {
						keys[j] = fmt.Sprintf("k:%d:%d:%d:%d", round, w, i, j)
						p.Set(ctx, keys[j], keys[j], 0)
					}
					p.TxPipeline()
					incr := p.Incr(ctx, "ctr:"+strconv.Itoa(w))
					cmds, _ := p.Exec(ctx)
					mu.Lock()
					if !off {
						for j, cmd := range cmds[:len(keys)] {
							if cmd.Err() == nil {
								acked[keys[j]] = keys[j]
							}
						}
						if incr.Err() == nil {
							ctrs[w] = max(ctrs[w], incr.Val())
						}
					}
					mu.Unlock()
					if incr.Err() != nil {
						return
					}
				}
			}()
		}
		time.Sleep(time.Duration(20+rand.IntN(200)) * time.Millisecond)
		// Cut: replies from now on are not counted, fsyncs are ignored.
		mu.Lock()
		off = true
		mu.Unlock()
		mem.SetIgnoreSyncs(true)
		n.Close()
		close(stop)
		wg.Wait()
		mem.ResetToSyncedState()
		mem.SetIgnoreSyncs(false)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(acked) < 100 {
		t.Fatalf("only %d acknowledged SETs", len(acked))
	}
	t.Logf("%d power cuts, %d acknowledged SETs and %d counters all found", cuts, len(acked), len(ctrs))
}
