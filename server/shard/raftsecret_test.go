package shard_test

import (
	"os"
	"testing"

	"github.com/cairndb/cairn/server/raftauth/raftauthtest"
	"github.com/cairndb/cairn/server/shard"
)

// TestRaftSecret_Host: a host without RaftSecret (nor TLS files) runs a
// plaintext transport that processes a message from anyone (the probe's
// poison number is acked); with RaftSecret, the transport is on mutual
// TLS: the same message gets no answer, a peer of another secret fails
// the handshake, a peer of the secret is accepted. The derived files
// live in a private temporary directory removed at Close.
func TestRaftSecret_Host(t *testing.T) {
	open := freeAddr(t)
	h, err := shard.NewHost(shard.HostConfig{Dir: t.TempDir(), RaftAddr: open, RTTMillisecond: 5})
	if err != nil {
		t.Fatal(err)
	}
	if err := raftauthtest.Plain(open); err != nil {
		t.Errorf("plaintext transport (the probe's control): %v, want a poison ack", err)
	}
	h.Close()

	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	const secret = "host-raft-secret-0123456789"
	addr := freeAddr(t)
	h, err = shard.NewHost(shard.HostConfig{Dir: t.TempDir(), RaftAddr: addr, RTTMillisecond: 5, RaftSecret: []byte(secret)})
	if err != nil {
		t.Fatal(err)
	}
	if err := raftauthtest.Plain(addr); err == nil {
		t.Error("the transport with a Raft secret processed a plaintext peer's message")
	} else {
		t.Logf("plaintext peer: %v", err)
	}
	if err := raftauthtest.TLS(addr, "another-secret-0123456789"); err == nil {
		t.Error("the transport accepted a peer of another secret")
	} else {
		t.Logf("peer of another secret: %v", err)
	}
	if err := raftauthtest.TLS(addr, secret); err != nil {
		t.Errorf("the transport refused a peer of its secret: %v", err)
	}
	if ents, _ := os.ReadDir(tmp); len(ents) != 1 {
		t.Errorf("temporary directory holds %d entries while the host runs, want 1 (its credentials)", len(ents))
	}
	h.Close()
	if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
		t.Errorf("the credentials' directory outlived Close: %v", ents)
	}
	if _, err := shard.NewHost(shard.HostConfig{Dir: t.TempDir(), RaftAddr: freeAddr(t), RaftSecret: []byte("short")}); err == nil {
		t.Error("a 5-byte Raft secret was accepted")
	}
}
