// Package luatest makes the Lua interpreter module available to tests: the
// embedded one when the binary was built with it (make), else the guest
// built from source once per test binary (Go always targets wasip1).
package luatest

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/cairndb/cairn/modules/lua"
)

var (
	once sync.Once
	err  error
	out  []byte
)

// Ensure makes lua.Module succeed, building the guest if the test binary
// embeds none. It skips the test with -short when a build is needed.
func Ensure(t testing.TB) {
	t.Helper()
	if _, e := lua.Module(); e == nil {
		return
	}
	if testing.Short() {
		t.Skip("the Lua module is not embedded (run make lua) and -short skips building it")
	}
	once.Do(func() {
		_, file, _, _ := runtime.Caller(0)
		root := filepath.Join(filepath.Dir(file), "..", "..", "..")
		dir, e := os.MkdirTemp("", "cairn-lua")
		if e != nil {
			err = e
			return
		}
		defer os.RemoveAll(dir)
		wasmOut := filepath.Join(dir, "lua.wasm")
		cmd := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-trimpath", "-buildmode=c-shared", "-o", wasmOut, "./modules/lua/guest")
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
		if msg, e := cmd.CombinedOutput(); e != nil {
			err = e
			out = msg
			return
		}
		b, e := os.ReadFile(wasmOut)
		if e != nil {
			err = e
			return
		}
		lua.SetModule(b)
	})
	if err != nil {
		t.Fatalf("build the Lua module: %v\n%s", err, out)
	}
}
