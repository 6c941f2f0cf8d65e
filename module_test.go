package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairndb/cairn/modules/modulestest"
	"github.com/cairndb/cairn/server/clustertest"
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

// TestModuleCommandCluster: against a cluster, load and delete reach every
// master (each shard), list shows each.
func TestModuleCommandCluster(t *testing.T) {
	c := clustertest.Start(t, clustertest.Options{Nodes: 3, Shards: 2, Replicas: 3})
	file := filepath.Join(t.TempDir(), "counter.wasm")
	if err := os.WriteFile(file, modulestest.Fixture(t, "c_incr"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if rc := run([]string{"module", "load", "--addr", c.Addr(2), file}, &out, &errOut); rc != 0 {
		t.Fatalf("load: rc %d, %q", rc, errOut.String())
	}
	if n := strings.Count(out.String(), "loaded library counter"); n != 2 {
		t.Fatalf("loaded on %d masters, want 2:\n%s", n, out.String())
	}
	ctx := context.Background()
	cc := c.Client()
	for _, k := range []string{"{a}n", "{b}n"} {
		if v, err := cc.FCall(ctx, "cincr", []string{k}).Int(); err != nil || v != 1 {
			t.Fatalf("FCALL on %s: %d, %v", k, v, err)
		}
	}
	out.Reset()
	if rc := run([]string{"module", "delete", "--addr", c.Addr(1), "--name", "counter"}, &out, &errOut); rc != 0 || strings.Count(out.String(), "deleted library counter") != 2 {
		t.Fatalf("delete: rc %d, %q, %q", rc, out.String(), errOut.String())
	}
	if _, err := cc.FCall(ctx, "cincr", []string{"{b}n"}).Result(); err == nil || err.Error() != "ERR Function not found" {
		t.Fatalf("FCALL after delete: %v", err)
	}
}
