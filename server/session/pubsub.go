package session

import (
	"strings"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/pubsub"
	"github.com/cairndb/cairn/server/reply"
	"github.com/cairndb/cairn/server/resp"
)

// Pub/Sub. Subscriptions live in this node's pubsub.Hub. PUBLISH delivers
// to this node's subscribers and, in a cluster, is forwarded to every other
// node (Redis Cluster broadcasts PUBLISH too). Sharded channels are routed
// by slot: SSUBSCRIBE is accepted by any node holding a replica of the
// slot's shard, SPUBLISH by its leader, which forwards it to the nodes of
// the shard's other replicas. Keyspace notifications are published on
// every node from the changes its replicas apply (KeysChanged), so a
// subscriber on any replica of a shard sees them.
//
// A subscribing connection switches to push mode (push.go): messages and
// its own replies share one ordered queue. To put a subscription's
// confirmation before the first message it lets in, the queue's writer is
// held while the Hub is changed and the confirmation is inserted at the
// point the queue had reached.

// Deliver implements pubsub.Subscriber.
func (c *client) Deliver(msg reply.Value) {
	c.enqueue(encodePush(nil, msg, c.pushProto()))
}

// encodePush encodes a pub/sub message or confirmation: an array for RESP2,
// a push ('>') for RESP3.
func encodePush(b []byte, v reply.Value, proto int) []byte {
	start := len(b)
	b = resp.AppendValue(b, v, proto)
	if proto == 3 && len(b) > start && b[start] == '*' {
		b[start] = '>'
	}
	return b
}

// subscribeWith runs a Hub change for c and queues its confirmations so
// that they precede any message the change lets in.
func (s *Server) subscribeWith(c *client, fn func() []reply.Value) reply.Value {
	c.flush() // earlier replies first
	c.enterPush()
	mark := c.holdPush()
	confs := fn()
	var b []byte
	for _, v := range confs {
		b = encodePush(b, v, c.proto)
	}
	// The counts CLIENT LIST shows change before the confirmations go
	// out: a client that read them and then asks another connection's
	// CLIENT LIST sees them (a CI run saw ssub=0 after SSUBSCRIBE's
	// confirmation).
	ch, pat, shard := s.hub.Counts(c)
	c.subs, c.ssubs = ch+pat, shard
	c.subCount.Store(int32(ch))
	c.psubCount.Store(int32(pat))
	c.ssubCount.Store(int32(shard))
	c.releasePush(mark, b)
	return noReply
}

func names(args [][]byte) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = string(a)
	}
	return out
}

func subscribeCmd(s *Server, c *client, args [][]byte) reply.Value {
	return s.subscribeWith(c, func() []reply.Value { return s.hub.Subscribe(c, names(args[1:])...) })
}

func psubscribeCmd(s *Server, c *client, args [][]byte) reply.Value {
	return s.subscribeWith(c, func() []reply.Value { return s.hub.PSubscribe(c, names(args[1:])...) })
}

func unsubscribeCmd(s *Server, c *client, args [][]byte) reply.Value {
	return s.subscribeWith(c, func() []reply.Value { return s.hub.Unsubscribe(c, names(args[1:])...) })
}

func punsubscribeCmd(s *Server, c *client, args [][]byte) reply.Value {
	return s.subscribeWith(c, func() []reply.Value { return s.hub.PUnsubscribe(c, names(args[1:])...) })
}

func ssubscribeCmd(s *Server, c *client, args [][]byte) reply.Value {
	// Any replica of the slot's shard may serve shard-channel
	// subscriptions, as in Redis Cluster.
	if _, redirect, ok := c.be.Route(s.table.Lookup(args[0]), args, true, false); !ok {
		return redirect
	}
	return s.subscribeWith(c, func() []reply.Value { return s.hub.SSubscribe(c, names(args[1:])...) })
}

func sunsubscribeCmd(s *Server, c *client, args [][]byte) reply.Value {
	if len(args) > 1 {
		if _, redirect, ok := c.be.Route(s.table.Lookup(args[0]), args, true, false); !ok && redirect.Kind == reply.KindError && strings.HasPrefix(string(redirect.Str), "CROSSSLOT") {
			return redirect
		}
	}
	return s.subscribeWith(c, func() []reply.Value { return s.hub.SUnsubscribe(c, names(args[1:])...) })
}

func publishCmd(s *Server, _ *client, args [][]byte) reply.Value {
	n := s.hub.Publish(args[1], args[2])
	if s.backend.ClusterEnabled() {
		s.backend.Forward(NodeRoute, [][]byte{[]byte("PUBSUB"), []byte("LOCALPUBLISH"), args[1], args[2]})
	}
	return reply.Int(int64(n))
}

func spublishCmd(s *Server, c *client, args [][]byte) reply.Value {
	target, redirect, ok := c.be.Route(s.table.Lookup(args[0]), args, false, false)
	if !ok {
		return redirect
	}
	n := s.hub.SPublish(args[1], args[2])
	if s.backend.ClusterEnabled() {
		s.backend.Forward(target, [][]byte{[]byte("PUBSUB"), []byte("LOCALSPUBLISH"), args[1], args[2]})
	}
	return reply.Int(int64(n))
}

// pubsubLocal delivers a message forwarded by another node to this node's
// subscribers only (Cairn-internal: PUBSUB LOCALPUBLISH / LOCALSPUBLISH).
func pubsubLocal(s *Server, _ *client, args [][]byte) reply.Value {
	if command.EqualFold(args[1], "localspublish") {
		return reply.Int(int64(s.hub.SPublish(args[2], args[3])))
	}
	return reply.Int(int64(s.hub.Publish(args[2], args[3])))
}

func pubsubChannels(s *Server, _ *client, args [][]byte) reply.Value {
	var pat []byte
	if len(args) == 3 {
		pat = args[2]
	} else if len(args) > 3 {
		return reply.Error("ERR wrong number of arguments for 'pubsub|channels' command")
	}
	var list []string
	if command.EqualFold(args[1], "shardchannels") {
		list = s.hub.ShardChannels(pat)
	} else {
		list = s.hub.Channels(pat)
	}
	out := make([]reply.Value, len(list))
	for i, n := range list {
		out[i] = reply.BulkString(n)
	}
	return reply.Array(out...)
}

func pubsubNumSub(s *Server, _ *client, args [][]byte) reply.Value {
	chans := names(args[2:])
	var counts []int
	if command.EqualFold(args[1], "shardnumsub") {
		counts = s.hub.ShardNumSub(chans...)
	} else {
		counts = s.hub.NumSub(chans...)
	}
	out := make([]reply.Value, 0, 2*len(chans))
	for i, ch := range chans {
		out = append(out, reply.BulkString(ch), reply.Int(int64(counts[i])))
	}
	return reply.Value{Kind: reply.KindMap, Elems: out}
}

func pubsubNumPat(s *Server, _ *client, _ [][]byte) reply.Value {
	return reply.Int(int64(s.hub.NumPat()))
}

func pubsubHelp(_ *Server, _ *client, _ [][]byte) reply.Value {
	return helpReply("PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
		"CHANNELS [<pattern>]",
		"    Return the currently active channels matching a <pattern> (default: '*').",
		"NUMPAT",
		"    Return number of subscriptions to patterns.",
		"NUMSUB [<channel> ...]",
		"    Return the number of subscribers for the specified channels, excluding",
		"    pattern subscriptions(default: no channels).",
		"SHARDCHANNELS [<pattern>]",
		"    Return the currently active shard level channels matching a <pattern> (default: '*').",
		"SHARDNUMSUB [<shardchannel> ...]",
		"    Return the number of subscribers for the specified shard level channel(s)",
		"HELP",
		"    Prints this help.")
}

// subContext tells whether a command is allowed while a RESP2 connection
// has subscriptions.
func subContext(spec *command.Spec) bool {
	switch spec.Name {
	case "subscribe", "psubscribe", "ssubscribe", "unsubscribe", "punsubscribe", "sunsubscribe", "ping", "quit", "reset":
		return true
	}
	return false
}

// unsubscribeAll drops every subscription of a closing or reset
// connection.
func (s *Server) unsubscribeAll(c *client) {
	if c.push == nil {
		return
	}
	s.hub.RemoveAll(c)
	c.subs, c.ssubs = 0, 0
	c.subCount.Store(0)
	c.psubCount.Store(0)
	c.ssubCount.Store(0)
}

// pubsubClients counts connections with subscriptions.
func (s *Server) pubsubClients() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.clients {
		if c.subscribed() {
			n++
		}
	}
	return n
}

// notifyMaskParam parses notify-keyspace-events.
func notifyMaskParam(v string) (string, error) {
	m, ok := pubsub.ParseNotifyFlags(v)
	if !ok {
		return "", errNotifyFlags
	}
	return pubsub.FormatNotifyFlags(m), nil
}
