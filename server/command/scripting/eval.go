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
)

// Eval is EVAL script numkeys [key ...] [arg ...]: cache the script and
// run it, at apply time on every replica.
func Eval(c *command.Ctx, args [][]byte) (reply.Value, error) {
	return eval(c, args, args[1], false, true)
}

// EvalSHA is EVALSHA sha1 numkeys [key ...] [arg ...]: run a cached
// script, at apply time on every replica (the cache is replicated, so
// every replica finds the same scripts).
func EvalSHA(c *command.Ctx, args [][]byte) (reply.Value, error) {
	src, err := cached(c, args[1])
	if err != nil {
		return reply.Value{}, err
	}
	return eval(c, args, src, false, false)
}

// EvalRO is EVAL_RO script numkeys [key ...] [arg ...] on the read path:
// writes are refused; the script is not cached.
func EvalRO(c *command.Ctx, args [][]byte) (reply.Value, error) {
	return eval(c, args, args[1], true, false)
}

// EvalSHARO is EVALSHA_RO sha1 numkeys [key ...] [arg ...] on the read
// path.
func EvalSHARO(c *command.Ctx, args [][]byte) (reply.Value, error) {
	src, err := cached(c, args[1])
	if err != nil {
		return reply.Value{}, err
	}
	return eval(c, args, src, true, false)
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

func eval(c *command.Ctx, args [][]byte, src []byte, ro, cache bool) (reply.Value, error) {
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
	noBlock, inFn := c.NoBlock, c.InFunction
	c.NoBlock, c.InFunction = true, true
	out, fuel, err := lua.Run(context.Background(), function.NewHost(c, keys, ro), lua.Script{
		SHA: sha, Source: src, Keys: keys, Args: args[3+numkeys:], ReadOnly: ro,
		Time: c.Now * 1_000_000, Seed: c.Seed,
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

// isCompileError tells a compilation failure reply.
func isCompileError(v reply.Value) bool {
	return v.Kind == reply.KindError && strings.HasPrefix(string(v.Str), "ERR Error compiling script")
}
