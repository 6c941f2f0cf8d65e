package keyspace

import (
	"encoding/binary"
	"unsafe"

	"github.com/cespare/xxhash/v2"
	"github.com/tidwall/btree"
)

// Hash encoding thresholds, as Redis's hash-max-listpack-entries and
// hash-max-listpack-value defaults (the DB's are in DB.Cfg). A hash
// starts as a listpack (fields in insertion order) and converts to a
// hashtable for good once it exceeds either limit.
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

// Hash is a hash value. Small hashes ("listpack" encoding) keep their
// fields in insertion order in one flat byte buffer, as Redis's listpack
// does; large ones ("hashtable") in a B-tree ordered by field hash, which
// gives HSCAN a stable cursor.
//
// The listpack buffer lp holds n entries, each
//
//	len(name) len(value) name value
//
// with one-byte lengths, both first so that a scan reads the next entry's
// offset with one load. A length of lpLong or more is written as the byte
// lpLong, and the length follows as 4 little-endian bytes (the name's
// first), after both length bytes: hash-max-listpack-value may be raised
// past 254.
//
// Bytes within len(lp) are immutable once stored: readers hand out values
// that alias them (replies are written to sockets after the read lock is
// released) and names as strings over them (unsafe.String), and Clone
// shares the buffer. A change that touches existing entries (an update, a
// delete) builds a new buffer, O(n) as Redis's memmove; adding a field
// appends beyond len(lp) when the capacity allows — bytes no reader or
// clone can see, since Clone clips the capacity of the copy it shares, so
// at most one Hash can append into a buffer's spare capacity — and builds
// a new buffer otherwise.
type Hash struct {
	lp []byte
	n  int
	ht *btree.BTreeG[*Field]
	hb int // hashtable: bytes of names and values (memory accounting)
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
	return h.n
}

// Clone implements Object. Field values are never mutated in place, and a
// listpack buffer's bytes never change once stored, so the copy shares
// them; the copy's buffer has its capacity clipped, so that appends to
// either hash never write into memory the other one may use.
func (h *Hash) Clone() Object {
	if h.ht != nil {
		return &Hash{ht: h.ht.Copy(), hb: h.hb}
	}
	return &Hash{lp: h.lp[:len(h.lp):len(h.lp)], n: h.n}
}

// lpEntry decodes the entry at lp[p:]: its name at lp[ns:ns+nl], its value
// at lp[vs:end]; end is the next entry's offset.
func lpEntry(lp []byte, p int) (ns, nl, vs, end int) {
	nl, vl := int(lp[p]), int(lp[p+1])
	ns = p + 2
	if nl == lpLong || vl == lpLong {
		nl, vl, ns = lpLongLens(lp, p)
	}
	vs = ns + nl
	return ns, nl, vs, vs + vl
}

// lpLongLens decodes the lengths of an entry with a long name or value.
func lpLongLens(lp []byte, p int) (nl, vl, ns int) {
	nl, vl = int(lp[p]), int(lp[p+1])
	ns = p + 2
	if nl == lpLong {
		nl = int(binary.LittleEndian.Uint32(lp[ns:]))
		ns += 4
	}
	if vl == lpLong {
		vl = int(binary.LittleEndian.Uint32(lp[ns:]))
		ns += 4
	}
	return nl, vl, ns
}

// lpString returns the n bytes at lp[p:] as a string sharing lp's memory.
// lp's bytes are never written once stored (see Hash), so the string is
// immutable as Go requires.
func lpString(lp []byte, p, n int) string {
	if n == 0 {
		return ""
	}
	return unsafe.String(&lp[p], n)
}

// lpFind returns the offsets of field's entry (start, value start, end)
// and whether it exists. It is HGET's hot loop: names are compared only
// when their length and last byte match.
func (h *Hash) lpFind(field []byte) (start, vs, end int, ok bool) {
	lp := h.lp
	fl := len(field)
	var last byte
	if fl > 0 {
		last = field[fl-1]
	}
	for p := 0; p < len(lp); {
		// Both lengths are read from p: one load latency an entry.
		nl, vl := int(lp[p]), int(lp[p+1])
		vs := p + 2 + nl
		if nl == lpLong || vl == lpLong {
			var ns int
			nl, vl, ns = lpLongLens(lp, p)
			vs = ns + nl
			if nl == fl && string(lp[ns:vs]) == string(field) {
				return p, vs, vs + vl, true
			}
			p = vs + vl
			continue
		}
		if nl == fl && (fl == 0 || lp[vs-1] == last) && string(lp[p+2:vs]) == string(field) {
			return p, vs, vs + vl, true
		}
		p = vs + vl
	}
	return 0, 0, 0, false
}

// lpLong marks a length written in 4 bytes after the length bytes.
const lpLong = 255

func lenSize(n int) int {
	if n >= lpLong {
		return 5
	}
	return 1
}

func entryLen(field, value []byte) int {
	return lenSize(len(field)) + lenSize(len(value)) + len(field) + len(value)
}

func appendEntry(dst, field, value []byte) []byte {
	fl, vl := len(field), len(value)
	dst = append(dst, byte(min(fl, lpLong)), byte(min(vl, lpLong)))
	if fl >= lpLong {
		dst = binary.LittleEndian.AppendUint32(dst, uint32(fl))
	}
	if vl >= lpLong {
		dst = binary.LittleEndian.AppendUint32(dst, uint32(vl))
	}
	dst = append(dst, field...)
	return append(dst, value...)
}

// lpAppend adds a field at the end of the listpack, in place when the
// buffer has room (those bytes are beyond len, unseen by anyone), else in a
// new buffer with an eighth of slack for the next fields.
func (h *Hash) lpAppend(field, value []byte) {
	need := len(h.lp) + entryLen(field, value)
	if need > cap(h.lp) {
		c := (need + need/8 + 15) &^ 15
		lp := make([]byte, len(h.lp), c)
		copy(lp, h.lp)
		h.lp = lp
	}
	h.lp = appendEntry(h.lp, field, value)
	h.n++
}

// Get returns the value of field and whether it exists. The value aliases
// the hash's storage: it must not be modified.
func (h *Hash) Get(field []byte) ([]byte, bool) {
	if h.ht != nil {
		f, ok := h.ht.Get(fieldProbe(field))
		if !ok {
			return nil, false
		}
		return f.Value, true
	}
	_, vs, end, ok := h.lpFind(field)
	if !ok {
		return nil, false
	}
	return h.lp[vs:end:end], true
}

func fieldProbe(field []byte) *Field {
	n := string(field)
	return &Field{Name: n, ord: fieldOrd(n)}
}

// Set sets field to value with Redis's default encoding limits (tests);
// commands use SetCfg with the DB's.
func (h *Hash) Set(field, value []byte) bool { return h.SetCfg(field, value, &defaultConfig) }

var defaultConfig = DefaultConfig()

// SetCfg sets field to value and tells whether the field is new. value is
// copied. As Redis's hashTypeSet, a listpack hash converts to a hashtable
// when the name or value is longer than cfg.HashMaxListpackValue or the
// hash holds more than cfg.HashMaxListpackEntries fields after the change
// (an update too: lowering the limit converts a hash on its next HSET); a
// hash never converts back.
func (h *Hash) SetCfg(field, value []byte, cfg *Config) bool {
	if h.ht == nil {
		if int64(len(field)) > cfg.HashMaxListpackValue || int64(len(value)) > cfg.HashMaxListpackValue {
			h.convert()
		} else if start, vs, end, ok := h.lpFind(field); ok {
			if string(h.lp[vs:end]) != string(value) {
				// A new buffer: the old value's bytes may be
				// aliased by a reply or a clone.
				lp := make([]byte, 0, len(h.lp)-(end-start)+entryLen(field, value))
				lp = append(lp, h.lp[:start]...)
				lp = appendEntry(lp, field, value)
				h.lp = append(lp, h.lp[end:]...)
			}
			if int64(h.n) > cfg.HashMaxListpackEntries {
				// As Redis: the length is checked after an
				// update too (the limit may have been lowered).
				h.convert()
			}
			return false
		} else if int64(h.n) >= cfg.HashMaxListpackEntries {
			h.convert()
		} else {
			h.lpAppend(field, value)
			return true
		}
	}
	value = append(make([]byte, 0, len(value)), value...)
	n := string(field)
	prev, replaced := h.ht.Set(&Field{Name: n, Value: value, ord: fieldOrd(n)})
	h.hb += len(n) + len(value)
	if replaced {
		h.hb -= len(prev.Name) + len(prev.Value)
	}
	return !replaced
}

func newHashTable() *btree.BTreeG[*Field] {
	return btree.NewBTreeGOptions(lessField, btree.Options{NoLocks: true})
}

// convert turns a listpack hash into a hashtable one. Names and values are
// copied out of the buffer, which can then be freed.
func (h *Hash) convert() {
	ht := newHashTable()
	lp := h.lp
	for p := 0; p < len(lp); {
		ns, nl, vs, end := lpEntry(lp, p)
		name := string(lp[ns : ns+nl])
		value := append(make([]byte, 0, end-vs), lp[vs:end]...)
		ht.Set(&Field{Name: name, Value: value, ord: fieldOrd(name)})
		h.hb += len(name) + len(value)
		p = end
	}
	h.ht, h.lp, h.n = ht, nil, 0
}

// Delete removes field and tells whether it existed.
func (h *Hash) Delete(field []byte) bool {
	if h.ht != nil {
		f, ok := h.ht.Delete(fieldProbe(field))
		if ok {
			h.hb -= len(f.Name) + len(f.Value)
		}
		return ok
	}
	start, _, end, ok := h.lpFind(field)
	if !ok {
		return false
	}
	switch {
	case h.n == 1:
		h.lp = nil
	case end == len(h.lp):
		// The last entry: drop it and the spare capacity, whose
		// bytes (the dropped entry's) readers may have seen.
		h.lp = h.lp[:start:start]
	default:
		lp := make([]byte, 0, len(h.lp)-(end-start))
		lp = append(lp, h.lp[:start]...)
		h.lp = append(lp, h.lp[end:]...)
	}
	h.n--
	return true
}

// Each calls fn for every field in the hash's order (insertion order for a
// listpack) until fn returns false. name and value alias the hash's
// storage, which is never modified in place: both stay valid (and
// unchanged) after the hash changes; value must not be modified.
func (h *Hash) Each(fn func(name string, value []byte) bool) {
	if h.ht != nil {
		h.ht.Scan(func(f *Field) bool { return fn(f.Name, f.Value) })
		return
	}
	lp := h.lp
	for p := 0; p < len(lp); {
		ns, nl, vs, end := lpEntry(lp, p)
		if !fn(lpString(lp, ns, nl), lp[vs:end:end]) {
			return
		}
		p = end
	}
}

// At returns the i-th field in the hash's order (0 <= i < Len()). It takes
// O(i) for a listpack hash (as Redis's lpSeek), O(log n) for a hashtable.
func (h *Hash) At(i int) (string, []byte) {
	if h.ht != nil {
		f, _ := h.ht.GetAt(i)
		return f.Name, f.Value
	}
	if i < 0 || i >= h.n {
		panic("keyspace: Hash.At out of range")
	}
	lp := h.lp
	p := 0
	for ; i > 0; i-- {
		_, _, _, p = lpEntry(lp, p)
	}
	ns, nl, vs, end := lpEntry(lp, p)
	return lpString(lp, ns, nl), lp[vs:end:end]
}

// Scan visits fields from cursor on, as HSCAN does, and returns the next
// cursor (0 at the end). fn returns false to stop after the current field.
// A listpack hash is always visited whole in one call (fn's answer is
// ignored) with cursor 0, as Redis does: it has no cursor to resume from.
func (h *Hash) Scan(cursor uint64, fn func(name string, value []byte) bool) uint64 {
	if h.ht == nil {
		h.Each(func(name string, value []byte) bool {
			fn(name, value)
			return true
		})
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
