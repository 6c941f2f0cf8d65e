package hashes

import (
	"strconv"
	"strings"
	"testing"

	"github.com/cairndb/cairn/server/command/commandtest"
	"github.com/cairndb/cairn/server/keyspace"
)

const (
	wrongType = "(error) WRONGTYPE Operation against a key holding the wrong kind of value"
	notInt    = "(error) ERR value is not an integer or out of range"
	syntaxErr = "(error) ERR syntax error"
)

// step is one command and the String form of its expected reply.
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

func hashAt(t *testing.T, h *commandtest.Harness, key string) *keyspace.Hash {
	t.Helper()
	it := h.DB.Get([]byte(key), h.Now)
	if it == nil {
		return nil
	}
	return it.Obj.(*keyspace.Hash)
}

func TestHSetHMSet(t *testing.T) {
	run(t,
		s("1", "HSET", "h", "a", "1"),
		s("2", "hset", "h", "b", "2", "c", "3"),
		s("0", "HSET", "h", "a", "10"),
		s("1", "HSET", "h", "a", "11", "d", "4"),
		s("[a 11 b 2 c 3 d 4]", "HGETALL", "h"),
		s("1", "HSET", "h", "a", "x", "a", "y", "e", "5", "e", "6"),
		s("[a y b 2 c 3 d 4 e 6]", "HGETALL", "h"),
		s("(error) ERR wrong number of arguments for 'hset' command", "HSET", "h", "a", "1", "b"),
		s("(error) ERR wrong number of arguments for 'hset' command", "HSET", "h", "a"),
		s("(error) ERR wrong number of arguments for 'hmset' command", "HMSET", "h", "a", "1", "b"),
		s("OK", "HMSET", "h", "f", "7", "a", "z"),
		s("OK", "hmset", "h2", "f", "7"),
		s("[a z b 2 c 3 d 4 e 6 f 7]", "HGETALL", "h"),
		s("1", "HSET", "h", "", ""),
		s("", "HGET", "h", ""),
		s(wrongType, "HSET", "str", "a", "1"),
		s(wrongType, "HMSET", "str", "a", "1"),
		// Arity is checked before the key's type, as Redis does.
		s("(error) ERR wrong number of arguments for 'hset' command", "HSET", "str", "a", "1", "b"),
		s("(nil)", "HGET", "h", "a\x00"),
	)
}

func TestHSetNX(t *testing.T) {
	h := run(t,
		s("1", "HSETNX", "h", "a", "1"),
		s("0", "HSETNX", "h", "a", "2"),
		s("1", "HGET", "h", "a"),
		s("1", "HSETNX", "h", "b", "2"),
		s("[a 1 b 2]", "HGETALL", "h"),
		s(wrongType, "HSETNX", "str", "a", "1"),
	)
	// An existing field with a long value does not convert the hash.
	h.Check("0", "HSETNX", "h", "a", strings.Repeat("x", 100))
	if e := hashAt(t, h, "h").Encoding(); e != "listpack" {
		t.Fatalf("encoding %s", e)
	}
	h.Check("1", "HSETNX", "h", "c", strings.Repeat("x", 100))
	if e := hashAt(t, h, "h").Encoding(); e != "hashtable" {
		t.Fatalf("encoding %s", e)
	}
}

func TestHGetHMGet(t *testing.T) {
	run(t,
		s("(nil)", "HGET", "h", "a"),
		s("[(nil) (nil)]", "HMGET", "h", "a", "b"),
		s("2", "HSET", "h", "a", "1", "b", "2"),
		s("1", "HGET", "h", "a"),
		s("(nil)", "HGET", "h", "c"),
		s("[2 (nil) 1 2]", "HMGET", "h", "b", "c", "a", "b"),
		s(wrongType, "HGET", "str", "a"),
		s(wrongType, "HMGET", "str", "a"),
	)
}

func TestHDel(t *testing.T) {
	h := run(t,
		s("0", "HDEL", "h", "a"),
		s("3", "HSET", "h", "a", "1", "b", "2", "c", "3"),
		s("0", "HDEL", "h", "x", "y"),
		s("1", "HDEL", "h", "b", "x"),
		s("[a 1 c 3]", "HGETALL", "h"),
		s("1", "HSET", "h", "b", "4"),
		s("[a 1 c 3 b 4]", "HGETALL", "h"),
		s("3", "HDEL", "h", "a", "a", "c", "b", "z"),
		s("0", "HLEN", "h"),
		s(wrongType, "HDEL", "str", "a"),
	)
	if h.DB.Peek([]byte("h")) != nil {
		t.Fatal("empty hash not deleted")
	}
}

func TestHLenHStrlenHExists(t *testing.T) {
	run(t,
		s("0", "HLEN", "h"),
		s("0", "HSTRLEN", "h", "a"),
		s("0", "HEXISTS", "h", "a"),
		s("3", "HSET", "h", "a", "hello", "b", "", "c", "-123"),
		s("3", "HLEN", "h"),
		s("5", "HSTRLEN", "h", "a"),
		s("0", "HSTRLEN", "h", "b"),
		s("4", "HSTRLEN", "h", "c"),
		s("0", "HSTRLEN", "h", "d"),
		s("1", "HEXISTS", "h", "b"),
		s("0", "HEXISTS", "h", "d"),
		s(wrongType, "HLEN", "str"),
		s(wrongType, "HSTRLEN", "str", "a"),
		s(wrongType, "HEXISTS", "str", "a"),
	)
}

func TestHKeysHValsHGetAll(t *testing.T) {
	h := run(t,
		s("[]", "HKEYS", "h"),
		s("[]", "HVALS", "h"),
		s("[]", "HGETALL", "h"),
		s("3", "HSET", "h", "z", "1", "a", "2", "m", "3"),
		s("[z a m]", "HKEYS", "h"),
		s("[1 2 3]", "HVALS", "h"),
		s("[z 1 a 2 m 3]", "HGETALL", "h"),
		s(wrongType, "HKEYS", "str"),
		s(wrongType, "HVALS", "str"),
		s(wrongType, "HGETALL", "str"),
	)
	if v := h.Do("HGETALL", "h"); v.Kind != 7 /* reply.KindMap */ {
		t.Fatalf("HGETALL kind %d, want map", v.Kind)
	}
	if v := h.Do("HGETALL", "nokey"); v.Kind != 7 {
		t.Fatalf("HGETALL of a missing key: kind %d, want map", v.Kind)
	}
}

func TestEncodingConversion(t *testing.T) {
	h := run(t)
	for i := 0; i < 128; i++ {
		h.Check("1", "HSET", "h", "f"+strconv.Itoa(i), "v")
	}
	if e := hashAt(t, h, "h").Encoding(); e != "listpack" {
		t.Fatalf("128 fields: %s", e)
	}
	h.Check("1", "HSET", "h", "f128", "v")
	if e := hashAt(t, h, "h").Encoding(); e != "hashtable" {
		t.Fatalf("129 fields: %s", e)
	}
	h.Check("1", "HSET", "h2", "a", strings.Repeat("x", 64))
	if e := hashAt(t, h, "h2").Encoding(); e != "listpack" {
		t.Fatalf("64-byte value: %s", e)
	}
	h.Check("1", "HSET", "h2", strings.Repeat("y", 65), "1")
	if e := hashAt(t, h, "h2").Encoding(); e != "hashtable" {
		t.Fatalf("65-byte field: %s", e)
	}
}

func TestHIncrBy(t *testing.T) {
	run(t,
		s("5", "HINCRBY", "h", "a", "5"),
		s("2", "HINCRBY", "h", "a", "-3"),
		s("2", "HGET", "h", "a"),
		s("-1", "HINCRBY", "h", "b", "-1"),
		s(notInt, "HINCRBY", "h", "a", "1.5"),
		s(notInt, "HINCRBY", "h", "a", "+1"),
		s(notInt, "HINCRBY", "h", "a", " 1"),
		s(notInt, "HINCRBY", "h", "a", "01"),
		s(notInt, "HINCRBY", "h", "a", "9223372036854775808"),
		s(notInt, "HINCRBY", "str", "a", "x"), // increment before type
		s(wrongType, "HINCRBY", "str", "a", "1"),
		s("1", "HSET", "h", "s", "abc"),
		s("(error) ERR hash value is not an integer", "HINCRBY", "h", "s", "1"),
		s("0", "HSET", "h", "s", "-0"),
		s("(error) ERR hash value is not an integer", "HINCRBY", "h", "s", "1"),
		s("1", "HSET", "h", "m", "9223372036854775806"),
		s("9223372036854775807", "HINCRBY", "h", "m", "1"),
		s("(error) ERR increment or decrement would overflow", "HINCRBY", "h", "m", "1"),
		s("-1", "HINCRBY", "h", "m", "-9223372036854775808"),
		s("-9223372036854775808", "HINCRBY", "h", "m", "-9223372036854775807"),
		s("(error) ERR increment or decrement would overflow", "HINCRBY", "h", "m", "-1"),
		s("-9223372036854775808", "HGET", "h", "m"),
		s("0", "HINCRBY", "h", "z", "0"),
		s("[a 2 b -1 s -0 m -9223372036854775808 z 0]", "HGETALL", "h"),
	)
}

func TestHIncrByFloat(t *testing.T) {
	run(t,
		s("10.5", "HINCRBYFLOAT", "h", "a", "10.5"),
		s("10.6", "HINCRBYFLOAT", "h", "a", "0.1"),
		s("5.6", "HINCRBYFLOAT", "h", "a", "-5"),
		s("5.6", "HGET", "h", "a"),
		s("1", "HSET", "h", "b", "5.0e3"),
		s("5200", "HINCRBYFLOAT", "h", "b", "2.0e2"),
		s("3", "HINCRBYFLOAT", "h", "c", "3.0000000000000000001"),
		s("0.5", "HINCRBYFLOAT", "h", "d", "0x1p-1"),
		s("0", "HINCRBYFLOAT", "h", "e", "-0"),
		s("0", "HINCRBYFLOAT", "h", "f", "-1e-18"),
		s("0.00000000000000002", "HINCRBYFLOAT", "h", "g", "0.000000000000000015"),
		s("(error) ERR value is not a valid float", "HINCRBYFLOAT", "h", "a", "abc"),
		s("(error) ERR value is not a valid float", "HINCRBYFLOAT", "h", "a", "nan"),
		s("(error) ERR value is not a valid float", "HINCRBYFLOAT", "h", "a", " 1"),
		s("(error) ERR value is not a valid float", "HINCRBYFLOAT", "h", "a", "1e5000"),
		s("(error) ERR value is not a valid float", "HINCRBYFLOAT", "h", "a", "1e-5000"),
		s("(error) ERR value is not a valid float", "HINCRBYFLOAT", "str", "a", "x"),
		s("(error) ERR value is NaN or Infinity", "HINCRBYFLOAT", "h", "a", "inf"),
		s("(error) ERR value is NaN or Infinity", "HINCRBYFLOAT", "h", "a", "-Infinity"),
		s("(error) ERR value is NaN or Infinity", "HINCRBYFLOAT", "str", "a", "inf"),
		s(wrongType, "HINCRBYFLOAT", "str", "a", "1"),
		s("1", "HSET", "h", "x", "1.5abc"),
		s("(error) ERR hash value is not a float", "HINCRBYFLOAT", "h", "x", "1"),
		s("1", "HSET", "h", "y", "inf"),
		s("(error) ERR increment would produce NaN or Infinity", "HINCRBYFLOAT", "h", "y", "1"),
		s("1", "HSET", "h", "big", "0x1.fffffffffffffffep+16383"),
		s("(error) ERR increment would produce NaN or Infinity", "HINCRBYFLOAT", "h", "big", "0x1p16383"),
		s("0x1.fffffffffffffffep+16383", "HGET", "h", "big"),
	)
}

func TestHRandField(t *testing.T) {
	h := run(t,
		s("(nil)", "HRANDFIELD", "h"),
		s("[]", "HRANDFIELD", "h", "5"),
		s("[]", "HRANDFIELD", "h", "-5", "WITHVALUES"),
		s(notInt, "HRANDFIELD", "h", "x"),
		s(syntaxErr, "HRANDFIELD", "h", "1", "withvalue"),
		s(syntaxErr, "HRANDFIELD", "h", "1", "withvalues", "x"),
		s("(error) ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807", "HRANDFIELD", "h", "-9223372036854775808"),
		s("(error) ERR value is out of range", "HRANDFIELD", "h", "-4611686018427387904", "WITHVALUES"),
		s("(error) ERR value is out of range", "HRANDFIELD", "h", "4611686018427387904", "WITHVALUES"),
		s("[]", "HRANDFIELD", "h", "4611686018427387903", "WITHVALUES"),
		s(wrongType, "HRANDFIELD", "str"),
		s(wrongType, "HRANDFIELD", "str", "1"),
		s(notInt, "HRANDFIELD", "str", "x"),
		s("3", "HSET", "h", "a", "1", "b", "2", "c", "3"),
		s("[]", "HRANDFIELD", "h", "0"),
		s("[]", "HRANDFIELD", "h", "0", "WITHVALUES"),
		s("[a b c]", "HRANDFIELD", "h", "3"),
		s("[a 1 b 2 c 3]", "HRANDFIELD", "h", "100", "withvalues"),
		s("(error) ERR value is out of range", "HRANDFIELD", "h", "-100000000"),
	)
	fields := map[string]string{"a": "1", "b": "2", "c": "3"}
	for i := 0; i < 50; i++ {
		v := h.Do("HRANDFIELD", "h")
		if _, ok := fields[string(v.Str)]; !ok {
			t.Fatalf("HRANDFIELD: %s", v)
		}
		v = h.Do("HRANDFIELD", "h", "2")
		if len(v.Elems) != 2 || string(v.Elems[0].Str) == string(v.Elems[1].Str) {
			t.Fatalf("HRANDFIELD 2: %s", v)
		}
		v = h.Do("HRANDFIELD", "h", "-7", "WITHVALUES")
		if len(v.Elems) != 14 {
			t.Fatalf("HRANDFIELD -7 WITHVALUES: %s", v)
		}
		for j := 0; j < 14; j += 2 {
			if fields[string(v.Elems[j].Str)] != string(v.Elems[j+1].Str) {
				t.Fatalf("HRANDFIELD -7 WITHVALUES: %s", v)
			}
		}
	}
}

// TestHRandFieldDistribution checks every sampling path returns distinct
// (or, for negative counts, valid) fields and reaches every field.
func TestHRandFieldDistribution(t *testing.T) {
	for _, size := range []int{5, 100, 1000} {
		h := run(t)
		for i := 0; i < size; i++ {
			h.Check("1", "HSET", "h", "f"+strconv.Itoa(i), strconv.Itoa(i))
		}
		for _, count := range []int{1, 2, size / 3, size / 2, size - 1, size, size + 1, -1, -size, -3 * size} {
			if count == 0 {
				continue
			}
			seen := map[string]int{}
			for round := 0; round < 30; round++ {
				h.Seed++
				h.Now++
				v := h.Do("HRANDFIELD", "h", strconv.Itoa(count), "WITHVALUES")
				want := count
				if count < 0 {
					want = -count
				} else if count > size {
					want = size
				}
				if len(v.Elems) != 2*want {
					t.Fatalf("size %d count %d: %d elements", size, count, len(v.Elems))
				}
				round := map[string]bool{}
				for j := 0; j < len(v.Elems); j += 2 {
					f, val := string(v.Elems[j].Str), string(v.Elems[j+1].Str)
					if "f"+val != f {
						t.Fatalf("size %d count %d: pair %s %s", size, count, f, val)
					}
					if count > 0 && round[f] {
						t.Fatalf("size %d count %d: %s repeated", size, count, f)
					}
					round[f] = true
					seen[f]++
				}
			}
			if 30*abs(int64(count)) >= int64(10*size) && len(seen) != size {
				t.Errorf("size %d count %d: saw only %d fields", size, count, len(seen))
			}
		}
	}
}

func TestHScan(t *testing.T) {
	h := run(t,
		s("[0 []]", "HSCAN", "h", "0"),
		s("[0 []]", "HSCAN", "h", "0", "bogus"), // a missing key is not parsed further
		s("(error) ERR invalid cursor", "HSCAN", "h", "x"),
		s(wrongType, "HSCAN", "str", "0"),
		s("(error) ERR invalid cursor", "HSCAN", "str", "x"),
		s("3", "HSET", "h", "a1", "1", "b1", "2", "a2", "3"),
		s("[0 [a1 1 b1 2 a2 3]]", "HSCAN", "h", "0"),
		s("[0 [a1 1 b1 2 a2 3]]", "HSCAN", "h", "12345", "COUNT", "1"),
		s("[0 [a1 1 a2 3]]", "HSCAN", "h", "0", "MATCH", "a*"),
		s("[0 [a1 1 a2 3]]", "HSCAN", "h", "0", "match", "b*", "match", "a?"),
		s("[0 []]", "HSCAN", "h", "0", "MATCH", "z*"),
		s("[0 [a1 1 b1 2 a2 3]]", "HSCAN", "h", "", "MATCH", "*"),
		s("[0 [a1 1 b1 2 a2 3]]", "HSCAN", "h", "-1"),
		s("[0 [a1 1 b1 2 a2 3]]", "HSCAN", "h", "+5"),
		s("[0 [a1 1 b1 2 a2 3]]", "HSCAN", "h", "18446744073709551615"),
		s("(error) ERR invalid cursor", "HSCAN", "h", "18446744073709551616"),
		s("(error) ERR invalid cursor", "HSCAN", "h", " 1"),
		s("(error) ERR invalid cursor", "HSCAN", "h", "1 "),
		s("(error) ERR invalid cursor", "HSCAN", "h", "-"),
		s("(error) ERR invalid cursor", "HSCAN", "h", "0x1"),
		s(syntaxErr, "HSCAN", "h", "0", "COUNT", "0"),
		s(syntaxErr, "HSCAN", "h", "0", "COUNT", "-1"),
		s(notInt, "HSCAN", "h", "0", "COUNT", "x"),
		s(syntaxErr, "HSCAN", "h", "0", "COUNT"),
		s(syntaxErr, "HSCAN", "h", "0", "MATCH"),
		s(syntaxErr, "HSCAN", "h", "0", "NOVALUES"),
		s(syntaxErr, "HSCAN", "h", "0", "TYPE", "string"),
		s(syntaxErr, "HSCAN", "h", "0", "COUNT", "0", "COUNT", "x"),
		s(notInt, "HSCAN", "h", "0", "COUNT", "x", "COUNT", "0"),
	)
	// A hashtable is walked COUNT fields at a time.
	for i := 0; i < 200; i++ {
		h.Check("1", "HSET", "big", "f"+strconv.Itoa(i), "v")
	}
	seen := map[string]int{}
	cursor := "0"
	calls := 0
	for {
		v := h.Do("HSCAN", "big", cursor, "COUNT", "7")
		calls++
		if n := len(v.Elems[1].Elems); n != 14 && v.Elems[0].String() != "0" {
			t.Fatalf("call %d returned %d elements", calls, n/2)
		}
		for j := 0; j < len(v.Elems[1].Elems); j += 2 {
			seen[v.Elems[1].Elems[j].String()]++
		}
		cursor = v.Elems[0].String()
		if cursor == "0" {
			break
		}
	}
	if len(seen) != 200 || calls != 29 {
		t.Fatalf("saw %d fields in %d calls", len(seen), calls)
	}
	for f, n := range seen {
		if n != 1 {
			t.Fatalf("%s returned %d times", f, n)
		}
	}
	// MATCH filters after visiting: a call may return nothing.
	v := h.Do("HSCAN", "big", "0", "MATCH", "nomatch*", "COUNT", "5")
	if v.Elems[0].String() == "0" || len(v.Elems[1].Elems) != 0 {
		t.Fatalf("HSCAN MATCH nomatch*: %s", v)
	}
}

// TestCommandInfo checks key positions, arity and flags against Redis's
// COMMAND INFO.
func TestCommandInfo(t *testing.T) {
	want := map[string]string{
		"hset": "-4 write,denyoom,fast write,hash,fast", "hsetnx": "4 write,denyoom,fast write,hash,fast",
		"hget": "3 readonly,fast read,hash,fast", "hmset": "-4 write,denyoom,fast write,hash,fast",
		"hmget": "-3 readonly,fast read,hash,fast", "hdel": "-3 write,fast write,hash,fast",
		"hlen": "2 readonly,fast read,hash,fast", "hstrlen": "3 readonly,fast read,hash,fast",
		"hexists": "3 readonly,fast read,hash,fast", "hkeys": "2 readonly read,hash,slow",
		"hvals": "2 readonly read,hash,slow", "hgetall": "2 readonly read,hash,slow",
		"hincrby": "4 write,denyoom,fast write,hash,fast", "hincrbyfloat": "4 write,denyoom,fast write,hash,fast",
		"hrandfield": "-2 readonly read,hash,slow", "hscan": "-3 readonly read,hash,slow",
	}
	if len(Specs) != len(want) {
		t.Fatalf("%d specs", len(Specs))
	}
	for _, sp := range Specs {
		got := strconv.Itoa(sp.Arity) + " " + strings.Join(sp.Flags.Names(), ",") + " " + strings.Join(sp.ACL, ",")
		if got != want[sp.Name] {
			t.Errorf("%s: %q, want %q", sp.Name, got, want[sp.Name])
		}
		if sp.FirstKey != 1 || sp.LastKey != 1 || sp.Step != 1 || sp.Group != "hash" || sp.Run == nil {
			t.Errorf("%s: keys %d %d %d group %q", sp.Name, sp.FirstKey, sp.LastKey, sp.Step, sp.Group)
		}
	}
}

// TestHScanEmptyField checks that MATCH * returns an empty field (Redis
// skips the pattern "*") while ** does not (stringmatchlen never matches
// an empty string).
func TestHScanEmptyField(t *testing.T) {
	run(t,
		s("2", "HSET", "h", "", "1", "a", "2"),
		s("[0 [ 1 a 2]]", "HSCAN", "h", "0", "MATCH", "*"),
		s("[0 [a 2]]", "HSCAN", "h", "0", "MATCH", "**"),
	)
}

func abs(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}
