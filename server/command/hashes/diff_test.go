package hashes

import (
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/cairndb/cairn/server/command/commandtest"
	"github.com/cairndb/cairn/server/reply"
)

// newDiff starts a redis-server and a harness, both holding the string key
// "str" for WRONGTYPE paths.
func newDiff(t *testing.T) *commandtest.Diff {
	d := commandtest.NewDiff(t, Specs)
	if v, err := d.Redis.Do("SET", "str", "v"); err != nil || v.IsError() {
		t.Fatalf("SET: %v %v", v, err)
	}
	d.H.DB.Put([]byte("str"), []byte("v"), nil, 0)
	return d
}

// TestDiffDeterministic runs every command and error path on Cairn and on
// redis-server and compares the replies exactly.
func TestDiffDeterministic(t *testing.T) {
	d := newDiff(t)
	long := strings.Repeat("x", 65)
	cmds := [][]string{
		// HSET / HMSET / HSETNX
		{"HSET", "h", "a", "1"}, {"HSET", "h", "b", "2", "c", "3"}, {"HSET", "h", "a", "10", "d", "4"},
		{"HSET", "h", "a", "x", "a", "y", "e", "5", "e", "6"}, {"HSET", "h", "a"}, {"HSET", "h", "a", "1", "b"},
		{"HSET", "h"}, {"HSET"}, {"hmset", "h", "f", "7"}, {"HMSET", "h", "a", "1", "b"}, {"HMSET", "h", "a"},
		{"HSET", "str", "a", "1"}, {"HMSET", "str", "a", "1"}, {"HSET", "str", "a", "1", "b"},
		{"HSET", "h", "", ""}, {"HSETNX", "h", "a", "z"}, {"HSETNX", "h", "new", "z"}, {"HSETNX", "h2", "a", "1"},
		{"HSETNX", "str", "a", "1"}, {"HSETNX", "h", "a"}, {"HSETNX", "h", "a", "b", "c"},
		{"HSETNX", "h", "a", long}, {"HGETALL", "h"},
		// HGET / HMGET / HEXISTS / HSTRLEN / HLEN
		{"HGET", "h", "a"}, {"HGET", "h", "zz"}, {"HGET", "nokey", "a"}, {"HGET", "str", "a"}, {"HGET", "h"},
		{"HMGET", "h", "a", "zz", "b", "a"}, {"HMGET", "nokey", "a", "b"}, {"HMGET", "str", "a"}, {"HMGET", "h"},
		{"HEXISTS", "h", "a"}, {"HEXISTS", "h", "zz"}, {"HEXISTS", "nokey", "a"}, {"HEXISTS", "str", "a"},
		{"HSTRLEN", "h", "a"}, {"HSTRLEN", "h", ""}, {"HSTRLEN", "h", "zz"}, {"HSTRLEN", "nokey", "a"}, {"HSTRLEN", "str", "a"},
		{"HLEN", "h"}, {"HLEN", "nokey"}, {"HLEN", "str"}, {"HLEN", "h", "x"},
		// HKEYS / HVALS / HGETALL
		{"HKEYS", "h"}, {"HVALS", "h"}, {"HGETALL", "h"}, {"HKEYS", "nokey"}, {"HVALS", "nokey"}, {"HGETALL", "nokey"},
		{"HKEYS", "str"}, {"HVALS", "str"}, {"HGETALL", "str"}, {"HGETALL"},
		// HDEL
		{"HDEL", "h", "zz"}, {"HDEL", "h", "b", "zz", "b"}, {"HDEL", "nokey", "a"}, {"HDEL", "str", "a"}, {"HDEL", "h"},
		{"HSET", "h", "b", "again"}, {"HGETALL", "h"},
		{"HDEL", "h2", "a"}, {"HLEN", "h2"}, {"HGETALL", "h2"}, {"HSET", "h2", "q", "1"}, {"HGETALL", "h2"},
		// HINCRBY
		{"HINCRBY", "n", "a", "5"}, {"HINCRBY", "n", "a", "-7"}, {"HINCRBY", "n", "a", "1.5"}, {"HINCRBY", "n", "a", "+1"},
		{"HINCRBY", "n", "a", "01"}, {"HINCRBY", "n", "a", "-0"}, {"HINCRBY", "n", "a", " 1"}, {"HINCRBY", "n", "a", ""},
		{"HINCRBY", "n", "a", "9223372036854775808"}, {"HINCRBY", "n", "a", "-9223372036854775809"},
		{"HINCRBY", "str", "a", "x"}, {"HINCRBY", "str", "a", "1"}, {"HSET", "n", "s", "abc", "z", "-0", "l", "007", "sp", " 1"},
		{"HINCRBY", "n", "s", "1"}, {"HINCRBY", "n", "z", "1"}, {"HINCRBY", "n", "l", "1"}, {"HINCRBY", "n", "sp", "1"},
		{"HSET", "n", "m", "9223372036854775806"}, {"HINCRBY", "n", "m", "1"}, {"HINCRBY", "n", "m", "1"},
		{"HINCRBY", "n", "m", "-9223372036854775808"}, {"HINCRBY", "n", "m", "-9223372036854775807"}, {"HINCRBY", "n", "m", "-1"},
		{"HINCRBY", "n", "m", "0"}, {"HINCRBY", "n", "new", "0"}, {"HGETALL", "n"}, {"HINCRBY", "n", "a"},
		// HINCRBYFLOAT
		{"HINCRBYFLOAT", "f", "a", "10.5"}, {"HINCRBYFLOAT", "f", "a", "0.1"}, {"HINCRBYFLOAT", "f", "a", "-5"},
		{"HINCRBYFLOAT", "f", "b", "5.0e3"}, {"HINCRBYFLOAT", "f", "b", "2.0e2"}, {"HINCRBYFLOAT", "f", "c", "3.0000000000000000001"},
		{"HINCRBYFLOAT", "f", "d", "0x1p-1"}, {"HINCRBYFLOAT", "f", "d", "0X1P-1"}, {"HINCRBYFLOAT", "f", "d", "0x.8"},
		{"HINCRBYFLOAT", "f", "e", "-0"}, {"HINCRBYFLOAT", "f", "g", "-1e-18"}, {"HINCRBYFLOAT", "f", "h", "0.000000000000000015"},
		{"HINCRBYFLOAT", "f", "h", "0.000000000000000025"}, {"HINCRBYFLOAT", "f", "i", ".5"}, {"HINCRBYFLOAT", "f", "i", "5."},
		{"HINCRBYFLOAT", "f", "i", "+1"}, {"HINCRBYFLOAT", "f", "i", "00001.5"}, {"HINCRBYFLOAT", "f", "j", "1e-4950"},
		{"HINCRBYFLOAT", "f", "k", "0e99999999999"}, {"HINCRBYFLOAT", "f", "l", "0.1"}, {"HINCRBYFLOAT", "f", "l", "0.2"},
		{"HINCRBYFLOAT", "f", "m", "1.23456789012345678901234567890"}, {"HINCRBYFLOAT", "f", "m", "-0.00000000000000001"},
		{"HINCRBYFLOAT", "f", "n", "123456789012345678"}, {"HINCRBYFLOAT", "f", "n", "0.5"},
		{"HINCRBYFLOAT", "f", "o", "3.14159265358979323846264338327950288"}, {"HINCRBYFLOAT", "f", "o", "1e-10"},
		{"HINCRBYFLOAT", "f", "p", "-3.7"}, {"HINCRBYFLOAT", "f", "p", "1.7"}, {"HINCRBYFLOAT", "f", "p", "2"},
		{"HINCRBYFLOAT", "f", "a", "abc"}, {"HINCRBYFLOAT", "f", "a", "nan"}, {"HINCRBYFLOAT", "f", "a", "NaN"},
		{"HINCRBYFLOAT", "f", "a", "nan(123)"}, {"HINCRBYFLOAT", "f", "a", " 1"}, {"HINCRBYFLOAT", "f", "a", "1 "},
		{"HINCRBYFLOAT", "f", "a", "\t1"}, {"HINCRBYFLOAT", "f", "a", "1\n"}, {"HINCRBYFLOAT", "f", "a", ""},
		{"HINCRBYFLOAT", "f", "a", "."}, {"HINCRBYFLOAT", "f", "a", "1e"}, {"HINCRBYFLOAT", "f", "a", "1e+"},
		{"HINCRBYFLOAT", "f", "a", "0x"}, {"HINCRBYFLOAT", "f", "a", "0x1p"}, {"HINCRBYFLOAT", "f", "a", "1_0"},
		{"HINCRBYFLOAT", "f", "a", "0b101"}, {"HINCRBYFLOAT", "f", "a", "1,5"}, {"HINCRBYFLOAT", "f", "a", "\x00"},
		{"HINCRBYFLOAT", "f", "a", "1\x00"}, {"HINCRBYFLOAT", "f", "a", "1e5000"}, {"HINCRBYFLOAT", "f", "a", "1.2e4932"},
		{"HINCRBYFLOAT", "f", "a", "1e-5000"}, {"HINCRBYFLOAT", "f", "a", "1e-4951"}, {"HINCRBYFLOAT", "f", "a", "0x1p-16446"},
		{"HINCRBYFLOAT", "f", "a", "0x1p16384"}, {"HINCRBYFLOAT", "f", "a", "1e-99999999999999999999"},
		{"HINCRBYFLOAT", "f", "a", strings.Repeat("1", 5119)}, {"HINCRBYFLOAT", "f", "a", strings.Repeat("1", 5120)},
		{"HINCRBYFLOAT", "f", "a", "inf"}, {"HINCRBYFLOAT", "f", "a", "-Infinity"}, {"HINCRBYFLOAT", "f", "a", "+INF"},
		{"HINCRBYFLOAT", "f", "a", "infinit"}, {"HINCRBYFLOAT", "str", "a", "x"}, {"HINCRBYFLOAT", "str", "a", "inf"},
		{"HINCRBYFLOAT", "str", "a", "1"}, {"HSET", "f", "x", "1.5abc", "y", "inf", "z", "-infinity", "w", "nan", "v", " 1"},
		{"HINCRBYFLOAT", "f", "x", "1"}, {"HINCRBYFLOAT", "f", "y", "1"}, {"HINCRBYFLOAT", "f", "z", "1"},
		{"HINCRBYFLOAT", "f", "w", "1"}, {"HINCRBYFLOAT", "f", "v", "1"},
		{"HSET", "f", "max", "0x1.fffffffffffffffep+16383"}, {"HINCRBYFLOAT", "f", "max", "0x1p16383"},
		{"HINCRBYFLOAT", "f", "max", "-0x1p16383"}, {"HINCRBYFLOAT", "f", "max", "1"},
		{"HSET", "f", "int", "123", "neg", "-5"}, {"HINCRBYFLOAT", "f", "int", "0.5"}, {"HINCRBYFLOAT", "f", "neg", "0.25"},
		{"HINCRBYFLOAT", "f", "a"},
		// HRANDFIELD error paths and deterministic cases
		{"HRANDFIELD", "nokey"}, {"HRANDFIELD", "nokey", "5"}, {"HRANDFIELD", "nokey", "-5", "WITHVALUES"},
		{"HRANDFIELD", "nokey", "x"}, {"HRANDFIELD", "nokey", "1", "withvalue"}, {"HRANDFIELD", "nokey", "1", "withvalues", "x"},
		{"HRANDFIELD", "nokey", "-9223372036854775808"}, {"HRANDFIELD", "nokey", "-9223372036854775807"},
		{"HRANDFIELD", "nokey", "9223372036854775807"}, {"HRANDFIELD", "nokey", "9223372036854775808"},
		{"HRANDFIELD", "nokey", "-4611686018427387904", "WITHVALUES"}, {"HRANDFIELD", "nokey", "-4611686018427387903", "WITHVALUES"},
		{"HRANDFIELD", "nokey", "4611686018427387904", "WITHVALUES"}, {"HRANDFIELD", "nokey", "4611686018427387903", "withvalues"},
		{"HRANDFIELD", "str"}, {"HRANDFIELD", "str", "1"}, {"HRANDFIELD", "str", "x"}, {"HRANDFIELD", "str", "1", "x"},
		{"HRANDFIELD", "h", "0"}, {"HRANDFIELD", "h", "0", "WITHVALUES"}, {"HRANDFIELD", "h", "0", "x"},
		{"HRANDFIELD", "h", "100"}, {"HRANDFIELD", "h", "100", "WITHVALUES"}, {"HRANDFIELD", "h", "x", "WITHVALUES"},
		{"HRANDFIELD", "h", "-9223372036854775808", "WITHVALUES"}, {"HRANDFIELD", "h", "1", "WITHVALUES", "WITHVALUES"},
		// HSCAN
		{"HSCAN", "nokey", "0"}, {"HSCAN", "nokey", "0", "bogus"}, {"HSCAN", "nokey", "x"}, {"HSCAN", "str", "0"},
		{"HSCAN", "str", "x"}, {"HSCAN", "str", "0", "bogus"}, {"HSCAN", "h", "0"}, {"HSCAN", "h", "12345", "COUNT", "1"},
		{"HSCAN", "h", "0", "MATCH", "a*"}, {"HSCAN", "h", "0", "match", "b*", "MATCH", "?"}, {"HSCAN", "h", "0", "MATCH", "zz*"},
		{"HSCAN", "h", "", "MATCH", "*"}, {"HSCAN", "h", "-1"}, {"HSCAN", "h", "+5"}, {"HSCAN", "h", "18446744073709551615"},
		{"HSCAN", "h", "18446744073709551616"}, {"HSCAN", "h", "-18446744073709551616"}, {"HSCAN", "h", " 1"}, {"HSCAN", "h", "1 "},
		{"HSCAN", "h", "-"}, {"HSCAN", "h", "+"}, {"HSCAN", "h", "0x1"}, {"HSCAN", "h", "1.0"}, {"HSCAN", "h", "5\x00x"},
		{"HSCAN", "h", "\x00"}, {"HSCAN", "h", "\v1"},
		{"HSCAN", "h", "0", "COUNT", "0"}, {"HSCAN", "h", "0", "COUNT", "-1"}, {"HSCAN", "h", "0", "COUNT", "x"},
		{"HSCAN", "h", "0", "COUNT", ""}, {"HSCAN", "h", "0", "COUNT", "9223372036854775808"}, {"HSCAN", "h", "0", "COUNT", "1\x00"},
		{"HSCAN", "h", "0", "COUNT"}, {"HSCAN", "h", "0", "MATCH"}, {"HSCAN", "h", "0", "NOVALUES"},
		{"HSCAN", "h", "0", "TYPE", "string"}, {"HSCAN", "h", "0", "COUNT", "0", "COUNT", "x"},
		{"HSCAN", "h", "0", "COUNT", "x", "COUNT", "0"}, {"HSCAN", "h", "0", "MATCH", "*", "COUNT", "1", "bogus"},
		{"HSCAN", "h"}, {"HSET", "h", "*", "star", "[a]", "br", "a\\b", "bs"},
		{"HSCAN", "h", "0", "MATCH", "\\*"}, {"HSCAN", "h", "0", "MATCH", "[[]*"}, {"HSCAN", "h", "0", "MATCH", "*\\\\*"},
		{"HSCAN", "h", "0", "MATCH", "**"}, {"HSCAN", "h", "0", "MATCH", "[^a-c]*"},
		// Unknown arity combos for every command
		{"HGET", "h", "a", "b"}, {"HEXISTS", "h"}, {"HSTRLEN", "h"}, {"HKEYS"}, {"HVALS", "h", "x"}, {"HINCRBY", "h", "a", "1", "2"},
		{"HINCRBYFLOAT", "h"}, {"HRANDFIELD"}, {"HDEL"}, {"HMGET"},
	}
	for _, c := range cmds {
		d.Compare(c...)
	}
	// "f" holds values longer than 64 bytes: a hashtable, compared as a set.
	checkEncoding(t, d, "f")
	compareSorted(t, d, "HGETALL", "f")
}

// TestDiffEncodings compares hashes around the listpack/hashtable limits.
// A hashtable's order is Cairn's own (field-hash order), so replies that
// list a hashtable are compared as sets.
func TestDiffEncodings(t *testing.T) {
	d := newDiff(t)
	args := []string{"HSET", "big"}
	for i := 0; i < 128; i++ {
		args = append(args, "f"+strconv.Itoa(i), strconv.Itoa(i*i))
	}
	d.Compare(args...)
	checkEncoding(t, d, "big")
	d.Compare("HGETALL", "big") // still a listpack: exact order
	d.Compare("HSCAN", "big", "0", "COUNT", "3")
	d.Compare("HRANDFIELD", "big", "500", "WITHVALUES")
	d.Compare("HSET", "big", "f128", "x")
	checkEncoding(t, d, "big")
	d.Compare("HDEL", "big", "f128", "f0")
	checkEncoding(t, d, "big")
	compareSorted(t, d, "HGETALL", "big")
	compareSorted(t, d, "HKEYS", "big")
	compareSorted(t, d, "HVALS", "big")
	compareSorted(t, d, "HRANDFIELD", "big", "1000")
	d.Compare("HLEN", "big")
	compareScan(t, d, "big", "MATCH", "f1*", "COUNT", "5")
	compareScan(t, d, "big")

	d.Compare("HSET", "lv", "a", "1", "b", strings.Repeat("v", 64))
	checkEncoding(t, d, "lv")
	d.Compare("HSET", "lv", "c", strings.Repeat("v", 65))
	checkEncoding(t, d, "lv")
	d.Compare("HSET", "lf", strings.Repeat("k", 65), "1")
	checkEncoding(t, d, "lf")
	d.Compare("HSET", "lu", "a", "1")
	d.Compare("HSET", "lu", "a", strings.Repeat("v", 65)) // an update converts too
	checkEncoding(t, d, "lu")
	d.Compare("HSET", "lx", "a", "1")
	d.Compare("HINCRBYFLOAT", "lx", "a", "1e100") // a long result converts
	checkEncoding(t, d, "lx")
	d.Compare("HINCRBYFLOAT", "lx", "a", "1e400")
	d.Compare("HGET", "lx", "a")
	d.Compare("HSETNX", "ln", "a", "1")
	d.Compare("HSETNX", "ln", "a", strings.Repeat("v", 65)) // existing field: no conversion
	checkEncoding(t, d, "ln")
	d.Compare("HSETNX", "ln", "b", strings.Repeat("v", 65))
	checkEncoding(t, d, "ln")
	compareSorted(t, d, "HGETALL", "ln")
	// Deleting fields does not convert back.
	d.Compare("HDEL", "ln", "b")
	checkEncoding(t, d, "ln")
}

func checkEncoding(t *testing.T, d *commandtest.Diff, key string) {
	t.Helper()
	want, err := d.Redis.Do("OBJECT", "ENCODING", key)
	if err != nil {
		t.Fatal(err)
	}
	if got := hashAt(t, d.H, key).Encoding(); got != string(want.Str) {
		t.Errorf("%s: encoding %s, redis %s", key, got, want.Str)
	}
}

// compareSorted compares a reply as a multiset of elements (of pairs for
// HGETALL and WITHVALUES).
func compareSorted(t *testing.T, d *commandtest.Diff, args ...string) {
	t.Helper()
	want, err := d.Redis.Do(args...)
	if err != nil {
		t.Fatal(err)
	}
	got := d.H.Do(args...).RESP2()
	pairs := strings.EqualFold(args[0], "hgetall") || strings.EqualFold(args[len(args)-1], "withvalues")
	if g, w := sortedElems(got, pairs), sortedElems(want, pairs); g != w {
		t.Errorf("%q:\n  cairn: %s\n  redis: %s", args, g, w)
	}
}

func sortedElems(v reply.Value, pairs bool) string {
	if v.Kind != reply.KindArray {
		return v.String()
	}
	var items []string
	step := 1
	if pairs {
		step = 2
	}
	for i := 0; i+step <= len(v.Elems); i += step {
		s := string(v.Elems[i].Str)
		if pairs {
			s += "\x00" + string(v.Elems[i+1].Str)
		}
		items = append(items, s)
	}
	sort.Strings(items)
	return strconv.Quote(strings.Join(items, "\x01"))
}

// compareScan runs a whole HSCAN iteration on both and compares the sets
// of pairs returned.
func compareScan(t *testing.T, d *commandtest.Diff, key string, opts ...string) {
	t.Helper()
	scan := func(do func(args ...string) reply.Value) string {
		var all []reply.Value
		cursor := "0"
		for i := 0; i < 100000; i++ {
			v := do(append([]string{"HSCAN", key, cursor}, opts...)...)
			if v.Kind != reply.KindArray || len(v.Elems) != 2 {
				return v.String()
			}
			all = append(all, v.Elems[1].Elems...)
			if cursor = string(v.Elems[0].Str); cursor == "0" {
				break
			}
		}
		return sortedElems(reply.Array(all...), true)
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
		t.Errorf("HSCAN %s %q:\n  cairn: %s\n  redis: %s", key, opts, got, want)
	}
}

// TestDiffRandom runs a seeded random sequence of hash commands over a few
// small keys on both and compares every reply exactly, except HRANDFIELD,
// whose choices are checked for validity against the hash's contents.
func TestDiffRandom(t *testing.T) {
	diffRandom(t, false)
	// The same with the keyspace events compared too.
	diffRandom(t, true)
}

func diffRandom(t *testing.T, events bool) {
	var d *commandtest.Diff
	var compare func(args ...string) (got, want reply.Value)
	if events {
		ed := commandtest.NewEventDiff(t, "A", Specs)
		ed.RedisQuiet("SET", "str", "v")
		ed.H.DB.Put([]byte("str"), []byte("v"), nil, 0)
		d, compare = ed.Diff, ed.Compare
	} else {
		d = newDiff(t)
		compare = d.Compare
	}
	rng := rand.New(rand.NewPCG(2024, 7))
	keys := []string{"k1", "k2", "k3", "str", "none"}
	fields := []string{"a", "b", "c", "d", "e", "f", "g", "field:1", "field:2", "x y", "", "ü", "*", "A"}
	values := []string{"0", "1", "-5", "42", "abc", "3.5", "", "9223372036854775807", "-9223372036854775808",
		"1e3", "0x10", " 2", "inf", "-0", "007", "0.1", strings.Repeat("z", 64)}
	intIncrs := []string{"1", "-1", "100", "-100", "0", "9223372036854775807", "-9223372036854775808", "x", "1.5", "+1"}
	floatIncrs := []string{"1.5", "-0.1", "0.1", "1e10", "-1e10", "3", "0.000000000000000015", "2.5e-3", "x", "inf",
		"-7", "1e17", "0.3333333333333333333", "0x1p-3", "nan", "-0"}
	patterns := []string{"*", "a*", "?", "[a-c]", "field:*", "*\\*", "[^a]*", "*:?", "A", "[aA]"}
	pick := func(xs []string) string { return xs[rng.IntN(len(xs))] }
	// The field pool grows and shrinks by phases, so hashes both fill up
	// and empty out (and get deleted).
	pool := fields
	someFields := func(n int, withValues bool) []string {
		var out []string
		for i := 0; i < n; i++ {
			out = append(out, pick(pool))
			if withValues {
				out = append(out, pick(values))
			}
		}
		return out
	}
	deletes := 0
	kinds := map[string]int{}
	more := commandtest.RandomSteps(4000)
	for i := 0; more(i); i++ {
		pool = fields[:[]int{2, 4, 8, len(fields)}[i/250%4]]
		k := pick(keys)
		if strings.HasPrefix(k, "k") {
			k += ":" + strconv.Itoa(len(pool)) // each pool size has its own keys
		}
		var args []string
		switch r := rng.IntN(100); {
		case r < 14:
			args = append([]string{"HSET", k}, someFields(1+rng.IntN(3), true)...)
			if rng.IntN(20) == 0 {
				args = args[:len(args)-1] // odd count
			}
		case r < 17:
			args = append([]string{"HMSET", k}, someFields(1+rng.IntN(2), true)...)
		case r < 21:
			args = []string{"HSETNX", k, pick(pool), pick(values)}
		case r < 27:
			args = []string{"HGET", k, pick(pool)}
		case r < 30:
			args = append([]string{"HMGET", k}, someFields(1+rng.IntN(4), false)...)
		case r < 38:
			args = append([]string{"HDEL", k}, someFields(1+rng.IntN(3), false)...)
		case r < 41:
			args = []string{"HLEN", k}
		case r < 44:
			args = []string{"HSTRLEN", k, pick(pool)}
		case r < 47:
			args = []string{"HEXISTS", k, pick(pool)}
		case r < 50:
			args = []string{"HKEYS", k}
		case r < 53:
			args = []string{"HVALS", k}
		case r < 58:
			args = []string{"HGETALL", k}
		case r < 67:
			args = []string{"HINCRBY", k, pick(pool), pick(intIncrs)}
		case r < 76:
			args = []string{"HINCRBYFLOAT", k, pick(pool), pick(floatIncrs)}
		case r < 88:
			args = []string{"HRANDFIELD", k}
			if rng.IntN(4) != 0 {
				args = append(args, strconv.Itoa(rng.IntN(31)-15))
				if rng.IntN(2) == 0 {
					args = append(args, "WITHVALUES")
				}
			}
			compareRand(t, d, args)
			continue
		default:
			args = []string{"HSCAN", k, pick([]string{"0", "0", "0", "7", "x"})}
			if rng.IntN(2) == 0 {
				args = append(args, "MATCH", pick(patterns))
			}
			if rng.IntN(3) == 0 {
				args = append(args, "COUNT", pick([]string{"1", "5", "100", "0"}))
			}
		}
		_, want := compare(args...)
		// An emptied hash must be deleted, which no hash command shows.
		ex, err := d.Redis.Do("EXISTS", k)
		if err != nil {
			t.Fatal(err)
		}
		if got := d.H.DB.Exists([]byte(k), d.H.Now) != nil; got != (ex.Int == 1) {
			t.Fatalf("after %q: key exists %v, redis %d", args, got, ex.Int)
		}
		kinds[args[0]+" "+strconv.Itoa(int(want.Kind))]++
		if args[0] == "HDEL" && want.Int > 0 && ex.Int == 0 {
			deletes++
		}
	}
	t.Logf("%d hashes emptied by HDEL; reply kinds %v", deletes, kinds)
	if deletes < 20 {
		t.Errorf("only %d HDELs emptied a hash: the sequence does not exercise deletion", deletes)
	}
	for _, k := range []string{"k1", "k2", "k3"} {
		for _, n := range []int{2, 4, 8, len(fields)} {
			d.Compare("HGETALL", k+":"+strconv.Itoa(n))
		}
	}
}

// compareRand runs an HRANDFIELD on both. Errors and the reply's shape
// must be identical; the fields chosen must exist (with their values),
// be distinct for a positive count, and number exactly what Redis returns.
func compareRand(t *testing.T, d *commandtest.Diff, args []string) {
	t.Helper()
	want, err := d.Redis.Do(args...)
	if err != nil {
		t.Fatal(err)
	}
	got := d.H.Do(args...).RESP2()
	if want.Kind != got.Kind || len(want.Elems) != len(got.Elems) || want.Kind == reply.KindError || want.Kind == reply.KindNil {
		if !reply.Equal(got, want) {
			t.Errorf("%q:\n  cairn: %s\n  redis: %s", args, got, want)
		}
		return
	}
	all, err := d.Redis.Do("HGETALL", args[1])
	if err != nil {
		t.Fatal(err)
	}
	contents := map[string]string{}
	for i := 0; i+1 < len(all.Elems); i += 2 {
		contents[string(all.Elems[i].Str)] = string(all.Elems[i+1].Str)
	}
	if got.Kind == reply.KindBulk {
		if _, ok := contents[string(got.Str)]; !ok {
			t.Errorf("%q: cairn returned %q, not in the hash", args, got.Str)
		}
		return
	}
	withValues := len(args) == 4
	count, _ := strconv.Atoi(args[2])
	seen := map[string]bool{}
	step := 1
	if withValues {
		step = 2
	}
	for i := 0; i < len(got.Elems); i += step {
		f := string(got.Elems[i].Str)
		v, ok := contents[f]
		if !ok || (withValues && v != string(got.Elems[i+1].Str)) {
			t.Errorf("%q: cairn returned %s, not in the hash", args, got)
			return
		}
		if count > 0 && seen[f] {
			t.Errorf("%q: cairn repeated %q", args, f)
		}
		seen[f] = true
	}
	if count >= len(contents) && !reply.Equal(got, want) {
		// The whole hash is returned, in the hash's order.
		t.Errorf("%q:\n  cairn: %s\n  redis: %s", args, got, want)
	}
}
