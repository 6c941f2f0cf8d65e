package rdb

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cairndb/cairn/server/command/commandtest"
	"github.com/cairndb/cairn/server/keyspace"
)

// writeTestFile writes a file of the given keys (DUMP payloads) and
// expiries with FileWriter.
func writeTestFile(t *testing.T, keys []string, payloads [][]byte, expires []int64) []byte {
	t.Helper()
	var buf bytes.Buffer
	fw := NewFileWriter(&buf, []Aux{{"redis-ver", "7.0.15"}, {"redis-bits", "64"}}, uint64(len(keys)), 0)
	for i, k := range keys {
		if err := fw.WriteKey([]byte(k), expires[i], payloads[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestFileRoundTrip(t *testing.T) {
	keys := []string{"a", "num", strings.Repeat("long key ", 10), "h", ""}
	var payloads [][]byte
	for _, s := range []string{"hello", "12345", strings.Repeat("abc", 100)} {
		p, err := Dump([]byte(s), nil)
		if err != nil {
			t.Fatal(err)
		}
		payloads = append(payloads, p)
	}
	p, err := Dump(nil, hashOf("f1", "v1", "f2", "2"))
	if err != nil {
		t.Fatal(err)
	}
	payloads = append(payloads, p)
	p, _ = Dump([]byte("empty key"), nil)
	payloads = append(payloads, p)
	expires := []int64{0, 1893456000123, 0, 1, 0}
	b := writeTestFile(t, keys, payloads, expires)
	if !bytes.HasPrefix(b, []byte("REDIS0010")) {
		t.Fatalf("header %q", b[:9])
	}
	f, err := ParseFile(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	if f.Version != 10 || !f.Checksummed || f.AuxValue("redis-ver") != "7.0.15" || f.Expires != 2 {
		t.Fatalf("file %+v", f)
	}
	if len(f.Entries) != len(keys) {
		t.Fatalf("%d entries, want %d", len(f.Entries), len(keys))
	}
	for i, e := range f.Entries {
		if string(e.Key) != keys[i] || e.ExpireMs != expires[i] || e.Idle != -1 || e.Freq != -1 {
			t.Errorf("entry %d: key %q expire %d idle %d freq %d", i, e.Key, e.ExpireMs, e.Idle, e.Freq)
		}
		if got := e.Payload(); !bytes.Equal(got, payloads[i]) {
			t.Errorf("key %q payload % x, want % x", keys[i], got, payloads[i])
		}
	}
}

// TestWriteObject checks that a key written from its value reads back as
// its DUMP payload.
func TestWriteObject(t *testing.T) {
	var buf bytes.Buffer
	fw := NewFileWriter(&buf, nil, 2, 1)
	h := hashOf("a", "1", "b", strings.Repeat("x", 100))
	if err := fw.WriteObject([]byte("h"), 1234, nil, h); err != nil {
		t.Fatal(err)
	}
	if err := fw.WriteObject([]byte("s"), 0, []byte("42"), nil); err != nil {
		t.Fatal(err)
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := ParseFile(buf.Bytes(), nil)
	if err != nil || len(f.Entries) != 2 || fw.Keys != 2 {
		t.Fatalf("%v, %d entries", err, len(f.Entries))
	}
	hp, _ := Dump(nil, h)
	sp, _ := Dump([]byte("42"), nil)
	if !bytes.Equal(f.Entries[0].Payload(), hp) || f.Entries[0].ExpireMs != 1234 || !bytes.Equal(f.Entries[1].Payload(), sp) {
		t.Fatalf("entries %+v", f.Entries)
	}
}

func TestFileWriterRefuses(t *testing.T) {
	var buf bytes.Buffer
	fw := NewFileWriter(&buf, nil, 0, 0)
	good, _ := Dump([]byte("x"), nil)
	bad := append([]byte(nil), good...)
	bad[1] ^= 1
	if err := fw.WriteKey([]byte("k"), 0, bad); !errors.Is(err, ErrChecksum) {
		t.Errorf("corrupted payload: %v", err)
	}
	// A payload of a newer RDB version (e.g. a Redis 7.2 set listpack).
	newer := append([]byte{TypeString}, AppendString(nil, []byte("x"))...)
	newer = binary.LittleEndian.AppendUint16(newer, 11)
	newer = binary.LittleEndian.AppendUint64(newer, CRC64(0, newer))
	if err := fw.WriteKey([]byte("k"), 0, newer); err == nil || !strings.Contains(err.Error(), "version 11") {
		t.Errorf("version 11 payload: %v", err)
	}
	if fw.Keys != 0 {
		t.Errorf("%d keys written", fw.Keys)
	}
}

// corrupt builds bad files from a good one and checks ParseFile's error.
func TestParseFileBadInput(t *testing.T) {
	sp, _ := Dump([]byte(strings.Repeat("value ", 30)), nil)
	hp, _ := Dump(nil, hashOf("f", "v"))
	good := writeTestFile(t, []string{"k1", "k2"}, [][]byte{sp, hp}, []int64{0, 99})
	if _, err := ParseFile(good, nil); err != nil {
		t.Fatal(err)
	}
	// Every truncation is refused, none panics.
	for n := 0; n < len(good); n++ {
		if f, err := ParseFile(good[:n], nil); err == nil {
			t.Fatalf("truncated to %d bytes: parsed %d entries", n, len(f.Entries))
		}
	}
	// Every single-byte corruption is refused (the checksum catches what
	// the structure does not).
	for i := 0; i < len(good); i++ {
		b := append([]byte(nil), good...)
		b[i] ^= 0x20
		if _, err := ParseFile(b, nil); err == nil {
			t.Fatalf("byte %d flipped: parsed", i)
		}
	}
	// Checksum 0 means "not computed" (rdbchecksum no): accepted.
	nocrc := append([]byte(nil), good...)
	copy(nocrc[len(nocrc)-8:], make([]byte, 8))
	if f, err := ParseFile(nocrc, nil); err != nil || f.Checksummed {
		t.Errorf("zero checksum: %v", err)
	}

	// withCRC replaces a file's checksum with the right one.
	withCRC := func(b []byte) []byte {
		b = append([]byte(nil), b...)
		binary.LittleEndian.PutUint64(b[len(b)-8:], CRC64(0, b[:len(b)-8]))
		return b
	}
	// body is the part between the header+aux and EOF.
	hdr := []byte("REDIS0010")
	fileOf := func(ver string, body ...byte) []byte {
		b := append([]byte("REDIS"+ver), body...)
		b = append(b, opEOF)
		return withCRC(append(b, make([]byte, 8)...))
	}
	strRec := append([]byte{TypeString}, AppendString(AppendString(nil, []byte("k")), []byte("v"))...)
	cases := []struct {
		name string
		file []byte
		want error
		msg  string
	}{
		{"not rdb", []byte("hello world"), ErrFileFormat, "not an RDB file"},
		{"newer version", fileOf("0012", strRec...), ErrFileVersion, "version 12"},
		{"db 1", fileOf("0010", append([]byte{opSelectDB, 1}, strRec...)...), ErrFileUnsupported, "database 1"},
		{"module aux", fileOf("0010", opModuleAux, 0, 0), ErrFileUnsupported, "module"},
		{"module value", fileOf("0010", append([]byte{TypeModule2}, AppendString(nil, []byte("m"))...)...), ErrFileUnsupported, "module"},
		{"function", fileOf("0010", append([]byte{opFunction2}, AppendString(nil, []byte("#!lua name=x"))...)...), ErrFileUnsupported, "function"},
		{"unknown type", fileOf("0010", append([]byte{40}, AppendString(nil, []byte("k"))...)...), ErrFileUnsupported, "type 40"},
		{"duplicate", fileOf("0010", append(append([]byte{}, strRec...), strRec...)...), ErrFileFormat, "twice"},
		{"trailing after eof ok", append(withCRC(append(append(append([]byte{}, hdr...), strRec...), opEOF, 0, 0, 0, 0, 0, 0, 0, 0)), "junk"...), nil, ""},
	}
	for _, c := range cases {
		_, err := ParseFile(c.file, nil)
		if c.want == nil {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: error %v, want %v containing %q", c.name, err, c.want, c.msg)
		}
	}
}

// TestParseRedisFile parses a dump.rdb saved by the real redis-server and
// checks that every entry's payload is byte for byte Redis's own DUMP of
// the key, and its expiry Redis's PEXPIRETIME.
func TestParseRedisFile(t *testing.T) {
	addr := commandtest.StartRedis(t, "--list-max-listpack-size", "4", "--set-max-intset-entries", "8")
	rc, err := commandtest.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	do := func(args ...string) {
		t.Helper()
		if v, err := rc.Do(args...); err != nil || v.IsError() {
			t.Fatalf("%v: %v %v", args, v, err)
		}
	}
	do("SET", "str", "hello")
	do("SET", "int", "-12345")
	do("SET", "lzf", strings.Repeat("compress me ", 50))
	do("RPUSH", "list", "a", "b", "1", "2", "c", "d", "e", "f", "g") // quicklist, several nodes
	do("SADD", "intset", "1", "2", "3")
	do("SADD", "set", "a", "b", "c")
	do("ZADD", "zset", "1", "a", "2.5", "b")
	do("HSET", "hash", "f", "v", "n", "1")
	do("XADD", "stream", "1-1", "f", "v")
	do("XADD", "stream", "2-1", "f", "w")
	do("XGROUP", "CREATE", "stream", "g", "0")
	do("XREADGROUP", "GROUP", "g", "c", "COUNT", "1", "STREAMS", "stream", ">")
	do("PEXPIREAT", "str", strconv.FormatInt(time.Now().Add(time.Hour).UnixMilli(), 10))
	do("EXPIRE", "hash", "1000")
	do("SAVE")
	dirv, err := rc.Do("CONFIG", "GET", "dir")
	if err != nil || len(dirv.Elems) != 2 {
		t.Fatal(dirv, err)
	}
	b, err := os.ReadFile(filepath.Join(string(dirv.Elems[1].Str), "dump.rdb"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := ParseFile(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	if f.Version != 10 || !f.Checksummed || !strings.HasPrefix(f.AuxValue("redis-ver"), "7.0") {
		t.Fatalf("version %d checksummed %v aux %v", f.Version, f.Checksummed, f.Aux)
	}
	if len(f.Entries) != 9 || f.Expires != 2 {
		t.Fatalf("%d entries, %d expires", len(f.Entries), f.Expires)
	}
	for _, e := range f.Entries {
		v, err := rc.Do("DUMP", string(e.Key))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(e.Payload(), v.Str) {
			t.Errorf("key %q: file payload % x, DUMP % x", e.Key, e.Payload(), v.Str)
		}
		v, err = rc.Do("PEXPIRETIME", string(e.Key))
		if err != nil {
			t.Fatal(err)
		}
		want := v.Int
		if want < 0 {
			want = 0
		}
		if e.ExpireMs != want {
			t.Errorf("key %q: expire %d, PEXPIRETIME %d", e.Key, e.ExpireMs, v.Int)
		}
		if _, _, err := Restore(e.Payload()); err != nil {
			t.Errorf("key %q: %v", e.Key, err)
		}
	}
}

// TestParseOldFile reads a file as Redis 5/6 wrote it (RDB version 9):
// ziplist-encoded lists (inside a quicklist), hashes and sorted sets, an
// intset, a zipmap hash, and a key with a seconds-resolution expiry.
func TestParseOldFile(t *testing.T) {
	rec := func(typ byte, key string, body []byte) []byte {
		return append(AppendString([]byte{typ}, []byte(key)), body...)
	}
	file := []byte("REDIS0009")
	file = append(file, opAux)
	file = AppendString(AppendString(file, []byte("redis-ver")), []byte("6.2.14"))
	file = append(file, opSelectDB, 0, opResizeDB, 5, 1)
	ql := AppendLen(nil, 2)
	ql = AppendString(ql, buildZiplist([]string{"a", "12"}))
	ql = AppendString(ql, buildZiplist([]string{"-5", "b"}))
	file = append(file, opExpire)
	file = binary.LittleEndian.AppendUint32(file, 2000000000)
	file = append(file, rec(TypeListQuicklist, "list", ql)...)
	file = append(file, rec(TypeHashZiplist, "hash", AppendString(nil, buildZiplist([]string{"f", "v", "n", "7"})))...)
	file = append(file, rec(TypeZSetZiplist, "zset", AppendString(nil, buildZiplist([]string{"m", "1.5", "k", "-2"})))...)
	file = append(file, rec(TypeSetIntset, "set", AppendString(nil, IntsetBlob([]int64{-3, 4, 100000})))...)
	zm := []byte{1, 3, 'f', 'o', 'o', 3, 0, 'b', 'a', 'r', 0xff}
	file = append(file, rec(TypeHashZipmap, "zipmap", AppendString(nil, zm))...)
	file = append(file, opEOF)
	file = binary.LittleEndian.AppendUint64(file, CRC64(0, file))

	f, err := ParseFile(file, nil)
	if err != nil {
		t.Fatal(err)
	}
	if f.Version != 9 || len(f.Entries) != 5 || f.Entries[0].ExpireMs != 2000000000000 || f.Expires != 1 {
		t.Fatalf("version %d, %d entries, expiry %d", f.Version, len(f.Entries), f.Entries[0].ExpireMs)
	}
	want := map[string]string{
		"list":   "list:quicklist:[a 12 -5 b]",
		"hash":   "hash:listpack:map[f:v n:7]",
		"set":    "set:intset:-3\x00100000\x004",
		"zipmap": "hash:listpack:map[foo:bar]",
	}
	for _, e := range f.Entries {
		_, obj, err := Restore(e.Payload())
		if err != nil {
			t.Fatalf("%s: %v", e.Key, err)
		}
		if z, ok := obj.(*keyspace.ZSet); ok {
			var got []string
			z.Each(func(ze keyspace.ZEntry) bool { got = append(got, fmt.Sprint(ze.Member, "=", ze.Score)); return true })
			if fmt.Sprint(got) != "[k=-2 m=1.5]" {
				t.Errorf("zset: %q", got)
			}
			continue
		}
		if got := describe(obj); got != want[string(e.Key)] {
			t.Errorf("%s: %q, want %q", e.Key, got, want[string(e.Key)])
		}
	}
}

// FuzzParseFile: ParseFile never panics, and every entry of a file it
// accepts restores (it validated the values with RESTORE's decoders).
func FuzzParseFile(f *testing.F) {
	var buf bytes.Buffer
	fw := NewFileWriter(&buf, []Aux{{"redis-ver", "7.0.15"}}, 3, 1)
	fw.WriteObject([]byte("s"), 0, []byte("hello"), nil)
	fw.WriteObject([]byte("n"), 99, []byte("12345"), nil)
	fw.WriteObject([]byte("h"), 0, nil, hashOf("f", "v", "g", strings.Repeat("w", 40)))
	fw.Close()
	f.Add(buf.Bytes())
	nocrc := append([]byte(nil), buf.Bytes()...)
	copy(nocrc[len(nocrc)-8:], make([]byte, 8))
	f.Add(nocrc) // checksum 0: not checked, so mutations reach the decoders
	f.Add([]byte("REDIS0009\xfe\x00\xf8\x41\xf4\x00\x01k\x01v\xff\x00\x00\x00\x00\x00\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		file, err := ParseFile(b, nil)
		if err != nil {
			return
		}
		for _, e := range file.Entries {
			if _, _, err := Restore(e.Payload()); err != nil {
				t.Fatalf("key %q parsed but does not restore: %v", e.Key, err)
			}
		}
	})
}

// TestFileWriterVectorSet checks that a vector set stops an RDB export
// with ErrVectorSetFile naming the key, whether it comes as an object
// (SYNC) or as a DUMP payload (cairn rdb export), and that nothing of it
// is written.
func TestFileWriterVectorSet(t *testing.T) {
	s, err := keyspace.NewVectorSet(3, 0, keyspace.QuantQ8, 16, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	u, norm := s.Prepare([]float32{1, 2, 3})
	if _, err := s.Add("a", u, norm, nil, 0); err != nil {
		t.Fatal(err)
	}
	payload, err := Dump(nil, s)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	fw := NewFileWriter(&buf, nil, 1, 0)
	n := buf.Len()
	for _, err := range []error{
		fw.WriteObject([]byte("vs"), 0, nil, s),
		fw.WriteKey([]byte("vs"), 0, payload),
	} {
		if !errors.Is(err, ErrVectorSetFile) || !errors.Is(err, ErrUnsupported) ||
			!strings.Contains(err.Error(), `key "vs"`) || !strings.Contains(err.Error(), "vector set") {
			t.Errorf("got %v, want ErrVectorSetFile naming the key", err)
		}
	}
	// The writer stays usable for other keys; the vector set left no bytes.
	if err := fw.WriteObject([]byte("k"), 0, []byte("v"), nil); err != nil {
		t.Fatal(err)
	}
	if fw.Keys != 1 || buf.Len() != n {
		t.Errorf("keys %d, %d bytes written after the header", fw.Keys, buf.Len()-n)
	}
}
