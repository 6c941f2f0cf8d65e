package session

import (
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/reply"
	"github.com/cairndb/cairn/server/slot"
)

// Transactions. MULTI starts queueing; EXEC sends the queued data commands
// to the log as ONE entry, so they are applied atomically and durably on
// every replica, and their replies come back as one array. Connection
// commands queued in a transaction (PING, ECHO ...) are answered by this
// node when EXEC returns, at their place in the array.
//
// WATCH is checked twice. Each watched key's value digest is recorded at
// WATCH time and carried in the entry: the state machine runs nothing and
// answers a null array if any digest differs at apply time — deterministic
// on every replica, whatever was in flight. And the node marks the
// connection dirty when an applied entry touches a watched key (this
// catches writes that leave the same value, as Redis does).

var (
	errExecAbort    = reply.Error("EXECABORT Transaction discarded because of previous errors.")
	errNestedMulti  = reply.Error("ERR MULTI calls can not be nested")
	errExecNoMulti  = reply.Error("ERR EXEC without MULTI")
	errDiscardNo    = reply.Error("ERR DISCARD without MULTI")
	errWatchInMulti = reply.Error("ERR WATCH inside MULTI is not allowed")
	errNotInMulti   = reply.Error("ERR Command not allowed inside a transaction")
	errCrossSlotTx  = reply.Error("CROSSSLOT Keys in request don't hash to the same slot")
	errOOM          = reply.Error("OOM command not allowed when used memory > 'maxmemory'.")
)

// txState is a connection's MULTI/WATCH state.
type txState struct {
	in      bool
	abort   bool // a queued command was refused: EXEC answers EXECABORT
	cmds    [][][]byte
	specs   []*command.Spec
	target  Route
	hasData bool // a data command is queued (target is set)
	keyed   bool // a command with keys is queued (target is its shard)
	slot    int  // -1 until a keyed command fixes it (cluster mode)

	watched []watchedKey
}

type watchedKey struct {
	key    string
	target Route
	digest uint64
}

// watchRegistry maps watched keys to the connections watching them.
type watchRegistry struct {
	mu   sync.Mutex
	keys map[string]map[*client]struct{}
	n    atomic.Int64 // (connection, key) pairs: the apply path skips the lock at 0
}

func (w *watchRegistry) add(c *client, key string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.keys == nil {
		w.keys = map[string]map[*client]struct{}{}
	}
	m := w.keys[key]
	if m == nil {
		m = map[*client]struct{}{}
		w.keys[key] = m
	}
	if _, ok := m[c]; !ok {
		m[c] = struct{}{}
		w.n.Add(1)
	}
}

func (w *watchRegistry) remove(c *client, keys []watchedKey) {
	if len(keys) == 0 {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, k := range keys {
		if m := w.keys[k.key]; m != nil {
			if _, ok := m[c]; ok {
				delete(m, c)
				w.n.Add(-1)
			}
			if len(m) == 0 {
				delete(w.keys, k.key)
			}
		}
	}
}

// touched marks the watchers of keys dirty (all: every watcher).
func (w *watchRegistry) touched(keys []string, all bool) {
	if w.n.Load() == 0 {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if all {
		for _, m := range w.keys {
			for c := range m {
				c.watchDirty.Store(true)
			}
		}
		return
	}
	for _, k := range keys {
		for c := range w.keys[k] {
			c.watchDirty.Store(true)
		}
	}
}

// unwatch forgets the connection's watched keys.
func (s *Server) unwatch(c *client) {
	s.watches.remove(c, c.tx.watched)
	c.tx.watched = nil
	c.watchDirty.Store(false)
}

// discardTx ends a transaction without running it.
func (s *Server) discardTx(c *client) {
	c.tx.in, c.tx.abort, c.tx.hasData, c.tx.keyed = false, false, false, false
	clear(c.tx.cmds)
	c.tx.cmds, c.tx.specs = c.tx.cmds[:0], c.tx.specs[:0]
	c.tx.slot = -1
	c.inMultiA.Store(false)
	c.multiLen.Store(-1)
	s.unwatch(c)
}

func multiCmd(_ *Server, c *client, _ [][]byte) reply.Value {
	if c.tx.in {
		return errNestedMulti
	}
	c.tx.in, c.tx.abort, c.tx.hasData, c.tx.keyed, c.tx.slot = true, false, false, false, -1
	c.inMultiA.Store(true)
	c.multiLen.Store(0)
	return reply.OK
}

func discardCmd(s *Server, c *client, _ [][]byte) reply.Value {
	if !c.tx.in {
		return errDiscardNo
	}
	s.discardTx(c)
	return reply.OK
}

func unwatchCmd(s *Server, c *client, _ [][]byte) reply.Value {
	s.unwatch(c)
	return reply.OK
}

func watchCmd(s *Server, c *client, args [][]byte) reply.Value {
	if c.tx.in {
		return errWatchInMulti
	}
	spec := s.table.Lookup(args[0])
	now := time.Now()
	for _, key := range args[1:] {
		one := [][]byte{args[0], key}
		target, redirect, ok := c.be.Route(spec, one, c.readOnly, false)
		if !ok {
			return redirect
		}
		d, err := c.be.KeyDigests(target, now, [][]byte{key})
		if err != nil {
			return c.be.ErrorReply(err)
		}
		k := string(key)
		if slices.ContainsFunc(c.tx.watched, func(w watchedKey) bool { return w.key == k }) {
			continue
		}
		c.tx.watched = append(c.tx.watched, watchedKey{key: k, target: target, digest: d[0]})
		s.watches.add(c, k)
	}
	return reply.OK
}

// queue adds a command to the open transaction, or refuses it (and dooms
// the transaction) as Redis does.
func (s *Server) queue(c *client, spec *command.Spec, args [][]byte) reply.Value {
	if spec.Flags&command.NoMulti != 0 {
		c.tx.abort = true
		return errNotInMulti
	}
	var target Route
	if spec.Flags&command.Conn == 0 {
		if s.backend.ClusterEnabled() {
			for _, i := range spec.Keys(args) {
				sl := int(slot.Of(args[i]))
				if c.tx.slot >= 0 && sl != c.tx.slot {
					c.tx.abort = true
					return errCrossSlotTx
				}
				c.tx.slot = sl
			}
		}
		var redirect reply.Value
		var ok bool
		target, redirect, ok = c.be.Route(spec, args, false, c.asking)
		c.asking = false
		if !ok {
			c.tx.abort = true
			return redirect
		}
		// Redis 7.0 refuses every command queued while memory is out,
		// so the transaction cannot grow unbounded (EXEC then aborts).
		if s.overMemory(target) {
			c.tx.abort = true
			return errOOM
		}
		keyed := len(spec.Keys(args)) > 0
		switch {
		case keyed && c.tx.keyed && target != c.tx.target:
			c.tx.abort = true
			return errCrossSlotTx
		case keyed && !c.tx.keyed:
			c.tx.target, c.tx.keyed, c.tx.hasData = target, true, true
		case !c.tx.hasData:
			c.tx.target, c.tx.hasData = target, true
		}
	}
	cmd := make([][]byte, len(args))
	for i, a := range args {
		cmd[i] = append([]byte(nil), a...)
	}
	c.tx.cmds = append(c.tx.cmds, cmd)
	c.tx.specs = append(c.tx.specs, spec)
	c.multiLen.Add(1)
	return reply.Queued
}

func execTx(s *Server, c *client, _ [][]byte) reply.Value {
	if !c.tx.in {
		return errExecNoMulti
	}
	defer s.discardTx(c)
	if c.tx.abort {
		return errExecAbort
	}
	if c.watchDirty.Load() {
		return reply.NilArray
	}
	// As Redis, the queued commands are checked again: the user's
	// permissions may have changed since they were queued.
	denied := s.recheckACL(c)
	var data [][][]byte
	for i, sp := range c.tx.specs {
		if sp.Flags&command.Conn == 0 && denied[i] == "" {
			data = append(data, c.tx.cmds[i])
		}
	}
	var results []reply.Value
	if len(data) > 0 {
		var watch [][]byte
		for _, w := range c.tx.watched {
			if w.target == c.tx.target {
				watch = append(watch, []byte(w.key), strconv.AppendUint(nil, w.digest, 10))
			}
		}
		c.lastRoute = c.tx.target
		vs, err := c.be.ProposeMulti(c.tx.target, watch, data).Wait()
		if err != nil {
			return c.be.ErrorReply(err)
		}
		if len(vs) != 1 {
			return reply.Error("ERR transaction reply missing")
		}
		if vs[0].Kind != reply.KindArray {
			return vs[0] // null array (WATCH), MOVED, CLUSTERDOWN ...
		}
		results = vs[0].Elems
		for i, sp := range c.tx.specs {
			if sp.Flags&command.Conn == 0 && denied[i] == "" {
				s.cmdStats[sp].calls.Add(1)
			}
		}
	}
	out := make([]reply.Value, 0, len(c.tx.specs))
	j := 0
	for i, sp := range c.tx.specs {
		if denied[i] != "" {
			out = append(out, reply.Error("NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. This command is no longer allowed for the following reason: "+denied[i]))
			continue
		}
		if sp.Flags&command.Conn != 0 {
			h := s.conn[sp.Name]
			if h == nil {
				out = append(out, reply.Error("ERR command '"+sp.Name+"' is not available"))
			} else {
				out = append(out, h(s, c, c.tx.cmds[i]))
			}
			continue
		}
		if j < len(results) {
			out = append(out, results[j])
		}
		j++
	}
	if s.cfg.Audit != nil && len(out) == len(c.tx.specs) {
		for i, sp := range c.tx.specs {
			{
				s.audit(c, sp, c.tx.cmds[i], out[i])
			}
		}
	}
	return reply.Value{Kind: reply.KindArray, Elems: out}
}

// watchingClients counts connections with watched keys.
func (s *Server) watchingClients() int {
	s.watches.mu.Lock()
	defer s.watches.mu.Unlock()
	seen := map[*client]struct{}{}
	for _, m := range s.watches.keys {
		for c := range m {
			seen[c] = struct{}{}
		}
	}
	return len(seen)
}
