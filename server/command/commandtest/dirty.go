package commandtest

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/reply"
)

// DirtyDiff runs write commands on Redis and on the harness's keyspace and
// compares, besides the replies, the change counts (Redis's
// rdb_changes_since_last_save) and the keyspace events (received on a
// __keyevent@0__ subscription) of each command.
type DirtyDiff struct {
	t   *testing.T
	d   *Diff
	sub *Client
	// SkipDirty, if set, exempts commands from the change-count check.
	SkipDirty func(args []string) bool
}

// NewDirtyDiff starts comparing the change counts and keyspace events of
// commands run through d with the redis-server at addr (d's reference).
func NewDirtyDiff(t *testing.T, d *Diff, addr string) *DirtyDiff {
	if v, err := d.Redis.Do("CONFIG", "SET", "notify-keyspace-events", "KEA"); err != nil || v.IsError() {
		t.Fatalf("CONFIG SET: %v %v", v, err)
	}
	sub, err := Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sub.Close() })
	if _, err := sub.Do("PSUBSCRIBE", "__keyevent@0__:*"); err != nil {
		t.Fatal(err)
	}
	return &DirtyDiff{t: t, d: d, sub: sub}
}

func (e *DirtyDiff) dirty() int64 {
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

// Events reads the events Redis published up to a PING barrier.
func (e *DirtyDiff) Events() []string {
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

// Run compares one command.
func (e *DirtyDiff) Run(args ...string) {
	e.t.Helper()
	before := e.dirty()
	want, err := e.d.Redis.Do(args...)
	if err != nil {
		e.t.Fatal(err)
	}
	wantDirty := e.dirty() - before
	wantEvents := e.Events()

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
	if c.Dirty != wantDirty && (e.SkipDirty == nil || !e.SkipDirty(args)) {
		e.t.Errorf("%q: dirty %d, redis %d", args, c.Dirty, wantDirty)
	}
	if strings.Join(gotEvents, ",") != strings.Join(wantEvents, ",") {
		e.t.Errorf("%q: events %q, redis %q", args, gotEvents, wantEvents)
	}
}
