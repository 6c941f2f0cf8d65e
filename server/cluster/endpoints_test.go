package cluster

import (
	"bytes"
	"testing"
)

// A node's shard endpoints are announced as a whole, survive a snapshot,
// and are kept by an announce that only changes the client address.
func TestAnnounceEndpoints(t *testing.T) {
	m := bootstrapped(t)
	if got := m.Topology().Node(1).Endpoint(2); got != "" {
		t.Fatalf("endpoint before any announce: %q", got)
	}
	mustApply(t, m, Op{Op: "announce", ID: 1, ClientAddr: "h:7001"})
	if got := m.Topology().Node(1).Endpoint(2); got != "h:7001" {
		t.Fatalf("endpoint of a node without endpoints = %q, want its client address", got)
	}
	before := m.Topology()
	mustApply(t, m, Op{Op: "announce", ID: 1, Endpoints: map[uint64]string{1: "h:7101", 2: "h:7201"}})
	if before.Node(1).Endpoints != nil {
		t.Fatal("announce changed an earlier directory version")
	}
	mustApply(t, m, Op{Op: "announce", ID: 1, ClientAddr: "h2:7001"})
	n := m.Topology().Node(1)
	if n.Endpoint(1) != "h:7101" || n.Endpoint(2) != "h:7201" || n.Endpoint(3) != "h2:7001" {
		t.Fatalf("endpoints %v, client %s", n.Endpoints, n.ClientAddr)
	}
	mustApply(t, m, Op{Op: "announce", ID: 1, Endpoints: map[uint64]string{3: "h:7301"}})
	if n := m.Topology().Node(1); n.Endpoint(1) != "h2:7001" || n.Endpoint(3) != "h:7301" {
		t.Fatalf("endpoints not replaced as a whole: %v", n.Endpoints)
	}
	var buf bytes.Buffer
	if err := m.Save(&buf); err != nil {
		t.Fatal(err)
	}
	m2 := NewMachine()
	if err := m2.Load(&buf); err != nil {
		t.Fatal(err)
	}
	if got := m2.Topology().Node(1).Endpoint(3); got != "h:7301" {
		t.Fatalf("endpoint after a snapshot: %q", got)
	}
	if _, err := apply(t, m, Op{Op: "announce", ID: 9, Endpoints: map[uint64]string{1: "x:1"}}); err == nil {
		t.Fatal("announce of an unknown node accepted")
	}
}
