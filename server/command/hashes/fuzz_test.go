package hashes

import (
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/cairndb/cairn/server/command/commandtest"
	"github.com/cairndb/cairn/server/keyspace"
)

var fuzzKeys = []string{"small", "big", "str", "none"}

func fuzzHarness(t *testing.T) *commandtest.Harness {
	h := commandtest.New(t, Specs)
	small := keyspace.NewHash()
	small.Set([]byte("a"), []byte("1"))
	small.Set([]byte("b"), []byte("1.5"))
	small.Set([]byte("c"), []byte("abc"))
	h.DB.Put([]byte("small"), nil, small, 0)
	big := keyspace.NewHash()
	for i := 0; i < 140; i++ {
		big.Set([]byte("f"+strconv.Itoa(i)), []byte(strconv.Itoa(i)))
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
		if it == nil {
			b.WriteString(k + ":-;")
			continue
		}
		if it.Obj == nil {
			b.WriteString(k + ":s=" + string(it.Str) + ";")
			continue
		}
		var fs []string
		it.Obj.(*keyspace.Hash).Each(func(n string, v []byte) bool {
			fs = append(fs, strconv.Quote(n)+"="+strconv.Quote(string(v)))
			return true
		})
		sort.Strings(fs)
		b.WriteString(k + ":" + strings.Join(fs, ",") + ";")
	}
	return b.String()
}

// FuzzArgs runs every hash command with arbitrary arguments: no input may
// panic, every error must be a well-formed Redis error, and a command that
// fails must leave the keyspace unchanged.
func FuzzArgs(f *testing.F) {
	f.Add(uint8(0), uint8(0), uint8(3), []byte("a"), []byte("1"), []byte("b"), []byte("2"))
	f.Add(uint8(13), uint8(1), uint8(2), []byte("f1"), []byte("1e400"), []byte(""), []byte(""))
	f.Add(uint8(14), uint8(0), uint8(2), []byte("-5"), []byte("WITHVALUES"), []byte(""), []byte(""))
	f.Add(uint8(15), uint8(1), uint8(5), []byte("0"), []byte("MATCH"), []byte("f[1-3]*"), []byte("COUNT"))
	f.Add(uint8(12), uint8(0), uint8(2), []byte("a"), []byte("9223372036854775807"), []byte(""), []byte(""))
	f.Fuzz(func(t *testing.T, cmd, key, n uint8, a, b, c, d []byte) {
		h := fuzzHarness(t)
		spec := Specs[int(cmd)%len(Specs)]
		args := [][]byte{[]byte(spec.Name), []byte(fuzzKeys[int(key)%len(fuzzKeys)]), a, b, c, d}
		args = args[:2+int(n)%5]
		before := dump(h)
		v := h.DoBytes(args)
		if v.IsError() {
			msg := string(v.Str)
			if !strings.HasPrefix(msg, "ERR ") && !strings.HasPrefix(msg, "WRONGTYPE ") {
				t.Fatalf("%q: malformed error %q", args, msg)
			}
			if after := dump(h); after != before {
				t.Fatalf("%q failed (%s) but changed the keyspace", args, msg)
			}
		}
	})
}
