// Package modulestest gives tests outside package modules the example and
// fixture modules: Go examples built from source with GOOS=wasip1 (the Go
// toolchain always targets it), and the committed WAT fixtures.
package modulestest

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// dir is the modules package directory.
func dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}

var built sync.Map

// Example builds modules/examples/<name> (a Go example; a name with a
// slash is a directory under modules/, e.g. "testdata/exec") once per
// test binary and returns the module bytes. It skips the test with -short.
func Example(t testing.TB, name string) []byte {
	t.Helper()
	if testing.Short() {
		t.Skip("builds a Go guest module; skipped with -short")
	}
	if b, ok := built.Load(name); ok {
		return b.([]byte)
	}
	pkg := "./examples/" + name
	if strings.Contains(name, "/") {
		pkg = "./" + name
	}
	out := filepath.Join(t.TempDir(), filepath.Base(name)+".wasm")
	cmd := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-buildmode=c-shared", "-o", out, pkg)
	cmd.Dir = dir()
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build example %s: %v\n%s", name, err, msg)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	built.Store(name, b)
	return b
}

// Fixture returns the committed module modules/testdata/<name>.wasm (see
// testdata/gen.sh: test, c_incr, dup, badflag, noreg, path_open,
// sock_accept, ...).
func Fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir(), "testdata", name+".wasm"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Payload is a FUNCTION LOAD payload for module code as library name.
func Payload(name string, code []byte) []byte {
	return append([]byte("#!wasm name="+name+"\n"), code...)
}

// CExample builds modules/examples/c/<name>.c with clang-14 (as
// testdata/gen.sh does) and returns the module bytes; without clang-14
// the test is skipped with a message.
func CExample(t testing.TB, name string) []byte {
	t.Helper()
	clang, err := exec.LookPath("clang-14")
	if err != nil {
		t.Skipf("clang-14 not installed: C example %s not built (the committed testdata/c_%s.wasm is used elsewhere)", name, name)
	}
	out := filepath.Join(t.TempDir(), name+".wasm")
	cmd := exec.Command(clang, "--target=wasm32", "-mbulk-memory", "-O2", "-nostdlib", "-fuse-ld=lld", "-Wl,--no-entry",
		"-I", filepath.Join(dir(), "sdk", "c"), "-o", out, filepath.Join(dir(), "examples", "c", name+".c"))
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build C example %s: %v\n%s", name, err, msg)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
