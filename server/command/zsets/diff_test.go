package zsets

import (
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/cairndb/cairn/server/command/commandtest"
	"github.com/cairndb/cairn/server/command/keys"
	"github.com/cairndb/cairn/server/command/strs"
	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/server/reply"
)

// newDiff starts a redis-server and a harness (sorted-set and key
// commands), both holding the string key "str" for WRONGTYPE paths.
func newDiff(t *testing.T) *commandtest.Diff {
	d := commandtest.NewDiff(t, Specs, keys.Specs, strs.Specs)
	if v, err := d.Redis.Do("SET", "str", "v"); err != nil || v.IsError() {
		t.Fatalf("SET: %v %v", v, err)
	}
	d.H.DB.Put([]byte("str"), []byte("v"), nil, 0)
	return d
}

func compareAll(d *commandtest.Diff, cmds [][]string) {
	for _, c := range cmds {
		d.Compare(c...)
	}
}

// TestDiffDeterministic runs every command, option and error path on Cairn
// and on redis-server and compares the replies exactly.
func TestDiffDeterministic(t *testing.T) {
	d := newDiff(t)
	long := strings.Repeat("x", 65)
	compareAll(d, [][]string{
		// ZADD options and errors
		{"ZADD", "z", "1", "a"}, {"ZADD", "z", "2", "b", "3", "c"}, {"ZADD", "z", "1", "a", "5", "d"},
		{"ZADD", "z", "NX", "10", "a", "6", "e"}, {"ZADD", "z", "XX", "10", "a", "7", "f"},
		{"ZADD", "z", "XX", "CH", "11", "a", "7", "f"}, {"ZADD", "z", "CH", "11", "a", "12", "b", "0", "g"},
		{"ZADD", "z", "GT", "CH", "5", "a", "20", "b"}, {"ZADD", "z", "LT", "CH", "5", "a", "30", "b"},
		{"ZADD", "z", "GT", "XX", "CH", "100", "a", "1", "new"}, {"ZADD", "z", "LT", "XX", "-1", "a"},
		{"ZADD", "z", "XX", "NX", "1", "a"}, {"ZADD", "z", "nx", "xx", "1", "a"}, {"ZADD", "z", "GT", "LT", "1", "a"},
		{"ZADD", "z", "GT", "NX", "1", "a"}, {"ZADD", "z", "LT", "NX", "1", "a"},
		{"ZADD", "z", "INCR", "1", "a", "2", "b"}, {"ZADD", "z", "INCR", "2.5", "a"}, {"ZADD", "z", "INCR", "NX", "2.5", "a"},
		{"ZADD", "z", "INCR", "XX", "2.5", "zz"}, {"ZADD", "z", "INCR", "GT", "-1", "a"}, {"ZADD", "z", "INCR", "LT", "-1", "a"},
		{"ZADD", "z", "1"}, {"ZADD", "z", "1", "a", "2"}, {"ZADD", "z"}, {"ZADD", "z", "NX"}, {"ZADD", "z", "NX", "XX"},
		{"ZADD", "z", "x", "a"}, {"ZADD", "z", "1", "a", "x", "b"}, {"ZADD", "z", "nan", "a"}, {"ZADD", "z", "NaN", "a"},
		{"ZADD", "z", "inf", "i1"}, {"ZADD", "z", "-inf", "i2"}, {"ZADD", "z", "+inf", "i3"}, {"ZADD", "z", "Infinity", "i4"},
		{"ZADD", "z", "-INFINITY", "i5"}, {"ZADD", "z", "infinit", "i6"}, {"ZADD", "z", "1e400", "i7"}, {"ZADD", "z", "1e-400", "i7"},
		{"ZADD", "z", "1e-310", "den"}, {"ZADD", "z", "0x10", "hex"}, {"ZADD", "z", "0x1p-2", "hex2"}, {"ZADD", "z", "0x", "hex3"},
		{"ZADD", "z", " 1", "sp"}, {"ZADD", "z", "1 ", "sp"}, {"ZADD", "z", "", "empty"}, {"ZADD", "z", ".5", "dot"},
		{"ZADD", "z", "5.", "dot2"}, {"ZADD", "z", "1e5", "exp"}, {"ZADD", "z", "1E+2", "exp2"}, {"ZADD", "z", "-0", "negz"},
		{"ZADD", "z", "1\x00", "nul"}, {"ZADD", "z", "0.1", "tenth"}, {"ZADD", "z", "123456789012345678", "big"},
		{"ZADD", "z", "1.7976931348623157e308", "max"}, {"ZADD", "z", "4.9e-324", "min"},
		{"ZADD", "z", "INCR", "inf", "i1"}, {"ZADD", "z", "INCR", "-inf", "i1"}, {"ZADD", "z", "INCR", "-inf", "i2"},
		{"ZADD", "str", "1", "a"}, {"ZADD", "str", "x", "a"}, {"ZADD", "str", "XX", "NX", "1", "a"},
		{"ZADD", "nokey", "XX", "1", "a"}, {"ZADD", "nokey", "XX", "INCR", "1", "a"}, {"EXISTS", "nokey"},
		{"ZADD", "nokey", "GT", "1", "a"}, {"ZADD", "dup", "1", "a", "2", "a", "3", "a"}, {"ZADD", "dup", "CH", "1", "a", "2", "a", "2", "a"},
		{"ZADD", "dup", "NX", "CH", "5", "b", "6", "b"},
		{"ZRANGE", "z", "0", "-1", "WITHSCORES"}, {"ZRANGE", "dup", "0", "-1", "WITHSCORES"},
		// ZINCRBY
		{"ZINCRBY", "z", "1.5", "a"}, {"ZINCRBY", "z", "1", "newm"}, {"ZINCRBY", "z", "x", "a"}, {"ZINCRBY", "z", "nan", "a"},
		{"ZINCRBY", "z", "-inf", "i1"}, {"ZINCRBY", "z", "inf", "i2"}, {"ZINCRBY", "str", "1", "a"}, {"ZINCRBY", "z", "incr", "a"},
		{"ZINCRBY", "z", "nx", "a"}, {"ZINCRBY", "z", "1"}, {"ZINCRBY", "zi", "0.1", "a"}, {"ZINCRBY", "zi", "0.2", "a"},
		{"ZINCRBY", "zi", "-0", "b"}, {"ZSCORE", "zi", "b"},
		// ZCARD / ZSCORE / ZMSCORE / ZRANK
		{"ZCARD", "z"}, {"ZCARD", "nokey"}, {"ZCARD", "str"}, {"ZSCORE", "z", "a"}, {"ZSCORE", "z", "zz"}, {"ZSCORE", "nokey", "a"},
		{"ZSCORE", "str", "a"}, {"ZSCORE", "z", "tenth"}, {"ZSCORE", "z", "big"}, {"ZSCORE", "z", "max"}, {"ZSCORE", "z", "min"},
		{"ZSCORE", "z", "den"}, {"ZSCORE", "z", "negz"}, {"ZSCORE", "z", "i1"},
		{"ZMSCORE", "z", "a", "zz", "b"}, {"ZMSCORE", "nokey", "a", "b"}, {"ZMSCORE", "str", "a"}, {"ZMSCORE", "z"},
		{"ZRANK", "z", "a"}, {"ZRANK", "z", "zz"}, {"ZRANK", "nokey", "a"}, {"ZRANK", "str", "a"}, {"ZREVRANK", "z", "a"},
		{"ZREVRANK", "z", "i1"}, {"ZREVRANK", "z", "zz"}, {"ZREVRANK", "str", "a"}, {"ZRANK", "z"},
		// ZREM
		{"ZREM", "z", "zz"}, {"ZREM", "z", "hex", "zz", "hex"}, {"ZREM", "nokey", "a"}, {"ZREM", "str", "a"}, {"ZREM", "z"},
		{"ZADD", "small", "1", "a", "2", "b"}, {"ZREM", "small", "a", "b", "c"}, {"EXISTS", "small"},
	})
	compareAll(d, rangeCmds())
	compareAll(d, [][]string{
		// ZPOPMIN / ZPOPMAX / ZMPOP, BZ* without blocking
		{"ZADD", "p", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e"},
		{"ZPOPMIN", "p"}, {"ZPOPMAX", "p"}, {"ZPOPMIN", "p", "2"}, {"ZPOPMIN", "p", "0"}, {"ZPOPMIN", "p", "-1"},
		{"ZPOPMIN", "p", "x"}, {"ZPOPMIN", "p", "1", "2"}, {"ZPOPMAX", "p", "10"}, {"EXISTS", "p"}, {"ZPOPMIN", "p"},
		{"ZPOPMIN", "p", "0"}, {"ZPOPMIN", "p", "3"}, {"ZPOPMIN", "str"}, {"ZPOPMAX", "str", "2"}, {"ZPOPMIN", "str", "-1"},
		{"ZADD", "p", "1", "a", "2", "b", "3", "c"}, {"ZADD", "p2", "10", "x"},
		{"ZMPOP", "1", "p", "MIN"}, {"ZMPOP", "2", "nokey", "p", "MAX", "COUNT", "5"}, {"ZMPOP", "2", "p", "p2", "min"},
		{"ZMPOP", "2", "p", "p2", "MIN", "COUNT", "10"}, {"ZMPOP", "1", "p", "MIN"}, {"ZMPOP", "0", "p", "MIN"},
		{"ZMPOP", "-1", "p", "MIN"}, {"ZMPOP", "x", "p", "MIN"}, {"ZMPOP", "3", "p", "MIN"}, {"ZMPOP", "1", "p", "BOTH"},
		{"ZMPOP", "1", "p", "MIN", "COUNT"}, {"ZMPOP", "1", "p", "MIN", "COUNT", "0"}, {"ZMPOP", "1", "p", "MIN", "COUNT", "-1"},
		{"ZMPOP", "1", "p", "MIN", "COUNT", "x"}, {"ZMPOP", "1", "p", "MIN", "COUNT", "1", "COUNT", "1"},
		{"ZMPOP", "1", "p", "MIN", "junk"}, {"ZMPOP", "2", "str", "p", "MIN"}, {"ZMPOP", "2", "nokey", "str", "MIN"},
		{"ZADD", "p", "1", "a"}, {"ZMPOP", "2", "p", "str", "MIN"}, {"ZMPOP", "1"}, {"ZMPOP", "1", "p"},
		{"ZADD", "p", "1", "a", "2", "b"}, {"BZPOPMIN", "p", "0"}, {"BZPOPMAX", "nokey", "p", "0"}, {"BZPOPMIN", "str", "p", "0"},
		{"BZPOPMIN", "p", "x"}, {"BZPOPMIN", "p", "-1"}, {"BZPOPMIN", "p", "nan"}, {"BZPOPMIN", "p", "inf"}, {"BZPOPMIN", "p", ""},
		{"BZPOPMIN", "p", " 1"}, {"BZPOPMIN", "p", "1e30"}, {"BZPOPMIN", "p", "9223372036854775.808"},
		{"ZADD", "p", "1", "a", "2", "b"}, {"BZMPOP", "0", "1", "p", "MAX"}, {"BZMPOP", "0", "2", "nokey", "p", "MIN", "COUNT", "3"},
		{"BZMPOP", "x", "1", "p", "MIN"}, {"BZMPOP", "-1", "1", "p", "MIN"}, {"BZMPOP", "0", "0", "p", "MIN"},
		{"BZMPOP", "x", "0", "p", "MIN"}, {"BZMPOP", "0", "1", "p", "BOTH"}, {"BZMPOP", "0", "1", "str", "MIN"},
		{"BZMPOP", "0", "5", "p", "MIN"}, {"BZMPOP", "0", "1", "p", "MIN", "COUNT", "0"},
	})
	compareAll(d, setOpCmds())
	compareAll(d, [][]string{
		// ZRANDMEMBER deterministic paths
		{"ZRANDMEMBER", "nokey"}, {"ZRANDMEMBER", "nokey", "5"}, {"ZRANDMEMBER", "nokey", "-5", "WITHSCORES"},
		{"ZRANDMEMBER", "nokey", "x"}, {"ZRANDMEMBER", "nokey", "1", "withscore"}, {"ZRANDMEMBER", "nokey", "1", "withscores", "x"},
		{"ZRANDMEMBER", "nokey", "-9223372036854775808"}, {"ZRANDMEMBER", "nokey", "-9223372036854775807"},
		{"ZRANDMEMBER", "nokey", "9223372036854775807"}, {"ZRANDMEMBER", "nokey", "-4611686018427387904", "WITHSCORES"},
		{"ZRANDMEMBER", "nokey", "-4611686018427387903", "WITHSCORES"}, {"ZRANDMEMBER", "nokey", "4611686018427387904", "WITHSCORES"},
		{"ZRANDMEMBER", "str"}, {"ZRANDMEMBER", "str", "1"}, {"ZRANDMEMBER", "str", "x"},
		{"ZADD", "r", "1", "a", "2", "b", "3", "c", "-0", "d", "0.5", "e"},
		{"ZRANDMEMBER", "r", "0"}, {"ZRANDMEMBER", "r", "0", "WITHSCORES"}, {"ZRANDMEMBER", "r", "5"},
		{"ZRANDMEMBER", "r", "100", "WITHSCORES"}, {"ZRANDMEMBER", "r", "x", "WITHSCORES"},
		// ZSCAN
		{"ZSCAN", "nokey", "0"}, {"ZSCAN", "nokey", "x"}, {"ZSCAN", "str", "0"}, {"ZSCAN", "r", "0"},
		{"ZSCAN", "r", "0", "MATCH", "a*"}, {"ZSCAN", "r", "0", "COUNT", "1"}, {"ZSCAN", "r", "0", "COUNT", "0"},
		{"ZSCAN", "r", "0", "MATCH"}, {"ZSCAN", "r", "0", "NOVALUES"}, {"ZSCAN", "r", "-1"}, {"ZSCAN", "r", "0", "COUNT", "x"},
		{"ZADD", "r2", "4e18", "a", "1e20", "b", "-0", "c", "1.5", "d", "5e18", "e"}, {"ZSCAN", "r2", "0"},
		// Encodings and conversions
		{"ZADD", "lv", "1", "a", "2", strings.Repeat("v", 64)}, {"OBJECT", "ENCODING", "lv"},
		{"ZADD", "lv", "3", long}, {"OBJECT", "ENCODING", "lv"}, {"ZADD", "lf", "1", long}, {"OBJECT", "ENCODING", "lf"},
		{"ZADD", "lf", "-0", "z"}, {"ZSCORE", "lf", "z"}, {"ZRANGE", "lf", "0", "-1", "WITHSCORES"},
		{"ZADD", "lx", "XX", "1", long}, {"EXISTS", "lx"}, {"ZADD", "ln", "1", "a"}, {"ZADD", "ln", "NX", "1", "a", "2", long},
		{"OBJECT", "ENCODING", "ln"}, {"ZREM", "ln", long}, {"OBJECT", "ENCODING", "ln"},
		{"ZUNIONSTORE", "lu", "1", "ln"}, {"OBJECT", "ENCODING", "lu"}, {"ZRANGESTORE", "lr", "ln", "0", "-1"}, {"OBJECT", "ENCODING", "lr"},
		{"TYPE", "z"}, {"OBJECT", "ENCODING", "z"},
		// Arity
		{"ZCARD"}, {"ZSCORE", "z"}, {"ZCOUNT", "z", "1"}, {"ZRANGE", "z", "0"}, {"ZREMRANGEBYRANK", "z", "0"}, {"ZPOPMIN"},
		{"BZPOPMIN", "z"}, {"ZUNION", "1"}, {"ZUNIONSTORE", "d", "1"}, {"ZINTERCARD", "1"}, {"ZRANDMEMBER"}, {"ZSCAN", "z"},
		{"ZINCRBY", "z", "1"}, {"ZLEXCOUNT", "z", "a"}, {"ZMSCORE", "z"}, {"ZRANGESTORE", "d", "z", "0"}, {"ZMPOP", "1", "z"},
		{"BZMPOP", "0", "1", "z"},
	})
	for _, k := range []string{"z", "dup", "zi", "lv", "lf", "ln", "lu", "lr", "r", "r2"} {
		d.Compare("ZRANGE", k, "0", "-1", "WITHSCORES")
	}
}

func rangeCmds() [][]string {
	cmds := [][]string{
		{"ZADD", "s", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e", "5", "f", "5", "g", "-inf", "ninf", "inf", "pinf"},
		{"ZADD", "l", "0", "a", "0", "b", "0", "c", "0", "d", "0", "e", "0", "f", "0", "ab", "0", "", "0", "b\x00", "0", "B"},
	}
	ranks := [][2]string{{"0", "-1"}, {"0", "0"}, {"1", "3"}, {"-3", "-1"}, {"-100", "100"}, {"5", "2"}, {"100", "200"},
		{"-1", "-100"}, {"x", "1"}, {"1", "1.5"}, {"9223372036854775807", "-9223372036854775808"}}
	for _, r := range ranks {
		for _, k := range []string{"s", "nokey", "str"} {
			cmds = append(cmds,
				[]string{"ZRANGE", k, r[0], r[1]}, []string{"ZRANGE", k, r[0], r[1], "WITHSCORES"},
				[]string{"ZRANGE", k, r[0], r[1], "REV"}, []string{"ZREVRANGE", k, r[0], r[1], "WITHSCORES"})
		}
	}
	scores := [][2]string{{"-inf", "+inf"}, {"1", "3"}, {"(1", "3"}, {"1", "(3"}, {"(1", "(3"}, {"3", "1"}, {"(5", "5"},
		{"5", "5"}, {"5", "(5"}, {"(-inf", "(inf"}, {"inf", "inf"}, {"-inf", "-inf"}, {"", ""}, {"(", "5"}, {"x", "1"},
		{"1", "nan"}, {"(nan", "1"}, {" 1", "3"}, {"1 ", "3"}, {"1\x00x", "3"}, {"0x2", "0x4"}, {"1e400", "inf"}, {"((1", "3"}}
	for _, r := range scores {
		cmds = append(cmds,
			[]string{"ZRANGEBYSCORE", "s", r[0], r[1]}, []string{"ZRANGEBYSCORE", "s", r[0], r[1], "WITHSCORES"},
			[]string{"ZREVRANGEBYSCORE", "s", r[1], r[0]}, []string{"ZRANGE", "s", r[0], r[1], "BYSCORE"},
			[]string{"ZRANGE", "s", r[1], r[0], "BYSCORE", "REV", "WITHSCORES"}, []string{"ZCOUNT", "s", r[0], r[1]},
			[]string{"ZRANGEBYSCORE", "s", r[0], r[1], "LIMIT", "1", "2"}, []string{"ZREVRANGEBYSCORE", "s", r[1], r[0], "LIMIT", "1", "2"},
			[]string{"ZCOUNT", "nokey", r[0], r[1]}, []string{"ZCOUNT", "str", r[0], r[1]})
	}
	limits := [][2]string{{"0", "1"}, {"0", "0"}, {"0", "-1"}, {"-1", "5"}, {"3", "-5"}, {"100", "1"}, {"9", "1"}, {"8", "1"},
		{"x", "1"}, {"1", "x"}, {"2", "100"}}
	for _, l := range limits {
		cmds = append(cmds,
			[]string{"ZRANGEBYSCORE", "s", "-inf", "inf", "LIMIT", l[0], l[1]},
			[]string{"ZREVRANGEBYSCORE", "s", "inf", "-inf", "WITHSCORES", "LIMIT", l[0], l[1]},
			[]string{"ZRANGEBYLEX", "l", "-", "+", "LIMIT", l[0], l[1]},
			[]string{"ZREVRANGEBYLEX", "l", "+", "-", "LIMIT", l[0], l[1]},
			[]string{"ZRANGE", "s", "0", "-1", "LIMIT", l[0], l[1]})
	}
	lexes := [][2]string{{"-", "+"}, {"+", "-"}, {"[a", "[c"}, {"(a", "(c"}, {"[a", "(b"}, {"(a", "[a"}, {"[a", "[a"},
		{"-", "-"}, {"+", "+"}, {"-", "[b"}, {"(b", "+"}, {"[", "[b"}, {"(", "+"}, {"a", "[b"}, {"[a", "b"}, {"", "+"},
		{"+x", "+"}, {"-", "+\x00"}, {"[b\x00", "+"}, {"[B", "[a"}, {"[ab", "(b"}}
	for _, r := range lexes {
		cmds = append(cmds,
			[]string{"ZRANGEBYLEX", "l", r[0], r[1]}, []string{"ZREVRANGEBYLEX", "l", r[1], r[0]},
			[]string{"ZRANGE", "l", r[0], r[1], "BYLEX"}, []string{"ZRANGE", "l", r[1], r[0], "BYLEX", "REV", "LIMIT", "1", "3"},
			[]string{"ZLEXCOUNT", "l", r[0], r[1]}, []string{"ZLEXCOUNT", "nokey", r[0], r[1]},
			// lex ranges over a set with different scores: listpack scan semantics
			[]string{"ZRANGEBYLEX", "s", r[0], r[1]}, []string{"ZLEXCOUNT", "s", r[0], r[1]})
	}
	cmds = append(cmds, [][]string{
		{"ZRANGE", "s", "0", "-1", "BYSCORE"}, {"ZRANGE", "s", "0", "-1", "BYLEX"}, {"ZRANGE", "s", "0", "-1", "WITHSCORES", "BYLEX"},
		{"ZRANGE", "l", "-", "+", "BYLEX", "WITHSCORES"}, {"ZRANGEBYLEX", "l", "-", "+", "WITHSCORES"},
		{"ZRANGE", "s", "0", "-1", "BYSCORE", "BYLEX"}, {"ZRANGE", "s", "0", "-1", "REV", "REV"}, {"ZREVRANGE", "s", "0", "-1", "REV"},
		{"ZRANGEBYSCORE", "s", "0", "1", "REV"}, {"ZRANGEBYSCORE", "s", "0", "1", "BYSCORE"}, {"ZRANGE", "s", "0", "-1", "LIMIT", "0"},
		{"ZRANGE", "s", "0", "-1", "LIMIT", "0", "1", "x"}, {"ZRANGE", "s", "0", "-1", "bogus"}, {"ZRANGE", "s", "x", "y", "bogus"},
		{"ZRANGE", "s", "x", "-1", "LIMIT", "1", "1"}, {"ZRANGE", "s", "a", "b", "BYSCORE", "LIMIT", "x", "1"},
		{"ZRANGE", "str", "0", "-1", "BYSCORE", "LIMIT", "x", "1"}, {"ZRANGE", "str", "x", "y", "BYSCORE"},
		{"ZRANGE", "str", "0", "1", "BYSCORE"}, {"ZRANGE", "s", "(1", "(5", "BYSCORE", "LIMIT", "0", "-1", "WITHSCORES"},
		{"ZRANGE", "s", "0", "-1", "WITHSCORES", "WITHSCORES"},
		// ZRANGESTORE
		{"ZRANGESTORE", "dst", "s", "0", "-1"}, {"ZRANGE", "dst", "0", "-1", "WITHSCORES"},
		{"ZRANGESTORE", "dst", "s", "(1", "5", "BYSCORE", "LIMIT", "1", "2"}, {"ZRANGE", "dst", "0", "-1", "WITHSCORES"},
		{"ZRANGESTORE", "dst", "l", "[b", "+", "BYLEX", "REV"}, {"ZRANGE", "dst", "0", "-1", "WITHSCORES"},
		{"ZRANGESTORE", "dst", "s", "5", "1", "BYSCORE", "REV"}, {"ZRANGE", "dst", "0", "-1", "WITHSCORES"},
		{"ZRANGESTORE", "dst", "s", "5", "1"}, {"EXISTS", "dst"}, {"ZRANGESTORE", "dst", "s", "0", "1"},
		{"ZRANGESTORE", "dst", "nokey", "0", "-1"}, {"EXISTS", "dst"}, {"ZRANGESTORE", "dst", "s", "0", "-1", "WITHSCORES"},
		{"ZRANGESTORE", "dst", "str", "0", "-1"}, {"ZRANGESTORE", "str", "s", "0", "1"}, {"TYPE", "str"},
		{"ZRANGESTORE", "str", "nokey", "0", "1"}, {"TYPE", "str"}, {"SET", "str", "v"},
		{"ZRANGESTORE", "dst", "s", "0", "-1", "LIMIT", "0", "1"}, {"ZRANGESTORE", "s", "s", "1", "2"}, {"ZRANGE", "s", "0", "-1"},
		{"ZADD", "s", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e", "5", "f", "5", "g", "-inf", "ninf", "inf", "pinf"},
		// ZREMRANGEBY*
		{"ZREMRANGEBYRANK", "s", "0", "0"}, {"ZREMRANGEBYRANK", "s", "-2", "-1"}, {"ZREMRANGEBYRANK", "s", "5", "1"},
		{"ZREMRANGEBYRANK", "s", "x", "1"}, {"ZREMRANGEBYRANK", "nokey", "0", "-1"}, {"ZREMRANGEBYRANK", "str", "0", "-1"},
		{"ZREMRANGEBYRANK", "str", "x", "-1"}, {"ZRANGE", "s", "0", "-1", "WITHSCORES"},
		{"ZREMRANGEBYSCORE", "s", "(1", "2"}, {"ZREMRANGEBYSCORE", "s", "5", "4"}, {"ZREMRANGEBYSCORE", "s", "x", "4"},
		{"ZREMRANGEBYSCORE", "nokey", "0", "1"}, {"ZREMRANGEBYSCORE", "str", "0", "1"}, {"ZRANGE", "s", "0", "-1", "WITHSCORES"},
		{"ZREMRANGEBYLEX", "l", "[a", "(c"}, {"ZREMRANGEBYLEX", "l", "a", "(c"}, {"ZREMRANGEBYLEX", "str", "-", "+"},
		{"ZREMRANGEBYLEX", "nokey", "-", "+"}, {"ZRANGE", "l", "0", "-1"}, {"ZREMRANGEBYLEX", "l", "-", "+"}, {"EXISTS", "l"},
		{"ZREMRANGEBYSCORE", "s", "-inf", "+inf"}, {"EXISTS", "s"},
	}...)
	return cmds
}

func setOpCmds() [][]string {
	return [][]string{
		{"ZADD", "u1", "1", "a", "2", "b", "3", "c"}, {"ZADD", "u2", "10", "b", "20", "c", "30", "d"},
		{"ZADD", "u3", "inf", "a", "-inf", "b", "0.1", "c", "0.2", "x"}, {"ZADD", "u4", "-inf", "a", "inf", "b"},
		{"ZUNION", "2", "u1", "u2"}, {"ZUNION", "2", "u1", "u2", "WITHSCORES"}, {"ZUNION", "3", "u1", "u2", "u3", "WITHSCORES"},
		{"ZUNION", "2", "u3", "u4", "WITHSCORES"}, {"ZINTER", "2", "u3", "u4", "WITHSCORES"},
		{"ZUNION", "2", "u1", "u2", "WEIGHTS", "2", "0.5", "WITHSCORES"}, {"ZUNION", "2", "u1", "u2", "AGGREGATE", "MIN", "WITHSCORES"},
		{"ZUNION", "2", "u1", "u2", "AGGREGATE", "max", "WITHSCORES"}, {"ZUNION", "2", "u1", "u2", "AGGREGATE", "avg"},
		{"ZUNION", "2", "u1", "u3", "WEIGHTS", "0", "0", "WITHSCORES"}, {"ZUNION", "2", "u1", "u3", "WEIGHTS", "inf", "-inf", "WITHSCORES"},
		{"ZUNION", "2", "u1", "u2", "WEIGHTS", "1"}, {"ZUNION", "2", "u1", "u2", "WEIGHTS", "1", "x"},
		{"ZUNION", "2", "u1", "u2", "WEIGHTS", "1", "nan"}, {"ZUNION", "2", "u1", "u2", "WEIGHTS", "1", "2", "3"},
		{"ZUNION", "2", "u1", "u2", "WITHSCORES", "WITHSCORES"}, {"ZUNION", "2", "u1", "u2", "AGGREGATE"},
		{"ZUNION", "0", "u1"}, {"ZUNION", "-1", "u1"}, {"ZUNION", "x", "u1"}, {"ZUNION", "3", "u1", "u2"},
		{"ZUNION", "2", "u1", "str"}, {"ZUNION", "2", "str", "u1", "WEIGHTS"}, {"ZUNION", "2", "nokey", "nokey2"},
		{"ZUNION", "1", "u1", "bogus"}, {"ZUNION", "2", "u1", "u1", "WITHSCORES"},
		{"ZINTER", "2", "u1", "u2", "WITHSCORES"}, {"ZINTER", "3", "u1", "u2", "u3", "WITHSCORES"},
		{"ZINTER", "2", "u1", "u2", "WEIGHTS", "-1", "2", "AGGREGATE", "MAX", "WITHSCORES"}, {"ZINTER", "2", "u1", "nokey"},
		{"ZINTER", "2", "u1", "u1", "WITHSCORES"}, {"ZINTER", "1", "u3", "WEIGHTS", "0", "WITHSCORES"},
		{"ZDIFF", "2", "u1", "u2"}, {"ZDIFF", "2", "u1", "u2", "WITHSCORES"}, {"ZDIFF", "1", "u1", "WITHSCORES"},
		{"ZDIFF", "2", "u1", "u1"}, {"ZDIFF", "2", "nokey", "u1"}, {"ZDIFF", "3", "u3", "u1", "u2", "WITHSCORES"},
		{"ZDIFF", "2", "u1", "u2", "WEIGHTS", "1", "1"}, {"ZDIFF", "2", "u1", "u2", "AGGREGATE", "SUM"}, {"ZDIFF", "0", "u1"},
		{"ZUNIONSTORE", "out", "2", "u1", "u2"}, {"ZRANGE", "out", "0", "-1", "WITHSCORES"},
		{"ZUNIONSTORE", "out", "2", "u1", "u2", "WITHSCORES"}, {"ZUNIONSTORE", "out", "0", "u1"},
		{"ZINTERSTORE", "out", "2", "u1", "u2", "WEIGHTS", "1", "2"}, {"ZRANGE", "out", "0", "-1", "WITHSCORES"},
		{"ZINTERSTORE", "out", "2", "u1", "nokey"}, {"EXISTS", "out"}, {"ZDIFFSTORE", "out", "2", "u1", "u2"},
		{"ZRANGE", "out", "0", "-1", "WITHSCORES"}, {"ZDIFFSTORE", "out", "2", "u1", "u1"}, {"EXISTS", "out"},
		{"ZUNIONSTORE", "str", "1", "u1"}, {"TYPE", "str"}, {"SET", "str", "v"}, {"ZUNIONSTORE", "out", "1", "str"},
		{"ZUNIONSTORE", "u1", "2", "u1", "u2"}, {"ZRANGE", "u1", "0", "-1", "WITHSCORES"},
		{"ZINTERCARD", "2", "u1", "u2"}, {"ZINTERCARD", "2", "u1", "u2", "LIMIT", "1"}, {"ZINTERCARD", "2", "u1", "u2", "LIMIT", "0"},
		{"ZINTERCARD", "2", "u1", "u2", "LIMIT", "-1"}, {"ZINTERCARD", "2", "u1", "u2", "LIMIT", "x"},
		{"ZINTERCARD", "2", "u1", "u2", "LIMIT"}, {"ZINTERCARD", "2", "u1", "u2", "WITHSCORES"}, {"ZINTERCARD", "0", "u1"},
		{"ZINTERCARD", "3", "u1", "u2"}, {"ZINTERCARD", "2", "u1", "str"}, {"ZINTERCARD", "2", "u1", "nokey"},
		{"ZINTERCARD", "1", "u1", "WEIGHTS", "1"}, {"ZINTERCARD", "x", "u1"},
		// Float sums follow Redis's source order (smallest first).
		{"ZADD", "f1", "0.1", "a", "0.7", "b"}, {"ZADD", "f2", "0.2", "a", "0.1", "b", "1", "c"}, {"ZADD", "f3", "0.3", "a"},
		{"ZUNION", "3", "f2", "f1", "f3", "WITHSCORES"}, {"ZINTER", "3", "f2", "f1", "f3", "WITHSCORES"},
		{"ZUNION", "3", "f1", "f2", "f3", "WEIGHTS", "0.3", "0.7", "1.1", "WITHSCORES"},
	}
}

// resp3 converts a Cairn reply to what a RESP3 client reads.
func resp3(v reply.Value) reply.Value {
	switch v.Kind {
	case reply.KindNilArray:
		return reply.Nil
	case reply.KindPairs:
		out := make([]reply.Value, 0, len(v.Elems)/2)
		for i := 0; i+1 < len(v.Elems); i += 2 {
			out = append(out, reply.Array(resp3(v.Elems[i]), resp3(v.Elems[i+1])))
		}
		return reply.Array(out...)
	case reply.KindArray, reply.KindMap, reply.KindSet:
		out := make([]reply.Value, len(v.Elems))
		for i, e := range v.Elems {
			out[i] = resp3(e)
		}
		return reply.Value{Kind: v.Kind, Elems: out}
	}
	return v
}

// TestDiffRESP3 compares the RESP3 shapes (doubles, nested pairs) of the
// replies that have them.
func TestDiffRESP3(t *testing.T) {
	d := newDiff(t)
	if v, err := d.Redis.Do("HELLO", "3"); err != nil || v.IsError() {
		t.Fatalf("HELLO 3: %v %v", v, err)
	}
	cmds := [][]string{
		{"ZADD", "z", "1", "a", "2.5", "b", "inf", "c", "-0", "d"}, {"ZADD", "w", "1", "x"},
		{"ZSCORE", "z", "b"}, {"ZSCORE", "z", "c"}, {"ZSCORE", "z", "nope"}, {"ZMSCORE", "z", "a", "nope"},
		{"ZINCRBY", "z", "0.5", "a"}, {"ZADD", "z", "INCR", "1", "b"}, {"ZADD", "z", "XX", "INCR", "1", "nope"},
		{"ZRANGE", "z", "0", "-1", "WITHSCORES"}, {"ZRANGE", "z", "0", "-1"}, {"ZREVRANGEBYSCORE", "z", "inf", "-inf", "WITHSCORES"},
		{"ZUNION", "2", "z", "w", "WITHSCORES"}, {"ZINTER", "1", "z", "WITHSCORES"}, {"ZDIFF", "1", "z", "WITHSCORES"},
		{"ZRANDMEMBER", "w", "5", "WITHSCORES"}, {"ZRANDMEMBER", "w", "-2", "WITHSCORES"}, {"ZRANDMEMBER", "nope"},
		{"ZRANK", "z", "nope"}, {"ZPOPMIN", "z"}, {"ZPOPMIN", "z", "1"}, {"ZPOPMAX", "z", "5"}, {"ZPOPMIN", "nope"},
		{"ZADD", "z", "1", "a", "2", "b"}, {"ZMPOP", "1", "z", "MIN"}, {"ZMPOP", "1", "nope", "MIN"},
		{"BZPOPMIN", "z", "0"}, {"BZMPOP", "0", "1", "w", "MAX", "COUNT", "2"}, {"ZSCAN", "nope", "0"},
	}
	for _, args := range cmds {
		want, err := d.Redis.Do(args...)
		if err != nil {
			t.Fatal(err)
		}
		got := resp3(d.H.Do(args...))
		if !reply.Equal(got, want) {
			t.Errorf("%q:\n  cairn: %s (kind %d)\n  redis: %s (kind %d)", args, got, got.Kind, want, want.Kind)
		}
	}
}

// TestDiffEncodings compares sets around the listpack/skiplist limits and
// big sets, where order and ranks must still match exactly.
func TestDiffEncodings(t *testing.T) {
	d := newDiff(t)
	args := []string{"ZADD", "big"}
	for i := 0; i < 128; i++ {
		args = append(args, strconv.Itoa(i%17), "m"+strconv.Itoa(i))
	}
	d.Compare(args...)
	checkEncoding(t, d, "big")
	d.Compare("ZADD", "big", "3", "m5") // update: stays a listpack
	checkEncoding(t, d, "big")
	d.Compare("ZADD", "big", "-0", "m128")
	checkEncoding(t, d, "big")
	d.Compare("ZADD", "big", "-0", "negzero")
	for _, c := range [][]string{
		{"ZRANGE", "big", "0", "-1", "WITHSCORES"}, {"ZRANGE", "big", "100", "120", "REV", "WITHSCORES"},
		{"ZRANK", "big", "m77"}, {"ZREVRANK", "big", "m77"}, {"ZCOUNT", "big", "3", "(9"},
		{"ZRANGEBYSCORE", "big", "(3", "10", "LIMIT", "5", "7", "WITHSCORES"}, {"ZREVRANGEBYSCORE", "big", "10", "(3", "LIMIT", "5", "7"},
		{"ZSCORE", "big", "negzero"}, {"ZSCORE", "big", "m128"}, {"ZREMRANGEBYRANK", "big", "10", "20"},
		{"ZREMRANGEBYSCORE", "big", "15", "16"}, {"ZPOPMIN", "big", "3"}, {"ZPOPMAX", "big", "3"},
		{"ZRANGE", "big", "0", "-1", "WITHSCORES"}, {"ZINTERCARD", "2", "big", "big"},
		{"ZUNIONSTORE", "small", "1", "big", "WEIGHTS", "2"}, {"OBJECT", "ENCODING", "small"},
		{"ZRANGESTORE", "small", "big", "0", "127"}, {"OBJECT", "ENCODING", "small"},
		{"ZRANGESTORE", "small", "big", "0", "129"}, {"OBJECT", "ENCODING", "small"},
		{"ZRANGESTORE", "small", "big", "-inf", "inf", "BYSCORE", "LIMIT", "0", "100"}, {"OBJECT", "ENCODING", "small"},
		{"ZRANGE", "small", "0", "-1", "WITHSCORES"},
	} {
		d.Compare(c...)
	}
	// A large set: 5000 members with many score ties.
	for chunk := 0; chunk < 5; chunk++ {
		args := []string{"ZADD", "huge"}
		for i := chunk * 1000; i < (chunk+1)*1000; i++ {
			args = append(args, strconv.Itoa((i*7919)%1000), "mem:"+strconv.Itoa(i))
		}
		d.Compare(args...)
	}
	checkEncoding(t, d, "huge")
	// Lex ranges over a skiplist are only defined when all scores are
	// equal.
	args = []string{"ZADD", "hugelex"}
	for i := 0; i < 3000; i++ {
		args = append(args, "0", "mem:"+strconv.Itoa(i*37%3000))
	}
	d.Compare(args...)
	for _, c := range [][]string{
		{"ZLEXCOUNT", "hugelex", "[mem:1", "(mem:2"}, {"ZRANGEBYLEX", "hugelex", "[mem:1", "+", "LIMIT", "0", "5"},
		{"ZREVRANGEBYLEX", "hugelex", "(mem:2", "-", "LIMIT", "10", "5"}, {"ZRANGE", "hugelex", "[mem:25", "(mem:26", "BYLEX"},
		{"ZLEXCOUNT", "hugelex", "-", "+"}, {"ZLEXCOUNT", "hugelex", "(mem:999", "[mem:999"}, {"ZREMRANGEBYLEX", "hugelex", "[mem:3", "(mem:4"},
		{"ZCARD", "hugelex"}, {"ZRANGE", "hugelex", "0", "-1"},
	} {
		d.Compare(c...)
	}
	for _, c := range [][]string{
		{"ZCARD", "huge"}, {"ZRANK", "huge", "mem:4321"}, {"ZREVRANK", "huge", "mem:4321"}, {"ZRANGE", "huge", "2500", "2600", "WITHSCORES"},
		{"ZRANGE", "huge", "-100", "-1", "REV"}, {"ZRANGEBYSCORE", "huge", "(500", "501", "WITHSCORES"},
		{"ZREVRANGEBYSCORE", "huge", "700", "(698", "LIMIT", "3", "4"}, {"ZCOUNT", "huge", "100", "(200"},
		{"ZREMRANGEBYRANK", "huge", "1000", "1499"}, {"ZREMRANGEBYSCORE", "huge", "900", "+inf"},
		{"ZRANGE", "huge", "0", "50"}, {"ZPOPMAX", "huge", "20"}, {"ZPOPMIN", "huge", "20"}, {"ZCARD", "huge"},
		{"ZUNIONSTORE", "hu", "2", "huge", "big", "WEIGHTS", "1", "1000"}, {"ZRANGE", "hu", "0", "-1", "WITHSCORES"},
		{"ZINTERSTORE", "hi", "2", "huge", "hu", "AGGREGATE", "MAX"}, {"ZRANGE", "hi", "1000", "1100", "WITHSCORES"},
		{"ZDIFF", "2", "hu", "huge", "WITHSCORES"}, {"ZRANDMEMBER", "huge", "10000"},
	} {
		d.Compare(c...)
	}
	compareScan(t, d, "huge")
	compareScan(t, d, "huge", "MATCH", "mem:1*", "COUNT", "7")
}

func checkEncoding(t *testing.T, d *commandtest.Diff, key string) {
	t.Helper()
	want, err := d.Redis.Do("OBJECT", "ENCODING", key)
	if err != nil {
		t.Fatal(err)
	}
	got := "none"
	if it := d.H.DB.Peek([]byte(key)); it != nil {
		got = it.Obj.(*keyspace.ZSet).Encoding()
	}
	if got != string(want.Str) {
		t.Errorf("%s: encoding %s, redis %s", key, got, want.Str)
	}
}

// compareScan runs a whole ZSCAN iteration on both and compares the sets
// of pairs returned.
func compareScan(t *testing.T, d *commandtest.Diff, key string, opts ...string) {
	t.Helper()
	scan := func(do func(args ...string) reply.Value) string {
		seen := map[string]string{}
		cursor := "0"
		for i := 0; i < 100000; i++ {
			v := do(append([]string{"ZSCAN", key, cursor}, opts...)...)
			if v.Kind != reply.KindArray || len(v.Elems) != 2 {
				return v.String()
			}
			for j := 0; j+1 < len(v.Elems[1].Elems); j += 2 {
				seen[string(v.Elems[1].Elems[j].Str)] = string(v.Elems[1].Elems[j+1].Str)
			}
			if cursor = string(v.Elems[0].Str); cursor == "0" {
				break
			}
		}
		return sortedPairs(seen)
	}
	got := scan(func(args ...string) reply.Value { return d.H.Do(args...).RESP2() })
	want := scan(func(args ...string) reply.Value {
		v, err := d.Redis.Do(args...)
		if err != nil {
			t.Fatal(err)
		}
		return v
	})
	if got != want {
		t.Errorf("ZSCAN %s %q: differs\n  cairn: %.300s\n  redis: %.300s", key, opts, got, want)
	}
}

func sortedPairs(m map[string]string) string {
	items := make([]string, 0, len(m))
	for k, v := range m {
		items = append(items, strconv.Quote(k)+"="+v)
	}
	sort.Strings(items)
	return strings.Join(items, " ")
}
