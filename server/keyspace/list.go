package keyspace

import (
	"encoding/binary"
	"errors"
	"math"
	"sync/atomic"
)

// List encoding limits. ListMaxListpackSize is the node size of Redis 7.2's
// default list-max-listpack-size -2 (8 KB); a list follows the DB's
// list-max-listpack-size (SetLimits). A list starts as a "listpack" (one
// node) and becomes a "quicklist" (a deque of nodes) when a write would take
// it past the limit; it becomes a listpack again when it shrinks to a
// single node within half of it.
const (
	ListMaxListpackSize = 8192
	// listSizeOverhead is Redis's SIZE_ESTIMATE_OVERHEAD: the estimated
	// bytes an entry adds to a node beyond its length.
	listSizeOverhead = 8
	// lpEmptySize is the size of an empty listpack (header and EOF).
	lpEmptySize = 7
	// listLargeElement is Redis's packed_threshold: larger elements get
	// a plain node of their own.
	listLargeElement = 1 << 30
)

// chunk is one node of a list: its entries are stored back to back in
// buf[start:end], each as uvarint(len), the bytes, and len again written
// backwards (as a listpack's backlen) so the node can be walked from
// either end. Entries are never overwritten in place: readers build
// replies that alias buf. Pops only move start/end; pushes write below lo
// or above hi (bytes never written), or over dead bytes when no one can
// have aliased them.
type chunk struct {
	buf        []byte
	start, end int32 // live entries
	lo, hi     int32 // bytes ever written
	n          int32 // number of entries
	lpsz       int32 // size of the node as a Redis listpack (or plain node)
	// exposed is set (atomically, by readers under the read lock, and by
	// Clone) once bytes of [lo, hi) may be aliased outside this list:
	// they must then never be overwritten.
	exposed uint32
	// shared: buf is shared with the list this one was cloned from,
	// which may still write into its spare capacity. Never write into it.
	shared bool
	// plain marks a Redis plain node (one element, loaded from RDB).
	plain bool
	// z holds the live entries LZF-compressed (list-compress-depth); buf
	// is then nil, start 0 and end their uncompressed length. z is never
	// changed in place: clones share it.
	z []byte
}

// List is a list value. Elements live in chunks that mirror Redis's
// quicklist nodes (same size rule, so encodings convert when Redis's do);
// the chunk deque gives O(1) push and pop at both ends, and index access
// in O(chunks + chunk size).
type List struct {
	c     []chunk // live chunks are c[h:]
	h     int
	n     int
	quick bool // "quicklist" encoding; else "listpack" (at most one chunk)
	// fill is list-max-listpack-size as of the last SetLimits, minus
	// defaultFill (so that the zero value is Redis's default, -2).
	fill int32
	// depth is list-compress-depth as of the last SetLimits: nodes
	// further than depth from both ends are kept compressed (settle).
	depth int32
	// zn counts compressed chunks; unsettled is set when chunks inside
	// the compressed zone may be uncompressed.
	zn        int32
	unsettled bool
	bytes     int // total length of the elements (memory accounting)
}

const defaultFill = -2

// SetLimits makes the list follow cfg's list-max-listpack-size; writers
// call it before changing the list (the limit is replicated state).
func (l *List) SetLimits(cfg *Config) {
	f := min(max(cfg.ListMaxListpackSize, math.MinInt32/2), math.MaxInt32/2)
	l.fill = int32(f - defaultFill)
	if d := int32(min(cfg.ListCompressDepth, math.MaxInt32)); d != l.depth {
		l.depth, l.unsettled = d, true
	}
}

// limits returns Redis's quicklistNodeLimit for the list's fill: a byte
// limit for a negative fill, else an entry count (with the byte limit
// -1 for "none").
func (l *List) limits() (size, count int) {
	fill := int(l.fill) + defaultFill
	if fill >= 0 {
		return -1, max(fill, 1)
	}
	level := min(-fill-1, 4)
	return 4096 << level, -1
}

// exceeds is Redis's quicklistNodeExceedsLimit: would a node of sz bytes
// and n entries be too large? A count limit also keeps nodes within the
// 8 KB safety limit.
func (l *List) exceeds(sz, n int) bool {
	size, count := l.limits()
	if size >= 0 {
		return sz > size
	}
	return sz > listSafetyLimit || n > count
}

// listSafetyLimit is Redis's SIZE_SAFETY_LIMIT.
const listSafetyLimit = 8192

// NewList returns an empty listpack-encoded list.
func NewList() *List { return &List{} }

// Type implements Object.
func (l *List) Type() Type { return TypeList }

// Encoding implements Object.
func (l *List) Encoding() string {
	if l.quick {
		return "quicklist"
	}
	return "listpack"
}

// Len implements Object.
func (l *List) Len() int { return l.n }

// Clone implements Object. The copy shares the chunks' buffers: it never
// writes into them (shared), and this list never again overwrites bytes
// the copy can see (exposed).
func (l *List) Clone() Object {
	live := l.chunks()
	c := make([]chunk, len(live))
	for i := range live {
		atomic.StoreUint32(&live[i].exposed, 1)
		c[i] = chunk{buf: live[i].buf, start: live[i].start, end: live[i].end, lo: live[i].lo, hi: live[i].hi,
			n: live[i].n, lpsz: live[i].lpsz, exposed: 1, shared: true, plain: live[i].plain, z: live[i].z}
	}
	return &List{c: c, n: l.n, quick: l.quick, fill: l.fill, depth: l.depth, zn: l.zn, unsettled: l.unsettled, bytes: l.bytes}
}

func (l *List) chunks() []chunk { return l.c[l.h:] }

// Chunks returns the number of nodes (quicklist nodes; 1 for a listpack).
func (l *List) Chunks() int { return len(l.c) - l.h }

// --- entry encoding ---------------------------------------------------------

func uvarintLen(x int) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}

func backlenSize(l int) int {
	switch {
	case l <= 127:
		return 1
	case l < 16383:
		return 2
	case l < 2097151:
		return 3
	case l < 268435455:
		return 4
	}
	return 5
}

func entrySize(l int) int { return uvarintLen(l) + l + backlenSize(l) }

func putEntry(dst []byte, s []byte) int {
	var p int
	if len(s) < 0x80 {
		dst[0] = byte(len(s))
		p = 1
	} else {
		p = binary.PutUvarint(dst, uint64(len(s)))
	}
	p += copy(dst[p:], s)
	return p + putBacklen(dst[p:], len(s))
}

// putBacklen writes l so that it can be read backwards from its end, as a
// listpack's backlen, and returns its size.
func putBacklen(dst []byte, l int) int {
	switch backlenSize(l) {
	case 1:
		dst[0] = byte(l)
		return 1
	case 2:
		dst[0], dst[1] = byte(l>>7), byte(l&127)|128
		return 2
	case 3:
		dst[0], dst[1], dst[2] = byte(l>>14), byte((l>>7)&127)|128, byte(l&127)|128
		return 3
	case 4:
		dst[0], dst[1], dst[2], dst[3] = byte(l>>21), byte((l>>14)&127)|128, byte((l>>7)&127)|128, byte(l&127)|128
		return 4
	}
	dst[0], dst[1], dst[2], dst[3], dst[4] = byte(l>>28), byte((l>>21)&127)|128, byte((l>>14)&127)|128, byte((l>>7)&127)|128, byte(l&127)|128
	return 5
}

// entryAt returns the element starting at p and the offset of the next.
func entryAt(buf []byte, p int32) ([]byte, int32) {
	var l int
	var k int
	if b := buf[p]; b < 0x80 {
		l, k = int(b), 1
	} else {
		v, n := binary.Uvarint(buf[p:])
		l, k = int(v), n
	}
	s := int(p) + k
	return buf[s : s+l : s+l], int32(s + l + backlenSize(l))
}

// entryBefore returns the element ending at e and the offset where it
// starts.
func entryBefore(buf []byte, e int32) ([]byte, int32) {
	var l int
	shift := 0
	p := int(e) - 1
	for {
		b := buf[p]
		l |= int(b&127) << shift
		if b&128 == 0 {
			break
		}
		shift += 7
		p--
	}
	de := int(e) - backlenSize(l)
	ds := de - l
	return buf[ds:de:de], int32(ds - uvarintLen(l))
}

// lpEntrySize is the size of s as an entry of a Redis listpack: integers
// in canonical form are stored as integers.
func lpEntrySize(s []byte) int {
	if len(s) <= 20 {
		if v, ok := canonicalInt(s); ok {
			switch {
			case v >= 0 && v <= 127:
				return 2
			case v >= -4096 && v <= 4095:
				return 3
			case v >= math.MinInt16 && v <= math.MaxInt16:
				return 4
			case v >= -1<<23 && v <= 1<<23-1:
				return 5
			case v >= math.MinInt32 && v <= math.MaxInt32:
				return 6
			}
			return 10
		}
	}
	var h int
	switch n := len(s); {
	case n < 64:
		h = 1
	case n < 4096:
		h = 2
	default:
		h = 5
	}
	t := h + len(s)
	return t + backlenSize(t)
}

// canonicalInt parses s as Redis's string2ll (and listpack's
// lpStringToInt64): optional '-', no leading zeros, within int64.
func canonicalInt(s []byte) (int64, bool) {
	if len(s) == 0 || len(s) > 20 {
		return 0, false
	}
	if len(s) == 1 && s[0] == '0' {
		return 0, true
	}
	neg := false
	i := 0
	if s[0] == '-' {
		neg, i = true, 1
		if len(s) == 1 {
			return 0, false
		}
	}
	if s[i] < '1' || s[i] > '9' {
		return 0, false
	}
	var v uint64
	for ; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		if v > (math.MaxUint64-9)/10 {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	if neg {
		if v > 1<<63 {
			return 0, false
		}
		return int64(-v), true
	}
	if v > math.MaxInt64 {
		return 0, false
	}
	return int64(v), true
}

// --- chunk operations -------------------------------------------------------

func newChunk(s []byte, front bool) chunk {
	need := entrySize(len(s))
	c := make([]byte, need+need/2+8)
	at := 0
	if front {
		at = len(c) - need
	}
	putEntry(c[at:], s)
	return chunk{buf: c, start: int32(at), end: int32(at + need), lo: int32(at), hi: int32(at + need),
		n: 1, lpsz: int32(lpEmptySize + lpEntrySize(s))}
}

func (c *chunk) isExposed() bool { return atomic.LoadUint32(&c.exposed) != 0 }

// realloc moves the live entries to a fresh buffer with room for need
// more bytes on the side being pushed (front), and some on the other side
// if both ends may grow (the list's only node). Capacity doubles, but not
// much beyond what the node holds when full by Redis's size rule.
func (c *chunk) realloc(need int, front, both bool) {
	live := int(c.end - c.start)
	want := live + need
	capacity := 2*want + 16
	if c.lpsz > lpEmptySize {
		full := live*nodeBytesHint/int(c.lpsz-lpEmptySize) + 64
		capacity = min(capacity, max(want, full))
	}
	slack := capacity - want
	at := 0 // all the slack after the entries
	if both {
		at = slack / 4
	}
	if front {
		at = capacity - live - at
	}
	nb := make([]byte, capacity)
	copy(nb[at:], c.buf[c.start:c.end])
	c.buf = nb
	c.start, c.end = int32(at), int32(at+live)
	c.lo, c.hi = c.start, c.end
	c.exposed, c.shared = 0, false
}

func (c *chunk) pushBack(s []byte, both bool) {
	need := entrySize(len(s))
	if c.shared || (c.end != c.hi && c.isExposed()) || int(c.end)+need > len(c.buf) {
		c.realloc(need, false, both)
	}
	putEntry(c.buf[c.end:], s)
	c.end += int32(need)
	c.hi = max(c.hi, c.end)
	c.n++
	c.lpsz += int32(lpEntrySize(s))
}

func (c *chunk) pushFront(s []byte, both bool) {
	need := entrySize(len(s))
	if c.shared || (c.start != c.lo && c.isExposed()) || int(c.start) < need {
		c.realloc(need, true, both)
	}
	c.start -= int32(need)
	putEntry(c.buf[c.start:], s)
	c.lo = min(c.lo, c.start)
	c.n++
	c.lpsz += int32(lpEntrySize(s))
}

func (c *chunk) popFront() []byte {
	s, next := entryAt(c.buf, c.start)
	c.start = next
	c.n--
	c.lpsz -= int32(lpEntrySize(s))
	return s
}

func (c *chunk) popBack() []byte {
	s, p := entryBefore(c.buf, c.end)
	c.end = p
	c.n--
	c.lpsz -= int32(lpEntrySize(s))
	return s
}

// offset returns the byte offset of entry k (0 <= k <= n).
func (c *chunk) offset(k int) int32 {
	if k <= int(c.n)/2 {
		p := c.start
		for ; k > 0; k-- {
			_, p = entryAt(c.buf, p)
		}
		return p
	}
	p := c.end
	for k = int(c.n) - k; k > 0; k-- {
		_, p = entryBefore(c.buf, p)
	}
	return p
}

// build returns a chunk holding the given elements.
func buildChunk(elems [][]byte) chunk {
	size := 0
	lpsz := lpEmptySize
	for _, e := range elems {
		size += entrySize(len(e))
		lpsz += lpEntrySize(e)
	}
	b := make([]byte, size)
	p := 0
	for _, e := range elems {
		p += putEntry(b[p:], e)
	}
	return chunk{buf: b, start: 0, end: int32(size), lo: 0, hi: int32(size), n: int32(len(elems)), lpsz: int32(lpsz)}
}

// elems returns the chunk's elements (aliasing its buffer).
func (c *chunk) elems() [][]byte {
	out := make([][]byte, 0, c.n)
	for p := c.start; p < c.end; {
		var s []byte
		s, p = entryAt(c.buf, p)
		out = append(out, s)
	}
	return out
}

// allowInsert is Redis's _quicklistNodeAllowInsert.
func (l *List) allowInsert(c *chunk, sz int) bool {
	if c == nil || c.plain || sz >= listLargeElement {
		return false
	}
	return !l.exceeds(int(c.lpsz)+sz+listSizeOverhead, int(c.n)+1)
}

// allowMerge is Redis's _quicklistNodeAllowMerge.
func (l *List) allowMerge(a, b *chunk) bool {
	if a == nil || b == nil || a.plain || b.plain {
		return false
	}
	return !l.exceeds(int(a.lpsz)+int(b.lpsz)-lpEmptySize, int(a.n)+int(b.n))
}

// nodeBytesHint sizes chunk buffers: about what a full default node holds.
const nodeBytesHint = 8192

// --- chunk deque ------------------------------------------------------------

func (l *List) addChunkFront(c chunk) {
	if len(l.c) == 0 {
		l.c, l.h = append(l.c, c), 0
		return
	}
	if l.h == 0 {
		live := l.chunks()
		room := max(4, len(live))
		nc := make([]chunk, room+len(live), room+2*len(live)+4)
		copy(nc[room:], live)
		l.c, l.h = nc, room
	}
	l.h--
	l.c[l.h] = c
}

func (l *List) addChunkBack(c chunk) {
	if len(l.c) == cap(l.c) && l.h > 0 && l.h >= len(l.c)/2 {
		// Reuse the slots freed at the front (a queue) rather than grow.
		n := copy(l.c, l.c[l.h:])
		clear(l.c[n:])
		l.c, l.h = l.c[:n], 0
	}
	l.c = append(l.c, c)
}

// insertChunk inserts c so that it becomes live chunk i.
func (l *List) insertChunk(i int, c chunk) {
	if i == 0 {
		l.addChunkFront(c)
		return
	}
	l.addChunkBack(chunk{})
	live := l.chunks()
	copy(live[i+1:], live[i:])
	live[i] = c
}

// removeChunk removes live chunk i.
func (l *List) removeChunk(i int) {
	live := l.chunks()
	if i == 0 {
		l.c[l.h] = chunk{}
		l.h++
	} else {
		copy(live[i:], live[i+1:])
		live[len(live)-1] = chunk{}
		l.c = l.c[:len(l.c)-1]
	}
	if l.h == len(l.c) {
		l.c, l.h = l.c[:0], 0
	}
}

func (l *List) chunk(i int) *chunk {
	if i < 0 || i >= l.Chunks() {
		return nil
	}
	return &l.c[l.h+i]
}

// locate returns the chunk holding element i (0 <= i < n) and its index
// within the chunk.
func (l *List) locate(i int) (int, int) {
	live := l.chunks()
	if i < l.n/2 {
		for ci := range live {
			if i < int(live[ci].n) {
				return ci, i
			}
			i -= int(live[ci].n)
		}
	}
	j := l.n - 1 - i // index from the tail
	for ci := len(live) - 1; ci >= 0; ci-- {
		if j < int(live[ci].n) {
			return ci, int(live[ci].n) - 1 - j
		}
		j -= int(live[ci].n)
	}
	panic("keyspace: list index out of range")
}

// --- encoding conversions (Redis 7.2) ---------------------------------------

// Quicklist tells whether the list is quicklist-encoded.
func (l *List) Quicklist() bool { return l.quick }

// NeedsGrow tells whether GrowCheck(addBytes, addCount) would convert
// the list.
func (l *List) NeedsGrow(addBytes, addCount int) bool {
	if l.quick {
		return false
	}
	size := lpEmptySize
	if c := l.chunk(0); c != nil {
		size = int(c.lpsz)
	}
	return l.exceeds(size+addBytes, l.n+addCount)
}

// GrowCheck converts a listpack to a quicklist if adding addCount
// elements totalling addBytes would take it past the listpack limit
// (Redis's listTypeTryConvertListpack, called before a write that adds
// elements).
func (l *List) GrowCheck(addBytes, addCount int) {
	if l.NeedsGrow(addBytes, addCount) {
		l.quick = true
	}
}

// MakeQuicklist makes an empty list a quicklist (elements then pushed
// fill nodes as Redis's quicklist does).
func (l *List) MakeQuicklist() { l.quick = true }

// ShrinkCheck converts a quicklist back to a listpack when it is a single
// node within half the limits (Redis's listTypeTryConvertQuicklist with
// shrinking, called after removing elements).
func (l *List) ShrinkCheck() { l.convertBack(true) }

// AutoConvert picks the encoding of a list just built (as after loading):
// a single node within the listpack limits is a listpack.
func (l *List) AutoConvert() {
	l.convertBack(false)
	l.settle()
}

func (l *List) convertBack(shrinking bool) {
	if !l.quick || l.Chunks() != 1 {
		return
	}
	size, count := l.limits()
	if shrinking && size > 0 {
		size /= 2
	}
	if shrinking && count > 0 {
		count /= 2
	}
	c := l.chunk(0)
	if c.plain || (size >= 0 && int(c.lpsz) > size) || (count >= 0 && l.n > count) {
		return
	}
	l.quick = false
}

// --- public operations ------------------------------------------------------

// PushFront adds s (copied) at the head.
func (l *List) PushFront(s []byte) {
	defer l.settle()
	l.n++
	l.bytes += len(s)
	if c := l.chunk(0); c != nil && (!l.quick || l.allowInsert(c, len(s))) {
		l.inflate(c)
		c.pushFront(s, l.Chunks() == 1)
		return
	}
	nc := newChunk(s, true)
	if len(s) >= listLargeElement {
		nc.plain, nc.lpsz = true, int32(len(s))
	}
	l.addChunkFront(nc)
}

// PushBack adds s (copied) at the tail.
func (l *List) PushBack(s []byte) {
	defer l.settle()
	l.n++
	l.bytes += len(s)
	if c := l.chunk(l.Chunks() - 1); c != nil && (!l.quick || l.allowInsert(c, len(s))) {
		l.inflate(c)
		c.pushBack(s, l.Chunks() == 1)
		return
	}
	nc := newChunk(s, false)
	if len(s) >= listLargeElement {
		nc.plain, nc.lpsz = true, int32(len(s))
	}
	l.addChunkBack(nc)
}

// PopFront removes the head and returns it (aliasing the list's storage,
// which is never overwritten; copy it to keep it past other writes to the
// same list when it may be exposed). It returns nil if the list is empty.
func (l *List) PopFront() []byte {
	c := l.chunk(0)
	if c == nil {
		return nil
	}
	defer l.settle()
	l.inflate(c)
	s := c.popFront()
	l.n--
	l.bytes -= len(s)
	if c.n == 0 {
		l.removeChunk(0)
	}
	return s
}

// PopBack removes the tail and returns it, as PopFront.
func (l *List) PopBack() []byte {
	i := l.Chunks() - 1
	c := l.chunk(i)
	if c == nil {
		return nil
	}
	defer l.settle()
	l.inflate(c)
	s := c.popBack()
	l.n--
	l.bytes -= len(s)
	if c.n == 0 {
		l.removeChunk(i)
	}
	return s
}

// Index returns element i (negative counts from the tail) and whether it
// exists. The bytes alias the list: copy them.
func (l *List) Index(i int) ([]byte, bool) {
	if i < 0 {
		i += l.n
	}
	if i < 0 || i >= l.n {
		return nil, false
	}
	ci, k := l.locate(i)
	c := l.chunk(ci).view()
	s, _ := entryAt(c.buf, c.offset(k))
	return s, true
}

// Range calls fn with count elements from index start (0 <= start < n,
// start+count <= n), towards the tail, or towards the head from start when
// reverse. fn's bytes alias the list and stay valid for good (they are
// never overwritten), so replies may keep them.
func (l *List) Range(start, count int, reverse bool, fn func(s []byte)) {
	if count <= 0 {
		return
	}
	ci, k := l.locate(start)
	live := l.chunks()
	c := live[ci].view()
	if !c.isExposed() {
		atomic.StoreUint32(&c.exposed, 1)
	}
	p := c.offset(k)
	if !reverse {
		for {
			for p < c.end {
				var s []byte
				s, p = entryAt(c.buf, p)
				fn(s)
				if count--; count == 0 {
					return
				}
			}
			ci++
			c = live[ci].view()
			if !c.isExposed() {
				atomic.StoreUint32(&c.exposed, 1)
			}
			p = c.start
		}
	}
	_, p = entryAt(c.buf, p) // end of element start
	for {
		for p > c.start {
			var s []byte
			s, p = entryBefore(c.buf, p)
			fn(s)
			if count--; count == 0 {
				return
			}
		}
		ci--
		c = live[ci].view()
		if !c.isExposed() {
			atomic.StoreUint32(&c.exposed, 1)
		}
		p = c.end
	}
}

// ListIter walks a list from one end. Elements alias the list; they must
// be copied before the list is changed.
type ListIter struct {
	l       *List
	ci      int
	p       int32
	reverse bool
	// cur is the view of chunk ci (decompressed once per chunk).
	cur  *chunk
	curi int
}

func (it *ListIter) chunk(i int) *chunk {
	if it.cur == nil || it.curi != i {
		c := it.l.chunk(i)
		if c == nil {
			return nil
		}
		it.cur, it.curi = c.view(), i
	}
	return it.cur
}

// Iter returns an iterator from the head (or from the tail if reverse).
func (l *List) Iter(reverse bool) ListIter {
	it := ListIter{l: l, reverse: reverse}
	if reverse {
		it.ci = l.Chunks() - 1
		if c := l.chunk(it.ci); c != nil {
			it.p = c.end
		}
	} else if c := l.chunk(0); c != nil {
		it.p = c.start
	}
	return it
}

// Next returns the next element, or false at the end.
func (it *ListIter) Next() ([]byte, bool) {
	for {
		c := it.chunk(it.ci)
		if c == nil {
			return nil, false
		}
		if it.reverse {
			if it.p > c.start {
				s, p := entryBefore(c.buf, it.p)
				it.p = p
				return s, true
			}
			it.ci--
			if c := it.l.chunk(it.ci); c != nil {
				it.p = c.end
			}
			continue
		}
		if it.p < c.end {
			s, p := entryAt(c.buf, it.p)
			it.p = p
			return s, true
		}
		it.ci++
		if c := it.l.chunk(it.ci); c != nil {
			it.p = c.start
		}
	}
}

// Each calls fn for every element from the head until fn returns false.
// The bytes alias the list.
func (l *List) Each(fn func(s []byte) bool) {
	it := l.Iter(false)
	for {
		s, ok := it.Next()
		if !ok || !fn(s) {
			return
		}
	}
}

// Set replaces element i (negative counts from the tail) with s (copied)
// and tells whether i was in range.
func (l *List) Set(i int, s []byte) bool {
	if i < 0 {
		i += l.n
	}
	if i < 0 || i >= l.n {
		return false
	}
	l.inflateAll()
	defer l.settle()
	ci, k := l.locate(i)
	c := l.chunk(ci)
	el := c.elems()
	old := el[k]
	l.bytes += len(s) - len(old)
	fits := !c.plain && len(s) < listLargeElement &&
		!l.exceeds(int(c.lpsz)-lpEntrySize(old)+lpEntrySize(s), int(c.n))
	if !l.quick || fits || c.n == 1 && !c.plain {
		el[k] = s
		*c = buildChunk(el)
		return true
	}
	// Redis's quicklistReplaceEntry for a full node: the new element
	// gets a node of its own after the old one's, whose entries after it
	// are split into another node; then the old entry is deleted.
	l.insertSplit(ci, k, s, true, true)
	return true
}

// Contains tells whether s is an element of the list.
func (l *List) Contains(s []byte) bool {
	found := false
	l.Each(func(e []byte) bool {
		found = string(e) == string(s)
		return !found
	})
	return found
}

// Insert inserts s (copied) before or after the first element equal to
// pivot and tells whether pivot was found.
func (l *List) Insert(pivot, s []byte, after bool) bool {
	l.inflateAll()
	defer l.settle()
	live := l.chunks()
	for ci := range live {
		c := &live[ci]
		k := 0
		for p := c.start; p < c.end; k++ {
			var e []byte
			e, p = entryAt(c.buf, p)
			if string(e) == string(pivot) {
				l.bytes += len(s)
				l.insertAt(ci, k, s, after)
				return true
			}
		}
	}
	return false
}

// insertAt inserts s next to entry k of chunk ci, as Redis's
// _quicklistInsert.
func (l *List) insertAt(ci, k int, s []byte, after bool) {
	c := l.chunk(ci)
	if !l.quick {
		l.n++
		l.rebuildInsert(c, k, s, after)
		return
	}
	sz := len(s)
	full := !l.allowInsert(c, sz)
	atTail := after && k == int(c.n)-1
	atHead := !after && k == 0
	availNext := atTail && l.allowInsert(l.chunk(ci+1), sz)
	availPrev := atHead && l.allowInsert(l.chunk(ci-1), sz)
	switch {
	case !full:
		l.n++
		l.rebuildInsert(c, k, s, after)
	case atTail && availNext:
		l.n++
		l.chunk(ci+1).pushFront(s, false)
	case atHead && availPrev:
		l.n++
		l.chunk(ci-1).pushBack(s, false)
	case atTail || atHead:
		l.n++
		nc := newChunk(s, !after)
		if sz >= listLargeElement {
			nc.plain, nc.lpsz = true, int32(sz)
		}
		if after {
			l.insertChunk(ci+1, nc)
		} else {
			l.insertChunk(ci, nc)
		}
	default:
		l.insertSplit(ci, k, s, after, false)
	}
}

// insertSplit splits chunk ci at entry k and inserts s in the new node, as
// Redis's _quicklistSplitNode path. With replace, entry k is then removed
// (quicklistReplaceEntry's full-node path).
func (l *List) insertSplit(ci, k int, s []byte, after, replace bool) {
	c := l.chunk(ci)
	el := c.elems()
	if !replace {
		l.n++
	}
	if replace {
		// Node keeps [0..k], then a node with s, then one with (k..].
		head, tail := el[:k+1], el[k+1:]
		nc := buildChunk([][]byte{s})
		if len(s) >= listLargeElement {
			nc.plain, nc.lpsz = true, int32(len(s))
		}
		*c = buildChunk(head)
		l.insertChunk(ci+1, nc)
		if len(tail) > 0 {
			l.insertChunk(ci+2, buildChunk(tail))
		}
		if len(head) == 1 {
			l.removeChunk(ci)
			return
		}
		*l.chunk(ci) = buildChunk(head[:len(head)-1])
		l.merge(ci + 1)
		return
	}
	if after {
		keep := append([][]byte(nil), el[:k+1]...)
		moved := append([][]byte{s}, el[k+1:]...)
		*c = buildChunk(keep)
		l.insertChunk(ci+1, buildChunk(moved))
		l.merge(ci)
		return
	}
	moved := append(append([][]byte(nil), el[:k]...), s)
	keep := append([][]byte(nil), el[k:]...)
	*c = buildChunk(keep)
	l.insertChunk(ci, buildChunk(moved))
	l.merge(ci + 1)
}

// merge is Redis's _quicklistMergeNodes around live chunk ci.
func (l *List) merge(ci int) {
	if l.allowMerge(l.chunk(ci-2), l.chunk(ci-1)) {
		l.mergeInto(ci - 2)
		ci--
	}
	if l.allowMerge(l.chunk(ci+1), l.chunk(ci+2)) {
		l.mergeInto(ci + 1)
	}
	target := ci
	if l.allowMerge(l.chunk(ci), l.chunk(ci-1)) {
		l.mergeInto(ci - 1)
		target = ci - 1
	}
	if l.allowMerge(l.chunk(target), l.chunk(target+1)) {
		l.mergeInto(target)
	}
}

// mergeInto merges live chunk i+1 into chunk i.
func (l *List) mergeInto(i int) {
	a, b := l.chunk(i), l.chunk(i+1)
	el := append(a.elems(), b.elems()...)
	*a = buildChunk(el)
	l.removeChunk(i + 1)
}

func (l *List) rebuildInsert(c *chunk, k int, s []byte, after bool) {
	if after {
		k++
	}
	p := c.offset(k)
	need := entrySize(len(s))
	live := int(c.end - c.start)
	b := make([]byte, live+need)
	n := copy(b, c.buf[c.start:p])
	n += putEntry(b[n:], s)
	copy(b[n:], c.buf[p:c.end])
	*c = chunk{buf: b, start: 0, end: int32(len(b)), lo: 0, hi: int32(len(b)), n: c.n + 1,
		lpsz: c.lpsz + int32(lpEntrySize(s))}
}

// Remove removes up to count elements equal to s (all if count is 0),
// from the head, or from the tail if fromTail, and returns how many.
func (l *List) Remove(s []byte, count int64, fromTail bool) int64 {
	l.inflateAll()
	defer l.settle()
	var removed int64
	nchunks := l.Chunks()
	var drop []bool
	for j := 0; j < nchunks && (count == 0 || removed < count); j++ {
		ci := j
		if fromTail {
			ci = nchunks - 1 - j
		}
		c := l.chunk(ci)
		el := c.elems()
		drop = append(drop[:0], make([]bool, len(el))...)
		hits := 0
		for x := range el {
			k := x
			if fromTail {
				k = len(el) - 1 - x
			}
			if string(el[k]) == string(s) {
				drop[k] = true
				hits++
				if removed++; count != 0 && removed == count {
					break
				}
			}
		}
		if hits == 0 {
			continue
		}
		keep := el[:0:0]
		for k := range el {
			if !drop[k] {
				keep = append(keep, el[k])
			}
		}
		l.n -= hits
		l.bytes -= hits * len(s)
		if len(keep) == 0 {
			l.removeChunk(ci)
			nchunks--
			if !fromTail {
				j--
			}
			continue
		}
		*c = buildChunk(keep)
	}
	return removed
}

// Trim removes left elements from the head and right from the tail.
func (l *List) Trim(left, right int) {
	l.inflateAll()
	defer l.settle()
	for left > 0 {
		c := l.chunk(0)
		if int(c.n) <= left {
			left -= int(c.n)
			l.n -= int(c.n)
			l.bytes -= c.payload()
			l.removeChunk(0)
			continue
		}
		for ; left > 0; left-- {
			l.bytes -= len(c.popFront())
			l.n--
		}
	}
	for right > 0 {
		i := l.Chunks() - 1
		c := l.chunk(i)
		if int(c.n) <= right {
			right -= int(c.n)
			l.n -= int(c.n)
			l.bytes -= c.payload()
			l.removeChunk(i)
			continue
		}
		for ; right > 0; right-- {
			l.bytes -= len(c.popBack())
			l.n--
		}
	}
}

// --- building and serialization helpers -------------------------------------

// AppendNode appends a node holding elems (copied), as loading a quicklist
// node does; plain marks a Redis plain node (a single element). Empty
// nodes are skipped. The list must be converted with AutoConvert after
// loading.
func (l *List) AppendNode(elems [][]byte, plain bool) {
	if len(elems) == 0 {
		return
	}
	c := buildChunk(elems)
	if plain && len(elems) == 1 {
		c.plain, c.lpsz = true, int32(len(elems[0]))
	}
	l.unsettled = true
	l.addChunkBack(c)
	l.n += len(elems)
	l.bytes += c.payload()
	l.quick = true
}

// EachNode calls fn for every node with its elements (aliasing the list)
// and whether it is a plain node.
func (l *List) EachNode(fn func(elems [][]byte, plain bool)) {
	live := l.chunks()
	for i := range live {
		fn(live[i].view().elems(), live[i].plain)
	}
}

// --- snapshot codec ---------------------------------------------------------

func init() { RegisterCodec(TypeList, encodeListSnap, decodeListSnap) }

// encodeListSnap writes the encoding flag, the number of nodes, and each
// node as its plain flag, its entry count and its entries' bytes.
func encodeListSnap(dst []byte, o Object) []byte {
	l := o.(*List)
	q := byte(0)
	if l.quick {
		q = 1
	}
	dst = append(dst, q)
	live := l.chunks()
	dst = binary.AppendUvarint(dst, uint64(len(live)))
	for i := range live {
		c := &live[i]
		p := byte(0)
		if c.plain {
			p = 1
		}
		dst = append(dst, p)
		dst = binary.AppendUvarint(dst, uint64(c.n))
		c = c.view()
		dst = appendBytes(dst, c.buf[c.start:c.end])
	}
	return dst
}

var errBadList = errors.New("bad list node")

func decodeListSnap(r *SnapReader) Object {
	l := &List{quick: r.Byte() == 1}
	nodes := r.Uvarint()
	for i := uint64(0); i < nodes && r.Err() == nil; i++ {
		plain := r.Byte() == 1
		n := r.Uvarint()
		b := r.Bytes()
		if r.Err() != nil {
			break
		}
		lpsz, ok := validateChunk(b, n)
		if !ok || n == 0 || (plain && n != 1) {
			r.Fail(errBadList)
			break
		}
		c := chunk{buf: b, end: int32(len(b)), hi: int32(len(b)), n: int32(n), lpsz: int32(lpsz), plain: plain}
		if plain {
			s, _ := entryAt(b, 0)
			c.lpsz = int32(len(s))
		}
		l.addChunkBack(c)
		l.n += int(n)
		l.bytes += c.payload()
	}
	if r.Err() == nil && (l.n == 0 || (!l.quick && l.Chunks() != 1)) {
		r.Fail(errBadList)
	}
	return l
}

// validateChunk checks that b holds exactly n well-formed entries and
// returns their listpack size.
func validateChunk(b []byte, n uint64) (int, bool) {
	if len(b) > math.MaxInt32 {
		return 0, false
	}
	lpsz := lpEmptySize
	count := uint64(0)
	for p := 0; p < len(b); count++ {
		v, k := binary.Uvarint(b[p:])
		if k <= 0 || v > uint64(len(b)) {
			return 0, false
		}
		l := int(v)
		e := p + k + l + backlenSize(l)
		if e > len(b) {
			return 0, false
		}
		var bl [5]byte
		m := putBacklen(bl[:], l)
		if string(b[p+k+l:e]) != string(bl[:m]) || uvarintLen(l) != k {
			return 0, false
		}
		lpsz += lpEntrySize(b[p+k : p+k+l])
		p = e
	}
	return lpsz, count == n
}
