// Package raftauthtest probes a Raft transport port from outside, as a
// process that is not a node of the cluster would: tests use it to show
// which peers the transport accepts.
package raftauthtest

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/cairndb/cairn/server/raftauth"
)

// Plain connects over plain TCP and sends Dragonboat's poison number, a
// message a transport processes by answering with a poison ack. It
// returns nil when the ack came back (the transport processed a message
// from this peer), else why not. It waits longer than the listener's 3s
// TLS handshake timeout.
func Plain(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte{0, 0}); err != nil {
		return err
	}
	conn.SetDeadline(time.Now().Add(4 * time.Second))
	ack := make([]byte, 2)
	if _, err := io.ReadFull(conn, ack); err != nil {
		return fmt.Errorf("no poison ack: %w", err)
	}
	if ack[0] != 0 || ack[1] != 0 {
		return fmt.Errorf("reply %x, not a poison ack", ack)
	}
	return nil
}

// TLS runs a TLS handshake presenting a certificate derived from secret
// (raftauth.Issue) and returns nil when the transport accepted the peer:
// the handshake completed and the transport waits for Raft messages (a
// read times out). The client does not verify the server: the question
// is whether the server accepts this client.
func TLS(addr, secret string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	_, certPEM, keyPEM, err := raftauth.Issue([]byte(secret), host, time.Now())
	if err != nil {
		return err
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return err
	}
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr,
		&tls.Config{ServerName: host, Certificates: []tls.Certificate{pair}, InsecureSkipVerify: true})
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(time.Second))
	_, err = conn.Read(make([]byte, 1))
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return nil
	}
	if err == nil {
		err = errors.New("unexpected bytes from the transport")
	}
	return err
}
