package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cairndb/cairn/server/servertest"
	"github.com/cairndb/cairn/server/tlsconf/tlstest"
)

// TestHTTPPortSetting: the default HTTP port is port+2000 and best
// effort; an explicit one is required; 0 disables; bad values are refused.
func TestHTTPPortSetting(t *testing.T) {
	for _, tc := range []struct {
		port, http string
		want       int
		optional   bool
		bad        bool
	}{
		{port: "7000", want: 9000, optional: true},
		{port: "6379", http: "9121", want: 9121},
		{port: "6379", http: "0", want: 0},
		{port: "65000", want: 67000, optional: true}, // skipped with a warning at start
		{port: "6379", http: "70000", bad: true},
		{port: "6379", http: "-1", bad: true},
		{port: "6379", http: "x", bad: true},
	} {
		vals := map[string]string{"port": tc.port, "http-port": tc.http}
		get := func(name string) string {
			if v, ok := vals[name]; ok {
				return v
			}
			for _, s := range settings {
				if s.name == name {
					return s.def
				}
			}
			return ""
		}
		cfg, err := buildConfig(get)
		if tc.bad {
			if err == nil {
				t.Errorf("port %s http-port %q accepted", tc.port, tc.http)
			}
			continue
		}
		if err != nil || cfg.HTTPPort != tc.want || cfg.HTTPOptional != tc.optional {
			t.Errorf("port %s http-port %q: HTTPPort %d optional %v (%v), want %d %v", tc.port, tc.http, cfg.HTTPPort, cfg.HTTPOptional, err, tc.want, tc.optional)
		}
	}
}

// TestHTTPPortEnv: the binary serves GET /metrics on CAIRN_HTTP_PORT.
func TestHTTPPortEnv(t *testing.T) {
	bin := servertest.Binary(t)
	port := servertest.FreePort(t)
	t.Setenv("CAIRN_HTTP_PORT", strconv.Itoa(port))
	servertest.StartProcess(t, bin, filepath.Join(t.TempDir(), "data"))
	resp, err := http.Get("http://127.0.0.1:" + strconv.Itoa(port) + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(string(b), "redis_commands_processed_total") {
		t.Fatalf("GET /metrics: %s\n%.500s", resp.Status, b)
	}
}

// TestDashboardServed: the binary serves the dashboard on its HTTP port
// next to /metrics: / sends to the sign-in page, which signs in the
// default user (no requirepass) with an empty password.
func TestDashboardServed(t *testing.T) {
	bin := servertest.Binary(t)
	port := servertest.FreePort(t)
	t.Setenv("CAIRN_HTTP_PORT", strconv.Itoa(port))
	servertest.StartProcess(t, bin, filepath.Join(t.TempDir(), "data"))
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	// The dashboard is mounted right after the node is up (it dials the
	// node's own address), so the first request may come before it.
	var resp *http.Response
	var b []byte
	for deadline := time.Now().Add(10 * time.Second); ; {
		var err error
		if resp, err = c.Get(base + "/"); err != nil {
			t.Fatal(err)
		}
		b, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if resp.StatusCode != 200 || resp.Request.URL.Path != "/login" || !strings.Contains(string(b), `id="login"`) {
		t.Fatalf("GET /: %s at %s\n%.300s", resp.Status, resp.Request.URL, b)
	}
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindSubmatch(b)
	if m == nil {
		t.Fatal("no CSRF token in the sign-in form")
	}
	resp, err := c.PostForm(base+"/login", url.Values{"user": {"default"}, "pass": {""}, "csrf": {string(m[1])}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Request.URL.Path != "/" || !strings.Contains(string(b), "Slot map") {
		t.Fatalf("sign in: %s at %s\n%.300s", resp.Status, resp.Request.URL, b)
	}
}

// TestDashboardTLSOnly: with the plaintext port off (--port 0) and a
// certificate, the dashboard is served over HTTPS and signing in works:
// the dashboard reaches its own node on the TLS port, presenting the
// node's certificate (tls-auth-clients yes).
func TestDashboardTLSOnly(t *testing.T) {
	bin := servertest.Binary(t)
	dir := t.TempDir()
	ca := tlstest.NewCA(t, dir, "ca")
	cert, key := ca.Issue("node", tlstest.Options{})
	httpPort, tlsPort := servertest.FreePort(t), servertest.FreePort(t)
	cmd := exec.Command(bin, "--port", "0", "--tls-port", strconv.Itoa(tlsPort),
		"--tls-cert-file", cert, "--tls-key-file", key, "--tls-ca-cert-file", ca.File,
		"--http-port", strconv.Itoa(httpPort), "--dir", filepath.Join(dir, "data"),
		"--raft-addr", "127.0.0.1:"+strconv.Itoa(servertest.FreePort(t)))
	logf, err := os.Create(filepath.Join(dir, "node.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait(); logf.Close() })

	httpsSignIn(t, ca.File, "https://127.0.0.1:"+strconv.Itoa(httpPort), func() string {
		log, _ := os.ReadFile(filepath.Join(dir, "node.log"))
		return string(log)
	})
}

// TestDashboardTLSClusterProcesses: the binary wires the dashboard of a
// --tls-cluster node to its peers. Two cairn processes whose nodes ask
// every client for a certificate (tls-auth-clients yes), node 2 without a
// plaintext port: node 1's HTTPS dashboard signs in and its overview
// shows node 2 online with its version, which it can only learn over
// node-to-node TLS with the node's certificate.
func TestDashboardTLSClusterProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("cluster test skipped with -short")
	}
	bin := servertest.Binary(t)
	dir := t.TempDir()
	ca := tlstest.NewCA(t, dir, "ca")
	procs := make([]*servertest.Process, 2)
	tlsPorts := make([]int, 2)
	var peers []string
	for i := range procs {
		procs[i] = servertest.NewProcess(t, bin, filepath.Join(dir, "node"+strconv.Itoa(i+1)))
		tlsPorts[i] = servertest.FreePort(t)
		peers = append(peers, strconv.Itoa(i+1)+"=127.0.0.1:"+strconv.Itoa(procs[i].Raft))
	}
	httpPort := servertest.FreePort(t)
	for i, p := range procs {
		cert, key := ca.Issue("node"+strconv.Itoa(i+1), tlstest.Options{})
		p.Args = []string{"--node-id", strconv.Itoa(i + 1), "--peers", strings.Join(peers, ","),
			"--shards", "2", "--replicas", "2", "--tls-cluster", "yes", "--tls-auth-clients", "yes",
			"--tls-port", strconv.Itoa(tlsPorts[i]), "--tls-cert-file", cert, "--tls-key-file", key,
			"--tls-ca-cert-file", ca.File, "--http-port", "0"}
		if i == 0 {
			p.Args[len(p.Args)-1] = strconv.Itoa(httpPort)
		} else {
			p.Args = append(p.Args, "--port", "0") // after Launch's --port: the last one counts
		}
		if err := p.Launch(); err != nil {
			t.Fatal(err)
		}
	}
	logs := func() string {
		var b strings.Builder
		for _, p := range procs {
			l, _ := os.ReadFile(p.Dir + ".log")
			if len(l) > 1500 {
				l = l[len(l)-1500:]
			}
			b.WriteString(p.Dir + ".log:\n" + string(l) + "\n")
		}
		return b.String()
	}

	base := "https://127.0.0.1:" + strconv.Itoa(httpPort)
	c := httpsSignIn(t, ca.File, base, logs)

	other := "127.0.0.1:" + strconv.Itoa(tlsPorts[1])
	var ov struct {
		View struct {
			Nodes []struct{ Addr, Health, Version string }
		}
	}
	for deadline := time.Now().Add(60 * time.Second); ; {
		resp, err := c.Get(base + "/api/overview")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || json.Unmarshal(b, &ov) != nil {
			t.Fatalf("overview: %s %.300s", resp.Status, b)
		}
		found := false
		for _, n := range ov.View.Nodes {
			if n.Addr == other && n.Health == "online" && n.Version != "" && n.Version != "?" {
				found = true
			}
		}
		if found && len(ov.View.Nodes) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("node 1's dashboard does not show node 2 (%s) online: %s\n%s", other, b, logs())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// httpsSignIn waits (up to 60 s) until the dashboard at base answers over
// HTTPS with a certificate of the CA in caFile, signs in as default and
// checks the overview is shown; it returns the signed-in client. logs
// says what the node(s) logged, for a failure.
func httpsSignIn(t *testing.T, caFile, base string, logs func() string) *http.Client {
	t.Helper()
	pool := x509.NewCertPool()
	pem, err := os.ReadFile(caFile)
	if err != nil || !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("CA file: %v", err)
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	var resp *http.Response
	var b []byte
	for deadline := time.Now().Add(60 * time.Second); ; {
		resp, err = c.Get(base + "/")
		if err == nil {
			b, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET / over HTTPS: %v %v\n%s", resp, err, logs())
		}
		time.Sleep(100 * time.Millisecond)
	}
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("no CSRF token in the sign-in form at %s:\n%.300s", resp.Request.URL, b)
	}
	resp, err = c.PostForm(base+"/login", url.Values{"user": {"default"}, "pass": {""}, "csrf": {string(m[1])}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Request.URL.Path != "/" || !strings.Contains(string(b), "Slot map") {
		t.Fatalf("sign in over HTTPS: %s at %s\n%.400s", resp.Status, resp.Request.URL, b)
	}
	return c
}
