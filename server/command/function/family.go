// Package function holds Redis Functions' commands over Wasm libraries:
// FUNCTION LOAD/LIST/DELETE/FLUSH/DUMP/RESTORE/STATS/KILL/HELP, FCALL and
// FCALL_RO (EVAL and SCRIPT are in package scripting, on the same host). The library set is the shard's (command.Ctx.Funcs), replicated
// like the keyspace: FUNCTION's writing subcommands and FCALL run at apply
// time on every replica, FCALL_RO and the listings on the read path.
package function

import (
	"strconv"

	"github.com/cairndb/cairn/server/command"
)

// Format is the log-entry format of the family's commands: 3 introduced
// them, 9 (a call's fuel: cairn.settle runs after a module's
// initialization) is what they carry now. A leader refuses to propose
// them while some node of the cluster is older (it would halt on them,
// or spend other fuel).
const Format = 9

// Specs is the family's spec table.
var Specs = command.WithFormat(Format, []*command.Spec{
	{
		Name: "fcall", Arity: -3, Flags: command.Write | command.NoScript | command.SkipMonitor | command.MayReplicate | command.Stale,
		KeysFunc: NumkeysKeys, ACL: []string{"slow", "scripting"}, Group: "scripting",
		Summary: "Invoke a function", Since: "7.0.0", Complexity: "Depends on the function that is executed.",
		Run: FCall,
	},
	{
		Name: "fcall_ro", Arity: -3, Flags: command.ReadOnly | command.NoScript | command.SkipMonitor | command.Stale,
		KeysFunc: NumkeysKeys, ACL: []string{"slow", "scripting"}, Group: "scripting",
		Summary: "Invoke a read-only function", Since: "7.0.0", Complexity: "Depends on the function that is executed.",
		Run: FCallRO,
	},
	{
		Name: "function", Arity: -2, ACL: []string{"slow"}, Group: "scripting",
		Summary: "A container for function commands", Since: "7.0.0", Complexity: "Depends on subcommand.",
		Sub: []*command.Spec{
			{
				Name: "function|load", Arity: -3, Flags: command.Write | command.DenyOOM | command.NoScript,
				ACL: []string{"write", "slow", "scripting"}, Group: "scripting",
				Summary: "Create a function with the given arguments (name, code, description)", Since: "7.0.0",
				Complexity: "O(1) (considering compilation time is redundant)", Run: Load,
			},
			{
				Name: "function|delete", Arity: 3, Flags: command.Write | command.NoScript,
				ACL: []string{"write", "slow", "scripting"}, Group: "scripting",
				Summary: "Delete a function by name", Since: "7.0.0", Complexity: "O(1)", Run: Delete,
			},
			{
				Name: "function|flush", Arity: -2, Flags: command.Write | command.NoScript,
				ACL: []string{"write", "slow", "scripting"}, Group: "scripting",
				Summary: "Deleting all functions", Since: "7.0.0", Complexity: "O(N) where N is the number of functions deleted", Run: Flush,
			},
			{
				Name: "function|restore", Arity: -3, Flags: command.Write | command.DenyOOM | command.NoScript,
				ACL: []string{"write", "slow", "scripting"}, Group: "scripting",
				Summary: "Restore all the functions on the given payload", Since: "7.0.0", Complexity: "O(N) where N is the number of functions on the payload", Run: Restore,
			},
			{
				Name: "function|dump", Arity: 2, Flags: command.NoScript,
				ACL: []string{"slow", "scripting"}, Group: "scripting",
				Summary: "Dump all functions into a serialized binary payload", Since: "7.0.0", Complexity: "O(N) where N is the number of functions", Run: Dump,
			},
			{
				Name: "function|list", Arity: -2, Flags: command.NoScript,
				ACL: []string{"slow", "scripting"}, Group: "scripting",
				Summary: "List information about all the functions", Since: "7.0.0", Complexity: "O(N) where N is the number of functions", Run: List,
			},
			{
				Name: "function|stats", Arity: 2, Flags: command.NoScript | command.AllowBusy,
				ACL: []string{"slow", "scripting"}, Group: "scripting",
				Summary: "Return information about the function currently running (name, description, duration)", Since: "7.0.0", Complexity: "O(1)", Run: Stats,
			},
			{
				Name: "function|kill", Arity: 2, Flags: command.NoScript | command.AllowBusy,
				ACL: []string{"slow", "scripting"}, Group: "scripting",
				Summary: "Kill the function currently in execution.", Since: "7.0.0", Complexity: "O(1)", Run: Kill,
			},
			{
				Name: "function|help", Arity: 2, Flags: command.Loading | command.Stale,
				ACL: []string{"slow", "scripting"}, Group: "scripting",
				Summary: "Show helpful text about the different subcommands", Since: "7.0.0", Complexity: "O(1)", Run: Help,
			},
		},
	},
})

// NumkeysKeys returns the key positions of FCALL/FCALL_RO (and EVAL):
// numkeys at args[2], the keys after it. A bad numkeys declares no key;
// the handler answers the error.
func NumkeysKeys(args [][]byte) []int {
	if len(args) < 3 {
		return nil
	}
	n, err := strconv.ParseInt(string(args[2]), 10, 64)
	if err != nil || n <= 0 || n > int64(len(args)-3) {
		return nil
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = 3 + i
	}
	return idx
}
