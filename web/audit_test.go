package web

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairndb/cairn/modules/modulestest"
	"github.com/cairndb/cairn/server"
)

// auditRecord is the part of a node's audit log line (server/audit) the
// dashboard's test reads.
type auditRecord struct {
	User, Addr, Command, Result string
	Args                        []string
}

func readAudit(t *testing.T, path string) []auditRecord {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []auditRecord
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r auditRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("audit line %q: %v", sc.Text(), err)
		}
		out = append(out, r)
	}
	return out
}

// TestAuditDashboardActions: the dashboard's actions reach the node's
// audit log (--audit-log) as commands of the signed-in ACL user, from
// the dashboard's connection; a refused sign-in is recorded there too
// (the dashboard's AUTH), and a read-only user's refused action never
// reaches the node.
func TestAuditDashboardActions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	n, d := startNode(t, func(c *server.Config) {
		c.AuditLog = path
		c.BackupDir = filepath.Join(t.TempDir(), "backups")
	})
	ctx := context.Background()
	rc := n.Client(t)
	if err := rc.Do(ctx, "ACL", "SETUSER", "ops", "on", ">ops-pw", "~*", "&*", "+@all").Err(); err != nil {
		t.Fatal(err)
	}
	args := []any{"ACL", "SETUSER", "viewer", ">viewer-pw"}
	for _, r := range strings.Fields(ReadOnlyRules) {
		args = append(args, r)
	}
	if err := rc.Do(ctx, args...).Err(); err != nil {
		t.Fatal(err)
	}

	c := newTester(t, d)
	expect(t, c.do("POST", "/api/session", map[string]string{"user": "ops", "pass": "wrong-pw"}), 401, "WRONGPASS")
	c.signIn("ops", "ops-pw")
	body, ct := multipartUpload(t, map[string]string{"name": "auditlib"}, "m.wasm", modulestest.Fixture(t, "test"))
	expect(t, c.do("POST", "/api/modules", body, csrfHeader, c.csrf, "Content-Type", ct), 200, "auditlib")
	expect(t, c.act("DELETE", "/api/modules/auditlib", nil), 200, "")
	expect(t, c.act("POST", "/api/ops/backup", map[string]any{"args": []string{"from-dashboard"}}), 200, "from-dashboard")

	ro := newTester(t, d)
	ro.signIn("viewer", "viewer-pw")
	expect(t, ro.act("POST", "/api/ops/backup", map[string]any{"args": []string{"refused"}}), 403, "NOPERM")

	want := []struct{ user, cmd, result, arg string }{
		{"ops", "auth", "WRONGPASS", ""},
		{"ops", "auth", "ok", ""},
		{"ops", "function load", "ok", ""},
		{"ops", "function delete", "ok", "auditlib"},
		{"ops", "backup create", "ok", "from-dashboard"},
		{"viewer", "auth", "ok", ""},
	}
	var got []auditRecord
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		got = nil
		for _, r := range readAudit(t, path) {
			if r.User != "default" { // the test's own set-up commands
				got = append(got, r)
			}
		}
		if len(got) >= len(want) || time.Now().After(deadline) {
			break
		}
	}
	i := 0
	for _, r := range got {
		if r.Command == "backup create" && strings.Contains(strings.Join(r.Args, " "), "refused") {
			t.Fatalf("the read-only user's refused BACKUP CREATE reached the node: %+v", r)
		}
		if i < len(want) && r.User == want[i].user && r.Command == want[i].cmd && strings.HasPrefix(r.Result, want[i].result) &&
			(want[i].arg == "" || strings.Join(r.Args, " ") == want[i].arg) {
			if !strings.HasPrefix(r.Addr, "127.0.0.1:") {
				t.Fatalf("record %+v: want the dashboard's connection address", r)
			}
			i++
		}
	}
	if i != len(want) {
		t.Fatalf("audit log (non-default users) %+v\nmatched %d of %+v", got, i, want)
	}
	for _, r := range got {
		for _, a := range r.Args {
			if strings.Contains(a, "pw") || strings.Contains(a, "asm") {
				t.Fatalf("audit record %+v holds a password or the module bytes", r)
			}
		}
	}
}

// TestOpsBackups: the operations page lists the node's backups with
// BACKUP LIST's details and INFO backups, and creates one (named or not).
func TestOpsBackups(t *testing.T) {
	n, d := startNode(t, func(c *server.Config) { c.BackupDir = filepath.Join(t.TempDir(), "backups") })
	n.Client(t).Set(context.Background(), "k", "v", 0)
	c := newTester(t, d)
	c.signIn("default", "")
	expect(t, c.do("GET", "/ops", nil), 200, "no backups")
	expect(t, c.act("POST", "/api/ops/backup", map[string]any{"name": "nightly-1"}), 200, `"text":"nightly-1"`)
	expect(t, c.act("POST", "/api/ops/backup", map[string]any{}), 200, `"text":"backup-`)
	expect(t, c.act("POST", "/api/ops/backup", map[string]any{"name": "nightly-1"}), 400, "already exists")
	expect(t, c.act("POST", "/api/ops/backup", map[string]any{"name": "../x"}), 400, "invalid backup name")
	v := decode(t, c.do("GET", "/api/ops", nil))["view"].(map[string]any)
	bs := v["Backups"].([]any)
	if len(bs) != 2 {
		t.Fatalf("Backups %v, want 2", bs)
	}
	b := bs[0].(map[string]any)
	if b["Name"] != "nightly-1" || b["Status"] != "complete" || b["Keys"] != float64(1) || b["Scheduled"] != false || b["Created"] == "" {
		t.Fatalf("first backup %v", b)
	}
	info := map[string]string{}
	for _, e := range v["BackupInfo"].([]any) {
		m := e.(map[string]any)
		info[m["K"].(string)] = m["V"].(string)
	}
	if info["backups"] != "2" || info["backup_in_progress"] != "0" {
		t.Fatalf("INFO backups %v", info)
	}
	page := c.do("GET", "/ops", nil).Body.String()
	for _, want := range []string{`<tr class="backup"><td>nightly-1</td>`, `id="backup-progress" hidden`, `<th>backup_dir</th>`} {
		if !strings.Contains(page, want) {
			t.Fatalf("ops page lacks %q:\n%s", want, page)
		}
	}
}
