package shard

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/cairndb/cairn/modules"
	"github.com/cairndb/cairn/modules/lua"
	"github.com/cairndb/cairn/server/command"
)

// The shard's function libraries (FUNCTION LOAD, FCALL) and EVAL script
// cache are replicated state like the keyspace: FUNCTION's writing
// subcommands, FCALL, EVAL and SCRIPT LOAD/FLUSH are log entries applied
// on every replica, and both are a section of the snapshot
// (modules.Registry.DumpState's encoding, which carries its own version).

var (
	sharedRuntimeOnce sync.Once
	sharedRuntime     *modules.Runtime
	sharedRuntimeErr  error
)

// defaultRuntime is the process-wide runtime of shards given none.
func defaultRuntime() (*modules.Runtime, error) {
	sharedRuntimeOnce.Do(func() {
		sharedRuntime, sharedRuntimeErr = modules.NewRuntime(context.Background(), modules.Config{})
	})
	return sharedRuntime, sharedRuntimeErr
}

// registry returns the shard's library set, creating it on first use
// (readers may race to create it; one wins). It returns nil only when no
// runtime can be created: the functions' commands then answer an error.
func (s *stateMachine) registry() *modules.Registry {
	if g := s.libs.Load(); g != nil {
		return g
	}
	rt := runtimeOf(s)
	if rt == nil {
		return nil
	}
	s.libs.CompareAndSwap(nil, modules.NewRegistry(rt))
	return s.libs.Load()
}

// funcCtx gives a command the shard's libraries and what FCALL checks.
func (s *stateMachine) funcCtx(c *command.Ctx) {
	c.Funcs = s.registry()
	c.Table = s.table
	c.Cluster = s.opts.Cluster
	c.Memory = s
}

// OutOfMemory implements command.Ctx.Memory (apply time only).
func (s *stateMachine) OutOfMemory() bool { return s.outOfMemory() }

// appendFunctionSection appends the library set and script cache: a
// uvarint length and the registry's state encoding (DumpState).
func appendFunctionSection(dst []byte, g *modules.Registry) []byte {
	var d []byte
	if g != nil {
		d = g.DumpState()
	}
	dst = binary.AppendUvarint(dst, uint64(len(d)))
	return append(dst, d...)
}

// readFunctionSection reads the library set written by
// appendFunctionSection into a fresh registry. A set encoded by a newer
// binary is modules.ErrDumpVersion (the caller halts).
func (s *stateMachine) readFunctionSection(r byteReader) (*modules.Registry, error) {
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return nil, err
	}
	if n > 1<<34 {
		return nil, fmt.Errorf("function section of %d bytes", n)
	}
	rt := runtimeOf(s)
	if rt == nil {
		return nil, errors.New("no Wasm runtime")
	}
	g := modules.NewRegistry(rt)
	if n == 0 {
		return g, nil
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, err
	}
	if err := g.RestoreState(context.Background(), buf); err != nil {
		return nil, err
	}
	return g, nil
}

// runtimeOf returns the runtime s's libraries load into (nil, logged, if
// the shared one cannot be created).
func runtimeOf(s *stateMachine) *modules.Runtime {
	if s.opts.Modules != nil {
		return s.opts.Modules
	}
	rt, err := defaultRuntime()
	if err != nil {
		s.opts.Logger.Error("functions unavailable: cannot create the Wasm runtime", "err", err)
	}
	return rt
}

// precompile compiles the module of each FUNCTION LOAD among cmds before
// the entry is proposed, on the proposer's goroutine, so that the load at
// apply time — under the write lock, stalling the shard — finds the code
// compiled (modules.Runtime.Precompile). The outcome does not change;
// followers on other nodes still compile at apply.
//
// Likewise, the first EVAL, EVALSHA or SCRIPT loads the node's Lua
// interpreter (package lua) here rather than under the write lock.
func (s *Shard) precompile(cmds [][][]byte) {
	for _, cmd := range cmds {
		if len(cmd) > 0 && (command.EqualFold(cmd[0], "eval") || command.EqualFold(cmd[0], "evalsha") || command.EqualFold(cmd[0], "script")) {
			_, _ = lua.Library(context.Background())
			continue
		}
		if len(cmd) < 3 || len(cmd[0]) != len("function") || !command.EqualFold(cmd[0], "function") || !command.EqualFold(cmd[1], "load") {
			continue
		}
		if rt := runtimeOf(s.sm); rt != nil {
			_ = rt.Precompile(context.Background(), cmd[len(cmd)-1], modules.DefaultLimits())
		}
	}
}

// Libraries returns the number of function libraries this replica has
// applied.
func (s *Shard) Libraries() int {
	if g := s.sm.libs.Load(); g != nil {
		return len(g.List(""))
	}
	return 0
}
