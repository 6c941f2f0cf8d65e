package streams

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cairndb/cairn/server/command/commandtest"
	"github.com/cairndb/cairn/server/command/keys"
	"github.com/cairndb/cairn/server/reply"
)

// newDiff starts a redis-server and a harness (streams and the generic key
// commands), both holding the string key "str" for WRONGTYPE paths.
func newDiff(t *testing.T) *commandtest.Diff {
	d := commandtest.NewDiff(t, Specs, keys.Specs)
	if v, err := d.Redis.Do("SET", "str", "v"); err != nil || v.IsError() {
		t.Fatalf("SET: %v %v", v, err)
	}
	d.H.DB.Put([]byte("str"), []byte("v"), nil, 0)
	return d
}

// timeTolerance is how far Cairn's and Redis's clocks may disagree on
// idle and delivery times (both follow the wall clock).
const timeTolerance = 5000

// compareTimed runs args on both and compares the replies exactly except
// for idle and delivery times (XPENDING, XINFO CONSUMERS, XINFO STREAM
// FULL), which may differ by timeTolerance.
func compareTimed(t *testing.T, d *commandtest.Diff, args ...string) (got, want reply.Value) {
	t.Helper()
	want, err := d.Redis.Do(args...)
	if err != nil {
		t.Fatalf("redis %q: %v", args, err)
	}
	d.H.Now = nowMs()
	got = d.H.Do(args...).RESP2()
	if !timedEqual(got, want, false) {
		t.Errorf("%q: first difference %s\n  cairn: %.2000s\n  redis: %.2000s", args, firstDiff(got, want, ""), got, want)
	}
	return got, want
}

var timeKeys = map[string]bool{"seen-time": true, "idle": true}

func isIDLike(v reply.Value) bool {
	return v.Kind == reply.KindBulk && strings.Contains(string(v.Str), "-") && len(v.Str) > 2
}

func timedEqual(a, b reply.Value, isTime bool) bool {
	if isTime {
		if a.Kind != reply.KindInt || b.Kind != reply.KindInt {
			return false
		}
		diff := a.Int - b.Int
		return diff <= timeTolerance && diff >= -timeTolerance
	}
	if a.Kind != b.Kind || len(a.Elems) != len(b.Elems) {
		return false
	}
	if a.Kind != reply.KindArray {
		return reply.Equal(a, b)
	}
	timeAt := -1
	e := b.Elems
	switch {
	case len(e) == 4 && isIDLike(e[0]) && e[1].Kind == reply.KindBulk && e[2].Kind == reply.KindInt && e[3].Kind == reply.KindInt:
		timeAt = 2
	case len(e) == 3 && isIDLike(e[0]) && e[1].Kind == reply.KindInt && e[2].Kind == reply.KindInt:
		timeAt = 1
	}
	for i := range e {
		t := i == timeAt
		if i > 0 && i%2 == 1 && e[i-1].Kind == reply.KindBulk && timeKeys[string(e[i-1].Str)] {
			t = true
		}
		if !timedEqual(a.Elems[i], e[i], t) {
			return false
		}
	}
	return true
}

// TestDiffDeterministic runs every command, option and error path on
// Cairn and on redis-server with explicit IDs and compares the replies.
func TestDiffDeterministic(t *testing.T) {
	d := newDiff(t)
	cmds := [][]string{
		// XADD
		{"XADD", "s", "1-1", "a", "1"}, {"XADD", "s", "1-1", "a", "1"}, {"XADD", "s", "1-0", "a", "1"},
		{"XADD", "s", "1-2", "a", "2", "b", "x"}, {"XADD", "s", "1-*", "a", "3"}, {"XADD", "s", "2", "a", "4"},
		{"XADD", "s", "2-*", "c", "5"}, {"XADD", "s", "0-0", "a", "1"}, {"XADD", "s", "0", "a", "1"},
		{"XADD", "s", "0-*", "a", "1"}, {"XADD", "n0", "0-*", "a", "1"}, {"XADD", "n0", "0-*", "a", "1"},
		{"XADD", "s", "3-1", "a"}, {"XADD", "s", "3-1", "a", "1", "b"}, {"XADD", "s", "3-1"},
		{"XADD", "s", "x", "a", "1"}, {"XADD", "s", "-", "a", "1"}, {"XADD", "s", "+", "a", "1"},
		{"XADD", "s", "3-x", "a", "1"}, {"XADD", "s", "3-1-1", "a", "1"}, {"XADD", "s", "-3", "a", "1"},
		{"XADD", "s", "18446744073709551616", "a", "1"}, {"XADD", "s", "5-18446744073709551616", "a", "1"},
		{"XADD", "s", " 10", "a", "1"}, {"XADD", "s", "+11", "a", "1"}, {"XADD", "s", "012", "a", "1"},
		{"XADD", "s", "13-", "a", "1"}, {"XADD", "s", "-14", "a", "1"}, {"XADD", "s", "14-+1", "a", "1"},
		{"XADD", "s", "NOMKSTREAM", "15-1", "a", "1"}, {"XADD", "nokey", "NOMKSTREAM", "1-1", "a", "1"},
		{"EXISTS", "nokey"}, {"XADD", "nokey", "NOMKSTREAM", "0-0", "a", "1"},
		{"XADD", "str", "1-1", "a", "1"}, {"XADD", "str", "NOMKSTREAM", "1-1", "a", "1"},
		{"XADD", "s", "MAXLEN", "x", "20-1", "a", "1"}, {"XADD", "s", "MAXLEN", "-1", "20-1", "a", "1"},
		{"XADD", "s", "MAXLEN", "5", "LIMIT", "5", "20-1", "a", "1"},
		{"XADD", "s", "MAXLEN", "~", "5", "MINID", "1", "20-1", "a", "1"},
		{"XADD", "s", "LIMIT", "5", "20-1", "a", "1"}, {"XADD", "s", "LIMIT", "-5", "20-1", "a", "1"},
		{"XADD", "s", "MINID", "-", "20-1", "a", "1"}, {"XADD", "s", "MINID", "x", "20-1", "a", "1"},
		{"XADD", "s", "MAXLEN", "=", "100", "20-1", "a", "1"}, {"XADD", "s", "maxlen", "~", "100", "limit", "10", "21-1", "a", "1"},
		{"XADD", "s", "MAXLEN", "100"}, {"XADD", "s", "MAXLEN"}, {"XADD", "s", "MAXLEN", "~"},
		{"XADD", "s", "MINID", "=", "0", "22-1", "a", "1"}, {"XADD", "s", "nomkstream", "maxlen", "100", "23-1", "a", "1"},
		{"XADD", "s", "23-1", "", ""}, {"XADD", "s", "24-1", "123", "-5", "9223372036854775807", "-9223372036854775808"},
		{"XLEN", "s"}, {"XRANGE", "s", "-", "+"},
		{"XADD", "s", "MAXLEN", "3", "25-1", "a", "1"}, {"XLEN", "s"}, {"XRANGE", "s", "-", "+"},
		{"XADD", "s", "MINID", "24", "26-1", "a", "1"}, {"XRANGE", "s", "-", "+"},
		{"XADD", "s", "MINID", "~", "27", "27-1", "a", "1"}, {"XRANGE", "s", "-", "+"},
		// XRANGE / XREVRANGE
		{"XRANGE", "s", "-", "+", "COUNT", "2"}, {"XRANGE", "s", "-", "+", "COUNT", "0"}, {"XRANGE", "s", "-", "+", "COUNT", "-1"},
		{"XRANGE", "s", "25", "26"}, {"XRANGE", "s", "(25-1", "+"}, {"XRANGE", "s", "-", "(26-1"}, {"XRANGE", "s", "(25", "(27"},
		{"XRANGE", "s", "(-", "+"}, {"XRANGE", "s", "-", "(+"}, {"XRANGE", "s", "(", "+"}, {"XRANGE", "s", "(18446744073709551615-18446744073709551615", "+"},
		{"XRANGE", "s", "-", "(0-0"}, {"XRANGE", "s", "-", "(0"}, {"XRANGE", "s", "+", "-"}, {"XRANGE", "s", "26-1", "26-1"},
		{"XRANGE", "s", "-", "+", "COUNT"}, {"XRANGE", "s", "-", "+", "COUNT", "x"}, {"XRANGE", "s", "-", "+", "FOO", "1"},
		{"XRANGE", "s", "-", "+", "COUNT", "1", "COUNT", "2"}, {"XRANGE", "nokey", "-", "+"}, {"XRANGE", "nokey", "x", "+"},
		{"XRANGE", "nokey", "-", "+", "COUNT", "0"}, {"XRANGE", "str", "-", "+"}, {"XRANGE", "str", "x", "+"},
		{"XRANGE", "s", "-"}, {"XREVRANGE", "s", "+", "-"}, {"XREVRANGE", "s", "+", "-", "COUNT", "1"},
		{"XREVRANGE", "s", "(27", "-"}, {"XREVRANGE", "s", "-", "+"}, {"XREVRANGE", "s", "26", "25"}, {"XREVRANGE", "str", "+", "-"},
		// XLEN / XDEL
		{"XLEN", "nokey"}, {"XLEN", "str"}, {"XDEL", "s", "25-1"}, {"XDEL", "s", "25-1"}, {"XDEL", "s", "x"},
		{"XDEL", "s", "26-1", "x"}, {"XDEL", "s", "-"}, {"XDEL", "nokey", "x"}, {"XDEL", "str", "1-1"},
		{"XDEL", "s", "99-1", "26-1", "26-1"}, {"XLEN", "s"}, {"XRANGE", "s", "-", "+"}, {"XINFO", "STREAM", "s"},
		{"XDEL", "s", "27-1"}, {"XLEN", "s"}, {"EXISTS", "s"}, {"XINFO", "STREAM", "s"}, {"XRANGE", "s", "-", "+"},
		{"XADD", "s", "27-1", "a", "1"}, {"XADD", "s", "28", "a", "1"},
		// XTRIM
		{"XTRIM", "s"}, {"XTRIM", "s", "LIMIT", "1"}, {"XTRIM", "s", "MAXLEN", "1", "foo"}, {"XTRIM", "s", "MAXLEN", "~", "1", "LIMIT", "-1"},
		{"XTRIM", "s", "MAXLEN", "1", "LIMIT", "1"}, {"XTRIM", "str", "MAXLEN", "1"}, {"XTRIM", "nokey", "MAXLEN", "1"},
		{"XTRIM", "nokey", "MAXLEN", "x"}, {"XTRIM", "s", "MINID", "+"}, {"XTRIM", "s", "MAXLEN", "~", "0"}, {"XTRIM", "s", "MAXLEN", "1"},
		{"XRANGE", "s", "-", "+"}, {"XTRIM", "s", "MINID", "=", "99"}, {"XLEN", "s"}, {"XINFO", "STREAM", "s"},
		// XSETID
		{"XADD", "t", "5-5", "f", "v"}, {"XSETID", "t", "5-4"}, {"XSETID", "t", "5-5"}, {"XSETID", "t", "10-1"},
		{"XSETID", "t", "10-1", "ENTRIESADDED", "0"}, {"XSETID", "t", "10-1", "ENTRIESADDED", "-1"}, {"XSETID", "t", "10-1", "ENTRIESADDED", "x"},
		{"XSETID", "t", "10-1", "MAXDELETEDID", "11-1"}, {"XSETID", "t", "10-1", "MAXDELETEDID", "x"}, {"XSETID", "t", "10-1", "FOO"},
		{"XSETID", "t", "10-1", "ENTRIESADDED"}, {"XSETID", "t", "x"}, {"XSETID", "t", "-"}, {"XSETID", "nokey", "1-1"},
		{"XSETID", "str", "1-1"}, {"XSETID", "t", "12-1", "ENTRIESADDED", "5", "MAXDELETEDID", "3-3"}, {"XINFO", "STREAM", "t"},
		{"XSETID", "t", "3-2"}, {"XADD", "t", "12-1", "f", "v"}, {"XADD", "t", "13-*", "f", "v"}, {"XLEN", "t"},
		{"XADD", "u", "1-1", "f", "v"}, {"XSETID", "u", "18446744073709551615-18446744073709551615"},
		{"XADD", "u", "*", "f", "v"}, {"XADD", "u", "18446744073709551615-*", "f", "v"},
		// XGROUP
		{"XGROUP", "HELP"}, {"XGROUP", "help", "x"}, {"XGROUP"}, {"XGROUP", "FOO", "g"}, {"XGROUP", "CREATE", "s"},
		{"XGROUP", "CREATE", "s", "g", "$", "foo"}, {"XGROUP", "CREATE", "s", "g", "$", "ENTRIESREAD"},
		{"XGROUP", "CREATE", "s", "g", "$", "ENTRIESREAD", "-5"}, {"XGROUP", "CREATE", "s", "g", "$", "ENTRIESREAD", "x"},
		{"XGROUP", "CREATE", "nokey", "g", "$"}, {"XGROUP", "CREATE", "str", "g", "$"}, {"XGROUP", "CREATE", "s", "g", "x"},
		{"XGROUP", "CREATE", "s", "g", "-"}, {"XGROUP", "CREATE", "s", "g", "0"}, {"XGROUP", "CREATE", "s", "g", "0"},
		{"XGROUP", "CREATE", "s", "g2", "$", "ENTRIESREAD", "3"}, {"XGROUP", "CREATE", "s", "g3", "$", "MKSTREAM", "MKSTREAM", "MKSTREAM", "MKSTREAM"},
		{"XGROUP", "CREATE", "mk", "g", "$", "MKSTREAM"}, {"XLEN", "mk"}, {"XINFO", "STREAM", "mk"}, {"XINFO", "GROUPS", "mk"},
		{"XGROUP", "CREATE", "mk2", "g", "x", "MKSTREAM"}, {"EXISTS", "mk2"}, {"XGROUP", "CREATE", "mk", "g", "$", "MKSTREAM"},
		{"XGROUP", "SETID", "s", "nog", "0"}, {"XGROUP", "SETID", "nokey", "g", "0"}, {"XGROUP", "SETID", "s", "g", "x"},
		{"XGROUP", "SETID", "s", "g", "0", "MKSTREAM"}, {"XGROUP", "SETID", "s", "g2", "$"}, {"XGROUP", "SETID", "s", "g2", "-"},
		{"XGROUP", "SETID", "s", "g2", "+", "ENTRIESREAD", "5"}, {"XGROUP", "SETID", "s", "g2", "0", "ENTRIESREAD"},
		{"XINFO", "GROUPS", "s"}, {"XGROUP", "CREATECONSUMER", "s", "g", "c1"}, {"XGROUP", "CREATECONSUMER", "s", "g", "c1"},
		{"XGROUP", "CREATECONSUMER", "s", "nog", "c1"}, {"XGROUP", "CREATECONSUMER", "nokey", "g", "c1"}, {"XGROUP", "CREATECONSUMER", "s", "g"},
		{"XGROUP", "DELCONSUMER", "s", "g", "c1"}, {"XGROUP", "DELCONSUMER", "s", "g", "c1"}, {"XGROUP", "DELCONSUMER", "s", "nog", "c1"},
		{"XGROUP", "DESTROY", "s", "g3"}, {"XGROUP", "DESTROY", "s", "g3"}, {"XGROUP", "DESTROY", "nokey", "g3"}, {"XGROUP", "DESTROY", "str", "g3"},
		{"XGROUP", "DESTROY", "s", "g3", "x"}, {"XINFO", "GROUPS", "s"},
		// XREAD
		{"XREAD", "STREAMS", "s", "0"}, {"XREAD", "COUNT", "1", "STREAMS", "s", "0"}, {"XREAD", "STREAMS", "s", "$"},
		{"XREAD", "STREAMS", "s", "nokey", "0", "0"}, {"XREAD", "STREAMS", "nokey", "s", "$", "(5"}, {"XREAD", "STREAMS", "s", "t"},
		{"XREAD", "STREAMS", "s", "t", "0"}, {"XREAD", "STREAMS", "s", ">"}, {"XREAD", "STREAMS", "s", "+"}, {"XREAD", "STREAMS", "s", "-"},
		{"XREAD", "GROUP", "g", "c", "STREAMS", "s", "0"}, {"XREAD", "NOACK", "STREAMS", "s", "0"}, {"XREAD", "FOO", "STREAMS", "s", "0"},
		{"XREAD", "COUNT", "x", "STREAMS", "s", "0"}, {"XREAD", "COUNT", "-1", "STREAMS", "s", "0"}, {"XREAD", "BLOCK", "x", "STREAMS", "s", "0"},
		{"XREAD", "BLOCK", "-1", "STREAMS", "s", "0"}, {"XREAD", "BLOCK", "0", "STREAMS", "t", "0"}, {"XREAD", "STREAMS", "str", "0"},
		{"XREAD", "STREAMS", "s", "str", "0", "x"}, {"XREAD", "STREAMS", "s", "str", "x", "0"}, {"XREAD", "STREAMS", "s", "5-0"},
		{"XREAD", "STREAMS", "s", "18446744073709551615-18446744073709551615"}, {"XREAD", "STREAMS"}, {"XREAD", "COUNT", "1"},
		{"XREAD", "COUNT", "1", "COUNT", "2", "STREAMS", "s", "t", "0", "0"}, {"XREAD", "streams", "STREAMS", "s", "0"},
		// XREADGROUP
		{"XADD", "q", "1-1", "f", "1"}, {"XADD", "q", "2-1", "f", "2"}, {"XADD", "q", "3-1", "f", "3", "g", "x"},
		{"XGROUP", "CREATE", "q", "g", "0"}, {"XGROUP", "CREATE", "q", "h", "$"},
		{"XREADGROUP", "GROUP", "g", "c1", "COUNT", "1", "STREAMS", "q", ">"}, {"XREADGROUP", "GROUP", "g", "c1", "STREAMS", "q", "0"},
		{"XREADGROUP", "GROUP", "g", "c2", "STREAMS", "q", ">"}, {"XREADGROUP", "GROUP", "g", "c2", "STREAMS", "q", ">"},
		{"XREADGROUP", "GROUP", "g", "c2", "STREAMS", "q", "0"}, {"XREADGROUP", "GROUP", "g", "c2", "STREAMS", "q", "2-1"},
		{"XREADGROUP", "GROUP", "g", "c3", "STREAMS", "q", "0"}, {"XREADGROUP", "GROUP", "g", "c2", "COUNT", "1", "STREAMS", "q", "0"},
		{"XREADGROUP", "GROUP", "nog", "c", "STREAMS", "q", ">"}, {"XREADGROUP", "GROUP", "g", "c", "STREAMS", "nokey", ">"},
		{"XREADGROUP", "GROUP", "g", "c", "STREAMS", "str", ">"}, {"XREADGROUP", "GROUP", "g", "c", "STREAMS", "q", "$"},
		{"XREADGROUP", "GROUP", "g", "c", "STREAMS", "q", "+"}, {"XREADGROUP", "GROUP", "g", "c", "STREAMS", "q", "x"},
		{"XREADGROUP", "GROUP", "g", "c", "STREAMS", "q", "q", ">"}, {"XREADGROUP", "GROUP", "g", "STREAMS", "q", ">"},
		{"XREADGROUP", "COUNT", "1", "STREAMS", "q", ">"}, {"XREADGROUP", "GROUP", "g", "c", "FOO", "STREAMS", "q", ">"},
		{"XREADGROUP", "GROUP", "h", "c", "NOACK", "STREAMS", "q", ">"}, {"XADD", "q", "4-1", "f", "4"},
		{"XREADGROUP", "GROUP", "h", "c", "NOACK", "STREAMS", "q", ">"}, {"XREADGROUP", "GROUP", "h", "c", "STREAMS", "q", "0"},
		{"XREADGROUP", "GROUP", "h", "c", "BLOCK", "0", "STREAMS", "q", "0"}, {"XINFO", "GROUPS", "q"},
		{"XREADGROUP", "GROUP", "g", "c1", "STREAMS", "q", "q", ">", "0"},
		{"XDEL", "q", "1-1"}, {"XREADGROUP", "GROUP", "g", "c1", "STREAMS", "q", "0"}, {"XINFO", "GROUPS", "q"},
		// XACK
		{"XACK", "q", "g", "1-1"}, {"XACK", "q", "g", "1-1"}, {"XACK", "q", "g", "x"}, {"XACK", "q", "nog", "x"},
		{"XACK", "nokey", "g", "x"}, {"XACK", "str", "g", "1-1"}, {"XACK", "q", "g", "2-1", "3-1", "9-9"}, {"XACK", "q", "g", "4-1", "x"},
		{"XACK", "q", "g", "-"}, {"XACK", "q", "g"},
		// XPENDING (summary is exact)
		{"XREADGROUP", "GROUP", "g", "c3", "STREAMS", "q", "0"}, {"XGROUP", "SETID", "q", "g", "0"},
		{"XREADGROUP", "GROUP", "g", "c3", "COUNT", "2", "STREAMS", "q", ">"}, {"XPENDING", "q", "g"}, {"XPENDING", "q", "h"},
		{"XPENDING", "q", "nog"}, {"XPENDING", "nokey", "g"}, {"XPENDING", "str", "g"}, {"XPENDING", "q", "g", "-", "+"},
		{"XPENDING", "q", "g", "-", "+", "x"}, {"XPENDING", "q", "g", "IDLE", "5", "-", "+"}, {"XPENDING", "q", "g", "IDLE", "x", "-", "+", "1"},
		{"XPENDING", "q", "g", "x", "+", "1"}, {"XPENDING", "q", "g", "(-", "+", "1"}, {"XPENDING", "q", "g", "-", "+", "0"},
		{"XPENDING", "q", "g", "-", "+", "-5"}, {"XPENDING", "q", "g", "-", "+", "10", "nocons"}, {"XPENDING", "q", "g", "-", "+", "10", "c3", "x"},
		{"XPENDING", "q", "g", "IDLE", "99999999", "-", "+", "10"}, {"XPENDING", "q", "g", "IDLE", "99999999", "-", "+", "10", "c3"},
		{"XPENDING", "nokey", "g", "-", "+", "10"}, {"XPENDING", "q", "g", "(18446744073709551615-18446744073709551615", "+", "10"},
		// XCLAIM / XAUTOCLAIM error paths and deterministic (idle-independent) cases
		{"XCLAIM", "q", "g", "c9", "x", "2-1"}, {"XCLAIM", "q", "nog", "c9", "0", "2-1"}, {"XCLAIM", "nokey", "g", "c9", "0", "2-1"},
		{"XCLAIM", "str", "g", "c9", "0", "2-1"}, {"XCLAIM", "q", "g", "c9", "0", "2-1", "IDLE", "x"}, {"XCLAIM", "q", "g", "c9", "0", "2-1", "TIME", "x"},
		{"XCLAIM", "q", "g", "c9", "0", "2-1", "RETRYCOUNT", "x"}, {"XCLAIM", "q", "g", "c9", "0", "2-1", "LASTID", "x"},
		{"XCLAIM", "q", "g", "c9", "0", "2-1", "FOO"}, {"XCLAIM", "q", "g", "c9", "0", "2-1", "IDLE"}, {"XCLAIM", "q", "g", "c9", "0", "x", "2-1"},
		{"XCLAIM", "q", "g", "c9", "99999999", "2-1"}, {"XCLAIM", "q", "g", "c9", "0", "2-1"}, {"XCLAIM", "q", "g", "c9", "0", "2-1", "JUSTID"},
		{"XCLAIM", "q", "g", "c9", "-5", "2-1", "3-1", "RETRYCOUNT", "7", "JUSTID"}, {"XCLAIM", "q", "g", "c9", "0", "4-1", "FORCE"},
		{"XCLAIM", "q", "g", "c9", "0", "4-1"}, {"XCLAIM", "q", "g", "c9", "0", "1-1", "FORCE"}, {"XCLAIM", "q", "g", "c9", "0", "4-1", "LASTID", "9-9"},
		{"XCLAIM", "q", "g", "c9", "0", "2-1", "TIME", "1000", "JUSTID"}, {"XCLAIM", "q", "g", "c8", "0", "2-1", "IDLE", "-5", "JUSTID"},
		{"XPENDING", "q", "g"}, {"XINFO", "GROUPS", "q"},
		{"XAUTOCLAIM", "q", "g", "c7", "x", "0"}, {"XAUTOCLAIM", "q", "g", "c7", "0", "x"}, {"XAUTOCLAIM", "q", "g", "c7", "0", "0", "COUNT", "0"},
		{"XAUTOCLAIM", "q", "g", "c7", "0", "0", "COUNT", "x"}, {"XAUTOCLAIM", "q", "g", "c7", "0", "0", "FOO"}, {"XAUTOCLAIM", "q", "nog", "c7", "0", "0"},
		{"XAUTOCLAIM", "nokey", "g", "c7", "0", "0"}, {"XAUTOCLAIM", "str", "g", "c7", "0", "0"}, {"XAUTOCLAIM", "q", "g", "c7", "0", "(-"},
		{"XAUTOCLAIM", "q", "g", "c7", "0", "0", "COUNT", "576460752303423488"}, {"XAUTOCLAIM", "q", "g", "c7", "99999999", "0"},
		{"XAUTOCLAIM", "q", "g", "c7", "0", "0", "COUNT", "1"}, {"XAUTOCLAIM", "q", "g", "c7", "0", "(2-1", "COUNT", "1", "JUSTID"},
		{"XAUTOCLAIM", "q", "g", "c7", "0", "0", "JUSTID"}, {"XDEL", "q", "2-1"}, {"XAUTOCLAIM", "q", "g", "c7", "0", "-", "COUNT", "1"},
		{"XAUTOCLAIM", "q", "g", "c7", "0", "-"}, {"XPENDING", "q", "g"}, {"XCLAIM", "q", "g", "c7", "0", "3-1", "4-1", "2-1"},
		// XINFO
		{"XINFO", "HELP"}, {"XINFO", "help", "x"}, {"XINFO", "FOO", "q"}, {"XINFO", "STREAM", "nokey"}, {"XINFO", "STREAM", "str"},
		{"XINFO", "STREAM", "q", "FOO"}, {"XINFO", "STREAM", "q", "FULL", "COUNT"}, {"XINFO", "STREAM", "q", "FULL", "X", "1"},
		{"XINFO", "STREAM", "q", "FULL", "COUNT", "x"}, {"XINFO", "STREAM", "q", "FULL", "COUNT", "1", "x"}, {"XINFO", "GROUPS", "nokey"},
		{"XINFO", "GROUPS", "str"}, {"XINFO", "GROUPS", "q", "x"}, {"XINFO", "CONSUMERS", "q"}, {"XINFO", "CONSUMERS", "q", "nog"},
		{"XINFO", "CONSUMERS", "nokey", "g"}, {"XINFO", "STREAM", "q"}, {"XINFO", "STREAM", "s"}, {"XINFO", "GROUPS", "s"}, {"XINFO", "STREAM"},
		{"XINFO"}, {"TYPE", "q"}, {"OBJECT", "ENCODING", "q"},
	}
	for _, c := range cmds {
		if c[0] == "XPENDING" {
			compareTimed(t, d, c...) // the extended form prints idle times
		} else {
			d.Compare(c...)
		}
	}
	for _, c := range [][]string{
		{"XPENDING", "q", "g", "-", "+", "10"}, {"XPENDING", "q", "g", "-", "+", "10", "c7"}, {"XPENDING", "q", "g", "IDLE", "0", "-", "+", "1"},
		{"XINFO", "CONSUMERS", "q", "g"}, {"XINFO", "STREAM", "q", "FULL"}, {"XINFO", "STREAM", "q", "FULL", "COUNT", "1"},
		{"XINFO", "STREAM", "q", "FULL", "COUNT", "0"}, {"XINFO", "STREAM", "q", "FULL", "COUNT", "-1"}, {"XINFO", "STREAM", "s", "FULL"},
	} {
		compareTimed(t, d, c...)
	}
	checkDump(t, d, []string{"s", "q", "t", "mk", "n0", "u", "nokey", "str"})
	// Automatic IDs follow each side's clock: compare their shape and
	// time, then what follows from them.
	for i := 0; i < 3; i++ {
		want, _ := d.Redis.Do("XADD", "auto", "*", "f", "v")
		d.H.Now = nowMs()
		got := d.H.Do("XADD", "auto", "*", "f", "v")
		gms, _, _ := strings.Cut(string(got.Str), "-")
		wms, _, _ := strings.Cut(string(want.Str), "-")
		g, _ := strconv.ParseInt(gms, 10, 64)
		w, _ := strconv.ParseInt(wms, 10, 64)
		if got.Kind != want.Kind || g-w > timeTolerance || w-g > timeTolerance {
			t.Errorf("XADD *: cairn %s, redis %s", got, want)
		}
	}
	d.Compare("XLEN", "auto")
}

func nowMs() int64 { return time.Now().UnixMilli() }

// firstDiff describes where a and b first differ.
func firstDiff(a, b reply.Value, path string) string {
	if a.Kind != b.Kind || len(a.Elems) != len(b.Elems) || a.Kind != reply.KindArray {
		if reply.Equal(a, b) {
			return ""
		}
		return path + ": " + a.String() + " vs " + b.String()
	}
	for i := range a.Elems {
		p := path + "/" + strconv.Itoa(i)
		if i > 0 && a.Elems[i-1].Kind == reply.KindBulk {
			p = path + "/" + string(a.Elems[i-1].Str)
		}
		if d := firstDiff(a.Elems[i], b.Elems[i], p); d != "" && !timedEqual(a.Elems[i], b.Elems[i], false) {
			return d
		}
	}
	return ""
}
