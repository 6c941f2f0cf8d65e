package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cairndb/cairn/server"
	"github.com/cairndb/cairn/server/atrest"
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

	// One node of a new 2-shard cluster.
	cdir := filepath.Join(t.TempDir(), "c1")
	out.Reset()
	if code := run([]string{"restore", "--from", bdir, "--dir", cdir, "--node-id", "1", "--peers", "1=127.0.0.1:1,2=127.0.0.1:2", "--shards", "2", "--quiet"}, &out, &errb); code != 0 {
		t.Fatalf("cluster restore exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "as node 1 of a new cluster: 2 keys in 2 shards") {
		t.Errorf("cluster restore output %q", out.String())
	}
	for _, f := range []string{"node.id", "restore/seed.json", "restore/shard-1.snap", "restore/shard-2.snap"} {
		if _, err := os.Stat(filepath.Join(cdir, f)); err != nil {
			t.Errorf("cluster restore: %v", err)
		}
	}

	// An encrypted backup: without the key a clear error (exit 1).
	keyFile := filepath.Join(t.TempDir(), "keys")
	os.WriteFile(keyFile, atrest.FormatKeys(map[uint32][]byte{1: bytes.Repeat([]byte{3}, atrest.KeySize)}), 0o600)
	ebdir := filepath.Join(t.TempDir(), "ebackups")
	esrc := servertest.Start(t, func(c *server.Config) { c.BackupDir = ebdir; c.EncryptionKeyFile = keyFile })
	if err := esrc.Client(t).Do(ctx, "BACKUP", "CREATE", "e").Err(); err != nil {
		t.Fatal(err)
	}
	errb.Reset()
	if code := run([]string{"restore", "--from", ebdir, "--dir", filepath.Join(t.TempDir(), "e"), "--quiet"}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "backup is encrypted") {
		t.Errorf("encrypted backup without the key: exit %d, %q", code, errb.String())
	}
	errb.Reset()
	if code := run([]string{"restore", "--from", ebdir, "--dir", filepath.Join(t.TempDir(), "e"), "--encryption-key-file", keyFile, "--raft-addr", "127.0.0.1:" + strconv.Itoa(servertest.FreePort(t)), "--quiet"}, &out, &errb); code != 0 {
		t.Errorf("encrypted backup with the key: exit %d, %q", code, errb.String())
	}

	for _, args := range [][]string{{"restore"}, {"restore", "--from", bdir}, {"restore", "--from", bdir, "--dir", "x", "--to-time", "yesterday"},
		{"restore", "--from", bdir, "--dir", "x", "--peers", "1=a:1"}, {"restore", "--from", bdir, "--dir", "x", "--node-id", "1", "--shards", "2"},
		{"restore", "--from", bdir, "--dir", "x", "--archive", bdir}} {
		if code := run(args, &out, &errb); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
	errb.Reset()
	if code := run([]string{"restore", "--from", bdir, "--dir", dir, "--quiet"}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "not empty") {
		t.Errorf("restore into a used dir: exit %d, %q", code, errb.String())
	}
}

// TestRestoreSubcommandToTime: `cairn restore --to-time T --archive DIR`
// as a user runs it: the state at T (a key written before it, not the one
// after), a line per shard with where it stands, and the archive of the
// other directory read too (here an empty one: nothing to add).
func TestRestoreSubcommandToTime(t *testing.T) {
	ctx := context.Background()
	bdir := filepath.Join(t.TempDir(), "backups")
	src := servertest.Start(t, func(c *server.Config) { c.BackupDir = bdir; c.LogArchive = true })
	c := src.Client(t)
	c.Set(ctx, "a", "1", 0)
	if err := c.Do(ctx, "BACKUP", "CREATE", "b").Err(); err != nil {
		t.Fatal(err)
	}
	c.Set(ctx, "before", "1", 0)
	time.Sleep(10 * time.Millisecond)
	at := time.Now().UTC()
	time.Sleep(10 * time.Millisecond)
	c.Set(ctx, "after", "1", 0)
	src.ArchiveSync()

	dir := filepath.Join(t.TempDir(), "new")
	raft := "127.0.0.1:" + strconv.Itoa(servertest.FreePort(t))
	other := t.TempDir()
	var out, errb bytes.Buffer
	if code := run([]string{"restore", "--from", bdir, "--dir", dir, "--raft-addr", raft, "--to-time", at.Format(time.RFC3339Nano), "--archive", other, "--quiet"}, &out, &errb); code != 0 {
		t.Fatalf("restore exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "shard 1: log index ") || !strings.Contains(out.String(), ": 2 keys at log index") {
		t.Errorf("restore output %q", out.String())
	}
	n := servertest.Restart(t, server.Config{Port: servertest.FreePort(t), Dir: dir, RaftAddr: raft})
	if e, _ := n.Client(t).Exists(ctx, "a", "before", "after").Result(); e != 2 {
		t.Fatalf("EXISTS a before after = %d, want 2", e)
	}
}
