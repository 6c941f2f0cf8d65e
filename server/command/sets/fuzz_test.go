package sets

import (
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/cairndb/cairn/server/command/commandtest"
	"github.com/cairndb/cairn/server/keyspace"
)

var fuzzKeys = []string{"ints", "strs", "big", "str", "none"}

func fuzzHarness(t *testing.T) *commandtest.Harness {
	h := commandtest.New(t, Specs)
	ints := keyspace.NewSet()
	for _, v := range []int64{1, 2, 3, -7, 1000} {
		ints.AddInt(v)
	}
	h.DB.Put([]byte("ints"), nil, ints, 0)
	strs := keyspace.NewSet()
	for _, m := range []string{"a", "b", "1", ""} {
		strs.Add([]byte(m))
	}
	h.DB.Put([]byte("strs"), nil, strs, 0)
	big := keyspace.NewSet()
	for i := 0; i < 300; i++ {
		big.Add([]byte("m" + strconv.Itoa(i)))
		big.AddInt(int64(i))
	}
	h.DB.Put([]byte("big"), nil, big, 0)
	h.DB.Put([]byte("str"), []byte("v"), nil, 0)
	return h
}

// dump renders every key's content, checking each set's invariants: no
// empty set is ever stored.
func dump(t *testing.T, h *commandtest.Harness) string {
	var b strings.Builder
	h.DB.Scan(0, func(it *keyspace.Item) bool {
		if it.Obj == nil {
			b.WriteString(it.Key + ":s=" + string(it.Str) + ";")
			return true
		}
		s := it.Obj.(*keyspace.Set)
		if err := s.CheckSet(); err != nil {
			t.Fatalf("key %q: %v", it.Key, err)
		}
		if s.Len() == 0 {
			t.Fatalf("key %q: empty set stored", it.Key)
		}
		var ms []string
		s.Each(func(m []byte) bool { ms = append(ms, strconv.Quote(string(m))); return true })
		sort.Strings(ms)
		b.WriteString(it.Key + ":" + s.Encoding() + ":" + strings.Join(ms, ",") + ";")
		return true
	})
	return b.String()
}

// FuzzArgs runs every set command with arbitrary arguments (a one-byte
// argument below 5 names one of the fixture keys): no input may panic,
// every error must be a well-formed Redis error, a command that fails must
// leave the keyspace unchanged, and every stored set must stay consistent
// and non-empty.
func FuzzArgs(f *testing.F) {
	f.Add(uint8(0), uint8(0), uint8(3), []byte("a"), []byte("1"), []byte("b"), []byte("2"))
	f.Add(uint8(6), uint8(2), uint8(1), []byte("250"), []byte(""), []byte(""), []byte(""))
	f.Add(uint8(6), uint8(2), uint8(1), []byte("590"), []byte(""), []byte(""), []byte(""))
	f.Add(uint8(7), uint8(1), uint8(1), []byte("-5"), []byte(""), []byte(""), []byte(""))
	f.Add(uint8(8), uint8(0), uint8(2), []byte{1}, []byte("1"), []byte(""), []byte(""))
	f.Add(uint8(11), uint8(0), uint8(4), []byte{0}, []byte{1}, []byte("LIMIT"), []byte("1"))
	f.Add(uint8(15), uint8(2), uint8(3), []byte{0}, []byte{2}, []byte{1}, []byte(""))
	f.Add(uint8(16), uint8(2), uint8(5), []byte("0"), []byte("MATCH"), []byte("m1*"), []byte("COUNT"))
	f.Fuzz(func(t *testing.T, cmd, key, n uint8, a, b, c, d []byte) {
		h := fuzzHarness(t)
		spec := Specs[int(cmd)%len(Specs)]
		args := [][]byte{[]byte(spec.Name), []byte(fuzzKeys[int(key)%len(fuzzKeys)]), a, b, c, d}
		args = args[:2+int(n)%5]
		for i := 2; i < len(args); i++ {
			if len(args[i]) == 1 && int(args[i][0]) < len(fuzzKeys) {
				args[i] = []byte(fuzzKeys[args[i][0]])
			}
		}
		before := dump(t, h)
		v := h.DoBytes(args)
		after := dump(t, h)
		if v.IsError() {
			msg := string(v.Str)
			if !strings.HasPrefix(msg, "ERR ") && !strings.HasPrefix(msg, "WRONGTYPE ") {
				t.Fatalf("%q: malformed error %q", args, msg)
			}
			if after != before {
				t.Fatalf("%q failed (%s) but changed the keyspace", args, msg)
			}
		}
	})
}
