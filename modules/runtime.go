// Package modules runs user modules — WebAssembly libraries loaded with
// FUNCTION LOAD and called with FCALL — deterministically and within
// bounds, on wazero. It never touches the network or the filesystem: the
// state machine hands it the payload at load and, for each call, the keys,
// arguments, the log entry's time and seed and a Host that executes the
// commands the guest issues. See DESIGN.md for the determinism argument
// and ABI.md for the guest interface.
package modules

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// Host executes the commands a guest issues through call and pcall. The
// state machine implements it for the duration of one FCALL; it runs the
// command against the keyspace exactly as a client command would (with the
// caller's checks for declared keys, write flags and so on) and returns the
// RESP-encoded reply, or an error whose Error() is the Redis error line
// (for example "WRONGTYPE Operation against a key holding the wrong kind of
// value"). args is freshly allocated and may be retained. The reply is
// copied before the next Call, so a Host may reuse its buffer.
type Host interface {
	Call(args [][]byte) (reply []byte, err error)
}

// Limits bound a library. They are stored with the library (and must be
// replicated with it) so every replica applies the same ones.
type Limits struct {
	// MaxModuleBytes bounds the module's size. Default 16 MiB.
	MaxModuleBytes int
	// MaxMemoryPages bounds linear memory in 64 KiB pages; the module's
	// memory maximum is clamped to it. Default 512 (32 MiB).
	MaxMemoryPages uint32
	// Fuel is the budget of one call. Default 50,000,000 (about 0.1 s of
	// straight-line code on the compiler engine).
	Fuel int64
	// InitFuel is the budget of instantiation (start function and
	// _initialize). Default 500,000,000.
	InitFuel int64
	// MaxDepth bounds call nesting inside the guest. Default 1000; at most
	// maxDepthCap, so the injected counter trips before wazero's own
	// stack limits (2000 frames in the interpreter) on every engine.
	MaxDepth uint32
	// HostCallFuel is charged per host call, plus one unit per byte moved
	// across the boundary. Default 1000.
	HostCallFuel int64
	// MaxReplyBytes bounds a reply set by the guest. Default 64 MiB.
	MaxReplyBytes int
	// MaxOutputBytes bounds the stdout/stderr text captured per call; the
	// rest is discarded. Default 4096.
	MaxOutputBytes int
}

// maxDepthCap is the largest MaxDepth accepted.
const maxDepthCap = 1500

// DefaultLimits returns the defaults documented on Limits.
func DefaultLimits() Limits {
	return Limits{
		MaxModuleBytes: 16 << 20,
		MaxMemoryPages: 512,
		Fuel:           50_000_000,
		InitFuel:       500_000_000,
		MaxDepth:       1000,
		HostCallFuel:   1000,
		MaxReplyBytes:  64 << 20,
		MaxOutputBytes: 4096,
	}
}

// withDefaults fills zero fields from DefaultLimits.
func (l Limits) withDefaults() Limits { return fillLimits(l, DefaultLimits()) }

// Config configures a Runtime.
type Config struct {
	// Limits applied to libraries loaded without explicit limits. Zero
	// fields take DefaultLimits.
	Limits Limits
	// Cache holds compiled code across runtimes. Default: a fresh
	// in-memory cache (NewCompilationCache). A server that wants restarts
	// not to recompile passes wazero.NewCompilationCacheWithDir(dir); this
	// package never opens files itself.
	Cache wazero.CompilationCache
	// Interpreter forces wazero's interpreter. Default false: the compiler
	// engine where the platform supports it, else the interpreter.
	Interpreter bool
}

// NewCompilationCache returns an in-memory compilation cache that several
// runtimes may share.
func NewCompilationCache() wazero.CompilationCache { return wazero.NewCompilationCache() }

// cacheDirMu serializes NewCompilationCacheWithDir: wazero's first call
// fills a package-level version string without synchronization, a data
// race when several nodes of one process start at once.
var cacheDirMu sync.Mutex

// NewCompilationCacheWithDir returns a compilation cache kept in dir, so a
// restart does not recompile (wazero.NewCompilationCacheWithDir, safe to
// call concurrently).
func NewCompilationCacheWithDir(dir string) (wazero.CompilationCache, error) {
	cacheDirMu.Lock()
	defer cacheDirMu.Unlock()
	return wazero.NewCompilationCacheWithDir(dir)
}

// Runtime compiles and runs libraries. It is safe for concurrent use.
type Runtime struct {
	rt     wazero.Runtime
	limits Limits

	// pre holds modules compiled ahead of their load (Precompile), by
	// the hash of the instrumented code, oldest first.
	preMu sync.Mutex
	pre   []precompiled
}

// precompiled is one module compiled by Precompile, waiting for Load.
type precompiled struct {
	key      [32]byte
	compiled wazero.CompiledModule
}

// maxPrecompiled bounds the modules Precompile keeps for Load.
const maxPrecompiled = 4

// NewRuntime creates a runtime with the host modules (cairn and the
// deterministic WASI subset) instantiated.
func NewRuntime(ctx context.Context, cfg Config) (*Runtime, error) {
	rc := wazero.NewRuntimeConfig()
	if cfg.Interpreter {
		rc = wazero.NewRuntimeConfigInterpreter()
	}
	cache := cfg.Cache
	if cache == nil {
		cache = NewCompilationCache()
	}
	rc = rc.WithCompilationCache(cache).WithCloseOnContextDone(false).
		WithCoreFeatures(api.CoreFeaturesV2)
	r := &Runtime{rt: wazero.NewRuntimeWithConfig(ctx, rc), limits: cfg.Limits.withDefaults()}
	if err := instantiateHost(ctx, r.rt); err != nil {
		_ = r.rt.Close(ctx)
		return nil, err
	}
	return r, nil
}

// Close releases the runtime and every library compiled by it.
func (r *Runtime) Close(ctx context.Context) error { return r.rt.Close(ctx) }

// Flags are a function's declared flags, with Redis Functions' meanings.
type Flags uint8

// Function flags.
const (
	// NoWrites marks a function FCALL_RO may run; it may not write.
	NoWrites Flags = 1 << iota
	// AllowOOM lets the function run when the server is out of memory.
	AllowOOM
	// AllowStale lets the function run on a stale replica.
	AllowStale
	// NoCluster refuses the function in cluster mode.
	NoCluster
	// AllowCrossSlotKeys lets the function touch keys of several slots.
	AllowCrossSlotKeys
)

// flagNames maps flag names to flags, in Redis's spelling.
var flagNames = []struct {
	name string
	flag Flags
}{
	{"no-writes", NoWrites},
	{"allow-oom", AllowOOM},
	{"allow-stale", AllowStale},
	{"no-cluster", NoCluster},
	{"allow-cross-slot-keys", AllowCrossSlotKeys},
}

// ParseFlag returns the flag of a name in Redis's spelling (case
// sensitive, as Redis's shebang parser).
func ParseFlag(name string) (Flags, bool) {
	for _, n := range flagNames {
		if n.name == name {
			return n.flag, true
		}
	}
	return 0, false
}

// Strings returns the flag names, in a fixed order (the order FUNCTION
// LIST shows them).
func (f Flags) Strings() []string {
	out := []string{}
	for _, n := range flagNames {
		if f&n.flag != 0 {
			out = append(out, n.name)
		}
	}
	return out
}

// Function is one registered function of a library.
type Function struct {
	// Name is the name FCALL uses.
	Name string
	// Flags are the declared flags.
	Flags Flags
	// export is the Wasm export implementing it.
	export string
}

// Library is a loaded, compiled module. Its registration (Name, Functions)
// is fixed at load; calls run on pooled instances reset to the
// post-initialization state.
type Library struct {
	// Name is the library name from the payload's shebang.
	Name string
	// Functions are the registered functions, sorted by name.
	Functions []Function
	// Code is the original module (without the shebang), for FUNCTION DUMP.
	Code []byte
	// Limits are the limits the library was loaded with.
	Limits Limits

	rt            *Runtime
	compiled      wazero.CompiledModule
	globalExports []string
	reinstantiate bool // the reset cannot restore tables/data segments
	cow           bool // instances reset memory by copy-on-write
	tracked       bool // the code records the pages it writes (trackMaxPages)
	hasMemory     bool // the module defines a linear memory

	mu   sync.Mutex
	free []*instance
}

// Function returns the named function.
func (l *Library) Function(name string) (Function, bool) {
	i := sort.Search(len(l.Functions), func(i int) bool { return l.Functions[i].Name >= name })
	if i < len(l.Functions) && l.Functions[i].Name == name {
		return l.Functions[i], true
	}
	return Function{}, false
}

// Load errors.
var (
	// ErrNotWasm is returned when the module is not a valid Wasm binary.
	ErrNotWasm = errors.New("ERR Invalid module")
	// ErrModuleTooLarge is returned when the module exceeds MaxModuleBytes.
	ErrModuleTooLarge = errors.New("ERR Module too large")
	// ErrForbiddenImport is returned for an import outside the cairn host
	// module and the deterministic WASI subset.
	ErrForbiddenImport = errors.New("ERR Forbidden import")
	// ErrMemoryTooLarge is returned when the module's initial memory
	// exceeds MaxMemoryPages.
	ErrMemoryTooLarge = errors.New("ERR Module memory too large")
	// ErrNoFunctions is returned when the module registers no function.
	ErrNoFunctions = errors.New("ERR No functions registered")
	// ErrDuplicateFunction is returned when a module registers a function
	// name twice.
	ErrDuplicateFunction = errors.New("ERR Function already exists in the library")
	// ErrUnknownFlag is returned for an unknown function flag.
	ErrUnknownFlag = errors.New("ERR Unknown flag given")
	// ErrBadRegistration is returned for a malformed registration export.
	ErrBadRegistration = errors.New("ERR Invalid function registration")
	// ErrInitFailed is returned when instantiation traps or runs out of
	// fuel.
	ErrInitFailed = errors.New("ERR Module initialization failed")
)

// Precompile compiles a FUNCTION LOAD payload as Load will with lim (zero
// fields: the runtime's defaults), so that the Load of the same payload —
// at apply time, under the shard's lock — finds the compiled code instead
// of compiling (seconds for a Go module). It is an optimization only: the
// outcome of Load does not depend on it. It returns the error Load would
// return for a payload that does not parse, validate or compile.
func (r *Runtime) Precompile(ctx context.Context, payload []byte, lim Limits) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: decoder failure: %v", ErrNotWasm, p)
		}
	}()
	_, code, err := ParsePayload(payload)
	if err != nil {
		return err
	}
	lim = fillLimits(lim, r.limits)
	if len(code) > lim.MaxModuleBytes {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrModuleTooLarge, len(code), lim.MaxModuleBytes)
	}
	m, err := parseModule(code)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrNotWasm, err)
	}
	if err := checkImports(m, allowedImports); err != nil {
		return err
	}
	if _, err := registrations(m); err != nil {
		return err
	}
	ins, err := instrumentFor(m, lim)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrNotWasm, err)
	}
	key := sha256.Sum256(ins.code)
	r.preMu.Lock()
	for _, p := range r.pre {
		if p.key == key {
			r.preMu.Unlock()
			return nil
		}
	}
	r.preMu.Unlock()
	compiled, err := r.rt.CompileModule(ctx, ins.code)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrNotWasm, firstLine(err.Error()))
	}
	r.preMu.Lock()
	r.pre = append(r.pre, precompiled{key, compiled})
	var evict []wazero.CompiledModule
	for len(r.pre) > maxPrecompiled {
		evict = append(evict, r.pre[0].compiled)
		r.pre = r.pre[1:]
	}
	r.preMu.Unlock()
	for _, c := range evict {
		_ = c.Close(ctx)
	}
	return nil
}

// takePrecompiled hands over a module Precompile compiled, or nil.
func (r *Runtime) takePrecompiled(key [32]byte) wazero.CompiledModule {
	r.preMu.Lock()
	defer r.preMu.Unlock()
	for i, p := range r.pre {
		if p.key == key {
			r.pre = append(r.pre[:i], r.pre[i+1:]...)
			return p.compiled
		}
	}
	return nil
}

// LoadPayload parses a FUNCTION LOAD payload and loads it with the
// runtime's default limits.
func (r *Runtime) LoadPayload(ctx context.Context, payload []byte) (*Library, error) {
	name, code, err := ParsePayload(payload)
	if err != nil {
		return nil, err
	}
	return r.Load(ctx, name, code, Limits{})
}

// Load validates, instruments and compiles a module as library name, then
// instantiates it once to run its initialization. Zero fields of lim take
// the runtime's defaults. Nothing is retained on error.
func (r *Runtime) Load(ctx context.Context, name string, code []byte, lim Limits) (lib *Library, err error) {
	return r.load(ctx, name, code, lim, allowedImports)
}

// LoadInternal is Load for Cairn's own modules, built into the binary
// (the Lua interpreter): the same sandbox, except that the module may also
// import the WASI file-system functions that always fail (deniedFuncs),
// which Go's standard library references. Never use it for user bytes.
func (r *Runtime) LoadInternal(ctx context.Context, name string, code []byte, lim Limits) (*Library, error) {
	return r.load(ctx, name, code, lim, internalImports)
}

func (r *Runtime) load(ctx context.Context, name string, code []byte, lim Limits, imports map[string]funcType) (lib *Library, err error) {
	defer func() {
		// The decoder handles untrusted bytes: a bug there must refuse one
		// module, not crash the replica.
		if p := recover(); p != nil {
			lib, err = nil, fmt.Errorf("%w: decoder failure: %v", ErrNotWasm, p)
		}
	}()
	lim = fillLimits(lim, r.limits)
	if !ValidName(name) {
		return nil, ErrBadLibraryName
	}
	if len(code) > lim.MaxModuleBytes {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrModuleTooLarge, len(code), lim.MaxModuleBytes)
	}
	m, err := parseModule(code)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotWasm, err)
	}
	if err := checkImports(m, imports); err != nil {
		return nil, err
	}
	if m.memory != nil && m.memory.min > lim.MaxMemoryPages {
		return nil, fmt.Errorf("%w: %d initial pages, limit %d", ErrMemoryTooLarge, m.memory.min, lim.MaxMemoryPages)
	}
	fns, err := registrations(m)
	if err != nil {
		return nil, err
	}
	ins, err := instrumentFor(m, lim)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotWasm, err)
	}
	compiled := r.takePrecompiled(sha256.Sum256(ins.code))
	if compiled == nil {
		if compiled, err = r.rt.CompileModule(ctx, ins.code); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrNotWasm, firstLine(err.Error()))
		}
	}
	lib = &Library{
		Name: name, Functions: fns, Code: append([]byte(nil), code...), Limits: lim,
		rt: r, compiled: compiled, globalExports: ins.globalExports, reinstantiate: ins.mutatesTables,
		hasMemory: m.memory != nil, tracked: ins.tracked,
		cow: cowSupported && m.memory != nil && int(m.memory.min)*65536 >= cowThreshold(),
	}
	inst, err := lib.instantiate(ctx)
	if err != nil {
		_ = compiled.Close(ctx)
		return nil, err
	}
	lib.free = append(lib.free, inst)
	return lib, nil
}

// trackMaxPages is the largest initial memory, in Wasm pages, for which
// the rewriter adds the write tracker (instrument.go, trackShift). A small
// module's call writes a few pages, which the reset then copies without a
// system call; a larger one (a Go guest's runtime, 2 MiB and more) writes
// more pages than the tracker holds and resets through the page map.
const trackMaxPages = 16

// instrumentFor rewrites m with lim's limits, and the write tracker when
// its memory is small enough (Precompile and load must agree: the
// precompiled code is found by the rewritten module's hash).
func instrumentFor(m *parsedModule, lim Limits) (*instrumented, error) {
	return instrument(m, instrumentOptions{initFuel: lim.InitFuel, maxDepth: lim.MaxDepth, maxPages: lim.MaxMemoryPages,
		trackWrites: m.memory != nil && m.memory.min <= trackMaxPages})
}

// fillLimits fills zero fields of l from d.
func fillLimits(l, d Limits) Limits {
	if l.MaxModuleBytes <= 0 {
		l.MaxModuleBytes = d.MaxModuleBytes
	}
	if l.MaxMemoryPages == 0 {
		l.MaxMemoryPages = d.MaxMemoryPages
	}
	if l.Fuel <= 0 {
		l.Fuel = d.Fuel
	}
	if l.InitFuel <= 0 {
		l.InitFuel = d.InitFuel
	}
	if l.MaxDepth == 0 {
		l.MaxDepth = d.MaxDepth
	}
	l.MaxDepth = min(l.MaxDepth, maxDepthCap)
	if l.HostCallFuel <= 0 {
		l.HostCallFuel = d.HostCallFuel
	}
	if l.MaxReplyBytes <= 0 {
		l.MaxReplyBytes = d.MaxReplyBytes
	}
	if l.MaxOutputBytes <= 0 {
		l.MaxOutputBytes = d.MaxOutputBytes
	}
	return l
}

// Close releases the library's compiled code and instances.
func (l *Library) Close(ctx context.Context) error {
	l.mu.Lock()
	free := l.free
	l.free = nil
	l.mu.Unlock()
	for _, in := range free {
		_ = in.mod.Close(ctx)
	}
	return l.compiled.Close(ctx)
}

// exportPrefix starts the export name of a registered function:
// "fcall:<name>" or "fcall:<name>:<flag>,<flag>...".
const exportPrefix = "fcall:"

// registrations reads the registered functions from the export names,
// without running guest code.
func registrations(m *parsedModule) ([]Function, error) {
	var fns []Function
	seen := map[string]bool{}
	for _, e := range m.exports {
		if !strings.HasPrefix(e.name, exportPrefix) {
			continue
		}
		if e.kind != 0 {
			return nil, fmt.Errorf("%w: export %q is not a function", ErrBadRegistration, e.name)
		}
		spec := e.name[len(exportPrefix):]
		name, flagList, hasFlags := strings.Cut(spec, ":")
		if !ValidName(name) {
			return nil, ErrBadFunctionName
		}
		if seen[name] {
			return nil, ErrDuplicateFunction
		}
		seen[name] = true
		var flags Flags
		if hasFlags && flagList != "" {
			for _, f := range strings.Split(flagList, ",") {
				found := false
				for _, n := range flagNames {
					if n.name == f {
						flags |= n.flag
						found = true
					}
				}
				if !found {
					return nil, fmt.Errorf("%w: %q", ErrUnknownFlag, f)
				}
			}
		}
		idx := int(e.index) - m.importFuncs
		if idx < 0 || idx >= len(m.funcs) {
			return nil, fmt.Errorf("%w: function %q is an import", ErrBadRegistration, name)
		}
		if int(m.funcs[idx]) >= len(m.types) {
			return nil, fmt.Errorf("%w: type index out of range", ErrNotWasm)
		}
		if ft := m.types[m.funcs[idx]]; len(ft.params) != 0 || len(ft.results) != 0 {
			return nil, fmt.Errorf("%w: function %q must have type () -> (), has %s", ErrBadRegistration, name, ft)
		}
		fns = append(fns, Function{Name: name, Flags: flags, export: e.name})
	}
	if len(fns) == 0 {
		return nil, ErrNoFunctions
	}
	sort.Slice(fns, func(i, j int) bool { return fns[i].Name < fns[j].Name })
	return fns, nil
}

// checkImports refuses any import outside the allowed host functions, or
// with a signature other than the host's.
func checkImports(m *parsedModule, allowedImports map[string]funcType) error {
	for _, im := range m.imports {
		if im.kind != 0 {
			kinds := []string{"function", "table", "memory", "global"}
			k := "unknown"
			if int(im.kind) < len(kinds) {
				k = kinds[im.kind]
			}
			return fmt.Errorf("%w: %s.%s (%s imports are not allowed)", ErrForbiddenImport, im.module, im.field, k)
		}
		want, ok := allowedImports[im.module+"."+im.field]
		if !ok {
			return fmt.Errorf("%w: %s.%s is not available to modules", ErrForbiddenImport, im.module, im.field)
		}
		if int(im.typeIdx) >= len(m.types) {
			return fmt.Errorf("%w: type index out of range", ErrNotWasm)
		}
		if got := m.types[im.typeIdx]; !got.equal(want) {
			return fmt.Errorf("%w: %s.%s has type %s, want %s", ErrForbiddenImport, im.module, im.field, got, want)
		}
	}
	return nil
}

// firstLine returns s up to its first newline (wazero appends stack
// traces to trap messages).
func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

var internal struct {
	mu    sync.Mutex
	rt    *Runtime
	err   error
	cache wazero.CompilationCache
}

// SetInternalCache sets the compilation cache InternalRuntime will be
// created with (for example wazero.NewCompilationCacheWithDir under a
// node's data directory, so a restart does not recompile the Lua
// interpreter). It must come before the first InternalRuntime; it reports
// false, and changes nothing, once the runtime exists. The cache must stay
// open for the life of the process.
func SetInternalCache(c wazero.CompilationCache) bool {
	internal.mu.Lock()
	defer internal.mu.Unlock()
	if internal.rt != nil || internal.cache != nil {
		return false
	}
	internal.cache = c
	return true
}

// InternalRuntime returns the process-wide runtime of Cairn's own modules
// (the Lua interpreter): created on first use with the default
// configuration and the cache given to SetInternalCache (else an
// in-memory one), never closed, so a module built into the binary is
// compiled once per process however many nodes or shards the process
// runs. Its libraries run in the same sandbox as users' (LoadInternal).
func InternalRuntime() (*Runtime, error) {
	internal.mu.Lock()
	defer internal.mu.Unlock()
	if internal.rt == nil && internal.err == nil {
		internal.rt, internal.err = NewRuntime(context.Background(), Config{Cache: internal.cache})
	}
	return internal.rt, internal.err
}
