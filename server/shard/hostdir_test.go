package shard_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairndb/cairn/server/reply"
	"github.com/cairndb/cairn/server/shard"
)

// TestHostnameChange restarts a host whose Raft data was written on a
// machine of another name (a recreated container): the data, log and
// snapshot, is adopted, not left behind or refused.
func TestHostnameChange(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "raft")
	addr := freeAddr(t)
	n := start(t, dir, addr, shard.Options{})
	n.write("SET", "before-snap", "1")
	n.snapshot()
	n.write("SET", "after-snap", "2")
	n.close()

	// Make it look written on "old-box": the data under dir/old-box and
	// the flag file naming it.
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, host), filepath.Join(dir, "old-box")); err != nil {
		t.Fatal(err)
	}
	if err := shard.SetFlagHostname(dir, "old-box"); err != nil {
		t.Fatal(err)
	}

	n = start(t, dir, addr, shard.Options{})
	if got := n.host.AdoptedHostname(); got != "old-box" {
		t.Errorf("AdoptedHostname = %q, want old-box", got)
	}
	check(t, n.read("GET", "before-snap"), reply.BulkString("1"), "key in the snapshot")
	check(t, n.read("GET", "after-snap"), reply.BulkString("2"), "key in the log tail")
	n.write("SET", "after-adopt", "3")
	if target, err := os.Readlink(filepath.Join(dir, host)); err != nil || target != "old-box" {
		t.Errorf("%s links to %q, %v; want old-box", host, target, err)
	}

	// Again: nothing left to adopt, everything still there.
	n = n.restart()
	if got := n.host.AdoptedHostname(); got != "" {
		t.Errorf("second restart adopted %q", got)
	}
	check(t, n.read("GET", "after-adopt"), reply.BulkString("3"), "key written after adopting")
	n.close()

	// A different Raft address is refused with an error that says why.
	_, err = shard.NewHost(shard.HostConfig{Dir: dir, RaftAddr: freeAddr(t)})
	if err == nil || !strings.Contains(err.Error(), "Raft address cannot change") || !strings.Contains(err.Error(), addr) {
		t.Fatalf("NewHost with another Raft address: %v", err)
	}
}
