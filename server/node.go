// Package server is Cairn's composition root: a Node is one process's
// NodeHost, its keyspace shard (single-node mode) or cluster control plane
// (package control), and the session listener, started in order and
// stopped in reverse. defaults.go owns the defaults of Config.
package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/cairndb/cairn/modules"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lni/vfs"

	"github.com/cairndb/cairn/regions"
	"github.com/cairndb/cairn/server/atrest"
	"github.com/cairndb/cairn/server/audit"
	"github.com/cairndb/cairn/server/backup"
	"github.com/cairndb/cairn/server/cluster"
	"github.com/cairndb/cairn/server/cluster/control"
	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/entry"
	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/server/raftauth"
	"github.com/cairndb/cairn/server/raftnet"
	"github.com/cairndb/cairn/server/reply"
	"github.com/cairndb/cairn/server/session"
	"github.com/cairndb/cairn/server/shard"
	"github.com/cairndb/cairn/server/telemetry"
	"github.com/cairndb/cairn/server/tlsconf"
)

// Version is the Redis version Cairn reports for compatibility.
const Version = "7.0.15"

// Config configures a node. The zero value of each field means its default,
// stated in the field's comment; defaults.go owns the values.
type Config struct {
	// Port is the client port. Default 6379 (DefaultPort); -1 picks a
	// free port (tests).
	Port int
	// Bind is the client listen address. Default 127.0.0.1 (DefaultBind,
	// loopback only).
	Bind string
	// Dir holds the Raft log and snapshots. Default ./data (DefaultDir).
	Dir string
	// RaftAddr is the Raft transport address. Default Bind:Port+10000
	// (RaftPortOffset).
	RaftAddr string
	// RequirePass enables AUTH for the default user. Default off.
	RequirePass string
	// EncryptionKeyFile, if set, encrypts the Raft log, the snapshots and
	// every file holding user data under Dir with the keys of this file
	// (server/atrest, docs/encryption.md). Default "": plaintext.
	EncryptionKeyFile string
	// AuditLog, if set, is the file the audit log (server/audit,
	// docs/audit.md) appends one JSON line per security-relevant or
	// administrative command to. Default "": no audit log.
	AuditLog string
	// ACLFile is the ACL users file (Redis's aclfile format): it seeds
	// the replicated users when there are none yet; ACL SAVE and ACL
	// LOAD write and read it. Default none.
	ACLFile string
	// ProtoMaxBulkLen is the largest bulk argument. Default 512 MB
	// (DefaultProtoMaxBulkLen).
	ProtoMaxBulkLen int64
	// MaxClients caps client connections. Default 10000
	// (DefaultMaxClients).
	MaxClients int
	// SnapshotEntries is how many log entries trigger a snapshot.
	// Default 100000 (DefaultSnapshotEntries).
	SnapshotEntries uint64
	// CompactionOverhead is how many log entries are kept behind a
	// snapshot (single-node mode). Default 10000.
	CompactionOverhead uint64
	// ConfigFile is the file the configuration was read from, if any.
	// Default none.
	ConfigFile string
	// Logger receives the node's logs. Default slog.Default().
	Logger *slog.Logger
	// LogLevel, if set, is the level of Logger's handler, for CONFIG SET
	// loglevel. Default nil: the session layer puts a level filter of
	// its own in front of Logger.
	LogLevel *slog.LevelVar
	// Params are node-local CONFIG parameters from the config file
	// (session.FileParams). Default none: session's own defaults.
	Params map[string]string

	// Cluster mode (on when Peers or Join is set).

	// NodeID is this node's number in the cluster (1, 2, ...). A node that
	// joins gets one from the cluster; it is kept in Dir/node.id. Default
	// 0: the one in Dir/node.id, or one from Join.
	NodeID uint64
	// Peers bootstraps a new cluster: node number → Raft address of every
	// first member (this node included). Ignored on restart. Default
	// none (single-node mode unless Join is set).
	Peers map[uint64]string
	// Join is the client address of any node of a running cluster.
	// Default none.
	Join string
	// Shards and Replicas shape a bootstrapped cluster. Defaults: one
	// shard per peer, min(3, peers) replicas each (DefaultMaxReplicas).
	Shards, Replicas int
	// Announce is the client address other nodes hand to clients (MOVED,
	// CLUSTER SLOTS). Default Bind:Port (127.0.0.1:Port when Bind is a
	// wildcard).
	Announce string
	// ShardPorts and ShardPortStep place the node's shard endpoints (see
	// cluster/control/endpoints.go): shard N's replica listens on
	// ShardPorts + ShardPortStep*(N-1). Defaults Port+100 (ShardPortOffset;
	// free ports when Port is -1) and 100 (DefaultShardPortStep); -1
	// picks free ports (tests), which the node records in Dir and takes
	// again when it restarts.
	ShardPorts, ShardPortStep int
	// RTTMillisecond is the expected Raft round trip. Default 10
	// (DefaultRTTMillisecond).
	RTTMillisecond uint64
	// ElectionRTT is the election timeout in RTTs. Default 20
	// (DefaultElectionRTT).
	ElectionRTT uint64
	// FaultNet, for tests, runs Raft over an in-process network whose
	// links can be cut. Default nil: real TCP.
	FaultNet *shard.FaultNet
	// ExtraCommands, for tests, are served beside Cairn's own commands
	// (e.g. a command whose handler panics). Default none.
	ExtraCommands []*command.Spec
	// FS, for tests, is the file system of the data directory and the
	// Raft log (a strict in-memory FS, a shard.FaultFS). Default: the OS.
	// node.id (cluster mode) is still written with the os package.
	FS vfs.FS
	// MinFreeDisk is the free space kept on the log's file system: below
	// it writes answer MISCONF (see shard.HostConfig.MinFreeBytes).
	// Default min(256 MB, 5% of the file system); negative disables.
	MinFreeDisk int64
	// MemoryGuard is the resident-set size above which the node refuses
	// writes that grow memory (see shard.HostConfig.MemoryGuard). Default
	// 0: 80% of the machine's or cgroup's memory; negative disables it.
	MemoryGuard int64
	// LogDB is the Raft log engine: "tan" (the default) or "pebble".
	LogDB string
	// PreloadLua compiles the Lua interpreter (the Wasm module EVAL runs
	// on, package modules/lua) in the background as the node starts, with
	// its compiled code cached under the data directory, so that the
	// first EVAL on this node — a follower's apply included — does not
	// wait seconds for the compilation. The binary sets it (--lua-preload);
	// default false: the interpreter is loaded on first use.
	PreloadLua bool
	// ExecShards is the number of each kind of Dragonboat engine worker.
	// Default 0: Dragonboat's own default.
	ExecShards uint64
	// Clock, for tests, replaces the wall clock the node's shards stamp
	// log entries from (clock skew tests). Default the wall clock.
	Clock shard.Clock

	// HTTPPort is the port of the HTTP listener (GET /metrics), bound to
	// Bind. Default 0: no listener (main.go's default is Port+2000,
	// HTTPPortOffset); -1 picks a free port (tests).
	HTTPPort int
	// HTTPOptional makes a failure to bind HTTPPort a logged warning
	// instead of a start-up error (main.go's default port). Default
	// false.
	HTTPOptional bool
	// HTTPTLS puts the HTTP listener (the dashboard, /metrics) on HTTPS
	// with this node's certificate (TLS.CertFile): "auto" (the default
	// when empty) does when a certificate is configured, "yes" requires
	// one, "no" keeps plain HTTP.
	HTTPTLS string
	// Multi-region (package regions): single-node or cluster mode.

	// Region is this node's region name. Default "default" when
	// RegionRole is set.
	Region string
	// RegionRole is "primary" or "secondary"; "" (the default) runs no
	// region link. A secondary serves reads, refuses writes (READONLY) and
	// pulls the primary's log.
	RegionRole string
	// RegionPrimary lists region link addresses (RegionAddr) of the
	// primary region's nodes, for a secondary. Default none.
	RegionPrimary []string
	// RegionPeers lists the region link addresses of this region's
	// nodes (cluster mode; this node may be among them): a region's nodes
	// coordinate lag reports and promotions over them. Default: each
	// node's announced client address with its port + RegionPortOffset.
	RegionPeers []string
	// RegionSecret authenticates region links; every region must share
	// it. Default RequirePass; one of them is required with RegionRole.
	RegionSecret string
	// RegionAddr is the region link listen address. Default
	// Bind:Port+3000 (RegionPortOffset); port 0 picks a free one.
	RegionAddr string
	// RegionAnnounce is the region link address this node gives other
	// regions (host:port as they reach it: a planned promotion tells the
	// old primary region where to follow, a forced one tells it where to
	// rejoin). Default: RegionAddr, its wildcard host replaced by the
	// local address of the link the other region opened or answered.
	// Needed when the listen address is not what the other region
	// dials (NAT, containers: deploy/compose).
	RegionAnnounce string
	// RegionMaxStalenessMs, on a secondary, refuses reads while the
	// region lag (INFO regions region_lag_ms) exceeds it. Default 0: reads
	// are always served.
	RegionMaxStalenessMs int64
	// RegionDial, for tests, dials region links (delay and loss
	// injection). Default net.Dial.
	RegionDial func(addr string) (net.Conn, error)

	// OTLPEndpoint, if set, is where the metrics are also pushed over
	// OTLP/HTTP: a URL or host:port (see telemetry.Config). Default none.
	OTLPEndpoint string

	// TLS (tls.go).

	// TLSPort is the TLS client port (tls-port). Default 0: none; -1
	// picks a free port (tests).
	TLSPort int
	// PlainDisabled turns the plaintext client port off (--port 0):
	// clients connect on TLSPort only. Default false.
	PlainDisabled bool
	// TLS names the certificate files and TLS options; TLS.Cluster
	// (tls-cluster) puts Raft, node-to-node calls, shard endpoints and
	// region links on mutual TLS. Default none.
	TLS tlsconf.Settings
	// RaftSecret (raft-secret) is the secret every node of a cluster is
	// started with: without TLS.Cluster, the Raft transport runs mutual
	// TLS with certificates derived from it (package raftauth), so only
	// nodes that know it can send Raft messages. Required in cluster mode
	// without TLS.Cluster (at least 16 bytes). A single node uses a random
	// one: its transport accepts no peer. Default none.
	RaftSecret string
	// ProtectedMode (protected-mode) refuses client connections from
	// other hosts while the default user has no password, as Redis does
	// at run time (CONFIG SET protected-mode changes it). Default false;
	// the cairn command's default is yes.
	ProtectedMode bool
	// Backups (package backup).

	// BackupDir is where backups (BACKUP CREATE, the schedule) and the
	// log archive go. Default none: no backups.
	BackupDir string
	// BackupWindow is the daily window "HH:MM-HH:MM" (UTC) in which one
	// backup is taken. Default none: no scheduled backup.
	BackupWindow string
	// BackupRetentionDays deletes backups older than this many days (at
	// most 35). Default 0: backups are kept.
	BackupRetentionDays int
	// BackupCPUShare paces backups: the share of wall time a backup's
	// verifying load works, its encode twice that (backup/pace.go).
	// Default 0: backup.DefaultCPUShare; 1: flat out.
	BackupCPUShare float64
	// LogArchive archives every committed log entry under
	// BackupDir/log for point-in-time restore (in cluster mode, of every
	// shard this node hosts a replica of). Default false.
	LogArchive bool

	// passive starts the shard passive (no expiry, eviction or clock
	// entries of its own): cairn restore's node.
	passive bool
	// archiveInterval and backupCheckInterval, for tests, replace the
	// archiver's 100ms and the schedule's 30s.
	archiveInterval, backupCheckInterval time.Duration
}

// Validate checks the configuration after defaults are applied.
func (c *Config) Validate() error {
	if c.Port < -1 || c.Port > 65535 {
		return fmt.Errorf("port %d out of range", c.Port)
	}
	if (c.Port+RaftPortOffset > 65535 || c.Port < 0) && c.RaftAddr == "" {
		return fmt.Errorf("port %d leaves no room for the default raft port; set --raft-addr", c.Port)
	}
	if c.HTTPPort < -1 || (c.HTTPPort > 65535 && !c.HTTPOptional) {
		return fmt.Errorf("http port %d out of range", c.HTTPPort)
	}
	switch c.HTTPTLS {
	case "", "auto", "no":
	case "yes":
		if c.TLS.CertFile == "" {
			return errors.New("--http-tls yes needs --tls-cert-file and --tls-key-file")
		}
	default:
		return fmt.Errorf("bad http-tls %q (auto, yes or no)", c.HTTPTLS)
	}
	if err := c.validateTLS(); err != nil {
		return err
	}
	if c.ProtoMaxBulkLen < 1<<20 {
		return errors.New("proto-max-bulk-len must be at least 1mb")
	}
	if c.BackupRetentionDays < 0 || c.BackupRetentionDays > backup.MaxRetentionDays {
		return fmt.Errorf("backup retention %d days: want 0 (keep) to %d", c.BackupRetentionDays, backup.MaxRetentionDays)
	}
	if c.BackupDir == "" && (c.BackupWindow != "" || c.BackupRetentionDays > 0 || c.LogArchive) {
		return errors.New("--backup-window, --backup-retention-days and --log-archive need --backup-dir")
	}
	if c.BackupWindow != "" {
		if _, err := backup.ParseWindow(c.BackupWindow); err != nil {
			return err
		}
	}
	switch c.RegionRole {
	case "", "primary":
	case "secondary":
		if len(c.RegionPrimary) == 0 {
			return errors.New("a secondary region needs --region-primary")
		}
	default:
		return fmt.Errorf("region role %q: want primary or secondary", c.RegionRole)
	}
	return nil
}

// Node is one running Cairn process.
type Node struct {
	cfg     Config
	host    *shard.Host
	shard   *shard.Shard     // single-node mode
	cluster *control.Plane   // cluster mode
	modules *modules.Runtime // runs every shard's function libraries
	srv     *session.Server
	srvPtr  atomic.Pointer[session.Server] // srv, for the apply path
	ln      net.Listener                   // the main client listener: the announced address
	// tls holds the TLS material (tls.go); tlsLn is the TLS client
	// listener, extraLn the client listener that is not ln (plaintext or
	// TLS), if any.
	tls     *tlsconf.Holder
	tlsLn   net.Listener
	extraLn net.Listener
	log     *slog.Logger

	// joinCred is the credential a joining node authenticates with
	// (backend.JoinSecret; cluster mode without tls-cluster).
	joinCred string

	// The HTTP listener (metrics.go): its server, the mux features mount
	// on, and the metrics provider behind GET /metrics.
	httpLn  net.Listener
	httpSrv *http.Server
	mux     *http.ServeMux
	tel     *telemetry.Telemetry
	lock    *dirLock // the data directory's LOCK
	// regions is the region manager (nil without Config.RegionRole);
	// regionRO is set while the region is a secondary (writes refused).
	regions  *regions.Manager
	regionRO atomic.Bool
	// regionSaved is the region state loaded from the data directory.
	regionSaved regionState
	// Backups (backups.go): the store, the daily schedule and the log
	// archiver; nil without Config.BackupDir.
	backups  *backup.Store
	schedule *backup.Schedule
	archiver *backup.Archiver
	// keys is the encryption-at-rest keyring (nil: plaintext); backups
	// and archived segments are encrypted with it too.
	keys *atrest.Keyring
	// fenceMu orders the write check (read side) before a fence; inflight
	// counts accepted writes not yet waited for (regions.go).
	fenceMu  sync.RWMutex
	inflight atomic.Int64

	started  time.Time
	lastSave time.Time
	saveMu   sync.Mutex

	done      chan struct{}
	closeOnce sync.Once

	// audit is the audit log (Config.AuditLog), or nil; auditStop stops
	// its SIGHUP watch.
	audit     *audit.Log
	auditStop func()
}

// Start starts a single-shard node: NodeHost, shard, then the listener.
func Start(cfg Config) (_ *Node, err error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	n := &Node{cfg: cfg, log: cfg.Logger, started: time.Now(), done: make(chan struct{})}
	n.lastSave = n.started
	if n.tls, err = tlsconf.New(cfg.TLS); err != nil {
		return nil, fmt.Errorf("tls: %w", err)
	}

	// 1. The data directory.
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, err
	}
	if err := mkdirSynced(cfg.FS, dir); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	n.cfg.Dir = dir
	if cfg.RegionRole != "" {
		// A promotion's outcome outlives the flags (regions.go).
		n.regionSaved = n.loadRegionState(&cfg)
		n.cfg.RegionRole, n.cfg.RegionPrimary = cfg.RegionRole, cfg.RegionPrimary
	}
	// The LOCK file keeps a second process off the directory; a test's
	// in-memory file system (cfg.FS) is private to this process.
	if cfg.FS == nil {
		if n.lock, err = lockDir(dir); err != nil {
			return nil, err
		}
	}
	defer func() {
		if err != nil {
			n.lock.release()
		}
	}()
	// Encryption at rest: the key file must match the directory (an
	// encrypted one needs its keys, a plaintext one cannot be switched).
	var keys *atrest.Keyring
	if cfg.EncryptionKeyFile != "" {
		if keys, err = atrest.LoadKeyFile(cfg.EncryptionKeyFile); err != nil {
			return nil, err
		}
		if cfg.LogDB == "pebble" {
			return nil, errors.New("encryption at rest needs the tan log DB (--logdb tan): Dragonboat's Pebble log DB takes no custom file system")
		}
	}
	n.keys = keys
	if cfg.FS == nil {
		if err = atrest.CheckDir(dir, filepath.Join(dir, "raft"), keys); err != nil {
			return nil, err
		}
		if keys != nil {
			if err = atrest.VerifyTree(filepath.Join(dir, "raft"), keys); err != nil {
				return nil, fmt.Errorf("encryption at rest: %w", err)
			}
		}
	}
	// The audit log, reopened on SIGHUP (log rotation).
	if cfg.AuditLog != "" {
		if n.audit, err = audit.Open(cfg.AuditLog); err != nil {
			return nil, fmt.Errorf("open audit log: %w", err)
		}
		n.auditStop = n.audit.WatchSIGHUP(func(err error) { n.log.Error("audit log: reopen failed; still writing the old file", "err", err) })
		defer func() {
			if err != nil {
				n.auditStop()
				n.audit.Close()
			}
		}()
	}

	// 2. The Wasm runtime of function libraries, its compiled code cached
	// under the data directory so a restart does not recompile (not when
	// encrypted at rest: wazero writes that cache itself, in plaintext);
	// then the Raft host, then the keyspace shard (restored from the
	// latest snapshot plus the log tail).
	var wasm modules.Config
	if cfg.FS == nil && keys == nil {
		if wasm.Cache, err = modules.NewCompilationCacheWithDir(filepath.Join(dir, "wasm-cache")); err != nil {
			n.log.Warn("Wasm compilation cache unavailable; libraries are compiled at every start", "err", err)
			wasm.Cache = nil
		}
	}
	if n.modules, err = modules.NewRuntime(context.Background(), wasm); err != nil {
		return nil, fmt.Errorf("start the Wasm runtime: %w", err)
	}
	if cfg.PreloadLua {
		n.preloadLua(dir, cfg.FS == nil && keys == nil)
	}
	raftCA, raftCert, raftKey := cfg.raftTLS()
	raftSecret, err := cfg.raftSecret()
	if err != nil {
		return nil, err
	}
	transport := raftnet.Factory{Log: cfg.Logger}
	if len(raftSecret) > 0 && raftCA == "" && cfg.FaultNet == nil {
		// Mutual TLS with certificates derived from the Raft secret,
		// held in memory only.
		srv, cli, err := raftauth.TLSConfigs(raftSecret, cfg.RaftAddr)
		if err != nil {
			return nil, fmt.Errorf("raft transport credentials: %w", err)
		}
		transport.TLS = &raftnet.TLS{Server: srv, Client: cli}
	}
	n.host, err = shard.NewHost(shard.HostConfig{Modules: n.modules, Dir: filepath.Join(dir, "raft"), RaftAddr: cfg.RaftAddr, RTTMillisecond: cfg.RTTMillisecond, FaultNet: cfg.FaultNet, Transport: transport, FS: cfg.FS, MinFreeBytes: cfg.MinFreeDisk, MemoryGuard: cfg.MemoryGuard, PebbleLogDB: cfg.LogDB == "pebble", ExecShards: cfg.ExecShards, Logger: cfg.Logger, Clock: cfg.Clock,
		TLSCAFile: raftCA, TLSCertFile: raftCert, TLSKeyFile: raftKey, Encryption: keys})
	if err != nil {
		return nil, err
	}
	if old := n.host.AdoptedHostname(); old != "" {
		n.log.Warn("hostname changed: took over the Raft data written under the old one", "old", old, "dir", dir)
	}
	table := Commands(cfg.ExtraCommands)
	// In cluster mode the listener is bound first, so the address this
	// node announces is known (port 0 picks one).
	if cfg.clusterMode() {
		if err = n.listen(); err != nil {
			n.host.Close()
			return nil, err
		}
		announce := cfg.Announce
		if announce == "" {
			host := cfg.Bind
			if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
				host = "127.0.0.1"
			}
			announce = net.JoinHostPort(host, strconv.Itoa(n.ln.Addr().(*net.TCPAddr).Port))
		}
		// A node cairn restore built: the cluster bootstraps from its seed.
		seed, err := readRestoreSeed(dir, keys)
		if err == nil && seed != nil {
			err = seed.check(cfg.NodeID, cfg.Peers)
		}
		if err != nil {
			n.closeListeners()
			n.host.Close()
			return nil, err
		}
		var cseed *cluster.Seed
		if seed != nil {
			cseed = &seed.Seed
		}
		if !cfg.TLS.Cluster && (len(raftSecret) > 0 || cfg.FaultNet != nil) {
			// The credential a joining node sends CLUSTER ADDNODE with
			// (raftSecret is empty only on the tests' in-process
			// transport, FaultNet, whose nodes then share the empty one;
			// Validate requires a secret everywhere else).
			n.joinCred = raftauth.JoinCredential(raftSecret)
		}
		n.cluster, err = control.Start(control.Config{
			Dir: dir, NodeID: cfg.NodeID, Join: cfg.Join, Peers: cfg.Peers, Shards: cfg.Shards, Replicas: cfg.Replicas,
			RaftAddr: cfg.RaftAddr, Announce: announce, RequirePass: cfg.RequirePass, JoinCredential: n.joinCred,
			Bind: cfg.Bind, Port: cfg.Port, ShardPorts: cfg.ShardPorts, ShardPortStep: cfg.ShardPortStep,
			RTTMillisecond: cfg.RTTMillisecond, ElectionRTT: cfg.ElectionRTT, SnapshotEntries: cfg.SnapshotEntries,
			Host: n.host, Table: table, Logger: n.log, Listener: n.ln,
			Server: n.srvPtr.Load, Backend: (*backend)(n), OnChange: n.onChange, OnKeyMiss: n.onKeyMiss,
			Dial: n.nodeDial(), WrapListener: n.wrapEndpoint(),
			RegionSecondary: cfg.RegionRole == "secondary",
			Seed:            cseed, OpenInitState: openInitState(dir, keys),
		})
		if err != nil {
			n.closeListeners()
			n.host.Close()
			return nil, err
		}
	} else {
		n.shard, err = n.host.StartShard(shard.Options{
			SnapshotEntries:    cfg.SnapshotEntries,
			CompactionOverhead: cfg.CompactionOverhead,
			ElectionRTT:        cfg.ElectionRTT,
			OnChange:           n.onChange,
			OnKeyMiss:          n.onKeyMiss,
			Logger:             cfg.Logger,
			Passive:            cfg.RegionRole == "secondary" || cfg.passive,
		}, table)
		if err != nil {
			n.host.Close()
			return nil, err
		}
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		if err := n.shard.WaitLeader(ctx); err != nil {
			n.host.Close()
			return nil, fmt.Errorf("wait for raft leader: %w", err)
		}
	}

	// The region link (multi-region deployments): a secondary refuses
	// writes from here on.
	if cfg.RegionRole != "" {
		if cfg.RegionRole == "secondary" {
			n.regionRO.Store(true)
		}
		if err := n.startRegions(table); err != nil {
			if n.cluster != nil {
				n.cluster.Close()
			}
			n.closeListeners()
			n.host.Close()
			return nil, err
		}
	}

	// Backups: the store, the schedule and the log archive.
	if err := n.startBackups(); err != nil {
		if n.regions != nil {
			n.regions.Close()
		}
		n.host.Close()
		return nil, err
	}

	// 3. The client listener.
	if n.ln == nil {
		if err = n.listen(); err != nil {
			n.host.Close()
			return nil, err
		}
	}
	plainPort := 0
	if !cfg.PlainDisabled {
		plainPort = n.plainAddr().(*net.TCPAddr).Port
	}
	tlsPort := 0
	if n.tlsLn != nil {
		tlsPort = n.tlsLn.Addr().(*net.TCPAddr).Port
	}
	var auditor session.Auditor
	if n.audit != nil {
		auditor = n.audit
	}
	n.srv = session.New(session.Config{
		Audit:           auditor,
		RequirePass:     cfg.RequirePass,
		ACLFile:         cfg.ACLFile,
		ProtoMaxBulkLen: cfg.ProtoMaxBulkLen,
		MaxClients:      cfg.MaxClients,
		Port:            plainPort,
		Bind:            cfg.Bind,
		Dir:             dir,
		ConfigFile:      cfg.ConfigFile,
		Version:         Version,
		RunID:           runID(),
		Logger:          cfg.Logger,
		LogLevel:        cfg.LogLevel,
		Params:          cfg.Params,
		Shutdown:        n.shutdownCmd,
		SnapshotConfig:  cfg.SnapshotEntries,
		TLS:             tlsParams{n.tls},
		TLSPort:         tlsPort,
		TLSCluster:      cfg.TLS.Cluster,
		ProtectedMode:   cfg.ProtectedMode,
	}, table, (*backend)(n))
	n.srvPtr.Store(n.srv)
	go func() {
		if err := n.srv.Serve(n.ln); err != nil {
			n.log.Error("listener stopped", "err", err)
		}
	}()
	if n.extraLn != nil {
		go func() {
			if err := n.srv.ServeBackend(n.extraLn, nil); err != nil {
				n.log.Error("listener stopped", "err", err)
			}
		}()
	}

	// 4. The HTTP listener: metrics (and, later, the dashboard).
	if err := n.startHTTP(); err != nil {
		n.srv.Close()
		if n.cluster != nil {
			n.cluster.Close()
		}
		if n.regions != nil {
			n.regions.Close()
		}
		n.stopBackups()
		n.host.Close()
		return nil, err
	}
	return n, nil
}

// Addr returns the client address the node listens on.
func (n *Node) Addr() string { return n.ln.Addr().String() }

// Dir returns the absolute data directory.
func (n *Node) Dir() string { return n.cfg.Dir }

// RaftAddr returns the Raft transport address.
func (n *Node) RaftAddr() string { return n.cfg.RaftAddr }

// Done is closed when SHUTDOWN asked the node to stop.
func (n *Node) Done() <-chan struct{} { return n.done }

// Close stops the node in reverse start order.
func (n *Node) Close() {
	n.closeOnce.Do(func() {
		n.stopHTTP()
		n.srv.Close()
		if n.regions != nil {
			n.regions.Close()
		}
		if n.cluster != nil {
			n.cluster.Close() // pub/sub forwarding first, then the reconciler
		}
		n.stopBackups()
		n.host.Close()
		_ = n.modules.Close(context.Background())
		if n.audit != nil {
			n.auditStop()
			n.audit.Close()
		}
		n.lock.release()
	})
}

// shutdownCmd serves SHUTDOWN: optionally snapshot, then ask main to stop.
func (n *Node) shutdownCmd(save bool) error {
	if save {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		if err := (*backend)(n).Save(ctx); err != nil {
			return err
		}
	}
	select {
	case <-n.done:
	default:
		close(n.done)
	}
	return nil
}

func runID() string {
	b := make([]byte, 20)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// backend adapts the node's shard (single-node mode) or its control plane
// (cluster mode) to what the session layer needs.
type backend Node

func (b *backend) Route(spec *command.Spec, args [][]byte, readOnly, asking bool) (session.Route, reply.Value, bool) {
	if b.cluster != nil {
		return b.cluster.Route(spec, args, readOnly, asking)
	}
	return session.NodeRoute, reply.Value{}, true
}

func (b *backend) Propose(r session.Route, cmds [][][]byte) session.Pending {
	return b.admit(func() session.Pending {
		if b.cluster != nil {
			return b.cluster.Propose(r, cmds)
		}
		return b.shard.Propose(entry.Commands, cmds)
	})
}

func (b *backend) Read(r session.Route, now time.Time, spec *command.Spec, args [][]byte) reply.Value {
	if b.regions != nil && b.cfg.RegionMaxStalenessMs > 0 && b.readOnly() {
		if lag := b.regions.Status().LagMs; lag > b.cfg.RegionMaxStalenessMs {
			return reply.Error(fmt.Sprintf("ERR region lag %d ms exceeds max-staleness-ms %d: read refused", lag, b.cfg.RegionMaxStalenessMs))
		}
	}
	if b.cluster != nil {
		return b.cluster.Read(r, now, spec, args)
	}
	return b.shard.ReadAt(now, spec, args)
}

func (b *backend) ProposeMulti(r session.Route, watch [][]byte, cmds [][][]byte) session.Pending {
	return b.admit(func() session.Pending {
		if b.cluster != nil {
			return b.cluster.ProposeMulti(r, watch, cmds)
		}
		kind, all := entry.Transaction(watch, cmds)
		return b.shard.Propose(kind, all)
	})
}

func (b *backend) KeyDigests(r session.Route, now time.Time, keys [][]byte) ([]uint64, error) {
	if b.cluster != nil {
		return b.cluster.KeyDigests(r, now, keys)
	}
	return b.shard.KeyDigests(now, keys), nil
}

func (b *backend) AckedReplicas(r session.Route) int {
	if b.cluster != nil {
		return b.cluster.AckedReplicas(r)
	}
	return 0
}

// Forward implements session.Backend: only cluster nodes have others to
// forward to.
func (b *backend) Forward(to session.Route, args [][]byte) {
	if b.cluster != nil {
		b.cluster.Forward(to, args)
	}
}

// NodeSecret is the secret cluster nodes authenticate to each other with
// (resp.NodeUser); "" outside cluster mode or before it is set.
func (b *backend) NodeSecret() string {
	if b.cluster == nil {
		return ""
	}
	return b.cluster.Secret()
}

// JoinSecret is the credential a node that is not yet a member
// authenticates with as a node to join (raftauth.JoinCredential); ""
// outside cluster mode and under tls-cluster.
func (b *backend) JoinSecret() string { return b.joinCred }

// ClusterSecret returns the secret nodes authenticate to each other with
// ("" before the meta leader has set it, or outside cluster mode).
func (n *Node) ClusterSecret() string { return (*backend)(n).NodeSecret() }

// Shutdown stops the node as a planned stop should (SIGTERM, SHUTDOWN):
// in cluster mode it first hands the leadership of every Raft group it
// leads, keyspace shards and the directory, to another replica, so clients
// are redirected (MOVED) at once instead of waiting out an election
// timeout; then it closes like Close. Close alone stops abruptly, as a
// crash would (tests use it so).
func (n *Node) Shutdown() {
	if c := n.cluster; c != nil {
		c.HandOff(control.HandOffTimeout)
	}
	n.Close()
}

func (c *Config) clusterMode() bool { return len(c.Peers) > 0 || c.Join != "" }

// onKeyMiss publishes a key-miss notification.
func (n *Node) onKeyMiss(key string, notify uint32) {
	if srv := n.srvPtr.Load(); srv != nil {
		srv.KeysChanged(nil, false, []command.Event{{Class: command.ClassKeyMiss, Name: "keymiss", Key: key}}, notify)
	}
}

// onChange passes what an applied batch changed to the client layer.
func (n *Node) onChange(ch shard.Change) {
	if srv := n.srvPtr.Load(); srv != nil {
		srv.KeysChanged(ch.Keys, ch.All, ch.Events, ch.Notify)
		srv.TrackChanged(ch.Keys, ch.All || ch.Flushed)
	}
}

func (b *backend) ClusterEnabled() bool { return b.cluster != nil }

func (b *backend) Cluster(args [][]byte) reply.Value {
	if b.cluster == nil {
		return reply.Error("ERR This instance has cluster support disabled")
	}
	return b.cluster.Cluster(args)
}

func (b *backend) Save(ctx context.Context) error {
	b.saveMu.Lock()
	defer b.saveMu.Unlock()
	// Every shard is tried; each failure is logged by Snapshot and all
	// are reported.
	var errs []error
	for _, s := range b.shards() {
		if _, err := s.Snapshot(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		// One line: the error becomes a RESP error reply.
		msgs := make([]string, len(errs))
		for i, err := range errs {
			msgs[i] = err.Error()
		}
		return fmt.Errorf("%d of %d shards failed to snapshot: %s", len(errs), len(b.shards()), strings.Join(msgs, "; "))
	}
	b.lastSave = time.Now()
	return nil
}

// shards returns the node's local shard replicas.
func (b *backend) shards() []*shard.Shard {
	if b.cluster == nil {
		return []*shard.Shard{b.shard}
	}
	var out []*shard.Shard
	for _, id := range b.cluster.LocalShards() {
		if s := b.host.Shard(id); s != nil {
			out = append(out, s)
		}
	}
	return out
}

// ErrorReply implements session.Backend with the shard package's table.
func (b *backend) ErrorReply(err error) reply.Value {
	if errors.Is(err, errReadOnlyRegion) {
		return reply.Error(errReadOnlyRegion.Error())
	}
	return shard.ErrorReply(err)
}

func (b *backend) Status() session.Status {
	all := b.shards()
	if len(all) == 0 {
		return session.Status{RaftAddr: b.cfg.RaftAddr, DataDir: b.cfg.Dir, SnapshotEntries: b.cfg.SnapshotEntries}
	}
	// Raft figures are the first shard's; key counts cover the shards
	// this node serves (leads, in cluster mode).
	st := all[0].Status()
	out := session.Status{
		IsLeader: st.IsLeader, ShardID: st.ShardID, ReplicaID: st.ReplicaID, LeaderID: st.LeaderID,
		Term: st.Term, AppliedIndex: st.AppliedIndex, LastLogIndex: st.LastLogIndex,
		SnapshotIndex: st.SnapshotIndex, Dirty: st.Dirty, SnapshotInProgress: st.SnapshotInProgress,
		LastCommit: st.LastCommit, LastFsync: st.LastFsync, RaftAddr: b.cfg.RaftAddr, DataDir: b.cfg.Dir,
		SnapshotEntries: b.cfg.SnapshotEntries,
	}
	out.LazyfreePending, out.Lazyfreed = keyspace.LazyfreeStats()
	b.saveMu.Lock()
	out.LastSaveUnix = b.lastSave.Unix()
	b.saveMu.Unlock()
	if st.LastSnapshotUnix > out.LastSaveUnix {
		out.LastSaveUnix = st.LastSnapshotUnix
	}
	out.ClockMs, out.ClockClamped = st.ClockMs, st.ClockClamped
	fs, _ := b.host.FsyncLatency()
	out.FsyncP50, out.FsyncP99 = shard.Quantile(fs, 0.5), shard.Quantile(fs, 0.99)
	for _, s := range all {
		ss := s.Status()
		cl, _ := s.CommitLatency()
		out.Shards = append(out.Shards, session.ShardStatus{ID: ss.ShardID, ReplicaID: ss.ReplicaID, LeaderID: ss.LeaderID,
			Term: ss.Term, IsLeader: ss.IsLeader, CommitIndex: max(ss.LastLogIndex, ss.AppliedIndex), AppliedIndex: ss.AppliedIndex,
			SnapshotIndex: ss.SnapshotIndex, LastSnapshotUnix: ss.LastSnapshotUnix, Halted: ss.Halted != "",
			CommitP50: shard.Quantile(cl, 0.5), CommitP99: shard.Quantile(cl, 0.99)})
		if s.SnapshotErr() != nil {
			out.SnapshotFailed = true
		}
		if err := s.Halted(); err != nil {
			out.Halted = append(out.Halted, fmt.Sprintf("shard %d: %v", s.ID(), err))
		}
		if b.cluster != nil && !s.IsLeader() {
			continue
		}
		s.View(func(db *keyspace.DB) {
			out.Keys += int64(db.Len())
			out.Expires += int64(db.Expiring())
			out.Hits += db.Stats.Hits.Load()
			out.Misses += db.Stats.Misses.Load()
			out.ExpiredKeys += db.Stats.ExpiredKeys.Load()
		})
	}
	return out
}

// MigrateHook lets tests act between the steps of a slot migration (see
// control.MigrateHook).
type MigrateHook = control.MigrateHook

// TestMigrateHook, when set, is called around every migration step run
// by any node of this process.
var TestMigrateHook = &control.TestMigrateHook
