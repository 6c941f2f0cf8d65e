package keyspace

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
)

// state is a deep copy of everything observable about one item: what a
// snapshot must preserve exactly.
type state struct {
	typ    Type
	exp    int64
	raw    bool
	str    string
	enc    string
	fields []string // name, value, name, value ... in iteration order
}

func (s state) String() string {
	if s.typ == TypeString {
		v := s.str
		if len(v) > 40 {
			v = fmt.Sprintf("%s...(%d bytes)", v[:40], len(v))
		}
		return fmt.Sprintf("string(exp=%d raw=%v %q)", s.exp, s.raw, v)
	}
	f := s.fields
	more := ""
	if len(f) > 8 {
		f, more = f[:8], fmt.Sprintf(" ...(%d fields)", len(s.fields)/2)
	}
	return fmt.Sprintf("%s(exp=%d enc=%s %q%s)", s.typ, s.exp, s.enc, f, more)
}

func stateOf(it *Item) state {
	s := state{typ: it.Type(), exp: it.ExpireAt, raw: it.Raw}
	switch o := it.Obj.(type) {
	case nil:
		s.str = string(it.Str)
	case *Hash:
		s.enc = o.Encoding()
		s.fields = make([]string, 0, 2*o.Len())
		o.Each(func(name string, value []byte) bool {
			s.fields = append(s.fields, name, string(value))
			return true
		})
	case *Set:
		s.enc = o.Encoding()
		s.fields = make([]string, 0, o.Len())
		o.Each(func(m []byte) bool {
			s.fields = append(s.fields, string(m))
			return true
		})
	default:
		panic(fmt.Sprintf("stateOf: %T", o))
	}
	return s
}

func equalState(a, b state) bool {
	if a.typ != b.typ || a.exp != b.exp || a.raw != b.raw || a.str != b.str || a.enc != b.enc || len(a.fields) != len(b.fields) {
		return false
	}
	for i := range a.fields {
		if a.fields[i] != b.fields[i] {
			return false
		}
	}
	return true
}

// dump deep-copies db's content, checking on the way that the scan order is
// the key order.
func dump(t testing.TB, db *DB) map[string]state {
	t.Helper()
	m := make(map[string]state, db.Len())
	if db.tree.m.n != db.tree.Len() {
		t.Fatalf("hash index holds %d keys, tree %d", db.tree.m.n, db.tree.Len())
	}
	var prev *Item
	db.Scan(0, func(it *Item) bool {
		if prev != nil && !lessRef(ref{prev.order(), prev}, ref{it.order(), it}) {
			t.Fatalf("scan order: %q (ord %x) before %q (ord %x)", prev.Key, prev.order(), it.Key, it.order())
		}
		if db.find([]byte(it.Key)) != it {
			t.Fatalf("key %q: hash index does not point at the tree's item", it.Key)
		}
		prev = it
		m[it.Key] = stateOf(it)
		return true
	})
	if len(m) != db.Len() {
		t.Fatalf("scan visited %d keys, Len is %d", len(m), db.Len())
	}
	return m
}

// checkIndex verifies the expiry index against the items.
func checkIndex(t testing.TB, db *DB) {
	t.Helper()
	want := 0
	var keys []string
	db.Scan(0, func(it *Item) bool {
		if it.ExpireAt != 0 {
			want++
			keys = append(keys, it.Key)
		}
		return true
	})
	if db.Expiring() != want {
		t.Fatalf("Expiring() = %d, %d items have an expiry", db.Expiring(), want)
	}
	got := db.ExpiredKeys(1<<62, 1<<30)
	sort.Strings(got)
	sort.Strings(keys)
	if strings.Join(got, "\x00") != strings.Join(keys, "\x00") {
		t.Fatalf("expiry index holds %d keys, items with expiry %d", len(got), len(keys))
	}
}

func compareDumps(t testing.TB, what string, got, want map[string]state) {
	t.Helper()
	bad := 0
	for k, w := range want {
		g, ok := got[k]
		if !ok {
			t.Errorf("%s: key %q missing (want %v)", what, k, w)
		} else if !equalState(g, w) {
			t.Errorf("%s: key %q = %v, want %v", what, k, g, w)
		} else {
			continue
		}
		if bad++; bad > 10 {
			t.Fatalf("%s: too many differences", what)
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: unexpected key %q = %v", what, k, g)
			if bad++; bad > 10 {
				t.Fatalf("%s: too many differences", what)
			}
		}
	}
	if bad > 0 {
		t.FailNow()
	}
}

func serialize(t testing.TB, s *Snapshot) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := s.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func load(t testing.TB, b []byte) *DB {
	t.Helper()
	db := New()
	if err := db.Load(bytes.NewReader(b)); err != nil {
		t.Fatalf("load: %v", err)
	}
	return db
}

func randBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := 0; i < n; i += 8 {
		v := r.Uint64()
		for j := i; j < n && j < i+8; j++ {
			b[j] = byte(v)
			v >>= 8
		}
	}
	return b
}

func hashOf(t testing.TB, it *Item) *Hash {
	t.Helper()
	h, ok := it.Obj.(*Hash)
	if !ok {
		t.Fatalf("key %q holds %T, not a hash", it.Key, it.Obj)
	}
	return h
}
