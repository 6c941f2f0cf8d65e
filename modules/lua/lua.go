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
	"bytes"
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
	// Prepared runs it from a state where it is compiled already (see
	// prepared): for scripts called repeatedly (EVALSHA). Preparing costs a
	// clean interpreter instance, tens of milliseconds when none is idle,
	// so a source that may be new every time (EVAL) compiles in the call
	// instead. The choice must be the same on every replica: the fuel a
	// call uses differs between the two.
	Prepared bool
	// Time and Seed are the log entry's (Unix ns) and seed.
	Time int64
	Seed uint64
}

// Run runs a script on the process's interpreter against host and returns the
// RESP2 reply (a script error is an error reply, not an error), and the
// fuel used. An error is a failure of the call: fuel, trap, or no
// interpreter.
//
// With Prepared, a script runs from a state where it is already compiled
// (see prepared), so a call pays for running it only; a script that does
// not compile runs from the interpreter's post-initialization state, which
// compiles it again and replies with the compilation error.
func Run(ctx context.Context, host modules.Host, s Script) (reply []byte, fuel int64, err error) {
	lib, err := Library(ctx)
	if err != nil {
		return nil, 0, err
	}
	var p *modules.Prepared
	if s.Prepared && !s.CompileOnly {
		if p, err = prepared(ctx, lib, s.SHA, s.Source); err != nil {
			return nil, 0, err
		}
	}
	fn := "eval"
	switch {
	case s.CompileOnly:
		fn = "compile"
	case p != nil && s.ReadOnly:
		fn = "run_prepared_ro"
	case p != nil:
		fn = "run_prepared"
	case s.ReadOnly:
		fn = "eval_ro"
	}
	args := make([][]byte, 0, 2+len(s.Args))
	src := s.Source
	if p != nil {
		src = nil // compiled already
	}
	args = append(args, []byte(s.SHA), src)
	args = append(args, s.Args...)
	c := modules.Call{Keys: s.Keys, Args: args, Time: s.Time, Seed: s.Seed}
	var res modules.Result
	if p != nil {
		res, err = p.Call(ctx, host, fn, c)
	} else {
		res, err = lib.Call(ctx, host, fn, c)
	}
	if errors.Is(err, modules.ErrFuelExhausted) {
		return nil, res.FuelUsed, ErrFuel
	}
	return res.Reply, res.FuelUsed, err
}

// maxPrepared bounds the scripts kept compiled (each holds at least one
// instance of the interpreter: ~1.5 MB resident, the pages its snapshot and
// calls wrote); the least recently used is dropped, and prepared again —
// on a new interpreter instance, tens of milliseconds — when it runs next,
// so an application cycling through more EVALSHA scripts than this pays
// that on every call.
const maxPrepared = 64

// prepareTime is the clock of a preparation (Unix ns): fixed, as the
// preparation's outcome must not depend on when it ran; not zero, which
// Go's runtime refuses.
const prepareTime = 1_000_000_000

// scripts holds the prepared scripts by SHA1.
var scripts struct {
	mu    sync.Mutex
	m     map[string]*preparedScript
	clock uint64
}

// preparedScript is one script's prepared interpreter, or the failure to
// prepare it.
type preparedScript struct {
	source []byte
	ready  chan struct{} // closed once p and err are set
	p      *modules.Prepared
	err    error
	used   uint64
}

// prepared returns the interpreter with the script already compiled — a
// state that depends only on the interpreter and the script, so every
// replica starts a call of the script from the same state whichever
// scripts or read-only calls ran on it before — or nil when the script
// does not compile (or its compilation traps or runs out of fuel: the same
// on every replica), in which case the call compiles it as before. An
// error is a failure to get an instance at all.
func prepared(ctx context.Context, lib *modules.Library, sha string, source []byte) (*modules.Prepared, error) {
	scripts.mu.Lock()
	if scripts.m == nil {
		scripts.m = map[string]*preparedScript{}
	}
	scripts.clock++
	e := scripts.m[sha]
	if e != nil && !bytes.Equal(e.source, source) {
		scripts.mu.Unlock()
		return nil, nil // a different source under the same SHA1: compile it
	}
	if e != nil {
		e.used = scripts.clock
		scripts.mu.Unlock()
		<-e.ready
		return e.p, e.err
	}
	e = &preparedScript{source: append([]byte(nil), source...), ready: make(chan struct{}), used: scripts.clock}
	scripts.m[sha] = e
	var evict *preparedScript
	if len(scripts.m) > maxPrepared {
		var key string
		for k, o := range scripts.m {
			if o != e && (evict == nil || o.used < evict.used) {
				key, evict = k, o
			}
		}
		delete(scripts.m, key)
	}
	scripts.mu.Unlock()
	if evict != nil {
		go func() {
			<-evict.ready
			if evict.p != nil {
				evict.p.Close(context.Background())
			}
		}()
	}
	e.p, e.err = lib.Prepare(ctx, "prepare", modules.Call{Args: [][]byte{[]byte(sha), source}, Time: prepareTime})
	if errors.Is(e.err, modules.ErrPrepareFailed) {
		e.p, e.err = nil, nil // the call compiles it, with the same outcome everywhere
	}
	close(e.ready)
	if e.err != nil {
		scripts.mu.Lock()
		if scripts.m[sha] == e {
			delete(scripts.m, sha)
		}
		scripts.mu.Unlock()
	}
	return e.p, e.err
}
