package control

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cairndb/cairn/server/cluster"
	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/server/resp"
	"github.com/cairndb/cairn/server/shard"
)

// Slot moves (resharding).
//
// A migration in the directory lists slots and a target shard. The meta
// leader's node runs it. It first claims it ("migration-claim"): the
// directory epoch of that op becomes the migration's fencing token, and
// every step below carries (migration, token). Then, a group of slots at
// a time:
//
//  1. PREPARE on the target: its state machine marks the slots it does
//     not own as importing for this migration.
//  2. FREEZE on the source: it marks the slots frozen for this migration
//     (reads are still served, writes answer TRYAGAIN) and returns their
//     items as of that point in its log.
//  3. IMPORT on the target: the items are added and the target takes the
//     slots, which must still be importing for this migration (so a late
//     IMPORT can never overwrite what was written after the move). No
//     client reaches the target for them yet: routing follows the
//     directory, which still names the source.
//  4. DROP on the source: the items are deleted and the slots given up,
//     only if still frozen for this migration; from here the source
//     answers TRYAGAIN for them (the directory has not moved yet) and
//     never serves them again.
//  5. The directory assigns the slots to the target (refused unless the
//     token is the migration's current one); clients get MOVED.
//
// Every step is a log entry, so it survives a crash of any node, and the
// steps are idempotent in order. Each shard keeps, per slot, the highest
// token it has seen and refuses older ones, so a deposed meta leader's late
// step is refused once its successor has touched the slot, and the
// directory refuses its late assign or migration-done. A new meta leader
// claims the migration again and resumes it, moving first the slots a
// previous claimant left frozen (they are the only writes refused).

const (
	migrateMaxSlots = 128  // slots per group
	migrateMaxKeys  = 1000 // keys per group (about)
)

// MigrateHook lets tests stop a slot move between its steps (for example
// to depose the meta leader in the middle) and see how each step ended.
// Step names are "prepare", "freeze", "import", "drop" and "assign".
type MigrateHook struct {
	// Before runs before a step on node's runner, with the step's slots;
	// it may block.
	Before func(node uint64, step string, slots []uint16)
	// After reports a step's outcome.
	After func(node uint64, step string, err error)
}

// TestMigrateHook is nil except in tests.
var TestMigrateHook atomic.Pointer[MigrateHook]

func (c *Plane) hookBefore(step string, slots []uint16) {
	if h := TestMigrateHook.Load(); h != nil && h.Before != nil {
		h.Before(c.id, step, slots)
	}
}

func (c *Plane) hookAfter(step string, err error) {
	if h := TestMigrateHook.Load(); h != nil && h.After != nil {
		h.After(c.id, step, err)
	}
}

// Secret returns the secret nodes authenticate to each other with (""
// before the meta leader has set it).
func (c *Plane) Secret() string { return c.machine.Topology().Secret }

// ensureSecret has the meta leader give the directory a cluster secret if
// it has none (a new cluster, or one from before node authentication).
func (c *Plane) ensureSecret(topo *cluster.Topology) {
	if topo.Secret != "" {
		return
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := c.propose(ctx, cluster.Op{Op: "set-secret", Secret: hex.EncodeToString(b[:])}); err != nil {
		c.log.Debug("set cluster secret", "err", err)
	}
}

// claim makes this node the runner of migration id: it returns the fencing
// token, or 0 once it is no longer the meta leader or the migration is
// gone.
func (c *Plane) claim(id uint64) uint64 {
	for {
		if !c.meta.IsLeader() || c.machine.Topology().Migration(id) == nil {
			return 0
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		epoch, err := c.propose(ctx, cluster.Op{Op: "migration-claim", ID: id})
		cancel()
		if err == nil {
			c.log.Info("migration claimed", "id", id, "epoch", epoch)
			return epoch
		}
		select {
		case <-c.quit:
			return 0
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (c *Plane) runMigration(id uint64) {
	defer c.wg.Done()
	defer func() {
		c.mu.Lock()
		delete(c.migrating, id)
		c.mu.Unlock()
	}()
	epoch := c.claim(id)
	if epoch == 0 {
		return
	}
	f := shard.Fence{Mig: id, Epoch: epoch}
	resumed := false
	var frozen map[uint16]bool // left frozen by a previous claimant
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
		m := topo.Migration(id)
		if m == nil {
			return
		}
		if m.Epoch != epoch {
			c.log.Info("migration claimed by another node", "id", id, "epoch", m.Epoch)
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
			_, err := c.propose(ctx, cluster.Op{Op: "migration-done", ID: id, Epoch: epoch})
			cancel()
			if err == nil {
				c.log.Info("migration done", "id", id, "to", m.To, "slots", len(m.Slots))
				return
			}
			time.Sleep(100 * time.Millisecond)
			continue
		}
		if !resumed {
			frozen, resumed = c.frozenSlots(rem, topo, f), true
		}
		from := topo.Owner(rem[0])
		var group []uint16
		for _, s := range rem {
			if frozen[s] && len(group) < migrateMaxSlots && (len(group) == 0 || topo.Owner(s) == from) {
				from = topo.Owner(s)
				group = append(group, s)
			}
		}
		if len(group) == 0 {
			group = c.planGroup(from, rem, topo)
		}
		if err := c.moveSlots(from, m.To, group, f); err != nil {
			c.log.Warn("slot move", "from", from, "to", m.To, "err", err)
			select {
			case <-c.quit:
				return
			case <-time.After(200 * time.Millisecond):
			}
			continue
		}
		for _, s := range group {
			delete(frozen, s)
		}
	}
}

// frozenSlots asks each source shard which of the remaining slots are
// frozen: a previous meta leader stopped between FREEZE and DROP. They
// are moved first, being the only slots refusing writes.
func (c *Plane) frozenSlots(rem []uint16, topo *cluster.Topology, f shard.Fence) map[uint16]bool {
	bySrc := map[uint64][]uint16{}
	for _, s := range rem {
		bySrc[topo.Owner(s)] = append(bySrc[topo.Owner(s)], s)
	}
	out := map[uint16]bool{}
	for src, slots := range bySrc {
		st, _, err := c.slotOps(src)(shard.OpStatus, f, slots)
		if err != nil || len(st) != len(slots) {
			continue
		}
		for i, s := range slots {
			if st[i]&shard.SlotFrozen != 0 {
				out[s] = true
			}
		}
	}
	if len(out) > 0 {
		c.log.Info("resuming a migration with frozen slots", "id", f.Mig, "frozen", len(out))
	}
	return out
}

// planGroup picks the next slots to move from shard from: consecutive
// candidates owned by it, up to migrateMaxSlots slots or about
// migrateMaxKeys keys (counted on the local replica).
func (c *Plane) planGroup(from uint64, rem []uint16, topo *cluster.Topology) []uint16 {
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

// step runs one fenced slot operation of a move, between the test hooks.
func (c *Plane) step(name string, ops slotOpFunc, op string, f shard.Fence, slots []uint16, extra ...[]byte) (status, items []byte, err error) {
	c.hookBefore(name, slots)
	status, items, err = ops(op, f, slots, extra...)
	if err == nil && len(status) != len(slots) {
		err = errors.New("bad status")
	}
	c.hookAfter(name, err)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	return status, items, nil
}

// copyFunctionsFor bounds the retries of a failed copy of function
// libraries before a slot move goes on without it.
const copyFunctionsFor = 5 * time.Second

// moveSlots moves one group of slots from one shard to another (steps 1-5
// above) under fence f.
func (c *Plane) moveSlots(from, to uint64, slots []uint16, f shard.Fence) error {
	// A shard just added may have no leader endpoint yet, or answer
	// slowly under load: try the copy (safe to repeat) for a few seconds
	// before the slots move without it.
	err := c.copyFunctions(from, to)
	for deadline := time.Now().Add(copyFunctionsFor); err != nil && time.Now().Before(deadline); {
		time.Sleep(200 * time.Millisecond)
		err = c.copyFunctions(from, to)
	}
	if err != nil {
		c.log.Warn("function libraries not copied to the shard taking slots", "from", from, "to", to, "err", err)
	}
	src, dst := c.slotOps(from), c.slotOps(to)
	dstStatus, _, err := c.step("prepare", dst, shard.OpPrepare, f, slots)
	if err != nil {
		return err
	}
	// The target takes every slot it does not own yet: with the source's
	// items for those the source owns, with nothing for those it never
	// owned. A slot both own was imported by an earlier attempt that
	// stopped before DROP; the source has been frozen since (no write
	// since the items were taken), so it is frozen again for this claim
	// (DROP needs that) but its items are not copied again.
	var take, again []uint16
	for i, sl := range slots {
		if dstStatus[i]&shard.SlotOwned == 0 {
			take = append(take, sl)
		} else {
			again = append(again, sl)
		}
	}
	srcOwned := map[uint16]bool{}
	var items []byte
	for pi, part := range [][]uint16{take, again} {
		if len(part) == 0 {
			continue
		}
		status, it, err := c.step("freeze", src, shard.OpFreeze, f, part)
		if err != nil {
			return err
		}
		for i, sl := range part {
			if status[i]&shard.SlotOwned != 0 {
				srcOwned[sl] = true
			}
		}
		if pi == 0 {
			items = it
		}
	}
	var drop []uint16
	for _, sl := range slots {
		if srcOwned[sl] {
			drop = append(drop, sl)
		}
	}
	if len(take) > 0 {
		if _, _, err := c.step("import", dst, shard.OpImport, f, take, items); err != nil {
			return err
		}
	}
	if len(drop) > 0 {
		if _, _, err := c.step("drop", src, shard.OpDrop, f, drop); err != nil {
			return err
		}
	}
	c.hookBefore("assign", slots)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = c.propose(ctx, cluster.Op{Op: "assign", Shard: to, Slots: slots, ID: f.Mig, Epoch: f.Epoch})
	c.hookAfter("assign", err)
	if err != nil {
		return fmt.Errorf("directory: %w", err)
	}
	c.migrated.Add(int64(len(drop)))
	return nil
}

// waitMigration waits until migration id has left the directory.
func (c *Plane) waitMigration(ctx context.Context, id uint64) error {
	for {
		if c.machine.Topology().Migration(id) == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

type slotOpFunc func(op string, f shard.Fence, slots []uint16, extra ...[]byte) (status, items []byte, err error)

// slotOps returns how to run slot operations on a shard: through the local
// replica, or else (none here, or it cannot reach its leader) by asking a
// node that replicates it (CLUSTER SLOTOP, authenticated as a node), so
// the meta leader can move slots between shards it does not hold. A step
// that timed out may still apply; every step is safe to apply twice.
func (c *Plane) slotOps(sid uint64) slotOpFunc {
	remote := c.remoteSlotOps(sid)
	s := c.host.Shard(sid)
	if s == nil {
		return remote
	}
	return func(op string, f shard.Fence, slots []uint16, extra ...[]byte) ([]byte, []byte, error) {
		status, items, err := s.SlotOp(op, f, slots, extra...)
		if errors.Is(err, shard.ErrTimeout) || errors.Is(err, shard.ErrNotLeader) {
			if st, it, rerr := remote(op, f, slots, extra...); rerr == nil || strings.HasPrefix(rerr.Error(), shard.StalePrefix) {
				return st, it, rerr
			}
		}
		return status, items, err
	}
}

func (c *Plane) remoteSlotOps(sid uint64) slotOpFunc {
	return func(op string, f shard.Fence, slots []uint16, extra ...[]byte) ([]byte, []byte, error) {
		topo := c.machine.Topology()
		sh := topo.Shard(sid)
		if sh == nil {
			return nil, nil, fmt.Errorf("no shard %d", sid)
		}
		if topo.Secret == "" {
			return nil, nil, errors.New("no cluster secret yet")
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
			args := append([][]byte{[]byte("CLUSTER"), []byte("SLOTOP"), []byte(strconv.FormatUint(sid, 10)), []byte(op), shard.EncodeSlots(slots), f.Encode()}, extra...)
			out, err := resp.CallNodeWith(c.cfg.Dial, nd.ClientAddr, 30*time.Second, topo.Secret, args...)
			if err != nil {
				last = err
				if strings.HasPrefix(err.Error(), shard.StalePrefix) {
					return nil, nil, err // refused by the shard: final
				}
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
