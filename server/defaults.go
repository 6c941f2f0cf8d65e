package server

import (
	"log/slog"
	"net"
	"strconv"

	"github.com/cairndb/cairn/server/resp"
	"github.com/cairndb/cairn/server/session"
	"github.com/cairndb/cairn/server/shard"
)

// Defaults: what a Config field left zero becomes (Config.setDefaults),
// and what main.go's flags show and fall back to. This is the one place a
// node's default is written down; the values a lower package also falls
// back to on its own (resp, session, shard) are that package's constants,
// named here.
const (
	// DefaultPort is the client port (Config.Port).
	DefaultPort = 6379
	// DefaultBind is the client listen address: loopback only.
	DefaultBind = "127.0.0.1"
	// DefaultDir is the data directory.
	DefaultDir = "./data"
	// RaftPortOffset places the default Raft address: Bind:Port+10000.
	RaftPortOffset = 10000
	// DefaultProtoMaxBulkLen is the largest bulk argument: 512 MB.
	DefaultProtoMaxBulkLen = resp.DefaultMaxBulkLen
	// DefaultMaxClients caps client connections: 10000.
	DefaultMaxClients = session.DefaultMaxClients
	// DefaultSnapshotEntries is how many log entries trigger a snapshot:
	// 100000.
	DefaultSnapshotEntries = shard.DefaultSnapshotEntries
	// DefaultRTTMillisecond is the expected Raft round trip: 10 ms.
	DefaultRTTMillisecond = shard.DefaultRTTMillisecond
	// DefaultElectionRTT is the election timeout in round trips: 20.
	DefaultElectionRTT = shard.DefaultElectionRTT
	// ShardPortOffset places shard 1's endpoint by default: Port+100.
	ShardPortOffset = 100
	// DefaultShardPortStep is the port distance between consecutive
	// shards' endpoints.
	DefaultShardPortStep = 100
	// HTTPPortOffset places the HTTP listener (metrics) by default:
	// Port+2000 (main.go; Config.HTTPPort itself defaults to none).
	HTTPPortOffset = 2000
	// RegionPortOffset places the region link listener by default:
	// Port+3000 (Config.RegionAddr).
	RegionPortOffset = 3000
	// DefaultRegion is the region name when none is given.
	DefaultRegion = "default"
	// DefaultMaxReplicas caps the default replicas per shard of a
	// bootstrapped cluster: min(3, peers).
	DefaultMaxReplicas = 3
)

// setDefaults fills every zero field with its default (see the constants
// above; each Config field's comment names its default).
func (c *Config) setDefaults() {
	if c.Port == 0 {
		c.Port = DefaultPort
	}
	if c.Bind == "" {
		c.Bind = DefaultBind
	}
	if c.Dir == "" {
		c.Dir = DefaultDir
	}
	if c.RaftAddr == "" {
		c.RaftAddr = net.JoinHostPort(c.Bind, strconv.Itoa(c.Port+RaftPortOffset))
	}
	if c.ProtoMaxBulkLen == 0 {
		c.ProtoMaxBulkLen = DefaultProtoMaxBulkLen
	}
	if c.MaxClients == 0 {
		c.MaxClients = DefaultMaxClients
	}
	if c.SnapshotEntries == 0 {
		c.SnapshotEntries = DefaultSnapshotEntries
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.RTTMillisecond == 0 {
		c.RTTMillisecond = DefaultRTTMillisecond
	}
	if c.ElectionRTT == 0 {
		c.ElectionRTT = DefaultElectionRTT
	}
	if len(c.Peers) > 0 {
		if c.Shards == 0 {
			c.Shards = len(c.Peers)
		}
		if c.Replicas == 0 {
			c.Replicas = min(DefaultMaxReplicas, len(c.Peers))
		}
	}
	if c.RegionRole != "" {
		if c.Region == "" {
			c.Region = DefaultRegion
		}
		if c.RegionAddr == "" {
			port := 0 // a free one, as for Port -1
			if c.Port > 0 {
				port = c.Port + RegionPortOffset
			}
			c.RegionAddr = net.JoinHostPort(c.Bind, strconv.Itoa(port))
		}
	}
	if c.ShardPortStep <= 0 {
		c.ShardPortStep = DefaultShardPortStep
	}
	if c.ShardPorts == 0 {
		c.ShardPorts = -1 // free ports when the client port is one too
		if c.Port > 0 {
			c.ShardPorts = c.Port + ShardPortOffset
		}
	}
}
