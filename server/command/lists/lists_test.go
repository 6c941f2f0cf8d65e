package lists

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/command/commandtest"
	"github.com/cairndb/cairn/server/command/keys"
	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/server/reply"
)

const (
	wrongType = "(error) WRONGTYPE Operation against a key holding the wrong kind of value"
	notInt    = "(error) ERR value is not an integer or out of range"
	syntaxErr = "(error) ERR syntax error"
)

type step struct {
	want string
	args []string
}

func s(want string, args ...string) step { return step{want, args} }

// run runs steps on a fresh harness that also holds a string key "str".
func run(t *testing.T, steps ...step) *commandtest.Harness {
	t.Helper()
	h := commandtest.New(t, Specs, keys.Specs)
	h.DB.Put([]byte("str"), []byte("v"), nil, 0)
	for _, st := range steps {
		h.Check(st.want, st.args...)
	}
	return h
}

func TestPushPop(t *testing.T) {
	run(t,
		s("3", "RPUSH", "l", "a", "b", "c"),
		s("5", "LPUSH", "l", "y", "z"),
		s("[z y a b c]", "LRANGE", "l", "0", "-1"),
		s("0", "LPUSHX", "nokey", "a"),
		s("0", "EXISTS", "nokey"),
		s("6", "RPUSHX", "l", "d"),
		s("z", "LPOP", "l"),
		s("d", "RPOP", "l"),
		s("[y a]", "LPOP", "l", "2"),
		s("[c b]", "RPOP", "l", "5"),
		s("0", "EXISTS", "l"),
		s("(nil)", "LPOP", "l"),
		s("(nil)", "LPOP", "l", "1"),
		s("(error) ERR value is out of range, must be positive", "LPOP", "l", "-1"),
		s("(error) ERR value is out of range, must be positive", "LPOP", "l", "x"),
		s("1", "RPUSH", "l", "a"),
		s("[]", "LPOP", "l", "0"),
		s("(error) ERR wrong number of arguments for 'lpop' command", "LPOP", "l", "1", "2"),
		s(wrongType, "LPUSH", "str", "a"),
		s(wrongType, "LPOP", "str"),
	)
}

func TestReadCommands(t *testing.T) {
	run(t,
		s("6", "RPUSH", "l", "a", "b", "c", "a", "b", "a"),
		s("6", "LLEN", "l"),
		s("0", "LLEN", "nokey"),
		s("a", "LINDEX", "l", "-1"),
		s("(nil)", "LINDEX", "l", "6"),
		s("(nil)", "LINDEX", "nokey", "x"),
		s(notInt, "LINDEX", "l", "x"),
		s("[b c]", "LRANGE", "l", "1", "2"),
		s("[]", "LRANGE", "l", "4", "2"),
		s("0", "LPOS", "l", "a"),
		s("5", "LPOS", "l", "a", "RANK", "-1"),
		s("[0 3 5]", "LPOS", "l", "a", "COUNT", "0"),
		s("[3]", "LPOS", "l", "a", "RANK", "2", "COUNT", "1"),
		s("[0]", "LPOS", "l", "a", "MAXLEN", "3", "COUNT", "0"),
		s("(nil)", "LPOS", "l", "zz"),
		s("[]", "LPOS", "nokey", "a", "COUNT", "1"),
		s("(error) ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list", "LPOS", "l", "a", "RANK", "0"),
		// Redis 7.2 refuses the one rank it cannot negate (7.0 overflows).
		s("(error) ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807", "LPOS", "l", "a", "RANK", "-9223372036854775808"),
		s("(error) ERR COUNT can't be negative", "LPOS", "l", "a", "COUNT", "x"),
		s("(error) ERR MAXLEN can't be negative", "LPOS", "l", "a", "MAXLEN", "-1"),
		s(syntaxErr, "LPOS", "l", "a", "RANK"),
	)
}

func TestModify(t *testing.T) {
	run(t,
		s("(error) ERR no such key", "LSET", "l", "0", "x"),
		s("4", "RPUSH", "l", "a", "b", "a", "c"),
		s("OK", "LSET", "l", "-1", "d"),
		s("(error) ERR index out of range", "LSET", "l", "4", "x"),
		s("5", "LINSERT", "l", "AFTER", "a", "a2"),
		s("-1", "LINSERT", "l", "BEFORE", "zz", "x"),
		s("0", "LINSERT", "nokey", "BEFORE", "a", "x"),
		s("[a a2 b a d]", "LRANGE", "l", "0", "-1"),
		s("1", "LREM", "l", "-1", "a"),
		s("[a a2 b d]", "LRANGE", "l", "0", "-1"),
		s("OK", "LTRIM", "l", "1", "2"),
		s("[a2 b]", "LRANGE", "l", "0", "-1"),
		s("OK", "LTRIM", "l", "5", "6"),
		s("0", "EXISTS", "l"),
	)
}

func TestMove(t *testing.T) {
	run(t,
		s("3", "RPUSH", "s", "1", "2", "3"),
		s("3", "RPOPLPUSH", "s", "d"),
		s("1", "LMOVE", "s", "d", "LEFT", "RIGHT"),
		s("[3 1]", "LRANGE", "d", "0", "-1"),
		s(wrongType, "LMOVE", "s", "str", "LEFT", "LEFT"),
		s("[2]", "LRANGE", "s", "0", "-1"),
		s("2", "LMOVE", "s", "s", "LEFT", "RIGHT"),
		s("2", "LMOVE", "s", "d", "RIGHT", "LEFT"),
		s("0", "EXISTS", "s"),
		s("(nil)", "LMOVE", "s", "str", "LEFT", "LEFT"),
		s("[d [2 3]]", "LMPOP", "2", "s", "d", "LEFT", "COUNT", "2"),
		s("(error) ERR numkeys should be greater than 0", "LMPOP", "0", "d", "LEFT"),
		s("(error) ERR count should be greater than 0", "LMPOP", "1", "d", "LEFT", "COUNT", "0"),
		s(syntaxErr, "LMPOP", "5", "d", "LEFT"),
	)
}

// exec runs one command with a Ctx the test controls (NoBlock, events).
func exec(h *commandtest.Harness, noBlock bool, args ...string) (reply.Value, *command.Ctx) {
	argv := make([][]byte, len(args))
	for i, a := range args {
		argv[i] = []byte(a)
	}
	spec, err := h.Table.Resolve(argv)
	if err != nil {
		return command.ErrorReply(err), nil
	}
	c := &command.Ctx{DB: h.DB, Now: h.Now, NoBlock: noBlock, NotifyMask: ^uint32(0)}
	return command.Exec(spec, c, argv), c
}

// TestBlocking checks the blocking protocol: Blocked when every key is
// empty (nothing changed), the timeout reply under NoBlock, a normal pop
// when data is there, and argument errors before anything else.
func TestBlocking(t *testing.T) {
	h := run(t)
	for _, args := range [][]string{
		{"BLPOP", "a", "b", "0"}, {"BRPOP", "a", "1.5"}, {"BLMOVE", "a", "b", "LEFT", "RIGHT", "0"},
		{"BRPOPLPUSH", "a", "b", "0"}, {"BLMPOP", "0", "2", "a", "b", "LEFT", "COUNT", "3"},
		{"BLMOVE", "a", "str", "LEFT", "RIGHT", "0"}, // the destination is not checked while blocked
	} {
		v, _ := exec(h, false, args...)
		if !command.IsBlocked(v) {
			t.Errorf("%q: %v, want Blocked", args, v)
		}
		v, _ = exec(h, true, args...)
		spec := h.Table.Lookup([]byte(args[0]))
		if !reply.Equal(v, spec.Block.TimeoutReply) {
			t.Errorf("%q under NoBlock: %v, want %v", args, v, spec.Block.TimeoutReply)
		}
		if h.DB.Len() != 1 {
			t.Fatalf("%q changed the keyspace", args)
		}
	}
	// Through the harness (the apply path) too.
	if v := h.Do("BLPOP", "a", "0"); !command.IsBlocked(v) {
		t.Errorf("BLPOP via apply: %v", v)
	}
	h.Check("(error) ERR timeout is not a float or out of range", "BLPOP", "a", "x")
	h.Check("(error) ERR timeout is negative", "BLPOP", "a", "-1")
	h.Check("(error) ERR timeout is negative", "BLPOP", "a", "inf")
	h.Check("(error) ERR timeout is out of range", "BLPOP", "a", "9223372036854775") // Redis 7.2
	h.Check(wrongType, "BLPOP", "str", "0")
	h.Check("2", "RPUSH", "b", "x", "y")
	h.Check("[b x]", "BLPOP", "a", "b", "0")
	h.Check("y", "BLMOVE", "b", "c", "LEFT", "RIGHT", "0")
	h.Check("0", "EXISTS", "b")
	h.Check("[c [y]]", "BLMPOP", "0", "2", "b", "c", "LEFT")

	// Timeouts and key positions.
	cases := []struct {
		args []string
		ms   int64
		keys []int
	}{
		{[]string{"BLPOP", "a", "b", "1.5"}, 1500, []int{1, 2}},
		{[]string{"BRPOP", "a", "0"}, 0, []int{1}},
		{[]string{"BRPOP", "a", "0.0005"}, 1, []int{1}},       // rounded up, as Redis's ceill
		{[]string{"BRPOP", "a", "-0.0001"}, 0, []int{1}},      // rounds to 0: forever
		{[]string{"BRPOP", "a", "2.0000001"}, 2001, []int{1}}, // rounded up
		{[]string{"BLMOVE", "a", "b", "LEFT", "LEFT", "0.001"}, 1, []int{1, 2}},
		{[]string{"BRPOPLPUSH", "a", "b", "2"}, 2000, []int{1, 2}},
		{[]string{"BLMPOP", "0.25", "3", "a", "b", "c", "LEFT"}, 250, []int{3, 4, 5}},
		{[]string{"LMPOP", "2", "a", "b", "LEFT"}, -1, []int{2, 3}},
	}
	for _, tc := range cases {
		argv := make([][]byte, len(tc.args))
		for i, a := range tc.args {
			argv[i] = []byte(a)
		}
		spec := h.Table.Lookup(argv[0])
		if got := fmt.Sprint(spec.Keys(argv)); got != fmt.Sprint(tc.keys) {
			t.Errorf("%q: keys %s, want %v", tc.args, got, tc.keys)
		}
		if tc.ms >= 0 {
			if spec.Flags&command.Blocking == 0 {
				t.Errorf("%s is not flagged blocking", spec.Name)
			}
			if got := spec.Block.Timeout(argv); got != tc.ms {
				t.Errorf("%q: timeout %d, want %d", tc.args, got, tc.ms)
			}
		}
	}
}

// TestEvents checks keyspace notifications and dirty counts against
// Redis's t_list.c.
func TestEvents(t *testing.T) {
	h := run(t)
	cases := []struct {
		args   []string
		events string
		dirty  int64
	}{
		{[]string{"RPUSH", "l", "a", "b", "c", "d"}, "l:rpush:l", 4},
		{[]string{"LPUSH", "l", "z"}, "l:lpush:l", 1},
		{[]string{"LPUSHX", "nokey", "z"}, "", 0},
		{[]string{"LINSERT", "l", "BEFORE", "a", "a0"}, "l:linsert:l", 1},
		{[]string{"LINSERT", "l", "BEFORE", "nope", "x"}, "", 0},
		{[]string{"LSET", "l", "0", "q"}, "l:lset:l", 1},
		{[]string{"LREM", "l", "0", "a0"}, "l:lrem:l", 1},
		{[]string{"LREM", "l", "0", "nope"}, "", 0},
		{[]string{"LPOP", "l", "2"}, "l:lpop:l", 2},
		{[]string{"RPOP", "l"}, "l:rpop:l", 1},
		{[]string{"LTRIM", "l", "0", "-1"}, "l:ltrim:l", 0},
		{[]string{"LMOVE", "l", "m", "LEFT", "RIGHT"}, "l:rpush:m l:lpop:l", 1},
		{[]string{"RPOPLPUSH", "l", "m"}, "l:lpush:m l:rpop:l g:del:l", 1},
		{[]string{"LMPOP", "1", "m", "RIGHT", "COUNT", "5"}, "l:rpop:m g:del:m", 2},
		{[]string{"RPUSH", "n", "1", "2"}, "l:rpush:n", 2},
		{[]string{"BLPOP", "x", "n", "0"}, "l:lpop:n", 1},
		{[]string{"LTRIM", "n", "1", "0"}, "l:ltrim:n g:del:n", 1},
	}
	for _, tc := range cases {
		_, c := exec(h, false, tc.args...)
		var ev []string
		for _, e := range c.Events {
			ev = append(ev, string(e.Class)+":"+e.Name+":"+e.Key)
		}
		if got := strings.Join(ev, " "); got != tc.events || c.Dirty != tc.dirty {
			t.Errorf("%q: events %q dirty %d, want %q %d", tc.args, got, c.Dirty, tc.events, tc.dirty)
		}
	}
}

// TestEncoding checks OBJECT ENCODING through Redis 7.2's conversions
// (Redis 7.0 always reports quicklist).
func TestEncoding(t *testing.T) {
	h := run(t)
	h.Check("1", "RPUSH", "l", "a")
	h.Check("listpack", "OBJECT", "ENCODING", "l")
	h.Check("list", "TYPE", "l")
	big := strings.Repeat("x", 8200)
	h.Check("2", "RPUSH", "l", big)
	h.Check("quicklist", "OBJECT", "ENCODING", "l")
	h.Check(big, "RPOP", "l")
	h.Check("listpack", "OBJECT", "ENCODING", "l")
	// A failed LSET still converts, as Redis 7.2's does.
	h.Check("(error) ERR index out of range", "LSET", "l", "5", big)
	h.Check("quicklist", "OBJECT", "ENCODING", "l")
	h.Check("OK", "LSET", "l", "0", "b")
	h.Check("listpack", "OBJECT", "ENCODING", "l")
	args := []string{"RPUSH", "m"}
	for i := 0; i < 2000; i++ {
		args = append(args, "element-"+strconv.Itoa(i))
	}
	h.Check("2000", args...)
	h.Check("quicklist", "OBJECT", "ENCODING", "m")
	h.Check("OK", "LTRIM", "m", "0", "99")
	h.Check("listpack", "OBJECT", "ENCODING", "m")
	l := h.DB.Get([]byte("m"), h.Now).Obj.(*keyspace.List)
	if l.Chunks() != 1 {
		t.Fatalf("%d nodes", l.Chunks())
	}
}

// TestRangeAliasing checks that LRANGE replies, which alias the list's
// storage, survive later writes to the list.
func TestRangeAliasing(t *testing.T) {
	h := run(t)
	h.Check("3", "RPUSH", "l", "a", "b", "c")
	argv := [][]byte{[]byte("LRANGE"), []byte("l"), []byte("0"), []byte("-1")}
	spec := h.Table.Lookup(argv[0])
	c := &command.Ctx{DB: h.DB, Now: h.Now}
	v := command.Exec(spec, c, argv)
	for i := 0; i < 100; i++ {
		h.Do("RPOP", "l")
		h.Do("RPUSH", "l", "XXXXXXXX", "YYYY")
		h.Do("LPOP", "l")
		h.Do("LPUSH", "l", "ZZZZZZZZ")
	}
	if v.String() != "[a b c]" {
		t.Fatalf("LRANGE reply changed to %s", v)
	}
}
