package keyspace

import (
	"github.com/cespare/xxhash/v2"
	"github.com/tidwall/btree"
)

// Hash encoding thresholds, as Redis's hash-max-listpack-entries and
// hash-max-listpack-value defaults. A hash starts as a listpack (fields in
// insertion order) and converts to a hashtable for good once it exceeds
// either limit.
const (
	HashMaxListpackEntries = 128
	HashMaxListpackValue   = 64
)

// Field is one hash field and its value.
type Field struct {
	Name  string
	Value []byte
	ord   uint64
}

func lessField(a, b *Field) bool {
	if a.ord != b.ord {
		return a.ord < b.ord
	}
	return a.Name < b.Name
}

func fieldOrd(name string) uint64 {
	h := xxhash.Sum64String(name) >> 1
	if h == 0 {
		h = 1
	}
	return h
}

// Hash is a hash value. Small hashes keep fields in insertion order in a
// slice (Redis's listpack); large ones in a B-tree ordered by field hash,
// which gives HSCAN a stable cursor.
type Hash struct {
	lp []Field
	ht *btree.BTreeG[*Field]
}

// NewHash returns an empty listpack-encoded hash.
func NewHash() *Hash { return &Hash{} }

// Type implements Object.
func (h *Hash) Type() Type { return TypeHash }

// Encoding implements Object.
func (h *Hash) Encoding() string {
	if h.ht != nil {
		return "hashtable"
	}
	return "listpack"
}

// Len implements Object.
func (h *Hash) Len() int {
	if h.ht != nil {
		return h.ht.Len()
	}
	return len(h.lp)
}

// Clone implements Object. Field values are never mutated in place, so the
// copy shares them.
func (h *Hash) Clone() Object {
	if h.ht != nil {
		return &Hash{ht: h.ht.Copy()}
	}
	return &Hash{lp: append([]Field(nil), h.lp...)}
}

// Get returns the value of field and whether it exists.
func (h *Hash) Get(field []byte) ([]byte, bool) {
	if h.ht != nil {
		f, ok := h.ht.Get(fieldProbe(field))
		if !ok {
			return nil, false
		}
		return f.Value, true
	}
	for i := range h.lp {
		if h.lp[i].Name == string(field) {
			return h.lp[i].Value, true
		}
	}
	return nil, false
}

func fieldProbe(field []byte) *Field {
	n := string(field)
	return &Field{Name: n, ord: fieldOrd(n)}
}

// Set sets field to value and tells whether the field is new. value is
// copied.
func (h *Hash) Set(field, value []byte) bool {
	value = append(make([]byte, 0, len(value)), value...)
	if h.ht == nil {
		for i := range h.lp {
			if h.lp[i].Name == string(field) {
				h.lp[i].Value = value
				h.maybeConvert(len(field), len(value))
				return false
			}
		}
		h.lp = append(h.lp, Field{Name: string(field), Value: value})
		h.maybeConvert(len(field), len(value))
		return true
	}
	n := string(field)
	_, replaced := h.ht.Set(&Field{Name: n, Value: value, ord: fieldOrd(n)})
	return !replaced
}

func (h *Hash) maybeConvert(flen, vlen int) {
	if len(h.lp) <= HashMaxListpackEntries && flen <= HashMaxListpackValue && vlen <= HashMaxListpackValue {
		return
	}
	h.maybeConvertForce()
}

func (h *Hash) maybeConvertForce() {
	h.ht = btree.NewBTreeGOptions(lessField, btree.Options{NoLocks: true})
	for _, f := range h.lp {
		h.ht.Set(&Field{Name: f.Name, Value: f.Value, ord: fieldOrd(f.Name)})
	}
	h.lp = nil
}

// Delete removes field and tells whether it existed.
func (h *Hash) Delete(field []byte) bool {
	if h.ht != nil {
		_, ok := h.ht.Delete(fieldProbe(field))
		return ok
	}
	for i := range h.lp {
		if h.lp[i].Name == string(field) {
			h.lp = append(h.lp[:i], h.lp[i+1:]...)
			return true
		}
	}
	return false
}

// Each calls fn for every field in the hash's order (insertion order for a
// listpack) until fn returns false.
func (h *Hash) Each(fn func(name string, value []byte) bool) {
	if h.ht != nil {
		h.ht.Scan(func(f *Field) bool { return fn(f.Name, f.Value) })
		return
	}
	for _, f := range h.lp {
		if !fn(f.Name, f.Value) {
			return
		}
	}
}

// At returns the i-th field in the hash's order (0 <= i < Len()).
func (h *Hash) At(i int) (string, []byte) {
	if h.ht != nil {
		f, _ := h.ht.GetAt(i)
		return f.Name, f.Value
	}
	return h.lp[i].Name, h.lp[i].Value
}

// Scan visits fields from cursor on, as HSCAN does, and returns the next
// cursor (0 at the end). fn returns false to stop after the current field.
// A listpack hash is always visited whole in one call (fn's answer is
// ignored) with cursor 0, as Redis does: it has no cursor to resume from.
func (h *Hash) Scan(cursor uint64, fn func(name string, value []byte) bool) uint64 {
	if h.ht == nil {
		for _, f := range h.lp {
			fn(f.Name, f.Value)
		}
		return 0
	}
	var next uint64
	stopped := false
	h.ht.Ascend(&Field{ord: cursor}, func(f *Field) bool {
		if stopped {
			next = f.ord
			return false
		}
		if !fn(f.Name, f.Value) {
			stopped = true
		}
		return true
	})
	return next
}
