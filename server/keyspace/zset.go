package keyspace

import (
	"encoding/binary"
	"errors"
	"math"

	"github.com/cespare/xxhash/v2"
	"github.com/tidwall/btree"
)

// Sorted-set encoding thresholds, as Redis's zset-max-listpack-entries and
// zset-max-listpack-value defaults. A sorted set is a listpack while it has
// at most 128 members of at most 64 bytes, and a skiplist beyond; it is
// never converted back, except where Redis builds a new set (the STORE
// commands), which picks the smaller encoding when it fits.
const (
	ZSetMaxListpackEntries = 128
	ZSetMaxListpackValue   = 64
)

// ZEntry is one member of a sorted set and its score.
type ZEntry struct {
	Score  float64
	Member string
}

// zless orders entries as Redis does: by score, then by member bytes.
// Scores are never NaN.
func zless(a, b ZEntry) bool {
	if a.Score != b.Score {
		return a.Score < b.Score
	}
	return a.Member < b.Member
}

// ZSet is a sorted-set value. Small sets (Redis's listpack) are a slice of
// entries in order; large ones (Redis's skiplist) are an order-statistic
// B+tree of entries plus a member index (a B-tree ordered by member hash),
// both copy-on-write, so Clone is O(1) whatever the size.
//
// Like Redis's listpack, which stores scores as text or integers, the
// listpack encoding turns a score of -0 into 0; the skiplist keeps -0.
type ZSet struct {
	lp []ZEntry
	sk *zskip
}

type zskip struct {
	tree ztree
	dict *btree.BTreeG[zdictEntry]
}

type zdictEntry struct {
	h      uint64
	member string
	score  float64
}

func lessZDict(a, b zdictEntry) bool {
	if a.h != b.h {
		return a.h < b.h
	}
	return a.member < b.member
}

func memberHash(m string) uint64 { return xxhash.Sum64String(m) }

func newZDict() *btree.BTreeG[zdictEntry] {
	return btree.NewBTreeGOptions(lessZDict, btree.Options{NoLocks: true})
}

// NewZSet returns an empty listpack-encoded sorted set.
func NewZSet() *ZSet { return &ZSet{} }

// NewZSetSkiplist returns an empty skiplist-encoded sorted set.
func NewZSetSkiplist() *ZSet { return &ZSet{sk: &zskip{tree: newZtree(), dict: newZDict()}} }

// NewZSetFromSorted builds a sorted set from entries in order, without
// duplicate members, choosing the encoding as Redis does for a set it
// builds whole (zsetConvertToListpackIfNeeded): a listpack if it has at
// most 128 members of at most 64 bytes. entries is not retained.
func NewZSetFromSorted(entries []ZEntry) *ZSet {
	maxLen := 0
	for i := range entries {
		maxLen = max(maxLen, len(entries[i].Member))
	}
	if len(entries) <= ZSetMaxListpackEntries && maxLen <= ZSetMaxListpackValue {
		return NewZSetListpack(entries)
	}
	return newSkipFromSorted(entries)
}

// NewZSetListpack builds a listpack-encoded sorted set from entries in
// order, whatever their number and length (as Redis keeps a loaded
// listpack of up to 128 entries).
func NewZSetListpack(entries []ZEntry) *ZSet {
	lp := make([]ZEntry, len(entries))
	for i, e := range entries {
		lp[i] = ZEntry{lpScore(e.Score), e.Member}
	}
	return &ZSet{lp: lp}
}

// NewZSetSkiplistFromSorted builds a skiplist-encoded sorted set from
// entries in order, without duplicate members.
func NewZSetSkiplistFromSorted(entries []ZEntry) *ZSet { return newSkipFromSorted(entries) }

func newSkipFromSorted(entries []ZEntry) *ZSet {
	sk := &zskip{tree: buildZtree(entries), dict: newZDict()}
	for _, e := range entries {
		sk.dict.Set(zdictEntry{memberHash(e.Member), e.Member, e.Score})
	}
	return &ZSet{sk: sk}
}

// lpScore is the score a listpack gives back for f: -0 reads back as 0.
func lpScore(f float64) float64 {
	if f == 0 {
		return 0
	}
	return f
}

// Type implements Object.
func (z *ZSet) Type() Type { return TypeZSet }

// Encoding implements Object.
func (z *ZSet) Encoding() string {
	if z.sk != nil {
		return "skiplist"
	}
	return "listpack"
}

// IsListpack tells whether the set is listpack-encoded.
func (z *ZSet) IsListpack() bool { return z.sk == nil }

// Len implements Object.
func (z *ZSet) Len() int {
	if z.sk != nil {
		return z.sk.tree.n
	}
	return len(z.lp)
}

// Clone implements Object. Members are immutable strings, so the copy
// shares them; a skiplist's trees are copied on write.
func (z *ZSet) Clone() Object {
	if z.sk != nil {
		return &ZSet{sk: &zskip{tree: z.sk.tree.copy(), dict: z.sk.dict.Copy()}}
	}
	return &ZSet{lp: append([]ZEntry(nil), z.lp...)}
}

func (z *ZSet) lpIndex(member []byte) int {
	for i := range z.lp {
		if z.lp[i].Member == string(member) {
			return i
		}
	}
	return -1
}

// Score returns the score of member and whether it is in the set.
func (z *ZSet) Score(member []byte) (float64, bool) {
	if z.sk != nil {
		e, ok := z.sk.dict.Get(zdictEntry{h: xxhash.Sum64(member), member: string(member)})
		return e.score, ok
	}
	if i := z.lpIndex(member); i >= 0 {
		return z.lp[i].Score, true
	}
	return 0, false
}

// Set sets the score of member, adding it if it is new, and tells whether
// it was added. score must not be NaN. Adding a member to a listpack that
// would then exceed the listpack limits converts the set to a skiplist
// first, as Redis's zsetAdd does. member is copied.
func (z *ZSet) Set(member []byte, score float64) bool {
	if z.sk == nil {
		if i := z.lpIndex(member); i >= 0 {
			score = lpScore(score)
			if z.lp[i].Score == score {
				return false
			}
			m := z.lp[i].Member
			z.lp = removeAt(z.lp, i)
			z.lpInsert(ZEntry{score, m})
			return false
		}
		if len(z.lp)+1 <= ZSetMaxListpackEntries && len(member) <= ZSetMaxListpackValue {
			z.lpInsert(ZEntry{lpScore(score), string(member)})
			return true
		}
		z.convertToSkiplist()
	}
	sk := z.sk
	h := xxhash.Sum64(member)
	if old, ok := sk.dict.Get(zdictEntry{h: h, member: string(member)}); ok {
		if old.score == score {
			return false
		}
		sk.tree.delete(ZEntry{old.score, old.member})
		sk.tree.insert(ZEntry{score, old.member})
		sk.dict.Set(zdictEntry{h, old.member, score})
		return false
	}
	m := string(member)
	sk.tree.insert(ZEntry{score, m})
	sk.dict.Set(zdictEntry{h, m, score})
	return true
}

func (z *ZSet) lpInsert(e ZEntry) {
	lo, hi := 0, len(z.lp)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if zless(z.lp[m], e) {
			lo = m + 1
		} else {
			hi = m
		}
	}
	z.lp = insertAt(z.lp, lo, e)
}

func (z *ZSet) convertToSkiplist() {
	s := newSkipFromSorted(z.lp)
	z.lp, z.sk = nil, s.sk
}

// Delete removes member and tells whether it was in the set.
func (z *ZSet) Delete(member []byte) bool {
	if z.sk != nil {
		e, ok := z.sk.dict.Delete(zdictEntry{h: xxhash.Sum64(member), member: string(member)})
		if ok {
			z.sk.tree.delete(ZEntry{e.score, e.member})
		}
		return ok
	}
	if i := z.lpIndex(member); i >= 0 {
		z.lp = removeAt(z.lp, i)
		return true
	}
	return false
}

// Rank returns the 0-based rank of member in ascending order and whether
// it is in the set.
func (z *ZSet) Rank(member []byte) (int, bool) {
	if z.sk != nil {
		score, ok := z.Score(member)
		if !ok {
			return 0, false
		}
		return z.sk.tree.rank(ZEntry{score, string(member)}), true
	}
	i := z.lpIndex(member)
	return i, i >= 0
}

// At returns the entry of rank i (0 <= i < Len()).
func (z *ZSet) At(i int) ZEntry {
	if z.sk != nil {
		return z.sk.tree.at(i)
	}
	return z.lp[i]
}

// Ascend calls fn for the entries of rank i, i+1, ... until fn returns
// false or the set ends.
func (z *ZSet) Ascend(i int, fn func(ZEntry) bool) {
	if z.sk != nil {
		z.sk.tree.ascend(i, fn)
		return
	}
	for i = max(i, 0); i < len(z.lp); i++ {
		if !fn(z.lp[i]) {
			return
		}
	}
}

// Descend calls fn for the entries of rank i, i-1, ... until fn returns
// false or rank 0 was visited.
func (z *ZSet) Descend(i int, fn func(ZEntry) bool) {
	if z.sk != nil {
		z.sk.tree.descend(i, fn)
		return
	}
	for i = min(i, len(z.lp)-1); i >= 0; i-- {
		if !fn(z.lp[i]) {
			return
		}
	}
}

// First returns the rank of the first entry for which pred is true (Len()
// if none). A listpack is scanned from the start, exactly as Redis scans
// one; a skiplist is searched in O(log n) assuming pred is false then true
// along the order, as Redis's skiplist descent does.
func (z *ZSet) First(pred func(ZEntry) bool) int {
	if z.sk != nil {
		return z.sk.tree.search(pred)
	}
	for i := range z.lp {
		if pred(z.lp[i]) {
			return i
		}
	}
	return len(z.lp)
}

// Last returns the rank of the last entry for which pred is true (-1 if
// none): a listpack is scanned from the end; a skiplist is searched
// assuming pred is true then false along the order.
func (z *ZSet) Last(pred func(ZEntry) bool) int {
	if z.sk != nil {
		return z.sk.tree.search(func(e ZEntry) bool { return !pred(e) }) - 1
	}
	for i := len(z.lp) - 1; i >= 0; i-- {
		if pred(z.lp[i]) {
			return i
		}
	}
	return -1
}

// DeleteRange removes the entries of rank start..end inclusive (0 <=
// start <= end < Len()) and returns how many it removed.
func (z *ZSet) DeleteRange(start, end int) int {
	n := end - start + 1
	if z.sk == nil {
		z.lp = append(z.lp[:start], z.lp[end+1:]...)
		clear(z.lp[len(z.lp):cap(z.lp)][:n])
		return n
	}
	if n > z.Len()/2 {
		// Rebuild from what remains.
		keep := make([]ZEntry, 0, z.Len()-n)
		z.Ascend(0, func(e ZEntry) bool {
			keep = append(keep, e)
			return true
		})
		keep = append(keep[:start], keep[end+1:]...)
		z.sk = newSkipFromSorted(keep).sk
		return n
	}
	for k := 0; k < n; k++ {
		e := z.sk.tree.at(start)
		z.sk.tree.delete(e)
		z.sk.dict.Delete(zdictEntry{h: memberHash(e.Member), member: e.Member})
	}
	return n
}

// Each calls fn for every entry in order until fn returns false.
func (z *ZSet) Each(fn func(ZEntry) bool) { z.Ascend(0, fn) }

// Scan visits members from cursor on, as ZSCAN does, and returns the next
// cursor (0 at the end). fn returns false to stop after the current entry.
// A listpack is visited whole in one call with cursor 0, as Redis does; a
// skiplist is walked in member-hash order, which gives a stable cursor.
func (z *ZSet) Scan(cursor uint64, fn func(ZEntry) bool) uint64 {
	if z.sk == nil {
		for _, e := range z.lp {
			fn(e)
		}
		return 0
	}
	var next uint64
	stopped := false
	z.sk.dict.Ascend(zdictEntry{h: cursor}, func(d zdictEntry) bool {
		if stopped {
			next = d.h
			if next == 0 {
				next = 1 // a hash of 0 is visited again rather than ending the scan
			}
			return false
		}
		if !fn(ZEntry{d.score, d.member}) {
			stopped = true
		}
		return true
	})
	return next
}

// Snapshot codec: encoding byte (0 listpack, 1 skiplist), count, then the
// entries in order as member and score bits.
func init() {
	RegisterCodec(TypeZSet, encodeZSetSnap, decodeZSetSnap)
}

func encodeZSetSnap(dst []byte, o Object) []byte {
	z := o.(*ZSet)
	enc := byte(0)
	if z.sk != nil {
		enc = 1
	}
	dst = append(dst, enc)
	dst = binary.AppendUvarint(dst, uint64(z.Len()))
	z.Each(func(e ZEntry) bool {
		dst = appendString(dst, e.Member)
		dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(e.Score))
		return true
	})
	return dst
}

var errBadZSet = errors.New("bad sorted set")

func decodeZSetSnap(sr *SnapReader) Object {
	enc := sr.Byte()
	n := sr.Uvarint()
	var entries []ZEntry
	var bits [8]byte
	for i := uint64(0); i < n && sr.Err() == nil; i++ {
		m := sr.Bytes()
		for k := range bits {
			bits[k] = sr.Byte()
		}
		e := ZEntry{math.Float64frombits(binary.LittleEndian.Uint64(bits[:])), string(m)}
		if e.Score != e.Score || (len(entries) > 0 && !zless(entries[len(entries)-1], e)) {
			sr.Fail(errBadZSet)
			return nil
		}
		entries = append(entries, e)
	}
	if sr.Err() != nil {
		return nil
	}
	if enc == 1 {
		return newSkipFromSorted(entries)
	}
	return &ZSet{lp: entries}
}
