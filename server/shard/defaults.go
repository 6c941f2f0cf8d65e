package shard

// Defaults of the shard package: the value a HostConfig, Options or
// MetaOptions field takes when it is left zero. server.Config's defaults
// for the same knobs are these constants.
const (
	// DefaultRTTMillisecond is the expected Raft round trip between
	// hosts (HostConfig.RTTMillisecond).
	DefaultRTTMillisecond = 10
	// DefaultElectionRTT is the election timeout in round trips
	// (Options.ElectionRTT, MetaOptions.ElectionRTT).
	DefaultElectionRTT = 20
	// DefaultHeartbeatRTT is the leader's heartbeat interval in round
	// trips.
	DefaultHeartbeatRTT = 2
	// DefaultSnapshotEntries is how many log entries trigger an automatic
	// snapshot (Options.SnapshotEntries).
	DefaultSnapshotEntries = 100000
	// DefaultCompactionOverhead is how many entries are kept behind a
	// snapshot (Options.CompactionOverhead).
	DefaultCompactionOverhead = 10000
)
