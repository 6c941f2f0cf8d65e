package cluster

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"runtime/debug"
	"slices"
	"sync/atomic"

	"github.com/cairndb/cairn/server/slot"
)

// Op is one directory change, as proposed to the meta log (JSON).
type Op struct {
	Op string `json:"op"`
	// bootstrap
	Nodes    []Node `json:"nodes,omitempty"`
	NShards  int    `json:"nshards,omitempty"`
	NReplica int    `json:"nreplicas,omitempty"`
	// node, shard, migration arguments
	ID         uint64   `json:"id,omitempty"`
	RaftAddr   string   `json:"raft,omitempty"`
	ClientAddr string   `json:"client,omitempty"`
	Shard      uint64   `json:"shard,omitempty"`
	Replicas   []uint64 `json:"replicas,omitempty"`
	Slots      []uint16 `json:"slots,omitempty"`
	Term       uint64   `json:"term,omitempty"`
	// config-set: replicated parameters (canonical names and values)
	Config map[string]string `json:"config,omitempty"`
	// Epoch fences "assign" and "migration-done" of a migration (ID): the
	// migration's claim epoch. 0 in ops written before fencing.
	Epoch  uint64 `json:"epoch,omitempty"`
	Secret string `json:"secret,omitempty"`
	// Version is the highest format version the node's binary
	// understands (announce, add-node); see version.go.
	Version uint8 `json:"version,omitempty"`
	// V is the op's own format version (absent: 1). A directory that
	// meets a newer one stops (version.go).
	V uint8 `json:"v,omitempty"`
	// Endpoints (announce) replaces the node's per-shard client
	// endpoints when set.
	Endpoints map[uint64]string `json:"endpoints,omitempty"`
	// FT (op "ft") is an FT write command, name first (ft.go).
	FT [][]byte `json:"ft,omitempty"`
	// region-mirror: a secondary region's directory takes the primary's
	// replicated configuration and FT definitions verbatim (with Config
	// above), so that after a promotion it syncs its shards to what they
	// already hold (control/region.go).
	ConfigEpoch uint64              `json:"config_epoch,omitempty"`
	FTIndexes   map[string][][]byte `json:"ft_indexes,omitempty"`
	FTAliases   map[string]string   `json:"ft_aliases,omitempty"`
	FTEpoch     uint64              `json:"ft_epoch,omitempty"`
	// Seed (bootstrap, format 2) lays out a cluster restored from a
	// backup (cairn restore): its configuration and FT definitions, and
	// the initial state of each shard.
	Seed *Seed `json:"seed,omitempty"`
}

// Seed is what a restored cluster starts from (cairn restore writes it
// into each node's data directory; the bootstrapping node proposes it).
type Seed struct {
	// Config, ConfigEpoch, FTIndexes, FTAliases and FTEpoch are the
	// backed-up directory's (Topology's fields of the same names).
	Config      map[string]string   `json:"config,omitempty"`
	ConfigEpoch uint64              `json:"config_epoch,omitempty"`
	FTIndexes   map[string][][]byte `json:"ft_indexes,omitempty"`
	FTAliases   map[string]string   `json:"ft_aliases,omitempty"`
	FTEpoch     uint64              `json:"ft_epoch,omitempty"`
	// InitState is, by shard ID (1..NShards), the SHA-256 of the
	// snapshot stream the shard's replicas start from (Shard.InitState).
	InitState map[uint64]string `json:"init_state"`
}

// Result is what applying an Op returns.
type Result struct {
	Err string `json:"err,omitempty"`
	ID  uint64 `json:"id,omitempty"`
}

// Machine is the directory's state machine.
type Machine struct {
	cur    atomic.Pointer[Topology]
	halted atomic.Pointer[string] // why the directory stopped applying (version.go)
	// OnPanic, when set (before the machine applies anything), is told
	// about an op whose apply panicked: the op name, the panic value and
	// the stack, for the node's log.
	OnPanic func(op string, v any, stack []byte)
}

// NewMachine returns an empty (not yet bootstrapped) directory.
func NewMachine() *Machine {
	m := &Machine{}
	m.cur.Store(&Topology{NextNodeID: 1, NextShardID: 1, NextMigID: 1})
	return m
}

// Topology returns the current directory. It must not be changed.
func (m *Machine) Topology() *Topology { return m.cur.Load() }

// Apply applies one encoded Op and returns an encoded Result. Invalid ops
// change nothing and return an error; every replica reaches the same
// conclusion.
func (m *Machine) Apply(cmd []byte) []byte {
	var op Op
	var res Result
	if why := m.check(cmd, &op); why != "" {
		res.Err = why
	} else {
		t := m.cur.Load().clone()
		id, err := m.applyContained(t, &op)
		if errors.Is(err, errUnknownOp) {
			m.halt(err.Error()) // a newer binary's op: stop, do not answer and pass
		}
		if err != nil {
			res.Err = err.Error()
		} else {
			res.ID = id
			t.Epoch++
			m.cur.Store(t)
		}
	}
	b, _ := json.Marshal(res)
	return b
}

// applyContained applies op to t (a clone of the current directory) and
// turns a panic into an error for that op alone. Apply stores t only when
// the op succeeded, so a panicking op changes nothing; the error text is
// the same on every replica and on every replay, and the stack goes to
// the log (OnPanic).
func (m *Machine) applyContained(t *Topology, op *Op) (id uint64, err error) {
	defer func() {
		if r := recover(); r != nil {
			if m.OnPanic != nil {
				m.OnPanic(op.Op, r, debug.Stack())
			}
			err = fmt.Errorf("internal error applying directory op %q, see the server log", op.Op)
		}
	}()
	if testPanicOp != "" && op.Op == testPanicOp {
		panic("injected directory panic")
	}
	return t.apply(op)
}

// testPanicOp makes applying ops of that name panic (tests only).
var testPanicOp string

// Save writes the directory as JSON.
func (m *Machine) Save(w io.Writer) error {
	if m.halted.Load() != nil {
		return ErrHalted
	}
	t := *m.cur.Load()
	t.Format = t.format()
	return json.NewEncoder(w).Encode(&t)
}

// Load replaces the directory with one written by Save.
func (m *Machine) Load(r io.Reader) error {
	t := &Topology{}
	if err := json.NewDecoder(r).Decode(t); err != nil {
		return fmt.Errorf("cluster: load directory: %w", err)
	}
	if t.Format > FormatVersion {
		m.halt(fmt.Sprintf("directory snapshot format %d is newer than this binary's %d", t.Format, FormatVersion))
		return nil
	}
	if err := t.expand(); err != nil {
		return err
	}
	m.cur.Store(t)
	return nil
}

// Encode encodes an op for Propose.
func Encode(op Op) []byte {
	b, _ := json.Marshal(op)
	return b
}

// DecodeResult decodes Apply's result; a refused op becomes an error.
func DecodeResult(b []byte) (uint64, error) {
	var r Result
	if err := json.Unmarshal(b, &r); err != nil {
		return 0, fmt.Errorf("cluster: bad result: %w", err)
	}
	if r.Err != "" {
		return 0, errors.New(r.Err)
	}
	return r.ID, nil
}

func (t *Topology) apply(op *Op) (uint64, error) {
	if op.Op != "bootstrap" && !t.Bootstrapped {
		return 0, errors.New("cluster not bootstrapped")
	}
	switch op.Op {
	case "bootstrap":
		return 0, t.bootstrap(op)
	case "announce":
		n := t.Node(op.ID)
		if n == nil {
			return 0, fmt.Errorf("no node %d", op.ID)
		}
		if op.Version != 0 {
			n.Version = op.Version
		}
		if op.ClientAddr != "" {
			n.ClientAddr = op.ClientAddr
		}
		if op.Endpoints != nil {
			n.Endpoints = maps.Clone(op.Endpoints)
		}
		return op.ID, nil
	case "add-node":
		if op.RaftAddr == "" {
			return 0, errors.New("add-node needs a raft address")
		}
		for _, n := range t.Nodes {
			if n.RaftAddr == op.RaftAddr {
				return n.ID, nil // idempotent: a retried join
			}
		}
		id := t.NextNodeID
		t.NextNodeID++
		t.Nodes = append(t.Nodes, Node{ID: id, RaftAddr: op.RaftAddr, ClientAddr: op.ClientAddr, Version: op.Version})
		return id, nil
	case "remove-node":
		if t.Node(op.ID) == nil {
			return 0, fmt.Errorf("no node %d", op.ID)
		}
		for _, s := range t.Shards {
			if s.HasReplica(op.ID) {
				return 0, fmt.Errorf("node %d still holds a replica of shard %d", op.ID, s.ID)
			}
		}
		t.Nodes = slices.DeleteFunc(t.Nodes, func(n Node) bool { return n.ID == op.ID })
		return op.ID, nil
	case "add-shard":
		if err := t.checkReplicas(op.Replicas); err != nil {
			return 0, err
		}
		id := t.NextShardID
		t.NextShardID++
		t.Shards = append(t.Shards, t.newShard(id, op.Replicas))
		return id, nil
	case "region-add-shard":
		// A secondary region's directory mirrors a shard of the primary
		// region's under the primary's ID (control/region.go), with the
		// initial configuration the primary's shard was created with, so
		// both start in the same state. IDs only grow: one this
		// directory used before cannot be taken.
		if op.Shard == 0 {
			return 0, errors.New("region-add-shard needs a shard ID")
		}
		if t.Shard(op.Shard) != nil {
			return op.Shard, nil // mirrored already (a retried op)
		}
		if op.Shard < t.NextShardID {
			return 0, fmt.Errorf("shard ID %d was used in this cluster before (next is %d)", op.Shard, t.NextShardID)
		}
		if err := t.checkReplicas(op.Replicas); err != nil {
			return 0, err
		}
		t.NextShardID = op.Shard + 1
		s := t.newShard(op.Shard, op.Replicas)
		s.InitConfig, s.InitConfigEpoch = maps.Clone(op.Config), op.ConfigEpoch
		t.Shards = append(t.Shards, s)
		return op.Shard, nil
	case "set-replicas":
		s := t.Shard(op.Shard)
		if s == nil {
			return 0, fmt.Errorf("no shard %d", op.Shard)
		}
		if err := t.checkReplicas(op.Replicas); err != nil {
			return 0, err
		}
		if s.Gen == nil {
			s.Gen = map[uint64]uint32{}
		}
		for _, n := range op.Replicas {
			if s.HasReplica(n) {
				continue
			}
			if _, seen := s.Gen[n]; seen {
				s.Gen[n]++ // added again: a new replica ID
			} else {
				s.Gen[n] = 0
			}
		}
		s.Replicas = slices.Clone(op.Replicas)
		return s.ID, nil
	case "remove-shard":
		s := t.Shard(op.Shard)
		if s == nil {
			return 0, fmt.Errorf("no shard %d", op.Shard)
		}
		if t.SlotCount(s.ID) > 0 {
			return 0, fmt.Errorf("shard %d still owns slots", s.ID)
		}
		for _, m := range t.Migrations {
			if m.To == s.ID {
				return 0, fmt.Errorf("slots are moving to shard %d", s.ID)
			}
		}
		t.Shards = slices.DeleteFunc(t.Shards, func(x Shard) bool { return x.ID == op.Shard })
		return op.Shard, nil
	case "assign":
		if t.Shard(op.Shard) == nil {
			return 0, fmt.Errorf("no shard %d", op.Shard)
		}
		if op.Epoch != 0 {
			// A step of migration op.ID: only from its current claimant.
			m, err := t.fenced(op)
			if err != nil {
				return 0, err
			}
			if m.To != op.Shard {
				return 0, fmt.Errorf("migration %d moves slots to shard %d", m.ID, m.To)
			}
			for _, s := range op.Slots {
				if !slices.Contains(m.Slots, s) {
					return 0, fmt.Errorf("slot %d is not part of migration %d", s, m.ID)
				}
			}
		}
		for _, s := range op.Slots {
			if int(s) >= slot.Count {
				return 0, fmt.Errorf("slot %d out of range", s)
			}
		}
		for _, s := range op.Slots {
			t.owner[s] = op.Shard
		}
		t.rebuildRanges()
		return op.Shard, nil
	case "migrate":
		if t.Shard(op.Shard) == nil {
			return 0, fmt.Errorf("no shard %d", op.Shard)
		}
		if len(op.Slots) == 0 {
			return 0, errors.New("no slots to move")
		}
		for _, s := range op.Slots {
			if int(s) >= slot.Count {
				return 0, fmt.Errorf("slot %d out of range", s)
			}
			if t.owner[s] == 0 {
				return 0, fmt.Errorf("slot %d is not assigned", s)
			}
			if t.Migrating(s) != nil {
				return 0, fmt.Errorf("slot %d is already moving", s)
			}
		}
		id := t.NextMigID
		t.NextMigID++
		slots := slices.Clone(op.Slots)
		slices.Sort(slots)
		t.Migrations = append(t.Migrations, Migration{ID: id, Slots: slices.Compact(slots), To: op.Shard})
		return id, nil
	case "migration-claim":
		// The meta leader takes over a migration: the epoch this op
		// creates becomes the migration's fencing token.
		m := t.Migration(op.ID)
		if m == nil {
			return 0, fmt.Errorf("no migration %d", op.ID)
		}
		m.Epoch = t.Epoch + 1
		return m.Epoch, nil
	case "set-secret":
		if t.Secret != "" {
			return 0, errors.New("the cluster secret is already set")
		}
		if len(op.Secret) < 16 {
			return 0, errors.New("cluster secret too short")
		}
		t.Secret = op.Secret
		return 0, nil
	case "migration-done":
		if op.Epoch != 0 {
			m, err := t.fenced(op)
			if err != nil {
				return 0, err
			}
			for _, s := range m.Slots {
				if t.owner[s] != m.To {
					return 0, fmt.Errorf("slot %d has not moved yet", s)
				}
			}
		}
		n := len(t.Migrations)
		t.Migrations = slices.DeleteFunc(t.Migrations, func(m Migration) bool { return m.ID == op.ID })
		if len(t.Migrations) == n {
			return 0, fmt.Errorf("no migration %d", op.ID)
		}
		return op.ID, nil
	case "config-set":
		return t.configSet(op.Config)
	case "ft":
		if err := t.ftApply(op.FT); err != nil {
			return 0, err
		}
		return t.FTEpoch, nil
	case "region-mirror":
		t.Config, t.ConfigEpoch = maps.Clone(op.Config), op.ConfigEpoch
		t.FTIndexes, t.FTAliases, t.FTEpoch = maps.Clone(op.FTIndexes), maps.Clone(op.FTAliases), op.FTEpoch
		return t.ConfigEpoch, nil
	case "config-applied":
		s := t.Shard(op.Shard)
		if s == nil {
			return 0, fmt.Errorf("no shard %d", op.Shard)
		}
		s.ConfigApplied = max(s.ConfigApplied, op.Term)
		return op.Term, nil
	case "leader":
		s := t.Shard(op.Shard)
		if s == nil {
			return 0, fmt.Errorf("no shard %d", op.Shard)
		}
		if op.Term < s.Term || (op.Term == s.Term && s.Leader == op.ID) {
			return 0, errors.New("stale leader report")
		}
		s.Leader, s.Term = op.ID, op.Term
		return op.ID, nil
	}
	return 0, fmt.Errorf("%w %q", errUnknownOp, op.Op)
}

// fenced returns the migration a fenced op belongs to, or why the op is
// refused: the migration is gone or was claimed since (a deposed meta
// leader's late step).
func (t *Topology) fenced(op *Op) (*Migration, error) {
	m := t.Migration(op.ID)
	if m == nil {
		return nil, fmt.Errorf("stale step: no migration %d", op.ID)
	}
	if m.Epoch != op.Epoch {
		return nil, fmt.Errorf("stale step: migration %d is claimed at epoch %d, not %d", m.ID, m.Epoch, op.Epoch)
	}
	return m, nil
}

func (t *Topology) checkReplicas(ids []uint64) error {
	if len(ids) == 0 {
		return errors.New("a shard needs at least one replica")
	}
	seen := map[uint64]bool{}
	for _, id := range ids {
		if t.Node(id) == nil {
			return fmt.Errorf("no node %d", id)
		}
		if seen[id] {
			return fmt.Errorf("node %d listed twice", id)
		}
		seen[id] = true
	}
	return nil
}

// bootstrap lays out a new cluster: nodes as given, NShards shards with
// NReplica replicas each placed round-robin (so preferred leaders are
// spread over the nodes) and the slots split evenly, in order.
func (t *Topology) bootstrap(op *Op) error {
	if t.Bootstrapped {
		return errors.New("already bootstrapped")
	}
	if len(op.Nodes) == 0 || op.NShards <= 0 || op.NShards > slot.Count {
		return errors.New("bootstrap needs nodes and shards")
	}
	if sd := op.Seed; sd != nil {
		if len(sd.InitState) != op.NShards {
			return fmt.Errorf("bootstrap seed has the state of %d shards, the layout %d", len(sd.InitState), op.NShards)
		}
		for i := range op.NShards {
			if sd.InitState[uint64(i+1)] == "" {
				return fmt.Errorf("bootstrap seed has no state for shard %d", i+1)
			}
		}
		// The configuration first: newShard gives it to the shards.
		t.Config, t.ConfigEpoch = maps.Clone(sd.Config), sd.ConfigEpoch
		t.FTIndexes, t.FTAliases, t.FTEpoch = maps.Clone(sd.FTIndexes), maps.Clone(sd.FTAliases), sd.FTEpoch
	}
	nodes := slices.Clone(op.Nodes)
	slices.SortFunc(nodes, func(a, b Node) int { return cmpU(a.ID, b.ID) })
	for i := range nodes {
		if nodes[i].ID == 0 || (i > 0 && nodes[i].ID == nodes[i-1].ID) {
			return errors.New("node IDs must be distinct and non-zero")
		}
	}
	r := min(max(op.NReplica, 1), len(nodes))
	t.Nodes = nodes
	t.NextNodeID = nodes[len(nodes)-1].ID + 1
	for i := range op.NShards {
		var reps []uint64
		for j := range r {
			reps = append(reps, nodes[(i+j)%len(nodes)].ID)
		}
		t.Shards = append(t.Shards, t.newShard(uint64(i+1), reps))
		lo, hi := i*slot.Count/op.NShards, (i+1)*slot.Count/op.NShards
		for s := lo; s < hi; s++ {
			t.owner[s] = uint64(i + 1)
		}
	}
	t.NextShardID = uint64(op.NShards + 1)
	t.rebuildRanges()
	for i := range t.Shards {
		t.Shards[i].InitSlots = t.ShardSlots(t.Shards[i].ID)
		if op.Seed != nil {
			t.Shards[i].InitState = op.Seed.InitState[t.Shards[i].ID]
		}
	}
	t.Bootstrapped = true
	return nil
}

func (t *Topology) newShard(id uint64, replicas []uint64) Shard {
	s := Shard{ID: id, Replicas: slices.Clone(replicas), Initial: slices.Clone(replicas), Gen: map[uint64]uint32{},
		InitConfig: maps.Clone(t.Config), InitConfigEpoch: t.ConfigEpoch}
	for _, n := range replicas {
		s.Gen[n] = 0
	}
	return s
}
