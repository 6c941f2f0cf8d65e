package zsets

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/command/commandtest"
	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/server/reply"
)

func harness(t *testing.T) *commandtest.Harness {
	h := commandtest.New(t, Specs)
	h.DB.Put([]byte("str"), []byte("v"), nil, 0)
	return h
}

// exec runs one command with a context the test controls (notifications,
// NoBlock) and returns the reply and the context.
func exec(h *commandtest.Harness, c *command.Ctx, args ...string) reply.Value {
	argv := make([][]byte, len(args))
	for i, a := range args {
		argv[i] = []byte(a)
	}
	s, err := h.Table.Resolve(argv)
	if err != nil {
		return command.ErrorReply(err)
	}
	c.DB, c.Now = h.DB, h.Now
	return command.Exec(s, c, argv)
}

func TestZAddTable(t *testing.T) {
	h := harness(t)
	for _, c := range [][]string{
		{"3", "ZADD", "z", "1", "a", "2", "b", "3", "c"},
		{"0", "ZADD", "z", "NX", "5", "a"},
		{"1", "ZADD", "z", "XX", "CH", "5", "a", "9", "new"},
		{"(nil)", "ZADD", "z", "XX", "INCR", "1", "new"},
		{"6.5", "ZADD", "z", "INCR", "1.5", "a"},
		{"1", "ZADD", "z", "inf", "i"},
		{"(error) ERR resulting score is not a number (NaN)", "ZADD", "z", "INCR", "-inf", "i"},
		{"(error) ERR resulting score is not a number (NaN)", "ZINCRBY", "z", "-inf", "i"},
		{"inf", "ZSCORE", "z", "i"},
		{"[b 2 c 3 a 6.5 i inf]", "ZRANGE", "z", "0", "-1", "WITHSCORES"},
		{"0.10000000000000001", "ZINCRBY", "f", "0.1", "x"},
		{"0.30000000000000004", "ZINCRBY", "f", "0.2", "x"},
		{"(error) WRONGTYPE Operation against a key holding the wrong kind of value", "ZADD", "str", "1", "a"},
	} {
		h.Check(c[0], c[1:]...)
	}
}

func TestZRankWithScore(t *testing.T) {
	// ZRANK/ZREVRANK ... WITHSCORE is Redis 7.2: table tests only.
	h := harness(t)
	h.Check("3", "ZADD", "z", "1", "a", "2.5", "b", "3", "c")
	h.Check("[1 2.5]", "ZRANK", "z", "b", "WITHSCORE")
	h.Check("[0 3]", "ZREVRANK", "z", "c", "withscore")
	h.Check("(nil)", "ZRANK", "z", "nope", "WITHSCORE")
	h.Check("(nil)", "ZRANK", "nokey", "a", "WITHSCORE")
	if v := h.Do("ZRANK", "z", "nope", "WITHSCORE"); v.Kind != reply.KindNilArray {
		t.Errorf("missing member WITHSCORE: kind %d, want a null array", v.Kind)
	}
	h.Check("(error) ERR syntax error", "ZRANK", "z", "a", "WITHSCORES")
	h.Check("(error) ERR wrong number of arguments for 'zrank' command", "ZRANK", "z", "a", "WITHSCORE", "x")
	h.Check("1", "ZRANK", "z", "b")
}

func TestBlocking(t *testing.T) {
	h := harness(t)
	for _, args := range [][]string{
		{"BZPOPMIN", "a", "b", "0"}, {"BZPOPMAX", "a", "1.5"}, {"BZMPOP", "0", "2", "a", "b", "MIN", "COUNT", "3"},
	} {
		c := &command.Ctx{}
		if v := exec(h, c, args...); !command.IsBlocked(v) {
			t.Errorf("%q on empty keys: %s, want Blocked", args, v)
		}
		c = &command.Ctx{NoBlock: true}
		if v := exec(h, c, args...); v.Kind != reply.KindNilArray {
			t.Errorf("%q with NoBlock: %s, want a null array", args, v)
		}
		spec := h.Table.Lookup([]byte(args[0]))
		argv := make([][]byte, len(args))
		for i, a := range args {
			argv[i] = []byte(a)
		}
		want := map[string]int64{"BZPOPMIN": 0, "BZPOPMAX": 1500, "BZMPOP": 0}[args[0]]
		if spec.Block == nil || spec.Block.Timeout(argv) != want {
			t.Errorf("%s: BlockSpec timeout wrong", args[0])
		}
		if spec.Block.TimeoutReply.Kind != reply.KindNilArray {
			t.Errorf("%s: timeout reply %v", args[0], spec.Block.TimeoutReply)
		}
	}
	h.Check("2", "ZADD", "b", "1", "x", "2", "y")
	h.Check("[b x 1]", "BZPOPMIN", "a", "b", "0")
	h.Check("[b [[y 2]]]", "BZMPOP", "0.01", "2", "a", "b", "MAX", "COUNT", "5")
	h.Check("0", "ZCARD", "b")
	for _, c := range [][]string{
		{"(error) ERR timeout is negative", "BZPOPMIN", "a", "-1"},
		{"(error) ERR timeout is not a float or out of range", "BZPOPMIN", "a", "x"},
		{"(error) ERR numkeys should be greater than 0", "BZMPOP", "1", "0", "a", "MIN"},
	} {
		h.Check(c[0], c[1:]...)
	}
	// Timeouts round up to whole milliseconds, as Redis's ceill.
	for in, want := range map[string]int64{"0.0001": 1, "-0.0001": 0, "2": 2000, "0.0015": 2, "1e-400": 1} {
		if ms, err := parseTimeout([]byte(in)); err != nil || ms != want {
			t.Errorf("parseTimeout(%s) = %d, %v; want %d", in, ms, err, want)
		}
	}
}

func TestNotificationsAndDirty(t *testing.T) {
	h := harness(t)
	all := command.ClassBit(command.ClassZSet) | command.ClassBit(command.ClassGeneric)
	cases := []struct {
		args   []string
		events string
		dirty  int64
	}{
		{[]string{"ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d"}, "z:zadd@z", 4},
		{[]string{"ZADD", "z", "1", "a"}, "", 0},
		{[]string{"ZINCRBY", "z", "1", "a"}, "z:zincr@z", 1},
		{[]string{"ZREM", "z", "a", "nope"}, "z:zrem@z", 1},
		{[]string{"ZREMRANGEBYRANK", "z", "0", "0"}, "z:zremrangebyrank@z", 1},
		{[]string{"ZREMRANGEBYSCORE", "z", "3", "3"}, "z:zremrangebyscore@z", 1},
		{[]string{"ZADD", "z", "0", "m", "0", "n"}, "z:zadd@z", 2},
		{[]string{"ZREMRANGEBYLEX", "z", "-", "[m"}, "z:zremrangebylex@z", 1},
		{[]string{"ZPOPMIN", "z"}, "z:zpopmin@z", 1},
		{[]string{"ZPOPMAX", "z", "5"}, "z:zpopmax@z g:del@z", 1},
		{[]string{"ZADD", "s", "1", "a", "2", "b"}, "z:zadd@s", 2},
		{[]string{"ZUNIONSTORE", "u", "1", "s"}, "z:zunionstore@u", 1},
		{[]string{"ZINTERSTORE", "u", "1", "s"}, "z:zinterstore@u", 1},
		{[]string{"ZDIFFSTORE", "u", "1", "s"}, "z:zdiffstore@u", 1},
		{[]string{"ZRANGESTORE", "u", "s", "0", "0"}, "z:zrangestore@u", 1},
		{[]string{"ZRANGESTORE", "u", "s", "5", "6"}, "g:del@u", 1},
		{[]string{"ZMPOP", "1", "s", "MAX", "COUNT", "9"}, "z:zpopmax@s g:del@s", 2},
	}
	for _, tc := range cases {
		c := &command.Ctx{NotifyMask: all}
		v := exec(h, c, tc.args...)
		if v.IsError() {
			t.Fatalf("%q: %s", tc.args, v)
		}
		var ev []string
		for _, e := range c.Events {
			ev = append(ev, fmt.Sprintf("%c:%s@%s", e.Class, e.Name, e.Key))
		}
		if got := strings.Join(ev, " "); got != tc.events || c.Dirty != tc.dirty {
			t.Errorf("%q: events %q dirty %d, want %q %d", tc.args, got, c.Dirty, tc.events, tc.dirty)
		}
	}
}

func TestKeysFunc(t *testing.T) {
	h := harness(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"ZMPOP", "2", "a", "b", "MIN"}, "[2 3]"},
		{[]string{"ZMPOP", "5", "a", "MIN"}, "[]"}, // numkeys too large: none, as Redis's GETKEYS
		{[]string{"ZUNIONSTORE", "d", "0", "a"}, "[]"},
		{[]string{"ZMPOP", "x", "a", "MIN"}, "[]"},
		{[]string{"BZMPOP", "0", "2", "a", "b", "MIN"}, "[3 4]"},
		{[]string{"ZUNIONSTORE", "d", "2", "a", "b"}, "[1 3 4]"},
		{[]string{"ZINTERCARD", "1", "a"}, "[2]"},
		{[]string{"BZPOPMIN", "a", "b", "0"}, "[1 2]"},
		{[]string{"ZRANGESTORE", "d", "s", "0", "1"}, "[1 2]"},
	} {
		argv := make([][]byte, len(c.args))
		for i, a := range c.args {
			argv[i] = []byte(a)
		}
		if got := fmt.Sprint(h.Table.Lookup(argv[0]).Keys(argv)); got != c.want {
			t.Errorf("%q keys %s, want %s", c.args, got, c.want)
		}
	}
}

// TestSnapshotCOW checks a snapshot keeps a big set's content while the
// set is changed, and that a copy of the set (COPY) is independent.
func TestSnapshotCOW(t *testing.T) {
	h := harness(t)
	args := []string{"ZADD", "z"}
	for i := 0; i < 1000; i++ {
		args = append(args, strconv.Itoa(i), "m"+strconv.Itoa(i))
	}
	h.Check("1000", args...)
	before := h.DB.Digest()
	snap := h.DB.Snapshot()
	h.Check("10", "ZREMRANGEBYRANK", "z", "0", "9")
	h.Check("1", "ZADD", "z", "-5", "new")
	if snap.Digest() != before {
		t.Fatal("snapshot changed with the live set")
	}
	if h.DB.Digest() == before {
		t.Fatal("live set did not change")
	}
	z := h.DB.Peek([]byte("z")).Obj.(*keyspace.ZSet)
	if z.Len() != 991 || z.At(0).Member != "new" {
		t.Fatalf("live set: len %d first %v", z.Len(), z.At(0))
	}
}

// TestRandMemberDistribution checks every sampling path returns distinct
// (or valid) members and reaches every member.
func TestRandMemberDistribution(t *testing.T) {
	for _, size := range []int{5, 100, 1000} {
		h := harness(t)
		args := []string{"ZADD", "z"}
		for i := 0; i < size; i++ {
			args = append(args, strconv.Itoa(i), "m"+strconv.Itoa(i))
		}
		h.Do(args...)
		for _, count := range []int{1, 2, size / 3, size / 2, size - 1, -1, -size} {
			if count == 0 {
				continue
			}
			seen := map[string]int{}
			for round := 0; round < 30; round++ {
				h.Seed++
				v := h.Do("ZRANDMEMBER", "z", strconv.Itoa(count))
				n := count
				if n < 0 {
					n = -n
				}
				if len(v.Elems) != n {
					t.Fatalf("size %d count %d: %d members", size, count, len(v.Elems))
				}
				dup := map[string]bool{}
				for _, e := range v.Elems {
					m := string(e.Str)
					if count > 0 && dup[m] {
						t.Fatalf("size %d count %d: repeated %s", size, count, m)
					}
					dup[m] = true
					seen[m]++
				}
			}
			if size <= 100 && count*30 >= 4*size && len(seen) < size {
				t.Errorf("size %d count %d: only %d members ever returned", size, count, len(seen))
			}
		}
	}
}
