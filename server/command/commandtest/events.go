package commandtest

import (
	"strings"
	"testing"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/reply"
)

// EventDiff compares the keyspace notifications commands raise in Cairn
// (Harness.Events) with those a real redis-server publishes on
// "__keyevent@0__:<event>" channels, as well as the replies.
type EventDiff struct {
	*Diff
	sub      *Client
	families [][]*command.Spec
	classes  string
}

// AllClasses is a Harness.NotifyMask recording every event class.
const AllClasses = ^uint32(0)

// EventsString renders the events of the last command as "class name key"
// items separated by ", " (e.g. "$ set k, g expire k").
func (h *Harness) EventsString() string {
	var parts []string
	for _, ev := range h.Events {
		parts = append(parts, string(ev.Class)+" "+ev.Name+" "+ev.Key)
	}
	return strings.Join(parts, ", ")
}

// CheckEvents runs a command and fails the test unless its events, as
// EventsString renders them, equal want.
func (h *Harness) CheckEvents(want string, args ...string) {
	h.T.Helper()
	h.Do(args...)
	if got := h.EventsString(); got != want {
		h.T.Errorf("%q events:\n  got  %s\n  want %s", args, got, want)
	}
}

// syncChannel is published to after each command: every event Redis
// raised for the command is ahead of it in the subscriber's stream.
const syncChannel = "cairn-event-sync"

// NewEventDiff starts a redis-server, a subscriber to its keyevent
// channels and a harness over families, recording the event classes
// (notify-keyspace-events letters, e.g. "A" or "g$") of classes.
func NewEventDiff(t testing.TB, classes string, families ...[]*command.Spec) *EventDiff {
	d := &EventDiff{Diff: NewDiff(t, families...), families: families}
	sub, err := Dial(d.redisAddr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sub.Close() })
	d.sub = sub
	for _, args := range [][]string{{"PSUBSCRIBE", "__keyevent@0__:*"}, {"SUBSCRIBE", syncChannel}} {
		if v, err := sub.Do(args...); err != nil || v.IsError() {
			t.Fatalf("%q: %v %v", args, v, err)
		}
	}
	d.Reset(classes)
	return d
}

func (d *EventDiff) redisAddr() string { return d.Redis.conn.RemoteAddr().String() }

// Reset empties both keyspaces (a fresh harness; FLUSHALL raises no
// events) and records the event classes of classes from now on.
func (d *EventDiff) Reset(classes string) {
	t := d.H.T
	t.Helper()
	d.classes = classes
	for _, args := range [][]string{{"FLUSHALL"}, {"CONFIG", "SET", "notify-keyspace-events", "E" + classes}} {
		if v, err := d.Redis.Do(args...); err != nil || v.IsError() {
			t.Fatalf("%q: %v %v", args, v, err)
		}
	}
	d.Diff.H = New(t, d.families...)
	var mask uint32
	for i := 0; i < len(classes); i++ {
		if classes[i] == 'A' {
			for _, c := range []byte("g$lshzxetd") {
				mask |= command.ClassBit(c)
			}
		} else {
			mask |= command.ClassBit(classes[i])
		}
	}
	d.H.NotifyMask = mask
}

// Quiet runs args on both and compares the replies, with notifications
// off (to set up state, e.g. with a stand-in for another family's
// command).
func (d *EventDiff) Quiet(args ...string) {
	t := d.H.T
	t.Helper()
	d.config("")
	d.Diff.Compare(args...)
	d.config("E" + d.classes)
}

// RedisQuiet runs args on Redis only, with notifications off (to set up
// state the harness's families cannot build, e.g. a string key for
// WRONGTYPE paths in a family without SET).
func (d *EventDiff) RedisQuiet(args ...string) reply.Value {
	t := d.H.T
	t.Helper()
	d.config("")
	v, err := d.Redis.Do(args...)
	if err != nil {
		t.Fatalf("%q: %v", args, err)
	}
	d.config("E" + d.classes)
	return v
}

func (d *EventDiff) config(flags string) {
	if v, err := d.Redis.Do("CONFIG", "SET", "notify-keyspace-events", flags); err != nil || v.IsError() {
		d.H.T.Fatalf("CONFIG SET notify-keyspace-events %q: %v %v", flags, v, err)
	}
}

// Compare runs args on both, compares the replies as Diff.Compare does and
// the events: names and keys in order.
func (d *EventDiff) Compare(args ...string) (got, want reply.Value) {
	t := d.H.T
	t.Helper()
	got, want = d.Diff.Compare(args...)
	if v, err := d.Redis.Do("PUBLISH", syncChannel, ""); err != nil || v.IsError() {
		t.Fatalf("PUBLISH: %v %v", v, err)
	}
	var redisEvs []string
	for {
		v, err := d.sub.Read()
		if err != nil {
			t.Fatalf("subscriber: %v", err)
		}
		if len(v.Elems) == 3 && string(v.Elems[0].Str) == "message" {
			break
		}
		if len(v.Elems) != 4 {
			t.Fatalf("subscriber got %s", v)
		}
		name := strings.TrimPrefix(string(v.Elems[2].Str), "__keyevent@0__:")
		redisEvs = append(redisEvs, name+" "+string(v.Elems[3].Str))
	}
	var cairnEvs []string
	for _, ev := range d.H.Events {
		cairnEvs = append(cairnEvs, ev.Name+" "+ev.Key)
	}
	if g, w := strings.Join(cairnEvs, ", "), strings.Join(redisEvs, ", "); g != w {
		t.Errorf("%q events:\n  cairn: %s\n  redis: %s", args, g, w)
	}
	return got, want
}
