package keys

import (
	"encoding/binary"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/cairndb/cairn/server/command/commandtest"
	"github.com/cairndb/cairn/server/rdb"
	"github.com/cairndb/cairn/server/reply"
)

// crcOf returns the RDB footer CRC of body (which ends with the version).
func crcOf(body string) string {
	return string(binary.LittleEndian.AppendUint64(nil, rdb.CRC64(0, []byte(body))))
}

// payloadOf wraps an RDB object (type byte + body) into a DUMP payload.
func payloadOf(obj string, version uint16) string {
	p := obj + string(binary.LittleEndian.AppendUint16(nil, version))
	return p + crcOf(p)
}

func TestDumpRestore(t *testing.T) {
	h := newHarness(t)
	h.Do("SET", "s", "hello")
	h.Do("SET", "n", "12345")
	h.Do("SET", "long", strings.Repeat("abc", 100))
	h.Do("HSET", "h", "a", "1", "b", "two")
	dumps := map[string]string{}
	for _, k := range []string{"s", "n", "long", "h"} {
		v := h.Do("DUMP", k)
		if v.Kind != reply.KindBulk {
			t.Fatalf("DUMP %s: %s", k, v)
		}
		dumps[k] = string(v.Str)
	}
	if dumps["s"] != "\x00\x05hello\x0a\x00"+crcOf("\x00\x05hello\x0a\x00") {
		t.Fatalf("DUMP s = %q", dumps["s"])
	}
	if dumps["n"] != "\x00\xc1\x39\x30\x0a\x00"+crcOf("\x00\xc1\x39\x30\x0a\x00") {
		t.Fatalf("DUMP n = %q", dumps["n"])
	}
	run(t, h, []step{
		{a("DUMP", "nope"), "(nil)"},
		{a("RESTORE", "s", "0", dumps["s"]), "(error) BUSYKEY Target key name already exists."},
		{a("RESTORE", "s2", "0", dumps["s"]), "OK"},
		{a("GET", "s2"), "hello"},
		{a("TTL", "s2"), "-1"},
		{a("OBJECT", "ENCODING", "s2"), "embstr"},
		{a("RESTORE", "n2", "0", dumps["n"]), "OK"},
		{a("GET", "n2"), "12345"},
		{a("OBJECT", "ENCODING", "n2"), "int"},
		{a("RESTORE", "long2", "0", dumps["long"]), "OK"},
		{a("GET", "long2"), strings.Repeat("abc", 100)},
		{a("OBJECT", "ENCODING", "long2"), "raw"},
		{a("RESTORE", "h2", "0", dumps["h"]), "OK"},
		{a("HGETALL", "h2"), "[a 1 b two]"},
		{a("OBJECT", "ENCODING", "h2"), "listpack"},
		{a("RESTORE", "s", "0", dumps["h"], "REPLACE"), "OK"},
		{a("TYPE", "s"), "hash"},
		{a("RESTORE", "t", "5000", dumps["s"]), "OK"},
		{a("PTTL", "t"), "5000"},
		{a("RESTORE", "t", "5000", dumps["s"]), "(error) BUSYKEY Target key name already exists."},
		{a("RESTORE", "t2", strconv.FormatInt(h.Now+7000, 10), dumps["s"], "ABSTTL"), "OK"},
		{a("PTTL", "t2"), "7000"},
		// A TTL in the past: OK, but no key; with REPLACE the old one goes.
		{a("RESTORE", "p", "1", dumps["s"], "ABSTTL"), "OK"},
		{a("EXISTS", "p"), "0"},
		{a("RESTORE", "t2", "1", dumps["s"], "ABSTTL", "REPLACE"), "OK"},
		{a("EXISTS", "t2"), "0"},
		{a("RESTORE", "p", strconv.FormatInt(h.Now, 10), dumps["s"], "ABSTTL"), "OK"},
		{a("EXISTS", "p"), "0"},
		{a("RESTORE", "p", "9223372036854775807", dumps["s"]), "OK"}, // ttl+now overflows
		{a("EXISTS", "p"), "0"},
		{a("RESTORE", "p", "0", dumps["s"], "IDLETIME", "100"), "OK"},
		{a("OBJECT", "IDLETIME", "p"), "100"},
		{a("RESTORE", "p", "0", dumps["s"], "FREQ", "5", "REPLACE"), "OK"},
		{a("OBJECT", "IDLETIME", "p"), "0"},
		// Errors, in Redis's order.
		{a("RESTORE", "q", "-1", dumps["s"]), "(error) ERR Invalid TTL value, must be >= 0"},
		{a("RESTORE", "q", "x", dumps["s"]), "(error) ERR value is not an integer or out of range"},
		{a("RESTORE", "s2", "x", dumps["s"]), "(error) BUSYKEY Target key name already exists."},
		{a("RESTORE", "s2", "x", "junk", "BAD"), "(error) ERR syntax error"},
		{a("RESTORE", "q", "0", dumps["s"], "IDLETIME"), "(error) ERR syntax error"},
		{a("RESTORE", "q", "0", dumps["s"], "IDLETIME", "-1"), "(error) ERR Invalid IDLETIME value, must be >= 0"},
		{a("RESTORE", "q", "0", dumps["s"], "IDLETIME", "x"), "(error) ERR value is not an integer or out of range"},
		{a("RESTORE", "q", "0", dumps["s"], "FREQ", "256"), "(error) ERR Invalid FREQ value, must be >= 0 and <= 255"},
		{a("RESTORE", "q", "0", dumps["s"], "FREQ", "-1"), "(error) ERR Invalid FREQ value, must be >= 0 and <= 255"},
		{a("RESTORE", "q", "0", dumps["s"], "IDLETIME", "1", "FREQ", "1"), "(error) ERR syntax error"},
		{a("RESTORE", "q", "0", dumps["s"], "FREQ", "1", "IDLETIME", "1"), "(error) ERR syntax error"},
		{a("RESTORE", "q", "0", "short"), "(error) ERR DUMP payload version or checksum are wrong"},
		{a("RESTORE", "q", "0", dumps["s"][:len(dumps["s"])-1]+"X"), "(error) ERR DUMP payload version or checksum are wrong"},
		{a("RESTORE", "q", "0", payloadOf("\x00\x05hello", 12)), "(error) ERR DUMP payload version or checksum are wrong"},
		{a("RESTORE", "q", "0", payloadOf("\x00\x05hello", 11)), "OK"},
		{a("RESTORE", "q2", "0", payloadOf("\x00\x05hello", 6)), "OK"},
		{a("RESTORE", "q3", "0", payloadOf("\x00\x7fhello", 10)), "(error) ERR Bad data format"},
		{a("RESTORE", "q3", "0", payloadOf("\x63\x05hello", 10)), "(error) ERR Bad data format"},
		{a("RESTORE", "q3", "0", payloadOf("\x04\x00", 10)), "(error) ERR Bad data format"},
		{a("RESTORE", "q3", "0", payloadOf("\x04\x02\x01a\x01b\x01a\x01c", 10)), "(error) ERR Bad data format"},
		{a("EXISTS", "q3"), "0"},
		{a("RESTORE", "q3", "0"), "(error) ERR wrong number of arguments for 'restore' command"},
		{a("DUMP"), "(error) ERR wrong number of arguments for 'dump' command"},
	})
	// A failed RESTORE ... REPLACE leaves the old value.
	h.Check("(error) ERR Bad data format", "RESTORE", "s2", "0", payloadOf("\x00\x7fhello", 10), "REPLACE")
	h.Check("hello", "GET", "s2")
}

// TestRestoreOldEncodings restores hash payloads in the encodings of older
// Redis versions: ziplist (13), zipmap (9) and plain (4).
func TestRestoreOldEncodings(t *testing.T) {
	h := newHarness(t)
	// A ziplist hash as Redis 6.2 dumps HSET h a 1 b hello (RDB 9).
	zl := "\x1a\x00\x00\x00\x12\x00\x00\x00\x04\x00\x00\x01a\x03\xf2\x02\x01b\x03\x05hello\xff"
	h.Check("OK", "RESTORE", "zl", "0", payloadOf("\x0d"+string(rune(len(zl)))+zl, 9))
	h.Check("[a 1 b hello]", "HGETALL", "zl")
	zm := "\x02\x03foo\x03\x01bar\x00\x05hello\x05\x00world\xff"
	h.Check("OK", "RESTORE", "zm", "0", payloadOf("\x09"+string(rune(len(zm)))+zm, 3))
	h.Check("[foo bar hello world]", "HGETALL", "zm")
	h.Check("listpack", "OBJECT", "ENCODING", "zm")
	h.Check("OK", "RESTORE", "plain", "0", payloadOf("\x04\x02\x01x\xc0\x07\x01y\x00", 10))
	h.Check("[x 7 y ]", "HGETALL", "plain")
	h.Check("listpack", "OBJECT", "ENCODING", "plain")
	long := strings.Repeat("v", 65)
	h.Check("OK", "RESTORE", "plainbig", "0", payloadOf("\x04\x01\x01x\x40\x41"+long, 10))
	h.Check("hashtable", "OBJECT", "ENCODING", "plainbig")
}

func FuzzRestore(f *testing.F) {
	f.Add([]byte(payloadOf("\x00\x05hello", 10)))
	f.Add([]byte(payloadOf("\x00\xc3\x04\x14\x00a\xe0\x0f\x00\x00", 10)))
	f.Add([]byte(payloadOf("\x04\x02\x01x\xc0\x07\x01y\x00", 10)))
	zl := "\x1a\x00\x00\x00\x12\x00\x00\x00\x04\x00\x00\x01a\x03\xf2\x02\x01b\x03\x05hello\xff"
	f.Add([]byte(payloadOf("\x0d"+string(rune(len(zl)))+zl, 9)))
	f.Add([]byte(payloadOf("\x10\x11\x11\x00\x00\x00\x02\x00\x81a\x02\x01\x01\xff\x00\x00\x00", 10)))
	f.Add([]byte(payloadOf("\x09\x0c\x01\x01a\x01\x00b\xff", 3)))
	h := newHarness(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		// Half the inputs get a valid footer so the decoders are reached.
		p := body
		if len(body) > 0 && body[0]&1 == 0 {
			p = []byte(payloadOf(string(body[1:]), uint16(body[0]>>1)%12))
		}
		h.T = t
		v := h.DoBytes([][]byte{[]byte("RESTORE"), []byte("k"), []byte("0"), p, []byte("REPLACE")})
		switch {
		case v.Kind == reply.KindStatus && string(v.Str) == "OK":
			// Whatever was restored dumps and restores to the same value.
			d := h.Do("DUMP", "k")
			if d.Kind != reply.KindBulk {
				t.Fatalf("DUMP after RESTORE: %s", d)
			}
			if v := h.DoBytes([][]byte{[]byte("RESTORE"), []byte("k2"), []byte("0"), d.Str, []byte("REPLACE")}); v.IsError() {
				t.Fatalf("re-RESTORE: %s", v)
			}
			if d2 := h.Do("DUMP", "k2"); string(d2.Str) != string(d.Str) {
				t.Fatalf("DUMP changed through RESTORE")
			}
		case v.IsError() && (string(v.Str) == "ERR DUMP payload version or checksum are wrong" || string(v.Str) == "ERR Bad data format"):
		default:
			t.Fatalf("RESTORE %q: %s", p, v)
		}
	})
}

// redisClient starts a real Redis for interop tests.
func redisClient(t *testing.T) *commandtest.Client {
	addr := commandtest.StartRedis(t)
	c, err := commandtest.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func mustDo(t *testing.T, c *commandtest.Client, args ...string) reply.Value {
	t.Helper()
	v, err := c.Do(args...)
	if err != nil {
		t.Fatal(err)
	}
	if v.IsError() {
		t.Fatalf("redis %q: %s", args, v)
	}
	return v
}

// interopValues creates the same values in Redis and in the harness:
// strings (short, integer, long compressible) and hashes (small listpack,
// large hashtable, long values).
func interopValues(r *rand.Rand) [][]string {
	var cmds [][]string
	strVals := []string{"", "x", "hello world", "0", "-1", "127", "-32768", "65535", "2147483647",
		"-2147483648", "4294967296", "9223372036854775807", "007", "1.5",
		strings.Repeat("abcdefgh", 100), strings.Repeat("z", 10000), strings.Repeat("0123456789", 3),
		strings.Repeat("lorem ipsum dolor sit amet ", 40)}
	for i, v := range strVals {
		cmds = append(cmds, []string{"SET", "str:" + strconv.Itoa(i), v})
	}
	for i := 0; i < 20; i++ {
		b := make([]byte, r.IntN(3000)+1)
		for j := range b {
			b[j] = byte(r.IntN(256))
		}
		cmds = append(cmds, []string{"SET", "bin:" + strconv.Itoa(i), string(b)})
	}
	for i, n := range []int{1, 5, 50, 128, 129, 1000} {
		args := []string{"HSET", "hash:" + strconv.Itoa(i)}
		for j := 0; j < n; j++ {
			var v string
			switch j % 4 {
			case 0:
				v = strconv.Itoa(r.IntN(1 << 20))
			case 1:
				v = strconv.FormatInt(-r.Int64N(1<<62), 10)
			case 2:
				v = strings.Repeat("v", r.IntN(60))
			default:
				v = "value " + strconv.Itoa(j)
			}
			args = append(args, "field:"+strconv.Itoa(j), v)
		}
		cmds = append(cmds, args)
	}
	cmds = append(cmds, []string{"HSET", "hash:longval", "f", strings.Repeat("w", 200), "g", "1"})
	cmds = append(cmds, []string{"HSET", "hash:longfield", strings.Repeat("k", 100), "v"})
	return cmds
}

// content is a type-independent description of a value for comparison.
func content(get func(args ...string) reply.Value, key string) string {
	typ := get("TYPE", key)
	switch string(typ.Str) {
	case "string":
		return "string:" + string(get("GET", key).Str)
	case "hash":
		v := get("HGETALL", key)
		var pairs []string
		for i := 0; i+1 < len(v.Elems); i += 2 {
			pairs = append(pairs, string(v.Elems[i].Str)+"="+string(v.Elems[i+1].Str))
		}
		sort.Strings(pairs)
		return "hash:" + strings.Join(pairs, ",")
	}
	return "type:" + typ.String()
}

func TestRedisInterop(t *testing.T) {
	rc := redisClient(t)
	h := newHarness(t)
	cmds := interopValues(rand.New(rand.NewPCG(3, 4)))
	redisGet := func(args ...string) reply.Value { return mustDo(t, rc, args...) }
	for _, c := range cmds {
		mustDo(t, rc, c...)
		if v := h.Do(c...); v.IsError() {
			t.Fatalf("cairn %q: %s", c[:2], v)
		}
	}
	for _, c := range cmds {
		key := c[1]
		want := content(redisGet, key)
		if got := content(h.Do, key); got != want {
			t.Fatalf("%s differs before the test", key)
		}
		// Redis -> Cairn.
		rdump := mustDo(t, rc, "DUMP", key)
		if v := h.Do("RESTORE", "fromredis", "0", string(rdump.Str), "REPLACE"); v.IsError() {
			t.Fatalf("RESTORE of Redis's DUMP of %s: %s", key, v)
		}
		if got := content(h.Do, "fromredis"); got != want {
			t.Errorf("%s: Redis's DUMP restored in Cairn as %.80q, want %.80q", key, got, want)
		}
		if got, want := h.Do("OBJECT", "ENCODING", "fromredis").String(), redisGet("OBJECT", "ENCODING", key).String(); got != want {
			t.Errorf("%s: restored in Cairn with encoding %s, Redis has %s", key, got, want)
		}
		// Cairn -> Redis.
		cdump := h.Do("DUMP", key)
		if v, err := rc.Do("RESTORE", "fromcairn", "0", string(cdump.Str), "REPLACE"); err != nil || v.IsError() {
			t.Fatalf("Redis RESTORE of Cairn's DUMP of %s: %s %v", key, v, err)
		}
		if got := content(redisGet, "fromcairn"); got != want {
			t.Errorf("%s: Cairn's DUMP restored in Redis as %.80q, want %.80q", key, got, want)
		}
		if got, want := redisGet("OBJECT", "ENCODING", "fromcairn").String(), redisGet("OBJECT", "ENCODING", key).String(); got != want {
			t.Errorf("%s: Cairn's DUMP restored in Redis with encoding %s, want %s", key, got, want)
		}
		// Strings and listpack hashes are byte-identical to Redis's DUMP
		// (hashtable iteration orders differ).
		if enc := redisGet("OBJECT", "ENCODING", key).String(); enc != "hashtable" && string(cdump.Str) != string(rdump.Str) {
			t.Errorf("%s: DUMP differs from Redis's:\n cairn %q\n redis %q", key, cdump.Str, rdump.Str)
		}
	}
	// TTLs travel with RESTORE's argument, not the payload.
	rdump := mustDo(t, rc, "DUMP", "str:2")
	h.Check("OK", "RESTORE", "ttl", "60000", string(rdump.Str))
	h.Check("60", "TTL", "ttl")
}
