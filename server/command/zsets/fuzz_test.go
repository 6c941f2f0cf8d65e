package zsets

import (
	"strconv"
	"strings"
	"testing"

	"github.com/cairndb/cairn/server/command/commandtest"
	"github.com/cairndb/cairn/server/keyspace"
)

var fuzzKeys = []string{"small", "big", "str", "none"}

func fuzzHarness(t *testing.T) *commandtest.Harness {
	h := commandtest.New(t, Specs)
	small := keyspace.NewZSet()
	small.Set([]byte("a"), 1)
	small.Set([]byte("b"), 1.5)
	small.Set([]byte("c"), -3)
	h.DB.Put([]byte("small"), nil, small, 0)
	big := keyspace.NewZSet()
	for i := 0; i < 140; i++ {
		big.Set([]byte("m"+strconv.Itoa(i)), float64(i%13))
	}
	h.DB.Put([]byte("big"), nil, big, 0)
	h.DB.Put([]byte("str"), []byte("v"), nil, 0)
	return h
}

// dump renders the fuzz keys' contents.
func dump(h *commandtest.Harness) string {
	var b strings.Builder
	for _, k := range fuzzKeys {
		it := h.DB.Peek([]byte(k))
		if it == nil {
			b.WriteString(k + ":-;")
			continue
		}
		if it.Obj == nil {
			b.WriteString(k + ":s=" + string(it.Str) + ";")
			continue
		}
		b.WriteString(k + ":")
		it.Obj.(*keyspace.ZSet).Each(func(e keyspace.ZEntry) bool {
			b.WriteString(strconv.Quote(e.Member) + "=" + strconv.FormatFloat(e.Score, 'g', -1, 64) + ",")
			return true
		})
		b.WriteString(";")
	}
	return b.String()
}

// checkConsistent verifies each set's order, index and rank agree.
func checkConsistent(t *testing.T, h *commandtest.Harness, args [][]byte) {
	for _, k := range fuzzKeys {
		it := h.DB.Peek([]byte(k))
		if it == nil {
			continue
		}
		z, ok := it.Obj.(*keyspace.ZSet)
		if !ok {
			continue
		}
		if z.Len() == 0 {
			t.Fatalf("%q left empty set %s", args, k)
		}
		i := 0
		var prev keyspace.ZEntry
		z.Each(func(e keyspace.ZEntry) bool {
			if e.Score != e.Score {
				t.Fatalf("%q: NaN stored in %s", args, k)
			}
			if i > 0 && (prev.Score > e.Score || prev.Score == e.Score && prev.Member >= e.Member) {
				t.Fatalf("%q: %s out of order at %d", args, k, i)
			}
			if s, ok := z.Score([]byte(e.Member)); !ok || s != e.Score {
				t.Fatalf("%q: %s index disagrees for %q", args, k, e.Member)
			}
			if r, ok := z.Rank([]byte(e.Member)); !ok || r != i {
				t.Fatalf("%q: %s rank %d, want %d", args, k, r, i)
			}
			prev = e
			i++
			return true
		})
		if i != z.Len() {
			t.Fatalf("%q: %s Len %d, iterated %d", args, k, z.Len(), i)
		}
	}
}

// FuzzArgs runs every sorted-set command with arbitrary arguments: no input
// may panic, every error must be a well-formed Redis error, a command that
// fails must leave the keyspace unchanged, and sets stay consistent.
func FuzzArgs(f *testing.F) {
	f.Add(uint8(0), uint8(0), uint8(3), []byte("1"), []byte("a"), []byte("2"), []byte("b"))
	f.Add(uint8(10), uint8(1), uint8(4), []byte("(1"), []byte("5"), []byte("BYSCORE"), []byte("REV"))
	f.Add(uint8(14), uint8(0), uint8(4), []byte("[a"), []byte("+"), []byte("LIMIT"), []byte("1"))
	f.Add(uint8(26), uint8(1), uint8(4), []byte("2"), []byte("small"), []byte("WEIGHTS"), []byte("inf"))
	f.Add(uint8(24), uint8(0), uint8(4), []byte("1"), []byte("small"), []byte("MAX"), []byte("COUNT"))
	f.Fuzz(func(t *testing.T, cmd, key, n uint8, a, b, c, d []byte) {
		h := fuzzHarness(t)
		spec := Specs[int(cmd)%len(Specs)]
		args := [][]byte{[]byte(spec.Name), []byte(fuzzKeys[int(key)%len(fuzzKeys)]), a, b, c, d}
		args = args[:2+int(n)%5]
		before := dump(h)
		v := h.DoBytes(args)
		if v.IsError() {
			msg := string(v.Str)
			if msg == "CAIRNBLOCKED" {
				return
			}
			if !strings.HasPrefix(msg, "ERR ") && !strings.HasPrefix(msg, "WRONGTYPE ") {
				t.Fatalf("%q: malformed error %q", args, msg)
			}
			if after := dump(h); after != before {
				t.Fatalf("%q failed (%s) but changed the keyspace", args, msg)
			}
		}
		checkConsistent(t, h, args)
	})
}
