package session

import (
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/reply"
)

// Client-side caching (CLIENT TRACKING), as Redis 6+ does it.
//
// Default mode: the keys a tracking connection reads are remembered in the
// tracking table (key → client IDs); when such a key changes the client
// gets one invalidation message for it and the key leaves the table until
// it is read again. BCAST mode: nothing is remembered; every change to a
// key matching one of the client's prefixes is announced, one message per
// prefix per applied batch, keys sorted and deduplicated.
//
// Changes come from the node's change feed (Server.TrackChanged), fed by
// every local replica's apply: client writes on any node, expiry,
// eviction (keys removed through the keyspace reach the feed like any
// delete), FLUSHALL/FLUSHDB (a null key list; in a cluster one per local
// shard the flush reaches), snapshot loads. The session layer never looks
// at storage. In a cluster, tracking is per
// node for the keys that node serves, as in Redis Cluster: a client
// tracking on node A is invalidated by writes through any node, because
// the change is applied on A's replica of the key's shard; a node holding
// no replica of a shard cannot serve (and so cannot track) its keys.
//
// Delivery: RESP3 connections get ">2 invalidate [keys]" pushes on the
// same connection; with REDIRECT id the messages go to that connection, as
// a push if it speaks RESP3 or as a "message" on __redis__:invalidate if
// it is a RESP2 connection in pub/sub mode. Pushes go through the target's
// output queue (push.go), never blocking the apply path. A connection's
// own write replies precede the invalidations they cause (Redis 7.0
// order): its queue is held while its writes are in flight.
//
// NOLOOP: the change feed does not say which connection caused a change,
// so a NOLOOP client skips changes to keys its own writes in flight touch.
// A write by another connection to the same key applied while this
// client's write is in flight is skipped too (the client's own value,
// which it has, is then the newer or the older of two racing writes —
// Redis serializes them; Cairn cannot tell them apart).

// tracker is the node's tracking table.
type tracker struct {
	mu       sync.Mutex
	clients  map[int64]*client // connections with tracking on
	table    map[string]map[int64]struct{}
	items    int64
	prefixes map[string]map[*client]struct{} // BCAST prefix → clients
	// used is set once any connection enabled tracking: before that,
	// KeysChanged skips the lock.
	used    atomic.Bool
	maxKeys atomic.Int64 // tracking-table-max-keys, 0: no limit
	n       atomic.Int64 // len(clients)
	size    atomic.Int64 // len(table)
}

// trackState is a connection's tracking state. The connection's goroutine
// changes it under tracker.mu (and may read it without); others read it
// under tracker.mu. caching is only used by the connection's goroutine.
type trackState struct {
	on, bcast, optin, optout, noloop bool
	caching                          bool
	brokenRedir                      bool
	redirect                         int64
	prefixes                         map[string]struct{}
	// self counts, per key, the connection's writes in flight (NOLOOP).
	self map[string]int
	// alone: the write being added is proposed on its own (trackAlone).
	alone bool
}

const defaultTrackingMaxKeys = 1000000

func (t *tracker) init() {
	if t.clients == nil {
		t.clients = map[int64]*client{}
		t.table = map[string]map[int64]struct{}{}
		t.prefixes = map[string]map[*client]struct{}{}
	}
}

// invalidation is one message to send once the tracker lock is released.
type invalidation struct {
	c        *client
	redirect int64
	null     bool // all keys (flush)
	keys     []string
}

var (
	errTrackRedirNoClient = reply.Error("ERR The client ID you want redirect to does not exist")
	errTrackRedirTwice    = reply.Error("ERR A client can only redirect to a single other client")
	errTrackPrefixBcast   = reply.Error("ERR PREFIX option requires BCAST mode to be enabled")
	errTrackSwitchBcast   = reply.Error("ERR You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode.")
	errTrackOptBcast      = reply.Error("ERR OPTIN and OPTOUT are not compatible with BCAST")
	errTrackOptBoth       = reply.Error("ERR You can't specify both OPTIN mode and OPTOUT mode")
	errTrackSwitchOpt     = reply.Error("ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode.")
	errCachingMode        = reply.Error("ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled")
	errCachingYes         = reply.Error("ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.")
	errCachingNo          = reply.Error("ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.")
)

func (s *Server) clientByID(id int64) *client {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.clients[id]
}

// clientTracking is CLIENT TRACKING on|off [REDIRECT id] [PREFIX p ...]
// [BCAST] [OPTIN] [OPTOUT] [NOLOOP].
func clientTracking(s *Server, c *client, args [][]byte) reply.Value {
	var (
		redir                        int64
		bcast, optin, optout, noloop bool
		prefixes                     []string
	)
	for j := 3; j < len(args); j++ {
		more := len(args) - 1 - j
		switch {
		case command.EqualFold(args[j], "redirect") && more > 0:
			j++
			if redir != 0 {
				return errTrackRedirTwice
			}
			n, err := command.ParseInt(args[j])
			if err != nil {
				return reply.Error("ERR value is not an integer or out of range")
			}
			redir = n
			if s.clientByID(redir) == nil {
				return errTrackRedirNoClient
			}
		case command.EqualFold(args[j], "bcast"):
			bcast = true
		case command.EqualFold(args[j], "optin"):
			optin = true
		case command.EqualFold(args[j], "optout"):
			optout = true
		case command.EqualFold(args[j], "noloop"):
			noloop = true
		case command.EqualFold(args[j], "prefix") && more > 0:
			j++
			prefixes = append(prefixes, string(args[j]))
		default:
			return reply.Error("ERR syntax error")
		}
	}
	switch {
	case command.EqualFold(args[2], "on"):
		if !bcast && len(prefixes) > 0 {
			return errTrackPrefixBcast
		}
		if c.trk.on && c.trk.bcast != bcast {
			return errTrackSwitchBcast
		}
		if bcast && (optin || optout) {
			return errTrackOptBcast
		}
		if optin && optout {
			return errTrackOptBoth
		}
		if (optin && c.trk.optout) || (optout && c.trk.optin) {
			return errTrackSwitchOpt
		}
		if bcast {
			if e, ok := prefixCollision(c.trk.prefixes, prefixes); !ok {
				return e
			}
		}
		s.enableTracking(c, redir, bcast, optin, optout, noloop, prefixes)
	case command.EqualFold(args[2], "off"):
		s.disableTracking(c)
	default:
		return reply.Error("ERR syntax error")
	}
	return reply.OK
}

// prefixCollision checks that no two prefixes, given or already
// registered, can match the same key.
func prefixCollision(have map[string]struct{}, given []string) (reply.Value, bool) {
	overlap := func(a, b string) bool { return strings.HasPrefix(a, b) || strings.HasPrefix(b, a) }
	existing := make([]string, 0, len(have))
	for p := range have {
		existing = append(existing, p)
	}
	slices.Sort(existing)
	for i, p := range given {
		for _, e := range existing {
			if overlap(p, e) {
				return reply.Error("ERR Prefix '" + p + "' overlaps with an existing prefix '" + e + "'. Prefixes for a single client must not overlap."), false
			}
		}
		for _, q := range given[i+1:] {
			if overlap(p, q) {
				return reply.Error("ERR Prefix '" + p + "' overlaps with another provided prefix '" + q + "'. Prefixes for a single client must not overlap."), false
			}
		}
	}
	return reply.Value{}, true
}

func (s *Server) enableTracking(c *client, redir int64, bcast, optin, optout, noloop bool, prefixes []string) {
	// Invalidations are pushed from the apply path: the connection needs
	// its output queue (for a RESP2 connection without redirection nothing
	// is sent, but it may switch to RESP3 with HELLO).
	c.flush()
	c.enterPush()
	t := &s.trk
	t.used.Store(true)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.init()
	if !c.trk.on {
		t.clients[c.id] = c
		t.n.Store(int64(len(t.clients)))
	}
	c.trk.on = true
	c.trk.brokenRedir, c.trk.bcast, c.trk.optin, c.trk.optout, c.trk.noloop = false, false, false, false, false
	c.trk.redirect = redir
	if bcast {
		c.trk.bcast = true
		if len(prefixes) == 0 {
			prefixes = []string{""}
		}
		for _, p := range prefixes {
			set := t.prefixes[p]
			if set == nil {
				set = map[*client]struct{}{}
				t.prefixes[p] = set
			}
			set[c] = struct{}{}
			if c.trk.prefixes == nil {
				c.trk.prefixes = map[string]struct{}{}
			}
			c.trk.prefixes[p] = struct{}{}
		}
	}
	c.trk.optin, c.trk.optout, c.trk.noloop = optin, optout, noloop
	c.trackA.Store(true)
}

// disableTracking turns tracking off (CLIENT TRACKING off, RESET, the
// connection closing). Its IDs stay in the tracking table until the keys
// change, as in Redis.
func (s *Server) disableTracking(c *client) {
	if !c.trk.on {
		return
	}
	t := &s.trk
	t.mu.Lock()
	defer t.mu.Unlock()
	for p := range c.trk.prefixes {
		if set := t.prefixes[p]; set != nil {
			delete(set, c)
			if len(set) == 0 {
				delete(t.prefixes, p)
			}
		}
	}
	delete(t.clients, c.id)
	t.n.Store(int64(len(t.clients)))
	self := c.trk.self
	c.trk = trackState{self: self}
	c.trackA.Store(false)
}

func clientCaching(_ *Server, c *client, args [][]byte) reply.Value {
	if !c.trk.on {
		return errCachingMode
	}
	switch {
	case command.EqualFold(args[2], "yes"):
		if !c.trk.optin {
			return errCachingYes
		}
	case command.EqualFold(args[2], "no"):
		if !c.trk.optout {
			return errCachingNo
		}
	default:
		return reply.Error("ERR syntax error")
	}
	c.trk.caching = true
	return reply.OK
}

func clientGetRedir(s *Server, c *client, _ [][]byte) reply.Value {
	s.trk.mu.Lock()
	defer s.trk.mu.Unlock()
	if !c.trk.on {
		return reply.Int(-1)
	}
	return reply.Int(c.trk.redirect)
}

func clientTrackingInfo(s *Server, c *client, _ [][]byte) reply.Value {
	s.trk.mu.Lock()
	defer s.trk.mu.Unlock()
	tr := &c.trk
	flags := []reply.Value{reply.BulkString("off")}
	redir := int64(-1)
	if tr.on {
		flags[0] = reply.BulkString("on")
		redir = tr.redirect
	}
	if tr.bcast {
		flags = append(flags, reply.BulkString("bcast"))
	}
	if tr.optin {
		flags = append(flags, reply.BulkString("optin"))
		if tr.caching {
			flags = append(flags, reply.BulkString("caching-yes"))
		}
	}
	if tr.optout {
		flags = append(flags, reply.BulkString("optout"))
		if tr.caching {
			flags = append(flags, reply.BulkString("caching-no"))
		}
	}
	if tr.noloop {
		flags = append(flags, reply.BulkString("noloop"))
	}
	if tr.brokenRedir {
		flags = append(flags, reply.BulkString("broken_redirect"))
	}
	ps := make([]string, 0, len(tr.prefixes))
	for p := range tr.prefixes {
		ps = append(ps, p)
	}
	slices.Sort(ps)
	pv := make([]reply.Value, len(ps))
	for i, p := range ps {
		pv[i] = reply.BulkString(p)
	}
	return reply.Map(
		reply.BulkString("flags"), reply.Set(flags...),
		reply.BulkString("redirect"), reply.Int(redir),
		reply.BulkString("prefixes"), reply.Array(pv...),
	)
}

// trackFlags returns the CLIENT LIST flags for tracking (t, R, B) and the
// redir= value.
func (s *Server) trackFlags(c *client) (string, int64) {
	if !c.trackA.Load() {
		return "", -1
	}
	s.trk.mu.Lock()
	defer s.trk.mu.Unlock()
	if !c.trk.on {
		return "", -1
	}
	f := "t"
	if c.trk.brokenRedir {
		f += "R"
	}
	if c.trk.bcast {
		f += "B"
	}
	return f, c.trk.redirect
}

// trackRead remembers the keys a read-only command of a tracking client
// reads. It is called before the read runs, so a change applied meanwhile
// cannot be missed (at worst the client gets one invalidation too many).
func (s *Server) trackRead(c *client, spec *command.Spec, args [][]byte) {
	tr := &c.trk
	if !tr.on || tr.bcast || spec.Flags&command.ReadOnly == 0 || spec.Flags&command.PubSub != 0 {
		return
	}
	if (tr.optin && !tr.caching) || (tr.optout && tr.caching) {
		return
	}
	idx := spec.Keys(args)
	if len(idx) == 0 {
		return
	}
	t := &s.trk
	t.mu.Lock()
	for _, i := range idx {
		k := string(args[i])
		ids := t.table[k]
		if ids == nil {
			ids = map[int64]struct{}{}
			t.table[k] = ids
		}
		if _, ok := ids[c.id]; !ok {
			ids[c.id] = struct{}{}
			t.items++
		}
	}
	t.size.Store(int64(len(t.table)))
	t.mu.Unlock()
}

// trackLimit keeps the tracking table within tracking-table-max-keys. As
// in Redis it runs before each command while clients track, so the table
// may exceed the limit between a read and the next command.
func (s *Server) trackLimit() {
	t := &s.trk
	if max := t.maxKeys.Load(); max <= 0 || t.size.Load() <= max {
		return
	}
	t.mu.Lock()
	msgs := t.limitLocked(nil)
	t.mu.Unlock()
	s.sendInvalidations(msgs)
}

// limitLocked evicts keys from the tracking table while it is larger
// than tracking-table-max-keys, invalidating them as if they changed.
func (t *tracker) limitLocked(msgs []invalidation) []invalidation {
	max := t.maxKeys.Load()
	if max <= 0 || int64(len(t.table)) <= max {
		return msgs
	}
	for k := range t.table { // map order: a random walk
		if int64(len(t.table)) <= max {
			break
		}
		msgs = t.invalidateKeyLocked(msgs, k)
	}
	return msgs
}

func (t *tracker) invalidateKeyLocked(msgs []invalidation, k string) []invalidation {
	ids := t.table[k]
	for id := range ids {
		c := t.clients[id]
		if c == nil || c.trk.bcast || (c.trk.noloop && c.trk.self[k] > 0) {
			continue
		}
		msgs = append(msgs, invalidation{c: c, redirect: c.trk.redirect, keys: []string{k}})
	}
	t.items -= int64(len(ids))
	delete(t.table, k)
	t.size.Store(int64(len(t.table)))
	return msgs
}

// TrackChanged is told, after each batch of log entries applied on this
// node, which keys changed; all means every key may have changed
// (FLUSHALL/FLUSHDB even of an empty keyspace, a snapshot loaded): every
// tracking client is told to drop its whole cache. It sends the
// invalidations and must not block: the apply path calls it.
func (s *Server) TrackChanged(keys []string, all bool) {
	t := &s.trk
	if !t.used.Load() {
		return
	}
	var msgs []invalidation
	t.mu.Lock()
	t.init()
	if all {
		ids := make([]int64, 0, len(t.clients))
		for id := range t.clients {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		for _, id := range ids {
			c := t.clients[id]
			msgs = append(msgs, invalidation{c: c, redirect: c.trk.redirect, null: true})
		}
		t.table = map[string]map[int64]struct{}{}
		t.items = 0
		t.size.Store(0)
	}
	if len(t.prefixes) > 0 && len(keys) > 0 {
		ps := make([]string, 0, len(t.prefixes))
		for p := range t.prefixes {
			ps = append(ps, p)
		}
		slices.Sort(ps)
		for _, p := range ps {
			var matched []string
			for _, k := range keys {
				if strings.HasPrefix(k, p) {
					matched = append(matched, k)
				}
			}
			if len(matched) == 0 {
				continue
			}
			slices.Sort(matched)
			matched = slices.Compact(matched)
			for c := range t.prefixes[p] {
				send := matched
				if c.trk.noloop && len(c.trk.self) > 0 {
					send = nil
					for _, k := range matched {
						if c.trk.self[k] == 0 {
							send = append(send, k)
						}
					}
					if len(send) == 0 {
						continue
					}
				}
				msgs = append(msgs, invalidation{c: c, redirect: c.trk.redirect, keys: send})
			}
		}
	}
	if len(t.table) > 0 {
		for _, k := range keys {
			if _, ok := t.table[k]; ok {
				msgs = t.invalidateKeyLocked(msgs, k)
			}
		}
	}
	t.mu.Unlock()
	s.sendInvalidations(msgs)
}

var (
	pushInvalidate = []byte(">2\r\n$10\r\ninvalidate\r\n")
	msgInvalidate  = []byte("*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n")
)

// sendInvalidations delivers messages collected under the tracker lock.
func (s *Server) sendInvalidations(msgs []invalidation) {
	for _, m := range msgs {
		target, redirected := m.c, false
		if m.redirect != 0 {
			r := s.clientByID(m.redirect)
			if r == nil {
				s.trk.mu.Lock()
				if m.c.trk.on {
					m.c.trk.brokenRedir = true
				}
				s.trk.mu.Unlock()
				if m.c.pushProto() > 2 {
					b := append([]byte(">2\r\n$21\r\ntracking-redir-broken\r\n:"), strconv.FormatInt(m.redirect, 10)...)
					m.c.pushRemote(append(b, "\r\n"...))
				}
				continue
			}
			target, redirected = r, true
		}
		var b []byte
		switch {
		case target.pushProto() > 2:
			b = append(b, pushInvalidate...)
		case redirected && target.subscribed():
			b = append(b, msgInvalidate...)
		default:
			continue
		}
		if m.null {
			// The null is encoded for the tracking client's protocol, as
			// Redis does.
			if m.c.pushProto() > 2 {
				b = append(b, "_\r\n"...)
			} else {
				b = append(b, "$-1\r\n"...)
			}
		} else {
			b = append(b, '*')
			b = strconv.AppendInt(b, int64(len(m.keys)), 10)
			b = append(b, "\r\n"...)
			for _, k := range m.keys {
				b = append(b, '$')
				b = strconv.AppendInt(b, int64(len(k)), 10)
				b = append(b, "\r\n"...)
				b = append(b, k...)
				b = append(b, "\r\n"...)
			}
		}
		target.pushRemote(b)
	}
}

// trackWrites is called by the connection before it proposes writes: a
// NOLOOP client notes the keys in flight, and a tracking connection holds
// its output queue so that the replies go before the invalidations the
// writes cause. The returned function undoes both once the replies are in
// c.out.
func (s *Server) trackWrites(c *client, specs []*command.Spec, cmds [][][]byte) func() {
	var keys []string
	if c.trk.noloop {
		for i, sp := range specs {
			for _, j := range sp.Keys(cmds[i]) {
				keys = append(keys, string(cmds[i][j]))
			}
		}
		if len(keys) > 0 {
			s.trk.mu.Lock()
			if c.trk.self == nil {
				c.trk.self = map[string]int{}
			}
			for _, k := range keys {
				c.trk.self[k]++
			}
			s.trk.mu.Unlock()
		}
	}
	mark := -1
	if c.push != nil {
		mark = c.holdPush()
	}
	return func() {
		if len(keys) > 0 {
			s.trk.mu.Lock()
			for _, k := range keys {
				if c.trk.self[k]--; c.trk.self[k] <= 0 {
					delete(c.trk.self, k)
				}
			}
			s.trk.mu.Unlock()
		}
		if mark >= 0 {
			c.releasePush(mark, c.out)
			c.out = c.out[:0]
		}
	}
}

// trackAfterCommand ends a CLIENT CACHING yes|no: it applies to the next
// command only (commands queued in MULTI and the EXEC count as one).
func (s *Server) trackAfterCommand(c *client, args [][]byte) {
	if c.trk.caching && !c.tx.in && !command.EqualFold(args[0], "client") {
		c.trk.caching = false
	}
}

// trackingStats reports INFO's tracking figures.
func (s *Server) trackingStats() (clients, keys, items, prefixes int64) {
	t := &s.trk
	t.mu.Lock()
	defer t.mu.Unlock()
	return int64(len(t.clients)), int64(len(t.table)), t.items, int64(len(t.prefixes))
}

func trackingMaxKeysParam(s *Server, v string) {
	n, _ := strconv.ParseInt(v, 10, 64)
	s.trk.maxKeys.Store(n)
	if !s.trk.used.Load() {
		return
	}
	s.trk.mu.Lock()
	msgs := s.trk.limitLocked(nil)
	s.trk.mu.Unlock()
	s.sendInvalidations(msgs)
}

// execCmd is EXEC. For a tracking connection the transaction's reads are
// remembered and its reply goes before the invalidations its writes cause.
func execCmd(s *Server, c *client, args [][]byte) reply.Value {
	if !c.trk.on || !c.tx.in || c.tx.abort {
		return execTx(s, c, args)
	}
	for i, sp := range c.tx.specs {
		s.trackRead(c, sp, c.tx.cmds[i])
	}
	done := s.trackWrites(c, c.tx.specs, c.tx.cmds)
	c.reply(execTx(s, c, args))
	done()
	return noReply
}

// trackAlone tells whether a write of a tracking client must be proposed
// on its own rather than batched with the writes pipelined around it:
// it changes a key the client tracks (default mode, without NOLOOP) or
// flushes. Redis sends such an invalidation right after the command's
// reply, before the next pipelined command's; a batch would put all its
// replies first. It sets c.trk.alone for the dispatcher.
func (s *Server) trackAlone(c *client, spec *command.Spec, args [][]byte) bool {
	c.trk.alone = false
	switch {
	case spec.Name == "flushall" || spec.Name == "flushdb":
		c.trk.alone = true
	case c.trk.bcast || c.trk.noloop:
	default:
		t := &s.trk
		t.mu.Lock()
		for _, i := range spec.Keys(args) {
			if _, ok := t.table[string(args[i])][c.id]; ok {
				c.trk.alone = true
				break
			}
		}
		t.mu.Unlock()
	}
	return c.trk.alone
}
