package server_test

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cairndb/cairn/server"
	"github.com/cairndb/cairn/server/servertest"
)

type auditLine struct {
	Time, User, Addr, Command, Result string
	Args                              []string
}

func auditLines(t *testing.T, path string) []auditLine {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []auditLine
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var l auditLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("bad audit line %q: %v", sc.Text(), err)
		}
		out = append(out, l)
	}
	return out
}

// TestAuditLog drives each kind of audited command through a real node
// (connection commands, batched writes, a transaction) and checks the
// audit log holds one line for each, with its result, and no password or
// value; a SIGHUP after the file was renamed starts a new one.
func TestAuditLog(t *testing.T) {
	const pass, value = "pa55-w0rd-XYZ", "VALUE-never-logged-77"
	path := filepath.Join(t.TempDir(), "audit.log")
	n := servertest.Start(t, func(c *server.Config) {
		c.RequirePass = pass
		c.AuditLog = path
	})
	anon := n.Client(t)
	if err := anon.Do(ctx, "AUTH", "wrong-"+pass).Err(); err == nil {
		t.Fatal("AUTH with a wrong password succeeded")
	}
	c := n.Client(t, func(o *redis.Options) { o.Password = pass })
	c.Do(ctx, "HELLO", "2", "AUTH", "default", pass)
	c.Set(ctx, "k", value, 0)
	c.Do(ctx, "CONFIG", "SET", "maxmemory-policy", "allkeys-lru")
	c.Do(ctx, "CONFIG", "SET", "requirepass", pass)
	c.Do(ctx, "CONFIG", "RESETSTAT")
	c.Do(ctx, "CONFIG", "REWRITE")
	c.Do(ctx, "FUNCTION", "LOAD", value)
	c.Do(ctx, "FUNCTION", "DELETE", "nosuchlib")
	c.Do(ctx, "FUNCTION", "FLUSH")
	c.Do(ctx, "FUNCTION", "RESTORE", value)
	c.Do(ctx, "FLUSHDB")
	c.Do(ctx, "FLUSHALL")
	tx := c.TxPipeline()
	tx.Set(ctx, "k2", value, 0)
	tx.FlushDB(ctx)
	tx.Exec(ctx)
	c.Do(ctx, "CLIENT", "KILL", "ID", "999999")
	c.Do(ctx, "REGION", "PROMOTE")
	c.Do(ctx, "CLUSTER", "ADDNODE", "9", "127.0.0.1:1")
	c.Do(ctx, "SAVE")
	c.Get(ctx, "k")
	// An ACL user: its change is audited without the password, and what
	// it runs is recorded under its name.
	if err := c.Do(ctx, "ACL", "SETUSER", "ops", "on", ">"+pass, "+@all", "~*").Err(); err != nil {
		t.Fatal(err)
	}
	ops := n.Client(t, func(o *redis.Options) { o.Username, o.Password = "ops", pass })
	if err := ops.Do(ctx, "FLUSHDB").Err(); err != nil {
		t.Fatal(err)
	}
	// Refused before running: NOPERM for a user without the command,
	// NOAUTH for a connection that never authenticated.
	if err := c.Do(ctx, "ACL", "SETUSER", "reader", "on", ">"+pass, "+get", "~*").Err(); err != nil {
		t.Fatal(err)
	}
	reader := n.Client(t, func(o *redis.Options) { o.Username, o.Password = "reader", pass })
	if err := reader.Do(ctx, "FLUSHALL").Err(); err == nil || !strings.HasPrefix(err.Error(), "NOPERM") {
		t.Fatalf("FLUSHALL by reader: %v, want NOPERM", err)
	}
	if err := anon.Do(ctx, "CONFIG", "SET", "maxmemory-policy", "noeviction").Err(); err == nil || !strings.HasPrefix(err.Error(), "NOAUTH") {
		t.Fatalf("CONFIG SET unauthenticated: %v, want NOAUTH", err)
	}

	want := []string{"auth", "hello", "config set", "config set", "config resetstat", "config rewrite",
		"function load", "function delete", "function flush", "function restore", "flushdb", "flushall",
		"flushdb", "client kill", "region promote", "cluster addnode", "save", "acl setuser", "flushdb", "acl setuser", "flushall", "config set"}
	var got []auditLine
	deadline := time.Now().Add(5 * time.Second)
	for {
		got = auditLines(t, path)
		if len(got) >= len(want) || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	var cmds []string
	for _, l := range got {
		cmds = append(cmds, l.Command)
	}
	// go-redis may send its own HELLO/AUTH on connect: keep the order of
	// ours, ignore extra auth/hello lines.
	i := 0
	for _, l := range got {
		if i < len(want) && l.Command == want[i] {
			i++
		}
	}
	if i != len(want) {
		t.Fatalf("audit log commands %v, want (in order) %v", cmds, want)
	}
	if l := got[len(got)-2]; l.Command != "flushall" || l.User != "reader" || !strings.HasPrefix(l.Result, "NOPERM") {
		t.Fatalf("line %+v, want FLUSHALL refused for user reader", l)
	}
	if l := got[len(got)-1]; l.Command != "config set" || !strings.HasPrefix(l.Result, "NOAUTH") {
		t.Fatalf("last line %+v, want CONFIG SET refused with NOAUTH", l)
	}
	if !slices.ContainsFunc(got, func(l auditLine) bool { return l.Command == "flushdb" && l.User == "ops" }) {
		t.Fatalf("no FLUSHDB line for user ops in %+v", got)
	}
	if got[0].Command != "auth" || !strings.HasPrefix(got[0].Result, "WRONGPASS") {
		t.Fatalf("first line %+v, want the failed AUTH", got[0])
	}
	for _, l := range got {
		if l.Addr == "" || l.User == "" || l.Time == "" || l.Result == "" {
			t.Fatalf("incomplete line %+v", l)
		}
		if l.Command == "flushall" && l.User == "default" && l.Result != "ok" {
			t.Fatalf("FLUSHALL result %q", l.Result)
		}
	}
	raw, _ := os.ReadFile(path)
	for _, s := range []string{pass, value} {
		if strings.Contains(string(raw), s) {
			t.Fatalf("audit log holds %q:\n%s", s, raw)
		}
	}

	// Rotation: rename, SIGHUP, the next record goes to a new file.
	os.Rename(path, path+".1")
	syscall.Kill(os.Getpid(), syscall.SIGHUP)
	// The reopen happens on the signal goroutine: a FLUSHDB may still land
	// in the old file just before the new one is created, so write until
	// one is recorded in the new file.
	deadline = time.Now().Add(5 * time.Second)
	for {
		c.Do(ctx, "FLUSHDB")
		if b, err := os.ReadFile(path); (err == nil && strings.Contains(string(b), `"flushdb"`)) || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("%d audit lines before rotation", len(got))
	if lines := auditLines(t, path); len(lines) == 0 || lines[len(lines)-1].Command != "flushdb" {
		t.Fatalf("after SIGHUP the new file holds %+v", lines)
	}
}
