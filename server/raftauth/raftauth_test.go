package raftauth

import (
	"bytes"
	"crypto/ed25519"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net"
	"os"
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

// TestHandshake: a TLS server configured as Dragonboat's MutualTLS is
// (RequireAndVerifyClientCert, the files of TempFiles) completes a
// handshake with a client of the same secret and refuses one of another
// secret or without a certificate.
func TestHandshake(t *testing.T) {
	const secret = "0123456789abcdef-handshake"
	dir, f, err := TempFiles([]byte(secret), "127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	for _, p := range []string{f.CA, f.Cert, f.Key} {
		if st, err := os.Stat(p); err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v %v", p, st.Mode(), err)
		}
	}
	pair, err := tls.LoadX509KeyPair(f.Cert, f.Key)
	if err != nil {
		t.Fatal(err)
	}
	caPEM, _ := os.ReadFile(f.CA)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{ClientAuth: tls.RequireAndVerifyClientCert, Certificates: []tls.Certificate{pair}, ClientCAs: pool})
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
