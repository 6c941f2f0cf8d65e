package sorts

import (
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/command/commandtest"
	"github.com/cairndb/cairn/server/keyspace"
)

func newHarness(t testing.TB) *commandtest.Harness { return commandtest.New(t, families()...) }

func TestSortBasics(t *testing.T) {
	h := newHarness(t)
	h.Do("RPUSH", "l", "3", "1", "2")
	h.Do("SADD", "s", "b", "a", "c")
	h.Do("MSET", "w_1", "3", "w_2", "2", "w_3", "1", "o_1", "one", "o_2", "two")
	h.Do("HSET", "h_1", "f", "x1")
	h.Do("SET", "str", "v")
	cases := []struct {
		want string
		args []string
	}{
		{`[1 2 3]`, a("SORT", "l")},
		{`[3 2 1]`, a("SORT", "l", "DESC")},
		{`[3 2 1]`, a("SORT", "l", "BY", "w_*")},
		{`[3 1 2]`, a("SORT", "l", "BY", "nosort")},
		{`[2 1 3]`, a("SORT", "l", "BY", "nosort", "DESC")},
		{`[1 3]`, a("SORT", "l", "BY", "nosort", "DESC", "LIMIT", "1", "5")},
		{`[one two (nil)]`, a("SORT", "l", "GET", "o_*")},
		{`[x1 1 (nil) 2]`, a("SORT", "l", "GET", "h_*->f", "GET", "#", "LIMIT", "0", "2")},
		{`[a b c]`, a("SORT", "s", "ALPHA")},
		{`(error) ERR One or more scores can't be converted into double`, a("SORT", "s")},
		{`(error) ERR syntax error`, a("SORT", "l", "LIMIT", "1")},
		{`(error) ERR syntax error`, a("SORT_RO", "l", "STORE", "d")},
		{`(error) ERR value is not an integer or out of range`, a("SORT", "l", "LIMIT", "a", "1")},
		{`(error) WRONGTYPE Operation against a key holding the wrong kind of value`, a("SORT", "str")},
		{`(error) ERR syntax error`, a("SORT", "str", "nope")},
		{`[]`, a("SORT", "nokey")},
		{`(error) ERR wrong number of arguments for 'sort' command`, a("SORT")},
		{`(error) ERR wrong number of arguments for 'sort_ro' command`, a("SORT_RO")},
		{`3`, a("SORT", "l", "STORE", "d")},
		{`[1 2 3]`, a("LRANGE", "d", "0", "-1")},
		{`0`, a("SORT", "l", "LIMIT", "3", "1", "STORE", "d")},
		{`0`, a("EXISTS", "d")},
		{`6`, a("SORT", "l", "GET", "#", "GET", "nokey_*", "STORE", "d")},
		{`[1  2  3 ]`, a("LRANGE", "d", "0", "-1")},
		{`[a b c]`, a("SORT_RO", "s", "ALPHA")},
	}
	for _, c := range cases {
		h.Check(c.want, c.args...)
	}
}

func a(args ...string) []string { return args }

// TestSortStoreEncoding checks the stored list's encoding as Redis 7.2
// builds it (7.0, the differential tests' reference, always makes a
// quicklist): a listpack when small, a quicklist past 8 KB.
func TestSortStoreEncoding(t *testing.T) {
	h := newHarness(t)
	push := []string{"RPUSH", "l"}
	for i := 0; i < 100; i++ {
		push = append(push, strconv.Itoa(i))
	}
	h.Do(push...)
	h.Check("100", "SORT", "l", "STORE", "d")
	h.Check("listpack", "OBJECT", "ENCODING", "d")
	big := []string{"RPUSH", "b"}
	for i := 0; i < 200; i++ {
		big = append(big, strconv.Itoa(i)+strings.Repeat("0", 60))
	}
	h.Do(big...)
	h.Check("200", "SORT", "b", "STORE", "d")
	h.Check("quicklist", "OBJECT", "ENCODING", "d")
	h.Check("200", "LLEN", "d")
}

// TestSortDirtyAndEvents checks the change count and keyspace events.
func TestSortDirtyAndEvents(t *testing.T) {
	h := newHarness(t)
	h.NotifyMask = commandtest.AllClasses
	h.Do("RPUSH", "l", "2", "1")
	h.CheckEvents("", "SORT", "l")
	h.CheckEvents("l sortstore d", "SORT", "l", "STORE", "d")
	h.CheckEvents("g del d", "SORT", "l", "LIMIT", "5", "1", "STORE", "d")
	h.CheckEvents("", "SORT", "l", "LIMIT", "5", "1", "STORE", "d")
	h.CheckEvents("", "SORT", "l", "x", "STORE", "d")

	db := keyspace.New()
	c := &command.Ctx{DB: db, Now: 1}
	db.Put([]byte("l"), nil, listOf("3", "1", "2"), 0)
	db.Put([]byte("d"), []byte("x"), nil, 0)
	for _, tc := range []struct {
		args  []string
		dirty int64
	}{
		{a("SORT", "l"), 0}, {a("SORT", "l", "STORE", "d"), 3}, {a("SORT", "l", "GET", "#", "GET", "#", "STORE", "d"), 6},
		{a("SORT", "nokey", "STORE", "d"), 1}, {a("SORT", "nokey", "STORE", "d"), 0},
	} {
		c.Dirty = 0
		if _, err := sortCmd(c, toBytes(tc.args)); err != nil {
			t.Fatal(err)
		}
		if c.Dirty != tc.dirty {
			t.Errorf("%q: dirty %d, want %d", tc.args, c.Dirty, tc.dirty)
		}
	}
}

func listOf(elems ...string) *keyspace.List {
	l := keyspace.NewList()
	for _, e := range elems {
		l.PushBack([]byte(e))
	}
	return l
}

// TestSortExpired checks that expired keys are neither sorted nor looked
// up, and that STORE replaces a destination's expiry.
func TestSortExpired(t *testing.T) {
	h := newHarness(t)
	h.Do("RPUSH", "l", "2", "1")
	h.Do("SET", "w_1", "5")
	h.Do("SET", "o_2", "two")
	h.Do("PEXPIRE", "w_1", "10")
	h.Do("SET", "d", "x", "EX", "100")
	h.Do("RPUSH", "gone", "1")
	h.Do("PEXPIRE", "gone", "10")
	h.Now += 20
	h.Check(`[1 2]`, "SORT", "l", "BY", "w_*")
	h.Check(`[(nil) two]`, "SORT_RO", "l", "GET", "o_*")
	h.Check(`[]`, "SORT_RO", "gone")
	h.Check(`2`, "SORT", "l", "STORE", "d")
	h.Check(`-1`, "TTL", "d")
	h.Check(`0`, "SORT", "gone", "STORE", "d2")
}

func TestSortKeys(t *testing.T) {
	sort, ro := Specs[0], Specs[1]
	for _, tc := range []struct {
		args []string
		want []int
	}{
		{a("SORT", "k"), []int{1}},
		{a("SORT", "k", "STORE", "d"), []int{1, 3}},
		{a("SORT", "k", "STORE", "d", "STORE", "e"), []int{1, 5}},
		{a("SORT", "k", "BY", "store", "GET", "store", "LIMIT", "store", "store", "store"), []int{1}},
		{a("SORT", "k", "STORE"), []int{1}},
		{a("SORT", "k", "LIMIT", "0", "1", "STORE", "d", "ALPHA"), []int{1, 6}},
	} {
		if got := sort.Keys(toBytes(tc.args)); !slices.Equal(got, tc.want) {
			t.Errorf("%q: keys %v, want %v", tc.args, got, tc.want)
		}
	}
	if got := ro.Keys(toBytes(a("SORT_RO", "k", "STORE", "d"))); !slices.Equal(got, []int{1}) {
		t.Errorf("SORT_RO keys %v", got)
	}
	if !sort.IsWrite() || ro.IsWrite() {
		t.Error("SORT must be a write command and SORT_RO read-only")
	}
}

func TestStrtod(t *testing.T) {
	ok := map[string]float64{
		"": 0, "0": 0, "1": 1, "-1": -1, "+1.5": 1.5, " 7": 7, "\t\n\v\f\r7": 7, "1e3": 1000, "1E-3": 0.001,
		".5": 0.5, "5.": 5, "0x10": 16, "0X1P3": 8, "0x.8": 0.5, "0x1.8p1": 3, "inf": math.Inf(1), "-Infinity": math.Inf(-1),
		"5\x00junk": 5, "\x00": 0, "0x1p-1074": 0x1p-1074, "1e308": 1e308, "0e-999": 0, "2.2250738585072014e-308": 0x1p-1022,
		"9007199254740993": 9007199254740992, "123456789012345678901234567890": 1.2345678901234568e29,
	}
	for s, want := range ok {
		got, good := strtod([]byte(s))
		if !good || got != want {
			t.Errorf("strtod(%q) = %v %v, want %v", s, got, good, want)
		}
	}
	for _, s := range []string{" ", "-", "+", ".", "e5", "1e", "1e+", "0x", "0xg", "0x1p", "1 ", "5x", "nan", "-NaN", "nan(1)",
		"infinit", "infx", "1e400", "-1e400", "1e-400", "4.9e-324", "0x1.fffffffffffffp-1023", "1_0", "0x1p1024", "1.7976931348623159e308",
		"٣", "\x001"[1:] + "x"} {
		if got, good := strtod([]byte(s)); good {
			t.Errorf("strtod(%q) = %v, want an error", s, got)
		}
	}
}

// TestPqsort checks the partial sort: the range asked for holds what a
// full sort puts there, for random vectors with many ties and ranges.
func TestPqsort(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	cmpScore := func(a, b *sortObj) int {
		switch {
		case a.score < b.score:
			return -1
		case a.score > b.score:
			return 1
		}
		return 0
	}
	for round := 0; round < 2000; round++ {
		n := r.IntN(200)
		v := make([]sortObj, n)
		for i := range v {
			v[i].score = float64(r.IntN(n/3 + 1))
		}
		full := slices.Clone(v)
		slices.SortStableFunc(full, func(a, b sortObj) int { return cmpScore(&a, &b) })
		lo, hi := r.IntN(n+1), r.IntN(n+1)-1
		pqsort(v, cmpScore, lo, hi)
		for i := max(lo, 0); i <= hi && i < n; i++ {
			if v[i].score != full[i].score {
				t.Fatalf("n=%d range %d..%d: position %d holds %v, want %v", n, lo, hi, i, v[i].score, full[i].score)
			}
		}
	}
}

func TestLimits(t *testing.T) {
	for _, tc := range []struct {
		off, cnt   int64
		n          int
		start, end int
	}{
		{0, -1, 5, 0, 4}, {1, 2, 5, 1, 2}, {-3, 2, 5, 0, 1}, {4, 10, 5, 4, 4}, {5, 1, 5, 4, 3}, {0, 0, 5, 0, -1},
		{math.MaxInt64, math.MaxInt64, 5, 4, 3}, {2, math.MaxInt64, 5, 2, 4}, {0, -1, 0, -1, -2}, {math.MinInt64, math.MinInt64, 3, 0, 2},
	} {
		s, e := limits(tc.off, tc.cnt, tc.n)
		if s != tc.start || e != tc.end {
			t.Errorf("limits(%d, %d, %d) = %d, %d, want %d, %d", tc.off, tc.cnt, tc.n, s, e, tc.start, tc.end)
		}
	}
}
