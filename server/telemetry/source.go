package telemetry

import "time"

// Source is what the node's metrics are read from. The server package
// implements it over the session layer's and the shards' counters; every
// method is called when a reader collects, never on a command's path, and
// must be safe to call concurrently with the node's work.
type Source interface {
	// Node returns the node-wide figures.
	Node() Node
	// Commands calls fn for each command called (or rejected) since the
	// start or the last CONFIG RESETSTAT.
	Commands(fn func(Command))
	// Shards calls fn for each shard replica on this node.
	Shards(fn func(Shard))
	// Fsync returns the fsync timings measured on the Raft log's file
	// system.
	Fsync() Histogram
}

// Node holds the node-wide figures, INFO's names in brackets.
type Node struct {
	// ClientsConnected is the number of client connections
	// (connected_clients).
	ClientsConnected int64
	// ConnectionsReceived and ConnectionsRejected count accepted and
	// refused connections (total_connections_received,
	// rejected_connections).
	ConnectionsReceived, ConnectionsRejected int64
	// CommandsProcessed counts commands (total_commands_processed);
	// ErrorReplies the error replies (total_error_replies).
	CommandsProcessed, ErrorReplies int64
	// NetOutputBytes counts bytes written to clients
	// (total_net_output_bytes).
	NetOutputBytes int64
	// KeyspaceHits and KeyspaceMisses count key lookups that found or
	// missed their key (keyspace_hits, keyspace_misses).
	KeyspaceHits, KeyspaceMisses int64
	// KeysExpired and KeysEvicted count keys removed by expiry and by
	// maxmemory-policy (expired_keys, evicted_keys).
	KeysExpired, KeysEvicted int64
	// Keys and Expires are the keys and the keys with a TTL of the
	// shards this node serves (INFO keyspace).
	Keys, Expires int64
	// MemoryUsed is the accounted dataset size maxmemory limits
	// (used_memory); MemoryRSS the process's resident set
	// (used_memory_rss); MaxMemory is maxmemory (0: none).
	MemoryUsed, MemoryRSS, MaxMemory int64
	// CPUUser and CPUSystem are the process's CPU time (used_cpu_user,
	// used_cpu_sys).
	CPUUser, CPUSystem time.Duration
}

// Command holds one command's figures (INFO commandstats).
type Command struct {
	// Name is the command's name, "parent|sub" for a subcommand.
	Name string
	// Kind is "read" or "write" for data commands (cairn.request.duration
	// sums their latencies by kind); "" for connection and admin
	// commands (PING, CLIENT, CONFIG ...), which only count per command.
	Kind string
	// Calls, Rejected and Failed count calls, calls refused before they
	// ran, and calls that replied with an error.
	Calls, Rejected, Failed int64
	// Latency is the calls' durations.
	Latency Histogram
}

// Shard holds one shard replica's figures.
type Shard struct {
	ID, Replica uint64
	// Leader tells whether this replica leads its shard.
	Leader bool
	// Term is the Raft term; Applied the last applied log index.
	Term, Applied uint64
	// LeaderChanges counts the leaders elected since the node started.
	LeaderChanges uint64
	// Commit is the propose-to-applied latency of the replica's
	// proposals; Snapshot the time to write each snapshot.
	Commit, Snapshot Histogram
	// Indexes are the shard's FT indexes.
	Indexes []Index
	// Libraries is the number of function libraries loaded; Calls and
	// CallsRO count the FCALL and FCALL_RO calls the replica ran, Fuel
	// the fuel they consumed.
	Libraries            int64
	Calls, CallsRO, Fuel int64
}

// Index holds one FT index's figures (FT.INFO).
type Index struct {
	Name string
	// Docs is num_docs; Bytes the vector graphs' memory
	// (vector_index_sz_mb, in bytes); Failures hash_indexing_failures.
	Docs, Bytes, Failures int64
}

// Histogram is a latency histogram in log2 microsecond buckets, the
// layout the session and shard layers keep: Counts[i] holds the
// durations whose whole microseconds have bit length i (i = 0: under
// 1µs; i > 0: [2^(i-1), 2^i) µs), and the last bucket also everything
// longer. Sum is the total of all durations.
type Histogram struct {
	Counts []uint64
	Sum    time.Duration
}

// BackupSource is implemented by a Source whose node can take backups.
type BackupSource interface {
	// Backups returns the node's backup figures since it started; ok is
	// false when the node has no backup directory (no instrument then
	// reports a value).
	Backups() (b Backups, ok bool)
}

// Backups holds a node's backup figures (BACKUP, the daily schedule).
type Backups struct {
	// Completed and Failed count the backups taken since the start.
	Completed, Failed int64
	// Duration is the completed backups' durations (writing, fsync and
	// verification).
	Duration Histogram
	// LastSuccess is when the last completed backup finished (zero:
	// none since the start); LastSize its size in bytes.
	LastSuccess time.Time
	LastSize    int64
}

// RegionSource is implemented by a Source whose node is part of a
// multi-region deployment.
type RegionSource interface {
	// Region returns the node's region figures; ok is false when the node
	// is in no multi-region deployment (no instrument reports a value).
	Region() (r Region, ok bool)
}

// Region holds a node's region figures (REGION INFO). Shards are only the
// ones this node pulls (a secondary's shards it leads): each shard is
// reported by one node, and the region's lag is the maximum over the
// nodes' reports, as REGION INFO's lag_ms is over shards.
type Region struct {
	// Name is the region's name; Role "primary" or "secondary".
	Name, Role string
	Shards     []RegionShard
}

// RegionShard is one shard's shipping state in a secondary region.
type RegionShard struct {
	ID uint64
	// Lag is how far behind the primary the shard is in time (lag_ms),
	// LagEntries in entries (lag_entries).
	Lag        time.Duration
	LagEntries uint64
	// LinkUp tells whether the link to the primary is up.
	LinkUp bool
	// Snapshots counts the primary's snapshots installed (catch-up).
	Snapshots uint64
}
