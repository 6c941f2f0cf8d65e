package scripting

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/cairndb/cairn/modules"
	"github.com/cairndb/cairn/modules/lua"
	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/command/function"
	"github.com/cairndb/cairn/server/reply"
)

// Errors as Redis 7.0 words them.
var (
	errNoScript       = command.Msg("NOSCRIPT No matching script. Please use EVAL.")
	errNumkeys        = command.Msg("ERR value is not an integer or out of range")
	errNumkeysTooMany = command.Msg("ERR Number of keys can't be greater than number of args")
	errNumkeysNeg     = command.Msg("ERR Number of keys can't be negative")
	errUnavailable    = command.Msg("ERR Lua scripting is unavailable: no Wasm runtime")
	errBadReply       = command.Msg("ERR Script returned an invalid reply")
	errNoCluster      = command.Msg("ERR Can not run script on cluster, 'no-cluster' flag is set.")
	errWriteRO        = command.Msg("ERR Can not execute a script with write flag using *_ro command.")
	errOOM            = command.Msg("OOM allow-oom flag is not set on the script, can not run it when used memory > 'maxmemory'")
)

// Eval is EVAL script numkeys [key ...] [arg ...]: cache the script and
// run it, at apply time on every replica.
func Eval(c *command.Ctx, args [][]byte) (reply.Value, error) {
	return eval(c, args, args[1], false, true, false)
}

// EvalSHA is EVALSHA sha1 numkeys [key ...] [arg ...]: run a cached
// script, at apply time on every replica (the cache is replicated, so
// every replica finds the same scripts).
func EvalSHA(c *command.Ctx, args [][]byte) (reply.Value, error) {
	src, err := cached(c, args[1])
	if err != nil {
		return reply.Value{}, err
	}
	return eval(c, args, src, false, false, true)
}

// EvalRO is EVAL_RO script numkeys [key ...] [arg ...] on the read path:
// writes are refused; the script is not cached.
func EvalRO(c *command.Ctx, args [][]byte) (reply.Value, error) {
	return eval(c, args, args[1], true, false, false)
}

// EvalSHARO is EVALSHA_RO sha1 numkeys [key ...] [arg ...] on the read
// path.
func EvalSHARO(c *command.Ctx, args [][]byte) (reply.Value, error) {
	src, err := cached(c, args[1])
	if err != nil {
		return reply.Value{}, err
	}
	return eval(c, args, src, true, false, true)
}

// cached returns the cached source of a SHA1, or NOSCRIPT.
func cached(c *command.Ctx, sha []byte) ([]byte, error) {
	if c.Funcs == nil {
		return nil, errNoScript
	}
	if len(sha) != 40 {
		return nil, errNoScript
	}
	src, ok := c.Funcs.Script(string(sha))
	if !ok {
		return nil, errNoScript
	}
	return src, nil
}

// eval runs a script. prepared (EVALSHA, EVALSHA_RO: a script of the
// replicated cache, typically called again and again) runs it from a state
// where it is compiled already; EVAL and EVAL_RO, whose source may be new on
// every call, compile it in the call. The choice depends only on the
// command, so every replica makes the same one.
func eval(c *command.Ctx, args [][]byte, src []byte, ro, cache, prepared bool) (reply.Value, error) {
	if c.Funcs == nil {
		return reply.Value{}, errUnavailable
	}
	numkeys, err := strconv.ParseInt(string(args[2]), 10, 64)
	if err != nil {
		return reply.Value{}, errNumkeys
	}
	if numkeys > int64(len(args)-3) {
		return reply.Value{}, errNumkeysTooMany
	}
	if numkeys < 0 {
		return reply.Value{}, errNumkeysNeg
	}
	sha := modules.ScriptSHA(src)
	keys := args[3 : 3+numkeys]
	sc, err := parseScript(src)
	if err != nil {
		return reply.Value{}, err
	}
	if err := checkFlags(c, sc, ro); err != nil {
		// Redis creates (compiles and caches) the script before it checks
		// the flags: a compilation error comes first.
		if cerr := compileError(c, sha, sc.body); cerr != nil {
			return reply.Value{}, cerr
		}
		if cache {
			c.Funcs.AddScript(src)
		}
		return reply.Value{}, err
	}
	noBlock, inFn := c.NoBlock, c.InFunction
	c.NoBlock, c.InFunction = true, true
	out, fuel, err := lua.Run(context.Background(), function.NewHost(c, keys, ro, sc.flags), lua.Script{
		SHA: sha, Source: sc.body, Keys: keys, Args: args[3+numkeys:], ReadOnly: ro || sc.flags&modules.NoWrites != 0,
		Prepared: prepared, Time: c.Now * 1_000_000, Seed: c.Seed,
	})
	c.NoBlock, c.InFunction = noBlock, inFn
	c.Funcs.CountCall(ro, fuel)
	if err != nil {
		if errors.Is(err, lua.ErrNotBuilt) {
			return reply.Value{}, command.Msg(err.Error())
		}
		// Fuel or a trap: the script ran (its writes stay), so it is
		// cached as Redis caches a script that failed at run time.
		if cache {
			c.Funcs.AddScript(src)
		}
		return reply.Value{}, command.Msg(err.Error())
	}
	v, ok := function.ParseReply(out)
	if !ok {
		return reply.Value{}, errBadReply
	}
	// Redis caches a script that compiled, whatever it then returned.
	if cache && !isCompileError(v) {
		c.Funcs.AddScript(src)
	}
	return v, nil
}

// checkFlags applies a script's shebang flags before it runs, as Redis
// 7.0's scriptPrepareForRun (a script without a shebang has none of these
// checks). allow-stale needs no check: every Cairn replica that runs a
// script runs it at apply or on its read path, never while stale.
func checkFlags(c *command.Ctx, sc script, ro bool) error {
	if sc.compat {
		return nil
	}
	if sc.flags&modules.NoCluster != 0 && c.Cluster {
		return errNoCluster
	}
	if sc.flags&modules.NoWrites == 0 {
		if ro {
			return errWriteRO
		}
		if sc.flags&modules.AllowOOM == 0 && c.Memory != nil && c.Memory.OutOfMemory() {
			return errOOM
		}
	}
	return nil
}

// compileError is the error of a script body that does not compile
// (SCRIPT LOAD's check), nil when it compiles.
func compileError(c *command.Ctx, sha string, body []byte) error {
	out, _, err := lua.Run(context.Background(), function.NewHost(c, nil, true, 0), lua.Script{
		SHA: sha, Source: body, CompileOnly: true, Time: c.Now * 1_000_000, Seed: c.Seed,
	})
	if err != nil {
		return command.Msg(err.Error())
	}
	if v, ok := function.ParseReply(out); ok && v.Kind == reply.KindError {
		return command.Msg(string(v.Str))
	}
	return nil
}

// isCompileError tells a compilation failure reply.
func isCompileError(v reply.Value) bool {
	return v.Kind == reply.KindError && strings.HasPrefix(string(v.Str), "ERR Error compiling script")
}
