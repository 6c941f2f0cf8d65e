package cluster

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestClusterVersionIsTheMinimum(t *testing.T) {
	m := bootstrapped(t)
	if v := m.Topology().ClusterVersion(); v != 1 {
		t.Fatalf("nodes that have not announced a version: cluster version %d, want 1", v)
	}
	for id := uint64(1); id <= 3; id++ {
		mustApply(t, m, Op{Op: "announce", ID: id, ClientAddr: "x:1", Version: 3})
		want := uint8(1)
		if id == 3 {
			want = 3
		}
		if v := m.Topology().ClusterVersion(); v != want {
			t.Fatalf("after node %d announced 3: cluster version %d, want %d", id, v, want)
		}
	}
	// An old node joins: the minimum drops.
	mustApply(t, m, Op{Op: "add-node", RaftAddr: "d:1"})
	if v := m.Topology().ClusterVersion(); v != 1 {
		t.Fatalf("with an old node: %d", v)
	}
	// The version survives a snapshot.
	var buf bytes.Buffer
	if err := m.Save(&buf); err != nil {
		t.Fatal(err)
	}
	r := NewMachine()
	if err := r.Load(&buf); err != nil {
		t.Fatal(err)
	}
	if r.Topology().Node(1).Version != 3 {
		t.Fatal("node version lost in a snapshot")
	}
}

// TestDirectoryHaltsOnUnknown: a directory replica meeting an op or a
// snapshot it does not understand stops: nothing changes, later ops are
// refused, no snapshot is saved.
func TestDirectoryHaltsOnUnknown(t *testing.T) {
	newer, _ := json.Marshal(Op{Op: "announce", ID: 1, ClientAddr: "y:1", V: FormatVersion + 1})
	for name, cmd := range map[string][]byte{
		"newer op format": newer,
		"unknown op":      Encode(Op{Op: "drain-node", ID: 1}),
		"garbage":         []byte("{not json"),
	} {
		t.Run(name, func(t *testing.T) {
			m := bootstrapped(t)
			before := m.Topology()
			if _, err := DecodeResult(m.Apply(cmd)); err == nil {
				t.Fatal("accepted")
			}
			if m.Halted() == "" {
				t.Fatal("not halted")
			}
			if _, err := apply(t, m, Op{Op: "announce", ID: 2, ClientAddr: "z:1"}); err == nil || !strings.Contains(err.Error(), "halted") {
				t.Fatalf("a later op on a halted directory: %v", err)
			}
			if m.Topology() != before {
				t.Fatal("a halted directory changed")
			}
			if err := m.Save(&bytes.Buffer{}); err == nil {
				t.Fatal("a halted directory saved a snapshot")
			}
		})
	}
	m := bootstrapped(t)
	var buf bytes.Buffer
	if err := m.Save(&buf); err != nil {
		t.Fatal(err)
	}
	snap := bytes.Replace(buf.Bytes(), []byte(`"format":1`), []byte(`"format":9`), 1)
	if bytes.Equal(snap, buf.Bytes()) {
		t.Fatal("no format in the snapshot")
	}
	r := NewMachine()
	if err := r.Load(bytes.NewReader(snap)); err != nil || r.Halted() == "" {
		t.Fatalf("newer snapshot: %v, halted %q", err, r.Halted())
	}
}
