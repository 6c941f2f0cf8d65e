// Package cluster holds a Cairn cluster's directory: which nodes exist,
// which shards (Raft groups) they replicate, which shard owns each of the
// 16384 hash slots, and the slot moves under way. The directory is itself a
// small replicated state machine (the meta group), so every change is
// linearizable and every node can answer the topology from its replica.
//
// The package is pure: no network, no Raft, no clock. The control plane
// (package control, server/cluster/control) runs it in a meta group and
// acts on it.
package cluster

import (
	"fmt"
	"maps"
	"slices"

	"github.com/cairndb/cairn/server/slot"
)

// MetaShardID is the Raft group ID of the meta group; keyspace shards are
// numbered from 1.
const MetaShardID = 1 << 40

// Node is one cairn process.
type Node struct {
	ID         uint64 `json:"id"`
	RaftAddr   string `json:"raft"`
	ClientAddr string `json:"client,omitempty"`
	// Version is the highest format version the node's binary
	// understands (0: a binary from before versions, i.e. 1).
	Version uint8 `json:"version,omitempty"`
	// Endpoints are the node's per-replica client addresses, by shard:
	// the endpoint of (node, shard) presents itself to cluster clients as
	// one Redis Cluster node, master of the shard's slots while this
	// node's replica leads the shard, else its replica. Replaced as a
	// whole by "announce"; never changed in place.
	Endpoints map[uint64]string `json:"endpoints,omitempty"`
}

// Endpoint returns the client address of node's endpoint for shard, or
// its main client address when it has announced none (a node from before
// endpoints).
func (n *Node) Endpoint(shard uint64) string {
	if a := n.Endpoints[shard]; a != "" {
		return a
	}
	return n.ClientAddr
}

// Shard is one keyspace Raft group.
type Shard struct {
	ID uint64 `json:"id"`
	// Replicas are the nodes that should hold a replica; the first is the
	// preferred leader.
	Replicas []uint64 `json:"replicas"`
	// Initial are the members the group was created with; other replicas
	// join it.
	Initial []uint64 `json:"initial"`
	// Leader is the last leader reported (a routing hint) and Term its
	// Raft term.
	Leader uint64 `json:"leader,omitempty"`
	Term   uint64 `json:"term,omitempty"`
	// InitSlots are the slots the shard owned when it was created (the
	// bootstrap layout): every replica's state machine starts from them,
	// so the log replays identically everywhere.
	InitSlots []SlotRange `json:"init_slots,omitempty"`
	// InitConfig is the directory's replicated configuration (Config)
	// when the shard was created, at InitConfigEpoch: every replica's
	// state machine starts from it, like InitSlots.
	InitConfig      map[string]string `json:"init_config,omitempty"`
	InitConfigEpoch uint64            `json:"init_config_epoch,omitempty"`
	// ConfigApplied is the latest ConfigEpoch the shard's leader reported
	// applied.
	ConfigApplied uint64 `json:"config_applied,omitempty"`
	// InitState, for a shard of a cluster restored from a backup, is the
	// SHA-256 of the snapshot stream every replica's state machine starts
	// from (cairn restore writes it into each node's data directory), as
	// InitSlots are for a new shard: the log replays identically on it
	// everywhere. "" for a shard that starts empty. Directory format 2.
	InitState string `json:"init_state,omitempty"`
	// Gen counts, per node that ever held a replica, how many times it
	// was added again after a removal: Raft never reuses a replica ID, so
	// a re-added node gets a new one (see ReplicaID).
	Gen map[uint64]uint32 `json:"gen,omitempty"`
}

// ReplicaID is node's Raft replica ID in the shard: the node ID in the
// low 32 bits, the generation above.
func (s *Shard) ReplicaID(node uint64) uint64 { return uint64(s.Gen[node])<<32 | node }

// NodeOf returns the node of a Raft replica ID.
func NodeOf(replicaID uint64) uint64 { return replicaID & (1<<32 - 1) }

// Migration moves Slots to shard To, a few slots at a time. A slot is done
// when the directory assigns it to To.
//
// Epoch is the fencing token of the meta leader running the move: the
// directory epoch of its latest "migration-claim". Every step it sends to
// a shard carries (ID, Epoch); shards refuse steps older than one they
// have seen, and the directory refuses a fenced "assign" or
// "migration-done" whose epoch is not the migration's current one. 0:
// not claimed yet (or a directory written before fencing).
type Migration struct {
	ID    uint64   `json:"id"`
	Slots []uint16 `json:"slots"`
	To    uint64   `json:"to"`
	Epoch uint64   `json:"claim_epoch,omitempty"`
}

// Topology is one version of the directory. Values handed out are never
// changed; each change makes a new Topology.
type Topology struct {
	Bootstrapped bool        `json:"bootstrapped"`
	Epoch        uint64      `json:"epoch"`
	Nodes        []Node      `json:"nodes"`
	Shards       []Shard     `json:"shards"`
	Slots        []SlotRange `json:"slots"`
	Migrations   []Migration `json:"migrations,omitempty"`
	NextNodeID   uint64      `json:"next_node"`
	NextShardID  uint64      `json:"next_shard"`
	NextMigID    uint64      `json:"next_migration"`
	// Config is the cluster's replicated configuration (keyspace.Config
	// parameters changed from their defaults, canonical names and values)
	// and ConfigEpoch counts its changes. Every shard applies it through
	// its own log (see server/shard/DESIGN.md).
	Config      map[string]string `json:"config,omitempty"`
	ConfigEpoch uint64            `json:"config_epoch,omitempty"`
	// FTIndexes (index name → FT.CREATE arguments from the name on) and
	// FTAliases (alias → index) are the cluster's FT.* definitions, and
	// FTEpoch counts their changes (ft.go). Each shard's leader brings
	// its shard up to them through the shard's log.
	FTIndexes map[string][][]byte `json:"ft_indexes,omitempty"`
	FTAliases map[string]string   `json:"ft_aliases,omitempty"`
	FTEpoch   uint64              `json:"ft_epoch,omitempty"`
	// Secret authenticates nodes to each other on their client ports
	// (AUTH cairn-node <secret>): internal commands need it. Set once by
	// the meta leader ("set-secret"); never shown to clients.
	Secret string `json:"secret,omitempty"`
	// Format is the snapshot's format version (Save sets it; absent: 1).
	Format uint8 `json:"format,omitempty"`

	owner [slot.Count]uint64 // expanded Slots
}

// SlotRange is an inclusive range of slots owned by one shard.
type SlotRange struct {
	Start uint16 `json:"start"`
	End   uint16 `json:"end"`
	Shard uint64 `json:"shard"`
}

// Owner returns the shard owning slot s (0 if none).
func (t *Topology) Owner(s uint16) uint64 { return t.owner[s] }

// Node returns the node with id, or nil.
func (t *Topology) Node(id uint64) *Node {
	i, ok := slices.BinarySearchFunc(t.Nodes, id, func(n Node, id uint64) int { return cmpU(n.ID, id) })
	if !ok {
		return nil
	}
	return &t.Nodes[i]
}

// Shard returns the shard with id, or nil.
func (t *Topology) Shard(id uint64) *Shard {
	i, ok := slices.BinarySearchFunc(t.Shards, id, func(s Shard, id uint64) int { return cmpU(s.ID, id) })
	if !ok {
		return nil
	}
	return &t.Shards[i]
}

// ShardSlots returns the ranges shard id owns, in slot order.
func (t *Topology) ShardSlots(id uint64) []SlotRange {
	var out []SlotRange
	for _, r := range t.Slots {
		if r.Shard == id {
			out = append(out, r)
		}
	}
	return out
}

// SlotCount returns how many slots shard id owns.
func (t *Topology) SlotCount(id uint64) int {
	n := 0
	for _, r := range t.Slots {
		if r.Shard == id {
			n += int(r.End-r.Start) + 1
		}
	}
	return n
}

// Migration returns migration id, or nil.
func (t *Topology) Migration(id uint64) *Migration {
	for i := range t.Migrations {
		if t.Migrations[i].ID == id {
			return &t.Migrations[i]
		}
	}
	return nil
}

// Migrating returns the migration that includes slot s, or nil.
func (t *Topology) Migrating(s uint16) *Migration {
	for i := range t.Migrations {
		if slices.Contains(t.Migrations[i].Slots, s) {
			return &t.Migrations[i]
		}
	}
	return nil
}

// HasReplica tells whether node holds (should hold) a replica of shard.
func (s *Shard) HasReplica(node uint64) bool { return slices.Contains(s.Replicas, node) }

func cmpU(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// rebuildRanges recomputes Slots from owner.
func (t *Topology) rebuildRanges() {
	t.Slots = t.Slots[:0]
	start := 0
	for i := 1; i <= slot.Count; i++ {
		if i == slot.Count || t.owner[i] != t.owner[start] {
			if t.owner[start] != 0 {
				t.Slots = append(t.Slots, SlotRange{Start: uint16(start), End: uint16(i - 1), Shard: t.owner[start]})
			}
			start = i
		}
	}
}

// expand recomputes owner from Slots (after decoding).
func (t *Topology) expand() error {
	clear(t.owner[:])
	for _, r := range t.Slots {
		if r.Start > r.End || int(r.End) >= slot.Count {
			return fmt.Errorf("cluster: bad slot range %d-%d", r.Start, r.End)
		}
		for s := int(r.Start); s <= int(r.End); s++ {
			t.owner[s] = r.Shard
		}
	}
	return nil
}

// clone returns a deep copy to change.
func (t *Topology) clone() *Topology {
	c := &Topology{
		Bootstrapped: t.Bootstrapped, Epoch: t.Epoch,
		Nodes: slices.Clone(t.Nodes), Shards: make([]Shard, len(t.Shards)),
		Slots: slices.Clone(t.Slots), Migrations: make([]Migration, len(t.Migrations)),
		NextNodeID: t.NextNodeID, NextShardID: t.NextShardID, NextMigID: t.NextMigID,
		Config: maps.Clone(t.Config), ConfigEpoch: t.ConfigEpoch,
		FTIndexes: t.FTIndexes, FTAliases: t.FTAliases, FTEpoch: t.FTEpoch, // replaced, never changed (ft.go)
		Secret: t.Secret, owner: t.owner,
	}
	for i, s := range t.Shards {
		s.Replicas, s.Initial = slices.Clone(s.Replicas), slices.Clone(s.Initial)
		s.Gen = maps.Clone(s.Gen)
		s.InitSlots = slices.Clone(s.InitSlots)
		s.InitConfig = maps.Clone(s.InitConfig)
		c.Shards[i] = s
	}
	for i, m := range t.Migrations {
		m.Slots = slices.Clone(m.Slots)
		c.Migrations[i] = m
	}
	return c
}
