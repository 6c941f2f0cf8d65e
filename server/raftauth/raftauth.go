// Package raftauth derives the Raft transport's mutual-TLS credentials
// from a secret every node of a cluster is started with (--raft-secret),
// so that the transport accepts only peers that know the secret even
// without operator certificates (--tls-cluster).
//
// The secret determines a certificate authority: its Ed25519 key is
// HMAC-SHA256(secret, Label) used as the key seed, its certificate is
// built from fixed fields, so every node holding the secret derives the
// same CA without exchanging anything. Each node then issues itself a
// fresh leaf certificate (a random key, valid for the host its Raft
// address names) signed by that CA, and runs Dragonboat's MutualTLS with
// the three files: a peer must present a certificate of the same CA, i.e.
// one issued by a holder of the secret, before it can send a Raft
// message. The CA's private key is never written anywhere.
//
// Label versions the derivation: nodes that derive under different
// labels do not trust each other (it is part of the wire format of the
// Raft transport).
package raftauth

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"time"
)

// Label is the derivation's version: the HMAC message that turns the
// secret into the CA's key seed, and the CA's common name.
const Label = "cairn raft transport CA v1"

// MinSecretLen is the shortest secret accepted.
const MinSecretLen = 16

// CheckSecret tells whether secret is usable.
func CheckSecret(secret []byte) error {
	if len(secret) < MinSecretLen {
		return fmt.Errorf("the Raft secret must be at least %d bytes", MinSecretLen)
	}
	return nil
}

// caKey is the CA's private key for secret.
func caKey(secret []byte) ed25519.PrivateKey {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(Label))
	return ed25519.NewKeyFromSeed(m.Sum(nil))
}

// caTemplate holds only fixed fields: every node builds the same CA.
var caTemplate = x509.Certificate{
	SerialNumber:          big.NewInt(1),
	Subject:               pkix.Name{CommonName: Label},
	NotBefore:             time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC),
	NotAfter:              time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC),
	IsCA:                  true,
	BasicConstraintsValid: true,
	MaxPathLenZero:        true,
	KeyUsage:              x509.KeyUsageCertSign,
}

// CA returns the certificate authority secret determines (DER and parsed)
// and its key.
func CA(secret []byte) (*x509.Certificate, ed25519.PrivateKey, error) {
	if err := CheckSecret(secret); err != nil {
		return nil, nil, err
	}
	key := caKey(secret)
	der, err := x509.CreateCertificate(nil, &caTemplate, &caTemplate, key.Public(), key)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return cert, key, err
}

// Issue returns a new leaf certificate and key signed by secret's CA,
// valid for host (an IP address or a DNS name) as a TLS server and
// client, with the CA certificate, all PEM encoded.
func Issue(secret []byte, host string, now time.Time) (caPEM, certPEM, keyPEM []byte, err error) {
	ca, caPriv, err := CA(secret)
	if err != nil {
		return nil, nil, nil, err
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, nil, err
	}
	leaf := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "cairn raft node " + host},
		// A day's margin for the peers' clock skew; the certificate
		// lives as long as the process.
		NotBefore:   now.Add(-24 * time.Hour),
		NotAfter:    now.Add(100 * 365 * 24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	if ip := net.ParseIP(host); ip != nil {
		leaf.IPAddresses = []net.IP{ip}
	} else if host != "" {
		leaf.DNSNames = []string{host}
	}
	der, err := x509.CreateCertificate(rand.Reader, leaf, ca, pub, caPriv)
	if err != nil {
		return nil, nil, nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Raw}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), nil
}

// TLSConfigs issues a leaf for the host of raftAddr (host:port) and
// returns the transport's TLS settings, all in memory (nothing is
// written: a container without a writable temporary directory works,
// and no key is left behind): the server asks every peer for a
// certificate of secret's CA, the client presents its own and checks
// the peer's against the same CA and the host it dials.
func TLSConfigs(secret []byte, raftAddr string) (server *tls.Config, client func(target string) (*tls.Config, error), err error) {
	if err := CheckSecret(secret); err != nil {
		return nil, nil, err
	}
	host, _, err := net.SplitHostPort(raftAddr)
	if err != nil {
		return nil, nil, fmt.Errorf("raft address %q: %w", raftAddr, err)
	}
	caPEM, certPEM, keyPEM, err := Issue(secret, host, time.Now())
	if err != nil {
		return nil, nil, err
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, nil, errors.New("raftauth: CA certificate not usable")
	}
	server = &tls.Config{Certificates: []tls.Certificate{pair}, ClientCAs: pool,
		ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12}
	client = func(target string) (*tls.Config, error) {
		h, _, err := net.SplitHostPort(target)
		if err != nil {
			return nil, err
		}
		return &tls.Config{Certificates: []tls.Certificate{pair}, RootCAs: pool, ServerName: h, MinVersion: tls.VersionTLS12}, nil
	}
	return server, client, nil
}

// RandomSecret returns a secret no other process knows: a single node's
// transport then accepts no peer at all.
func RandomSecret() ([]byte, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, errors.New("raftauth: no randomness for the Raft secret")
	}
	return b, nil
}

// JoinLabel versions the join credential's derivation (part of the wire
// format of CLUSTER ADDNODE: nodes that derive under different labels
// cannot join each other).
const JoinLabel = "cairn join credential v1"

// JoinCredential is the credential a node that is not yet a member of a
// cluster authenticates with on another node's client port (AUTH
// cairn-node <credential>) to ask to join it (CLUSTER ADDNODE): hex of
// HMAC-SHA256(secret, JoinLabel). Only holders of the Raft secret can
// compute it, and it reveals nothing about the secret or the CA key.
func JoinCredential(secret []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(JoinLabel))
	return hex.EncodeToString(m.Sum(nil))
}
