package server_test

import (
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cairndb/cairn/server/command/commandtest"
	"github.com/cairndb/cairn/server/reply"
	"github.com/cairndb/cairn/server/servertest"
)

// TestPubSubDiff runs the same subscribe / publish / unsubscribe sequence
// against Cairn and real Redis over raw connections and compares every
// reply and pushed message, RESP2 and RESP3.
func TestPubSubDiff(t *testing.T) {
	n := servertest.Start(t)
	r := commandtest.StartRedis(t)
	for _, proto := range []string{"2", "3"} {
		type pair struct{ sub, pub *commandtest.Client }
		conns := map[string]pair{}
		for name, addr := range map[string]string{"cairn": n.Addr(), "redis": r} {
			p := pair{raw(t, addr), raw(t, addr)}
			if _, err := p.sub.Do("HELLO", proto); err != nil {
				t.Fatal(err)
			}
			conns[name] = p
		}
		// step sends cmd on the subscriber (or publisher) connection, reads
		// its reply there, then reads more messages on the subscriber.
		step := func(onSub bool, more int, cmd ...string) {
			t.Helper()
			var got [2][]reply.Value
			for i, name := range []string{"cairn", "redis"} {
				p := conns[name]
				c := p.sub
				if !onSub {
					c = p.pub
				}
				v, err := c.Do(cmd...)
				if err != nil {
					t.Fatalf("%s %q: %v", name, cmd, err)
				}
				got[i] = append(got[i], v)
				for j := 0; j < more; j++ {
					v, err := p.sub.Read()
					if err != nil {
						t.Fatalf("%s %q read %d: %v", name, cmd, j, err)
					}
					got[i] = append(got[i], v)
				}
			}
			for j := range got[0] {
				if !reply.Equal(got[0][j], got[1][j]) {
					t.Errorf("RESP%s %q reply %d: cairn %v, redis %v", proto, cmd, j, got[0][j], got[1][j])
				}
			}
		}
		step(true, 1, "SUBSCRIBE", "a", "b")
		step(true, 0, "PSUBSCRIBE", "n*")
		step(true, 0, "SUBSCRIBE", "a") // again: confirmed again, count unchanged
		step(false, 1, "PUBLISH", "a", "hello")
		step(true, 0, "PING", "x")
		step(false, 1, "PUBLISH", "news", "extra")
		step(false, 0, "PUBSUB", "NUMSUB", "a", "b", "zz")
		step(false, 0, "PUBSUB", "NUMPAT")
		step(false, 0, "PUBSUB", "CHANNELS", "a*") // (Redis lists in hash order: match one)
		step(true, 0, "UNSUBSCRIBE", "b")
		if proto == "2" {
			step(true, 0, "GET", "k") // not allowed while subscribed
		}
		step(true, 0, "PUNSUBSCRIBE")
		step(true, 0, "UNSUBSCRIBE")
		step(true, 0, "UNSUBSCRIBE") // none left: ["unsubscribe", nil, 0]
		step(true, 0, "PING")
		step(false, 0, "PUBLISH", "a", "nobody")
		step(true, 0, "SSUBSCRIBE", "s1")
		step(false, 1, "SPUBLISH", "s1", "shard")
		step(false, 0, "PUBSUB", "SHARDNUMSUB", "s1")
		step(true, 0, "SUNSUBSCRIBE", "s1")
	}
}

// TestKeyspaceNotifications: events raised at apply time are published on
// __keyspace@0__ / __keyevent@0__ channels, including expiry.
func TestKeyspaceNotifications(t *testing.T) {
	n := servertest.Start(t)
	c := n.Client(t)
	if err := c.ConfigSet(ctx, "notify-keyspace-events", "KEA").Err(); err != nil {
		t.Fatal(err)
	}
	if v := c.ConfigGet(ctx, "notify-keyspace-events").Val()["notify-keyspace-events"]; v != "AKE" {
		t.Fatalf("CONFIG GET notify-keyspace-events = %q, want AKE", v)
	}
	if err := c.ConfigSet(ctx, "notify-keyspace-events", "Kq").Err(); err == nil {
		t.Fatal("bad flags accepted")
	}
	ps := n.Client(t).PSubscribe(ctx, "__key*__:*")
	defer ps.Close()
	if _, err := ps.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	c.Set(ctx, "k", "v", 0)
	c.PExpire(ctx, "k", 200*time.Millisecond)
	want := []string{
		"__keyspace@0__:k set", "__keyevent@0__:set k",
		"__keyspace@0__:k expire", "__keyevent@0__:expire k",
		"__keyspace@0__:k expired", "__keyevent@0__:expired k",
	}
	ch := ps.Channel()
	for _, w := range want {
		select {
		case m := <-ch:
			if got := m.Channel + " " + m.Payload; got != w {
				t.Fatalf("notification %q, want %q", got, w)
			}
		case <-time.After(3 * time.Second):
			t.Fatalf("no notification %q", w)
		}
	}
	// Off again: nothing more.
	c.ConfigSet(ctx, "notify-keyspace-events", "")
	c.Set(ctx, "k2", "v", 0)
	select {
	case m := <-ch:
		t.Fatalf("notification while disabled: %v", m)
	case <-time.After(200 * time.Millisecond):
	}
}

// TestPubSubManyClients: every subscriber gets every message in order.
func TestPubSubManyClients(t *testing.T) {
	n := servertest.Start(t)
	const subs, msgs = 8, 200
	var chans []<-chan *redis.Message
	for i := 0; i < subs; i++ {
		ps := n.Client(t).Subscribe(ctx, "fan")
		t.Cleanup(func() { ps.Close() })
		if _, err := ps.Receive(ctx); err != nil {
			t.Fatal(err)
		}
		chans = append(chans, ps.Channel(redis.WithChannelSize(msgs)))
	}
	c := n.Client(t)
	for i := 0; i < msgs; i++ {
		if got := c.Publish(ctx, "fan", i).Val(); got != subs {
			t.Fatalf("PUBLISH reached %d, want %d", got, subs)
		}
	}
	for s, ch := range chans {
		for i := 0; i < msgs; i++ {
			select {
			case m := <-ch:
				if m.Payload != itoa(i) {
					t.Fatalf("subscriber %d: message %q, want %d", s, m.Payload, i)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("subscriber %d: message %d missing", s, i)
			}
		}
	}
}

func itoa(i int) string {
	return string(reply.BulkInt(int64(i)).Str)
}

// TestKeyMissNotifications: a read of a missing key raises "keymiss" when
// the m class is on.
func TestKeyMissNotifications(t *testing.T) {
	n := servertest.Start(t)
	c := n.Client(t)
	c.ConfigSet(ctx, "notify-keyspace-events", "Em")
	ps := n.Client(t).Subscribe(ctx, "__keyevent@0__:keymiss")
	defer ps.Close()
	if _, err := ps.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	c.Get(ctx, "absent")
	m, err := ps.ReceiveTimeout(ctx, 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if msg, ok := m.(*redis.Message); !ok || msg.Payload != "absent" {
		t.Fatalf("keymiss notification: %v", m)
	}
}

// TestClientListSubscriptions: CLIENT LIST counts a subscriber's channels,
// patterns and shard channels and flags it P.
func TestClientListSubscriptions(t *testing.T) {
	n := servertest.Start(t)
	sub := raw(t, n.Addr())
	for _, cmd := range [][]string{{"SUBSCRIBE", "a", "b"}, {"PSUBSCRIBE", "p*"}, {"SSUBSCRIBE", "s"}} {
		if err := sub.Send(toArgs(cmd)); err != nil {
			t.Fatal(err)
		}
		for range cmd[1:] {
			if _, err := sub.Read(); err != nil {
				t.Fatal(err)
			}
		}
	}
	list := n.Client(t).ClientList(ctx).Val()
	if !regexpMust(`flags=P db=0 sub=2 psub=1 ssub=1 multi=-1`).MatchString(list) {
		t.Fatalf("CLIENT LIST: %s", list)
	}
}

func toArgs(ss []string) [][]byte {
	out := make([][]byte, len(ss))
	for i, s := range ss {
		out[i] = []byte(s)
	}
	return out
}
