package pubsub

import (
	"math/rand/v2"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/command/commandtest"
	"github.com/cairndb/cairn/server/reply"
)

// pubsubDiff drives a Hub and a real redis-server with the same
// subscription commands from the same clients and compares everything each
// client receives.
type pubsubDiff struct {
	t     *testing.T
	hub   *Hub
	subs  []*recorder           // Hub side, one per client
	conns []*commandtest.Client // Redis side, one per client
	pub   *commandtest.Client   // Redis publisher and PUBSUB client
	exp   [][]reply.Value       // confirmations the Hub returned, per client, not yet compared
}

func newPubsubDiff(t *testing.T, clients int) *pubsubDiff {
	addr := commandtest.StartRedis(t)
	d := &pubsubDiff{t: t, hub: NewHub()}
	dial := func() *commandtest.Client {
		c, err := commandtest.Dial(addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	for i := 0; i < clients; i++ {
		d.subs = append(d.subs, &recorder{})
		d.conns = append(d.conns, dial())
		d.exp = append(d.exp, nil)
	}
	d.pub = dial()
	return d
}

// do runs one command as client i (-1: the publisher) on both sides and
// compares what every client got.
func (d *pubsubDiff) do(i int, args ...string) {
	d.t.Helper()
	name := strings.ToLower(args[0])
	rest := args[1:]
	if i < 0 {
		want, err := d.pub.Do(args...)
		if err != nil {
			d.t.Fatal(err)
		}
		got := d.publisherCmd(name, rest)
		if name == "pubsub" && len(rest) > 0 && (strings.EqualFold(rest[0], "channels") || strings.EqualFold(rest[0], "shardchannels")) {
			sortElems(&want)
		}
		if !reply.Equal(got, want) {
			d.t.Errorf("%q:\n  hub:   %s\n  redis: %s", args, got, want)
		}
	} else {
		var argv [][]byte
		for _, a := range args {
			argv = append(argv, []byte(a))
		}
		if err := d.conns[i].Send(argv); err != nil {
			d.t.Fatal(err)
		}
		s := d.subs[i]
		var conf []reply.Value
		switch name {
		case "subscribe":
			conf = d.hub.Subscribe(s, rest...)
		case "unsubscribe":
			conf = d.hub.Unsubscribe(s, rest...)
		case "psubscribe":
			conf = d.hub.PSubscribe(s, rest...)
		case "punsubscribe":
			conf = d.hub.PUnsubscribe(s, rest...)
		case "ssubscribe":
			conf = d.hub.SSubscribe(s, rest...)
		case "sunsubscribe":
			conf = d.hub.SUnsubscribe(s, rest...)
		default:
			d.t.Fatalf("bad client command %q", args)
		}
		d.exp[i] = append(d.exp[i], conf...)
	}
	mode := exact
	switch {
	case i < 0:
		mode = sorted
	case len(rest) == 0 && strings.Contains(name, "unsubscribe"):
		mode = unsubAll
	}
	d.sync(args, mode)
}

// How sync compares a client's stream.
const (
	exact    = iota // in order
	sorted          // messages of one publication: any order
	unsubAll        // UNSUBSCRIBE without arguments: counts in order, channels in any order
)

func (d *pubsubDiff) publisherCmd(name string, rest []string) reply.Value {
	switch name {
	case "publish":
		return reply.Int(int64(d.hub.Publish([]byte(rest[0]), []byte(rest[1]))))
	case "spublish":
		return reply.Int(int64(d.hub.SPublish([]byte(rest[0]), []byte(rest[1]))))
	case "pubsub":
		sub := strings.ToLower(rest[0])
		switch sub {
		case "channels", "shardchannels":
			var pat []byte
			if len(rest) > 1 {
				pat = []byte(rest[1])
			}
			if sub == "channels" {
				return reply.BulkStrings(d.hub.Channels(pat)...)
			}
			return reply.BulkStrings(d.hub.ShardChannels(pat)...)
		case "numsub", "shardnumsub":
			n := d.hub.NumSub(rest[1:]...)
			if sub == "shardnumsub" {
				n = d.hub.ShardNumSub(rest[1:]...)
			}
			out := []reply.Value{}
			for j, ch := range rest[1:] {
				out = append(out, reply.BulkString(ch), reply.Int(int64(n[j])))
			}
			return reply.Array(out...)
		case "numpat":
			return reply.Int(int64(d.hub.NumPat()))
		}
	}
	d.t.Fatalf("bad publisher command %s", name)
	return reply.Value{}
}

// sync reads everything each client was sent up to a PING and compares
// it with what the Hub confirmed and delivered. Messages of one
// publication may come in any order (Redis tries patterns in hash-table
// order), as may the channels of an UNSUBSCRIBE without arguments.
func (d *pubsubDiff) sync(args []string, mode int) {
	d.t.Helper()
	for i, c := range d.conns {
		if err := c.Send([][]byte{[]byte("PING")}); err != nil {
			d.t.Fatal(err)
		}
		var got []reply.Value
		for {
			v, err := c.Read()
			if err != nil {
				d.t.Fatal(err)
			}
			if isPong(v) {
				break
			}
			got = append(got, v)
		}
		want := d.exp[i]
		d.exp[i] = nil
		d.subs[i].mu.Lock()
		want = append(want, d.subs[i].msgs...)
		d.subs[i].msgs = nil
		d.subs[i].mu.Unlock()
		g, w := normalize(got, mode), normalize(want, mode)
		if g != w {
			d.t.Errorf("after %q, client %d received:\n  redis: %s\n  hub:   %s", args, i, g, w)
		}
	}
}

func isPong(v reply.Value) bool {
	if v.Kind == reply.KindStatus && string(v.Str) == "PONG" {
		return true
	}
	return v.Kind == reply.KindArray && len(v.Elems) == 2 && string(v.Elems[0].Str) == "pong"
}

// normalize renders a client's stream for comparison in mode.
func normalize(vs []reply.Value, mode int) string {
	var parts []string
	for _, v := range vs {
		parts = append(parts, v.String())
	}
	if mode == unsubAll {
		var names, counts []string
		for _, v := range vs {
			if len(v.Elems) == 3 {
				names = append(names, v.Elems[1].String())
				counts = append(counts, v.Elems[0].String()+":"+v.Elems[2].String())
			}
		}
		sort.Strings(names)
		return strings.Join(counts, " ") + " / " + strings.Join(names, " ")
	}
	if mode == sorted {
		sort.Strings(parts)
	}
	return strings.Join(parts, " ")
}

func sortElems(v *reply.Value) {
	sort.Slice(v.Elems, func(i, j int) bool { return string(v.Elems[i].Str) < string(v.Elems[j].Str) })
}

func TestDiffPubsub(t *testing.T) {
	d := newPubsubDiff(t, 3)
	P := -1
	steps := []struct {
		c    int
		args []string
	}{
		{P, []string{"PUBLISH", "a", "nobody"}},
		{0, []string{"UNSUBSCRIBE"}},
		{0, []string{"PUNSUBSCRIBE"}},
		{0, []string{"SUNSUBSCRIBE"}},
		{0, []string{"UNSUBSCRIBE", "x", "y"}},
		{0, []string{"SUBSCRIBE", "a", "b", "a"}},
		{0, []string{"PSUBSCRIBE", "a*", "*", "h?llo", "h[^e]llo", "[a-c]x", "\\*"}},
		{1, []string{"SUBSCRIBE", "a", ""}},
		{1, []string{"PSUBSCRIBE", "a*"}},
		{2, []string{"SSUBSCRIBE", "a", "s"}},
		{2, []string{"SUBSCRIBE", "b"}},
		{P, []string{"PUBLISH", "a", "one"}},
		{P, []string{"PUBLISH", "b", "two"}},
		{P, []string{"PUBLISH", "", "empty"}},
		{P, []string{"PUBLISH", "hello", "h"}},
		{P, []string{"PUBLISH", "hallo", "h"}},
		{P, []string{"PUBLISH", "bx", "h"}},
		{P, []string{"PUBLISH", "*", "star"}},
		{P, []string{"PUBLISH", "zz", ""}},
		{P, []string{"SPUBLISH", "a", "shard"}},
		{P, []string{"SPUBLISH", "b", "shard"}},
		{P, []string{"SPUBLISH", "s", "shard"}},
		{P, []string{"PUBSUB", "CHANNELS"}},
		{P, []string{"PUBSUB", "CHANNELS", "*"}},
		{P, []string{"PUBSUB", "CHANNELS", "[a]"}},
		{P, []string{"PUBSUB", "CHANNELS", ""}},
		{P, []string{"PUBSUB", "NUMSUB"}},
		{P, []string{"PUBSUB", "NUMSUB", "a", "b", "", "zz", "a*", "s"}},
		{P, []string{"PUBSUB", "NUMPAT"}},
		{P, []string{"PUBSUB", "SHARDCHANNELS"}},
		{P, []string{"PUBSUB", "SHARDCHANNELS", "s*"}},
		{P, []string{"PUBSUB", "SHARDNUMSUB", "a", "s", "b"}},
		{P, []string{"PUBSUB", "SHARDNUMSUB"}},
		{0, []string{"UNSUBSCRIBE", "a", "zz"}},
		{0, []string{"PUNSUBSCRIBE", "*", "nope"}},
		{P, []string{"PUBLISH", "a", "three"}},
		{P, []string{"PUBSUB", "NUMPAT"}},
		{0, []string{"UNSUBSCRIBE"}},
		{0, []string{"UNSUBSCRIBE"}},
		{0, []string{"PUNSUBSCRIBE"}},
		{0, []string{"PUNSUBSCRIBE"}},
		{1, []string{"PUNSUBSCRIBE"}},
		{1, []string{"UNSUBSCRIBE"}},
		{2, []string{"SSUBSCRIBE", "t", "a"}},
		{2, []string{"SUNSUBSCRIBE", "a", "zz"}},
		{2, []string{"UNSUBSCRIBE"}},
		{2, []string{"SUNSUBSCRIBE"}},
		{2, []string{"SUNSUBSCRIBE"}},
		{P, []string{"PUBSUB", "NUMPAT"}},
		{P, []string{"PUBSUB", "CHANNELS"}},
		{P, []string{"PUBSUB", "SHARDCHANNELS"}},
		{P, []string{"PUBLISH", "a", "gone"}},
	}
	for _, s := range steps {
		d.do(s.c, s.args...)
	}
}

// TestDiffRandom runs random subscription commands and publications over a
// few names on the Hub and on redis-server. CAIRN_FUZZ_DIFF (a Go
// duration) makes it run longer.
func TestDiffRandom(t *testing.T) {
	dur := 2 * time.Second
	if s := os.Getenv("CAIRN_FUZZ_DIFF"); s != "" {
		if v, err := time.ParseDuration(s); err == nil {
			dur = v
		}
	}
	d := newPubsubDiff(t, 4)
	r := rand.New(rand.NewPCG(7, 11))
	names := []string{"a", "b", "ab", "ba", "", "a*", "?b", "*"}
	pick := func(n int) []string {
		out := []string{}
		for j := 0; j < n; j++ {
			out = append(out, names[r.IntN(len(names))])
		}
		return out
	}
	deadline := time.Now().Add(dur)
	for i := 0; time.Now().Before(deadline) && !t.Failed(); i++ {
		c := r.IntN(len(d.conns)+1) - 1
		if c < 0 {
			switch r.IntN(6) {
			case 0, 1, 2:
				d.do(-1, "PUBLISH", names[r.IntN(len(names))], "m")
			case 3:
				d.do(-1, "SPUBLISH", names[r.IntN(len(names))], "m")
			case 4:
				d.do(-1, append([]string{"PUBSUB", "NUMSUB"}, pick(3)...)...)
			default:
				d.do(-1, "PUBSUB", "NUMPAT")
			}
			continue
		}
		cmds := []string{"SUBSCRIBE", "UNSUBSCRIBE", "PSUBSCRIBE", "PUNSUBSCRIBE", "SSUBSCRIBE", "SUNSUBSCRIBE"}
		cmd := cmds[r.IntN(len(cmds))]
		n := r.IntN(3)
		if strings.HasSuffix(cmd, "SUBSCRIBE") && !strings.Contains(cmd, "UNSUB") {
			n++
		}
		d.do(c, append([]string{cmd}, pick(n)...)...)
	}
	d.do(-1, "PUBSUB", "CHANNELS")
	d.do(-1, "PUBSUB", "SHARDCHANNELS")
}

// TestDiffNotifyFlags checks ParseNotifyFlags and FormatNotifyFlags
// against CONFIG SET / CONFIG GET notify-keyspace-events.
func TestDiffNotifyFlags(t *testing.T) {
	addr := commandtest.StartRedis(t)
	c, err := commandtest.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	inputs := []string{
		"", "K", "E", "KE", "KEA", "AKE", "EKA", "A", "g", "$", "l", "s", "h", "z", "x", "e", "t", "m", "n", "d",
		"Kg", "E$lshzxetd", "Eg$lshzxetd", "Eg$lshzxet", "g$lshzxetdKEmn", "AKEmn", "nmEKA", "Am", "An", "KEn",
		"gg", "zyx", "KEa", "a", "B", "KE ", " ", "k", "e$", "lhzs", "tdx", "AAA", "KE\x00junk", "\x00", "K\x00?",
		"Kx", "Kxe", "Ed", "Edt", "mn", "?", "*", "KEA!", strings.Repeat("g", 100),
	}
	r := rand.New(rand.NewPCG(1, 2))
	const letters = "KEg$lshzxetmndA"
	for i := 0; i < 300; i++ {
		b := make([]byte, r.IntN(8))
		for j := range b {
			b[j] = letters[r.IntN(len(letters))]
		}
		inputs = append(inputs, string(b))
	}
	for _, in := range inputs {
		set, err := c.Do("CONFIG", "SET", "notify-keyspace-events", in)
		if err != nil {
			t.Fatal(err)
		}
		mask, ok := ParseNotifyFlags(in)
		if set.IsError() {
			if ok {
				t.Errorf("%q: redis rejects it (%s), ParseNotifyFlags accepts it", in, set)
			} else if want := "ERR CONFIG SET failed (possibly related to argument 'notify-keyspace-events') - " + ErrNotifyFlags; string(set.Str) != want {
				t.Errorf("%q: redis error %q, want %q", in, set.Str, want)
			}
			continue
		}
		if !ok {
			t.Errorf("%q: redis accepts it, ParseNotifyFlags rejects it", in)
			continue
		}
		get, err := c.Do("CONFIG", "GET", "notify-keyspace-events")
		if err != nil {
			t.Fatal(err)
		}
		if len(get.Elems) != 2 {
			t.Fatalf("CONFIG GET: %s", get)
		}
		if got, want := FormatNotifyFlags(mask), string(get.Elems[1].Str); got != want {
			t.Errorf("%q: FormatNotifyFlags = %q, redis %q", in, got, want)
		}
		// The canonical form parses back to the same mask (but for Redis
		// 7.0's loss of 'n' after 'A').
		lost := uint32(0)
		if mask&NotifyAll == NotifyAll {
			lost = command.ClassBit(command.ClassNew)
		}
		if m2, ok := ParseNotifyFlags(FormatNotifyFlags(mask)); !ok || m2 != mask&^lost {
			t.Errorf("%q: round trip %x -> %x", in, mask, m2)
		}
	}
}

// TestDiffKeyspaceNotifications publishes keyspace events through a Hub
// and checks they reach the same subscribers as Redis's for the same
// configuration.
func TestDiffKeyspaceNotifications(t *testing.T) {
	d := newPubsubDiff(t, 2)
	d.do(0, "PSUBSCRIBE", "__keyspace@0__:*", "__keyevent@0__:*")
	d.do(1, "SUBSCRIBE", "__keyspace@0__:k", "__keyevent@0__:set", "__keyevent@0__:del", "__keyevent@0__:hset")
	for _, conf := range []string{"", "KEA", "K$", "Eg", "KEh", "AK", "E", "g$h"} {
		if v, err := d.pub.Do("CONFIG", "SET", "notify-keyspace-events", conf); err != nil || v.IsError() {
			t.Fatalf("CONFIG SET %q: %v %v", conf, v, err)
		}
		mask, _ := ParseNotifyFlags(conf)
		for _, c := range [][]string{{"SET", "k", "v"}, {"HSET", "h", "f", "v"}, {"DEL", "k", "h"}} {
			if _, err := d.pub.Do(c...); err != nil {
				t.Fatal(err)
			}
			var evs []command.Event
			switch c[0] {
			case "SET":
				evs = []command.Event{{Class: command.ClassString, Name: "set", Key: "k"}}
			case "HSET":
				evs = []command.Event{{Class: command.ClassHash, Name: "hset", Key: "h"}}
			case "DEL":
				evs = []command.Event{{Class: command.ClassGeneric, Name: "del", Key: "k"}, {Class: command.ClassGeneric, Name: "del", Key: "h"}}
			}
			// Only the classes the mask selects are recorded at apply time.
			var rec []command.Event
			for _, ev := range evs {
				if RecordMask(mask)&command.ClassBit(ev.Class) != 0 {
					rec = append(rec, ev)
				}
			}
			d.hub.PublishEvents(mask, 0, rec)
			d.sync(append([]string{conf}, c...), exact)
		}
	}
}
