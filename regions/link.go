package regions

import (
	"bufio"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// The link protocol, version 1. The secondary dials the primary:
//
//	secondary → magic "CAIRNRL1"
//	primary   → 32-byte nonce
//	secondary → HMAC-SHA256(secret, "cairn-region-link" || nonce)
//	primary   → one byte: 1 accepted (anything else: the link closes)
//	secondary → request: uvarint kind (reqShip), uvarint shard, uvarint from
//
// then the primary streams frames, each a type byte and its body:
//
//	frameBatch     uvarint source applied index, varint source clock (ms),
//	               uvarint n, n × (uvarint index, uvarint len, bytes; len 0 is
//	               Raft's own entry). Indexes are contiguous from `from`.
//	frameHeartbeat uvarint source applied index, varint source clock (ms)
//	frameError     uvarint code, uvarint len, message; the link closes.
//	frameSnapshot  uvarint source applied index, varint source clock (ms),
//	               uvarint snapshot index, varint snapshot clock, uvarint
//	               offset, byte last (1 or 0), uvarint len, bytes: one chunk
//	               of the source shard's snapshot, sent instead of entries
//	               when the log no longer holds `from` (snapshot catch-up);
//	               batches then continue from the snapshot index + 1.
//
// A frame is at most maxFrame bytes; a larger length is a protocol error.
const (
	linkMagic = "CAIRNRL1"
	macLabel  = "cairn-region-link"

	reqShip = 1

	frameBatch     = 1
	frameHeartbeat = 2
	frameError     = 3
	frameSnapshot  = 4

	errCodeCompacted = 1
	errCodeNoShard   = 2
	errCodeOther     = 3

	maxFrame = 64 << 20
)

// ErrAuth is returned when the other side of a link does not prove it
// knows the region secret.
var ErrAuth = errors.New("regions: link authentication failed")

// ErrCompacted is returned (wrapped) by a SourceLog, and reported over the
// link, when the source no longer holds the entries a destination needs:
// the link then ships a snapshot instead (SourceLog.Snapshot).
var ErrCompacted = errors.New("regions: the source log is compacted past the destination's position")

func mac(secret string, nonce []byte) []byte {
	h := hmac.New(sha256.New, []byte(secret))
	h.Write([]byte(macLabel))
	h.Write(nonce)
	return h.Sum(nil)
}

// serverHandshake authenticates a dialing secondary.
func serverHandshake(c net.Conn, secret string) error {
	c.SetDeadline(time.Now().Add(5 * time.Second))
	defer c.SetDeadline(time.Time{})
	magic := make([]byte, len(linkMagic))
	if _, err := io.ReadFull(c, magic); err != nil {
		return err
	}
	if string(magic) != linkMagic {
		return fmt.Errorf("regions: not a region link (magic %q)", magic)
	}
	nonce := make([]byte, 32)
	rand.Read(nonce)
	if _, err := c.Write(nonce); err != nil {
		return err
	}
	got := make([]byte, sha256.Size)
	if _, err := io.ReadFull(c, got); err != nil {
		return err
	}
	if !hmac.Equal(got, mac(secret, nonce)) {
		c.Write([]byte{0})
		return ErrAuth
	}
	_, err := c.Write([]byte{1})
	return err
}

// clientHandshake proves the secret to the primary.
func clientHandshake(c net.Conn, secret string) error {
	c.SetDeadline(time.Now().Add(5 * time.Second))
	defer c.SetDeadline(time.Time{})
	if _, err := c.Write([]byte(linkMagic)); err != nil {
		return err
	}
	nonce := make([]byte, 32)
	if _, err := io.ReadFull(c, nonce); err != nil {
		return err
	}
	if _, err := c.Write(mac(secret, nonce)); err != nil {
		return err
	}
	ok := make([]byte, 1)
	if _, err := io.ReadFull(c, ok); err != nil || ok[0] != 1 {
		return ErrAuth
	}
	return nil
}

// batch is a decoded frameBatch or frameHeartbeat.
type batch struct {
	applied uint64 // source applied index
	clock   int64  // source replicated clock, ms
	ents    []Entry
	snap    *SnapshotChunk // a frameSnapshot's chunk (ents empty)
}

// SnapshotChunk is a piece of a source shard's snapshot.
type SnapshotChunk struct {
	// Index and TimeMs: the source index and clock the snapshot is at.
	Index  uint64
	TimeMs int64
	// Offset of Data in the snapshot; Last: Data ends it.
	Offset uint64
	Last   bool
	Data   []byte
}

func appendSnapshotChunk(dst []byte, applied uint64, clock int64, c *SnapshotChunk) []byte {
	dst = append(dst, frameSnapshot)
	dst = binary.AppendUvarint(dst, applied)
	dst = binary.AppendVarint(dst, clock)
	dst = binary.AppendUvarint(dst, c.Index)
	dst = binary.AppendVarint(dst, c.TimeMs)
	dst = binary.AppendUvarint(dst, c.Offset)
	last := byte(0)
	if c.Last {
		last = 1
	}
	dst = append(dst, last)
	dst = binary.AppendUvarint(dst, uint64(len(c.Data)))
	return append(dst, c.Data...)
}

func appendBatch(dst []byte, b *batch) []byte {
	typ := byte(frameBatch)
	if len(b.ents) == 0 {
		typ = frameHeartbeat
	}
	dst = append(dst, typ)
	dst = binary.AppendUvarint(dst, b.applied)
	dst = binary.AppendVarint(dst, b.clock)
	if typ == frameHeartbeat {
		return dst
	}
	dst = binary.AppendUvarint(dst, uint64(len(b.ents)))
	for _, e := range b.ents {
		dst = binary.AppendUvarint(dst, e.Index)
		dst = binary.AppendUvarint(dst, uint64(len(e.Data)))
		dst = append(dst, e.Data...)
	}
	return dst
}

func appendError(dst []byte, code uint64, msg string) []byte {
	dst = append(dst, frameError)
	dst = binary.AppendUvarint(dst, code)
	dst = binary.AppendUvarint(dst, uint64(len(msg)))
	return append(dst, msg...)
}

// linkError is a frameError received from the primary.
type linkError struct {
	code uint64
	msg  string
}

func (e *linkError) Error() string { return "regions: primary: " + e.msg }

func (e *linkError) Unwrap() error {
	if e.code == errCodeCompacted {
		return ErrCompacted
	}
	return nil
}

// readFrame reads one frame into b, or returns the primary's error.
func readFrame(r *bufio.Reader, b *batch) error {
	typ, err := r.ReadByte()
	if err != nil {
		return err
	}
	switch typ {
	case frameError:
		code, err := binary.ReadUvarint(r)
		if err != nil {
			return err
		}
		msg, err := readBytes(r)
		if err != nil {
			return err
		}
		return &linkError{code, string(msg)}
	case frameSnapshot:
		return readSnapshotChunk(r, b)
	case frameBatch, frameHeartbeat:
	default:
		return fmt.Errorf("regions: unknown link frame type %d", typ)
	}
	if b.applied, err = binary.ReadUvarint(r); err != nil {
		return err
	}
	if b.clock, err = binary.ReadVarint(r); err != nil {
		return err
	}
	b.ents = b.ents[:0]
	b.snap = nil
	if typ == frameHeartbeat {
		return nil
	}
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return err
	}
	if n > maxFrame {
		return errors.New("regions: link batch too long")
	}
	for range n {
		idx, err := binary.ReadUvarint(r)
		if err != nil {
			return err
		}
		data, err := readBytes(r)
		if err != nil {
			return err
		}
		if len(data) == 0 {
			data = nil
		}
		b.ents = append(b.ents, Entry{Index: idx, Data: data})
	}
	return nil
}

func readBytes(r *bufio.Reader) ([]byte, error) {
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return nil, err
	}
	if n > maxFrame {
		return nil, errors.New("regions: link frame too long")
	}
	out := make([]byte, n)
	_, err = io.ReadFull(r, out)
	return out, err
}

func readSnapshotChunk(r *bufio.Reader, b *batch) error {
	var err error
	if b.applied, err = binary.ReadUvarint(r); err != nil {
		return err
	}
	if b.clock, err = binary.ReadVarint(r); err != nil {
		return err
	}
	b.ents = b.ents[:0]
	c := &SnapshotChunk{}
	if c.Index, err = binary.ReadUvarint(r); err != nil {
		return err
	}
	if c.TimeMs, err = binary.ReadVarint(r); err != nil {
		return err
	}
	if c.Offset, err = binary.ReadUvarint(r); err != nil {
		return err
	}
	last, err := r.ReadByte()
	if err != nil {
		return err
	}
	if last > 1 {
		return errors.New("regions: bad snapshot frame")
	}
	c.Last = last == 1
	if c.Data, err = readBytes(r); err != nil {
		return err
	}
	b.snap = c
	return nil
}
