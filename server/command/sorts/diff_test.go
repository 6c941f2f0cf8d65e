package sorts

import (
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/command/commandtest"
	"github.com/cairndb/cairn/server/command/hashes"
	"github.com/cairndb/cairn/server/command/keys"
	"github.com/cairndb/cairn/server/command/lists"
	"github.com/cairndb/cairn/server/command/sets"
	"github.com/cairndb/cairn/server/command/strs"
	"github.com/cairndb/cairn/server/reply"
)

// families are the command families the SORT tests run with: SORT needs
// lists, sets (and sorted sets, see zset_test.go) to sort and strings and
// hashes to look weights and values up.
func families() [][]*command.Spec {
	return append([][]*command.Spec{Specs, lists.Specs, sets.Specs, hashes.Specs, strs.Specs, keys.Specs}, extraFamilies...)
}

// extraFamilies and withZSets are set by zset_test.go.
var (
	extraFamilies [][]*command.Spec
	withZSets     bool
)

// newDiff starts a redis-server in the C locale (SORT ... ALPHA uses
// strcoll, which Cairn takes as strcmp) and a harness.
func newDiff(t *testing.T) *commandtest.Diff {
	t.Setenv("LC_ALL", "C")
	return commandtest.NewDiff(t, families()...)
}

// compare is Diff.Compare for SORT. Redis 7.0's SORT tests errno for
// ERANGE after strtod without clearing it first, so once a weight
// overflowed, every numeric SORT on the server fails until some other
// code clears errno (accepting a connection does, and so does parsing a
// double elsewhere). Cairn does not reproduce that leak: after Redis
// reports the conversion error, compare clears errno there with a ZADD
// that parses a score and changes nothing.
func compare(t testing.TB, d *commandtest.Diff, args ...string) reply.Value {
	t.Helper()
	_, want := d.Compare(args...)
	clearErrno(t, d, want)
	return want
}

func clearErrno(t testing.TB, d *commandtest.Diff, want reply.Value) {
	t.Helper()
	if want.IsError() && string(want.Str) == string(errScores) {
		if v := redisDo(t, d, "ZADD", "cairn-errno-reset", "XX", "1", "m"); v.Kind != reply.KindInt {
			t.Fatalf("ZADD XX: %v", v)
		}
	}
}

func redisDo(t testing.TB, d *commandtest.Diff, args ...string) reply.Value {
	t.Helper()
	v, err := d.Redis.Do(args...)
	if err != nil {
		t.Fatalf("redis %q: %v", args, err)
	}
	return v
}

// multiset renders an array reply's elements sorted (for replies whose
// order Redis takes from its hash tables).
func multiset(v reply.Value) string {
	if v.Kind != reply.KindArray {
		return v.String()
	}
	var items []string
	for _, e := range v.Elems {
		items = append(items, e.String())
	}
	sort.Strings(items)
	return strconv.Quote(strings.Join(items, "\x01"))
}

// compareUnordered runs a command on both and compares the replies as
// multisets.
func compareUnordered(t testing.TB, d *commandtest.Diff, args ...string) {
	t.Helper()
	want := redisDo(t, d, args...)
	d.H.Now = time.Now().UnixMilli()
	got := d.H.Do(args...).RESP2()
	if g, w := multiset(got), multiset(want); g != w {
		t.Errorf("%q (unordered):\n  cairn: %s\n  redis: %s", args, g, w)
	}
}

// setup stores the same fixture in both: lists to sort, weights as
// strings (w_*) and hash fields (h_*->f), values to GET (o_*), a set of
// integers (an intset, in the same order in both) and a string key.
func setup(t *testing.T, d *commandtest.Diff) {
	t.Helper()
	cmds := [][]string{
		{"RPUSH", "l", "3", "1", "2", "10", "-5", "2.5", "1e2", "0x10", "", " 7", "+4", ".5", "5.", "-0", "0"},
		{"RPUSH", "n", "3", "1", "2", "5", "4"},
		{"RPUSH", "la", "b", "a", "C", "c", "a\x00z", "a\x00b", "é", "\xff", "", "B", "aa", "a", "10", "9"},
		{"RPUSH", "bad", "1", "2", "x"},
		{"SADD", "si", "5", "3", "9", "1", "-2", "100"},
		{"SADD", "ss", "x", "y", "z", "a", "m"},
		{"MSET", "w_3", "30", "w_1", "10", "w_2", "20", "w_5", "-1", "w_4", "x"},
		{"MSET", "o_3", "three", "o_1", "one", "o_5", "five", "o_x", "ex"},
		{"HSET", "h_3", "f", "3", "g", "c"}, {"HSET", "h_1", "f", "30", "g", "a"},
		{"HSET", "h_2", "f", "-3", "g", "b"}, {"HSET", "h_5", "f", "3"},
		{"MSET", "wa_x", "2", "wa_y", "1", "wa_z", "3", "wa_a", "1", "wa_m", "0"},
		{"SET", "str", "v"}, {"HSET", "hash", "a", "1"},
	}
	for _, c := range cmds {
		d.Compare(c...)
	}
}

// TestDiffDeterministic runs SORT and SORT_RO with every option and error
// path on Cairn and on redis-server and compares the replies.
func TestDiffDeterministic(t *testing.T) {
	d := newDiff(t)
	setup(t, d)
	const maxI, minI = "9223372036854775807", "-9223372036854775808"
	cmds := [][]string{
		// numeric, by the elements
		{"SORT", "l"}, {"SORT", "l", "DESC"}, {"SORT", "l", "ASC"}, {"SORT", "l", "desc", "asc"}, {"SORT", "n"},
		{"SORT", "bad"}, {"SORT", "bad", "LIMIT", "0", "1"}, {"SORT", "la"}, {"SORT", "si"}, {"SORT", "si", "DESC"},
		// ALPHA
		{"SORT", "la", "ALPHA"}, {"SORT", "la", "ALPHA", "DESC"}, {"SORT", "l", "ALPHA"}, {"SORT", "n", "alpha", "desc"},
		{"SORT", "si", "ALPHA"}, {"SORT", "ss", "ALPHA"}, {"SORT", "ss", "ALPHA", "DESC"}, {"SORT", "bad", "ALPHA"},
		// LIMIT
		{"SORT", "n", "LIMIT", "0", "2"}, {"SORT", "n", "LIMIT", "1", "2"}, {"SORT", "n", "LIMIT", "-1", "2"},
		{"SORT", "n", "LIMIT", "2", "-1"}, {"SORT", "n", "LIMIT", "4", "10"}, {"SORT", "n", "LIMIT", "5", "1"},
		{"SORT", "n", "LIMIT", "100", "1"}, {"SORT", "n", "LIMIT", "0", "0"}, {"SORT", "n", "LIMIT", "3", "0"},
		{"SORT", "n", "LIMIT", "-5", "-5"}, {"SORT", "n", "LIMIT", maxI, maxI}, {"SORT", "n", "LIMIT", "2", maxI},
		{"SORT", "n", "LIMIT", minI, maxI}, {"SORT", "n", "LIMIT", minI, minI}, {"SORT", "n", "LIMIT", "1", minI},
		{"SORT", "n", "LIMIT", "x", "1"}, {"SORT", "n", "LIMIT", "1", "x"}, {"SORT", "n", "LIMIT", "01", "1"},
		{"SORT", "n", "LIMIT", "1", "+1"}, {"SORT", "n", "LIMIT", "-0", "1"}, {"SORT", "n", "LIMIT", "9223372036854775808", "1"},
		{"SORT", "n", "LIMIT", "1"}, {"SORT", "n", "LIMIT"}, {"SORT", "n", "LIMIT", "0", "2", "DESC"},
		{"SORT", "n", "LIMIT", "0", "2", "LIMIT", "1", "1"}, {"SORT", "n", "LIMIT", "x", "1", "BOGUS"},
		{"SORT", "n", "BOGUS", "LIMIT", "x", "1"}, {"SORT", "nokey", "LIMIT", "x", "1"}, {"SORT", "str", "LIMIT", "x", "1"},
		{"SORT", "la", "ALPHA", "LIMIT", "3", "4"}, {"SORT", "la", "ALPHA", "DESC", "LIMIT", "3", "4"},
		// BY
		{"SORT", "n", "BY", "w_*"}, {"SORT", "n", "BY", "w_*", "DESC"}, {"SORT", "n", "BY", "w_*", "ALPHA"},
		{"SORT", "n", "BY", "w_*", "ALPHA", "DESC"}, {"SORT", "n", "BY", "h_*->f"}, {"SORT", "n", "BY", "h_*->f", "DESC"},
		{"SORT", "n", "BY", "h_*->g", "ALPHA"}, {"SORT", "n", "BY", "h_*->g", "ALPHA", "DESC"}, {"SORT", "n", "BY", "h_*->nofield"},
		{"SORT", "n", "BY", "h_*->"}, {"SORT", "n", "BY", "w_*->f"}, {"SORT", "n", "BY", "h_*"}, {"SORT", "n", "BY", "nokey_*"},
		{"SORT", "n", "BY", "nokey_*", "ALPHA"}, {"SORT", "n", "BY", "nokey_*", "ALPHA", "DESC"},
		{"SORT", "n", "BY", "w_*", "LIMIT", "1", "2"}, {"SORT", "n", "BY", "w_*", "ALPHA", "LIMIT", "1", "3"},
		{"SORT", "si", "BY", "w_*"}, {"SORT", "si", "BY", "w_*", "DESC"}, {"SORT", "ss", "BY", "wa_*"},
		{"SORT", "ss", "BY", "wa_*", "DESC", "LIMIT", "0", "3"}, {"SORT", "n", "BY", "*"}, {"SORT", "n", "BY", "**"},
		{"SORT", "n", "BY", "w_*", "BY", "h_*->f"}, {"SORT", "n", "BY"},
		// BY with a bad weight: w_4 is "x"
		{"SORT", "n", "BY", "w_*", "ALPHA"}, {"SORT", "n", "BY", "o_*"}, {"SORT", "n", "BY", "o_*", "ALPHA"},
		// BY nosort (constant pattern)
		{"SORT", "l", "BY", "nosort"}, {"SORT", "l", "BY", "nosort", "DESC"}, {"SORT", "l", "BY", "nosort", "LIMIT", "2", "3"},
		{"SORT", "l", "BY", "nosort", "DESC", "LIMIT", "2", "3"}, {"SORT", "l", "BY", "nosort", "LIMIT", "20", "3"},
		{"SORT", "l", "BY", "nosort", "LIMIT", "-1", "3"}, {"SORT", "l", "BY", "nosort", "LIMIT", "3", "0"},
		{"SORT", "l", "BY", "nosort", "DESC", "LIMIT", "14", "5"}, {"SORT", "bad", "BY", "nosort"},
		{"SORT", "la", "BY", "nosort", "ALPHA"}, {"SORT", "si", "BY", "nosort"}, {"SORT", "si", "BY", "nosort", "DESC"},
		{"SORT", "si", "BY", "nosort", "LIMIT", "1", "2"}, {"SORT", "si", "BY", "nosort", "DESC", "LIMIT", "1", "2"},
		{"SORT", "n", "BY", "nosort", "BY", "w_*"}, {"SORT", "n", "BY", "w_*", "BY", "nosort"},
		{"SORT", "n", "BY", "nosort", "GET", "o_*", "GET", "#"},
		// GET
		{"SORT", "n", "GET", "#"}, {"SORT", "n", "GET", "o_*"}, {"SORT", "n", "GET", "o_*", "GET", "#"},
		{"SORT", "n", "GET", "#", "GET", "h_*->f", "GET", "h_*->g", "GET", "w_*"}, {"SORT", "n", "GET", "nopattern"},
		{"SORT", "n", "GET", "o_*->f"}, {"SORT", "n", "GET", "h_*"}, {"SORT", "n", "GET", "h_*->"}, {"SORT", "n", "GET"},
		{"SORT", "n", "GET", "#", "LIMIT", "1", "2", "DESC"}, {"SORT", "n", "GET", "o_*", "BY", "w_*", "DESC"},
		{"SORT", "si", "GET", "o_*", "GET", "#"}, {"SORT", "n", "GET", "##"}, {"SORT", "n", "GET", "*"},
		{"SORT", "n", "GET", "o_*", "LIMIT", "10", "2"},
		// weird numbers
		{"RPUSH", "num", "1e400"}, {"SORT", "num"}, {"DEL", "num"}, {"RPUSH", "num", "4.9e-324"}, {"SORT", "num"}, {"DEL", "num"},
		{"RPUSH", "num", "0x1p-1074", "0x1.8P-1073", "-INF", "Infinity", "0e-999", "1E5", "  12"}, {"SORT", "num"}, {"DEL", "num"},
		{"RPUSH", "num", "nan"}, {"SORT", "num"}, {"DEL", "num"}, {"RPUSH", "num", "5 "}, {"SORT", "num"}, {"DEL", "num"},
		{"RPUSH", "num", "5\x00junk", "4"}, {"SORT", "num"}, {"DEL", "num"}, {"RPUSH", "num", " "}, {"SORT", "num"}, {"DEL", "num"},
		{"RPUSH", "num", "-"}, {"SORT", "num"}, {"DEL", "num"}, {"RPUSH", "num", "0x"}, {"SORT", "num"}, {"DEL", "num"},
		{"RPUSH", "num", "1e"}, {"SORT", "num"}, {"DEL", "num"}, {"RPUSH", "num", "infinit"}, {"SORT", "num"}, {"DEL", "num"},
		{"RPUSH", "num", "1_0"}, {"SORT", "num"}, {"DEL", "num"}, {"RPUSH", "num", "\x00"}, {"SORT", "num"}, {"DEL", "num"},
		// options as C strings, patterns with NUL bytes
		{"SORT", "n", "DESC\x00x"}, {"SORT", "n", "LIMIT\x00", "0", "1"}, {"SORT", "n", "GET", "#\x00x"},
		{"SORT", "n", "GET", "o_\x00*"}, {"SORT", "n", "BY", "w_\x00*"}, {"SORT", "n", "GET", "h_*->f\x00x"},
		{"SORT", "n", "GET", "h_*-\x00>f"},
		// errors and types
		{"SORT", "str"}, {"SORT", "hash"}, {"SORT", "str", "BOGUS"}, {"SORT", "str", "LIMIT", "0", "1"},
		{"SORT", "nokey"}, {"SORT", "nokey", "BY", "nosort"}, {"SORT", "nokey", "GET", "#"}, {"SORT"},
		{"SORT", "n", "ALPHA", "BOGUS"}, {"SORT", "n", "STORE"}, {"SORT", "n", "GET", "#", "STORE"},
		// SORT_RO
		{"SORT_RO", "n"}, {"SORT_RO", "n", "BY", "w_*", "GET", "#", "GET", "o_*", "LIMIT", "0", "3", "DESC"},
		{"SORT_RO", "n", "STORE", "dst"}, {"SORT_RO", "n", "store"}, {"SORT_RO", "la", "ALPHA"}, {"SORT_RO", "str"},
		{"SORT_RO", "nokey"}, {"SORT_RO"}, {"EXISTS", "dst"},
		// STORE
		{"SORT", "n", "STORE", "dst"}, {"LRANGE", "dst", "0", "-1"}, {"TYPE", "dst"},
		{"SORT", "la", "ALPHA", "STORE", "dst"}, {"LRANGE", "dst", "0", "-1"},
		{"SORT", "n", "GET", "o_*", "GET", "#", "STORE", "dst"}, {"LRANGE", "dst", "0", "-1"},
		{"SORT", "n", "BY", "nosort", "DESC", "STORE", "dst"}, {"LRANGE", "dst", "0", "-1"},
		{"SORT", "n", "LIMIT", "9", "1", "STORE", "dst"}, {"EXISTS", "dst"}, {"SORT", "n", "LIMIT", "9", "1", "STORE", "dst"},
		{"SORT", "nokey", "STORE", "dst"}, {"SET", "dst", "x"}, {"SORT", "nokey", "STORE", "dst"}, {"EXISTS", "dst"},
		{"SET", "dst", "x"}, {"EXPIRE", "dst", "100"}, {"SORT", "n", "STORE", "dst"}, {"TTL", "dst"}, {"TYPE", "dst"},
		{"SORT", "str", "STORE", "dst"}, {"LRANGE", "dst", "0", "-1"}, {"SORT", "bad", "STORE", "dst"}, {"LRANGE", "dst", "0", "-1"},
		{"SORT", "n", "STORE", "dst", "STORE", "dst2"}, {"EXISTS", "dst2"}, {"LRANGE", "dst2", "0", "-1"},
		{"SORT", "n", "STORE", "n"}, {"LRANGE", "n", "0", "-1"}, {"SORT", "n", "DESC", "STORE", "n"}, {"LRANGE", "n", "0", "-1"},
		{"SORT", "si", "BY", "nosort", "STORE", "dst"}, {"LRANGE", "dst", "0", "-1"},
		{"SORT", "ss", "BY", "nosort", "STORE", "dst"}, {"LRANGE", "dst", "0", "-1"},
		{"SORT", "ss", "BY", "nosort", "DESC", "LIMIT", "1", "3", "STORE", "dst"}, {"LRANGE", "dst", "0", "-1"},
		{"SORT", "ss", "BY", "nosort", "GET", "o_*", "STORE", "dst"}, {"LRANGE", "dst", "0", "-1"},
		{"SORT", "la", "BY", "nosort", "STORE", "dst"}, {"LRANGE", "dst", "0", "-1"},
		{"SORT", "n", "GET", "nokey_*", "STORE", "dst"}, {"LRANGE", "dst", "0", "-1"},
		{"SORT", "n", "STORE", "dst", "LIMIT", "x", "1"}, {"LRANGE", "dst", "0", "-1"},
		{"sort", "n", "store", "DST", "by", "W_*", "limit", "0", "3"}, {"LRANGE", "DST", "0", "-1"},
	}
	for _, c := range cmds {
		compare(t, d, c...)
	}
	// Sets in hash-table order: Redis's order is its dict's.
	for _, c := range [][]string{{"SORT", "ss", "BY", "nosort"}, {"SORT", "ss", "BY", "nosort", "GET", "#", "GET", "wa_*"}, {"SORT_RO", "ss", "BY", "nosort"},
		{"SORT", "ss", "BY", "nokey_*", "ALPHA", "STORE", "dst"}, {"LRANGE", "dst", "0", "-1"}} {
		compareUnordered(t, d, c...)
	}
}

// TestDiffTies sorts lists with many equal BY ALPHA weights, where the
// order of ties depends on the sort algorithm: glibc's stable merge sort
// without LIMIT, Redis's pqsort (ported) with a LIMIT.
func TestDiffTies(t *testing.T) {
	d := newDiff(t)
	r := rand.New(rand.NewPCG(3, 4))
	for round := 0; round < 150; round++ {
		n := 1 + r.IntN(120)
		if round%2 == 0 {
			n = 1 + r.IntN(15)
		}
		push := []string{"RPUSH", "t"}
		for i := 0; i < n; i++ {
			push = append(push, "e"+strconv.Itoa(r.IntN(n+5)))
		}
		d.Compare("DEL", "t")
		d.Compare(push...)
		distinct := 1 + r.IntN(n+3) // few weights (many ties) to all different
		for i := 0; i < n+5; i++ {
			if r.IntN(4) > 0 {
				d.Compare("SET", "tw_e"+strconv.Itoa(i), strconv.Itoa(r.IntN(distinct)))
			} else {
				d.Compare("DEL", "tw_e"+strconv.Itoa(i))
			}
		}
		for _, opts := range [][]string{nil, {"DESC"}} {
			base := append([]string{"SORT", "t", "BY", "tw_*", "ALPHA"}, opts...)
			d.Compare(base...)
			d.Compare(append(base, "STORE", "tdst")...)
			d.Compare("LRANGE", "tdst", "0", "-1")
			for k := 0; k < 4; k++ {
				off, cnt := strconv.Itoa(r.IntN(n+2)-1), strconv.Itoa(r.IntN(n+2)-1)
				d.Compare(append(base, "LIMIT", off, cnt)...)
				d.Compare(append(base, "LIMIT", off, cnt, "GET", "#", "GET", "tw_*")...)
			}
		}
		// Elements equal up to a NUL byte tie under strcoll (no STORE).
		d.Compare("DEL", "tn")
		d.Compare("RPUSH", "tn", "a\x00"+strconv.Itoa(r.IntN(9)), "a\x00"+strconv.Itoa(r.IntN(9)), "a", "b\x00x", "a\x00", "b")
		d.Compare("SORT", "tn", "ALPHA")
		d.Compare("SORT", "tn", "ALPHA", "DESC", "LIMIT", "1", "3")
		d.Compare("SORT", "tn", "ALPHA", "STORE", "tdst")
		d.Compare("LRANGE", "tdst", "0", "-1")
	}
}

// TestDiffStrtod sorts one-element lists holding numbers in many forms:
// each either sorts or fails with the conversion error, as in Redis.
func TestDiffStrtod(t *testing.T) {
	d := newDiff(t)
	r := rand.New(rand.NewPCG(5, 6))
	parts := []string{"0", "1", "9", "5", ".", "e", "E", "+", "-", "x", "X", "p", "P", "a", "f", " ", "\t", "inf", "nan", "INFINITY", "\x00", "0x", "e-3", "e+400", "e-320", "1e-310", "00", "308", "324", "1p-1074", "i", "n"}
	cases := []string{"", " ", "0", "-0", "+0", "1", "1.5", "1e3", "0x1A", "0x1.8p3", "0x.8", "0x8.", "0xp1", "0x1p", "0x1p+", "1e+", "1e-", ".e1",
		"1e308", "1.8e308", "2.2250738585072014e-308", "2.2250738585072011e-308", "2.2250738585072013e-308", "0x1p-1074", "0x1p-1075", "0x3p-1076",
		"0x1.fffffffffffffp-1023", "0x1.fffffffffffff8p-1023", "1e-400", "-1e-400", "0e-400", "0.000e999999999999999999", "9999999999999999", "123456789012345678901234567890",
		"-inf", "+INF", "infinity", "-Infinity", "infinityy", "inff", "nan", "NAN", "-nan", "nan(1)", "\v1", "\f1", "\r1", "\n1", "1\n", "\x001", "1\x00", "١"}
	for i := 0; i < 400; i++ {
		var b strings.Builder
		for k := r.IntN(5); k >= 0; k-- {
			b.WriteString(parts[r.IntN(len(parts))])
		}
		cases = append(cases, b.String())
	}
	for _, c := range cases {
		d.Compare("DEL", "num")
		d.Compare("RPUSH", "num", c, "0")
		compare(t, d, "SORT", "num")
		compare(t, d, "SORT", "num", "DESC")
	}
}

// TestDiffLarge sorts and stores a large list (a quicklist) and a large
// set of integers.
func TestDiffLarge(t *testing.T) {
	d := newDiff(t)
	r := rand.New(rand.NewPCG(7, 8))
	push := []string{"RPUSH", "big"}
	sadd := []string{"SADD", "bigs"}
	for i := 0; i < 3000; i++ {
		push = append(push, strconv.Itoa(r.IntN(100000)-50000)+strings.Repeat("0", r.IntN(3)))
		sadd = append(sadd, strconv.Itoa(r.IntN(100000)))
	}
	d.Compare(push...)
	d.Compare(sadd...)
	for _, c := range [][]string{
		{"SORT", "big"}, {"SORT", "big", "DESC", "LIMIT", "100", "50"}, {"SORT", "big", "ALPHA", "LIMIT", "2900", "200"},
		{"SORT", "big", "STORE", "bd"}, {"LRANGE", "bd", "0", "-1"}, {"LLEN", "bd"},
		{"SORT", "bigs"}, {"SORT", "bigs", "ALPHA", "DESC"}, {"SORT", "bigs", "BY", "nosort", "STORE", "bd"}, {"LRANGE", "bd", "0", "-1"},
		{"SORT", "big", "BY", "nosort", "DESC", "LIMIT", "1000", "1500"},
	} {
		d.Compare(c...)
	}
}

// TestDiffEvents compares SORT's keyspace events and replies with Redis's.
func TestDiffEvents(t *testing.T) {
	t.Setenv("LC_ALL", "C")
	d := commandtest.NewEventDiff(t, "A", families()...)
	for _, c := range [][]string{
		{"RPUSH", "l", "3", "1", "2"}, {"SADD", "s", "b", "a"},
		{"SORT", "l"}, {"SORT_RO", "l"}, {"SORT", "l", "STORE", "d"}, {"SORT", "l", "STORE", "d"},
		{"SORT", "l", "LIMIT", "5", "5", "STORE", "d"}, {"SORT", "l", "LIMIT", "5", "5", "STORE", "d"},
		{"SORT", "nokey", "STORE", "l"}, {"SORT", "s", "BY", "nosort", "STORE", "d"}, {"SORT", "s", "STORE", "d"},
		{"SORT", "s", "ALPHA", "STORE", "s"}, {"TYPE", "s"}, {"SORT", "l", "BOGUS", "STORE", "d"},
	} {
		d.Compare(c...)
	}
}

// TestDiffRandom runs random SORT commands over random lists, sets,
// weights and values, on Cairn and redis-server, for about 3s (or the
// duration in CAIRN_FUZZ_DIFF). Replies whose order Redis takes from a
// hash table (a set that is not an intset with BY nosort, a set or sorted
// set with ties of BY ... ALPHA) are compared as multisets, or by length
// with a LIMIT.
func TestDiffRandom(t *testing.T) {
	dur := 3 * time.Second
	if s := os.Getenv("CAIRN_FUZZ_DIFF"); s != "" {
		v, err := time.ParseDuration(s)
		if err != nil {
			t.Fatalf("CAIRN_FUZZ_DIFF: %v", err)
		}
		dur = v
	}
	d := newDiff(t)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 1))
	elems := []string{"1", "2", "3", "-1", "10", "a", "b", "B", "", "1.5", "x y", "07", "0"}
	values := []string{"1", "2", "-3", "0.5", "a", "b", "", "10", "1e3", "z", "inf"}
	keys := []string{"k1", "k2", "k3"}
	deadline := time.Now().Add(dur)
	ops := 0
	dstMode := exact // how dst's content compares
	for time.Now().Before(deadline) {
		ops++
		k := keys[r.IntN(len(keys))]
		e := elems[r.IntN(len(elems))]
		switch r.IntN(12) {
		case 0:
			d.Compare("RPUSH", k, e, elems[r.IntN(len(elems))])
		case 1:
			d.Compare("SADD", k, e, elems[r.IntN(len(elems))])
		case 2:
			d.Compare("DEL", k)
		case 3:
			d.Compare("SET", "w_"+e, values[r.IntN(len(values))])
		case 4:
			d.Compare("HSET", "h_"+e, "f", values[r.IntN(len(values))])
		case 5:
			d.Compare("DEL", "w_"+e, "h_"+e)
		case 6:
			if withZSets && r.IntN(2) == 0 {
				d.Compare("ZADD", k, strconv.Itoa(r.IntN(4)), e)
			} else {
				d.Compare("LPOP", k)
			}
		default:
			args := randomSort(r, k)
			store := args[len(args)-2] == "STORE"
			if store && r.IntN(2) == 0 {
				d.Compare("DEL", "dst")
				dstMode = exact
			}
			mode, want := compareSort(t, d, k, args)
			if store {
				// A failed SORT leaves dst as it was, perhaps the result
				// of an earlier SORT in Redis's hash-table order.
				if !want.IsError() {
					dstMode = mode
				}
				compareMode(t, d, dstMode, "LRANGE", "dst", "0", "-1")
			}
		}
	}
	t.Logf("%d operations", ops)
}

// randomSort returns a random SORT command on key.
func randomSort(r *rand.Rand, key string) []string {
	args := []string{"SORT", key}
	if r.IntN(5) == 0 {
		args[0] = "SORT_RO"
	}
	patterns := []string{"w_*", "h_*->f", "nosort", "nokey_*", "h_*", "#"}
	gets := []string{"#", "w_*", "h_*->f", "nokey_*", "const"}
	for n := r.IntN(6); n > 0; n-- {
		switch r.IntN(7) {
		case 0:
			args = append(args, "BY", patterns[r.IntN(len(patterns))])
		case 1:
			args = append(args, "LIMIT", strconv.Itoa(r.IntN(8)-2), strconv.Itoa(r.IntN(8)-2))
		case 2:
			args = append(args, "GET", gets[r.IntN(len(gets))])
		case 3:
			args = append(args, "DESC")
		case 4:
			args = append(args, "ALPHA")
		case 5:
			args = append(args, "ASC")
		case 6:
			if r.IntN(10) == 0 {
				args = append(args, "BOGUS")
			} else {
				args = append(args, "ALPHA")
			}
		}
	}
	if args[0] == "SORT" && r.IntN(4) == 0 {
		args = append(args, "STORE", "dst")
	}
	return args
}

// How a SORT reply compares: exactly, as a multiset, or by length.
const (
	exact = iota
	asMultiset
	byLength
)

// compareSort compares a SORT reply exactly unless its order comes from a
// Redis hash table (see TestDiffRandom), and returns the mode it used.
func compareSort(t *testing.T, d *commandtest.Diff, key string, args []string) (int, reply.Value) {
	t.Helper()
	mode := exact
	typ := string(redisDo(t, d, "TYPE", key).Str)
	enc := string(redisDo(t, d, "OBJECT", "ENCODING", key).Str)
	if (typ == "set" && enc == "hashtable") || typ == "zset" {
		o, err := parse(toBytes(args), args[0] == "SORT_RO")
		if err == nil {
			nosort := typ == "set" && o.dontsort && o.store == nil
			tiesMatter := !o.dontsort && o.alpha && o.sortby != nil
			if nosort || tiesMatter {
				mode = asMultiset
				for _, a := range args {
					if strings.EqualFold(a, "LIMIT") {
						mode = byLength
					}
				}
			}
		}
	}
	return mode, compareMode(t, d, mode, args...)
}

// compareMode runs a command on both and compares the replies in mode.
func compareMode(t *testing.T, d *commandtest.Diff, mode int, args ...string) reply.Value {
	t.Helper()
	if mode == exact {
		return compare(t, d, args...)
	}
	want := redisDo(t, d, args...)
	defer clearErrno(t, d, want)
	d.H.Now = time.Now().UnixMilli()
	got := d.H.Do(args...).RESP2()
	switch {
	case want.Kind != reply.KindArray || got.Kind != reply.KindArray:
		if !reply.Equal(got, want) {
			t.Errorf("%q:\n  cairn: %s\n  redis: %s", args, got, want)
		}
	case mode == byLength:
		if len(got.Elems) != len(want.Elems) {
			t.Errorf("%q (length):\n  cairn: %s\n  redis: %s", args, got, want)
		}
	default:
		if g, w := multiset(got), multiset(want); g != w {
			t.Errorf("%q (unordered):\n  cairn: %s\n  redis: %s", args, g, w)
		}
	}
	return want
}

func toBytes(args []string) [][]byte {
	out := make([][]byte, len(args))
	for i, a := range args {
		out[i] = []byte(a)
	}
	return out
}
