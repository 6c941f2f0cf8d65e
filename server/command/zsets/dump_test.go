package zsets

import (
	"encoding/binary"
	"strconv"
	"strings"
	"testing"

	"github.com/cairndb/cairn/server/rdb"
)

// TestDiffDump checks DUMP payloads both ways: Cairn's DUMP of listpack
// and skiplist sets is byte-identical to Redis's, and each side RESTOREs
// the other's payload to the same content and encoding.
func TestDiffDump(t *testing.T) {
	d := newDiff(t)
	small := []string{"ZADD", "small", "1", "a", "2.5", "b", "-0", "c", "0.1", "d", "inf", "e", "-inf", "f",
		"123456789012345678", "g", "4e18", "h", "5e18", "i", "1e-310", "j", "-7", "12345", "3", strings.Repeat("y", 30),
		// Around the listpack's integer encodings (one byte, k bytes, float).
		"119", "k", "120", "l", "-120", "m", "-121", "n", "65535", "o", "9007199254740992", "p", "-9007199254740992", "q",
		"9007199254740994", "r", "1e15", "s", "-1e16", "t", "4611686018427387904", "u"}
	big := []string{"ZADD", "big"}
	for i := 0; i < 300; i++ {
		big = append(big, strconv.FormatFloat(float64(i%50)/4-3, 'g', -1, 64), "member-"+strconv.Itoa(i)+strings.Repeat("z", i%40))
	}
	big = append(big, "-0", "negzero", "inf", "top", "0.1", "tenth")
	long := []string{"ZADD", "long", "1", strings.Repeat("q", 100), "2", "b"}
	for _, c := range [][]string{small, big, long} {
		d.Compare(c...)
	}
	for _, k := range []string{"small", "big", "long"} {
		d.Compare("DUMP", k)
		want, err := d.Redis.Do("DUMP", k)
		if err != nil {
			t.Fatal(err)
		}
		got := d.H.Do("DUMP", k)
		// Redis's payload restored in Cairn, Cairn's in Redis.
		d.H.Do("RESTORE", k+":r", "0", string(want.Str))
		if v, err := d.Redis.Do("RESTORE", k+":r", "0", string(got.Str)); err != nil || v.IsError() {
			t.Fatalf("redis RESTORE of cairn's %s: %v %v", k, v, err)
		}
		d.Compare("ZRANGE", k+":r", "0", "-1", "WITHSCORES")
		d.Compare("OBJECT", "ENCODING", k+":r")
		d.Compare("ZSCORE", k+":r", "negzero")
		d.Compare("ZSCORE", k+":r", "c")
	}
	d.Compare("RESTORE", "small", "0", "garbage")
}

// payload wraps an RDB object in a DUMP footer (version 9, CRC64).
func payload(obj []byte) string {
	b := append([]byte(nil), obj...)
	b = binary.LittleEndian.AppendUint16(b, 9)
	return string(binary.LittleEndian.AppendUint64(b, rdb.CRC64(0, b)))
}

// ziplist builds a ziplist of string and small-integer entries.
func ziplist(entries ...string) []byte {
	var body []byte
	prev := 0
	tail := 10
	for _, e := range entries {
		start := len(body)
		tail = 10 + start
		body = append(body, byte(prev))
		if v, err := strconv.Atoi(e); err == nil && v >= 0 && v <= 12 && strconv.Itoa(v) == e {
			body = append(body, 0xF1+byte(v))
		} else {
			body = append(body, byte(len(e)))
			body = append(body, e...)
		}
		prev = len(body) - start
	}
	out := binary.LittleEndian.AppendUint32(nil, uint32(10+len(body)+1))
	out = binary.LittleEndian.AppendUint32(out, uint32(tail))
	out = binary.LittleEndian.AppendUint16(out, uint16(len(entries)))
	out = append(out, body...)
	return append(out, 0xFF)
}

// TestDiffRestoreOldFormats restores RDB_TYPE_ZSET (string scores) and
// RDB_TYPE_ZSET_ZIPLIST payloads, as older Redis versions wrote them, in
// both and compares, along with malformed ones.
func TestDiffRestoreOldFormats(t *testing.T) {
	d := newDiff(t)
	zset := []byte{rdb.TypeZSet}
	zset = rdb.AppendLen(zset, 4)
	for _, p := range [][2]string{{"a", "1.5"}, {"b", "inf"}, {"c", "-2"}, {"d", "0.10000000000000001"}} {
		zset = rdb.AppendString(zset, []byte(p[0]))
		zset = append(zset, byte(len(p[1])))
		zset = append(zset, p[1]...)
	}
	inf := []byte{rdb.TypeZSet}
	inf = rdb.AppendLen(inf, 2)
	inf = rdb.AppendString(inf, []byte("x"))
	inf = append(inf, 254)
	inf = rdb.AppendString(inf, []byte("y"))
	inf = append(inf, 255)
	nan := []byte{rdb.TypeZSet}
	nan = rdb.AppendLen(nan, 1)
	nan = rdb.AppendString(nan, []byte("x"))
	nan = append(nan, 253)
	empty := rdb.AppendLen([]byte{rdb.TypeZSet2}, 0)
	dup := []byte{rdb.TypeZSet2}
	dup = rdb.AppendLen(dup, 2)
	for i := 0; i < 2; i++ {
		dup = rdb.AppendString(dup, []byte("same"))
		dup = binary.LittleEndian.AppendUint64(dup, 0x3ff0000000000000)
	}
	zl := append([]byte{rdb.TypeZSetZiplist}, rdb.AppendString(nil, ziplist("a", "1", "b", "2.5", "c", "7", "d", "10"))...)
	zlOdd := append([]byte{rdb.TypeZSetZiplist}, rdb.AppendString(nil, ziplist("a", "1", "b"))...)
	cases := map[string][]byte{"zset": zset, "inf": inf, "nan": nan, "empty": empty, "dup": dup, "zl": zl, "zlodd": zlOdd}
	for _, name := range []string{"zset", "inf", "nan", "empty", "dup", "zl", "zlodd"} {
		d.Compare("RESTORE", name, "0", payload(cases[name]))
		d.Compare("ZRANGE", name, "0", "-1", "WITHSCORES")
		d.Compare("OBJECT", "ENCODING", name)
	}
}
