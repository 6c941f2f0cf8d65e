package shard

import (
	"io"
	"time"

	sm "github.com/lni/dragonboat/v4/statemachine"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/keyspace"
)

// BoundedReadsCut returns how many LogDB reads were cut short at
// MaxEntriesPerRead.
func BoundedReadsCut() int64 { return boundedReadsCut.Load() }

// MaxEntriesPerRead is maxEntriesPerRead.
const MaxEntriesPerRead = maxEntriesPerRead

// TestSM exposes a bare state machine (no Raft) to the external tests, so
// they can feed it encoded entries directly.
type TestSM struct{ s *stateMachine }

// NewTestSM returns a state machine applying commands from table.
func NewTestSM(table *command.Table) *TestSM {
	return NewTestSMVersion(table, 0)
}

// NewTestSMVersion is NewTestSM for a binary that understands entry
// versions up to maxVersion only (0: this binary's).
func NewTestSMVersion(table *command.Table, maxVersion uint8) *TestSM {
	var opts Options
	opts.setDefaults()
	opts.MaxFormatVersion = maxVersion
	return &TestSM{&stateMachine{db: keyspace.New(), table: table, opts: opts}}
}

// Halted returns why the state machine stopped applying ("" if not).
func (t *TestSM) Halted() string {
	if h := t.s.halted.Load(); h != nil {
		return h.reason
	}
	return ""
}

// SM returns the Dragonboat interface.
func (t *TestSM) SM() sm.IConcurrentStateMachine { return t.s }

// DB returns the keyspace. Callers must not race it with Update.
func (t *TestSM) DB() *keyspace.DB { return t.s.db }

// LastTime returns the applied clock.
func (t *TestSM) LastTime() int64 {
	t.s.mu.RLock()
	defer t.s.mu.RUnlock()
	return t.s.lastTime
}

// Dirty returns the changes since the last snapshot.
func (t *TestSM) Dirty() int64 { return t.s.dirty.Load() }

// Applied returns the last applied index.
func (t *TestSM) Applied() uint64 { return t.s.applied.Load() }

// NewClusterTestSM is NewTestSM for a cluster shard owning slots.
func NewClusterTestSM(table *command.Table, owned []uint16) *TestSM {
	var opts Options
	opts.setDefaults()
	opts.Cluster, opts.InitialSlots = true, owned
	return &TestSM{&stateMachine{db: keyspace.New(), table: table, opts: opts, slots: initialSlots(owned)}}
}

// SlotOpCommand builds a fenced (version 2) SlotOp command.
func SlotOpCommand(op string, f Fence, slots []uint16, extra ...[]byte) [][]byte {
	return slotOpCommand(op, EncodeSlots(slots), f.Encode(), extra)
}

// SetFlagHostname rewrites the hostname Dragonboat recorded in a NodeHost
// directory, as if the data had been written on a host of that name.
func SetFlagHostname(dir, name string) error {
	st, err := readFlagFile(dir)
	if err != nil {
		return err
	}
	st.Hostname = name
	return writeFlagFile(dir, st)
}

// ProposeRaw proposes encoded entry bytes as they are (as a newer binary
// would) and waits for the result.
func (s *Shard) ProposeRaw(b []byte) error {
	p := &Pending{kind: 0, n: 1, start: time.Now(), host: s.host}
	p.rs, p.err = s.host.nh.Propose(s.session, b, 5*time.Second)
	_, err := p.Wait()
	return err
}

// StateDigest returns the keyspace's state digest mixed with the FT
// registry's (Shard.StateDigest's digest).
func (t *TestSM) StateDigest() uint64 {
	t.s.mu.RLock()
	defer t.s.mu.RUnlock()
	return t.s.stateDigest()
}

// FTDocs returns the documents of FT index name (nil if there is none).
func (t *TestSM) FTDocs(name string) int {
	t.s.mu.RLock()
	defer t.s.mu.RUnlock()
	if ix := t.s.ft.Get(name); ix != nil {
		return ix.NumDocs()
	}
	return -1
}

// FunctionDigest returns the digest of the library set (0 with none).
func (t *TestSM) FunctionDigest() uint64 {
	if g := t.s.libs.Load(); g != nil {
		return g.Digest()
	}
	return 0
}

// ShipPosition returns the last source position applied from src.
func (t *TestSM) ShipPosition(src uint64) ShipPosition {
	t.s.mu.RLock()
	defer t.s.mu.RUnlock()
	return t.s.ship[src]
}

// WriteSnapshot writes the state as a shipped snapshot would carry it and
// returns the applied index it is at.
func (t *TestSM) WriteSnapshot(w io.Writer) (uint64, error) {
	c, err := t.s.PrepareSnapshot()
	if err != nil {
		return 0, err
	}
	sc := c.(*snapshotCtx)
	defer sc.snap.Release()
	return sc.applied, sc.writeTo(w)
}

// ReadLog is ReadCommitted from the log store only (never the tail kept
// in memory for region links): entries [from, high).
func (s *Shard) ReadLog(from, high uint64) ([]CommittedEntry, error) { return s.readLog(from, high) }

// TailHolds tells whether the in-memory tail for region links holds index.
func (s *Shard) TailHolds(index uint64) bool { _, ok := s.sm.tail.read(index, index); return ok }

// SetPrefetching turns the apply's read-ahead of keys on or off; it
// returns the previous setting.
func SetPrefetching(on bool) bool {
	old := prefetching
	prefetching = on
	return old
}
