package web

import (
	"context"
	"strings"
	"testing"

	"github.com/cairndb/cairn/modules/modulestest"
)

// TestPermissionACLUser signs in as a real read-only ACL user of a real
// node: every page and view renders, every action button is disabled,
// every action answers 403 and nothing reaches the keyspace.
func TestPermissionACLUser(t *testing.T) {
	n, d := startNode(t)
	ctx := context.Background()
	rc := n.Client(t)
	args := []any{"ACL", "SETUSER", "viewer"}
	for _, r := range strings.Fields(ReadOnlyRules + " >viewerpw") {
		args = append(args, r)
	}
	if err := rc.Do(ctx, args...).Err(); err != nil {
		t.Fatal(err)
	}
	rc.Set(ctx, "k", "before", 0)
	c := newTester(t, d)
	c.signIn("viewer", "viewerpw")
	for _, p := range pageList {
		w := c.do("GET", p.Path, nil)
		if w.Code != 200 || strings.Contains(w.Body.String(), `class="error"`) && p.API != "users" && p.API != "ops" {
			t.Errorf("page %s as viewer: %d\n%.2000s", p.Path, w.Code, w.Body)
		}
		w = c.do("GET", "/api/"+p.API, nil)
		if w.Code != 200 {
			t.Errorf("GET /api/%s as viewer: %d %s", p.API, w.Code, w.Body)
			continue
		}
		for action, ok := range decode(t, w)["can"].(map[string]any) {
			// A KNN query is a read: the viewer may run it.
			if want := action == "search"; ok != want {
				t.Errorf("/api/%s: can %s = %v for the read-only user", p.API, action, ok)
			}
		}
	}
	page := c.do("GET", "/modules", nil).Body.String()
	if !strings.Contains(page, `id="upload-btn" disabled`) || !strings.Contains(page, `id="call-btn" disabled`) {
		t.Fatalf("modules page buttons not disabled:\n%s", page)
	}
	body, ct := multipartUpload(t, nil, "m.wasm", modulestest.Fixture(t, "test"))
	expect(t, c.do("POST", "/api/modules", body, csrfHeader, c.csrf, "Content-Type", ct), 403, "NOPERM")
	for _, r := range []struct {
		method, path string
		body         any
	}{
		{"PUT", "/api/key", map[string]string{"key": "k", "value": "x"}},
		{"PUT", "/api/key", map[string]string{"key": "h", "field": "f", "value": "x"}},
		{"POST", "/api/key/ttl", map[string]any{"key": "k", "seconds": 5}},
		{"DELETE", "/api/key?key=k", nil},
		{"POST", "/api/modules/call", map[string]any{"function": "f"}},
		{"DELETE", "/api/modules/lib", nil},
		{"POST", "/api/ops/backup", map[string]any{}},
		{"POST", "/api/ops/rebalance", map[string]any{}},
		{"POST", "/api/ops/promote", map[string]any{}},
	} {
		expect(t, c.act(r.method, r.path, r.body), 403, "NOPERM")
	}
	if v, ttl := rc.Get(ctx, "k").Val(), rc.TTL(ctx, "k").Val(); v != "before" || ttl >= 0 {
		t.Fatalf("k = %q ttl %v after the read-only user's refused actions", v, ttl)
	}
	// The read-only user still reads keys.
	expect(t, c.do("GET", "/api/key?key=k", nil), 200, "before")
	// The viewer may not run ACL DRYRUN: the dashboard asks through its
	// service connection after the first refusal, so the node's ACL LOG
	// holds that one refusal, not one per button and page.
	log, err := rc.Do(ctx, "ACL", "LOG").Slice()
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range log {
		f := e.([]any)
		if f[5] == "acl|dryrun" && f[1] != int64(1) {
			t.Fatalf("ACL LOG %v: the dashboard's ACL DRYRUN refused more than once", f)
		}
	}
}
