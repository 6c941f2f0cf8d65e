package session

import (
	"errors"
	"io"
	"net"
	"os"
	"syscall"

	"github.com/cairndb/cairn/server/command"
)

// Reading requests without the EAGAIN read.
//
// net.Conn.Read reads until the socket is empty: after a request has been
// answered, the next Read issues a read(2) that returns EAGAIN and only
// then parks the goroutine in the netpoller. At -P 1 that is one wasted
// syscall per request (two reads, one write, where Redis has one read and
// one write).
//
// serveRaw runs the connection's loop inside one syscall.RawConn.Read
// callback and reads with read(2) itself. A read that returns less than it
// asked for has emptied the socket (TCP's recvmsg copies every queued
// segment before returning short), so when the buffered input holds no
// complete command the callback returns false and the runtime parks the
// goroutine until the socket is readable, without the EAGAIN read. This is
// safe only inside one RawRead call: RawRead resets the descriptor's
// readiness when it starts, so it must be followed by a read, not a wait
// (a callback that returned false on its first call would sleep through
// input that arrived before it and never wake). Within the call the
// readiness set by input that arrives while commands run is kept, and the
// wait returns at once.
//
// Blocking commands run outside the callback: while a client is blocked,
// watchClosed reads the socket from another goroutine, which needs the
// descriptor's read lock the callback holds.

// errWait is rawSource's "no input now": wait for readability.
var errWait = errors.New("session: wait for input")

// rawReadsOff turns serveRaw off (CAIRN_CONN_READS=netpoll), to compare
// the two read paths with one binary.
var rawReadsOff = os.Getenv("CAIRN_CONN_READS") == "netpoll"

// rawConn returns the connection's raw descriptor access when serveRaw can
// serve it: plain TCP (TLS connections read through crypto/tls).
func rawConn(nc net.Conn) syscall.RawConn {
	tc, ok := nc.(*net.TCPConn)
	if !ok || rawReadsOff {
		return nil
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return nil
	}
	return rc
}

// rawSource is the resp.Reader's input inside serveRaw's callback.
type rawSource struct {
	c  *client
	fd int
	// drained: the last read returned short, so the socket was empty;
	// the next Read waits (errWait) instead of reading.
	drained bool
}

func (r *rawSource) Read(p []byte) (int, error) {
	if r.drained {
		return 0, errWait
	}
	if r.c.gone.Load() {
		return 0, net.ErrClosed
	}
	if len(p) == 0 {
		return 0, nil
	}
	for {
		n, err := syscall.Read(r.fd, p)
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			r.drained = true
			return 0, errWait
		case err != nil:
			return 0, os.NewSyscallError("read", err)
		case n == 0:
			return 0, io.EOF
		}
		r.drained = n < len(p)
		return n, nil
	}
}

// serveRaw is serve's command loop for a plain TCP connection (see above).
func (s *Server) serveRaw(c *client, rc syscall.RawConn) {
	src := &rawSource{c: c}
	c.rd.SetSource(src)
	for {
		var blocking [][]byte // a command to run outside the callback
		stop := false
		err := rc.Read(func(fd uintptr) bool {
			// Entered or woken: the socket may hold input.
			src.fd, src.drained = int(fd), false
			c.inRaw = true
			defer func() { c.inRaw = false }()
			for {
				s.prepareRead(c)
				args, err := c.rd.ReadCommand()
				if err == errWait {
					return false
				}
				if err == nil && s.mayBlock(args) {
					blocking = args
					return true
				}
				if !s.handle(c, args, err) {
					stop = true
					return true
				}
			}
		})
		if stop {
			return
		}
		if err != nil {
			s.handle(c, nil, err)
			return
		}
		if blocking != nil && !s.handle(c, blocking, nil) {
			return
		}
	}
}

// mayBlock tells whether args name a command that can block the client.
// Most commands are ruled out by their first letter, without a table
// lookup.
func (s *Server) mayBlock(args [][]byte) bool {
	if len(args[0]) == 0 || !s.blockInitial[args[0][0]|0x20] {
		return false
	}
	spec := s.table.Lookup(args[0]) // blocking commands are top-level
	return spec != nil && spec.Block != nil
}

// blockInitials marks the lower-case first letters of the table's
// blocking commands.
func blockInitials(t *command.Table) (m [256]bool) {
	for _, sp := range t.All() {
		if sp.Block != nil && sp.Name != "" {
			m[sp.Name[0]|0x20] = true
		}
	}
	return m
}
