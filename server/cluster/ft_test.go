package cluster

import (
	"bytes"
	"strings"
	"testing"
)

func ftOp(s string) Op {
	var args [][]byte
	for _, w := range strings.Fields(s) {
		args = append(args, []byte(w))
	}
	return Op{Op: "ft", FT: args}
}

// TestFTDefinitions: the directory keeps FT indexes and aliases with a
// shard registry's rules and error texts, counts changes in FTEpoch,
// leaves earlier topologies unchanged, and keeps them in its snapshot.
func TestFTDefinitions(t *testing.T) {
	m := bootstrapped(t)
	steps := []struct {
		op, err string
	}{
		{"FT.CREATE idx PREFIX 1 doc: SCHEMA n NUMERIC", ""},
		{"FT.CREATE idx SCHEMA n NUMERIC", "Index already exists"},
		{"FT.ALIASADD al idx", ""},
		{"FT.ALIASADD al idx", "Alias already exists"},
		{"FT.ALIASADD idx idx", "Alias already exists"},
		{"FT.CREATE al SCHEMA n NUMERIC", "Index already exists"},
		{"FT.ALIASADD a2 nosuch", "Unknown index name (or name is an alias itself)"},
		{"FT.ALIASADD a2 al", "Unknown index name (or name is an alias itself)"},
		{"FT.CREATE idx2 SCHEMA t TAG", ""},
		{"FT.ALIASUPDATE al idx2", ""},
		{"FT.ALIASDEL nosuch", "Alias does not exist"},
		{"FT.ALIASADD a3 idx2", ""},
		{"FT.DROPINDEX nosuch", "Unknown Index name"},
	}
	epoch := uint64(0)
	for _, s := range steps {
		before := m.Topology()
		_, err := apply(t, m, ftOp(s.op))
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != s.err {
			t.Fatalf("%s: error %q, want %q", s.op, got, s.err)
		}
		if s.err == "" {
			epoch++
		} else if m.Topology() != before {
			t.Fatalf("%s: a refused op changed the directory", s.op)
		}
		if m.Topology().FTEpoch != epoch {
			t.Fatalf("%s: FTEpoch %d, want %d", s.op, m.Topology().FTEpoch, epoch)
		}
	}
	old := m.Topology()
	// Dropping through an alias drops the index and all its aliases.
	mustApply(t, m, ftOp("FT.DROPINDEX al DD"))
	topo := m.Topology()
	if _, ok := topo.FTIndexes["idx2"]; ok || len(topo.FTAliases) != 0 || len(topo.FTIndexes) != 1 {
		t.Fatalf("after drop: indexes %q aliases %v", topo.FTIndexes, topo.FTAliases)
	}
	if len(old.FTIndexes) != 2 || len(old.FTAliases) != 2 {
		t.Fatalf("an earlier topology changed: %q %v", old.FTIndexes, old.FTAliases)
	}
	if got := bytes.Join(topo.FTIndexes["idx"], []byte(" ")); string(got) != "idx PREFIX 1 doc: SCHEMA n NUMERIC" {
		t.Fatalf("stored definition %q", got)
	}
	// The snapshot keeps them.
	var buf bytes.Buffer
	if err := m.Save(&buf); err != nil {
		t.Fatal(err)
	}
	m2 := NewMachine()
	if err := m2.Load(&buf); err != nil {
		t.Fatal(err)
	}
	t2 := m2.Topology()
	if t2.FTEpoch != topo.FTEpoch || len(t2.FTIndexes) != 1 || string(bytes.Join(t2.FTIndexes["idx"], []byte(" "))) != "idx PREFIX 1 doc: SCHEMA n NUMERIC" {
		t.Fatalf("after load: epoch %d indexes %q", t2.FTEpoch, t2.FTIndexes)
	}
	if _, err := apply(t, m, Op{Op: "ft"}); err == nil {
		t.Fatal("an empty ft op was accepted")
	}
}
