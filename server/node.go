// Package server is Cairn's composition root: a Node is one process's
// NodeHost, its keyspace shard(s) and the RESP listener, started in order
// and stopped in reverse.
package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/entry"
	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/server/reply"
	"github.com/cairndb/cairn/server/resp"
	"github.com/cairndb/cairn/server/shard"
)

// Version is the Redis version Cairn reports for compatibility.
const Version = "7.0.15"

// Config configures a node. The zero value of each field means its default.
type Config struct {
	// Port is the client port. Default 6379.
	Port int
	// Bind is the client listen address. Default 127.0.0.1 (loopback only).
	Bind string
	// Dir holds the Raft log and snapshots. Default ./data.
	Dir string
	// RaftAddr is the Raft transport address. Default Bind:Port+10000.
	RaftAddr string
	// RequirePass enables AUTH for the default user. Default off.
	RequirePass string
	// ProtoMaxBulkLen is the largest bulk argument. Default 512 MB.
	ProtoMaxBulkLen int64
	// MaxClients caps client connections. Default 10000.
	MaxClients int
	// SnapshotEntries is how many log entries trigger a snapshot.
	// Default 100000.
	SnapshotEntries uint64
	// ConfigFile is the file the configuration was read from, if any.
	ConfigFile string
	// Logger receives the node's logs. Default slog.Default().
	Logger *slog.Logger
}

func (c *Config) setDefaults() {
	if c.Port == 0 {
		c.Port = 6379
	}
	if c.Bind == "" {
		c.Bind = "127.0.0.1"
	}
	if c.Dir == "" {
		c.Dir = "./data"
	}
	if c.RaftAddr == "" {
		c.RaftAddr = net.JoinHostPort(c.Bind, strconv.Itoa(c.Port+10000))
	}
	if c.ProtoMaxBulkLen == 0 {
		c.ProtoMaxBulkLen = 512 << 20
	}
	if c.MaxClients == 0 {
		c.MaxClients = 10000
	}
	if c.SnapshotEntries == 0 {
		c.SnapshotEntries = 100000
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Validate checks the configuration after defaults are applied.
func (c *Config) Validate() error {
	if c.Port < 0 || c.Port > 65535 {
		return fmt.Errorf("port %d out of range", c.Port)
	}
	if c.Port+10000 > 65535 && c.RaftAddr == "" {
		return fmt.Errorf("port %d leaves no room for the default raft port; set --raft-addr", c.Port)
	}
	if c.ProtoMaxBulkLen < 1<<20 {
		return errors.New("proto-max-bulk-len must be at least 1mb")
	}
	return nil
}

// Node is one running Cairn process.
type Node struct {
	cfg   Config
	host  *shard.Host
	shard *shard.Shard
	srv   *resp.Server
	ln    net.Listener
	log   *slog.Logger

	started  time.Time
	lastSave time.Time
	saveMu   sync.Mutex

	done      chan struct{}
	closeOnce sync.Once
}

// Start starts a single-shard node: NodeHost, shard, then the listener.
func Start(cfg Config) (*Node, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	n := &Node{cfg: cfg, log: cfg.Logger, started: time.Now(), done: make(chan struct{})}
	n.lastSave = n.started

	// 1. The data directory.
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	n.cfg.Dir = dir

	// 2. The Raft host, then the keyspace shard (restored from the latest
	// snapshot plus the log tail).
	n.host, err = shard.NewHost(shard.HostConfig{Dir: filepath.Join(dir, "raft"), RaftAddr: cfg.RaftAddr})
	if err != nil {
		return nil, err
	}
	table := Commands()
	n.shard, err = n.host.StartShard(shard.Options{
		SnapshotEntries: cfg.SnapshotEntries,
		ProtoMaxBulkLen: cfg.ProtoMaxBulkLen,
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

	// 3. The client listener.
	n.ln, err = net.Listen("tcp", net.JoinHostPort(cfg.Bind, strconv.Itoa(cfg.Port)))
	if err != nil {
		n.host.Close()
		return nil, err
	}
	n.srv = resp.New(resp.Config{
		RequirePass:     cfg.RequirePass,
		ProtoMaxBulkLen: cfg.ProtoMaxBulkLen,
		MaxClients:      cfg.MaxClients,
		Port:            n.ln.Addr().(*net.TCPAddr).Port,
		Bind:            cfg.Bind,
		Dir:             dir,
		ConfigFile:      cfg.ConfigFile,
		Version:         Version,
		RunID:           runID(),
		Logger:          cfg.Logger,
		Shutdown:        n.shutdownCmd,
		SnapshotConfig:  cfg.SnapshotEntries,
	}, table, (*backend)(n))
	go func() {
		if err := n.srv.Serve(n.ln); err != nil {
			n.log.Error("listener stopped", "err", err)
		}
	}()
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
		n.srv.Close()
		n.host.Close()
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

// backend adapts the node's shard to what the resp layer needs.
type backend Node

func (b *backend) Propose(cmds [][][]byte) resp.Pending {
	return b.shard.Propose(entry.Commands, cmds)
}

func (b *backend) Read(now time.Time, spec *command.Spec, args [][]byte) reply.Value {
	return b.shard.ReadAt(now, spec, args)
}

func (b *backend) Save(ctx context.Context) error {
	b.saveMu.Lock()
	defer b.saveMu.Unlock()
	if _, err := b.shard.Snapshot(ctx); err != nil {
		return err
	}
	b.lastSave = time.Now()
	return nil
}

func (b *backend) SetProtoMaxBulkLen(n int64) { b.shard.ProtoMaxBulkLen.Store(n) }

func (b *backend) ErrorReply(err error) reply.Value {
	switch {
	case errors.Is(err, shard.ErrTimeout):
		return reply.Error("TRYAGAIN write not confirmed by the Raft log in time; it may or may not have been applied")
	case errors.Is(err, shard.ErrNotLeader):
		return reply.Error("CLUSTERDOWN no Raft leader for this shard, try again")
	case errors.Is(err, shard.ErrClosed):
		return reply.Error("ERR server is shutting down")
	}
	return reply.Error("ERR " + err.Error())
}

func (b *backend) Status() resp.Status {
	st := b.shard.Status()
	out := resp.Status{
		IsLeader: st.IsLeader, ShardID: st.ShardID, ReplicaID: st.ReplicaID, LeaderID: st.LeaderID,
		Term: st.Term, AppliedIndex: st.AppliedIndex, LastLogIndex: st.LastLogIndex,
		SnapshotIndex: st.SnapshotIndex, Dirty: st.Dirty, SnapshotInProgress: st.SnapshotInProgress,
		LastCommit: st.LastCommit, LastFsync: st.LastFsync, RaftAddr: b.cfg.RaftAddr, DataDir: b.cfg.Dir,
		SnapshotEntries: b.cfg.SnapshotEntries,
	}
	b.saveMu.Lock()
	out.LastSaveUnix = b.lastSave.Unix()
	b.saveMu.Unlock()
	if st.LastSnapshotUnix > out.LastSaveUnix {
		out.LastSaveUnix = st.LastSnapshotUnix
	}
	b.shard.View(func(db *keyspace.DB) {
		out.Keys, out.Expires = int64(db.Len()), int64(db.Expiring())
		out.Hits, out.Misses = db.Stats.Hits.Load(), db.Stats.Misses.Load()
		out.ExpiredKeys = db.Stats.ExpiredKeys.Load()
	})
	return out
}
