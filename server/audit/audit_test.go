package audit

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func args(s ...string) [][]byte {
	out := make([][]byte, len(s))
	for i, a := range s {
		out[i] = []byte(a)
	}
	return out
}

func readRecords(t *testing.T, path string) []Record {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []Record
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("bad line %q: %v", sc.Text(), err)
		}
		out = append(out, r)
	}
	return out
}

// TestRedaction: each audited kind of command is recorded with what it
// did, and no password, hash, secret, value or code reaches the file.
func TestRedaction(t *testing.T) {
	const secret = "s3cr3t-PASSWORD"
	cases := []struct {
		name    string
		args    [][]byte
		errText string
		want    Record
	}{
		{"auth", args("AUTH", secret), "WRONGPASS invalid username-password pair or user is disabled.",
			Record{User: "default", Command: "auth", Args: []string{redacted}, Result: "WRONGPASS invalid username-password pair or user is disabled."}},
		{"auth", args("AUTH", "alice", secret), "", Record{User: "alice", Command: "auth", Args: []string{"alice", redacted}, Result: "ok"}},
		{"hello", args("HELLO", "3", "AUTH", "bob", secret, "SETNAME", "app"), "",
			Record{User: "bob", Command: "hello", Args: []string{"3", "AUTH", "bob", redacted, "SETNAME", "app"}, Result: "ok"}},
		{"acl|setuser", args("ACL", "SETUSER", "carol", "on", ">"+secret, "#"+strings.Repeat("ab", 32), "~app:*", "+@read"), "",
			Record{Command: "acl setuser", Args: []string{"carol", "on", redacted, redacted, "~app:*", "+@read"}, Result: "ok"}},
		{"acl|deluser", args("ACL", "DELUSER", "carol"), "", Record{Command: "acl deluser", Args: []string{"carol"}, Result: "ok"}},
		{"config|set", args("CONFIG", "SET", "requirepass", secret, "maxmemory", "100mb"), "",
			Record{Command: "config set", Args: []string{"requirepass", redacted, "maxmemory", "100mb"}, Result: "ok"}},
		{"config|set", args("CONFIG", "SET", "masterauth", secret), "ERR Invalid argument '" + secret + "' for CONFIG SET 'masterauth'",
			Record{Command: "config set", Args: []string{"masterauth", redacted}, Result: "ERR Invalid argument '" + redacted + "' for CONFIG SET 'masterauth'"}},
		{"function|load", args("FUNCTION", "LOAD", "REPLACE", "\x00asm"+secret), "",
			Record{Command: "function load", Args: []string{"REPLACE", "(19 bytes)"}, Result: "ok"}},
		{"function|restore", args("FUNCTION", "RESTORE", secret, "FLUSH"), "",
			Record{Command: "function restore", Args: []string{"(15 bytes)", "FLUSH"}, Result: "ok"}},
		{"flushall", args("FLUSHALL", "ASYNC"), "", Record{Command: "flushall", Args: []string{"ASYNC"}, Result: "ok"}},
		{"cluster|addnode", args("CLUSTER", "ADDNODE", "4", "10.0.0.4:7000"), "", Record{Command: "cluster addnode", Args: []string{"4", "10.0.0.4:7000"}, Result: "ok"}},
		{"region|promote", args("REGION", "PROMOTE"), "", Record{Command: "region promote", Args: []string{}, Result: "ok"}},
		{"client|kill", args("CLIENT", "KILL", "ID", "7"), "", Record{Command: "client kill", Args: []string{"ID", "7"}, Result: "ok"}},
		{"shutdown", args("SHUTDOWN", "NOSAVE"), "", Record{Command: "shutdown", Args: []string{"NOSAVE"}, Result: "ok"}},
		{"debug", args("DEBUG", "OBJECT", secret), "", Record{Command: "debug", Args: []string{"OBJECT", redacted}, Result: "ok"}},
		{"backup|create", args("BACKUP", "CREATE", "/backups/x"), "", Record{Command: "backup create", Args: []string{"/backups/x"}, Result: "ok"}},
	}
	path := filepath.Join(t.TempDir(), "audit.log")
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		if !l.Audited(c.name) {
			t.Fatalf("%s is not audited", c.name)
		}
		l.Record("default", "127.0.0.1:5000", c.name, c.args, c.errText)
	}
	for _, name := range []string{"get", "set", "config|get", "cluster|nodes", "acl|whoami", "function|list", "client|list"} {
		if l.Audited(name) {
			t.Errorf("%s is audited", name)
		}
	}
	// HELLO without AUTH and ACL LOG without RESET are not recorded.
	l.Record("default", "127.0.0.1:5000", "hello", args("HELLO", "3"), "")
	l.Record("default", "127.0.0.1:5000", "acl|log", args("ACL", "LOG"), "")
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(path)
	if strings.Contains(string(raw), secret) || strings.Contains(string(raw), "abab") {
		t.Fatalf("a secret reached the audit log:\n%s", raw)
	}
	got := readRecords(t, path)
	if len(got) != len(cases) {
		t.Fatalf("%d records, want %d:\n%s", len(got), len(cases), raw)
	}
	for i, c := range cases {
		g := got[i]
		if _, err := time.Parse(time.RFC3339Nano, g.Time); err != nil || !strings.HasSuffix(g.Time, "Z") {
			t.Errorf("%s: time %q is not RFC 3339 UTC", c.name, g.Time)
		}
		if g.Addr != "127.0.0.1:5000" {
			t.Errorf("%s: addr %q", c.name, g.Addr)
		}
		want := c.want
		if want.User == "" {
			want.User = "default"
		}
		if g.User != want.User || g.Command != want.Command || strings.Join(g.Args, "\x00") != strings.Join(want.Args, "\x00") || g.Result != want.Result {
			t.Errorf("%s:\n got  %+v\n want %+v", c.name, g, want)
		}
	}
}

// TestReopen: after the file is renamed away (log rotation), Reopen
// starts a new file at the path and records go there.
func TestReopen(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.log")
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l.Record("default", "a:1", "flushdb", args("FLUSHDB"), "")
	os.Rename(path, path+".1")
	l.Record("default", "a:1", "flushall", args("FLUSHALL"), "")
	if err := l.Reopen(); err != nil {
		t.Fatal(err)
	}
	l.Record("default", "a:1", "save", args("SAVE"), "")
	if got := readRecords(t, path+".1"); len(got) != 2 || got[1].Command != "flushall" {
		t.Fatalf("rotated file: %+v", got)
	}
	if got := readRecords(t, path); len(got) != 1 || got[0].Command != "save" {
		t.Fatalf("new file: %+v", got)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600", fi.Mode().Perm())
	}
}
