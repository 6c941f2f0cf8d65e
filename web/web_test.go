package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cairndb/cairn/modules/modulestest"
	"github.com/cairndb/cairn/server"
	"github.com/cairndb/cairn/server/servertest"
)

// tester drives a Dashboard through httptest as one browser would: it
// keeps the cookies and the session's CSRF token.
type tester struct {
	t       *testing.T
	d       *Dashboard
	cookies map[string]*http.Cookie
	csrf    string
}

func newDashboard(t *testing.T, dialer Dialer, mod ...func(*Config)) *Dashboard {
	cfg := Config{Dialer: dialer, SampleEvery: 100 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	for _, m := range mod {
		m(&cfg)
	}
	d := New(cfg)
	t.Cleanup(d.Close)
	return d
}

func newTester(t *testing.T, d *Dashboard) *tester {
	return &tester{t: t, d: d, cookies: map[string]*http.Cookie{}}
}

// do sends a request; body may be nil, a string (sent as is) or a value
// sent as JSON.
func (c *tester) do(method, path string, body any, hdr ...string) *httptest.ResponseRecorder {
	c.t.Helper()
	var rd io.Reader
	ct := ""
	switch b := body.(type) {
	case nil:
	case string:
		rd, ct = strings.NewReader(b), "application/x-www-form-urlencoded"
	case *bytes.Buffer:
		rd = b
	default:
		js, _ := json.Marshal(b)
		rd, ct = bytes.NewReader(js), "application/json"
	}
	req := httptest.NewRequest(method, path, rd)
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	for _, ck := range c.cookies {
		req.AddCookie(ck)
	}
	w := httptest.NewRecorder()
	c.d.ServeHTTP(w, req)
	for _, ck := range w.Result().Cookies() {
		if ck.MaxAge < 0 {
			delete(c.cookies, ck.Name)
		} else {
			c.cookies[ck.Name] = ck
		}
	}
	return w
}

// act sends a state-changing request with the CSRF token.
func (c *tester) act(method, path string, body any) *httptest.ResponseRecorder {
	c.t.Helper()
	return c.do(method, path, body, csrfHeader, c.csrf)
}

func (c *tester) signIn(user, pass string) {
	c.t.Helper()
	w := c.do("POST", "/api/session", map[string]string{"user": user, "pass": pass})
	if w.Code != 200 {
		c.t.Fatalf("sign in as %s: %d %s", user, w.Code, w.Body)
	}
	var r struct{ CSRF string }
	json.Unmarshal(w.Body.Bytes(), &r)
	c.csrf = r.CSRF
}

func decode(t *testing.T, w *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
		t.Fatalf("not JSON (%d): %s", w.Code, w.Body)
	}
	return m
}

func expect(t *testing.T, w *httptest.ResponseRecorder, code int, contains string) {
	t.Helper()
	if w.Code != code || !strings.Contains(w.Body.String(), contains) {
		t.Fatalf("got %d %q, want %d containing %q", w.Code, w.Body.String(), code, contains)
	}
}

func startNode(t *testing.T, mod ...func(*server.Config)) (*servertest.Node, *Dashboard) {
	return startNodeWith(t, nil, mod...)
}

// startNodeWith starts a node and its dashboard with cfg adjusting the
// dashboard's Config (before its background goroutine starts).
func startNodeWith(t *testing.T, cfg func(*Config), mod ...func(*server.Config)) (*servertest.Node, *Dashboard) {
	n := servertest.Start(t, mod...)
	if cfg == nil {
		cfg = func(*Config) {}
	}
	return n, newDashboard(t, RedisDialer(n.Addr()), cfg)
}

func TestSignIn(t *testing.T) {
	n, d := startNodeWith(t, func(c *Config) { c.ServicePass = "s3cret" }, func(c *server.Config) { c.RequirePass = "s3cret" })
	c := newTester(t, d)
	expect(t, c.do("POST", "/api/session", map[string]string{"user": "default", "pass": "nope"}), 401, "WRONGPASS")
	expect(t, c.do("POST", "/api/session", map[string]string{"user": "default", "pass": ""}), 401, "")
	expect(t, c.do("POST", "/api/session", "user=default"), 400, "JSON")
	c.signIn("default", "s3cret")
	ck := c.cookies[cookieName]
	if ck == nil || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Secure {
		t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Strict, not Secure over plain HTTP", ck)
	}
	expect(t, c.do("GET", "/api/session", nil), 200, `"user":"default"`)
	// The session's commands really run as a client of the node.
	expect(t, c.act("PUT", "/api/key", map[string]string{"key": "k", "value": "v"}), 200, "OK")
	if got := n.Client(t, func(o *redis.Options) { o.Password = "s3cret" }).Get(context.Background(), "k").Val(); got != "v" {
		t.Fatalf("GET k = %q", got)
	}
	expect(t, c.act("DELETE", "/api/session", nil), 200, "ok")
	expect(t, c.do("GET", "/api/overview", nil), 401, "not signed in")
}

func TestSignInNoPassword(t *testing.T) {
	_, d := startNode(t)
	c := newTester(t, d)
	c.signIn("", "") // the default user, no requirepass
	expect(t, c.do("GET", "/api/session", nil), 200, `"user":"default"`)
}

func TestLoginForm(t *testing.T) {
	_, d := startNode(t)
	c := newTester(t, d)
	expect(t, c.do("GET", "/", nil), 303, "")
	w := c.do("GET", "/login", nil)
	expect(t, w, 200, `name="csrf"`)
	tok := c.cookies[loginCookie].Value
	// A cross-site post carries no login cookie / a different token.
	forged := newTester(t, d)
	expect(t, forged.do("POST", "/login", "user=default&pass=&csrf="+tok), 403, "forged")
	expect(t, c.do("POST", "/login", "user=default&pass=&csrf=wrong"), 403, "forged")
	w = c.do("POST", "/login", "user=default&pass=&csrf="+url.QueryEscape(tok))
	if w.Code != 303 || w.Header().Get("Location") != "/" || c.cookies[cookieName] == nil {
		t.Fatalf("login form: %d %v", w.Code, w.Header())
	}
	expect(t, c.do("GET", "/", nil), 200, "Slot map")
	// Signing out needs the CSRF token too.
	expect(t, c.do("POST", "/logout", "csrf=bad"), 403, "CSRF")
}

func TestExpiredSession(t *testing.T) {
	// No sampler: the background goroutine then only wakes once a
	// minute, so the test may swap the sessions' clock.
	_, d := startNodeWith(t, func(c *Config) { c.SampleEvery = -1 })
	c := newTester(t, d)
	c.signIn("default", "")
	now := time.Now()
	d.sessions.now = func() time.Time { return now.Add(31 * time.Minute) }
	expect(t, c.do("GET", "/api/overview", nil), 401, "expired")
	expect(t, c.do("GET", "/keys", nil), 303, "")
	d.sessions.now = time.Now
	expect(t, c.do("GET", "/api/overview", nil), 401, "expired") // gone for good
}

func TestCSRFForgery(t *testing.T) {
	n, d := startNode(t)
	c := newTester(t, d)
	c.signIn("default", "")
	other := newTester(t, d)
	other.signIn("default", "")
	rc := n.Client(t)
	ctx := context.Background()
	rc.Set(ctx, "k", "orig", 0)
	for _, r := range []struct {
		method, path string
		body         any
	}{
		{"PUT", "/api/key", map[string]string{"key": "k", "value": "x"}},
		{"POST", "/api/key/ttl", map[string]any{"key": "k", "seconds": 5}},
		{"DELETE", "/api/key?key=k", nil},
		{"POST", "/api/modules/call", map[string]any{"function": "f"}},
		{"DELETE", "/api/modules/lib", nil},
		{"POST", "/api/indexes/idx/knn", map[string]any{"vector": "1,2"}},
		{"POST", "/api/ops/backup", map[string]any{}},
		{"POST", "/api/ops/moveslots", map[string]any{"shard": 1, "start": 0, "end": 1}},
		{"POST", "/api/ops/rebalance", map[string]any{}},
		{"POST", "/api/ops/promote", map[string]any{}},
		{"POST", "/api/ops/promote", map[string]any{"force": true, "max_loss": 0}},
		{"POST", "/api/ops/replica/add", map[string]any{"shard": 1, "node": 2}},
		{"POST", "/api/ops/replica/remove", map[string]any{"shard": 1, "node": 2}},
		{"DELETE", "/api/session", nil},
	} {
		expect(t, c.do(r.method, r.path, r.body), 403, "CSRF")                         // no token
		expect(t, c.do(r.method, r.path, r.body, csrfHeader, "forged"), 403, "CSRF")   // wrong token
		expect(t, c.do(r.method, r.path, r.body, csrfHeader, other.csrf), 403, "CSRF") // another session's token
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("file", "x.wasm")
	fw.Write(modulestest.Fixture(t, "test"))
	mw.Close()
	expect(t, c.do("POST", "/api/modules", &buf, "Content-Type", mw.FormDataContentType()), 403, "CSRF")
	if v := rc.Get(ctx, "k").Val(); v != "orig" || rc.TTL(ctx, "k").Val() != -1 {
		t.Fatalf("a forged request changed k: %q", v)
	}
	if libs := rc.Do(ctx, "FUNCTION", "LIST").Val(); len(libs.([]any)) != 0 {
		t.Fatalf("a forged upload loaded %v", libs)
	}
}

func TestViews(t *testing.T) {
	n, d := startNode(t)
	c := newTester(t, d)
	c.signIn("default", "")
	n.Client(t).Set(context.Background(), "hello", "world", 0)
	time.Sleep(300 * time.Millisecond) // a few chart samples
	for _, p := range pageList {
		w := c.do("GET", "/api/"+p.API, nil)
		if w.Code != 200 {
			t.Fatalf("GET /api/%s: %d %s", p.API, w.Code, w.Body)
		}
		m := decode(t, w)
		if m["view"] == nil || m["can"] == nil {
			t.Fatalf("/api/%s: %s", p.API, w.Body)
		}
		w = c.do("GET", p.Path, nil)
		expect(t, w, 200, "<main id=\"main\">")
		if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
			t.Fatalf("page %s CSP %q", p.Path, csp)
		}
		frag := c.do("GET", p.Path+"?fragment=1", nil)
		if frag.Code != 200 || strings.Contains(frag.Body.String(), "<html") {
			t.Fatalf("fragment of %s: %d", p.Path, frag.Code)
		}
	}
	ov := c.do("GET", "/api/overview", nil).Body.String()
	for _, want := range []string{`"Cairn version"`, `"Nodes"`, `"Slots":"0-16383"`} {
		if !strings.Contains(ov, want) {
			t.Fatalf("overview lacks %s: %s", want, ov)
		}
	}
	h := decode(t, c.do("GET", "/api/metrics/history", nil))
	if s, _ := h["samples"].([]any); len(s) < 2 {
		t.Fatalf("history has %d samples", len(s))
	}
	expect(t, c.do("GET", "/api/charts", nil), 200, `"Operations by command class"`)
	expect(t, c.do("GET", "/api/shard", nil), 200, "raft_commit_index")
	expect(t, c.do("GET", "/api/users", nil), 200, "") // ACL errors shown in the view, not a failure
	expect(t, c.do("GET", "/api/nope", nil), 404, "no such API route")
}

// TestFirstRender renders every page three times and checks the median
// stays under the 300 ms target.
func TestFirstRender(t *testing.T) {
	n, d := startNode(t)
	rc := n.Client(t)
	ctx := context.Background()
	pipe := rc.Pipeline()
	for i := 0; i < 1500; i++ {
		pipe.Set(ctx, fmt.Sprintf("key:%04d", i), i, 0)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	c := newTester(t, d)
	c.signIn("default", "")
	for _, p := range pageList {
		var ts []time.Duration
		for i := 0; i < 3; i++ {
			start := time.Now()
			w := c.do("GET", p.Path, nil)
			ts = append(ts, time.Since(start))
			if w.Code != 200 {
				t.Fatalf("%s: %d", p.Path, w.Code)
			}
		}
		sort.Slice(ts, func(i, j int) bool { return ts[i] < ts[j] })
		t.Logf("first render %-9s median %v", p.Path, ts[1])
		if ts[1] > 300*time.Millisecond {
			t.Errorf("%s renders in %v (target 300 ms)", p.Path, ts[1])
		}
	}
}

func TestKeysAPI(t *testing.T) {
	n, d := startNode(t)
	c := newTester(t, d)
	c.signIn("default", "")
	rc := n.Client(t)
	ctx := context.Background()
	for i := 0; i < 250; i++ {
		rc.Set(ctx, fmt.Sprintf("user:%03d", i), i, 0)
	}
	rc.HSet(ctx, "h", "name", "ann", "vec", encodeFloat32([]float32{1, 2, 3}))
	rc.RPush(ctx, "l", "a", "b")
	// Paginated SCAN with a pattern: every key once over the pages.
	seen := map[string]bool{}
	cursor := "0"
	for pages := 0; ; pages++ {
		if pages > 20 {
			t.Fatal("SCAN pages never end")
		}
		m := decode(t, c.do("GET", "/api/keys?pattern=user:*&cursor="+cursor, nil))
		v := m["view"].(map[string]any)
		for _, k := range v["Keys"].([]any) {
			row := k.(map[string]any)
			if row["Type"] != "string" {
				t.Fatalf("row %v", row)
			}
			seen[row["Key"].(string)] = true
		}
		if cursor, _ = v["Next"].(string); cursor == "" {
			break
		}
	}
	if len(seen) != 250 {
		t.Fatalf("saw %d keys, want 250", len(seen))
	}
	m := decode(t, c.do("GET", "/api/keys?type=hash", nil))
	if ks := m["view"].(map[string]any)["Keys"].([]any); len(ks) != 1 {
		t.Fatalf("type=hash: %v", ks)
	}
	expect(t, c.do("GET", "/api/keys?pattern=user:[abc", nil), 400, "malformed pattern: unclosed [")
	expect(t, c.do("GET", "/api/keys?pattern=a\\", nil), 400, "trailing backslash")
	expect(t, c.do("GET", "/api/keys?pattern="+strings.Repeat("x", 2000), nil), 400, "pattern too long")
	expect(t, c.do("GET", "/api/keys?type=blob", nil), 400, "unknown type")
	expect(t, c.do("GET", "/api/keys?cursor=abc", nil), 400, "cursor")
	expect(t, c.do("GET", "/keys?pattern=x[", nil), 400, "malformed pattern")

	// Type-aware viewer: the hash's vector field shows dims and a preview.
	w := c.do("GET", "/api/key?key=h", nil)
	expect(t, w, 200, `"type":"hash"`)
	if !strings.Contains(w.Body.String(), "vector, 3 dims: [1, 2, 3]") {
		t.Fatalf("viewer: %s", w.Body)
	}
	expect(t, c.do("GET", "/api/key?key=l", nil), 200, `"len":2`)
	expect(t, c.do("GET", "/keys?key=h", nil), 200, "vector, 3 dims")

	expect(t, c.act("PUT", "/api/key", map[string]string{"key": "user:001", "value": "new"}), 200, "OK")
	expect(t, c.act("PUT", "/api/key", map[string]string{"key": "h", "field": "name", "value": "bob"}), 200, "")
	expect(t, c.act("PUT", "/api/key", map[string]string{"key": "l", "value": "x"}), 200, "OK") // SET replaces, like redis-cli
	expect(t, c.act("PUT", "/api/key", map[string]string{"key": "h", "value": "x"}), 200, "")
	expect(t, c.act("PUT", "/api/key", map[string]string{"key": "k"}), 400, "value are required")
	if rc.Get(ctx, "user:001").Val() != "new" {
		t.Fatal("SET through the API not applied")
	}
	expect(t, c.act("POST", "/api/key/ttl", map[string]any{"key": "user:001", "seconds": 100}), 200, "1")
	if ttl := rc.TTL(ctx, "user:001").Val(); ttl <= 0 || ttl > 100*time.Second {
		t.Fatalf("TTL %v", ttl)
	}
	expect(t, c.act("POST", "/api/key/ttl", map[string]any{"key": "user:001", "seconds": -1}), 200, "1")
	expect(t, c.act("POST", "/api/key/ttl", map[string]any{"key": "user:001", "seconds": 0}), 400, "seconds")
	expect(t, c.act("DELETE", "/api/key?key=user:001", nil), 200, "1")
	expect(t, c.act("DELETE", "/api/key", nil), 400, "key is required")
	if rc.Exists(ctx, "user:001").Val() != 0 {
		t.Fatal("DEL through the API not applied")
	}
	// A command the node refuses comes back as its error (400).
	rc.RPush(ctx, "list2", "a")
	expect(t, c.act("PUT", "/api/key", map[string]string{"key": "list2", "field": "f", "value": "v"}), 400, "WRONGTYPE")
}

func multipartUpload(t *testing.T, fields map[string]string, filename string, data []byte) (*bytes.Buffer, string) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	if filename != "" {
		fw, _ := mw.CreateFormFile("file", filename)
		fw.Write(data)
	}
	mw.Close()
	return &buf, mw.FormDataContentType()
}

func TestModulesAPI(t *testing.T) {
	_, d := startNodeWith(t, func(c *Config) { c.MaxUpload = 64 << 10 })
	c := newTester(t, d)
	c.signIn("default", "")
	upload := func(fields map[string]string, name string, data []byte) *httptest.ResponseRecorder {
		body, ct := multipartUpload(t, fields, name, data)
		return c.do("POST", "/api/modules", body, csrfHeader, c.csrf, "Content-Type", ct)
	}
	code := modulestest.Fixture(t, "test")
	expect(t, upload(nil, "", nil), 400, "a .wasm file is required")
	expect(t, upload(nil, "notes.wasm", []byte("hello, not wasm")), 400, "not a WebAssembly module")
	expect(t, upload(nil, "big.wasm", append(append([]byte{}, wasmMagic...), make([]byte, 70<<10)...)), 413, "too large")
	expect(t, upload(map[string]string{"name": "bad name!"}, "x.wasm", code), 400, "invalid library name")
	expect(t, upload(nil, "../../etc/testlib.wasm", code), 200, `"library":"testlib"`)
	expect(t, upload(nil, "testlib.wasm", code), 400, "already exists")
	expect(t, upload(map[string]string{"replace": "1"}, "testlib.wasm", code), 200, "testlib")
	// The node's own refusal of a broken module is shown as is.
	expect(t, upload(map[string]string{"name": "noreg"}, "noreg.wasm", modulestest.Fixture(t, "noreg")), 400, "ERR")

	m := decode(t, c.do("GET", "/api/modules", nil))
	libs := m["view"].(map[string]any)["Libraries"].([]any)
	if len(libs) != 1 || !strings.Contains(fmt.Sprint(libs), "ping") || !strings.Contains(fmt.Sprint(libs), "no-writes") {
		t.Fatalf("libraries %v", libs)
	}
	expect(t, c.act("POST", "/api/modules/call", map[string]any{"function": "ping"}), 200, "PONG")
	expect(t, c.act("POST", "/api/modules/call", map[string]any{"function": "incr", "keys": []string{"ctr"}}), 200, "")
	expect(t, c.act("POST", "/api/modules/call", map[string]any{"function": "nosuch"}), 400, "ERR")
	expect(t, c.act("POST", "/api/modules/call", "function=x"), 400, "JSON")
	expect(t, c.act("DELETE", "/api/modules/testlib", nil), 200, "OK")
	expect(t, c.act("DELETE", "/api/modules/testlib", nil), 400, "ERR")
}

func TestVectorAPI(t *testing.T) {
	n, d := startNode(t)
	c := newTester(t, d)
	c.signIn("default", "")
	rc := n.Client(t)
	ctx := context.Background()
	if err := rc.Do(ctx, "FT.CREATE", "idx", "ON", "HASH", "PREFIX", 1, "doc:", "SCHEMA", "v", "VECTOR", "FLAT", 6,
		"TYPE", "FLOAT32", "DIM", 3, "DISTANCE_METRIC", "L2").Err(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		rc.HSet(ctx, fmt.Sprintf("doc:%d", i), "v", encodeFloat32([]float32{float32(i), 0, 0}), "n", i)
	}
	expect(t, c.do("GET", "/api/indexes", nil), 200, `"Dim":3`)
	w := c.act("POST", "/api/indexes/idx/knn", map[string]any{"vector": "[3.9, 0, 0]", "k": 2})
	expect(t, w, 200, `"key":"doc:4"`)
	hits := decode(t, w)["hits"].([]any)
	if len(hits) != 2 || hits[0].(map[string]any)["key"] != "doc:4" || hits[1].(map[string]any)["key"] != "doc:3" {
		t.Fatalf("hits %v", hits)
	}
	w = c.act("POST", "/api/indexes/idx/knn", map[string]any{"key": "doc:1", "k": 1})
	expect(t, w, 200, `"key":"doc:1"`)
	expect(t, c.act("POST", "/api/indexes/idx/knn", map[string]any{"vector": "1, two, 3"}), 400, "invalid vector: element 2")
	expect(t, c.act("POST", "/api/indexes/idx/knn", map[string]any{"vector": "1,2"}), 400, "DIM 3")
	expect(t, c.act("POST", "/api/indexes/idx/knn", map[string]any{"vector": "NaN,1,2"}), 400, "not a finite number")
	expect(t, c.act("POST", "/api/indexes/idx/knn", map[string]any{"vector": ""}), 400, "invalid vector")
	expect(t, c.act("POST", "/api/indexes/idx/knn", map[string]any{"key": "nokey"}), 400, "has no field")
	expect(t, c.act("POST", "/api/indexes/idx/knn", map[string]any{"vector": "1,2,3", "k": 5000}), 400, "k must be")
	expect(t, c.act("POST", "/api/indexes/idx/knn", map[string]any{"vector": "1,2,3", "field": "w"}), 400, "no vector field")
	expect(t, c.act("POST", "/api/indexes/nope/knn", map[string]any{"vector": "1,2,3"}), 400, "")
}

func TestOpsAPI(t *testing.T) {
	_, d := startNode(t)
	c := newTester(t, d)
	c.signIn("default", "")
	// Commands this node lacks come back with the node's error.
	expect(t, c.act("POST", "/api/ops/backup", map[string]any{}), 400, "ERR")
	expect(t, c.act("POST", "/api/ops/promote", map[string]any{"force": true}), 400, "multi-region")
	expect(t, c.act("POST", "/api/ops/moveslots", map[string]any{"shard": 1, "start": 10, "end": 5}), 400, "body must be")
	w := c.act("POST", "/api/ops/rebalance", map[string]any{})
	expect(t, w, 202, "started")
	deadline := time.Now().Add(5 * time.Second)
	for {
		m := decode(t, c.do("GET", "/api/ops/jobs", nil))
		j := m["jobs"].([]any)[0].(map[string]any)
		if j["state"] == "failed" && strings.Contains(j["result"].(string), "cluster support disabled") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %v", j)
		}
		time.Sleep(20 * time.Millisecond)
	}
	expect(t, c.do("GET", "/ops", nil), 200, "cluster support disabled")
}

func TestAssets(t *testing.T) {
	_, d := startNode(t)
	c := newTester(t, d)
	expect(t, c.do("GET", "/assets/app.js", nil), 200, "X-CSRF-Token")
	expect(t, c.do("GET", "/assets/app.css", nil), 200, "")
	expect(t, c.do("GET", "/assets/logo.svg", nil), 200, "<svg")
	for _, p := range []string{"/assets/../web.go", "/assets/..%2fweb.go", "/assets/%2e%2e/%2e%2e/go.mod",
		"/assets/", "/assets//etc/passwd", "/assets/..\\web.go", "/assets/../ui/layout.html", "/assets/nope.js"} {
		w := c.do("GET", p, nil)
		if w.Code != 404 || strings.Contains(w.Body.String(), "package web") || strings.Contains(w.Body.String(), "module ") {
			t.Fatalf("GET %s: %d %q", p, w.Code, w.Body.String())
		}
	}
}

// fakeConn answers ACL DRYRUN from a table of denied commands (as an
// ACL-enabled node would) and records every command it receives.
type fakeConn struct {
	mu     sync.Mutex
	denied map[string]bool // command name (upper case) -> denied
	noperm bool            // answer every command NOPERM as the node would
	got    []string
}

type fakeDialer struct{ c *fakeConn }

func (f fakeDialer) Dial(ctx context.Context, user, pass string) (Conn, error) { return f.c, nil }

type fakeErr string

func (e fakeErr) Error() string { return string(e) }
func (e fakeErr) RedisError()   {}

func (f *fakeConn) Close() error { return nil }
func (f *fakeConn) Do(ctx context.Context, args ...any) (any, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	name := strings.ToUpper(fmt.Sprint(args[0]))
	if name == "ACL" && len(args) > 3 && strings.EqualFold(fmt.Sprint(args[1]), "DRYRUN") {
		cmd := strings.ToUpper(fmt.Sprint(args[3]))
		if f.denied[cmd] {
			return fmt.Sprintf("User %v has no permissions to run the '%s' command", args[2], strings.ToLower(cmd)), nil
		}
		return "OK", nil
	}
	f.got = append(f.got, name)
	if f.noperm {
		return nil, fakeErr("NOPERM User ro has no permissions to run the '" + strings.ToLower(name) + "' command")
	}
	switch name {
	case "PING":
		return "PONG", nil
	case "FUNCTION":
		return []any{}, nil
	}
	return "OK", nil
}

func (f *fakeConn) sent(name string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, g := range f.got {
		if g == name {
			return true
		}
	}
	return false
}

// TestPermissionDenied: a user ACL DRYRUN refuses gets 403 from every
// action and never reaches the node with it; the page disables the
// buttons; a refusal by the node itself (NOPERM) is a 403 too.
func TestPermissionDenied(t *testing.T) {
	fc := &fakeConn{denied: map[string]bool{"SET": true, "HSET": true, "EXPIRE": true, "PERSIST": true, "DEL": true,
		"FUNCTION": true, "FCALL": true, "FT.SEARCH": true, "BACKUP": true, "CLUSTER": true, "REGION": true}}
	d := newDashboard(t, fakeDialer{fc}, func(c *Config) { c.SampleEvery = -1 })
	c := newTester(t, d)
	c.signIn("ro", "pw")
	body, ct := multipartUpload(t, nil, "m.wasm", modulestest.Fixture(t, "test"))
	for _, r := range []struct {
		method, path string
		body         any
	}{
		{"PUT", "/api/key", map[string]string{"key": "k", "value": "x"}},
		{"PUT", "/api/key", map[string]string{"key": "k", "field": "f", "value": "x"}},
		{"POST", "/api/key/ttl", map[string]any{"key": "k", "seconds": 5}},
		{"POST", "/api/key/ttl", map[string]any{"key": "k", "seconds": -1}},
		{"DELETE", "/api/key?key=k", nil},
		{"POST", "/api/modules/call", map[string]any{"function": "f"}},
		{"DELETE", "/api/modules/lib", nil},
		{"POST", "/api/ops/backup", map[string]any{}},
		{"POST", "/api/ops/moveslots", map[string]any{"shard": 1, "start": 0, "end": 1}},
		{"POST", "/api/ops/rebalance", map[string]any{}},
		{"POST", "/api/ops/promote", map[string]any{}},
		{"POST", "/api/ops/promote", map[string]any{"force": true, "max_loss": 0}},
		{"POST", "/api/ops/replica/add", map[string]any{"shard": 1, "node": 2}},
		{"POST", "/api/ops/replica/remove", map[string]any{"shard": 1, "node": 2}},
	} {
		expect(t, c.act(r.method, r.path, r.body), 403, "no permissions")
	}
	expect(t, c.do("POST", "/api/modules", body, csrfHeader, c.csrf, "Content-Type", ct), 403, "no permissions")
	for _, name := range []string{"SET", "HSET", "EXPIRE", "PERSIST", "DEL", "FUNCTION", "FCALL", "BACKUP", "CLUSTER", "REGION"} {
		if fc.sent(name) {
			t.Fatalf("%s reached the node although ACL DRYRUN refused it", name)
		}
	}
	m := decode(t, c.do("GET", "/api/modules", nil))
	if can := m["can"].(map[string]any); can["load"] != false || can["call"] != false {
		t.Fatalf("can %v", can)
	}
	page := c.do("GET", "/modules", nil).Body.String()
	if !strings.Contains(page, `id="upload-btn" disabled`) || !strings.Contains(page, `id="call-btn" disabled`) {
		t.Fatalf("modules page buttons not disabled:\n%s", page)
	}

	// Without ACL DRYRUN answers (all allowed) the node's NOPERM is a 403.
	fc.denied = nil
	c = newTester(t, d) // a fresh session: no cached DRYRUN answers
	c.signIn("ro", "pw")
	fc.noperm = true
	expect(t, c.act("PUT", "/api/key", map[string]string{"key": "k", "value": "x"}), 403, "NOPERM")
	expect(t, c.do("GET", "/api/shard", nil), 403, "NOPERM")
	// A page shows what the user may read and the node's refusal for the rest.
	expect(t, c.do("GET", "/slowlog", nil), 200, "NOPERM User ro has no permissions to run the &#39;slowlog&#39; command")
}

func TestHistoryRing(t *testing.T) {
	h := newHistory(time.Minute, 10*time.Second) // 6 samples
	t0 := time.Unix(1000, 0)
	for i := 0; i < 10; i++ {
		h.add(t0.Add(time.Duration(i)*10*time.Second), parseInfo(fmt.Sprintf("# Stats\r\ntotal_commands_processed:%d\r\n# Memory\r\nused_memory:%d\r\n", i*100, i)), nil, nil)
	}
	pts := h.points()
	if len(pts) != 6 {
		t.Fatalf("%d points, want the last 6", len(pts))
	}
	for i, p := range pts {
		if want := t0.Add(time.Duration(i+4) * 10 * time.Second); !p.T.Equal(want) || p.MemoryBytes != float64(i+4) || p.OpsPerSec != 10 {
			t.Fatalf("point %d = %+v, want t=%v ops/s 10", i, p, want)
		}
	}
}
