// Package lua runs Redis Lua scripts (EVAL, EVALSHA, ...) in the Wasm
// sandbox: the Lua 5.1 interpreter is itself a Cairn module (the guest in
// guest/, github.com/yuin/gopher-lua built for wasip1), embedded in the
// binary and loaded into the node's modules.Runtime like a user library,
// so a script gets the same fuel, memory, depth and import limits as an
// FCALL and never runs outside the sandbox. The guest implements Redis's
// redis.* API and its Lua/RESP conversion rules; this package hands it
// the script, KEYS and ARGV and maps its failures to EVAL's errors.
package lua

import (
	"context"
	"embed"
	"errors"
	"sync"
	"time"

	"github.com/cairndb/cairn/modules"
)

// wasm holds lua.wasm when the build produced it (make lua), and always
// README.md, so the pattern matches in a clean clone.
//
//go:embed wasm
var wasm embed.FS

// ErrNotBuilt is returned when the binary was built without the Lua
// module.
var ErrNotBuilt = errors.New("ERR Lua scripting is unavailable: this binary was built without the Lua module (build it with make, which runs make lua first)")

// ErrFuel is the reply of a script that ran out of fuel.
var ErrFuel = errors.New("ERR Script ran out of fuel (it is stopped at the same point on every replica; writes it made stay applied)")

var (
	overrideMu sync.Mutex
	override   []byte
)

// SetModule makes Module return code instead of the embedded module (tests
// that build the guest from source when the binary has none).
func SetModule(code []byte) {
	overrideMu.Lock()
	override = code
	overrideMu.Unlock()
}

// Module returns the interpreter module's bytes, or ErrNotBuilt.
func Module() ([]byte, error) {
	overrideMu.Lock()
	o := override
	overrideMu.Unlock()
	if o != nil {
		return o, nil
	}
	b, err := wasm.ReadFile("wasm/lua.wasm")
	if err != nil || len(b) == 0 {
		return nil, ErrNotBuilt
	}
	return b, nil
}

// Limits are the sandbox limits of a script call: the defaults of
// modules, with more initialization fuel (the interpreter's set-up) and
// memory. They are a constant of the binary, so every replica applies the
// same ones.
func Limits() modules.Limits {
	l := modules.DefaultLimits()
	l.InitFuel = 2_000_000_000
	// Fuel charges a whole scope (a function body outside loops, or a
	// loop body) on entry, and Go's wasm output makes most of a function
	// one scope, so the interpreter's dispatch costs about 100,000 fuel
	// per Lua instruction: 50,000,000 would stop scripts after a few
	// hundred. 3,000,000,000 ends an infinite loop in about half a second.
	l.Fuel = 3_000_000_000
	return l
}

// engine is the process's interpreter library, loaded on first use.
var engine struct {
	mu  sync.Mutex
	lib *modules.Library
}

// Library returns the process's interpreter library, loading (compiling)
// it on first use into modules.InternalRuntime: seconds (a 5 MB module),
// once per process. A failure is returned and retried on the next call.
func Library(ctx context.Context) (*modules.Library, error) {
	engine.mu.Lock()
	defer engine.mu.Unlock()
	if engine.lib != nil {
		return engine.lib, nil
	}
	code, err := Module()
	if err != nil {
		return nil, err
	}
	rt, err := modules.InternalRuntime()
	if err != nil {
		return nil, err
	}
	lib, err := rt.LoadInternal(ctx, "__lua", code, Limits())
	if err != nil {
		return nil, err
	}
	engine.lib = lib
	return lib, nil
}

var preload sync.Once

// Preload starts loading the process's interpreter (Library) in the
// background, once per process, and calls done with the time it took and
// its error. A call that needs the interpreter meanwhile waits for that
// load instead of starting its own.
func Preload(done func(time.Duration, error)) {
	preload.Do(func() {
		go func() {
			start := time.Now()
			_, err := Library(context.Background())
			if done != nil {
				done(time.Since(start), err)
			}
		}()
	})
}

// Script is one script call.
type Script struct {
	// SHA is the script's SHA1 hex (for error messages).
	SHA string
	// Source is the Lua source.
	Source []byte
	// Keys and Args are KEYS and ARGV.
	Keys, Args [][]byte
	// ReadOnly runs it as EVAL_RO (the host refuses writes too).
	ReadOnly bool
	// CompileOnly only compiles it (SCRIPT LOAD): the reply is a null or
	// the compilation error.
	CompileOnly bool
	// Time and Seed are the log entry's (Unix ns) and seed.
	Time int64
	Seed uint64
}

// Run runs a script on the process's interpreter against host and returns the
// RESP2 reply (a script error is an error reply, not an error), and the
// fuel used. An error is a failure of the call: fuel, trap, or no
// interpreter.
func Run(ctx context.Context, host modules.Host, s Script) (reply []byte, fuel int64, err error) {
	lib, err := Library(ctx)
	if err != nil {
		return nil, 0, err
	}
	fn := "eval"
	switch {
	case s.CompileOnly:
		fn = "compile"
	case s.ReadOnly:
		fn = "eval_ro"
	}
	args := make([][]byte, 0, 2+len(s.Args))
	args = append(args, []byte(s.SHA), s.Source)
	args = append(args, s.Args...)
	res, err := lib.Call(ctx, host, fn, modules.Call{Keys: s.Keys, Args: args, Time: s.Time, Seed: s.Seed})
	if errors.Is(err, modules.ErrFuelExhausted) {
		return nil, res.FuelUsed, ErrFuel
	}
	return res.Reply, res.FuelUsed, err
}
