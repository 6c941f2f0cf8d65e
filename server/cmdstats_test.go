package server_test

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/cairndb/cairn/server/servertest"
)

// cmdstat returns the calls= figure of INFO commandstats for name.
func cmdstat(t *testing.T, info, name string) int {
	t.Helper()
	for _, line := range strings.Split(info, "\r\n") {
		if rest, ok := strings.CutPrefix(line, "cmdstat_"+name+":calls="); ok {
			n, err := strconv.Atoi(rest[:strings.IndexByte(rest, ',')])
			if err != nil {
				t.Fatal(line, err)
			}
			return n
		}
	}
	return 0
}

// TestCommandStatsCounted: a connection counts its commands' statistics
// locally between two socket writes (session/cmdstats.go). Whatever a
// client has a reply for must already show in INFO commandstats, LATENCY
// HISTOGRAM and total_commands_processed — on another connection, and on
// the same connection later in the same pipeline.
func TestCommandStatsCounted(t *testing.T) {
	n := servertest.Start(t)
	ctx := context.Background()
	a, b := n.Client(t), n.Client(t)
	b.Ping(ctx) // b's connection is open before a's commands
	total0 := infoField(t, b, "stats", "total_commands_processed")

	// One pipeline on a: SETs, an error, GETs, then INFO on a itself.
	var info *redis.StringCmd
	_, err := a.Pipelined(ctx, func(p redis.Pipeliner) error {
		for range 5 {
			p.Set(ctx, "k", "v", 0)
		}
		p.Incr(ctx, "k") // fails: not an integer
		p.Get(ctx, "missing")
		for range 7 {
			p.Get(ctx, "k")
		}
		info = p.Info(ctx, "commandstats")
		return nil
	})
	if err != nil && !strings.Contains(err.Error(), "not an integer") {
		t.Fatal(err)
	}
	if got := cmdstat(t, info.Val(), "get"); got != 8 {
		t.Errorf("same pipeline: cmdstat_get calls = %d, want 8\n%s", got, info.Val())
	}
	if got := cmdstat(t, info.Val(), "set"); got != 5 {
		t.Errorf("same pipeline: cmdstat_set calls = %d, want 5", got)
	}
	// A pipeline of GETs only: counted by the time a has the replies.
	if _, err := a.Pipelined(ctx, func(p redis.Pipeliner) error {
		for range 3 {
			p.Get(ctx, "k")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	// Another connection sees them all at once.
	other, err := b.Info(ctx, "commandstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]int{"get": 11, "set": 5, "incr": 1} {
		if got := cmdstat(t, other, name); got != want {
			t.Errorf("other connection: cmdstat_%s calls = %d, want %d", name, got, want)
		}
	}
	if !strings.Contains(other, "cmdstat_incr:calls=1,") || !strings.Contains(other, "failed_calls=1") {
		t.Errorf("INCR's failure not counted:\n%s", other)
	}
	h, err := b.Do(ctx, "LATENCY", "HISTOGRAM", "get").Slice()
	if err != nil || len(h) != 2 {
		t.Fatalf("LATENCY HISTOGRAM get = %v (%v)", h, err)
	}
	if m, ok := h[1].(map[any]any); ok {
		if m["calls"] != int64(11) {
			t.Errorf("LATENCY HISTOGRAM get calls = %v, want 11", m["calls"])
		}
	} else if l, ok := h[1].([]any); !ok || len(l) < 2 || l[1] != int64(11) {
		t.Errorf("LATENCY HISTOGRAM get = %v, want calls 11", h[1])
	}
	// a: 17 commands and INFO (plus go-redis's HELLO/CLIENT SETINFO at
	// connect, counted too); b: INFO commandstats, LATENCY, INFO stats.
	if got := infoField(t, b, "stats", "total_commands_processed") - total0; got < 21 {
		t.Errorf("total_commands_processed grew by %d, want at least 21", got)
	}
}
