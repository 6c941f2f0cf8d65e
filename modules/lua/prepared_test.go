package lua_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/cairndb/cairn/modules"
	"github.com/cairndb/cairn/modules/lua"
	"github.com/cairndb/cairn/modules/lua/luatest"
)

// TestPreparedMatchesCompile checks a script run from its prepared state
// (compiled once, lua.Run) replies and writes exactly as when the call
// compiles it from the interpreter's post-initialization state, and that
// no call sees what an earlier one left.
func TestPreparedMatchesCompile(t *testing.T) {
	luatest.Ensure(t)
	ctx := context.Background()
	lib, err := lua.Library(ctx)
	if err != nil {
		t.Fatal(err)
	}
	scripts := []string{
		"return 1",
		"return {KEYS[1], ARGV[1], #ARGV}",
		"return {math.random(1000), math.random(1000)}",
		"string.x = (string.x or 0) + 1 return string.x",
		"redis.call('SET', KEYS[1], ARGV[1]) return redis.call('GET', KEYS[1])",
		"return redis.pcall('nosuch')",
		"local t = {} for i = 1, 100 do t[i] = i * i end return t[100]",
		"x = 1",
		"return nosuch",
		"error('boom')",
		"return redis.call('nosuch')",
		"return (",
		"return redis.sha1hex(ARGV[1])",
	}
	for i, src := range scripts {
		for round := 0; round < 3; round++ {
			seed := uint64(i*10 + round)
			in := modules.Call{Keys: [][]byte{[]byte("k")}, Args: [][]byte{[]byte(modules.ScriptSHA([]byte(src))), []byte(src), []byte(fmt.Sprint("v", round))}, Time: 1_700_000_000e9, Seed: seed}
			hc := &kvHost{}
			compiled, err := lib.Call(ctx, hc, "eval", in)
			if err != nil {
				t.Fatalf("%q: compiled call: %v", src, err)
			}
			hp := &kvHost{}
			got, _, err := lua.Run(ctx, hp, lua.Script{SHA: string(in.Args[0]), Source: []byte(src), Keys: in.Keys, Args: in.Args[2:], Prepared: true, Time: in.Time, Seed: seed})
			if err != nil {
				t.Fatalf("%q: prepared call: %v", src, err)
			}
			if string(got) != string(compiled.Reply) {
				t.Errorf("%q round %d: prepared reply %q, compiled %q", src, round, got, compiled.Reply)
			}
			if fmt.Sprint(hp.kv) != fmt.Sprint(hc.kv) {
				t.Errorf("%q round %d: prepared writes %v, compiled %v", src, round, hp.kv, hc.kv)
			}
		}
	}
}
