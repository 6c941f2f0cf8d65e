package main

import (
	"crypto/tls"
	"crypto/x509"
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

	pool := x509.NewCertPool()
	pem, err := os.ReadFile(ca.File)
	if err != nil || !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("CA file: %v", err)
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	base := "https://127.0.0.1:" + strconv.Itoa(httpPort)
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
			log, _ := os.ReadFile(filepath.Join(dir, "node.log"))
			t.Fatalf("GET / over HTTPS: %v %v\n%s", resp, err, log)
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
		t.Fatalf("sign in over a TLS-only node: %s at %s\n%.400s", resp.Status, resp.Request.URL, b)
	}
}
