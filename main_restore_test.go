package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/cairndb/cairn/server"
	"github.com/cairndb/cairn/server/servertest"
)

// TestRestoreSubcommand runs `cairn restore` as a user does: a backup
// taken with BACKUP CREATE, restored into a new dir (progress as log
// lines, not a terminal), then served by a node started on that dir.
// Bad flags exit 2; a refused restore exits 1 with the reason.
func TestRestoreSubcommand(t *testing.T) {
	ctx := context.Background()
	bdir := filepath.Join(t.TempDir(), "backups")
	src := servertest.Start(t, func(c *server.Config) { c.BackupDir = bdir })
	c := src.Client(t)
	c.Set(ctx, "a", "1", 0)
	c.HSet(ctx, "h", "f", "v")
	if err := c.Do(ctx, "BACKUP", "CREATE", "b").Err(); err != nil {
		t.Fatal(err)
	}

	dir := filepath.Join(t.TempDir(), "new")
	raft := "127.0.0.1:" + strconv.Itoa(servertest.FreePort(t))
	var out, errb bytes.Buffer
	if code := run([]string{"restore", "--from", bdir, "--dir", dir, "--raft-addr", raft}, &out, &errb); code != 0 {
		t.Fatalf("restore exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "restored backup b into "+dir+": 2 keys") || !strings.Contains(errb.String(), "restore: import 1/1 (100%)") {
		t.Errorf("restore output %q, progress %q", out.String(), errb.String())
	}
	n := servertest.Restart(t, server.Config{Port: servertest.FreePort(t), Dir: dir, RaftAddr: raft})
	if v, _ := n.Client(t).HGet(ctx, "h", "f").Result(); v != "v" {
		t.Fatalf("restored HGET h f = %q", v)
	}

	for _, args := range [][]string{{"restore"}, {"restore", "--from", bdir}, {"restore", "--from", bdir, "--dir", "x", "--to-time", "yesterday"},
		{"restore", "--from", bdir, "--dir", "x", "--peers", "1=a:1"}} {
		if code := run(args, &out, &errb); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
	errb.Reset()
	if code := run([]string{"restore", "--from", bdir, "--dir", dir, "--quiet"}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "not empty") {
		t.Errorf("restore into a used dir: exit %d, %q", code, errb.String())
	}
}
