package lua_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/cairndb/cairn/modules"
	"github.com/cairndb/cairn/modules/lua"
	"github.com/cairndb/cairn/modules/lua/luatest"
	"github.com/tetratelabs/wazero"
)

// TestInterpreterDiskCache loads the interpreter into a runtime whose
// compilation cache is a directory, then into a new runtime on the same
// directory (a restarted node): the second load reads the compiled code
// instead of compiling, and the interpreter answers the same.
func TestInterpreterDiskCache(t *testing.T) {
	luatest.Ensure(t)
	code, err := lua.Module()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ctx := context.Background()
	load := func() (time.Duration, string) {
		cache, err := wazero.NewCompilationCacheWithDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer cache.Close(ctx)
		rt, err := modules.NewRuntime(ctx, modules.Config{Cache: cache})
		if err != nil {
			t.Fatal(err)
		}
		defer rt.Close(ctx)
		start := time.Now()
		lib, err := rt.LoadInternal(ctx, "__lua", code, lua.Limits())
		if err != nil {
			t.Fatal(err)
		}
		took := time.Since(start)
		src := []byte("return {redis.call('get', KEYS[1]), math.random(1000)}")
		res, err := lib.Call(ctx, &kvHost{kv: map[string]string{"k": "v"}}, "eval", modules.Call{
			Keys: [][]byte{[]byte("k")}, Args: [][]byte{[]byte(modules.ScriptSHA(src)), src}, Seed: 7,
		})
		if err != nil {
			t.Fatal(err)
		}
		return took, string(res.Reply)
	}
	cold, r1 := load()
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) == 0 {
		t.Fatalf("nothing cached in %s (%v)", dir, err)
	}
	warm, r2 := load()
	if r1 != r2 {
		t.Fatalf("replies differ: %q then %q", r1, r2)
	}
	t.Logf("interpreter load: %v compiling, %v from the disk cache; reply %q", cold, warm, r1)
	if warm >= cold {
		t.Errorf("loading from the cache (%v) was not faster than compiling (%v)", warm, cold)
	}
}
