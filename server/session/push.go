package session

import (
	"sync"
	"time"
)

// Push mode. A connection that subscribes (SUBSCRIBE and friends) or runs
// MONITOR receives data that other goroutines produce. From then on all
// its output — its own replies and pushed messages — goes through one
// ordered output queue written by a writer goroutine, so a subscription's
// confirmation always precedes the messages it makes the client receive,
// and a publisher never waits for a slow subscriber. A queue that grows
// beyond pushLimit (Redis's client-output-buffer-limit pubsub hard limit,
// 32 MB) closes the connection, as Redis does.

const pushLimit = 32 << 20

type pushQueue struct {
	mu     sync.Mutex
	buf    []byte
	hold   int // the writer leaves buf alone while > 0
	closed bool
	signal chan struct{}
	done   chan struct{}
}

// enterPush switches c to push mode (idempotent) and starts its writer.
func (c *client) enterPush() {
	if c.push != nil {
		return
	}
	c.push = c.queue()
}

// queue returns c's output queue, creating it (and its writer) if needed.
// Another goroutine may create it (pushRemote): the connection's goroutine
// adopts it at its next flush; until then both write whole replies to the
// socket.
func (c *client) queue() *pushQueue {
	if q := c.pushA.Load(); q != nil {
		return q
	}
	q := &pushQueue{signal: make(chan struct{}, 1), done: make(chan struct{})}
	if !c.pushA.CompareAndSwap(nil, q) {
		return c.pushA.Load()
	}
	go c.pushWriter(q)
	return q
}

// pushRemote queues a push for c from any goroutine (client tracking
// invalidations), switching c to push mode if it is not.
func (c *client) pushRemote(b []byte) {
	c.queue()
	c.enqueue(b)
}

// enqueue appends encoded output to c's queue. It never blocks on the
// network; it may be called from any goroutine once c is in push mode.
func (c *client) enqueue(b []byte) {
	q := c.pushA.Load()
	if q == nil || len(b) == 0 {
		return
	}
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return
	}
	if len(q.buf)+len(b) > pushLimit {
		q.closed = true
		q.mu.Unlock()
		c.srv.log.Warn("client closed for overcoming of output buffer limits", "addr", c.addr)
		c.close()
		return
	}
	q.buf = append(q.buf, b...)
	q.mu.Unlock()
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

func (c *client) pushWriter(q *pushQueue) {
	defer close(q.done)
	var out []byte
	for range q.signal {
		q.mu.Lock()
		if q.hold > 0 && !q.closed {
			q.mu.Unlock()
			continue
		}
		out, q.buf = q.buf, out[:0]
		closed := q.closed
		q.mu.Unlock()
		if len(out) > 0 {
			n, err := c.nc.Write(out)
			c.srv.stats.netOut.Add(int64(n))
			if err != nil {
				q.mu.Lock()
				q.closed = true
				q.mu.Unlock()
				c.close()
				return
			}
		}
		if closed {
			return
		}
		if cap(out) > 1<<20 {
			out = nil
		}
	}
}

// closePush stops the writer after it has written what is queued.
func (c *client) closePush() {
	q := c.pushA.Load()
	if q == nil {
		return
	}
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	// A peer that stops reading must not hold the connection forever.
	c.nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
	select {
	case q.signal <- struct{}{}:
	default:
	}
	<-q.done
}

// pushProto is the protocol version for pushes from other goroutines.
func (c *client) pushProto() int { return int(c.protoA.Load()) }

// holdPush stops c's writer from draining the queue and returns the
// queue's length: output queued after this point may be put behind
// something inserted at the mark by releasePush.
func (c *client) holdPush() int {
	q := c.push
	q.mu.Lock()
	defer q.mu.Unlock()
	q.hold++
	return len(q.buf)
}

// releasePush inserts b at mark and lets the writer go on.
func (c *client) releasePush(mark int, b []byte) {
	q := c.push
	q.mu.Lock()
	if len(b) > 0 && !q.closed {
		q.buf = append(q.buf, b...)
		if mark < len(q.buf)-len(b) {
			tail := append([]byte(nil), q.buf[mark:len(q.buf)-len(b)]...)
			copy(q.buf[mark:], b)
			copy(q.buf[mark+len(b):], tail)
		}
	}
	q.hold--
	q.mu.Unlock()
	select {
	case q.signal <- struct{}{}:
	default:
	}
}
