// Package streams implements the Redis 7.0 stream commands: XADD, XRANGE,
// XREVRANGE, XLEN, XDEL, XTRIM, XREAD, XREADGROUP, XGROUP (CREATE, SETID,
// DESTROY, CREATECONSUMER, DELCONSUMER, HELP), XACK, XPENDING, XCLAIM,
// XAUTOCLAIM, XINFO (STREAM, GROUPS, CONSUMERS, HELP) and XSETID.
//
// Values are keyspace.Stream objects, stored as Redis stores them (nodes
// of up to 100 entries or 4096 bytes, each a listpack), so approximate
// trimming, XINFO's node counts and DUMP payloads match Redis's. Write
// handlers run at Raft apply time and are deterministic: generated IDs and
// delivery times come from the entry's time (c.Now). XREADGROUP is a write
// (it changes the pending lists); XREAD is a read. Both may block.
package streams

import (
	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/reply"
)

// readBlock is the blocking spec of XREAD and XREADGROUP: BLOCK's
// milliseconds, a null array on timeout.
var readBlock = &command.BlockSpec{Timeout: blockTimeout, TimeoutReply: reply.NilArray}

// Specs is the stream family's command table.
var Specs = []*command.Spec{
	{
		Name: "xack", Arity: -4, Flags: command.Write | command.Fast,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"write", "stream", "fast"}, Group: "stream",
		Summary: "Marks a pending message as correctly processed, effectively removing it from the pending entries list of the consumer group. Return value of the command is the number of messages successfully acknowledged, that is, the IDs we were actually able to resolve in the PEL.", Since: "5.0.0",
		Complexity: "O(1) for each message ID processed.",
		Run:        xack,
	},
	{
		Name: "xadd", Arity: -5, Flags: command.Write | command.DenyOOM | command.Fast,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"write", "stream", "fast"}, Group: "stream",
		Summary: "Appends a new entry to a stream", Since: "5.0.0",
		Complexity: "O(1) when adding a new entry, O(N) when trimming where N being the number of entries evicted.",
		Run:        xadd,
	},
	{
		Name: "xautoclaim", Arity: -6, Flags: command.Write | command.Fast,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"write", "stream", "fast"}, Group: "stream",
		Summary: "Changes (or acquires) ownership of messages in a consumer group, as if the messages were delivered to the specified consumer.", Since: "6.2.0",
		Complexity: "O(1) if COUNT is small.",
		Run:        xautoclaim,
	},
	{
		Name: "xclaim", Arity: -6, Flags: command.Write | command.Fast,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"write", "stream", "fast"}, Group: "stream",
		Summary: "Changes (or acquires) ownership of a message in a consumer group, as if the message was delivered to the specified consumer.", Since: "5.0.0",
		Complexity: "O(log N) with N being the number of messages in the PEL of the consumer group.",
		Run:        xclaim,
	},
	{
		Name: "xdel", Arity: -3, Flags: command.Write | command.Fast,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"write", "stream", "fast"}, Group: "stream",
		Summary: "Removes the specified entries from the stream. Returns the number of items actually deleted, that may be different from the number of IDs passed in case certain IDs do not exist.", Since: "5.0.0",
		Complexity: "O(1) for each single item to delete in the stream, regardless of the stream size.",
		Run:        xdel,
	},
	{
		Name: "xgroup", Arity: -2,
		ACL: []string{"slow"}, Group: "stream",
		Summary: "A container for consumer groups commands", Since: "5.0.0",
		Complexity: "Depends on subcommand.",
		Sub: []*command.Spec{
			{
				Name: "xgroup|create", Arity: -5, Flags: command.Write | command.DenyOOM,
				FirstKey: 2, LastKey: 2, Step: 1, ACL: []string{"write", "stream", "slow"}, Group: "stream",
				Summary: "Create a consumer group.", Since: "5.0.0",
				Complexity: "O(1)",
				Run:        xgroup,
			},
			{
				Name: "xgroup|createconsumer", Arity: 5, Flags: command.Write | command.DenyOOM,
				FirstKey: 2, LastKey: 2, Step: 1, ACL: []string{"write", "stream", "slow"}, Group: "stream",
				Summary: "Create a consumer in a consumer group.", Since: "6.2.0",
				Complexity: "O(1)",
				Run:        xgroup,
			},
			{
				Name: "xgroup|delconsumer", Arity: 5, Flags: command.Write,
				FirstKey: 2, LastKey: 2, Step: 1, ACL: []string{"write", "stream", "slow"}, Group: "stream",
				Summary: "Delete a consumer from a consumer group.", Since: "5.0.0",
				Complexity: "O(1)",
				Run:        xgroup,
			},
			{
				Name: "xgroup|destroy", Arity: 4, Flags: command.Write,
				FirstKey: 2, LastKey: 2, Step: 1, ACL: []string{"write", "stream", "slow"}, Group: "stream",
				Summary: "Destroy a consumer group.", Since: "5.0.0",
				Complexity: "O(N) where N is the number of entries in the group's pending entries list (PEL).",
				Run:        xgroup,
			},
			{
				Name: "xgroup|help", Arity: 2, Flags: command.Loading | command.Stale,
				ACL: []string{"stream", "slow"}, Group: "stream",
				Summary: "Show helpful text about the different subcommands", Since: "5.0.0",
				Complexity: "O(1)",
				Run:        xgroupHelp,
			},
			{
				Name: "xgroup|setid", Arity: -5, Flags: command.Write,
				FirstKey: 2, LastKey: 2, Step: 1, ACL: []string{"write", "stream", "slow"}, Group: "stream",
				Summary: "Set a consumer group to an arbitrary last delivered ID value.", Since: "5.0.0",
				Complexity: "O(1)",
				Run:        xgroup,
			},
		},
	},
	{
		Name: "xinfo", Arity: -2,
		ACL: []string{"slow"}, Group: "stream",
		Summary: "A container for stream introspection commands", Since: "5.0.0",
		Complexity: "Depends on subcommand.",
		Sub: []*command.Spec{
			{
				Name: "xinfo|consumers", Arity: 4, Flags: command.ReadOnly,
				FirstKey: 2, LastKey: 2, Step: 1, ACL: []string{"read", "stream", "slow"}, Group: "stream",
				Summary: "List the consumers in a consumer group", Since: "5.0.0",
				Complexity: "O(1)",
				Run:        xinfoConsumers,
			},
			{
				Name: "xinfo|groups", Arity: 3, Flags: command.ReadOnly,
				FirstKey: 2, LastKey: 2, Step: 1, ACL: []string{"read", "stream", "slow"}, Group: "stream",
				Summary: "List the consumer groups of a stream", Since: "5.0.0",
				Complexity: "O(1)",
				Run:        xinfoGroups,
			},
			{
				Name: "xinfo|help", Arity: 2, Flags: command.Loading | command.Stale,
				ACL: []string{"stream", "slow"}, Group: "stream",
				Summary: "Show helpful text about the different subcommands", Since: "5.0.0",
				Complexity: "O(1)",
				Run:        xinfoHelp,
			},
			{
				Name: "xinfo|stream", Arity: -3, Flags: command.ReadOnly,
				FirstKey: 2, LastKey: 2, Step: 1, ACL: []string{"read", "stream", "slow"}, Group: "stream",
				Summary: "Get information about a stream", Since: "5.0.0",
				Complexity: "O(1)",
				Run:        xinfoStream,
			},
		},
	},
	{
		Name: "xlen", Arity: 2, Flags: command.ReadOnly | command.Fast,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"read", "stream", "fast"}, Group: "stream",
		Summary: "Return the number of entries in a stream", Since: "5.0.0",
		Complexity: "O(1)",
		Run:        xlen,
	},
	{
		Name: "xpending", Arity: -3, Flags: command.ReadOnly,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"read", "stream", "slow"}, Group: "stream",
		Summary: "Return information and entries from a stream consumer group pending entries list, that are messages fetched but never acknowledged.", Since: "5.0.0",
		Complexity: "O(N) with N being the number of elements returned, so asking for a small fixed number of entries per call is O(1). O(M), where M is the total number of entries scanned when used with the IDLE filter. When the command returns just the summary and the list of consumers is small, it runs in O(1) time; otherwise, an additional O(N) time for iterating every consumer.",
		Run:        xpending,
	},
	{
		Name: "xrange", Arity: -4, Flags: command.ReadOnly,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"read", "stream", "slow"}, Group: "stream",
		Summary: "Return a range of elements in a stream, with IDs matching the specified IDs interval", Since: "5.0.0",
		Complexity: "O(N) with N being the number of elements being returned. If N is constant (e.g. always asking for the first 10 elements with COUNT), you can consider it O(1).",
		Run:        xrange,
	},
	{
		Name: "xread", Arity: -4, Flags: command.ReadOnly | command.Blocking,
		KeysFunc: xreadKeys(1), ACL: []string{"read", "stream", "slow", "blocking"}, Group: "stream",
		Summary: "Return never seen elements in multiple streams, with IDs greater than the ones reported by the caller for each stream. Can block.", Since: "5.0.0",
		Complexity: "For each stream mentioned: O(N) with N being the number of elements being returned, it means that XREAD-ing with a fixed COUNT is O(1). Note that when the BLOCK option is used, XADD will pay O(M) time in order to serve the M clients blocked on the stream getting new data.",
		Run:        xread,
		Block:      readBlock,
	},
	{
		Name: "xreadgroup", Arity: -7, Flags: command.Write | command.Blocking,
		KeysFunc: xreadKeys(4), ACL: []string{"write", "stream", "slow", "blocking"}, Group: "stream",
		Summary: "Return new entries from a stream using a consumer group, or access the history of the pending entries for a given consumer. Can block.", Since: "5.0.0",
		Complexity: "For each stream mentioned: O(M) with M being the number of elements returned. If M is constant (e.g. always asking for the first 10 elements with COUNT), you can consider it O(1). On the other side when XREADGROUP blocks, XADD will pay the O(N) time in order to serve the N clients blocked on the stream getting new data.",
		Run:        xreadgroup,
		Block:      readBlock,
	},
	{
		Name: "xrevrange", Arity: -4, Flags: command.ReadOnly,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"read", "stream", "slow"}, Group: "stream",
		Summary: "Return a range of elements in a stream, with IDs matching the specified IDs interval, in reverse order (from greater to smaller IDs) compared to XRANGE", Since: "5.0.0",
		Complexity: "O(N) with N being the number of elements returned. If N is constant (e.g. always asking for the first 10 elements with COUNT), you can consider it O(1).",
		Run:        xrange,
	},
	{
		Name: "xsetid", Arity: -3, Flags: command.Write | command.DenyOOM | command.Fast,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"write", "stream", "fast"}, Group: "stream",
		Summary: "An internal command for replicating stream values", Since: "5.0.0",
		Complexity: "O(1)",
		Run:        xsetid,
	},
	{
		Name: "xtrim", Arity: -4, Flags: command.Write,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"write", "stream", "slow"}, Group: "stream",
		Summary: "Trims the stream to (approximately if '~' is passed) a certain size", Since: "5.0.0",
		Complexity: "O(N), with N being the number of evicted entries. Constant times are very small however, since entries are organized in macro nodes containing multiple entries that can be released with a single deallocation.",
		Run:        xtrim,
	},
}
