package server_test

import (
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cairndb/cairn/server"
	"github.com/cairndb/cairn/server/command/commandtest"
	"github.com/cairndb/cairn/server/reply"
	"github.com/cairndb/cairn/server/servertest"
)

// TestRestartKeepsData writes through pipelines, restarts the node on the
// same directory (with and without a snapshot in between) and reads back.
func TestRestartKeepsData(t *testing.T) {
	n := servertest.Start(t, func(c *server.Config) { c.SnapshotEntries = 50 })
	c := n.Client(t)
	pipe := c.Pipeline()
	for i := 0; i < 500; i++ {
		pipe.Set(ctx, "k"+strconv.Itoa(i), i, 0)
		pipe.HSet(ctx, "h", "f"+strconv.Itoa(i), i)
		pipe.Incr(ctx, "ctr")
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Set(ctx, "ttl", "x", time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	cfg := n.Cfg
	n.Close()
	n2 := servertest.Restart(t, cfg)
	c2 := n2.Client(t)
	if got := c2.Get(ctx, "ctr").Val(); got != "500" {
		t.Fatalf("ctr = %q after restart", got)
	}
	if got := c2.HLen(ctx, "h").Val(); got != 500 {
		t.Fatalf("HLEN = %d after restart", got)
	}
	if got := c2.DBSize(ctx).Val(); got != 503 {
		t.Fatalf("DBSIZE = %d after restart", got)
	}
	if ttl := c2.TTL(ctx, "ttl").Val(); ttl <= 59*time.Minute {
		t.Fatalf("TTL = %v after restart", ttl)
	}
	if err := c2.Save(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	c2.Set(ctx, "after-save", "1", 0)
	n2.Close()
	c3 := servertest.Restart(t, cfg).Client(t)
	if got := c3.Get(ctx, "after-save").Val(); got != "1" {
		t.Fatalf("write after SAVE lost: %q", got)
	}
	if got := c3.Get(ctx, "k499").Val(); got != "499" {
		t.Fatalf("k499 = %q", got)
	}
}

// TestActiveExpiry checks that the leader deletes expired keys through the
// log: DBSIZE drops without any client touching the keys.
func TestActiveExpiry(t *testing.T) {
	n := servertest.Start(t)
	c := n.Client(t)
	for i := 0; i < 300; i++ {
		c.Set(ctx, "e"+strconv.Itoa(i), "v", 100*time.Millisecond)
	}
	c.Set(ctx, "keep", "v", 0)
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if c.DBSize(ctx).Val() == 1 {
			info := c.Info(ctx, "stats").Val()
			if !regexpMatch(`expired_keys:3\d\d`, info) {
				t.Fatalf("expired_keys not counted: %s", info)
			}
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("DBSIZE = %d, expired keys were not removed", c.DBSize(ctx).Val())
}

// TestPipelineOrder interleaves writes and reads in one pipeline: each
// read must see exactly the writes before it.
func TestPipelineOrder(t *testing.T) {
	n := servertest.Start(t)
	c := n.Client(t)
	pipe := c.Pipeline()
	var gets []*redis.StringCmd
	for i := 0; i < 200; i++ {
		pipe.Set(ctx, "p", i, 0)
		pipe.Append(ctx, "log", "x")
		gets = append(gets, pipe.Get(ctx, "p"))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	for i, g := range gets {
		if g.Val() != strconv.Itoa(i) {
			t.Fatalf("GET #%d = %q", i, g.Val())
		}
	}
	if got := c.StrLen(ctx, "log").Val(); got != 200 {
		t.Fatalf("STRLEN = %d", got)
	}
}

// TestDifferentialPipelined sends the same random pipelined command
// sequences to Cairn and to redis-server and compares every reply.
func TestDifferentialPipelined(t *testing.T) {
	n := servertest.Start(t)
	redisAddr := commandtest.StartRedis(t)
	cairn, red := raw(t, n.Addr()), raw(t, redisAddr)
	rng := rand.New(rand.NewPCG(42, 7))
	keys := []string{"a", "b", "c", "h1", "h2", "n"}
	pick := func() string { return keys[rng.IntN(len(keys))] }
	num := func() string { return strconv.Itoa(rng.IntN(21) - 10) }
	gens := []func() []string{
		func() []string { return []string{"SET", pick(), num()} },
		func() []string { return []string{"GET", pick()} },
		func() []string { return []string{"INCR", pick()} },
		func() []string { return []string{"INCRBY", pick(), num()} },
		func() []string { return []string{"APPEND", pick(), "xy"} },
		func() []string { return []string{"STRLEN", pick()} },
		func() []string { return []string{"GETRANGE", pick(), num(), num()} },
		func() []string { return []string{"SETRANGE", pick(), strconv.Itoa(rng.IntN(5)), "zz"} },
		func() []string { return []string{"MSET", pick(), num(), pick(), num()} },
		func() []string { return []string{"MGET", pick(), pick(), pick()} },
		func() []string { return []string{"GETDEL", pick()} },
		func() []string { return []string{"GETSET", pick(), num()} },
		func() []string { return []string{"SETNX", pick(), num()} },
		func() []string { return []string{"HSET", pick(), "f" + num(), num()} },
		func() []string { return []string{"HGET", pick(), "f" + num()} },
		func() []string { return []string{"HDEL", pick(), "f" + num()} },
		func() []string { return []string{"HINCRBY", pick(), "f" + num(), num()} },
		func() []string { return []string{"HLEN", pick()} },
		func() []string { return []string{"HGETALL", pick()} },
		func() []string { return []string{"HKEYS", pick()} },
		func() []string { return []string{"DEL", pick(), pick()} },
		func() []string { return []string{"EXISTS", pick(), pick()} },
		func() []string { return []string{"TYPE", pick()} },
		func() []string { return []string{"RENAME", pick(), pick()} },
		func() []string { return []string{"RENAMENX", pick(), pick()} },
		func() []string { return []string{"COPY", pick(), pick(), "REPLACE"} },
		func() []string { return []string{"EXPIRE", pick(), "100"} },
		func() []string { return []string{"PERSIST", pick()} },
		func() []string { return []string{"DBSIZE"} },
		func() []string { return []string{"OBJECT", "ENCODING", pick()} },
		func() []string { return []string{"INCRBYFLOAT", pick(), "1.5"} },
		func() []string { return []string{"LCS", pick(), pick()} },
		func() []string { return []string{"NOPE", pick()} },
		func() []string { return []string{"GET"} },
	}
	for round := 0; round < 150; round++ {
		batch := make([][]string, 1+rng.IntN(20))
		for i := range batch {
			batch[i] = gens[rng.IntN(len(gens))]()
		}
		var got [2][]reply.Value
		for side, c := range []*commandtest.Client{cairn, red} {
			for _, cmd := range batch {
				argv := make([][]byte, len(cmd))
				for i, a := range cmd {
					argv[i] = []byte(a)
				}
				if err := c.Send(argv); err != nil {
					t.Fatal(err)
				}
			}
			for range batch {
				v, err := c.Read()
				if err != nil {
					t.Fatal(err)
				}
				got[side] = append(got[side], v)
			}
		}
		for i := range batch {
			if !reply.Equal(got[0][i], got[1][i]) {
				t.Fatalf("round %d %q:\n cairn %s\n redis %s", round, batch[i], got[0][i], got[1][i])
			}
		}
	}
}

func regexpMatch(pattern, s string) bool {
	return regexpMust(pattern).MatchString(s)
}
