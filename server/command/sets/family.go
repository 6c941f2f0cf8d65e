// Package sets implements the Redis 7.0 set commands: SADD, SREM,
// SMEMBERS, SISMEMBER, SMISMEMBER, SCARD, SPOP, SRANDMEMBER, SMOVE, SINTER,
// SUNION, SDIFF, SINTERSTORE, SUNIONSTORE, SDIFFSTORE, SINTERCARD and SSCAN.
//
// Values are keyspace.Set objects, encoded as Redis 7.0 encodes them: an
// intset while every member is an integer and there are at most 512, a
// hashtable otherwise (Redis 7.2's listpack encoding for small string sets
// is not used: OBJECT ENCODING answers as the 7.0 reference does). Write
// handlers run at Raft apply time and are deterministic: SPOP draws its
// members with c.Rand(), seeded from the log entry, so every replica pops
// the same ones. A command that fails changes nothing, and a set whose last
// member is removed is deleted.
package sets

import "github.com/cairndb/cairn/server/command"

const slowScan = "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection.."

// Specs is the set family's command table.
var Specs = []*command.Spec{
	{
		Name: "sadd", Arity: -3, Flags: command.Write | command.DenyOOM | command.Fast,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"write", "set", "fast"}, Group: "set",
		Summary: "Add one or more members to a set", Since: "1.0.0",
		Complexity: "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.",
		Run:        sadd,
	},
	{
		Name: "srem", Arity: -3, Flags: command.Write | command.Fast,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"write", "set", "fast"}, Group: "set",
		Summary: "Remove one or more members from a set", Since: "1.0.0",
		Complexity: "O(N) where N is the number of members to be removed.",
		Run:        srem,
	},
	{
		Name: "smembers", Arity: 2, Flags: command.ReadOnly,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"read", "set", "slow"}, Group: "set",
		Summary: "Get all the members in a set", Since: "1.0.0",
		Complexity: "O(N) where N is the set cardinality.",
		Run:        smembers,
	},
	{
		Name: "sismember", Arity: 3, Flags: command.ReadOnly | command.Fast,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"read", "set", "fast"}, Group: "set",
		Summary: "Determine if a given value is a member of a set", Since: "1.0.0",
		Complexity: "O(1)",
		Run:        sismember,
	},
	{
		Name: "smismember", Arity: -3, Flags: command.ReadOnly | command.Fast,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"read", "set", "fast"}, Group: "set",
		Summary: "Returns the membership associated with the given elements for a set", Since: "6.2.0",
		Complexity: "O(N) where N is the number of elements being checked for membership",
		Run:        smismember,
	},
	{
		Name: "scard", Arity: 2, Flags: command.ReadOnly | command.Fast,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"read", "set", "fast"}, Group: "set",
		Summary: "Get the number of members in a set", Since: "1.0.0",
		Complexity: "O(1)",
		Run:        scard,
	},
	{
		Name: "spop", Arity: -2, Flags: command.Write | command.Fast,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"write", "set", "fast"}, Group: "set",
		Summary: "Remove and return one or multiple random members from a set", Since: "1.0.0",
		Complexity: "Without the count argument O(1), otherwise O(N) where N is the value of the passed count.",
		Run:        spop,
	},
	{
		Name: "srandmember", Arity: -2, Flags: command.ReadOnly,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"read", "set", "slow"}, Group: "set",
		Summary: "Get one or multiple random members from a set", Since: "1.0.0",
		Complexity: "Without the count argument O(1), otherwise O(N) where N is the absolute value of the passed count.",
		Run:        srandmember,
	},
	{
		Name: "smove", Arity: 4, Flags: command.Write | command.Fast,
		FirstKey: 1, LastKey: 2, Step: 1, ACL: []string{"write", "set", "fast"}, Group: "set",
		Summary: "Move a member from one set to another", Since: "1.0.0",
		Complexity: "O(1)",
		Run:        smove,
	},
	{
		Name: "sinter", Arity: -2, Flags: command.ReadOnly,
		FirstKey: 1, LastKey: -1, Step: 1, ACL: []string{"read", "set", "slow"}, Group: "set",
		Summary: "Intersect multiple sets", Since: "1.0.0",
		Complexity: "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.",
		Run:        sinter,
	},
	{
		Name: "sinterstore", Arity: -3, Flags: command.Write | command.DenyOOM,
		FirstKey: 1, LastKey: -1, Step: 1, ACL: []string{"write", "set", "slow"}, Group: "set",
		Summary: "Intersect multiple sets and store the resulting set in a key", Since: "1.0.0",
		Complexity: "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.",
		Run:        sinterstore,
	},
	{
		Name: "sintercard", Arity: -3, Flags: command.ReadOnly,
		KeysFunc: sintercardKeys, ACL: []string{"read", "set", "slow"}, Group: "set",
		Summary: "Intersect multiple sets and return the cardinality of the result", Since: "7.0.0",
		Complexity: "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.",
		Run:        sintercard,
	},
	{
		Name: "sunion", Arity: -2, Flags: command.ReadOnly,
		FirstKey: 1, LastKey: -1, Step: 1, ACL: []string{"read", "set", "slow"}, Group: "set",
		Summary: "Add multiple sets", Since: "1.0.0",
		Complexity: "O(N) where N is the total number of elements in all given sets.",
		Run:        sunion,
	},
	{
		Name: "sunionstore", Arity: -3, Flags: command.Write | command.DenyOOM,
		FirstKey: 1, LastKey: -1, Step: 1, ACL: []string{"write", "set", "slow"}, Group: "set",
		Summary: "Add multiple sets and store the resulting set in a key", Since: "1.0.0",
		Complexity: "O(N) where N is the total number of elements in all given sets.",
		Run:        sunionstore,
	},
	{
		Name: "sdiff", Arity: -2, Flags: command.ReadOnly,
		FirstKey: 1, LastKey: -1, Step: 1, ACL: []string{"read", "set", "slow"}, Group: "set",
		Summary: "Subtract multiple sets", Since: "1.0.0",
		Complexity: "O(N) where N is the total number of elements in all given sets.",
		Run:        sdiff,
	},
	{
		Name: "sdiffstore", Arity: -3, Flags: command.Write | command.DenyOOM,
		FirstKey: 1, LastKey: -1, Step: 1, ACL: []string{"write", "set", "slow"}, Group: "set",
		Summary: "Subtract multiple sets and store the resulting set in a key", Since: "1.0.0",
		Complexity: "O(N) where N is the total number of elements in all given sets.",
		Run:        sdiffstore,
	},
	{
		Name: "sscan", Arity: -3, Flags: command.ReadOnly,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"read", "set", "slow"}, Group: "set",
		Summary: "Incrementally iterate Set elements", Since: "2.8.0",
		Complexity: slowScan,
		Run:        sscan,
	},
}
