package server_test

import (
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cairndb/cairn/server/servertest"
)

// blockedClients polls INFO until n clients are blocked.
func waitBlocked(t *testing.T, c *redis.Client, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		info := c.Info(ctx, "clients").Val()
		for _, l := range strings.Split(info, "\r\n") {
			if v, ok := strings.CutPrefix(l, "blocked_clients:"); ok && v == strconv.Itoa(n) {
				return
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("never saw %d blocked clients", n)
}

// TestBlockingPops: a blocked BLPOP is served by a later push, blocked
// clients are served first-blocked-first-served, timeouts are kept,
// blocking commands inside MULTI do not block, BLMOVE moves.
func TestBlockingPops(t *testing.T) {
	n := servertest.Start(t)
	c := n.Client(t)

	// Served by a push from another client.
	done := make(chan []string, 1)
	go func() {
		v, err := n.Client(t).BLPop(ctx, 0, "q").Result()
		if err != nil {
			t.Error(err)
		}
		done <- v
	}()
	waitBlocked(t, c, 1)
	c.RPush(ctx, "q", "hello")
	select {
	case v := <-done:
		if len(v) != 2 || v[0] != "q" || v[1] != "hello" {
			t.Fatalf("BLPOP = %v", v)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("BLPOP was not served")
	}
	if n := c.Exists(ctx, "q").Val(); n != 0 {
		t.Fatalf("list still exists after its only element was popped")
	}

	// FIFO among blocked clients.
	var mu sync.Mutex
	got := map[int]string{}
	var wg sync.WaitGroup
	for i := 0; i < 3; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			v, err := n.Client(t).BRPop(ctx, 10*time.Second, "fifo").Result()
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			got[i] = v[1]
			mu.Unlock()
		}(i)
		waitBlocked(t, c, i+1)
	}
	c.LPush(ctx, "fifo", "a", "b", "c") // list is c b a: RPOP gives a, b, c
	wg.Wait()
	if got[0] != "a" || got[1] != "b" || got[2] != "c" {
		t.Fatalf("blocked clients served out of order: %v", got)
	}

	// Timeout.
	start := time.Now()
	if err := c.BLPop(ctx, 200*time.Millisecond, "empty").Err(); err != redis.Nil {
		t.Fatalf("BLPOP timeout: %v", err)
	}
	if d := time.Since(start); d < 190*time.Millisecond || d > 1500*time.Millisecond {
		t.Fatalf("BLPOP 0.2 returned after %v", d)
	}

	// Inside MULTI: no blocking, a null reply.
	cmds, err := c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.BLPop(ctx, 0, "empty")
		p.Set(ctx, "after", "1", 0)
		return nil
	})
	if err != nil && err != redis.Nil {
		t.Fatal(err)
	}
	if len(cmds) != 2 || cmds[0].Err() != redis.Nil || cmds[1].Err() != nil {
		t.Fatalf("MULTI BLPOP: %v", cmds)
	}

	// BLMOVE is served by a push and moves the element.
	moved := make(chan string, 1)
	go func() {
		v, err := n.Client(t).BLMove(ctx, "src", "dst", "LEFT", "RIGHT", 5*time.Second).Result()
		if err != nil {
			t.Error(err)
		}
		moved <- v
	}()
	waitBlocked(t, c, 1)
	c.RPush(ctx, "src", "x")
	if v := <-moved; v != "x" {
		t.Fatalf("BLMOVE = %q", v)
	}
	if v := c.LRange(ctx, "dst", 0, -1).Val(); len(v) != 1 || v[0] != "x" {
		t.Fatalf("dst = %v", v)
	}

	// CLIENT UNBLOCK: timeout reply, or an UNBLOCKED error.
	bc := n.Client(t)
	id := bc.ClientID(ctx).Val()
	errc := make(chan error, 1)
	go func() { errc <- bc.BLPop(ctx, 0, "never").Err() }()
	waitBlocked(t, c, 1)
	if v := c.ClientUnblockWithError(ctx, id).Val(); v != 1 {
		t.Fatalf("CLIENT UNBLOCK ERROR = %d", v)
	}
	if err := <-errc; err == nil || !strings.HasPrefix(err.Error(), "UNBLOCKED") {
		t.Fatalf("unblocked BLPOP: %v", err)
	}
	if v := c.ClientUnblock(ctx, id).Val(); v != 0 {
		t.Fatalf("CLIENT UNBLOCK of a client that is not blocked = %d", v)
	}
}

// TestBlockedClientDisconnects: a client that goes away while blocked
// must not take an element pushed afterwards.
func TestBlockedClientDisconnects(t *testing.T) {
	n := servertest.Start(t)
	c := n.Client(t)
	nc, err := net.Dial("tcp", n.Addr())
	if err != nil {
		t.Fatal(err)
	}
	nc.Write([]byte("*3\r\n$5\r\nBLPOP\r\n$4\r\ngone\r\n$1\r\n0\r\n"))
	waitBlocked(t, c, 1)
	nc.Close()
	waitBlocked(t, c, 0)
	c.RPush(ctx, "gone", "keep")
	time.Sleep(100 * time.Millisecond)
	if v := c.LRange(ctx, "gone", 0, -1).Val(); len(v) != 1 || v[0] != "keep" {
		t.Fatalf("element taken by a disconnected client: %v", v)
	}
}

// TestBlockingStreamsAndZsets: XREAD BLOCK with "$" sees only entries
// added after it blocked; XREADGROUP BLOCK ">" is served by XADD; BZPOPMIN
// by ZADD.
func TestBlockingStreamsAndZsets(t *testing.T) {
	n := servertest.Start(t)
	c := n.Client(t)
	c.XAdd(ctx, &redis.XAddArgs{Stream: "s", ID: "1-1", Values: []string{"old", "1"}})

	got := make(chan []redis.XStream, 1)
	go func() {
		v, err := n.Client(t).XRead(ctx, &redis.XReadArgs{Streams: []string{"s", "$"}, Block: 5 * time.Second}).Result()
		if err != nil {
			t.Error(err)
		}
		got <- v
	}()
	waitBlocked(t, c, 1)
	c.XAdd(ctx, &redis.XAddArgs{Stream: "s", ID: "2-1", Values: []string{"new", "2"}})
	v := <-got
	if len(v) != 1 || len(v[0].Messages) != 1 || v[0].Messages[0].ID != "2-1" {
		t.Fatalf("XREAD BLOCK $ = %+v", v)
	}

	c.XGroupCreate(ctx, "s", "g", "$")
	go func() {
		v, err := n.Client(t).XReadGroup(ctx, &redis.XReadGroupArgs{Group: "g", Consumer: "c1", Streams: []string{"s", ">"}, Block: 5 * time.Second}).Result()
		if err != nil {
			t.Error(err)
		}
		got <- v
	}()
	waitBlocked(t, c, 1)
	c.XAdd(ctx, &redis.XAddArgs{Stream: "s", ID: "3-1", Values: []string{"g", "3"}})
	v = <-got
	if len(v) != 1 || len(v[0].Messages) != 1 || v[0].Messages[0].ID != "3-1" {
		t.Fatalf("XREADGROUP BLOCK > = %+v", v)
	}
	if p := c.XPending(ctx, "s", "g").Val(); p == nil || p.Count != 1 {
		t.Fatalf("XPENDING after a blocked XREADGROUP: %+v", p)
	}

	zc := make(chan *redis.ZWithKey, 1)
	go func() {
		v, err := n.Client(t).BZPopMin(ctx, 5*time.Second, "z").Result()
		if err != nil {
			t.Error(err)
		}
		zc <- v
	}()
	waitBlocked(t, c, 1)
	c.ZAdd(ctx, "z", redis.Z{Score: 2, Member: "b"}, redis.Z{Score: 1, Member: "a"})
	if z := <-zc; z == nil || z.Member != "a" || z.Score != 1 {
		t.Fatalf("BZPOPMIN = %+v", z)
	}
	if m := c.ZRange(ctx, "z", 0, -1).Val(); len(m) != 1 || m[0] != "b" {
		t.Fatalf("zset after BZPOPMIN: %v", m)
	}
}
