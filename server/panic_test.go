package server_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/cairndb/cairn/server"
	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/reply"
	"github.com/cairndb/cairn/server/servertest"
)

// syncBuf is a log sink shared by the node's goroutines.
type syncBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestCommandPanicContained: on a running node, a read handler and a
// write handler that panic answer their client an error; the same
// connection, a pipeline around the panics and other connections keep
// working, and the panics are logged.
func TestCommandPanicContained(t *testing.T) {
	specs := []*command.Spec{
		{Name: "testpanicread", Arity: 2, Flags: command.ReadOnly, FirstKey: 1, LastKey: 1, Step: 1, Group: "generic",
			Run: func(c *command.Ctx, args [][]byte) (reply.Value, error) {
				var a []int
				return reply.Int(int64(a[len(args)])), nil // index out of range
			}},
		{Name: "testpanicwrite", Arity: 2, Flags: command.Write, FirstKey: 1, LastKey: 1, Step: 1, Group: "generic",
			Run: func(c *command.Ctx, args [][]byte) (reply.Value, error) {
				panic("boom")
			}},
	}
	logs := &syncBuf{}
	n := servertest.Start(t, func(c *server.Config) {
		c.ExtraCommands = specs
		c.Logger = slog.New(slog.NewTextHandler(logs, nil))
	})
	ctx := context.Background()
	c1 := n.Client(t, func(o *redis.Options) { o.PoolSize = 1 })
	c2 := n.Client(t)
	if err := c1.Set(ctx, "k", "1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	wantErr := func(err error, name string) {
		t.Helper()
		want := "ERR internal error executing '" + name + "', see the server log"
		if err == nil || err.Error() != want {
			t.Fatalf("%s: err %v, want %q", name, err, want)
		}
	}
	for range 3 {
		wantErr(c1.Do(ctx, "testpanicread", "k").Err(), "testpanicread")
		if v, err := c1.Get(ctx, "k").Result(); err != nil || v != "1" {
			t.Fatalf("same connection after the panic: %q %v", v, err)
		}
		wantErr(c1.Do(ctx, "testpanicwrite", "k").Err(), "testpanicwrite")
		if v, err := c2.Incr(ctx, "n").Result(); err != nil || v < 1 {
			t.Fatalf("other connection after the panic: %d %v", v, err)
		}
	}
	// A pipeline: writes before and after the panicking commands are
	// applied and answered in order.
	cmds, err := c1.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, "p1", "a", 0)
		p.Do(ctx, "testpanicwrite", "p1")
		p.Incr(ctx, "p2")
		p.Do(ctx, "testpanicread", "p2")
		p.Get(ctx, "p1")
		return nil
	})
	if err == nil {
		t.Fatal("pipeline: no error")
	}
	if cmds[0].Err() != nil || cmds[2].Err() != nil || cmds[4].(*redis.StringCmd).Val() != "a" {
		t.Fatalf("pipeline: %v", cmds)
	}
	wantErr(cmds[1].Err(), "testpanicwrite")
	wantErr(cmds[3].Err(), "testpanicread")
	// MULTI/EXEC with a panicking command: the others run.
	tx, err := c1.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Incr(ctx, "t")
		p.Do(ctx, "testpanicwrite", "t")
		p.Incr(ctx, "t")
		return nil
	})
	var rerr redis.Error
	if !errors.As(err, &rerr) || len(tx) != 3 || tx[2].(*redis.IntCmd).Val() != 2 {
		t.Fatalf("exec: %v %v", tx, err)
	}
	wantErr(tx[1].Err(), "testpanicwrite")
	if v, err := c2.Get(ctx, "t").Result(); err != nil || v != "2" {
		t.Fatalf("after exec: %q %v", v, err)
	}
	l := logs.String()
	for _, s := range []string{"command=testpanicread", "command=testpanicwrite", "panic=boom", "index out of range"} {
		if !strings.Contains(l, s) {
			t.Errorf("log lacks %q", s)
		}
	}
}
