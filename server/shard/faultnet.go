package shard

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"

	"github.com/lni/dragonboat/v4/config"
	chantransport "github.com/lni/dragonboat/v4/plugin/chan"
	"github.com/lni/dragonboat/v4/raftio"
	pb "github.com/lni/dragonboat/v4/raftpb"
)

// FaultNet is an in-process Raft network for fault-injection tests: hosts
// created with it exchange messages over channels, and the test can cut
// the link between any two hosts (messages are dropped, as on a broken
// network) and heal it again.
type FaultNet struct {
	mu      sync.RWMutex
	blocked map[[2]string]bool
	dropped atomic.Int64
}

// NewFaultNet returns a network with every link up.
func NewFaultNet() *FaultNet { return &FaultNet{blocked: map[[2]string]bool{}} }

// Cut drops messages between hosts a and b, both ways.
func (f *FaultNet) Cut(a, b string) {
	f.mu.Lock()
	f.blocked[[2]string{a, b}] = true
	f.blocked[[2]string{b, a}] = true
	f.mu.Unlock()
}

// CutOneWay drops messages from a to b only.
func (f *FaultNet) CutOneWay(a, b string) {
	f.mu.Lock()
	f.blocked[[2]string{a, b}] = true
	f.mu.Unlock()
}

// Isolate cuts addr off from every host in others.
func (f *FaultNet) Isolate(addr string, others []string) {
	for _, o := range others {
		if o != addr {
			f.Cut(addr, o)
		}
	}
}

// Heal restores every link.
func (f *FaultNet) Heal() {
	f.mu.Lock()
	clear(f.blocked)
	f.mu.Unlock()
}

// Dropped returns how many sends were dropped.
func (f *FaultNet) Dropped() int64 { return f.dropped.Load() }

func (f *FaultNet) cut(from, to string) bool {
	f.mu.RLock()
	b := f.blocked[[2]string{from, to}]
	f.mu.RUnlock()
	if b {
		f.dropped.Add(1)
	}
	return b
}

var errCut = errors.New("faultnet: link cut")

type faultFactory struct {
	net   *FaultNet
	inner chantransport.ChanTransportFactory
}

func (ff *faultFactory) Create(c config.NodeHostConfig, h raftio.MessageHandler, ch raftio.ChunkHandler) raftio.ITransport {
	return &faultTransport{ITransport: ff.inner.Create(c, h, ch), net: ff.net, self: c.RaftAddress}
}

func (ff *faultFactory) Validate(addr string) bool {
	_, _, err := net.SplitHostPort(addr)
	return err == nil
}

type faultTransport struct {
	raftio.ITransport
	net  *FaultNet
	self string
}

func (t *faultTransport) GetConnection(ctx context.Context, target string) (raftio.IConnection, error) {
	if t.net.cut(t.self, target) {
		return nil, errCut
	}
	c, err := t.ITransport.GetConnection(ctx, target)
	if err != nil {
		return nil, err
	}
	return &faultConn{IConnection: c, t: t, target: target}, nil
}

func (t *faultTransport) GetSnapshotConnection(ctx context.Context, target string) (raftio.ISnapshotConnection, error) {
	if t.net.cut(t.self, target) {
		return nil, errCut
	}
	c, err := t.ITransport.GetSnapshotConnection(ctx, target)
	if err != nil {
		return nil, err
	}
	return &faultSnapConn{ISnapshotConnection: c, t: t, target: target}, nil
}

type faultConn struct {
	raftio.IConnection
	t      *faultTransport
	target string
}

func (c *faultConn) SendMessageBatch(b pb.MessageBatch) error {
	if c.t.net.cut(c.t.self, c.target) {
		return errCut
	}
	return c.IConnection.SendMessageBatch(b)
}

type faultSnapConn struct {
	raftio.ISnapshotConnection
	t      *faultTransport
	target string
}

func (c *faultSnapConn) SendChunk(ch pb.Chunk) error {
	if c.t.net.cut(c.t.self, c.target) {
		return errCut
	}
	return c.ISnapshotConnection.SendChunk(ch)
}
