package session

import (
	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/command/keys"
)

// Flags shared by connection and server commands.
const (
	connFast  = command.Conn | command.Fast
	connAdmin = command.Conn | command.Admin | command.NoScript
)

func sub(parent, name string, arity int, flags command.Flag, acl ...string) *command.Spec {
	return &command.Spec{Name: parent + "|" + name, Arity: arity, Flags: flags | command.Conn, ACL: acl, Group: "connection"}
}

// Specs are the commands the connection layer runs itself.
var Specs = []*command.Spec{
	{Name: "ping", Arity: -1, Flags: connFast, ACL: []string{"fast", "connection"}, Group: "connection", Summary: "Returns the server's liveliness response.", Since: "1.0.0"},
	{Name: "echo", Arity: 2, Flags: connFast, ACL: []string{"fast", "connection"}, Group: "connection", Summary: "Returns the given string.", Since: "1.0.0"},
	{Name: "quit", Arity: -1, Flags: connFast | command.NoAuth | command.AllowBusy | command.Loading | command.Stale, ACL: []string{"fast", "connection"}, Group: "connection", Summary: "Closes the connection.", Since: "1.0.0"},
	{Name: "reset", Arity: 1, Flags: connFast | command.NoAuth | command.AllowBusy | command.Loading | command.Stale | command.NoScript, ACL: []string{"fast", "connection"}, Group: "connection", Summary: "Resets the connection.", Since: "6.2.0"},
	{Name: "select", Arity: 2, Flags: connFast | command.Loading | command.Stale, ACL: []string{"fast", "connection"}, Group: "connection", Summary: "Changes the selected database.", Since: "1.0.0"},
	{Name: "auth", Arity: -2, Flags: connFast | command.NoAuth | command.NoScript | command.Loading | command.Stale | command.AllowBusy, ACL: []string{"fast", "connection"}, Group: "connection", Summary: "Authenticates the connection.", Since: "1.0.0"},
	{Name: "hello", Arity: -1, Flags: connFast | command.NoAuth | command.NoScript | command.Loading | command.Stale | command.AllowBusy, ACL: []string{"fast", "connection"}, Group: "connection", Summary: "Handshakes with the Redis server.", Since: "6.0.0"},
	{Name: "client", Arity: -2, Flags: command.Conn, Group: "connection", Summary: "A container for client connection commands.", Since: "2.4.0", Sub: []*command.Spec{
		sub("client", "id", 2, command.NoScript|command.Loading|command.Stale, "slow", "connection"),
		sub("client", "setname", 3, command.NoScript|command.Loading|command.Stale, "slow", "connection"),
		sub("client", "getname", 2, command.NoScript|command.Loading|command.Stale, "slow", "connection"),
		sub("client", "list", -2, command.Admin|command.NoScript|command.Loading|command.Stale, "admin", "slow", "dangerous", "connection"),
		sub("client", "info", 2, command.NoScript|command.Loading|command.Stale, "slow", "connection"),
		sub("client", "kill", -3, command.Admin|command.NoScript|command.Loading|command.Stale, "admin", "slow", "dangerous", "connection"),
		sub("client", "setinfo", 4, command.NoScript|command.Loading|command.Stale, "slow", "connection"),
		sub("client", "no-evict", 3, command.Admin|command.NoScript|command.Loading|command.Stale, "admin", "slow", "dangerous", "connection"),
		sub("client", "reply", 3, command.NoScript|command.Loading|command.Stale, "slow", "connection"),
		sub("client", "help", 2, command.Loading|command.Stale, "slow", "connection"),
		sub("client", "tracking", -3, command.NoScript|command.Loading|command.Stale, "slow", "connection"),
		sub("client", "caching", 3, command.NoScript|command.Loading|command.Stale, "slow", "connection"),
		sub("client", "getredir", 2, command.NoScript|command.Loading|command.Stale, "slow", "connection"),
		sub("client", "trackinginfo", 2, command.NoScript|command.Loading|command.Stale, "slow", "connection"),
		sub("client", "unblock", -3, command.Admin|command.NoScript|command.Loading|command.Stale, "admin", "slow", "dangerous", "connection"),
	}},
	{Name: "command", Arity: -1, Flags: command.Conn | command.Loading | command.Stale, ACL: []string{"slow", "connection"}, Group: "server", Summary: "Returns detailed information about all commands.", Since: "2.8.13", Sub: []*command.Spec{
		sub("command", "count", 2, command.Loading|command.Stale, "slow", "connection"),
		sub("command", "info", -2, command.Loading|command.Stale, "slow", "connection"),
		sub("command", "docs", -2, command.Loading|command.Stale, "slow", "connection"),
		sub("command", "list", -2, command.Loading|command.Stale, "slow", "connection"),
		sub("command", "getkeys", -4, command.Loading|command.Stale, "slow", "connection"),
		sub("command", "getkeysandflags", -4, command.Loading|command.Stale, "slow", "connection"),
		sub("command", "help", 2, command.Loading|command.Stale, "slow", "connection"),
	}},
	{Name: "acl", Arity: -2, Flags: command.Conn, Group: "server", Summary: "A container for Access List Control commands.", Since: "6.0.0", Sub: []*command.Spec{
		sub("acl", "cat", -2, command.NoScript|command.Loading|command.Stale, "slow"),
		sub("acl", "deluser", -3, command.Admin|command.NoScript|command.Loading|command.Stale, "admin", "slow", "dangerous"),
		sub("acl", "dryrun", -4, command.Admin|command.NoScript|command.Loading|command.Stale, "admin", "slow", "dangerous"),
		sub("acl", "genpass", -2, command.NoScript|command.Loading|command.Stale, "slow"),
		sub("acl", "getuser", 3, command.Admin|command.NoScript|command.Loading|command.Stale, "admin", "slow", "dangerous"),
		sub("acl", "list", 2, command.Admin|command.NoScript|command.Loading|command.Stale, "admin", "slow", "dangerous"),
		sub("acl", "load", 2, command.Admin|command.NoScript|command.Loading|command.Stale, "admin", "slow", "dangerous"),
		sub("acl", "log", -2, command.Admin|command.NoScript|command.Loading|command.Stale, "admin", "slow", "dangerous"),
		sub("acl", "save", 2, command.Admin|command.NoScript|command.Loading|command.Stale, "admin", "slow", "dangerous"),
		sub("acl", "setuser", -3, command.Admin|command.NoScript|command.Loading|command.Stale, "admin", "slow", "dangerous"),
		sub("acl", "users", 2, command.Admin|command.NoScript|command.Loading|command.Stale, "admin", "slow", "dangerous"),
		sub("acl", "whoami", 2, command.NoScript|command.Loading|command.Stale, "slow"),
		sub("acl", "help", 2, command.Loading|command.Stale, "slow"),
	}},
	{Name: "info", Arity: -1, Flags: command.Conn | command.Loading | command.Stale, ACL: []string{"slow", "dangerous"}, Group: "server", Summary: "Returns information and statistics about the server.", Since: "1.0.0"},
	{Name: "config", Arity: -2, Flags: command.Conn, Group: "server", Summary: "A container for server configuration commands.", Since: "2.0.0", Sub: []*command.Spec{
		sub("config", "get", -3, command.Admin|command.NoScript|command.Loading|command.Stale, "admin", "slow", "dangerous"),
		sub("config", "set", -4, command.Admin|command.NoScript|command.Loading|command.Stale, "admin", "slow", "dangerous"),
		sub("config", "resetstat", 2, command.Admin|command.NoScript|command.Loading|command.Stale, "admin", "slow", "dangerous"),
		sub("config", "rewrite", 2, command.Admin|command.NoScript|command.Loading|command.Stale, "admin", "slow", "dangerous"),
		sub("config", "help", 2, command.Loading|command.Stale, "slow"),
	}},
	{Name: "time", Arity: 1, Flags: connFast | command.Loading | command.Stale, ACL: []string{"fast"}, Group: "server", Summary: "Returns the server time.", Since: "2.6.0"},
	{Name: "save", Arity: 1, Flags: connAdmin, ACL: []string{"admin", "slow", "dangerous"}, Group: "server", Summary: "Synchronously saves the database(s) to disk.", Since: "1.0.0"},
	{Name: "sync", Arity: 1, Flags: connAdmin | command.NoMulti, ACL: []string{"admin", "slow", "dangerous"}, Group: "server", Summary: "An internal command used in replication.", Since: "1.0.0"},
	{Name: "replconf", Arity: -1, Flags: connAdmin | command.Loading | command.Stale | command.AllowBusy, ACL: []string{"admin", "slow", "dangerous"}, Group: "server", Summary: "An internal command for configuring the replication stream.", Since: "3.0.0"},
	{Name: "bgsave", Arity: -1, Flags: connAdmin, ACL: []string{"admin", "slow", "dangerous"}, Group: "server", Summary: "Asynchronously saves the database(s) to disk.", Since: "1.0.0"},
	{Name: "lastsave", Arity: 1, Flags: command.Conn | command.Loading | command.Stale | command.Fast, ACL: []string{"admin", "fast", "dangerous"}, Group: "server", Summary: "Returns the Unix timestamp of the last successful save to disk.", Since: "1.0.0"},
	{Name: "readonly", Arity: 1, Flags: connFast | command.Loading | command.Stale, ACL: []string{"fast", "connection"}, Group: "cluster", Summary: "Enables read-only queries for a connection to a Redis Cluster replica node.", Since: "3.0.0"},
	{Name: "readwrite", Arity: 1, Flags: connFast | command.Loading | command.Stale, ACL: []string{"fast", "connection"}, Group: "cluster", Summary: "Enables read-write queries for a connection to a Reids Cluster replica node.", Since: "3.0.0"},
	{Name: "asking", Arity: 1, Flags: connFast, ACL: []string{"fast", "connection"}, Group: "cluster", Summary: "Signals that a cluster client is following an -ASK redirect.", Since: "3.0.0"},
	{Name: "cluster", Arity: -2, Flags: command.Conn, Group: "cluster", Summary: "A container for Redis Cluster commands.", Since: "3.0.0", Sub: clusterSubs()},
	{Name: "region", Arity: -2, Flags: command.Conn, Group: "cluster", Summary: "A container for Cairn multi-region commands.", Since: "7.0.15", Sub: []*command.Spec{
		sub("region", "info", 2, command.Loading|command.Stale, "slow"),
		sub("region", "promote", -2, command.Admin|command.NoScript|command.Loading|command.Stale, "admin", "slow", "dangerous"),
	}},
	{Name: "backup", Arity: -2, Flags: command.Conn, Group: "server", Summary: "A container for Cairn backup commands.", Since: "7.0.15", Sub: []*command.Spec{
		sub("backup", "create", -2, command.Admin|command.NoScript|command.NoMulti, "admin", "slow", "dangerous"),
		sub("backup", "list", 2, command.Admin|command.NoScript|command.Loading|command.Stale, "admin", "slow", "dangerous"),
		sub("backup", "info", 3, command.Admin|command.NoScript|command.Loading|command.Stale, "admin", "slow", "dangerous"),
		sub("backup", "delete", 3, command.Admin|command.NoScript|command.Loading|command.Stale, "admin", "slow", "dangerous"),
		sub("backup", "help", 2, command.Loading|command.Stale, "slow"),
	}},
	{Name: "slowlog", Arity: -2, Flags: command.Conn, Group: "server", Summary: "A container for slow log commands.", Since: "2.2.12", Sub: []*command.Spec{
		sub("slowlog", "get", -2, command.Admin|command.Loading|command.Stale, "admin", "slow", "dangerous"),
		sub("slowlog", "len", 2, command.Admin|command.Loading|command.Stale, "admin", "slow", "dangerous"),
		sub("slowlog", "reset", 2, command.Admin|command.Loading|command.Stale, "admin", "slow", "dangerous"),
		sub("slowlog", "help", 2, command.Loading|command.Stale, "slow"),
	}},
	{Name: "latency", Arity: -2, Flags: command.Conn, Group: "server", Summary: "A container for latency diagnostics commands.", Since: "2.8.13", Sub: []*command.Spec{
		sub("latency", "doctor", 2, command.Admin|command.NoScript|command.Loading|command.Stale, "admin", "slow", "dangerous"),
		sub("latency", "graph", 3, command.Admin|command.NoScript|command.Loading|command.Stale, "admin", "slow", "dangerous"),
		sub("latency", "history", 3, command.Admin|command.NoScript|command.Loading|command.Stale, "admin", "slow", "dangerous"),
		sub("latency", "latest", 2, command.Admin|command.NoScript|command.Loading|command.Stale, "admin", "slow", "dangerous"),
		sub("latency", "reset", -2, command.Admin|command.NoScript|command.Loading|command.Stale, "admin", "slow", "dangerous"),
		sub("latency", "histogram", -2, command.Admin|command.NoScript|command.Loading|command.Stale, "admin", "slow", "dangerous"),
		sub("latency", "help", 2, command.Loading|command.Stale, "slow"),
	}},
	{Name: "memory", Arity: -2, Flags: command.Conn, Group: "server", Summary: "A container for memory diagnostics commands.", Since: "4.0.0", Sub: []*command.Spec{
		sub("memory", "purge", 2, 0, "slow"),
		// USAGE reads a key: it is routed and run like any keyed read.
		{Name: "memory|usage", Arity: -3, Flags: command.ReadOnly, FirstKey: 2, LastKey: 2, Step: 1,
			ACL: []string{"read", "slow"}, Group: "server", Summary: "Estimates the memory usage of a key.", Since: "4.0.0",
			Complexity: "O(N) where N is the number of samples.", Run: keys.MemoryUsage},
		sub("memory", "help", 2, command.Loading|command.Stale, "slow"),
	}},
	{Name: "monitor", Arity: 1, Flags: connAdmin | command.Loading | command.Stale, ACL: []string{"admin", "slow", "dangerous"}, Group: "server", Summary: "Listens for all requests received by the server in real-time.", Since: "1.0.0"},
	{Name: "wait", Arity: 3, Flags: command.Conn | command.NoScript, ACL: []string{"slow", "connection"}, Group: "generic", Summary: "Blocks until the asynchronous replication of all preceding write commands sent by the connection is completed.", Since: "3.0.0"},
	{Name: "waitaof", Arity: 4, Flags: command.Conn | command.NoScript, ACL: []string{"slow", "connection"}, Group: "generic", Summary: "Blocks until all of the preceding write commands sent by the connection are written to the append-only file of the master and/or replicas.", Since: "7.2.0"},
	{Name: "subscribe", Arity: -2, Flags: command.Conn | command.PubSub | command.NoScript | command.Loading | command.Stale, ACL: []string{"pubsub", "slow"}, Group: "pubsub", Summary: "Listens for messages published to channels.", Since: "2.0.0"},
	{Name: "psubscribe", Arity: -2, Flags: command.Conn | command.PubSub | command.NoScript | command.Loading | command.Stale, ACL: []string{"pubsub", "slow"}, Group: "pubsub", Summary: "Listens for messages published to channels that match one or more patterns.", Since: "2.0.0"},
	{Name: "unsubscribe", Arity: -1, Flags: command.Conn | command.PubSub | command.NoScript | command.Loading | command.Stale, ACL: []string{"pubsub", "slow"}, Group: "pubsub", Summary: "Stops listening to messages posted to channels.", Since: "2.0.0"},
	{Name: "punsubscribe", Arity: -1, Flags: command.Conn | command.PubSub | command.NoScript | command.Loading | command.Stale, ACL: []string{"pubsub", "slow"}, Group: "pubsub", Summary: "Stops listening to messages published to channels that match one or more patterns.", Since: "2.0.0"},
	{Name: "ssubscribe", Arity: -2, Flags: command.Conn | command.PubSub | command.NoScript | command.Loading | command.Stale, FirstKey: 1, LastKey: -1, Step: 1, ACL: []string{"pubsub", "slow"}, Group: "pubsub", Summary: "Listens for messages published to shard channels.", Since: "7.0.0"},
	{Name: "sunsubscribe", Arity: -1, Flags: command.Conn | command.PubSub | command.NoScript | command.Loading | command.Stale, FirstKey: 1, LastKey: -1, Step: 1, ACL: []string{"pubsub", "slow"}, Group: "pubsub", Summary: "Stops listening to messages posted to shard channels.", Since: "7.0.0"},
	{Name: "publish", Arity: 3, Flags: command.Conn | command.PubSub | command.Loading | command.Stale | command.Fast | command.MayReplicate, ACL: []string{"pubsub", "fast"}, Group: "pubsub", Summary: "Posts a message to a channel.", Since: "2.0.0"},
	{Name: "spublish", Arity: 3, Flags: command.Conn | command.PubSub | command.Loading | command.Stale | command.Fast | command.MayReplicate, FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"pubsub", "fast"}, Group: "pubsub", Summary: "Post a message to a shard channel", Since: "7.0.0"},
	{Name: "pubsub", Arity: -2, Flags: command.Conn, Group: "pubsub", Summary: "A container for Pub/Sub commands.", Since: "2.8.0", Sub: []*command.Spec{
		sub("pubsub", "channels", -2, command.PubSub|command.Loading|command.Stale, "pubsub", "slow"),
		sub("pubsub", "numsub", -2, command.PubSub|command.Loading|command.Stale, "pubsub", "slow"),
		sub("pubsub", "numpat", 2, command.PubSub|command.Loading|command.Stale, "pubsub", "slow"),
		sub("pubsub", "shardchannels", -2, command.PubSub|command.Loading|command.Stale, "pubsub", "slow"),
		sub("pubsub", "shardnumsub", -2, command.PubSub|command.Loading|command.Stale, "pubsub", "slow"),
		sub("pubsub", "help", 2, command.Loading|command.Stale, "slow"),
		// Cairn-internal (nodes only, see internal): a message forwarded
		// by another cluster node.
		sub("pubsub", "localpublish", 4, command.PubSub|command.Loading|command.Stale, "pubsub", "slow"),
		sub("pubsub", "localspublish", 4, command.PubSub|command.Loading|command.Stale, "pubsub", "slow"),
	}},
	{Name: "multi", Arity: 1, Flags: connFast | command.NoScript | command.Loading | command.Stale | command.AllowBusy, ACL: []string{"fast", "transaction"}, Group: "transactions", Summary: "Starts a transaction.", Since: "1.2.0", Complexity: "O(1)"},
	{Name: "exec", Arity: 1, Flags: command.Conn | command.NoScript | command.Loading | command.Stale | command.SkipSlowlog, ACL: []string{"slow", "transaction"}, Group: "transactions", Summary: "Executes all commands in a transaction.", Since: "1.2.0", Complexity: "Depends on commands in the transaction"},
	{Name: "discard", Arity: 1, Flags: connFast | command.NoScript | command.Loading | command.Stale | command.AllowBusy, ACL: []string{"fast", "transaction"}, Group: "transactions", Summary: "Discards a transaction.", Since: "2.0.0", Complexity: "O(N), when N is the number of queued commands"},
	{Name: "watch", Arity: -2, Flags: connFast | command.NoScript | command.Loading | command.Stale | command.AllowBusy, FirstKey: 1, LastKey: -1, Step: 1, ACL: []string{"fast", "transaction"}, Group: "transactions", Summary: "Monitors changes to keys to determine the execution of a transaction.", Since: "2.2.0", Complexity: "O(1) for every key."},
	{Name: "unwatch", Arity: 1, Flags: connFast | command.NoScript | command.Loading | command.Stale | command.AllowBusy, ACL: []string{"fast", "transaction"}, Group: "transactions", Summary: "Forgets about watched keys of a transaction.", Since: "2.2.0", Complexity: "O(1)"},
	{Name: "shutdown", Arity: -1, Flags: connAdmin | command.Loading | command.Stale | command.NoMulti | command.AllowBusy, ACL: []string{"admin", "slow", "dangerous"}, Group: "server", Summary: "Synchronously saves the database(s) to disk and shuts down the Redis server.", Since: "1.0.0"},
}

// clusterSubs are CLUSTER's subcommands: Redis's, then Cairn's operations
// (nodes, shards, replicas, slot moves) that the dashboard also calls.
func clusterSubs() []*command.Spec {
	stale := command.Loading | command.Stale
	admin := command.Admin | command.NoScript | stale
	subs := []*command.Spec{
		sub("cluster", "info", 2, stale, "slow"),
		sub("cluster", "myid", 2, stale, "slow"),
		sub("cluster", "myshardid", 2, stale, "slow"),
		sub("cluster", "nodes", 2, stale, "slow"),
		sub("cluster", "slots", 2, stale, "slow"),
		sub("cluster", "shards", 2, stale, "slow"),
		sub("cluster", "links", 2, stale, "slow"),
		sub("cluster", "keyslot", 3, stale, "slow"),
		sub("cluster", "countkeysinslot", 3, stale, "slow"),
		sub("cluster", "getkeysinslot", 4, stale, "slow"),
		sub("cluster", "replicas", 3, admin, "admin", "slow", "dangerous"),
		sub("cluster", "slaves", 3, admin, "admin", "slow", "dangerous"),
		sub("cluster", "failover", -2, admin, "admin", "slow", "dangerous"),
		sub("cluster", "forget", 3, admin, "admin", "slow", "dangerous"),
		sub("cluster", "help", 2, stale, "slow"),
		// Cairn operations.
		sub("cluster", "topology", 2, stale, "slow"),
		sub("cluster", "addnode", 4, admin, "admin", "slow", "dangerous"),
		sub("cluster", "addshard", -3, admin, "admin", "slow", "dangerous"),
		sub("cluster", "delshard", 3, admin, "admin", "slow", "dangerous"),
		sub("cluster", "addreplica", 4, admin, "admin", "slow", "dangerous"),
		sub("cluster", "delreplica", -4, admin, "admin", "slow", "dangerous"),
		sub("cluster", "replacenode", 4, admin, "admin", "slow", "dangerous"),
		sub("cluster", "moveslots", -5, admin, "admin", "slow", "dangerous"),
		sub("cluster", "drain", 3, admin, "admin", "slow", "dangerous"),
		sub("cluster", "rebalance", 2, admin, "admin", "slow", "dangerous"),
		// Internal (nodes only, see internal): a slot operation on a shard
		// this node replicates, for a slot move run by a node without a
		// replica of it.
		sub("cluster", "slotop", -6, admin, "admin", "slow", "dangerous"),
		// Internal: the voting members (Raft replica IDs) of a shard's
		// group as this node's replica learns them from the group.
		sub("cluster", "members", 3, admin, "admin", "slow"),
		// Internal: an FT.* command run on one shard this node leads,
		// its reply encoded (cluster fan-out of FT.*).
		sub("cluster", "ftshard", -6, admin, "admin", "slow"),
		sub("cluster", "backupshard", -3, admin, "admin", "slow"),
		// Internal: this node's replica of a shard as it sees itself
		// (replica ID, applied index, known leader), for the membership
		// guard of CLUSTER DELREPLICA.
		sub("cluster", "replstate", 3, admin, "admin", "slow"),
	}
	for _, s := range subs {
		s.Group = "cluster"
	}
	return subs
}
