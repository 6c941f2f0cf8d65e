package modules

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
)

// Registry errors, worded as Redis words them.
var (
	// ErrLibraryExists is returned by Load without replace for a library
	// name already loaded.
	ErrLibraryExists = errors.New("ERR Library already exists")
	// ErrFunctionExists is returned when a function name is already
	// registered by another library.
	ErrFunctionExists = errors.New("ERR Function already exists")
	// ErrNoSuchLibrary is returned by Delete for an unknown library.
	ErrNoSuchLibrary = errors.New("ERR Library not found")
)

// namedError carries a Redis message naming the library or function while
// matching its sentinel with errors.Is.
type namedError struct {
	msg      string
	sentinel error
}

// Error returns the Redis message.
func (e *namedError) Error() string { return e.msg }

// Is matches the sentinel.
func (e *namedError) Is(target error) bool { return target == e.sentinel }

// Registry is the set of loaded libraries of one replica (one shard's
// state machine), with Redis Functions' rules: function names are unique
// across libraries, LOAD REPLACE swaps a library atomically, nothing is
// half-loaded on error. It is safe for concurrent use.
type Registry struct {
	rt *Runtime

	mu    sync.RWMutex
	libs  map[string]*Library
	funcs map[string]*Library // function name -> library

	// scripts is the EVAL script cache (SHA1 hex -> source), replicated
	// like the libraries: SCRIPT LOAD, EVAL and SCRIPT FLUSH change it at
	// apply time on every replica.
	scripts map[string]string

	// Node-local call counters for metrics (CountCall); not part of the
	// replicated state (neither Dump nor Digest reads them).
	calls, callsRO, fuel atomic.Int64
}

// CountCall records a finished call (FCALL, or FCALL_RO with readOnly)
// and the fuel it consumed. The counters are node-local figures for
// metrics: they never change what a call or the registry's state does.
func (g *Registry) CountCall(readOnly bool, fuel int64) {
	if readOnly {
		g.callsRO.Add(1)
	} else {
		g.calls.Add(1)
	}
	g.fuel.Add(max(fuel, 0))
}

// CallStats returns the calls counted by CountCall, FCALL and FCALL_RO
// apart, and the fuel they consumed.
func (g *Registry) CallStats() (calls, callsRO, fuel int64) {
	return g.calls.Load(), g.callsRO.Load(), g.fuel.Load()
}

// InheritCallStats adds old's call counters to g's, so that the figures
// stay monotonic when a snapshot's registry replaces old.
func (g *Registry) InheritCallStats(old *Registry) {
	c, ro, f := old.CallStats()
	g.calls.Add(c)
	g.callsRO.Add(ro)
	g.fuel.Add(f)
}

// NewRegistry returns an empty registry loading into rt.
func NewRegistry(rt *Runtime) *Registry {
	return &Registry{rt: rt, libs: map[string]*Library{}, funcs: map[string]*Library{}}
}

// Load loads a FUNCTION LOAD payload and returns the library name. With
// replace, a library of the same name is replaced (and closed).
func (g *Registry) Load(ctx context.Context, payload []byte, replace bool, lim Limits) (string, error) {
	name, code, err := ParsePayload(payload)
	if err != nil {
		return "", err
	}
	g.mu.RLock()
	_, exists := g.libs[name]
	g.mu.RUnlock()
	if exists && !replace {
		return "", &namedError{fmt.Sprintf("ERR Library '%s' already exists", name), ErrLibraryExists}
	}
	lib, err := g.rt.Load(ctx, name, code, lim)
	if err != nil {
		return "", err
	}
	g.mu.Lock()
	old := g.libs[name]
	if old != nil && !replace { // loaded concurrently
		g.mu.Unlock()
		_ = lib.Close(ctx)
		return "", &namedError{fmt.Sprintf("ERR Library '%s' already exists", name), ErrLibraryExists}
	}
	for _, f := range lib.Functions {
		if other := g.funcs[f.Name]; other != nil && other != old {
			g.mu.Unlock()
			_ = lib.Close(ctx)
			return "", &namedError{fmt.Sprintf("ERR Function %s already exists", f.Name), ErrFunctionExists}
		}
	}
	if old != nil {
		g.unlink(old)
	}
	g.libs[name] = lib
	for _, f := range lib.Functions {
		g.funcs[f.Name] = lib
	}
	g.mu.Unlock()
	if old != nil {
		_ = old.Close(ctx)
	}
	return name, nil
}

// unlink removes lib's entries; the caller holds mu.
func (g *Registry) unlink(lib *Library) {
	delete(g.libs, lib.Name)
	for _, f := range lib.Functions {
		if g.funcs[f.Name] == lib {
			delete(g.funcs, f.Name)
		}
	}
}

// Delete removes a library.
func (g *Registry) Delete(ctx context.Context, name string) error {
	g.mu.Lock()
	lib := g.libs[name]
	if lib == nil {
		g.mu.Unlock()
		return ErrNoSuchLibrary
	}
	g.unlink(lib)
	g.mu.Unlock()
	return lib.Close(ctx)
}

// Flush removes every library.
func (g *Registry) Flush(ctx context.Context) {
	g.mu.Lock()
	libs := g.libs
	g.libs, g.funcs = map[string]*Library{}, map[string]*Library{}
	g.mu.Unlock()
	for _, lib := range libs {
		_ = lib.Close(ctx)
	}
}

// Function returns the library registering function fn, and the function.
func (g *Registry) Function(fn string) (*Library, Function, bool) {
	g.mu.RLock()
	lib := g.funcs[fn]
	g.mu.RUnlock()
	if lib == nil {
		return nil, Function{}, false
	}
	f, ok := lib.Function(fn)
	return lib, f, ok
}

// List returns the libraries whose names match the glob pattern (all when
// pattern is empty), sorted by name. The match uses path.Match, which
// differs from Redis's stringmatch only in '/' handling; the wiring step
// should use the server's glob.
func (g *Registry) List(pattern string) []*Library {
	g.mu.RLock()
	defer g.mu.RUnlock()
	var out []*Library
	for name, lib := range g.libs {
		if pattern != "" {
			if ok, _ := path.Match(pattern, name); !ok {
				continue
			}
		}
		out = append(out, lib)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// ScriptSHA returns the SHA1 hex of a script source (its EVALSHA name).
func ScriptSHA(src []byte) string {
	h := sha1.Sum(src)
	return hex.EncodeToString(h[:])
}

// AddScript caches a script (EVAL, SCRIPT LOAD) and returns its SHA1 hex.
func (g *Registry) AddScript(src []byte) string {
	sha := ScriptSHA(src)
	g.mu.Lock()
	if g.scripts == nil {
		g.scripts = map[string]string{}
	}
	if _, ok := g.scripts[sha]; !ok {
		g.scripts[sha] = string(src)
	}
	g.mu.Unlock()
	return sha
}

// Script returns the cached script of a SHA1 (hex, any case).
func (g *Registry) Script(sha string) ([]byte, bool) {
	g.mu.RLock()
	s, ok := g.scripts[strings.ToLower(sha)]
	g.mu.RUnlock()
	return []byte(s), ok
}

// FlushScripts empties the script cache (SCRIPT FLUSH).
func (g *Registry) FlushScripts() {
	g.mu.Lock()
	g.scripts = nil
	g.mu.Unlock()
}

// Scripts returns the number of cached scripts.
func (g *Registry) Scripts() int {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return len(g.scripts)
}

// scriptSources returns the cached sources in SHA1 order.
func (g *Registry) scriptSources() []string {
	g.mu.RLock()
	shas := make([]string, 0, len(g.scripts))
	for sha := range g.scripts {
		shas = append(shas, sha)
	}
	sort.Strings(shas)
	out := make([]string, len(shas))
	for i, sha := range shas {
		out[i] = g.scripts[sha]
	}
	g.mu.RUnlock()
	return out
}
