// Package keys implements Redis 7.0's generic key commands: DEL, UNLINK,
// EXISTS, TYPE, RENAME, RENAMENX, COPY, the EXPIRE family and its readers
// (TTL, PTTL, EXPIRETIME, PEXPIRETIME, PERSIST), KEYS, SCAN, RANDOMKEY,
// TOUCH, OBJECT, DUMP and RESTORE, plus the keyspace-wide server commands
// DBSIZE, FLUSHDB and FLUSHALL.
//
// Write handlers run at Raft apply time on every replica: relative expiry
// times resolve against Ctx.Now (the leader's entry time) and a command
// that fails changes nothing. DUMP and RESTORE speak Redis's RDB format
// (package rdb), so payloads move between Cairn and Redis both ways.
package keys

import "github.com/cairndb/cairn/server/command"

// Specs is the generic key family's command table.
var Specs = []*command.Spec{
	{
		Name: "copy", Arity: -3, Flags: command.Write | command.DenyOOM,
		FirstKey: 1, LastKey: 2, Step: 1, ACL: []string{"keyspace", "write", "slow"}, Group: "generic",
		Summary: "Copy a key", Since: "6.2.0",
		Complexity: "O(N) worst case for collections, where N is the number of nested items. O(1) for string values.",
		Run:        copyCmd,
	},
	{
		Name: "dbsize", Arity: 1, Flags: command.ReadOnly | command.Fast,
		ACL: []string{"keyspace", "read", "fast"}, Group: "server",
		Summary: "Return the number of keys in the selected database", Since: "1.0.0",
		Complexity: "O(1)",
		Run:        dbsize,
	},
	{
		Name: "del", Arity: -2, Flags: command.Write,
		FirstKey: 1, LastKey: -1, Step: 1, ACL: []string{"keyspace", "write", "slow"}, Group: "generic",
		Summary: "Delete a key", Since: "1.0.0",
		Complexity: "O(N) where N is the number of keys that will be removed. When a key to remove holds a value other than a string, the individual complexity for this key is O(M) where M is the number of elements in the list, set, sorted set or hash. Removing a single key that holds a string value is O(1).",
		Run:        del,
	},
	{
		Name: "dump", Arity: 2, Flags: command.ReadOnly,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"keyspace", "read", "slow"}, Group: "generic",
		Summary: "Return a serialized version of the value stored at the specified key.", Since: "2.6.0",
		Complexity: "O(1) to access the key and additional O(N*M) to serialize it, where N is the number of Redis objects composing the value and M their average size. For small string values the time complexity is thus O(1)+O(1*M) where M is small, so simply O(1).",
		Run:        dump,
	},
	{
		Name: "exists", Arity: -2, Flags: command.ReadOnly | command.Fast,
		FirstKey: 1, LastKey: -1, Step: 1, ACL: []string{"keyspace", "read", "fast"}, Group: "generic",
		Summary: "Determine if a key exists", Since: "1.0.0",
		Complexity: "O(N) where N is the number of keys to check.",
		Run:        exists,
	},
	{
		Name: "expire", Arity: -3, Flags: command.Write | command.Fast,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"keyspace", "write", "fast"}, Group: "generic",
		Summary: "Set a key's time to live in seconds", Since: "1.0.0",
		Complexity: "O(1)",
		Run:        expire,
	},
	{
		Name: "expireat", Arity: -3, Flags: command.Write | command.Fast,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"keyspace", "write", "fast"}, Group: "generic",
		Summary: "Set the expiration for a key as a UNIX timestamp", Since: "1.2.0",
		Complexity: "O(1)",
		Run:        expireat,
	},
	{
		Name: "expiretime", Arity: 2, Flags: command.ReadOnly | command.Fast,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"keyspace", "read", "fast"}, Group: "generic",
		Summary: "Get the expiration Unix timestamp for a key", Since: "7.0.0",
		Complexity: "O(1)",
		Run:        expiretime,
	},
	{
		Name: "flushall", Arity: -1, Flags: command.Write,
		ACL: []string{"keyspace", "write", "slow", "dangerous"}, Group: "server",
		Summary: "Remove all keys from all databases", Since: "1.0.0",
		Complexity: "O(N) where N is the total number of keys in all databases",
		Run:        flushall,
	},
	{
		Name: "flushdb", Arity: -1, Flags: command.Write,
		ACL: []string{"keyspace", "write", "slow", "dangerous"}, Group: "server",
		Summary: "Remove all keys from the current database", Since: "1.0.0",
		Complexity: "O(N) where N is the number of keys in the selected database",
		Run:        flushdb,
	},
	{
		Name: "keys", Arity: 2, Flags: command.ReadOnly,
		ACL: []string{"keyspace", "read", "slow", "dangerous"}, Group: "generic",
		Summary: "Find all keys matching the given pattern", Since: "1.0.0",
		Complexity: "O(N) with N being the number of keys in the database, under the assumption that the key names in the database and the given pattern have limited length.",
		Run:        keysCmd,
	},
	{
		Name: "object", Arity: -2,
		ACL: []string{"slow"}, Group: "generic",
		Summary: "A container for object introspection commands", Since: "2.2.3",
		Complexity: "Depends on subcommand.",
		Sub: []*command.Spec{
			{
				Name: "object|encoding", Arity: 3, Flags: command.ReadOnly,
				FirstKey: 2, LastKey: 2, Step: 1, ACL: []string{"keyspace", "read", "slow"}, Group: "generic",
				Summary: "Inspect the internal encoding of a Redis object", Since: "2.2.3",
				Complexity: "O(1)",
				Run:        objectEncoding,
			},
			{
				Name: "object|freq", Arity: 3, Flags: command.ReadOnly,
				FirstKey: 2, LastKey: 2, Step: 1, ACL: []string{"keyspace", "read", "slow"}, Group: "generic",
				Summary: "Get the logarithmic access frequency counter of a Redis object", Since: "4.0.0",
				Complexity: "O(1)",
				Run:        objectFreq,
			},
			{
				Name: "object|help", Arity: 2, Flags: command.Loading | command.Stale,
				ACL: []string{"keyspace", "slow"}, Group: "generic",
				Summary: "Show helpful text about the different subcommands", Since: "6.2.0",
				Complexity: "O(1)",
				Run:        objectHelp,
			},
			{
				Name: "object|idletime", Arity: 3, Flags: command.ReadOnly,
				FirstKey: 2, LastKey: 2, Step: 1, ACL: []string{"keyspace", "read", "slow"}, Group: "generic",
				Summary: "Get the time since a Redis object was last accessed", Since: "2.2.3",
				Complexity: "O(1)",
				Run:        objectIdletime,
			},
			{
				Name: "object|refcount", Arity: 3, Flags: command.ReadOnly,
				FirstKey: 2, LastKey: 2, Step: 1, ACL: []string{"keyspace", "read", "slow"}, Group: "generic",
				Summary: "Get the number of references to the value of the key", Since: "2.2.3",
				Complexity: "O(1)",
				Run:        objectRefcount,
			},
		},
	},
	{
		Name: "persist", Arity: 2, Flags: command.Write | command.Fast,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"keyspace", "write", "fast"}, Group: "generic",
		Summary: "Remove the expiration from a key", Since: "2.2.0",
		Complexity: "O(1)",
		Run:        persist,
	},
	{
		Name: "pexpire", Arity: -3, Flags: command.Write | command.Fast,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"keyspace", "write", "fast"}, Group: "generic",
		Summary: "Set a key's time to live in milliseconds", Since: "2.6.0",
		Complexity: "O(1)",
		Run:        pexpire,
	},
	{
		Name: "pexpireat", Arity: -3, Flags: command.Write | command.Fast,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"keyspace", "write", "fast"}, Group: "generic",
		Summary: "Set the expiration for a key as a UNIX timestamp specified in milliseconds", Since: "2.6.0",
		Complexity: "O(1)",
		Run:        pexpireat,
	},
	{
		Name: "pexpiretime", Arity: 2, Flags: command.ReadOnly | command.Fast,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"keyspace", "read", "fast"}, Group: "generic",
		Summary: "Get the expiration Unix timestamp for a key in milliseconds", Since: "7.0.0",
		Complexity: "O(1)",
		Run:        pexpiretime,
	},
	{
		Name: "pttl", Arity: 2, Flags: command.ReadOnly | command.Fast,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"keyspace", "read", "fast"}, Group: "generic",
		Summary: "Get the time to live for a key in milliseconds", Since: "2.6.0",
		Complexity: "O(1)",
		Run:        pttl,
	},
	{
		Name: "randomkey", Arity: 1, Flags: command.ReadOnly,
		ACL: []string{"keyspace", "read", "slow"}, Group: "generic",
		Summary: "Return a random key from the keyspace", Since: "1.0.0",
		Complexity: "O(1)",
		Run:        randomkey,
	},
	{
		Name: "rename", Arity: 3, Flags: command.Write,
		FirstKey: 1, LastKey: 2, Step: 1, ACL: []string{"keyspace", "write", "slow"}, Group: "generic",
		Summary: "Rename a key", Since: "1.0.0",
		Complexity: "O(1)",
		Run:        rename,
	},
	{
		Name: "renamenx", Arity: 3, Flags: command.Write | command.Fast,
		FirstKey: 1, LastKey: 2, Step: 1, ACL: []string{"keyspace", "write", "fast"}, Group: "generic",
		Summary: "Rename a key, only if the new key does not exist", Since: "1.0.0",
		Complexity: "O(1)",
		Run:        renamenx,
	},
	{
		Name: "restore", Arity: -4, Flags: command.Write | command.DenyOOM,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"keyspace", "write", "slow", "dangerous"}, Group: "generic",
		Summary: "Create a key using the provided serialized value, previously obtained using DUMP.", Since: "2.6.0",
		Complexity: "O(1) to create the new key and additional O(N*M) to reconstruct the serialized value, where N is the number of Redis objects composing the value and M their average size. For small string values the time complexity is thus O(1)+O(1*M) where M is small, so simply O(1). However for sorted set values the complexity is O(N*M*log(N)) because inserting values into sorted sets is O(log(N)).",
		Run:        restore,
	},
	{
		Name: "scan", Arity: -2, Flags: command.ReadOnly,
		ACL: []string{"keyspace", "read", "slow"}, Group: "generic",
		Summary: "Incrementally iterate the keys space", Since: "2.8.0",
		Complexity: "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection.",
		Run:        scan,
	},
	{
		Name: "touch", Arity: -2, Flags: command.ReadOnly | command.Fast,
		FirstKey: 1, LastKey: -1, Step: 1, ACL: []string{"keyspace", "read", "fast"}, Group: "generic",
		Summary: "Alters the last access time of a key(s). Returns the number of existing keys specified.", Since: "3.2.1",
		Complexity: "O(N) where N is the number of keys that will be touched.",
		Run:        touch,
	},
	{
		Name: "ttl", Arity: 2, Flags: command.ReadOnly | command.Fast,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"keyspace", "read", "fast"}, Group: "generic",
		Summary: "Get the time to live for a key in seconds", Since: "1.0.0",
		Complexity: "O(1)",
		Run:        ttl,
	},
	{
		Name: "type", Arity: 2, Flags: command.ReadOnly | command.Fast,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"keyspace", "read", "fast"}, Group: "generic",
		Summary: "Determine the type stored at key", Since: "1.0.0",
		Complexity: "O(1)",
		Run:        typeCmd,
	},
	{
		Name: "unlink", Arity: -2, Flags: command.Write | command.Fast,
		FirstKey: 1, LastKey: -1, Step: 1, ACL: []string{"keyspace", "write", "fast"}, Group: "generic",
		Summary: "Delete a key asynchronously in another thread. Otherwise it is just as DEL, but non blocking.", Since: "4.0.0",
		Complexity: "O(1) for each key removed regardless of its size. Then the command does O(N) work in a different thread in order to reclaim memory, where N is the number of allocations the deleted objects where composed of.",
		Run:        unlink,
	},
}
