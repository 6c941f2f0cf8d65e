package server

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/cairndb/cairn/server/cluster"
	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/server/resp"
	"github.com/cairndb/cairn/server/shard"
)

// Slot moves (resharding).
//
// A migration in the directory lists slots and a target shard. The meta
// leader's node runs it, a group of slots at a time:
//
//  1. FREEZE on the source: its state machine marks the slots frozen
//     (reads are still served, writes answer TRYAGAIN) and returns their
//     items as of that point in its log.
//  2. IMPORT on the target: the items are added and the target takes the
//     slots. No client reaches the target for them yet: routing follows
//     the directory, which still names the source.
//  3. DROP on the source: the items are deleted and the slots given up;
//     from here the source answers TRYAGAIN for them (the directory has
//     not moved yet) and never serves them again.
//  4. The directory assigns the slots to the target; clients get MOVED.
//
// Every step is a log entry, so it survives a crash of any node, and the
// steps are idempotent in order: a new meta leader resumes by asking the
// source what it still owns. A write is refused (TRYAGAIN) only while its
// slot's group is between steps 1 and 4, a few Raft commits.

const (
	migrateMaxSlots = 128  // slots per group
	migrateMaxKeys  = 1000 // keys per group (about)
)

func (c *clusterNode) runMigration(id uint64) {
	defer c.wg.Done()
	defer func() {
		c.mu.Lock()
		delete(c.migrating, id)
		c.mu.Unlock()
	}()
	for {
		select {
		case <-c.quit:
			return
		default:
		}
		if !c.meta.IsLeader() {
			return // the new meta leader resumes it
		}
		topo := c.machine.Topology()
		var m *cluster.Migration
		for i := range topo.Migrations {
			if topo.Migrations[i].ID == id {
				m = &topo.Migrations[i]
			}
		}
		if m == nil {
			return
		}
		var rem []uint16
		for _, s := range m.Slots {
			if topo.Owner(s) != m.To {
				rem = append(rem, s)
			}
		}
		if len(rem) == 0 {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_, err := c.propose(ctx, cluster.Op{Op: "migration-done", ID: id})
			cancel()
			if err == nil {
				c.log.Info("migration done", "id", id, "to", m.To, "slots", len(m.Slots))
				return
			}
			time.Sleep(100 * time.Millisecond)
			continue
		}
		from := topo.Owner(rem[0])
		group := c.planGroup(from, rem, topo)
		if err := c.moveSlots(from, m.To, group); err != nil {
			c.log.Warn("slot move", "from", from, "to", m.To, "err", err)
			select {
			case <-c.quit:
				return
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
}

// planGroup picks the next slots to move from shard from: consecutive
// candidates owned by it, up to migrateMaxSlots slots or about
// migrateMaxKeys keys (counted on the local replica).
func (c *clusterNode) planGroup(from uint64, rem []uint16, topo *cluster.Topology) []uint16 {
	src := c.host.Shard(from)
	var group []uint16
	keys := 0
	for _, sl := range rem {
		if topo.Owner(sl) != from {
			continue
		}
		n := 0
		if src != nil {
			src.View(func(db *keyspace.DB) { n = db.CountSlot(sl) })
		}
		if len(group) > 0 && (keys+n > migrateMaxKeys || len(group) >= migrateMaxSlots) {
			break
		}
		group = append(group, sl)
		keys += n
	}
	return group
}

// moveSlots moves one group of slots from one shard to another (steps 1-4
// above).
func (c *clusterNode) moveSlots(from, to uint64, slots []uint16) error {
	src, dst := c.slotOps(from), c.slotOps(to)
	status, items, err := src(shard.OpFreeze, slots)
	if err != nil {
		return fmt.Errorf("freeze: %w", err)
	}
	if len(status) != len(slots) {
		return errors.New("freeze: bad status")
	}
	var owned, gone []uint16
	for i, sl := range slots {
		if status[i]&shard.SlotOwned != 0 {
			owned = append(owned, sl)
		} else {
			gone = append(gone, sl)
		}
	}
	if len(owned) > 0 {
		if _, _, err := dst(shard.OpImport, owned, items, []byte("1")); err != nil {
			return fmt.Errorf("import: %w", err)
		}
		if _, _, err := src(shard.OpDrop, owned); err != nil {
			return fmt.Errorf("drop: %w", err)
		}
	}
	if len(gone) > 0 {
		// Given up by an earlier attempt after the import, or never owned
		// by the source (no data): either way the target takes them.
		st, _, err := dst(shard.OpStatus, gone)
		if err != nil {
			return fmt.Errorf("status: %w", err)
		}
		var assign []uint16
		for i, sl := range gone {
			if st[i]&shard.SlotOwned == 0 {
				assign = append(assign, sl)
			}
		}
		if len(assign) > 0 {
			if _, _, err := dst(shard.OpAssign, assign); err != nil {
				return fmt.Errorf("assign: %w", err)
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.propose(ctx, cluster.Op{Op: "assign", Shard: to, Slots: slots}); err != nil {
		return fmt.Errorf("directory: %w", err)
	}
	c.migrated.Add(int64(len(owned)))
	return nil
}

// waitMigration waits until migration id has left the directory.
func (c *clusterNode) waitMigration(ctx context.Context, id uint64) error {
	for {
		found := false
		for _, m := range c.machine.Topology().Migrations {
			if m.ID == id {
				found = true
			}
		}
		if !found {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

type slotOpFunc func(op string, slots []uint16, extra ...[]byte) (status, items []byte, err error)

// slotOps returns how to run slot operations on a shard: through the local
// replica, or else by asking a node that replicates it (CLUSTER SLOTOP),
// so the meta leader can move slots between shards it does not hold.
func (c *clusterNode) slotOps(sid uint64) slotOpFunc {
	if s := c.host.Shard(sid); s != nil {
		return s.SlotOp
	}
	return func(op string, slots []uint16, extra ...[]byte) ([]byte, []byte, error) {
		topo := c.machine.Topology()
		sh := topo.Shard(sid)
		if sh == nil {
			return nil, nil, fmt.Errorf("no shard %d", sid)
		}
		// The leader first (its replica proposes directly), then the rest.
		order := []uint64{c.leaderNode(topo, sid)}
		order = append(order, sh.Replicas...)
		var last error = fmt.Errorf("no live replica of shard %d", sid)
		for _, nid := range order {
			nd := topo.Node(nid)
			if nd == nil || nd.ClientAddr == "" || nid == c.id || c.isDown(nid) {
				continue
			}
			args := append([][]byte{[]byte("CLUSTER"), []byte("SLOTOP"), []byte(strconv.FormatUint(sid, 10)), []byte(op), shard.EncodeSlots(slots)}, extra...)
			out, err := resp.CallMulti(nd.ClientAddr, 30*time.Second, c.n.cfg.RequirePass, args...)
			if err != nil {
				last = err
				continue
			}
			if len(out) != 2 {
				last = errors.New("bad SLOTOP reply")
				continue
			}
			return out[0], out[1], nil
		}
		return nil, nil, last
	}
}
