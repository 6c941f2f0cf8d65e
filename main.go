// Command cairn runs a durable, Redis-compatible in-memory database node.
//
//	cairn [--port 6379] [--bind 127.0.0.1] [--dir ./data] [--config FILE]
//	cairn rdb export|import [--addr HOST:PORT] FILE
//	cairn module load|list|delete --addr HOST:PORT [--replace] [--name N] [FILE]
//	cairn restore --from BACKUP --dir NEWDIR [--to-time 2026-12-06T10:15:00Z]
//
// Every setting is also read from a CAIRN_* environment variable and from a
// redis.conf-style config file; flags win over the environment, which wins
// over the file.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"

	"github.com/cairndb/cairn/server"
	"github.com/cairndb/cairn/server/session"
	"github.com/cairndb/cairn/server/tlsconf"
	"github.com/cairndb/cairn/web"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// setting is one configuration knob: its flag, env variable and config-file
// name. def is the text form of server's default (server/defaults.go),
// "" where server.Config derives it.
type setting struct {
	name, env, usage, def string
}

var settings = []setting{
	{"port", "CAIRN_PORT", "client TCP port", strconv.Itoa(server.DefaultPort)},
	{"bind", "CAIRN_BIND", "client listen address (loopback by default)", server.DefaultBind},
	{"dir", "CAIRN_DIR", "data directory (Raft log and snapshots)", server.DefaultDir},
	{"raft-addr", "CAIRN_RAFT_ADDR", "Raft transport address (default bind:port+10000)", ""},
	{"requirepass", "CAIRN_REQUIREPASS", "password for the default user (AUTH)", ""},
	{"aclfile", "CAIRN_ACLFILE", "ACL users file in Redis's format: seeds the replicated users when there are none yet; ACL SAVE/LOAD use it", ""},
	{"proto-max-bulk-len", "CAIRN_PROTO_MAX_BULK_LEN", "largest bulk argument, bytes or 512mb-style", strconv.Itoa(server.DefaultProtoMaxBulkLen>>20) + "mb"},
	{"maxclients", "CAIRN_MAXCLIENTS", "maximum client connections", strconv.Itoa(server.DefaultMaxClients)},
	{"snapshot-entries", "CAIRN_SNAPSHOT_ENTRIES", "log entries between automatic snapshots", strconv.Itoa(server.DefaultSnapshotEntries)},
	{"loglevel", "CAIRN_LOGLEVEL", "debug, verbose, info (notice), warn (warning), error or nothing", "info"},
	{"node-id", "CAIRN_NODE_ID", "cluster mode: this node's number (1, 2, ...)", ""},
	{"peers", "CAIRN_PEERS", "cluster mode: bootstrap a new cluster of these nodes, ID=raft-addr,... (e.g. 1=10.0.0.1:17001,2=10.0.0.2:17001,3=10.0.0.3:17001)", ""},
	{"join", "CAIRN_JOIN", "cluster mode: join the running cluster that has a node at this client address", ""},
	{"shards", "CAIRN_SHARDS", "cluster bootstrap: number of shards (default one per peer)", ""},
	{"replicas", "CAIRN_REPLICAS", "cluster bootstrap: replicas per shard (default min(3, peers))", ""},
	{"announce", "CAIRN_ANNOUNCE", "cluster mode: client address given to clients and other nodes (default bind:port)", ""},
	{"shard-ports", "CAIRN_SHARD_PORTS", "cluster mode: port of the endpoint of shard 1's replica on this node; shard N's is shard-ports+step*(N-1) (default port+100; 0 picks free ports)", ""},
	{"memory-guard", "CAIRN_MEMORY_GUARD", "refuse growing writes while the process's RSS is above this many bytes (kb/mb/gb suffixes; 0 disables; default 80% of the machine's or cgroup's memory)", ""},
	{"logdb", "CAIRN_LOGDB", "Raft log engine: tan or pebble", "tan"},
	{"lua-preload", "CAIRN_LUA_PRELOAD", "yes: compile the Lua interpreter (EVAL) in the background at start, cached under the data directory, so the first EVAL does not wait for it; no: on first use", "yes"},
	{"exec-shards", "CAIRN_EXEC_SHARDS", "Dragonboat engine worker goroutines of each kind (default Dragonboat's)", ""},
	{"shard-port-step", "CAIRN_SHARD_PORT_STEP", "cluster mode: port distance between consecutive shards' endpoints", strconv.Itoa(server.DefaultShardPortStep)},
	{"http-port", "CAIRN_HTTP_PORT", "HTTP listener port, bound like --bind: GET /metrics (Prometheus text) and the dashboard at /; 0 disables (default port+" + strconv.Itoa(server.HTTPPortOffset) + ")", ""},
	{"region", "CAIRN_REGION", "multi-region: this node's region name (default " + server.DefaultRegion + ")", ""},
	{"region-role", "CAIRN_REGION_ROLE", "multi-region: primary or secondary (a secondary serves reads, refuses writes and pulls the primary's log); empty runs no region link", ""},
	{"region-primary", "CAIRN_REGION_PRIMARY", "multi-region secondary: region link addresses of the primary region's nodes, host:port,...", ""},
	{"region-peers", "CAIRN_REGION_PEERS", "multi-region, cluster mode: region link addresses of this region's nodes, host:port,... (default: each node's client address, port+" + strconv.Itoa(server.RegionPortOffset) + ")", ""},
	{"region-secret", "CAIRN_REGION_SECRET", "multi-region: shared secret region links authenticate with (default --requirepass)", ""},
	{"region-announce", "CAIRN_REGION_ANNOUNCE", "multi-region: region link address (host:port) given to other regions, when it is not --region-addr as they reach it (NAT, containers)", ""},
	{"region-addr", "CAIRN_REGION_ADDR", "multi-region: region link listen address (default bind:port+" + strconv.Itoa(server.RegionPortOffset) + ")", ""},
	{"max-staleness-ms", "CAIRN_MAX_STALENESS_MS", "multi-region secondary: refuse reads while the region lag exceeds this many ms (0: always serve)", ""},
	{"encryption-key-file", "CAIRN_ENCRYPTION_KEY_FILE", "encrypt the Raft log, snapshots and user data under --dir at rest with the keys of this file (docs/encryption.md)", ""},
	{"audit-log", "CAIRN_AUDIT_LOG", "append one JSON line per security-relevant or administrative command to this file; reopened on SIGHUP (docs/audit.md)", ""},
	{"backup-dir", "CAIRN_BACKUP_DIR", "directory of backups (BACKUP CREATE, the daily window) and of the log archive; empty disables backups", ""},
	{"backup-window", "CAIRN_BACKUP_WINDOW", "daily backup window HH:MM-HH:MM in UTC (one backup a day in it); empty: no scheduled backup", ""},
	{"backup-retention-days", "CAIRN_BACKUP_RETENTION_DAYS", "delete backups older than this many days (at most 35; 0 keeps them)", "0"},
	{"backup-cpu-share", "CAIRN_BACKUP_CPU_SHARE", "pace backups so their verifying load works this share of the time (its encode twice that), yielding the CPU to writes; 1: flat out", "0.15"},
	{"log-archive", "CAIRN_LOG_ARCHIVE", "yes: archive every committed log entry under backup-dir/log for point-in-time restore (cairn restore --to-time)", "no"},
	{"otlp-endpoint", "CAIRN_OTLP_ENDPOINT", "also push metrics over OTLP/HTTP to this collector (URL such as http://host:4318, or host:port)", ""},
	{"http-tls", "CAIRN_HTTP_TLS", "HTTPS on the HTTP listener (dashboard, /metrics) with --tls-cert-file: auto (when a certificate is set), yes or no", "auto"},
	{"tls-port", "CAIRN_TLS_PORT", "TLS client port (0: none); --port 0 then disables plaintext clients", "0"},
	{"tls-cert-file", "CAIRN_TLS_CERT_FILE", "TLS: this node's certificate (PEM), presented to clients and other nodes", ""},
	{"tls-key-file", "CAIRN_TLS_KEY_FILE", "TLS: the certificate's private key (PEM)", ""},
	{"tls-ca-cert-file", "CAIRN_TLS_CA_CERT_FILE", "TLS: CA bundle (PEM) client and node certificates must chain to", ""},
	{"tls-auth-clients", "CAIRN_TLS_AUTH_CLIENTS", "TLS: yes (clients must present a certificate of the CA), optional or no", "yes"},
	{"tls-protocols", "CAIRN_TLS_PROTOCOLS", "TLS versions accepted, e.g. \"TLSv1.2 TLSv1.3\"", "TLSv1.2 TLSv1.3"},
	{"tls-ciphers", "CAIRN_TLS_CIPHERS", "TLS 1.2 cipher suites, colon separated (OpenSSL or IANA names; default Go's)", ""},
	{"raft-secret", "CAIRN_RAFT_SECRET", "cluster mode: secret shared by every node (at least 16 bytes); the Raft transport runs mutual TLS with certificates derived from it, so only nodes that know it can send Raft messages (not needed with --tls-cluster yes)", ""},
	{"tls-cluster", "CAIRN_TLS_CLUSTER", "yes: mutual TLS with the CA between nodes (Raft, internal calls, shard endpoints, region links)", "no"},
	{"protected-mode", "CAIRN_PROTECTED_MODE", "yes: refuse to start on a non-loopback address without a password or TLS client authentication, and, as Redis, refuse connections from other hosts while the default user has no password (CONFIG SET protected-mode changes it at run time)", "yes"},
}

func run(args []string, stdout, stderr io.Writer) int {
	// 0. Subcommands: tools that talk to a running server (main_rdb.go).
	if len(args) > 0 && args[0] == "rdb" {
		return runRDB(args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "restore" {
		return runRestore(args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "module" {
		return runModule(args[1:], stdout, stderr)
	}

	// 1. Parse flags; remember which were given explicitly.
	fs := flag.NewFlagSet("cairn", flag.ContinueOnError)
	fs.SetOutput(stderr)
	vals := map[string]*string{}
	for _, s := range settings {
		vals[s.name] = fs.String(s.name, "", fmt.Sprintf("%s (env %s, default %q)", s.usage, s.env, s.def))
	}
	configFile := fs.String("config", os.Getenv("CAIRN_CONFIG"), "redis.conf-style config file (env CAIRN_CONFIG)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: cairn [flags]\n       cairn rdb export|import [flags] FILE   (Redis RDB files; cairn rdb for help)\n       cairn restore --from BACKUP --dir NEWDIR [--to-time T]   (docs/backups.md)\n\nCairn is a durable, Redis-compatible in-memory database.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}

	// 2. Resolve each setting: flag > environment > config file > default.
	file := map[string]string{}
	if *configFile != "" {
		var err error
		if file, err = readConfig(*configFile); err != nil {
			fmt.Fprintf(stderr, "cairn: %v\n", err)
			return 2
		}
	}
	get := func(name string) string {
		for _, s := range settings {
			if s.name != name {
				continue
			}
			if v := *vals[name]; v != "" {
				return v
			}
			if v, ok := os.LookupEnv(s.env); ok && v != "" {
				return v
			}
			if v, ok := file[name]; ok {
				return v
			}
			return s.def
		}
		return ""
	}
	cfg, err := buildConfig(get)
	if err != nil {
		fmt.Fprintf(stderr, "cairn: %v\n", err)
		return 2
	}
	cfg.ConfigFile = *configFile
	level, ok := session.ParseLogLevel(get("loglevel"))
	if !ok {
		fmt.Fprintf(stderr, "cairn: bad loglevel %q\n", get("loglevel"))
		return 2
	}
	cfg.LogLevel = new(slog.LevelVar)
	cfg.LogLevel.Set(level)
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	cfg.Logger = log
	// Node-local CONFIG parameters the file may set (what CONFIG REWRITE
	// writes beyond the settings above).
	for _, name := range session.FileParams() {
		if v, ok := file[name]; ok && !isSetting(name) {
			if cfg.Params == nil {
				cfg.Params = map[string]string{}
			}
			cfg.Params[name] = v
		}
	}

	// Protected mode: no open database on the network by accident.
	if err := checkProtected(cfg, get("protected-mode")); err != nil {
		fmt.Fprintf(stderr, "cairn: %v\n", err)
		return 2
	}
	// ... and at run time, for each new connection (session/protected.go).
	cfg.ProtectedMode = strings.EqualFold(get("protected-mode"), "yes")

	// Optional profiling endpoint for benchmarks (loopback only, opt-in).
	if addr := os.Getenv("CAIRN_PPROF"); addr != "" {
		if !isLoopbackAddr(addr) {
			fmt.Fprintf(stderr, "cairn: CAIRN_PPROF=%s: the profiling endpoint listens on a loopback address only (e.g. 127.0.0.1:6060)\n", addr)
			return 2
		}
		go func() { log.Warn("pprof stopped", "err", http.ListenAndServe(addr, nil)) }()
	}

	// The keyspace is one large, long-lived heap: collect at 50% growth
	// rather than Go's default 100%, trading a little CPU for a resident
	// size closer to the live data. GOGC in the environment overrides.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(50)
	}

	// 3. Start the node: Raft host, keyspace shard, client listener.
	node, err := server.Start(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "cairn: %v\n", err)
		return 1
	}
	// The operations dashboard on the HTTP listener: a Redis client of
	// this node, signed in as each dashboard user.
	// The dashboard is a client of its own node: plaintext when the node has
	// a plaintext port, else TLS trusting exactly the node's certificate.
	// Other nodes of a TLS cluster over TLS trusting the cluster's CA.
	selfAddr, selfTLS := node.SelfDial()
	dialer := web.NodeDialer(selfAddr, selfTLS, node.PeerDial())
	dash := web.New(web.Config{Dialer: dialer, ServicePass: cfg.RequirePass, Logger: log})
	if !node.HandleHTTP("/", dash) {
		dash.Close()
		dash = nil
	}
	log.Info("cairn ready", "addr", node.Addr(), "dir", node.Dir(), "raft", node.RaftAddr(), "http", node.HTTPAddr(), "pid", os.Getpid())

	// 4. Run until SIGTERM/SIGINT or SHUTDOWN, then stop in reverse order.
	sig := make(chan os.Signal, 1)
	// SIGHUP reloads the TLS certificates, key and CA.
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
wait:
	for {
		select {
		case s := <-sig:
			if s == syscall.SIGHUP {
				if err := node.ReloadTLS(); err != nil {
					log.Error("TLS reload failed; the certificates in use are kept", "err", err)
				} else {
					log.Info("TLS certificates reloaded")
				}
				continue
			}
			log.Info("shutting down", "signal", s.String())
			break wait
		case <-node.Done():
			log.Info("shutting down", "reason", "SHUTDOWN command")
			break wait
		}
	}
	if dash != nil {
		dash.Close()
	}
	node.Shutdown() // hands off Raft leadership first (cluster mode)
	log.Info("bye")
	return 0
}

func buildConfig(get func(string) string) (server.Config, error) {
	var cfg server.Config
	var err error
	if cfg.Port, err = strconv.Atoi(get("port")); err != nil || cfg.Port < 0 || cfg.Port > 65535 {
		return cfg, fmt.Errorf("bad port %q", get("port"))
	}
	if cfg.TLSPort, err = strconv.Atoi(get("tls-port")); err != nil || cfg.TLSPort < 0 || cfg.TLSPort > 65535 {
		return cfg, fmt.Errorf("bad tls-port %q", get("tls-port"))
	}
	if cfg.Port == 0 {
		// As Redis: port 0 serves no plaintext clients; the default
		// ports (Raft, HTTP...) are placed from the TLS port.
		if cfg.TLSPort == 0 {
			return cfg, fmt.Errorf("--port 0 disables plaintext clients: set --tls-port")
		}
		cfg.PlainDisabled, cfg.Port = true, cfg.TLSPort
	}
	cfg.HTTPTLS = strings.ToLower(get("http-tls"))
	cfg.TLS = tlsconf.Settings{CertFile: get("tls-cert-file"), KeyFile: get("tls-key-file"), CAFile: get("tls-ca-cert-file"),
		Protocols: get("tls-protocols"), Ciphers: get("tls-ciphers")}
	if cfg.TLS.AuthClients, err = tlsconf.ParseAuthClients(get("tls-auth-clients")); err != nil {
		return cfg, fmt.Errorf("bad tls-auth-clients %q (yes, no or optional)", get("tls-auth-clients"))
	}
	switch strings.ToLower(get("tls-cluster")) {
	case "yes":
		cfg.TLS.Cluster = true
	case "no":
	default:
		return cfg, fmt.Errorf("bad tls-cluster %q (yes or no)", get("tls-cluster"))
	}
	cfg.Bind = get("bind")
	cfg.Dir = get("dir")
	cfg.RaftAddr = get("raft-addr")
	cfg.RequirePass = get("requirepass")
	cfg.ACLFile = get("aclfile")
	if cfg.ProtoMaxBulkLen, err = parseBytes(get("proto-max-bulk-len")); err != nil {
		return cfg, fmt.Errorf("bad proto-max-bulk-len: %w", err)
	}
	if cfg.MaxClients, err = strconv.Atoi(get("maxclients")); err != nil || cfg.MaxClients < 1 {
		return cfg, fmt.Errorf("bad maxclients %q", get("maxclients"))
	}
	if cfg.SnapshotEntries, err = strconv.ParseUint(get("snapshot-entries"), 10, 64); err != nil || cfg.SnapshotEntries == 0 {
		return cfg, fmt.Errorf("bad snapshot-entries %q", get("snapshot-entries"))
	}
	if v := get("node-id"); v != "" {
		if cfg.NodeID, err = strconv.ParseUint(v, 10, 64); err != nil || cfg.NodeID == 0 {
			return cfg, fmt.Errorf("bad node-id %q", v)
		}
	}
	if v := get("peers"); v != "" {
		if cfg.Peers, err = parsePeers(v); err != nil {
			return cfg, err
		}
		if cfg.NodeID == 0 {
			return cfg, fmt.Errorf("--peers needs --node-id")
		}
		if _, ok := cfg.Peers[cfg.NodeID]; !ok {
			return cfg, fmt.Errorf("--peers does not list this node (--node-id %d)", cfg.NodeID)
		}
		if cfg.RaftAddr == "" {
			cfg.RaftAddr = cfg.Peers[cfg.NodeID]
		}
	}
	cfg.Join = get("join")
	for _, f := range []struct {
		name string
		dst  *int
	}{{"shards", &cfg.Shards}, {"replicas", &cfg.Replicas}} {
		if v := get(f.name); v != "" {
			if *f.dst, err = strconv.Atoi(v); err != nil || *f.dst < 1 {
				return cfg, fmt.Errorf("bad %s %q", f.name, v)
			}
		}
	}
	cfg.Announce = get("announce")
	if v := get("shard-ports"); v != "" {
		if cfg.ShardPorts, err = strconv.Atoi(v); err != nil || cfg.ShardPorts < 0 || cfg.ShardPorts > 65535 {
			return cfg, fmt.Errorf("bad shard-ports %q", v)
		}
		if cfg.ShardPorts == 0 {
			cfg.ShardPorts = -1 // free ports
		}
	}
	if cfg.ShardPortStep, err = strconv.Atoi(get("shard-port-step")); err != nil || cfg.ShardPortStep < 1 {
		return cfg, fmt.Errorf("bad shard-port-step %q", get("shard-port-step"))
	}
	if v := get("memory-guard"); v != "" {
		if cfg.MemoryGuard, err = parseBytes(v); err != nil || cfg.MemoryGuard < 0 {
			return cfg, fmt.Errorf("bad memory-guard %q", v)
		}
		if cfg.MemoryGuard == 0 {
			cfg.MemoryGuard = -1 // disabled
		}
	}
	switch cfg.LogDB = get("logdb"); cfg.LogDB {
	case "tan", "pebble":
	default:
		return cfg, fmt.Errorf("bad logdb %q (tan or pebble)", cfg.LogDB)
	}
	if v := get("http-port"); v != "" {
		if cfg.HTTPPort, err = strconv.Atoi(v); err != nil || cfg.HTTPPort < 0 || cfg.HTTPPort > 65535 {
			return cfg, fmt.Errorf("bad http-port %q", v)
		}
	} else {
		// The default port is best effort: if it is taken (or past
		// 65535) the node starts without it and says so.
		port := cfg.Port // the TLS port with --port 0
		if port == 0 {
			port = server.DefaultPort
		}
		cfg.HTTPPort, cfg.HTTPOptional = port+server.HTTPPortOffset, true
	}
	cfg.OTLPEndpoint = get("otlp-endpoint")
	cfg.EncryptionKeyFile, cfg.AuditLog = get("encryption-key-file"), get("audit-log")
	cfg.Region, cfg.RegionRole, cfg.RegionSecret, cfg.RegionAddr = get("region"), get("region-role"), get("region-secret"), get("region-addr")
	cfg.RaftSecret = get("raft-secret")
	if v := get("region-announce"); v != "" {
		if _, _, err := net.SplitHostPort(v); err != nil {
			return cfg, fmt.Errorf("bad region-announce %q (host:port)", v)
		}
		cfg.RegionAnnounce = v
	}
	switch cfg.RegionRole {
	case "", "primary", "secondary":
	default:
		return cfg, fmt.Errorf("bad region-role %q (primary or secondary)", cfg.RegionRole)
	}
	if v := get("max-staleness-ms"); v != "" {
		if cfg.RegionMaxStalenessMs, err = strconv.ParseInt(v, 10, 64); err != nil || cfg.RegionMaxStalenessMs < 0 {
			return cfg, fmt.Errorf("bad max-staleness-ms %q", v)
		}
	}
	if v := get("region-primary"); v != "" {
		for _, a := range strings.Split(v, ",") {
			if a = strings.TrimSpace(a); a != "" {
				cfg.RegionPrimary = append(cfg.RegionPrimary, a)
			}
		}
	}
	if v := get("region-peers"); v != "" {
		for _, a := range strings.Split(v, ",") {
			if a = strings.TrimSpace(a); a != "" {
				cfg.RegionPeers = append(cfg.RegionPeers, a)
			}
		}
	}
	cfg.BackupDir, cfg.BackupWindow = get("backup-dir"), get("backup-window")
	if cfg.BackupCPUShare, err = strconv.ParseFloat(get("backup-cpu-share"), 64); err != nil || !(cfg.BackupCPUShare > 0 && cfg.BackupCPUShare <= 1) {
		return cfg, fmt.Errorf("bad backup-cpu-share %q (more than 0, at most 1)", get("backup-cpu-share"))
	}
	if cfg.BackupRetentionDays, err = strconv.Atoi(get("backup-retention-days")); err != nil || cfg.BackupRetentionDays < 0 || cfg.BackupRetentionDays > 35 {
		return cfg, fmt.Errorf("bad backup-retention-days %q (0 to 35)", get("backup-retention-days"))
	}
	switch strings.ToLower(get("log-archive")) {
	case "yes":
		cfg.LogArchive = true
	case "no", "":
	default:
		return cfg, fmt.Errorf("bad log-archive %q (yes or no)", get("log-archive"))
	}
	switch strings.ToLower(get("lua-preload")) {
	case "yes", "":
		cfg.PreloadLua = true
	case "no":
	default:
		return cfg, fmt.Errorf("bad lua-preload %q (yes or no)", get("lua-preload"))
	}
	if v := get("exec-shards"); v != "" {
		if cfg.ExecShards, err = strconv.ParseUint(v, 10, 64); err != nil || cfg.ExecShards == 0 {
			return cfg, fmt.Errorf("bad exec-shards %q", v)
		}
	}
	return cfg, nil
}

// checkProtected refuses what would open the database to anyone who can
// reach it (Redis's protected mode, enforced at start): a non-loopback
// bind with neither a password nor TLS-only clients that must present a
// certificate.
func checkProtected(cfg server.Config, mode string) error {
	switch strings.ToLower(mode) {
	case "no":
		return nil
	case "yes":
	default:
		return fmt.Errorf("bad protected-mode %q (yes or no)", mode)
	}
	if isLoopbackHost(cfg.Bind) || cfg.RequirePass != "" || cfg.ACLFile != "" {
		return nil // an ACL file's users are the operator's explicit choice
	}
	if cfg.PlainDisabled && cfg.TLS.AuthClients == "yes" {
		return nil // only clients with a certificate of the CA get in
	}
	return fmt.Errorf("protected mode: refusing to serve clients on %s without authentication. Set a password (--requirepass) or users (--aclfile), "+
		"or serve TLS only with client certificates (--port 0 --tls-port N --tls-auth-clients yes), or bind a loopback address; "+
		"--protected-mode no starts anyway, open to anyone who can reach the port", cfg.Bind)
}

// isLoopbackHost tells whether a bind address accepts loopback traffic
// only ("" is the loopback default).
func isLoopbackHost(host string) bool {
	if host == "" || strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// isLoopbackAddr tells whether host:port names a loopback address.
func isLoopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	return err == nil && host != "" && isLoopbackHost(host)
}

// parsePeers reads "1=host:port,2=host:port".
func parsePeers(s string) (map[uint64]string, error) {
	out := map[uint64]string{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		ids, addr, ok := strings.Cut(part, "=")
		id, err := strconv.ParseUint(strings.TrimSpace(ids), 10, 64)
		if !ok || err != nil || id == 0 || addr == "" {
			return nil, fmt.Errorf("bad --peers entry %q (want ID=host:port)", part)
		}
		if _, dup := out[id]; dup {
			return nil, fmt.Errorf("--peers lists node %d twice", id)
		}
		out[id] = strings.TrimSpace(addr)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--peers is empty")
	}
	return out, nil
}

// parseBytes reads "512mb", "1gb", "1048576" as Redis does (kb/mb/gb are
// powers of 1024, k/m/g of 1000).
func parseBytes(s string) (int64, error) {
	l := strings.ToLower(strings.TrimSpace(s))
	mul := int64(1)
	for _, u := range []struct {
		suf string
		m   int64
	}{{"kb", 1 << 10}, {"mb", 1 << 20}, {"gb", 1 << 30}, {"k", 1e3}, {"m", 1e6}, {"g", 1e9}, {"b", 1}} {
		if strings.HasSuffix(l, u.suf) {
			l, mul = strings.TrimSuffix(l, u.suf), u.m
			break
		}
	}
	n, err := strconv.ParseInt(l, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%q is not a size", s)
	}
	return n * mul, nil
}

// readConfig reads a redis.conf-style file: "name value" per line, '#'
// comments, values optionally double-quoted.
func readConfig(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	known := map[string]bool{}
	for _, s := range settings {
		known[s.name] = true
	}
	for _, n := range session.FileParams() {
		known[n] = true
	}
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for ln := 1; sc.Scan(); ln++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, value, _ := strings.Cut(line, " ")
		name = strings.ToLower(name)
		value = strings.TrimSpace(value)
		if uq, err := strconv.Unquote(value); err == nil {
			value = uq
		}
		if !known[name] {
			return nil, fmt.Errorf("%s:%d: unknown setting %q", path, ln, name)
		}
		if !isSetting(name) {
			if err := session.ValidateParam(name, value); err != nil {
				return nil, fmt.Errorf("%s:%d: %s: %v", path, ln, name, err)
			}
		}
		out[name] = value
	}
	return out, sc.Err()
}

// isSetting tells whether name is one of main's own settings.
func isSetting(name string) bool {
	for _, s := range settings {
		if s.name == name {
			return true
		}
	}
	return false
}
