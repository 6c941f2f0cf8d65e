package streams

import (
	"strconv"
	"strings"
	"testing"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/command/commandtest"
	"github.com/cairndb/cairn/server/keyspace"
)

func harness(t *testing.T) *commandtest.Harness {
	return commandtest.New(t, Specs)
}

// run executes args with a Ctx the test controls (for NoBlock, BlockArgs,
// notifications and Dirty), through the table as the server would.
func run(h *commandtest.Harness, c *command.Ctx, args ...string) string {
	argv := make([][]byte, len(args))
	for i, a := range args {
		argv[i] = []byte(a)
	}
	c.DB, c.Now = h.DB, h.Now
	s, err := h.Table.Resolve(argv)
	if err != nil {
		return command.ErrorReply(err).String()
	}
	return command.Exec(s, c, argv).String()
}

func TestAutoIDs(t *testing.T) {
	h := harness(t)
	h.Now = 1000
	h.Check("1000-0", "XADD", "s", "*", "f", "v")
	h.Check("1000-1", "XADD", "s", "*", "f", "v")
	h.Now = 999 // the clock went back: the sequence keeps growing
	h.Check("1000-2", "XADD", "s", "*", "f", "v")
	h.Now = 1001
	h.Check("1001-0", "XADD", "s", "*", "f", "v")
	h.Check("1001-1", "XADD", "s", "1001-*", "f", "v")
	h.Check("2000-0", "XADD", "s", "2000-*", "f", "v")
	h.Check("(error) ERR The ID specified in XADD is equal or smaller than the target stream top item", "XADD", "s", "1999-*", "f", "v")
	h.Check("2001-0", "XADD", "s", "2001", "f", "v")
	// The largest possible ID exhausts the stream.
	h.Check("OK", "XSETID", "s", "18446744073709551615-18446744073709551614")
	h.Check("18446744073709551615-18446744073709551615", "XADD", "s", "*", "f", "v")
	h.Check("(error) ERR The stream has exhausted the last possible ID, unable to add more items", "XADD", "s", "*", "f", "v")
	h.Check("8", "XLEN", "s")
	// A sequence that would overflow with ms-* is refused.
	h.Check("OK", "XSETID", "s", "18446744073709551615-18446744073709551615")
	h.Check("1-18446744073709551615", "XADD", "t", "1-18446744073709551615", "f", "v")
	h.Check("(error) ERR The ID specified in XADD is equal or smaller than the target stream top item", "XADD", "t", "1-*", "f", "v")
	h.Check("1001-0", "XADD", "t", "*", "f", "v") // Now is past the last ID's time
}

func TestAutoIDClockAhead(t *testing.T) {
	h := harness(t)
	h.Now = 5
	h.Check("5-0", "XADD", "s", "*", "f", "v")
	h.Check("OK", "XSETID", "s", "10-0")
	h.Check("10-1", "XADD", "s", "*", "f", "v")
}

func TestBlocking(t *testing.T) {
	h := harness(t)
	h.Check("1-1", "XADD", "s", "1-1", "f", "v")
	c := &command.Ctx{}
	// Nothing new after $: blocks, with $ resolved for the re-run.
	if got := run(h, c, "XREAD", "BLOCK", "100", "STREAMS", "s", "nokey", "$", "$"); got != "(error) CAIRNBLOCKED" {
		t.Fatalf("XREAD BLOCK: %s", got)
	}
	want := []string{"XREAD", "BLOCK", "100", "STREAMS", "s", "nokey", "1-1", "0-0"}
	if len(c.BlockArgs) != len(want) {
		t.Fatalf("BlockArgs %q", c.BlockArgs)
	}
	for i := range want {
		if string(c.BlockArgs[i]) != want[i] {
			t.Fatalf("BlockArgs %q, want %q", c.BlockArgs, want)
		}
	}
	spec := h.Table.Lookup([]byte("xread"))
	argv := func(ss ...string) [][]byte {
		out := make([][]byte, len(ss))
		for i, s := range ss {
			out[i] = []byte(s)
		}
		return out
	}
	if n := spec.Block.Timeout(argv("XREAD", "COUNT", "5", "BLOCK", "100", "STREAMS", "s", "$")); n != 100 {
		t.Errorf("timeout %d", n)
	}
	if n := spec.Block.Timeout(argv("XREAD", "STREAMS", "s", "$")); n != -1 {
		t.Errorf("timeout without BLOCK %d", n)
	}
	if n := spec.Block.Timeout(argv("XREADGROUP", "GROUP", "block", "c", "BLOCK", "0", "STREAMS", "s", ">")); n != 0 {
		t.Errorf("XREADGROUP timeout %d", n)
	}
	if got := spec.Block.TimeoutReply.String(); got != "(nil)" {
		t.Errorf("timeout reply %s", got)
	}
	// The re-run sees entries added since.
	h.Check("2-1", "XADD", "s", "2-1", "f", "w")
	c2 := &command.Ctx{}
	blockArgs := make([]string, len(c.BlockArgs))
	for i, a := range c.BlockArgs {
		blockArgs[i] = string(a)
	}
	if got := run(h, c2, blockArgs...); got != "[[s [[2-1 [f w]]]]]" {
		t.Errorf("re-run: %s", got)
	}
	// Explicit IDs: no rewrite needed.
	c3 := &command.Ctx{}
	if got := run(h, c3, "XREAD", "BLOCK", "0", "STREAMS", "s", "2-1"); got != "(error) CAIRNBLOCKED" || c3.BlockArgs != nil {
		t.Errorf("XREAD explicit: %s %q", got, c3.BlockArgs)
	}
	// Inside MULTI: the timeout reply at once.
	if got := run(h, &command.Ctx{NoBlock: true}, "XREAD", "BLOCK", "0", "STREAMS", "s", "$"); got != "(nil)" {
		t.Errorf("NoBlock: %s", got)
	}
	// Without BLOCK: a null array.
	if got := run(h, &command.Ctx{}, "XREAD", "STREAMS", "s", "$"); got != "(nil)" {
		t.Errorf("no BLOCK: %s", got)
	}
	// XREADGROUP > blocks when the group has read everything.
	h.Check("OK", "XGROUP", "CREATE", "s", "g", "$")
	if got := run(h, &command.Ctx{}, "XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">"); got != "(error) CAIRNBLOCKED" {
		t.Errorf("XREADGROUP: %s", got)
	}
	if got := run(h, &command.Ctx{NoBlock: true}, "XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">"); got != "(nil)" {
		t.Errorf("XREADGROUP NoBlock: %s", got)
	}
	h.Check("[]", "XINFO", "CONSUMERS", "s", "g") // nothing served: no consumer yet
	h.Check("3-1", "XADD", "s", "3-1", "f", "x")
	h.Check("[[s [[3-1 [f x]]]]]", "XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">")
	// History reads never block.
	h.Check("[[s []]]", "XREADGROUP", "GROUP", "g", "c2", "BLOCK", "0", "STREAMS", "s", "0")
}

func TestNotifications(t *testing.T) {
	h := harness(t)
	c := &command.Ctx{NotifyMask: command.ClassBit(command.ClassStream)}
	events := func() string {
		var out []string
		for _, e := range c.Events {
			out = append(out, e.Name)
		}
		c.Events = nil
		return strings.Join(out, ",")
	}
	steps := []struct {
		args   []string
		events string
	}{
		{[]string{"XADD", "s", "1-1", "f", "v"}, "xadd"},
		{[]string{"XADD", "s", "MAXLEN", "0", "2-1", "f", "v"}, "xadd,xtrim"},
		{[]string{"XADD", "s", "1-1", "f", "v"}, ""},
		{[]string{"XADD", "s", "3-1", "f", "v"}, "xadd"},
		{[]string{"XDEL", "s", "3-1", "9-9"}, "xdel"},
		{[]string{"XDEL", "s", "9-9"}, ""},
		{[]string{"XADD", "s", "4-1", "f", "v"}, "xadd"},
		{[]string{"XTRIM", "s", "MAXLEN", "0"}, "xtrim"},
		{[]string{"XTRIM", "s", "MAXLEN", "0"}, ""},
		{[]string{"XSETID", "s", "10-1"}, "xsetid"},
		{[]string{"XGROUP", "CREATE", "s", "g", "0"}, "xgroup-create"},
		{[]string{"XGROUP", "CREATECONSUMER", "s", "g", "c"}, "xgroup-createconsumer"},
		{[]string{"XGROUP", "CREATECONSUMER", "s", "g", "c"}, ""},
		{[]string{"XGROUP", "SETID", "s", "g", "0"}, "xgroup-setid"},
		{[]string{"XGROUP", "DELCONSUMER", "s", "g", "c"}, "xgroup-delconsumer"},
		{[]string{"XADD", "s", "11-1", "f", "v"}, "xadd"},
		{[]string{"XREADGROUP", "GROUP", "g", "c2", "STREAMS", "s", ">"}, "xgroup-createconsumer"},
		{[]string{"XCLAIM", "s", "g", "c3", "0", "11-1"}, "xgroup-createconsumer"},
		{[]string{"XAUTOCLAIM", "s", "g", "c4", "0", "0"}, "xgroup-createconsumer"},
		{[]string{"XGROUP", "DESTROY", "s", "g"}, "xgroup-destroy"},
		{[]string{"XGROUP", "CREATE", "m", "g", "$", "MKSTREAM"}, "xgroup-create"},
	}
	for _, st := range steps {
		run(h, c, st.args...)
		if got := events(); got != st.events {
			t.Errorf("%q: events %q, want %q", st.args, got, st.events)
		}
	}
}

func TestDirty(t *testing.T) {
	h := harness(t)
	cases := []struct {
		args  []string
		dirty int64
	}{
		{[]string{"XADD", "s", "1-1", "f", "v"}, 1},
		{[]string{"XADD", "s", "2-1", "f", "v"}, 1},
		{[]string{"XADD", "s", "3-1", "f", "v"}, 1},
		{[]string{"XDEL", "s", "1-1", "2-1", "5-5"}, 2},
		{[]string{"XTRIM", "s", "MAXLEN", "0"}, 1},
		{[]string{"XADD", "s", "4-1", "f", "v"}, 1},
		{[]string{"XGROUP", "CREATE", "s", "g", "0"}, 1},
		{[]string{"XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">"}, 2},
		{[]string{"XACK", "s", "g", "4-1", "4-1"}, 1},
		{[]string{"XSETID", "s", "9-9"}, 1},
	}
	for _, tc := range cases {
		c := &command.Ctx{}
		run(h, c, tc.args...)
		if c.Dirty != tc.dirty {
			t.Errorf("%q: dirty %d, want %d", tc.args, c.Dirty, tc.dirty)
		}
	}
}

// TestNodeBoundaries checks that nodes split as Redis's do (100 entries,
// counting deleted ones; 4096 bytes) and that "~" trims whole nodes only.
func TestNodeBoundaries(t *testing.T) {
	h := harness(t)
	for i := 1; i <= 250; i++ {
		h.Do("XADD", "s", strconv.Itoa(i)+"-1", "f", "v")
	}
	s := h.DB.Peek([]byte("s")).Obj.(*keyspace.Stream)
	if s.NodeCount() != 3 {
		t.Fatalf("nodes %d", s.NodeCount())
	}
	h.Check("0", "XTRIM", "s", "MAXLEN", "~", "160")
	h.Check("100", "XTRIM", "s", "MAXLEN", "~", "150")
	h.Check("150", "XLEN", "s")
	h.Check("0", "XTRIM", "s", "MINID", "~", "200")
	h.Check("100", "XTRIM", "s", "MINID", "~", "201")
	h.Check("1", "XTRIM", "s", "MINID", "202")
	h.Check("49", "XLEN", "s")
	// LIMIT caps approximate trimming at whole nodes.
	h2 := harness(t)
	for i := 1; i <= 300; i++ {
		h2.Do("XADD", "s", strconv.Itoa(i)+"-1", "f", "v")
	}
	h2.Check("0", "XTRIM", "s", "MAXLEN", "~", "0", "LIMIT", "99")
	h2.Check("200", "XTRIM", "s", "MAXLEN", "~", "0", "LIMIT", "250")
	// Bytes: 36 entries of 100-byte values fill a node.
	h3 := harness(t)
	for i := 1; i <= 40; i++ {
		h3.Do("XADD", "s", strconv.Itoa(i)+"-1", "f", strings.Repeat("x", 100))
	}
	if n := h3.DB.Peek([]byte("s")).Obj.(*keyspace.Stream).NodeCount(); n != 2 {
		t.Errorf("byte-limited nodes %d", n)
	}
	h3.Check("36", "XTRIM", "s", "MAXLEN", "~", "1")
}

func TestEmptyStreamKept(t *testing.T) {
	h := harness(t)
	h.Check("1-1", "XADD", "s", "1-1", "f", "v")
	h.Check("1", "XDEL", "s", "1-1")
	h.Check("0", "XLEN", "s")
	if h.DB.Peek([]byte("s")) == nil {
		t.Fatal("an emptied stream must be kept")
	}
	h.Check("(error) ERR The ID specified in XADD is equal or smaller than the target stream top item", "XADD", "s", "1-1", "f", "v")
}

// TestSnapshotIsolation changes a stream after a snapshot and checks the
// snapshot's copy does not move, for every kind of change.
func TestSnapshotIsolation(t *testing.T) {
	h := harness(t)
	for i := 1; i <= 150; i++ {
		h.Do("XADD", "s", strconv.Itoa(i)+"-1", "f", "v"+strconv.Itoa(i))
	}
	h.Do("XGROUP", "CREATE", "s", "g", "0")
	h.Do("XREADGROUP", "GROUP", "g", "c", "COUNT", "10", "STREAMS", "s", ">")
	old := h.DB.Peek([]byte("s")).Obj.(*keyspace.Stream)
	before := dumpStream(old)
	h.DB.Snapshot()
	for _, args := range [][]string{
		{"XADD", "s", "151-1", "f", "v"}, {"XDEL", "s", "5-1", "120-1"}, {"XTRIM", "s", "MAXLEN", "100"},
		{"XREADGROUP", "GROUP", "g", "c2", "COUNT", "5", "STREAMS", "s", ">"}, {"XACK", "s", "g", "2-1"},
		{"XCLAIM", "s", "g", "c3", "0", "3-1"}, {"XGROUP", "CREATECONSUMER", "s", "g", "c9"}, {"XGROUP", "SETID", "s", "g", "0"},
	} {
		h.Do(args...)
		if after := dumpStream(old); after != before {
			t.Fatalf("%q changed the snapshot's stream", args)
		}
	}
	// COPY-like clones: both sides may change independently.
	cur := h.DB.Peek([]byte("s")).Obj.(*keyspace.Stream)
	cl := cur.Clone().(*keyspace.Stream)
	snap := dumpStream(cl)
	h.Do("XADD", "s", "152-1", "f", "v")
	h.Do("XDEL", "s", "130-1")
	if dumpStream(cl) != snap {
		t.Fatal("changing the original changed its clone")
	}
	cl.Append(keyspace.StreamID{Ms: 999}, [][]byte{[]byte("a"), []byte("b")})
	if got := h.Do("XLEN", "s").String(); got != "100" {
		t.Fatalf("changing the clone changed the original: XLEN %s", got)
	}
}

func dumpStream(s *keyspace.Stream) string {
	var b strings.Builder
	s.Range(keyspace.StreamID{}, keyspace.MaxStreamID, false, func(id keyspace.StreamID, fv [][]byte) bool {
		b.WriteString(id.String())
		for _, f := range fv {
			b.WriteString(" " + string(f))
		}
		b.WriteString(";")
		return true
	})
	b.WriteString(s.LastID.String() + s.FirstID.String() + s.MaxDeletedID.String() + strconv.FormatUint(s.EntriesAdded, 10))
	s.EachNode(func(m keyspace.StreamID, lp []byte) bool {
		b.WriteString(m.String() + ":" + string(lp))
		return true
	})
	for _, g := range s.Groups() {
		b.WriteString("|" + g.Name + g.LastID.String() + strconv.FormatInt(g.EntriesRead, 10))
		g.AscendPending(keyspace.StreamID{}, func(pe keyspace.PendingEntry) bool {
			b.WriteString(pe.ID.String() + pe.Consumer + strconv.FormatInt(pe.DeliveryTime, 10) + strconv.FormatUint(pe.DeliveryCount, 10))
			return true
		})
		for _, c := range g.Consumers() {
			b.WriteString("/" + c.Name + strconv.FormatInt(c.SeenTime, 10) + strconv.Itoa(c.PendingLen()))
		}
	}
	return b.String()
}

func TestParseID(t *testing.T) {
	cases := []struct {
		in     string
		strict bool
		want   string // "" for invalid
	}{
		{"1-2", true, "1-2"}, {"1", true, "1-0"}, {"-", false, "0-0"}, {"+", false, "18446744073709551615-18446744073709551615"},
		{"-", true, ""}, {"+", true, ""}, {"", true, ""}, {"x", true, ""}, {"1-", true, ""}, {"-1", true, ""},
		{" 1", true, "1-0"}, {"+1", true, "1-0"}, {"01", true, "1-0"}, {"1-+2", true, "1-2"}, {"1- 2", true, "1-2"},
		{"-0", true, ""}, {"1-2-3", true, ""}, {"18446744073709551615", true, "18446744073709551615-0"},
		{"18446744073709551616", true, ""}, {" -1", true, ""}, {"1- -1", true, "1-18446744073709551615"}, {"1--1", true, ""}, {"1\x00garbage", true, "1-0"},
		{"1\x00-5", true, "1-0"}, {"-\x00", true, ""}, {strings.Repeat("1", 128), true, ""}, {"1-*", true, ""},
		{"0x10", true, ""}, {"1 ", true, ""}, {"\t7", true, "7-0"},
	}
	for _, tc := range cases {
		id, err := parseID([]byte(tc.in), 0, tc.strict, nil)
		got := ""
		if err == nil {
			got = id.String()
		}
		if got != tc.want {
			t.Errorf("parseID(%q, strict=%v) = %q, want %q", tc.in, tc.strict, got, tc.want)
		}
	}
	var seqGiven bool
	if id, err := parseID([]byte("5-*"), 0, true, &seqGiven); err != nil || seqGiven || id.Ms != 5 {
		t.Errorf("5-*: %v %v %v", id, err, seqGiven)
	}
}

// TestIdleTimes checks every idle-time path with the harness clock: all
// delivery and seen times are the entry's time (c.Now).
func TestIdleTimes(t *testing.T) {
	h := harness(t)
	h.Now = 10000
	h.Check("1-1", "XADD", "s", "1-1", "f", "v")
	h.Check("2-1", "XADD", "s", "2-1", "f", "w")
	h.Check("OK", "XGROUP", "CREATE", "s", "g", "0")
	h.Check("[[s [[1-1 [f v]] [2-1 [f w]]]]]", "XREADGROUP", "GROUP", "g", "c1", "STREAMS", "s", ">")
	h.Now = 10100
	h.Check("[[1-1 c1 100 1] [2-1 c1 100 1]]", "XPENDING", "s", "g", "IDLE", "50", "-", "+", "10")
	h.Check("[]", "XPENDING", "s", "g", "IDLE", "101", "-", "+", "10")
	h.Check("[]", "XCLAIM", "s", "g", "c2", "200", "1-1")
	h.Check("[[name c1 pending 2 idle 100]]", "XINFO", "CONSUMERS", "s", "g")
	h.Check("[[1-1 [f v]]]", "XCLAIM", "s", "g", "c2", "100", "1-1")
	h.Check("[[1-1 c2 0 2] [2-1 c1 100 1]]", "XPENDING", "s", "g", "-", "+", "10")
	h.Check("[1-1]", "XCLAIM", "s", "g", "c2", "0", "1-1", "IDLE", "500", "JUSTID")
	h.Check("[[1-1 c2 500 2]]", "XPENDING", "s", "g", "-", "+", "10", "c2")
	h.Check("[1-1]", "XCLAIM", "s", "g", "c2", "0", "1-1", "TIME", "9000", "JUSTID")
	h.Check("[[1-1 c2 1100 2]]", "XPENDING", "s", "g", "-", "+", "10", "c2")
	h.Check("[1-1]", "XCLAIM", "s", "g", "c2", "0", "1-1", "TIME", "99999", "JUSTID") // future: now
	h.Check("[[1-1 c2 0 2]]", "XPENDING", "s", "g", "-", "+", "10", "c2")
	h.Now = 10300
	h.Check("[0-0 [[2-1 [f w]]] []]", "XAUTOCLAIM", "s", "g", "c3", "250", "0")
	h.Check("[[1-1 c2 200 2] [2-1 c3 0 2]]", "XPENDING", "s", "g", "-", "+", "10")
	h.Check("[[name c1 pending 0 idle 300] [name c2 pending 1 idle 200] [name c3 pending 1 idle 0]]", "XINFO", "CONSUMERS", "s", "g")
	full := h.Do("XINFO", "STREAM", "s", "FULL").String()
	if !strings.Contains(full, "[2-1 c3 10300 2]") || !strings.Contains(full, "seen-time 10300") {
		t.Errorf("XINFO STREAM FULL: %s", full)
	}
	// History reads count as deliveries at the current time.
	h.Now = 10400
	h.Check("[[s [[2-1 [f w]]]]]", "XREADGROUP", "GROUP", "g", "c3", "STREAMS", "s", "0")
	h.Check("[[2-1 c3 0 3]]", "XPENDING", "s", "g", "-", "+", "10", "c3")
}
