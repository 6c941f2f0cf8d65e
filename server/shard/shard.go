// Package shard runs keyspace shards as Dragonboat Raft groups. It is the
// only package (with the future cluster package) that imports Dragonboat.
//
// A Host owns the process's one NodeHost and can host replicas of many
// shards. A Shard proposes log entries (commands plus the leader's time and
// seed) and serves reads from the applied state under a read lock. Writes
// are proposed without waiting for each other, so Dragonboat batches
// concurrent proposals into one log write and one fsync.
package shard

import (
	"context"
	"errors"
	"fmt"
	"github.com/cairndb/cairn/modules"
	"io"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lni/dragonboat/v4"
	"github.com/lni/dragonboat/v4/client"
	"github.com/lni/dragonboat/v4/config"
	"github.com/lni/dragonboat/v4/logger"
	"github.com/lni/dragonboat/v4/plugin/tan"
	sm "github.com/lni/dragonboat/v4/statemachine"
	"github.com/lni/vfs"

	"github.com/cairndb/cairn/server/atrest"
	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/entry"
	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/server/reply"
)

// Errors returned to callers; ErrorReply (errreply.go) maps them to Redis
// replies.
var (
	// ErrTimeout is returned when an entry was not applied in time.
	ErrTimeout = errors.New("shard: proposal timed out")
	// ErrReadTimeout is returned by Barrier (and LinearRead) when this
	// replica could not confirm in time that a read here would be
	// linearizable (a ReadIndex round timed out). Nothing ran, nothing
	// changed: unlike ErrTimeout for a write, the read can be retried.
	ErrReadTimeout = errors.New("shard: read not confirmed in time")
	// ErrNotLeader is returned when this replica cannot accept writes.
	ErrNotLeader = errors.New("shard: not the leader")
	// ErrClosed is returned after the shard has stopped.
	ErrClosed = errors.New("shard: closed")
)

// HostConfig configures the process's NodeHost.
type HostConfig struct {
	// Dir holds the Raft log and snapshots. Required.
	Dir string
	// Modules is the Wasm runtime of every shard started on the host
	// whose Options name none (function libraries). Default: the
	// process-wide runtime with an in-memory compilation cache.
	Modules *modules.Runtime
	// RaftAddr is this host's Raft address (host:port). Required.
	RaftAddr string
	// RTTMillisecond is the expected round trip between hosts. Default 10.
	RTTMillisecond uint64
	// FaultNet, for tests, replaces TCP with an in-process network whose
	// links can be cut.
	FaultNet *FaultNet
	// Transport carries Raft messages between hosts (the node passes
	// package raftnet's). Default (nil): Dragonboat's own TCP transport.
	// Ignored when FaultNet is set.
	Transport config.TransportFactory
	// FS is the file system the Raft log, snapshots and the fsync probe
	// live on. Default (nil): the operating system's. Tests pass a
	// strict in-memory FS (power loss) or a FaultFS (I/O errors).
	FS vfs.FS
	// MinFreeBytes is the free space the log's file system must keep:
	// below it, client writes are refused with ErrNoSpace until space
	// returns (diskguard.go). Default min(256 MB, 5% of the file system);
	// negative disables the check.
	MinFreeBytes int64
	// MemoryGuard is the resident-set size above which the leaders refuse
	// writes that grow memory (memguard.go). Default 0: 80% of the smaller
	// of the machine's and the cgroup's memory; negative disables it. The
	// guard is per process: the first host started sets it.
	MemoryGuard int64
	// PebbleLogDB stores the Raft log in Pebble instead of tan (the
	// default).
	PebbleLogDB bool
	// ExecShards, if not 0, sets the number of Dragonboat's step, commit
	// and apply workers.
	ExecShards uint64
	// DiskCheckInterval is how often free space is checked. Default 1s.
	DiskCheckInterval time.Duration
	// Logger receives what the shards must report (failed snapshots).
	// Default slog.Default().
	Logger *slog.Logger
	// Clock, for tests, replaces the wall clock of every shard on the
	// host that has no Options.Clock (clock.go).
	Clock Clock
	// TLSCAFile, TLSCertFile and TLSKeyFile, when all set, put the Raft
	// transport on mutual TLS (Dragonboat's MutualTLS): peers must
	// present a certificate of that CA, valid for the host they are
	// dialled at. Default: plain TCP. The files are read at start.
	TLSCAFile, TLSCertFile, TLSKeyFile string
	// Encryption, if set, encrypts every file the host writes (the Raft
	// log, snapshots, the fsync probe) with these keys: FS (or the
	// operating system's) is wrapped in an atrest.FS. Default nil.
	Encryption *atrest.Keyring
}

// testEncryption, set by the package's tests (CAIRN_TEST_ATREST=1),
// encrypts the files of every host that has no Encryption of its own, so
// the durability tests run on an encrypted file system too.
var testEncryption *atrest.Keyring

// Host is the process's Dragonboat NodeHost.
type Host struct {
	nh *dragonboat.NodeHost
	// lastCommit is the latest propose-to-applied latency in ns.
	lastCommit atomic.Int64
	// leaders counts leader elections per shard (metrics.go).
	leaders *leaderWatch
	probe   *fsyncProbe
	disk    *diskGuard
	mu      sync.Mutex
	shards  map[uint64]*Shard
	modules *modules.Runtime
	rtt     uint64
	log     *slog.Logger
	// adopted is the hostname whose Raft data this host took over at
	// start (see hostdir.go), or "".
	adopted string

	// closeMu orders proposals before NodeHost.Close: Dragonboat's
	// Propose dereferences the engine that Close sets to nil, so a
	// proposal racing Close crashed the process.
	closeMu sync.RWMutex
	closing bool
	clock   Clock
	clk     hostClock // the host's newest applied time (clock.go)
	// memGuard is HostConfig.MemoryGuard (memguard.go).
	memGuard int64
}

func init() {
	for _, name := range []string{"raft", "rsm", "transport", "dragonboat", "logdb", "tan", "registry", "config", "raftpb", "grpc", "gossip", "settings"} {
		logger.GetLogger(name).SetLevel(logger.ERROR)
	}
	// A peer that is down is an expected state in a cluster; the
	// transport's connection errors would flood the log.
	logger.GetLogger("transport").SetLevel(logger.CRITICAL)
}

// NewHost starts a NodeHost.
func NewHost(cfg HostConfig) (*Host, error) {
	if cfg.Dir == "" || cfg.RaftAddr == "" {
		return nil, errors.New("shard: HostConfig needs Dir and RaftAddr")
	}
	if cfg.RTTMillisecond == 0 {
		cfg.RTTMillisecond = DefaultRTTMillisecond
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	// The hostname check reads Dragonboat's files from the OS (the flag
	// file stays plaintext under encryption); a test's in-memory FS
	// holds no data written under another hostname.
	osFS := cfg.FS == nil
	if cfg.Encryption == nil && !cfg.PebbleLogDB {
		cfg.Encryption = testEncryption
	}
	if cfg.Encryption != nil && cfg.PebbleLogDB {
		// Dragonboat's Pebble log DB refuses any file system but the
		// operating system's and its test ones.
		return nil, errors.New("encryption at rest needs the tan log DB (--logdb tan): Dragonboat's Pebble log DB takes no custom file system")
	}
	if cfg.Encryption != nil {
		inner := cfg.FS
		if inner == nil {
			inner = vfs.Default
		}
		cfg.FS = atrest.NewFS(inner, cfg.Encryption)
	}
	nhc := cfg.NodeHostConfig()
	leaders := &leaderWatch{log: cfg.Logger}
	nhc.RaftEventListener = leaders
	var (
		adopted string
		err     error
	)
	if osFS {
		if adopted, err = prepareHostDir(cfg.Dir, cfg.RaftAddr); err != nil {
			return nil, err
		}
	}
	nh, err := dragonboat.NewNodeHost(nhc)
	if err != nil {
		return nil, fmt.Errorf("start nodehost: %w", err)
	}
	if nh == nil {
		// NewNodeHost recovers a panic whose value is not an error and
		// returns nothing at all.
		return nil, errors.New("start nodehost: Dragonboat failed without an error (a panic it recovered)")
	}
	fs := cfg.FS
	if fs == nil {
		fs = vfs.Default
	}
	h := &Host{nh: nh, rtt: cfg.RTTMillisecond, shards: map[uint64]*Shard{}, modules: cfg.Modules,
		probe:   startFsyncProbe(fs, cfg.Dir, 5*time.Second),
		disk:    startDiskGuard(fs, cfg.Dir, cfg.MinFreeBytes, cfg.DiskCheckInterval),
		adopted: adopted, log: cfg.Logger, clock: cfg.Clock, memGuard: cfg.MemoryGuard, leaders: leaders}
	return h, nil
}

// NodeHostConfig returns the Dragonboat NodeHost configuration NewHost
// starts with for cfg (defaults applied). It is exported so that
// bench/floor can measure raw Dragonboat under Cairn's exact settings.
func (cfg HostConfig) NodeHostConfig() config.NodeHostConfig {
	if cfg.RTTMillisecond == 0 {
		cfg.RTTMillisecond = 10
	}
	nhc := config.NodeHostConfig{
		NodeHostDir:    cfg.Dir,
		WALDir:         cfg.Dir,
		RTTMillisecond: cfg.RTTMillisecond,
		RaftAddress:    cfg.RaftAddr,
		Expert:         config.GetDefaultExpertConfig(),
	}
	if cfg.TLSCAFile != "" && cfg.TLSCertFile != "" && cfg.TLSKeyFile != "" {
		nhc.MutualTLS, nhc.CAFile, nhc.CertFile, nhc.KeyFile = true, cfg.TLSCAFile, cfg.TLSCertFile, cfg.TLSKeyFile
	}
	// Reads bounded per call: see maxEntriesPerRead (logdb.go).
	nhc.Expert.LogDBFactory = boundedLogDBFactory{inner: tan.Factory}
	if cfg.PebbleLogDB {
		nhc.Expert.LogDBFactory = nil
	}
	if cfg.FS != nil {
		nhc.Expert.FS = cfg.FS
	}
	if cfg.Transport != nil {
		nhc.Expert.TransportFactory = cfg.Transport
	}
	if cfg.FaultNet != nil {
		nhc.Expert.TransportFactory = &faultFactory{net: cfg.FaultNet}
	}
	// tan allocates one write buffer per log shard up front (16 x 128 MB
	// by default); records larger than the buffer get their own, so a
	// small one only saves memory.
	nhc.Expert.LogDB = config.GetDefaultLogDBConfig()
	nhc.Expert.LogDB.KVWriteBufferSize = 1 << 20
	if n := cfg.ExecShards; n != 0 {
		nhc.Expert.Engine.ExecShards = n
		nhc.Expert.Engine.CommitShards = n
		nhc.Expert.Engine.ApplyShards = n
	}
	return nhc
}

// AdoptedHostname is the hostname under which the Raft data was written
// when this host took it over at start (the machine was renamed, as a
// recreated container is), or "".
func (h *Host) AdoptedHostname() string { return h.adopted }

// Close stops every shard and the NodeHost.
func (h *Host) Close() {
	h.closeMu.Lock()
	h.closing = true
	h.closeMu.Unlock()
	h.mu.Lock()
	for _, s := range h.shards {
		s.stop()
	}
	h.mu.Unlock()
	h.nh.Close()
	h.probe.close()
	h.disk.close()
}

// LastFsync returns the latest fsync latency measured on the log's file
// system by the probe.
func (h *Host) LastFsync() time.Duration { return time.Duration(h.probe.last.Load()) }

// LastCommit returns how long the most recent write entry took from
// proposal to applied: log append, fsync, commit and apply.
func (h *Host) LastCommit() time.Duration { return time.Duration(h.lastCommit.Load()) }

// Options configures one shard replica.
type Options struct {
	ShardID   uint64 // default 1
	ReplicaID uint64 // default 1
	// Members maps replica IDs to Raft addresses for a new group; on
	// restart they are ignored.
	Members map[uint64]string
	// Join starts a replica that is being added to an existing group.
	Join bool
	// SnapshotEntries is how many entries trigger an automatic snapshot.
	// Default 100000.
	SnapshotEntries uint64
	// CompactionOverhead is how many entries are kept behind a snapshot.
	// Default 10000.
	CompactionOverhead uint64
	// ElectionRTT and HeartbeatRTT in RTTMillisecond units. Defaults 20, 2.
	ElectionRTT, HeartbeatRTT uint64
	// InitialConfig is the replicated configuration a new replica starts
	// from (over keyspace.DefaultConfig), the same on every replica of the
	// group: in cluster mode the directory's configuration when the shard
	// was created. Later changes are entry.Config log entries.
	InitialConfig []ConfigPair
	// ProposalTimeout bounds how long a write waits to be applied.
	// Default 10s.
	ProposalTimeout time.Duration
	// ExpiryInterval is how often the leader looks for expired keys.
	// Default 100ms (Redis's hz 10).
	ExpiryInterval time.Duration
	// Cluster makes the shard own no hash slot until it is assigned some
	// (OpAssign); keys of other slots are refused. A single-node shard
	// owns every slot.
	Cluster bool
	// InitialSlots are the slots a new cluster shard owns before its log's
	// first entry (the same on every replica).
	InitialSlots []uint16
	// InitialState, if set, is a snapshot stream (the format backups and
	// Raft snapshots use) the state machine starts from before its log's
	// first entry, at applied index 0: a shard of a cluster restored from
	// a backup, whose every replica reads the same stream (the directory
	// records its checksum; the caller checks it). A Raft snapshot of the
	// group, once there is one, replaces it as usual.
	InitialState io.Reader
	// OnChange, if set, is told what each applied batch changed (keys,
	// keyspace notifications), in log order, on the apply goroutine: it
	// must return quickly and must not call back into the shard.
	OnChange func(Change)
	// OnKeyMiss, if set, is told about keys a read found missing while
	// key-miss notifications are on, with the applied
	// notify-keyspace-events (pubsub mask); readers call it concurrently.
	OnKeyMiss func(key string, notify uint32)
	// Logger receives the shard's logs (a command that panicked while
	// being applied). Default slog.Default().
	Logger *slog.Logger
	// Clock reads the wall clock (default time.Now, or HostConfig.Clock);
	// the leader stamps entries from it (clock.go).
	Clock Clock
	// ClusterVersion, if set, returns the cluster's format version (the
	// lowest any node understands); the leader writes no entry version or
	// kind above it. Default: this binary's entry.Version.
	ClusterVersion func() uint8
	// Passive starts the replica passive (see Shard.SetPassive): a
	// region's secondary. Default false.
	Passive bool
	// MaxFormatVersion, for tests, makes the replica behave like a binary
	// that understands entry versions up to it only. Default entry.Version.
	MaxFormatVersion uint8
	// Modules compiles and runs the shard's function libraries (FUNCTION
	// LOAD, FCALL); several shards may share one. Default: one runtime
	// shared by the process, with an in-memory compilation cache.
	Modules *modules.Runtime
}

func (o *Options) setDefaults() {
	if o.ShardID == 0 {
		o.ShardID = 1
	}
	if o.ReplicaID == 0 {
		o.ReplicaID = 1
	}
	if o.SnapshotEntries == 0 {
		o.SnapshotEntries = DefaultSnapshotEntries
	}
	if o.CompactionOverhead == 0 {
		o.CompactionOverhead = DefaultCompactionOverhead
	}
	if o.ElectionRTT == 0 {
		o.ElectionRTT = DefaultElectionRTT
	}
	if o.HeartbeatRTT == 0 {
		o.HeartbeatRTT = DefaultHeartbeatRTT
	}
	if o.ProposalTimeout == 0 {
		o.ProposalTimeout = 10 * time.Second
	}
	if o.ExpiryInterval == 0 {
		o.ExpiryInterval = 100 * time.Millisecond
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// Shard is one replica of one Raft group holding a keyspace.
type Shard struct {
	host    *Host
	opts    Options
	sm      *stateMachine
	session *client.Session
	quit    chan struct{}
	wg      sync.WaitGroup
	closed  atomic.Bool
	lease   lease
	snapErr snapErrs
	ev      evictor
	bat     batcher
	hold    proposalHold // handoff.go
	// commitLat is the propose-to-applied latency of this replica's
	// proposals (metrics.go).
	commitLat Latency
	// single: a one-member group outside cluster mode; its wall clock is
	// the only clock there is, so it is trusted (clock.go).
	single bool
	// passive: the leader proposes no expiry or eviction (SetPassive).
	passive atomic.Bool
}

// StartShard starts (or restarts) a replica on this host and, for a
// single-member group, waits until it can serve.
func (h *Host) StartShard(opts Options, table *command.Table) (*Shard, error) {
	opts.setDefaults()
	if opts.Clock == nil {
		opts.Clock = h.clock
	}
	if opts.Modules == nil {
		opts.Modules = h.modules
	}
	s := &Shard{host: h, opts: opts, quit: make(chan struct{}), single: !opts.Cluster && !opts.Join && len(opts.Members) <= 1}
	s.sm = &stateMachine{db: keyspace.New(), table: table, opts: opts, onChange: opts.OnChange, onMiss: opts.OnKeyMiss}
	s.sm.onApply = s.kickBatch
	s.passive.Store(opts.Passive)
	if err := s.sm.initConfig(); err != nil {
		return nil, err
	}
	s.sm.hook()
	s.sm.clk.host = &h.clk
	if opts.Cluster {
		s.sm.slots = initialSlots(opts.InitialSlots)
	}
	if opts.InitialState != nil {
		if _, err := s.sm.recoverSnapshot(opts.InitialState, true); err != nil {
			return nil, fmt.Errorf("shard %d: initial state: %w", opts.ShardID, err)
		}
		if h := s.sm.halted.Load(); h != nil {
			return nil, fmt.Errorf("shard %d: initial state: %s", opts.ShardID, h.reason)
		}
	}
	members := map[uint64]dragonboat.Target{}
	for id, addr := range opts.Members {
		members[id] = addr
	}
	if len(members) == 0 && !opts.Join && !h.nh.HasNodeInfo(opts.ShardID, opts.ReplicaID) {
		// A new single-member group (a restart needs no member list).
		members[opts.ReplicaID] = h.nh.RaftAddress()
	}
	rc := opts.RaftConfig()
	create := func(uint64, uint64) sm.IConcurrentStateMachine { return s.sm }
	if err := h.nh.StartConcurrentReplica(members, opts.Join, create, rc); err != nil {
		return nil, fmt.Errorf("start shard %d: %w", opts.ShardID, err)
	}
	s.session = h.nh.GetNoOPSession(opts.ShardID)
	h.mu.Lock()
	h.shards[opts.ShardID] = s
	h.mu.Unlock()
	s.wg.Add(6)
	go s.backfillLoop()
	go s.evictLoop()
	go s.tickLoop()
	go s.expireLoop()
	go s.snapshotLoop()
	go s.leaseLoop()
	return s, nil
}

// RaftConfig returns the Dragonboat configuration StartShard gives the
// replica these options describe (defaults applied). It is exported so
// that bench/floor can measure raw Dragonboat under Cairn's exact settings.
func (o Options) RaftConfig() config.Config {
	o.setDefaults()
	rc := groupConfig(o.ShardID, o.ReplicaID, o.ElectionRTT, o.HeartbeatRTT)
	rc.SnapshotEntries = o.SnapshotEntries
	rc.CompactionOverhead = o.CompactionOverhead
	rc.WaitReady = true
	return rc
}

// WaitLeader blocks until the group has a leader or ctx ends.
func (s *Shard) WaitLeader(ctx context.Context) error {
	for {
		if _, _, ok, err := s.host.nh.GetLeaderID(s.opts.ShardID); err == nil && ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// StopShard stops this host's replica of a shard (the group goes on
// without it). With removeData its log and snapshots are deleted too, for
// a replica that has been removed from the group.
func (h *Host) StopShard(shardID uint64, removeData bool) error {
	h.mu.Lock()
	s := h.shards[shardID]
	delete(h.shards, shardID)
	h.mu.Unlock()
	if s == nil {
		return nil
	}
	s.stop()
	if err := h.nh.StopReplica(shardID, s.opts.ReplicaID); err != nil && !errors.Is(err, dragonboat.ErrShardNotFound) {
		return err
	}
	if removeData {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		return h.nh.SyncRemoveData(ctx, shardID, s.opts.ReplicaID)
	}
	return nil
}

// ShardIDs returns the IDs of the shards this host runs replicas of.
func (h *Host) ShardIDs() []uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]uint64, 0, len(h.shards))
	for id := range h.shards {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

// Shard returns this host's replica of a shard, or nil.
func (h *Host) Shard(shardID uint64) *Shard {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.shards[shardID]
}

// HasData tells whether this host has ever held a replica of the shard.
func (h *Host) HasData(shardID, replicaID uint64) bool {
	return h.nh.HasNodeInfo(shardID, replicaID)
}

// RaftAddr returns the host's Raft address.
func (h *Host) RaftAddr() string { return h.nh.RaftAddress() }

func (s *Shard) stop() {
	if s.closed.Swap(true) {
		return
	}
	close(s.quit)
	s.wg.Wait()
}

// IsLeader tells whether this replica is the group's leader.
func (s *Shard) IsLeader() bool {
	id, _, ok, err := s.host.nh.GetLeaderID(s.opts.ShardID)
	return err == nil && ok && id == s.opts.ReplicaID
}

// Pending is a proposed entry whose replies are not yet known.
type Pending struct {
	rs    *dragonboat.RequestState
	err   error
	start time.Time
	host  *Host
	// commit, if set, records the propose-to-applied latency.
	commit *Latency
	kind   entry.Kind
	n      int
	pre    []reply.Value // answered without proposing (admit)
	est    int64         // counted in inflight until Wait ends
	ev     *evictor
	// bt is the coalesced entry this write joined (batch.go); its
	// replies start at off.
	bt  *batch
	off int
}

// Propose proposes an entry holding cmds without waiting for it. The
// leader fixes the entry's time and seed when the entry is proposed.
// Commands entries of concurrent callers may share one log entry
// (batch.go); each caller's Wait still returns exactly its own replies.
func (s *Shard) Propose(kind entry.Kind, cmds [][][]byte) *Pending {
	s.precompile(cmds)
	if kind == entry.Commands && len(cmds) > 0 && batching {
		return s.proposeBatched(cmds)
	}
	return s.propose(kind, cmds, s.opts.ProposalTimeout)
}

func (s *Shard) propose(kind entry.Kind, cmds [][][]byte, timeout time.Duration) *Pending {
	p := &Pending{kind: kind, n: len(cmds), start: time.Now(), host: s.host, commit: &s.commitLat}
	v, err := s.writeVersion(kind, cmds)
	if err != nil {
		p.err = err
		return p
	}
	s.hold.wait()
	e := entry.Entry{Version: v, Kind: kind, Time: s.stampTime(), Seed: rand.Uint64(), Cmds: cmds}
	buf := entry.Append(make([]byte, 0, entry.Size(&e)), &e)
	var est int64
	if isWriteKind(kind) {
		est = writeEstimate(len(buf), len(cmds))
		if pre := s.admit(kind, cmds, est); pre != nil {
			return pre
		}
	}
	if s.closed.Load() {
		p.err = ErrClosed
		return p
	}
	if err := s.host.disk.refuse(kind); err != nil {
		p.err = err
		return p
	}
	if est > 0 {
		p.est, p.ev = est, &s.ev
		s.ev.inflight.Add(est)
	}
	s.host.closeMu.RLock()
	if s.host.closing {
		p.err = ErrClosed
	} else {
		p.rs, p.err = s.host.nh.Propose(s.session, buf, timeout)
	}
	s.host.closeMu.RUnlock()
	return p
}

// Wait waits for the entry to be applied and returns one reply per
// command (one EXEC array for a Multi entry).
func (p *Pending) Wait() ([]reply.Value, error) {
	if p.pre != nil {
		return p.pre, nil
	}
	if p.ev != nil {
		defer p.ev.inflight.Add(-p.est)
	}
	if p.err != nil {
		return nil, mapErr(p.err)
	}
	if p.bt != nil {
		return p.waitBatched()
	}
	defer p.rs.Release()
	r := <-p.rs.ResultC()
	switch {
	case r.Completed():
		d := time.Since(p.start)
		p.host.lastCommit.Store(int64(d))
		if p.commit != nil {
			p.commit.Observe(d)
		}
	case r.Timeout():
		return nil, ErrTimeout
	case r.Terminated():
		return nil, ErrClosed
	case r.Dropped():
		return nil, ErrNotLeader
	default:
		return nil, fmt.Errorf("shard: proposal not applied (code %v)", r)
	}
	if r.GetResult().Value == haltedValue {
		return nil, fmt.Errorf("%w: %s", ErrHalted, r.GetResult().Data)
	}
	data := r.GetResult().Data
	n := p.n
	if p.kind == entry.Multi || p.kind == entry.WatchedMulti {
		n = 1
	}
	out := make([]reply.Value, 0, n)
	for len(data) > 0 {
		v, rest, err := reply.Decode(data)
		if err != nil {
			return nil, err
		}
		out, data = append(out, v), rest
	}
	return out, nil
}

func mapErr(err error) error {
	switch {
	case errors.Is(err, dragonboat.ErrTimeout):
		return ErrTimeout
	case errors.Is(err, dragonboat.ErrShardNotReady), errors.Is(err, dragonboat.ErrShardNotFound):
		return ErrNotLeader
	case errors.Is(err, dragonboat.ErrClosed), errors.Is(err, dragonboat.ErrShardClosed):
		return ErrClosed
	}
	return err
}

// Read runs a read-only command against the applied state.
func (s *Shard) Read(spec *command.Spec, args [][]byte) reply.Value {
	return s.ReadAt(time.Now(), spec, args)
}

// ReadAt is Read for a command that started at now (a fresh time.Now
// reading). The command runs at the replicated clock as read at now
// (Shard.Now: the time the next write would be applied at, never before
// the applied time), so a read and the next write agree on what has
// expired.
func (s *Shard) ReadAt(now time.Time, spec *command.Spec, args [][]byte) reply.Value {
	// The context comes from a pool: a read would otherwise allocate one
	// (it escapes into the handler), the only allocation of a GET.
	c := readCtxPool.Get().(*command.Ctx)
	*c = command.Ctx{Now: s.nowAt(now), Seed: rand.Uint64()}
	s.sm.mu.RLock()
	c.ProtoMaxBulkLen = s.sm.db.Cfg.ProtoMaxBulkLen
	c.DB = s.sm.db
	c.Search = s.sm.ft
	s.sm.funcCtx(c)
	v := s.sm.readGuarded(c, spec, args) // slot check, then the handler
	s.sm.mu.RUnlock()
	if c.BlockArgs != nil && command.IsBlocked(v) {
		// The arguments to run when the client is woken travel in the
		// Blocked reply.
		v.Elems = make([]reply.Value, len(c.BlockArgs))
		for i, a := range c.BlockArgs {
			v.Elems[i] = reply.Bulk(a)
		}
	}
	*c = command.Ctx{} // drop references before pooling
	readCtxPool.Put(c)
	return v
}

var readCtxPool = sync.Pool{New: func() any { return new(command.Ctx) }}

// KeyDigests returns the digest of each key's live value at now (0 for a
// missing key), for WATCH.
func (s *Shard) KeyDigests(now time.Time, keys [][]byte) []uint64 {
	out := make([]uint64, len(keys))
	t := s.Now()
	s.sm.mu.RLock()
	defer s.sm.mu.RUnlock()
	for i, k := range keys {
		out[i] = s.sm.db.KeyDigest(k, t)
	}
	return out
}

// KeyspaceSnapshot returns a point-in-time view of the applied keyspace
// (O(1), taken between two applied batches), for serializing it off the
// apply path (SYNC). The caller must Release it.
func (s *Shard) KeyspaceSnapshot() *keyspace.Snapshot {
	s.sm.mu.Lock()
	defer s.sm.mu.Unlock()
	return s.sm.db.Snapshot()
}

// View runs fn with the keyspace under the read lock, for server-level
// introspection (INFO keyspace, DBSIZE).
func (s *Shard) View(fn func(db *keyspace.DB)) {
	s.sm.mu.RLock()
	defer s.sm.mu.RUnlock()
	fn(s.sm.db)
}

// Snapshot asks Dragonboat for a snapshot now and waits for it (at most a
// minute when ctx has no deadline).
func (s *Shard) Snapshot(ctx context.Context) (uint64, error) {
	if err := s.Halted(); err != nil {
		return 0, err
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Minute)
		defer cancel()
	}
	idx, err := s.host.nh.SyncRequestSnapshot(ctx, s.opts.ShardID, dragonboat.SnapshotOption{OverrideCompactionOverhead: true, CompactionOverhead: s.opts.CompactionOverhead})
	if err != nil {
		if errors.Is(err, dragonboat.ErrRejected) {
			// Nothing new since the last snapshot.
			return s.sm.snapIndex.Load(), nil
		}
		err = fmt.Errorf("snapshot of shard %d: %w", s.opts.ShardID, mapErr(err))
		if !s.closed.Load() {
			s.snapErr.note(s.host.log, s.opts.ShardID, err)
		}
		return 0, err
	}
	s.snapErr.note(s.host.log, s.opts.ShardID, nil)
	s.sm.snapIndex.Store(idx)
	s.sm.lastSnapUnix.Store(time.Now().Unix())
	return idx, nil
}

// Status is what INFO reports about the shard.
type Status struct {
	ShardID, ReplicaID, LeaderID, Term uint64
	IsLeader                           bool
	AppliedIndex, LastLogIndex         uint64
	SnapshotIndex                      uint64
	LastSnapshotUnix                   int64
	Dirty                              int64
	SnapshotInProgress                 bool
	LastCommit                         time.Duration
	LastFsync                          time.Duration
	// SnapshotErr is the last snapshot attempt's error, nil if it
	// succeeded.
	SnapshotErr error
	// Halted is why this replica stopped applying the shard ("" if not).
	Halted string
	// ClockMs is the applied (replicated) clock, Unix ms; ClockClamped
	// counts entries whose time apply bounded.
	ClockMs, ClockClamped int64
}

// Status returns the shard's Raft status.
func (s *Shard) Status() Status {
	st := Status{ShardID: s.opts.ShardID, ReplicaID: s.opts.ReplicaID}
	st.LeaderID, st.Term, _, _ = s.host.nh.GetLeaderID(s.opts.ShardID)
	st.IsLeader = st.LeaderID == s.opts.ReplicaID
	st.AppliedIndex = s.sm.applied.Load()
	if lr, err := s.host.nh.GetLogReader(s.opts.ShardID); err == nil {
		_, st.LastLogIndex = lr.GetRange()
		if ss := lr.Snapshot(); ss.Index > 0 {
			st.SnapshotIndex = ss.Index
		}
	}
	if st.SnapshotIndex == 0 {
		st.SnapshotIndex = s.sm.snapIndex.Load()
	}
	st.LastSnapshotUnix = s.sm.lastSnapUnix.Load()
	st.Dirty = s.sm.dirty.Load()
	st.SnapshotInProgress = s.sm.snapping.Load()
	st.SnapshotErr = s.snapErr.err()
	st.LastCommit = s.host.LastCommit()
	st.LastFsync = s.host.LastFsync()
	if err := s.Halted(); err != nil {
		st.Halted = err.Error()
	}
	st.ClockMs, st.ClockClamped = s.ClockStats()
	return st
}

// snapshotLoop bounds the log tail a restart must replay by commands, not
// just by entries: a pipelined entry may carry a thousand commands, so
// Dragonboat's entry count alone could let the tail grow large. When the
// commands applied since the last snapshot reach SnapshotEntries, it asks
// for a snapshot.
func (s *Shard) snapshotLoop() {
	defer s.wg.Done()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-s.quit:
			return
		case <-t.C:
		}
		if s.sm.sinceSnap.Load() < int64(s.opts.SnapshotEntries) || s.sm.snapping.Load() {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		s.Snapshot(ctx) // a failure is logged there, and retried next tick
		cancel()
	}
}

// expireLoop is Redis's active expiry, done by the leader through the log:
// it finds keys whose time has passed and proposes their deletion, so every
// replica and every replay deletes the same keys.
func (s *Shard) expireLoop() {
	defer s.wg.Done()
	t := time.NewTicker(s.opts.ExpiryInterval)
	defer t.Stop()
	const batch = 256
	for {
		select {
		case <-s.quit:
			return
		case <-t.C:
		}
		if !s.IsLeader() || s.passive.Load() {
			continue
		}
		for range 16 { // bound one round's work, like Redis's time limit
			var keys []string
			s.sm.mu.RLock()
			keys = s.sm.db.ExpiredKeys(s.Now(), batch)
			s.sm.mu.RUnlock()
			if len(keys) == 0 {
				break
			}
			cmds := make([][][]byte, len(keys))
			for i, k := range keys {
				cmds[i] = [][]byte{[]byte(k)}
			}
			if _, err := s.Propose(entry.Expire, cmds).Wait(); err != nil || len(keys) < batch {
				break
			}
		}
	}
}

// groupConfig is the Raft configuration every group shares. CheckQuorum
// and PreVote are not tuning: the read lease (lease.go) relies on them.
func groupConfig(shardID, replicaID, electionRTT, heartbeatRTT uint64) config.Config {
	return config.Config{
		ShardID:      shardID,
		ReplicaID:    replicaID,
		ElectionRTT:  electionRTT,
		HeartbeatRTT: heartbeatRTT,
		CheckQuorum:  true,
		PreVote:      true,
	}
}
