package keys

import (
	"bytes"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/command/commandtest"
	"github.com/cairndb/cairn/server/command/hashes"
	"github.com/cairndb/cairn/server/command/strs"
	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/server/reply"
)

func newHarness(t testing.TB) *commandtest.Harness {
	return commandtest.New(t, Specs, strs.Specs, hashes.Specs)
}

// step is one command and the String() form of its expected reply.
type step struct {
	args []string
	want string
}

func run(t *testing.T, h *commandtest.Harness, steps []step) {
	t.Helper()
	for _, s := range steps {
		h.Check(s.want, s.args...)
	}
}

func a(args ...string) []string { return args }

func TestDelExistsType(t *testing.T) {
	h := newHarness(t)
	run(t, h, []step{
		{a("SET", "s", "v"), "OK"},
		{a("HSET", "h", "f", "v"), "1"},
		{a("EXISTS", "s", "h", "nope", "s"), "3"},
		{a("TYPE", "s"), "string"},
		{a("TYPE", "h"), "hash"},
		{a("TYPE", "nope"), "none"},
		{a("DEL", "s", "nope", "s"), "1"},
		{a("EXISTS", "s"), "0"},
		{a("UNLINK", "h", "h"), "1"},
		{a("DEL", "h"), "0"},
		{a("DEL"), "(error) ERR wrong number of arguments for 'del' command"},
		{a("EXISTS"), "(error) ERR wrong number of arguments for 'exists' command"},
		{a("TYPE", "a", "b"), "(error) ERR wrong number of arguments for 'type' command"},
		// Expired keys are gone for every command.
		{a("SET", "e", "v", "PX", "100"), "OK"},
		{a("EXISTS", "e"), "1"},
	})
	h.Now += 100
	run(t, h, []step{
		{a("EXISTS", "e"), "0"},
		{a("TYPE", "e"), "none"},
		{a("DEL", "e"), "0"},
		{a("DBSIZE"), "0"},
	})
}

func TestRename(t *testing.T) {
	h := newHarness(t)
	run(t, h, []step{
		{a("RENAME", "nope", "x"), "(error) ERR no such key"},
		{a("RENAMENX", "nope", "x"), "(error) ERR no such key"},
		{a("RENAME", "nope", "nope"), "(error) ERR no such key"},
		{a("SET", "a", "1", "EX", "100"), "OK"},
		{a("RENAME", "a", "a"), "OK"},
		{a("RENAMENX", "a", "a"), "0"},
		{a("RENAME", "a", "b"), "OK"},
		{a("EXISTS", "a"), "0"},
		{a("GET", "b"), "1"},
		{a("TTL", "b"), "100"},
		{a("SET", "c", "x"), "OK"},
		{a("RENAMENX", "b", "c"), "0"},
		{a("GET", "c"), "x"},
		{a("RENAME", "c", "b"), "OK"},
		{a("GET", "b"), "x"},
		{a("TTL", "b"), "-1"}, // the source's (absent) expiry wins
		{a("HSET", "h", "f", "v"), "1"},
		{a("RENAMENX", "h", "h2"), "1"},
		{a("HGET", "h2", "f"), "v"},
		{a("TYPE", "h"), "none"},
		// An expired destination does not block RENAMENX.
		{a("SET", "d", "1", "PX", "10"), "OK"},
	})
	h.Now += 10
	run(t, h, []step{
		{a("RENAMENX", "b", "d"), "1"},
		{a("GET", "d"), "x"},
		{a("RENAME", "d"), "(error) ERR wrong number of arguments for 'rename' command"},
	})
}

// TestRenameSnapshot checks that RENAME moves a value a snapshot shares
// without letting later writes reach the snapshot.
func TestRenameSnapshot(t *testing.T) {
	h := newHarness(t)
	h.Do("HSET", "h", "f", "old")
	h.Do("SET", "s", "abc")
	snap := h.DB.Snapshot()
	run(t, h, []step{
		{a("RENAME", "h", "h2"), "OK"},
		{a("HSET", "h2", "f", "new"), "0"},
		{a("RENAME", "s", "s2"), "OK"},
		{a("SETRANGE", "s2", "0", "X"), "3"},
		{a("COPY", "h2", "h3"), "1"},
		{a("HSET", "h3", "g", "1"), "1"},
		{a("HGETALL", "h2"), "[f new]"},
	})
	var buf bytes.Buffer
	if _, err := snap.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	db := keyspace.New()
	if err := db.Load(&buf); err != nil {
		t.Fatal(err)
	}
	v, _ := db.Peek([]byte("h")).Obj.(*keyspace.Hash).Get([]byte("f"))
	if string(v) != "old" || string(db.Peek([]byte("s")).Str) != "abc" || db.Len() != 2 {
		t.Fatalf("snapshot changed: h.f=%q s=%q len=%d", v, db.Peek([]byte("s")).Str, db.Len())
	}
}

func TestCopy(t *testing.T) {
	h := newHarness(t)
	run(t, h, []step{
		{a("COPY", "nope", "x"), "0"},
		{a("SET", "a", "hello", "EX", "50"), "OK"},
		{a("COPY", "a", "a"), "(error) ERR source and destination objects are the same"},
		{a("COPY", "a", "b"), "1"},
		{a("GET", "b"), "hello"},
		{a("TTL", "b"), "50"},
		{a("COPY", "a", "b"), "0"},
		{a("SET", "a", "new"), "OK"},
		{a("COPY", "a", "b", "REPLACE"), "1"},
		{a("GET", "b"), "new"},
		{a("TTL", "b"), "-1"},
		{a("COPY", "a", "c", "DB", "0"), "1"},
		{a("COPY", "a", "d", "db", "0", "replace"), "1"},
		{a("COPY", "a", "e", "DB", "1"), "(error) ERR DB index is out of range"},
		{a("COPY", "a", "e", "DB", "16"), "(error) ERR DB index is out of range"},
		{a("COPY", "a", "e", "DB", "-1"), "(error) ERR DB index is out of range"},
		{a("COPY", "a", "e", "DB", "x"), "(error) ERR value is not an integer or out of range"},
		{a("COPY", "a", "e", "DB", "4294967296"), "(error) ERR value is out of range, value must between -2147483648 and 2147483647"},
		{a("COPY", "a", "e", "DB", "99999999999999999999"), "(error) ERR value is not an integer or out of range"},
		{a("COPY", "a", "e", "DB"), "(error) ERR syntax error"},
		{a("COPY", "a", "e", "FOO"), "(error) ERR syntax error"},
		{a("COPY", "a", "a", "FOO"), "(error) ERR syntax error"},
		{a("COPY", "a"), "(error) ERR wrong number of arguments for 'copy' command"},
		{a("EXISTS", "e"), "0"},
		// Hashes are deep-copied.
		{a("HSET", "h", "f", "1"), "1"},
		{a("COPY", "h", "h2"), "1"},
		{a("HSET", "h2", "f", "2"), "0"},
		{a("HGET", "h", "f"), "1"},
		{a("HGET", "h2", "f"), "2"},
		{a("COPY", "h", "a", "REPLACE"), "1"},
		{a("TYPE", "a"), "hash"},
	})
}

func TestExpire(t *testing.T) {
	h := newHarness(t)
	h.Do("SET", "k", "v")
	run(t, h, []step{
		{a("TTL", "k"), "-1"},
		{a("PTTL", "k"), "-1"},
		{a("EXPIRETIME", "k"), "-1"},
		{a("PEXPIRETIME", "k"), "-1"},
		{a("TTL", "nope"), "-2"},
		{a("PTTL", "nope"), "-2"},
		{a("EXPIRETIME", "nope"), "-2"},
		{a("PEXPIRETIME", "nope"), "-2"},
		{a("EXPIRE", "nope", "10"), "0"},
		{a("EXPIRE", "k", "10", "XX"), "0"},
		{a("EXPIRE", "k", "10", "GT"), "0"},
		{a("EXPIRE", "k", "10", "LT"), "1"},
		{a("TTL", "k"), "10"},
		{a("PTTL", "k"), "10000"},
		{a("EXPIRE", "k", "20", "NX"), "0"},
		{a("EXPIRE", "k", "20", "XX"), "1"},
		{a("EXPIRE", "k", "10", "GT"), "0"},
		{a("EXPIRE", "k", "20", "GT"), "0"},
		{a("EXPIRE", "k", "30", "gt"), "1"},
		{a("EXPIRE", "k", "30", "LT"), "0"},
		{a("EXPIRE", "k", "25", "lt", "xx"), "1"},
		{a("TTL", "k"), "25"},
		{a("PEXPIRE", "k", "1499"), "1"},
		{a("TTL", "k"), "1"},
		{a("PEXPIRE", "k", "1500"), "1"},
		{a("TTL", "k"), "2"},
		{a("PEXPIRE", "k", "499"), "1"},
		{a("TTL", "k"), "0"},
		{a("EXPIREAT", "k", strconv.FormatInt(h.Now/1000+100, 10)), "1"},
		{a("EXPIRETIME", "k"), strconv.FormatInt(h.Now/1000+100, 10)},
		{a("PEXPIREAT", "k", strconv.FormatInt(h.Now+100499, 10)), "1"},
		{a("PEXPIRETIME", "k"), strconv.FormatInt(h.Now+100499, 10)},
		{a("EXPIRETIME", "k"), strconv.FormatInt(h.Now/1000+100, 10)},
		{a("PEXPIREAT", "k", strconv.FormatInt(h.Now+100500, 10)), "1"},
		{a("EXPIRETIME", "k"), strconv.FormatInt(h.Now/1000+101, 10)},
		// Errors, checked before the key is looked at.
		{a("EXPIRE", "k", "10", "NX", "XX"), "(error) ERR NX and XX, GT or LT options at the same time are not compatible"},
		{a("EXPIRE", "k", "10", "NX", "GT"), "(error) ERR NX and XX, GT or LT options at the same time are not compatible"},
		{a("EXPIRE", "k", "10", "LT", "NX"), "(error) ERR NX and XX, GT or LT options at the same time are not compatible"},
		{a("EXPIRE", "k", "10", "GT", "LT"), "(error) ERR GT and LT options at the same time are not compatible"},
		{a("EXPIRE", "k", "10", "FOO"), "(error) ERR Unsupported option FOO"},
		{a("EXPIRE", "k", "abc"), "(error) ERR value is not an integer or out of range"},
		{a("EXPIRE", "k", "1.5"), "(error) ERR value is not an integer or out of range"},
		{a("EXPIRE", "nope", "abc", "NX", "XX"), "(error) ERR NX and XX, GT or LT options at the same time are not compatible"},
		{a("EXPIRE", "k", "9223372036854775807"), "(error) ERR invalid expire time in 'expire' command"},
		{a("EXPIRE", "k", "9223372036854775"), "(error) ERR invalid expire time in 'expire' command"},
		{a("EXPIREAT", "k", "-9223372036854776"), "(error) ERR invalid expire time in 'expireat' command"},
		{a("PEXPIRE", "k", "9223372036854775807"), "(error) ERR invalid expire time in 'pexpire' command"},
		{a("PEXPIREAT", "k", "9223372036854775807"), "1"},
		{a("PEXPIRETIME", "k"), "9223372036854775807"},
		{a("EXPIRE", "k"), "(error) ERR wrong number of arguments for 'expire' command"},
		{a("TTL", "k", "x"), "(error) ERR wrong number of arguments for 'ttl' command"},
		// A time in the past deletes the key and returns 1.
		{a("EXPIRE", "k", "0"), "1"},
		{a("EXISTS", "k"), "0"},
		{a("SET", "k", "v"), "OK"},
		{a("EXPIRE", "k", "-5"), "1"},
		{a("EXISTS", "k"), "0"},
		{a("SET", "k", "v"), "OK"},
		{a("PEXPIREAT", "k", strconv.FormatInt(h.Now, 10)), "1"},
		{a("EXISTS", "k"), "0"},
		{a("SET", "k", "v"), "OK"},
		{a("EXPIREAT", "k", "1"), "1"},
		{a("EXISTS", "k"), "0"},
		// LT on a key with no expiry sets it; GT a time in the past never.
		{a("SET", "k", "v"), "OK"},
		{a("EXPIRE", "k", "-1", "LT"), "1"},
		{a("EXISTS", "k"), "0"},
		{a("SET", "k", "v", "EX", "100"), "OK"},
		{a("EXPIRE", "k", "-1", "GT"), "0"},
		{a("EXPIRE", "k", "-1", "LT"), "1"},
		{a("EXISTS", "k"), "0"},
	})
	// Relative times are resolved at apply time (the entry's time).
	run(t, h, []step{
		{a("SET", "k", "v"), "OK"},
		{a("EXPIRE", "k", "10"), "1"},
		{a("PEXPIRETIME", "k"), strconv.FormatInt(h.Now+10000, 10)},
	})
	h.Now += 9400
	h.Check("1", "TTL", "k")
	h.Check("600", "PTTL", "k")
	h.Now += 599
	h.Check("1", "PTTL", "k")
	h.Check("0", "TTL", "k")
	h.Now++
	h.Check("-2", "TTL", "k")
	h.Check("-2", "PTTL", "k")
	h.Check("0", "EXPIRE", "k", "10")
	h.Check("0", "PERSIST", "k")
}

func TestPersist(t *testing.T) {
	h := newHarness(t)
	run(t, h, []step{
		{a("PERSIST", "nope"), "0"},
		{a("SET", "k", "v"), "OK"},
		{a("PERSIST", "k"), "0"},
		{a("EXPIRE", "k", "100"), "1"},
		{a("PERSIST", "k"), "1"},
		{a("TTL", "k"), "-1"},
		{a("PERSIST", "k"), "0"},
	})
	// A persisted key is out of the expiry index.
	h.Now += 200000
	h.Check("v", "GET", "k")
	if n := h.DB.Expiring(); n != 0 {
		t.Fatalf("%d keys still in the expiry index", n)
	}
}

func sortedStrings(v reply.Value) []string {
	var out []string
	for _, e := range v.Elems {
		out = append(out, string(e.Str))
	}
	sort.Strings(out)
	return out
}

func TestKeys(t *testing.T) {
	h := newHarness(t)
	for _, k := range []string{"hello", "hallo", "hxllo", "hllo", "heeeello", "foo", "a*b", "A"} {
		h.Do("SET", k, "1")
	}
	h.Do("SET", "gone", "1", "PX", "1")
	h.Now++
	cases := []struct{ pat, want string }{
		{"*", "A a*b foo hallo heeeello hello hllo hxllo"},
		{"h?llo", "hallo hello hxllo"},
		{"h*llo", "hallo heeeello hello hllo hxllo"},
		{"h[ae]llo", "hallo hello"},
		{"h[^e]llo", "hallo hxllo"},
		{"h[a-b]llo", "hallo"},
		{"a\\*b", "a*b"},
		{"a", ""},
		{"g*", ""},
	}
	for _, c := range cases {
		got := strings.Join(sortedStrings(h.Do("KEYS", c.pat)), " ")
		if got != c.want {
			t.Errorf("KEYS %s: got %q, want %q", c.pat, got, c.want)
		}
	}
	h.Check("(error) ERR wrong number of arguments for 'keys' command", "KEYS")
	h.Check("9", "DBSIZE") // DBSIZE counts the expired key not yet removed
}

func TestScanOptions(t *testing.T) {
	h := newHarness(t)
	for i := 0; i < 50; i++ {
		h.Do("SET", "s"+strconv.Itoa(i), "1")
		h.Do("HSET", "h"+strconv.Itoa(i), "f", "1")
	}
	h.Do("SET", "gone", "1", "PX", "1")
	h.Now++
	all := func(args ...string) []string {
		var keys []string
		cursor := "0"
		for {
			v := h.Do(append([]string{"SCAN", cursor}, args...)...)
			if v.Kind != reply.KindArray || len(v.Elems) != 2 {
				t.Fatalf("SCAN %s %q: %s", cursor, args, v)
			}
			for _, e := range v.Elems[1].Elems {
				keys = append(keys, string(e.Str))
			}
			cursor = string(v.Elems[0].Str)
			if cursor == "0" {
				break
			}
		}
		sort.Strings(keys)
		return keys
	}
	if got := all(); len(got) != 100 || got[0] != "h0" {
		t.Fatalf("SCAN returned %d keys: %v", len(got), got)
	}
	if got := all("COUNT", "7", "MATCH", "s1*"); strings.Join(got, " ") != "s1 s10 s11 s12 s13 s14 s15 s16 s17 s18 s19" {
		t.Fatalf("SCAN MATCH: %v", got)
	}
	if got := all("TYPE", "HASH", "count", "1000"); len(got) != 50 || got[0] != "h0" {
		t.Fatalf("SCAN TYPE hash: %v", got)
	}
	if got := all("TYPE", "string", "MATCH", "*"); len(got) != 50 || got[0] != "s0" {
		t.Fatalf("SCAN TYPE string: %v", got)
	}
	if got := all("TYPE", "list"); len(got) != 0 {
		t.Fatalf("SCAN TYPE list: %v", got)
	}
	if got := all("TYPE", "none"); len(got) != 0 {
		t.Fatalf("SCAN TYPE none: %v", got)
	}
	// COUNT bounds the keys visited per call.
	v := h.Do("SCAN", "0", "COUNT", "5")
	if len(v.Elems[1].Elems) != 5 || string(v.Elems[0].Str) == "0" {
		t.Fatalf("SCAN COUNT 5: %s", v)
	}
	v = h.Do("SCAN", "0", "COUNT", "1000")
	if len(v.Elems[1].Elems) != 100 || string(v.Elems[0].Str) != "0" {
		t.Fatalf("SCAN COUNT 1000: %s", v)
	}
	// Cursor parsing follows strtoull.
	for _, c := range []string{"", "+0", "-0", "0\x00junk"} {
		if v := h.Do("SCAN", c, "COUNT", "1000"); v.IsError() || len(v.Elems[1].Elems) != 100 {
			t.Errorf("SCAN %q: %s", c, v)
		}
	}
	for _, c := range []string{"-1", "18446744073709551615"} {
		h.Check("[0 []]", "SCAN", c)
	}
	run(t, h, []step{
		{a("SCAN", "x"), "(error) ERR invalid cursor"},
		{a("SCAN", " 1"), "(error) ERR invalid cursor"},
		{a("SCAN", "1 "), "(error) ERR invalid cursor"},
		{a("SCAN", "18446744073709551616"), "(error) ERR invalid cursor"},
		{a("SCAN", "-"), "(error) ERR invalid cursor"},
		{a("SCAN", "0x10"), "(error) ERR invalid cursor"},
		{a("SCAN", "x", "COUNT", "0"), "(error) ERR invalid cursor"},
		{a("SCAN", "0", "COUNT", "0"), "(error) ERR syntax error"},
		{a("SCAN", "0", "COUNT", "-1"), "(error) ERR syntax error"},
		{a("SCAN", "0", "COUNT", "x"), "(error) ERR value is not an integer or out of range"},
		{a("SCAN", "0", "COUNT"), "(error) ERR syntax error"},
		{a("SCAN", "0", "MATCH"), "(error) ERR syntax error"},
		{a("SCAN", "0", "TYPE"), "(error) ERR syntax error"},
		{a("SCAN", "0", "FOO", "bar"), "(error) ERR syntax error"},
		{a("SCAN"), "(error) ERR wrong number of arguments for 'scan' command"},
	})
}

// TestScanGuarantee checks Redis's SCAN guarantee: a key present from the
// start to the end of an iteration is returned at least once, whatever is
// inserted and deleted between the calls.
func TestScanGuarantee(t *testing.T) {
	h := newHarness(t)
	const n = 20000
	for i := 0; i < n; i++ {
		h.DB.Put([]byte("stable:"+strconv.Itoa(i)), []byte("v"), nil, 0)
	}
	seen := map[string]bool{}
	cursor := "0"
	next := 0
	var churn []string
	calls := 0
	for {
		v := h.Do("SCAN", cursor, "COUNT", "37")
		calls++
		for _, e := range v.Elems[1].Elems {
			seen[string(e.Str)] = true
		}
		cursor = string(v.Elems[0].Str)
		if cursor == "0" {
			break
		}
		// Between calls: insert a burst of new keys and delete some of the
		// previously inserted ones, shifting the tree around.
		for j := 0; j < 50; j++ {
			k := "churn:" + strconv.Itoa(next)
			next++
			h.DB.Put([]byte(k), []byte("x"), nil, 0)
			churn = append(churn, k)
		}
		for j := 0; j < 30 && len(churn) > 0; j++ {
			i := (next * 7919) % len(churn)
			h.Do("DEL", churn[i])
			churn[i] = churn[len(churn)-1]
			churn = churn[:len(churn)-1]
		}
	}
	missing := 0
	for i := 0; i < n; i++ {
		if !seen["stable:"+strconv.Itoa(i)] {
			missing++
		}
	}
	if missing > 0 {
		t.Fatalf("%d of %d stable keys never returned (%d calls)", missing, n, calls)
	}
	if calls < n/37 {
		t.Fatalf("only %d calls for %d keys", calls, n)
	}
}

func TestRandomKey(t *testing.T) {
	h := newHarness(t)
	h.Check("(nil)", "RANDOMKEY")
	h.Do("SET", "only", "1")
	h.Check("only", "RANDOMKEY")
	// Every key but one expired: the live one is always found.
	for i := 0; i < 500; i++ {
		h.Do("SET", "e"+strconv.Itoa(i), "1", "PX", "10")
	}
	h.Now += 10
	for i := 0; i < 20; i++ {
		h.Seed++
		h.Check("only", "RANDOMKEY")
	}
	h.Do("DEL", "only")
	h.Check("(nil)", "RANDOMKEY")
	h.Check("(error) ERR wrong number of arguments for 'randomkey' command", "RANDOMKEY", "x")
	// With live keys, different seeds pick different keys.
	h.Do("FLUSHALL")
	for i := 0; i < 100; i++ {
		h.Do("SET", "k"+strconv.Itoa(i), "1")
	}
	got := map[string]bool{}
	for i := 0; i < 50; i++ {
		h.Seed++
		v := h.Do("RANDOMKEY")
		if v.Kind != reply.KindBulk || !strings.HasPrefix(string(v.Str), "k") {
			t.Fatalf("RANDOMKEY: %s", v)
		}
		got[string(v.Str)] = true
	}
	if len(got) < 10 {
		t.Fatalf("RANDOMKEY returned only %d distinct keys", len(got))
	}
}

func TestTouchIdletime(t *testing.T) {
	h := newHarness(t)
	h.Do("SET", "a", "1")
	h.Do("SET", "b", "1")
	h.Now += 5000
	run(t, h, []step{
		{a("OBJECT", "IDLETIME", "a"), "5"},
		{a("TYPE", "a"), "string"}, // no touch
		{a("EXISTS", "a"), "1"},    // no touch
		{a("TTL", "a"), "-1"},      // no touch
		{a("OBJECT", "IDLETIME", "a"), "5"},
		{a("TOUCH", "a", "nope", "a"), "2"},
		{a("OBJECT", "IDLETIME", "a"), "0"},
		{a("OBJECT", "IDLETIME", "b"), "5"},
		{a("GET", "b"), "1"},
		{a("OBJECT", "IDLETIME", "b"), "0"},
		{a("OBJECT", "IDLETIME", "nope"), "(nil)"},
		{a("TOUCH"), "(error) ERR wrong number of arguments for 'touch' command"},
	})
	h.Now += 3000
	h.Check("OK", "RENAME", "a", "c")
	h.Check("0", "OBJECT", "IDLETIME", "c")
}

func TestObject(t *testing.T) {
	h := newHarness(t)
	long := strings.Repeat("x", 45)
	big := make([]string, 0, 260)
	for i := 0; i < 130; i++ {
		big = append(big, "f"+strconv.Itoa(i), "v")
	}
	h.Do(append([]string{"HSET", "bighash"}, big...)...)
	run(t, h, []step{
		{a("SET", "int", "12345"), "OK"},
		{a("SET", "neg", "-9223372036854775808"), "OK"},
		{a("SET", "toobig", "9223372036854775808"), "OK"},
		{a("SET", "lead0", "0123"), "OK"},
		{a("SET", "emb", strings.Repeat("x", 44)), "OK"},
		{a("SET", "raw", long), "OK"},
		{a("SET", "app", "12"), "OK"},
		{a("APPEND", "app", "3"), "3"},
		{a("SET", "empty", ""), "OK"},
		{a("HSET", "smallhash", "f", "v"), "1"},
		{a("OBJECT", "ENCODING", "int"), "int"},
		{a("OBJECT", "ENCODING", "neg"), "int"},
		{a("OBJECT", "ENCODING", "toobig"), "embstr"},
		{a("OBJECT", "ENCODING", "lead0"), "embstr"},
		{a("OBJECT", "ENCODING", "emb"), "embstr"},
		{a("OBJECT", "ENCODING", "raw"), "raw"},
		{a("OBJECT", "ENCODING", "app"), "raw"},
		{a("OBJECT", "ENCODING", "empty"), "embstr"},
		{a("OBJECT", "ENCODING", "smallhash"), "listpack"},
		{a("OBJECT", "ENCODING", "bighash"), "hashtable"},
		{a("OBJECT", "ENCODING", "nope"), "(nil)"},
		{a("object", "encoding", "int"), "int"},
		{a("OBJECT", "REFCOUNT", "int"), "1"},
		{a("SET", "small", "9999"), "OK"},
		{a("OBJECT", "REFCOUNT", "small"), "2147483647"},
		{a("SET", "small", "0"), "OK"},
		{a("OBJECT", "REFCOUNT", "small"), "2147483647"},
		{a("SET", "small", "10000"), "OK"},
		{a("OBJECT", "REFCOUNT", "small"), "1"},
		{a("SET", "small", "-1"), "OK"},
		{a("OBJECT", "REFCOUNT", "small"), "1"},
		{a("OBJECT", "REFCOUNT", "smallhash"), "1"},
		{a("OBJECT", "REFCOUNT", "nope"), "(nil)"},
		{a("OBJECT", "FREQ", "int"), "(error) ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."},
		{a("OBJECT", "FREQ", "nope"), "(nil)"},
		{a("OBJECT", "HELP"), "[" + strings.Join(objectHelpLines, " ") + "]"},
		{a("OBJECT"), "(error) ERR wrong number of arguments for 'object' command"},
		{a("OBJECT", "ENCODING"), "(error) ERR wrong number of arguments for 'object|encoding' command"},
		{a("OBJECT", "HELP", "x"), "(error) ERR wrong number of arguments for 'object|help' command"},
		{a("OBJECT", "FOO", "x"), "(error) ERR unknown subcommand 'FOO'. Try OBJECT HELP."},
	})
	if v := h.Do("OBJECT", "HELP"); v.Elems[0].Kind != reply.KindStatus {
		t.Fatal("OBJECT HELP lines are not status replies")
	}
}

func TestFlush(t *testing.T) {
	h := newHarness(t)
	fill := func() {
		for i := 0; i < 10; i++ {
			h.Do("SET", "k"+strconv.Itoa(i), "v", "EX", "100")
		}
	}
	fill()
	run(t, h, []step{
		{a("DBSIZE"), "10"},
		{a("DBSIZE", "x"), "(error) ERR wrong number of arguments for 'dbsize' command"},
		{a("FLUSHDB", "FOO"), "(error) ERR syntax error"},
		{a("FLUSHDB", "ASYNC", "SYNC"), "(error) ERR syntax error"},
		{a("FLUSHALL", "now"), "(error) ERR syntax error"},
		{a("DBSIZE"), "10"},
		{a("FLUSHDB"), "OK"},
		{a("DBSIZE"), "0"},
	})
	fill()
	h.Check("OK", "FLUSHDB", "async")
	h.Check("0", "DBSIZE")
	fill()
	h.Check("OK", "FLUSHALL", "SYNC")
	h.Check("0", "DBSIZE")
	if h.DB.Expiring() != 0 {
		t.Fatal("expiry index not flushed")
	}
	fill()
	h.Check("OK", "FLUSHALL")
	h.Check("[]", "KEYS", "*")
}

// TestDirty checks the change counter each write command reports.
func TestDirty(t *testing.T) {
	db := keyspace.New()
	now := int64(1700000000000)
	table := command.NewTable(Specs)
	do := func(want int64, args ...string) {
		t.Helper()
		argv := make([][]byte, len(args))
		for i, s := range args {
			argv[i] = []byte(s)
		}
		c := &command.Ctx{DB: db, Now: now}
		v := table.Apply(c, argv)
		if v.IsError() {
			t.Fatalf("%q: %s", args, v)
		}
		if c.Dirty != want {
			t.Errorf("%q: dirty %d, want %d", args, c.Dirty, want)
		}
	}
	put := func(k string) { db.Put([]byte(k), []byte("v"), nil, 0) }
	put("a")
	put("b")
	do(2, "DEL", "a", "b", "c")
	do(0, "DEL", "a")
	put("a")
	do(1, "EXPIRE", "a", "100")
	do(0, "EXPIRE", "a", "100", "NX")
	do(1, "PERSIST", "a")
	do(0, "PERSIST", "a")
	do(1, "RENAME", "a", "b")
	do(1, "RENAMENX", "b", "a")
	do(0, "RENAMENX", "a", "a")
	do(1, "COPY", "a", "b")
	do(0, "COPY", "a", "b")
	do(1, "EXPIRE", "b", "-1")
	do(1, "RESTORE", "r", "0", "\x00\x01x\x0a\x00"+crcOf("\x00\x01x\x0a\x00"))
	do(0, "RESTORE", "r2", "1", "\x00\x01x\x0a\x00"+crcOf("\x00\x01x\x0a\x00"), "ABSTTL")
	do(1, "RESTORE", "r", "1", "\x00\x01x\x0a\x00"+crcOf("\x00\x01x\x0a\x00"), "ABSTTL", "REPLACE")
	put("x")
	put("y")
	do(3, "FLUSHDB") // a, x, y
	put("x")
	do(2, "FLUSHALL")
}
