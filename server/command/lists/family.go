// Package lists implements the Redis 7.0 list commands: LPUSH, RPUSH,
// LPUSHX, RPUSHX, LINSERT, LLEN, LINDEX, LSET, LPOP, RPOP, LRANGE, LTRIM,
// LPOS, LREM, LMOVE, RPOPLPUSH, LMPOP and the blocking BLPOP, BRPOP,
// BLMOVE, BRPOPLPUSH and BLMPOP.
//
// Values are keyspace.List objects, encoded as Redis 7.2 encodes lists: a
// listpack up to 8 KB, a quicklist of 8 KB nodes beyond. Write handlers
// run at Raft apply time and are deterministic; a command that fails
// changes nothing, and a list whose last element is removed is deleted.
//
// Blocking commands do their non-blocking work; when every key is empty
// they return command.Blocked (or, with Ctx.NoBlock, their timeout reply)
// and the connection layer parks the client (see Spec.Block).
package lists

import (
	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/reply"
)

// Specs is the list family's command table.
var Specs = []*command.Spec{
	{
		Name: "lpush", Arity: -3, Flags: command.Write | command.DenyOOM | command.Fast,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"write", "list", "fast"}, Group: "list",
		Summary: "Prepend one or multiple elements to a list", Since: "1.0.0",
		Complexity: "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.",
		Run:        lpush,
	},
	{
		Name: "rpush", Arity: -3, Flags: command.Write | command.DenyOOM | command.Fast,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"write", "list", "fast"}, Group: "list",
		Summary: "Append one or multiple elements to a list", Since: "1.0.0",
		Complexity: "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.",
		Run:        rpush,
	},
	{
		Name: "lpushx", Arity: -3, Flags: command.Write | command.DenyOOM | command.Fast,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"write", "list", "fast"}, Group: "list",
		Summary: "Prepend an element to a list, only if the list exists", Since: "2.2.0",
		Complexity: "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.",
		Run:        lpushx,
	},
	{
		Name: "rpushx", Arity: -3, Flags: command.Write | command.DenyOOM | command.Fast,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"write", "list", "fast"}, Group: "list",
		Summary: "Append an element to a list, only if the list exists", Since: "2.2.0",
		Complexity: "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.",
		Run:        rpushx,
	},
	{
		Name: "linsert", Arity: 5, Flags: command.Write | command.DenyOOM,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"write", "list", "slow"}, Group: "list",
		Summary: "Insert an element before or after another element in a list", Since: "2.2.0",
		Complexity: "O(N) where N is the number of elements to traverse before seeing the value pivot. This means that inserting somewhere on the left end on the list (head) can be considered O(1) and inserting somewhere on the right end (tail) is O(N).",
		Run:        linsert,
	},
	{
		Name: "llen", Arity: 2, Flags: command.ReadOnly | command.Fast,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"read", "list", "fast"}, Group: "list",
		Summary: "Get the length of a list", Since: "1.0.0",
		Complexity: "O(1)",
		Run:        llen,
	},
	{
		Name: "lindex", Arity: 3, Flags: command.ReadOnly,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"read", "list", "slow"}, Group: "list",
		Summary: "Get an element from a list by its index", Since: "1.0.0",
		Complexity: "O(N) where N is the number of elements to traverse to get to the element at index. This makes asking for the first or the last element of the list O(1).",
		Run:        lindex,
	},
	{
		Name: "lset", Arity: 4, Flags: command.Write | command.DenyOOM,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"write", "list", "slow"}, Group: "list",
		Summary: "Set the value of an element in a list by its index", Since: "1.0.0",
		Complexity: "O(N) where N is the length of the list. Setting either the first or the last element of the list is O(1).",
		Run:        lset,
	},
	{
		Name: "lpop", Arity: -2, Flags: command.Write | command.Fast,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"write", "list", "fast"}, Group: "list",
		Summary: "Remove and get the first elements in a list", Since: "1.0.0",
		Complexity: "O(N) where N is the number of elements returned",
		Run:        lpop,
	},
	{
		Name: "rpop", Arity: -2, Flags: command.Write | command.Fast,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"write", "list", "fast"}, Group: "list",
		Summary: "Remove and get the last elements in a list", Since: "1.0.0",
		Complexity: "O(N) where N is the number of elements returned",
		Run:        rpop,
	},
	{
		Name: "lrange", Arity: 4, Flags: command.ReadOnly,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"read", "list", "slow"}, Group: "list",
		Summary: "Get a range of elements from a list", Since: "1.0.0",
		Complexity: "O(S+N) where S is the distance of start offset from HEAD for small lists, from nearest end (HEAD or TAIL) for large lists; and N is the number of elements in the specified range.",
		Run:        lrange,
	},
	{
		Name: "ltrim", Arity: 4, Flags: command.Write,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"write", "list", "slow"}, Group: "list",
		Summary: "Trim a list to the specified range", Since: "1.0.0",
		Complexity: "O(N) where N is the number of elements to be removed by the operation.",
		Run:        ltrim,
	},
	{
		Name: "lpos", Arity: -3, Flags: command.ReadOnly,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"read", "list", "slow"}, Group: "list",
		Summary: "Return the index of matching elements on a list", Since: "6.0.6",
		Complexity: "O(N) where N is the number of elements in the list, for the average case. When searching for elements near the head or the tail of the list, or when the MAXLEN option is provided, the command may run in constant time.",
		Run:        lpos,
	},
	{
		Name: "lrem", Arity: 4, Flags: command.Write,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"write", "list", "slow"}, Group: "list",
		Summary: "Remove elements from a list", Since: "1.0.0",
		Complexity: "O(N+M) where N is the length of the list and M is the number of elements removed.",
		Run:        lrem,
	},
	{
		Name: "lmove", Arity: 5, Flags: command.Write | command.DenyOOM,
		FirstKey: 1, LastKey: 2, Step: 1, ACL: []string{"write", "list", "slow"}, Group: "list",
		Summary: "Pop an element from a list, push it to another list and return it", Since: "6.2.0",
		Complexity: "O(1)",
		Run:        lmove,
	},
	{
		Name: "rpoplpush", Arity: 3, Flags: command.Write | command.DenyOOM,
		FirstKey: 1, LastKey: 2, Step: 1, ACL: []string{"write", "list", "slow"}, Group: "list",
		Summary: "Remove the last element in a list, prepend it to another list and return it", Since: "1.2.0",
		Complexity: "O(1)",
		Run:        rpoplpush,
	},
	{
		Name: "lmpop", Arity: -4, Flags: command.Write,
		KeysFunc: mpopKeys(1), ACL: []string{"write", "list", "slow"}, Group: "list",
		Summary: "Pop elements from a list", Since: "7.0.0",
		Complexity: "O(N+M) where N is the number of provided keys and M is the number of elements returned.",
		Run:        lmpop,
	},
	{
		Name: "blpop", Arity: -3, Flags: command.Write | command.NoScript | command.Blocking,
		FirstKey: 1, LastKey: -2, Step: 1, ACL: []string{"write", "list", "slow", "blocking"}, Group: "list",
		Summary: "Remove and get the first element in a list, or block until one is available", Since: "2.0.0",
		Complexity: "O(N) where N is the number of provided keys.",
		Run:        blpop,
		Block:      &command.BlockSpec{Timeout: blockTimeout(-1), TimeoutReply: reply.NilArray},
	},
	{
		Name: "brpop", Arity: -3, Flags: command.Write | command.NoScript | command.Blocking,
		FirstKey: 1, LastKey: -2, Step: 1, ACL: []string{"write", "list", "slow", "blocking"}, Group: "list",
		Summary: "Remove and get the last element in a list, or block until one is available", Since: "2.0.0",
		Complexity: "O(N) where N is the number of provided keys.",
		Run:        brpop,
		Block:      &command.BlockSpec{Timeout: blockTimeout(-1), TimeoutReply: reply.NilArray},
	},
	{
		Name: "blmove", Arity: 6, Flags: command.Write | command.DenyOOM | command.NoScript | command.Blocking,
		FirstKey: 1, LastKey: 2, Step: 1, ACL: []string{"write", "list", "slow", "blocking"}, Group: "list",
		Summary: "Pop an element from a list, push it to another list and return it; or block until one is available", Since: "6.2.0",
		Complexity: "O(1)",
		Run:        blmove,
		Block:      &command.BlockSpec{Timeout: blockTimeout(5), TimeoutReply: reply.Nil},
	},
	{
		Name: "brpoplpush", Arity: 4, Flags: command.Write | command.DenyOOM | command.NoScript | command.Blocking,
		FirstKey: 1, LastKey: 2, Step: 1, ACL: []string{"write", "list", "slow", "blocking"}, Group: "list",
		Summary: "Pop an element from a list, push it to another list and return it; or block until one is available", Since: "2.2.0",
		Complexity: "O(1)",
		Run:        brpoplpush,
		Block:      &command.BlockSpec{Timeout: blockTimeout(3), TimeoutReply: reply.Nil},
	},
	{
		Name: "blmpop", Arity: -5, Flags: command.Write | command.Blocking,
		KeysFunc: mpopKeys(2), ACL: []string{"write", "list", "slow", "blocking"}, Group: "list",
		Summary: "Pop elements from a list, or block until one is available", Since: "7.0.0",
		Complexity: "O(N+M) where N is the number of provided keys and M is the number of elements returned.",
		Run:        blmpop,
		Block:      &command.BlockSpec{Timeout: blockTimeout(1), TimeoutReply: reply.NilArray},
	},
}
