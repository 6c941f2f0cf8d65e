package keys

import (
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cairndb/cairn/server/command/commandtest"
	"github.com/cairndb/cairn/server/command/hashes"
	"github.com/cairndb/cairn/server/command/strs"
	"github.com/cairndb/cairn/server/reply"
)

func newDiff(t *testing.T) *commandtest.Diff {
	return commandtest.NewDiff(t, Specs, strs.Specs, hashes.Specs)
}

// compareSorted runs a command whose reply order is unspecified (KEYS) on
// both sides and compares the sorted replies.
func compareSorted(t *testing.T, d *commandtest.Diff, args ...string) {
	t.Helper()
	want, err := d.Redis.Do(args...)
	if err != nil {
		t.Fatal(err)
	}
	d.H.Now = time.Now().UnixMilli()
	got := d.H.Do(args...).RESP2()
	if want.Kind != got.Kind || strings.Join(sortedStrings(got), "\n") != strings.Join(sortedStrings(want), "\n") {
		t.Errorf("%q:\n  cairn: %s\n  redis: %s", args, got, want)
	}
}

// scanAll iterates SCAN to the end on one side and returns the sorted keys.
func scanAll(t *testing.T, do func(args ...string) reply.Value, opts ...string) []string {
	t.Helper()
	var keys []string
	cursor := "0"
	for i := 0; ; i++ {
		v := do(append([]string{"SCAN", cursor}, opts...)...)
		if v.Kind != reply.KindArray || len(v.Elems) != 2 {
			t.Fatalf("SCAN %s %q: %s", cursor, opts, v)
		}
		for _, e := range v.Elems[1].Elems {
			keys = append(keys, string(e.Str))
		}
		cursor = string(v.Elems[0].Str)
		if cursor == "0" || i > 100000 {
			break
		}
	}
	sort.Strings(keys)
	// SCAN may return a key more than once; compare sets.
	out := keys[:0]
	for i, k := range keys {
		if i == 0 || k != keys[i-1] {
			out = append(out, k)
		}
	}
	return out
}

func compareScan(t *testing.T, d *commandtest.Diff, opts ...string) {
	t.Helper()
	want := scanAll(t, func(args ...string) reply.Value {
		v, err := d.Redis.Do(args...)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}, opts...)
	d.H.Now = time.Now().UnixMilli()
	got := scanAll(t, d.H.Do, opts...)
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("SCAN %q:\n  cairn: %q\n  redis: %q", opts, got, want)
	}
}

// TestDiffCommands runs every command of the family and its error paths on
// Cairn and on Redis and compares the replies.
func TestDiffCommands(t *testing.T) {
	d := newDiff(t)
	c := func(args ...string) { t.Helper(); d.Compare(args...) }
	future := strconv.FormatInt(time.Now().Unix()+100000, 10)
	futureMs := strconv.FormatInt(time.Now().UnixMilli()+100000123, 10)

	// Setup and basic commands.
	c("SET", "s", "hello")
	c("SET", "n", "42")
	c("SET", "big", "9999999999")
	c("SET", "long", strings.Repeat("abcdefghij", 10))
	c("HSET", "h", "f1", "v1", "f2", "2")
	c("EXISTS", "s", "n", "nope", "s")
	c("EXISTS", "nope")
	c("TYPE", "s")
	c("TYPE", "h")
	c("TYPE", "nope")
	c("TOUCH", "s", "h", "nope")
	for _, k := range []string{"s", "n", "big", "long", "h", "nope"} {
		c("OBJECT", "ENCODING", k)
		c("OBJECT", "REFCOUNT", k)
		c("OBJECT", "FREQ", k)
		c("DUMP", k)
	}
	c("OBJECT", "IDLETIME", "nope")
	c("OBJECT", "HELP")
	c("object", "help")
	c("OBJECT", "NOPE", "x")
	c("OBJECT", "ENCODING")
	c("OBJECT", "ENCODING", "a", "b")
	c("OBJECT", "HELP", "x")
	c("OBJECT")

	// Strings that were changed in place and integers.
	c("SET", "app", "12")
	c("APPEND", "app", "3")
	c("OBJECT", "ENCODING", "app")
	c("OBJECT", "REFCOUNT", "app")
	c("DUMP", "app")
	c("INCR", "app")
	c("OBJECT", "ENCODING", "app")
	c("OBJECT", "REFCOUNT", "app")
	c("SET", "e44", strings.Repeat("x", 44))
	c("OBJECT", "ENCODING", "e44")
	c("SET", "e45", strings.Repeat("x", 45))
	c("OBJECT", "ENCODING", "e45")
	c("SET", "i20", "-9223372036854775808")
	c("OBJECT", "ENCODING", "i20")
	c("SET", "i21", "12345678901234567890")
	c("OBJECT", "ENCODING", "i21")
	for _, v := range []string{"0", "9999", "10000", "-1", "01", "+1"} {
		c("SET", "r", v)
		c("OBJECT", "REFCOUNT", "r")
		c("OBJECT", "ENCODING", "r")
		c("DUMP", "r")
	}

	// DEL / UNLINK.
	c("DEL", "r", "r", "nope")
	c("UNLINK", "app", "nope")
	c("DEL")
	c("UNLINK")
	c("EXISTS")
	c("TYPE")
	c("TOUCH")

	// RENAME / RENAMENX.
	c("RENAME", "nope", "x")
	c("RENAMENX", "nope", "x")
	c("RENAME", "nope", "nope")
	c("RENAME", "s", "s")
	c("RENAMENX", "s", "s")
	c("EXPIRE", "s", "1000")
	c("RENAME", "s", "s2")
	c("TTL", "s2")
	c("GET", "s2")
	c("EXISTS", "s")
	c("RENAMENX", "s2", "n")
	c("RENAMENX", "s2", "s3")
	c("RENAME", "s3", "n")
	c("GET", "n")
	c("TTL", "n")
	c("RENAME", "h", "h2")
	c("HGETALL", "h2")
	c("RENAME", "x")
	c("RENAMENX", "x", "y", "z")

	// COPY.
	c("COPY", "n", "n")
	c("COPY", "nope", "x")
	c("COPY", "n", "c1")
	c("TTL", "c1")
	c("GET", "c1")
	c("COPY", "n", "c1")
	c("COPY", "h2", "c1")
	c("COPY", "h2", "c1", "REPLACE")
	c("HGETALL", "c1")
	c("TYPE", "c1")
	c("COPY", "h2", "c2", "DB", "0")
	c("COPY", "h2", "c2", "DB", "0", "replace")
	c("COPY", "h2", "c3", "DB", "16")
	c("COPY", "h2", "c3", "DB", "-1")
	c("COPY", "h2", "c3", "DB", "x")
	c("COPY", "h2", "c3", "DB", "99999999999")
	c("COPY", "h2", "c3", "DB")
	c("COPY", "h2", "c3", "FOO")
	c("COPY", "h2", "h2", "FOO")
	c("COPY", "h2", "h2", "REPLACE")
	c("COPY", "h2")
	c("EXISTS", "c3")

	// EXPIRE family.
	c("SET", "k", "v")
	c("TTL", "k")
	c("PTTL", "k")
	c("EXPIRETIME", "k")
	c("PEXPIRETIME", "k")
	c("TTL", "nope")
	c("PTTL", "nope")
	c("EXPIRETIME", "nope")
	c("PEXPIRETIME", "nope")
	c("EXPIRE", "nope", "100")
	c("EXPIRE", "k", "100", "XX")
	c("EXPIRE", "k", "100", "GT")
	c("EXPIRE", "k", "100", "NX")
	c("TTL", "k")
	c("EXPIRE", "k", "200", "NX")
	c("EXPIRE", "k", "200", "XX")
	c("TTL", "k")
	c("EXPIREAT", "k", future)
	c("EXPIRETIME", "k")
	c("EXPIREAT", "k", future, "GT")
	c("EXPIREAT", "k", future, "LT")
	c("PEXPIREAT", "k", futureMs)
	c("PEXPIRETIME", "k")
	c("EXPIRETIME", "k")
	c("PEXPIREAT", "k", futureMs+"0", "lt")
	c("PEXPIREAT", "k", futureMs+"0", "gt")
	c("PEXPIRETIME", "k")
	c("PEXPIREAT", "k", "9223372036854775807")
	c("PEXPIRETIME", "k")
	c("EXPIRE", "k", "10", "LT", "XX")
	c("TTL", "k")
	c("PEXPIRE", "k", "20000")
	c("TTL", "k")
	c("EXPIRE", "k", "10", "NX", "XX")
	c("EXPIRE", "k", "10", "NX", "GT")
	c("EXPIRE", "k", "10", "NX", "LT")
	c("EXPIRE", "k", "10", "GT", "LT")
	c("EXPIRE", "k", "10", "gt", "lt", "nx")
	c("EXPIRE", "k", "10", "FOO")
	c("EXPIRE", "k", "10", "NX", "FOO")
	c("EXPIRE", "k", "abc")
	c("EXPIRE", "k", "")
	c("EXPIRE", "k", " 10")
	c("EXPIRE", "k", "10.5")
	c("EXPIRE", "k", "9223372036854775807")
	c("EXPIRE", "k", "-9223372036854775808")
	c("EXPIRE", "k", "9223372036854775")
	c("PEXPIRE", "k", "9223372036854775807")
	c("EXPIREAT", "k", "9223372036854775807")
	c("EXPIREAT", "k", "-9223372036854776")
	c("PEXPIREAT", "k", "-9223372036854775808")
	c("EXISTS", "k")
	c("SET", "k", "v")
	c("EXPIREAT", "k", "9223372036854775")
	c("EXPIRE")
	c("EXPIRE", "k")
	c("PEXPIRE", "k")
	c("EXPIREAT", "k")
	c("PEXPIREAT", "k")
	c("TTL")
	c("PTTL", "a", "b")
	c("EXPIRETIME")
	c("PEXPIRETIME", "a", "b")
	// Times in the past delete the key.
	for _, args := range [][]string{
		{"EXPIRE", "k", "0"}, {"EXPIRE", "k", "-100"}, {"PEXPIRE", "k", "-1"},
		{"EXPIREAT", "k", "1"}, {"PEXPIREAT", "k", "0"}, {"EXPIRE", "k", "-1", "LT"},
	} {
		c("SET", "k", "v")
		c(args...)
		c("EXISTS", "k")
	}
	c("SET", "k", "v", "EX", "100")
	c("EXPIRE", "k", "-1", "GT")
	c("EXPIRE", "k", "-1", "NX")
	c("EXISTS", "k")
	c("EXPIRE", "k", "-1", "XX")
	c("EXISTS", "k")

	// PERSIST.
	c("PERSIST", "nope")
	c("SET", "k", "v")
	c("PERSIST", "k")
	c("EXPIRE", "k", "100")
	c("PERSIST", "k")
	c("TTL", "k")
	c("PERSIST")

	// KEYS and SCAN.
	for _, p := range []string{"*", "c*", "?2", "h*", "[a-h]*", "nope", "*[", "\\*", "e4?"} {
		compareSorted(t, d, "KEYS", p)
	}
	c("KEYS")
	c("KEYS", "a", "b")
	compareScan(t, d)
	compareScan(t, d, "COUNT", "1")
	compareScan(t, d, "MATCH", "c*", "COUNT", "3")
	compareScan(t, d, "TYPE", "hash")
	compareScan(t, d, "type", "STRING", "match", "*")
	compareScan(t, d, "TYPE", "zset")
	compareScan(t, d, "TYPE", "bogus")
	c("SCAN", "x")
	c("SCAN", "1.5")
	c("SCAN", " 0")
	c("SCAN", "0 ")
	c("SCAN", "18446744073709551616")
	c("SCAN", "-")
	c("SCAN", "+")
	c("SCAN", "0", "COUNT", "0")
	c("SCAN", "0", "COUNT", "-5")
	c("SCAN", "0", "COUNT", "x")
	c("SCAN", "0", "COUNT")
	c("SCAN", "0", "MATCH")
	c("SCAN", "0", "TYPE")
	c("SCAN", "0", "BAD", "x")
	c("SCAN", "x", "COUNT", "0")
	c("SCAN")

	// RESTORE, with payloads DUMPed by Redis.
	payloads := map[string]string{}
	for _, k := range []string{"n", "long", "h2", "e45"} {
		v, err := d.Redis.Do("DUMP", k)
		if err != nil {
			t.Fatal(err)
		}
		payloads[k] = string(v.Str)
	}
	c("RESTORE", "n", "0", payloads["n"])
	c("RESTORE", "r1", "0", payloads["n"])
	c("GET", "r1")
	c("RESTORE", "r1", "0", payloads["h2"], "REPLACE")
	c("HGETALL", "r1")
	c("OBJECT", "ENCODING", "r1")
	c("RESTORE", "r2", "100000", payloads["long"])
	c("TTL", "r2")
	c("OBJECT", "ENCODING", "r2")
	c("RESTORE", "r3", futureMs, payloads["e45"], "ABSTTL")
	c("PEXPIRETIME", "r3")
	c("RESTORE", "r4", "1", payloads["n"], "ABSTTL")
	c("EXISTS", "r4")
	c("RESTORE", "r3", "1", payloads["n"], "ABSTTL", "REPLACE")
	c("EXISTS", "r3")
	c("RESTORE", "r4", "9223372036854775807", payloads["n"])
	c("EXISTS", "r4")
	c("RESTORE", "r5", "0", payloads["n"], "IDLETIME", "1000")
	c("OBJECT", "IDLETIME", "r5")
	c("RESTORE", "r5", "0", payloads["n"], "REPLACE", "FREQ", "100")
	c("RESTORE", "r6", "0", payloads["n"], "IDLETIME")
	c("RESTORE", "r6", "0", payloads["n"], "IDLETIME", "-1")
	c("RESTORE", "r6", "0", payloads["n"], "IDLETIME", "x")
	c("RESTORE", "r6", "0", payloads["n"], "FREQ", "256")
	c("RESTORE", "r6", "0", payloads["n"], "FREQ", "-1")
	c("RESTORE", "r6", "0", payloads["n"], "FREQ", "x")
	c("RESTORE", "r6", "0", payloads["n"], "IDLETIME", "1", "FREQ", "1")
	c("RESTORE", "r6", "0", payloads["n"], "FREQ", "1", "IDLETIME", "1")
	c("RESTORE", "r6", "0", payloads["n"], "BOGUS")
	c("RESTORE", "r1", "0", payloads["n"])
	c("RESTORE", "r1", "x", "junk")
	c("RESTORE", "r1", "x", "junk", "BAD")
	c("RESTORE", "r6", "-1", payloads["n"])
	c("RESTORE", "r6", "x", payloads["n"])
	c("RESTORE", "r6", "0", "")
	c("RESTORE", "r6", "0", "123456789")
	c("RESTORE", "r6", "0", payloads["n"][:len(payloads["n"])-1])
	c("RESTORE", "r6", "0", payloadOf("\x00\x05hello", 10))
	c("RESTORE", "r7", "0", payloadOf("\x00\x05hello", 9))
	c("RESTORE", "r7", "0", payloadOf("\x00\x05hello", 12))
	// Redis decodes from the whole payload: a length that overruns into
	// the footer is accepted, trailing bytes are ignored.
	c("RESTORE", "r8", "0", payloadOf("\x00\x06hello", 10))
	c("GET", "r8")
	c("RESTORE", "r8a", "0", payloadOf("\x00\x05hello world", 10))
	c("GET", "r8a")
	for i, p := range []string{
		"\x00\x7fhello", "\x63\x05hello", "\x04\x00", "\x00\xc4",
		"\x10\x07\x07\x00\x00\x00\x00\x00\xff", "\x00\xc3\x01\x00\x00", "\x00\xc3\x02\x05\x00a",
		"\x04\x02\x01a\x01b\x01c\x01d", "\x04\x01\x01a\xc0\x05", "\x00\xc2\x01\x02\x03\x04",
	} {
		k := "r9:" + strconv.Itoa(i)
		c("RESTORE", k, "0", payloadOf(p, 10))
		c("TYPE", k)
		c("DUMP", k)
	}
	c("EXISTS", "r6", "r7", "r8")
	c("RESTORE", "r8", "0")
	c("DUMP")
	c("DUMP", "a", "b")

	// DBSIZE / FLUSHDB / FLUSHALL (no expired keys are pending here).
	c("DBSIZE")
	c("DBSIZE", "x")
	c("FLUSHDB", "x")
	c("FLUSHDB", "ASYNC", "x")
	c("FLUSHALL", "x")
	c("FLUSHALL", "SYNC", "ASYNC")
	c("DBSIZE")
	c("FLUSHDB", "sync")
	c("DBSIZE")
	c("SET", "a", "1")
	c("FLUSHDB", "ASYNC")
	c("SET", "a", "1")
	c("FLUSHALL", "async")
	c("SET", "a", "1")
	c("FLUSHALL", "SYNC")
	c("SET", "a", "1")
	c("FLUSHALL")
	c("SET", "a", "1")
	c("FLUSHDB")
	c("DBSIZE")
	c("RANDOMKEY")
	c("SET", "only", "1")
	c("RANDOMKEY")
	c("RANDOMKEY", "x")
	compareSorted(t, d, "KEYS", "*")
}

// compareTTL compares TTL allowing one second of difference: the two
// sides read the clock a few milliseconds apart, which can cross Redis's
// rounding boundary for absolute expiry times.
func compareTTL(t *testing.T, d *commandtest.Diff, key string) {
	t.Helper()
	want, err := d.Redis.Do("TTL", key)
	if err != nil {
		t.Fatal(err)
	}
	d.H.Now = time.Now().UnixMilli()
	got := d.H.Do("TTL", key)
	if got.Kind != want.Kind || got.Int < want.Int-1 || got.Int > want.Int+1 || (want.Int < 0 && got.Int != want.Int) {
		t.Errorf("TTL %s: cairn %s, redis %s", key, got, want)
	}
}

// compareExpireTime compares (P)EXPIRETIME allowing slack: an expiry set
// with a relative EXPIRE is absolute from each side's own clock, and the
// two sides read their clocks up to a few milliseconds apart (more on a
// loaded machine). Negative replies (-1, -2) must match exactly.
func compareExpireTime(t *testing.T, d *commandtest.Diff, cmd, key string, slack int64) {
	t.Helper()
	want, err := d.Redis.Do(cmd, key)
	if err != nil {
		t.Fatal(err)
	}
	d.H.Now = time.Now().UnixMilli()
	got := d.H.Do(cmd, key)
	if got.Kind != want.Kind || (want.Int < 0 && got.Int != want.Int) || got.Int < want.Int-slack || got.Int > want.Int+slack {
		t.Errorf("%s %s: cairn %s, redis %s", cmd, key, got, want)
	}
}

// TestDiffRandom runs a seeded random sequence of the family's commands
// (mixed with string and hash writes) over a small key space on both sides.
func TestDiffRandom(t *testing.T) {
	diffRandom(t, 42, 3000, false)
	// The same with the keyspace events compared too (all classes but
	// expired events, which Redis raises when it gets round to it).
	diffRandom(t, 43, 1500, true)
}

func diffRandom(t *testing.T, seed uint64, steps int, events bool) {
	var d *commandtest.Diff
	var compare func(args ...string) (got, want reply.Value)
	if events {
		ed := commandtest.NewEventDiff(t, "g$lshzetd", Specs, strs.Specs, hashes.Specs)
		d, compare = ed.Diff, ed.Compare
	} else {
		d = newDiff(t)
		compare = d.Compare
	}
	r := rand.New(rand.NewPCG(seed, 1))
	keys := []string{"k0", "k1", "k2", "k3", "k4", "k5"}
	key := func() string { return keys[r.IntN(len(keys))] }
	farMs := time.Now().UnixMilli() + 1000000000
	at := func() string { return strconv.FormatInt(farMs+int64(r.IntN(10))*1000000, 10) }
	flag := func(opts ...string) []string {
		if r.IntN(2) == 0 {
			return nil
		}
		return []string{opts[r.IntN(len(opts))]}
	}
	var payloads []string
	more := commandtest.RandomSteps(steps)
	for i := 0; more(i); i++ {
		var args []string
		switch r.IntN(26) {
		case 0, 1:
			v := []string{"v", "12", "-7", strings.Repeat("long", 20), ""}[r.IntN(5)]
			args = []string{"SET", key(), v}
		case 2, 3:
			args = []string{"HSET", key(), "f" + strconv.Itoa(r.IntN(4)), strconv.Itoa(r.IntN(300))}
		case 4:
			args = []string{"DEL", key(), key()}
		case 5:
			args = []string{"UNLINK", key()}
		case 6:
			args = []string{"EXISTS", key(), key(), key()}
		case 7:
			args = []string{"TYPE", key()}
		case 8:
			args = []string{"RENAME", key(), key()}
		case 9:
			args = []string{"RENAMENX", key(), key()}
		case 10:
			args = append([]string{"COPY", key(), key()}, flag("REPLACE", "DB", "bogus")...)
			if args[len(args)-1] == "DB" {
				args = append(args, "0")
			}
		case 11:
			args = append([]string{"EXPIRE", key(), strconv.Itoa(100 + 100*r.IntN(3))}, flag("NX", "XX")...)
		case 12:
			args = append([]string{"PEXPIREAT", key(), at()}, flag("NX", "XX", "GT", "LT")...)
		case 13:
			args = []string{"EXPIRE", key(), "-1"}
		case 14:
			args = []string{"PERSIST", key()}
		case 15:
			compareTTL(t, d, key())
			continue
		case 16:
			compareExpireTime(t, d, "PEXPIRETIME", key(), 1500)
			continue
		case 17:
			compareExpireTime(t, d, "EXPIRETIME", key(), 2)
			continue
		case 18:
			args = []string{"OBJECT", "ENCODING", key()}
		case 19:
			args = []string{"TOUCH", key(), key()}
		case 20:
			k := key()
			args = []string{"DUMP", k}
			if v, err := d.Redis.Do("DUMP", k); err == nil && v.Kind == reply.KindBulk {
				payloads = append(payloads, string(v.Str))
			}
		case 21:
			if len(payloads) == 0 {
				continue
			}
			args = append([]string{"RESTORE", key(), "0", payloads[r.IntN(len(payloads))]}, flag("REPLACE")...)
		case 22:
			args = []string{"GET", key()}
		case 23:
			args = []string{"HGETALL", key()}
		case 24:
			compareSorted(t, d, "KEYS", "*")
			continue
		case 25:
			if r.IntN(20) == 0 {
				args = []string{"FLUSHDB"}
			} else {
				args = []string{"DBSIZE"}
			}
		}
		compare(args...)
		if t.Failed() {
			t.Fatalf("stopped after step %d", i)
		}
	}
	compareScan(t, d)
}
