// Package scripting holds Redis's Lua scripting commands: EVAL, EVALSHA,
// EVAL_RO, EVALSHA_RO and SCRIPT LOAD/EXISTS/FLUSH/KILL/HELP. Scripts run
// on Cairn's Lua interpreter, which is itself a Wasm module in the same
// sandbox as FCALL's libraries (package modules/lua): fuel, memory and
// import limits, no clock, file or socket.
//
// EVAL and EVALSHA are log entries run at apply on every replica, with the
// entry's time and seed; the script cache (SHA1 -> source) is replicated
// state in the shard's function registry (modules.Registry): EVAL and
// SCRIPT LOAD add to it and SCRIPT FLUSH empties it at apply time, it is in
// the snapshot and the state digest, so EVALSHA finds the same scripts on
// every replica and after a restart. EVAL_RO and EVALSHA_RO run on the
// read path and, unlike Redis's, do not add the script to the cache (the
// read path changes no replicated state).
package scripting

import (
	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/command/function"
)

// Format is the log-entry format of the family: 7 introduced it (an
// older binary answered EVAL with an error and would diverge), 9 (a
// script's fuel: prepared scripts, the guest's allocator warmed in its
// snapshot) is what it carries now. A leader refuses to propose its
// commands while some node of the cluster is older.
const Format = 9

// Specs is the family's spec table.
var Specs = command.WithFormat(Format, []*command.Spec{
	{
		Name: "eval", Arity: -3, Flags: command.Write | command.NoScript | command.SkipMonitor | command.MayReplicate | command.Stale,
		KeysFunc: function.NumkeysKeys, ACL: []string{"slow", "scripting"}, Group: "scripting",
		Summary: "Execute a Lua script server side", Since: "2.6.0", Complexity: "Depends on the script that is executed.",
		Run: Eval,
	},
	{
		Name: "evalsha", Arity: -3, Flags: command.Write | command.NoScript | command.SkipMonitor | command.MayReplicate | command.Stale,
		KeysFunc: function.NumkeysKeys, ACL: []string{"slow", "scripting"}, Group: "scripting",
		Summary: "Execute a Lua script server side", Since: "2.6.0", Complexity: "Depends on the script that is executed.",
		Run: EvalSHA,
	},
	{
		Name: "eval_ro", Arity: -3, Flags: command.ReadOnly | command.NoScript | command.SkipMonitor | command.Stale,
		KeysFunc: function.NumkeysKeys, ACL: []string{"slow", "scripting"}, Group: "scripting",
		Summary: "Execute a read-only Lua script server side", Since: "7.0.0", Complexity: "Depends on the script that is executed.",
		Run: EvalRO,
	},
	{
		Name: "evalsha_ro", Arity: -3, Flags: command.ReadOnly | command.NoScript | command.SkipMonitor | command.Stale,
		KeysFunc: function.NumkeysKeys, ACL: []string{"slow", "scripting"}, Group: "scripting",
		Summary: "Execute a read-only Lua script server side", Since: "7.0.0", Complexity: "Depends on the script that is executed.",
		Run: EvalSHARO,
	},
	{
		Name: "script", Arity: -2, ACL: []string{"slow"}, Group: "scripting",
		Summary: "A container for Lua scripts management commands", Since: "2.6.0", Complexity: "Depends on subcommand.",
		Sub: []*command.Spec{
			{
				Name: "script|load", Arity: 3, Flags: command.Write | command.NoScript | command.Stale,
				ACL: []string{"slow", "scripting"}, Group: "scripting",
				Summary: "Load the specified Lua script into the script cache.", Since: "2.6.0",
				Complexity: "O(N) with N being the length in bytes of the script body.", Run: Load,
			},
			{
				Name: "script|exists", Arity: -3, Flags: command.NoScript | command.Stale,
				ACL: []string{"slow", "scripting"}, Group: "scripting",
				Summary: "Check existence of scripts in the script cache.", Since: "2.6.0",
				Complexity: "O(N) with N being the number of scripts to check (so checking a single script is an O(1) operation).", Run: Exists,
			},
			{
				Name: "script|flush", Arity: -2, Flags: command.Write | command.NoScript,
				ACL: []string{"slow", "scripting"}, Group: "scripting",
				Summary: "Remove all the scripts from the script cache.", Since: "2.6.0",
				Complexity: "O(N) with N being the number of scripts in cache", Run: Flush,
			},
			{
				Name: "script|kill", Arity: 2, Flags: command.NoScript | command.AllowBusy,
				ACL: []string{"slow", "scripting"}, Group: "scripting",
				Summary: "Kill the script currently in execution.", Since: "2.6.0", Complexity: "O(1)", Run: Kill,
			},
			{
				Name: "script|help", Arity: 2, Flags: command.Loading | command.Stale,
				ACL: []string{"slow", "scripting"}, Group: "scripting",
				Summary: "Show helpful text about the different subcommands", Since: "5.0.0", Complexity: "O(1)", Run: Help,
			},
		},
	},
})
