package function_test

import (
	"testing"

	"github.com/cairndb/cairn/modules/modulestest"
)

// TestFunctionReplaceSameCode: replacing a library by the same code (the
// compiled module is shared through the compilation cache) and deleting
// another library of the same code leave the survivor able to start new
// instances (a trap discards the pooled one).
func TestFunctionReplaceSameCode(t *testing.T) {
	e := newEnv(t)
	code := modulestest.Fixture(t, "test")
	e.want(e.load("t", code), `"t"`)
	e.want(e.load("t", code, "REPLACE"), `"t"`)
	for range 3 {
		e.want(e.do("FCALL", "trap", "0"), `(error) ERR Function trapped: unreachable`)
		e.want(e.do("FCALL", "ping", "0"), `PONG`)
	}
	// Another shard (registry) of the same node loads and deletes it.
	f := newEnv(t)
	f.want(f.load("t", code), `"t"`)
	f.want(f.do("FUNCTION", "DELETE", "t"), `OK`)
	for range 3 {
		e.want(e.do("FCALL", "trap", "0"), `(error) ERR Function trapped: unreachable`)
		e.want(e.do("FCALL", "ping", "0"), `PONG`)
	}
}
