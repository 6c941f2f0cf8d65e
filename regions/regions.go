// Package regions ships committed Raft log entries from a primary region
// to secondary regions and keeps the secondaries' lag visible.
//
// A secondary region's node pulls, per shard, the primary's committed
// entries over an authenticated TCP link (link.go) from the position its
// own shard last applied, and proposes them into its own shard log as
// entry.Shipped entries: the secondary is itself durable and replicated,
// and apply runs each source entry at its original time and seed, exactly
// once. See DESIGN.md.
//
// The package knows nothing of Raft or the keyspace: the node gives it
// each shard's log through the small interfaces below.
package regions

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Role is a region's role.
type Role string

// The roles.
const (
	Primary   Role = "primary"
	Secondary Role = "secondary"
)

// Entry is one committed entry of a source shard's log. Data nil is an
// entry of Raft's own, which only takes an index.
type Entry struct {
	Index uint64
	Data  []byte
}

// SourceLog is a primary shard's log as the link server reads it.
type SourceLog interface {
	// ReadCommitted returns up to max applied entries from index from,
	// contiguous; empty when none is applied yet. An error wrapping
	// ErrCompacted means the log no longer holds from.
	ReadCommitted(from uint64, max int) ([]Entry, error)
	// AppliedIndex is the last applied index.
	AppliedIndex() uint64
	// ClockMs is the replicated clock (the newest applied entry's time).
	ClockMs() int64
	// Snapshot writes the shard's state to w as a snapshot and returns
	// the applied index and clock it is at (snapshot catch-up).
	Snapshot(w io.Writer) (index uint64, timeMs int64, err error)
}

// DestLog is a secondary shard as the puller feeds it.
type DestLog interface {
	// IsLeader tells whether this replica leads its shard: only the
	// leader pulls.
	IsLeader() bool
	// Position is the last source index (and its entry time) applied from
	// source shard src: replicated state of the shard.
	Position(src uint64) (index uint64, timeMs int64)
	// Ship proposes source entries of shard src and waits until they are
	// applied (entries at or below Position are skipped at apply).
	Ship(src uint64, ents []Entry) error
	// AppliedIndex is the last index applied of this shard's own log.
	AppliedIndex() uint64
	// ShipSnapshot proposes a chunk of source shard src's snapshot and
	// waits until it is applied; the last chunk installs the snapshot
	// and moves Position(src) to its index. A transfer restarts at
	// offset 0; a chunk that does not follow the staged ones is ignored.
	ShipSnapshot(src uint64, c SnapshotChunk) error
	// SnapshotsInstalled counts the source snapshots this replica
	// installed since it started.
	SnapshotsInstalled() uint64
}

// Config configures a node's region manager.
type Config struct {
	// Name is this node's region.
	Name string
	// Role is the region's role at start.
	Role Role
	// Primary lists link addresses of nodes of the primary region (a
	// secondary dials them in turn).
	Primary []string
	// Secret authenticates links; both regions must share it. Required.
	Secret string
	// Shards lists the shard IDs this node holds (mirrored by ID).
	Shards func() []uint64
	// Source and Dest return this node's replica of a shard, or nil.
	Source func(id uint64) SourceLog
	Dest   func(id uint64) DestLog
	// OnRole is told when the role changes (the node refuses or accepts
	// writes, turns its leaders passive or active).
	OnRole func(Role)
	// Fence, on a primary asked to step down (planned promotion), makes
	// the node refuse writes and propose nothing of its own, and returns
	// once every write it accepted before is applied.
	Fence func() error
	// BatchEntries bounds the entries of one link batch. Default 256.
	BatchEntries int
	// SnapshotChunk is the size of one snapshot chunk (one entry in the
	// destination's log). Default 256 KiB.
	SnapshotChunk int
	// Poll is how often an idle link looks for new entries. Default 2ms.
	Poll time.Duration
	// ShipEvery is the least time between two proposals of shipped
	// entries into a destination shard's log: what arrives meanwhile goes
	// into the next one. Each proposal costs a Raft round and an fsync on
	// every destination replica, so a secondary sharing a machine (or a
	// disk) with the primary takes less from it; it adds at most this
	// much to the lag. Default 10ms.
	ShipEvery time.Duration
	// Dir is where a rejoining old primary writes its discarded writes
	// (rejoin.go). Default the system's temporary directory.
	Dir string
	// Ready, on an old primary node asked to rejoin, tells whether every
	// shard replica it should hold is started and has applied its whole
	// log (after a restart it replays it): only then is the divergent
	// tail listed completely. An error refuses the rejoin, which the new
	// primary asks again. Nil: always ready.
	Ready func() error
	// Describe renders one source log entry's writes for the discarded
	// writes file: a line per write with its keys and command.
	Describe func(data []byte) []string
	// Reclaim and ReclaimPos, on a region promoted by force, are the old
	// primary's link addresses and the positions reached in its log: the
	// old primary is told to rejoin (rejoin.go). From the node's saved
	// state.
	Reclaim    []string
	ReclaimPos []ShardPosition
	// Rebuild lists shards that must be rebuilt from a snapshot of the
	// primary before following it (an old primary rejoining). From the
	// node's saved state.
	Rebuild []uint64
	// Peers, in a region of several nodes (cluster mode), returns the
	// region link addresses of the region's nodes (this one may be among
	// them): lag, promotion and layout are coordinated over them
	// (cluster.go). Nil for a single-node region.
	Peers func() []string
	// SelfAddr is this node's link address as its peers list it (to skip
	// itself); the listener's address is skipped too.
	SelfAddr string
	// Announce is this node's link address as other regions reach it
	// (--region-announce): given to the other region when it must dial
	// this one (planned promotion: follow; forced: rejoin). Default: the
	// listen address, a wildcard host replaced by the link's local
	// address.
	Announce string
	// Layout, on a primary, returns the region's layout (slot owners and
	// shards, opaque here) for secondaries to follow. Nil: none.
	Layout func() []byte
	// Mirror, on a secondary, is given the primary's layout; it makes
	// the local region's layout follow it. MirrorDue tells whether this
	// node should do so now (it leads the region's directory).
	Mirror    func([]byte) error
	MirrorDue func() bool
	// Dial, for tests, replaces net.Dial (delay and loss injection).
	Dial func(addr string) (net.Conn, error)
	// Logger. Default slog.Default().
	Logger *slog.Logger
}

// Manager is a node's part in a multi-region deployment: the link server
// every node runs (a primary serves its logs; a secondary serves them
// once promoted) and, on a secondary, one puller per shard.
type Manager struct {
	cfg  Config
	role atomic.Value // Role
	ln   net.Listener
	quit chan struct{}
	wg   sync.WaitGroup
	// pullWG counts the running pullers (a promotion waits for them).
	pullWG sync.WaitGroup

	// rejoinMu serializes rejoinLocal (rejoin.go).
	rejoinMu sync.Mutex

	mu     sync.Mutex
	pulls  map[uint64]*pullState
	conns  map[net.Conn]struct{}
	closed bool
	// reclaim, reclaimPos: the old primary to tell to rejoin after a
	// forced promotion; rebuild: shards to rebuild from a snapshot
	// (rejoin.go).
	reclaim    []string
	reclaimPos []ShardPosition
	rebuild    map[uint64]bool
	// rebuildBase: for a shard marked by a rejoin in this process, its
	// replica's installed snapshot count then; a later install (by
	// whichever node of the region leads the shard) clears the mark
	// (watch).
	rebuildBase map[uint64]uint64
	// fenceBase: each local replica's installed snapshot count when this
	// node was first fenced for a rejoin (rejoin.go): every node of the
	// region is fenced before any starts pulling, so no rebuild snapshot
	// is installed before it, while the rejoin itself may reach this
	// node after another node's puller rebuilt a shard.
	fenceBase map[uint64]uint64

	// layoutErr is why the primary's layout could not be mirrored here
	// the last time this node tried ("" when it could).
	layoutErr atomic.Value // string

	// peerMu guards the peers' cached shipping reports (cluster.go).
	peerMu    sync.Mutex
	peerAt    time.Time
	peerCache [][]ShardLag
}

// pullState is one shard's puller status.
type pullState struct {
	running    bool // under Manager.mu: a puller runs for the shard
	srcApplied atomic.Uint64
	srcClock   atomic.Int64
	connected  atomic.Bool
	lastErr    atomic.Value // string
	since      atomic.Int64 // when the puller started (ms), for lag before any entry
	heard      atomic.Int64 // when the last frame arrived (ms)
}

// New returns a manager; Start runs it.
func New(cfg Config) (*Manager, error) {
	if cfg.Secret == "" {
		return nil, errors.New("regions: a region secret is required")
	}
	if cfg.Role != Primary && cfg.Role != Secondary {
		return nil, fmt.Errorf("regions: unknown role %q", cfg.Role)
	}
	if cfg.Role == Secondary && len(cfg.Primary) == 0 {
		return nil, errors.New("regions: a secondary needs the primary's addresses")
	}
	if cfg.BatchEntries <= 0 {
		cfg.BatchEntries = 256
	}
	if cfg.SnapshotChunk <= 0 {
		cfg.SnapshotChunk = 256 << 10
	}
	if cfg.ShipEvery <= 0 {
		cfg.ShipEvery = 10 * time.Millisecond
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 2 * time.Millisecond
	}
	if cfg.Dial == nil {
		cfg.Dial = func(addr string) (net.Conn, error) { return net.DialTimeout("tcp", addr, 3*time.Second) }
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	m := &Manager{cfg: cfg, quit: make(chan struct{}), pulls: map[uint64]*pullState{}, conns: map[net.Conn]struct{}{}}
	m.role.Store(cfg.Role)
	m.reclaim, m.reclaimPos = cfg.Reclaim, cfg.ReclaimPos
	for _, id := range cfg.Rebuild {
		if m.rebuild == nil {
			m.rebuild = map[uint64]bool{}
		}
		m.rebuild[id] = true
	}
	return m, nil
}

// readRetries is how many times in a row the link server reads the source
// log again after a read error before it reports the error to the
// secondary (which then reconnects).
const readRetries = 5

// Start serves links on ln and, on a secondary, starts pulling.
func (m *Manager) Start(ln net.Listener) {
	m.ln = ln
	m.wg.Add(2)
	go m.serve()
	go m.watch()
	if m.Role() == Secondary {
		m.startPulls()
	} else {
		m.startReclaim()
	}
	if m.cfg.OnRole != nil {
		m.cfg.OnRole(m.Role())
	}
}

// Addr is the link listener's address.
func (m *Manager) Addr() string { return m.ln.Addr().String() }

// Role returns the region's current role.
func (m *Manager) Role() Role { return m.role.Load().(Role) }

// Primaries returns the link addresses a secondary pulls from.
func (m *Manager) Primaries() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.cfg.Primary...)
}

// Name returns the region's name.
func (m *Manager) Name() string { return m.cfg.Name }

// Close stops the link server and the pullers and waits for them.
func (m *Manager) Close() {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return
	}
	m.closed = true
	close(m.quit)
	if m.ln != nil {
		m.ln.Close()
	}
	for c := range m.conns {
		c.Close()
	}
	m.mu.Unlock()
	m.wg.Wait()
}

// track registers a live connection so Close can cut it; false when the
// manager is closing.
func (m *Manager) track(c net.Conn, on bool) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if on {
		if m.closed {
			return false
		}
		m.conns[c] = struct{}{}
	} else {
		delete(m.conns, c)
	}
	return true
}

func (m *Manager) stopping() bool {
	select {
	case <-m.quit:
		return true
	default:
		return false
	}
}

// sleep waits d or until Close; false when closing.
func (m *Manager) sleep(d time.Duration) bool {
	select {
	case <-m.quit:
		return false
	case <-time.After(d):
		return true
	}
}

// serve accepts links.
func (m *Manager) serve() {
	defer m.wg.Done()
	for {
		c, err := m.ln.Accept()
		if err != nil {
			if m.stopping() {
				return
			}
			m.cfg.Logger.Warn("region link accept", "err", err)
			if !m.sleep(50 * time.Millisecond) {
				return
			}
			continue
		}
		if !m.track(c, true) {
			c.Close()
			return
		}
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			defer m.track(c, false)
			defer c.Close()
			if err := m.serveLink(c); err != nil && !m.stopping() {
				m.cfg.Logger.Info("region link closed", "remote", c.RemoteAddr().String(), "err", err)
			}
		}()
	}
}

// serveLink streams one shard's committed entries to an authenticated
// secondary. It reads the log on its own goroutine: a slow or absent
// secondary only slows this link, never the shard's proposals.
func (m *Manager) serveLink(c net.Conn) error {
	if err := serverHandshake(c, m.cfg.Secret); err != nil {
		return err
	}
	br := bufio.NewReader(c)
	kind, err := readUvarint(br)
	if err != nil {
		return err
	}
	if kind == reqFence {
		return m.serveFence(c, br)
	}
	if kind == reqRejoin {
		return m.serveRejoin(c, br)
	}
	if kind == reqPeer {
		return m.servePeer(c, br)
	}
	if kind == reqLayout {
		return m.serveLayout(c)
	}
	if kind != reqShip {
		return fmt.Errorf("regions: unknown link request %d", kind)
	}
	shardID, err := readUvarint(br)
	if err != nil {
		return err
	}
	from, err := readUvarint(br)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(c, 1<<20)
	fail := func(code uint64, msg string) error {
		bw.Write(appendError(nil, code, msg))
		bw.Flush()
		return errors.New(msg)
	}
	var buf []byte
	if from == 0 {
		// A rebuild (rejoin.go): the state first, whatever the log holds.
		src := m.cfg.Source(shardID)
		if src == nil {
			return fail(errCodeNoShard, fmt.Sprintf("no replica of shard %d here", shardID))
		}
		idx, err := m.sendSnapshot(c, bw, src)
		if err != nil {
			return fail(errCodeOther, "snapshot for a rebuild: "+err.Error())
		}
		from = idx + 1
	}
	lastBeat := time.Now()
	readFails := 0
	for !m.stopping() {
		src := m.cfg.Source(shardID)
		if src == nil {
			return fail(errCodeNoShard, fmt.Sprintf("no replica of shard %d here", shardID))
		}
		ents, err := src.ReadCommitted(from, m.cfg.BatchEntries)
		if err != nil && !errors.Is(err, ErrCompacted) && readFails < readRetries {
			// Reading the log store can fail transiently while the same
			// file is being appended to (Dragonboat's tan log reports an
			// invalid chunk under heavy writes); the entries asked for are
			// committed and stay readable, so read again shortly rather
			// than drop the link. A failure that persists is reported.
			readFails++
			if !m.sleep(m.cfg.Poll) {
				return nil
			}
			continue
		}
		readFails = 0
		if err != nil {
			if errors.Is(err, ErrCompacted) {
				// Snapshot catch-up: ship the state, then the entries
				// after it.
				idx, err := m.sendSnapshot(c, bw, src)
				if err != nil {
					return fail(errCodeCompacted, fmt.Sprintf("%v; snapshot catch-up failed: %v", ErrCompacted, err))
				}
				from = idx + 1
				lastBeat = time.Now()
				continue
			}
			return fail(errCodeOther, err.Error())
		}
		b := batch{applied: src.AppliedIndex(), clock: src.ClockMs(), ents: ents}
		if len(ents) == 0 && time.Since(lastBeat) < 100*time.Millisecond {
			if !m.sleep(m.cfg.Poll) {
				return nil
			}
			continue
		}
		buf = appendBatch(buf[:0], &b)
		c.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if _, err := bw.Write(buf); err != nil {
			return err
		}
		if err := bw.Flush(); err != nil {
			return err
		}
		lastBeat = time.Now()
		if n := len(ents); n > 0 {
			from = ents[n-1].Index + 1
		}
		if n := len(ents); n > 0 && n < m.cfg.BatchEntries {
			// Caught up with this replica's log: let entries gather for
			// a poll interval rather than send a frame per few entries
			// (each frame costs a read and a write here, and a proposal
			// on the secondary).
			if !m.sleep(m.cfg.Poll) {
				return nil
			}
		}
	}
	return nil
}

// sendSnapshot streams src's snapshot in chunks and returns the index it
// is at. The snapshot is written to memory first (the source's state
// machine view is released as soon as it is written).
func (m *Manager) sendSnapshot(c net.Conn, bw *bufio.Writer, src SourceLog) (uint64, error) {
	var snap bytes.Buffer
	idx, t, err := src.Snapshot(&snap)
	if err != nil {
		return 0, err
	}
	m.cfg.Logger.Info("region link: source log compacted past the secondary's position, shipping a snapshot",
		"index", idx, "bytes", snap.Len())
	data := snap.Bytes()
	var buf []byte
	for off := 0; ; {
		if m.stopping() {
			return 0, errors.New("closing")
		}
		n := min(m.cfg.SnapshotChunk, len(data)-off)
		ch := SnapshotChunk{Index: idx, TimeMs: t, Offset: uint64(off), Last: off+n == len(data), Data: data[off : off+n]}
		buf = appendSnapshotChunk(buf[:0], src.AppliedIndex(), src.ClockMs(), &ch)
		c.SetWriteDeadline(time.Now().Add(30 * time.Second))
		if _, err := bw.Write(buf); err != nil {
			return 0, err
		}
		if err := bw.Flush(); err != nil {
			return 0, err
		}
		off += n
		if ch.Last {
			return idx, nil
		}
	}
}

func readUvarint(r *bufio.Reader) (uint64, error) { return binary.ReadUvarint(r) }
