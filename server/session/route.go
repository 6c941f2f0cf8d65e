package session

// A Route is where a data command runs, as the Backend's Route decides
// it; the session hands it back to the Backend with the command. A single
// node always answers RouteNode.
type Route struct {
	Kind RouteKind
	// Shard is the shard ID for RouteLeader and RouteReplica; 0 for
	// RouteNode.
	Shard uint64
}

// RouteKind says which replica, or which set of them, serves a command.
type RouteKind uint8

const (
	// RouteNode runs the command on this node as a whole: its one shard
	// (single-node mode), or in cluster mode, for a keyless command, the
	// shards this node leads (a write or a scan covers all of them). As a
	// Forward destination it means every other node of the cluster. It
	// is the zero Route.
	RouteNode RouteKind = iota
	// RouteLeader runs the command on this node's replica of Shard, its
	// leader: reads are linearizable, writes are proposed there.
	RouteLeader
	// RouteReplica runs a read on this node's replica of Shard, which
	// need not lead it (READONLY connections: reads may be stale). With
	// Shard 0 (ClusterReplicaRoute) it is a keyless read over every
	// shard of the cluster that any replica may serve.
	RouteReplica
)

// NodeRoute is the Route of a command that runs on the node as a whole.
var NodeRoute = Route{Kind: RouteNode}

// LeaderRoute routes to shard sid's leader on this node.
func LeaderRoute(sid uint64) Route { return Route{Kind: RouteLeader, Shard: sid} }

// ReplicaRoute routes a read to this node's replica of shard sid.
func ReplicaRoute(sid uint64) Route { return Route{Kind: RouteReplica, Shard: sid} }

// ClusterReplicaRoute routes a keyless read over every shard of the
// cluster (cluster-mode FT.SEARCH, FT.AGGREGATE, FT.INFO...) on a READONLY
// connection: each shard may answer from any replica, this node's first.
var ClusterReplicaRoute = Route{Kind: RouteReplica}

// String names the route for logs and test failures.
func (r Route) String() string {
	switch r.Kind {
	case RouteNode:
		return "node"
	case RouteLeader:
		return "leader of shard " + itoa(int64(r.Shard))
	case RouteReplica:
		if r.Shard == 0 {
			return "replicas of every shard"
		}
		return "replica of shard " + itoa(int64(r.Shard))
	}
	return "route kind " + itoa(int64(r.Kind))
}
