package sets

import (
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/command/commandtest"
	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/server/reply"
)

const (
	wrongType = "(error) WRONGTYPE Operation against a key holding the wrong kind of value"
	notInt    = "(error) ERR value is not an integer or out of range"
	syntaxErr = "(error) ERR syntax error"
	positive  = "(error) ERR value is out of range, must be positive"
)

type step struct {
	want string
	args []string
}

func s(want string, args ...string) step { return step{want, args} }

// run runs steps on a fresh harness that also holds a string key "str".
func run(t *testing.T, steps ...step) *commandtest.Harness {
	t.Helper()
	h := commandtest.New(t, Specs)
	h.DB.Put([]byte("str"), []byte("v"), nil, 0)
	for _, st := range steps {
		h.Check(st.want, st.args...)
	}
	return h
}

func setAt(t testing.TB, h *commandtest.Harness, key string) *keyspace.Set {
	t.Helper()
	it := h.DB.Get([]byte(key), h.Now)
	if it == nil {
		return nil
	}
	return it.Obj.(*keyspace.Set)
}

// sorted returns the String form of an array reply with its elements
// sorted.
func sorted(v reply.Value) string {
	if v.Kind != reply.KindArray && v.Kind != reply.KindSet {
		return v.String()
	}
	var ms []string
	for _, e := range v.Elems {
		ms = append(ms, e.String())
	}
	sort.Strings(ms)
	return "[" + strings.Join(ms, " ") + "]"
}

func checkSorted(t *testing.T, h *commandtest.Harness, want string, args ...string) {
	t.Helper()
	if got := sorted(h.Do(args...)); got != want {
		t.Errorf("%q: got %s, want %s", args, got, want)
	}
}

func TestSAddSRem(t *testing.T) {
	h := run(t,
		s("3", "SADD", "s", "3", "1", "2"),
		s("0", "SADD", "s", "1"),
		s("1", "SADD", "s", "2", "2", "4", "4"),
		s("[1 2 3 4]", "SMEMBERS", "s"),
		s("4", "SCARD", "s"),
		s(wrongType, "SADD", "str", "a"),
		s("(error) ERR wrong number of arguments for 'sadd' command", "SADD", "s"),
		s("0", "SREM", "s", "9", "x"),
		s("2", "SREM", "s", "1", "1", "3", "x"),
		s("[2 4]", "SMEMBERS", "s"),
		s("0", "SREM", "nokey", "a"),
		s(wrongType, "SREM", "str", "a"),
		s("2", "SREM", "s", "2", "4", "5"),
		s("0", "SCARD", "s"),
		s("[]", "SMEMBERS", "s"),
	)
	if h.DB.Peek([]byte("s")) != nil {
		t.Fatal("empty set not deleted")
	}
	h.Check("2", "SADD", "t", "b", "a")
	h.Check("[b a]", "SMEMBERS", "t") // a hashtable keeps insertion order
	if e := setAt(t, h, "t").Encoding(); e != "hashtable" {
		t.Fatal(e)
	}
	h.Check("1", "SADD", "u", "-5")
	if e := setAt(t, h, "u").Encoding(); e != "intset" {
		t.Fatal(e)
	}
	h.Check("1", "SADD", "u", "007")
	if e := setAt(t, h, "u").Encoding(); e != "hashtable" {
		t.Fatal(e)
	}
}

func TestSIsMember(t *testing.T) {
	run(t,
		s("3", "SADD", "s", "a", "b", "1"),
		s("1", "SISMEMBER", "s", "a"),
		s("1", "SISMEMBER", "s", "1"),
		s("0", "SISMEMBER", "s", "01"),
		s("0", "SISMEMBER", "s", "c"),
		s("0", "SISMEMBER", "nokey", "a"),
		s(wrongType, "SISMEMBER", "str", "a"),
		s("[1 0 1 1]", "SMISMEMBER", "s", "a", "c", "b", "a"),
		s("[0 0]", "SMISMEMBER", "nokey", "a", "b"),
		s(wrongType, "SMISMEMBER", "str", "a"),
		s("0", "SCARD", "nokey"),
		s(wrongType, "SCARD", "str"),
		s(wrongType, "SMEMBERS", "str"),
	)
}

func TestSMove(t *testing.T) {
	h := run(t,
		s("3", "SADD", "a", "1", "2", "3"),
		s("1", "SMOVE", "a", "b", "1"),
		s("[2 3]", "SMEMBERS", "a"),
		s("[1]", "SMEMBERS", "b"),
		s("0", "SMOVE", "a", "b", "9"),
		s("0", "SMOVE", "nokey", "b", "1"),
		s("0", "SMOVE", "nokey", "str", "1"),
		s(wrongType, "SMOVE", "str", "b", "1"),
		s(wrongType, "SMOVE", "a", "str", "2"),
		s("1", "SMOVE", "a", "a", "2"),
		s("0", "SMOVE", "a", "a", "9"),
		s("1", "SADD", "b", "2"),
		s("1", "SMOVE", "a", "b", "2"), // already in b
		s("[1 2]", "SMEMBERS", "b"),
		s("1", "SMOVE", "a", "c", "3"), // a emptied and deleted
		s("0", "SCARD", "a"),
		s("[3]", "SMEMBERS", "c"),
	)
	if h.DB.Peek([]byte("a")) != nil {
		t.Fatal("empty source not deleted")
	}
}

func TestSPop(t *testing.T) {
	h := run(t,
		s("(nil)", "SPOP", "nokey"),
		s("[]", "SPOP", "nokey", "3"),
		s("[]", "SPOP", "nokey", "0"),
		s(positive, "SPOP", "nokey", "-1"),
		s(positive, "SPOP", "nokey", "x"),
		s(syntaxErr, "SPOP", "nokey", "1", "2"),
		s(wrongType, "SPOP", "str"),
		s(wrongType, "SPOP", "str", "1"),
		s(wrongType, "SPOP", "str", "0"),
		s(positive, "SPOP", "str", "-1"),
		s("5", "SADD", "s", "1", "2", "3", "4", "5"),
		s("[]", "SPOP", "s", "0"),
	)
	v := h.Do("SPOP", "s")
	if v.Kind != reply.KindBulk || setAt(t, h, "s").Len() != 4 || setAt(t, h, "s").Has(v.Str) {
		t.Fatalf("SPOP: %v", v)
	}
	v = h.Do("SPOP", "s", "2")
	if v.Kind != reply.KindSet || len(v.Elems) != 2 || setAt(t, h, "s").Len() != 2 {
		t.Fatalf("SPOP 2: %v", v)
	}
	v = h.Do("SPOP", "s", "10")
	if v.Kind != reply.KindSet || len(v.Elems) != 2 || h.DB.Peek([]byte("s")) != nil {
		t.Fatalf("SPOP 10: %v", v)
	}
	// Case 3: few members left move to a new set, re-encoded.
	args := []string{"SADD", "big", "x"}
	for i := 0; i < 100; i++ {
		args = append(args, strconv.Itoa(i))
	}
	h.Do(args...)
	for i := 0; i < 20; i++ {
		h.Do("SADD", "big", "x")
		if setAt(t, h, "big").Has([]byte("x")) {
			break
		}
	}
	v = h.Do("SPOP", "big", "95")
	if len(v.Elems) != 95 {
		t.Fatal(v)
	}
	left := setAt(t, h, "big")
	if left.Len() != 6 {
		t.Fatal(left.Len())
	}
	if !left.Has([]byte("x")) && left.Encoding() != "intset" {
		t.Fatalf("remaining integers stay %s", left.Encoding())
	}
}

// TestSPopDeterministic: the same entry (time and seed) pops the same
// members on every replica.
func TestSPopDeterministic(t *testing.T) {
	var replies []string
	var states []string
	for r := 0; r < 3; r++ {
		h := commandtest.New(t, Specs)
		args := []string{"SADD", "s"}
		for i := 0; i < 300; i++ {
			args = append(args, "m"+strconv.Itoa(i))
		}
		h.Do(args...)
		var out []string
		for _, c := range [][]string{{"SPOP", "s"}, {"SPOP", "s", "5"}, {"SPOP", "s", "250"}, {"SPOP", "s", "1"}} {
			out = append(out, h.Do(c...).String())
		}
		replies = append(replies, strings.Join(out, "|"))
		states = append(states, h.Do("SMEMBERS", "s").String())
	}
	if replies[0] != replies[1] || replies[1] != replies[2] || states[0] != states[1] || states[1] != states[2] {
		t.Fatalf("replicas differ:\n%v\n%v", replies, states)
	}
}

func TestSRandMember(t *testing.T) {
	h := run(t,
		s("(nil)", "SRANDMEMBER", "nokey"),
		s("[]", "SRANDMEMBER", "nokey", "5"),
		s("[]", "SRANDMEMBER", "nokey", "-5"),
		s(notInt, "SRANDMEMBER", "nokey", "x"),
		s("(error) ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
			"SRANDMEMBER", "nokey", "-9223372036854775808"),
		s(syntaxErr, "SRANDMEMBER", "nokey", "1", "2"),
		s(wrongType, "SRANDMEMBER", "str"),
		s(wrongType, "SRANDMEMBER", "str", "1"),
		s("3", "SADD", "s", "c", "a", "b"),
		s("[]", "SRANDMEMBER", "s", "0"),
		s("[c a b]", "SRANDMEMBER", "s", "3"),
		s("[c a b]", "SRANDMEMBER", "s", "100"),
		s("(error) ERR value is out of range", "SRANDMEMBER", "s", "-9223372036854775807"),
	)
	if v := h.Do("SRANDMEMBER", "s", "-10"); v.Kind != reply.KindArray || len(v.Elems) != 10 {
		t.Fatal(v)
	}
	if v := h.Do("SRANDMEMBER", "s", "2"); len(v.Elems) != 2 || string(v.Elems[0].Str) == string(v.Elems[1].Str) {
		t.Fatal(v)
	}
	args := []string{"SADD", "big"}
	for i := 0; i < 1000; i++ {
		args = append(args, "m"+strconv.Itoa(i))
	}
	h.Do(args...)
	for _, n := range []int{1, 5, 400, 999} {
		v := h.Do("SRANDMEMBER", "big", strconv.Itoa(n))
		seen := map[string]bool{}
		for _, e := range v.Elems {
			if seen[string(e.Str)] || !setAt(t, h, "big").Has(e.Str) {
				t.Fatalf("SRANDMEMBER %d: %q repeated or not a member", n, e.Str)
			}
			seen[string(e.Str)] = true
		}
		if len(seen) != n {
			t.Fatalf("SRANDMEMBER %d: %d members", n, len(seen))
		}
	}
}

func TestSetOps(t *testing.T) {
	h := run(t,
		s("4", "SADD", "a", "1", "2", "3", "4"),
		s("3", "SADD", "b", "3", "4", "5"),
		s("2", "SADD", "c", "x", "4"),
		s("[3 4]", "SINTER", "a", "b"),
		s("[4]", "SINTER", "a", "b", "c"),
		s("[]", "SINTER", "a", "nokey"),
		s(wrongType, "SINTER", "nokey", "str"),
		s("[1 2 3 4]", "SINTER", "a", "a"),
		s("[1 2 3 4 5]", "SUNION", "a", "b"),
		s("[1 2]", "SDIFF", "a", "b"),
		s("[1 2 3 4]", "SDIFF", "a", "nokey"),
		s("[]", "SDIFF", "nokey", "a"),
		s("[]", "SDIFF", "a", "a"),
		s(wrongType, "SUNION", "a", "str"),
		s(wrongType, "SDIFF", "a", "str"),
		s("2", "SINTERSTORE", "d", "a", "b"),
		s("[3 4]", "SMEMBERS", "d"),
		s("0", "SINTERSTORE", "d", "a", "nokey"),
		s("0", "SCARD", "d"),
		s("5", "SUNIONSTORE", "d", "a", "b"),
		s("0", "SDIFFSTORE", "d", "a", "a"),
		s("0", "SCARD", "d"),
		s("2", "SDIFFSTORE", "a", "a", "b"), // destination among the sources
		s("[1 2]", "SMEMBERS", "a"),
		s(wrongType, "SINTERSTORE", "d", "str", "a"),
		s("2", "SUNIONSTORE", "str", "c", "nokey", "c", "x"),
		s("5", "SUNIONSTORE", "d", "a", "b"),
	)
	checkSorted(t, h, "[4 x]", "SMEMBERS", "str")
	checkSorted(t, h, "[1 2 3 4 5 x]", "SUNION", "c", "b", "nokey", "d")
}

func TestSInterCard(t *testing.T) {
	run(t,
		s("4", "SADD", "a", "1", "2", "3", "4"),
		s("3", "SADD", "b", "2", "3", "4"),
		s("3", "SINTERCARD", "2", "a", "b"),
		s("2", "SINTERCARD", "2", "a", "b", "LIMIT", "2"),
		s("3", "SINTERCARD", "2", "a", "b", "limit", "0"),
		s("3", "SINTERCARD", "2", "a", "b", "LIMIT", "10"),
		s("4", "SINTERCARD", "1", "a"),
		s("0", "SINTERCARD", "2", "a", "nokey"),
		s("(error) ERR numkeys should be greater than 0", "SINTERCARD", "0", "a"),
		s("(error) ERR numkeys should be greater than 0", "SINTERCARD", "x", "a"),
		s("(error) ERR Number of keys can't be greater than number of args", "SINTERCARD", "3", "a", "b"),
		s("(error) ERR LIMIT can't be negative", "SINTERCARD", "1", "a", "LIMIT", "-1"),
		s("(error) ERR LIMIT can't be negative", "SINTERCARD", "1", "a", "LIMIT", "x"),
		s(syntaxErr, "SINTERCARD", "1", "a", "LIMIT"),
		s(syntaxErr, "SINTERCARD", "1", "a", "foo"),
		s(wrongType, "SINTERCARD", "2", "a", "str"),
	)
	sp := Specs[0]
	for _, x := range Specs {
		if x.Name == "sintercard" {
			sp = x
		}
	}
	keys := sp.Keys([][]byte{[]byte("sintercard"), []byte("2"), []byte("a"), []byte("b"), []byte("LIMIT"), []byte("1")})
	if len(keys) != 2 || keys[0] != 2 || keys[1] != 3 {
		t.Fatal(keys)
	}
}

func TestSScan(t *testing.T) {
	h := run(t,
		s("[0 []]", "SSCAN", "nokey", "0"),
		s("(error) ERR invalid cursor", "SSCAN", "nokey", "x"),
		s(wrongType, "SSCAN", "str", "0"),
		s("3", "SADD", "s", "3", "1", "2"),
		s("[0 [1 2 3]]", "SSCAN", "s", "0"),
		s("[0 [1 2 3]]", "SSCAN", "s", "77", "COUNT", "1"),
		s("[0 [2]]", "SSCAN", "s", "0", "MATCH", "2"),
		s(syntaxErr, "SSCAN", "s", "0", "COUNT", "0"),
		s(notInt, "SSCAN", "s", "0", "COUNT", "x"),
		s(syntaxErr, "SSCAN", "s", "0", "MATCH"),
		s(syntaxErr, "SSCAN", "s", "0", "TYPE", "set"),
	)
	args := []string{"SADD", "big"}
	for i := 0; i < 1000; i++ {
		args = append(args, "m"+strconv.Itoa(i))
	}
	h.Do(args...)
	seen := map[string]bool{}
	cursor := "0"
	calls := 0
	for {
		v := h.Do("SSCAN", "big", cursor, "COUNT", "7", "MATCH", "m1*")
		calls++
		for _, e := range v.Elems[1].Elems {
			if !strings.HasPrefix(string(e.Str), "m1") {
				t.Fatalf("MATCH returned %q", e.Str)
			}
			seen[string(e.Str)] = true
		}
		if cursor = string(v.Elems[0].Str); cursor == "0" {
			break
		}
	}
	if len(seen) != 111 || calls < 10 {
		t.Fatalf("%d members in %d calls", len(seen), calls)
	}
}

// TestNotifications checks the keyspace events and dirty counts.
func TestNotifications(t *testing.T) {
	h := commandtest.New(t, Specs)
	h.DB.Put([]byte("str"), []byte("v"), nil, 0)
	do := func(want string, dirty int64, args ...string) {
		t.Helper()
		argv := make([][]byte, len(args))
		for i, a := range args {
			argv[i] = []byte(a)
		}
		c := &command.Ctx{DB: h.DB, Now: h.Now, Seed: 7, NotifyMask: ^uint32(0)}
		v := h.Table.Apply(c, argv)
		if v.IsError() {
			t.Fatalf("%q: %v", args, v)
		}
		var evs []string
		for _, e := range c.Events {
			evs = append(evs, string(e.Class)+":"+e.Name+":"+e.Key)
		}
		if got := strings.Join(evs, " "); got != want {
			t.Errorf("%q: events %q, want %q", args, got, want)
		}
		if c.Dirty != dirty {
			t.Errorf("%q: dirty %d, want %d", args, c.Dirty, dirty)
		}
	}
	do("s:sadd:a", 3, "SADD", "a", "1", "2", "3")
	do("", 0, "SADD", "a", "1")
	do("s:srem:a", 1, "SREM", "a", "1", "9")
	do("", 0, "SREM", "a", "9")
	do("s:srem:a g:del:a", 2, "SREM", "a", "2", "3")
	do("s:sadd:a", 3, "SADD", "a", "1", "2", "3")
	do("s:srem:a s:sadd:b", 2, "SMOVE", "a", "b", "1")
	do("s:sadd:b", 1, "SADD", "b", "2")
	do("s:srem:a", 1, "SMOVE", "a", "b", "2")
	do("s:srem:a g:del:a s:sadd:c", 2, "SMOVE", "a", "c", "3")
	do("", 0, "SMOVE", "nokey", "c", "3")
	do("s:spop:c g:del:c", 1, "SPOP", "c")
	do("s:spop:b", 1, "SPOP", "b", "1")
	do("s:spop:b g:del:b", 1, "SPOP", "b", "5")
	do("", 0, "SPOP", "b", "5")
	do("s:sadd:x", 2, "SADD", "x", "1", "2")
	do("s:sadd:y", 2, "SADD", "y", "2", "3")
	do("s:sinterstore:d", 1, "SINTERSTORE", "d", "x", "y")
	do("s:sunionstore:d", 1, "SUNIONSTORE", "d", "x", "y")
	do("s:sdiffstore:d", 1, "SDIFFSTORE", "d", "x", "y")
	do("g:del:d", 1, "SDIFFSTORE", "d", "x", "x")
	do("", 0, "SINTERSTORE", "d", "x", "nokey")
	do("s:sunionstore:d", 1, "SUNIONSTORE", "d", "x")
	do("g:del:d", 1, "SINTERSTORE", "d", "x", "nokey")
	do("s:sinterstore:str", 1, "SINTERSTORE", "str", "x")
}

// TestExpiredKeys: writers delete expired keys first, readers hide them.
func TestExpiredKeys(t *testing.T) {
	h := commandtest.New(t, Specs)
	s := keyspace.NewSet()
	s.Add([]byte("a"))
	h.DB.Put([]byte("e"), nil, s, h.Now-1)
	h.Check("0", "SCARD", "e")
	h.Check("1", "SADD", "e", "b")
	h.Check("[b]", "SMEMBERS", "e")
	if it := h.DB.Peek([]byte("e")); it.ExpireAt != 0 {
		t.Fatal("expired key's TTL survived")
	}
}
