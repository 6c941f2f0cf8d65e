package strs

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/cairndb/cairn/server/command/commandtest"
	"github.com/cairndb/cairn/server/reply"
)

// newDiff starts a reference redis-server and a harness over the string
// family plus the test stand-ins.
func newDiff(t *testing.T) *commandtest.Diff {
	t.Helper()
	return commandtest.NewDiff(t, Specs, testSpecs)
}

// compareAll runs each command on both sides.
func compareAll(d *commandtest.Diff, cmds [][]string) {
	d.H.T.Helper()
	for _, c := range cmds {
		d.Compare(c...)
	}
}

// compareExpire compares a key's absolute expiry on both sides. Relative
// TTLs are resolved against slightly different clocks (Redis's, then the
// harness's), so a small skew is allowed; sentinels must match exactly.
func compareExpire(t *testing.T, d *commandtest.Diff, key string) {
	t.Helper()
	want, err := d.Redis.Do("pexpiretime", key)
	if err != nil {
		t.Fatal(err)
	}
	got := d.H.Do("pexpiretime", key)
	if want.Int < 0 || got.Int < 0 {
		if want.Int != got.Int {
			t.Errorf("pexpiretime %s: cairn %d, redis %d", key, got.Int, want.Int)
		}
		return
	}
	if diff := got.Int - want.Int; diff < -1500 || diff > 1500 {
		t.Errorf("pexpiretime %s: cairn %d, redis %d", key, got.Int, want.Int)
	}
}

// cmds splits command lines into arguments at spaces; '...' quotes an
// argument (so ” is the empty string).
func cmds(lines ...string) [][]string {
	out := make([][]string, len(lines))
	for i, l := range lines {
		var args []string
		for l = strings.TrimLeft(l, " "); l != ""; l = strings.TrimLeft(l, " ") {
			if l[0] == '\'' {
				end := strings.IndexByte(l[1:], '\'')
				args = append(args, l[1:1+end])
				l = l[2+end:]
				continue
			}
			end := strings.IndexByte(l, ' ')
			if end < 0 {
				end = len(l)
			}
			args = append(args, l[:end])
			l = l[end:]
		}
		out[i] = args
	}
	return out
}

func TestDiffSet(t *testing.T) {
	d := newDiff(t)
	d.Compare("hset", "h", "f", "v")
	compareAll(d, cmds(
		"set k v", "get k", "set k v2 nx", "get k", "set k v3 xx", "get k",
		"set nk v xx", "get nk", "exists nk", "set nk v NX", "get nk",
		"set k v nx xx", "set k v xx nx", "set k v ex", "set k v px", "set k v exat", "set k v pxat",
		"set k v ex 10 px 100", "set k v px 100 ex 10", "set k v exat 1 pxat 1", "set k v pxat 1 exat 1",
		"set k v ex 10 exat 100", "set k v px 10 pxat 100",
		"set k v keepttl ex 10", "set k v ex 10 keepttl", "set k v keepttl px 10", "set k v pxat 10 keepttl",
		"set k v keepttl exat 10", "set k v persist", "set k v foo", "set k v get get", "set k v nx nx", "set k v ex 10 ex 20",
		"set k v ex 0", "set k v ex -1", "set k v ex abc", "set k v ex 1.5", "set k v ex 01", "set k v ex +1",
		"set k v px 0", "set k v px -100", "set k v exat 0", "set k v exat -1", "set k v pxat 0", "set k v pxat -5",
		"set k v ex 9223372036854775", "set k v ex 9223372036854774", "set k v ex 9223372036854776",
		"set k v ex 99999999999999999999", "set k v px 9223372036854775807", "set k v px 9223372036854775806",
		"set k v exat 9223372036854776", "get k",
		"set k v exat 9223372036854775", "get k", "set k v pxat 9223372036854775807", "get k",
		"set k v EXAT 1", "get k", "exists k", "set k old", "set k v pxat 1 get", "get k", "exists k",
		"set k old", "set k new get", "get k", "set k newer GET nx", "get k", "set missing v get nx", "get missing",
		"set missing2 v get xx", "get missing2", "exists missing2", "set k v2 xx get", "get k",
		"set h v get", "type h", "set h v nx get", "set h v xx get", "set h v nx", "type h",
		"set h v xx", "type h", "get h", "hset h f v",
		"set k v keepttl", "set k v ex 100 keepttl", "sEt k v Ex 100 nX", "set k v2 Px 5000 xX GeT",
	))
	// Option names are compared as C strings: "NX\0junk" is NX.
	compareAll(d, [][]string{
		{"set", "z", "v", "NX\x00junk"}, {"get", "z"}, {"set", "z", "v2", "xx\x00", "ex\x00?", "100"}, {"get", "z"},
		{"set", "z", "v3", "GET\x00"}, {"set", "z", "v"}, {"set", "z", "v", "n"}, {"set", "z", "v", ""},
		{"set", "z", "v", "ex", ""}, {"set", "", ""}, {"get", ""}, {"set", "bin\x00key", "bin\x00\xffval"}, {"get", "bin\x00key"},
	})
	compareAll(d, cmds("set k", "set", "get", "get k k", "setnx k", "setex k 10", "psetex k 10"))
}

func TestDiffSetTTL(t *testing.T) {
	d := newDiff(t)
	compareAll(d, cmds("set k v ex 100", "set k v2 keepttl", "get k"))
	compareExpire(t, d, "k")
	compareAll(d, cmds("set k v3"))
	compareExpire(t, d, "k")
	compareAll(d, cmds("set k v px 123456", "set k v4 keepttl get"))
	compareExpire(t, d, "k")
	compareAll(d, cmds("set k v exat 4102444800", "pexpiretime k", "set k v pxat 4102444800123", "pexpiretime k"))
	compareAll(d, cmds("set k v xx ex 50"))
	compareExpire(t, d, "k")
	compareAll(d, cmds("set k v nx ex 500"))
	compareExpire(t, d, "k")
	compareAll(d, cmds("setex k 100 v", "get k"))
	compareExpire(t, d, "k")
	compareAll(d, cmds("psetex k 100000 v", "get k"))
	compareExpire(t, d, "k")
	compareAll(d, cmds("setnx k v", "set k v ex 10", "getset k w", "pexpiretime k", "get k"))
	compareAll(d, cmds("setex k 0 v", "setex k -1 v", "setex k abc v", "setex k 9223372036854775 v",
		"setex k 9223372036854774 v", "setex k 9223372036854776 v", "psetex k 0 v", "psetex k -1 v",
		"psetex k 9223372036854775807 v", "psetex k x v", "get k", "setex h 10 v", "setnx k v", "setnx new v", "get new"))
	// TTL kept by the in-place writers, dropped by the value writers.
	for _, c := range [][]string{
		{"append", "k", "x"}, {"setrange", "k", "1", "yy"}, {"incr", "n"}, {"incrby", "n", "5"}, {"decr", "n"},
		{"decrby", "n", "2"}, {"incrbyfloat", "n", "1.5"}, {"setrange", "k", "0", ""}, {"append", "k", ""},
	} {
		compareAll(d, cmds("set k abc ex 1000", "set n 10 px 2000000"))
		d.Compare(c...)
		compareExpire(t, d, c[1])
	}
	for _, c := range [][]string{{"set", "k", "v"}, {"getset", "k", "v"}, {"mset", "k", "v"}, {"set", "k", "v", "get"}} {
		compareAll(d, cmds("set k abc ex 1000"))
		d.Compare(c...)
		compareExpire(t, d, "k")
	}
}

func TestDiffGetFamily(t *testing.T) {
	d := newDiff(t)
	d.Compare("hset", "h", "f", "v")
	compareAll(d, cmds(
		"get missing", "get h", "set k v", "get k", "getdel k", "get k", "getdel k", "getdel h", "type h",
		"getset k v1", "getset k v2", "get k", "getset h v", "type h",
		"getex missing", "getex missing ex -5", "getex missing ex abc", "getex missing foo",
		"getex h", "getex h ex 10", "getex h ex -1", "getex h foo",
		"set k v ex 100", "getex k", "getex k persist", "pexpiretime k", "getex k persist",
		"getex k ex 0", "getex k ex -1", "getex k ex x", "getex k px 0", "getex k exat 0", "getex k pxat -1",
		"getex k ex 9223372036854775", "getex k px 9223372036854775807", "getex k exat 9223372036854776",
		"getex k persist ex 10", "getex k ex 10 persist", "getex k ex 10 px 10", "getex k exat 10 pxat 10",
		"getex k px 10 ex 10", "getex k pxat 10 exat 10", "getex k keepttl", "getex k nx", "getex k xx", "getex k get",
		"getex k ex", "getex k persist persist", "getex k ex 10 ex", "getex k PERSIST\x00x",
		"getex k exat 4102444800", "pexpiretime k", "getex k pxat 4102444800999", "pexpiretime k",
		"getex k EXAT 1", "exists k", "set k v", "getex k pxat 1", "exists k", "get k",
		"set k v", "getex k pxat 4102444800999 pxat 1", "exists k",
		"mget", "mset k1 a k2 b", "mget k1 k2 h missing k1",
		"mset", "mset a", "mset a 1 b", "mset a 1 b 2 c", "mset a 1 a 2", "get a",
		"msetnx", "msetnx a", "msetnx a 1 b", "msetnx a 1 z 2", "get z", "msetnx y 1 z 2", "mget y z",
		"msetnx h 1", "msetnx x 1 x 2", "get x", "set e v exat 1", "msetnx e 1", "get e",
		"strlen missing", "strlen h", "set s hello", "strlen s", "set s 12345", "strlen s", "set s ''", "strlen s",
	))
	compareAll(d, cmds("set k v ex 100", "getex k ex 200"))
	compareExpire(t, d, "k")
	compareAll(d, cmds("getex k px 300000"))
	compareExpire(t, d, "k")
	compareAll(d, cmds("getex k"))
	compareExpire(t, d, "k")
	compareAll(d, cmds("mset k v"))
	compareExpire(t, d, "k")
	compareAll(d, cmds("set k v ex 100", "msetnx k v q w", "get q"))
	compareExpire(t, d, "k")
}

func TestDiffIncr(t *testing.T) {
	d := newDiff(t)
	d.Compare("hset", "h", "f", "v")
	compareAll(d, cmds(
		"incr n", "incr n", "decr n", "decr n", "decr n", "incrby n 10", "incrby n -20", "decrby n 5", "decrby n -5",
		"incr h", "decr h", "incrby h 1", "incrby h x", "decrby h x", "decrby h -9223372036854775808",
		"incrby n x", "incrby n 1.5", "incrby n ''", "incrby n 01", "incrby n +1", "incrby n -0", "incrby n 99999999999999999999",
		"decrby n -9223372036854775808", "decrby n 9223372036854775807", "decrby n -9223372036854775807",
		"set n 9223372036854775807", "incr n", "incrby n 0", "incrby n -1", "incr n", "incr n",
		"set n -9223372036854775808", "decr n", "decrby n 1", "incrby n -1", "incrby n 9223372036854775807", "incrby n 1",
		"set n 9223372036854775808", "incr n", "set n -9223372036854775809", "decr n",
		"set n abc", "incr n", "set n 1.0", "incr n", "set n ' 1'", "incr n", "set n +1", "incr n",
		"set n 01", "incr n", "set n -0", "incr n", "set n 00", "decr n", "set n 0", "decr n",
		"set n ''", "incr n", "set n 12345678901234567890", "incr n", "set n 1e3", "incr n",
		"set n 5", "append n 5", "incr n", "get n", "setrange n 0 9", "decr n", "get n",
		"set big 1234567890123456789", "incrby big 8000000000000000000", "incrby big -1234567890123456789",
	))
	compareAll(d, [][]string{{"set", "n", "1\x00"}, {"incr", "n"}, {"set", "n", "\x001"}, {"incr", "n"}, {"incrby", "n", "1\x00"}})
	compareAll(d, cmds("incr", "incr a b", "incrby a", "decrby a", "decr a b"))
}

func TestDiffIncrByFloat(t *testing.T) {
	d := newDiff(t)
	d.Compare("hset", "h", "f", "v")
	compareAll(d, cmds(
		"set f 0.1", "incrbyfloat f 0.2", "incrbyfloat f 5.0e3", "incrbyfloat f 0x10", "incrbyfloat f 0X.8P1",
		"incrbyfloat f -5016.8", "incrbyfloat f 10.5", "incrbyfloat f 1e-20", "incrbyfloat f -1e20", "get f",
		"incrbyfloat f inf", "incrbyfloat f -inf", "incrbyfloat f +Infinity", "incrbyfloat f INF", "incrbyfloat f nan",
		"incrbyfloat f -NaN", "incrbyfloat f nan(1)", "incrbyfloat f infin", "incrbyfloat f 1e", "incrbyfloat f 1e+",
		"incrbyfloat f 1.5.5", "incrbyfloat f 0x", "incrbyfloat f 0x.", "incrbyfloat f 0xg", "incrbyfloat f 0x1p",
		"incrbyfloat f 0x1p-", "incrbyfloat f 1_0", "incrbyfloat f 1,5", "incrbyfloat f ''", "incrbyfloat f .",
		"incrbyfloat f -", "incrbyfloat f +", "incrbyfloat f +-1", "incrbyfloat f e5", "incrbyfloat f 0b101",
		"incrbyfloat f 0o17", "incrbyfloat f 1e5000", "incrbyfloat f -1e5000", "incrbyfloat f 1e-5000",
		"incrbyfloat f 0e5000", "incrbyfloat f 0e-99999999999999999999", "incrbyfloat f 1e-4940", "incrbyfloat f 1e-4952",
		"incrbyfloat f 1e-4951", "incrbyfloat f 2e-4951", "incrbyfloat f 1.2e4932", "incrbyfloat f 1.1e4932",
		"incrbyfloat f 0x1p16383", "incrbyfloat f 0x1p16384", "incrbyfloat f 0x1p-16445", "incrbyfloat f 0x1p-16446",
		"incrbyfloat f 0x1.0000000000000001p-16446", "incrbyfloat f 0x0.00000001p-16415",
		"set f 0", "incrbyfloat f 1e4932", "incrbyfloat f 1e4932", "incrbyfloat f -1e4932", "get f",
		"set f 0", "incrbyfloat f -0", "set f -0", "incrbyfloat f -0", "incrbyfloat f -1e-20", "incrbyfloat f -1e-17",
		"incrbyfloat f -4e-18", "incrbyfloat f -5e-18", "incrbyfloat f -6e-18", "set f 0", "incrbyfloat f 0.000003814697265625",
		"set f 0", "incrbyfloat f 0.000003814697265625001", "set f 0", "incrbyfloat f 0.000011444091796875",
		"set f 1", "incrbyfloat f 0x1p-64", "incrbyfloat f 0x1p-64", "set f 1", "incrbyfloat f 0x3p-65",
		"set f 3.0", "incrbyfloat f 0.0", "set f 1.5e1", "incrbyfloat f 0", "set f abc", "incrbyfloat f 1",
		"set f ' 1'", "incrbyfloat f 1", "set f '1 '", "incrbyfloat f 1", "set f inf", "incrbyfloat f 1",
		"set f -inf", "incrbyfloat f inf", "set f nan", "incrbyfloat f 1", "set f 0x10", "incrbyfloat f 1",
		"incrbyfloat h 1", "incrbyfloat h abc", "incrbyfloat new abc", "exists new", "incrbyfloat new 1", "get new",
		"set f 18446744073709551615", "incrbyfloat f 1", "set f 18446744073709551617", "incrbyfloat f 0",
		"set f 9223372036854775807", "incrbyfloat f 0", "incrbyfloat f 1.5", "set f -9223372036854775809", "incrbyfloat f 0",
		"set f 123456789012345678901234567890", "incrbyfloat f 1", "set f 3.14159265358979323846264338327950288",
		"incrbyfloat f 0", "set f 1e308", "incrbyfloat f 1e308", "incrbyfloat f 1e4000", "set f 1e-300", "incrbyfloat f 0",
		"incrbyfloat", "incrbyfloat f", "incrbyfloat f 1 2",
	))
	compareAll(d, [][]string{
		{"incrbyfloat", "f", "1\x00"}, {"incrbyfloat", "f", "\x00"}, {"incrbyfloat", "f", "\t1"}, {"incrbyfloat", "f", "\n1"},
		{"incrbyfloat", "f", "1\n"}, {"incrbyfloat", "f", "\v1"}, {"incrbyfloat", "f", "\f1"}, {"incrbyfloat", "f", "\r1"},
		{"incrbyfloat", "f", strings.Repeat("1", 5119)}, {"incrbyfloat", "f", strings.Repeat("1", 5120)},
		{"incrbyfloat", "f", "0." + strings.Repeat("0", 5000) + "1"}, {"incrbyfloat", "f", "1" + strings.Repeat("0", 4932)},
		{"incrbyfloat", "f", "1" + strings.Repeat("0", 4933)}, {"incrbyfloat", "f", "-" + strings.Repeat("9", 4932)},
		{"incrbyfloat", "f", "0x" + strings.Repeat("f", 4096)}, {"incrbyfloat", "f", "0x" + strings.Repeat("f", 4095) + "p-4"},
		{"incrbyfloat", "f", "0.0" + strings.Repeat("0", 5110) + "e5"}, {"incrbyfloat", "f", "1" + strings.Repeat("0", 5000) + "e-4990"},
	})
	// The stored result is exactly Redis's bytes.
	compareAll(d, cmds("set g 10.5", "incrbyfloat g 0.1", "get g", "strlen g", "getrange g 0 -1", "incrbyfloat g -0.1", "get g"))
	// Random operands in many shapes.
	rng := rand.New(rand.NewPCG(7, 7))
	for i := 0; i < 1500; i++ {
		if i%20 == 0 {
			d.Compare("set", "r", randFloat(rng))
		}
		d.Compare("incrbyfloat", "r", randFloat(rng))
	}
}

// randFloat returns a float argument in one of many textual shapes, valid
// or not.
func randFloat(r *rand.Rand) string {
	sign := []string{"", "", "-", "+"}[r.IntN(4)]
	digits := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte('0' + r.IntN(10))
		}
		return string(b)
	}
	switch r.IntN(14) {
	case 0:
		return sign + strconv.Itoa(r.IntN(1000))
	case 1:
		return sign + digits(1+r.IntN(3)) + "." + digits(r.IntN(20))
	case 2:
		return sign + "0." + digits(1+r.IntN(25))
	case 3:
		return sign + digits(1+r.IntN(30))
	case 4:
		return sign + digits(1+r.IntN(3)) + "e" + strconv.Itoa(r.IntN(40)-20)
	case 5:
		return sign + digits(1+r.IntN(5)) + "." + digits(r.IntN(5)) + "E" + []string{"", "+", "-"}[r.IntN(3)] + strconv.Itoa(r.IntN(4940))
	case 6:
		return sign + "0x" + strconv.FormatUint(r.Uint64(), 16) + "p" + strconv.Itoa(r.IntN(200)-150)
	case 7:
		return sign + "0x" + strconv.FormatUint(uint64(r.IntN(4096)), 16) + "." + strconv.FormatUint(uint64(r.IntN(4096)), 16)
	case 8:
		return strconv.FormatFloat(r.NormFloat64()*1e6, 'g', -1, 64)
	case 9:
		return strconv.FormatFloat(r.Float64(), 'f', r.IntN(20), 64)
	case 10:
		return []string{"inf", "-inf", "nan", "", " 1", "1 ", "1e", "0x", "abc", ".", "1.2.3", "--1", "0.1", "0.2", "0.3", "1/3"}[r.IntN(16)]
	case 11:
		// A binary fraction with exactly 18 decimals: printing to 17
		// digits hits a tie.
		return sign + strconv.FormatFloat(float64(r.IntN(1<<18))/(1<<18), 'f', -1, 64)
	case 12:
		return sign + digits(1+r.IntN(3)) + "e" + strconv.Itoa(4900+r.IntN(40))
	default:
		return sign + "0." + digits(r.IntN(3)) + "5" + digits(r.IntN(3)) + "e-" + strconv.Itoa(r.IntN(30))
	}
}

func TestDiffAppendRange(t *testing.T) {
	d := newDiff(t)
	d.Compare("hset", "h", "f", "v")
	compareAll(d, cmds(
		"append a hello", "append a ' world'", "get a", "append a ''", "get a", "append h x", "append new ''", "exists new",
		"strlen a", "setrange a 6 W", "get a", "setrange a 11 !", "get a", "setrange a 15 end", "get a", "strlen a",
		"setrange a -1 x", "setrange a x x", "setrange a 1.5 x", "setrange a 0 ''", "setrange a 100 ''", "get a",
		"setrange m 0 ''", "exists m", "setrange m 9223372036854775807 ''", "exists m", "setrange m 5 ab", "get m",
		"setrange m 1 ''", "setrange h 0 ''", "setrange h 0 x", "setrange h -1 x", "setrange h x x", "type h",
		"setrange m 536870912 x", "setrange m 536870911 xx", "setrange m 9223372036854775807 x", "setrange m2 536870912 x",
		"setrange m2 9223372036854775807 xyz", "exists m2", "setrange m 2 abcdefgh", "get m", "setrange m 0 Z", "get m",
		"set i 1234", "setrange i 1 9", "get i", "incr i", "set i 5", "setrange i 3 x", "get i",
		"setrange z 3 ''", "setrange z 0 a", "get z", "setrange z 1 b", "setrange z 0 c", "get z",
		"append", "append a", "setrange a 1", "setrange",
	))
}

func TestDiffGetRange(t *testing.T) {
	d := newDiff(t)
	d.Compare("hset", "h", "f", "v")
	compareAll(d, cmds("set s 'Hello World'", "set e ''", "set i 1234567", "set one x"))
	idx := []string{"0", "1", "-1", "-2", "3", "-3", "4", "5", "10", "11", "12", "-11", "-12", "-20", "100", "-100",
		"9223372036854775807", "-9223372036854775808", "9223372036854775806", "-9223372036854775807"}
	for _, key := range []string{"s", "e", "i", "one", "missing"} {
		for _, a := range idx {
			for _, b := range idx {
				d.Compare("getrange", key, a, b)
			}
		}
	}
	compareAll(d, cmds(
		"getrange h 0 1", "getrange h x 1", "getrange s x 1", "getrange s 0 x", "getrange missing x 0", "getrange s 01 1",
		"getrange s 1.0 2", "getrange s '' 2", "getrange s 9223372036854775808 1",
		"substr s 0 4", "substr s -5 -1", "substr h 0 1", "substr s a b", "substr missing 0 1", "substr s 3 1",
		"getrange s 0", "substr s 0", "getrange s 0 1 2",
	))
}

func TestDiffLCS(t *testing.T) {
	d := newDiff(t)
	d.Compare("hset", "h", "f", "v")
	compareAll(d, cmds(
		"set a ohmytext", "set b mynewtext",
		"lcs a b", "lcs b a", "lcs a b len", "lcs a b LEN", "lcs a b idx", "lcs a b IDX WITHMATCHLEN",
		"lcs a b idx minmatchlen 4", "lcs a b idx minmatchlen 4 withmatchlen", "lcs a b idx minmatchlen 0",
		"lcs a b idx minmatchlen -5", "lcs a b minmatchlen 2 idx", "lcs a b len minmatchlen 2", "lcs a b withmatchlen",
		"lcs a b minmatchlen 3", "lcs a b len idx", "lcs a b idx len", "lcs a b len len", "lcs a b idx idx",
		"lcs a b minmatchlen", "lcs a b minmatchlen x", "lcs a b minmatchlen 1.5", "lcs a b foo", "lcs a b idx foo",
		"lcs a b minmatchlen 99999999999999999999", "lcs a b minmatchlen x idx len",
		"lcs a missing", "lcs missing a", "lcs missing missing2", "lcs missing missing2 idx", "lcs missing a idx withmatchlen",
		"lcs a missing len", "lcs a a", "lcs a a idx withmatchlen", "lcs a h", "lcs h a", "lcs h missing", "lcs h h idx",
		"lcs h a foo", "lcs a h len idx", "lcs a", "lcs",
		"set x 12345", "set y 2x4y5", "lcs x y idx withmatchlen", "set x ''", "lcs x y", "lcs x y idx",
		"set x aaaa", "set y aa", "lcs x y idx withmatchlen", "lcs y x idx withmatchlen",
		"set x abcabcabc", "set y cbacbacba", "lcs x y", "lcs x y idx withmatchlen", "lcs y x idx withmatchlen",
	))
	compareAll(d, [][]string{{"lcs", "a", "b", "IDX\x00zz"}, {"lcs", "a", "b", "minmatchlen\x00", "2", "idx"}})
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 300; i++ {
		alpha := 2 + rng.IntN(5)
		gen := func() string {
			b := make([]byte, rng.IntN(40))
			for j := range b {
				b[j] = byte('a' + rng.IntN(alpha))
			}
			return string(b)
		}
		d.Compare("mset", "a", gen(), "b", gen())
		opts := [][]string{{}, {"len"}, {"idx"}, {"idx", "withmatchlen"}, {"idx", "minmatchlen", strconv.Itoa(rng.IntN(4))},
			{"withmatchlen", "minmatchlen", strconv.Itoa(rng.IntN(4)), "idx"}}
		d.Compare(append([]string{"lcs", "a", "b"}, opts[rng.IntN(len(opts))]...)...)
	}
}

func TestDiffEncoding(t *testing.T) {
	d := newDiff(t)
	compareAll(d, cmds(
		"set k 123", "object encoding k", "set k abc", "object encoding k",
		"set k "+strings.Repeat("x", 44), "object encoding k", "set k "+strings.Repeat("x", 45), "object encoding k",
		"set k 12345678901234567890", "object encoding k", "set k -9223372036854775808", "object encoding k",
		"set k 01", "object encoding k",
		"set k abc", "append k d", "object encoding k", "set k 1", "append k 2", "object encoding k", "incr k", "object encoding k",
		"set k 1", "append k ''", "object encoding k", "append n 12", "object encoding n", "append n2 xy", "object encoding n2",
		"setrange r 0 12", "object encoding r", "set r ab", "setrange r 0 ''", "object encoding r", "setrange r 0 c", "object encoding r",
		"set r 12", "setrange r 5 x", "object encoding r", "getset r 7", "object encoding r", "mset r 8", "object encoding r",
		"setnx s 5", "object encoding s", "setex s 100 x", "object encoding s", "set r ab", "append r c", "getex r", "object encoding r",
		"set r 1", "incrby r 100", "object encoding r", "decr r", "object encoding r",
	))
}

// TestDiffRandom runs a seeded random sequence of string commands, valid
// and invalid, over a few keys (one of them a hash) on both sides.
func TestDiffRandom(t *testing.T) {
	diffRandom(t, 2024, 4000, false)
	// The same with the keyspace events compared too (all classes but
	// expired events, which Redis raises when it gets round to it).
	diffRandom(t, 2025, 2000, true)
}

func diffRandom(t *testing.T, seed uint64, steps int, events bool) {
	var d *commandtest.Diff
	var compare func(args ...string) (got, want reply.Value)
	if events {
		ed := commandtest.NewEventDiff(t, "g$lshzetd", Specs, testSpecs)
		d, compare = ed.Diff, ed.Compare
	} else {
		d = newDiff(t)
		compare = d.Compare
	}
	r := rand.New(rand.NewPCG(seed, 11))
	keys := []string{"k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7", "k8", "h"}
	compare("hset", "h", "f", "v")
	key := func() string { return keys[r.IntN(len(keys))] }
	val := func() string {
		switch r.IntN(8) {
		case 0:
			return ""
		case 1:
			return strconv.FormatInt(r.Int64N(2000)-1000, 10)
		case 2:
			return []string{"9223372036854775807", "-9223372036854775808", "9223372036854775806", "-9223372036854775807", "12345678901234567890"}[r.IntN(5)]
		case 3:
			return randFloat(r)
		case 4:
			return strings.Repeat("ab", r.IntN(30))
		case 5:
			return string([]byte{byte(r.IntN(256)), 0, byte(r.IntN(256))})
		default:
			b := make([]byte, r.IntN(12))
			for i := range b {
				b[i] = byte('a' + r.IntN(4))
			}
			return string(b)
		}
	}
	num := func() string {
		switch r.IntN(10) {
		case 0:
			return []string{"abc", "", "1.5", "01", "+1", "-0", "99999999999999999999"}[r.IntN(7)]
		case 1:
			return []string{"9223372036854775807", "-9223372036854775808", "9223372036854775806"}[r.IntN(3)]
		case 2:
			return strconv.Itoa(-r.IntN(50))
		default:
			return strconv.Itoa(r.IntN(60))
		}
	}
	// Relative expiries are long enough not to elapse during the test;
	// absolute ones are in the distant past or the distant future, so
	// both sides agree whatever their clocks.
	expire := func(opt string) string {
		switch r.IntN(8) {
		case 0:
			return []string{"0", "-1", "abc", "1.5", "9223372036854775807", "9223372036854775"}[r.IntN(6)]
		}
		switch strings.ToLower(opt) {
		case "ex":
			return strconv.Itoa(100 + r.IntN(10000))
		case "px":
			return strconv.Itoa(100000 + r.IntN(10000000))
		case "exat":
			return []string{"1", "1000", "4102444800", "4102444801"}[r.IntN(4)]
		}
		return []string{"1", "1000000", "4102444800000", "4102444800123"}[r.IntN(4)]
	}
	setOpts := func(getex bool) []string {
		var names []string
		if getex {
			names = []string{"EX", "PX", "EXAT", "PXAT", "PERSIST", "persist", "ex", "KEEPTTL", "NX", "foo"}
		} else {
			names = []string{"NX", "XX", "GET", "EX", "PX", "EXAT", "PXAT", "KEEPTTL", "nx", "get", "ex", "pxat", "PERSIST", "foo"}
		}
		var out []string
		for n := r.IntN(4); n > 0; n-- {
			o := names[r.IntN(len(names))]
			out = append(out, o)
			switch strings.ToLower(o) {
			case "ex", "px", "exat", "pxat":
				if r.IntN(12) > 0 {
					out = append(out, expire(o))
				}
			}
		}
		return out
	}
	more := commandtest.RandomSteps(steps)
	for i := 0; more(i); i++ {
		var c []string
		switch r.IntN(27) {
		case 0, 1:
			c = append([]string{"set", key(), val()}, setOpts(false)...)
		case 2:
			c = []string{"get", key()}
		case 3:
			c = append([]string{"getex", key()}, setOpts(true)...)
		case 4:
			c = []string{"getdel", key()}
		case 5:
			c = []string{"getset", key(), val()}
		case 6:
			c = []string{"mget", key(), key(), key()}
		case 7:
			c = []string{"mset", key(), val(), key(), val()}
			if r.IntN(10) == 0 {
				c = c[:4]
			}
		case 8:
			c = []string{"msetnx", key(), val(), key(), val()}
		case 9:
			c = []string{"setnx", key(), val()}
		case 10:
			c = []string{"setex", key(), expire("ex"), val()}
		case 11:
			c = []string{"psetex", key(), expire("px"), val()}
		case 12:
			c = []string{"incr", key()}
		case 13:
			c = []string{"decr", key()}
		case 14:
			c = []string{"incrby", key(), num()}
		case 15:
			c = []string{"decrby", key(), num()}
		case 16:
			c = []string{"incrbyfloat", key(), randFloat(r)}
		case 17:
			c = []string{"append", key(), val()}
		case 18:
			c = []string{"strlen", key()}
		case 19:
			c = []string{"setrange", key(), num(), val()}
		case 20:
			c = []string{"getrange", key(), num(), num()}
			if r.IntN(2) == 0 {
				c[2] = "-" + c[2]
			}
		case 21:
			c = []string{"substr", key(), num(), "-" + num()}
		case 22:
			opts := [][]string{{}, {"len"}, {"idx"}, {"idx", "withmatchlen"}, {"idx", "minmatchlen", num()}, {"len", "idx"}, {"minmatchlen"}}
			c = append([]string{"lcs", key(), key()}, opts[r.IntN(len(opts))]...)
		case 23:
			c = []string{"exists", key()}
		case 24:
			c = []string{"pexpiretime", key()}
			want, _ := d.Redis.Do(c...)
			got := d.H.Do(c...)
			if (want.Int < 0 || got.Int < 0) && want.Int != got.Int {
				t.Errorf("step %d %q: cairn %d, redis %d", i, c, got.Int, want.Int)
			} else if diff := got.Int - want.Int; diff < -1500 || diff > 1500 {
				t.Errorf("step %d %q: cairn %d, redis %d", i, c, got.Int, want.Int)
			}
			continue
		default:
			if r.IntN(3) == 0 {
				c = []string{"del", key()}
			} else {
				c = []string{"hset", key(), "f", val()}
			}
		}
		if _, want := compare(c...); t.Failed() {
			t.Fatalf("step %d: %q (redis %s)", i, c, want)
		}
	}
}
