package rdb

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/cairndb/cairn/server/keyspace"
)

func listElems(l *keyspace.List) []string {
	var out []string
	l.Each(func(s []byte) bool { out = append(out, string(s)); return true })
	return out
}

func listOf(elems ...string) *keyspace.List {
	l := keyspace.NewList()
	for _, e := range elems {
		l.GrowCheck(len(e), 1)
		l.PushBack([]byte(e))
	}
	return l
}

// TestListRoundTrip dumps and restores lists in both encodings: nodes,
// encodings and elements survive.
func TestListRoundTrip(t *testing.T) {
	var many []string
	for i := 0; i < 5000; i++ {
		many = append(many, "e"+strconv.Itoa(i), strconv.Itoa(i-2500))
	}
	for _, l := range []*keyspace.List{listOf("a"), listOf("1", "", "-7", strings.Repeat("x", 5000)), listOf(many...),
		listOf(strings.Repeat("a", 9000), "b", strings.Repeat("c", 20000))} {
		p, err := Dump(nil, l)
		if err != nil {
			t.Fatal(err)
		}
		if p[0] != TypeListQuicklist2 {
			t.Fatalf("list written as type %d", p[0])
		}
		_, obj, err := Restore(p)
		if err != nil {
			t.Fatal(err)
		}
		g := obj.(*keyspace.List)
		if g.Encoding() != l.Encoding() || g.Chunks() != l.Chunks() || fmt.Sprint(listElems(g)) != fmt.Sprint(listElems(l)) {
			t.Fatalf("round trip: %s/%d nodes, was %s/%d", g.Encoding(), g.Chunks(), l.Encoding(), l.Chunks())
		}
	}
}

// TestListOldEncodings decodes the list encodings of older Redis
// versions: a plain list, a ziplist, a quicklist of ziplists, and a
// quicklist 2 with a plain node.
func TestListOldEncodings(t *testing.T) {
	elems := []string{"a", "12", "-5", strings.Repeat("y", 300), ""}
	plain := AppendLen([]byte{TypeList}, uint64(len(elems)))
	for _, e := range elems {
		plain = AppendString(plain, []byte(e))
	}
	zl := AppendString([]byte{TypeListZiplist}, buildZiplist(elems))
	ql := AppendLen([]byte{TypeListQuicklist}, 3)
	ql = AppendString(ql, buildZiplist(elems[:2]))
	ql = AppendString(ql, buildZiplist(nil)) // empty nodes are skipped
	ql = AppendString(ql, buildZiplist(elems[2:]))
	lp := NewListpack()
	for _, e := range elems[:4] {
		lp.Append([]byte(e))
	}
	ql2 := AppendLen([]byte{TypeListQuicklist2}, 2)
	ql2 = AppendLen(ql2, containerPacked)
	ql2 = AppendString(ql2, lp.Bytes())
	ql2 = AppendLen(ql2, containerPlain)
	ql2 = AppendString(ql2, []byte("plain!"))
	for name, body := range map[string][]byte{"list": plain, "ziplist": zl, "quicklist": ql, "quicklist2": ql2} {
		_, obj, err := Restore(payload(body, 10))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		l := obj.(*keyspace.List)
		want := elems
		if name == "quicklist2" {
			want = append(append([]string(nil), elems[:4]...), "plain!")
		}
		if fmt.Sprint(listElems(l)) != fmt.Sprint(want) {
			t.Fatalf("%s: %q", name, listElems(l))
		}
		enc := "listpack"
		if name == "quicklist" || name == "quicklist2" {
			enc = "quicklist" // several nodes (or a plain one)
		}
		if l.Encoding() != enc {
			t.Errorf("%s: encoding %s", name, l.Encoding())
		}
		// Re-encoded, a plain node stays plain.
		p, _ := Dump(nil, l)
		_, obj2, err := Restore(p)
		if err != nil || fmt.Sprint(listElems(obj2.(*keyspace.List))) != fmt.Sprint(want) {
			t.Fatalf("%s: re-encoding: %v", name, err)
		}
	}
}
