package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cairndb/cairn/server/servertest"
)

// TestConfigRewriteRoundTrip: CONFIG REWRITE writes a file that the next
// start accepts, and the rewritten node-local values are in effect after
// the restart (the replicated ones come back from the log).
func TestConfigRewriteRoundTrip(t *testing.T) {
	bin := servertest.Binary(t)
	dir := t.TempDir()
	conf := filepath.Join(dir, "cairn.conf")
	if err := os.WriteFile(conf, []byte("# kept comment\nmaxclients 50\nsnapshot-entries 1000\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := servertest.StartProcess(t, bin, filepath.Join(dir, "data"), "--config", conf)
	ctx := context.Background()
	c := redis.NewClient(&redis.Options{Addr: p.Addr(), MaxRetries: -1})
	defer c.Close()
	for _, kv := range [][2]string{{"timeout", "7"}, {"hz", "50"}, {"maxclients", "99"}, {"slowlog-log-slower-than", "-1"},
		{"tcp-keepalive", "0"}, {"loglevel", "verbose"}, {"hash-max-listpack-entries", "3"}} {
		if err := c.ConfigSet(ctx, kv[0], kv[1]).Err(); err != nil {
			t.Fatalf("CONFIG SET %s: %v", kv[0], err)
		}
	}
	if err := c.Do(ctx, "CONFIG", "REWRITE").Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := readConfig(conf); err != nil {
		t.Fatalf("rewritten file refused: %v", err)
	}
	c.Close()
	p.Kill()
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	c = redis.NewClient(&redis.Options{Addr: p.Addr(), MaxRetries: -1})
	defer c.Close()
	deadline := time.Now().Add(30 * time.Second)
	for c.Ping(ctx).Err() != nil && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	want := map[string]string{"timeout": "7", "hz": "50", "maxclients": "99", "slowlog-log-slower-than": "-1",
		"tcp-keepalive": "0", "snapshot-entries": "1000", "hash-max-listpack-entries": "3"}
	for k, v := range want {
		got, err := c.ConfigGet(ctx, k).Result()
		if err != nil || got[k] != v {
			t.Errorf("after restart %s = %q (%v), want %q", k, got[k], err, v)
		}
	}
	b, _ := os.ReadFile(conf)
	if string(b[:15]) != "# kept comment\n" {
		t.Errorf("comment lost:\n%s", b)
	}
}
