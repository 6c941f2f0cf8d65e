package server_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cairndb/cairn/server"
	"github.com/cairndb/cairn/server/command/commandtest"
	"github.com/cairndb/cairn/server/reply"
	"github.com/cairndb/cairn/server/servertest"
)

var ctx = context.Background()

func raw(t *testing.T, addr string) *commandtest.Client {
	t.Helper()
	c, err := commandtest.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func do(t *testing.T, c *commandtest.Client, args ...string) string {
	t.Helper()
	v, err := c.Do(args...)
	if err != nil {
		t.Fatalf("%q: %v", args, err)
	}
	return v.String()
}

// TestProtocolErrors sends malformed requests to Cairn and real Redis and
// expects the same reply and the connection closed.
func TestProtocolErrors(t *testing.T) {
	n := servertest.Start(t)
	redisAddr := commandtest.StartRedis(t)
	for _, in := range []string{
		"*x\r\n", "*1\r\n$-5\r\n", "*1\r\n:5\r\n", "SET \"a b\r\n", "*1\r\n$600000000\r\n",
		"*3000000000\r\n", "PING\r\n*1\r\nx\r\n",
	} {
		var got [2][]string
		for i, addr := range []string{n.Addr(), redisAddr} {
			c := raw(t, addr)
			if err := c.WriteRaw([]byte(in)); err != nil {
				t.Fatal(err)
			}
			for {
				v, err := c.Read()
				if err != nil {
					got[i] = append(got[i], "<closed>")
					break
				}
				got[i] = append(got[i], v.String())
			}
		}
		if strings.Join(got[0], "|") != strings.Join(got[1], "|") {
			t.Errorf("%q: cairn %q, redis %q", in, got[0], got[1])
		}
	}
}

// TestConnectionCommands compares connection-level replies with Redis.
func TestConnectionCommands(t *testing.T) {
	n := servertest.Start(t)
	redisAddr := commandtest.StartRedis(t)
	cairn, red := raw(t, n.Addr()), raw(t, redisAddr)
	for _, cmd := range [][]string{
		{"PING"}, {"PING", "hi"}, {"PING", "a", "b"}, {"ECHO", "x"}, {"ECHO"},
		{"SELECT", "0"}, {"SELECT", "16"}, {"SELECT", "x"}, {"SELECT", "-1"},
		{"AUTH", "x"}, {"AUTH", "a", "b"}, {"FOO", "bar", "baz"}, {"FOO"}, {"GETT"},
		{"CLIENT"}, {"CLIENT", "FOO"}, {"CLIENT", "SETNAME", "a b"}, {"CLIENT", "SETNAME", "n1"}, {"CLIENT", "GETNAME"},
		{"CLIENT", "NO-EVICT", "maybe"}, {"CLIENT", "KILL", "ID", "0"}, {"CLIENT", "KILL", "1.2.3.4:5"},
		{"HELLO", "4"}, {"HELLO", "x"}, {"HELLO", "2", "FOO"},
		{"COMMAND", "GETKEYS", "PING"}, {"COMMAND", "GETKEYS", "NOPE", "x"}, {"COMMAND", "FOO"},
		{"CONFIG", "SET", "nope", "1"}, {"CONFIG", "SET", "maxclients", "abc"}, {"CONFIG", "GET"},
		{"CONFIG", "GET", "maxclients"}, {"INFO", "nosuchsection"},
		{"BGSAVE", "x"}, {"SHUTDOWN", "ABORT"},
	} {
		a, b := do(t, cairn, cmd...), do(t, red, cmd...)
		if a != b {
			t.Errorf("%q: cairn %q, redis %q", cmd, a, b)
		}
	}
}

func TestHello3AndClientList(t *testing.T) {
	n := servertest.Start(t)
	c := n.Client(t, func(o *redis.Options) { o.Protocol = 3; o.ClientName = "tester" })
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	list, err := c.ClientList(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(list, "name=tester") || !strings.Contains(list, "resp=3") {
		t.Fatalf("CLIENT LIST = %q", list)
	}
	id, err := c.ClientID(ctx).Result()
	if err != nil || id <= 0 {
		t.Fatalf("CLIENT ID = %d, %v", id, err)
	}
	if got := c.Do(ctx, "HELLO", "3").Val(); got == nil {
		t.Fatal("HELLO 3 returned nothing")
	}
	info, err := c.Info(ctx, "raft").Result()
	if err != nil || !strings.Contains(info, "raft_role:leader") {
		t.Fatalf("INFO raft = %q, %v", info, err)
	}
}

func TestRequirePass(t *testing.T) {
	n := servertest.Start(t, func(c *server.Config) { c.RequirePass = "s3cret" })
	c := raw(t, n.Addr())
	if got := do(t, c, "PING"); got != "(error) NOAUTH Authentication required." {
		t.Fatalf("PING before AUTH: %s", got)
	}
	if got := do(t, c, "AUTH", "wrong"); got != "(error) WRONGPASS invalid username-password pair or user is disabled." {
		t.Fatalf("bad AUTH: %s", got)
	}
	if got := do(t, c, "AUTH", "default", "s3cret"); got != "OK" {
		t.Fatalf("AUTH: %s", got)
	}
	if got := do(t, c, "PING"); got != "PONG" {
		t.Fatalf("PING after AUTH: %s", got)
	}
	// HELLO with AUTH on a fresh connection.
	c2 := raw(t, n.Addr())
	v, err := c2.Do("HELLO", "2", "AUTH", "default", "s3cret")
	if err != nil || v.Kind != reply.KindArray {
		t.Fatalf("HELLO AUTH: %v %v", v, err)
	}
}

func TestClientReplyModes(t *testing.T) {
	n := servertest.Start(t)
	c := raw(t, n.Addr())
	// OFF: no replies until ON.
	for _, cmd := range [][]byte{
		[]byte("*3\r\n$6\r\nCLIENT\r\n$5\r\nREPLY\r\n$3\r\nOFF\r\n"),
		[]byte("*2\r\n$4\r\nECHO\r\n$6\r\nhidden\r\n"),
		[]byte("*3\r\n$6\r\nCLIENT\r\n$5\r\nREPLY\r\n$4\r\nSKIP\r\n"),
		[]byte("*3\r\n$6\r\nCLIENT\r\n$5\r\nREPLY\r\n$2\r\nON\r\n"),
		[]byte("*3\r\n$6\r\nCLIENT\r\n$5\r\nREPLY\r\n$4\r\nSKIP\r\n"),
		[]byte("*2\r\n$4\r\nECHO\r\n$7\r\nskipped\r\n"),
		[]byte("*2\r\n$4\r\nECHO\r\n$7\r\nvisible\r\n"),
	} {
		if err := c.WriteRaw(cmd); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []string{"OK", "visible"} {
		v, err := c.Read()
		if err != nil || v.String() != want {
			t.Fatalf("got %v %v, want %s", v, err, want)
		}
	}
}

func TestManyClientsConcurrently(t *testing.T) {
	n := servertest.Start(t)
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c := n.Client(t)
			for j := 0; j < 20; j++ {
				if got, err := c.Echo(ctx, fmt.Sprint(i, j)).Result(); err != nil || got != fmt.Sprint(i, j) {
					errs <- fmt.Errorf("client %d: %q %v", i, got, err)
					return
				}
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestSaveAndLastSave(t *testing.T) {
	n := servertest.Start(t)
	c := n.Client(t)
	before := c.LastSave(ctx).Val()
	time.Sleep(1100 * time.Millisecond)
	if err := c.Save(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if after := c.LastSave(ctx).Val(); after <= before {
		t.Fatalf("LASTSAVE did not advance: %d -> %d", before, after)
	}
}
