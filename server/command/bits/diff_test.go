package bits

import (
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cairndb/cairn/server/command/commandtest"
	"github.com/cairndb/cairn/server/command/hashes"
	"github.com/cairndb/cairn/server/command/keys"
	"github.com/cairndb/cairn/server/command/strs"
	"github.com/cairndb/cairn/server/reply"
)

// newDiff starts a redis-server and a harness over the bitmap, string,
// generic and hash families, both holding the hash "hash" for WRONGTYPE
// paths.
func newDiff(t *testing.T) *commandtest.Diff {
	d := commandtest.NewDiff(t, Specs, strs.Specs, keys.Specs, hashes.Specs)
	d.Compare("HSET", "hash", "f", "v")
	return d
}

// compareKeys compares the raw value and encoding of keys on both sides.
func compareKeys(d *commandtest.Diff, ks ...string) {
	d.H.T.Helper()
	for _, k := range ks {
		d.Compare("GET", k)
		d.Compare("OBJECT", "ENCODING", k)
	}
}

func TestDiffSetbitGetbit(t *testing.T) {
	d := newDiff(t)
	for _, c := range [][]string{
		{"SETBIT", "b", "7", "1"}, {"SETBIT", "b", "7", "1"}, {"SETBIT", "b", "7", "0"}, {"SETBIT", "b", "0", "1"},
		{"SETBIT", "b", "100", "1"}, {"GET", "b"}, {"SETBIT", "b", "100", "0"}, {"SETBIT", "b", "101", "0"},
		{"SETBIT", "b", "-1", "1"}, {"SETBIT", "b", "x", "1"}, {"SETBIT", "b", "1", "2"}, {"SETBIT", "b", "1", "-1"},
		{"SETBIT", "b", "1", "x"}, {"SETBIT", "b", "1", ""}, {"SETBIT", "b", "", "1"}, {"SETBIT", "b", "01", "1"},
		{"SETBIT", "b", "+1", "1"}, {"SETBIT", "b", "1", "01"}, {"SETBIT", "b", "1", "+1"}, {"SETBIT", "b", "1", " 1"},
		{"SETBIT", "b", "4294967295", "x"}, {"SETBIT", "b", "4294967296", "1"}, {"SETBIT", "b", "9223372036854775807", "1"},
		{"SETBIT", "b", "9223372036854775808", "1"}, {"SETBIT", "b", "#1", "1"}, {"SETBIT", "b", "-0", "1"},
		{"SETBIT", "hash", "1", "1"}, {"SETBIT", "hash", "x", "1"}, {"SETBIT", "hash", "1", "5"},
		{"SETBIT", "b", "1"}, {"SETBIT", "b", "1", "1", "1"}, {"SETBIT", "new", "0", "0"}, {"SETBIT", "new2", "17", "0"},
		{"SET", "s", "hello"}, {"SETBIT", "s", "3", "0"}, {"SETBIT", "s", "2", "1"}, {"SET", "n", "12345"},
		{"SETBIT", "n", "0", "0"}, {"SET", "m", "12345"}, {"SETBIT", "m", "2", "1"}, {"SET", "e", ""}, {"SETBIT", "e", "0", "0"},
		{"GETBIT", "b", "0"}, {"GETBIT", "b", "7"}, {"GETBIT", "b", "1000000"}, {"GETBIT", "nokey", "0"},
		{"GETBIT", "hash", "0"}, {"GETBIT", "hash", "x"}, {"GETBIT", "b", "-1"}, {"GETBIT", "b", "x"},
		{"GETBIT", "nokey", "x"}, {"GETBIT", "b", "4294967296"}, {"GETBIT", "b", "4294967295"}, {"GETBIT", "b"},
		{"GETBIT", "s", "1"}, {"GETBIT", "n", "2"}, {"GETBIT", "s", "#1"},
	} {
		d.Compare(c...)
	}
	compareKeys(d, "b", "new", "new2", "s", "n", "m", "e")
}

func TestDiffBitcountBitpos(t *testing.T) {
	d := newDiff(t)
	d.Compare("SET", "s", "foobar")
	d.Compare("SET", "z", "\x00\x00\x00")
	d.Compare("SET", "f", "\xff\xff\xff")
	d.Compare("SET", "m", "\x00\xff\xf0")
	d.Compare("SET", "e", "")
	d.Compare("SET", "i", "1234")
	ranges := []string{"0", "1", "2", "-1", "-2", "-3", "5", "7", "8", "9", "15", "16", "17", "23", "24", "100", "-100", "-9223372036854775808", "9223372036854775807"}
	for _, k := range []string{"s", "z", "f", "m", "e", "i", "nokey"} {
		d.Compare("BITCOUNT", k)
		for _, bit := range []string{"0", "1"} {
			d.Compare("BITPOS", k, bit)
		}
		for _, a := range ranges {
			d.Compare("BITPOS", k, "1", a)
			d.Compare("BITPOS", k, "0", a)
			for _, b := range ranges {
				d.Compare("BITCOUNT", k, a, b)
				d.Compare("BITCOUNT", k, a, b, "BIT")
				d.Compare("BITPOS", k, "1", a, b)
				d.Compare("BITPOS", k, "0", a, b)
				d.Compare("BITPOS", k, "1", a, b, "bit")
				d.Compare("BITPOS", k, "0", a, b, "BIT")
			}
		}
	}
	for _, c := range [][]string{
		{"BITCOUNT", "s", "1"}, {"BITCOUNT", "s", "1", "2", "3"}, {"BITCOUNT", "s", "1", "2", "BYTE", "x"},
		{"BITCOUNT", "s", "x", "1"}, {"BITCOUNT", "s", "1", "x"}, {"BITCOUNT", "s", "1", "2", "bits"},
		{"BITCOUNT", "s", "1", "2", "byte"}, {"BITCOUNT", "s", "1", "2", "BIT\x00x"}, {"BITCOUNT", "nokey", "x"},
		{"BITCOUNT", "nokey", "1", "2", "bad"}, {"BITCOUNT", "hash"}, {"BITCOUNT", "hash", "x", "y", "z"},
		{"BITCOUNT"}, {"BITPOS", "s"}, {"BITPOS", "s", "2"}, {"BITPOS", "s", "-1"}, {"BITPOS", "s", "x"},
		{"BITPOS", "nokey", "2"}, {"BITPOS", "nokey", "1", "x"}, {"BITPOS", "nokey", "0", "1", "2", "bad"},
		{"BITPOS", "s", "1", "x"}, {"BITPOS", "s", "1", "0", "x"}, {"BITPOS", "s", "1", "0", "1", "bad"},
		{"BITPOS", "s", "1", "0", "1", "BIT", "x"}, {"BITPOS", "hash", "1"}, {"BITPOS", "hash", "5"},
		{"BITPOS", "hash", "1", "x"}, {"BITPOS", "s", "01"}, {"BITPOS", "s", "1", "0", "-1", "BYTE"},
	} {
		d.Compare(c...)
	}
}

func TestDiffBitop(t *testing.T) {
	d := newDiff(t)
	for _, c := range [][]string{
		{"SET", "a", "foobar"}, {"SET", "b", "abc"}, {"SET", "c", "\xff\x00\x0f\xf0\x55"}, {"SET", "e", ""},
		{"BITOP", "AND", "d", "a", "b"}, {"GET", "d"}, {"BITOP", "or", "d", "a", "b", "c"}, {"GET", "d"},
		{"BITOP", "Xor", "d", "a", "b", "c", "nokey"}, {"GET", "d"}, {"BITOP", "NOT", "d", "c"}, {"GET", "d"},
		{"BITOP", "AND", "d", "a", "nokey"}, {"GET", "d"}, {"BITOP", "AND", "d", "a"}, {"GET", "d"},
		{"BITOP", "NOT", "d", "a", "b"}, {"BITOP", "NOT", "d"}, {"BITOP", "bad", "d", "a"}, {"BITOP", "AND\x00x", "d2", "a"},
		{"BITOP", "AND", "d", "a", "hash"}, {"GET", "d"}, {"BITOP", "AND", "hash", "a"}, {"TYPE", "hash"},
		{"BITOP", "OR", "d", "nokey", "e"}, {"EXISTS", "d"}, {"BITOP", "OR", "d", "nokey"}, {"BITOP", "XOR", "x", "a", "a"},
		{"GET", "x"}, {"BITOP", "NOT", "x", "x"}, {"GET", "x"}, {"BITOP", "AND", "x"}, {"BITOP", "AND"},
		{"SET", "t", "v", "EX", "100"}, {"BITOP", "OR", "t", "a"}, {"TTL", "t"}, {"BITOP", "OR", "a", "a", "b"}, {"GET", "a"},
		{"BITOP", "OR", "hash", "nokey"}, {"EXISTS", "hash"}, {"SET", "i", "1234"}, {"BITOP", "NOT", "ni", "i"}, {"GET", "ni"},
	} {
		d.Compare(c...)
	}
	compareKeys(d, "d", "d2", "x", "t", "a", "ni")
}

func TestDiffBitfield(t *testing.T) {
	d := newDiff(t)
	for _, c := range [][]string{
		{"BITFIELD", "bf"}, {"EXISTS", "bf"}, {"BITFIELD", "bf", "GET", "u8", "0"}, {"EXISTS", "bf"},
		{"BITFIELD", "bf", "SET", "u8", "0", "255", "GET", "u8", "0", "GET", "i8", "0"}, {"GET", "bf"},
		{"BITFIELD", "bf", "INCRBY", "u2", "100", "1", "OVERFLOW", "SAT", "INCRBY", "u2", "102", "1"}, {"GET", "bf"},
		{"BITFIELD", "bf", "incrby", "i5", "#3", "100", "overflow", "wrap", "incrby", "i5", "#3", "100"},
		{"BITFIELD", "bf", "OVERFLOW", "FAIL", "INCRBY", "u2", "102", "5", "GET", "u2", "102"},
		{"BITFIELD", "nf", "OVERFLOW", "FAIL", "INCRBY", "u2", "102", "5"}, {"GET", "nf"},
		{"BITFIELD", "bf", "SET", "i64", "0", "-9223372036854775808", "INCRBY", "i64", "0", "-1"},
		{"BITFIELD", "bf", "OVERFLOW", "SAT", "INCRBY", "i64", "0", "-1", "INCRBY", "i64", "0", "9223372036854775807",
			"INCRBY", "i64", "0", "9223372036854775807", "INCRBY", "i64", "0", "1"},
		{"BITFIELD", "bf", "OVERFLOW", "FAIL", "INCRBY", "i64", "0", "1", "INCRBY", "i64", "0", "-9223372036854775808"},
		{"BITFIELD", "bf", "SET", "u63", "1", "9223372036854775807", "GET", "u63", "1", "GET", "i64", "0"},
		{"BITFIELD", "bf", "SET", "u8", "0", "-1", "OVERFLOW", "SAT", "SET", "u8", "8", "-1", "SET", "u8", "16", "256",
			"SET", "i8", "24", "128", "SET", "i8", "32", "-129", "OVERFLOW", "FAIL", "SET", "u8", "40", "256", "SET", "i4", "48", "-9"},
		{"GET", "bf"},
		{"BITFIELD", "bf", "SET", "u1", "1000", "1", "GET", "u16", "990", "GET", "i3", "999"}, {"GET", "bf"},
		{"BITFIELD", "bf", "GET", "u64", "0"}, {"BITFIELD", "bf", "GET", "i65", "0"}, {"BITFIELD", "bf", "GET", "i0", "0"},
		{"BITFIELD", "bf", "GET", "U8", "0"}, {"BITFIELD", "bf", "GET", "I8", "0"}, {"BITFIELD", "bf", "GET", "x8", "0"},
		{"BITFIELD", "bf", "GET", "", "0"}, {"BITFIELD", "bf", "GET", "i", "0"}, {"BITFIELD", "bf", "GET", "i08", "0"},
		{"BITFIELD", "bf", "GET", "i8\x00junk", "0"}, {"BITFIELD", "bf", "GET", "i-8", "0"}, {"BITFIELD", "bf", "GET", "u+8", "0"},
		{"BITFIELD", "bf", "GET", "i8", "-1"}, {"BITFIELD", "bf", "GET", "i8", "#-1"}, {"BITFIELD", "bf", "GET", "i8", "#"},
		{"BITFIELD", "bf", "GET", "i8", "##1"}, {"BITFIELD", "bf", "GET", "i8", "x"}, {"BITFIELD", "bf", "GET", "i8", "4294967296"},
		{"BITFIELD", "bf", "GET", "i8", "4294967295"}, {"BITFIELD", "bf", "GET", "i8", "#536870912"}, {"BITFIELD", "bf", "GET", "i8", "#536870911"},
		{"BITFIELD", "bf", "GET", "i64", "#1152921504606846976"}, {"BITFIELD", "bf", "GET", "i64", "#144115188075855872"},
		{"BITFIELD", "bf", "GET", "i8", "#1\x00"}, {"BITFIELD", "bf", "GET", "i8"}, {"BITFIELD", "bf", "GET"},
		{"BITFIELD", "bf", "SET", "i8", "0"}, {"BITFIELD", "bf", "SET", "i8", "0", "x"}, {"BITFIELD", "bf", "SET", "i8", "0", "1.5"},
		{"BITFIELD", "bf", "INCRBY", "i8", "0", ""}, {"BITFIELD", "bf", "INCRBY", "i8", "0", "9223372036854775808"},
		{"BITFIELD", "bf", "OVERFLOW"}, {"BITFIELD", "bf", "OVERFLOW", "bad", "GET", "i8", "0"}, {"BITFIELD", "bf", "OVERFLOW", "wrap"},
		{"BITFIELD", "bf", "OVERFLOW", "SAT\x00", "INCRBY", "u8", "0", "1000"}, {"BITFIELD", "bf", "bogus"},
		{"BITFIELD", "bf", "GET", "u8", "0", "bogus"}, {"BITFIELD", "bf", "get\x00x", "u8", "0"},
		{"BITFIELD", "bf", "SET", "u8", "0", "1", "GET", "bad", "0"}, {"GET", "bf"},
		{"BITFIELD", "hash", "GET", "u8", "0"}, {"BITFIELD", "hash", "SET", "u8", "0", "1"}, {"BITFIELD", "hash", "GET", "bad", "0"},
		{"BITFIELD", "hash"}, {"BITFIELD"},
		{"BITFIELD_RO", "bf", "GET", "u8", "0", "GET", "i16", "#1"}, {"BITFIELD_RO", "bf"}, {"BITFIELD_RO", "nokey", "GET", "i8", "0"},
		{"BITFIELD_RO", "bf", "SET", "u8", "0", "1"}, {"BITFIELD_RO", "bf", "INCRBY", "u8", "0", "1"},
		{"BITFIELD_RO", "bf", "GET", "u8", "0", "SET", "bad", "0", "1"}, {"BITFIELD_RO", "bf", "OVERFLOW", "SAT", "GET", "u8", "0"},
		{"BITFIELD_RO", "hash", "GET", "u8", "0"}, {"BITFIELD_RO", "hash", "SET", "u8", "0", "1"}, {"BITFIELD_RO", "nokey", "SET", "u8", "0", "1"},
		{"EXISTS", "nokey"}, {"BITFIELD_RO"},
		{"SET", "i", "255"}, {"BITFIELD", "i", "GET", "u8", "0"}, {"BITFIELD", "i", "SET", "u8", "0", "50"}, {"GET", "i"},
		{"SET", "j", "x"}, {"BITFIELD", "j", "SET", "u8", "0", "120"}, {"BITFIELD", "j", "GET", "u8", "0"},
	} {
		d.Compare(c...)
	}
	compareKeys(d, "bf", "nf", "i", "j")
	// Every width and offset alignment, signed and unsigned, all overflow
	// behaviours.
	rng := rand.New(rand.NewPCG(3, 4))
	vals := []string{"0", "1", "-1", "2", "-2", "127", "-128", "255", "256", "9223372036854775807", "-9223372036854775808", "4611686018427387904"}
	for bits := 1; bits <= 64; bits++ {
		types := []string{"i" + strconv.Itoa(bits)}
		if bits < 64 {
			types = append(types, "u"+strconv.Itoa(bits))
		}
		for _, ty := range types {
			for _, ow := range []string{"WRAP", "SAT", "FAIL"} {
				off := strconv.Itoa(rng.IntN(40))
				args := []string{"BITFIELD", "w", "OVERFLOW", ow}
				for i := 0; i < 6; i++ {
					op := []string{"SET", "INCRBY", "GET"}[rng.IntN(3)]
					args = append(args, op, ty, off)
					if op != "GET" {
						v := vals[rng.IntN(len(vals))]
						if rng.IntN(3) == 0 {
							v = strconv.FormatInt(rng.Int64()>>rng.IntN(64)-rng.Int64()>>rng.IntN(64), 10)
						}
						args = append(args, v)
					}
				}
				d.Compare(args...)
				d.Compare("GET", "w")
			}
		}
	}
}

// TestDiffRandom runs random bitmap commands over a few keys on both and
// compares every reply and, after each write, the value.
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
	rng := rand.New(rand.NewPCG(seed, 9))
	keys := []string{"k1", "k2", "k3", "hash", "none"}
	pick := func(xs []string) string { return xs[rng.IntN(len(xs))] }
	num := func(n int) string { return strconv.Itoa(rng.IntN(2*n+1) - n) }
	types := []string{"u1", "u3", "u8", "i8", "i5", "u16", "i16", "i32", "u31", "i63", "u63", "i64", "u7", "x", "i0"}
	n := 0
	for start := time.Now(); time.Since(start) < dur; n++ {
		k := pick(keys)
		var args []string
		switch r := rng.IntN(100); {
		case r < 25:
			args = []string{"SETBIT", k, strconv.Itoa(rng.IntN(200)), strconv.Itoa(rng.IntN(2))}
			if rng.IntN(30) == 0 {
				args[3] = pick([]string{"2", "-1", "x"})
			}
		case r < 32:
			args = []string{"GETBIT", k, strconv.Itoa(rng.IntN(220))}
		case r < 45:
			args = []string{"BITCOUNT", k}
			if rng.IntN(4) != 0 {
				args = append(args, num(30), num(30))
				if rng.IntN(2) == 0 {
					args = append(args, pick([]string{"BIT", "BYTE", "bit", "byte"}))
				}
			}
		case r < 60:
			args = []string{"BITPOS", k, pick([]string{"0", "1", "0", "1", "2"})}
			if rng.IntN(4) != 0 {
				args = append(args, num(30))
				if rng.IntN(2) == 0 {
					args = append(args, num(30))
					if rng.IntN(2) == 0 {
						args = append(args, pick([]string{"BIT", "BYTE"}))
					}
				}
			}
		case r < 70:
			args = []string{"BITOP", pick([]string{"AND", "OR", "XOR", "NOT", "and", "or"}), k}
			for i := rng.IntN(3) + 1; i > 0; i-- {
				args = append(args, pick(keys))
			}
		case r < 95:
			name := "BITFIELD"
			if rng.IntN(5) == 0 {
				name = "BITFIELD_RO"
			}
			args = []string{name, k}
			for i := rng.IntN(4); i >= 0; i-- {
				switch rng.IntN(4) {
				case 0:
					args = append(args, "OVERFLOW", pick([]string{"WRAP", "SAT", "FAIL"}))
				case 1:
					args = append(args, "GET", pick(types), offset(rng))
				case 2:
					args = append(args, "SET", pick(types), offset(rng), value(rng))
				default:
					args = append(args, "INCRBY", pick(types), offset(rng), value(rng))
				}
			}
		default:
			args = []string{pick([]string{"DEL", "SET"}), k}
			if args[0] == "SET" {
				args = append(args, pick([]string{"", "a", "foobar", "\xff\x00", "12"}))
			}
		}
		_, want := d.Compare(args...)
		if t.Failed() {
			t.Fatalf("after %d commands", n)
		}
		if want.Kind != reply.KindError && !strings.HasPrefix(args[0], "GET") {
			d.Compare("GET", k)
			if strings.HasPrefix(args[0], "BITOP") {
				d.Compare("GET", args[2])
			}
		}
	}
	t.Logf("%d commands", n)
}

func offset(rng *rand.Rand) string {
	if rng.IntN(4) == 0 {
		return "#" + strconv.Itoa(rng.IntN(8))
	}
	return strconv.Itoa(rng.IntN(120))
}

func value(rng *rand.Rand) string {
	switch rng.IntN(4) {
	case 0:
		return strconv.Itoa(rng.IntN(512) - 256)
	case 1:
		return strconv.FormatInt(rng.Int64()-rng.Int64(), 10)
	case 2:
		return []string{"9223372036854775807", "-9223372036854775808", "x", "1"}[rng.IntN(4)]
	}
	return strconv.Itoa(rng.IntN(5) - 2)
}

// newHarness returns a harness over the families the tests use.
func newHarness(t testing.TB) *commandtest.Harness {
	return commandtest.New(t, Specs, strs.Specs, keys.Specs, hashes.Specs)
}
