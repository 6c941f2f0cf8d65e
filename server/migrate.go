package server

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cairndb/cairn/server/cluster"
	"github.com/cairndb/cairn/server/keyspace"
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
	src, dst := c.host.Shard(from), c.host.Shard(to)
	if src == nil || dst == nil {
		return fmt.Errorf("node %d holds no replica of shard %d or %d; run moves on a node that replicates both", c.id, from, to)
	}
	status, items, err := src.SlotOp(shard.OpFreeze, slots)
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
		if _, _, err := dst.SlotOp(shard.OpImport, owned, items, []byte("1")); err != nil {
			return fmt.Errorf("import: %w", err)
		}
		if _, _, err := src.SlotOp(shard.OpDrop, owned); err != nil {
			return fmt.Errorf("drop: %w", err)
		}
	}
	if len(gone) > 0 {
		// Given up by an earlier attempt after the import, or never owned
		// by the source (no data): either way the target takes them.
		st, _, err := dst.SlotOp(shard.OpStatus, gone)
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
			if _, _, err := dst.SlotOp(shard.OpAssign, assign); err != nil {
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
