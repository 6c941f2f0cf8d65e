package rdb

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/cairndb/cairn/server/keyspace"
)

// describe renders a decoded object for comparisons: its type, encoding
// and content (a set's members sorted).
func describe(obj keyspace.Object) string {
	switch o := obj.(type) {
	case *keyspace.Hash:
		return "hash:" + o.Encoding() + ":" + fmt.Sprint(hashPairs(o))
	case *keyspace.List:
		return "list:" + o.Encoding() + ":" + fmt.Sprint(listElems(o))
	case *keyspace.Set:
		var ms []string
		o.Each(func(m []byte) bool { ms = append(ms, string(m)); return true })
		sort.Strings(ms)
		return "set:" + o.Encoding() + ":" + strings.Join(ms, "\x00")
	}
	return fmt.Sprintf("%T", obj)
}

func setOf(ms ...string) *keyspace.Set {
	s := keyspace.NewSet()
	for _, m := range ms {
		s.Add([]byte(m))
	}
	return s
}

func TestSetRoundTrip(t *testing.T) {
	var ints, many, strs []string
	for i := 0; i < 600; i++ {
		many = append(many, strconv.Itoa(i*1000))
		strs = append(strs, "member:"+strconv.Itoa(i))
	}
	for i := 0; i < 100; i++ {
		ints = append(ints, strconv.Itoa(i*i-50))
	}
	shrunk := setOf("1", "2", "x")
	shrunk.Remove([]byte("x")) // a hashtable of integers
	for _, s := range []*keyspace.Set{setOf("1"), setOf(ints...), setOf("-32769", "5"), setOf("9223372036854775807", "-9223372036854775808"),
		setOf(many...), setOf(strs...), setOf("a", "", "\x00", strings.Repeat("z", 100)), shrunk} {
		p, err := Dump(nil, s)
		if err != nil {
			t.Fatal(err)
		}
		want := byte(TypeSet)
		if s.Encoding() == "intset" {
			want = TypeSetIntset
		}
		if p[0] != want {
			t.Fatalf("%s set written as type %d", s.Encoding(), p[0])
		}
		_, obj, err := Restore(p)
		if err != nil {
			t.Fatal(err)
		}
		g, w := describe(obj), describe(s)
		if s == shrunk {
			// Loading re-encodes: integers only, so an intset, as in Redis.
			w = strings.Replace(w, "hashtable", "intset", 1)
		}
		if g != w {
			t.Fatalf("set round trip:\n%.200q\n%.200q", g, w)
		}
	}
}

func TestIntsetBlob(t *testing.T) {
	for _, c := range []struct {
		vs    []int64
		width int
	}{{[]int64{1, 2}, 2}, {[]int64{-32768, 32767}, 2}, {[]int64{-32769}, 4}, {[]int64{0, 1 << 31}, 8}, {[]int64{-1 << 31, 5}, 4}} {
		b := IntsetBlob(c.vs)
		if w := binary.LittleEndian.Uint32(b); int(w) != c.width || len(b) != 8+c.width*len(c.vs) {
			t.Fatalf("%v: width %d, len %d", c.vs, w, len(b))
		}
		var got []int64
		if err := IntsetEntries(b, func(v int64) error { got = append(got, v); return nil }); err != nil || fmt.Sprint(got) != fmt.Sprint(c.vs) {
			t.Fatalf("%v: %v %v", c.vs, got, err)
		}
	}
}

func TestSetRestoreFormats(t *testing.T) {
	// Redis 7.2's listpack-encoded set (RDB version 11).
	lp := NewListpack()
	for _, m := range []string{"a", "12", "b"} {
		lp.Append([]byte(m))
	}
	_, obj, err := Restore(payload(AppendString([]byte{TypeSetListpack}, lp.Bytes()), 11))
	if err != nil || describe(obj) != "set:hashtable:12\x00a\x00b" {
		t.Fatalf("listpack set: %v %v", describe(obj), err)
	}
	lp = NewListpack()
	for _, m := range []string{"3", "1", "2"} {
		lp.Append([]byte(m))
	}
	_, obj, err = Restore(payload(AppendString([]byte{TypeSetListpack}, lp.Bytes()), 11))
	if err != nil || describe(obj) != "set:intset:1\x002\x003" {
		t.Fatalf("listpack integer set: %v %v", describe(obj), err)
	}
	// A 600-member intset loads as a hashtable, as Redis converts it.
	var vs []int64
	for i := 0; i < 600; i++ {
		vs = append(vs, int64(i))
	}
	_, obj, err = Restore(payload(AppendString([]byte{TypeSetIntset}, IntsetBlob(vs)), 10))
	if err != nil || obj.Encoding() != "hashtable" || obj.Len() != 600 {
		t.Fatalf("big intset: %v %v", obj, err)
	}
	dupLP := NewListpack()
	dupLP.Append([]byte("a"))
	dupLP.Append([]byte("a"))
	bad := [][]byte{
		{TypeSet, 0},                                         // empty
		{TypeSet, 2, 1, 'a', 1, 'a'},                         // duplicate
		{TypeSet, 2, 0xc0, 5, 1, '5'},                        // duplicate integer (encoded and plain)
		{TypeSet, 3, 1, 'a'},                                 // short
		AppendString([]byte{TypeSetIntset}, IntsetBlob(nil)), // empty intset
		AppendString([]byte{TypeSetIntset}, IntsetBlob([]int64{1})[:9]),                 // size mismatch
		AppendString([]byte{TypeSetIntset}, []byte{3, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0}),    // bad width
		AppendString([]byte{TypeSetIntset}, []byte{2, 0, 0, 0, 2, 0, 0, 0, 5, 0, 1, 0}), // unsorted
		AppendString([]byte{TypeSetIntset}, []byte{2, 0, 0, 0, 2, 0, 0, 0, 5, 0, 5, 0}), // duplicate
		AppendString([]byte{TypeSetListpack}, dupLP.Bytes()),
		AppendString([]byte{TypeSetListpack}, []byte{7, 0, 0, 0, 0, 0, 0xff}), // empty listpack
	}
	for _, body := range bad {
		if _, _, err := Restore(payload(body, 11)); !errors.Is(err, ErrBadFormat) {
			t.Errorf("% x: %v", body, err)
		}
	}
}

func FuzzDecodeSet(f *testing.F) {
	f.Add(AppendString([]byte{TypeSetIntset}, IntsetBlob([]int64{1, 70000})))
	f.Add([]byte{TypeSet, 2, 1, 'a', 0xc0, 5})
	lp := NewListpack()
	lp.Append([]byte("x"))
	lp.Append([]byte("-3"))
	f.Add(AppendString([]byte{TypeSetListpack}, lp.Bytes()))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, obj, err := DecodeValue(b)
		if err != nil {
			if !errors.Is(err, ErrBadFormat) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if s, ok := obj.(*keyspace.Set); ok {
			if err := s.CheckSet(); err != nil {
				t.Fatal(err)
			}
		}
		p, err := Dump(nil, obj)
		if err != nil {
			t.Fatal(err)
		}
		_, obj2, err := Restore(p)
		if err != nil || describe(obj) != describe(obj2) {
			t.Fatalf("round trip: %v", err)
		}
	})
}
