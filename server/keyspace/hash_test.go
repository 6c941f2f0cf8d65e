package keyspace

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func fieldsOf(h *Hash) []string {
	var out []string
	h.Each(func(name string, value []byte) bool {
		out = append(out, name+"="+string(value))
		return true
	})
	return out
}

func TestHashListpackBasics(t *testing.T) {
	h := NewHash()
	if h.Type() != TypeHash || h.Encoding() != "listpack" || h.Len() != 0 {
		t.Fatal("new hash")
	}
	if _, ok := h.Get([]byte("x")); ok {
		t.Fatal("Get on empty hash")
	}
	for _, f := range []string{"c", "a", "b", "d"} {
		if !h.Set([]byte(f), []byte("v"+f)) {
			t.Fatalf("Set(%s) not new", f)
		}
	}
	// Updating keeps the field's position (listpack order = insertion order).
	if h.Set([]byte("a"), []byte("A")) {
		t.Fatal("Set of an existing field reported new")
	}
	if got := fieldsOf(h); !slices.Equal(got, []string{"c=vc", "a=A", "b=vb", "d=vd"}) {
		t.Fatalf("order %q", got)
	}
	if !h.Delete([]byte("a")) || h.Delete([]byte("a")) || h.Delete([]byte("zz")) {
		t.Fatal("Delete")
	}
	h.Set([]byte("a"), []byte("again"))
	if got := fieldsOf(h); !slices.Equal(got, []string{"c=vc", "b=vb", "d=vd", "a=again"}) {
		t.Fatalf("order after delete and re-add %q", got)
	}
	for i := range h.Len() {
		name, v := h.At(i)
		if fieldsOf(h)[i] != name+"="+string(v) {
			t.Fatalf("At(%d) = %s", i, name)
		}
	}
	// Set copies the value; the field name is a string already.
	val := []byte("orig")
	field := []byte("new")
	h.Set(field, val)
	val[0], field[0] = 'X', 'X'
	if v, ok := h.Get([]byte("new")); !ok || string(v) != "orig" {
		t.Fatalf("Set did not copy: %q %v", v, ok)
	}
	// Each stops when fn returns false.
	n := 0
	h.Each(func(string, []byte) bool { n++; return n < 2 })
	if n != 2 {
		t.Fatalf("Each did not stop: %d", n)
	}
	// Empty field names and values are fine.
	h.Set(nil, nil)
	if v, ok := h.Get([]byte{}); !ok || len(v) != 0 {
		t.Fatal("empty field")
	}
}

func TestHashConversion(t *testing.T) {
	long := func(n int) []byte { return []byte(strings.Repeat("x", n)) }
	cases := []struct {
		name string
		fill func(h *Hash)
		enc  string
	}{
		{"128 fields", func(h *Hash) {
			for i := range HashMaxListpackEntries {
				h.Set([]byte("f"+strconv.Itoa(i)), []byte("v"))
			}
		}, "listpack"},
		{"129 fields", func(h *Hash) {
			for i := range HashMaxListpackEntries + 1 {
				h.Set([]byte("f"+strconv.Itoa(i)), []byte("v"))
			}
		}, "hashtable"},
		{"64-byte value", func(h *Hash) { h.Set([]byte("f"), long(64)) }, "listpack"},
		{"65-byte value", func(h *Hash) { h.Set([]byte("f"), long(65)) }, "hashtable"},
		{"64-byte field", func(h *Hash) { h.Set(long(64), []byte("v")) }, "listpack"},
		{"65-byte field", func(h *Hash) { h.Set(long(65), []byte("v")) }, "hashtable"},
		{"update to 65-byte value", func(h *Hash) {
			h.Set([]byte("a"), []byte("1"))
			h.Set([]byte("f"), []byte("v"))
			h.Set([]byte("f"), long(65))
		}, "hashtable"},
		{"update to 64-byte value", func(h *Hash) {
			h.Set([]byte("f"), []byte("v"))
			h.Set([]byte("f"), long(64))
		}, "listpack"},
	}
	for _, tc := range cases {
		h := NewHash()
		tc.fill(h)
		if h.Encoding() != tc.enc {
			t.Errorf("%s: encoding %s, want %s", tc.name, h.Encoding(), tc.enc)
		}
	}

	// Conversion keeps every field and value, and is for good.
	h := NewHash()
	want := map[string]string{}
	for i := range 200 {
		f, v := "field:"+strconv.Itoa(i), "value:"+strconv.Itoa(i*7)
		h.Set([]byte(f), []byte(v))
		want[f] = v
		enc := "listpack"
		if i >= HashMaxListpackEntries {
			enc = "hashtable"
		}
		if h.Encoding() != enc {
			t.Fatalf("after %d fields: %s", i+1, h.Encoding())
		}
	}
	if h.Len() != 200 {
		t.Fatalf("Len %d", h.Len())
	}
	for f, v := range want {
		if got, ok := h.Get([]byte(f)); !ok || string(got) != v {
			t.Fatalf("%s = %q %v", f, got, ok)
		}
	}
	for i := range 199 {
		if !h.Delete([]byte("field:" + strconv.Itoa(i))) {
			t.Fatal("Delete in hashtable")
		}
	}
	if h.Len() != 1 || h.Encoding() != "hashtable" {
		t.Fatalf("shrunk hash: Len %d enc %s", h.Len(), h.Encoding())
	}
	if h.Set([]byte("field:199"), []byte("x")) || !h.Set([]byte("n"), []byte("y")) {
		t.Fatal("Set in hashtable reports new/existing wrongly")
	}
	if got := fieldsOf(h); len(got) != 2 {
		t.Fatalf("fields %q", got)
	}
	for i := range h.Len() {
		name, v := h.At(i)
		if fieldsOf(h)[i] != name+"="+string(v) {
			t.Fatalf("hashtable At(%d) = %s", i, name)
		}
	}
}

func TestHashClone(t *testing.T) {
	for _, n := range []int{5, 300} {
		h := NewHash()
		for i := range n {
			h.Set([]byte("f"+strconv.Itoa(i)), []byte("v"+strconv.Itoa(i)))
		}
		before := fieldsOf(h)
		c := h.Clone().(*Hash)
		if c.Encoding() != h.Encoding() || !slices.Equal(fieldsOf(c), before) {
			t.Fatal("clone differs")
		}
		c.Set([]byte("f1"), []byte("changed")) // in place in a listpack
		c.Delete([]byte("f0"))                 // shifts a listpack
		c.Set([]byte("new"), []byte("x"))
		for i := range 200 { // converts a listpack clone
			c.Set([]byte("g"+strconv.Itoa(i)), []byte("y"))
		}
		if !slices.Equal(fieldsOf(h), before) {
			t.Fatalf("%d fields: editing the clone changed the original", n)
		}
		h.Set([]byte("f2"), []byte("orig-changed"))
		if v, _ := c.Get([]byte("f2")); string(v) != "v2" {
			t.Fatalf("%d fields: editing the original changed the clone: %q", n, v)
		}
	}
}

// hscanAll runs a full HSCAN-like iteration; between is called between calls.
func hscanAll(t *testing.T, h *Hash, count int, between func()) map[string]int {
	t.Helper()
	seen := map[string]int{}
	cursor := uint64(0)
	for calls := 0; ; calls++ {
		if calls > 1_000_000 {
			t.Fatal("hscan does not terminate")
		}
		n := 0
		limit := count
		if h.Encoding() == "listpack" { // as HSCAN does: a listpack is returned whole
			limit = 1 << 62
		}
		cursor = h.Scan(cursor, func(name string, _ []byte) bool {
			seen[name]++
			n++
			return n < limit
		})
		if cursor == 0 {
			return seen
		}
		between()
	}
}

func TestHashScanListpack(t *testing.T) {
	h := NewHash()
	for i := range 10 {
		h.Set([]byte("f"+strconv.Itoa(i)), nil)
	}
	for _, cursor := range []uint64{0, 1, 12345, 1 << 63} {
		n := 0
		if next := h.Scan(cursor, func(string, []byte) bool { n++; return true }); next != 0 || n != 10 {
			t.Fatalf("listpack scan from %d: next %d, %d fields", cursor, next, n)
		}
	}
}

func TestHashScanGuarantee(t *testing.T) {
	for seed := range uint64(6) {
		r := rand.New(rand.NewPCG(seed, 7))
		h := NewHash()
		stable := map[string]bool{}
		var volatile []string
		existed := map[string]bool{}
		for i := range 2000 {
			f := fmt.Sprintf("f%d", i)
			h.Set([]byte(f), []byte("v"))
			existed[f] = true
			if i%2 == 0 {
				stable[f] = true
			} else {
				volatile = append(volatile, f)
			}
		}
		next := 0
		count := 1 + r.IntN(30)
		seen := hscanAll(t, h, count, func() {
			for range r.IntN(30) {
				switch r.IntN(3) {
				case 0:
					f := fmt.Sprintf("n%d", next)
					next++
					h.Set([]byte(f), nil)
					existed[f] = true
					volatile = append(volatile, f)
				case 1:
					if len(volatile) > 0 {
						i := r.IntN(len(volatile))
						h.Delete([]byte(volatile[i]))
						volatile = slices.Delete(volatile, i, i+1)
					}
				case 2:
					for f := range stable {
						h.Set([]byte(f), []byte("updated"))
						break
					}
				}
			}
		})
		for f := range stable {
			if seen[f] == 0 {
				t.Fatalf("seed %d count %d: stable field %q never returned", seed, count, f)
			}
		}
		for f := range seen {
			if !existed[f] {
				t.Fatalf("returned %q, which never existed", f)
			}
		}
	}
	// A paged scan without writes returns every field exactly once and
	// ends with cursor 0; stopping on the last field also returns 0.
	h := NewHash()
	for i := range 500 {
		h.Set([]byte(strconv.Itoa(i)), nil)
	}
	for _, count := range []int{1, 10, 499, 500, 501} {
		seen := hscanAll(t, h, count, func() {})
		if len(seen) != 500 {
			t.Fatalf("count %d: %d fields", count, len(seen))
		}
		for f, n := range seen {
			if n != 1 {
				t.Fatalf("count %d: %s returned %d times", count, f, n)
			}
		}
	}
}

// TestHashListpackImmutable checks the rule readers rely on: names and
// values handed out by Get, Each and At keep their bytes whatever the hash
// does next (updates, deletes, appends into spare capacity, conversion).
func TestHashListpackImmutable(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	h := NewHash()
	type seen struct {
		name  string
		value []byte
		copyN string
		copyV string
	}
	var all []seen
	keep := func(name string, v []byte) {
		all = append(all, seen{name, v, strings.Clone(name), string(v)})
	}
	for i := range 3000 {
		f := []byte("f" + strconv.Itoa(r.IntN(40)))
		switch r.IntN(4) {
		case 0, 1:
			h.Set(f, []byte(strconv.Itoa(i)))
		case 2:
			h.Delete(f)
		case 3:
			if v, ok := h.Get(f); ok {
				keep(string(f), v)
			}
			h.Each(func(name string, v []byte) bool {
				keep(name, v)
				return r.IntN(10) > 0
			})
			if h.Len() > 0 {
				keep(h.At(r.IntN(h.Len())))
			}
		}
		if h.Encoding() != "listpack" {
			t.Fatal("converted")
		}
	}
	for i := range 200 { // converts
		h.Set([]byte("g"+strconv.Itoa(i)), []byte("x"))
	}
	for _, s := range all {
		if s.name != s.copyN || string(s.value) != s.copyV {
			t.Fatalf("stored bytes overwritten: %q=%q, was %q=%q", s.name, s.value, s.copyN, s.copyV)
		}
	}
	// A value from Get cannot be appended to over the next entry.
	h = NewHash()
	h.Set([]byte("a"), []byte("1"))
	h.Set([]byte("b"), []byte("2"))
	v, _ := h.Get([]byte("a"))
	_ = append(v, 'X')
	if got := fieldsOf(h); !slices.Equal(got, []string{"a=1", "b=2"}) {
		t.Fatalf("append to a Get result changed the hash: %q", got)
	}
}

// TestHashCloneSpareCapacity: a listpack clone shares the buffer; adding
// fields to the original (into its spare capacity) and to the clone must
// not write into each other's entries.
func TestHashCloneSpareCapacity(t *testing.T) {
	h := NewHash()
	for i := range 10 {
		h.Set([]byte("f"+strconv.Itoa(i)), []byte("v"))
	}
	if cap(h.lp) == len(h.lp) {
		t.Fatal("test needs spare capacity")
	}
	c := h.Clone().(*Hash)
	c2 := h.Clone().(*Hash)
	h.Set([]byte("orig"), []byte("1"))
	c.Set([]byte("clone"), []byte("2"))
	c2.Set([]byte("clone2"), []byte("3"))
	if _, ok := h.Get([]byte("clone")); ok {
		t.Fatal("clone's field in the original")
	}
	if v, ok := h.Get([]byte("orig")); !ok || string(v) != "1" {
		t.Fatal("original lost its field")
	}
	if v, ok := c.Get([]byte("clone")); !ok || string(v) != "2" || c.Len() != 11 {
		t.Fatal("clone lost its field")
	}
	if _, ok := c.Get([]byte("orig")); ok {
		t.Fatal("original's field in the clone")
	}
	if v, ok := c2.Get([]byte("clone2")); !ok || string(v) != "3" || c2.Len() != 11 {
		t.Fatal("second clone")
	}
	// Deleting the last field must not let a later append overwrite the
	// deleted bytes a reader may hold.
	v, _ := h.Get([]byte("orig"))
	h.Delete([]byte("orig"))
	h.Set([]byte("next"), []byte("9"))
	if string(v) != "1" {
		t.Fatalf("deleted value overwritten: %q", v)
	}
}

// TestHashListpackMatchesModel runs random operations against a listpack
// hash and a model (ordered pairs), comparing order and content.
func TestHashListpackMatchesModel(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	for round := range 50 {
		h := NewHash()
		var model []string // name, value, ...
		find := func(f string) int {
			for i := 0; i < len(model); i += 2 {
				if model[i] == f {
					return i
				}
			}
			return -1
		}
		for range 500 {
			f := strconv.Itoa(r.IntN(30))
			if r.IntN(8) == 0 {
				f = strings.Repeat("n", r.IntN(65))
			}
			v := strings.Repeat("v", r.IntN(65))
			if r.IntN(3) == 0 {
				i := find(f)
				if h.Delete([]byte(f)) != (i >= 0) {
					t.Fatalf("round %d: Delete(%q)", round, f)
				}
				if i >= 0 {
					model = append(model[:i], model[i+2:]...)
				}
			} else {
				i := find(f)
				if h.Set([]byte(f), []byte(v)) != (i < 0) {
					t.Fatalf("round %d: Set(%q) new", round, f)
				}
				if i >= 0 {
					model[i+1] = v
				} else {
					model = append(model, f, v)
				}
			}
			if h.Len() != len(model)/2 || h.Encoding() != "listpack" {
				t.Fatalf("round %d: Len %d enc %s, want %d", round, h.Len(), h.Encoding(), len(model)/2)
			}
		}
		var got []string
		h.Each(func(name string, v []byte) bool {
			got = append(got, name, string(v))
			return true
		})
		if !slices.Equal(got, model) {
			t.Fatalf("round %d: %q, want %q", round, got, model)
		}
		for i := 0; i < len(model); i += 2 {
			if v, ok := h.Get([]byte(model[i])); !ok || string(v) != model[i+1] {
				t.Fatalf("round %d: Get(%q)", round, model[i])
			}
			if n, v := h.At(i / 2); n != model[i] || string(v) != model[i+1] {
				t.Fatalf("round %d: At(%d)", round, i/2)
			}
		}
	}
}

// TestHashSnapshotListpack: a full listpack hash (128 fields, 64-byte names
// and values) round-trips through a snapshot in order and encoding; a
// listpack record whose entries exceed the buffer's one-byte lengths (not
// written by Cairn) loads as a hashtable with every field.
func TestHashSnapshotListpack(t *testing.T) {
	db := New()
	h := NewHash()
	var want []string
	for i := range HashMaxListpackEntries {
		f := fmt.Sprintf("%064d", 1000-i)
		v := strings.Repeat(strconv.Itoa(i%10), 64)
		h.Set([]byte(f), []byte(v))
		want = append(want, f+"="+v)
	}
	db.Put([]byte("full"), nil, h, 0)
	got := hashOf(t, load(t, serialize(t, db.Snapshot())).Peek([]byte("full")))
	if got.Encoding() != "listpack" || !slices.Equal(fieldsOf(got), want) {
		t.Fatalf("full listpack: %s %d fields", got.Encoding(), got.Len())
	}

	raw := []byte(snapMagic)
	raw = append(raw, byte(TypeHash))
	raw = appendString(raw, "odd")
	raw = binary.AppendVarint(raw, 0)
	raw = append(raw, 0) // listpack
	raw = binary.AppendUvarint(raw, 3)
	raw = appendString(raw, "a")
	raw = appendString(raw, "1")
	raw = appendString(raw, strings.Repeat("n", 300))
	raw = appendString(raw, "2")
	raw = appendString(raw, "c")
	raw = appendString(raw, strings.Repeat("v", 1000))
	raw = append(raw, 0)
	odd := hashOf(t, load(t, raw).Peek([]byte("odd")))
	// Long names and values stay listpack: hash-max-listpack-value may
	// have been raised when the snapshot was written.
	if odd.Encoding() != "listpack" || odd.Len() != 3 {
		t.Fatalf("long listpack entries: %s %d", odd.Encoding(), odd.Len())
	}
	for f, v := range map[string]string{"a": "1", strings.Repeat("n", 300): "2", "c": strings.Repeat("v", 1000)} {
		if got, ok := odd.Get([]byte(f)); !ok || string(got) != v {
			t.Fatalf("field %.10q: %.10q %v", f, got, ok)
		}
	}
}

// TestHashListpackLongEntries: with hash-max-listpack-value raised past
// 254 (the one-byte length), long names and values stay in the listpack
// and read back exactly; lowering the limits converts nothing.
func TestHashListpackLongEntries(t *testing.T) {
	cfg := DefaultConfig()
	cfg.HashMaxListpackValue = 1 << 20
	h := NewHash()
	long := func(c byte, n int) []byte { return []byte(strings.Repeat(string(c), n)) }
	pairs := [][2][]byte{{[]byte("a"), long('x', 254)}, {long('n', 255), []byte("1")}, {long('m', 70000), long('v', 300)}, {[]byte("b"), []byte("2")}}
	for _, p := range pairs {
		if !h.SetCfg(p[0], p[1], &cfg) {
			t.Fatalf("%.5q not new", p[0])
		}
	}
	if h.Encoding() != "listpack" || h.Len() != 4 {
		t.Fatalf("%s %d", h.Encoding(), h.Len())
	}
	for i, p := range pairs {
		if v, ok := h.Get(p[0]); !ok || string(v) != string(p[1]) {
			t.Fatalf("get %.5q: %v", p[0], ok)
		}
		if n, v := h.At(i); n != string(p[0]) || string(v) != string(p[1]) {
			t.Fatalf("at %d: %.5q", i, n)
		}
	}
	h.SetCfg(long('m', 70000), []byte("short"), &cfg)
	if !h.Delete(long('n', 255)) || h.Len() != 3 {
		t.Fatal("delete")
	}
	if v, _ := h.Get(long('m', 70000)); string(v) != "short" {
		t.Fatalf("update: %.5q", v)
	}
	small := DefaultConfig()
	small.HashMaxListpackEntries = 1
	if h.Encoding() != "listpack" {
		t.Fatal("lowering the limit converted")
	}
	h.SetCfg([]byte("a"), []byte("y"), &small) // as Redis, an update checks the length
	if h.Encoding() != "hashtable" || h.Len() != 3 {
		t.Fatalf("%s %d", h.Encoding(), h.Len())
	}
}
