package shard

import (
	"strings"
	"sync/atomic"
	"testing"

	"github.com/lni/dragonboat/v4/config"
	"github.com/lni/dragonboat/v4/plugin/tan"
	"github.com/lni/dragonboat/v4/raftio"
	pb "github.com/lni/dragonboat/v4/raftpb"
	"github.com/lni/vfs"
)

// openCountFS counts opens of tan's log files: tan opens one for every
// saved batch a read touches, which is what made a lagging follower's
// catch-up reads stall the leader's step worker.
type openCountFS struct {
	vfs.FS
	opens atomic.Int64
}

func (f *openCountFS) Open(name string, opts ...vfs.OpenOption) (vfs.File, error) {
	if strings.HasSuffix(name, ".log") {
		f.opens.Add(1)
	}
	return f.FS.Open(name, opts...)
}

// newBoundedTestLogDB opens a tan LogDB through the factory NewHost uses and
// saves entries 1..n, one batch each, as a leader's step worker does under
// a steady write load.
func newBoundedTestLogDB(t *testing.T, n uint64, entryBytes int) (raftio.ILogDB, *openCountFS) {
	t.Helper()
	dir := t.TempDir()
	fs := &openCountFS{FS: vfs.Default}
	nhc := config.NodeHostConfig{NodeHostDir: dir, WALDir: dir, RTTMillisecond: 10,
		RaftAddress: "127.0.0.1:1", Expert: config.GetDefaultExpertConfig()}
	nhc.Expert.FS = fs
	nhc.Expert.LogDB = config.GetDefaultLogDBConfig()
	nhc.Expert.LogDB.KVWriteBufferSize = 1 << 20
	f := boundedLogDBFactory{inner: tan.Factory}
	if f.Name() != tan.Factory.Name() {
		t.Fatalf("factory name %q, want tan's %q (Dragonboat checks it against the data dir)", f.Name(), tan.Factory.Name())
	}
	db, err := f.Create(nhc, func(config.LogDBInfo) {}, []string{dir}, []string{dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	cmd := make([]byte, entryBytes)
	for i := uint64(1); i <= n; i++ {
		ud := pb.Update{ShardID: 1, ReplicaID: 1, State: pb.State{Term: 1, Commit: i},
			EntriesToSave: []pb.Entry{{Index: i, Term: 1, Cmd: cmd}}}
		if err := db.SaveRaftState([]pb.Update{ud}, 1); err != nil {
			t.Fatal(err)
		}
	}
	return db, fs
}

// checkPrefix checks that ents are the contiguous entries from low.
func checkPrefix(t *testing.T, ents []pb.Entry, low uint64, n int) {
	t.Helper()
	if len(ents) != n {
		t.Fatalf("got %d entries, want %d", len(ents), n)
	}
	for i, e := range ents {
		if e.Index != low+uint64(i) {
			t.Fatalf("entry %d has index %d, want %d", i, e.Index, low+uint64(i))
		}
	}
}

// TestBoundedLogDBCatchUpRead is the read a leader makes, on its step
// worker, for every heartbeat response of a follower lagging 1,380 entries
// behind (Replicate from match+1, 64 MB budget): it must touch a bounded
// number of saved batches, not the whole lag, and look to Dragonboat's log
// reader like a read cut short by its budget.
func TestBoundedLogDBCatchUpRead(t *testing.T) {
	db, fs := newBoundedTestLogDB(t, 1500, 300)
	const budget = 64 << 20
	limit := int(maxEntriesPerRead + 1)

	fs.opens.Store(0)
	ents, size, err := db.IterateEntries(nil, 0, 1, 1, 120, 1500, budget)
	if err != nil {
		t.Fatal(err)
	}
	checkPrefix(t, ents, 120, limit)
	if size <= budget {
		t.Fatalf("size %d of a read cut at the bound must be over the budget %d, or the log reader takes it for a gap", size, budget)
	}
	if opens := fs.opens.Load(); opens > int64(limit) {
		t.Fatalf("a catch-up read opened %d log files, want at most %d", opens, limit)
	}
	// Dragonboat's LogReader.Entries then drops the last entry, and the
	// next read starts where this one stopped.
	next := ents[len(ents)-2].Index + 1
	ents, _, err = db.IterateEntries(nil, 0, 1, 1, next, 1500, budget)
	if err != nil {
		t.Fatal(err)
	}
	checkPrefix(t, ents, next, limit)

	// The tail within the bound is read whole, with its true size.
	ents, size, err = db.IterateEntries(nil, 0, 1, 1, 1450, 1501, budget)
	if err != nil {
		t.Fatal(err)
	}
	checkPrefix(t, ents, 1450, 51)
	if size > budget {
		t.Fatalf("an uncut read reported size %d over the budget", size)
	}

	// A byte budget reached first is reported as the inner LogDB did: the
	// entry that crossed it included, the true size.
	ents, size, err = db.IterateEntries(nil, 0, 1, 1, 120, 1500, 10*300)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) == 0 || len(ents) > 12 || ents[0].Index != 120 || size <= 10*300 || size > 12*400 {
		t.Fatalf("budget-cut read: %d entries from %d, size %d", len(ents), ents[0].Index, size)
	}

	// Entries the LogDB no longer has (a gap: here, past the end) are not
	// dressed up as a cut read: the reader must see the short answer.
	ents, size, err = db.IterateEntries(nil, 0, 1, 1, 1400, 1700, budget)
	if err != nil {
		t.Fatal(err)
	}
	checkPrefix(t, ents, 1400, 101)
	if size > budget {
		t.Fatalf("a short read reported size %d over the budget", size)
	}

	// No budget (0) means no bound.
	ents, _, err = db.IterateEntries(nil, 0, 1, 1, 1, 1501, 0)
	if err != nil {
		t.Fatal(err)
	}
	checkPrefix(t, ents, 1, 1500)
}
