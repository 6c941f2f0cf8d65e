package session

import (
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cairndb/cairn/server/acl"
	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/reply"
	"github.com/cairndb/cairn/server/resp"
)

// Reply modes set by CLIENT REPLY (SKIP is counted in client.skip).
const (
	replyOn = iota
	replyOff
)

// client is one connection's state.
type client struct {
	id  int64
	srv *Server
	nc  net.Conn
	rd  *resp.Reader
	out []byte
	// stat holds command statistics not yet added to the server's
	// shared counters (flushStats).
	stat   statPend
	addr   string
	laddr  string
	proto  int
	authed bool
	node   bool // authenticated as a cluster node (AUTH cairn-node <secret>)
	// denied: protected mode refuses this connection unless it
	// authenticates as a node first (protected.go).
	denied bool
	// user is the ACL user the connection runs as (nil once deleted),
	// looked up in aclSet; userName (guarded by mu) is its name.
	user   *acl.User
	aclSet *acl.Set
	// aclK and aclKeysFn (bound to it once) give the ACL check a
	// command's keys without allocating (acl.go).
	aclK      aclKeyScratch
	aclKeysFn acl.KeysFunc
	closing   bool
	replica   bool // sent REPLCONF listening-port: a Redis replica (SYNC refuses it)
	created   time.Time

	// be serves the connection's data and CLUSTER commands: the server's
	// backend, or the one of the listener it came in on (ServeBackend).
	be Backend

	replyMode int
	skip      int // replies still to drop (CLIENT REPLY SKIP: its own and the next)

	// batch holds pipelined writes not yet proposed; arena owns their
	// bytes, because the reader's buffer is reused.
	batch      [][][]byte
	batchSpecs []*command.Spec
	arena      []byte
	batchRoute Route
	// argv backs the batch's argument lists (batch[i] is a window of it),
	// reused from batch to batch like arena: no allocation per command.
	argv [][]byte

	// readOnly (READONLY) allows reads from replicas in a cluster; asking
	// (ASKING) applies to the next command only.
	readOnly, asking bool

	// tx is the MULTI/WATCH state; watchDirty is set by the apply path
	// when a watched key changes.
	tx         txState
	watchDirty atomic.Bool
	// unblock ends a blocking command early (CLIENT UNBLOCK); unblockErr
	// makes it answer UNBLOCKED instead of the timeout reply.
	unblock    chan struct{}
	unblockErr atomic.Bool

	// push is set once the connection subscribes or monitors: all output
	// then goes through its queue (push.go). pushA is the same pointer for
	// other goroutines.
	push  *pushQueue
	pushA atomic.Pointer[pushQueue]
	// subs counts channel+pattern subscriptions, ssubs shard channels
	// (RESP2 allows only subscription commands while either is non-zero).
	subs, ssubs int
	monitor     bool
	// trk is the CLIENT TRACKING state (tracking.go); trackA mirrors
	// trk.on for CLIENT LIST.
	trk    trackState
	trackA atomic.Bool

	blockedNow atomic.Bool // in a blocking command (CLIENT UNBLOCK)
	// Mirrors for CLIENT LIST, read from other goroutines.
	monitorA, inMultiA             atomic.Bool
	subCount, psubCount, ssubCount atomic.Int32
	multiLen                       atomic.Int32 // queued commands, -1 outside MULTI
	lastRoute                      Route        // route of the last write (WAIT)

	lastInteraction atomic.Int64
	lastCmd         atomic.Pointer[string]
	protoA          atomic.Int32 // proto, for CLIENT LIST from other goroutines
	rbs             atomic.Int64 // reader buffer size, for CLIENT LIST

	mu      sync.Mutex // guards the fields below (read by CLIENT LIST)
	name    string
	libName string
	libVer  string
	noEvict bool
	killed  bool
	// gone is set by close: serveRaw stops reading.
	gone atomic.Bool
	// inRaw: the command loop runs inside serveRaw's callback, which
	// holds the socket's read lock (watchClosed must not wait for it).
	inRaw bool
	// userName is the ACL user the connection runs as.
	userName string
}

// noReply is returned by handlers that wrote their reply themselves.
var noReply = reply.Value{Kind: 255}

func newClient(s *Server, nc net.Conn) *client {
	c := &client{
		id:      s.nextID.Add(1),
		srv:     s,
		be:      s.backend,
		nc:      nc,
		rd:      resp.NewReader(nc, s.params.protoMaxBulkLen()),
		addr:    nc.RemoteAddr().String(),
		laddr:   nc.LocalAddr().String(),
		proto:   2,
		created: time.Now(),
		out:     make([]byte, 0, 16*1024),
		unblock: make(chan struct{}, 1),
	}
	c.tx.slot = -1
	c.multiLen.Store(-1)
	c.authed = !s.authRequired()
	c.setUser(s.aclUsers(), acl.DefaultUser)
	c.protoA.Store(2)
	c.lastInteraction.Store(time.Now().UnixMilli())
	null := "NULL"
	c.lastCmd.Store(&null)
	c.aclKeysFn = c.aclK.keys
	return c
}

// reply queues v for the client, honouring CLIENT REPLY.
func (c *client) reply(v reply.Value) {
	if v.Kind == noReply.Kind {
		return
	}
	if c.skip > 0 {
		c.skip--
		return
	}
	if c.replyMode == replyOff {
		return
	}
	c.out = resp.AppendValue(c.out, v, c.proto)
}

// flush writes queued replies to the socket.
func (c *client) flush() error {
	c.flushStats()
	if len(c.out) == 0 {
		return nil
	}
	if c.push == nil {
		c.push = c.pushA.Load() // created by pushRemote
	}
	if c.push != nil {
		c.enqueue(c.out)
		c.out = c.out[:0]
		return nil
	}
	n, err := c.nc.Write(c.out)
	c.srv.stats.netOut.Add(int64(n))
	if cap(c.out) > 1<<20 {
		c.out = make([]byte, 0, 16*1024)
	} else {
		c.out = c.out[:0]
	}
	return err
}

// addWrite copies a write command into the pending batch.
func (c *client) addWrite(spec *command.Spec, args [][]byte) {
	size := 0
	for _, a := range args {
		size += len(a)
	}
	if cap(c.arena)-len(c.arena) < size {
		// Earlier commands keep pointing into the old arena.
		c.arena = make([]byte, 0, max(size, 64*1024))
	}
	// Earlier commands keep pointing into the old argv if append grows it.
	n := len(c.argv)
	c.argv = append(c.argv, args...)
	cmd := c.argv[n:len(c.argv):len(c.argv)]
	for i, a := range args {
		start := len(c.arena)
		c.arena = append(c.arena, a...)
		cmd[i] = c.arena[start:len(c.arena):len(c.arena)]
	}
	c.batch = append(c.batch, cmd)
	c.batchSpecs = append(c.batchSpecs, spec)
}

func (c *client) resetBatch() {
	clear(c.batch)
	c.batch = c.batch[:0]
	c.batchSpecs = c.batchSpecs[:0]
	if cap(c.arena) > 1<<20 {
		c.arena = nil // a huge argument: do not keep its copy for the connection's life
	} else {
		c.arena = c.arena[:0]
	}
	if cap(c.argv) > 4*maxBatch {
		c.argv = nil // a burst of many-argument commands: let it go
	} else {
		clear(c.argv)
		c.argv = c.argv[:0]
	}
}

// subscribed tells, from any goroutine, whether c has subscriptions.
func (c *client) subscribed() bool {
	return c.subCount.Load()+c.psubCount.Load()+c.ssubCount.Load() > 0
}

func (c *client) setProto(p int) {
	c.proto = p
	c.protoA.Store(int32(p))
}

func (c *client) setLastCmd(name *string) { c.lastCmd.Store(name) }

// info renders the client as one CLIENT LIST line (without newline).
func (c *client) info(now time.Time) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	// Redis's order: O P x b t R B ... e.
	flags := ""
	if c.monitorA.Load() {
		flags += "O"
	}
	if c.subscribed() {
		flags += "P"
	}
	if c.inMultiA.Load() {
		flags += "x"
	}
	if c.blockedNow.Load() {
		flags += "b"
	}
	tflags, redir := c.srv.trackFlags(c)
	flags += tflags
	if c.noEvict {
		flags += "e"
	}
	if flags == "" {
		flags = "N"
	}
	var b strings.Builder
	b.WriteString("id=" + itoa(c.id))
	b.WriteString(" addr=" + c.addr)
	b.WriteString(" laddr=" + c.laddr)
	b.WriteString(" fd=" + itoa(c.id+7))
	b.WriteString(" name=" + c.name)
	b.WriteString(" age=" + itoa(int64(now.Sub(c.created)/time.Second)))
	idle := now.UnixMilli() - c.lastInteraction.Load()
	b.WriteString(" idle=" + itoa(idle/1000))
	b.WriteString(" flags=" + flags)
	b.WriteString(" db=0 sub=" + itoa(int64(c.subCount.Load())) + " psub=" + itoa(int64(c.psubCount.Load())) + " ssub=" + itoa(int64(c.ssubCount.Load())))
	b.WriteString(" multi=" + itoa(int64(c.multiLen.Load())))
	qbuf, rbs := int64(0), c.rbs.Load()
	b.WriteString(" qbuf=" + itoa(qbuf))
	b.WriteString(" qbuf-free=" + itoa(rbs-qbuf))
	b.WriteString(" argv-mem=0 multi-mem=0")
	b.WriteString(" rbs=" + itoa(rbs) + " rbp=0")
	b.WriteString(" obl=0 oll=0 omem=0")
	b.WriteString(" tot-mem=" + itoa(rbs))
	b.WriteString(" events=r cmd=" + *c.lastCmd.Load())
	b.WriteString(" user=" + c.userName + " redir=" + itoa(redir))
	b.WriteString(" resp=" + itoa(int64(c.protoA.Load())))
	b.WriteString(" lib-name=" + c.libName + " lib-ver=" + c.libVer)
	return b.String()
}
