package session

import (
	"errors"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/reply"
)

// Blocking commands (BLPOP, BZPOPMIN, BLMOVE, XREAD BLOCK, ...).
//
// A blocking command first runs like any other: a write goes through the
// log, a read runs against applied state. Its handler serves it if a key is
// ready; otherwise it changes nothing and answers command.Blocked. The
// connection then waits here, registered on its keys in arrival order.
// When an applied entry touches one of the keys, the first waiter on that
// key is woken and runs the command again — through the log, so the pop
// itself is a logged write whose reply is the result of its apply. A
// waiter that is served passes the turn to the next one on its keys; one
// that finds nothing waits again, keeping its place. The timeout is kept by
// this node; a command already in flight when it expires still delivers
// what it got, so an element is never popped without being returned.
//
// A connection that closes while blocked is noticed (a peek at the socket)
// and leaves the queue. In a cluster, a waiter whose shard is no longer
// led here gets the redirect (MOVED) instead of waiting on a replica.

// waiter is one blocked connection.
type waiter struct {
	keys []string
	wake chan struct{}
}

// blockRegistry holds blocked connections in FIFO order per key.
type blockRegistry struct {
	mu   sync.Mutex
	keys map[string][]*waiter
	n    atomic.Int64 // blocked connections (INFO blocked_clients)
}

func (b *blockRegistry) add(w *waiter) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.keys == nil {
		b.keys = map[string][]*waiter{}
	}
	for _, k := range w.keys {
		b.keys[k] = append(b.keys[k], w)
	}
	b.n.Add(1)
}

// remove takes w out of every queue and wakes the waiters that are now
// first on its keys: the key may still be ready (w was served and more is
// left, or w leaves without taking what it was woken for).
func (b *blockRegistry) remove(w *waiter) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, k := range w.keys {
		q := b.keys[k]
		for i, x := range q {
			if x == w {
				q = append(q[:i:i], q[i+1:]...)
				break
			}
		}
		if len(q) == 0 {
			delete(b.keys, k)
			continue
		}
		b.keys[k] = q
		signal(q[0])
	}
	b.n.Add(-1)
}

func signal(w *waiter) {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// touched wakes the first waiter on each key (all: on every key).
func (b *blockRegistry) touched(keys []string, all bool) {
	if b.n.Load() == 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if all {
		for _, q := range b.keys {
			signal(q[0])
		}
		return
	}
	for _, k := range keys {
		if q := b.keys[k]; len(q) > 0 {
			signal(q[0])
		}
	}
}

// runBlocking runs a blocking command for c, waiting as long as its
// handler answers Blocked.
func (s *Server) runBlocking(c *client, spec *command.Spec, target Route, args [][]byte) reply.Value {
	start := time.Now()
	v := s.runOnce(c, spec, target, args)
	if !command.IsBlocked(v) {
		return v
	}
	timeout := spec.Block.Timeout(args)
	if timeout < 0 {
		return spec.Block.TimeoutReply
	}
	if v.Elems != nil { // a read that resolved "$" ids
		args = make([][]byte, len(v.Elems))
		for i, e := range v.Elems {
			args[i] = e.Str
		}
	} else {
		args = copyArgs(args)
	}
	// Replies queued before this command go out now: the client must see
	// them while this one waits.
	if err := c.flush(); err != nil {
		return spec.Block.TimeoutReply
	}
	w := &waiter{wake: make(chan struct{}, 1)}
	for _, i := range spec.Keys(args) {
		w.keys = append(w.keys, string(args[i]))
	}
	s.blocked.add(w)
	defer s.blocked.remove(w)
	c.blockedNow.Store(true)
	defer c.blockedNow.Store(false)
	select { // a stale CLIENT UNBLOCK
	case <-c.unblock:
	default:
	}

	var deadline <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(time.Until(start.Add(time.Duration(timeout) * time.Millisecond)))
		defer t.Stop()
		deadline = t.C
	}
	closed, stopWatch := watchClosed(c)
	defer stopWatch()
	var reroute <-chan time.Time
	if s.backend.ClusterEnabled() {
		tk := time.NewTicker(500 * time.Millisecond)
		defer tk.Stop()
		reroute = tk.C
	}
	for {
		select {
		case <-w.wake:
			v := s.runOnce(c, spec, target, args)
			if !command.IsBlocked(v) {
				return v
			}
		case <-deadline:
			return spec.Block.TimeoutReply
		case <-closed:
			c.closing = true
			return spec.Block.TimeoutReply
		case <-s.stop:
			c.closing = true
			return reply.Error("UNBLOCKED the server is shutting down")
		case <-c.unblock:
			if c.unblockErr.Load() {
				return reply.Error("UNBLOCKED client unblocked via CLIENT UNBLOCK")
			}
			return spec.Block.TimeoutReply
		case <-reroute:
			if t, redirect, ok := c.be.Route(spec, args, c.readOnly, false); !ok {
				return redirect
			} else if t != target {
				target = t
				signal(w)
			}
		}
	}
}

// runOnce runs the command once: a write through the log, a read here.
func (s *Server) runOnce(c *client, spec *command.Spec, target Route, args [][]byte) reply.Value {
	if !spec.IsWrite() {
		return c.be.Read(target, time.Now(), spec, args)
	}
	vs, err := c.be.Propose(target, [][][]byte{args}).Wait()
	if err != nil {
		return c.be.ErrorReply(err)
	}
	if len(vs) != 1 {
		return reply.Error("ERR missing reply")
	}
	return vs[0]
}

func copyArgs(args [][]byte) [][]byte {
	out := make([][]byte, len(args))
	for i, a := range args {
		out[i] = append([]byte(nil), a...)
	}
	return out
}

// watchClosed reports on the returned channel when the peer closes a
// connection that is blocked (nothing reads from it meanwhile). It peeks
// at the socket without consuming input; when the client sends more
// commands instead, watching ends and they are read after the block.
func watchClosed(c *client) (<-chan struct{}, func()) {
	closed := make(chan struct{})
	sc, ok := c.nc.(syscall.Conn)
	if !ok || c.rd.Buffered() || c.inRaw {
		// inRaw: serveRaw runs blocking commands outside its callback
		// (mayBlock); should one get here inside it, the block goes
		// unwatched rather than waiting for the read lock forever.
		return closed, func() {}
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return closed, func() {}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		var buf [1]byte
		gone := false
		err := rc.Read(func(fd uintptr) bool {
			n, _, err := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
			if errors.Is(err, syscall.EAGAIN) {
				return false // wait until readable
			}
			gone = n == 0 || (err != nil && !errors.Is(err, syscall.EINTR))
			return true
		})
		if err == nil && gone {
			close(closed)
		}
	}()
	return closed, func() {
		c.nc.SetReadDeadline(time.Unix(1, 0))
		<-done
		c.nc.SetReadDeadline(time.Time{})
	}
}
