package bits

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/command/commandtest"
	"github.com/cairndb/cairn/server/reply"
)

// eventDiff runs write commands on Redis and on the harness's keyspace and
// compares, besides the replies, the change counts (Redis's
// rdb_changes_since_last_save) and the keyspace events (received on a
// __keyevent@0__ subscription) of each command.
type eventDiff struct {
	t   *testing.T
	d   *commandtest.Diff
	sub *commandtest.Client
}

func newEventDiff(t *testing.T, d *commandtest.Diff, addr string) *eventDiff {
	if v, err := d.Redis.Do("CONFIG", "SET", "notify-keyspace-events", "KEA"); err != nil || v.IsError() {
		t.Fatalf("CONFIG SET: %v %v", v, err)
	}
	sub, err := commandtest.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sub.Close() })
	if _, err := sub.Do("PSUBSCRIBE", "__keyevent@0__:*"); err != nil {
		t.Fatal(err)
	}
	return &eventDiff{t: t, d: d, sub: sub}
}

func (e *eventDiff) dirty() int64 {
	v, err := e.d.Redis.Do("INFO", "persistence")
	if err != nil {
		e.t.Fatal(err)
	}
	for _, l := range strings.Split(string(v.Str), "\r\n") {
		if s, ok := strings.CutPrefix(l, "rdb_changes_since_last_save:"); ok {
			n, _ := strconv.ParseInt(s, 10, 64)
			return n
		}
	}
	e.t.Fatal("no rdb_changes_since_last_save")
	return 0
}

// events reads the events Redis published up to a PING barrier.
func (e *eventDiff) events() []string {
	if err := e.sub.Send([][]byte{[]byte("PING")}); err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for {
		v, err := e.sub.Read()
		if err != nil {
			e.t.Fatal(err)
		}
		if len(v.Elems) == 2 && string(v.Elems[0].Str) == "pong" {
			return out
		}
		if len(v.Elems) == 4 {
			ch := string(v.Elems[2].Str)
			out = append(out, strings.TrimPrefix(ch, "__keyevent@0__:")+" "+string(v.Elems[3].Str))
		}
	}
}

// run compares one command.
func (e *eventDiff) run(args ...string) {
	e.t.Helper()
	before := e.dirty()
	want, err := e.d.Redis.Do(args...)
	if err != nil {
		e.t.Fatal(err)
	}
	wantDirty := e.dirty() - before
	wantEvents := e.events()

	argv := make([][]byte, len(args))
	for i, a := range args {
		argv[i] = []byte(a)
	}
	c := command.Ctx{DB: e.d.H.DB, Now: time.Now().UnixMilli(), Seed: 1, ProtoMaxBulkLen: 512 << 20, NotifyMask: ^uint32(0)}
	var got reply.Value
	if s, err := e.d.H.Table.Resolve(argv); err != nil {
		got = command.ErrorReply(err)
	} else if s.IsWrite() {
		got = e.d.H.Table.Apply(&c, argv)
	} else {
		got = command.Exec(s, &c, argv)
	}
	got = got.RESP2()
	var gotEvents []string
	for _, ev := range c.Events {
		gotEvents = append(gotEvents, ev.Name+" "+ev.Key)
	}
	if !reply.Equal(got, want) {
		e.t.Errorf("%q: cairn %s, redis %s", args, got, want)
	}
	if c.Dirty != wantDirty {
		e.t.Errorf("%q: dirty %d, redis %d", args, c.Dirty, wantDirty)
	}
	if strings.Join(gotEvents, ",") != strings.Join(wantEvents, ",") {
		e.t.Errorf("%q: events %q, redis %q", args, gotEvents, wantEvents)
	}
}

func TestDiffDirtyAndEvents(t *testing.T) {
	addr := commandtest.StartRedis(t)
	c, err := commandtest.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	d := &commandtest.Diff{H: newHarness(t), Redis: c}
	e := newEventDiff(t, d, addr)
	d.Compare("HSET", "hash", "f", "v")
	e.events()
	for _, args := range [][]string{
		{"SETBIT", "b", "3", "1"}, {"SETBIT", "b", "3", "1"}, {"SETBIT", "b", "3", "0"}, {"SETBIT", "b", "20", "0"},
		{"SETBIT", "b", "20", "0"}, {"SETBIT", "new", "0", "0"}, {"SETBIT", "b", "x", "1"},
		{"SETBIT", "hash", "1", "1"},
		{"BITOP", "OR", "d", "b", "new"}, {"BITOP", "AND", "d", "nokey"}, {"BITOP", "AND", "d", "nokey"},
		{"BITOP", "NOT", "d", "b"}, {"BITOP", "XOR", "d", "b", "hash"},
		{"BITFIELD", "f", "GET", "u8", "0"}, {"BITFIELD", "f", "SET", "u8", "0", "0"}, {"BITFIELD", "f", "SET", "u8", "0", "0"},
		{"BITFIELD", "f", "SET", "u8", "0", "1", "SET", "u8", "8", "0", "INCRBY", "u8", "0", "0"},
		{"BITFIELD", "f", "SET", "u8", "0", "1", "SET", "u8", "8", "0", "INCRBY", "u8", "0", "1"},
		{"BITFIELD", "g", "OVERFLOW", "FAIL", "INCRBY", "u2", "0", "9"}, {"EXISTS", "g"},
		{"BITFIELD", "f", "OVERFLOW", "FAIL", "INCRBY", "u2", "0", "9", "INCRBY", "u2", "0", "1"},
		{"BITFIELD", "f", "SET", "u4", "60", "1", "SET", "u4", "60", "1"},
		{"BITFIELD_RO", "f", "GET", "u8", "0"},
	} {
		e.run(args...)
	}
}
