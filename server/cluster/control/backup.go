package control

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/cairndb/cairn/server/cluster"
	"github.com/cairndb/cairn/server/reply"
	"github.com/cairndb/cairn/server/resp"
	"github.com/cairndb/cairn/server/shard"
)

// Cluster backups (the node's backup store is in package backup; the
// server wires it). A backup of a cluster holds every shard of the
// directory, each consistent on its own: the snapshot view of one
// replica at that replica's applied index. A shard this node hosts is
// backed up from its own replica (leader or follower: a follower's view
// is an earlier state of the same log, as consistent as the leader's); a
// shard it does not host is asked of its leader's node with the internal
// CLUSTER BACKUPSHARD, whose reply carries the stream. Either way taking
// the view holds the shard's write lock for the O(1) copy only.

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

// NodeID is this node's ID.
func (c *Plane) NodeID() uint64 { return c.id }

// backupCallTimeout bounds a remote shard's backup (the whole stream comes
// back in one reply).
const backupCallTimeout = 10 * time.Minute

// WriteShardBackup writes a snapshot stream of shard sid to w: this
// node's replica's view if it hosts one, else the one its leader's node
// takes.
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
		out, err := resp.CallNodeWith(c.cfg.Dial, addr, backupCallTimeout, topo.Secret,
			[]byte("CLUSTER"), []byte("BACKUPSHARD"), []byte(strconv.FormatUint(sid, 10)))
		if err != nil {
			last = fmt.Errorf("shard %d from %s: %w", sid, addr, err)
			continue
		}
		if len(out) != 3 {
			return shard.BackupPoint{}, fmt.Errorf("shard %d from %s: bad reply", sid, addr)
		}
		idx, err1 := strconv.ParseUint(string(out[0]), 10, 64)
		t, err2 := strconv.ParseInt(string(out[1]), 10, 64)
		if err1 != nil || err2 != nil {
			return shard.BackupPoint{}, fmt.Errorf("shard %d from %s: bad reply", sid, addr)
		}
		if _, err := w.Write(out[2]); err != nil {
			return shard.BackupPoint{}, err
		}
		return shard.BackupPoint{Index: idx, Time: t}, nil
	}
	return shard.BackupPoint{}, last
}

// backupShardCmd serves CLUSTER BACKUPSHARD <shard> (internal): a snapshot
// view of this node's replica of the shard, as [index, time ms, stream].
func (c *Plane) backupShardCmd(args [][]byte) reply.Value {
	if len(args) != 3 {
		return reply.Error("ERR wrong number of arguments for 'cluster|backupshard' command")
	}
	sid, ok := parseShardRef(args[2])
	s := c.host.Shard(sid)
	if !ok || s == nil {
		return reply.Error("ERR this node holds no replica of shard " + string(args[2]))
	}
	var buf bytes.Buffer
	p, err := s.WriteBackup(&buf)
	if err != nil {
		return reply.Error("ERR " + err.Error())
	}
	return reply.Array(reply.BulkString(strconv.FormatUint(p.Index, 10)), reply.BulkString(strconv.FormatInt(p.Time, 10)), reply.Bulk(buf.Bytes()))
}

// Directory returns the directory this node's replica holds (read-only).
func (c *Plane) Directory() *cluster.Topology { return c.machine.Topology() }
