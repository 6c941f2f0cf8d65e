package session

import (
	"context"
	"crypto/tls"
	"net"
	"strconv"
	"time"
)

// TLS is the node's TLS material as CONFIG sees it (package tlsconf
// holds it). The session layer never reads certificate files: it hands
// parameter changes over and gets connections that are already TLS.
type TLS interface {
	// Get returns the current value of a tls-* parameter.
	Get(name string) string
	// Prepare checks a set of changed tls-* parameters together (loading
	// the files they name); commit makes later handshakes use them.
	// Nothing changes when err is set.
	Prepare(changes map[string]string) (commit func(), err error)
}

// tlsParams are the tls-* parameters CONFIG SET changes (the files are
// read again; listeners keep running, connections keep their session).
var tlsParams = []string{"tls-cert-file", "tls-key-file", "tls-ca-cert-file", "tls-auth-clients", "tls-protocols", "tls-ciphers"}

// defTLSParams declares the tls-* parameters.
func defTLSParams(s *Server, def func(name, value string, parse func(string) (string, error), apply func(*Server, string)) *param) {
	cfg := s.cfg
	def("tls-port", strconv.Itoa(cfg.TLSPort), nil, nil)
	def("tls-cluster", yesNo(cfg.TLSCluster), nil, nil)
	for _, name := range tlsParams {
		v := ""
		if cfg.TLS != nil {
			v = cfg.TLS.Get(name)
		}
		parse := anyString
		if name == "tls-auth-clients" {
			parse = parseEnum("no", "yes", "optional")
		}
		d := def(name, v, parse, nil)
		d.tls, d.file = true, true
	}
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// prepareTLS checks the tls-* changes of one CONFIG SET; first names the
// parameter Redis's error mentions.
func (s *Server) prepareTLS(changes map[string]string, first string) (func(), string) {
	if len(changes) == 0 {
		return func() {}, ""
	}
	if s.cfg.TLS == nil {
		return nil, "ERR CONFIG SET failed (possibly related to argument '" + first + "') - TLS is not available on this node"
	}
	commit, err := s.cfg.TLS.Prepare(changes)
	if err != nil {
		s.log.Warn("failed to update TLS configuration", "err", err)
		return nil, "ERR CONFIG SET failed (possibly related to argument '" + first + "') - Unable to update TLS configuration. Check server logs."
	}
	return commit, ""
}

// tlsHandshakeTimeout bounds a client's TLS handshake.
const tlsHandshakeTimeout = 10 * time.Second

// handshake completes a TLS connection's handshake before it is served:
// a client that speaks plaintext to the TLS port, presents a bad
// certificate or stalls is closed here without taking a client slot.
// It returns the underlying TCP connection (nil for a plain one that is
// not TCP) and whether to serve.
func (s *Server) handshake(nc net.Conn) (*net.TCPConn, bool) {
	tc, ok := nc.(*tls.Conn)
	if !ok {
		tcp, _ := nc.(*net.TCPConn)
		return tcp, true
	}
	ctx, cancel := context.WithTimeout(context.Background(), tlsHandshakeTimeout)
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		s.log.Debug("TLS handshake failed", "addr", nc.RemoteAddr().String(), "err", err)
		nc.Close()
		return nil, false
	}
	tcp, _ := tc.NetConn().(*net.TCPConn)
	return tcp, true
}

// nodeCertOK tells whether a connection may authenticate as a node: with
// cluster TLS on, only a TLS connection whose client certificate chained
// to the cluster's CA may.
func (s *Server) nodeCertOK(c *client) bool {
	if !s.cfg.TLSCluster {
		return true
	}
	tc, ok := c.nc.(*tls.Conn)
	return ok && len(tc.ConnectionState().VerifiedChains) > 0
}
