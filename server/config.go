package server

import (
	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/server/shard"
)

// The replicated configuration (keyspace.Config) on a node. A single node
// proposes CONFIG SET as an entry.Config to its shard. In cluster mode the
// control plane commits it to the directory and waits until every shard
// applied it (cluster/control/config.go). See server/shard/DESIGN.md,
// "Replicated configuration".

func toPairs(pairs [][2]string) []shard.ConfigPair {
	out := make([]shard.ConfigPair, len(pairs))
	for i, p := range pairs {
		out[i] = shard.ConfigPair{Name: p[0], Value: p[1]}
	}
	return out
}

func (b *backend) Config() keyspace.Config {
	if b.cluster != nil {
		return b.cluster.Config()
	}
	cfg, _ := b.shard.Config()
	return cfg
}

func (b *backend) SetConfig(pairs [][2]string) error {
	if b.readOnly() {
		return errReadOnlyRegion
	}
	if b.cluster != nil {
		return b.cluster.SetConfig(pairs)
	}
	return b.shard.ProposeConfig(toPairs(pairs), 0)
}

// ShardDigest is one local replica's applied index and state digest.
type ShardDigest struct{ Applied, Digest uint64 }

// StateDigests returns, per shard this node replicates, the applied index
// and shard.StateDigest (tests compare replicas with it).
func (n *Node) StateDigests() map[uint64]ShardDigest {
	out := map[uint64]ShardDigest{}
	for _, s := range (*backend)(n).shards() {
		a, d := s.StateDigest()
		out[s.ID()] = ShardDigest{a, d}
	}
	return out
}
