package lists

import (
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cairndb/cairn/server/command/commandtest"
	"github.com/cairndb/cairn/server/command/keys"
	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/server/reply"
)

// newDiff starts a redis-server and a harness (list and generic key
// commands), both holding the string key "str" for WRONGTYPE paths.
func newDiff(t *testing.T) *commandtest.Diff {
	d := commandtest.NewDiff(t, Specs, keys.Specs)
	if v, err := d.Redis.Do("SET", "str", "v"); err != nil || v.IsError() {
		t.Fatalf("SET: %v %v", v, err)
	}
	d.H.DB.Put([]byte("str"), []byte("v"), nil, 0)
	return d
}

// TestDiffDeterministic runs every command, option and error path on
// Cairn and on redis-server and compares the replies exactly. Blocking
// commands are run only where they do not block (data present, or an
// argument error).
func TestDiffDeterministic(t *testing.T) {
	d := newDiff(t)
	long := strings.Repeat("x", 100)
	cmds := [][]string{
		// LPUSH / RPUSH / LPUSHX / RPUSHX
		{"LPUSH", "l", "a"}, {"LPUSH", "l", "b", "c"}, {"RPUSH", "l", "d", "e", "f"}, {"LRANGE", "l", "0", "-1"},
		{"LPUSH", "l"}, {"RPUSH"}, {"LPUSH", "str", "a"}, {"RPUSH", "str", "a"}, {"lpush", "l", "", "1", "-1", long},
		{"LPUSHX", "nokey", "a"}, {"RPUSHX", "nokey", "a", "b"}, {"EXISTS", "nokey"}, {"LPUSHX", "l", "x"},
		{"RPUSHX", "l", "y", "z"}, {"LPUSHX", "str", "a"}, {"RPUSHX", "str", "a"}, {"LPUSHX", "l"},
		{"LRANGE", "l", "0", "-1"},
		// LLEN
		{"LLEN", "l"}, {"LLEN", "nokey"}, {"LLEN", "str"}, {"LLEN"}, {"LLEN", "l", "x"},
		// LINDEX
		{"LINDEX", "l", "0"}, {"LINDEX", "l", "-1"}, {"LINDEX", "l", "3"}, {"LINDEX", "l", "100"}, {"LINDEX", "l", "-100"},
		{"LINDEX", "l", "x"}, {"LINDEX", "nokey", "x"}, {"LINDEX", "nokey", "0"}, {"LINDEX", "str", "0"},
		{"LINDEX", "str", "x"}, {"LINDEX", "l", "9223372036854775807"}, {"LINDEX", "l", "-9223372036854775808"},
		{"LINDEX", "l", "9223372036854775808"}, {"LINDEX", "l", "01"}, {"LINDEX", "l", "+1"}, {"LINDEX", "l"},
		// LRANGE
		{"LRANGE", "l", "0", "0"}, {"LRANGE", "l", "-3", "-1"}, {"LRANGE", "l", "-100", "100"}, {"LRANGE", "l", "5", "2"},
		{"LRANGE", "l", "100", "200"}, {"LRANGE", "l", "-1", "-3"}, {"LRANGE", "l", "2", "-2"},
		{"LRANGE", "l", "-9223372036854775808", "9223372036854775807"}, {"LRANGE", "l", "x", "1"}, {"LRANGE", "l", "1", "x"},
		{"LRANGE", "nokey", "0", "-1"}, {"LRANGE", "nokey", "x", "1"}, {"LRANGE", "str", "0", "-1"}, {"LRANGE", "str", "x", "1"},
		{"LRANGE", "l", "0"},
		// LSET
		{"LSET", "l", "0", "new"}, {"LSET", "l", "-1", "last"}, {"LSET", "l", "100", "x"}, {"LSET", "l", "-100", "x"},
		{"LSET", "l", "x", "y"}, {"LSET", "nokey", "0", "x"}, {"LSET", "nokey", "x", "x"}, {"LSET", "str", "0", "x"},
		{"LSET", "l", "1", long + long}, {"LSET", "l", "2", ""}, {"LSET", "l", "0"}, {"LRANGE", "l", "0", "-1"},
		// LINSERT
		{"LINSERT", "l", "BEFORE", "new", "b0"}, {"LINSERT", "l", "after", "new", "a0"}, {"LINSERT", "l", "AFTER", "last", "end"},
		{"LINSERT", "l", "before", "nope", "x"}, {"LINSERT", "l", "middle", "new", "x"}, {"LINSERT", "nokey", "BEFORE", "a", "x"},
		{"LINSERT", "nokey", "bad", "a", "x"}, {"LINSERT", "str", "BEFORE", "a", "x"}, {"LINSERT", "str", "bad", "a", "x"},
		{"LINSERT", "l", "BEFORE", "1", "one"}, {"LINSERT", "l", "BEFORE", "new"}, {"LRANGE", "l", "0", "-1"},
		// LPOS
		{"RPUSH", "p", "a", "b", "c", "a", "b", "c", "a", "1", "01"},
		{"LPOS", "p", "a"}, {"LPOS", "p", "c"}, {"LPOS", "p", "zz"}, {"LPOS", "p", "1"}, {"LPOS", "p", "01"},
		{"LPOS", "p", "a", "RANK", "2"}, {"LPOS", "p", "a", "RANK", "-1"}, {"LPOS", "p", "a", "RANK", "-3"}, {"LPOS", "p", "a", "RANK", "4"},
		{"LPOS", "p", "a", "RANK", "0"}, {"LPOS", "p", "a", "RANK", "x"},
		{"LPOS", "p", "a", "RANK", "-9223372036854775807"}, {"LPOS", "p", "a", "RANK", "9223372036854775807"},
		{"LPOS", "p", "a", "COUNT", "0"}, {"LPOS", "p", "a", "COUNT", "2"}, {"LPOS", "p", "a", "COUNT", "-1"}, {"LPOS", "p", "a", "COUNT", "x"},
		{"LPOS", "p", "zz", "COUNT", "0"}, {"LPOS", "p", "a", "RANK", "2", "COUNT", "0"}, {"LPOS", "p", "a", "RANK", "-2", "COUNT", "5"},
		{"LPOS", "p", "a", "MAXLEN", "3"}, {"LPOS", "p", "a", "MAXLEN", "4", "COUNT", "0"}, {"LPOS", "p", "c", "MAXLEN", "2"},
		{"LPOS", "p", "a", "MAXLEN", "-1"}, {"LPOS", "p", "a", "MAXLEN", "x"}, {"LPOS", "p", "a", "MAXLEN", "0", "RANK", "-1", "COUNT", "0"},
		{"LPOS", "p", "a", "RANK"}, {"LPOS", "p", "a", "COUNT"}, {"LPOS", "p", "a", "bogus", "1"}, {"LPOS", "p", "a", "rank", "1", "rank", "2"},
		{"LPOS", "nokey", "a"}, {"LPOS", "nokey", "a", "COUNT", "1"}, {"LPOS", "nokey", "a", "RANK", "0"}, {"LPOS", "str", "a"},
		{"LPOS", "str", "a", "COUNT", "x"}, {"LPOS", "p"}, {"LPOS", "nokey", "a", "COUNT", "0", "MAXLEN", "1"},
		// LREM
		{"LREM", "p", "1", "a"}, {"LRANGE", "p", "0", "-1"}, {"LREM", "p", "-1", "b"}, {"LRANGE", "p", "0", "-1"},
		{"LREM", "p", "0", "c"}, {"LREM", "p", "0", "zz"}, {"LREM", "p", "x", "a"}, {"LREM", "nokey", "0", "a"},
		{"LREM", "nokey", "x", "a"}, {"LREM", "str", "0", "a"}, {"LREM", "p", "-9223372036854775808", "a"},
		{"LRANGE", "p", "0", "-1"}, {"LREM", "p", "0", "b"}, {"LREM", "p", "5", "1"}, {"LREM", "p", "5", "01"}, {"EXISTS", "p"},
		{"LREM", "p", "1"},
		// LTRIM
		{"RPUSH", "t", "0", "1", "2", "3", "4", "5", "6", "7", "8", "9"},
		{"LTRIM", "t", "1", "-2"}, {"LRANGE", "t", "0", "-1"}, {"LTRIM", "t", "-100", "100"}, {"LTRIM", "t", "2", "1"},
		{"EXISTS", "t"}, {"RPUSH", "t", "a", "b", "c"}, {"LTRIM", "t", "-2", "-1"}, {"LRANGE", "t", "0", "-1"},
		{"LTRIM", "t", "x", "1"}, {"LTRIM", "t", "1", "x"}, {"LTRIM", "nokey", "0", "1"}, {"LTRIM", "nokey", "x", "1"},
		{"LTRIM", "str", "0", "1"}, {"LTRIM", "t", "5", "10"}, {"EXISTS", "t"}, {"LTRIM", "t", "0"},
		// LPOP / RPOP
		{"RPUSH", "q", "a", "b", "c", "d", "e"}, {"LPOP", "q"}, {"RPOP", "q"}, {"LPOP", "q", "0"}, {"LPOP", "q", "1"},
		{"RPOP", "q", "1"}, {"RPUSH", "q", "f", "g", "h"}, {"RPOP", "q", "2"}, {"LPOP", "q", "100"}, {"EXISTS", "q"},
		{"LPOP", "q"}, {"LPOP", "q", "1"}, {"LPOP", "q", "0"}, {"RPOP", "q", "-1"}, {"LPOP", "q", "x"}, {"LPOP", "str"},
		{"LPOP", "str", "1"}, {"LPOP", "str", "-1"}, {"LPOP", "str", "x"}, {"LPOP", "q", "1", "2"}, {"RPOP", "str", "0"},
		{"LPOP", "q", "9223372036854775807"}, {"RPUSH", "q", "1"}, {"RPOP", "q", "9223372036854775807"}, {"LPOP"},
		// LMOVE / RPOPLPUSH
		{"RPUSH", "s", "1", "2", "3"}, {"LMOVE", "s", "d", "LEFT", "RIGHT"}, {"LMOVE", "s", "d", "right", "left"},
		{"LRANGE", "d", "0", "-1"}, {"LMOVE", "s", "s", "LEFT", "RIGHT"}, {"LRANGE", "s", "0", "-1"},
		{"LMOVE", "s", "s", "RIGHT", "LEFT"}, {"LMOVE", "s", "d", "LEFT", "LEFT"}, {"EXISTS", "s"}, {"LMOVE", "s", "d", "LEFT", "LEFT"},
		{"LMOVE", "d", "str", "LEFT", "LEFT"}, {"LMOVE", "str", "d", "LEFT", "LEFT"}, {"LMOVE", "nokey", "str", "LEFT", "LEFT"},
		{"LMOVE", "d", "d", "UP", "LEFT"}, {"LMOVE", "d", "d", "LEFT", "DOWN"}, {"LMOVE", "nokey", "d", "UP", "LEFT"},
		{"RPOPLPUSH", "d", "e"}, {"RPOPLPUSH", "d", "d"}, {"RPOPLPUSH", "nokey", "d"}, {"RPOPLPUSH", "d", "str"},
		{"RPOPLPUSH", "str", "d"}, {"LRANGE", "d", "0", "-1"}, {"LRANGE", "e", "0", "-1"}, {"RPOPLPUSH", "e", "x"},
		{"RPOPLPUSH", "x", "x"}, {"LRANGE", "x", "0", "-1"}, {"LMOVE", "d", "e", "LEFT"}, {"RPOPLPUSH", "d"},
		// LMPOP
		{"RPUSH", "m1", "a", "b", "c"}, {"RPUSH", "m2", "x", "y"},
		{"LMPOP", "2", "nokey", "m1", "LEFT"}, {"LMPOP", "2", "nokey", "m1", "RIGHT", "COUNT", "5"}, {"EXISTS", "m1"},
		{"LMPOP", "3", "nokey", "m1", "m2", "left", "count", "1"}, {"LMPOP", "1", "nokey", "LEFT"}, {"LMPOP", "1", "nokey", "LEFT", "COUNT", "3"},
		{"LMPOP", "2", "str", "m2", "LEFT"}, {"LMPOP", "2", "m2", "str", "LEFT"}, {"LMPOP", "0", "m2", "LEFT"}, {"LMPOP", "-1", "m2", "LEFT"},
		{"LMPOP", "x", "m2", "LEFT"}, {"LMPOP", "3", "m2", "LEFT"}, {"LMPOP", "2", "m2", "LEFT"}, {"LMPOP", "1", "m2", "UP"},
		{"LMPOP", "1", "m2", "LEFT", "COUNT"}, {"LMPOP", "1", "m2", "LEFT", "COUNT", "0"}, {"LMPOP", "1", "m2", "LEFT", "COUNT", "-1"},
		{"LMPOP", "1", "m2", "LEFT", "COUNT", "x"}, {"LMPOP", "1", "m2", "LEFT", "COUNT", "1", "COUNT", "1"}, {"LMPOP", "1", "m2", "LEFT", "bogus"},
		{"LMPOP", "1", "nokey", "UP"}, {"LMPOP", "1", "m2"}, {"LMPOP", "1"}, {"LMPOP", "1", "m2", "LEFT", "COUNT", "9223372036854775807"},
		{"LMPOP", "100", "m2", "LEFT"}, {"LMPOP", "9223372036854775807", "m2", "LEFT"}, {"LMPOP", "1", "str", "LEFT", "COUNT", "x"},
		// BLPOP / BRPOP with data present, and argument errors
		{"RPUSH", "b1", "a", "b", "c"}, {"BLPOP", "nokey", "b1", "0"}, {"BRPOP", "nokey", "b1", "1.5"}, {"BLPOP", "b1", "0.001"},
		{"EXISTS", "b1"}, {"RPUSH", "b1", "x", "y", "z", "w", "v", "u", "t"}, {"BLPOP", "str", "b1", "0"}, {"BLPOP", "b1", "str", "0"}, {"BLPOP", "b1", "x"},
		{"BLPOP", "b1", "-1"}, {"BLPOP", "b1", "-0.0001"}, {"BLPOP", "b1", "inf"}, {"BLPOP", "b1", "nan"}, {"BLPOP", "b1", "1e300"},
		{"BLPOP", "b1", "9223372036854775807"}, {"BLPOP", "b1", ""}, {"BLPOP", "b1", " 1"},
		{"BLPOP", "b1", "0x10"}, {"BLPOP", "b1", "-0.5"}, {"BLPOP", "b1", "1e16"}, {"BLPOP", "b1", "-inf"}, {"BLPOP", "nokey", "x"}, {"BLPOP", "str", "x"}, {"BLPOP", "b1"}, {"BRPOP", "b1", "1e-10"},
		// BLMOVE / BRPOPLPUSH with data present, and argument errors
		{"RPUSH", "b2", "1", "2", "3"}, {"BLMOVE", "b2", "b3", "LEFT", "RIGHT", "0"}, {"BRPOPLPUSH", "b2", "b3", "0"},
		{"LRANGE", "b3", "0", "-1"}, {"BLMOVE", "b2", "b3", "UP", "RIGHT", "0"}, {"BLMOVE", "b2", "b3", "LEFT", "DOWN", "0"},
		{"BLMOVE", "b2", "b3", "LEFT", "RIGHT", "x"}, {"BLMOVE", "b2", "b3", "LEFT", "RIGHT", "-1"}, {"BLMOVE", "b2", "str", "LEFT", "RIGHT", "0"},
		{"BLMOVE", "str", "b3", "LEFT", "RIGHT", "0"}, {"BRPOPLPUSH", "b2", "b3", "x"}, {"BRPOPLPUSH", "b2", "str", "0"},
		{"BRPOPLPUSH", "str", "b3", "0"}, {"BRPOPLPUSH", "b2", "b3", "-5"}, {"BRPOPLPUSH", "b2", "b3", "1", "2"},
		{"BLMOVE", "b2", "b3", "LEFT", "RIGHT"}, {"BLMOVE", "nokey", "b3", "UP", "RIGHT", "0"}, {"BRPOPLPUSH", "nokey", "b3", "x"},
		{"BLMOVE", "b2", "b2", "LEFT", "RIGHT", "0"}, {"LRANGE", "b2", "0", "-1"}, {"EXISTS", "b2"},
		// BLMPOP with data present, and argument errors
		{"RPUSH", "b4", "a", "b", "c", "d"}, {"BLMPOP", "0", "2", "nokey", "b4", "LEFT"}, {"BLMPOP", "1", "1", "b4", "RIGHT", "COUNT", "2"},
		{"BLMPOP", "0", "1", "b4", "LEFT", "COUNT", "10"}, {"EXISTS", "b4"}, {"RPUSH", "b4", "z"},
		{"BLMPOP", "x", "1", "b4", "LEFT"}, {"BLMPOP", "-1", "1", "b4", "LEFT"}, {"BLMPOP", "0", "0", "b4", "LEFT"},
		{"BLMPOP", "0", "x", "b4", "LEFT"}, {"BLMPOP", "0", "2", "b4", "LEFT"}, {"BLMPOP", "0", "1", "b4", "UP"},
		{"BLMPOP", "0", "1", "b4", "LEFT", "COUNT", "0"}, {"BLMPOP", "0", "1", "b4", "LEFT", "COUNT"}, {"BLMPOP", "x", "1", "b4", "UP"},
		{"BLMPOP", "x", "0", "b4", "LEFT"}, {"BLMPOP", "0", "1", "str", "LEFT"}, {"BLMPOP", "0", "2", "str", "b4", "LEFT"},
		{"BLMPOP", "0", "1", "b4", "LEFT", "x"}, {"BLMPOP", "0", "1", "b4"}, {"BLMPOP", "0", "1", "b4", "LEFT", "COUNT", "1"},
		{"EXISTS", "b4"},
		// TYPE and arity of everything
		{"TYPE", "l"}, {"LINSERT", "l", "BEFORE", "a"}, {"LSET", "l", "0"}, {"LREM", "l", "0"}, {"LTRIM", "l", "0"},
		{"LMOVE", "l", "l", "LEFT"}, {"RPOPLPUSH", "l"}, {"BLPOP"}, {"BRPOP", "l"}, {"BLMOVE", "a", "b", "LEFT", "LEFT"},
		{"BRPOPLPUSH", "a", "b"}, {"BLMPOP", "0", "1", "l"}, {"LPUSHX"}, {"RPUSHX", "l"}, {"LPOS", "l"},
	}
	for _, c := range cmds {
		d.Compare(c...)
	}
}

// TestDiffLarge compares lists across node boundaries: thousands of
// elements of all sizes, indexes and ranges everywhere, middle inserts,
// sets and removals.
func TestDiffLarge(t *testing.T) {
	d := newDiff(t)
	r := rand.New(rand.NewPCG(5, 6))
	elem := func() string {
		switch r.IntN(5) {
		case 0:
			return strconv.Itoa(r.IntN(1000))
		case 1:
			return strings.Repeat("y", r.IntN(5000))
		default:
			return "e" + strconv.Itoa(r.IntN(50))
		}
	}
	for i := 0; i < 40; i++ {
		args := []string{"RPUSH", "big"}
		if i%2 == 1 {
			args[0] = "LPUSH"
		}
		for j := 0; j < 50; j++ {
			args = append(args, elem())
		}
		d.Compare(args...)
	}
	for i := 0; i < 300; i++ {
		n := 2000
		a, b := strconv.Itoa(r.IntN(2*n)-n), strconv.Itoa(r.IntN(2*n)-n)
		switch r.IntN(8) {
		case 0:
			d.Compare("LRANGE", "big", a, b)
		case 1:
			d.Compare("LINDEX", "big", a)
		case 2:
			d.Compare("LSET", "big", a, elem())
		case 3:
			d.Compare("LINSERT", "big", []string{"BEFORE", "AFTER"}[r.IntN(2)], elem(), elem())
		case 4:
			d.Compare("LREM", "big", strconv.Itoa(r.IntN(7)-3), elem())
		case 5:
			d.Compare("LPOS", "big", elem(), "RANK", strconv.Itoa(r.IntN(5)-2+boolInt(r.IntN(2) == 0)), "COUNT", strconv.Itoa(r.IntN(4)), "MAXLEN", strconv.Itoa(r.IntN(3000)))
		case 6:
			d.Compare([]string{"LPOP", "RPOP"}[r.IntN(2)], "big", strconv.Itoa(r.IntN(20)))
		case 7:
			d.Compare("LMOVE", "big", "big", []string{"LEFT", "RIGHT"}[r.IntN(2)], []string{"LEFT", "RIGHT"}[r.IntN(2)])
		}
	}
	d.Compare("LRANGE", "big", "0", "-1")
	d.Compare("LTRIM", "big", "100", "-100")
	d.Compare("LRANGE", "big", "0", "-1")
	d.Compare("LLEN", "big")
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestDiffDump restores Redis's DUMP of small and large lists in Cairn and
// Cairn's DUMP in Redis, and checks that single-node payloads are
// byte-identical.
func TestDiffDump(t *testing.T) {
	d := newDiff(t)
	cases := map[string][]string{
		"small": {"a", "1", "-1", "", "hello world", "12345678901", strings.Repeat("z", 300)},
		"ints":  {"0", "127", "128", "-4096", "4095", "32767", "-32768", "8388607", "2147483647", "9223372036854775807", "-9223372036854775808", "01", "+1"},
	}
	var big []string
	for i := 0; i < 3000; i++ {
		big = append(big, "element:"+strconv.Itoa(i))
	}
	cases["big"] = big
	var huge []string
	for i := 0; i < 10; i++ {
		huge = append(huge, strings.Repeat(string(rune('a'+i)), 10000))
	}
	cases["huge"] = huge
	for key, elems := range cases {
		d.Compare(append([]string{"RPUSH", key}, elems...)...)
		payload, err := d.Redis.Do("DUMP", key)
		if err != nil || payload.Kind != reply.KindBulk {
			t.Fatalf("DUMP %s: %v %v", key, payload, err)
		}
		mine := d.H.Do("DUMP", key)
		if key == "small" || key == "ints" {
			if string(mine.Str) != string(payload.Str) {
				t.Errorf("DUMP %s:\n cairn % x\n redis % x", key, mine.Str, payload.Str)
			}
		}
		if v := d.H.Do("RESTORE", key+":fromredis", "0", string(payload.Str)); v.String() != "OK" {
			t.Fatalf("RESTORE of redis's %s: %v", key, v)
		}
		if v, err := d.Redis.Do("RESTORE", key+":fromcairn", "0", string(mine.Str)); err != nil || v.String() != "OK" {
			t.Fatalf("redis RESTORE of cairn's %s: %v %v", key, v, err)
		}
		want, _ := d.Redis.Do("LRANGE", key, "0", "-1")
		for _, k := range []string{key + ":fromredis", key + ":fromcairn"} {
			var got reply.Value
			if strings.HasSuffix(k, "fromredis") {
				got = d.H.Do("LRANGE", k, "0", "-1")
			} else {
				got, _ = d.Redis.Do("LRANGE", k, "0", "-1")
			}
			if !reply.Equal(got.RESP2(), want) {
				t.Errorf("%s: %d elements differ", k, len(got.Elems))
			}
		}
		it := d.H.DB.Get([]byte(key+":fromredis"), d.H.Now)
		l := it.Obj.(*keyspace.List)
		wantEnc := "listpack"
		if key == "big" || key == "huge" {
			wantEnc = "quicklist"
		}
		if l.Encoding() != wantEnc {
			t.Errorf("%s restored as %s", key, l.Encoding())
		}
	}
}

// TestDiffRandom runs a seeded random sequence of list commands over a few
// keys on both and compares every reply exactly, and the keys' existence
// after each. CAIRN_FUZZ_DIFF=2m runs it for two minutes.
func TestDiffRandom(t *testing.T) {
	d := newDiff(t)
	dur := 3 * time.Second
	if s := os.Getenv("CAIRN_FUZZ_DIFF"); s != "" {
		v, err := time.ParseDuration(s)
		if err != nil {
			t.Fatal(err)
		}
		dur = v
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 11))
	keys := []string{"k1", "k2", "k3", "str", "none"}
	elems := []string{"a", "b", "c", "1", "2", "-3", "", "abc", "x y", "01", strings.Repeat("w", 70)}
	pick := func(xs []string) string { return xs[rng.IntN(len(xs))] }
	idx := func() string { return strconv.Itoa(rng.IntN(13) - 6) }
	where := func() string { return pick([]string{"LEFT", "RIGHT", "left", "bogus"}) }
	some := func(n int) []string {
		var out []string
		for i := 0; i < n; i++ {
			out = append(out, pick(elems))
		}
		return out
	}
	deadline := time.Now().Add(dur)
	ops, deletes := 0, 0
	for time.Now().Before(deadline) {
		ops++
		k := pick(keys)
		var args []string
		switch r := rng.IntN(100); {
		case r < 12:
			args = append([]string{pick([]string{"LPUSH", "RPUSH"}), k}, some(1+rng.IntN(4))...)
		case r < 15:
			args = append([]string{pick([]string{"LPUSHX", "RPUSHX"}), k}, some(1+rng.IntN(2))...)
		case r < 24:
			args = []string{pick([]string{"LPOP", "RPOP"}), k}
			if rng.IntN(2) == 0 {
				args = append(args, strconv.Itoa(rng.IntN(5)-1))
			}
		case r < 27:
			args = []string{"LLEN", k}
		case r < 33:
			args = []string{"LRANGE", k, idx(), idx()}
		case r < 37:
			args = []string{"LINDEX", k, idx()}
		case r < 41:
			args = []string{"LSET", k, idx(), pick(elems)}
		case r < 46:
			args = []string{"LINSERT", k, pick([]string{"BEFORE", "AFTER", "after", "x"}), pick(elems), pick(elems)}
		case r < 52:
			args = []string{"LREM", k, strconv.Itoa(rng.IntN(5) - 2), pick(elems)}
		case r < 56:
			args = []string{"LTRIM", k, idx(), idx()}
		case r < 63:
			args = []string{"LPOS", k, pick(elems)}
			for i := rng.IntN(3); i > 0; i-- {
				switch rng.IntN(3) {
				case 0:
					args = append(args, "RANK", strconv.Itoa(rng.IntN(7)-3))
				case 1:
					args = append(args, "COUNT", strconv.Itoa(rng.IntN(4)-1))
				default:
					args = append(args, "MAXLEN", strconv.Itoa(rng.IntN(6)))
				}
			}
		case r < 70:
			args = []string{"LMOVE", k, pick(keys), where(), where()}
		case r < 73:
			args = []string{"RPOPLPUSH", k, pick(keys)}
		case r < 80:
			n := 1 + rng.IntN(3)
			args = []string{"LMPOP", strconv.Itoa(n)}
			for i := 0; i < n; i++ {
				args = append(args, pick(keys))
			}
			args = append(args, where())
			if rng.IntN(2) == 0 {
				args = append(args, "COUNT", strconv.Itoa(rng.IntN(4)))
			}
		case r < 90:
			// Blocking commands only where they cannot block: some key
			// holds a list, or an argument is wrong.
			if rng.IntN(2) == 0 {
				args = []string{pick([]string{"BLPOP", "BRPOP"}), "none", k, pick(keys), pick([]string{"0", "0.5", "-1", "x"})}
			} else if rng.IntN(2) == 0 {
				args = []string{"BLMOVE", k, pick(keys), where(), where(), pick([]string{"0", "1", "x"})}
			} else {
				args = []string{"BLMPOP", pick([]string{"0", "2", "-1"}), "2", k, pick(keys), where(), "COUNT", strconv.Itoa(1 + rng.IntN(3))}
			}
			if !mayRun(d, args) {
				continue
			}
		default:
			args = []string{"TYPE", k}
		}
		_, want := d.Compare(args...)
		if t.Failed() {
			t.Fatalf("stopped after %d ops", ops)
		}
		for _, key := range keys[:3] {
			ex, err := d.Redis.Do("EXISTS", key)
			if err != nil {
				t.Fatal(err)
			}
			if got := d.H.DB.Exists([]byte(key), d.H.Now) != nil; got != (ex.Int == 1) {
				t.Fatalf("after %q: %s exists %v, redis %d", args, key, got, ex.Int)
			}
			if ex.Int == 0 && want.Kind != reply.KindError {
				deletes++
			}
		}
	}
	t.Logf("%d ops, %d replies with a list key gone", ops, deletes)
	for _, k := range keys {
		d.Compare("LRANGE", k, "0", "-1")
	}
}

// mayRun tells whether a blocking command would return at once on Redis
// (a ready key before any missing or empty one matters not: any ready
// key, a wrong type or an argument error), judged on the harness's state,
// which matches Redis's.
func mayRun(d *commandtest.Diff, args []string) bool {
	v := d.H.DB
	exists := func(k string) bool { return v.Exists([]byte(k), d.H.Now) != nil }
	switch args[0] {
	case "BLMOVE":
		if _, err := parseWhere([]byte(args[3])); err != nil {
			return true
		}
		if _, err := parseWhere([]byte(args[4])); err != nil {
			return true
		}
		if _, err := parseTimeout([]byte(args[5]), d.H.Now); err != nil {
			return true
		}
		return exists(args[1])
	case "BLMPOP":
		if _, _, _, err := mpopArgs(toBytes(args), 2); err != nil {
			return true
		}
		if _, err := parseTimeout([]byte(args[1]), d.H.Now); err != nil {
			return true
		}
		return exists(args[3]) || exists(args[4])
	}
	if _, err := parseTimeout([]byte(args[len(args)-1]), d.H.Now); err != nil {
		return true
	}
	for _, k := range args[1 : len(args)-1] {
		if exists(k) {
			return true
		}
	}
	return false
}

func toBytes(args []string) [][]byte {
	out := make([][]byte, len(args))
	for i, a := range args {
		out[i] = []byte(a)
	}
	return out
}
