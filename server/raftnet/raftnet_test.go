package raftnet

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/lni/dragonboat/v4"
	"github.com/lni/dragonboat/v4/config"
	"github.com/lni/dragonboat/v4/raftio"
	pb "github.com/lni/dragonboat/v4/raftpb"
	sm "github.com/lni/dragonboat/v4/statemachine"

	"github.com/cairndb/cairn/server/raftauth"
)

// freeAddr returns a loopback address that was free a moment ago and
// that no earlier call of this test process returned (a port closed
// right away can be handed out again at once).
func freeAddr(t *testing.T) string {
	t.Helper()
	for {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		handedMu.Lock()
		seen := handed[addr]
		handed[addr] = true
		handedMu.Unlock()
		if !seen {
			return addr
		}
	}
}

var (
	handedMu sync.Mutex
	handed   = map[string]bool{}
)

// sink records what a transport receives.
type sink struct {
	mu      sync.Mutex
	batches []pb.MessageBatch
	chunks  []pb.Chunk
	refuse  bool
	got     chan struct{}
}

func newSink() *sink { return &sink{got: make(chan struct{}, 1024)} }

func (s *sink) batch(b pb.MessageBatch) {
	s.mu.Lock()
	s.batches = append(s.batches, b)
	s.mu.Unlock()
	s.got <- struct{}{}
}

func (s *sink) chunk(c pb.Chunk) bool {
	s.mu.Lock()
	s.chunks = append(s.chunks, c)
	refuse := s.refuse
	s.mu.Unlock()
	s.got <- struct{}{}
	return !refuse
}

func (s *sink) wait(t *testing.T, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		select {
		case <-s.got:
		case <-time.After(10 * time.Second):
			t.Fatalf("received %d of %d", i, n)
		}
	}
}

func start(t *testing.T, s *sink) (*Transport, string) {
	t.Helper()
	addr := freeAddr(t)
	tr := Factory{}.Create(config.NodeHostConfig{RaftAddress: addr}, s.batch, s.chunk).(*Transport)
	if err := tr.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr, addr
}

func TestBatchesAndChunks(t *testing.T) {
	sa, sb := newSink(), newSink()
	a, _ := start(t, sa)
	_, addrB := start(t, sb)
	conn, err := a.GetConnection(context.Background(), addrB)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var sent []pb.MessageBatch
	for i := 0; i < 200; i++ {
		b := pb.MessageBatch{SourceAddress: "a", BinVer: 210, Requests: []pb.Message{{
			Type: pb.Replicate, To: 2, From: 1, ShardID: uint64(i), Term: 7, LogIndex: uint64(i),
			Entries: []pb.Entry{{Index: uint64(i + 1), Term: 7, Cmd: bytes.Repeat([]byte{byte(i)}, i*37)}},
		}}}
		if i == 199 { // bigger than the receive buffer
			b.Requests[0].Entries[0].Cmd = bytes.Repeat([]byte("x"), 3<<20)
		}
		if err := conn.SendMessageBatch(b); err != nil {
			t.Fatal(err)
		}
		sent = append(sent, b)
	}
	sb.wait(t, len(sent))
	sb.mu.Lock()
	for i := range sent {
		got, _ := sb.batches[i].Marshal()
		want, _ := sent[i].Marshal()
		if !bytes.Equal(got, want) {
			t.Fatalf("batch %d differs", i)
		}
	}
	sb.mu.Unlock()

	// Snapshot chunks, then the poison handshake that ends the stream.
	sc, err := a.GetSnapshotConnection(context.Background(), addrB)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if err := sc.SendChunk(pb.Chunk{ShardID: 9, ReplicaID: 2, From: 1, ChunkId: uint64(i), ChunkCount: 3, Data: bytes.Repeat([]byte{'c'}, 1000*i+1)}); err != nil {
			t.Fatal(err)
		}
	}
	closed := make(chan struct{})
	go func() { sc.Close(); close(closed) }()
	select {
	case <-closed: // acknowledged (an unanswered poison waits 10 s)
	case <-time.After(5 * time.Second):
		t.Fatal("snapshot connection close was not acknowledged")
	}
	sb.wait(t, 3)
	sb.mu.Lock()
	for i, c := range sb.chunks {
		if c.ChunkId != uint64(i) || len(c.Data) != 1000*i+1 {
			t.Fatalf("chunk %d: id %d, %d bytes", i, c.ChunkId, len(c.Data))
		}
	}
	sb.mu.Unlock()
}

// A refused chunk ends the connection: the next send fails or is never
// delivered, as with Dragonboat's transport.
func TestRefusedChunkClosesConnection(t *testing.T) {
	sa, sb := newSink(), newSink()
	sb.refuse = true
	a, _ := start(t, sa)
	_, addrB := start(t, sb)
	sc, err := a.GetSnapshotConnection(context.Background(), addrB)
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	if err := sc.SendChunk(pb.Chunk{ShardID: 1, ChunkCount: 2, Data: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	sb.wait(t, 1)
	deadline := time.Now().Add(5 * time.Second)
	for sc.SendChunk(pb.Chunk{ShardID: 1, ChunkId: 1, ChunkCount: 2, Data: []byte("y")}) == nil {
		if time.Now().After(deadline) {
			t.Fatal("sends on a connection whose chunk was refused keep succeeding")
		}
		time.Sleep(20 * time.Millisecond)
	}
	sb.mu.Lock()
	defer sb.mu.Unlock()
	if len(sb.chunks) != 1 {
		t.Fatalf("%d chunks delivered after a refusal", len(sb.chunks))
	}
}

// Garbage, a bad header CRC or a bad payload CRC close that connection
// without delivering anything; the transport keeps serving others.
func TestBadInputClosesConnection(t *testing.T) {
	sb := newSink()
	_, addrB := start(t, sb)
	good := func() []byte {
		var w bytes.Buffer
		fw := frameWriter{conn: writerConn{&w}}
		b := pb.MessageBatch{SourceAddress: "x", Requests: []pb.Message{{Type: pb.Heartbeat, ShardID: 3}}}
		if err := fw.send(methodRaft, b.SizeUpperLimit(), func(p []byte) []byte { return pb.MustMarshalTo(&b, p) }); err != nil {
			t.Fatal(err)
		}
		return w.Bytes()
	}
	badHeader := good()
	badHeader[5] ^= 1
	badPayload := good()
	badPayload[len(badPayload)-1] ^= 1
	hugeSize := good()
	copy(hugeSize[4:12], []byte{0, 0, 1, 0, 0, 0, 0, 0}) // size 2^40, header CRC now wrong too
	for name, in := range map[string][]byte{
		"garbage": []byte("GET / HTTP/1.1\r\n\r\n"), "header crc": badHeader, "payload crc": badPayload, "size": hugeSize,
	} {
		c, err := net.Dial("tcp", addrB)
		if err != nil {
			t.Fatal(err)
		}
		c.Write(in)
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err != io.EOF {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Fatalf("%s: connection still open", name)
			}
		}
		c.Close()
	}
	// A good frame on a new connection is still delivered.
	c, err := net.Dial("tcp", addrB)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write(good())
	sb.wait(t, 1)
	sb.mu.Lock()
	defer sb.mu.Unlock()
	if len(sb.batches) != 1 || sb.batches[0].Requests[0].ShardID != 3 {
		t.Fatalf("delivered %+v", sb.batches)
	}
}

type writerConn struct{ w io.Writer }

func (c writerConn) Write(b []byte) (int, error)      { return c.w.Write(b) }
func (c writerConn) Read([]byte) (int, error)         { return 0, io.EOF }
func (c writerConn) Close() error                     { return nil }
func (c writerConn) LocalAddr() net.Addr              { return nil }
func (c writerConn) RemoteAddr() net.Addr             { return nil }
func (c writerConn) SetDeadline(time.Time) error      { return nil }
func (c writerConn) SetReadDeadline(time.Time) error  { return nil }
func (c writerConn) SetWriteDeadline(time.Time) error { return nil }

var _ raftio.IConnection = (*msgConn)(nil)

// counter is a state machine that counts its updates.
type counter struct{ n uint64 }

func (c *counter) Update(e sm.Entry) (sm.Result, error) {
	c.n++
	return sm.Result{Value: c.n}, nil
}
func (c *counter) Lookup(any) (any, error) { return c.n, nil }
func (c *counter) SaveSnapshot(w io.Writer, _ sm.ISnapshotFileCollection, _ <-chan struct{}) error {
	_, err := w.Write([]byte(strconv.FormatUint(c.n, 10)))
	return err
}
func (c *counter) RecoverFromSnapshot(r io.Reader, _ []sm.SnapshotFile, _ <-chan struct{}) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	c.n, err = strconv.ParseUint(string(b), 10, 64)
	return err
}
func (c *counter) Close() error { return nil }

// TestInteropWithDragonboatTransport runs a 3-replica shard in which one
// NodeHost uses raftnet and two use Dragonboat's own TCP transport (a
// rolling upgrade): proposals made on the raftnet host commit; then the
// third host comes back empty on raftnet as a new replica and is caught
// up through a snapshot streamed to it.
func TestInteropWithDragonboatTransport(t *testing.T) {
	addrs := []string{freeAddr(t), freeAddr(t), freeAddr(t)}
	members := map[uint64]string{1: addrs[0], 2: addrs[1], 3: addrs[2]}
	hosts := make([]*dragonboat.NodeHost, 3)
	newHost := func(i int, dir string) {
		nhc := config.NodeHostConfig{NodeHostDir: dir, WALDir: dir, RTTMillisecond: 5, RaftAddress: addrs[i]}
		if i == 0 {
			nhc.Expert.TransportFactory = Factory{}
		}
		nh, err := dragonboat.NewNodeHost(nhc)
		if err != nil {
			t.Fatal(err)
		}
		hosts[i] = nh
		rc := config.Config{ReplicaID: uint64(i + 1), ShardID: 1, ElectionRTT: 20, HeartbeatRTT: 2, CheckQuorum: true,
			SnapshotEntries: 20, CompactionOverhead: 5}
		if err := nh.StartReplica(members, false, func(uint64, uint64) sm.IStateMachine { return &counter{} }, rc); err != nil {
			t.Fatal(err)
		}
	}
	dirs := []string{t.TempDir(), t.TempDir(), t.TempDir()}
	for i := range hosts {
		newHost(i, dirs[i])
	}
	defer func() {
		for _, h := range hosts {
			if h != nil {
				h.Close()
			}
		}
	}()
	propose := func(nh *dragonboat.NodeHost, n int) {
		s := nh.GetNoOPSession(1)
		for i := 0; i < n; i++ {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_, err := nh.SyncPropose(ctx, s, []byte(fmt.Sprint(i)))
			cancel()
			if err != nil {
				i-- // not leader yet, or dropped while electing: try again
				time.Sleep(20 * time.Millisecond)
				continue
			}
		}
	}
	propose(hosts[0], 50)
	// Replica 3 loses its data while down; the log was compacted past
	// what it needs, so it must be sent a snapshot.
	hosts[2].Close()
	hosts[2] = nil
	propose(hosts[0], 100)
	dirs[2] = t.TempDir()
	// A replica restarted empty must be re-added; instead start it as a
	// fresh join of a new replica ID.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	if err := hosts[0].SyncRequestDeleteReplica(ctx, 1, 3, 0); err != nil {
		t.Fatal(err)
	}
	if err := hosts[0].SyncRequestAddReplica(ctx, 1, 4, addrs[2], 0); err != nil {
		t.Fatal(err)
	}
	cancel()
	// It comes back on raftnet: the snapshot reaches it from the leader,
	// whichever transport that one runs.
	nhc := config.NodeHostConfig{NodeHostDir: dirs[2], WALDir: dirs[2], RTTMillisecond: 5, RaftAddress: addrs[2]}
	nhc.Expert.TransportFactory = Factory{}
	nh, err := dragonboat.NewNodeHost(nhc)
	if err != nil {
		t.Fatal(err)
	}
	hosts[2] = nh
	rc := config.Config{ReplicaID: 4, ShardID: 1, ElectionRTT: 20, HeartbeatRTT: 2, CheckQuorum: true, SnapshotEntries: 20, CompactionOverhead: 5}
	if err := nh.StartReplica(nil, true, func(uint64, uint64) sm.IStateMachine { return &counter{} }, rc); err != nil {
		t.Fatal(err)
	}
	propose(hosts[0], 10)
	deadline := time.Now().Add(20 * time.Second)
	for {
		v, err := nh.StaleRead(1, nil)
		if err == nil && v.(uint64) >= 160 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the new replica holds %v (%v), want 160 updates", v, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestTLS: transports with certificates derived from the same secret
// exchange messages over mutual TLS; a peer of another secret delivers
// nothing.
func TestTLS(t *testing.T) {
	startTLS := func(s *sink, secret string) (*Transport, string) {
		addr := freeAddr(t)
		srv, cli, err := raftauth.TLSConfigs([]byte(secret), addr)
		if err != nil {
			t.Fatal(err)
		}
		tr := Factory{TLS: &TLS{Server: srv, Client: cli}}.Create(config.NodeHostConfig{RaftAddress: addr}, s.batch, s.chunk).(*Transport)
		if err := tr.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { tr.Close() })
		return tr, addr
	}
	sa, sb, sc := newSink(), newSink(), newSink()
	a, _ := startTLS(sa, "0123456789abcdef-one")
	_, addrB := startTLS(sb, "0123456789abcdef-one")
	c, _ := startTLS(sc, "0123456789abcdef-two")
	conn, err := a.GetConnection(context.Background(), addrB)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.SendMessageBatch(pb.MessageBatch{SourceAddress: "a", Requests: []pb.Message{{Type: pb.Heartbeat, ShardID: 5}}}); err != nil {
		t.Fatal(err)
	}
	sb.wait(t, 1)
	if _, err := c.GetConnection(context.Background(), addrB); err == nil {
		t.Fatal("a transport of another secret connected")
	}
	sb.mu.Lock()
	defer sb.mu.Unlock()
	if len(sb.batches) != 1 || sb.batches[0].Requests[0].ShardID != 5 {
		t.Fatalf("delivered %+v", sb.batches)
	}
}
