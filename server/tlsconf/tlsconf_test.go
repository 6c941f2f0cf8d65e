package tlsconf

import (
	"crypto/tls"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairndb/cairn/server/tlsconf/tlstest"
)

func TestParseProtocols(t *testing.T) {
	for _, c := range []struct {
		in       string
		min, max uint16
		err      string
	}{
		{"TLSv1.2 TLSv1.3", tls.VersionTLS12, tls.VersionTLS13, ""},
		{"tlsv1.3", tls.VersionTLS13, tls.VersionTLS13, ""},
		{"TLSv1 TLSv1.1 TLSv1.2", tls.VersionTLS10, tls.VersionTLS12, ""},
		{"TLSv1.1 TLSv1.3", 0, 0, "gap"},
		{"SSLv3", 0, 0, "unknown protocol"},
		{"  ", 0, 0, "no protocol"},
	} {
		min, max, err := parseProtocols(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: err %v, want %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || min != c.min || max != c.max {
			t.Errorf("%q: %x-%x %v, want %x-%x", c.in, min, max, err, c.min, c.max)
		}
	}
}

func TestParseCiphers(t *testing.T) {
	got, err := parseCiphers("ECDHE-RSA-AES128-GCM-SHA256:TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256")
	if err != nil || len(got) != 2 || got[0] != tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 || got[1] != tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 {
		t.Fatalf("got %v %v", got, err)
	}
	if got, err := parseCiphers(""); err != nil || got != nil {
		t.Fatalf("default: %v %v", got, err)
	}
	for _, bad := range []string{"RC4-MD5", "TLS_RSA_WITH_RC4_128_SHA", "TLS_AES_128_GCM_SHA256", "nope"} {
		if _, err := parseCiphers(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestLoad: what a Holder refuses, and that a refused Prepare changes
// nothing.
func TestLoad(t *testing.T) {
	dir := t.TempDir()
	ca := tlstest.NewCA(t, dir, "ca")
	cert, key := ca.Issue("srv", tlstest.Options{})
	other, otherKey := ca.Issue("other", tlstest.Options{})
	future, futureKey := ca.Issue("future", tlstest.Options{NotBefore: time.Now().Add(time.Hour), NotAfter: time.Now().Add(2 * time.Hour)})
	garbage := filepath.Join(dir, "garbage.pem")
	os.WriteFile(garbage, []byte("not pem"), 0o600)
	good := Settings{CertFile: cert, KeyFile: key, CAFile: ca.File}
	h, err := New(good)
	if err != nil || !h.Enabled() {
		t.Fatalf("New: %v", err)
	}
	for name, c := range map[string]struct {
		s    Settings
		want string
	}{
		"key of another cert": {good.With(ParamKeyFile, otherKey), "load certificate"},
		"cert without key":    {good.With(ParamKeyFile, ""), "together"},
		"not yet valid":       {good.With(ParamCertFile, future).With(ParamKeyFile, futureKey), "not valid before"},
		"no CA":               {good.With(ParamCAFile, ""), "tls-ca-cert-file"},
		"CA not PEM":          {good.With(ParamCAFile, garbage), "no PEM"},
		"bad auth-clients":    {good.With(ParamAuthClients, "maybe"), ParamAuthClients},
	} {
		if _, err := h.Prepare(c.s); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
	}
	if h.Settings() != good {
		t.Fatalf("a refused Prepare changed the settings: %+v", h.Settings())
	}
	if _, err := h.Prepare(good.With(ParamCAFile, "").With(ParamAuthClients, "no")); err != nil {
		t.Fatalf("no CA with tls-auth-clients no: %v", err)
	}
	commit, err := h.Prepare(good.With(ParamCertFile, other).With(ParamKeyFile, otherKey))
	if err != nil {
		t.Fatal(err)
	}
	commit()
	if h.Settings().CertFile != other || h.cur.Load().cert.Leaf.Subject.CommonName != "other" {
		t.Fatal("commit did not install the new certificate")
	}
}
