package cluster

import (
	"bytes"
	"fmt"
	"testing"
)

func apply(t *testing.T, m *Machine, op Op) (uint64, error) {
	t.Helper()
	return DecodeResult(m.Apply(Encode(op)))
}

func mustApply(t *testing.T, m *Machine, op Op) uint64 {
	t.Helper()
	id, err := apply(t, m, op)
	if err != nil {
		t.Fatalf("%+v: %v", op, err)
	}
	return id
}

func bootstrapped(t *testing.T) *Machine {
	m := NewMachine()
	mustApply(t, m, Op{Op: "bootstrap", NShards: 3, NReplica: 3, Nodes: []Node{{ID: 2, RaftAddr: "b:1"}, {ID: 1, RaftAddr: "a:1"}, {ID: 3, RaftAddr: "c:1"}}})
	return m
}

func TestBootstrapLayout(t *testing.T) {
	m := bootstrapped(t)
	topo := m.Topology()
	if !topo.Bootstrapped || len(topo.Shards) != 3 || len(topo.Nodes) != 3 {
		t.Fatalf("topology %+v", topo)
	}
	// Slots split evenly and in order, like redis-cli --cluster create.
	want := []SlotRange{{0, 5460, 1}, {5461, 10921, 2}, {10922, 16383, 3}}
	if len(topo.Slots) != 3 {
		t.Fatalf("slots %+v", topo.Slots)
	}
	for i, r := range want {
		if topo.Slots[i] != r {
			t.Fatalf("range %d = %+v, want %+v", i, topo.Slots[i], r)
		}
	}
	// Preferred leaders are spread: shard i's first replica is node i.
	for i, sh := range topo.Shards {
		if sh.Replicas[0] != uint64(i+1) || len(sh.Replicas) != 3 || len(sh.InitSlots) != 1 {
			t.Fatalf("shard %+v", sh)
		}
	}
	if topo.Owner(0) != 1 || topo.Owner(5461) != 2 || topo.Owner(16383) != 3 {
		t.Fatal("owner lookup")
	}
	if _, err := apply(t, m, Op{Op: "bootstrap", NShards: 1, Nodes: []Node{{ID: 9, RaftAddr: "x:1"}}}); err == nil {
		t.Fatal("second bootstrap accepted")
	}
}

func TestOpsValidateAndChangeNothingOnError(t *testing.T) {
	m := bootstrapped(t)
	before := m.Topology()
	bad := []Op{
		{Op: "nonsense"},
		{Op: "set-replicas", Shard: 9, Replicas: []uint64{1}},
		{Op: "set-replicas", Shard: 1, Replicas: []uint64{1, 1}},
		{Op: "set-replicas", Shard: 1, Replicas: []uint64{7}},
		{Op: "set-replicas", Shard: 1},
		{Op: "remove-shard", Shard: 1}, // still owns slots
		{Op: "remove-node", ID: 1},     // still holds replicas
		{Op: "migrate", Shard: 2, Slots: []uint16{16384}},
		{Op: "migrate", Shard: 2},
		{Op: "assign", Shard: 1, Slots: []uint16{20000}},
		{Op: "add-node"},
		{Op: "migration-done", ID: 5},
	}
	for _, op := range bad {
		if _, err := apply(t, m, op); err == nil {
			t.Errorf("%+v accepted", op)
		}
	}
	if m.Apply([]byte("{not json")) == nil {
		t.Fatal("no reply to garbage")
	}
	if m.Topology() != before {
		t.Fatal("a refused op changed the topology")
	}
}

func TestReaddedNodeGetsNewReplicaID(t *testing.T) {
	m := bootstrapped(t)
	sh := m.Topology().Shard(1)
	if sh.ReplicaID(3) != 3 {
		t.Fatalf("initial replica id %d", sh.ReplicaID(3))
	}
	mustApply(t, m, Op{Op: "set-replicas", Shard: 1, Replicas: []uint64{1, 2}})
	mustApply(t, m, Op{Op: "set-replicas", Shard: 1, Replicas: []uint64{1, 2, 3}})
	rid := m.Topology().Shard(1).ReplicaID(3)
	if rid == 3 || NodeOf(rid) != 3 {
		t.Fatalf("re-added node 3 got replica id %d", rid)
	}
	if m.Topology().Shard(1).ReplicaID(1) != 1 {
		t.Fatal("a node that stayed changed replica id")
	}
	// A new node gets generation 0.
	id := mustApply(t, m, Op{Op: "add-node", RaftAddr: "d:1", ClientAddr: "d:2"})
	if id != 4 || mustApply(t, m, Op{Op: "add-node", RaftAddr: "d:1"}) != 4 {
		t.Fatal("add-node is not idempotent per raft address")
	}
	mustApply(t, m, Op{Op: "set-replicas", Shard: 2, Replicas: []uint64{2, 3, 1, 4}})
	if m.Topology().Shard(2).ReplicaID(4) != 4 {
		t.Fatal("first replica of a new node should use its node id")
	}
}

func TestMigrationRecordsAndSnapshot(t *testing.T) {
	m := bootstrapped(t)
	sid := mustApply(t, m, Op{Op: "add-shard", Replicas: []uint64{1, 2, 3}})
	mid := mustApply(t, m, Op{Op: "migrate", Shard: sid, Slots: []uint16{5, 3, 4, 4}})
	if _, err := apply(t, m, Op{Op: "migrate", Shard: 2, Slots: []uint16{4}}); err == nil {
		t.Fatal("overlapping migration accepted")
	}
	if got := m.Topology().Migrating(4); got == nil || got.ID != mid || len(got.Slots) != 3 {
		t.Fatalf("migration %+v", got)
	}
	mustApply(t, m, Op{Op: "assign", Shard: sid, Slots: []uint16{3, 4, 5}})
	mustApply(t, m, Op{Op: "migration-done", ID: mid})
	if m.Topology().SlotCount(sid) != 3 || m.Topology().SlotCount(1) != 5461-3 {
		t.Fatal("slot counts after the move")
	}
	var buf bytes.Buffer
	if err := m.Save(&buf); err != nil {
		t.Fatal(err)
	}
	m2 := NewMachine()
	if err := m2.Load(&buf); err != nil {
		t.Fatal(err)
	}
	a, b := m.Topology(), m2.Topology()
	for s := range 16384 {
		if a.Owner(uint16(s)) != b.Owner(uint16(s)) {
			t.Fatalf("slot %d owner differs after snapshot", s)
		}
	}
	if b.Epoch != a.Epoch || len(b.Shards) != len(a.Shards) || b.NextShardID != a.NextShardID {
		t.Fatal("snapshot lost state")
	}
}

func FuzzApply(f *testing.F) {
	f.Add([]byte(`{"op":"bootstrap","nodes":[{"id":1,"raft":"a:1"}],"nshards":2,"nreplicas":1}`))
	f.Add([]byte(`{"op":"migrate","shard":1,"slots":[1,2]}`))
	f.Add([]byte(`{"op":"set-replicas","shard":1,"replicas":[1]}`))
	f.Add([]byte(`{"op":"assign","shard":1,"slots":[16383]}`))
	f.Fuzz(func(t *testing.T, cmd []byte) {
		m := NewMachine()
		m.Apply([]byte(`{"op":"bootstrap","nodes":[{"id":1,"raft":"a:1"},{"id":2,"raft":"b:1"}],"nshards":2,"nreplicas":2}`))
		m.Apply(cmd)
		m.Apply(cmd)
		var buf bytes.Buffer
		if m.Halted() != "" {
			// An op this binary does not understand stops the directory
			// (it is never skipped); a halted directory takes no snapshot.
			if err := m.Save(&buf); err == nil {
				t.Fatal("a halted directory saved a snapshot")
			}
			return
		}
		if err := m.Save(&buf); err != nil {
			t.Fatal(err)
		}
		if err := NewMachine().Load(&buf); err != nil {
			t.Fatalf("saved directory does not load: %v", err)
		}
	})
}

// TestMigrationFencing: a fenced "assign" or "migration-done" is accepted
// only with the migration's current claim epoch, so a deposed meta
// leader's late step changes nothing.
func TestMigrationFencing(t *testing.T) {
	m := bootstrapped(t)
	id := mustApply(t, m, Op{Op: "migrate", Shard: 2, Slots: []uint16{0, 1}})
	old := mustApply(t, m, Op{Op: "migration-claim", ID: id})
	if old != m.Topology().Epoch || m.Topology().Migration(id).Epoch != old {
		t.Fatalf("claim epoch %d, directory epoch %d", old, m.Topology().Epoch)
	}
	cur := mustApply(t, m, Op{Op: "migration-claim", ID: id})
	if cur <= old {
		t.Fatalf("second claim %d not after %d", cur, old)
	}
	if _, err := apply(t, m, Op{Op: "assign", Shard: 2, Slots: []uint16{0}, ID: id, Epoch: old}); err == nil {
		t.Fatal("a deposed claimant's assign was accepted")
	}
	if _, err := apply(t, m, Op{Op: "assign", Shard: 2, Slots: []uint16{5}, ID: id, Epoch: cur}); err == nil {
		t.Fatal("assign of a slot outside the migration was accepted")
	}
	if _, err := apply(t, m, Op{Op: "migration-done", ID: id, Epoch: cur}); err == nil {
		t.Fatal("migration-done accepted before its slots moved")
	}
	mustApply(t, m, Op{Op: "assign", Shard: 2, Slots: []uint16{0, 1}, ID: id, Epoch: cur})
	if _, err := apply(t, m, Op{Op: "migration-done", ID: id, Epoch: old}); err == nil {
		t.Fatal("a deposed claimant's migration-done was accepted")
	}
	mustApply(t, m, Op{Op: "migration-done", ID: id, Epoch: cur})
	if _, err := apply(t, m, Op{Op: "assign", Shard: 2, Slots: []uint16{0}, ID: id, Epoch: cur}); err == nil {
		t.Fatal("assign of a finished migration was accepted")
	}
	// Unfenced ops (logs written before fencing) apply as before.
	mustApply(t, m, Op{Op: "assign", Shard: 3, Slots: []uint16{0}})
	// The cluster secret is set once.
	mustApply(t, m, Op{Op: "set-secret", Secret: "0123456789abcdef0123"})
	if _, err := apply(t, m, Op{Op: "set-secret", Secret: "fedcba9876543210fedc"}); err == nil || m.Topology().Secret != "0123456789abcdef0123" {
		t.Fatalf("secret replaced: %v", err)
	}
	var buf bytes.Buffer
	if err := m.Save(&buf); err != nil {
		t.Fatal(err)
	}
	m2 := NewMachine()
	if err := m2.Load(&buf); err != nil || m2.Topology().Secret != "0123456789abcdef0123" {
		t.Fatalf("secret not saved: %v", err)
	}
}

// TestApplyPanicContained: an op whose apply panics is answered with an
// error, identically on two replicas, changes nothing (the epoch stays),
// and the directory keeps applying later ops.
func TestApplyPanicContained(t *testing.T) {
	testPanicOp = "set-replicas"
	defer func() { testPanicOp = "" }()
	var told []string
	f := func(op string, v any, stack []byte) { told = append(told, fmt.Sprintf("%s: %v", op, v)) }
	a, b := bootstrapped(t), bootstrapped(t)
	a.OnPanic, b.OnPanic = f, f
	op := Encode(Op{Op: "set-replicas", Shard: 1, Replicas: []uint64{1, 2}})
	ra, rb := a.Apply(op), b.Apply(op)
	if string(ra) != string(rb) {
		t.Fatalf("replicas answered differently: %s vs %s", ra, rb)
	}
	_, err := DecodeResult(ra)
	if want := `internal error applying directory op "set-replicas", see the server log`; err == nil || err.Error() != want {
		t.Fatalf("panicking op answered %v, want %q", err, want)
	}
	if len(told) != 2 || told[0] != "set-replicas: injected directory panic" {
		t.Fatalf("OnPanic told %q", told)
	}
	var sa, sb bytes.Buffer
	if err := a.Save(&sa); err != nil {
		t.Fatal(err)
	}
	if err := b.Save(&sb); err != nil {
		t.Fatal(err)
	}
	if sa.String() != sb.String() {
		t.Fatal("replicas' directories differ after the panicking op")
	}
	before := a.Topology().Epoch
	testPanicOp = ""
	mustApply(t, a, Op{Op: "set-replicas", Shard: 1, Replicas: []uint64{1, 2}})
	if a.Topology().Epoch != before+1 {
		t.Fatalf("epoch %d after a later op, want %d", a.Topology().Epoch, before+1)
	}
}

// TestRegionAddShard: a secondary region's directory takes a shard of
// the primary's under the primary's ID, past IDs it never saw, with the
// primary shard's initial configuration; an ID it used before is
// refused and changes nothing.
func TestRegionAddShard(t *testing.T) {
	m := bootstrapped(t)
	if id := mustApply(t, m, Op{Op: "region-add-shard", Shard: 6, Replicas: []uint64{1, 2}, Config: map[string]string{"maxmemory-policy": "allkeys-lru"}, ConfigEpoch: 4}); id != 6 {
		t.Fatalf("region-add-shard: id %d", id)
	}
	topo := m.Topology()
	sh := topo.Shard(6)
	if sh == nil || topo.NextShardID != 7 || sh.InitConfig["maxmemory-policy"] != "allkeys-lru" || sh.InitConfigEpoch != 4 || len(sh.Replicas) != 2 {
		t.Fatalf("after region-add-shard: next %d, shard %+v", topo.NextShardID, sh)
	}
	// Retried: the same shard, nothing changes.
	if id := mustApply(t, m, Op{Op: "region-add-shard", Shard: 6, Replicas: []uint64{1, 2}}); id != 6 || m.Topology().NextShardID != 7 {
		t.Fatalf("retried region-add-shard: %d, next %d", id, m.Topology().NextShardID)
	}
	// IDs 4 and 5 were skipped: never to be used here.
	before := m.Topology()
	for _, op := range []Op{
		{Op: "region-add-shard", Shard: 4, Replicas: []uint64{1}},
		{Op: "region-add-shard", Shard: 0, Replicas: []uint64{1}},
		{Op: "region-add-shard", Shard: 9, Replicas: []uint64{42}},
	} {
		if _, err := apply(t, m, op); err == nil {
			t.Fatalf("%+v accepted", op)
		}
	}
	if after := m.Topology(); after.NextShardID != before.NextShardID || len(after.Shards) != len(before.Shards) {
		t.Fatalf("a refused op changed the directory: %+v", after)
	}
	if id := mustApply(t, m, Op{Op: "add-shard", Replicas: []uint64{3}}); id != 7 {
		t.Fatalf("add-shard after region-add-shard: %d", id)
	}
}
