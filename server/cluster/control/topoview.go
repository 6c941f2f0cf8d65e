package control

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cairndb/cairn/server/cluster"
	"github.com/cairndb/cairn/server/reply"
)

// The cluster topology as Redis Cluster clients model it. Clients assume
// one role per node: a node is the master of some slots or a replica of
// one master. A Cairn node leads some shards and follows others, so what
// clients are shown is not the nodes but their shard endpoints
// (endpoints.go): the endpoint of (node X, shard S) is one Redis Cluster
// node, the master of S's slots while X's replica leads S and a replica
// of the leader's endpoint otherwise. CLUSTER SLOTS, SHARDS, NODES and
// REPLICAS list endpoints, on every port; MOVED names the leader's
// endpoint.

// epRef names one endpoint: a node's replica of a shard.
type epRef struct{ node, sid uint64 }

// epName is an endpoint's Redis Cluster node ID: 40 hex characters,
// "ca1e", the node (20 digits) and the shard (16 digits). It never looks
// like a node's own name (nodeName), which starts with zeros.
func epName(node, sid uint64) string { return fmt.Sprintf("ca1e%020x%016x", node, sid) }

// parseEpName reads an endpoint's node ID.
func parseEpName(s string) (epRef, bool) {
	if len(s) != 40 || !strings.HasPrefix(s, "ca1e") {
		return epRef{}, false
	}
	node, err1 := strconv.ParseUint(s[4:24], 16, 64)
	sid, err2 := strconv.ParseUint(s[24:], 16, 64)
	return epRef{node, sid}, err1 == nil && err2 == nil && node != 0 && sid != 0
}

// epAddr returns the client address of node's endpoint for shard sid
// ("" if the node is unknown).
func epAddr(topo *cluster.Topology, node, sid uint64) string {
	if nd := topo.Node(node); nd != nil {
		return nd.Endpoint(sid)
	}
	return ""
}

// mainSelf is the endpoint the main client port stands for in CLUSTER
// NODES and MYID: the node's endpoint of the first shard it leads (or
// replicates), as the shard CLUSTER MYSHARDID names.
func (c *Plane) mainSelf(topo *cluster.Topology) epRef {
	return epRef{c.id, c.myShard(topo)}
}

// shownReplicas lists a shard's replicas as clients are shown them, the
// master (the leader) first. While the leader's node does not answer (it
// died and an election is due), a live replica is shown as the master
// instead: until the election ends it answers CLUSTERDOWN, which clients
// retry, whereas a client sent to the dead address keeps failing to
// connect (and redis-py 4.3 cannot even refresh its slot map while a
// master it knows has no connection).
func (c *Plane) shownReplicas(topo *cluster.Topology, sh *cluster.Shard) []uint64 {
	reps := c.orderedReplicas(topo, sh)
	if len(reps) > 1 && reps[0] != c.id && c.isDown(reps[0]) {
		for i := 1; i < len(reps); i++ {
			if reps[i] == c.id || !c.isDown(reps[i]) {
				reps[0], reps[i] = reps[i], reps[0]
				break
			}
		}
	}
	return reps
}

// epFlags returns an endpoint's role flags and link state.
func (c *Plane) epFlags(ref, me epRef, master bool) (string, string) {
	flags, link := "slave", "connected"
	if master {
		flags = "master"
	}
	if ref == me {
		flags = "myself," + flags
	} else if ref.node != c.id && c.isDown(ref.node) {
		flags, link = flags+",fail", "disconnected"
	}
	return flags, link
}

// nodesView renders CLUSTER NODES: one line per endpoint; only, if not
// nil, picks which.
func (c *Plane) nodesView(topo *cluster.Topology, me epRef, only func(epRef) bool) string {
	var b strings.Builder
	now := time.Now().UnixMilli()
	for i := range topo.Shards {
		sh := &topo.Shards[i]
		reps := c.shownReplicas(topo, sh)
		if len(reps) == 0 {
			continue
		}
		leader := epRef{reps[0], sh.ID}
		for j, id := range reps {
			ref := epRef{id, sh.ID}
			if only != nil && !only(ref) {
				continue
			}
			addr := epAddr(topo, id, sh.ID)
			if addr == "" {
				continue
			}
			host, port := hostPort(addr)
			flags, link := c.epFlags(ref, me, j == 0)
			master := "-"
			if j > 0 {
				master = epName(leader.node, leader.sid)
			}
			fmt.Fprintf(&b, "%s %s:%d@%d %s %s 0 %d %d %s", epName(id, sh.ID), host, port, port+10000, flags, master, now, topo.Epoch, link)
			if j == 0 {
				for _, r := range topo.ShardSlots(sh.ID) {
					if r.Start == r.End {
						fmt.Fprintf(&b, " %d", r.Start)
					} else {
						fmt.Fprintf(&b, " %d-%d", r.Start, r.End)
					}
				}
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}

// replicasView answers CLUSTER REPLICAS: the endpoints replicating a
// master endpoint (or, given a node's own name, every shard it leads).
func (c *Plane) replicasView(topo *cluster.Topology, me epRef, arg []byte) reply.Value {
	var masters []epRef
	if ref, ok := parseEpName(string(arg)); ok {
		sh := topo.Shard(ref.sid)
		if sh == nil || !sh.HasReplica(ref.node) {
			return reply.Error("ERR Unknown node " + string(arg))
		}
		if reps := c.shownReplicas(topo, sh); len(reps) == 0 || reps[0] != ref.node {
			return reply.Error("ERR The specified node is not a master")
		}
		masters = append(masters, ref)
	} else if id, ok := parseNodeRef(arg); ok && topo.Node(id) != nil {
		for i := range topo.Shards {
			if reps := c.shownReplicas(topo, &topo.Shards[i]); len(reps) > 0 && reps[0] == id {
				sh := &topo.Shards[i]
				masters = append(masters, epRef{id, sh.ID})
			}
		}
	} else {
		return reply.Error("ERR Unknown node " + string(arg))
	}
	text := c.nodesView(topo, me, func(r epRef) bool {
		for _, m := range masters {
			if r.sid == m.sid && r.node != m.node {
				return true
			}
		}
		return false
	})
	var out []reply.Value
	for _, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		if line != "" {
			out = append(out, reply.BulkString(line))
		}
	}
	return reply.Array(out...)
}

// slotsView answers CLUSTER SLOTS: each range's leader endpoint, then the
// replica endpoints of nodes that answer.
func (c *Plane) slotsView(topo *cluster.Topology) reply.Value {
	var out []reply.Value
	for _, r := range topo.Slots {
		sh := topo.Shard(r.Shard)
		if sh == nil {
			continue
		}
		e := []reply.Value{reply.Int(int64(r.Start)), reply.Int(int64(r.End))}
		for i, id := range c.shownReplicas(topo, sh) {
			if i > 0 && c.isDown(id) {
				continue // Redis leaves failed replicas out
			}
			if addr := epAddr(topo, id, sh.ID); addr != "" {
				host, port := hostPort(addr)
				e = append(e, reply.Array(reply.BulkString(host), reply.Int(int64(port)), reply.BulkString(epName(id, sh.ID)), reply.Map()))
			}
		}
		out = append(out, reply.Array(e...))
	}
	return reply.Array(out...)
}

// shardsView answers CLUSTER SHARDS.
func (c *Plane) shardsView(topo *cluster.Topology) reply.Value {
	var out []reply.Value
	for i := range topo.Shards {
		sh := &topo.Shards[i]
		var slotsV []reply.Value
		for _, r := range topo.ShardSlots(sh.ID) {
			slotsV = append(slotsV, reply.Int(int64(r.Start)), reply.Int(int64(r.End)))
		}
		var nodes []reply.Value
		for j, id := range c.shownReplicas(topo, sh) {
			addr := epAddr(topo, id, sh.ID)
			if addr == "" {
				continue
			}
			host, port := hostPort(addr)
			role := "replica"
			if j == 0 {
				role = "master"
			}
			var offset int64
			health := "online"
			if id != c.id && c.isDown(id) {
				health = "failed"
			}
			if s := c.host.Shard(sh.ID); s != nil && id == c.id {
				offset = int64(s.Status().AppliedIndex)
			}
			nodes = append(nodes, reply.Map(
				reply.BulkString("id"), reply.BulkString(epName(id, sh.ID)),
				reply.BulkString("port"), reply.Int(int64(port)),
				reply.BulkString("ip"), reply.BulkString(host),
				reply.BulkString("endpoint"), reply.BulkString(host),
				reply.BulkString("role"), reply.BulkString(role),
				reply.BulkString("replication-offset"), reply.Int(offset),
				reply.BulkString("health"), reply.BulkString(health),
			))
		}
		out = append(out, reply.Map(
			reply.BulkString("slots"), reply.Array(slotsV...),
			reply.BulkString("nodes"), reply.Array(nodes...),
		))
	}
	return reply.Array(out...)
}

// epCommand serves CLUSTER on the endpoint of this node's replica of
// shard sid: the topology subcommands answer as that endpoint; the rest
// are the node's.
func (c *Plane) epCommand(sid uint64, args [][]byte) reply.Value {
	me := epRef{c.id, sid}
	topo := c.machine.Topology()
	switch strings.ToLower(string(args[1])) {
	case "myid":
		return reply.BulkString(epName(c.id, sid))
	case "myshardid":
		return reply.BulkString(shardName(sid))
	case "nodes":
		return reply.BulkString(c.nodesView(topo, me, nil))
	case "replicas", "slaves":
		return c.replicasView(topo, me, args[2])
	case "failover":
		// Makes this replica the shard's preferred leader (a graceful
		// leader transfer follows), like Redis's manual failover.
		if len(args) > 3 {
			return reply.Error("ERR syntax error")
		}
		if len(args) == 3 {
			if o := strings.ToLower(string(args[2])); o != "force" && o != "takeover" {
				return reply.Error("ERR syntax error")
			}
		}
		sh := topo.Shard(sid)
		if sh == nil || !sh.HasReplica(c.id) {
			return reply.Error("ERR this node holds no replica of shard " + strconv.FormatUint(sid, 10))
		}
		if c.leaderOf(topo, sh) == c.id {
			return reply.Error("ERR You should send CLUSTER FAILOVER to a replica")
		}
		if sh.Replicas[0] == c.id {
			return reply.OK
		}
		reps := append([]uint64{c.id}, slices.DeleteFunc(slices.Clone(sh.Replicas), func(x uint64) bool { return x == c.id })...)
		return c.op(cluster.Op{Op: "set-replicas", Shard: sid, Replicas: reps})
	}
	return c.Cluster(args)
}
