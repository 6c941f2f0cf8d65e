// Package hll implements Redis's HyperLogLog commands: PFADD, PFCOUNT,
// PFMERGE, PFDEBUG and PFSELFTEST.
//
// HyperLogLogs are string values in Redis's exact representation (see
// hll.go), so GET, DUMP and RESTORE exchange them with Redis, and PFCOUNT
// gives Redis's results for the same elements.
//
// One deliberate difference: Redis's PFCOUNT of a single key stores the
// cardinality it computed in the HLL header (a cache, invalidated by every
// change). In Cairn PFCOUNT is a read and never writes: it returns the
// cached value when the header holds a valid one and computes the estimate
// otherwise, which gives the same replies; only the cache bytes a later GET
// or DUMP shows may differ from Redis's.
//
// Writers never overwrite stored bytes in place (a read reply may alias
// them): an HLL is copied before its first change.
package hll

import "github.com/cairndb/cairn/server/command"

// Specs is the HyperLogLog family's command table.
var Specs = []*command.Spec{
	{
		Name: "pfadd", Arity: -2, Flags: command.Write | command.DenyOOM | command.Fast,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"write", "hyperloglog", "fast"},
		Group: "hyperloglog", Summary: "Adds the specified elements to the specified HyperLogLog.", Since: "2.8.9",
		Complexity: "O(1) to add every element.", Run: pfaddCmd,
	},
	{
		Name: "pfcount", Arity: -2, Flags: command.ReadOnly | command.MayReplicate,
		FirstKey: 1, LastKey: -1, Step: 1, ACL: []string{"read", "hyperloglog", "slow"},
		Group: "hyperloglog", Summary: "Return the approximated cardinality of the set(s) observed by the HyperLogLog at key(s).", Since: "2.8.9",
		Complexity: "O(1) with a very small average constant time when called with a single key. O(N) with N being the number of keys, and much bigger constant times, when called with multiple keys.",
		Run:        pfcountCmd,
	},
	{
		Name: "pfdebug", Arity: 3, Flags: command.Write | command.DenyOOM | command.Admin,
		FirstKey: 2, LastKey: 2, Step: 1, ACL: []string{"write", "hyperloglog", "admin", "slow", "dangerous"},
		Group: "hyperloglog", Summary: "Internal commands for debugging HyperLogLog values", Since: "2.8.9",
		Complexity: "N/A", Run: pfdebugCmd,
	},
	{
		Name: "pfmerge", Arity: -2, Flags: command.Write | command.DenyOOM,
		FirstKey: 1, LastKey: -1, Step: 1, ACL: []string{"write", "hyperloglog", "slow"},
		Group: "hyperloglog", Summary: "Merge N different HyperLogLogs into a single one.", Since: "2.8.9",
		Complexity: "O(N) to merge N HyperLogLogs, but with high constant times.", Run: pfmergeCmd,
	},
	{
		Name: "pfselftest", Arity: 1, Flags: command.Admin,
		ACL:   []string{"hyperloglog", "admin", "slow", "dangerous"},
		Group: "hyperloglog", Summary: "An internal command for testing HyperLogLog values", Since: "2.8.9",
		Complexity: "N/A", Run: pfselftestCmd,
	},
}
