package keyspace

import (
	"encoding/binary"
	"errors"
	"math/bits"
	"slices"
	"strconv"
	"sync/atomic"
	"unsafe"

	"github.com/cespare/xxhash/v2"
)

// SetMaxIntsetEntries is Redis's set-max-intset-entries default: a set
// whose members are all integers stays intset-encoded up to this size.
const SetMaxIntsetEntries = 512

// setSmallMax is the largest string set kept as a flat slice. It is
// internal: Redis 7.0 (the reference) reports such sets as "hashtable"
// (Redis 7.2 would call them "listpack"), and so does Cairn.
const setSmallMax = 128

type setKind uint8

const (
	kindInts  setKind = iota // sorted int64s: OBJECT ENCODING "intset"
	kindSmall                // flat slice of strings: "hashtable"
	kindTable                // hash table: "hashtable"
)

// Set is a set value. Its representation follows Redis 7.0's encodings: an
// intset (sorted integers) while every member is the canonical decimal form
// of an int64 and there are at most 512 of them, a hashtable otherwise,
// never converting back. Internally a small string set is a flat slice
// (insertion order, linear search) and a large one a chained hash table
// over a dense array of members.
//
// Every order is defined by the operations applied, never by Go map
// iteration: members are listed in sorted order (intset) or in their
// position in the dense array (append on add; the last member fills the
// hole on removal). The same operations therefore give the same order, the
// same SPOP/SRANDMEMBER choices for the same random numbers, and the same
// snapshot bytes on every replica.
type Set struct {
	kind  setKind
	ints  []int64
	small []string
	t     *setTable
	bytes int // bytes of the string members (memory accounting)
}

// NewSet returns an empty intset-encoded set. Adding members converts it
// as Redis's setTypeAdd does, so NewSet followed by adds matches Redis's
// setTypeCreate(first member) followed by the same adds.
func NewSet() *Set { return &Set{} }

// Type implements Object.
func (s *Set) Type() Type { return TypeSet }

// Encoding implements Object: "intset" or "hashtable", as Redis 7.0.
func (s *Set) Encoding() string {
	if s.kind == kindInts {
		return "intset"
	}
	return "hashtable"
}

// IsIntset tells whether the set is intset-encoded.
func (s *Set) IsIntset() bool { return s.kind == kindInts }

// Len implements Object.
func (s *Set) Len() int {
	switch s.kind {
	case kindInts:
		return len(s.ints)
	case kindSmall:
		return len(s.small)
	}
	return s.t.n
}

// Clone implements Object. Members are immutable strings and are shared;
// a large set's pages are shared copy-on-write, so cloning costs one
// pointer per 1024 members.
func (s *Set) Clone() Object {
	switch s.kind {
	case kindInts:
		return &Set{kind: kindInts, ints: slices.Clone(s.ints)}
	case kindSmall:
		return &Set{kind: kindSmall, small: slices.Clone(s.small), bytes: s.bytes}
	}
	return &Set{kind: kindTable, t: s.t.clone(), bytes: s.bytes}
}

// ParseSetInt parses b as Redis's string2ll: the canonical decimal form
// of an int64 (optional '-', no leading zeros, no '+', no spaces, "-0" is
// not canonical). Members that parse are stored in an intset.
func ParseSetInt(b []byte) (int64, bool) {
	n := len(b)
	if n == 0 || n > 20 {
		return 0, false
	}
	if n == 1 && b[0] == '0' {
		return 0, true
	}
	i := 0
	neg := b[0] == '-'
	if neg {
		i = 1
		if n == 1 {
			return 0, false
		}
	}
	if b[i] < '1' || b[i] > '9' {
		return 0, false
	}
	var v uint64
	for ; i < n; i++ {
		c := b[i] - '0'
		if c > 9 {
			return 0, false
		}
		if v > (1<<64-1)/10 {
			return 0, false
		}
		v *= 10
		if v > 1<<64-1-uint64(c) {
			return 0, false
		}
		v += uint64(c)
	}
	if neg {
		if v > 1<<63 {
			return 0, false
		}
		return int64(-v), true
	}
	if v > 1<<63-1 {
		return 0, false
	}
	return int64(v), true
}

func strBytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

func hashMember(m []byte) uint32 { return uint32(xxhash.Sum64(m)) }

// Has tells whether m is a member.
func (s *Set) Has(m []byte) bool {
	switch s.kind {
	case kindInts:
		v, ok := ParseSetInt(m)
		if !ok {
			return false
		}
		_, found := slices.BinarySearch(s.ints, v)
		return found
	case kindSmall:
		return s.smallIndex(m) >= 0
	}
	return s.t.find(m, hashMember(m)) != 0
}

func (s *Set) smallIndex(m []byte) int {
	for i, x := range s.small {
		if x == string(m) {
			return i
		}
	}
	return -1
}

// Add adds m (copied) and tells whether it was new. It converts the set as
// Redis 7.0 does: an intset becomes a hashtable when a non-integer member
// is added or when it grows past SetMaxIntsetEntries.
func (s *Set) Add(m []byte) bool { return s.AddCfg(m, &defaultConfig) }

// AddCfg is Add with cfg's set-max-intset-entries (Add uses Redis's
// default; commands use the DB's).
func (s *Set) AddCfg(m []byte, cfg *Config) bool {
	switch s.kind {
	case kindInts:
		if v, ok := ParseSetInt(m); ok {
			i, found := slices.BinarySearch(s.ints, v)
			if found {
				return false
			}
			s.ints = slices.Insert(s.ints, i, v)
			if int64(len(s.ints)) > cfg.SetMaxIntsetEntries {
				s.convert(len(s.ints))
			}
			return true
		}
		s.convert(len(s.ints) + 1)
		s.addNew(string(m), hashMember(m))
		return true
	case kindSmall:
		if s.smallIndex(m) >= 0 {
			return false
		}
		s.addNew(string(m), 0)
		return true
	}
	h := hashMember(m)
	if s.t.find(m, h) != 0 {
		return false
	}
	s.t.add(string(m), h)
	s.bytes += len(m)
	return true
}

// AddInt adds v (as its decimal form) and tells whether it was new.
func (s *Set) AddInt(v int64) bool { return s.AddIntCfg(v, &defaultConfig) }

// AddIntCfg is AddInt with cfg's set-max-intset-entries.
func (s *Set) AddIntCfg(v int64, cfg *Config) bool {
	if s.kind == kindInts {
		i, found := slices.BinarySearch(s.ints, v)
		if found {
			return false
		}
		s.ints = slices.Insert(s.ints, i, v)
		if int64(len(s.ints)) > cfg.SetMaxIntsetEntries {
			s.convert(len(s.ints))
		}
		return true
	}
	var buf [20]byte
	return s.AddCfg(strconv.AppendInt(buf[:0], v, 10), cfg)
}

// addNew appends a member known to be absent to a string set (small or
// table); h is its hash (computed here for a small set that converts).
func (s *Set) addNew(m string, h uint32) {
	s.bytes += len(m)
	if s.kind == kindSmall {
		s.small = append(s.small, m)
		if len(s.small) > setSmallMax {
			s.convert(len(s.small))
		}
		return
	}
	if h == 0 {
		h = hashMember(strBytes(m))
	}
	s.t.add(m, h)
}

// convert turns an intset into a string set sized for n members, or a
// small set into a table. The members keep their order.
func (s *Set) convert(n int) {
	switch s.kind {
	case kindInts:
		ms := make([]string, len(s.ints), max(n, len(s.ints)))
		for i, v := range s.ints {
			ms[i] = strconv.FormatInt(v, 10)
			s.bytes += len(ms[i])
		}
		s.ints = nil
		if n <= setSmallMax {
			s.kind, s.small = kindSmall, ms
			return
		}
		s.kind, s.t = kindTable, newSetTable(n)
		for _, m := range ms {
			s.t.add(m, hashMember(strBytes(m)))
		}
	case kindSmall:
		t := newSetTable(n)
		for _, m := range s.small {
			t.add(m, hashMember(strBytes(m)))
		}
		s.kind, s.t, s.small = kindTable, t, nil
	}
}

// Remove removes m and tells whether it was a member.
func (s *Set) Remove(m []byte) bool {
	switch s.kind {
	case kindInts:
		v, ok := ParseSetInt(m)
		if !ok {
			return false
		}
		i, found := slices.BinarySearch(s.ints, v)
		if !found {
			return false
		}
		s.ints = slices.Delete(s.ints, i, i+1)
		return true
	case kindSmall:
		i := s.smallIndex(m)
		if i < 0 {
			return false
		}
		s.small = slices.Delete(s.small, i, i+1)
		s.bytes -= len(m)
		return true
	}
	if s.t.remove(m, hashMember(m)) {
		s.bytes -= len(m)
		return true
	}
	return false
}

// Member returns the i-th member (0 <= i < Len()) in the set's order. The
// bytes are immutable: they may alias the stored member.
func (s *Set) Member(i int) []byte {
	switch s.kind {
	case kindInts:
		return strconv.AppendInt(nil, s.ints[i], 10)
	case kindSmall:
		return strBytes(s.small[i])
	}
	return strBytes(s.t.entry(uint32(i)).m)
}

// RemoveAt removes the i-th member (0 <= i < Len()) and returns it.
func (s *Set) RemoveAt(i int) []byte {
	switch s.kind {
	case kindInts:
		m := strconv.AppendInt(nil, s.ints[i], 10)
		s.ints = slices.Delete(s.ints, i, i+1)
		return m
	case kindSmall:
		m := s.small[i]
		s.small = slices.Delete(s.small, i, i+1)
		s.bytes -= len(m)
		return strBytes(m)
	}
	m := s.t.removeIndex(uint32(i))
	s.bytes -= len(m)
	return strBytes(m)
}

// Ints returns the members of an intset-encoded set, sorted (nil, false
// for a hashtable). The caller must not modify the slice.
func (s *Set) Ints() ([]int64, bool) {
	if s.kind != kindInts {
		return nil, false
	}
	return s.ints, true
}

// Members appends every member to dst in the set's order and returns it.
// The slices are immutable (see EachStable) and may be kept.
func (s *Set) Members(dst [][]byte) [][]byte {
	s.EachStable(func(m []byte) { dst = append(dst, m) })
	return dst
}

// EachStable calls fn for every member in the set's order. Unlike Each,
// m is immutable and may be kept: string members alias the stored bytes
// (never overwritten), integer members are formatted into one new buffer.
func (s *Set) EachStable(fn func(m []byte)) {
	switch s.kind {
	case kindInts:
		n := 0
		for _, v := range s.ints {
			n += intLen(v)
		}
		buf := make([]byte, 0, n)
		for _, v := range s.ints {
			at := len(buf)
			buf = strconv.AppendInt(buf, v, 10)
			fn(buf[at:len(buf):len(buf)])
		}
	case kindSmall:
		for _, m := range s.small {
			fn(strBytes(m))
		}
	default:
		for _, p := range s.t.pages {
			for i := range p.e {
				fn(strBytes(p.e[i].m))
			}
		}
	}
}

func intLen(v int64) int {
	n := 1
	u := uint64(v)
	if v < 0 {
		n++
		u = uint64(-v)
	}
	for u >= 10 {
		u /= 10
		n++
	}
	return n
}

// Each calls fn for every member in the set's order until fn returns
// false. m is valid only until fn returns (integer members are formatted
// into a reused buffer).
func (s *Set) Each(fn func(m []byte) bool) {
	switch s.kind {
	case kindInts:
		var buf [20]byte
		for _, v := range s.ints {
			if !fn(strconv.AppendInt(buf[:0], v, 10)) {
				return
			}
		}
	case kindSmall:
		for _, m := range s.small {
			if !fn(strBytes(m)) {
				return
			}
		}
	default:
		for _, p := range s.t.pages {
			for i := range p.e {
				if !fn(strBytes(p.e[i].m)) {
					return
				}
			}
		}
	}
}

// Scan visits members from cursor on, as SSCAN does, and returns the next
// cursor (0 when the iteration is complete). An intset or small set is
// visited whole, with cursor 0, whatever the cursor, as Redis returns an
// intset. A table is walked bucket by bucket with Redis's reverse-binary
// cursor (dictScan), stopping once count members were visited or
// 10*count buckets were examined: every member present for the whole
// iteration is visited at least once, even if the table is resized between
// calls. m is valid only until fn returns.
func (s *Set) Scan(cursor uint64, count int64, fn func(m []byte)) uint64 {
	if s.kind != kindTable {
		s.Each(func(m []byte) bool { fn(m); return true })
		return 0
	}
	return s.t.scan(cursor, count, fn)
}

// CheckSet verifies the set's internal invariants (for tests).
func (s *Set) CheckSet() error {
	switch s.kind {
	case kindInts:
		for i := 1; i < len(s.ints); i++ {
			if s.ints[i] <= s.ints[i-1] {
				return errors.New("intset not sorted")
			}
		}
	case kindSmall:
		if len(s.small) > setSmallMax {
			return errors.New("small set too large")
		}
		seen := make(map[string]bool, len(s.small))
		for _, m := range s.small {
			if seen[m] {
				return errors.New("duplicate member")
			}
			seen[m] = true
		}
	default:
		return s.t.check()
	}
	return nil
}

// The hash table of a large set. Members live in a dense array split into
// pages of 1024 entries; buckets (chain heads) in pages of 4096. An entry
// holds its member, its hash and the index+1 of the next entry of its
// bucket's chain (0 ends a chain); a bucket holds the index+1 of its first
// entry. Removing a member moves the last entry into its place, so the
// array stays dense and a random member is one random index.
//
// Pages are copy-on-write: each carries the owner token of the table that
// may write it. Cloning a table copies the page pointer slices and gives
// both tables fresh tokens, so either copies a page before its first
// write to it.
const (
	setPageBits   = 10
	setPageSize   = 1 << setPageBits
	setBPageBits  = 12
	setBPageSize  = 1 << setBPageBits
	setMinBuckets = 8
)

type setEntry struct {
	m    string
	next uint32
	hash uint32
}

type setPage struct {
	owner uint64
	e     []setEntry
}

type setBucketPage struct {
	owner uint64
	b     []uint32
}

type setTable struct {
	owner   uint64
	n       int
	mask    uint32
	pages   []*setPage
	buckets []*setBucketPage
}

var setOwners atomic.Uint64

func newSetTable(n int) *setTable {
	t := &setTable{owner: setOwners.Add(1)}
	t.alloc(bucketsFor(n))
	if n > 0 {
		t.pages = []*setPage{{owner: t.owner, e: make([]setEntry, 0, min(n, setPageSize))}}
	}
	return t
}

// bucketsFor returns the bucket count for n members: a power of two at
// least n (load factor at most 1, as Redis's dict).
func bucketsFor(n int) uint32 {
	if n <= setMinBuckets {
		return setMinBuckets
	}
	return 1 << bits.Len(uint(n-1))
}

func (t *setTable) alloc(nb uint32) {
	t.mask = nb - 1
	np := (nb + setBPageSize - 1) / setBPageSize
	t.buckets = make([]*setBucketPage, np)
	for i := range t.buckets {
		t.buckets[i] = &setBucketPage{owner: t.owner, b: make([]uint32, min(nb, setBPageSize))}
	}
}

func (t *setTable) clone() *setTable {
	c := &setTable{owner: setOwners.Add(1), n: t.n, mask: t.mask,
		pages: slices.Clone(t.pages), buckets: slices.Clone(t.buckets)}
	t.owner = setOwners.Add(1)
	return c
}

func (t *setTable) entry(i uint32) *setEntry {
	return &t.pages[i>>setPageBits].e[i&(setPageSize-1)]
}

// wpage returns page p, copied first if the table does not own it.
func (t *setTable) wpage(p int) *setPage {
	pg := t.pages[p]
	if pg.owner != t.owner {
		c := &setPage{owner: t.owner, e: make([]setEntry, len(pg.e), cap(pg.e))}
		copy(c.e, pg.e)
		t.pages[p], pg = c, c
	}
	return pg
}

func (t *setTable) wentry(i uint32) *setEntry {
	return &t.wpage(int(i >> setPageBits)).e[i&(setPageSize-1)]
}

func (t *setTable) head(b uint32) uint32 {
	return t.buckets[b>>setBPageBits].b[b&(setBPageSize-1)]
}

func (t *setTable) setHead(b, v uint32) {
	p := int(b >> setBPageBits)
	bp := t.buckets[p]
	if bp.owner != t.owner {
		bp = &setBucketPage{owner: t.owner, b: slices.Clone(bp.b)}
		t.buckets[p] = bp
	}
	bp.b[b&(setBPageSize-1)] = v
}

// find returns the index+1 of member m with hash h, or 0.
func (t *setTable) find(m []byte, h uint32) uint32 {
	for i := t.head(h & t.mask); i != 0; {
		e := t.entry(i - 1)
		if e.hash == h && e.m == string(m) {
			return i
		}
		i = e.next
	}
	return 0
}

// add appends a member known to be absent.
func (t *setTable) add(m string, h uint32) {
	idx := uint32(t.n)
	lp := len(t.pages) - 1
	if lp < 0 || len(t.pages[lp].e) == setPageSize {
		t.pages = append(t.pages, &setPage{owner: t.owner, e: make([]setEntry, 0, 16)})
		lp++
	}
	pg := t.wpage(lp)
	if len(pg.e) == cap(pg.e) {
		e := make([]setEntry, len(pg.e), min(2*cap(pg.e), setPageSize))
		copy(e, pg.e)
		pg.e = e
	}
	b := h & t.mask
	pg.e = append(pg.e, setEntry{m: m, next: t.head(b), hash: h})
	t.setHead(b, idx+1)
	t.n++
	if t.n > int(t.mask)+1 {
		t.rehash(2 * (t.mask + 1))
	}
}

// rehash rebuilds the chains over nb buckets.
func (t *setTable) rehash(nb uint32) {
	t.alloc(nb)
	idx := uint32(1)
	for p := range t.pages {
		pg := t.wpage(p)
		for i := range pg.e {
			e := &pg.e[i]
			b := e.hash & t.mask
			bp := t.buckets[b>>setBPageBits]
			e.next = bp.b[b&(setBPageSize-1)]
			bp.b[b&(setBPageSize-1)] = idx
			idx++
		}
	}
}

// remove deletes member m with hash h and tells whether it was present.
func (t *setTable) remove(m []byte, h uint32) bool {
	b := h & t.mask
	prev := uint32(0)
	for i := t.head(b); i != 0; {
		e := t.entry(i - 1)
		if e.hash == h && e.m == string(m) {
			t.unlink(b, prev, e.next)
			t.fill(i - 1)
			return true
		}
		prev, i = i, e.next
	}
	return false
}

// removeIndex deletes the entry at index i and returns its member.
func (t *setTable) removeIndex(i uint32) string {
	e := t.entry(i)
	m, next := e.m, e.next
	b := e.hash & t.mask
	prev := uint32(0)
	for j := t.head(b); j != i+1; {
		prev, j = j, t.entry(j-1).next
	}
	t.unlink(b, prev, next)
	t.fill(i)
	return m
}

// unlink makes the chain of bucket b skip the entry after prev (the
// bucket's head if prev is 0), whose successor is next.
func (t *setTable) unlink(b, prev, next uint32) {
	if prev == 0 {
		t.setHead(b, next)
	} else {
		t.wentry(prev - 1).next = next
	}
}

// fill moves the last entry into the unlinked hole at index hole, drops
// the last slot and shrinks the buckets when they are mostly empty.
func (t *setTable) fill(hole uint32) {
	last := uint32(t.n - 1)
	if hole != last {
		le := *t.entry(last)
		lb := le.hash & t.mask
		if t.head(lb) == last+1 {
			t.setHead(lb, hole+1)
		} else {
			j := t.head(lb)
			for t.entry(j-1).next != last+1 {
				j = t.entry(j - 1).next
			}
			t.wentry(j - 1).next = hole + 1
		}
		*t.wentry(hole) = le
	}
	lp := len(t.pages) - 1
	pg := t.wpage(lp)
	pg.e[len(pg.e)-1] = setEntry{}
	pg.e = pg.e[:len(pg.e)-1]
	if len(pg.e) == 0 {
		t.pages[lp] = nil
		t.pages = t.pages[:lp]
	}
	t.n--
	if nb := t.mask + 1; nb > setMinBuckets && uint32(t.n)*8 < nb {
		t.rehash(bucketsFor(t.n))
	}
}

// scan implements Set.Scan for a table (Redis's dictScan on one table).
func (t *setTable) scan(cursor uint64, count int64, fn func(m []byte)) uint64 {
	mask := uint64(t.mask)
	v := cursor
	visited := int64(0)
	iterations := int64(1 << 62)
	if count < iterations/10 {
		iterations = count * 10
	}
	for {
		for i := t.head(uint32(v & mask)); i != 0; {
			e := t.entry(i - 1)
			fn(strBytes(e.m))
			visited++
			i = e.next
		}
		v |= ^mask
		v = bits.Reverse64(v)
		v++
		v = bits.Reverse64(v)
		iterations--
		if v == 0 || iterations == 0 || visited >= count {
			return v
		}
	}
}

func (t *setTable) check() error {
	n := 0
	for p, pg := range t.pages {
		if p < len(t.pages)-1 && len(pg.e) != setPageSize {
			return errors.New("set table: partial page before the last")
		}
		if len(pg.e) == 0 {
			return errors.New("set table: empty page")
		}
		n += len(pg.e)
	}
	if n != t.n {
		return errors.New("set table: count mismatch")
	}
	if t.n > int(t.mask)+1 {
		return errors.New("set table: overloaded")
	}
	seen := make([]bool, t.n)
	members := make(map[string]bool, t.n)
	for b := uint32(0); b <= t.mask; b++ {
		for i := t.head(b); i != 0; {
			if int(i) > t.n || seen[i-1] {
				return errors.New("set table: bad chain")
			}
			seen[i-1] = true
			e := t.entry(i - 1)
			if e.hash != hashMember(strBytes(e.m)) || e.hash&t.mask != b {
				return errors.New("set table: entry in the wrong bucket")
			}
			if members[e.m] {
				return errors.New("set table: duplicate member")
			}
			members[e.m] = true
			i = e.next
		}
	}
	for _, ok := range seen {
		if !ok {
			return errors.New("set table: entry in no chain")
		}
	}
	return nil
}

func init() {
	RegisterCodec(TypeSet, encodeSetSnap, decodeSetSnap)
}

// encodeSetSnap writes a set for a snapshot: its kind, its size, then its
// members in order (varints for an intset, strings otherwise), so that
// loading rebuilds the same representation and order.
func encodeSetSnap(dst []byte, o Object) []byte {
	s := o.(*Set)
	dst = append(dst, byte(s.kind))
	dst = binary.AppendUvarint(dst, uint64(s.Len()))
	if s.kind == kindInts {
		for _, v := range s.ints {
			dst = binary.AppendVarint(dst, v)
		}
		return dst
	}
	s.Each(func(m []byte) bool {
		dst = appendBytes(dst, m)
		return true
	})
	return dst
}

var errBadSet = errors.New("bad set")

func decodeSetSnap(r *SnapReader) Object {
	kind := setKind(r.Byte())
	n := r.Uvarint()
	if r.Err() != nil {
		return nil
	}
	s := &Set{kind: kind}
	switch kind {
	case kindInts:
		// set-max-intset-entries may have been raised: any size.
		s.ints = make([]int64, 0, min(n, 1<<16))
		for i := uint64(0); i < n && r.Err() == nil; i++ {
			v := r.Varint()
			if len(s.ints) > 0 && v <= s.ints[len(s.ints)-1] {
				r.Fail(errBadSet)
				return nil
			}
			s.ints = append(s.ints, v)
		}
	case kindSmall:
		if n > setSmallMax {
			r.Fail(errBadSet)
			return nil
		}
		s.small = make([]string, 0, n)
		for i := uint64(0); i < n && r.Err() == nil; i++ {
			m := r.Bytes()
			if s.smallIndex(m) >= 0 {
				r.Fail(errBadSet)
				return nil
			}
			s.small = append(s.small, string(m))
			s.bytes += len(m)
		}
	case kindTable:
		s.t = newSetTable(int(min(n, 1<<20)))
		for i := uint64(0); i < n && r.Err() == nil; i++ {
			m := r.Bytes()
			h := hashMember(m)
			if s.t.find(m, h) != 0 {
				r.Fail(errBadSet)
				return nil
			}
			s.t.add(string(m), h)
			s.bytes += len(m)
		}
	default:
		r.Fail(errBadSet)
		return nil
	}
	if r.Err() != nil {
		return nil
	}
	if s.Len() == 0 {
		r.Fail(errBadSet)
		return nil
	}
	return s
}
