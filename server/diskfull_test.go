package server_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lni/vfs"
	"github.com/redis/go-redis/v9"

	"github.com/cairndb/cairn/server"
	"github.com/cairndb/cairn/server/servertest"
	"github.com/cairndb/cairn/server/shard"
)

// TestDiskFullMISCONF: when the log's file system runs low on space
// (reported through a FaultFS), writes answer MISCONF before anything is
// proposed, reads go on, and writes are accepted again once space returns;
// nothing acknowledged is lost and nothing refused was applied.
func TestDiskFullMISCONF(t *testing.T) {
	ffs := shard.NewFaultFS(vfs.Default)
	n := servertest.Start(t, func(c *server.Config) { c.FS = ffs })
	c := n.Client(t)
	if err := c.Set(ctx, "a", "1", 0).Err(); err != nil {
		t.Fatal(err)
	}

	ffs.SetDiskUsage(&vfs.DiskUsage{AvailBytes: 10 << 20, TotalBytes: 100 << 30, UsedBytes: 100<<30 - 10<<20})
	// Until the guard notices, writes still succeed: each try uses its own
	// key, so the one refused is known (a DEL after a SET could itself be
	// refused and leave the key behind).
	var err error
	refused := ""
	for i, deadline := 0, time.Now().Add(5*time.Second); time.Now().Before(deadline); i++ {
		time.Sleep(20 * time.Millisecond)
		k := "probe" + strconv.Itoa(i)
		if err = c.Set(ctx, k, "x", 0).Err(); err != nil {
			refused = k
			break
		}
	}
	if err == nil || !strings.HasPrefix(err.Error(), "MISCONF ") || !strings.Contains(err.Error(), "10.0 MB free") {
		t.Fatalf("SET on a full disk: %v, want MISCONF ... 10.0 MB free ...", err)
	}
	t.Logf("client sees: %v", err)
	if err := c.Incr(ctx, "ctr").Err(); err == nil || !strings.HasPrefix(err.Error(), "MISCONF ") {
		t.Fatalf("INCR on a full disk: %v", err)
	}
	_, err = c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, "refused", "y", 0)
		return nil
	})
	if err == nil || !strings.Contains(err.Error(), "MISCONF") {
		t.Fatalf("EXEC on a full disk: %v", err)
	}
	if got, err := c.Get(ctx, "a").Result(); err != nil || got != "1" {
		t.Fatalf("GET on a full disk = %q, %v", got, err)
	}

	ffs.SetDiskUsage(nil) // space is back
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if err = c.Set(ctx, "b", "2", 0).Err(); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("writes still refused after space returned: %v", err)
		}
	}

	cfg := n.Cfg
	n.Close()
	c2 := servertest.Restart(t, cfg).Client(t)
	for k, want := range map[string]string{"a": "1", "b": "2"} {
		if got := c2.Get(ctx, k).Val(); got != want {
			t.Fatalf("%s = %q after restart, want %q", k, got, want)
		}
	}
	if ex := c2.Exists(ctx, refused, "refused", "ctr").Val(); ex != 0 {
		t.Fatalf("%d refused writes were applied", ex)
	}
}
