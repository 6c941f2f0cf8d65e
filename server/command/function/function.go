package function

import (
	"context"
	"errors"

	"github.com/cairndb/cairn/modules"
	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/command/glob"
	"github.com/cairndb/cairn/server/reply"
)

// errNoFunctions is answered where the shard has no library set (a
// handler run without one: a programming error, not a client's).
var errNoFunctions = command.Msg("ERR functions are not available here")

// engineName is the engine FUNCTION LIST and STATS report.
const engineName = "WASM"

// syntaxError is Redis's addReplySubcommandSyntaxError text.
func syntaxError(sub []byte) error {
	return command.Errorf("ERR unknown subcommand or wrong number of arguments for '%s'. Try FUNCTION HELP.", sub)
}

// Load is FUNCTION LOAD [REPLACE] function-code: load a library (the code
// is "#!wasm name=<library>\n" and a Wasm module) and reply its name.
// Libraries load with modules.DefaultLimits, a constant of the binary, so
// every replica applies the same limits; they are stored with the library.
func Load(c *command.Ctx, args [][]byte) (reply.Value, error) {
	if c.Funcs == nil {
		return reply.Value{}, errNoFunctions
	}
	replace := false
	i := 2
	for ; i < len(args)-1; i++ {
		if !command.EqualFold(args[i], "replace") {
			return reply.Value{}, command.Errorf("ERR Unknown option given: %s", args[i])
		}
		replace = true
	}
	name, err := c.Funcs.Load(context.Background(), args[i], replace, modules.DefaultLimits())
	if err != nil {
		return reply.Value{}, command.Msg(err.Error())
	}
	return reply.BulkString(name), nil
}

// Delete is FUNCTION DELETE library-name.
func Delete(c *command.Ctx, args [][]byte) (reply.Value, error) {
	if c.Funcs == nil {
		return reply.Value{}, errNoFunctions
	}
	if err := c.Funcs.Delete(context.Background(), string(args[2])); err != nil {
		if errors.Is(err, modules.ErrNoSuchLibrary) {
			return reply.Value{}, command.Msg(modules.ErrNoSuchLibrary.Error())
		}
		return reply.Value{}, command.Msg(err.Error())
	}
	return reply.OK, nil
}

// Flush is FUNCTION FLUSH [ASYNC|SYNC]: remove every library. Both modes
// free synchronously (compiled code is released by the runtime).
func Flush(c *command.Ctx, args [][]byte) (reply.Value, error) {
	if c.Funcs == nil {
		return reply.Value{}, errNoFunctions
	}
	if len(args) > 3 {
		return reply.Value{}, syntaxError(args[1])
	}
	if len(args) == 3 && !command.EqualFold(args[2], "async") && !command.EqualFold(args[2], "sync") {
		return reply.Value{}, command.Msg("ERR FUNCTION FLUSH only supports SYNC|ASYNC option")
	}
	c.Funcs.Flush(context.Background())
	return reply.OK, nil
}

// Dump is FUNCTION DUMP: the library set as a payload FUNCTION RESTORE
// reads (a versioned, checksummed encoding of each library's code and
// limits; not Redis's RDB format).
func Dump(c *command.Ctx, args [][]byte) (reply.Value, error) {
	if c.Funcs == nil {
		return reply.Value{}, errNoFunctions
	}
	return reply.Bulk(c.Funcs.Dump()), nil
}

// Restore is FUNCTION RESTORE serialized-value [FLUSH|APPEND|REPLACE].
func Restore(c *command.Ctx, args [][]byte) (reply.Value, error) {
	if c.Funcs == nil {
		return reply.Value{}, errNoFunctions
	}
	if len(args) > 4 {
		return reply.Value{}, syntaxError(args[1])
	}
	policy := modules.RestoreAppend
	if len(args) == 4 {
		switch {
		case command.EqualFold(args[3], "append"):
		case command.EqualFold(args[3], "replace"):
			policy = modules.RestoreReplace
		case command.EqualFold(args[3], "flush"):
			policy = modules.RestoreFlush
		default:
			return reply.Value{}, command.Msg("ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.")
		}
	}
	if err := c.Funcs.Restore(context.Background(), args[2], policy); err != nil {
		if errors.Is(err, modules.ErrDumpVersion) {
			return reply.Value{}, command.Msg(modules.ErrBadDump.Error())
		}
		return reply.Value{}, command.Msg(err.Error())
	}
	return reply.OK, nil
}

// List is FUNCTION LIST [LIBRARYNAME pattern] [WITHCODE].
func List(c *command.Ctx, args [][]byte) (reply.Value, error) {
	if c.Funcs == nil {
		return reply.Value{}, errNoFunctions
	}
	withCode := false
	var pattern []byte
	for i := 2; i < len(args); i++ {
		if !withCode && command.EqualFold(args[i], "withcode") {
			withCode = true
			continue
		}
		if pattern == nil && command.EqualFold(args[i], "libraryname") {
			if i >= len(args)-1 {
				return reply.Value{}, command.Msg("ERR library name argument was not given")
			}
			i++
			pattern = args[i]
			continue
		}
		return reply.Value{}, command.Errorf("ERR Unknown argument %s", args[i])
	}
	out := []reply.Value{}
	for _, lib := range c.Funcs.List("") {
		if pattern != nil && !glob.Match(pattern, []byte(lib.Name), false) {
			continue
		}
		fns := make([]reply.Value, 0, len(lib.Functions))
		for _, f := range lib.Functions {
			flags := []reply.Value{}
			for _, s := range f.Flags.Strings() {
				flags = append(flags, reply.Status(s))
			}
			fns = append(fns, reply.Map(
				reply.BulkString("name"), reply.BulkString(f.Name),
				reply.BulkString("description"), reply.Nil,
				reply.BulkString("flags"), reply.Set(flags...),
			))
		}
		m := []reply.Value{
			reply.BulkString("library_name"), reply.BulkString(lib.Name),
			reply.BulkString("engine"), reply.BulkString(engineName),
			reply.BulkString("functions"), reply.Array(fns...),
		}
		if withCode {
			code := append([]byte("#!"+modules.Engine+" name="+lib.Name+"\n"), lib.Code...)
			m = append(m, reply.BulkString("library_code"), reply.Bulk(code))
		}
		out = append(out, reply.Map(m...))
	}
	return reply.Array(out...), nil
}

// Stats is FUNCTION STATS. No function is ever reported running: calls
// run to completion inside apply or a read, bounded by fuel.
func Stats(c *command.Ctx, args [][]byte) (reply.Value, error) {
	if c.Funcs == nil {
		return reply.Value{}, errNoFunctions
	}
	libs := c.Funcs.List("")
	nf := 0
	for _, l := range libs {
		nf += len(l.Functions)
	}
	return reply.Map(
		reply.BulkString("running_script"), reply.Nil,
		reply.BulkString("engines"), reply.Map(
			reply.BulkString(engineName), reply.Map(
				reply.BulkString("libraries_count"), reply.Int(int64(len(libs))),
				reply.BulkString("functions_count"), reply.Int(int64(nf)),
			),
		),
	), nil
}

// Kill is FUNCTION KILL. A call holds no client waiting on it between
// commands and ends on its fuel budget (well under a second), so there is
// never one to kill.
func Kill(c *command.Ctx, args [][]byte) (reply.Value, error) {
	return reply.Value{}, command.Msg("NOTBUSY No scripts in execution right now.")
}

var helpLines = []string{
	"FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	"LOAD [REPLACE] <FUNCTION CODE>",
	"    Create a new library with the given library name and code.",
	"    The code is \"#!wasm name=<library>\\n\" followed by a WebAssembly module.",
	"DELETE <LIBRARY NAME>",
	"    Delete the given library.",
	"LIST [LIBRARYNAME PATTERN] [WITHCODE]",
	"    Return general information on all the libraries:",
	"    * Library name",
	"    * The engine used to run the Library",
	"    * Library description",
	"    * Functions list",
	"    * Library code (if WITHCODE is given)",
	"    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
	"STATS",
	"    Return information about the current function running (always none) and the engines.",
	"KILL",
	"    Kill the current running function (calls are bounded by fuel; there is never one to kill).",
	"FLUSH [ASYNC|SYNC]",
	"    Delete all the libraries.",
	"DUMP",
	"    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
	"RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
	"    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
	"    control how to handle existing libraries (default APPEND):",
	"    * FLUSH: delete all existing libraries.",
	"    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
	"    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
	"      libraries with the new libraries (notice that even on this option there is a chance of failure",
	"      in case of functions name collision with another library).",
	"HELP",
	"    Prints this help.",
}

// Help is FUNCTION HELP.
func Help(c *command.Ctx, args [][]byte) (reply.Value, error) {
	out := make([]reply.Value, len(helpLines))
	for i, l := range helpLines {
		out[i] = reply.Status(l)
	}
	return reply.Array(out...), nil
}
