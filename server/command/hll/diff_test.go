package hll

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/cairndb/cairn/server/command/commandtest"
	"github.com/cairndb/cairn/server/command/hashes"
	"github.com/cairndb/cairn/server/command/keys"
	"github.com/cairndb/cairn/server/command/strs"
	"github.com/cairndb/cairn/server/reply"
)

func newHarness(t testing.TB) *commandtest.Harness {
	return commandtest.New(t, Specs, strs.Specs, keys.Specs, hashes.Specs)
}

// newDiff starts a redis-server and a harness, both holding the hash
// "hash" for WRONGTYPE paths.
func newDiff(t *testing.T) *commandtest.Diff {
	d := commandtest.NewDiff(t, Specs, strs.Specs, keys.Specs, hashes.Specs)
	d.Compare("HSET", "hash", "f", "v")
	return d
}

// compareRaw compares the bytes of key on both sides. Redis's PFCOUNT
// stores the cardinality it computed in the header (and a later change only
// sets the invalid bit, leaving the stale count), Cairn's never does: the
// header's cache bytes may differ, but a cache Cairn considers valid must
// be Redis's, and a cache only Redis holds must equal Cairn's PFCOUNT.
func compareRaw(t *testing.T, d *commandtest.Diff, key string) {
	t.Helper()
	want, err := d.Redis.Do("GET", key)
	if err != nil {
		t.Fatal(err)
	}
	got := d.H.Do("GET", key).RESP2()
	if want.Kind == reply.KindBulk && got.Kind == reply.KindBulk && valid(want.Str) && valid(got.Str) &&
		len(got.Str) == len(want.Str) && !bytes.Equal(got.Str, want.Str) {
		g := bytes.Clone(got.Str)
		copy(g[8:16], want.Str[8:16])
		gotValid, wantValid := got.Str[15]&0x80 == 0, want.Str[15]&0x80 == 0
		switch {
		case !bytes.Equal(g, want.Str) || gotValid:
			t.Errorf("GET %s:\n  cairn: %q\n  redis: %q", key, got.Str, want.Str)
		case wantValid:
			card := binary.LittleEndian.Uint64(want.Str[8:16])
			if v := d.H.Do("PFCOUNT", key); v.Int != int64(card) {
				t.Errorf("PFCOUNT %s: cairn %s, redis's cache %d", key, v, card)
			}
		}
		return
	}
	if !reply.Equal(got, want) {
		t.Errorf("GET %s:\n  cairn: %q\n  redis: %q", key, got.Str, want.Str)
	}
}

// set stores a raw value on both sides.
func set(d *commandtest.Diff, key string, val []byte) {
	d.H.T.Helper()
	d.Compare("SET", key, string(val))
}

func header(enc byte, card uint64, valid bool) []byte {
	b := make([]byte, hdrSize)
	copy(b, "HYLL")
	b[4] = enc
	binary.LittleEndian.PutUint64(b[8:], card)
	if !valid {
		b[15] |= 0x80
	}
	return b
}

func elems(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = prefix + strconv.Itoa(i)
	}
	return out
}

func TestDiffDeterministic(t *testing.T) {
	d := newDiff(t)
	for _, c := range [][]string{
		{"PFADD", "h"}, {"PFADD", "h"}, {"PFADD", "h", "a"}, {"PFADD", "h", "a"}, {"PFADD", "h", "b", "c", "a"},
		{"PFCOUNT", "h"}, {"PFCOUNT", "h"}, {"PFADD", "h", ""}, {"PFCOUNT", "h"}, {"PFCOUNT", "nokey"},
		{"PFCOUNT", "h", "nokey"}, {"PFCOUNT", "nokey", "nokey2"}, {"PFADD", "hash", "a"}, {"PFCOUNT", "hash"},
		{"PFCOUNT", "h", "hash"}, {"PFMERGE", "hash", "h"}, {"PFMERGE", "h", "hash"}, {"PFADD"}, {"PFCOUNT"}, {"PFMERGE"},
		{"SET", "str", "hello"}, {"PFADD", "str", "a"}, {"PFCOUNT", "str"}, {"PFCOUNT", "h", "str"}, {"PFMERGE", "str"},
		{"PFMERGE", "h", "str"}, {"PFDEBUG", "ENCODING", "str"}, {"SET", "int", "123456789012345678"}, {"PFADD", "int", "x"},
		{"PFMERGE", "m1"}, {"EXISTS", "m1"}, {"PFCOUNT", "m1"}, {"PFMERGE", "m2", "nokey"}, {"PFMERGE", "m3", "h"},
		{"PFMERGE", "m3", "h", "m1", "nokey"}, {"PFCOUNT", "m3"}, {"PFDEBUG", "ENCODING", "m3"}, {"PFDEBUG", "DECODE", "m3"},
		{"PFDEBUG", "decode", "h"}, {"PFDEBUG", "GETREG", "nokey"}, {"PFDEBUG", "bogus", "nokey"}, {"PFDEBUG", "bogus", "h"},
		{"PFDEBUG", "bogus\r\nx", "h"}, {"PFDEBUG", "encoding\x00x", "h"}, {"PFDEBUG", "ENCODING", "hash"}, {"PFDEBUG", "ENCODING"},
		{"PFDEBUG", "ENCODING", "h", "x"}, {"PFDEBUG", "TODENSE", "m1"}, {"PFDEBUG", "TODENSE", "m1"}, {"PFDEBUG", "ENCODING", "m1"},
		{"PFDEBUG", "DECODE", "m1"}, {"PFDEBUG", "GETREG", "m3"}, {"PFDEBUG", "ENCODING", "m3"}, {"PFCOUNT", "m3", "h"},
		{"PFSELFTEST"}, {"PFSELFTEST", "x"},
		{"SET", "t", "x"}, {"DEL", "t"}, {"PFADD", "t", "a"}, {"EXPIRE", "t", "100"}, {"PFADD", "t", "b"}, {"PFMERGE", "t", "h"},
		{"TTL", "t"},
	} {
		d.Compare(c...)
	}
	for _, k := range []string{"h", "m1", "m2", "m3", "t"} {
		compareRaw(t, d, k)
		d.Compare("OBJECT", "ENCODING", k)
	}

	// Growth through the sparse encoding up to promotion (by length, at
	// hll-sparse-max-bytes, and by a register value above 32).
	for i := 0; i < 40; i++ {
		d.Compare(append([]string{"PFADD", "g"}, elems("e"+strconv.Itoa(i)+":", 25)...)...)
		compareRaw(t, d, "g")
		d.Compare("PFCOUNT", "g")
		d.Compare("PFDEBUG", "ENCODING", "g")
		d.Compare("PFCOUNT", "g", "h")
	}
	d.Compare("PFMERGE", "gm", "h", "g")
	compareRaw(t, d, "gm")
	d.Compare("PFMERGE", "h", "g")
	compareRaw(t, d, "h")
	for i := 0; i < 200; i++ {
		if v := d.H.Do("PFDEBUG", "ENCODING", "v"); string(v.Str) == "dense" {
			break
		}
		d.Compare("PFADD", "v", "x"+strconv.Itoa(i*7919))
		compareRaw(t, d, "v")
	}

	// Big cardinalities.
	for i := 0; i < 30; i++ {
		d.Compare(append([]string{"PFADD", "big"}, elems("big"+strconv.Itoa(i)+":", 1000)...)...)
		d.Compare("PFCOUNT", "big")
		d.Compare("PFCOUNT", "big", "g")
	}
	compareRaw(t, d, "big")
	d.Compare("PFDEBUG", "GETREG", "big")
	d.Compare("PFMERGE", "big2", "g", "big")
	compareRaw(t, d, "big2")
	d.Compare("PFCOUNT", "big2")
}

// TestDiffCrafted stores hand-made HLL strings (valid, with odd headers,
// corrupted) and compares every command on them.
func TestDiffCrafted(t *testing.T) {
	d := newDiff(t)
	empty := append(header(encSparse, 0, true), 0x7f, 0xff)
	dense := make([]byte, denseSize)
	copy(dense, header(encDense, 0, false))
	allMax := bytes.Clone(dense)
	for i := hdrSize; i < denseSize; i++ {
		allMax[i] = 0xff
	}
	some := bytes.Clone(dense)
	for i := hdrSize; i < denseSize; i += 7 {
		some[i] = byte(i)
	}
	cases := map[string][]byte{
		"empty":      empty,
		"cached":     append(header(encSparse, 42, true), 0x7f, 0xff),
		"cachedBig":  append(header(encSparse, 1<<62, true), 0x7f, 0xff),
		"unused":     append(append(header(encSparse, 0, false)[:5], 1, 2, 3, 0, 0, 0, 0, 0, 0, 0, 0x80), 0x7f, 0xff),
		"short":      append(header(encSparse, 0, false), 0x7f, 0xfe),
		"long":       append(header(encSparse, 0, false), 0x7f, 0xff, 0x00),
		"cut":        append(header(encSparse, 0, false), 0x7f),
		"cutmid":     append(header(encSparse, 0, false), 0x00, 0x7f),
		"vals":       append(header(encSparse, 0, false), 0x80, 0x83, 0xff, 0xfc, 0x7f, 0xf6),
		"over":       append(header(encSparse, 0, false), 0x7f, 0xff, 0x80),
		"overval":    append(header(encSparse, 0, false), 0x7f, 0xfe, 0x83),
		"xzero1":     append(header(encSparse, 0, false), 0x40, 0x00, 0x7f, 0xfe),
		"onlyhdr":    header(encSparse, 0, false),
		"enc2":       append(header(2, 0, false), 0x7f, 0xff),
		"dense":      dense,
		"allmax":     allMax,
		"some":       some,
		"denseshort": dense[:denseSize-1],
		"denselong":  append(bytes.Clone(dense), 0),
		"magic":      append([]byte("HYLl"), empty[4:]...),
		"tiny":       []byte("HYLL"),
	}
	var names []string
	for n := range cases {
		names = append(names, n)
	}
	slicesSort(names)
	for _, n := range names {
		set(d, n, cases[n])
		d.Compare("PFCOUNT", n)
		d.Compare("PFCOUNT", n, "nokey")
		d.Compare("PFDEBUG", "ENCODING", n)
		d.Compare("PFDEBUG", "DECODE", n)
		d.Compare("PFMERGE", "dst:"+n, n)
		compareRaw(t, d, "dst:"+n)
		d.Compare("PFADD", n, "a")
		compareRaw(t, d, n)
		d.Compare("PFADD", n, "foo", "bar", "baz")
		compareRaw(t, d, n)
		d.Compare("PFCOUNT", n)
		d.Compare("PFMERGE", n, "empty")
		compareRaw(t, d, n)
		d.Compare("PFDEBUG", "TODENSE", n)
		compareRaw(t, d, n)
		d.Compare("PFCOUNT", n)
	}
}

func slicesSort(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// TestDiffDumpRestore moves HLLs both ways with DUMP and RESTORE.
func TestDiffDumpRestore(t *testing.T) {
	d := newDiff(t)
	d.Compare(append([]string{"PFADD", "sp"}, elems("s", 50)...)...)
	d.Compare(append([]string{"PFADD", "de"}, elems("d", 5000)...)...)
	for _, k := range []string{"sp", "de"} {
		p, err := d.Redis.Do("DUMP", k)
		if err != nil || p.Kind != reply.KindBulk {
			t.Fatalf("DUMP: %v %v", p, err)
		}
		if v := d.H.Do("RESTORE", k+":fromredis", "0", string(p.Str)); v.IsError() {
			t.Fatalf("RESTORE in cairn: %s", v)
		}
		d.Redis.Do("RESTORE", k+":fromredis", "0", string(p.Str))
		compareRaw(t, d, k+":fromredis")
		d.Compare("PFCOUNT", k+":fromredis")
		d.Compare("PFADD", k+":fromredis", "more", "elements")
		compareRaw(t, d, k+":fromredis")

		q := d.H.Do("DUMP", k)
		if v, err := d.Redis.Do("RESTORE", k+":fromcairn", "0", string(q.Str)); err != nil || v.IsError() {
			t.Fatalf("RESTORE in redis: %v %v", v, err)
		}
		d.H.Do("RESTORE", k+":fromcairn", "0", string(q.Str))
		compareRaw(t, d, k+":fromcairn")
		d.Compare("PFCOUNT", k+":fromcairn")
		d.Compare("PFCOUNT", k+":fromcairn", k)
	}
}

// TestDiffRandom runs random PFADD, PFCOUNT and PFMERGE over a few keys on
// both and compares every reply and the raw HLL bytes after each write.
func TestDiffRandom(t *testing.T) {
	d := newDiff(t)
	dur := 3 * time.Second
	if s := os.Getenv("CAIRN_FUZZ_DIFF"); s != "" {
		var err error
		if dur, err = time.ParseDuration(s); err != nil {
			t.Fatal(err)
		}
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 11))
	keys := []string{"k1", "k2", "k3", "k4", "hash", "none"}
	pick := func(xs []string) string { return xs[rng.IntN(len(xs))] }
	n := 0
	// The universe of elements grows with time, so keys go from sparse to
	// dense.
	for start := time.Now(); time.Since(start) < dur; n++ {
		universe := 10 + n*3
		k := pick(keys)
		var args []string
		switch r := rng.IntN(100); {
		case r < 50:
			args = []string{"PFADD", k}
			for i := rng.IntN(8); i > 0; i-- {
				args = append(args, strconv.Itoa(rng.IntN(universe)))
			}
		case r < 75:
			args = []string{"PFCOUNT", k}
			for i := rng.IntN(3); i > 0; i-- {
				args = append(args, pick(keys))
			}
		case r < 90:
			args = []string{"PFMERGE", k}
			for i := rng.IntN(3); i > 0; i-- {
				args = append(args, pick(keys))
			}
		case r < 95:
			args = []string{"PFDEBUG", pick([]string{"ENCODING", "DECODE", "TODENSE"}), k}
		case r < 97:
			args = []string{"DEL", k}
		default:
			args = []string{"PFDEBUG", "GETREG", k}
		}
		_, want := d.Compare(args...)
		if want.Kind != reply.KindError && args[0] != "PFCOUNT" {
			compareRaw(t, d, k)
		}
		if t.Failed() {
			t.Fatalf("after %d commands (%q)", n, args)
		}
	}
	for _, k := range keys {
		compareRaw(t, d, k)
		d.Compare("PFCOUNT", k)
	}
	t.Logf("%d commands", n)
}
