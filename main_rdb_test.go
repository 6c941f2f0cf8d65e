package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairndb/cairn/server/servertest"
)

// TestRDBSubcommand runs `cairn rdb export` and `cairn rdb import` the way
// a user does: export a node's keys, import them into a second node.
func TestRDBSubcommand(t *testing.T) {
	ctx := context.Background()
	src := servertest.Start(t)
	c := src.Client(t)
	c.Set(ctx, "a", "1", 0)
	c.HSet(ctx, "h", "f", "v")
	c.RPush(ctx, "l", "x", "y")
	file := filepath.Join(t.TempDir(), "out.rdb")

	var out, errb bytes.Buffer
	if code := run([]string{"rdb", "export", "--addr", src.Addr(), file}, &out, &errb); code != 0 {
		t.Fatalf("export exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "exported 3 keys") || !strings.Contains(errb.String(), "bytes (100%)") {
		t.Errorf("export output %q, progress %q", out.String(), errb.String())
	}

	dst := servertest.Start(t)
	out.Reset()
	errb.Reset()
	if code := run([]string{"rdb", "import", "--addr", dst.Addr(), "--quiet", file}, &out, &errb); code != 0 {
		t.Fatalf("import exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "imported 3 keys") || errb.Len() != 0 {
		t.Errorf("import output %q, stderr %q", out.String(), errb.String())
	}
	d := dst.Client(t)
	if v, _ := d.Get(ctx, "a").Result(); v != "1" {
		t.Errorf("GET a = %q", v)
	}
	if v, _ := d.LRange(ctx, "l", 0, -1).Result(); strings.Join(v, ",") != "x,y" {
		t.Errorf("LRANGE l = %q", v)
	}
	// Importing again refuses to overwrite; exit 1 with the reason.
	errb.Reset()
	if code := run([]string{"rdb", "import", "--addr", dst.Addr(), file}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "--replace") {
		t.Errorf("second import exit %d: %s", code, errb.String())
	}
	if code := run([]string{"rdb", "import", "--addr", dst.Addr(), "--replace", "--quiet", file}, &out, &errb); code != 0 {
		t.Errorf("import --replace exit %d", code)
	}
	// Usage errors.
	for _, args := range [][]string{{"rdb"}, {"rdb", "copy", "x"}, {"rdb", "export"}, {"rdb", "export", "a", "b"}} {
		if code := run(args, &out, &errb); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
	}
}
