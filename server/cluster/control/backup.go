package control

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/cairndb/cairn/server/cluster"
	"github.com/cairndb/cairn/server/shard"
)

// Cluster backups (the node's backup store is in package backup; the
// server wires it). A backup of a cluster holds every shard of the
// directory, each consistent on its own: the snapshot view of one
// replica at that replica's applied index. A shard this node hosts is
// backed up from its own replica (leader or follower: a follower's view
// is an earlier state of the same log, as consistent as the leader's); a
// shard it does not host is asked of its leader's node with the internal
// CLUSTER BACKUPSHARD, read in chunks (backupstream.go). Either way
// taking the view holds the shard's write lock for the O(1) copy only.

// BackupShard is one shard of the directory as a backup records it.
type BackupShard struct {
	ID uint64
	// Slots are the ranges the directory assigns the shard (inclusive).
	Slots [][2]int
}

// BackupShards lists the directory's shards with their slots.
func (c *Plane) BackupShards() []BackupShard {
	topo := c.machine.Topology()
	out := make([]BackupShard, 0, len(topo.Shards))
	for _, sh := range topo.Shards {
		bs := BackupShard{ID: sh.ID}
		for _, r := range topo.ShardSlots(sh.ID) {
			bs.Slots = append(bs.Slots, [2]int{int(r.Start), int(r.End)})
		}
		out = append(out, bs)
	}
	return out
}

// DirectoryJSON is the directory as a backup records it (the slot map,
// shards, nodes, replicated configuration with the ACL users, FT
// definitions), without the cluster secret.
func (c *Plane) DirectoryJSON() ([]byte, error) {
	topo := *c.machine.Topology()
	topo.Secret = ""
	return json.MarshalIndent(&topo, "", "  ")
}

// DirectoryLeader tells whether this node's replica leads the cluster
// directory (the node that takes scheduled backups).
func (c *Plane) DirectoryLeader() bool { return c.meta.IsLeader() }

// NodeID is this node's ID.
func (c *Plane) NodeID() uint64 { return c.id }

// WriteShardBackup writes a snapshot stream of shard sid to w: this
// node's replica's view if it hosts one, else the one its leader's node
// takes, read in chunks (backupstream.go).
func (c *Plane) WriteShardBackup(sid uint64, w io.Writer) (shard.BackupPoint, error) {
	if s := c.host.Shard(sid); s != nil {
		return s.WriteBackup(w)
	}
	topo := c.machine.Topology()
	if topo.Secret == "" {
		return shard.BackupPoint{}, errors.New("no cluster secret yet: cannot reach the other nodes")
	}
	var last error
	for attempt := 0; attempt < 5; attempt++ {
		if attempt > 0 {
			time.Sleep(200 * time.Millisecond)
			topo = c.machine.Topology()
		}
		addr := c.leaderAddr(topo, sid)
		if addr == "" {
			last = fmt.Errorf("shard %d has no known leader", sid)
			continue
		}
		p, wrote, err := c.fetchShardBackup(addr, topo.Secret, sid, w)
		if err == nil {
			return p, nil
		}
		last = fmt.Errorf("shard %d from %s: %w", sid, addr, err)
		if wrote {
			// Part of the stream is in w already: the caller starts over.
			return shard.BackupPoint{}, last
		}
	}
	return shard.BackupPoint{}, last
}

// LocalReplicas returns the shard replicas this node hosts, by shard ID
// (the log archive follows each of them).
func (c *Plane) LocalReplicas() []*shard.Shard {
	var out []*shard.Shard
	for _, id := range c.LocalShards() {
		if s := c.host.Shard(id); s != nil {
			out = append(out, s)
		}
	}
	return out
}

// Directory returns the directory this node's replica holds (read-only).
func (c *Plane) Directory() *cluster.Topology { return c.machine.Topology() }
