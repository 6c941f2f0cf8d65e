package server_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cairndb/cairn/server"
	"github.com/cairndb/cairn/server/servertest"
	"github.com/cairndb/cairn/server/tlsconf"
	"github.com/cairndb/cairn/server/tlsconf/tlstest"
)

// tlsEnv is a CA, a server certificate and client certificates of that
// CA, another CA's client certificate and an expired one.
type tlsEnv struct {
	dir                     string
	ca, other               *tlstest.CA
	srvCert, srvKey         string
	cliCert, cliKey         string
	wrongCert, wrongKey     string
	expiredCert, expiredKey string
}

func newTLSEnv(t *testing.T) *tlsEnv {
	e := &tlsEnv{dir: t.TempDir()}
	e.ca = tlstest.NewCA(t, e.dir, "ca")
	e.other = tlstest.NewCA(t, e.dir, "other-ca")
	e.srvCert, e.srvKey = e.ca.Issue("server", tlstest.Options{})
	e.cliCert, e.cliKey = e.ca.Issue("client", tlstest.Options{})
	e.wrongCert, e.wrongKey = e.other.Issue("intruder", tlstest.Options{})
	e.expiredCert, e.expiredKey = e.ca.Issue("expired", tlstest.Options{NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-24 * time.Hour)})
	return e
}

// clientTLS is a client configuration trusting the CA and presenting
// cert/key ("" for none).
func (e *tlsEnv) clientTLS(t *testing.T, cert, key string) *tls.Config {
	pem, err := os.ReadFile(e.ca.File)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	cfg := &tls.Config{RootCAs: pool, ServerName: "localhost"}
	if cert != "" {
		c, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			t.Fatal(err)
		}
		// Presented even when the server asks for another CA's (Go's
		// client would otherwise send none).
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &c, nil }
	}
	return cfg
}

func (e *tlsEnv) settings() tlsconf.Settings {
	return tlsconf.Settings{CertFile: e.srvCert, KeyFile: e.srvKey, CAFile: e.ca.File}
}

// tlsPing runs PING on a fresh TLS connection and returns its error.
func tlsPing(t *testing.T, addr string, cfg *tls.Config) error {
	c := redis.NewClient(&redis.Options{Addr: addr, TLSConfig: cfg, MaxRetries: -1, DialTimeout: 5 * time.Second, ReadTimeout: 5 * time.Second})
	defer c.Close()
	return c.Ping(context.Background()).Err()
}

// TestTLS_Clients: the TLS port serves go-redis with a client certificate
// of the CA; no certificate, another CA's or an expired one is refused at
// the handshake; a plaintext client on the TLS port is closed and the
// node keeps serving everyone else, on both ports.
func TestTLS_Clients(t *testing.T) {
	e := newTLSEnv(t)
	n := servertest.Start(t, func(c *server.Config) { c.TLSPort = -1; c.TLS = e.settings() })
	ctx := context.Background()
	good := e.clientTLS(t, e.cliCert, e.cliKey)
	c := redis.NewClient(&redis.Options{Addr: n.TLSAddr(), TLSConfig: good, MaxRetries: -1})
	defer c.Close()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatalf("SET over TLS: %v", err)
	}
	if v, err := c.Get(ctx, "k").Result(); err != nil || v != "v" {
		t.Fatalf("GET over TLS: %q %v", v, err)
	}
	for name, cfg := range map[string]*tls.Config{
		"no certificate": e.clientTLS(t, "", ""),
		"another CA":     e.clientTLS(t, e.wrongCert, e.wrongKey),
		"expired":        e.clientTLS(t, e.expiredCert, e.expiredKey),
	} {
		if err := tlsPing(t, n.TLSAddr(), cfg); err == nil {
			t.Errorf("%s: PING over TLS succeeded", name)
		}
	}
	// A plaintext client on the TLS port: closed, no RESP reply.
	nc, err := net.Dial("tcp", n.TLSAddr())
	if err != nil {
		t.Fatal(err)
	}
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(nc, "PING\r\n")
	b, err := io.ReadAll(nc)
	nc.Close()
	if strings.Contains(string(b), "PONG") {
		t.Fatalf("plaintext PING answered on the TLS port: %q", b)
	}
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("plaintext client on the TLS port not closed: %v", err)
	}
	// Everyone else is still served.
	if v, err := c.Get(ctx, "k").Result(); err != nil || v != "v" {
		t.Fatalf("GET over TLS after the plaintext client: %q %v", v, err)
	}
	if v, err := n.Client(t).Get(ctx, "k").Result(); err != nil || v != "v" {
		t.Fatalf("GET on the plaintext port: %q %v", v, err)
	}
	if got, _ := c.ConfigGet(ctx, "tls-port").Result(); got["tls-port"] != strconv.Itoa(portOf(t, n.TLSAddr())) {
		t.Errorf("CONFIG GET tls-port = %v", got)
	}
}

// peerCN is the common name of the certificate a new handshake shows.
func peerCN(t *testing.T, addr string, cfg *tls.Config) string {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, cfg)
	if err != nil {
		t.Fatalf("handshake: %v", err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].Subject.CommonName
}

// TestTLS_Reload: CONFIG SET of the certificate files and a reload of
// rotated files (what SIGHUP does) change the certificate new handshakes
// see, without a restart; an established connection keeps working; a
// bad certificate (expired, missing key, wrong key) is refused with
// Redis's error and changes nothing. tls-auth-clients optional lets
// clients without a certificate in.
func TestTLS_Reload(t *testing.T) {
	e := newTLSEnv(t)
	n := servertest.Start(t, func(c *server.Config) { c.TLSPort = -1; c.PlainDisabled = true; c.TLS = e.settings() })
	ctx := context.Background()
	good := e.clientTLS(t, e.cliCert, e.cliKey)
	if n.Addr() != n.TLSAddr() {
		t.Fatalf("--port 0: main address %s, TLS %s", n.Addr(), n.TLSAddr())
	}
	c := redis.NewClient(&redis.Options{Addr: n.TLSAddr(), TLSConfig: good, MaxRetries: -1, PoolSize: 1})
	defer c.Close()
	if got, err := c.ConfigGet(ctx, "port").Result(); err != nil || got["port"] != "0" {
		t.Fatalf("CONFIG GET port with plaintext off: %v %v", got, err)
	}
	if cn := peerCN(t, n.TLSAddr(), good); cn != "server" {
		t.Fatalf("CN %q, want server", cn)
	}
	newCert, newKey := e.ca.Issue("server2", tlstest.Options{})
	if err := c.ConfigSet(ctx, "tls-cert-file", newCert).Err(); err == nil || !strings.Contains(err.Error(), "Unable to update TLS configuration") {
		// (the key no longer matches the certificate)
		t.Fatalf("CONFIG SET of a certificate without its key: %v", err)
	}
	if err := c.Do(ctx, "CONFIG", "SET", "tls-cert-file", e.expiredCert, "tls-key-file", e.expiredKey).Err(); err == nil ||
		err.Error() != "ERR CONFIG SET failed (possibly related to argument 'tls-cert-file') - Unable to update TLS configuration. Check server logs." {
		t.Fatalf("CONFIG SET of an expired certificate: %v", err)
	}
	if got, _ := c.ConfigGet(ctx, "tls-cert-file").Result(); got["tls-cert-file"] != e.srvCert {
		t.Fatalf("a refused CONFIG SET changed tls-cert-file: %v", got)
	}
	if err := c.Do(ctx, "CONFIG", "SET", "tls-cert-file", newCert, "tls-key-file", newKey).Err(); err != nil {
		t.Fatalf("CONFIG SET tls-cert-file/tls-key-file: %v", err)
	}
	if cn := peerCN(t, n.TLSAddr(), good); cn != "server2" {
		t.Fatalf("after CONFIG SET: CN %q, want server2", cn)
	}
	if err := c.Ping(ctx).Err(); err != nil { // the same connection (PoolSize 1)
		t.Fatalf("established connection after CONFIG SET: %v", err)
	}
	// Rotated files in place, then a reload (SIGHUP).
	rot, rotKey := e.ca.Issue("server3", tlstest.Options{})
	for _, p := range [][2]string{{rot, newCert}, {rotKey, newKey}} {
		b, _ := os.ReadFile(p[0])
		if err := os.WriteFile(p[1], b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := n.ReloadTLS(); err != nil {
		t.Fatalf("reload: %v", err)
	}
	if cn := peerCN(t, n.TLSAddr(), good); cn != "server3" {
		t.Fatalf("after reload: CN %q, want server3", cn)
	}
	os.WriteFile(newKey, []byte("garbage"), 0o600)
	if err := n.ReloadTLS(); err == nil {
		t.Fatal("reload of a garbage key succeeded")
	}
	if cn := peerCN(t, n.TLSAddr(), good); cn != "server3" {
		t.Fatalf("after a failed reload: CN %q, want server3", cn)
	}
	b, _ := os.ReadFile(rotKey) // (any later change reads the files again)
	os.WriteFile(newKey, b, 0o600)
	// tls-auth-clients optional: no certificate is fine, a foreign one is not.
	if err := tlsPing(t, n.TLSAddr(), e.clientTLS(t, "", "")); err == nil {
		t.Fatal("no client certificate accepted with tls-auth-clients yes")
	}
	if err := c.ConfigSet(ctx, "tls-auth-clients", "optional").Err(); err != nil {
		t.Fatal(err)
	}
	if err := tlsPing(t, n.TLSAddr(), e.clientTLS(t, "", "")); err != nil {
		t.Fatalf("no client certificate with tls-auth-clients optional: %v", err)
	}
	if err := tlsPing(t, n.TLSAddr(), e.clientTLS(t, e.wrongCert, e.wrongKey)); err == nil {
		t.Fatal("another CA's certificate accepted with tls-auth-clients optional")
	}
	if err := c.ConfigSet(ctx, "tls-auth-clients", "maybe").Err(); err == nil || !strings.Contains(err.Error(), "argument(s) must be one of the following: no, yes, optional") {
		t.Fatalf("CONFIG SET tls-auth-clients maybe: %v", err)
	}
	if err := c.ConfigSet(ctx, "tls-protocols", "TLSv1.3").Err(); err != nil {
		t.Fatal(err)
	}
	tls12 := e.clientTLS(t, e.cliCert, e.cliKey)
	tls12.MaxVersion = tls.VersionTLS12
	if err := tlsPing(t, n.TLSAddr(), tls12); err == nil {
		t.Fatal("a TLS 1.2 client accepted with tls-protocols TLSv1.3")
	}
	if err := c.ConfigSet(ctx, "tls-protocols", "TLSv1 TLSv1.3").Err(); err == nil {
		t.Fatal("tls-protocols with a gap accepted")
	}
}

// TestTLS_ConfigErrors: TLS settings that cannot work stop the start
// with a clear error.
func TestTLS_ConfigErrors(t *testing.T) {
	e := newTLSEnv(t)
	for name, c := range map[string]struct {
		mod  func(*server.Config)
		want string
	}{
		"no certificate": {func(c *server.Config) { c.TLSPort = -1 }, "tls-cert-file"},
		"expired": {func(c *server.Config) {
			c.TLSPort = -1
			c.TLS = e.settings()
			c.TLS.CertFile, c.TLS.KeyFile = e.expiredCert, e.expiredKey
		}, "expired"},
		"plaintext off":                      {func(c *server.Config) { c.PlainDisabled = true }, "--tls-port"},
		"no CA":                              {func(c *server.Config) { c.TLSPort = -1; c.TLS = e.settings(); c.TLS.CAFile = "" }, "tls-ca-cert-file"},
		"bad protocols":                      {func(c *server.Config) { c.TLSPort = -1; c.TLS = e.settings(); c.TLS.Protocols = "SSLv3" }, "tls-protocols"},
		"bad cipher":                         {func(c *server.Config) { c.TLSPort = -1; c.TLS = e.settings(); c.TLS.Ciphers = "RC4-MD5" }, "tls-ciphers"},
		"http-tls yes without a certificate": {func(c *server.Config) { c.HTTPTLS = "yes" }, "--http-tls yes needs"},
		"bad http-tls":                       {func(c *server.Config) { c.HTTPTLS = "maybe" }, "bad http-tls"},
	} {
		cfg := server.Config{Port: servertest.FreePort(t), Dir: t.TempDir(), RaftAddr: "127.0.0.1:" + strconv.Itoa(servertest.FreePort(t))}
		c.mod(&cfg)
		n, err := server.Start(cfg)
		if err == nil {
			n.Close()
			t.Errorf("%s: started", name)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %q does not mention %q", name, err, c.want)
		}
	}
}

// TestTLS_SelfDial: a node without a plaintext port (--port 0) tells an
// in-process client (the dashboard) to dial its TLS port with a
// configuration that presents the node's certificate (tls-auth-clients
// yes) and trusts exactly the node's own certificate; with a plaintext
// port it is the plaintext address, without TLS. PeerDial (the other
// nodes) trusts the CA, and is nil when the cluster is plaintext.
func TestTLS_SelfDial(t *testing.T) {
	e := newTLSEnv(t)
	ctx := context.Background()
	n := servertest.Start(t, func(c *server.Config) { c.TLSPort = -1; c.PlainDisabled = true; c.TLS = e.settings() })
	addr, tc := n.SelfDial()
	if addr != n.TLSAddr() || tc == nil {
		t.Fatalf("SelfDial with plaintext off: %q %v, want the TLS port %q with a TLS config", addr, tc, n.TLSAddr())
	}
	c := redis.NewClient(&redis.Options{Addr: addr, TLSConfig: tc, MaxRetries: -1, PoolSize: 1})
	defer c.Close()
	if err := c.Set(ctx, "self", "dial", 0).Err(); err != nil {
		t.Fatalf("SET through SelfDial: %v", err)
	}
	if got, err := c.Get(ctx, "self").Result(); err != nil || got != "dial" {
		t.Fatalf("GET through SelfDial: %q %v", got, err)
	}
	// The configuration trusts only this node's certificate: another
	// server certificate of the same CA is refused.
	other := servertest.Start(t, func(c *server.Config) {
		c.TLSPort = -1
		c.PlainDisabled = true
		s := e.settings()
		cert, key := e.ca.Issue("server-b", tlstest.Options{})
		s = s.With("tls-cert-file", cert).With("tls-key-file", key)
		c.TLS = s
	})
	c2 := redis.NewClient(&redis.Options{Addr: other.TLSAddr(), TLSConfig: tc, MaxRetries: -1, PoolSize: 1})
	defer c2.Close()
	if err := c2.Ping(ctx).Err(); err == nil || !strings.Contains(err.Error(), "another certificate") {
		t.Fatalf("SelfDial's config against another node: %v, want a refusal", err)
	}
	// PeerDial, for the other nodes, trusts the CA: the other node's
	// certificate is accepted.
	pc := n.PeerDial()
	if pc == nil {
		t.Fatal("PeerDial of a node whose main address is TLS: nil")
	}
	c3 := redis.NewClient(&redis.Options{Addr: other.TLSAddr(), TLSConfig: pc, MaxRetries: -1, PoolSize: 1})
	defer c3.Close()
	if err := c3.Ping(ctx).Err(); err != nil {
		t.Fatalf("PeerDial's config against another node of the CA: %v", err)
	}
	plain := servertest.Start(t)
	if addr, tc := plain.SelfDial(); addr != plain.Addr() || tc != nil {
		t.Fatalf("SelfDial with a plaintext port: %q %v, want %q without TLS", addr, tc, plain.Addr())
	}
	if plain.PeerDial() != nil {
		t.Fatal("PeerDial of a plaintext node: a TLS config")
	}
}
