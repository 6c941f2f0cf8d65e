package control

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cairndb/cairn/server/cluster"
	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/server/reply"
	"github.com/cairndb/cairn/server/shard"
	"github.com/cairndb/cairn/server/slot"
)

// nodeName is a node's Redis Cluster node ID (40 hex characters).
func nodeName(id uint64) string { return fmt.Sprintf("%040x", id) }

// shardName is a shard's Redis Cluster shard ID.
func shardName(id uint64) string { return fmt.Sprintf("5ead%036x", id) }

// parseNodeRef accepts a node's number, its 40-character name or the
// name of one of its shard endpoints.
func parseNodeRef(b []byte) (uint64, bool) {
	s := string(b)
	if ref, ok := parseEpName(s); ok {
		return ref.node, true
	}
	if len(s) == 40 {
		id, err := strconv.ParseUint(strings.TrimLeft(s, "0"), 16, 64)
		return id, err == nil || strings.Trim(s, "0") == ""
	}
	id, err := strconv.ParseUint(s, 10, 64)
	return id, err == nil && id > 0
}

func parseShardRef(b []byte) (uint64, bool) {
	s := string(b)
	if len(s) == 40 && strings.HasPrefix(s, "5ead") {
		id, err := strconv.ParseUint(strings.TrimLeft(s[4:], "0"), 16, 64)
		return id, err == nil
	}
	id, err := strconv.ParseUint(s, 10, 64)
	return id, err == nil && id > 0
}

// Cluster serves CLUSTER <subcommand> (session.Backend.Cluster).
func (c *Plane) Cluster(args [][]byte) reply.Value {
	sub := strings.ToLower(string(args[1]))
	topo := c.machine.Topology()
	if c.regionRO.Load() {
		switch sub {
		case "addshard", "delshard", "moveslots", "drain", "rebalance":
			// A secondary region's layout follows the primary's (region.go).
			return reply.Error("ERR this region is a secondary: its shards and slots follow the primary region's; change them there")
		}
	}
	switch sub {
	case "info":
		return reply.BulkString(c.info(topo))
	case "myid":
		if me := c.mainSelf(topo); me.sid != 0 {
			return reply.BulkString(epName(me.node, me.sid))
		}
		return reply.BulkString(nodeName(c.id)) // a node without replicas
	case "myshardid":
		return reply.BulkString(shardName(c.myShard(topo)))
	case "nodes":
		return reply.BulkString(c.nodesView(topo, c.mainSelf(topo), nil))
	case "slots":
		return c.slotsView(topo)
	case "shards":
		return c.shardsView(topo)
	case "links":
		return c.links(topo)
	case "keyslot":
		return reply.Int(int64(slot.Of(args[2])))
	case "countkeysinslot":
		sl, err := strconv.ParseInt(string(args[2]), 10, 64)
		if err != nil || sl < 0 || sl >= slot.Count {
			return reply.Error("ERR Invalid slot")
		}
		n := 0
		if s := c.host.Shard(topo.Owner(uint16(sl))); s != nil {
			s.View(func(db *keyspace.DB) { n = db.CountSlot(uint16(sl)) })
		}
		return reply.Int(int64(n))
	case "getkeysinslot":
		sl, err1 := strconv.ParseInt(string(args[2]), 10, 64)
		cnt, err2 := strconv.ParseInt(string(args[3]), 10, 64)
		if err1 != nil || err2 != nil || sl < 0 || sl >= slot.Count || cnt < 0 {
			return reply.Error("ERR Invalid slot or number of keys")
		}
		var keys []reply.Value
		if s := c.host.Shard(topo.Owner(uint16(sl))); s != nil {
			s.View(func(db *keyspace.DB) {
				db.ScanSlot(uint16(sl), func(it *keyspace.Item) bool {
					if int64(len(keys)) >= cnt {
						return false
					}
					keys = append(keys, reply.BulkString(it.Key))
					return true
				})
			})
		}
		return reply.Array(keys...)
	case "replicas", "slaves":
		return c.replicasView(topo, c.mainSelf(topo), args[2])
	case "failover":
		return c.failover(topo, args)
	case "forget":
		id, ok := parseNodeRef(args[2])
		if !ok || topo.Node(id) == nil {
			return reply.Error("ERR Unknown node " + string(args[2]))
		}
		if id == c.id {
			return reply.Error("ERR I tried hard but I can't forget myself...")
		}
		return c.op(cluster.Op{Op: "remove-node", ID: id})
	case "help":
		return clusterHelp()
	case "topology":
		return c.topologyJSON(topo)
	case "addnode":
		raft, client := string(args[2]), string(args[3])
		if _, _, err := net.SplitHostPort(raft); err != nil {
			return reply.Error("ERR Invalid raft address " + raft)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		id, err := c.propose(ctx, cluster.Op{Op: "add-node", RaftAddr: raft, ClientAddr: client})
		if err != nil {
			return reply.Error("ERR " + err.Error())
		}
		c.poke()
		return reply.Int(int64(id))
	case "addshard":
		var reps []uint64
		for _, a := range args[2:] {
			id, ok := parseNodeRef(a)
			if !ok {
				return reply.Error("ERR Invalid node " + string(a))
			}
			reps = append(reps, id)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		id, err := c.propose(ctx, cluster.Op{Op: "add-shard", Replicas: reps})
		if err != nil {
			return reply.Error("ERR " + err.Error())
		}
		c.poke()
		return reply.Int(int64(id))
	case "delshard":
		id, ok := parseShardRef(args[2])
		if !ok {
			return reply.Error("ERR Invalid shard " + string(args[2]))
		}
		return c.op(cluster.Op{Op: "remove-shard", Shard: id})
	case "addreplica", "delreplica":
		// DELREPLICA <shard> <node> [FORCE]: FORCE skips the membership
		// guard (memberguard.go), for an operator who knows better.
		force := false
		if sub == "delreplica" && len(args) == 5 && strings.EqualFold(string(args[4]), "force") {
			force = true
		} else if len(args) != 4 {
			return reply.Error("ERR syntax error")
		}
		sid, ok1 := parseShardRef(args[2])
		nid, ok2 := parseNodeRef(args[3])
		sh := topo.Shard(sid)
		if !ok1 || sh == nil {
			return reply.Error("ERR Unknown shard " + string(args[2]))
		}
		if !ok2 || topo.Node(nid) == nil {
			return reply.Error("ERR Unknown node " + string(args[3]))
		}
		reps := slices.Clone(sh.Replicas)
		if sub == "addreplica" {
			if slices.Contains(reps, nid) {
				return reply.Error("ERR node already holds a replica of this shard")
			}
			reps = append(reps, nid)
		} else {
			if !slices.Contains(reps, nid) {
				return reply.Error("ERR node holds no replica of this shard")
			}
			if len(reps) == 1 {
				return reply.Error("ERR cannot remove a shard's last replica")
			}
			reps = slices.DeleteFunc(reps, func(x uint64) bool { return x == nid })
			if !force {
				if err := c.checkRemoval(topo, sh, nid, reps); err != nil {
					return reply.Error(err.Error())
				}
			}
		}
		return c.op(cluster.Op{Op: "set-replicas", Shard: sid, Replicas: reps})
	case "replacenode":
		old, ok1 := parseNodeRef(args[2])
		nw, ok2 := parseNodeRef(args[3])
		if !ok1 || topo.Node(old) == nil {
			return reply.Error("ERR Unknown node " + string(args[2]))
		}
		if !ok2 || topo.Node(nw) == nil {
			return reply.Error("ERR Unknown node " + string(args[3]))
		}
		for _, sh := range topo.Shards {
			if !sh.HasReplica(old) {
				continue
			}
			reps := slices.Clone(sh.Replicas)
			if sh.HasReplica(nw) {
				reps = slices.DeleteFunc(reps, func(x uint64) bool { return x == old })
				if err := c.checkRemoval(topo, &sh, old, reps); err != nil {
					return reply.Error(err.Error())
				}
			} else {
				reps[slices.Index(reps, old)] = nw
			}
			if v := c.op(cluster.Op{Op: "set-replicas", Shard: sh.ID, Replicas: reps}); v.Kind == reply.KindError {
				return v
			}
		}
		return reply.OK
	case "moveslots":
		return c.moveSlotsCmd(topo, args)
	case "drain":
		return c.drain(topo, args)
	case "rebalance":
		return c.rebalance(topo)
	case "members":
		// CLUSTER MEMBERS <shard> (internal): the group's voting members,
		// read linearizably through this node's replica.
		sid, ok := parseShardRef(args[2])
		s := c.host.Shard(sid)
		if !ok || s == nil {
			return reply.Error("ERR this node holds no replica of shard " + string(args[2]))
		}
		// Shorter than the caller's timeout (remoteMembers): a refusal
		// reaches it.
		ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
		m, err := s.Members(ctx)
		cancel()
		if err != nil {
			return reply.Error("ERR " + err.Error())
		}
		out := make([]reply.Value, 0, len(m))
		for rid := range m {
			out = append(out, reply.Bulk([]byte(strconv.FormatUint(rid, 10))))
		}
		return reply.Array(out...)
	case "ftshard":
		return c.ftShardCmd(args) // internal (ft.go)
	case "replstate":
		return c.replStateCmd(args) // internal (memberguard.go)
	case "backupshard":
		return c.backupShardCmd(args) // internal (backup.go)
	case "slotop":
		// CLUSTER SLOTOP <shard> <op> <slots> <fence> [<arg> ...]
		// (internal: only on a connection authenticated as a node)
		if len(args) < 6 {
			return reply.Error("ERR wrong number of arguments for 'cluster|slotop' command")
		}
		sid, ok := parseShardRef(args[2])
		s := c.host.Shard(sid)
		if !ok || s == nil {
			return reply.Error("ERR this node holds no replica of shard " + string(args[2]))
		}
		status, items, err := s.SlotOpRaw(string(args[3]), args[4], args[5], args[6:]...)
		if err != nil {
			if strings.HasPrefix(err.Error(), shard.StalePrefix) {
				return reply.Error(err.Error())
			}
			return reply.Error("ERR " + err.Error())
		}
		return reply.Array(reply.Bulk(status), reply.Bulk(items))
	}
	return reply.Error("ERR unknown subcommand '" + string(args[1]) + "'. Try CLUSTER HELP.")
}

// op proposes a directory change and answers OK or the refusal.
func (c *Plane) op(op cluster.Op) reply.Value {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.propose(ctx, op); err != nil {
		return reply.Error("ERR " + err.Error())
	}
	c.poke()
	return reply.OK
}

// leaderOf returns a shard's current leader as this node knows it, or
// its preferred replica while no leader is known (for display).
func (c *Plane) leaderOf(topo *cluster.Topology, sh *cluster.Shard) uint64 {
	if id := c.leaderNode(topo, sh.ID); id != 0 {
		return id
	}
	if len(sh.Replicas) > 0 {
		return sh.Replicas[0]
	}
	return 0
}

func (c *Plane) myShard(topo *cluster.Topology) uint64 {
	var first uint64
	for i := range topo.Shards {
		sh := &topo.Shards[i]
		if c.leaderOf(topo, sh) == c.id {
			return sh.ID
		}
		if first == 0 && sh.HasReplica(c.id) {
			first = sh.ID
		}
	}
	return first
}

func (c *Plane) info(topo *cluster.Topology) string {
	assigned, ok := 0, 0
	size := 0
	for i := range topo.Shards {
		sh := &topo.Shards[i]
		n := topo.SlotCount(sh.ID)
		if n == 0 {
			continue
		}
		size++
		assigned += n
		if s := c.host.Shard(sh.ID); s != nil {
			if _, _, known := s.Leader(); known {
				ok += n
			}
		} else if sh.Leader != 0 {
			ok += n
		}
	}
	state := "ok"
	if assigned < slot.Count || ok < assigned || topo.Secret == "" {
		// Without the cluster secret (the first moments of a new
		// cluster) nodes cannot make internal calls to each other.
		state = "fail"
	}
	var b strings.Builder
	line := func(k string, v any) { fmt.Fprintf(&b, "%s:%v\r\n", k, v) }
	line("cluster_state", state)
	line("cluster_slots_assigned", assigned)
	line("cluster_slots_ok", ok)
	line("cluster_slots_pfail", 0)
	line("cluster_slots_fail", assigned-ok)
	line("cluster_known_nodes", len(topo.Nodes))
	line("cluster_size", size)
	line("cluster_current_epoch", topo.Epoch)
	line("cluster_my_epoch", topo.Epoch)
	line("cluster_stats_messages_sent", 0)
	line("cluster_stats_messages_received", 0)
	line("total_cluster_links_buffer_limit_exceeded", 0)
	line("cairn_shards", len(topo.Shards))
	line("cairn_migrations_in_progress", len(topo.Migrations))
	line("cairn_slots_migrated", c.migrated.Load())
	return b.String()
}

func hostPort(addr string) (string, int) {
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		return addr, 0
	}
	port, _ := strconv.Atoi(p)
	return h, port
}

// orderedReplicas lists a shard's replicas with the leader first.
func (c *Plane) orderedReplicas(topo *cluster.Topology, sh *cluster.Shard) []uint64 {
	l := c.leaderOf(topo, sh)
	out := []uint64{}
	if slices.Contains(sh.Replicas, l) {
		out = append(out, l)
	}
	for _, r := range sh.Replicas {
		if r != l {
			out = append(out, r)
		}
	}
	return out
}

func (c *Plane) links(topo *cluster.Topology) reply.Value {
	var out []reply.Value
	now := time.Now().UnixMilli()
	for _, nd := range topo.Nodes {
		if nd.ID == c.id {
			continue
		}
		for _, dir := range []string{"to", "from"} {
			out = append(out, reply.Map(
				reply.BulkString("direction"), reply.BulkString(dir),
				reply.BulkString("node"), reply.BulkString(nodeName(nd.ID)),
				reply.BulkString("create-time"), reply.Int(now),
				reply.BulkString("events"), reply.BulkString("rw"),
				reply.BulkString("send-buffer-allocated"), reply.Int(0),
				reply.BulkString("send-buffer-used"), reply.Int(0),
			))
		}
	}
	return reply.Array(out...)
}

// failover makes this node the preferred leader of every shard it
// replicates; each shard's leader then hands over (a graceful transfer,
// like Redis's manual failover).
func (c *Plane) failover(topo *cluster.Topology, args [][]byte) reply.Value {
	if len(args) > 3 {
		return reply.Error("ERR syntax error")
	}
	if len(args) == 3 {
		if o := strings.ToLower(string(args[2])); o != "force" && o != "takeover" {
			return reply.Error("ERR syntax error")
		}
	}
	changed := false
	for _, sh := range topo.Shards {
		if !sh.HasReplica(c.id) || sh.Replicas[0] == c.id {
			continue
		}
		reps := append([]uint64{c.id}, slices.DeleteFunc(slices.Clone(sh.Replicas), func(x uint64) bool { return x == c.id })...)
		if v := c.op(cluster.Op{Op: "set-replicas", Shard: sh.ID, Replicas: reps}); v.Kind == reply.KindError {
			return v
		}
		changed = true
	}
	if !changed && c.myShard(topo) == 0 {
		return reply.Error("ERR You should send CLUSTER FAILOVER to a replica")
	}
	return reply.OK
}

// parseRanges parses "start end [start end ...]" slot pairs.
func parseRanges(args [][]byte) ([]uint16, error) {
	if len(args)%2 != 0 {
		return nil, fmt.Errorf("ERR wrong number of arguments for 'cluster|moveslots' command")
	}
	var out []uint16
	for i := 0; i < len(args); i += 2 {
		lo, err1 := strconv.Atoi(string(args[i]))
		hi, err2 := strconv.Atoi(string(args[i+1]))
		if err1 != nil || err2 != nil || lo < 0 || hi >= slot.Count || lo > hi {
			return nil, fmt.Errorf("ERR Invalid or out of range slot")
		}
		for s := lo; s <= hi; s++ {
			out = append(out, uint16(s))
		}
	}
	return out, nil
}

// migrate records a migration and waits for it to finish.
func (c *Plane) migrate(to uint64, slots []uint16) reply.Value {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	id, err := c.propose(ctx, cluster.Op{Op: "migrate", Shard: to, Slots: slots})
	cancel()
	if err != nil {
		return reply.Error("ERR " + err.Error())
	}
	c.poke()
	wctx, wcancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer wcancel()
	if err := c.waitMigration(wctx, id); err != nil {
		return reply.Error("ERR migration " + strconv.FormatUint(id, 10) + " still running: " + err.Error())
	}
	return reply.OK
}

func (c *Plane) moveSlotsCmd(topo *cluster.Topology, args [][]byte) reply.Value {
	to, ok := parseShardRef(args[2])
	if !ok || topo.Shard(to) == nil {
		return reply.Error("ERR Unknown shard " + string(args[2]))
	}
	slots, err := parseRanges(args[3:])
	if err != nil {
		return reply.Error(err.Error())
	}
	var move []uint16
	for _, s := range slots {
		if topo.Owner(s) != to {
			move = append(move, s)
		}
	}
	if len(move) == 0 {
		return reply.OK
	}
	return c.migrate(to, move)
}

// drain moves every slot of a shard to the other shards (evenly, in
// order) and then removes the shard.
func (c *Plane) drain(topo *cluster.Topology, args [][]byte) reply.Value {
	sid, ok := parseShardRef(args[2])
	if !ok || topo.Shard(sid) == nil {
		return reply.Error("ERR Unknown shard " + string(args[2]))
	}
	var others []uint64
	for _, sh := range topo.Shards {
		if sh.ID != sid {
			others = append(others, sh.ID)
		}
	}
	if len(others) == 0 {
		return reply.Error("ERR cannot drain the only shard")
	}
	var slots []uint16
	for _, r := range topo.ShardSlots(sid) {
		for s := int(r.Start); s <= int(r.End); s++ {
			slots = append(slots, uint16(s))
		}
	}
	per := (len(slots) + len(others) - 1) / max(len(others), 1)
	for i, to := range others {
		lo := i * per
		if lo >= len(slots) {
			break
		}
		hi := min(lo+per, len(slots))
		if v := c.migrate(to, slots[lo:hi]); v.Kind == reply.KindError {
			return v
		}
	}
	return c.op(cluster.Op{Op: "remove-shard", Shard: sid})
}

// rebalance evens out the slot counts of all shards, moving slots from
// the fullest shards to the emptiest.
func (c *Plane) rebalance(topo *cluster.Topology) reply.Value {
	n := len(topo.Shards)
	if n == 0 {
		return reply.OK
	}
	want := map[uint64]int{}
	for i, sh := range topo.Shards {
		want[sh.ID] = slot.Count / n
		if i < slot.Count%n {
			want[sh.ID]++
		}
	}
	// Slots to give away, taken from the end of each over-full shard.
	var pool []uint16
	for _, sh := range topo.Shards {
		extra := topo.SlotCount(sh.ID) - want[sh.ID]
		ranges := topo.ShardSlots(sh.ID)
		for i := len(ranges) - 1; i >= 0 && extra > 0; i-- {
			for s := int(ranges[i].End); s >= int(ranges[i].Start) && extra > 0; s-- {
				pool = append(pool, uint16(s))
				extra--
			}
		}
	}
	for s := range slot.Count {
		if topo.Owner(uint16(s)) == 0 {
			pool = append(pool, uint16(s))
		}
	}
	slices.Sort(pool)
	for _, sh := range topo.Shards {
		need := want[sh.ID] - topo.SlotCount(sh.ID)
		if need <= 0 || len(pool) == 0 {
			continue
		}
		take := pool[:min(need, len(pool))]
		pool = pool[len(take):]
		if v := c.migrate(sh.ID, slices.Clone(take)); v.Kind == reply.KindError {
			return v
		}
	}
	return reply.OK
}

// topologyJSON is the directory plus live leaders, for operators and the
// dashboard.
func (c *Plane) topologyJSON(topo *cluster.Topology) reply.Value {
	type shardView struct {
		cluster.Shard
		CurrentLeader uint64 `json:"current_leader"`
		SlotCount     int    `json:"slot_count"`
	}
	v := struct {
		*cluster.Topology
		Shards []shardView `json:"shards"`
		Myself uint64      `json:"myself"`
		// The cluster secret is never shown.
		Secret string `json:"secret,omitempty"`
	}{Topology: topo, Myself: c.id}
	for i := range topo.Shards {
		sh := topo.Shards[i]
		// A node that hosts a replica of the shard reports what that
		// replica knows (0 while it knows no leader); the directory's
		// record can be stale, so it is the answer only for shards the
		// node does not host.
		cur := c.leaderOf(topo, &sh)
		if s := c.host.Shard(sh.ID); s != nil {
			cur = 0
			if id, _, ok := s.Leader(); ok {
				cur = cluster.NodeOf(id)
			}
		}
		v.Shards = append(v.Shards, shardView{Shard: sh, CurrentLeader: cur, SlotCount: topo.SlotCount(sh.ID)})
	}
	b, _ := json.Marshal(v)
	return reply.Bulk(b)
}

func clusterHelp() reply.Value {
	lines := []string{
		"CLUSTER <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
		"COUNTKEYSINSLOT <slot>",
		"    Return the number of keys in <slot>.",
		"GETKEYSINSLOT <slot> <count>",
		"    Return key names stored by current node in a slot.",
		"INFO",
		"    Return information about the cluster.",
		"KEYSLOT <key>",
		"    Return the hash slot for <key>.",
		"LINKS",
		"    Return information about all network links between this node and its peers.",
		"MYID",
		"    Return the node id.",
		"MYSHARDID",
		"    Return the node's shard id.",
		"NODES",
		"    Return cluster configuration seen by node. Output format:",
		"    <id> <ip:port@bus-port[,hostname]> <flags> <master> <pings> <pongs> <epoch> <link> <slot> ...",
		"REPLICAS <node-id>",
		"    Return <node-id> replicas.",
		"SHARDS",
		"    Return information about slot range mappings and the nodes associated with them.",
		"SLOTS",
		"    Return information about slots range mappings. Each range is made of:",
		"    start, end, master and replicas IP addresses, ports and ids",
		"FAILOVER [FORCE|TAKEOVER]",
		"    Make this node the leader of every shard it replicates (graceful Raft leader transfer).",
		"FORGET <node-id>",
		"    Remove a node (that holds no replica) from the cluster.",
		"Cairn operations:",
		"TOPOLOGY",
		"    Return the cluster directory as JSON.",
		"ADDNODE <raft-addr> <client-addr>",
		"    Add a node to the directory; returns its node number (cairn --join does this).",
		"ADDSHARD <node> [<node> ...]",
		"    Create a shard (Raft group) replicated on the given nodes; returns its number.",
		"DELSHARD <shard>",
		"    Remove a shard that owns no slots.",
		"ADDREPLICA <shard> <node> | DELREPLICA <shard> <node> [FORCE]",
		"    Add or remove a replica of a shard; a new replica catches up by snapshot.",
		"    A removal is refused while the shard's group has a membership change in",
		"    progress, has no leader, or would keep fewer live, caught-up replicas",
		"    than a quorum of its new membership (FORCE skips these checks).",
		"REPLACENODE <old-node> <new-node>",
		"    Move every replica held by <old-node> to <new-node>.",
		"MOVESLOTS <shard> <start> <end> [<start> <end> ...]",
		"    Move slot ranges to <shard> online; returns when done.",
		"DRAIN <shard>",
		"    Move all of a shard's slots to the other shards, then remove it.",
		"REBALANCE",
		"    Even out slot counts over all shards.",
		"HELP",
		"    Print this help.",
	}
	vals := make([]reply.Value, len(lines))
	for i, l := range lines {
		vals[i] = reply.Status(l)
	}
	return reply.Array(vals...)
}
