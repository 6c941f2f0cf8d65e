package sorts

import (
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/cairndb/cairn/server/command/commandtest"
	"github.com/cairndb/cairn/server/keyspace"
)

// fuzzWords are the arguments a one-byte fuzz argument below
// len(fuzzWords) stands for: SORT's options, fixture keys and patterns.
var fuzzWords = []string{"BY", "LIMIT", "GET", "ASC", "DESC", "ALPHA", "STORE", "#", "w_*", "h_*->f", "nosort",
	"l", "s", "i", "str", "dst", "-1", "0", "1", "2", "9223372036854775807", "o_*"}

func fuzzHarness(t *testing.T) *commandtest.Harness {
	h := newHarness(t)
	for _, c := range [][]string{
		{"RPUSH", "l", "3", "1", "2", "b", "", "1e2", "a\x00b"}, {"SADD", "s", "x", "y", "3"}, {"SADD", "i", "5", "-1", "7"},
		{"MSET", "w_1", "2", "w_3", "x", "w_y", "1", "o_1", "one", "str", "v"}, {"HSET", "h_1", "f", "9"}, {"HSET", "h_b", "f", "z"},
	} {
		if v := h.Do(c...); v.IsError() {
			t.Fatalf("%q: %v", c, v)
		}
	}
	return h
}

// state renders every key's type and content.
func state(h *commandtest.Harness) string {
	var out []string
	h.DB.Scan(0, func(it *keyspace.Item) bool {
		var b strings.Builder
		b.WriteString(strconv.Quote(it.Key) + ":")
		switch o := it.Obj.(type) {
		case nil:
			b.WriteString(strconv.Quote(string(it.Str)))
		case *keyspace.List:
			o.Each(func(s []byte) bool { b.WriteString(strconv.Quote(string(s)) + ","); return true })
		case *keyspace.Set:
			var ms []string
			o.Each(func(m []byte) bool { ms = append(ms, strconv.Quote(string(m))); return true })
			sort.Strings(ms)
			b.WriteString(strings.Join(ms, ","))
		default:
			b.WriteString(o.Encoding() + strconv.Itoa(o.Len()))
		}
		out = append(out, b.String())
		return true
	})
	sort.Strings(out)
	return strings.Join(out, ";")
}

// FuzzSort runs SORT and SORT_RO with arbitrary arguments (a one-byte
// argument below len(fuzzWords) stands for one of fuzzWords): no input may
// panic, every error is a Redis error, SORT_RO and a failing SORT change
// nothing, SORT changes at most its STORE destination (to a non-empty
// list, or deletes it), and SORT_RO replies as SORT without STORE.
func FuzzSort(f *testing.F) {
	f.Add(false, uint8(11), []byte{0}, []byte{8}, []byte{2}, []byte{7}, []byte{2}, []byte{21}, []byte{6}, []byte{15})
	f.Add(true, uint8(12), []byte{5}, []byte{1}, []byte{16}, []byte{18}, []byte{4}, []byte{0}, []byte{10}, []byte("x"))
	f.Add(false, uint8(13), []byte{0}, []byte{9}, []byte{1}, []byte("x"), []byte("1"), []byte{6}, []byte{15}, []byte{})
	f.Add(false, uint8(11), []byte{0}, []byte("w_\x00*"), []byte{2}, []byte("h_*-\x00>f"), []byte{2}, []byte("#\x00"), []byte{5}, []byte{6})
	f.Fuzz(func(t *testing.T, ro bool, key uint8, a1, a2, a3, a4, a5, a6, a7, a8 []byte) {
		h := fuzzHarness(t)
		name := "SORT"
		if ro {
			name = "SORT_RO"
		}
		args := [][]byte{[]byte(name), []byte(fuzzWords[int(key)%len(fuzzWords)])}
		for _, x := range [][]byte{a1, a2, a3, a4, a5, a6, a7, a8} {
			if len(x) == 1 && int(x[0]) < len(fuzzWords) {
				x = []byte(fuzzWords[x[0]])
			}
			args = append(args, x)
		}
		for len(args) > 2 && len(args[len(args)-1]) == 0 && len(args[len(args)-2]) == 0 {
			args = args[:len(args)-1]
		}
		before := state(h)
		v := h.DoBytes(args)
		after := state(h)
		if v.IsError() {
			msg := string(v.Str)
			if !strings.HasPrefix(msg, "ERR ") && !strings.HasPrefix(msg, "WRONGTYPE ") {
				t.Fatalf("%q: malformed error %q", args, msg)
			}
			if after != before {
				t.Fatalf("%q failed (%s) but changed the keyspace", args, msg)
			}
			return
		}
		o, err := parse(args, ro)
		if err != nil {
			t.Fatalf("%q succeeded but parse fails: %v", args, err)
		}
		if o.store == nil {
			if after != before {
				t.Fatalf("%q without STORE changed the keyspace", args)
			}
			// SORT_RO and SORT agree.
			other := append([][]byte{[]byte("SORT_RO")}, args[1:]...)
			if !ro {
				if w := h.DoBytes(other); w.String() != v.String() {
					t.Fatalf("%q: %s, SORT_RO: %s", args, v, w)
				}
			}
			return
		}
		dst := h.DB.Exists(o.store, h.Now)
		if v.Int == 0 {
			if dst != nil {
				t.Fatalf("%q stored nothing but %q exists", args, o.store)
			}
		} else if l, ok := dstList(dst); !ok || int64(l.Len()) != v.Int {
			t.Fatalf("%q replied %d but %q is not a list of that length", args, v.Int, o.store)
		}
		// Nothing but the destination changed.
		h2 := fuzzHarness(t)
		h2.DB.Delete(o.store)
		h.DB.Delete(o.store)
		if state(h) != state(h2) {
			t.Fatalf("%q changed keys other than its destination", args)
		}
	})
}

func dstList(it *keyspace.Item) (*keyspace.List, bool) {
	if it == nil {
		return nil, false
	}
	l, ok := it.Obj.(*keyspace.List)
	return l, ok
}
