// Package pubsub is Cairn's publish/subscribe registry: which connection
// listens to which channel, pattern or shard channel, and the delivery of
// published messages to them, with Redis 7.0's semantics. It also holds the
// keyspace-notification configuration (notify-keyspace-events) and the
// channel names keyspace events are published on.
//
// The package does no I/O. The connection layer (server/session) implements
// Subscriber for each client, runs SUBSCRIBE and friends through a Hub and
// writes the confirmation replies the Hub returns; PUBLISH calls
// Hub.Publish, which hands each message to the receivers' Deliver.
//
// # Replies and messages
//
// Confirmations and messages are reply.Value arrays, exactly the arrays a
// RESP2 client reads (for example ["subscribe", "news", 1] and
// ["message", "news", "hello"]). RESP3 clients get them as push types
// ('>'): the connection layer writes them with a push header.
//
// # Ordering
//
// Deliver is called by the publisher's goroutine while the Hub holds its
// read lock, so it must not block and must not call back into the Hub: a
// Subscriber appends the message to a per-connection queue and lets the
// connection's writer send it. To keep Redis's order (a channel's
// subscribe confirmation before its first message), a connection should
// hold its output lock while it calls the Hub and writes the returned
// confirmations, and its writer should drain the queue of delivered
// messages only under that same output lock. Deliver itself must take only
// the queue's own lock, never the output lock, or a publisher and a
// subscribing connection could deadlock.
//
// # Order of unordered results
//
// Where Redis's order is a hash table's (UNSUBSCRIBE without arguments,
// PUBSUB CHANNELS, the order matching patterns are tried in), the Hub uses
// byte order of the names, so results are deterministic.
package pubsub

import (
	"slices"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/cairndb/cairn/server/command/glob"
	"github.com/cairndb/cairn/server/reply"
)

// Subscriber is one client that can receive messages: a connection.
// Implementations must be comparable (a pointer type is typical): the Hub
// keys its tables by Subscriber.
type Subscriber interface {
	// Deliver hands the subscriber one message: ["message", channel,
	// payload], ["pmessage", pattern, channel, payload] or ["smessage",
	// channel, payload]. It runs on the publisher's goroutine under the
	// Hub's read lock: it must buffer the message and return at once,
	// must not call the Hub, and must not modify msg, which is shared by
	// every receiver of the same publication. msg's bytes are never
	// modified later, so the subscriber may keep it.
	Deliver(msg reply.Value)
}

// Hub is the subscription registry of one server. It is safe for
// concurrent use by many connections. The zero Hub is not usable; use
// NewHub.
type Hub struct {
	mu       sync.RWMutex
	clients  map[Subscriber]*client
	channels map[string]*subList // channel -> subscribers
	patterns map[string]*subList // pattern -> subscribers
	patList  []patEntry          // patterns, sorted by name
	shard    map[string]*subList // shard channel -> subscribers

	// active counts channels plus patterns with at least one
	// subscriber, shardActive shard channels: Publish and SPublish return
	// at once, without locking, when theirs is zero.
	active, shardActive atomic.Int64
}

// client is one subscriber's subscriptions.
type client struct {
	channels map[string]struct{}
	patterns map[string]struct{}
	shard    map[string]struct{}
}

// count is the number Redis's SUBSCRIBE, PSUBSCRIBE and their UNSUBSCRIBE
// replies carry: channels plus patterns.
func (c *client) count() int64 { return int64(len(c.channels) + len(c.patterns)) }

func (c *client) empty() bool {
	return len(c.channels) == 0 && len(c.patterns) == 0 && len(c.shard) == 0
}

// patEntry is one subscribed pattern, kept as bytes for matching.
type patEntry struct {
	pat []byte
	l   *subList
}

func cmpPat(e patEntry, name string) int {
	switch s := string(e.pat); {
	case s < name:
		return -1
	case s > name:
		return 1
	}
	return 0
}

// subList is the subscribers of one channel or pattern. Order among
// subscribers is not observable by clients (each sees only its own
// stream), so removal swaps the last one in; an index map is kept only
// for long lists.
type subList struct {
	subs []Subscriber
	idx  map[Subscriber]int // nil while subs is short
}

const indexFrom = 32 // build subList.idx beyond this many subscribers

func (l *subList) add(s Subscriber) {
	l.subs = append(l.subs, s)
	if l.idx != nil {
		l.idx[s] = len(l.subs) - 1
	} else if len(l.subs) > indexFrom {
		l.idx = make(map[Subscriber]int, len(l.subs))
		for i, x := range l.subs {
			l.idx[x] = i
		}
	}
}

func (l *subList) remove(s Subscriber) {
	i := -1
	if l.idx != nil {
		if j, ok := l.idx[s]; ok {
			i = j
			delete(l.idx, s)
		}
	} else {
		for j, x := range l.subs {
			if x == s {
				i = j
				break
			}
		}
	}
	if i < 0 {
		return
	}
	last := len(l.subs) - 1
	if i != last {
		l.subs[i] = l.subs[last]
		if l.idx != nil {
			l.idx[l.subs[i]] = i
		}
	}
	l.subs[last] = nil
	l.subs = l.subs[:last]
}

// NewHub returns an empty Hub.
func NewHub() *Hub {
	return &Hub{
		clients:  map[Subscriber]*client{},
		channels: map[string]*subList{},
		patterns: map[string]*subList{},
		shard:    map[string]*subList{},
	}
}

// Confirmation kinds, as Redis names them in its replies.
var (
	kSubscribe    = reply.BulkString("subscribe")
	kUnsubscribe  = reply.BulkString("unsubscribe")
	kPSubscribe   = reply.BulkString("psubscribe")
	kPUnsubscribe = reply.BulkString("punsubscribe")
	kSSubscribe   = reply.BulkString("ssubscribe")
	kSUnsubscribe = reply.BulkString("sunsubscribe")
	kMessage      = reply.BulkString("message")
	kPMessage     = reply.BulkString("pmessage")
	kSMessage     = reply.BulkString("smessage")
)

func confirm(kind reply.Value, name string, n int64) reply.Value {
	return reply.Array(kind, reply.BulkString(name), reply.Int(n))
}

// kind selects one of a client's three namespaces.
type kind int

const (
	kindChannel kind = iota
	kindPattern
	kindShard
)

func (h *Hub) table(k kind) map[string]*subList {
	switch k {
	case kindChannel:
		return h.channels
	case kindPattern:
		return h.patterns
	}
	return h.shard
}

func (c *client) set(k kind) map[string]struct{} {
	switch k {
	case kindChannel:
		return c.channels
	case kindPattern:
		return c.patterns
	}
	return c.shard
}

// countFor is the count a confirmation of namespace k carries: shard
// channels are counted apart from channels and patterns.
func (c *client) countFor(k kind) int64 {
	if c == nil {
		return 0
	}
	if k == kindShard {
		return int64(len(c.shard))
	}
	return c.count()
}

// Subscribe is SUBSCRIBE channel [channel ...]: it subscribes sub to each
// channel and returns one confirmation per argument, ["subscribe",
// channel, n], n being sub's number of channels and patterns after it.
// Subscribing twice to a channel is harmless and confirmed again.
func (h *Hub) Subscribe(sub Subscriber, channels ...string) []reply.Value {
	return h.subscribe(sub, kindChannel, kSubscribe, channels)
}

// PSubscribe is PSUBSCRIBE pattern [pattern ...]: as Subscribe for glob
// patterns (Redis's stringmatchlen syntax), confirmed with "psubscribe".
func (h *Hub) PSubscribe(sub Subscriber, patterns ...string) []reply.Value {
	return h.subscribe(sub, kindPattern, kPSubscribe, patterns)
}

// SSubscribe is SSUBSCRIBE shardchannel [shardchannel ...]: shard
// channels are a namespace of their own (PUBLISH does not reach them), and
// the count in its "ssubscribe" confirmations is sub's number of shard
// channels only.
func (h *Hub) SSubscribe(sub Subscriber, channels ...string) []reply.Value {
	return h.subscribe(sub, kindShard, kSSubscribe, channels)
}

func (h *Hub) subscribe(sub Subscriber, k kind, verb reply.Value, names []string) []reply.Value {
	if len(names) == 0 {
		return nil // the arity check is the caller's: nothing to register
	}
	out := make([]reply.Value, 0, len(names))
	h.mu.Lock()
	defer h.mu.Unlock()
	c := h.clients[sub]
	if c == nil {
		c = &client{channels: map[string]struct{}{}, patterns: map[string]struct{}{}, shard: map[string]struct{}{}}
		h.clients[sub] = c
	}
	set, tab := c.set(k), h.table(k)
	for _, name := range names {
		if _, ok := set[name]; !ok {
			set[name] = struct{}{}
			l := tab[name]
			if l == nil {
				l = &subList{}
				tab[name] = l
				h.created(k, name, l)
			}
			l.add(sub)
		}
		out = append(out, confirm(verb, name, c.countFor(k)))
	}
	return out
}

// created and dropped keep the counters and the sorted pattern list in
// step with the tables. The write lock is held.
func (h *Hub) created(k kind, name string, l *subList) {
	switch k {
	case kindShard:
		h.shardActive.Add(1)
	case kindPattern:
		i, _ := slices.BinarySearchFunc(h.patList, name, cmpPat)
		h.patList = slices.Insert(h.patList, i, patEntry{pat: []byte(name), l: l})
		h.active.Add(1)
	default:
		h.active.Add(1)
	}
}

func (h *Hub) dropped(k kind, name string) {
	switch k {
	case kindShard:
		h.shardActive.Add(-1)
	case kindPattern:
		if i, ok := slices.BinarySearchFunc(h.patList, name, cmpPat); ok {
			h.patList = slices.Delete(h.patList, i, i+1)
		}
		h.active.Add(-1)
	default:
		h.active.Add(-1)
	}
}

// Unsubscribe is UNSUBSCRIBE [channel ...]. With channels, it returns one
// confirmation per argument, ["unsubscribe", channel, n], subscribed or
// not. Without, it unsubscribes sub from all its channels (in byte order)
// and, if it had none, returns the single ["unsubscribe", nil, n], n
// counting its patterns, as Redis does.
func (h *Hub) Unsubscribe(sub Subscriber, channels ...string) []reply.Value {
	return h.unsubscribe(sub, kindChannel, kUnsubscribe, channels)
}

// PUnsubscribe is PUNSUBSCRIBE [pattern ...], as Unsubscribe for patterns.
func (h *Hub) PUnsubscribe(sub Subscriber, patterns ...string) []reply.Value {
	return h.unsubscribe(sub, kindPattern, kPUnsubscribe, patterns)
}

// SUnsubscribe is SUNSUBSCRIBE [shardchannel ...], as Unsubscribe for
// shard channels (counts are of shard channels only).
func (h *Hub) SUnsubscribe(sub Subscriber, channels ...string) []reply.Value {
	return h.unsubscribe(sub, kindShard, kSUnsubscribe, channels)
}

func (h *Hub) unsubscribe(sub Subscriber, k kind, verb reply.Value, names []string) []reply.Value {
	h.mu.Lock()
	defer h.mu.Unlock()
	c := h.clients[sub]
	if len(names) == 0 {
		if c != nil {
			names = sortedKeys(c.set(k))
		}
		if len(names) == 0 {
			return []reply.Value{reply.Array(verb, reply.Nil, reply.Int(c.countFor(k)))}
		}
	}
	out := make([]reply.Value, 0, len(names))
	for _, name := range names {
		if c != nil {
			h.drop(sub, c, k, name)
		}
		out = append(out, confirm(verb, name, c.countFor(k)))
	}
	if c != nil && c.empty() {
		delete(h.clients, sub)
	}
	return out
}

// drop removes sub's subscription to name in namespace k, if any. The
// write lock is held.
func (h *Hub) drop(sub Subscriber, c *client, k kind, name string) {
	set := c.set(k)
	if _, ok := set[name]; !ok {
		return
	}
	delete(set, name)
	tab := h.table(k)
	if l := tab[name]; l != nil {
		l.remove(sub)
		if len(l.subs) == 0 {
			delete(tab, name)
			h.dropped(k, name)
		}
	}
}

// RemoveAll drops every subscription of sub, without confirmations: the
// connection closed (or RESET).
func (h *Hub) RemoveAll(sub Subscriber) {
	h.mu.Lock()
	defer h.mu.Unlock()
	c := h.clients[sub]
	if c == nil {
		return
	}
	for _, k := range []kind{kindChannel, kindPattern, kindShard} {
		for name := range c.set(k) {
			h.drop(sub, c, k, name)
		}
	}
	delete(h.clients, sub)
}

// Count returns sub's number of channels plus patterns, and of shard
// channels. A RESP2 connection with a non-zero total is in subscribed
// mode (only (P|S)SUBSCRIBE, (P|S)UNSUBSCRIBE, PING, QUIT and RESET are
// allowed).
func (h *Hub) Count(sub Subscriber) (channelsAndPatterns, shardChannels int) {
	ch, pat, shard := h.Counts(sub)
	return ch + pat, shard
}

// Counts returns sub's numbers of channels, patterns and shard channels
// (CLIENT LIST's sub, psub and ssub).
func (h *Hub) Counts(sub Subscriber) (channels, patterns, shardChannels int) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	c := h.clients[sub]
	if c == nil {
		return 0, 0, 0
	}
	return len(c.channels), len(c.patterns), len(c.shard)
}

// Subscriptions returns sub's channels, patterns and shard channels
// (the ACL layer checks them when a user's permissions change).
func (h *Hub) Subscriptions(sub Subscriber) (channels, patterns, shardChannels []string) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	c := h.clients[sub]
	if c == nil {
		return nil, nil, nil
	}
	for n := range c.channels {
		channels = append(channels, n)
	}
	for n := range c.patterns {
		patterns = append(patterns, n)
	}
	for n := range c.shard {
		shardChannels = append(shardChannels, n)
	}
	return channels, patterns, shardChannels
}

// Publish is PUBLISH channel message: it delivers ["message", channel,
// message] to each subscriber of channel and ["pmessage", pattern,
// channel, message] to each subscriber of each pattern matching channel,
// and returns the number of messages delivered, as Redis counts receivers
// (a client subscribed to the channel and to two matching patterns counts
// three). channel and message are copied once; the caller may reuse them.
func (h *Hub) Publish(channel, message []byte) int {
	if h.active.Load() == 0 {
		return 0
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	var ch, msg reply.Value
	ready := false
	prepare := func() {
		if !ready {
			// One copy of the bytes, shared by every receiver.
			buf := make([]byte, len(channel)+len(message))
			copy(buf, channel)
			copy(buf[len(channel):], message)
			ch = reply.Bulk(buf[:len(channel):len(channel)])
			msg = reply.Bulk(buf[len(channel):])
			ready = true
		}
	}
	n := 0
	if l := h.channels[string(channel)]; l != nil && len(l.subs) > 0 {
		prepare()
		m := reply.Array(kMessage, ch, msg)
		for _, s := range l.subs {
			s.Deliver(m)
		}
		n += len(l.subs)
	}
	for _, p := range h.patList {
		if !glob.Match(p.pat, channel, false) {
			continue
		}
		prepare()
		// p.pat is never modified: messages may share it.
		m := reply.Array(kPMessage, reply.Bulk(p.pat), ch, msg)
		l := p.l
		for _, s := range l.subs {
			s.Deliver(m)
		}
		n += len(l.subs)
	}
	return n
}

// SPublish is SPUBLISH shardchannel message: it delivers ["smessage",
// shardchannel, message] to the shard channel's subscribers (patterns do
// not apply) and returns their number.
func (h *Hub) SPublish(channel, message []byte) int {
	if h.shardActive.Load() == 0 {
		return 0
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	l := h.shard[string(channel)]
	if l == nil || len(l.subs) == 0 {
		return 0
	}
	buf := make([]byte, len(channel)+len(message))
	copy(buf, channel)
	copy(buf[len(channel):], message)
	m := reply.Array(kSMessage, reply.Bulk(buf[:len(channel):len(channel)]), reply.Bulk(buf[len(channel):]))
	for _, s := range l.subs {
		s.Deliver(m)
	}
	return len(l.subs)
}

// Channels is PUBSUB CHANNELS [pattern]: the channels with at least one
// subscriber, matching pattern unless it is nil, in byte order.
func (h *Hub) Channels(pattern []byte) []string {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return matching(h.channels, pattern)
}

// ShardChannels is PUBSUB SHARDCHANNELS [pattern], as Channels for shard
// channels.
func (h *Hub) ShardChannels(pattern []byte) []string {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return matching(h.shard, pattern)
}

func matching(tab map[string]*subList, pattern []byte) []string {
	out := []string{}
	for name := range tab {
		if pattern == nil || glob.Match(pattern, []byte(name), false) {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// NumSub is PUBSUB NUMSUB [channel ...]: the number of subscribers of
// each channel (patterns not counted), in argument order.
func (h *Hub) NumSub(channels ...string) []int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return counts(h.channels, channels)
}

// ShardNumSub is PUBSUB SHARDNUMSUB [shardchannel ...], as NumSub for
// shard channels.
func (h *Hub) ShardNumSub(channels ...string) []int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return counts(h.shard, channels)
}

func counts(tab map[string]*subList, names []string) []int {
	out := make([]int, len(names))
	for i, name := range names {
		if l := tab[name]; l != nil {
			out[i] = len(l.subs)
		}
	}
	return out
}

// NumPat is PUBSUB NUMPAT: the number of distinct patterns subscribed to
// by any client (Redis 7 counts patterns, not subscriptions).
func (h *Hub) NumPat() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.patterns)
}

func sortedKeys(m map[string]struct{}) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
