// Package raftnet carries Raft messages and snapshot chunks between the
// nodes of a cluster: the transport module Dragonboat calls to reach
// other NodeHosts.
//
// It speaks Dragonboat's own TCP transport protocol byte for byte — a
// 2-byte magic, an 18-byte header (method, payload size, header CRC,
// payload CRC; the payload CRC is 0 and not checked under TLS, as
// there), the marshalled MessageBatch or Chunk, and the 2-byte "poison"
// handshake that ends a snapshot connection — so a node running it and
// a node running Dragonboat's transport talk to each other (a rolling
// upgrade mixes them). What differs is the cost per message: Dragonboat
// writes the magic, the header and the payload with three system calls
// (three TLS records under TLS) and reads them with at least three;
// here a message is one write, and the receiver reads through a buffer,
// so a burst of small batches costs one read. On a 3-replica cluster
// every write crosses the transport twice (append, then the
// acknowledgement), so this is CPU on the path of every write.
package raftnet

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/lni/dragonboat/v4/config"
	"github.com/lni/dragonboat/v4/raftio"
	pb "github.com/lni/dragonboat/v4/raftpb"
)

// Name is the transport's name in Dragonboat's logs.
const Name = "cairn-raftnet"

// The wire protocol (Dragonboat's go-tcp-transport).
const (
	headerSize   = 18
	frameHead    = 2 + headerSize // magic + header
	methodRaft   = uint16(100)
	methodChunk  = uint16(200)
	maxPayload   = 1 << 30 // far above any batch or chunk Dragonboat sends
	readBufSize  = 64 << 10
	keepBufLimit = 4 << 20 // a send buffer grown past this is not kept
)

var (
	magic  = [2]byte{0xAE, 0x7D}
	poison = [2]byte{0, 0}
)

// Deadlines, as Dragonboat's transport uses them.
const (
	dialTimeout      = 5 * time.Second
	handshakeTimeout = 10 * time.Second
	ioTimeout        = 5 * time.Second // per message, plus perMiB below
	perMiB           = 2 * time.Second
	keepAlive        = 10 * time.Second
	poisonAckTimeout = 10 * time.Second
)

// Factory creates the transport for a NodeHost (its
// config.NodeHostConfig.Expert.TransportFactory). Log may be nil.
type Factory struct {
	Log *slog.Logger
	// TLS, when set, puts the transport on mutual TLS with these
	// settings (certificates derived from the cluster's Raft secret);
	// else the NodeHost's MutualTLS files are used when it has them.
	TLS *TLS
}

// TLS holds a transport's own TLS settings.
type TLS struct {
	Server *tls.Config
	Client func(target string) (*tls.Config, error)
}

var _ config.TransportFactory = Factory{}

// Create returns a transport that delivers received message batches to
// onBatch and snapshot chunks to onChunk.
func (f Factory) Create(cfg config.NodeHostConfig, onBatch raftio.MessageHandler,
	onChunk raftio.ChunkHandler) raftio.ITransport {
	log := f.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t := &Transport{cfg: cfg, onBatch: onBatch, onChunk: onChunk, encrypted: cfg.MutualTLS,
		log: log, conns: map[net.Conn]struct{}{}, serverTLS: cfg.GetServerTLSConfig, clientTLS: cfg.GetClientTLSConfig}
	if f.TLS != nil {
		t.encrypted = true
		t.serverTLS = func() (*tls.Config, error) { return f.TLS.Server, nil }
		t.clientTLS = f.TLS.Client
	}
	return t
}

// Validate accepts host:port addresses, as Dragonboat's transport does.
func (Factory) Validate(addr string) bool {
	host, port, err := net.SplitHostPort(addr)
	return err == nil && host != "" && port != ""
}

// Transport is one NodeHost's Raft transport.
type Transport struct {
	cfg       config.NodeHostConfig
	onBatch   raftio.MessageHandler
	onChunk   raftio.ChunkHandler
	encrypted bool // mutual TLS: no payload CRC, as in Dragonboat
	log       *slog.Logger
	serverTLS func() (*tls.Config, error)
	clientTLS func(target string) (*tls.Config, error)

	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]struct{} // accepted connections, closed by Close
	closed bool
	wg     sync.WaitGroup
}

var _ raftio.ITransport = (*Transport)(nil)

// Name implements raftio.ITransport.
func (t *Transport) Name() string { return Name }

// Start listens on the NodeHost's listen address.
func (t *Transport) Start() error {
	tlsCfg, err := t.serverTLS()
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", t.cfg.GetListenAddress())
	if err != nil {
		return err
	}
	if tlsCfg != nil {
		ln = tls.NewListener(ln, tlsCfg)
	}
	t.mu.Lock()
	t.ln = ln
	t.mu.Unlock()
	t.wg.Add(1)
	go t.accept(ln)
	return nil
}

func (t *Transport) accept(ln net.Listener) {
	defer t.wg.Done()
	for {
		conn, err := ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return // closed
		}
		t.mu.Lock()
		if t.closed {
			t.mu.Unlock()
			conn.Close()
			return
		}
		t.conns[conn] = struct{}{}
		t.wg.Add(1)
		t.mu.Unlock()
		go func() {
			defer t.wg.Done()
			t.serve(conn)
			conn.Close()
			t.mu.Lock()
			delete(t.conns, conn)
			t.mu.Unlock()
		}()
	}
}

// Close stops listening, closes every accepted connection and waits for
// their goroutines.
func (t *Transport) Close() error {
	t.mu.Lock()
	t.closed = true
	if t.ln != nil {
		t.ln.Close()
	}
	for c := range t.conns {
		c.Close()
	}
	t.mu.Unlock()
	t.wg.Wait()
	return nil
}

// serve reads messages from one peer until the connection ends, the peer
// sends something that is not the protocol, or a chunk is refused.
func (t *Transport) serve(conn net.Conn) {
	if tc, ok := conn.(*tls.Conn); ok {
		tc.SetDeadline(time.Now().Add(handshakeTimeout))
		if err := tc.Handshake(); err != nil {
			t.log.Debug("raft transport: TLS handshake failed", "peer", conn.RemoteAddr(), "err", err)
			return
		}
		tc.SetDeadline(time.Time{})
	}
	br := bufio.NewReaderSize(conn, readBufSize)
	var payload []byte
	for {
		// Idle connections wait without a deadline; a message once
		// started must arrive in time.
		switch br.Buffered() {
		case 0:
			conn.SetReadDeadline(time.Time{})
		case 1:
			conn.SetReadDeadline(time.Now().Add(ioTimeout))
		}
		head, err := br.Peek(2)
		if err != nil {
			return
		}
		switch {
		case head[0] == poison[0] && head[1] == poison[1]:
			// The sender of a snapshot is done: acknowledge and end.
			conn.SetWriteDeadline(time.Now().Add(ioTimeout))
			conn.Write(poison[:])
			return
		case head[0] != magic[0] || head[1] != magic[1]:
			t.log.Warn("raft transport: a peer sent something that is not a Raft message; connection closed", "peer", conn.RemoteAddr())
			return
		}
		if br.Buffered() < frameHead {
			conn.SetReadDeadline(time.Now().Add(ioTimeout))
		}
		var frame [frameHead]byte
		if _, err := io.ReadFull(br, frame[:]); err != nil {
			return
		}
		method, size, sum, ok := decodeHeader(frame[2:])
		if !ok {
			t.log.Warn("raft transport: bad message header; connection closed", "peer", conn.RemoteAddr())
			return
		}
		if uint64(br.Buffered()) < size {
			conn.SetReadDeadline(time.Now().Add(ioTimeout + perMiB*time.Duration(size>>20)))
		}
		if uint64(cap(payload)) < size {
			payload = make([]byte, size)
		}
		buf := payload[:size]
		if _, err := io.ReadFull(br, buf); err != nil {
			return
		}
		if !t.encrypted && crc32.ChecksumIEEE(buf) != sum {
			t.log.Warn("raft transport: message checksum mismatch; connection closed", "peer", conn.RemoteAddr())
			return
		}
		if method == methodRaft {
			var batch pb.MessageBatch
			if err := batch.Unmarshal(buf); err != nil {
				return
			}
			t.onBatch(batch)
		} else {
			var chunk pb.Chunk
			if err := chunk.Unmarshal(buf); err != nil {
				return
			}
			if !t.onChunk(chunk) {
				return
			}
		}
		if cap(payload) > keepBufLimit {
			payload = nil
		}
	}
}

// decodeHeader checks a header's own CRC and returns its fields.
func decodeHeader(h []byte) (method uint16, size uint64, payloadCRC uint32, ok bool) {
	var tmp [headerSize]byte
	copy(tmp[:], h)
	want := binary.BigEndian.Uint32(tmp[10:])
	binary.BigEndian.PutUint32(tmp[10:], 0)
	if crc32.ChecksumIEEE(tmp[:]) != want {
		return 0, 0, 0, false
	}
	method = binary.BigEndian.Uint16(tmp[0:])
	size = binary.BigEndian.Uint64(tmp[2:])
	if (method != methodRaft && method != methodChunk) || size == 0 || size > maxPayload {
		return 0, 0, 0, false
	}
	return method, size, binary.BigEndian.Uint32(tmp[14:]), true
}

// putFrameHead writes magic and header for a payload into b[:frameHead].
func putFrameHead(b []byte, method uint16, payload []byte, encrypted bool) {
	b[0], b[1] = magic[0], magic[1]
	h := b[2:frameHead]
	binary.BigEndian.PutUint16(h[0:], method)
	binary.BigEndian.PutUint64(h[2:], uint64(len(payload)))
	binary.BigEndian.PutUint32(h[10:], 0)
	var sum uint32
	if !encrypted {
		sum = crc32.ChecksumIEEE(payload)
	}
	binary.BigEndian.PutUint32(h[14:], sum)
	binary.BigEndian.PutUint32(h[10:], crc32.ChecksumIEEE(h))
}

// dial connects to target, with TLS when the NodeHost uses mutual TLS.
func (t *Transport) dial(ctx context.Context, target string) (net.Conn, error) {
	d := net.Dialer{Timeout: dialTimeout, KeepAlive: keepAlive}
	conn, err := d.DialContext(ctx, "tcp", target)
	if err != nil {
		return nil, err
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	tlsCfg, err := t.clientTLS(target)
	if err != nil {
		conn.Close()
		return nil, err
	}
	if tlsCfg != nil {
		tc := tls.Client(conn, tlsCfg)
		tc.SetDeadline(time.Now().Add(handshakeTimeout))
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return nil, err
		}
		tc.SetDeadline(time.Time{})
		conn = tc
	}
	return conn, nil
}

// GetConnection returns a connection for message batches to target.
func (t *Transport) GetConnection(ctx context.Context, target string) (raftio.IConnection, error) {
	conn, err := t.dial(ctx, target)
	if err != nil {
		return nil, err
	}
	return &msgConn{frameWriter{conn: conn, encrypted: t.encrypted}}, nil
}

// GetSnapshotConnection returns a connection for snapshot chunks to target.
func (t *Transport) GetSnapshotConnection(ctx context.Context, target string) (raftio.ISnapshotConnection, error) {
	conn, err := t.dial(ctx, target)
	if err != nil {
		return nil, err
	}
	return &chunkConn{frameWriter{conn: conn, encrypted: t.encrypted}}, nil
}

// frameWriter sends whole frames, each with one write.
type frameWriter struct {
	conn      net.Conn
	encrypted bool
	buf       []byte
}

// send marshals m after the frame head and writes the frame.
func (w *frameWriter) send(method uint16, size int, marshal func([]byte) []byte) error {
	if need := frameHead + size; cap(w.buf) < need {
		w.buf = make([]byte, need)
	}
	b := w.buf[:cap(w.buf)]
	payload := marshal(b[frameHead:])
	putFrameHead(b, method, payload, w.encrypted)
	w.conn.SetWriteDeadline(time.Now().Add(ioTimeout + perMiB*time.Duration(len(payload)>>20)))
	_, err := w.conn.Write(b[:frameHead+len(payload)])
	if cap(w.buf) > keepBufLimit {
		w.buf = nil
	}
	return err
}

type msgConn struct{ frameWriter }

var _ raftio.IConnection = (*msgConn)(nil)

func (c *msgConn) Close() { c.conn.Close() }

func (c *msgConn) SendMessageBatch(batch pb.MessageBatch) error {
	return c.send(methodRaft, batch.SizeUpperLimit(), func(b []byte) []byte { return pb.MustMarshalTo(&batch, b) })
}

type chunkConn struct{ frameWriter }

var _ raftio.ISnapshotConnection = (*chunkConn)(nil)

// Close tells the receiver the snapshot stream ends and waits (bounded)
// for its acknowledgement, as Dragonboat's transport does.
func (c *chunkConn) Close() {
	defer c.conn.Close()
	c.conn.SetWriteDeadline(time.Now().Add(ioTimeout))
	if _, err := c.conn.Write(poison[:]); err != nil {
		return
	}
	c.conn.SetReadDeadline(time.Now().Add(poisonAckTimeout))
	var ack [2]byte
	io.ReadFull(c.conn, ack[:])
}

func (c *chunkConn) SendChunk(chunk pb.Chunk) error {
	return c.send(methodChunk, chunk.Size(), func(b []byte) []byte { return pb.MustMarshalTo(&chunk, b) })
}
