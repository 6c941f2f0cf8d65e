package control

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cairndb/cairn/server/reply"
	"github.com/cairndb/cairn/server/resp"
	"github.com/cairndb/cairn/server/shard"
)

// A remote shard's backup travels in chunks, so neither node holds more
// of it than one chunk (the serving node used to build the whole stream
// into one reply of up to 1 GiB, and the caller to read it whole):
//
//	CLUSTER BACKUPSHARD <shard> OPEN               -> [token, index, time ms]
//	CLUSTER BACKUPSHARD <shard> READ <token> <off> -> [more 0|1, chunk]
//	CLUSTER BACKUPSHARD <shard> CLOSE <token>      -> OK
//
// OPEN takes the replica's snapshot view and starts writing its stream
// into a pipe; each READ returns the next chunk (at most BackupChunkSize
// bytes) and names the offset it expects, so a lost or repeated chunk is
// an error rather than a hole. The view is released when the stream ends,
// on CLOSE, or when no READ came for backupStreamIdle (a caller that went
// away). The caller reads on one connection (resp.NodeSession).
//
// CLUSTER BACKUPSHARD <shard> alone is the older form (the whole stream
// in one reply), still served for a node running an older binary; a
// caller falls back to it when OPEN is refused as a wrong number of
// arguments (an older node).

// BackupChunkSize is the largest chunk a READ returns. Tests lower it.
var BackupChunkSize = 4 << 20

// backupStreamIdle is how long an open stream waits for its next READ.
const backupStreamIdle = 60 * time.Second

// backupChunkTimeout bounds one OPEN or READ call.
const backupChunkTimeout = 2 * time.Minute

// backupStreams are the streams this node serves.
type backupStreams struct {
	mu     sync.Mutex
	open   map[string]*backupStream
	chunks atomic.Int64 // READ replies served (tests, metrics)
}

type backupStream struct {
	sid  uint64
	pr   *io.PipeReader
	off  int64
	idle *time.Timer
	mu   sync.Mutex // one READ at a time
}

// BackupChunksServed is the number of backup chunks this node has served.
func (c *Plane) BackupChunksServed() int64 { return c.streams.chunks.Load() }

// backupShardCmd serves CLUSTER BACKUPSHARD (internal).
func (c *Plane) backupShardCmd(args [][]byte) reply.Value {
	sid, ok := parseShardRef(args[2])
	if len(args) == 3 {
		return c.backupShardWhole(sid, ok, args[2])
	}
	switch strings.ToLower(string(args[3])) {
	case "open":
		if len(args) != 4 {
			break
		}
		s := c.host.Shard(sid)
		if !ok || s == nil {
			return reply.Error("ERR this node holds no replica of shard " + string(args[2]))
		}
		return c.openBackupStream(s, sid)
	case "read":
		if len(args) != 6 {
			break
		}
		off, err := strconv.ParseInt(string(args[5]), 10, 64)
		if err != nil || off < 0 {
			return reply.Error("ERR bad offset")
		}
		return c.readBackupStream(string(args[4]), sid, off)
	case "close":
		if len(args) != 5 {
			break
		}
		c.closeBackupStream(string(args[4]), errors.New("closed by the caller"))
		return reply.OK
	}
	return reply.Error("ERR wrong number of arguments for 'cluster|backupshard' command")
}

// backupShardWhole is the older form: the whole stream in one reply.
func (c *Plane) backupShardWhole(sid uint64, ok bool, ref []byte) reply.Value {
	s := c.host.Shard(sid)
	if !ok || s == nil {
		return reply.Error("ERR this node holds no replica of shard " + string(ref))
	}
	var buf strings.Builder
	p, err := s.WriteBackup(&buf)
	if err != nil {
		return reply.Error("ERR " + err.Error())
	}
	return reply.Array(reply.BulkString(strconv.FormatUint(p.Index, 10)), reply.BulkString(strconv.FormatInt(p.Time, 10)), reply.BulkString(buf.String()))
}

func (c *Plane) openBackupStream(s *shard.Shard, sid uint64) reply.Value {
	v, err := s.OpenBackup()
	if err != nil {
		return reply.Error("ERR " + err.Error())
	}
	var rnd [16]byte
	rand.Read(rnd[:])
	token := hex.EncodeToString(rnd[:])
	pr, pw := io.Pipe()
	st := &backupStream{sid: sid, pr: pr}
	st.idle = time.AfterFunc(backupStreamIdle, func() {
		c.closeBackupStream(token, errors.New("no read for too long"))
	})
	c.streams.mu.Lock()
	if c.streams.open == nil {
		c.streams.open = map[string]*backupStream{}
	}
	c.streams.open[token] = st
	c.streams.mu.Unlock()
	p := v.Point()
	go func() {
		// Writes block until a READ takes them: the view lives as long as
		// the caller reads, and no more than a chunk is buffered.
		err := v.Write(pw)
		v.Release()
		pw.CloseWithError(err) // nil: the reader sees EOF
	}()
	c.log.Info("serving a shard backup stream", "shard", sid, "log_index", p.Index)
	return reply.Array(reply.BulkString(token), reply.BulkString(strconv.FormatUint(p.Index, 10)), reply.BulkString(strconv.FormatInt(p.Time, 10)))
}

func (c *Plane) readBackupStream(token string, sid uint64, off int64) reply.Value {
	c.streams.mu.Lock()
	st := c.streams.open[token]
	c.streams.mu.Unlock()
	if st == nil || st.sid != sid {
		return reply.Error("ERR no such backup stream (it ended or timed out)")
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if off != st.off {
		return reply.Error(fmt.Sprintf("ERR backup stream is at offset %d, not %d", st.off, off))
	}
	st.idle.Reset(backupStreamIdle)
	// A fresh buffer per chunk: the reply is written after this returns.
	buf := make([]byte, BackupChunkSize)
	n, err := io.ReadFull(st.pr, buf)
	more := "1"
	switch {
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		more = "0"
	case err != nil:
		c.closeBackupStream(token, err)
		return reply.Error("ERR backup stream: " + err.Error())
	}
	st.off += int64(n)
	c.streams.chunks.Add(1)
	if more == "0" {
		c.streams.mu.Lock()
		delete(c.streams.open, token)
		c.streams.mu.Unlock()
		st.idle.Stop()
	}
	return reply.Array(reply.BulkString(more), reply.Bulk(buf[:n]))
}

// closeBackupStream ends a stream: its writer stops and the view is
// released.
func (c *Plane) closeBackupStream(token string, why error) {
	c.streams.mu.Lock()
	st := c.streams.open[token]
	delete(c.streams.open, token)
	c.streams.mu.Unlock()
	if st == nil {
		return
	}
	st.idle.Stop()
	st.pr.CloseWithError(why)
	c.log.Info("shard backup stream ended early", "shard", st.sid, "offset", st.off, "why", why.Error())
}

// fetchShardBackup reads shard sid's backup stream from the node at addr
// into w, chunk by chunk. wrote tells whether anything reached w.
func (c *Plane) fetchShardBackup(addr, secret string, sid uint64, w io.Writer) (p shard.BackupPoint, wrote bool, err error) {
	ns, err := resp.DialNode(c.cfg.Dial, addr, backupChunkTimeout, secret)
	if err != nil {
		return p, false, err
	}
	defer ns.Close()
	ref := []byte(strconv.FormatUint(sid, 10))
	out, err := ns.Do(backupChunkTimeout, []byte("CLUSTER"), []byte("BACKUPSHARD"), ref, []byte("OPEN"))
	if err != nil {
		if strings.Contains(err.Error(), "wrong number of arguments") {
			return c.fetchShardBackupWhole(ns, ref, w)
		}
		return p, false, err
	}
	if len(out) != 3 {
		return p, false, errors.New("bad reply to OPEN")
	}
	token := out[0]
	idx, err1 := strconv.ParseUint(string(out[1]), 10, 64)
	t, err2 := strconv.ParseInt(string(out[2]), 10, 64)
	if err1 != nil || err2 != nil {
		return p, false, errors.New("bad reply to OPEN")
	}
	var off int64
	for {
		out, err := ns.Do(backupChunkTimeout, []byte("CLUSTER"), []byte("BACKUPSHARD"), ref, []byte("READ"), token, []byte(strconv.FormatInt(off, 10)))
		if err != nil {
			// Best effort: free the view now rather than at its timeout.
			ns.Do(5*time.Second, []byte("CLUSTER"), []byte("BACKUPSHARD"), ref, []byte("CLOSE"), token)
			return p, off > 0, fmt.Errorf("chunk at offset %d: %w", off, err)
		}
		if len(out) != 2 {
			return p, off > 0, fmt.Errorf("chunk at offset %d: bad reply", off)
		}
		if _, err := w.Write(out[1]); err != nil {
			ns.Do(5*time.Second, []byte("CLUSTER"), []byte("BACKUPSHARD"), ref, []byte("CLOSE"), token)
			return p, true, err
		}
		off += int64(len(out[1]))
		if string(out[0]) == "0" {
			return shard.BackupPoint{Index: idx, Time: t}, true, nil
		}
	}
}

// fetchShardBackupWhole reads the older form's single reply.
func (c *Plane) fetchShardBackupWhole(ns *resp.NodeSession, ref []byte, w io.Writer) (p shard.BackupPoint, wrote bool, err error) {
	out, err := ns.Do(backupChunkTimeout, []byte("CLUSTER"), []byte("BACKUPSHARD"), ref)
	if err != nil {
		return p, false, err
	}
	if len(out) != 3 {
		return p, false, errors.New("bad reply")
	}
	idx, err1 := strconv.ParseUint(string(out[0]), 10, 64)
	t, err2 := strconv.ParseInt(string(out[1]), 10, 64)
	if err1 != nil || err2 != nil {
		return p, false, errors.New("bad reply")
	}
	if _, err := w.Write(out[2]); err != nil {
		return p, true, err
	}
	return shard.BackupPoint{Index: idx, Time: t}, true, nil
}
