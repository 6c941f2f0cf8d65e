package scripting

import (
	"context"
	"strings"

	"github.com/cairndb/cairn/modules"
	"github.com/cairndb/cairn/modules/lua"
	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/command/function"
	"github.com/cairndb/cairn/server/reply"
)

// Load is SCRIPT LOAD script: compile it (in the sandbox) and cache it,
// at apply time on every replica; the reply is its SHA1.
func Load(c *command.Ctx, args [][]byte) (reply.Value, error) {
	if c.Funcs == nil {
		return reply.Value{}, errUnavailable
	}
	src := args[2]
	sha := modules.ScriptSHA(src)
	if _, ok := c.Funcs.Script(sha); ok {
		return reply.BulkString(sha), nil
	}
	sc, err := parseScript(src)
	if err != nil {
		return reply.Value{}, err
	}
	out, _, err := lua.Run(context.Background(), function.NewHost(c, nil, true, 0), lua.Script{
		SHA: sha, Source: sc.body, CompileOnly: true, Time: c.Now * 1_000_000, Seed: c.Seed,
	})
	if err != nil {
		return reply.Value{}, command.Msg(err.Error())
	}
	if v, ok := function.ParseReply(out); ok && v.Kind == reply.KindError {
		return reply.Value{}, command.Msg(string(v.Str))
	}
	c.Funcs.AddScript(src)
	return reply.BulkString(sha), nil
}

// Exists is SCRIPT EXISTS sha1 [sha1 ...]: 1 or 0 per SHA1.
func Exists(c *command.Ctx, args [][]byte) (reply.Value, error) {
	out := make([]reply.Value, 0, len(args)-2)
	for _, sha := range args[2:] {
		n := int64(0)
		if c.Funcs != nil {
			if _, ok := c.Funcs.Script(string(sha)); ok {
				n = 1
			}
		}
		out = append(out, reply.Int(n))
	}
	return reply.Array(out...), nil
}

// Flush is SCRIPT FLUSH [ASYNC|SYNC]: empty the script cache on every
// replica (both modes flush at once).
func Flush(c *command.Ctx, args [][]byte) (reply.Value, error) {
	if len(args) > 3 {
		return reply.Value{}, command.Msg("ERR SCRIPT FLUSH only support SYNC|ASYNC option")
	}
	if len(args) == 3 && !strings.EqualFold(string(args[2]), "sync") && !strings.EqualFold(string(args[2]), "async") {
		return reply.Value{}, command.Msg("ERR SCRIPT FLUSH only support SYNC|ASYNC option")
	}
	if c.Funcs != nil {
		c.Funcs.FlushScripts()
	}
	return reply.OK, nil
}

// Kill is SCRIPT KILL: scripts are bounded by fuel, never killed, so none
// is ever running from another client's point of view.
func Kill(c *command.Ctx, args [][]byte) (reply.Value, error) {
	return reply.Value{}, command.Msg("NOTBUSY No scripts in execution right now.")
}

var helpLines = []string{
	"SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	"EXISTS <sha1> [<sha1> ...]",
	"    Return information about the existence of the scripts in the script cache.",
	"FLUSH [ASYNC|SYNC]",
	"    Flush the Lua scripts cache. Very dangerous on replicas.",
	"    When called without the optional mode argument, the behavior is determined by the",
	"    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
	"    * ASYNC: Asynchronously flush the scripts cache.",
	"    * SYNC: Synchronously flush the scripts cache.",
	"KILL",
	"    Kill the currently executing Lua script.",
	"LOAD <script>",
	"    Load a script into the scripts cache without executing it.",
	"HELP",
	"    Print this help.",
}

// Help is SCRIPT HELP.
func Help(c *command.Ctx, args [][]byte) (reply.Value, error) {
	out := make([]reply.Value, len(helpLines))
	for i, l := range helpLines {
		out[i] = reply.Status(l)
	}
	return reply.Array(out...), nil
}
