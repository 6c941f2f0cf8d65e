package server

import (
	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/server/session"
	"github.com/cairndb/cairn/server/shard"
)

// Memory sums the accounted memory of the shards this node serves;
// maxmemory and the policy are the first shard's (CONFIG SET sets them on
// every shard).
func (b *backend) Memory() session.MemoryInfo {
	var out session.MemoryInfo
	for i, s := range b.shards() {
		st := s.Memory()
		if i == 0 {
			out.Max, out.Policy = st.Max, st.Policy.String()
		}
		out.Used += st.Used
		out.EvictedKeys += st.EvictedKeys
	}
	if out.Policy == "" {
		out.Policy = keyspace.NoEviction.String()
	}
	out.GuardLimit, _ = shard.MemoryGuard()
	return out
}

// OverMemory tells whether the shard r leads to refuses memory-growing
// writes (never for a keyless or replica route in cluster mode).
func (b *backend) OverMemory(r session.Route) bool {
	if b.cluster == nil {
		return b.shard.OverMemory()
	}
	if r.Kind != session.RouteLeader {
		return false
	}
	if s := b.host.Shard(r.Shard); s != nil {
		return s.OverMemory()
	}
	return false
}

// SetMaxMemoryForTest sets maxmemory and maxmemory-policy on this node's
// shard replicas directly, bypassing the log. For single-node tests until
// CONFIG SET replicates them.
func (n *Node) SetMaxMemoryForTest(max int64, p keyspace.EvictionPolicy) {
	for _, s := range (*backend)(n).shards() {
		s.SetMaxMemoryForTest(max, p)
	}
}
