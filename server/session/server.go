// Package session is Cairn's connection layer: it accepts Redis clients,
// reads their requests with the resp codec, keeps per-connection state
// (AUTH, HELLO, client name, reply mode, MULTI/WATCH, blocking waits,
// pub/sub and client tracking), serves the connection-level commands
// (CLIENT, CONFIG, INFO, COMMAND, SLOWLOG, LATENCY, MONITOR), dispatches
// the rest and has resp turn reply values into bytes. It knows nothing of
// storage: writes go to a Backend that proposes them to the Raft log, reads
// are run by the Backend against applied state.
//
// Pipelining: the write commands a connection has pipelined are collected
// into one batch and proposed as one log entry; the batch is flushed when a
// non-write command arrives or the input buffer drains, so replies stay in
// order. Batches of all connections are proposed without waiting for each
// other, so the log commits many of them with one fsync.
package session

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cairndb/cairn/server/acl"
	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/server/pubsub"
	"github.com/cairndb/cairn/server/reply"
	"github.com/cairndb/cairn/server/resp"
)

// Pending is a proposed batch of writes whose replies are not known yet.
type Pending interface {
	Wait() ([]reply.Value, error)
}

// Backend is what the session layer needs from the storage side; the
// server package implements it over the node's shards and the cluster
// control plane.
type Backend interface {
	// Route picks where a data command runs (see Route). When the command
	// must not run here — another node serves its slot (MOVED), its keys
	// span slots (CROSSSLOT), the cluster is down — ok is false and the
	// reply says why. readOnly is the connection's READONLY flag (replica reads are
	// allowed); asking is set for the command right after ASKING.
	Route(spec *command.Spec, args [][]byte, readOnly, asking bool) (r Route, redirect reply.Value, ok bool)
	// Propose proposes write commands for one route as one log entry,
	// without waiting.
	Propose(r Route, cmds [][][]byte) Pending
	// Read runs a read-only command against the route's applied state;
	// now is the present for expiry.
	Read(r Route, now time.Time, spec *command.Spec, args [][]byte) reply.Value
	// Cluster serves the CLUSTER command (args include "CLUSTER").
	Cluster(args [][]byte) reply.Value
	// ClusterEnabled tells whether the node runs in cluster mode.
	ClusterEnabled() bool
	// Save takes a durable snapshot now.
	Save(ctx context.Context) error
	// Status reports keyspace and Raft figures for INFO.
	Status() Status
	// Config returns the replicated configuration this node serves (in
	// cluster mode the directory's).
	Config() keyspace.Config
	// SetConfig changes replicated parameters (canonical names and
	// values, keyspace.Config.Set) through the log: every shard's
	// replicas apply them at the same log index. It returns once they are
	// in effect everywhere.
	SetConfig(pairs [][2]string) error
	// ErrorReply maps a Backend error (timeout, no leader) to a reply.
	ErrorReply(err error) reply.Value
	// ProposeMulti proposes a transaction as one log entry. watch holds
	// (key, decimal value digest) pairs: if any key's digest differs at
	// apply time nothing runs and the reply is a null array. The Pending
	// yields one reply: the EXEC array, a null array, or an error.
	ProposeMulti(r Route, watch [][]byte, cmds [][][]byte) Pending
	// KeyDigests returns the digest of each key's value on r (0 for
	// a missing key), for WATCH.
	KeyDigests(r Route, now time.Time, keys [][]byte) ([]uint64, error)
	// Forward sends a Cairn-internal command to other nodes, without
	// waiting: to NodeRoute, every other node of the cluster; to a
	// shard's route, the other nodes holding a replica of that shard.
	Forward(to Route, args [][]byte)
	// AckedReplicas is how many replicas other than the leader hold
	// every acknowledged write of r's shard (WAIT).
	AckedReplicas(r Route) int
}

// Status is the storage side's contribution to INFO.
type Status struct {
	Keys, Expires                  int64
	Hits, Misses, ExpiredKeys      int64
	IsLeader                       bool
	ShardID, ReplicaID, LeaderID   uint64
	Term, AppliedIndex             uint64
	LastLogIndex, SnapshotIndex    uint64
	Dirty                          int64
	LastSaveUnix                   int64
	SnapshotInProgress             bool
	LastCommit, LastFsync          time.Duration
	RaftAddr, DataDir              string
	SnapshotEntries                uint64
	LastSnapshotDur, LastSnapBlock time.Duration
	// LazyfreePending and Lazyfreed are INFO's lazyfree_pending_objects
	// and lazyfreed_objects.
	LazyfreePending, Lazyfreed int64
	// MasterAddr, on a cluster endpoint of a replica this node does not
	// lead, is the leader's endpoint (INFO replication: role:slave);
	// Replicas is connected_slaves.
	MasterAddr string
	Replicas   int
	// SnapshotFailed: the last snapshot attempt of some shard failed
	// (INFO rdb_last_bgsave_status:err).
	SnapshotFailed bool
	// Halted lists the shards this node stopped applying, with why.
	Halted []string
	// ClockMs is the replicated clock (Unix ms); ClockClamped counts
	// entries whose time apply bounded.
	ClockMs, ClockClamped int64
	// FsyncP50 and FsyncP99 are the fsync probe's quantiles since the
	// node started (the histogram /metrics exports); Shards are this
	// node's replicas, one INFO raft line each.
	FsyncP50, FsyncP99 time.Duration
	Shards             []ShardStatus
}

// ShardStatus is one local shard replica in INFO raft
// (raft_shard_<id>:...).
type ShardStatus struct {
	ID, ReplicaID, LeaderID, Term uint64
	IsLeader                      bool
	CommitIndex, AppliedIndex     uint64
	SnapshotIndex                 uint64
	// LastSnapshotUnix is when this replica last wrote or installed a
	// snapshot (0: not since the node started).
	LastSnapshotUnix int64
	// CommitP50 and CommitP99 are the propose-to-applied quantiles of
	// this replica's proposals since the node started (the histogram
	// /metrics exports as cairn.raft.commit.duration).
	CommitP50, CommitP99 time.Duration
	Halted               bool
}

// Config configures the listener. Defaults are noted per field.
type Config struct {
	// RequirePass is the default user's password; "" disables AUTH.
	// It is committed to the replicated ACL users at start (acl.go).
	RequirePass string
	// ACLFile is the aclfile (Redis's format): the users it holds seed
	// the replicated users when there are none yet; ACL SAVE writes it
	// and ACL LOAD reads it. Default none.
	ACLFile string
	// ProtoMaxBulkLen is the largest bulk argument. Default 512 MB.
	ProtoMaxBulkLen int64
	// MaxClients caps connections. Default 10000.
	MaxClients int
	// Port, Bind and Dir are reported by INFO and CONFIG GET.
	Port           int
	Bind, Dir      string
	ConfigFile     string
	Version        string
	RunID          string
	Logger         *slog.Logger
	Shutdown       func(save bool) error
	SnapshotConfig uint64

	// LogLevel, if set, is the level of Logger's handler (CONFIG SET
	// loglevel changes it); otherwise Logger is wrapped in a filter.
	LogLevel *slog.LevelVar
	// Params are node-local parameters from the config file
	// (FileParams), applied at start as CONFIG SET would.
	Params map[string]string

	// TLS, if set, serves CONFIG GET/SET of the tls-* parameters.
	// TLSPort is reported by CONFIG GET tls-port. TLSCluster (tls-cluster)
	// lets a connection authenticate as a node only over TLS with a
	// client certificate of the cluster's CA.
	TLS        TLS
	TLSPort    int
	TLSCluster bool
	// ProtectedMode (protected-mode) refuses connections from other
	// hosts while the default user has no password (protected.go);
	// CONFIG SET changes it. Default false.
	ProtectedMode bool
	// Audit, if set, records security-relevant and administrative
	// commands (audit.go). Default nil: none.
	Audit Auditor
}

// maxBatch bounds the commands of one pipelined log entry.
const maxBatch = 1024

// Server serves Redis clients.
type Server struct {
	table   *command.Table
	backend Backend
	log     *slog.Logger
	cfg     Config
	params  *params
	start   time.Time
	// logLevel is loglevel (CONFIG SET).
	logLevel *slog.LevelVar
	// bgsaveScheduled is set while a BGSAVE SCHEDULE waits for the
	// snapshot in progress.
	bgsaveScheduled atomic.Bool

	mu      sync.Mutex
	ln      net.Listener
	extra   []net.Listener // ServeBackend's listeners
	clients map[int64]*client
	closed  bool
	nextID  atomic.Int64

	stats    stats
	opsRate  atomic.Int64
	memPeak  atomic.Uint64 // largest used_memory INFO reported
	stop     chan struct{}
	cmdStats map[*command.Spec]*cmdStat
	conn     map[string]connHandler
	// blockInitial: first letters of blocking commands (mayBlock).
	blockInitial [256]bool

	watches  watchRegistry
	blocked  blockRegistry
	slow     slowlog
	latency  latencyMonitor
	monitors monitors
	hub      *pubsub.Hub
	trk      tracker

	// ACL (acl.go): the users this node serves, the command universe
	// of the rules, the ACL LOG. aclMu orders refreshes; aclChange
	// orders this node's changes.
	users     atomic.Pointer[aclState]
	aclCmds   *acl.Commands
	aclLog    *acl.Log
	startSet  *acl.Set
	aclMu     sync.Mutex
	aclChange sync.Mutex
}

// KeysChanged is told, after each applied batch of log entries on this
// node, which keys changed (all: possibly every key) and which keyspace
// notifications were raised, with the notify-keyspace-events (pubsub mask)
// the shard applied. It wakes blocked clients, dirties WATCHes and
// publishes notifications. It must not block: the apply path calls it.
func (s *Server) KeysChanged(keys []string, all bool, events []command.Event, notify uint32) {
	s.watches.touched(keys, all)
	s.blocked.touched(keys, all)
	if len(events) > 0 {
		s.hub.PublishEvents(notify, 0, events)
	}
}

type stats struct {
	connections, commands, rejectedConns atomic.Int64
	netIn, netOut                        atomic.Int64
	errors                               atomic.Int64
}

type cmdStat struct {
	calls, usec, rejected, failed atomic.Int64
	// nsec is the calls' total time in nanoseconds: the metrics'
	// histogram sum (usec truncates calls under 1µs to 0, as INFO does).
	nsec atomic.Int64
	hist [40]atomic.Int64 // calls by bits.Len(usec)
}

// DefaultMaxClients is Redis's default maxclients, the connection cap
// when Config.MaxClients is zero.
const DefaultMaxClients = 10000

// New returns a server over table and backend.
func New(cfg Config, table *command.Table, backend Backend) *Server {
	if cfg.ProtoMaxBulkLen == 0 {
		cfg.ProtoMaxBulkLen = resp.DefaultMaxBulkLen
	}
	if cfg.MaxClients == 0 {
		cfg.MaxClients = DefaultMaxClients
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Server{table: table, backend: backend, log: cfg.Logger, cfg: cfg, start: time.Now(),
		clients: map[int64]*client{}, cmdStats: map[*command.Spec]*cmdStat{}}
	s.initLogLevel()
	s.initACL()
	s.params = newParams(s)
	s.applyStartParams()
	for _, sp := range table.All() {
		s.cmdStats[sp] = &cmdStat{}
		for _, sub := range sp.Sub {
			s.cmdStats[sub] = &cmdStat{}
		}
	}
	s.conn = connHandlers()
	s.blockInitial = blockInitials(table)
	s.hub = pubsub.NewHub()
	s.stop = make(chan struct{})
	go s.sampleOps(s.stop)
	go s.clientsCron(s.stop)
	s.refreshACL(nil)
	go s.pollACL()
	go s.seedACL()
	return s
}

// Serve accepts clients on ln until Close.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	s.ln = ln
	s.mu.Unlock()
	return s.accept(ln, nil)
}

// ServeBackend accepts clients on another listener until Close or until
// ln is closed; their data and CLUSTER commands go to b instead of the
// server's backend (a cluster endpoint that presents one shard replica).
// Everything else (pub/sub, CLIENT, CONFIG, INFO's other sections) is the
// server's.
func (s *Server) ServeBackend(ln net.Listener, b Backend) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ln.Close()
		return nil
	}
	s.extra = append(s.extra, ln)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		for i, l := range s.extra {
			if l == ln {
				s.extra = append(s.extra[:i], s.extra[i+1:]...)
				break
			}
		}
		s.mu.Unlock()
	}()
	err := s.accept(ln, b)
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

func (s *Server) accept(ln net.Listener, b Backend) error {
	for {
		nc, err := ln.Accept()
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return err
		}
		s.stats.connections.Add(1)
		go s.serve(nc, b)
	}
}

// Close stops accepting and disconnects every client.
func (s *Server) Close() {
	s.mu.Lock()
	if !s.closed {
		close(s.stop)
	}
	s.closed = true
	if s.ln != nil {
		s.ln.Close()
	}
	for _, ln := range s.extra {
		ln.Close()
	}
	for _, c := range s.clients {
		c.close()
	}
	s.mu.Unlock()
}

func (s *Server) serve(nc net.Conn, b Backend) {
	tc, ok := s.handshake(nc)
	if !ok {
		return
	}
	if tc != nil {
		tc.SetNoDelay(true)
		s.setKeepAlive(tc)
	}
	c := newClient(s, nc)
	if b != nil {
		c.be = b
	}
	s.mu.Lock()
	if len(s.clients) >= s.params.maxClients() {
		s.mu.Unlock()
		s.stats.rejectedConns.Add(1)
		nc.Write([]byte("-ERR max number of clients reached\r\n"))
		nc.Close()
		return
	}
	s.clients[c.id] = c
	s.mu.Unlock()
	if s.protectedDenied(nc) {
		if !s.clusterNodeAuth() {
			s.stats.rejectedConns.Add(1)
			s.mu.Lock()
			delete(s.clients, c.id)
			s.mu.Unlock()
			nc.Write([]byte(deniedMsg))
			nc.Close()
			return
		}
		c.denied = true
	}
	defer func() {
		s.mu.Lock()
		delete(s.clients, c.id)
		s.mu.Unlock()
		s.unwatch(c)
		s.stopMonitor(c)
		s.unsubscribeAll(c)
		s.disableTracking(c)
		c.closePush()
		nc.Close()
	}()
	if rc := rawConn(nc); rc != nil {
		s.serveRaw(c, rc)
		return
	}
	for {
		s.prepareRead(c)
		args, err := c.rd.ReadCommand()
		if !s.handle(c, args, err) {
			return
		}
	}
}

// prepareRead sets the reader's limits for the next command.
func (s *Server) prepareRead(c *client) {
	c.rd.MaxBulkLen = s.params.protoMaxBulkLen()
	c.rd.Unauthenticated = !c.authed && s.authRequired()
}

// handle runs one command read from the connection (or handles the read
// error) and flushes replies once the input holds no more commands. It
// returns false when the connection is to be closed.
func (s *Server) handle(c *client, args [][]byte, err error) bool {
	if err != nil {
		s.flushBatch(c)
		var pe resp.ProtocolError
		if errors.As(err, &pe) {
			c.out = resp.AppendValue(c.out, reply.Error("ERR "+pe.Error()), c.proto)
		}
		c.flush()
		return false
	}
	if !c.rd.Buffered() {
		// Once per burst of pipelined commands, not per command.
		c.lastInteraction.Store(time.Now().UnixMilli())
		c.rbs.Store(int64(c.rd.BufSize()))
	}
	if s.trk.n.Load() > 0 {
		s.trackLimit()
	}
	if c.denied && !isNodeAuth(args) {
		// Protected mode in cluster mode: only a node may go on.
		s.stats.rejectedConns.Add(1)
		s.flushBatch(c)
		c.flush()
		c.nc.Write([]byte(deniedMsg))
		return false
	}
	s.dispatchGuarded(c, args)
	if c.denied {
		if !c.node {
			s.stats.rejectedConns.Add(1)
			s.flushBatch(c)
			c.flush()
			return false
		}
		c.denied = false
	}
	if c.trk.caching {
		s.trackAfterCommand(c, args)
	}
	if c.closing {
		s.flushBatch(c)
		c.flush()
		return false
	}
	if !c.rd.Buffered() {
		s.flushBatch(c)
		if err := c.flush(); err != nil {
			return false
		}
	}
	return true
}

// dispatch runs one command: checks, then a write joins the batch, a read
// or connection command runs after the batch is flushed.
func (s *Server) dispatch(c *client, args [][]byte) {
	c.stat.commands++
	if isSecurityAttack(args[0]) {
		s.log.Warn("possible SECURITY ATTACK detected: HTTP-like request on the Redis port; connection closed", "addr", c.addr)
		c.closing = true
		return
	}
	if !c.node && isInternal(args) && (c.authed || !s.authRequired()) {
		// Only nodes send these; to anyone else they do not exist.
		s.flushBatch(c)
		s.stats.errors.Add(1)
		if c.tx.in {
			c.tx.abort = true
		}
		c.reply(command.ErrorReply(command.UnknownSubcommand(args[0], args[1])))
		return
	}
	if !c.node && isNodeOnly(args) && (c.authed || !s.authRequired()) && !(s.cfg.TLSCluster && s.nodeCertOK(c)) {
		s.flushBatch(c)
		s.stats.errors.Add(1)
		if c.tx.in {
			c.tx.abort = true
		}
		v := reply.Error(errNodeOnly)
		if spec, err := s.table.Resolve(args); err == nil {
			s.audit(c, spec, args, v) // a refused administrative command is audited too
		}
		c.reply(v)
		return
	}
	spec, err := s.table.Resolve(args)
	if err != nil || !spec.IsWrite() {
		// Anything answered right away must wait for the writes pipelined
		// before it, so replies stay in order.
		s.flushBatch(c)
	}
	if err != nil {
		s.stats.errors.Add(1)
		if c.tx.in {
			c.tx.abort = true
		}
		if sp := s.table.Lookup(args[0]); sp != nil {
			if st := s.cmdStats[sp]; st != nil {
				st.rejected.Add(1)
			}
		}
		c.reply(command.ErrorReply(err))
		return
	}
	st := s.cmdStats[spec]
	if !c.authed && spec.Flags&command.NoAuth == 0 && s.authRequired() {
		st.rejected.Add(1)
		if c.tx.in {
			c.tx.abort = true
		}
		noauth := reply.Error("NOAUTH Authentication required.")
		s.audit(c, spec, args, noauth)
		c.reply(noauth)
		return
	}
	c.setLastCmd(&spec.Name)
	if !c.node && !s.checkACL(c, spec, args) {
		return
	}
	if s.monitors.n.Load() > 0 && spec.Flags&(command.SkipMonitor|command.Admin) == 0 {
		s.feedMonitors(c, args)
	}
	if c.push != nil && c.subs+c.ssubs > 0 && c.proto == 2 && !subContext(spec) {
		c.reply(reply.Error("ERR Can't execute '" + spec.Name + "': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"))
		return
	}
	if c.tx.in && !txControl(spec) {
		s.flushBatch(c)
		c.reply(s.queue(c, spec, args))
		return
	}
	var target Route
	if spec.Flags&command.Conn == 0 {
		var redirect reply.Value
		var ok bool
		target, redirect, ok = c.be.Route(spec, args, c.readOnly, c.asking)
		c.asking = false
		if !ok {
			s.flushBatch(c)
			st.rejected.Add(1)
			s.stats.errors.Add(1)
			c.reply(redirect)
			return
		}
	}
	if spec.IsWrite() && spec.Block == nil {
		if c.trk.on && s.trackAlone(c, spec, args) {
			s.flushBatch(c)
		}
		if len(c.batch) > 0 && c.batchRoute != target {
			s.flushBatch(c)
		}
		c.batchRoute, c.lastRoute = target, target
		c.addWrite(spec, args)
		if len(c.batch) >= maxBatch || (c.trk.on && c.trk.alone) {
			s.flushBatch(c)
		}
		return
	}
	start := time.Now()
	var v reply.Value
	if c.trk.on {
		s.trackRead(c, spec, args)
	}
	if spec.Block != nil {
		s.flushBatch(c)
		if spec.IsWrite() {
			c.lastRoute = target
		}
		v = s.runBlocking(c, spec, target, args)
	} else if spec.Flags&command.Conn != 0 {
		// INFO, LATENCY, CONFIG RESETSTAT and the like see (or reset)
		// this connection's earlier commands too.
		c.flushStats()
		h := s.conn[spec.Name]
		if h == nil {
			v = reply.Error("ERR command '" + spec.Name + "' is not available")
		} else {
			v = h(s, c, args)
		}
	} else {
		v = c.be.Read(target, start, spec, args)
	}
	took := time.Since(start)
	usec := took.Microseconds()
	// A blocked command's time is mostly waiting: not in the histogram,
	// the slow log or the latency monitor.
	c.countCall(st, took, spec.Block == nil)
	if spec.Block == nil {
		s.observe(c, spec, args, usec)
	}
	if v.Kind == reply.KindError {
		st.failed.Add(1)
		s.stats.errors.Add(1)
	}
	s.audit(c, spec, args, v)
	c.reply(v)
}

// flushBatch proposes the connection's pending writes as one entry, waits
// for them to be applied and writes their replies in order.
func (s *Server) flushBatch(c *client) {
	if len(c.batch) == 0 {
		return
	}
	if c.trk.on {
		defer s.trackWrites(c, c.batchSpecs, c.batch)()
	}
	start := time.Now()
	replies, err := c.be.Propose(c.batchRoute, c.batch).Wait()
	took := time.Since(start) / time.Duration(len(c.batch))
	usec := took.Microseconds()
	for i, spec := range c.batchSpecs {
		st := s.cmdStats[spec]
		c.countCall(st, took, true)
		s.observe(c, spec, c.batch[i], usec)
		var v reply.Value
		if err != nil || i >= len(replies) {
			if err == nil {
				err = errors.New("missing reply")
			}
			v = c.be.ErrorReply(err)
		} else {
			v = replies[i]
		}
		if v.Kind == reply.KindError {
			st.failed.Add(1)
			s.stats.errors.Add(1)
		}
		s.audit(c, spec, c.batch[i], v)
		c.reply(v)
	}
	c.resetBatch()
}

// txControl tells whether a command runs at once inside MULTI instead of
// being queued, as in Redis.
func txControl(spec *command.Spec) bool {
	switch spec.Name {
	case "exec", "discard", "multi", "watch", "quit", "reset":
		return true
	}
	return false
}

func isSecurityAttack(name []byte) bool {
	return command.EqualFold(name, "post") || command.EqualFold(name, "host:")
}

// Addr returns the listening address.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
