package raftauth

import (
	"bytes"
	"crypto/ed25519"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"net"
	"strings"
	"testing"
	"time"
)

func leaf(t *testing.T, secret, host string) (ca *x509.CertPool, cert *x509.Certificate, pair tls.Certificate) {
	t.Helper()
	caPEM, certPEM, keyPEM, err := Issue([]byte(secret), host, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ca = x509.NewCertPool()
	if !ca.AppendCertsFromPEM(caPEM) {
		t.Fatal("CA PEM")
	}
	b, _ := pem.Decode(certPEM)
	if cert, err = x509.ParseCertificate(b.Bytes); err != nil {
		t.Fatal(err)
	}
	if pair, err = tls.X509KeyPair(certPEM, keyPEM); err != nil {
		t.Fatal(err)
	}
	return ca, cert, pair
}

// TestDerivation: every holder of a secret derives the same CA; a leaf
// verifies against its own secret's CA (for its host, as server and
// client) and not against another secret's.
func TestDerivation(t *testing.T) {
	a1, _, err := CA([]byte("0123456789abcdef-A"))
	if err != nil {
		t.Fatal(err)
	}
	a2, _, _ := CA([]byte("0123456789abcdef-A"))
	b, _, _ := CA([]byte("0123456789abcdef-B"))
	if !bytes.Equal(a1.Raw, a2.Raw) {
		t.Fatal("the same secret derived two different CAs")
	}
	if a1.PublicKey.(ed25519.PublicKey).Equal(b.PublicKey) {
		t.Fatal("two secrets derived the same CA key")
	}
	caA, certA, _ := leaf(t, "0123456789abcdef-A", "127.0.0.1")
	caB, _, _ := leaf(t, "0123456789abcdef-B", "127.0.0.1")
	for _, usage := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
		if _, err := certA.Verify(x509.VerifyOptions{Roots: caA, DNSName: "127.0.0.1", KeyUsages: []x509.ExtKeyUsage{usage}}); err != nil {
			t.Errorf("leaf against its own secret's CA (usage %v): %v", usage, err)
		}
	}
	if _, err := certA.Verify(x509.VerifyOptions{Roots: caB, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err == nil {
		t.Error("a leaf of secret A verified against secret B's CA")
	}
	if _, err := certA.Verify(x509.VerifyOptions{Roots: caA, DNSName: "10.9.9.9"}); err == nil {
		t.Error("a leaf verified for another host")
	}
	_, certDNS, _ := leaf(t, "0123456789abcdef-A", "node1.example")
	if _, err := certDNS.Verify(x509.VerifyOptions{Roots: caA, DNSName: "node1.example"}); err != nil {
		t.Errorf("DNS leaf: %v", err)
	}
	if _, _, err := CA([]byte("short")); err == nil {
		t.Error("a 5-byte secret was accepted")
	}
}

// TestHandshake: a TLS server with TLSConfigs' server settings completes
// a handshake with a client of the same secret (TLSConfigs' client
// settings too) and refuses one of another secret or without a
// certificate.
func TestHandshake(t *testing.T) {
	const secret = "0123456789abcdef-handshake"
	server, client, err := TLSConfigs([]byte(secret), "127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", server)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				if c.(*tls.Conn).Handshake() == nil {
					c.Write([]byte("ok"))
				}
			}()
		}
	}()
	own, err := client(ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	if c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", ln.Addr().String(), own); err != nil {
		t.Errorf("TLSConfigs' own client: %v", err)
	} else {
		c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Read(make([]byte, 2)); err != nil {
			t.Errorf("TLSConfigs' own client: %v", err)
		}
		c.Close()
	}
	_, otherClient, err := TLSConfigs([]byte("another-secret-of-16-bytes"), "127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	other, _ := otherClient(ln.Addr().String())
	if c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", ln.Addr().String(), other); err == nil {
		c.Close()
		t.Error("a client of another secret trusted this server")
	}
	try := func(certs []tls.Certificate, roots *x509.CertPool) error {
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", ln.Addr().String(),
			&tls.Config{ServerName: "127.0.0.1", Certificates: certs, RootCAs: roots})
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		_, err = c.Read(make([]byte, 2))
		return err
	}
	ca, _, good := leaf(t, secret, "127.0.0.1")
	_, _, bad := leaf(t, "another-secret-of-16-bytes", "127.0.0.1")
	if err := try([]tls.Certificate{good}, ca); err != nil {
		t.Errorf("same secret: %v", err)
	}
	if err := try([]tls.Certificate{bad}, ca); err == nil {
		t.Error("a client of another secret completed the handshake")
	}
	if err := try(nil, ca); err == nil {
		t.Error("a client without a certificate completed the handshake")
	}
}

// TestJoinCredential: the join credential is the same for every holder of
// a secret, differs between secrets, and is not the CA's key seed.
func TestJoinCredential(t *testing.T) {
	a, b := []byte("join-secret-0123456789"), []byte("join-secret-0123456789x")
	if JoinCredential(a) != JoinCredential(append([]byte(nil), a...)) {
		t.Fatal("not deterministic")
	}
	if JoinCredential(a) == JoinCredential(b) {
		t.Fatal("two secrets give the same credential")
	}
	if len(JoinCredential(a)) != 64 {
		t.Fatalf("credential %q: want 64 hex digits", JoinCredential(a))
	}
	if strings.Contains(JoinCredential(a), hex.EncodeToString(caKey(a).Seed())) {
		t.Fatal("the credential reveals the CA's key seed")
	}
}
