// Package crashtest checks that no acknowledged write is lost when the
// cairn process is SIGKILLed at random moments.
package crashtest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cairndb/cairn/server/servertest"
)

// history records what clients were told.
type history struct {
	mu sync.Mutex
	// acked maps key -> value for SETs answered OK.
	acked map[string]string
	// tried holds every key a SET was sent for, acknowledged or not.
	tried map[string]string
	// counters: per counter key, the highest acknowledged INCR reply and
	// the number of INCRs sent after it without an answer.
	ctrAcked   map[string]int64
	ctrPending map[string]int64
}

func newHistory() *history {
	return &history{acked: map[string]string{}, tried: map[string]string{},
		ctrAcked: map[string]int64{}, ctrPending: map[string]int64{}}
}

// worker writes until ctx ends: unique-key SETs (single and pipelined) and
// INCRs on its own counter. No client retries, so an INCR is applied at
// most once per send.
func worker(ctx context.Context, c *redis.Client, h *history, id, round int, rng *rand.Rand) {
	ctr := "ctr:" + strconv.Itoa(id)
	for i := 0; ctx.Err() == nil; i++ {
		switch rng.IntN(3) {
		case 0:
			k := fmt.Sprintf("k:%d:%d:%d", id, round, i)
			v := fmt.Sprintf("v%d", rng.Int64())
			h.mu.Lock()
			h.tried[k] = v
			h.mu.Unlock()
			if err := c.Set(context.Background(), k, v, 0).Err(); err == nil {
				h.mu.Lock()
				h.acked[k] = v
				h.mu.Unlock()
			} else {
				return
			}
		case 1:
			pipe := c.Pipeline()
			keys := make([]string, 10)
			vals := make([]string, 10)
			h.mu.Lock()
			for j := range keys {
				keys[j] = fmt.Sprintf("p:%d:%d:%d:%d", id, round, i, j)
				vals[j] = fmt.Sprintf("v%d", rng.Int64())
				h.tried[keys[j]] = vals[j]
				pipe.Set(context.Background(), keys[j], vals[j], 0)
			}
			h.mu.Unlock()
			cmds, _ := pipe.Exec(context.Background())
			h.mu.Lock()
			failed := false
			for j, cmd := range cmds {
				if cmd.Err() == nil {
					h.acked[keys[j]] = vals[j]
				} else {
					failed = true
				}
			}
			h.mu.Unlock()
			if failed {
				return
			}
		case 2:
			h.mu.Lock()
			h.ctrPending[ctr]++
			h.mu.Unlock()
			n, err := c.Incr(context.Background(), ctr).Result()
			if err != nil {
				return
			}
			h.mu.Lock()
			if n != h.ctrAcked[ctr]+h.ctrPending[ctr] && h.ctrPending[ctr] == 1 {
				// With nothing in doubt the reply is exactly known.
				h.mu.Unlock()
				panic(fmt.Sprintf("INCR %s = %d, want %d", ctr, n, h.ctrAcked[ctr]+1))
			}
			h.ctrAcked[ctr] = n
			h.ctrPending[ctr] = 0
			h.mu.Unlock()
		}
	}
}

// verify checks every acknowledged write against the restarted server.
func verify(t *testing.T, c *redis.Client, h *history) {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	ctx := context.Background()
	keys := make([]string, 0, len(h.tried))
	for k := range h.tried {
		keys = append(keys, k)
	}
	for start := 0; start < len(keys); start += 1000 {
		batch := keys[start:min(start+1000, len(keys))]
		vals, err := c.MGet(ctx, batch...).Result()
		if err != nil {
			t.Fatalf("MGET: %v", err)
		}
		for i, k := range batch {
			got, present := vals[i].(string)
			if want, ok := h.acked[k]; ok {
				if !present || got != want {
					t.Fatalf("LOST acknowledged write: %s = %v, want %q", k, vals[i], want)
				}
				continue
			}
			// Unacknowledged: may be absent, or present with the value sent.
			if present {
				if got != h.tried[k] {
					t.Fatalf("impossible value: %s = %q, sent %q", k, got, h.tried[k])
				}
				h.acked[k] = got // now observed; it must stay
			}
		}
	}
	for ctr, acked := range h.ctrAcked {
		n, err := c.Get(ctx, ctr).Int64()
		if err != nil && err != redis.Nil {
			t.Fatalf("GET %s: %v", ctr, err)
		}
		if n < acked || n > acked+h.ctrPending[ctr] {
			t.Fatalf("counter %s = %d, acknowledged %d, in doubt %d", ctr, n, acked, h.ctrPending[ctr])
		}
		h.ctrAcked[ctr], h.ctrPending[ctr] = n, 0
	}
	for ctr, pending := range h.ctrPending {
		if _, ok := h.ctrAcked[ctr]; !ok && pending > 0 {
			n, _ := c.Get(ctx, ctr).Int64()
			if n > pending {
				t.Fatalf("counter %s = %d but only %d INCRs were sent", ctr, n, pending)
			}
			h.ctrAcked[ctr], h.ctrPending[ctr] = n, 0
		}
	}
}

// TestCrash SIGKILLs a loaded cairn process many times (CAIRN_CRASH_KILLS,
// default 50) and checks after every restart that each acknowledged write
// is there and nothing that was never written appears. Snapshots are taken
// every 2000 entries so restarts exercise snapshot + log-tail recovery.
func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test skipped in -short mode")
	}
	kills := 50
	if s := os.Getenv("CAIRN_CRASH_KILLS"); s != "" {
		kills, _ = strconv.Atoi(s)
	}
	bin := servertest.Binary(t)
	dir := filepath.Join(t.TempDir(), "data")
	p := servertest.StartProcess(t, bin, dir, "--snapshot-entries", "2000")
	h := newHistory()
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	t.Logf("seed-independent: kills=%d", kills)
	const workers = 16
	for round := 0; round < kills; round++ {
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		clients := make([]*redis.Client, workers)
		for w := 0; w < workers; w++ {
			clients[w] = redis.NewClient(&redis.Options{Addr: p.Addr(), MaxRetries: -1, PoolSize: 2,
				ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second})
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				worker(ctx, clients[w], h, w, round, rand.New(rand.NewPCG(rng.Uint64(), uint64(w))))
			}(w)
		}
		time.Sleep(time.Duration(20+rng.IntN(300)) * time.Millisecond)
		p.Kill()
		cancel()
		wg.Wait()
		for _, c := range clients {
			c.Close()
		}
		if err := p.Start(); err != nil {
			t.Fatalf("round %d restart: %v", round, err)
		}
		c := redis.NewClient(&redis.Options{Addr: p.Addr(), MaxRetries: -1})
		verify(t, c, h)
		c.Close()
	}
	h.mu.Lock()
	t.Logf("%d kills: %d acknowledged keys, %d counters all intact", kills, len(h.acked), len(h.ctrAcked))
	h.mu.Unlock()
}
