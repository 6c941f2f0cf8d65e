package control

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/cairndb/cairn/server/cluster"
	"github.com/cairndb/cairn/server/slot"
)

// Multi-region (package regions): a secondary region's cluster.
//
// A secondary region's shards hold exactly what the primary's shards
// logged (shipped entries, applied with their own time and seed): slot
// ownership inside each shard (slot ops, migration steps), replicated
// configuration, FT indexes. So while the region is a secondary the
// control plane proposes nothing into its shards — no slot assignment
// (syncSlots), no configuration or FT sync, no migration: those arrive
// from the primary — and its shards are passive (no expiry, eviction or
// clock entries of their own). Its directory only routes: it follows the
// primary's slot layout (Layout / MirrorLayout, fetched over the region
// link by the secondary's directory leader) and places the region's own
// nodes.

// SetRegionSecondary turns the secondary mode on or off (a promotion or
// a demotion) and makes every local shard passive or active.
func (c *Plane) SetRegionSecondary(on bool) {
	c.regionRO.Store(on)
	for _, id := range c.LocalShards() {
		if s := c.host.Shard(id); s != nil {
			s.SetPassive(on)
		}
	}
}

// RegionSecondary tells whether the plane runs as a secondary region's.
func (c *Plane) RegionSecondary() bool { return c.regionRO.Load() }

// AssignedShards lists the shards the directory places a replica of on
// this node (started or not).
func (c *Plane) AssignedShards() []uint64 {
	var out []uint64
	for _, sh := range c.machine.Topology().Shards {
		if sh.HasReplica(c.id) {
			out = append(out, sh.ID)
		}
	}
	return out
}

// IsMetaLeader tells whether this node leads the directory.
func (c *Plane) IsMetaLeader() bool { return c.meta.IsLeader() }

// NodeClientAddrs lists the client addresses of the region's nodes.
func (c *Plane) NodeClientAddrs() []string {
	var out []string
	for _, nd := range c.machine.Topology().Nodes {
		if nd.ClientAddr != "" {
			out = append(out, nd.ClientAddr)
		}
	}
	return out
}

// ErrLayoutDiverged: the primary region's layout cannot be mirrored
// here (MirrorLayout).
var ErrLayoutDiverged = errors.New("region layout diverged")

// layoutVersion is the region layout encoding's version.
const layoutVersion = 1

// Layout encodes the directory's layout for a secondary region: version
// byte, uvarint shard count, shard IDs, uvarint range count, then per
// range (start, end, shard).
func (c *Plane) Layout() []byte {
	topo := c.machine.Topology()
	b := []byte{layoutVersion}
	b = binary.AppendUvarint(b, uint64(len(topo.Shards)))
	for _, sh := range topo.Shards {
		b = binary.AppendUvarint(b, sh.ID)
	}
	var rs []cluster.SlotRange
	for _, sh := range topo.Shards {
		rs = append(rs, topo.ShardSlots(sh.ID)...)
	}
	b = binary.AppendUvarint(b, uint64(len(rs)))
	for _, r := range rs {
		b = binary.AppendUvarint(b, uint64(r.Start))
		b = binary.AppendUvarint(b, uint64(r.End))
		b = binary.AppendUvarint(b, r.Shard)
	}
	// Then, as JSON, the replicated configuration and FT definitions,
	// and each shard's initial configuration (a mirrored shard starts
	// with it).
	ext := layoutJSON{regionDefs: regionDefs{topo.Config, topo.ConfigEpoch, topo.FTIndexes, topo.FTAliases, topo.FTEpoch}}
	for _, sh := range topo.Shards {
		if ext.ShardInit == nil {
			ext.ShardInit = map[uint64]shardInit{}
		}
		ext.ShardInit[sh.ID] = shardInit{sh.InitConfig, sh.InitConfigEpoch}
	}
	defs, _ := json.Marshal(ext)
	return append(b, defs...)
}

// layoutJSON is the JSON part of the layout: the definitions a secondary
// takes verbatim and, per shard, the initial configuration (absent in a
// layout from an older primary: a mirrored shard then starts with the
// secondary directory's configuration).
type layoutJSON struct {
	regionDefs
	ShardInit map[uint64]shardInit `json:"shard_init,omitempty"`
}

type shardInit struct {
	Config map[string]string `json:"config,omitempty"`
	Epoch  uint64            `json:"epoch,omitempty"`
}

// regionDefs is the part of the directory a secondary takes verbatim.
type regionDefs struct {
	Config      map[string]string   `json:"config,omitempty"`
	ConfigEpoch uint64              `json:"config_epoch,omitempty"`
	FTIndexes   map[string][][]byte `json:"ft_indexes,omitempty"`
	FTAliases   map[string]string   `json:"ft_aliases,omitempty"`
	FTEpoch     uint64              `json:"ft_epoch,omitempty"`
}

// decodeLayout reverses Layout: the shard IDs, each slot's owner and
// the definitions.
func decodeLayout(b []byte) ([]uint64, []uint64, *layoutJSON, error) {
	shards, owners, rest, err := decodeSlots(b)
	if err != nil {
		return nil, nil, nil, err
	}
	var defs layoutJSON
	if err := json.Unmarshal(rest, &defs); err != nil {
		return nil, nil, nil, fmt.Errorf("region layout: definitions: %w", err)
	}
	return shards, owners, &defs, nil
}

func decodeSlots(b []byte) ([]uint64, []uint64, []byte, error) {
	if len(b) == 0 || b[0] != layoutVersion {
		return nil, nil, nil, errors.New("region layout: unknown version (a newer primary?)")
	}
	b = b[1:]
	next := func() (uint64, error) {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			return 0, errors.New("region layout: truncated")
		}
		b = b[n:]
		return v, nil
	}
	ns, err := next()
	if err != nil || ns > slot.Count {
		return nil, nil, nil, errors.New("region layout: bad shard count")
	}
	shards := make([]uint64, ns)
	for i := range shards {
		if shards[i], err = next(); err != nil {
			return nil, nil, nil, err
		}
	}
	nr, err := next()
	if err != nil || nr > slot.Count {
		return nil, nil, nil, errors.New("region layout: bad range count")
	}
	owners := make([]uint64, slot.Count)
	for range nr {
		var v [3]uint64
		for i := range v {
			if v[i], err = next(); err != nil {
				return nil, nil, nil, err
			}
		}
		if v[0] > v[1] || v[1] >= slot.Count {
			return nil, nil, nil, errors.New("region layout: bad range")
		}
		for s := v[0]; s <= v[1]; s++ {
			owners[s] = v[2]
		}
	}
	return shards, owners, b, nil
}

// MirrorLayout makes this (secondary) region's directory follow the
// primary's layout: shards the primary has and this region lacks are
// added (under the same ID: only when the directory's next shard ID is
// that one), and slots are assigned to the shard the primary's directory
// names. Only the directory leader acts; the directory's own log makes
// the change replicated. It does not touch the shards (their slot
// ownership arrives in their shipped logs).
func (c *Plane) MirrorLayout(b []byte) error {
	if !c.regionRO.Load() || !c.meta.IsLeader() {
		return nil
	}
	shards, owners, defs, err := decodeLayout(b)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	topo := c.machine.Topology()
	for _, id := range slices.Sorted(slices.Values(shards)) {
		if topo.Shard(id) != nil {
			continue
		}
		if id < topo.NextShardID {
			// This directory gave the ID to a shard of its own (added
			// while this region was a primary, then removed): the
			// primary's shard cannot take it here.
			return fmt.Errorf("%w: the primary region has shard %d, an ID this region's directory used before (its next shard ID is %d); "+
				"the shard's data is not mirrored: rebuild this region as a secondary from empty data directories", ErrLayoutDiverged, id, topo.NextShardID)
		}
		var reps []uint64
		n := c.cfg.Replicas
		if n <= 0 && len(topo.Shards) > 0 {
			n = len(topo.Shards[0].Replicas)
		}
		n = max(1, min(n, len(topo.Nodes)))
		for i := range n {
			reps = append(reps, topo.Nodes[(int(id)-1+i)%len(topo.Nodes)].ID)
		}
		op := cluster.Op{Op: "add-shard", Replicas: reps}
		in, ok := defs.ShardInit[id]
		if id != topo.NextShardID || (ok && (in.Epoch != topo.ConfigEpoch || !maps.Equal(in.Config, topo.Config))) {
			// The primary's ID (past IDs the primary used and removed
			// before this region saw them) and its initial
			// configuration. An op older binaries do not know: their
			// directory halts on it rather than diverge.
			op = cluster.Op{Op: "region-add-shard", Shard: id, Replicas: reps, Config: in.Config, ConfigEpoch: in.Epoch}
		}
		got, err := c.propose(ctx, op)
		if err != nil {
			return fmt.Errorf("add shard %d: %w", id, err)
		}
		c.log.Info("region: added a shard the primary has", "shard", got, "replicas", reps)
		topo = c.machine.Topology()
	}
	moves := map[uint64][]uint16{}
	for s, owner := range owners {
		if owner != 0 && topo.Owner(uint16(s)) != owner && topo.Shard(owner) != nil {
			moves[owner] = append(moves[owner], uint16(s))
		}
	}
	for to, slots := range moves {
		if _, err := c.propose(ctx, cluster.Op{Op: "assign", Shard: to, Slots: slots}); err != nil {
			return fmt.Errorf("assign %d slots to shard %d: %w", len(slots), to, err)
		}
		c.log.Info("region: slots follow the primary's layout", "shard", to, "slots", len(slots))
	}
	if len(moves) > 0 {
		c.poke()
	}
	topo = c.machine.Topology()
	mine, _ := json.Marshal(regionDefs{topo.Config, topo.ConfigEpoch, topo.FTIndexes, topo.FTAliases, topo.FTEpoch})
	theirs, _ := json.Marshal(defs.regionDefs)
	if string(mine) != string(theirs) {
		if _, err := c.propose(ctx, cluster.Op{Op: "region-mirror", Config: defs.Config, ConfigEpoch: defs.ConfigEpoch,
			FTIndexes: defs.FTIndexes, FTAliases: defs.FTAliases, FTEpoch: defs.FTEpoch}); err != nil {
			return fmt.Errorf("mirror the configuration and FT definitions: %w", err)
		}
	}
	return nil
}
