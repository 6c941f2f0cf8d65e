package sorts

import (
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cairndb/cairn/server/command/bits"
	"github.com/cairndb/cairn/server/command/commandtest"
	"github.com/cairndb/cairn/server/command/hll"
	"github.com/cairndb/cairn/server/reply"
)

// This file is a cross-type differential test of the generic key
// commands (package keys) against redis-server: every value type Cairn
// has, in each of its encodings, through TYPE, OBJECT, DUMP/RESTORE both
// ways, RENAME, COPY, DEL, EXISTS, the expiry commands, SCAN's TYPE
// filter and RANDOMKEY, and every family's commands on keys of the other
// types (WRONGTYPE). It lives here, beside SORT (which needs every
// family), rather than in package keys, whose tests use keys' own
// commands only.

// valueType describes one value type for the cross-type test.
type valueType struct {
	name  string     // what TYPE replies
	build [][]string // commands creating the type's keys
	keys  []string   // the keys built, one per encoding
	// read is the command that lists a key's content; norm renders its
	// reply comparably (sorted for unordered types).
	read func(key string) []string
	norm func(v reply.Value) string
	// wrong are commands of the type's family (with %k for a key of
	// another type) that must fail with WRONGTYPE on other types; mixed
	// are commands that accept some other types (replies compared, not
	// expected to be errors).
	wrong, mixed [][]string
	// listEncoding: Redis 7.0 (the reference) encodes every list as a
	// quicklist, Cairn follows 7.2 (listpack when small).
	listEncoding bool
}

func exactNorm(v reply.Value) string { return v.String() }

func setNorm(v reply.Value) string { return multiset(v) }

func pairsNorm(v reply.Value) string {
	if v.Kind != reply.KindArray {
		return v.String()
	}
	var items []string
	for i := 0; i+1 < len(v.Elems); i += 2 {
		items = append(items, strconv.Quote(string(v.Elems[i].Str))+"="+strconv.Quote(string(v.Elems[i+1].Str)))
	}
	sort.Strings(items)
	return strings.Join(items, ",")
}

func numbered(prefix string, n int, width int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = prefix + strconv.Itoa(i) + strings.Repeat("x", width)
	}
	return out
}

// valueTypes returns the types under test (zset_test.go adds sorted
// sets).
func valueTypes() []valueType {
	bigList := append([]string{"RPUSH", "t:list:q"}, numbered("e", 300, 40)...)
	bigSet := append([]string{"SADD", "t:set:h"}, numbered("m", 300, 0)...)
	bigInts := []string{"SADD", "t:set:i"}
	for i := 0; i < 100; i++ {
		bigInts = append(bigInts, strconv.Itoa(i*7-50))
	}
	bigHash := []string{"HSET", "t:hash:h"}
	for i := 0; i < 200; i++ {
		bigHash = append(bigHash, "f"+strconv.Itoa(i), strconv.Itoa(i))
	}
	types := []valueType{
		{
			name:  "string",
			build: [][]string{{"SET", "t:string:e", "hello"}, {"SET", "t:string:i", "12345"}, {"SET", "t:string:r", strings.Repeat("r", 100)}, {"SET", "t:string:s", "7"}},
			keys:  []string{"t:string:e", "t:string:i", "t:string:r", "t:string:s"},
			read:  func(k string) []string { return []string{"GET", k} },
			norm:  exactNorm,
			wrong: [][]string{{"GET", "%k"}, {"APPEND", "%k", "x"}, {"INCR", "%k"}, {"DECRBY", "%k", "2"}, {"INCRBYFLOAT", "%k", "1.5"},
				{"STRLEN", "%k"}, {"SETRANGE", "%k", "0", "x"}, {"GETRANGE", "%k", "0", "1"}, {"GETSET", "%k", "x"}, {"GETDEL", "%k"},
				{"GETEX", "%k"}, {"LCS", "%k", "t:string:e"}, {"SUBSTR", "%k", "0", "1"},
				{"SETBIT", "%k", "1", "1"}, {"GETBIT", "%k", "1"}, {"BITCOUNT", "%k"}, {"BITPOS", "%k", "1"}, {"BITFIELD", "%k", "GET", "u8", "0"},
				{"BITFIELD_RO", "%k", "GET", "u8", "0"}, {"BITOP", "AND", "t:dst", "%k"},
				{"PFADD", "%k", "a"}, {"PFCOUNT", "%k"}, {"PFMERGE", "%k", "t:string:e"}, {"PFMERGE", "t:dst", "%k"}},
		},
		{
			name:         "list",
			build:        [][]string{{"RPUSH", "t:list:l", "a", "b", "c", "1", "2", "3"}, bigList},
			keys:         []string{"t:list:l", "t:list:q"},
			read:         func(k string) []string { return []string{"LRANGE", k, "0", "-1"} },
			norm:         exactNorm,
			listEncoding: true,
			wrong: [][]string{{"LPUSH", "%k", "x"}, {"RPUSH", "%k", "x"}, {"LPUSHX", "%k", "x"}, {"RPUSHX", "%k", "x"},
				{"LINSERT", "%k", "BEFORE", "a", "x"}, {"LLEN", "%k"}, {"LINDEX", "%k", "0"}, {"LSET", "%k", "0", "x"},
				{"LPOP", "%k"}, {"RPOP", "%k", "2"}, {"LRANGE", "%k", "0", "-1"}, {"LTRIM", "%k", "0", "1"}, {"LPOS", "%k", "a"},
				{"LREM", "%k", "0", "a"}, {"LMOVE", "%k", "t:dst", "LEFT", "RIGHT"}, {"LMOVE", "t:list:l", "%k", "LEFT", "RIGHT"},
				{"RPOPLPUSH", "%k", "t:dst"}, {"LMPOP", "1", "%k", "LEFT"}, {"BLPOP", "%k", "1"}, {"BRPOP", "%k", "1"},
				{"BLMOVE", "%k", "t:dst", "LEFT", "LEFT", "1"}, {"BRPOPLPUSH", "%k", "t:dst", "1"}, {"BLMPOP", "1", "1", "%k", "RIGHT"}},
		},
		{
			name:  "set",
			build: [][]string{{"SADD", "t:set:s", "a", "b", "c"}, {"SADD", "t:set:n", "3", "1", "2"}, bigSet, bigInts},
			keys:  []string{"t:set:s", "t:set:n", "t:set:h", "t:set:i"},
			read:  func(k string) []string { return []string{"SMEMBERS", k} },
			norm:  setNorm,
			wrong: [][]string{{"SADD", "%k", "x"}, {"SREM", "%k", "x"}, {"SMEMBERS", "%k"}, {"SISMEMBER", "%k", "x"},
				{"SMISMEMBER", "%k", "x"}, {"SCARD", "%k"}, {"SPOP", "%k"}, {"SRANDMEMBER", "%k", "2"}, {"SMOVE", "%k", "t:set:s", "a"},
				{"SMOVE", "t:set:s", "%k", "a"}, {"SINTER", "%k"}, {"SINTER", "t:set:s", "%k"}, {"SINTERSTORE", "t:dst", "%k"},
				{"SINTERCARD", "1", "%k"}, {"SUNION", "t:set:s", "%k"}, {"SUNIONSTORE", "t:dst", "%k"}, {"SDIFF", "%k"},
				{"SDIFF", "t:set:s", "%k"}, {"SDIFFSTORE", "t:dst", "%k"}, {"SSCAN", "%k", "0"}},
		},
		{
			name:  "hash",
			build: [][]string{{"HSET", "t:hash:l", "f", "v", "g", "1"}, bigHash},
			keys:  []string{"t:hash:l", "t:hash:h"},
			read:  func(k string) []string { return []string{"HGETALL", k} },
			norm:  pairsNorm,
			wrong: [][]string{{"HSET", "%k", "f", "v"}, {"HSETNX", "%k", "f", "v"}, {"HGET", "%k", "f"}, {"HMSET", "%k", "f", "v"},
				{"HMGET", "%k", "f"}, {"HDEL", "%k", "f"}, {"HLEN", "%k"}, {"HSTRLEN", "%k", "f"}, {"HEXISTS", "%k", "f"},
				{"HKEYS", "%k"}, {"HVALS", "%k"}, {"HGETALL", "%k"}, {"HINCRBY", "%k", "f", "1"}, {"HINCRBYFLOAT", "%k", "f", "1"},
				{"HRANDFIELD", "%k"}, {"HSCAN", "%k", "0"}},
		},
	}
	return append(types, extraTypes...)
}

// extraTypes is filled by zset_test.go.
var extraTypes []valueType

func crossDiff(t *testing.T) *commandtest.Diff {
	t.Setenv("LC_ALL", "C")
	return commandtest.NewDiff(t, append(families(), bits.Specs, hll.Specs)...)
}

func buildTypes(t *testing.T, d *commandtest.Diff, types []valueType) {
	t.Helper()
	for _, vt := range types {
		for _, c := range vt.build {
			if _, want := d.Compare(c...); want.IsError() {
				t.Fatalf("%q: %v", c, want)
			}
		}
	}
}

// compareContent compares the content of key in Cairn with that of
// redisKey in Redis.
func compareContent(t *testing.T, d *commandtest.Diff, vt valueType, key, redisKey string) {
	t.Helper()
	want := redisDo(t, d, vt.read(redisKey)...)
	d.H.Now = time.Now().UnixMilli()
	got := d.H.Do(vt.read(key)...).RESP2()
	if g, w := vt.norm(got), vt.norm(want); g != w {
		t.Errorf("%s content of %q (redis %q):\n  cairn: %.300s\n  redis: %.300s", vt.name, key, redisKey, g, w)
	}
}

// compareEncoding compares OBJECT ENCODING, except for lists (see
// valueType.listEncoding), where Cairn must report a list encoding.
func compareEncoding(t *testing.T, d *commandtest.Diff, vt valueType, key string) {
	t.Helper()
	if !vt.listEncoding {
		d.Compare("OBJECT", "ENCODING", key)
		return
	}
	got := string(d.H.Do("OBJECT", "ENCODING", key).Str)
	if got != "listpack" && got != "quicklist" {
		t.Errorf("OBJECT ENCODING %s: %q", key, got)
	}
}

// TestDiffCrossType runs the generic key commands on every type.
func TestDiffCrossType(t *testing.T) {
	d := crossDiff(t)
	types := valueTypes()
	buildTypes(t, d, types)
	for _, vt := range types {
		for _, k := range vt.keys {
			d.Compare("TYPE", k)
			d.Compare("EXISTS", k)
			compareEncoding(t, d, vt, k)
			d.Compare("OBJECT", "REFCOUNT", k)
			d.Compare("OBJECT", "FREQ", k)
			idle := d.H.Do("OBJECT", "IDLETIME", k)
			if idle.Kind != reply.KindInt || idle.Int > 2 {
				t.Errorf("OBJECT IDLETIME %s: %v", k, idle)
			}
			compareContent(t, d, vt, k, k)

			// DUMP in Redis, RESTORE in both; DUMP in Cairn, RESTORE in
			// both.
			payload := redisDo(t, d, "DUMP", k)
			if payload.Kind != reply.KindBulk {
				t.Fatalf("redis DUMP %s: %v", k, payload)
			}
			d.Compare("RESTORE", k+":r", "0", string(payload.Str))
			compareContent(t, d, vt, k+":r", k)
			d.Compare("TYPE", k+":r")
			compareEncoding(t, d, vt, k+":r")
			d.Compare("RESTORE", k+":r", "0", string(payload.Str))
			d.Compare("RESTORE", k+":r", "0", string(payload.Str), "REPLACE")
			d.H.Now = time.Now().UnixMilli()
			mine := d.H.Do("DUMP", k)
			if mine.Kind != reply.KindBulk {
				t.Fatalf("cairn DUMP %s: %v", k, mine)
			}
			d.Compare("RESTORE", k+":c", "0", string(mine.Str))
			compareContent(t, d, vt, k+":c", k)
			compareEncoding(t, d, vt, k+":c")
			d.Compare("DEL", k+":r", k+":c")

			// RENAME, COPY, DEL, EXISTS, expiry.
			d.Compare("RENAME", k, k+":n")
			d.Compare("EXISTS", k, k+":n")
			compareContent(t, d, vt, k+":n", k+":n")
			d.Compare("RENAMENX", k+":n", k)
			d.Compare("COPY", k, k+":copy")
			compareContent(t, d, vt, k+":copy", k)
			compareEncoding(t, d, vt, k+":copy")
			d.Compare("COPY", k, k+":copy")
			d.Compare("COPY", k, k+":copy", "REPLACE")
			d.Compare("EXPIRE", k+":copy", "100")
			d.Compare("TTL", k+":copy")
			d.Compare("COPY", k+":copy", k+":copy2")
			d.Compare("TTL", k+":copy2")
			d.Compare("PERSIST", k+":copy")
			d.Compare("TTL", k+":copy")
			d.Compare("PEXPIRE", k+":copy2", "0")
			d.Compare("EXISTS", k+":copy2")
			d.Compare("DEL", k+":copy", k+":copy2", "nokey")
			d.Compare("UNLINK", k+":copy")
			d.Compare("TOUCH", k, "nokey")
			d.Compare("EXPIRE", k, "1000", "NX")
			d.Compare("EXPIRE", k, "2000", "GT")
			d.Compare("EXPIRE", k, "500", "GT")
			d.Compare("EXPIRE", k, "500", "LT")
			d.Compare("TTL", k)
			d.Compare("PERSIST", k)
			d.Compare("TTL", k)
			compareEncoding(t, d, vt, k)
		}
	}

	// SCAN's TYPE filter, over the same keyspace.
	for _, typ := range []string{"string", "list", "set", "hash", "zset", "stream", "none", "LIST", "bogus"} {
		got := scanKeys(t, func(args ...string) reply.Value { return d.H.Do(args...).RESP2() }, typ)
		want := scanKeys(t, func(args ...string) reply.Value { return redisDo(t, d, args...) }, typ)
		if got != want {
			t.Errorf("SCAN TYPE %s:\n  cairn: %s\n  redis: %s", typ, got, want)
		}
	}
	compareKeys := func(args ...string) {
		t.Helper()
		compareUnordered(t, d, args...)
	}
	compareKeys("KEYS", "*")
	compareKeys("KEYS", "t:set:*")
	d.Compare("DBSIZE")

	// RANDOMKEY: a key that exists; exactly with one key.
	for i := 0; i < 20; i++ {
		d.H.Now = time.Now().UnixMilli()
		k := d.H.Do("RANDOMKEY")
		if k.Kind != reply.KindBulk || d.H.Do("EXISTS", string(k.Str)).Int != 1 {
			t.Fatalf("RANDOMKEY: %v", k)
		}
	}
	for _, vt := range types {
		d.Compare("FLUSHALL")
		buildTypes(t, d, []valueType{{build: vt.build[:1]}})
		d.Compare("RANDOMKEY")
	}
	d.Compare("FLUSHALL")
	d.Compare("RANDOMKEY")
}

// scanKeys iterates SCAN ... TYPE typ and returns the sorted keys (or an
// error reply).
func scanKeys(t *testing.T, do func(args ...string) reply.Value, typ string) string {
	seen := map[string]bool{}
	cursor := "0"
	for i := 0; i < 10000; i++ {
		v := do("SCAN", cursor, "COUNT", "7", "TYPE", typ)
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
	var keys []string
	for k := range seen {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return strings.Join(keys, " ")
}

// TestDiffWrongType runs each family's commands on keys of every other
// type and compares the replies (WRONGTYPE, or whatever Redis answers
// first), then checks that nothing changed.
func TestDiffWrongType(t *testing.T) {
	d := crossDiff(t)
	types := valueTypes()
	buildTypes(t, d, types)
	d.Compare("SET", "t:dst", "x")
	for _, vt := range types {
		for _, other := range types {
			if other.name == vt.name {
				continue
			}
			for _, k := range other.keys {
				for i, c := range append(vt.wrong, vt.mixed...) {
					args := make([]string, len(c))
					for i, a := range c {
						args[i] = strings.ReplaceAll(a, "%k", k)
					}
					if i >= len(vt.wrong) {
						compareUnordered(t, d, args...)
						continue
					}
					_, want := d.Compare(args...)
					if want.Kind != reply.KindError {
						t.Errorf("%q on a %s: redis replied %v", args, other.name, want)
					}
				}
			}
		}
	}
	// Commands that accept keys of any type where they read or
	// overwrite them, on copies.
	for _, vt := range types {
		for _, k := range vt.keys {
			d.Compare("MGET", k, "t:string:e")
			d.Compare("SETNX", k, "x")
			d.Compare("COPY", k, "t:cp", "REPLACE")
			d.Compare("BITOP", "OR", "t:cp", "t:string:e")
			d.Compare("TYPE", "t:cp")
			d.Compare("COPY", k, "t:cp", "REPLACE")
			d.Compare("SET", "t:cp", "v", "GET")
			d.Compare("COPY", k, "t:cp", "REPLACE")
			d.Compare("SET", "t:cp", "v")
			d.Compare("GET", "t:cp")
			d.Compare("COPY", k, "t:cp", "REPLACE")
			d.Compare("MSET", "t:cp", "v")
			d.Compare("COPY", k, "t:cp", "REPLACE")
			compare(t, d, "SORT", "t:list:l", "ALPHA", "STORE", "t:cp")
			d.Compare("LRANGE", "t:cp", "0", "-1")
			d.Compare("COPY", k, "t:cp", "REPLACE")
			d.Compare("RESTORE", "t:cp", "0", string(redisDo(t, d, "DUMP", "t:string:e").Str), "REPLACE")
			d.Compare("GET", "t:cp")
		}
	}
	// SORT on the types it does not sort.
	for _, k := range []string{"t:string:e", "t:hash:l"} {
		compare(t, d, "SORT", k)
		compare(t, d, "SORT_RO", k)
		compare(t, d, "SORT", k, "STORE", "t:dst")
		compare(t, d, "SORT", "t:list:l", "ALPHA", "STORE", k)
		d.Compare("TYPE", k)
		compare(t, d, "SORT", "t:list:l", "ALPHA", "BY", k)
	}
	// Nothing changed.
	for _, vt := range types {
		for _, k := range vt.keys {
			d.Compare("TYPE", k)
			compareContent(t, d, vt, k, k)
		}
	}
	d.Compare("GET", "t:dst")
}
