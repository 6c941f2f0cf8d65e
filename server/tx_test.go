package server_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cairndb/cairn/server/command/commandtest"
	"github.com/cairndb/cairn/server/reply"
	"github.com/cairndb/cairn/server/servertest"
)

// diffScript sends the same commands over one connection to Cairn and to
// real Redis and compares every reply.
func diffScript(t *testing.T, cairn, redisAddr string, script [][]string) {
	t.Helper()
	a, b := raw(t, cairn), raw(t, redisAddr)
	for _, cmd := range script {
		va, err := a.Do(cmd...)
		if err != nil {
			t.Fatalf("cairn %q: %v", cmd, err)
		}
		vb, err := b.Do(cmd...)
		if err != nil {
			t.Fatalf("redis %q: %v", cmd, err)
		}
		if !reply.Equal(va, vb) {
			t.Errorf("%q: cairn %v, redis %v", cmd, va, vb)
		}
	}
}

// TestTransactionsDiff compares MULTI/EXEC/DISCARD/WATCH replies and error
// paths with real Redis, one connection at a time.
func TestTransactionsDiff(t *testing.T) {
	n := servertest.Start(t)
	r := commandtest.StartRedis(t)
	diffScript(t, n.Addr(), r, [][]string{
		{"MULTI"}, {"SET", "a", "1"}, {"INCR", "a"}, {"GET", "a"}, {"PING"}, {"ECHO", "x"}, {"EXEC"},
		{"EXEC"}, {"DISCARD"},
		{"MULTI"}, {"MULTI"}, {"WATCH", "a"}, {"SET", "a", "2"}, {"DISCARD"}, {"GET", "a"},
		{"MULTI"}, {"SET", "a", "3"}, {"NOSUCHCMD"}, {"EXEC"}, {"GET", "a"},
		{"MULTI"}, {"SET", "a"}, {"EXEC"},
		{"MULTI"}, {"SET", "a", "4"}, {"HSET", "a", "f", "v"}, {"INCR", "a"}, {"EXEC"},
		{"MULTI"}, {"EXEC"},
		{"WATCH"}, {"UNWATCH"},
		{"WATCH", "a", "b"}, {"SET", "a", "5"}, {"MULTI"}, {"GET", "a"}, {"EXEC"},
		{"WATCH", "a"}, {"SET", "a", "5"}, {"MULTI"}, {"GET", "a"}, {"EXEC"}, // same value: still aborts
		{"WATCH", "a"}, {"MULTI"}, {"GET", "a"}, {"EXEC"},
		{"WATCH", "nokey"}, {"MULTI"}, {"SET", "nokey", "1"}, {"EXEC"},
		{"WATCH", "a"}, {"UNWATCH"}, {"SET", "a", "6"}, {"MULTI"}, {"GET", "a"}, {"EXEC"},
		{"WATCH", "a"}, {"GET", "a"}, {"MULTI"}, {"INCR", "a"}, {"EXEC"}, // reads don't abort
		{"MULTI"}, {"SET", "x", "1"}, {"DISCARD"}, {"GET", "x"},
	})
}

// TestWatchAcrossClients: a write from another connection between WATCH
// and EXEC aborts the transaction; EXEC without interference applies all
// commands atomically, and the result survives a restart.
func TestWatchAcrossClients(t *testing.T) {
	n := servertest.Start(t)
	c1, c2 := n.Client(t), n.Client(t)
	c1.Set(ctx, "k", "0", 0)

	// Interference: aborted.
	err := c1.Watch(ctx, func(tx *redis.Tx) error {
		if err := c2.Set(ctx, "k", "0", 0).Err(); err != nil { // same value
			return err
		}
		_, err := tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Incr(ctx, "k")
			return nil
		})
		return err
	}, "k")
	if err != redis.TxFailedErr {
		t.Fatalf("watched key written by another client: got %v, want TxFailedErr", err)
	}
	// Expiry of a watched key aborts too.
	c1.Set(ctx, "t", "v", 50*time.Millisecond)
	err = c1.Watch(ctx, func(tx *redis.Tx) error {
		time.Sleep(100 * time.Millisecond)
		_, err := tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Set(ctx, "t", "new", 0)
			return nil
		})
		return err
	}, "t")
	if err != redis.TxFailedErr {
		t.Fatalf("watched key expired: got %v, want TxFailedErr", err)
	}

	// Optimistic-locking counter: 8 clients × 25 increments with WATCH
	// retries must end at exactly 200.
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := n.Client(t)
			for done := 0; done < 25; {
				err := c.Watch(ctx, func(tx *redis.Tx) error {
					v, err := tx.Get(ctx, "counter").Int()
					if err != nil && err != redis.Nil {
						return err
					}
					_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
						p.Set(ctx, "counter", v+1, 0)
						return nil
					})
					return err
				}, "counter")
				if err == nil {
					done++
				} else if err != redis.TxFailedErr {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if v, _ := c1.Get(ctx, "counter").Int(); v != 200 {
		t.Fatalf("counter = %d, want 200", v)
	}

	// A transaction is one log entry: after a restart all or nothing.
	_, err = c1.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for i := 0; i < 100; i++ {
			p.Set(ctx, "m"+string(rune('a'+i%26))+string(rune('a'+i/26)), i, 0)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg := n.Cfg
	n.Close()
	n2 := servertest.Restart(t, cfg)
	if got := n2.Client(t).DBSize(ctx).Val(); got < 100 {
		t.Fatalf("after restart DBSIZE %d, want the 100 keys of the transaction", got)
	}
}

// TestSlowlogMonitorLatency: SLOWLOG records commands above the threshold,
// MONITOR streams other clients' commands in Redis's format, LATENCY
// samples commands above its threshold.
func TestSlowlogMonitorLatency(t *testing.T) {
	n := servertest.Start(t)
	c := n.Client(t)
	mon := raw(t, n.Addr())
	if v := do(t, mon, "MONITOR"); v != "OK" {
		t.Fatalf("MONITOR: %s", v)
	}
	for _, cmd := range []*redis.StatusCmd{
		c.ConfigSet(ctx, "slowlog-log-slower-than", "0"),
		c.ConfigSet(ctx, "latency-monitor-threshold", "1"),
		c.SlowLogReset(ctx),
		c.Set(ctx, "a b", "x\"y\n", 0),
	} {
		if err := cmd.Err(); err != nil {
			t.Fatalf("%v: %v", cmd.Args(), err)
		}
	}
	var line reply.Value
	var seen []string
	for !strings.Contains(string(line.Str), `"set"`) { // skip the client's handshake
		var err error
		if line, err = mon.Read(); err != nil {
			// Say what the monitor did receive and how the server sees it.
			list, lerr := c.ClientList(ctx).Result()
			t.Fatalf("monitor read: %v; lines so far %q; CLIENT LIST (%v):\n%s", err, seen, lerr, list)
		}
		seen = append(seen, string(line.Str))
	}
	if m := regexpMust(`^\d+\.\d{6} \[0 127\.0\.0\.1:\d+\] "set" "a b" "x\\"y\\n"$`); !m.MatchString(string(line.Str)) {
		t.Fatalf("monitor line %q", line.Str)
	}
	logs, err := c.SlowLogGet(ctx, -1).Result()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, l := range logs {
		if len(l.Args) == 3 && l.Args[0] == "set" && l.Args[1] == "a b" {
			found = true
		}
	}
	if !found {
		t.Fatalf("SET missing from slowlog: %+v", logs)
	}
	if n, _ := c.Do(ctx, "SLOWLOG", "LEN").Int(); n < 1 {
		t.Fatalf("SLOWLOG LEN %d", n)
	}
	c.Do(ctx, "SLOWLOG", "RESET")
	// SLOWLOG RESET itself is logged after the reset, as in Redis.
	if n, _ := c.Do(ctx, "SLOWLOG", "LEN").Int(); n > 1 {
		t.Fatalf("SLOWLOG LEN after RESET %d", n)
	}
	// Long arguments are cut as Redis does.
	c.ConfigSet(ctx, "slowlog-log-slower-than", "0")
	c.Set(ctx, "long", strings.Repeat("z", 200), 0)
	logs, _ = c.SlowLogGet(ctx, 5).Result()
	cut := false
	for _, l := range logs {
		if len(l.Args) == 3 && l.Args[1] == "long" {
			cut = l.Args[2] == strings.Repeat("z", 128)+"... (72 more bytes)"
		}
	}
	if !cut {
		t.Fatalf("long argument not cut: %+v", logs)
	}
	// WAIT on a single node: no replica holds anything.
	if v, err := c.Do(ctx, "WAIT", "0", "0").Int(); err != nil || v != 0 {
		t.Fatalf("WAIT = %d %v", v, err)
	}
	if v, err := c.Do(ctx, "WAITAOF", "1", "0", "0").Slice(); err != nil || len(v) != 2 || v[0].(int64) != 1 {
		t.Fatalf("WAITAOF = %v %v", v, err)
	}
	if v := c.Do(ctx, "WAIT", "x", "0").Err(); v == nil || v.Error() != "ERR value is not an integer or out of range" {
		t.Fatalf("WAIT x: %v", v)
	}
}

// TestMonitorFeedsCommandSentAfterOK: a command another client sends
// after the monitor read MONITOR's OK is always fed. Dispatch skips
// feeding without taking the monitors' lock while the monitor count is
// 0; MONITOR used to queue its OK before raising the count, so a client
// could read OK, and a command sent right then was not fed (1 in ~1000
// here; TestSlowlogMonitorLatency's CI failures).
func TestMonitorFeedsCommandSentAfterOK(t *testing.T) {
	n := servertest.Start(t)
	c := n.Client(t)
	if err := c.Ping(ctx).Err(); err != nil { // its handshake before any monitor
		t.Fatal(err)
	}
	for i := 0; i < 1000; i++ {
		mon := raw(t, n.Addr())
		if v := do(t, mon, "MONITOR"); v != "OK" {
			t.Fatalf("MONITOR: %s", v)
		}
		key := fmt.Sprintf("k%d", i)
		if err := c.Set(ctx, key, "v", 0).Err(); err != nil {
			t.Fatal(err)
		}
		line, err := mon.Read()
		if err != nil {
			t.Fatalf("round %d: the SET sent after OK was not fed: %v", i, err)
		}
		if !strings.Contains(string(line.Str), `"set" "`+key+`" "v"`) {
			t.Fatalf("round %d: monitor line %q", i, line.Str)
		}
		mon.Close()
	}
}
