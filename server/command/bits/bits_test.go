package bits

import (
	"bytes"
	"strings"
	"testing"

	"github.com/cairndb/cairn/server/command"
)

func TestSetbitGetbit(t *testing.T) {
	h := newHarness(t)
	h.Check("0", "SETBIT", "k", "7", "1")
	h.Check("\x01", "GET", "k")
	h.Check("1", "SETBIT", "k", "7", "0")
	h.Check("0", "SETBIT", "k", "16", "1")
	h.Check("\x00\x00\x80", "GET", "k")
	h.Check("1", "GETBIT", "k", "16")
	h.Check("0", "GETBIT", "k", "17")
	h.Check("0", "GETBIT", "k", "100000")
	h.Check("0", "GETBIT", "nokey", "0")
	h.Check("(error) ERR bit offset is not an integer or out of range", "SETBIT", "k", "-1", "1")
	h.Check("(error) ERR bit offset is not an integer or out of range", "SETBIT", "k", "4294967296", "1")
	h.Check("(error) ERR bit is not an integer or out of range", "SETBIT", "k", "1", "2")
	h.Check("(error) ERR bit offset is not an integer or out of range", "GETBIT", "k", "x")
	h.Check("(error) ERR wrong number of arguments for 'setbit' command", "SETBIT", "k", "1")
	h.Check("1", "HSET", "hash", "f", "v")
	h.Check("(error) WRONGTYPE Operation against a key holding the wrong kind of value", "SETBIT", "hash", "1", "1")
	h.Check("(error) WRONGTYPE Operation against a key holding the wrong kind of value", "GETBIT", "hash", "1")
	h.Check("raw", "OBJECT", "ENCODING", "k")
}

func TestBitcountBitpos(t *testing.T) {
	h := newHarness(t)
	h.Check("OK", "SET", "s", "foobar")
	h.Check("26", "BITCOUNT", "s")
	h.Check("4", "BITCOUNT", "s", "0", "0")
	h.Check("6", "BITCOUNT", "s", "1", "1")
	h.Check("17", "BITCOUNT", "s", "5", "30", "BIT")
	h.Check("0", "BITCOUNT", "s", "-1", "-2")
	h.Check("0", "BITCOUNT", "nokey", "x", "y") // 7.0: the key first
	h.Check("(error) ERR syntax error", "BITCOUNT", "s", "1")
	h.Check("(error) ERR syntax error", "BITCOUNT", "s", "1", "2", "bits")
	h.Check("OK", "SET", "p", "\xff\xf0\x00")
	h.Check("12", "BITPOS", "p", "0")
	h.Check("2", "BITPOS", "p", "1", "2", "-1", "BIT")
	h.Check("7", "BITPOS", "p", "1", "7", "15", "bit")
	h.Check("-1", "BITPOS", "p", "1", "2")
	h.Check("OK", "SET", "f", "\xff\xff")
	h.Check("16", "BITPOS", "f", "0")      // past the end: zero-padded
	h.Check("16", "BITPOS", "f", "0", "1") // start only: still padded
	h.Check("-1", "BITPOS", "f", "0", "0", "-1")
	h.Check("-1", "BITPOS", "f", "0", "0", "15", "BIT")
	h.Check("0", "BITPOS", "nokey", "0")
	h.Check("-1", "BITPOS", "nokey", "1")
	h.Check("(error) ERR The bit argument must be 1 or 0.", "BITPOS", "f", "2")
}

func TestBitop(t *testing.T) {
	h := newHarness(t)
	h.Check("OK", "SET", "a", "\xf0\x0f")
	h.Check("OK", "SET", "b", "\xff")
	h.Check("2", "BITOP", "AND", "d", "a", "b")
	h.Check("\xf0\x00", "GET", "d")
	h.Check("2", "BITOP", "OR", "d", "a", "b")
	h.Check("\xff\x0f", "GET", "d")
	h.Check("2", "BITOP", "XOR", "d", "a", "b")
	h.Check("\x0f\x0f", "GET", "d")
	h.Check("2", "BITOP", "NOT", "d", "a")
	h.Check("\x0f\xf0", "GET", "d")
	h.Check("0", "BITOP", "OR", "d", "nokey")
	h.Check("0", "EXISTS", "d")
	h.Check("(error) ERR BITOP NOT must be called with a single source key.", "BITOP", "NOT", "d", "a", "b")
	h.Check("(error) ERR syntax error", "BITOP", "NAND", "d", "a")
}

func TestBitfield(t *testing.T) {
	h := newHarness(t)
	h.Check("[0 255]", "BITFIELD", "k", "SET", "u8", "0", "255", "GET", "u8", "0")
	h.Check("[-1]", "BITFIELD", "k", "GET", "i8", "0")
	h.Check("[0]", "BITFIELD", "k", "INCRBY", "u8", "0", "1")
	h.Check("[255]", "BITFIELD", "k", "OVERFLOW", "SAT", "INCRBY", "u8", "0", "1000")
	h.Check("[(nil)]", "BITFIELD", "k", "OVERFLOW", "FAIL", "INCRBY", "u8", "0", "1")
	h.Check("[0]", "BITFIELD", "k", "SET", "i8", "#1", "127", "OVERFLOW", "WRAP")
	h.Check("[-128]", "BITFIELD", "k", "INCRBY", "i8", "#1", "1")
	h.Check("[255 -128]", "BITFIELD_RO", "k", "GET", "u8", "0", "GET", "i8", "8")
	h.Check("(error) ERR BITFIELD_RO only supports the GET subcommand", "BITFIELD_RO", "k", "SET", "u8", "0", "1")
	h.Check("(error) ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.", "BITFIELD", "k", "GET", "u64", "0")
	h.Check("(error) ERR Invalid OVERFLOW type specified", "BITFIELD", "k", "OVERFLOW", "x")
	h.Check("(error) ERR bit offset is not an integer or out of range", "BITFIELD", "k", "GET", "u8", "#-1")
	h.Check("(error) ERR syntax error", "BITFIELD", "k", "GET", "u8")
	h.Check("[]", "BITFIELD", "nokey")
	h.Check("0", "EXISTS", "nokey")
}

// TestOverflowHelpers checks the overflow arithmetic at its edges.
func TestOverflowHelpers(t *testing.T) {
	for _, c := range []struct {
		value, incr int64
		bits        uint
		ow          int
		over        bool
		res         int64
	}{
		{127, 1, 8, owWrap, true, -128}, {127, 1, 8, owSat, true, 127}, {-128, -1, 8, owSat, true, -128},
		{-128, -1, 8, owWrap, true, 127}, {1<<63 - 1, 1, 64, owWrap, true, -1 << 63}, {-1 << 63, -1, 64, owSat, true, -1 << 63},
		{5, -3, 4, owWrap, false, 0}, {0, -1, 1, owWrap, false, 0}, {0, 1, 1, owWrap, true, -1},
	} {
		over, res := signedOverflow(c.value, c.incr, c.bits, c.ow)
		if over != c.over || (over && res != c.res) {
			t.Errorf("signed %+v: %v %d", c, over, res)
		}
	}
	for _, c := range []struct {
		value uint64
		incr  int64
		bits  uint
		ow    int
		over  bool
		res   uint64
	}{
		{255, 1, 8, owWrap, true, 0}, {255, 1, 8, owSat, true, 255}, {0, -1, 8, owSat, true, 0}, {0, -1, 8, owWrap, true, 255},
		{1<<64 - 1, 0, 8, owWrap, true, 255}, {1<<63 - 1, 0, 63, owSat, false, 0}, {3, -3, 2, owWrap, false, 0},
	} {
		over, res := unsignedOverflow(c.value, c.incr, c.bits, c.ow)
		if over != c.over || (over && res != c.res) {
			t.Errorf("unsigned %+v: %v %d", c, over, res)
		}
	}
}

// TestNoInPlaceWrites checks that the writers never change bytes a reader
// may still hold (a GET reply aliasing the stored value).
func TestNoInPlaceWrites(t *testing.T) {
	h := newHarness(t)
	for _, cmd := range [][]string{
		{"SETBIT", "k", "3", "1"}, {"SETBIT", "k", "3", "0"}, {"SETBIT", "k", "200", "1"},
		{"BITFIELD", "k", "SET", "u8", "0", "255"}, {"BITFIELD", "k", "INCRBY", "i5", "3", "7", "SET", "u16", "180", "1"},
		{"BITFIELD", "k", "SET", "u8", "400", "1"}, {"BITOP", "NOT", "k", "k"},
	} {
		h.Do("SET", "k", strings.Repeat("\x55", 24))
		h.Do("APPEND", "k", "x") // spare capacity, as a grown string has
		held := h.DB.Get([]byte("k"), h.Now).Str
		before := bytes.Clone(held)
		h.Do(cmd...)
		if !bytes.Equal(held, before) {
			t.Errorf("%q changed bytes a reader holds", cmd)
		}
	}
}

// TestEvents checks the keyspace events and change counts of the writers.
func TestEvents(t *testing.T) {
	h := newHarness(t)
	run := func(args ...string) (string, int64) {
		argv := make([][]byte, len(args))
		for i, a := range args {
			argv[i] = []byte(a)
		}
		c := command.Ctx{DB: h.DB, Now: h.Now, ProtoMaxBulkLen: 512 << 20, NotifyMask: ^uint32(0)}
		h.Table.Apply(&c, argv)
		var evs []string
		for _, e := range c.Events {
			evs = append(evs, string(e.Class)+":"+e.Name+":"+e.Key)
		}
		return strings.Join(evs, ","), c.Dirty
	}
	for _, c := range []struct {
		args  []string
		evs   string
		dirty int64
	}{
		{[]string{"SETBIT", "k", "1", "1"}, "$:setbit:k", 1},
		{[]string{"SETBIT", "k", "1", "1"}, "", 0},
		{[]string{"BITOP", "OR", "d", "k"}, "$:set:d", 1},
		{[]string{"BITOP", "OR", "d", "nokey"}, "g:del:d", 1},
		{[]string{"BITFIELD", "k", "SET", "u2", "0", "2", "SET", "u2", "0", "2"}, "$:setbit:k", 1},
		{[]string{"BITFIELD", "k", "GET", "u2", "0"}, "", 0},
	} {
		if evs, dirty := run(c.args...); evs != c.evs || dirty != c.dirty {
			t.Errorf("%q: events %q dirty %d, want %q %d", c.args, evs, dirty, c.evs, c.dirty)
		}
	}
}
