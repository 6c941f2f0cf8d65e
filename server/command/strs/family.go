// Package strs implements Redis's string commands: SET and its variants
// (SETNX, SETEX, PSETEX, GETSET, GETEX, GETDEL), the multi-key MGET, MSET
// and MSETNX, the counters INCR, DECR, INCRBY, DECRBY and INCRBYFLOAT, and
// APPEND, STRLEN, SETRANGE, GETRANGE, SUBSTR and LCS.
//
// Write handlers run at apply time on every replica: relative TTLs are
// resolved against Ctx.Now, the leader time stored in the log entry, so a
// replay never extends a TTL.
//
// Read handlers return replies that alias the stored bytes and the session
// layer serializes them after the keyspace read lock is released. The
// writers in this package therefore never overwrite bytes of a stored
// string in place: APPEND only writes past the current length and SETRANGE
// copies the string when it overwrites existing bytes.
package strs

import "github.com/cairndb/cairn/server/command"

// Specs is the string family's command table.
var Specs = []*command.Spec{
	{
		Name: "append", Arity: 3, Flags: command.Write | command.DenyOOM | command.Fast,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"write", "string", "fast"},
		Group: "string", Summary: "Append a value to a key", Since: "2.0.0",
		Complexity: "O(1). The amortized time complexity is O(1) assuming the appended value is small and the already present value is of any size, since the dynamic string library used by Redis will double the free space available on every reallocation.",
		Run:        appendCmd,
	},
	{
		Name: "decr", Arity: 2, Flags: command.Write | command.DenyOOM | command.Fast,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"write", "string", "fast"},
		Group: "string", Summary: "Decrement the integer value of a key by one", Since: "1.0.0",
		Complexity: "O(1)", Run: decrCmd,
	},
	{
		Name: "decrby", Arity: 3, Flags: command.Write | command.DenyOOM | command.Fast,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"write", "string", "fast"},
		Group: "string", Summary: "Decrement the integer value of a key by the given number", Since: "1.0.0",
		Complexity: "O(1)", Run: decrbyCmd,
	},
	{
		Name: "get", Arity: 2, Flags: command.ReadOnly | command.Fast,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"read", "string", "fast"},
		Group: "string", Summary: "Get the value of a key", Since: "1.0.0",
		Complexity: "O(1)", Run: getCmd,
	},
	{
		Name: "getdel", Arity: 2, Flags: command.Write | command.Fast,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"write", "string", "fast"},
		Group: "string", Summary: "Get the value of a key and delete the key", Since: "6.2.0",
		Complexity: "O(1)", Run: getdelCmd,
	},
	{
		Name: "getex", Arity: -2, Flags: command.Write | command.Fast,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"write", "string", "fast"},
		Group: "string", Summary: "Get the value of a key and optionally set its expiration", Since: "6.2.0",
		Complexity: "O(1)", Run: getexCmd,
	},
	{
		Name: "getrange", Arity: 4, Flags: command.ReadOnly,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"read", "string", "slow"},
		Group: "string", Summary: "Get a substring of the string stored at a key", Since: "2.4.0",
		Complexity: "O(N) where N is the length of the returned string. The complexity is ultimately determined by the returned length, but because creating a substring from an existing string is very cheap, it can be considered O(1) for small strings.",
		Run:        getrangeCmd,
	},
	{
		Name: "getset", Arity: 3, Flags: command.Write | command.DenyOOM | command.Fast,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"write", "string", "fast"},
		Group: "string", Summary: "Set the string value of a key and return its old value", Since: "1.0.0",
		Complexity: "O(1)", Run: getsetCmd,
	},
	{
		Name: "incr", Arity: 2, Flags: command.Write | command.DenyOOM | command.Fast,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"write", "string", "fast"},
		Group: "string", Summary: "Increment the integer value of a key by one", Since: "1.0.0",
		Complexity: "O(1)", Run: incrCmd,
	},
	{
		Name: "incrby", Arity: 3, Flags: command.Write | command.DenyOOM | command.Fast,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"write", "string", "fast"},
		Group: "string", Summary: "Increment the integer value of a key by the given amount", Since: "1.0.0",
		Complexity: "O(1)", Run: incrbyCmd,
	},
	{
		Name: "incrbyfloat", Arity: 3, Flags: command.Write | command.DenyOOM | command.Fast,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"write", "string", "fast"},
		Group: "string", Summary: "Increment the float value of a key by the given amount", Since: "2.6.0",
		Complexity: "O(1)", Run: incrbyfloatCmd,
	},
	{
		Name: "lcs", Arity: -3, Flags: command.ReadOnly,
		FirstKey: 1, LastKey: 2, Step: 1, ACL: []string{"read", "string", "slow"},
		Group: "string", Summary: "Find longest common substring", Since: "7.0.0",
		Complexity: "O(N*M) where N and M are the lengths of s1 and s2, respectively",
		Run:        lcsCmd,
	},
	{
		Name: "mget", Arity: -2, Flags: command.ReadOnly | command.Fast,
		FirstKey: 1, LastKey: -1, Step: 1, ACL: []string{"read", "string", "fast"},
		Group: "string", Summary: "Get the values of all the given keys", Since: "1.0.0",
		Complexity: "O(N) where N is the number of keys to retrieve.", Run: mgetCmd,
	},
	{
		Name: "mset", Arity: -3, Flags: command.Write | command.DenyOOM,
		FirstKey: 1, LastKey: -1, Step: 2, ACL: []string{"write", "string", "slow"},
		Group: "string", Summary: "Set multiple keys to multiple values", Since: "1.0.1",
		Complexity: "O(N) where N is the number of keys to set.", Run: msetCmd,
	},
	{
		Name: "msetnx", Arity: -3, Flags: command.Write | command.DenyOOM,
		FirstKey: 1, LastKey: -1, Step: 2, ACL: []string{"write", "string", "slow"},
		Group: "string", Summary: "Set multiple keys to multiple values, only if none of the keys exist", Since: "1.0.1",
		Complexity: "O(N) where N is the number of keys to set.", Run: msetnxCmd,
	},
	{
		Name: "psetex", Arity: 4, Flags: command.Write | command.DenyOOM,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"write", "string", "slow"},
		Group: "string", Summary: "Set the value and expiration in milliseconds of a key", Since: "2.6.0",
		Complexity: "O(1)", Run: psetexCmd,
	},
	{
		Name: "set", Arity: -3, Flags: command.Write | command.DenyOOM,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"write", "string", "slow"},
		Group: "string", Summary: "Set the string value of a key", Since: "1.0.0",
		Complexity: "O(1)", Run: setCmd,
	},
	{
		Name: "setex", Arity: 4, Flags: command.Write | command.DenyOOM,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"write", "string", "slow"},
		Group: "string", Summary: "Set the value and expiration of a key", Since: "2.0.0",
		Complexity: "O(1)", Run: setexCmd,
	},
	{
		Name: "setnx", Arity: 3, Flags: command.Write | command.DenyOOM | command.Fast,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"write", "string", "fast"},
		Group: "string", Summary: "Set the value of a key, only if the key does not exist", Since: "1.0.0",
		Complexity: "O(1)", Run: setnxCmd,
	},
	{
		Name: "setrange", Arity: 4, Flags: command.Write | command.DenyOOM,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"write", "string", "slow"},
		Group: "string", Summary: "Overwrite part of a string at key starting at the specified offset", Since: "2.2.0",
		Complexity: "O(1), not counting the time taken to copy the new string in place. Usually, this string is very small so the amortized complexity is O(1). Otherwise, complexity is O(M) with M being the length of the value argument.",
		Run:        setrangeCmd,
	},
	{
		Name: "strlen", Arity: 2, Flags: command.ReadOnly | command.Fast,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"read", "string", "fast"},
		Group: "string", Summary: "Get the length of the value stored in a key", Since: "2.2.0",
		Complexity: "O(1)", Run: strlenCmd,
	},
	{
		Name: "substr", Arity: 4, Flags: command.ReadOnly,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"read", "string", "slow"},
		Group: "string", Summary: "Get a substring of the string stored at a key", Since: "1.0.0",
		Complexity: "O(N) where N is the length of the returned string. The complexity is ultimately determined by the returned length, but because creating a substring from an existing string is very cheap, it can be considered O(1) for small strings.",
		Run:        getrangeCmd,
	},
}
