package control

import (
	"os"
	"path/filepath"
	"testing"
)

// TestNodeIDFile checks the identity file's replace-by-rename: the new
// content is there, no temporary file is left, and a torn temporary file
// left by a crash never shadows the real one.
func TestNodeIDFile(t *testing.T) {
	dir := t.TempDir()
	if id, err := readNodeID(dir); err != nil || id != 0 {
		t.Fatalf("empty dir: %d, %v", id, err)
	}
	if err := writeNodeID(dir, 7); err != nil {
		t.Fatal(err)
	}
	// A crash mid-write of the next version leaves a torn temp file.
	if err := os.WriteFile(filepath.Join(dir, nodeIDFile+".tmp"), []byte("1"), 0o644); err != nil {
		t.Fatal(err)
	}
	if id, err := readNodeID(dir); err != nil || id != 7 {
		t.Fatalf("after a torn temp file: %d, %v", id, err)
	}
	if err := writeNodeID(dir, 12); err != nil {
		t.Fatal(err)
	}
	if id, err := readNodeID(dir); err != nil || id != 12 {
		t.Fatalf("rewritten: %d, %v", id, err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if e.Name() != nodeIDFile {
			t.Errorf("left behind: %s", e.Name())
		}
	}
}
