package server_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cairndb/cairn/modules/modulestest"
	"github.com/cairndb/cairn/server/servertest"
)

// TestFunctionsThroughClient loads the example modules through go-redis
// and calls them: the token bucket, the multi-key transfer, the spinning
// function that must end with an error within a second while the server
// keeps serving, a module trying to leave the sandbox, and a restart that
// keeps the libraries.
func TestFunctionsThroughClient(t *testing.T) {
	ctx := context.Background()
	n := servertest.Start(t)
	c := n.Client(t)
	for _, name := range []string{"ratelimit", "spin", "transfer"} {
		got, err := c.FunctionLoad(ctx, string(modulestest.Payload(name, modulestest.Example(t, name)))).Result()
		if err != nil || got != name {
			t.Fatalf("FUNCTION LOAD %s: %q, %v", name, got, err)
		}
	}
	libs, err := c.FunctionList(ctx, redis.FunctionListQuery{}).Result()
	if err != nil || len(libs) != 3 || libs[0].Name != "ratelimit" || libs[0].Engine != "WASM" || libs[0].Functions[0].Name != "ratelimit" {
		t.Fatalf("FUNCTION LIST: %+v, %v", libs, err)
	}

	// ratelimit: capacity 10, 5 tokens a second: the first calls take a
	// token, a quick burst runs out.
	took, refused := 0, 0
	for range 20 {
		v, err := c.FCall(ctx, "ratelimit", []string{"user:42"}, 10, 5).Int()
		if err != nil {
			t.Fatal(err)
		}
		if v == 1 {
			took++
		} else {
			refused++
		}
	}
	if took < 10 || refused == 0 {
		t.Fatalf("ratelimit: %d taken, %d refused; want the 10 of the bucket taken and the burst refused", took, refused)
	}
	if _, err := c.FCallRO(ctx, "ratelimit", []string{"user:42"}, 10, 5).Result(); err == nil || !strings.Contains(err.Error(), "write flag using *_ro") {
		t.Fatalf("FCALL_RO of a writing function: %v", err)
	}

	// transfer: atomic between two hashes of one slot.
	c.HSet(ctx, "{acct}:alice", "balance", 100)
	if v, err := c.FCall(ctx, "transfer", []string{"{acct}:alice", "{acct}:bob"}, "balance", 30).Int(); err != nil || v != 70 {
		t.Fatalf("transfer: %d, %v", v, err)
	}
	if _, err := c.FCall(ctx, "transfer", []string{"{acct}:alice", "{acct}:bob"}, "balance", 500).Result(); err == nil || err.Error() != "ERR insufficient funds" {
		t.Fatalf("transfer over balance: %v", err)
	}
	if v, _ := c.HGet(ctx, "{acct}:bob", "balance").Result(); v != "30" {
		t.Fatalf("bob's balance %q", v)
	}

	// spin: ends with an error within a second; the server keeps serving.
	start := time.Now()
	_, err = c.FCall(ctx, "spin", nil).Result()
	if err == nil || err.Error() != "ERR Function ran out of fuel" {
		t.Fatalf("spin: %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("spin took %v", d)
	}
	if err := c.Set(ctx, "after", "spin", 0).Err(); err != nil {
		t.Fatal(err)
	}

	// Sandbox: a module reading a file, opening a socket and reading the
	// clock is refused at load for its imports.
	_, err = c.FunctionLoad(ctx, string(modulestest.Payload("escape", modulestest.Example(t, "testdata/goescape")))).Result()
	if err == nil || !strings.HasPrefix(err.Error(), "ERR Forbidden import: wasi_snapshot_preview1.") {
		t.Fatalf("escape module: %v", err)
	}

	// Restart: the libraries come back with the state (log or snapshot)
	// and serve at once.
	if err := c.Do(ctx, "SAVE").Err(); err != nil {
		t.Fatal(err)
	}
	c.FCall(ctx, "ratelimit", []string{"user:7"}, 10, 5) // after the snapshot: replayed from the log
	cfg := n.Cfg
	n.Close()
	start = time.Now()
	n2 := servertest.Restart(t, cfg)
	c2 := n2.Client(t)
	if v, err := c2.FCall(ctx, "ratelimit", []string{"user:9"}, 10, 5).Int(); err != nil || v != 1 {
		t.Fatalf("FCALL after restart: %d, %v", v, err)
	}
	t.Logf("restart to first FCALL: %v", time.Since(start))
	if v, _ := c2.HGet(ctx, "{acct}:bob", "balance").Result(); v != "30" {
		t.Fatalf("bob's balance after restart %q", v)
	}
	if libs, err := c2.FunctionList(ctx, redis.FunctionListQuery{}).Result(); err != nil || len(libs) != 3 {
		t.Fatalf("FUNCTION LIST after restart: %d, %v", len(libs), err)
	}
}

// TestFunctionsConcurrentReadsAndReloads: FCALL_RO on the read path while
// the library is replaced and deleted through the log: every read gets
// PONG or "Function not found", never a failure of a closed library.
func TestFunctionsConcurrentReadsAndReloads(t *testing.T) {
	ctx := context.Background()
	n := servertest.Start(t)
	c := n.Client(t)
	payload := string(modulestest.Payload("c", modulestest.Fixture(t, "c_incr")))
	if err := c.FunctionLoad(ctx, payload).Err(); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			rc := n.Client(t)
			for {
				select {
				case <-stop:
					errs <- nil
					return
				default:
				}
				v, err := rc.FCallRO(ctx, "cping", []string{"k"}).Result()
				if err != nil && err.Error() != "ERR Function not found" || err == nil && v != "PONG" {
					errs <- fmt.Errorf("FCALL_RO: %v, %v", v, err)
					return
				}
			}
		}()
	}
	for i := range 30 {
		var err error
		if i%5 == 4 {
			err = c.FunctionDelete(ctx, "c").Err()
			if err == nil {
				err = c.FunctionLoad(ctx, payload).Err()
			}
		} else {
			err = c.FunctionLoadReplace(ctx, payload).Err()
		}
		if err != nil {
			t.Fatal(err)
		}
		if v, err := c.FCall(ctx, "cincr", []string{"n"}).Int(); err != nil || v != i+1 {
			t.Fatalf("FCALL cincr: %d, %v", v, err)
		}
	}
	close(stop)
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
