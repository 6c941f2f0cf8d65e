package server_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/cairndb/cairn/server"
	"github.com/cairndb/cairn/server/servertest"
)

// TestDataDirLock starts a second node on a running node's data dir: it
// must refuse with an error naming the dir and the owner's pid, and the
// first node must go on serving. Once the first stops, the dir is free.
func TestDataDirLock(t *testing.T) {
	a := servertest.Start(t)
	ca := a.Client(t)
	if err := ca.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}

	cfg := a.Cfg
	cfg.Port = servertest.FreePort(t)
	cfg.RaftAddr = "127.0.0.1:" + strconv.Itoa(servertest.FreePort(t))
	b, err := server.Start(cfg)
	if err == nil {
		b.Close()
		t.Fatal("a second node started on a data dir in use")
	}
	msg := err.Error()
	if !strings.Contains(msg, a.Dir()) || !strings.Contains(msg, "pid "+strconv.Itoa(os.Getpid())) || !strings.Contains(msg, "in use") {
		t.Fatalf("error does not name the dir and the owner: %v", err)
	}
	t.Logf("second node: %v", err)

	if v, err := ca.Get(ctx, "k").Result(); err != nil || v != "v" {
		t.Fatalf("first node after the refused start: GET = %q, %v", v, err)
	}
	if err := ca.Set(ctx, "k2", "v2", 0).Err(); err != nil {
		t.Fatalf("first node after the refused start: SET: %v", err)
	}

	// Released on Close: the same configuration starts now.
	a.Close()
	c := servertest.Restart(t, a.Cfg)
	if v, err := c.Client(t).Get(ctx, "k2").Result(); err != nil || v != "v2" {
		t.Fatalf("after restart: GET k2 = %q, %v", v, err)
	}
}

// TestDataDirLockProcess: a second cairn process on a running one's data
// dir exits with an error naming the dir and the first one's pid; the
// first keeps serving.
func TestDataDirLockProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process test skipped in -short mode")
	}
	bin := servertest.Binary(t)
	dir := filepath.Join(t.TempDir(), "data")
	a := servertest.StartProcess(t, bin, dir)
	ca := servertest.Client(t, a.Addr())
	if err := ca.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	lock, err := os.ReadFile(filepath.Join(dir, "LOCK"))
	if err != nil {
		t.Fatal(err)
	}
	pid := strings.TrimSpace(string(lock))

	out, err := exec.Command(bin, "--port", strconv.Itoa(servertest.FreePort(t)), "--dir", dir,
		"--raft-addr", "127.0.0.1:"+strconv.Itoa(servertest.FreePort(t))).CombinedOutput()
	if err == nil {
		t.Fatalf("second process on the same dir exited cleanly:\n%s", out)
	}
	want := "data dir " + dir + " is in use by another process (pid " + pid + ")"
	if !strings.Contains(string(out), want) {
		t.Fatalf("second process said:\n%s\nwant it to contain %q", out, want)
	}
	t.Logf("second process: %s", strings.TrimSpace(string(out)))
	if v, err := ca.Get(ctx, "k").Result(); err != nil || v != "v" {
		t.Fatalf("first process after the refused start: GET = %q, %v", v, err)
	}
	if err := ca.Set(ctx, "k", "w", 0).Err(); err != nil {
		t.Fatalf("first process after the refused start: SET: %v", err)
	}
}
