package lists

import (
	"strconv"
	"strings"
	"testing"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/command/commandtest"
	"github.com/cairndb/cairn/server/keyspace"
)

var fuzzKeys = []string{"small", "big", "str", "none"}

func fuzzHarness(t *testing.T) *commandtest.Harness {
	h := commandtest.New(t, Specs)
	small := keyspace.NewList()
	for _, e := range []string{"a", "1", "b", "a", ""} {
		small.PushBack([]byte(e))
	}
	h.DB.Put([]byte("small"), nil, small, 0)
	big := keyspace.NewList()
	big.GrowCheck(1<<20, 1)
	for i := 0; i < 3000; i++ {
		big.PushBack([]byte("e" + strconv.Itoa(i%40)))
	}
	h.DB.Put([]byte("big"), nil, big, 0)
	h.DB.Put([]byte("str"), []byte("v"), nil, 0)
	return h
}

// dump renders the fuzz keys' contents, to check that failed commands
// change nothing.
func dump(h *commandtest.Harness) string {
	var b strings.Builder
	for _, k := range fuzzKeys {
		it := h.DB.Peek([]byte(k))
		switch {
		case it == nil:
			b.WriteString(k + ":-;")
		case it.Obj == nil:
			b.WriteString(k + ":s=" + string(it.Str) + ";")
		default:
			b.WriteString(k + ":")
			it.Obj.(*keyspace.List).Each(func(s []byte) bool {
				b.WriteString(strconv.Quote(string(s)) + ",")
				return true
			})
			b.WriteString(";")
		}
	}
	return b.String()
}

// FuzzArgs runs every list command with arbitrary arguments over a small
// listpack, a large quicklist, a string and a missing key: no input may
// panic, every error must be a well-formed Redis error (or Blocked), a
// command that fails must leave the keyspace unchanged, and the lists
// stay consistent (LLEN matches LRANGE, no empty list is left behind).
func FuzzArgs(f *testing.F) {
	f.Add(uint8(0), uint8(0), uint8(3), []byte("a"), []byte("1"), []byte("b"), []byte("2"))
	f.Add(uint8(4), uint8(1), uint8(3), []byte("BEFORE"), []byte("e5"), []byte("x"), []byte(""))
	f.Add(uint8(12), uint8(1), uint8(5), []byte("e1"), []byte("RANK"), []byte("-2"), []byte("COUNT"))
	f.Add(uint8(16), uint8(0), uint8(4), []byte("2"), []byte("big"), []byte("LEFT"), []byte("COUNT"))
	f.Add(uint8(19), uint8(0), uint8(4), []byte("big"), []byte("LEFT"), []byte("RIGHT"), []byte("0.5"))
	f.Add(uint8(21), uint8(1), uint8(5), []byte("1"), []byte("small"), []byte("RIGHT"), []byte("COUNT"))
	f.Fuzz(func(t *testing.T, cmd, key, n uint8, a, b, c, d []byte) {
		h := fuzzHarness(t)
		spec := Specs[int(cmd)%len(Specs)]
		args := [][]byte{[]byte(spec.Name), []byte(fuzzKeys[int(key)%len(fuzzKeys)]), a, b, c, d}
		args = args[:2+int(n)%5]
		before := dump(h)
		v := h.DoBytes(args)
		if v.IsError() {
			msg := string(v.Str)
			if command.IsBlocked(v) {
				msg = "ERR blocked"
			}
			if !strings.HasPrefix(msg, "ERR ") && !strings.HasPrefix(msg, "WRONGTYPE ") {
				t.Fatalf("%q: malformed error %q", args, msg)
			}
			if after := dump(h); after != before {
				t.Fatalf("%q failed (%s) but changed the keyspace", args, msg)
			}
		}
		for _, k := range []string{"small", "big", "none"} {
			it := h.DB.Peek([]byte(k))
			if it == nil {
				continue
			}
			l, ok := it.Obj.(*keyspace.List)
			if !ok {
				continue
			}
			count := 0
			l.Each(func([]byte) bool { count++; return true })
			if count != l.Len() || count == 0 {
				t.Fatalf("%q: %s holds %d elements, Len %d", args, k, count, l.Len())
			}
			if l.Encoding() == "listpack" && l.Chunks() != 1 {
				t.Fatalf("%q: listpack with %d nodes", args, l.Chunks())
			}
		}
	})
}
