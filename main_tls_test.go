package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cairndb/cairn/server"
	"github.com/cairndb/cairn/server/servertest"
	"github.com/cairndb/cairn/server/tlsconf"
	"github.com/cairndb/cairn/server/tlsconf/tlstest"
)

// TestProtectedMode: the binary refuses a non-loopback bind without a
// password or certificate-only TLS, unless --protected-mode no; the
// profiling endpoint listens on loopback only.
func TestProtectedMode(t *testing.T) {
	var out, errb bytes.Buffer
	port := strconv.Itoa(servertest.FreePort(t))
	if code := run([]string{"--bind", "0.0.0.0", "--port", port, "--dir", t.TempDir()}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "protected mode") {
		t.Fatalf("--bind 0.0.0.0 without a password: exit %d, %q", code, errb.String())
	}
	errb.Reset()
	t.Setenv("CAIRN_PPROF", ":6060")
	if code := run([]string{"--port", port, "--dir", t.TempDir()}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "loopback") {
		t.Fatalf("CAIRN_PPROF on all interfaces: exit %d, %q", code, errb.String())
	}
	tlsOnly := server.Config{Bind: "0.0.0.0", PlainDisabled: true, TLSPort: 6380, TLS: tlsconf.Settings{AuthClients: "yes"}}
	for _, c := range []struct {
		cfg  server.Config
		mode string
		ok   bool
	}{
		{server.Config{Bind: "0.0.0.0"}, "yes", false},
		{server.Config{Bind: "::"}, "yes", false},
		{server.Config{Bind: "10.1.2.3"}, "yes", false},
		{server.Config{Bind: "0.0.0.0", TLSPort: 6380, TLS: tlsconf.Settings{AuthClients: "yes"}}, "yes", false}, // plaintext still open
		{server.Config{Bind: "0.0.0.0", PlainDisabled: true, TLSPort: 6380, TLS: tlsconf.Settings{AuthClients: "optional"}}, "yes", false},
		{tlsOnly, "yes", true},
		{server.Config{Bind: "0.0.0.0", RequirePass: "pw"}, "yes", true},
		{server.Config{Bind: "127.0.0.1"}, "yes", true},
		{server.Config{Bind: "::1"}, "yes", true},
		{server.Config{Bind: "localhost"}, "yes", true},
		{server.Config{Bind: "0.0.0.0"}, "no", true},
	} {
		if err := checkProtected(c.cfg, c.mode); (err == nil) != c.ok {
			t.Errorf("bind %s pass %q plain off %v auth %q mode %s: %v, want ok=%v", c.cfg.Bind, c.cfg.RequirePass, c.cfg.PlainDisabled, c.cfg.TLS.AuthClients, c.mode, err, c.ok)
		}
	}
	if err := checkProtected(server.Config{}, "maybe"); err == nil {
		t.Error("protected-mode maybe accepted")
	}
}

// TestTLSFlags: --port 0 turns plaintext off and places the default
// ports from --tls-port; without --tls-port it is an error.
func TestTLSFlags(t *testing.T) {
	get := func(over map[string]string) func(string) string {
		return func(name string) string {
			if v, ok := over[name]; ok {
				return v
			}
			for _, s := range settings {
				if s.name == name {
					return s.def
				}
			}
			return ""
		}
	}
	cfg, err := buildConfig(get(map[string]string{"port": "0", "tls-port": "6390", "tls-cluster": "yes", "tls-auth-clients": "optional"}))
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.PlainDisabled || cfg.Port != 6390 || cfg.TLSPort != 6390 || !cfg.TLS.Cluster || cfg.TLS.AuthClients != "optional" || cfg.HTTPPort != 6390+server.HTTPPortOffset {
		t.Fatalf("config %+v", cfg)
	}
	if _, err := buildConfig(get(map[string]string{"port": "0"})); err == nil {
		t.Fatal("--port 0 without --tls-port accepted")
	}
	if _, err := buildConfig(get(map[string]string{"tls-auth-clients": "sometimes"})); err == nil {
		t.Fatal("bad tls-auth-clients accepted")
	}
}

// TestTLSProcess: the binary serves redis-cli --tls, and SIGHUP makes new
// handshakes use rotated certificate files without a restart.
func TestTLSProcess(t *testing.T) {
	bin := servertest.Binary(t)
	dir := t.TempDir()
	ca := tlstest.NewCA(t, dir, "ca")
	cert, key := ca.Issue("before", tlstest.Options{})
	cliCert, cliKey := ca.Issue("client", tlstest.Options{})
	tlsPort := servertest.FreePort(t)
	p := servertest.StartProcess(t, bin, filepath.Join(dir, "data"), "--tls-port", strconv.Itoa(tlsPort),
		"--tls-cert-file", cert, "--tls-key-file", key, "--tls-ca-cert-file", ca.File)
	addr := "127.0.0.1:" + strconv.Itoa(tlsPort)
	if cli, err := exec.LookPath("redis-cli"); err == nil {
		out, err := exec.Command(cli, "--tls", "--cacert", ca.File, "--cert", cliCert, "--key", cliKey, "-p", strconv.Itoa(tlsPort), "SET", "a", "1").CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "OK" {
			t.Fatalf("redis-cli --tls SET: %q %v", out, err)
		}
	} else {
		t.Log("redis-cli not installed: the redis-cli check is skipped")
	}
	pem, _ := os.ReadFile(ca.File)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	cc, err := tls.LoadX509KeyPair(cliCert, cliKey)
	if err != nil {
		t.Fatal(err)
	}
	cn := func() string {
		conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, ServerName: "localhost", Certificates: []tls.Certificate{cc}})
		if err != nil {
			t.Fatalf("handshake: %v", err)
		}
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates[0].Subject.CommonName
	}
	if got := cn(); got != "before" {
		t.Fatalf("CN %q, want before", got)
	}
	after, afterKey := ca.Issue("after", tlstest.Options{})
	for _, f := range [][2]string{{after, cert}, {afterKey, key}} {
		b, _ := os.ReadFile(f[0])
		os.WriteFile(f[1], b, 0o600)
	}
	if err := p.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for cn() != "after" {
		if time.Now().After(deadline) {
			t.Fatal("SIGHUP did not reload the certificate")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := p.WaitReady(5 * time.Second); err != nil { // still running, plaintext too
		t.Fatal(err)
	}
}
