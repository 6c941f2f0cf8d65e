package lua_test

import (
	"context"
	"syscall"
	"testing"

	"github.com/cairndb/cairn/modules"
	"github.com/cairndb/cairn/modules/lua"
	"github.com/cairndb/cairn/modules/lua/luatest"
)

// BenchmarkEval is one script call on the interpreter (EVALSHA's cost at
// apply, without the server), from the script's prepared state, with one
// redis.call for the GET and SET scripts.
func BenchmarkEval(b *testing.B) {
	luatest.Ensure(b)
	if _, err := lua.Library(context.Background()); err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct{ name, src string }{
		{"return1", "return 1"},
		{"get", "return redis.call('GET', KEYS[1])"},
		{"set", "return redis.call('SET', KEYS[1], ARGV[1])"},
	} {
		b.Run(c.name, func(b *testing.B) {
			h := &kvHost{kv: map[string]string{"k": "v"}}
			s := lua.Script{SHA: modules.ScriptSHA([]byte(c.src)), Source: []byte(c.src), Keys: [][]byte{[]byte("k")}, Args: [][]byte{[]byte("v")}, Prepared: true}
			var fuel int64
			cpu0 := cpuTime()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				_, f, err := lua.Run(context.Background(), h, s)
				if err != nil {
					b.Fatal(err)
				}
				fuel = f
			}
			b.ReportMetric(float64(fuel), "fuel/op")
			b.ReportMetric(float64(cpuTime()-cpu0)/1e3/float64(b.N), "cpu-µs/op")
		})
	}
}

// cpuTime is the process's user+system CPU time in ns (the machine is
// shared: wall time per operation says little under load).
func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
