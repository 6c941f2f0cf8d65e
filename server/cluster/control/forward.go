package control

import (
	"bufio"
	"net"
	"sync"
	"time"

	"github.com/cairndb/cairn/server/resp"
	"github.com/cairndb/cairn/server/session"
)

// Forwarding of pub/sub messages between cluster nodes. Each peer gets one
// long-lived connection and a bounded queue drained by its own goroutine,
// so PUBLISH never waits for another node; when a peer is slow or down the
// queue overflows and messages to it are dropped (pub/sub is
// at-most-once, in Redis as here).

const forwardQueue = 4096

type forwarder struct {
	dial         resp.Dialer // nil: plain TCP
	addr, secret string
	ch           chan [][]byte
	quit         chan struct{}
}

func (p *forwarder) connect() (net.Conn, error) {
	if p.dial != nil {
		return p.dial(p.addr, time.Second)
	}
	return net.DialTimeout("tcp", p.addr, time.Second)
}

type forwarders struct {
	mu    sync.Mutex
	peers map[string]*forwarder
}

func (f *forwarders) send(dial resp.Dialer, addr, secret string, args [][]byte) {
	f.mu.Lock()
	if f.peers == nil {
		f.peers = map[string]*forwarder{}
	}
	p := f.peers[addr]
	if p == nil || p.secret != secret {
		if p != nil {
			close(p.quit) // the secret changed: reconnect
		}
		p = &forwarder{dial: dial, addr: addr, secret: secret, ch: make(chan [][]byte, forwardQueue), quit: make(chan struct{})}
		f.peers[addr] = p
		go p.run()
	}
	f.mu.Unlock()
	select {
	case p.ch <- args:
	default: // peer too slow or down: drop
	}
}

func (f *forwarders) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range f.peers {
		close(p.quit)
	}
	f.peers = nil
}

func (p *forwarder) run() {
	var conn net.Conn
	var r *bufio.Reader
	defer func() {
		if conn != nil {
			conn.Close()
		}
	}()
	for {
		var args [][]byte
		select {
		case <-p.quit:
			return
		case args = <-p.ch:
		}
		if conn == nil {
			c, err := p.connect()
			if err != nil {
				continue // dropped; the next message tries again
			}
			conn, r = c, bufio.NewReader(c)
			// Forwarded messages are internal commands: authenticate as
			// a node.
			conn.Write(resp.AppendCommand(nil, resp.NodeAuth(p.secret)...))
			r.ReadString('\n')
		}
		conn.SetDeadline(time.Now().Add(2 * time.Second))
		_, err := conn.Write(resp.AppendCommand(nil, args...))
		if err == nil {
			_, err = r.ReadString('\n') // an integer reply
		}
		if err != nil {
			conn.Close()
			conn = nil
		}
	}
}

// Forward implements session.Backend.Forward for cluster mode: NodeRoute
// sends to every other node, a shard's route to the other nodes that hold
// a replica of the shard.
func (c *Plane) Forward(to session.Route, args [][]byte) {
	topo := c.machine.Topology()
	if topo.Secret == "" {
		return // no node can authenticate yet
	}
	var nodes []uint64
	if to.Kind == session.RouteNode {
		for _, nd := range topo.Nodes {
			nodes = append(nodes, nd.ID)
		}
	} else if sh := topo.Shard(to.Shard); sh != nil {
		nodes = sh.Replicas
	}
	for _, id := range nodes {
		nd := topo.Node(id)
		if id == c.id || nd == nil || nd.ClientAddr == "" {
			continue
		}
		c.fwd.send(c.cfg.Dial, nd.ClientAddr, topo.Secret, args)
	}
}
