package hll

import (
	"bytes"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/keyspace"
)

func TestCommands(t *testing.T) {
	h := newHarness(t)
	h.Check("1", "PFADD", "h")
	h.Check("0", "PFADD", "h")
	h.Check("1", "PFADD", "h", "a", "b", "c")
	h.Check("0", "PFADD", "h", "a")
	h.Check("3", "PFCOUNT", "h")
	h.Check("0", "PFCOUNT", "nokey")
	h.Check("1", "PFADD", "g", "c", "d")
	h.Check("4", "PFCOUNT", "h", "g", "nokey")
	h.Check("OK", "PFMERGE", "m", "h", "g")
	h.Check("4", "PFCOUNT", "m")
	h.Check("sparse", "PFDEBUG", "ENCODING", "m")
	h.Check("Z:8436 v:1,1 Z:4274 v:2,1 Z:3068 v:1,1 Z:603", "PFDEBUG", "DECODE", "h")
	h.Check("1", "PFDEBUG", "TODENSE", "m")
	h.Check("0", "PFDEBUG", "TODENSE", "m")
	h.Check("dense", "PFDEBUG", "ENCODING", "m")
	h.Check("(error) ERR HLL encoding is not sparse", "PFDEBUG", "DECODE", "m")
	h.Check("(error) ERR The specified key does not exist", "PFDEBUG", "DECODE", "nokey")
	h.Check("(error) ERR Unknown PFDEBUG subcommand 'x'", "PFDEBUG", "x", "m")
	h.Check("OK", "SET", "s", "not an hll")
	h.Check("(error) WRONGTYPE Key is not a valid HyperLogLog string value.", "PFADD", "s", "a")
	h.Check("(error) WRONGTYPE Key is not a valid HyperLogLog string value.", "PFCOUNT", "h", "s")
	h.Check("(error) WRONGTYPE Key is not a valid HyperLogLog string value.", "PFMERGE", "s")
	h.Check("1", "HSET", "hash", "f", "v")
	h.Check("(error) WRONGTYPE Operation against a key holding the wrong kind of value", "PFADD", "hash", "a")
	h.Check("OK", "SET", "bad", "HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x7f\xfe")
	h.Check("(error) INVALIDOBJ Corrupted HLL object detected", "PFCOUNT", "bad")
	h.Check("(error) INVALIDOBJ Corrupted HLL object detected", "PFCOUNT", "bad", "h")
	h.Check("(error) INVALIDOBJ Corrupted HLL object detected", "PFMERGE", "x", "bad")
	h.Check("0", "EXISTS", "x")
	h.Check("OK", "SET", "cached", "HYLL\x01\x00\x00\x00\x2a\x00\x00\x00\x00\x00\x00\x00\x7f\xff")
	h.Check("42", "PFCOUNT", "cached")
	h.Check("OK", "PFSELFTEST")
}

// TestPatLen checks the hash and register mapping against what Redis
// stores for "a", "b" and "c" (see the DECODE above).
func TestPatLen(t *testing.T) {
	got := map[int]int{}
	for _, e := range []string{"a", "b", "c"} {
		i, c := patLen([]byte(e))
		got[i] = c
	}
	if len(got) != 3 || got[8436] != 1 || got[12711] != 2 || got[15780] != 1 {
		t.Errorf("registers %v", got)
	}
	if h := murmur64A(nil, 0); h != 0 {
		t.Errorf("murmur64A of nothing with seed 0: %#x", h)
	}
}

// TestAccuracy checks the estimate's error: within 2% for a million
// distinct elements (the standard error is 0.81%), and within 5 standard
// errors for smaller sets, through both encodings.
func TestAccuracy(t *testing.T) {
	h := buf{b: newHLL(), private: true}
	next := 0
	se := 1.04 / math.Sqrt(hllRegisters)
	for _, n := range []int{1, 10, 100, 1000, 3000, 10000, 100000, 1000000} {
		for ; next < n; next++ {
			h.add(strconv.AppendInt([]byte("element:"), int64(next), 10))
		}
		est, ok := count(h.b)
		if !ok {
			t.Fatal("invalid HLL")
		}
		rel := math.Abs(float64(est)-float64(n)) / float64(n)
		limit := 5 * se
		if n == 1000000 {
			limit = 0.02
		}
		if n <= 100 {
			limit = 0.03
		}
		if rel > limit {
			t.Errorf("%d elements: estimate %d (error %.2f%%)", n, est, rel*100)
		}
		t.Logf("%d elements: estimate %d (%s, error %.3f%%)", n, est, map[byte]string{0: "dense", 1: "sparse"}[h.b[4]], rel*100)
	}
	// The command path agrees.
	hn := newHarness(t)
	for i := 0; i < 100; i++ {
		args := []string{"PFADD", "k"}
		for j := 0; j < 1000; j++ {
			args = append(args, "element:"+strconv.Itoa(i*1000+j))
		}
		hn.Do(args...)
	}
	want, _ := count(bufAfter(100000))
	hn.Check(strconv.FormatInt(want, 10), "PFCOUNT", "k")
}

func bufAfter(n int) []byte {
	h := buf{b: newHLL(), private: true}
	for i := 0; i < n; i++ {
		h.add(strconv.AppendInt([]byte("element:"), int64(i), 10))
	}
	return h.b
}

// TestSparseDenseAgree checks that registers set through the sparse
// encoding read back the same once converted.
func TestSparseDenseAgree(t *testing.T) {
	sp := buf{b: newHLL(), private: true}
	de := buf{b: newHLL(), private: true}
	if err := de.toDense(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3000; i++ {
		e := []byte("x" + strconv.Itoa(i))
		if a, b := sp.add(e), de.add(e); a != b {
			t.Fatalf("element %d: sparse %d, dense %d", i, a, b)
		}
		if i%97 == 0 {
			a, _ := count(sp.b)
			b, _ := count(de.b)
			if a != b {
				t.Fatalf("after %d: sparse count %d, dense %d", i, a, b)
			}
		}
	}
	if err := sp.toDense(); err != nil {
		t.Fatal(err)
	}
	sp.b[15], de.b[15] = 0, 0
	if !bytes.Equal(sp.b, de.b) {
		t.Error("sparse converted to dense differs from dense")
	}
}

// TestNoInPlaceWrites checks that the writers never change bytes a reader
// may still hold.
func TestNoInPlaceWrites(t *testing.T) {
	h := newHarness(t)
	for _, cmd := range [][]string{
		{"PFADD", "k", "new", "elements"}, {"PFMERGE", "k", "other"}, {"PFDEBUG", "TODENSE", "k"}, {"PFDEBUG", "GETREG", "k"},
	} {
		h.Do("DEL", "k", "other")
		h.Do("PFADD", "k", "a", "b")
		h.Do("PFADD", "other", "c", "d")
		held := h.DB.Get([]byte("k"), h.Now).Str
		before := bytes.Clone(held)
		h.Do(cmd...)
		if !bytes.Equal(held, before) {
			t.Errorf("%q changed bytes a reader holds", cmd)
		}
	}
	// Dense too.
	h.Do("DEL", "k")
	h.Do(append([]string{"PFADD", "k"}, strings.Split(strings.Repeat("e,", 2000)+"z", ",")...)...)
	h.Do("PFDEBUG", "TODENSE", "k")
	held := h.DB.Get([]byte("k"), h.Now).Str
	before := bytes.Clone(held)
	for i := 0; i < 100; i++ {
		h.Do("PFADD", "k", "dense"+strconv.Itoa(i))
	}
	if !bytes.Equal(held, before) {
		t.Error("PFADD on a dense HLL changed bytes a reader holds")
	}
}

// FuzzHLL stores arbitrary bytes (usually behind a valid header, so the
// decoders are reached) and runs every HLL command on them: nothing may
// panic, errors must be Redis's, a failed command must change nothing and
// a reader must change nothing.
func FuzzHLL(f *testing.F) {
	f.Add(uint8(0), []byte{0x7f, 0xff}, []byte("a"))
	f.Add(uint8(1), []byte{0x7f, 0xfe}, []byte("b"))
	f.Add(uint8(2), []byte{0x7f}, []byte("c"))
	f.Add(uint8(3), []byte{0x40, 0x00, 0x7f, 0xfe}, []byte("x"))
	f.Add(uint8(4), []byte{0x80, 0x83, 0xff, 0xfc, 0x7f, 0xf6}, []byte(""))
	f.Add(uint8(0x45), []byte{0xff}, []byte("z"))
	f.Add(uint8(0x41), []byte{0x12, 0x34, 0x56}, []byte("z"))
	f.Fuzz(func(t *testing.T, op uint8, body, ele []byte) {
		db := keyspace.New()
		val := body
		if op&0x80 == 0 {
			val = append([]byte("HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80"), body...)
			if op&0x40 != 0 && len(body) > 0 {
				// Dense: the body repeated over the registers.
				val = val[:hdrSize]
				val[4] = encDense
				for len(val) < denseSize {
					val = append(val, body[:min(len(body), denseSize-len(val))]...)
				}
			}
		}
		db.Put([]byte("k"), val, nil, 0)
		db.Put([]byte("o"), newHLL(), nil, 0)
		cmds := [][]string{
			{"pfadd", "k", string(ele)}, {"pfcount", "k"}, {"pfcount", "k", "o"}, {"pfmerge", "o", "k"},
			{"pfmerge", "k", "o"}, {"pfdebug", "getreg", "k"}, {"pfdebug", "decode", "k"}, {"pfdebug", "todense", "k"},
			{"pfdebug", "encoding", "k"}, {"pfadd", "k", string(ele), "more", "elements"},
		}
		cmd := cmds[int(op&0x3f)%len(cmds)]
		argv := make([][]byte, len(cmd))
		for i, a := range cmd {
			argv[i] = []byte(a)
		}
		tbl := command.NewTable(Specs)
		spec, err := tbl.Resolve(argv)
		if err != nil {
			t.Fatal(err)
		}
		before := digest(db)
		c := command.Ctx{DB: db, Now: 1, ProtoMaxBulkLen: 512 << 20}
		v := command.Exec(spec, &c, argv)
		after := digest(db)
		if v.IsError() {
			msg := string(v.Str)
			if !strings.HasPrefix(msg, "ERR ") && !strings.HasPrefix(msg, "WRONGTYPE ") && !strings.HasPrefix(msg, "INVALIDOBJ ") {
				t.Fatalf("%q: odd error %q", cmd, msg)
			}
			if before != after {
				t.Fatalf("%q: error %q changed the keyspace", cmd, msg)
			}
		}
		if !spec.IsWrite() && before != after {
			t.Fatalf("%q: a reader changed the keyspace", cmd)
		}
		// Whatever was stored is still readable.
		if it := db.Peek([]byte("k")); it != nil && valid(it.Str) {
			count(it.Str)
			var max [hllRegisters]uint8
			mergeInto(&max, it.Str)
		}
	})
}

func digest(db *keyspace.DB) string {
	var b strings.Builder
	db.Scan(0, func(it *keyspace.Item) bool {
		b.WriteString(it.Key + "=" + strconv.Quote(string(it.Str)) + strconv.FormatBool(it.Raw) + ";")
		return true
	})
	return b.String()
}
