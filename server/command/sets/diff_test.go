package sets

import (
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cairndb/cairn/server/command/commandtest"
	"github.com/cairndb/cairn/server/command/keys"
	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/server/reply"
)

// newDiff starts a redis-server and a harness (with the generic key
// commands, for OBJECT ENCODING, EXISTS, DUMP and RESTORE), both holding
// the string key "str" for WRONGTYPE paths.
func newDiff(t *testing.T) *commandtest.Diff {
	d := commandtest.NewDiff(t, Specs, keys.Specs)
	if v, err := d.Redis.Do("SET", "str", "v"); err != nil || v.IsError() {
		t.Fatalf("SET: %v %v", v, err)
	}
	d.H.DB.Put([]byte("str"), []byte("v"), nil, 0)
	return d
}

// resetStr stores the string "str" again in both.
func resetStr(t testing.TB, d *commandtest.Diff) {
	redisDo(t, d, "SET", "str", "v")
	d.H.DB.Put([]byte("str"), []byte("v"), nil, 0)
}

func redisDo(t testing.TB, d *commandtest.Diff, args ...string) reply.Value {
	t.Helper()
	v, err := d.Redis.Do(args...)
	if err != nil {
		t.Fatalf("redis %q: %v", args, err)
	}
	return v
}

// unordered tells whether Redis lists a reply over these keys in an order
// Cairn cannot reproduce: any existing source set that is a hashtable
// (Redis lists it in its dict order), or a result too large for an intset.
func unordered(t testing.TB, d *commandtest.Diff, keys []string, n int) bool {
	if n > keyspace.SetMaxIntsetEntries {
		return true
	}
	for _, k := range keys {
		e := redisDo(t, d, "OBJECT", "ENCODING", k)
		if e.Kind == reply.KindBulk && string(e.Str) != "intset" {
			return true
		}
	}
	return false
}

// compareSet runs a command whose reply lists set members on both: exactly
// when Redis's order is defined (intsets), as a multiset otherwise.
func compareSet(t testing.TB, d *commandtest.Diff, keys []string, args ...string) {
	t.Helper()
	want := redisDo(t, d, args...)
	d.H.Now = time.Now().UnixMilli()
	got := d.H.Do(args...).RESP2()
	if want.Kind == reply.KindArray && unordered(t, d, keys, len(want.Elems)) {
		if g, w := sortedElems(got), sortedElems(want); g != w {
			t.Errorf("%q:\n  cairn: %s\n  redis: %s", args, g, w)
		}
		return
	}
	if !reply.Equal(got, want) {
		t.Errorf("%q:\n  cairn: %s\n  redis: %s", args, got, want)
	}
}

func sortedElems(v reply.Value) string {
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

// members returns the members of key in Redis.
func members(t testing.TB, d *commandtest.Diff, key string) map[string]bool {
	m := map[string]bool{}
	v := redisDo(t, d, "SMEMBERS", key)
	for _, e := range v.Elems {
		m[string(e.Str)] = true
	}
	return m
}

// sameState checks that key holds the same members with the same
// encoding in both.
func sameState(t testing.TB, d *commandtest.Diff, key string) {
	t.Helper()
	d.Compare("EXISTS", key)
	d.Compare("OBJECT", "ENCODING", key)
	d.Compare("SCARD", key)
	compareSet(t, d, []string{key}, "SMEMBERS", key)
}

// compareScan runs a whole SSCAN iteration on both and compares the sets
// of members returned (errors exactly).
func compareScan(t testing.TB, d *commandtest.Diff, key string, opts ...string) {
	t.Helper()
	scan := func(do func(args ...string) reply.Value) string {
		seen := map[string]bool{}
		cursor := "0"
		for i := 0; i < 100000; i++ {
			v := do(append([]string{"SSCAN", key, cursor}, opts...)...)
			if v.Kind != reply.KindArray || len(v.Elems) != 2 {
				return v.String()
			}
			for _, e := range v.Elems[1].Elems {
				seen[string(e.Str)] = true
			}
			if cursor = string(v.Elems[0].Str); cursor == "0" {
				break
			}
		}
		var all []string
		for m := range seen {
			all = append(all, m)
		}
		sort.Strings(all)
		return strconv.Quote(strings.Join(all, "\x01"))
	}
	got := scan(func(args ...string) reply.Value { return d.H.Do(args...).RESP2() })
	want := scan(func(args ...string) reply.Value { return redisDo(t, d, args...) })
	if got != want {
		t.Errorf("SSCAN %s %q:\n  cairn: %s\n  redis: %s", key, opts, got, want)
	}
}

// TestDiffDeterministic runs every command and error path on Cairn and on
// redis-server and compares the replies (member lists of hashtables as
// multisets).
func TestDiffDeterministic(t *testing.T) {
	d := newDiff(t)
	cmp := func(args ...string) { t.Helper(); d.Compare(args...) }
	set := func(keys []string, args ...string) { t.Helper(); compareSet(t, d, keys, args...) }
	// SADD / SREM / SCARD / SISMEMBER / SMISMEMBER / SMEMBERS
	cmp("SADD", "i", "3", "1", "2", "-5", "1")
	cmp("SADD", "i", "9223372036854775807", "-9223372036854775808", "70000")
	set([]string{"i"}, "SMEMBERS", "i")
	cmp("OBJECT", "ENCODING", "i")
	cmp("SADD", "s", "b", "a", "", "x y", "ü", "b")
	cmp("SADD", "n", "1", "01", "-0", "+1", " 1", "1.0", "9223372036854775808")
	cmp("OBJECT", "ENCODING", "n")
	set([]string{"n"}, "SMEMBERS", "n")
	cmp("SADD", "str", "a")
	cmp("SADD", "s")
	cmp("SADD")
	cmp("SCARD", "i")
	cmp("SCARD", "s")
	cmp("SCARD", "nokey")
	cmp("SCARD", "str")
	cmp("SCARD", "i", "x")
	for _, m := range []string{"1", "01", "a", "", "zz", "-5", "9223372036854775807", "9223372036854775808"} {
		cmp("SISMEMBER", "i", m)
		cmp("SISMEMBER", "s", m)
		cmp("SISMEMBER", "n", m)
	}
	cmp("SISMEMBER", "nokey", "a")
	cmp("SISMEMBER", "str", "a")
	cmp("SISMEMBER", "s")
	cmp("SISMEMBER", "s", "a", "b")
	cmp("SMISMEMBER", "s", "a", "zz", "", "a")
	cmp("SMISMEMBER", "i", "1", "x", "70000")
	cmp("SMISMEMBER", "nokey", "a", "b")
	cmp("SMISMEMBER", "str", "a")
	cmp("SMISMEMBER", "s")
	set([]string{"s"}, "SMEMBERS", "s")
	cmp("SMEMBERS", "nokey")
	cmp("SMEMBERS", "str")
	cmp("SMEMBERS")
	cmp("SMEMBERS", "s", "x")
	cmp("SREM", "s", "zz")
	cmp("SREM", "s", "a", "a", "zz", "b")
	cmp("SREM", "i", "x", "01", "1")
	cmp("SREM", "nokey", "a")
	cmp("SREM", "str", "a")
	cmp("SREM", "s")
	cmp("SADD", "e", "only")
	cmp("SREM", "e", "only", "other")
	cmp("EXISTS", "e")
	sameState(t, d, "s")
	sameState(t, d, "i")
	// SMOVE
	cmp("SADD", "m1", "1", "2", "a")
	cmp("SADD", "m2", "5")
	cmp("SMOVE", "m1", "m2", "1")
	cmp("SMOVE", "m1", "m2", "a") // converts m2
	cmp("SMOVE", "m1", "m2", "zz")
	cmp("SMOVE", "m1", "m1", "2")
	cmp("SMOVE", "m1", "m1", "zz")
	cmp("SMOVE", "nokey", "m2", "1")
	cmp("SMOVE", "nokey", "str", "1")
	cmp("SMOVE", "str", "m2", "1")
	cmp("SMOVE", "m1", "str", "2")
	cmp("SMOVE", "m1", "str", "zz")
	cmp("SMOVE", "m1", "m3", "2") // creates m3, deletes m1
	cmp("SMOVE", "m1", "m3")
	sameState(t, d, "m1")
	sameState(t, d, "m2")
	sameState(t, d, "m3")
	cmp("SADD", "m4", "x")
	cmp("SMOVE", "m4", "m5", "x")
	sameState(t, d, "m5")
	// SPOP / SRANDMEMBER: errors and deterministic shapes
	for _, k := range []string{"nokey", "str", "i"} {
		for _, c := range []string{"x", "-1", "0", "1.5", "", "-9223372036854775808", "9223372036854775808"} {
			cmp("SPOP", k, c)
		}
		cmp("SPOP", k, "1", "2")
		for _, c := range []string{"x", "0", "-9223372036854775808", "-9223372036854775807", "9223372036854775807",
			"9223372036854775808", "1.5", ""} {
			if k != "i" || !strings.HasPrefix(c, "-9") {
				cmp("SRANDMEMBER", k, c)
			}
		}
		cmp("SRANDMEMBER", k, "1", "2")
	}
	cmp("SPOP", "nokey")
	cmp("SPOP", "str")
	cmp("SRANDMEMBER", "nokey")
	cmp("SRANDMEMBER", "str")
	cmp("SPOP")
	cmp("SRANDMEMBER")
	set([]string{"i"}, "SRANDMEMBER", "i", "100")
	set([]string{"s"}, "SRANDMEMBER", "s", "100")
	cmp("SADD", "one", "solo")
	cmp("SRANDMEMBER", "one")
	cmp("SRANDMEMBER", "one", "-3")
	cmp("SRANDMEMBER", "one", "1")
	cmp("SPOP", "one")
	cmp("EXISTS", "one")
	cmp("SADD", "one", "solo")
	cmp("SPOP", "one", "1")
	cmp("EXISTS", "one")
	cmp("SADD", "pop", "3", "1", "2")
	cmp("SPOP", "pop", "3") // the whole set, sorted
	cmp("EXISTS", "pop")
	cmp("SADD", "pop", "3", "1", "2", "a")
	cmp("SREM", "pop", "a") // a hashtable of integers
	cmp("SPOP", "pop", "10")
	cmp("EXISTS", "pop")
	// SINTER / SUNION / SDIFF and their STORE forms
	cmp("SADD", "a", "1", "2", "3", "4", "5")
	cmp("SADD", "b", "4", "5", "6")
	cmp("SADD", "c", "5", "x", "4", "y")
	cmp("SADD", "d", "x", "y", "z")
	for _, ks := range [][]string{{"a"}, {"a", "b"}, {"b", "a"}, {"a", "b", "c"}, {"c", "d"}, {"a", "nokey"}, {"nokey", "a"},
		{"a", "a"}, {"c", "c", "d"}, {"d", "c", "a"}, {"nokey"}, {"nokey", "nokey"}, {"a", "b", "nokey", "c"}} {
		for _, op := range []string{"SINTER", "SUNION", "SDIFF"} {
			set(ks, append([]string{op}, ks...)...)
		}
		for _, op := range []string{"SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"} {
			cmp(append([]string{op, "dst"}, ks...)...)
			sameState(t, d, "dst")
		}
		cmp(append([]string{"SINTERCARD", strconv.Itoa(len(ks))}, ks...)...)
		cmp(append([]string{"SINTERCARD", strconv.Itoa(len(ks))}, append(ks, "LIMIT", "1")...)...)
	}
	for _, op := range []string{"SINTER", "SUNION", "SDIFF"} {
		cmp(op, "a", "str")
		cmp(op, "nokey", "str")
		cmp(op, "str")
		cmp(op)
		cmp(op+"STORE", "dst", "a", "str")
		cmp(op+"STORE", "dst")
		cmp(op+"STORE", "dst", "nokey")
		cmp("EXISTS", "dst")
		cmp(op+"STORE", "a2", "a")
		cmp(op+"STORE", "str", "a") // overwrites a string
		cmp("TYPE", "str")
		resetStr(t, d)
	}
	cmp("EXPIRE", "a2", "1000")
	cmp("SUNIONSTORE", "a2", "b") // the store drops the TTL
	cmp("TTL", "a2")
	cmp("SDIFFSTORE", "a", "a", "b") // destination among the sources
	sameState(t, d, "a")
	cmp("SINTERSTORE", "b", "b", "c")
	sameState(t, d, "b")
	// SINTERCARD errors
	for _, args := range [][]string{
		{"SINTERCARD", "0", "a"}, {"SINTERCARD", "-1", "a"}, {"SINTERCARD", "x", "a"}, {"SINTERCARD", "", "a"},
		{"SINTERCARD", "9223372036854775808", "a"}, {"SINTERCARD", "3", "a", "b"}, {"SINTERCARD", "1"},
		{"SINTERCARD", "1", "a", "LIMIT"}, {"SINTERCARD", "1", "a", "LIMIT", "-1"}, {"SINTERCARD", "1", "a", "LIMIT", "x"},
		{"SINTERCARD", "1", "a", "limit", "0"}, {"SINTERCARD", "1", "a", "LIMIT", "1", "LIMIT", "2"},
		{"SINTERCARD", "1", "a", "LIMIT", "1", "x"}, {"SINTERCARD", "1", "a", "foo"}, {"SINTERCARD", "2", "a", "str"},
		{"SINTERCARD", "2", "nokey", "str"}, {"SINTERCARD", "1", "str"}, {"SINTERCARD", "2", "a", "LIMIT"},
		{"SINTERCARD", "1", "a", "LIMIT", "9223372036854775807"}, {"SINTERCARD", "1", "a", "LIMIT", "9223372036854775808"},
	} {
		cmp(args...)
	}
	// SSCAN
	for _, args := range [][]string{
		{"SSCAN", "nokey", "0"}, {"SSCAN", "nokey", "0", "bogus"}, {"SSCAN", "nokey", "x"}, {"SSCAN", "str", "0"},
		{"SSCAN", "str", "x"}, {"SSCAN", "i", "0"}, {"SSCAN", "i", "123", "COUNT", "1"}, {"SSCAN", "i", "0", "MATCH", "-*"},
		{"SSCAN", "i", "0", "MATCH", "*0*", "COUNT", "100"}, {"SSCAN", "i", "-1"}, {"SSCAN", "i", "18446744073709551616"},
		{"SSCAN", "i", " 1"}, {"SSCAN", "i", "0", "COUNT", "0"}, {"SSCAN", "i", "0", "COUNT", "-1"},
		{"SSCAN", "i", "0", "COUNT", "x"}, {"SSCAN", "i", "0", "COUNT"}, {"SSCAN", "i", "0", "MATCH"},
		{"SSCAN", "i", "0", "TYPE", "set"}, {"SSCAN", "i", "0", "NOVALUES"}, {"SSCAN", "i"}, {"SSCAN", "i", "0", "MATCH", "*", "x"},
	} {
		cmp(args...)
	}
	compareScan(t, d, "s")
	compareScan(t, d, "s", "MATCH", "*y*")
	compareScan(t, d, "c", "COUNT", "1")
	// Arity errors
	for _, args := range [][]string{{"SREM"}, {"SISMEMBER", "s"}, {"SMISMEMBER"}, {"SCARD"}, {"SMOVE", "a", "b"},
		{"SMOVE", "a", "b", "c", "d"}, {"SINTER"}, {"SUNIONSTORE", "x"}, {"SDIFFSTORE"}, {"SINTERCARD", "1"}, {"SSCAN", "s"}} {
		cmp(args...)
	}
	cmp("TYPE", "i")
	want := redisDo(t, d, "SCAN", "0", "TYPE", "set", "COUNT", "1000")
	got := d.H.Do("SCAN", "0", "TYPE", "set", "COUNT", "1000").RESP2()
	if g, w := sortedElems(got.Elems[1]), sortedElems(want.Elems[1]); g != w || string(want.Elems[0].Str) != "0" {
		t.Errorf("SCAN TYPE set:\n  cairn: %s\n  redis: %s", g, w)
	}
}

// TestDiffEncodings compares sets around the intset limit and every
// conversion, including the ones that re-encode a set (SPOP's third case,
// the STORE commands) and SDIFF's second algorithm, whose result is a
// hashtable even when it holds only integers.
func TestDiffEncodings(t *testing.T) {
	d := newDiff(t)
	cmp := func(args ...string) { t.Helper(); d.Compare(args...) }
	ints := func(key string, from, n int) []string {
		args := []string{"SADD", key}
		for i := from; i < from+n; i++ {
			args = append(args, strconv.Itoa(i))
		}
		return args
	}
	cmp(ints("big", 0, 512)...)
	sameState(t, d, "big")
	cmp("SADD", "big", "511")
	cmp("OBJECT", "ENCODING", "big")
	cmp("SADD", "big", "512")
	sameState(t, d, "big")
	cmp("SREM", "big", "512", "0", "1")
	sameState(t, d, "big") // stays a hashtable
	compareScan(t, d, "big")
	compareScan(t, d, "big", "MATCH", "1*", "COUNT", "3")
	// SUNIONSTORE of intsets: an intset up to 512, a hashtable beyond.
	cmp(ints("u1", 0, 300)...)
	cmp(ints("u2", 200, 312)...)
	cmp("SUNIONSTORE", "u", "u1", "u2")
	sameState(t, d, "u")
	cmp("SADD", "u2", "512")
	cmp("SUNIONSTORE", "u", "u1", "u2")
	sameState(t, d, "u")
	cmp("SINTERSTORE", "u", "u1", "u2")
	sameState(t, d, "u")
	cmp("SINTERSTORE", "u", "big", "u2") // hashtable sources, integer result
	sameState(t, d, "u")
	compareSet(t, d, []string{"u1", "u2"}, "SINTER", "u1", "u2")
	compareSet(t, d, []string{"u1", "u2"}, "SDIFF", "u1", "u2")
	compareSet(t, d, []string{"u1", "u2"}, "SUNION", "u1", "u2")
	// SDIFF algorithm 2: the first set is large compared to the others'
	// total, so it is copied then subtracted; a removed string member
	// leaves a hashtable of integers.
	cmp(ints("f", 0, 100)...)
	cmp("SADD", "f", "s1")
	cmp("SADD", "g", "s1")
	cmp("SDIFFSTORE", "r", "f", "g")
	sameState(t, d, "r")
	cmp("SADD", "g2", "s1", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15", "16", "17",
		"18", "19", "20", "21", "22", "23", "24", "25", "26", "27", "28", "29", "30", "31", "32", "33", "34", "35", "36",
		"37", "38", "39", "40", "41", "42", "43", "44", "45", "46", "47", "48", "49", "50", "51")
	cmp("SDIFFSTORE", "r", "f", "g2") // algorithm 1: only additions
	sameState(t, d, "r")
	cmp("SDIFFSTORE", "r", "f", "g", "nokey", "g2")
	sameState(t, d, "r")
	// SPOP's third case: the few members left form a new set, an intset
	// if they are all integers.
	cmp(ints("p", 0, 600)...)
	cmp("OBJECT", "ENCODING", "p")
	cmp("SCARD", "p")
	popped := d.H.Do("SPOP", "p", "590").RESP2()
	want := redisDo(t, d, "SPOP", "p", "590")
	if len(popped.Elems) != 590 || len(want.Elems) != 590 {
		t.Fatalf("SPOP 590: %d, redis %d", len(popped.Elems), len(want.Elems))
	}
	cmp("OBJECT", "ENCODING", "p")
	cmp("SCARD", "p")
	// Case 2 keeps the encoding: a hashtable of integers stays one.
	cmp(ints("q", 0, 600)...)
	d.H.Do("SPOP", "q", "50")
	redisDo(t, d, "SPOP", "q", "50")
	cmp("OBJECT", "ENCODING", "q")
	cmp("SCARD", "q")
	// A mixed set whose kept members are all strings stays a hashtable.
	cmp("SADD", "w", "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l")
	d.H.Do("SPOP", "w", "11")
	redisDo(t, d, "SPOP", "w", "11")
	cmp("OBJECT", "ENCODING", "w")
	// Non-canonical integers are strings.
	for _, m := range []string{"-0", "00", "+5", "1e3", " 7", "9223372036854775808", "-9223372036854775809"} {
		k := "nc" + m
		cmp("SADD", k, "1", m)
		sameState(t, d, k)
	}
	cmp("SADD", "lim", "-9223372036854775808", "9223372036854775807", "0")
	sameState(t, d, "lim")
}

// TestDiffDump moves sets between Redis and Cairn with DUMP and RESTORE:
// intsets of every width, hashtables of strings and of integers, binary
// and long (LZF-compressed) members.
func TestDiffDump(t *testing.T) {
	d := newDiff(t)
	r := rand.New(rand.NewPCG(5, 5))
	var cases [][]string
	cases = append(cases, []string{"1", "2", "3"}, []string{"-32768", "32767"}, []string{"40000", "-1"},
		[]string{"-2147483648", "2147483647", "0"}, []string{"9223372036854775807", "-9223372036854775808", "5"},
		[]string{"a", "b", ""}, []string{"1", "x"}, []string{strings.Repeat("long", 30), "\x00\xff\r\n", "12"})
	for n := range []int{0, 1, 2} {
		var ms []string
		for i := 0; i < []int{511, 512, 513}[n]; i++ {
			ms = append(ms, strconv.Itoa(i*(n+1)-300))
		}
		cases = append(cases, ms)
	}
	for i := 0; i < 30; i++ {
		var ms []string
		for j := 0; j < 1+r.IntN(300); j++ {
			switch r.IntN(3) {
			case 0:
				ms = append(ms, strconv.Itoa(r.IntN(1<<uint(r.IntN(62)))-r.IntN(1000)))
			case 1:
				ms = append(ms, strings.Repeat("v", r.IntN(70)))
			default:
				ms = append(ms, "m"+strconv.Itoa(r.IntN(1000)))
			}
		}
		if i%2 == 0 { // integers only
			for j := range ms {
				ms[j] = strconv.Itoa(r.IntN(100000) - 50000)
			}
		}
		cases = append(cases, ms)
	}
	for i, ms := range cases {
		k := "k" + strconv.Itoa(i)
		cmp := append([]string{"SADD", k}, ms...)
		d.Compare(cmp...)
		rd := redisDo(t, d, "DUMP", k)
		cd := d.H.Do("DUMP", k)
		enc := string(redisDo(t, d, "OBJECT", "ENCODING", k).Str)
		if enc == "intset" && string(cd.Str) != string(rd.Str) {
			t.Errorf("%s: intset DUMP differs:\n  cairn % x\n  redis % x", k, cd.Str, rd.Str)
		}
		// Redis's payload into Cairn, Cairn's into Redis.
		if v := d.H.Do("RESTORE", "fr"+k, "0", string(rd.Str)); v.IsError() {
			t.Fatalf("%s: cairn RESTORE of redis payload: %v", k, v)
		}
		redisDo(t, d, "RESTORE", "fr"+k, "0", string(rd.Str))
		if v := redisDo(t, d, "RESTORE", "fc"+k, "0", string(cd.Str)); v.IsError() {
			t.Fatalf("%s: redis RESTORE of cairn payload: %v", k, v)
		}
		d.H.Do("RESTORE", "fc"+k, "0", string(cd.Str))
		for _, kk := range []string{k, "fr" + k, "fc" + k} {
			sameState(t, d, kk)
		}
	}
	// A payload whose intset shrank in Redis keeps its wider width there;
	// Cairn accepts it.
	d.Compare("SADD", "wide", "1", "2", "100000")
	d.Compare("SREM", "wide", "100000")
	rd := redisDo(t, d, "DUMP", "wide")
	d.H.Do("RESTORE", "wide2", "0", string(rd.Str))
	redisDo(t, d, "RESTORE", "wide2", "0", string(rd.Str))
	sameState(t, d, "wide2")
}

// TestDiffRandom runs a seeded random sequence of set commands over a few
// small keys on both and compares every reply: exactly, except member
// lists Redis orders by its dict (compared as multisets) and SPOP and
// SRANDMEMBER, whose choices are checked for validity (count, membership,
// distinctness) and whose effect is then replayed on Cairn so both stay in
// step. It runs for CAIRN_FUZZ_DIFF (a Go duration) if set.
func TestDiffRandom(t *testing.T) {
	d := newDiff(t)
	seed := uint64(time.Now().UnixNano())
	if os.Getenv("CAIRN_FUZZ_DIFF") == "" {
		seed = 2024
	}
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 11))
	dur := 3 * time.Second
	if s := os.Getenv("CAIRN_FUZZ_DIFF"); s != "" {
		var err error
		if dur, err = time.ParseDuration(s); err != nil {
			t.Fatal(err)
		}
	}
	keyNames := []string{"k1", "k2", "k3", "str", "none"}
	allMembers := []string{"1", "2", "3", "-1", "a", "b", "10", "c", "x y", "", "007", "-0", "9223372036854775807", "ü", "*", "A"}
	patterns := []string{"*", "a*", "?", "[a-c]", "1*", "*\\*", "[^a]*", "-*", "A"}
	pick := func(xs []string) string { return xs[rng.IntN(len(xs))] }
	pool := allMembers
	someMembers := func(n int) []string {
		var out []string
		for i := 0; i < n; i++ {
			out = append(out, pick(pool))
		}
		return out
	}
	someKeys := func(n int) []string {
		var out []string
		for i := 0; i < n; i++ {
			out = append(out, pick(keyNames))
		}
		return out
	}
	deadline := time.Now().Add(dur)
	kinds := map[string]int{}
	for i := 0; time.Now().Before(deadline); i++ {
		// The member pool grows and shrinks by phases (integers only at
		// first), so sets fill up, convert, empty out and get deleted.
		pool = allMembers[:[]int{3, 4, 7, 10, len(allMembers)}[i/200%5]]
		if i%50 == 0 {
			resetStr(t, d) // the STORE commands may overwrite it
		}
		k := pick(keyNames)
		var args []string
		var touched []string
		switch r := rng.IntN(100); {
		case r < 2:
			// A bulk add: large sets cross the intset limit and Cairn's
			// internal flat-slice limit (128).
			args = []string{"SADD", k}
			ints := len(pool) <= 4
			for range 50 + rng.IntN(200) {
				if ints || rng.IntN(2) == 0 {
					args = append(args, strconv.Itoa(rng.IntN(1000)))
				} else {
					args = append(args, "w"+strconv.Itoa(rng.IntN(400)))
				}
			}
			touched = []string{k}
		case r < 20:
			args = append([]string{"SADD", k}, someMembers(1+rng.IntN(4))...)
			touched = []string{k}
		case r < 32:
			args = append([]string{"SREM", k}, someMembers(1+rng.IntN(3))...)
			touched = []string{k}
		case r < 36:
			args = []string{"SISMEMBER", k, pick(pool)}
		case r < 39:
			args = append([]string{"SMISMEMBER", k}, someMembers(1+rng.IntN(4))...)
		case r < 42:
			args = []string{"SCARD", k}
		case r < 46:
			compareSet(t, d, []string{k}, "SMEMBERS", k)
			kinds["SMEMBERS"]++
			continue
		case r < 51:
			args = []string{"SMOVE", k, pick(keyNames), pick(pool)}
			touched = []string{args[1], args[2]}
		case r < 58:
			ks := someKeys(1 + rng.IntN(3))
			op := pick([]string{"SINTER", "SUNION", "SDIFF"})
			compareSet(t, d, ks, append([]string{op}, ks...)...)
			kinds[op]++
			continue
		case r < 65:
			ks := someKeys(1 + rng.IntN(3))
			args = append([]string{pick([]string{"SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"}), pick(keyNames)}, ks...)
			touched = []string{args[1]}
		case r < 68:
			ks := someKeys(1 + rng.IntN(3))
			args = append([]string{"SINTERCARD", strconv.Itoa(len(ks) + rng.IntN(2) - rng.IntN(2))}, ks...)
			if rng.IntN(2) == 0 {
				args = append(args, "LIMIT", pick([]string{"0", "1", "2", "-1", "x"}))
			}
		case r < 80:
			spopRandom(t, d, rng, k)
			kinds["SPOP"]++
			continue
		case r < 90:
			args = []string{"SRANDMEMBER", k}
			if rng.IntN(4) != 0 {
				args = append(args, strconv.Itoa(rng.IntN(31)-15))
				if rng.IntN(5) == 0 {
					args[2] = strconv.Itoa(rng.IntN(600) - 300)
				}
			}
			compareRand(t, d, args)
			kinds["SRANDMEMBER"]++
			continue
		default:
			if rng.IntN(5) == 0 {
				// Error paths (or a missing key's empty reply).
				args = []string{"SSCAN", k, pick([]string{"0", "x", "-1"}), "COUNT", pick([]string{"0", "x", "-5"})}
				break
			}
			var opts []string
			if rng.IntN(2) == 0 {
				opts = append(opts, "MATCH", pick(patterns))
			}
			if rng.IntN(3) == 0 {
				opts = append(opts, "COUNT", pick([]string{"1", "5", "100"}))
			}
			compareScan(t, d, k, opts...)
			kinds["SSCAN"]++
			continue
		}
		_, want := d.Compare(args...)
		kinds[args[0]+" "+strconv.Itoa(int(want.Kind))]++
		for _, tk := range touched {
			ex, _ := d.Compare("EXISTS", tk)
			d.Compare("OBJECT", "ENCODING", tk)
			if ex.Int == 0 && want.Kind == reply.KindInt {
				kinds["deleted by "+args[0]]++
			}
		}
		if t.Failed() {
			t.Fatalf("stopped after %q", args)
		}
	}
	t.Logf("commands: %v", kinds)
	for _, k := range keyNames {
		sameState(t, d, k)
	}
}

// spopRandom runs SPOP on both. Errors and the reply's shape must match;
// Cairn's members must be distinct members of the set. Cairn's key is then
// rebuilt to what Redis's pop left (as Redis's case would: popped members
// removed in place, or the kept ones moved into a new set), so both stay
// in step.
func spopRandom(t *testing.T, d *commandtest.Diff, rng *rand.Rand, k string) {
	t.Helper()
	args := []string{"SPOP", k}
	if rng.IntN(3) != 0 {
		args = append(args, strconv.Itoa(rng.IntN(12)-1))
		if rng.IntN(4) == 0 {
			args[2] = strconv.Itoa(rng.IntN(600))
		}
	}
	before := members(t, d, k)
	var saved keyspace.Object
	var savedExp int64
	if it := d.H.DB.Peek([]byte(k)); it != nil && it.Obj != nil {
		saved, savedExp = it.Obj.Clone(), it.ExpireAt
	}
	got := d.H.Do(args...).RESP2()
	want := redisDo(t, d, args...)
	if want.Kind != got.Kind || len(want.Elems) != len(got.Elems) || want.Kind == reply.KindError || want.Kind == reply.KindNil {
		if !reply.Equal(got, want) {
			t.Fatalf("%q:\n  cairn: %s\n  redis: %s", args, got, want)
		}
	}
	var gotMs, wantMs []string
	if got.Kind == reply.KindBulk {
		gotMs, wantMs = []string{string(got.Str)}, []string{string(want.Str)}
	} else {
		for i := range got.Elems {
			gotMs = append(gotMs, string(got.Elems[i].Str))
			wantMs = append(wantMs, string(want.Elems[i].Str))
		}
	}
	seen := map[string]bool{}
	for _, m := range gotMs {
		if !before[m] || seen[m] {
			t.Fatalf("%q: cairn popped %q: not a member or repeated (%s)", args, m, got)
		}
		seen[m] = true
	}
	if saved == nil || len(wantMs) == 0 {
		return
	}
	// Replay Redis's pop on Cairn.
	s := saved.(*keyspace.Set)
	size, count := s.Len(), len(wantMs)
	switch {
	case count >= size:
		d.H.DB.Delete([]byte(k))
		return
	case len(args) == 2 || (size-count)*5 > count:
		for _, m := range wantMs {
			s.Remove([]byte(m))
		}
	default:
		popped := map[string]bool{}
		for _, m := range wantMs {
			popped[m] = true
		}
		ns := keyspace.NewSet()
		s.Each(func(m []byte) bool {
			if !popped[string(m)] {
				ns.Add(m)
			}
			return true
		})
		s = ns
	}
	d.H.DB.Put([]byte(k), nil, s, savedExp)
	sameState(t, d, k)
}

// compareRand runs an SRANDMEMBER on both. Errors and the reply's shape
// must be identical; the members must belong to the set, be distinct for
// a positive count, and number exactly what Redis returns.
func compareRand(t *testing.T, d *commandtest.Diff, args []string) {
	t.Helper()
	want := redisDo(t, d, args...)
	got := d.H.Do(args...).RESP2()
	if want.Kind != got.Kind || len(want.Elems) != len(got.Elems) || want.Kind == reply.KindError || want.Kind == reply.KindNil {
		if !reply.Equal(got, want) {
			t.Errorf("%q:\n  cairn: %s\n  redis: %s", args, got, want)
		}
		return
	}
	contents := members(t, d, args[1])
	if got.Kind == reply.KindBulk {
		if !contents[string(got.Str)] {
			t.Errorf("%q: cairn returned %q, not in the set", args, got.Str)
		}
		return
	}
	count, _ := strconv.Atoi(args[2])
	seen := map[string]bool{}
	for _, e := range got.Elems {
		m := string(e.Str)
		if !contents[m] {
			t.Errorf("%q: cairn returned %q, not in the set", args, m)
		}
		if count > 0 && seen[m] {
			t.Errorf("%q: cairn repeated %q", args, m)
		}
		seen[m] = true
	}
	if count >= len(contents) && !unordered(t, d, []string{args[1]}, 0) && !reply.Equal(got, want) {
		t.Errorf("%q:\n  cairn: %s\n  redis: %s", args, got, want)
	}
}

// TestCommandInfo checks every spec's arity, flags, key positions and ACL
// categories against Redis's COMMAND INFO.
func TestCommandInfo(t *testing.T) {
	d := newDiff(t)
	for _, sp := range Specs {
		v := redisDo(t, d, "COMMAND", "INFO", sp.Name)
		if len(v.Elems) != 1 || len(v.Elems[0].Elems) < 7 {
			t.Fatalf("%s: %v", sp.Name, v)
		}
		info := v.Elems[0].Elems
		var flags, acl []string
		for _, f := range info[2].Elems {
			flags = append(flags, string(f.Str))
		}
		for _, a := range info[6].Elems {
			acl = append(acl, strings.TrimPrefix(string(a.Str), "@"))
		}
		mine := sp.Flags.Names()
		if sp.KeysFunc != nil {
			mine = append(mine, "movablekeys")
		}
		got := strings.Join([]string{strconv.Itoa(sp.Arity), strings.Join(mine, ","), strings.Join(sp.ACL, ","),
			strconv.Itoa(sp.FirstKey), strconv.Itoa(sp.LastKey), strconv.Itoa(sp.Step)}, " ")
		want := strings.Join([]string{strconv.FormatInt(info[1].Int, 10), strings.Join(flags, ","), strings.Join(acl, ","),
			strconv.FormatInt(info[3].Int, 10), strconv.FormatInt(info[4].Int, 10), strconv.FormatInt(info[5].Int, 10)}, " ")
		if got != want {
			t.Errorf("%s: %q, redis %q", sp.Name, got, want)
		}
		if sp.Group != "set" || sp.Run == nil {
			t.Errorf("%s: group %q", sp.Name, sp.Group)
		}
	}
}

// TestDiffRESP3 compares reply types under RESP3: sets for SMEMBERS,
// SINTER, SUNION, SDIFF and SPOP with a count, arrays for SRANDMEMBER with
// a count, SMISMEMBER and SSCAN.
func TestDiffRESP3(t *testing.T) {
	d := newDiff(t)
	if v := redisDo(t, d, "HELLO", "3"); v.IsError() {
		t.Fatal(v)
	}
	for _, args := range [][]string{
		{"SADD", "a", "1", "2", "3"}, {"SADD", "b", "x", "y"},
		{"SMEMBERS", "a"}, {"SMEMBERS", "nokey"}, {"SINTER", "a", "a"}, {"SINTER", "a", "nokey"}, {"SUNION", "a"},
		{"SDIFF", "a", "b"}, {"SDIFF", "nokey"}, {"SPOP", "nokey", "2"}, {"SPOP", "a", "0"}, {"SPOP", "nokey"},
		{"SRANDMEMBER", "nokey", "2"}, {"SRANDMEMBER", "a", "0"}, {"SRANDMEMBER", "a", "5"}, {"SRANDMEMBER", "nokey"},
		{"SMISMEMBER", "a", "1", "x"}, {"SSCAN", "a", "0"}, {"SISMEMBER", "a", "1"}, {"SINTERCARD", "1", "a"},
		{"SPOP", "a", "5"},
	} {
		want := redisDo(t, d, args...)
		got := d.H.Do(args...)
		if !reply.Equal(got, want) {
			t.Errorf("%q:\n  cairn: %s (kind %d)\n  redis: %s (kind %d)", args, got, got.Kind, want, want.Kind)
		}
	}
}
