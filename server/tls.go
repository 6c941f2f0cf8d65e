package server

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/cairndb/cairn/server/raftauth"
	"github.com/cairndb/cairn/server/tlsconf"
)

// TLS on a node (package tlsconf holds the material): the client TLS
// port (tls-port), optionally instead of the plaintext one (--port 0);
// with tls-cluster, mutual TLS on the Raft transport, on node-to-node
// calls, on shard endpoints and on region links. Certificates reload on
// CONFIG SET and on SIGHUP (ReloadTLS); the Raft transport reads its
// files at start only.

// validateTLS checks the TLS settings against the rest of the
// configuration.
func (c *Config) validateTLS() error {
	if c.TLSPort < -1 || c.TLSPort > 65535 {
		return errors.New("tls-port out of range")
	}
	hasCert := c.TLS.CertFile != "" || c.TLS.KeyFile != ""
	if (c.TLSPort != 0 || c.TLS.Cluster) && !hasCert {
		return errors.New("TLS needs --tls-cert-file and --tls-key-file")
	}
	if c.PlainDisabled && c.TLSPort == 0 {
		return errors.New("--port 0 disables plaintext clients: set --tls-port")
	}
	if c.TLS.Cluster && c.TLS.CAFile == "" {
		return errors.New("--tls-cluster yes needs --tls-ca-cert-file (the cluster's CA)")
	}
	if c.RaftSecret != "" {
		if err := raftauth.CheckSecret([]byte(c.RaftSecret)); err != nil {
			return fmt.Errorf("--raft-secret: %w", err)
		}
	}
	if c.clusterMode() {
		if !c.TLS.Cluster && c.RaftSecret == "" && c.FaultNet == nil {
			return errors.New("cluster mode needs --raft-secret (the same on every node; the Raft transport accepts only peers that know it) or --tls-cluster yes")
		}
		if c.TLS.Cluster && c.TLSPort == 0 {
			return errors.New("--tls-cluster yes in cluster mode needs --tls-port (nodes call each other on it)")
		}
		if c.PlainDisabled && !c.TLS.Cluster {
			return errors.New("--port 0 in cluster mode needs --tls-cluster yes (nodes call each other on the TLS port)")
		}
	}
	return nil
}

// tlsMain tells whether the TLS listener is the node's main (announced)
// client address: when plaintext is off, or when nodes talk over TLS.
func (c *Config) tlsMain() bool {
	return c.TLSPort != 0 && (c.PlainDisabled || c.TLS.Cluster)
}

// listen opens the client listeners: the plaintext port unless
// disabled, the TLS port if set. ln is the main one (tlsMain).
func (n *Node) listen() error {
	c := &n.cfg
	var plain net.Listener
	var err error
	if !c.PlainDisabled {
		if plain, err = net.Listen("tcp", net.JoinHostPort(c.Bind, strconv.Itoa(max(c.Port, 0)))); err != nil {
			return err
		}
	}
	if c.TLSPort != 0 {
		if n.tlsLn, err = n.tls.Listen(net.JoinHostPort(c.Bind, strconv.Itoa(max(c.TLSPort, 0)))); err != nil {
			if plain != nil {
				plain.Close()
			}
			return fmt.Errorf("tls listener: %w", err)
		}
	}
	n.ln, n.extraLn = plain, n.tlsLn
	if c.tlsMain() {
		n.ln, n.extraLn = n.tlsLn, plain
	}
	return nil
}

// plainAddr is the plaintext client listener's address (nil without).
func (n *Node) plainAddr() net.Addr {
	if n.cfg.tlsMain() {
		if n.extraLn == nil {
			return nil
		}
		return n.extraLn.Addr()
	}
	return n.ln.Addr()
}

// closeListeners closes the client listeners (a failed start).
func (n *Node) closeListeners() {
	for _, ln := range []net.Listener{n.ln, n.extraLn} {
		if ln != nil {
			ln.Close()
		}
	}
}

// nodeDial is how this node reaches other nodes' client ports: mutual
// TLS with tls-cluster, else plain TCP (nil).
func (n *Node) nodeDial() func(addr string, timeout time.Duration) (net.Conn, error) {
	if !n.cfg.TLS.Cluster {
		return nil
	}
	return n.tls.Dial
}

// wrapEndpoint puts a shard endpoint on TLS when the node's client
// address is TLS.
func (n *Node) wrapEndpoint() func(net.Listener) net.Listener {
	if !n.cfg.tlsMain() {
		return nil
	}
	return func(ln net.Listener) net.Listener { return tls.NewListener(ln, n.tls.ServerConfig()) }
}

// raftTLS returns the Raft transport's mutual-TLS files (none without
// tls-cluster).
func (c *Config) raftTLS() (ca, cert, key string) {
	if !c.TLS.Cluster {
		return "", "", ""
	}
	return c.TLS.CAFile, c.TLS.CertFile, c.TLS.KeyFile
}

// raftSecret returns the secret the Raft transport's certificates are
// derived from: nil under tls-cluster (the operator's certificates), a
// random one on a single node (no peer may connect), else RaftSecret.
func (c *Config) raftSecret() ([]byte, error) {
	switch {
	case c.TLS.Cluster:
		return nil, nil
	case c.RaftSecret != "":
		return []byte(c.RaftSecret), nil
	case !c.clusterMode():
		return raftauth.RandomSecret()
	}
	return nil, nil // FaultNet: the tests' in-process transport
}

// TLSAddr returns the TLS client address ("" without tls-port).
func (n *Node) TLSAddr() string {
	if n.tlsLn == nil {
		return ""
	}
	return n.tlsLn.Addr().String()
}

// ReloadTLS reads the certificate, key and CA files again (SIGHUP):
// later handshakes use them, connections in place keep theirs. On error
// the material in use is kept.
func (n *Node) ReloadTLS() error { return n.tls.Reload() }

// tlsParams adapts the holder to session.TLS (CONFIG GET/SET tls-*).
type tlsParams struct{ h *tlsconf.Holder }

func (p tlsParams) Get(name string) string { return p.h.Settings().Get(name) }

func (p tlsParams) Prepare(changes map[string]string) (func(), error) {
	s := p.h.Settings()
	for name, v := range changes {
		s = s.With(name, v)
	}
	return p.h.Prepare(s)
}

// SelfDial is how a client inside this process (the dashboard) reaches
// this node's client port: the plaintext address when there is one,
// otherwise the TLS port with a configuration that trusts exactly this
// node's certificate (tlsconf.SelfClientConfig).
func (n *Node) SelfDial() (addr string, cfg *tls.Config) {
	if a := n.plainAddr(); a != nil {
		return a.String(), nil
	}
	return n.TLSAddr(), n.tls.SelfClientConfig()
}

// PeerDial is the TLS configuration an in-process client (the dashboard)
// uses to reach the other nodes of the cluster at the addresses the
// directory and CLUSTER SHARDS announce, and the shard endpoints MOVED
// points to: nil when those are plaintext; with TLS as the main address
// (tls-cluster, or --port 0), the node-to-node configuration
// (tlsconf.ClientConfig): the node's certificate is presented (for
// tls-auth-clients yes) and the peer's must chain to tls-ca-cert-file.
// Without a CA file peers cannot be verified and the dial fails with an
// error saying so.
func (n *Node) PeerDial() *tls.Config {
	if !n.cfg.tlsMain() {
		return nil
	}
	return n.tls.ClientConfig()
}
