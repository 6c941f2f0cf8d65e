package control

import (
	"maps"
	"os"
	"path/filepath"
	"testing"
)

// TestShardPortsFile: the recorded endpoint ports round-trip; a missing
// file is no ports; a file of another version or with a line this binary
// does not understand is refused, not read in part.
func TestShardPortsFile(t *testing.T) {
	dir := t.TempDir()
	if got, err := RecordedShardPorts(dir); err != nil || len(got) != 0 {
		t.Fatalf("no file: %v %v", got, err)
	}
	want := map[uint64]int{1: 40001, 3: 40003}
	if err := writeShardPorts(dir, want); err != nil {
		t.Fatal(err)
	}
	if got, err := RecordedShardPorts(dir); err != nil || !maps.Equal(got, want) {
		t.Fatalf("round trip: got %v %v, want %v", got, err, want)
	}
	for name, body := range map[string]string{
		"newer version": "cairn-shard-ports 2\n1 40001\n",
		"no header":     "1 40001\n",
		"bad line":      shardPortsHeader + "\n1 40001\n2 x\n",
		"bad port":      shardPortsHeader + "\n1 70000\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, shardPortsFile), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if got, err := RecordedShardPorts(dir); err == nil || len(got) != 0 {
			t.Errorf("%s: got %v %v, want an error and no ports", name, got, err)
		}
	}
}
