package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairndb/cairn/modules/modulestest"
	"github.com/cairndb/cairn/server/servertest"
)

// TestModuleCommand runs cairn module load/list/delete against a node.
func TestModuleCommand(t *testing.T) {
	n := servertest.Start(t)
	addr := n.Addr()
	file := filepath.Join(t.TempDir(), "counter.wasm")
	if err := os.WriteFile(file, modulestest.Fixture(t, "c_incr"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := func(args ...string) (string, string, int) {
		var out, errOut bytes.Buffer
		rc := run(append([]string{"module"}, args...), &out, &errOut)
		return out.String(), errOut.String(), rc
	}
	out, errOut, rc := cmd("load", "--addr", addr, file)
	if rc != 0 || !strings.Contains(out, "loaded library counter") || !strings.Contains(out, "function cping [no-writes]") || !strings.Contains(out, "function cincr\n") {
		t.Fatalf("load: rc %d, %q, %q", rc, out, errOut)
	}
	if _, errOut, rc = cmd("load", "--addr", addr, file); rc != 1 || !strings.Contains(errOut, "ERR Library 'counter' already exists") {
		t.Fatalf("second load: rc %d, %q", rc, errOut)
	}
	if out, _, rc = cmd("load", "--addr", addr, "--replace", "--name", "other", file); rc != 1 {
		t.Fatalf("load under another name (same functions): rc %d, %q", rc, out)
	}
	if out, errOut, rc = cmd("load", "--addr", addr, "--replace", file); rc != 0 {
		t.Fatalf("load --replace: rc %d, %q", rc, errOut)
	}
	if out, _, rc = cmd("list", "--addr", addr); rc != 0 || !strings.Contains(out, "library counter (engine WASM)") {
		t.Fatalf("list: rc %d, %q", rc, out)
	}
	if out, _, rc = cmd("delete", "--addr", addr, "--name", "counter"); rc != 0 || out != "deleted library counter\n" {
		t.Fatalf("delete: rc %d, %q", rc, out)
	}
	if out, _, rc = cmd("list", "--addr", addr); rc != 0 || out != "no libraries\n" {
		t.Fatalf("list after delete: rc %d, %q", rc, out)
	}
	if _, _, rc = cmd("frobnicate"); rc != 2 {
		t.Fatalf("unknown operation: rc %d", rc)
	}
}
