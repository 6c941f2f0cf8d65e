// Package tlsconf holds a node's TLS material: it loads the certificate,
// key and CA files named by Redis's tls-* parameters, builds the
// tls.Config of the client listener, of node-to-node calls and of region
// links, and swaps them atomically when the files are reloaded (CONFIG
// SET, SIGHUP). Handshakes under way keep the configuration they started
// with; established connections are never touched. Protocol code only
// receives a *tls.Config or a net.Listener.
package tlsconf

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Parameter names (Redis's).
const (
	ParamPort        = "tls-port"
	ParamCertFile    = "tls-cert-file"
	ParamKeyFile     = "tls-key-file"
	ParamCAFile      = "tls-ca-cert-file"
	ParamAuthClients = "tls-auth-clients"
	ParamProtocols   = "tls-protocols"
	ParamCiphers     = "tls-ciphers"
	ParamCluster     = "tls-cluster"
)

// Reloadable lists the parameters CONFIG SET may change (the files are
// read again; the listener keeps running).
var Reloadable = []string{ParamCertFile, ParamKeyFile, ParamCAFile, ParamAuthClients, ParamProtocols, ParamCiphers}

// Settings are the TLS parameters, as Redis names them.
type Settings struct {
	// CertFile and KeyFile are the PEM certificate (chain) and private
	// key this node presents, to clients and to other nodes. Required
	// together; both empty means no TLS material.
	CertFile, KeyFile string
	// CAFile is the PEM bundle of CAs client and node certificates must
	// chain to. Required unless AuthClients is "no" and cluster TLS is
	// off.
	CAFile string
	// AuthClients is "yes" (default: clients must present a certificate
	// signed by CAFile), "optional" (verified if presented) or "no".
	AuthClients string
	// Protocols lists the TLS versions accepted, space separated
	// (TLSv1, TLSv1.1, TLSv1.2, TLSv1.3). Default "TLSv1.2 TLSv1.3".
	Protocols string
	// Ciphers lists the TLS 1.2 (and lower) cipher suites, colon
	// separated, by OpenSSL or IANA name. Default Go's secure list. TLS
	// 1.3 suites are not configurable in Go.
	Ciphers string
	// Cluster puts node-to-node traffic on mutual TLS (tls-cluster): the
	// client listener then asks every client for a certificate and nodes
	// must present one signed by CAFile.
	Cluster bool
}

// Get returns the CONFIG value of a reloadable parameter.
func (s Settings) Get(name string) string {
	switch name {
	case ParamCertFile:
		return s.CertFile
	case ParamKeyFile:
		return s.KeyFile
	case ParamCAFile:
		return s.CAFile
	case ParamAuthClients:
		if s.AuthClients == "" {
			return "yes"
		}
		return s.AuthClients
	case ParamProtocols:
		if s.Protocols == "" {
			return "TLSv1.2 TLSv1.3"
		}
		return s.Protocols
	case ParamCiphers:
		return s.Ciphers
	}
	return ""
}

// With returns s with a reloadable parameter changed (not yet checked:
// Holder.Prepare checks the whole set).
func (s Settings) With(name, v string) Settings {
	switch name {
	case ParamCertFile:
		s.CertFile = v
	case ParamKeyFile:
		s.KeyFile = v
	case ParamCAFile:
		s.CAFile = v
	case ParamAuthClients:
		s.AuthClients = v
	case ParamProtocols:
		s.Protocols = v
	case ParamCiphers:
		s.Ciphers = v
	}
	return s
}

// ParseAuthClients validates a tls-auth-clients value.
func ParseAuthClients(v string) (string, error) {
	switch strings.ToLower(v) {
	case "yes", "no", "optional":
		return strings.ToLower(v), nil
	}
	return "", errors.New("argument(s) must be one of the following: no, yes, optional")
}

// ErrNoCertificate is returned by a handshake while no certificate is
// loaded.
var ErrNoCertificate = errors.New("tls: no certificate configured (tls-cert-file, tls-key-file)")

// loaded is one consistent generation of TLS material.
type loaded struct {
	set    Settings
	cert   *tls.Certificate // nil: none configured
	pool   *x509.CertPool   // nil: no CA
	server *tls.Config
	mutual *tls.Config // server, client certificates required
	min    uint16
	max    uint16
	suites []uint16
}

// Holder holds the current TLS material of a node. Its methods are safe
// for concurrent use.
type Holder struct {
	mu  sync.Mutex // serializes Prepare/commit and Reload
	cur atomic.Pointer[loaded]
	now func() time.Time
}

// New loads s. An empty Settings (no files) gives a Holder with no
// material: Enabled reports false and handshakes fail.
func New(s Settings) (*Holder, error) {
	h := &Holder{now: time.Now}
	l, err := h.load(s)
	if err != nil {
		return nil, err
	}
	h.cur.Store(l)
	return h, nil
}

// Enabled tells whether a certificate is loaded.
func (h *Holder) Enabled() bool { return h.cur.Load().cert != nil }

// Settings returns the settings of the material in use.
func (h *Holder) Settings() Settings { return h.cur.Load().set }

// Prepare loads and checks s without using it; commit installs it for
// every later handshake. Nothing changes when err is set.
func (h *Holder) Prepare(s Settings) (commit func(), err error) {
	l, err := h.load(s)
	if err != nil {
		return nil, err
	}
	return func() {
		h.mu.Lock()
		h.cur.Store(l)
		h.mu.Unlock()
	}, nil
}

// Reload reads the current settings' files again (SIGHUP, a rotated
// certificate). On error the material in use is kept.
func (h *Holder) Reload() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	l, err := h.load(h.cur.Load().set)
	if err != nil {
		return err
	}
	h.cur.Store(l)
	return nil
}

// Expiry returns the NotAfter of the loaded certificate (zero without one).
func (h *Holder) Expiry() time.Time {
	if c := h.cur.Load().cert; c != nil && c.Leaf != nil {
		return c.Leaf.NotAfter
	}
	return time.Time{}
}

func (h *Holder) load(s Settings) (*loaded, error) {
	l := &loaded{set: s}
	auth := s.Get(ParamAuthClients)
	if _, err := ParseAuthClients(auth); err != nil {
		return nil, fmt.Errorf("%s: %w", ParamAuthClients, err)
	}
	var err error
	if l.min, l.max, err = parseProtocols(s.Get(ParamProtocols)); err != nil {
		return nil, err
	}
	if l.suites, err = parseCiphers(s.Ciphers); err != nil {
		return nil, err
	}
	if (s.CertFile == "") != (s.KeyFile == "") {
		return nil, errors.New("tls-cert-file and tls-key-file must be given together")
	}
	if s.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(s.CertFile, s.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("load certificate %s with key %s: %w", s.CertFile, s.KeyFile, err)
		}
		now := h.now()
		if now.After(cert.Leaf.NotAfter) {
			return nil, fmt.Errorf("certificate %s expired at %s", s.CertFile, cert.Leaf.NotAfter.UTC().Format(time.RFC3339))
		}
		if now.Before(cert.Leaf.NotBefore) {
			return nil, fmt.Errorf("certificate %s is not valid before %s", s.CertFile, cert.Leaf.NotBefore.UTC().Format(time.RFC3339))
		}
		l.cert = &cert
	}
	if s.CAFile != "" {
		pem, err := os.ReadFile(s.CAFile)
		if err != nil {
			return nil, fmt.Errorf("read CA file: %w", err)
		}
		l.pool = x509.NewCertPool()
		if !l.pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA file %s holds no PEM certificate", s.CAFile)
		}
	} else if l.cert != nil && (auth != "no" || s.Cluster) {
		return nil, errors.New("tls-ca-cert-file is required to verify client certificates (or set tls-auth-clients no)")
	}
	if l.cert == nil {
		return l, nil
	}
	cfg := &tls.Config{
		Certificates: []tls.Certificate{*l.cert},
		ClientCAs:    l.pool,
		MinVersion:   l.min,
		MaxVersion:   l.max,
		CipherSuites: l.suites,
	}
	switch auth {
	case "yes":
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	case "optional":
		cfg.ClientAuth = tls.VerifyClientCertIfGiven
	}
	if s.Cluster && cfg.ClientAuth == tls.NoClientCert {
		// Nodes calling this listener must prove they are nodes.
		cfg.ClientAuth = tls.VerifyClientCertIfGiven
	}
	l.server = cfg
	l.mutual = cfg.Clone()
	l.mutual.ClientAuth = tls.RequireAndVerifyClientCert
	return l, nil
}

// MutualServerConfig is ServerConfig with client certificates required
// whatever tls-auth-clients says: the region link listener, where only
// nodes connect.
func (h *Holder) MutualServerConfig() *tls.Config {
	return &tls.Config{
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			if l := h.cur.Load(); l.mutual != nil {
				return l.mutual, nil
			}
			return nil, ErrNoCertificate
		},
	}
}

// ServerConfig is the client listener's configuration: each handshake
// takes the material current at that moment.
func (h *Holder) ServerConfig() *tls.Config {
	return &tls.Config{
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			if l := h.cur.Load(); l.server != nil {
				return l.server, nil
			}
			return nil, ErrNoCertificate
		},
	}
}

// HTTPSConfig is the HTTP listener's configuration (the dashboard and
// /metrics over HTTPS): this node's certificate and the protocol
// settings, current at each handshake, with no client certificate asked
// for (browsers sign in with an ACL user instead).
func (h *Holder) HTTPSConfig() *tls.Config {
	return &tls.Config{
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			l := h.cur.Load()
			if l.cert == nil {
				return nil, ErrNoCertificate
			}
			return &tls.Config{Certificates: []tls.Certificate{*l.cert}, MinVersion: l.min, MaxVersion: l.max,
				CipherSuites: l.suites, NextProtos: []string{"http/1.1"}}, nil
		},
	}
}

// HasCertificate reports whether a certificate is loaded.
func (h *Holder) HasCertificate() bool { return h.cur.Load().cert != nil }

// Listen listens on addr and serves TLS over it with ServerConfig.
func (h *Holder) Listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	return tls.NewListener(ln, h.ServerConfig()), nil
}

// ClientConfig is the configuration of outbound node-to-node and region
// link connections: this node's certificate is presented, and the peer's
// must chain to the CA. Host names are not checked (nodes are reached at
// the addresses they announced, which a certificate need not list): the
// CA is the trust boundary, as Redis's cluster bus does.
func (h *Holder) ClientConfig() *tls.Config {
	l := h.cur.Load()
	return &tls.Config{
		MinVersion:         l.min,
		MaxVersion:         l.max,
		CipherSuites:       l.suites,
		InsecureSkipVerify: true, // replaced by VerifyConnection below
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			if c := h.cur.Load().cert; c != nil {
				return c, nil
			}
			return &tls.Certificate{}, nil
		},
		VerifyConnection: func(cs tls.ConnectionState) error {
			return h.VerifyPeer(cs.PeerCertificates, x509.ExtKeyUsageServerAuth)
		},
	}
}

// VerifyPeer checks that a peer's certificate chain leads to the CA, for
// the given use.
func (h *Holder) VerifyPeer(chain []*x509.Certificate, usage x509.ExtKeyUsage) error {
	l := h.cur.Load()
	if l.pool == nil {
		return errors.New("tls: no CA configured (tls-ca-cert-file)")
	}
	if len(chain) == 0 {
		return errors.New("tls: peer presented no certificate")
	}
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	_, err := chain[0].Verify(x509.VerifyOptions{Roots: l.pool, Intermediates: inter, CurrentTime: h.now(), KeyUsages: []x509.ExtKeyUsage{usage}})
	return err
}

// Dial connects to addr with ClientConfig within timeout, handshake
// included.
func (h *Holder) Dial(addr string, timeout time.Duration) (net.Conn, error) {
	d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: timeout}, Config: h.ClientConfig()}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	return c, nil
}

var protocols = map[string]uint16{
	"tlsv1": tls.VersionTLS10, "tlsv1.0": tls.VersionTLS10, "tlsv1.1": tls.VersionTLS11,
	"tlsv1.2": tls.VersionTLS12, "tlsv1.3": tls.VersionTLS13,
}

// parseProtocols turns "TLSv1.2 TLSv1.3" into a version range; a set
// with holes cannot be expressed and is refused.
func parseProtocols(v string) (min, max uint16, err error) {
	seen := map[uint16]bool{}
	for _, f := range strings.Fields(v) {
		ver, ok := protocols[strings.ToLower(f)]
		if !ok {
			return 0, 0, fmt.Errorf("tls-protocols: unknown protocol %q (TLSv1, TLSv1.1, TLSv1.2, TLSv1.3)", f)
		}
		seen[ver] = true
		if min == 0 || ver < min {
			min = ver
		}
		if ver > max {
			max = ver
		}
	}
	if min == 0 {
		return 0, 0, errors.New("tls-protocols: no protocol given")
	}
	for ver := min; ver <= max; ver++ {
		if !seen[ver] {
			return 0, 0, fmt.Errorf("tls-protocols: %q leaves a gap between versions; list a contiguous range", v)
		}
	}
	return min, max, nil
}

// openssl maps OpenSSL's names of the suites Go implements to Go's IDs.
var openssl = map[string]uint16{
	"ECDHE-ECDSA-AES128-GCM-SHA256": tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	"ECDHE-RSA-AES128-GCM-SHA256":   tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	"ECDHE-ECDSA-AES256-GCM-SHA384": tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	"ECDHE-RSA-AES256-GCM-SHA384":   tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	"ECDHE-ECDSA-CHACHA20-POLY1305": tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	"ECDHE-RSA-CHACHA20-POLY1305":   tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
	"ECDHE-ECDSA-AES128-SHA":        tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
	"ECDHE-RSA-AES128-SHA":          tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
	"ECDHE-ECDSA-AES256-SHA":        tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
	"ECDHE-RSA-AES256-SHA":          tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
	"AES128-GCM-SHA256":             tls.TLS_RSA_WITH_AES_128_GCM_SHA256,
	"AES256-GCM-SHA384":             tls.TLS_RSA_WITH_AES_256_GCM_SHA384,
	"AES128-SHA":                    tls.TLS_RSA_WITH_AES_128_CBC_SHA,
	"AES256-SHA":                    tls.TLS_RSA_WITH_AES_256_CBC_SHA,
}

// parseCiphers turns a colon-separated list of suite names (OpenSSL's or
// IANA's) into Go suite IDs; "" is Go's default list. Insecure suites
// and unknown names are refused.
func parseCiphers(v string) ([]uint16, error) {
	if strings.TrimSpace(v) == "" {
		return nil, nil
	}
	var out []uint16
	for _, name := range strings.FieldsFunc(v, func(r rune) bool { return r == ':' || r == ' ' || r == ',' }) {
		if id, ok := openssl[strings.ToUpper(name)]; ok {
			out = append(out, id)
			continue
		}
		found := false
		for _, cs := range tls.CipherSuites() {
			if strings.EqualFold(cs.Name, name) {
				found = true
				if len(cs.SupportedVersions) == 1 && cs.SupportedVersions[0] == tls.VersionTLS13 {
					return nil, fmt.Errorf("tls-ciphers: %s is a TLS 1.3 suite (not configurable)", name)
				}
				out = append(out, cs.ID)
			}
		}
		if !found {
			return nil, fmt.Errorf("tls-ciphers: unknown or insecure cipher suite %q", name)
		}
	}
	return out, nil
}

// SelfClientConfig is the configuration of a connection from this node to
// its own TLS client port (the dashboard, which is a client of its node):
// this node's certificate is presented (for tls-auth-clients), and the
// peer must present exactly this node's current certificate, so no CA is
// needed to trust it.
func (h *Holder) SelfClientConfig() *tls.Config {
	cfg := h.ClientConfig()
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		own := h.cur.Load().cert
		if own == nil || len(own.Certificate) == 0 || len(cs.PeerCertificates) == 0 ||
			!bytes.Equal(cs.PeerCertificates[0].Raw, own.Certificate[0]) {
			return errors.New("tls: the node's own port presented another certificate")
		}
		return nil
	}
	return cfg
}
