package strs

import (
	"strings"
	"testing"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/command/commandtest"
	"github.com/cairndb/cairn/server/reply"
)

const (
	wrongType = "(error) WRONGTYPE Operation against a key holding the wrong kind of value"
	notInt    = "(error) ERR value is not an integer or out of range"
	notFloat  = "(error) ERR value is not a valid float"
	syntaxErr = "(error) ERR syntax error"
)

// newHarness returns a harness with the string family, the test
// stand-ins, and a hash under "h".
func newHarness(t *testing.T) *commandtest.Harness {
	t.Helper()
	h := commandtest.New(t, Specs, testSpecs)
	h.Check("1", "hset", "h", "f", "v")
	return h
}

// run runs {command line, expected reply} pairs in order.
func run(t *testing.T, h *commandtest.Harness, steps [][2]string) {
	t.Helper()
	for _, s := range steps {
		args := cmds(s[0])[0]
		if got := h.Do(args...).String(); got != s[1] {
			t.Errorf("%s: got %q, want %q", s[0], got, s[1])
		}
	}
}

func TestSet(t *testing.T) {
	h := newHarness(t)
	run(t, h, [][2]string{
		{"set k v", "OK"}, {"get k", "v"},
		{"set k v2 nx", "(nil)"}, {"get k", "v"},
		{"set k v3 xx", "OK"}, {"get k", "v3"},
		{"set nk v xx", "(nil)"}, {"exists nk", "0"},
		{"set nk v NX", "OK"}, {"get nk", "v"},
		{"set k old", "OK"}, {"set k new GET", "old"}, {"get k", "new"},
		{"set k newer get nx", "new"}, {"get k", "new"},
		{"set m v get nx", "(nil)"}, {"get m", "v"},
		{"set m2 v get xx", "(nil)"}, {"exists m2", "0"},
		{"set k x xx get", "new"}, {"get k", "x"},
		{"set k v nx xx", syntaxErr}, {"set k v xx nx", syntaxErr},
		{"set k v ex", syntaxErr}, {"set k v ex 10 px 100", syntaxErr}, {"set k v exat 1 pxat 1", syntaxErr},
		{"set k v keepttl ex 10", syntaxErr}, {"set k v ex 10 keepttl", syntaxErr}, {"set k v persist", syntaxErr},
		{"set k v foo", syntaxErr}, {"set k v ex 10 ex 20", "OK"}, {"set k v get get nx nx", "v"},
		{"set k v ex 0", "(error) ERR invalid expire time in 'set' command"},
		{"set k v px -1", "(error) ERR invalid expire time in 'set' command"},
		{"set k v exat 0", "(error) ERR invalid expire time in 'set' command"},
		{"set k v ex 9223372036854775", "(error) ERR invalid expire time in 'set' command"},
		{"set k v ex 9223372036854776", "(error) ERR invalid expire time in 'set' command"},
		{"set k v px 9223372036854775807", "(error) ERR invalid expire time in 'set' command"},
		{"set k v ex abc", notInt}, {"set k v ex 1.5", notInt}, {"set k v px 01", notInt},
		{"get k", "v"},
		// NX/XX see a hash; a plain SET replaces it.
		{"set h v nx", "(nil)"}, {"set h v get", wrongType}, {"type h", "hash"},
		{"set h v xx", "OK"}, {"type h", "string"}, {"get h", "v"},
		{"set k", "(error) ERR wrong number of arguments for 'set' command"},
	})
	// Options are C strings.
	if got := h.Do("set", "z", "v", "NX\x00junk").String(); got != "OK" {
		t.Errorf("NX\\0junk: %s", got)
	}
	if got := h.Do("set", "z", "v", "NX\x00junk").String(); got != "(nil)" {
		t.Errorf("NX\\0junk again: %s", got)
	}
}

func TestSetWrongTypeGetChangesNothing(t *testing.T) {
	h := newHarness(t)
	for _, opts := range [][]string{{"get"}, {"get", "nx"}, {"get", "xx"}, {"get", "ex", "10"}, {"get", "keepttl"}} {
		args := append([]string{"set", "h", "v"}, opts...)
		if got := h.Do(args...).String(); got != wrongType {
			t.Errorf("%q: %s", args, got)
		}
		h.Check("hash", "type", "h")
		h.Check("-1", "pexpiretime", "h")
	}
}

func TestSetnxSetexPsetex(t *testing.T) {
	h := newHarness(t)
	run(t, h, [][2]string{
		{"setnx k v", "1"}, {"setnx k w", "0"}, {"get k", "v"}, {"setnx h v", "0"},
		{"setex k 10 a", "OK"}, {"get k", "a"},
		{"setex k 0 a", "(error) ERR invalid expire time in 'setex' command"},
		{"setex k -5 a", "(error) ERR invalid expire time in 'setex' command"},
		{"setex k 9223372036854775 a", "(error) ERR invalid expire time in 'setex' command"},
		{"setex k x a", notInt},
		{"psetex k 0 a", "(error) ERR invalid expire time in 'psetex' command"},
		{"psetex k 9223372036854775807 a", "(error) ERR invalid expire time in 'psetex' command"},
		{"psetex k 1500 b", "OK"}, {"get k", "b"},
		{"setex h 10 v", "OK"}, {"get h", "v"},
	})
}

func TestGetGetdelGetset(t *testing.T) {
	h := newHarness(t)
	run(t, h, [][2]string{
		{"get missing", "(nil)"}, {"get h", wrongType},
		{"set k v", "OK"}, {"getdel k", "v"}, {"getdel k", "(nil)"}, {"exists k", "0"},
		{"getdel h", wrongType}, {"type h", "hash"},
		{"getset k a", "(nil)"}, {"getset k b", "a"}, {"get k", "b"},
		{"getset h v", wrongType}, {"type h", "hash"},
	})
}

func TestGetex(t *testing.T) {
	h := newHarness(t)
	now := h.Now
	run(t, h, [][2]string{
		{"getex missing", "(nil)"}, {"getex missing ex -5", "(nil)"}, {"getex missing ex abc", "(nil)"},
		{"getex missing foo", syntaxErr}, {"getex h", wrongType}, {"getex h ex -1", wrongType}, {"getex h foo", syntaxErr},
		{"set k v", "OK"}, {"getex k", "v"}, {"pexpiretime k", "-1"},
		{"getex k ex 0", "(error) ERR invalid expire time in 'getex' command"},
		{"getex k px -1", "(error) ERR invalid expire time in 'getex' command"},
		{"getex k ex x", notInt},
		{"getex k persist ex 10", syntaxErr}, {"getex k ex 10 persist", syntaxErr}, {"getex k ex 10 px 10", syntaxErr},
		{"getex k keepttl", syntaxErr}, {"getex k nx", syntaxErr}, {"getex k get", syntaxErr}, {"getex k ex", syntaxErr},
		{"pexpiretime k", "-1"},
		{"getex k ex 100", "v"},
	})
	h.Check(itoa(now+100000), "pexpiretime", "k")
	h.Check("v", "getex", "k", "px", "2500")
	h.Check(itoa(now+2500), "pexpiretime", "k")
	h.Check("v", "getex", "k", "pxat", itoa(now+999))
	h.Check(itoa(now+999), "pexpiretime", "k")
	h.Check("v", "getex", "k", "exat", "4102444800")
	h.Check("4102444800000", "pexpiretime", "k")
	h.Check("v", "getex", "k", "persist")
	h.Check("-1", "pexpiretime", "k")
	h.Check("v", "getex", "k", "persist")
	// An absolute time in the past deletes the key after replying.
	h.Check("v", "getex", "k", "exat", "1")
	h.Check("0", "exists", "k")
	h.Check("OK", "set", "k", "v")
	h.Check("v", "getex", "k", "pxat", itoa(now))
	h.Check("0", "exists", "k")
}

func TestMgetMsetMsetnx(t *testing.T) {
	h := newHarness(t)
	run(t, h, [][2]string{
		{"mset a 1 b 2", "OK"}, {"mget a b h missing a", "[1 2 (nil) (nil) 1]"},
		{"mset a 1 b", "(error) ERR wrong number of arguments for 'mset' command"},
		{"msetnx a 1 b", "(error) ERR wrong number of arguments for 'msetnx' command"},
		{"mset a 1 a 2", "OK"}, {"get a", "2"},
		{"msetnx a 9 c 3", "0"}, {"exists c", "0"},
		{"msetnx c 3 d 4", "1"}, {"mget c d", "[3 4]"},
		{"msetnx h 1", "0"}, {"type h", "hash"},
		{"msetnx x 1 x 2", "1"}, {"get x", "2"},
		{"mset h v", "OK"}, {"get h", "v"},
	})
}

func TestIncrDecr(t *testing.T) {
	h := newHarness(t)
	run(t, h, [][2]string{
		{"incr n", "1"}, {"incr n", "2"}, {"decr n", "1"}, {"incrby n 10", "11"}, {"decrby n 20", "-9"},
		{"incrby n -1", "-10"}, {"get n", "-10"},
		{"incr h", wrongType}, {"incrby h x", notInt}, {"decrby h -9223372036854775808", "(error) ERR decrement would overflow"},
		{"incrby n x", notInt}, {"incrby n 1.5", notInt}, {"incrby n +1", notInt}, {"incrby n 01", notInt},
		{"incrby n -0", notInt}, {"incrby n 99999999999999999999", notInt},
		{"set n 9223372036854775807", "OK"}, {"incr n", "(error) ERR increment or decrement would overflow"},
		{"incrby n -1", "9223372036854775806"}, {"incrby n 1", "9223372036854775807"},
		{"set n -9223372036854775808", "OK"}, {"decr n", "(error) ERR increment or decrement would overflow"},
		{"decrby n 9223372036854775807", "(error) ERR increment or decrement would overflow"},
		{"incrby n 9223372036854775807", "-1"},
		{"set n abc", "OK"}, {"incr n", notInt}, {"set n ' 1'", "OK"}, {"incr n", notInt}, {"set n 1.0", "OK"}, {"incr n", notInt},
		{"set n 12345678901234567890", "OK"}, {"incr n", notInt}, {"set n ''", "OK"}, {"incr n", notInt},
		{"set n 5", "OK"}, {"append n 5", "2"}, {"incr n", "56"}, {"object encoding n", "int"},
	})
}

func TestIncrbyfloat(t *testing.T) {
	h := newHarness(t)
	run(t, h, [][2]string{
		{"set f 0.1", "OK"}, {"incrbyfloat f 0.2", "0.3"}, {"get f", "0.3"},
		{"incrbyfloat f 5.0e3", "5000.29999999999999982"},
		{"incrbyfloat f 0x10", "5016.29999999999999982"},
		{"incrbyfloat f inf", "(error) ERR increment would produce NaN or Infinity"},
		{"incrbyfloat f 1e5000", notFloat}, {"incrbyfloat f nan", notFloat}, {"incrbyfloat f ' 1'", notFloat},
		{"incrbyfloat f 1e", notFloat}, {"incrbyfloat f ''", notFloat},
		{"set f 0", "OK"}, {"incrbyfloat f -1e-20", "0"}, {"incrbyfloat f 0.000003814697265625", "0.00000381469726562"},
		{"set f 10.50", "OK"}, {"incrbyfloat f 0.1", "10.6"},
		{"incrbyfloat new 3", "3"}, {"get new", "3"},
		{"set f abc", "OK"}, {"incrbyfloat f 1", notFloat},
		{"incrbyfloat h 1", wrongType}, {"incrbyfloat h abc", wrongType},
		{"set f inf", "OK"}, {"incrbyfloat f -inf", "(error) ERR increment would produce NaN or Infinity"},
		{"set f 1e4932", "OK"}, {"incrbyfloat f 1e4932", "(error) ERR increment would produce NaN or Infinity"},
	})
}

func TestAppendStrlen(t *testing.T) {
	h := newHarness(t)
	run(t, h, [][2]string{
		{"append k hello", "5"}, {"object encoding k", "embstr"}, {"append k ' world'", "11"}, {"get k", "hello world"},
		{"object encoding k", "raw"}, {"strlen k", "11"}, {"append k ''", "11"},
		{"append n 12", "2"}, {"object encoding n", "int"}, {"append n ''", "2"}, {"object encoding n", "raw"},
		{"append h x", wrongType}, {"strlen h", wrongType}, {"strlen missing", "0"},
		{"append e ''", "0"}, {"exists e", "1"}, {"strlen e", "0"},
	})
}

func TestSetrangeGetrange(t *testing.T) {
	h := newHarness(t)
	run(t, h, [][2]string{
		{"set s 'Hello World'", "OK"}, {"setrange s 6 Redis", "11"}, {"get s", "Hello Redis"},
		{"object encoding s", "raw"},
		{"setrange m 0 ''", "0"}, {"exists m", "0"}, {"setrange m 9223372036854775807 ''", "0"},
		{"setrange s 100 ''", "11"}, {"setrange s -1 x", "(error) ERR offset is out of range"},
		{"setrange s x x", notInt},
		{"setrange s 536870912 x", "(error) ERR string exceeds maximum allowed size (proto-max-bulk-len)"},
		{"setrange s 9223372036854775807 x", "(error) ERR string exceeds maximum allowed size (proto-max-bulk-len)"},
		{"setrange n 536870912 x", "(error) ERR string exceeds maximum allowed size (proto-max-bulk-len)"},
		{"exists n", "0"},
		{"setrange h 0 ''", wrongType}, {"setrange h 0 x", wrongType}, {"setrange h -1 x", "(error) ERR offset is out of range"},
		{"setrange z 3 ab", "5"}, {"get z", "\x00\x00\x00ab"}, {"object encoding z", "raw"},
		{"setrange z 1 X", "5"}, {"get z", "\x00X\x00ab"}, {"setrange z 4 YZ", "6"}, {"get z", "\x00X\x00aYZ"},
		{"setrange z 8 !", "9"}, {"get z", "\x00X\x00aYZ\x00\x00!"},
		{"getrange s 0 4", "Hello"}, {"getrange s -5 -1", "Redis"}, {"getrange s 0 -1", "Hello Redis"},
		{"getrange s 6 100", "Redis"}, {"getrange s -100 2", "Hel"}, {"getrange s 5 3", ""},
		{"getrange s -1 -5", ""}, {"getrange s -20 -30", ""}, {"getrange s 0 -100", "H"},
		{"getrange s 9223372036854775807 -9223372036854775808", ""}, {"getrange s -9223372036854775808 9223372036854775807", "Hello Redis"},
		{"getrange missing 0 -1", ""}, {"getrange h 0 1", wrongType}, {"getrange h x 1", notInt}, {"getrange s 0 x", notInt},
		{"set e ''", "OK"}, {"getrange e 0 -1", ""}, {"getrange e 0 0", ""},
		{"set i 12345", "OK"}, {"getrange i 1 -2", "234"}, {"substr i 0 0", "1"}, {"substr s -5 -1", "Redis"},
	})
}

func TestLCS(t *testing.T) {
	h := newHarness(t)
	run(t, h, [][2]string{
		{"mset a ohmytext b mynewtext", "OK"},
		{"lcs a b", "mytext"}, {"lcs a b len", "6"},
		{"lcs a b idx", "[matches [[[4 7] [5 8]] [[2 3] [0 1]]] len 6]"},
		{"lcs a b idx minmatchlen 4 withmatchlen", "[matches [[[4 7] [5 8] 4]] len 6]"},
		{"lcs a b idx withmatchlen minmatchlen -3", "[matches [[[4 7] [5 8] 4] [[2 3] [0 1] 2]] len 6]"},
		{"lcs a b len idx", "(error) ERR If you want both the length and indexes, please just use IDX."},
		{"lcs a b minmatchlen", syntaxErr}, {"lcs a b minmatchlen x", notInt}, {"lcs a b foo", syntaxErr},
		{"lcs a missing", ""}, {"lcs missing missing2 idx", "[matches [] len 0]"},
		{"lcs a h", "(error) ERR The specified keys must contain string values"},
		{"lcs h a foo", "(error) ERR The specified keys must contain string values"},
	})
	// IDX answers a RESP3 map.
	v := h.Do("lcs", "a", "b", "idx")
	if v.Kind != reply.KindMap || len(v.Elems) != 4 {
		t.Errorf("lcs idx: kind %d, %d elements", v.Kind, len(v.Elems))
	}
}

func TestStringTooLarge(t *testing.T) {
	// A small proto-max-bulk-len, run against the handlers directly.
	h := newHarness(t)
	tbl := command.NewTable(Specs)
	do := func(args ...string) string {
		argv := make([][]byte, len(args))
		for i, a := range args {
			argv[i] = []byte(a)
		}
		s, err := tbl.Resolve(argv)
		if err != nil {
			return command.ErrorReply(err).String()
		}
		c := command.Ctx{DB: h.DB, Now: h.Now, ProtoMaxBulkLen: 10}
		return command.Exec(s, &c, argv).String()
	}
	tooLarge := "(error) ERR string exceeds maximum allowed size (proto-max-bulk-len)"
	steps := [][]string{
		{"append", "k", "12345"}, {"append", "k", "67890"}, {"append", "k", "x"}, {"get", "k"},
		{"setrange", "k", "10", "x"}, {"setrange", "k", "9", "x"}, {"setrange", "n", "10", "x"}, {"setrange", "n", "9", "x"},
		{"setrange", "n", "9", "xy"}, {"append", "k", ""},
		// Creating a key with APPEND is not limited, as in Redis.
		{"append", "big", strings.Repeat("x", 20)},
	}
	want := []string{"5", "10", tooLarge, "1234567890", tooLarge, "10", tooLarge, "10", tooLarge, "10", "20"}
	for i, s := range steps {
		if got := do(s...); got != want[i] {
			t.Errorf("%q: got %s, want %s", s, got, want[i])
		}
	}
}

// TestReadRepliesStable checks that a read reply, which aliases the stored
// bytes, is not changed by later writes to the key.
func TestReadRepliesStable(t *testing.T) {
	h := newHarness(t)
	h.Check("OK", "set", "k", "hello")
	h.Check("6", "append", "k", "!")
	for i := 0; i < 3; i++ {
		get := h.Do("get", "k")
		rng := h.Do("getrange", "k", "1", "3")
		before, beforeRange := get.String(), rng.String()
		h.Do("setrange", "k", "0", "XYZW")
		h.Do("append", "k", "tail")
		h.Do("setrange", "k", "40", "far")
		h.Do("setrange", "k", "1", "q")
		if get.String() != before || rng.String() != beforeRange {
			t.Fatalf("reply changed by a later write: %q -> %q, %q -> %q", before, get, beforeRange, rng)
		}
	}
}

func itoa(n int64) string { return reply.BulkInt(n).String() }
