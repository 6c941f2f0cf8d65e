// Package hashes implements the Redis 7.0 hash commands: HSET, HSETNX, HGET,
// HMSET, HMGET, HDEL, HLEN, HSTRLEN, HEXISTS, HKEYS, HVALS, HGETALL,
// HINCRBY, HINCRBYFLOAT, HRANDFIELD and HSCAN.
//
// Values are keyspace.Hash objects: a listpack (insertion order) up to 128
// fields of at most 64 bytes, a hashtable beyond, as Redis's defaults. Write
// handlers run at Raft apply time and are deterministic; a command that
// fails changes nothing, and a hash whose last field is deleted is deleted.
package hashes

import "github.com/cairndb/cairn/server/command"

// Specs is the hash family's command table.
var Specs = []*command.Spec{
	{
		Name: "hset", Arity: -4, Flags: command.Write | command.DenyOOM | command.Fast,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"write", "hash", "fast"}, Group: "hash",
		Summary: "Set the string value of a hash field", Since: "2.0.0",
		Complexity: "O(1) for each field/value pair added, so O(N) to add N field/value pairs when the command is called with multiple field/value pairs.",
		Run:        hset,
	},
	{
		Name: "hsetnx", Arity: 4, Flags: command.Write | command.DenyOOM | command.Fast,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"write", "hash", "fast"}, Group: "hash",
		Summary: "Set the value of a hash field, only if the field does not exist", Since: "2.0.0",
		Complexity: "O(1)",
		Run:        hsetnx,
	},
	{
		Name: "hget", Arity: 3, Flags: command.ReadOnly | command.Fast,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"read", "hash", "fast"}, Group: "hash",
		Summary: "Get the value of a hash field", Since: "2.0.0",
		Complexity: "O(1)",
		Run:        hget,
	},
	{
		Name: "hmset", Arity: -4, Flags: command.Write | command.DenyOOM | command.Fast,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"write", "hash", "fast"}, Group: "hash",
		Summary: "Set multiple hash fields to multiple values", Since: "2.0.0",
		Complexity: "O(N) where N is the number of fields being set.",
		Run:        hset,
	},
	{
		Name: "hmget", Arity: -3, Flags: command.ReadOnly | command.Fast,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"read", "hash", "fast"}, Group: "hash",
		Summary: "Get the values of all the given hash fields", Since: "2.0.0",
		Complexity: "O(N) where N is the number of fields being requested.",
		Run:        hmget,
	},
	{
		Name: "hdel", Arity: -3, Flags: command.Write | command.Fast,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"write", "hash", "fast"}, Group: "hash",
		Summary: "Delete one or more hash fields", Since: "2.0.0",
		Complexity: "O(N) where N is the number of fields to be removed.",
		Run:        hdel,
	},
	{
		Name: "hlen", Arity: 2, Flags: command.ReadOnly | command.Fast,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"read", "hash", "fast"}, Group: "hash",
		Summary: "Get the number of fields in a hash", Since: "2.0.0",
		Complexity: "O(1)",
		Run:        hlen,
	},
	{
		Name: "hstrlen", Arity: 3, Flags: command.ReadOnly | command.Fast,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"read", "hash", "fast"}, Group: "hash",
		Summary: "Get the length of the value of a hash field", Since: "3.2.0",
		Complexity: "O(1)",
		Run:        hstrlen,
	},
	{
		Name: "hexists", Arity: 3, Flags: command.ReadOnly | command.Fast,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"read", "hash", "fast"}, Group: "hash",
		Summary: "Determine if a hash field exists", Since: "2.0.0",
		Complexity: "O(1)",
		Run:        hexists,
	},
	{
		Name: "hkeys", Arity: 2, Flags: command.ReadOnly,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"read", "hash", "slow"}, Group: "hash",
		Summary: "Get all the fields in a hash", Since: "2.0.0",
		Complexity: "O(N) where N is the size of the hash.",
		Run:        hkeys,
	},
	{
		Name: "hvals", Arity: 2, Flags: command.ReadOnly,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"read", "hash", "slow"}, Group: "hash",
		Summary: "Get all the values in a hash", Since: "2.0.0",
		Complexity: "O(N) where N is the size of the hash.",
		Run:        hvals,
	},
	{
		Name: "hgetall", Arity: 2, Flags: command.ReadOnly,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"read", "hash", "slow"}, Group: "hash",
		Summary: "Get all the fields and values in a hash", Since: "2.0.0",
		Complexity: "O(N) where N is the size of the hash.",
		Run:        hgetall,
	},
	{
		Name: "hincrby", Arity: 4, Flags: command.Write | command.DenyOOM | command.Fast,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"write", "hash", "fast"}, Group: "hash",
		Summary: "Increment the integer value of a hash field by the given number", Since: "2.0.0",
		Complexity: "O(1)",
		Run:        hincrby,
	},
	{
		Name: "hincrbyfloat", Arity: 4, Flags: command.Write | command.DenyOOM | command.Fast,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"write", "hash", "fast"}, Group: "hash",
		Summary: "Increment the float value of a hash field by the given amount", Since: "2.6.0",
		Complexity: "O(1)",
		Run:        hincrbyfloat,
	},
	{
		Name: "hrandfield", Arity: -2, Flags: command.ReadOnly,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"read", "hash", "slow"}, Group: "hash",
		Summary: "Get one or multiple random fields from a hash", Since: "6.2.0",
		Complexity: "O(N) where N is the number of fields returned",
		Run:        hrandfield,
	},
	{
		Name: "hscan", Arity: -3, Flags: command.ReadOnly,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"read", "hash", "slow"}, Group: "hash",
		Summary: "Incrementally iterate hash fields and associated values", Since: "2.8.0",
		Complexity: "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection..",
		Run:        hscan,
	},
}
