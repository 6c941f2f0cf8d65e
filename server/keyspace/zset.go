package keyspace

import (
	"encoding/binary"
	"errors"
	"math"
	"math/bits"
	"slices"
	"strings"
	"unsafe"

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

// ZSet is a sorted-set value. Small sets (Redis's listpack) are one flat
// string of entries in order (see lp); large ones (Redis's skiplist) are
// an order-statistic B+tree of entries plus a member index (a B-tree
// ordered by member hash), both copy-on-write, so Clone is O(1) whatever
// the size.
//
// Like Redis's listpack, which stores scores as text or integers, the
// listpack encoding turns a score of -0 into 0; the skiplist keeps -0.
type ZSet struct {
	// lp holds the n entries of a listpack in order, each encoded as
	//
	//	uvarint(len(member)), member, score
	//
	// An integer score of at most 2^53 in magnitude is stored zigzag
	// encoded: as one byte below 0xf0, else as 0xf0+k and k little-endian
	// bytes; any other score as 0xff and the 8 little-endian bytes of the
	// float64. "field:12" with an integer score under 120 takes 10 bytes.
	//
	// lp is never changed in place: every change builds a new string
	// (O(n), as Redis's listpack memmoves), so the entries' members are
	// substrings of it that readers may alias in replies written after
	// the lock is released, and Clone shares it.
	lp string
	n  int
	sk *zskip
}

type zskip struct {
	tree ztree
	dict *btree.BTreeG[zdictEntry]
	// bytes is the members' total length (memory accounting).
	bytes int
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
// most 128 members of at most 64 bytes. Neither entries nor its members'
// bytes are retained (members may alias another set's listpack).
func NewZSetFromSorted(entries []ZEntry) *ZSet { return NewZSetFromSortedCfg(entries, &defaultConfig) }

// NewZSetFromSortedCfg is NewZSetFromSorted with the limits of cfg
// (zset-max-listpack-entries and -value).
func NewZSetFromSortedCfg(entries []ZEntry, cfg *Config) *ZSet {
	maxLen := 0
	for i := range entries {
		maxLen = max(maxLen, len(entries[i].Member))
	}
	if int64(len(entries)) <= cfg.ZSetMaxListpackEntries && int64(maxLen) <= cfg.ZSetMaxListpackValue {
		return NewZSetListpack(entries)
	}
	return newSkipFromSorted(entries, true)
}

// NewZSetListpack builds a listpack-encoded sorted set from entries in
// order, whatever their number and length (as Redis keeps a loaded
// listpack of up to 128 entries). entries is not retained.
func NewZSetListpack(entries []ZEntry) *ZSet {
	size := 0
	for i := range entries {
		size += zlpEntrySize(len(entries[i].Member), lpScore(entries[i].Score))
	}
	buf := make([]byte, 0, size)
	for i := range entries {
		buf = zlpAppendEntry(buf, entries[i].Member, lpScore(entries[i].Score))
	}
	return &ZSet{lp: bytesString(buf), n: len(entries)}
}

// NewZSetSkiplistFromSorted builds a skiplist-encoded sorted set from
// entries in order, without duplicate members. Members are copied.
func NewZSetSkiplistFromSorted(entries []ZEntry) *ZSet { return newSkipFromSorted(entries, true) }

// newSkipFromSorted builds a skiplist; copy tells whether to copy the
// members (which may alias a listpack, whose whole string they would keep
// alive) or to keep them as they are.
func newSkipFromSorted(entries []ZEntry, copy bool) *ZSet {
	if copy {
		entries = slices.Clone(entries)
		for i := range entries {
			entries[i].Member = strings.Clone(entries[i].Member)
		}
	}
	sk := &zskip{tree: buildZtree(entries), dict: newZDict()}
	for _, e := range entries {
		sk.dict.Set(zdictEntry{memberHash(e.Member), e.Member, e.Score})
		sk.bytes += len(e.Member)
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

// bytesString returns b as a string without copying; b must never be
// changed afterwards.
func bytesString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// Listpack entry codec (see ZSet.lp).

const (
	zlpMaxInt   = 1 << 53 // integer scores up to this magnitude are stored as integers
	zlpSmallInt = 0xf0    // first score bytes below this are small integers
	zlpFloat    = 0xff    // first score byte of a float64
)

// zlpScoreLen is the size of a score by its first byte.
var zlpScoreLen = func() (t [256]uint8) {
	for b := range t {
		switch {
		case b < zlpSmallInt:
			t[b] = 1
		case b == zlpFloat:
			t[b] = 9
		default:
			t[b] = uint8(1 + b - zlpSmallInt)
		}
	}
	return t
}()

// zlpInt returns f as an integer if the listpack stores it as one.
func zlpInt(f float64) (int64, bool) {
	if f >= -zlpMaxInt && f <= zlpMaxInt {
		if i := int64(f); float64(i) == f {
			return i, true
		}
	}
	return 0, false
}

func zigzag(i int64) uint64 { return uint64(i<<1) ^ uint64(i>>63) }

func unzigzag(u uint64) int64 { return int64(u>>1) ^ -int64(u&1) }

// zlpIntLen is the number of bytes that hold u (u >= zlpSmallInt).
func zlpIntLen(u uint64) int { return (bits.Len64(u) + 7) / 8 }

// zlpEntrySize is the encoded size of an entry with a member of mlen bytes
// and score f.
func zlpEntrySize(mlen int, f float64) int {
	n := (bits.Len64(uint64(mlen)|1)+6)/7 + mlen
	i, ok := zlpInt(f)
	switch u := zigzag(i); {
	case !ok:
		return n + 9
	case u < zlpSmallInt:
		return n + 1
	default:
		return n + 1 + zlpIntLen(u)
	}
}

func zlpAppendEntry[S string | []byte](dst []byte, m S, f float64) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(m)))
	dst = append(dst, m...)
	return zlpAppendScore(dst, f)
}

func zlpAppendScore(dst []byte, f float64) []byte {
	i, ok := zlpInt(f)
	switch u := zigzag(i); {
	case !ok:
		return binary.LittleEndian.AppendUint64(append(dst, zlpFloat), math.Float64bits(f))
	case u < zlpSmallInt:
		return append(dst, byte(u))
	default:
		k := zlpIntLen(u)
		dst = append(dst, byte(zlpSmallInt+k))
		for ; k > 0; k-- {
			dst = append(dst, byte(u))
			u >>= 8
		}
		return dst
	}
}

// zlpMember returns the member of the entry at off and the offset of its
// score.
func zlpMember(lp string, off int) (string, int) {
	if n := lp[off]; n < 0x80 {
		end := off + 1 + int(n)
		return lp[off+1 : end], end
	}
	return zlpLongMember(lp, off)
}

//go:noinline
func zlpLongMember(lp string, off int) (string, int) {
	var n uint64
	for s := uint(0); ; s += 7 {
		b := lp[off]
		off++
		n |= uint64(b&0x7f) << s
		if b < 0x80 {
			break
		}
	}
	end := off + int(n)
	return lp[off:end], end
}

// zlpScore reads the score at off and returns it and the offset of the
// next entry.
func zlpScore(lp string, off int) (float64, int) {
	if b := lp[off]; b < zlpSmallInt {
		return float64(unzigzag(uint64(b))), off + 1
	}
	return zlpBigScore(lp, off)
}

//go:noinline
func zlpBigScore(lp string, off int) (float64, int) {
	b := lp[off]
	k := int(zlpScoreLen[b]) - 1
	var u uint64
	for j := k; j > 0; j-- {
		u = u<<8 | uint64(lp[off+j])
	}
	if b == zlpFloat {
		return math.Float64frombits(u), off + 9
	}
	return float64(unzigzag(u)), off + 1 + k
}

// zlpEntry decodes the entry at off and returns it and the next offset.
func zlpEntry(lp string, off int) (e ZEntry, next int) {
	if n := lp[off]; n < 0x80 {
		next = off + 1 + int(n)
		e.Member = lp[off+1 : next]
	} else {
		e.Member, next = zlpLongMember(lp, off)
	}
	if b := lp[next]; b < zlpSmallInt {
		e.Score = float64(unzigzag(uint64(b)))
		return e, next + 1
	}
	e.Score, next = zlpBigScore(lp, next)
	return e, next
}

// zlpNext returns the offset of the entry after the one at off.
func zlpNext(lp string, off int) int {
	_, off = zlpMember(lp, off)
	return off + int(zlpScoreLen[lp[off]])
}

// zlpSplice returns lp without its bytes [from, to) and with the entry
// (m, f) inserted at offset at, which is outside (from, to).
func zlpSplice(lp string, from, to, at int, m []byte, f float64) string {
	var b strings.Builder // its buffer is not zeroed first
	b.Grow(len(lp) - (to - from) + zlpEntrySize(len(m), f))
	entry := func() {
		var tmp [binary.MaxVarintLen64]byte
		b.Write(binary.AppendUvarint(tmp[:0], uint64(len(m))))
		b.Write(m)
		b.Write(zlpAppendScore(tmp[:0], f))
	}
	if at <= from {
		b.WriteString(lp[:at])
		entry()
		b.WriteString(lp[at:from])
		b.WriteString(lp[to:])
	} else {
		b.WriteString(lp[:from])
		b.WriteString(lp[to:at])
		entry()
		b.WriteString(lp[at:])
	}
	return b.String()
}

// zlpCut returns lp without its bytes [from, to), in a new string (a
// substring would keep the whole of lp allocated).
func zlpCut(lp string, from, to int) string {
	switch {
	case from == 0 && to == len(lp):
		return ""
	case from == 0:
		return strings.Clone(lp[to:])
	case to == len(lp):
		return strings.Clone(lp[:from])
	}
	return lp[:from] + lp[to:]
}

// lpFind returns the offsets of the entry of member, its score and its
// rank counted from the entry at from, or a start of -1.
func (z *ZSet) lpFind(member []byte, from int) (start, end int, score float64, rank int) {
	lp := z.lp
	for off, i := from, 0; off < len(lp); i++ {
		var m string
		soff := off + 1
		if n := lp[off]; n < 0x80 {
			// Lengths, then last bytes, differ for most members.
			if int(n) != len(member) || n > 0 && lp[off+int(n)] != member[n-1] {
				soff += int(n)
				off = soff + int(zlpScoreLen[lp[soff]])
				continue
			}
			m = lp[soff : soff+int(n)]
			soff += int(n)
		} else {
			m, soff = zlpLongMember(lp, off)
		}
		if m == string(member) {
			f, next := zlpScore(lp, soff)
			return off, next, f, i
		}
		off = soff + int(zlpScoreLen[lp[soff]])
	}
	return -1, -1, 0, -1
}

// lpLocate finds member and the place of (score, member) in one pass. It
// returns the offsets of member's entry and its score (a start of -1 if
// it is not in the set), and the offset where (score, member) belongs
// among the other entries.
func (z *ZSet) lpLocate(member []byte, score float64) (start, end int, old float64, at int) {
	lp := z.lp
	for off := 0; off < len(lp); {
		var e ZEntry
		var next int
		// zlpEntry's common case, inline.
		if n := lp[off]; n < 0x80 && off+1+int(n) < len(lp) && lp[off+1+int(n)] < zlpSmallInt {
			next = off + 1 + int(n)
			e.Member, e.Score = lp[off+1:next], float64(unzigzag(uint64(lp[next])))
			next++
		} else {
			e, next = zlpEntry(lp, off)
		}
		if e.Member == string(member) {
			// The place is further on.
			for at = next; at < len(lp); {
				e, n := zlpEntry(lp, at)
				if score < e.Score || score == e.Score && string(member) < e.Member {
					break
				}
				at = n
			}
			return off, next, e.Score, at
		}
		if score < e.Score || score == e.Score && string(member) < e.Member {
			// The member, if present, is further on.
			start, end, old, _ = z.lpFind(member, off)
			return start, end, old, off
		}
		off = next
	}
	return -1, -1, 0, len(lp)
}

// lpSeek returns the offset of the entry of rank i (len(lp) for n).
func (z *ZSet) lpSeek(i int) int {
	off := 0
	for ; i > 0 && off < len(z.lp); i-- {
		off = zlpNext(z.lp, off)
	}
	return off
}

// lpOffsets appends the offsets of the entries of rank 0..i to dst.
func (z *ZSet) lpOffsets(dst []int32, i int) []int32 {
	for off := 0; i >= 0 && off < len(z.lp); i-- {
		dst = append(dst, int32(off))
		off = zlpNext(z.lp, off)
	}
	return dst
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
	return z.n
}

// Clone implements Object. A listpack string is never changed in place and
// skiplist members are immutable strings, so the copy shares them; a
// skiplist's trees are copied on write.
func (z *ZSet) Clone() Object {
	if z.sk != nil {
		return &ZSet{sk: &zskip{tree: z.sk.tree.copy(), dict: z.sk.dict.Copy(), bytes: z.sk.bytes}}
	}
	return &ZSet{lp: z.lp, n: z.n}
}

// Score returns the score of member and whether it is in the set.
func (z *ZSet) Score(member []byte) (float64, bool) {
	if z.sk != nil {
		e, ok := z.sk.dict.Get(zdictEntry{h: xxhash.Sum64(member), member: string(member)})
		return e.score, ok
	}
	start, _, f, _ := z.lpFind(member, 0)
	return f, start >= 0
}

// Set sets the score of member, adding it if it is new, and tells whether
// it was added. score must not be NaN. Adding a member to a listpack that
// would then exceed the listpack limits converts the set to a skiplist
// first, as Redis's zsetAdd does. member is copied. Set uses Redis's
// default limits (tests); commands use SetCfg with the DB's.
func (z *ZSet) Set(member []byte, score float64) bool { return z.SetCfg(member, score, &defaultConfig) }

// SetCfg is Set with the limits of cfg.
func (z *ZSet) SetCfg(member []byte, score float64, cfg *Config) bool {
	if z.sk == nil {
		f := lpScore(score)
		start, end, old, at := z.lpLocate(member, f)
		if start >= 0 {
			if old != f {
				z.lp = zlpSplice(z.lp, start, end, at, member, f)
			}
			return false
		}
		if int64(z.n)+1 <= cfg.ZSetMaxListpackEntries && int64(len(member)) <= cfg.ZSetMaxListpackValue {
			z.lp = zlpSplice(z.lp, at, at, at, member, f)
			z.n++
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
	sk.bytes += len(m)
	return true
}

// SetMany sets the scores of members in turn, exactly as calls of Set
// would (converting to a skiplist at the same point), and returns how
// many members it added. A listpack is rebuilt once rather than once per
// member. members are copied.
func (z *ZSet) SetMany(members [][]byte, scores []float64) int {
	return z.SetManyCfg(members, scores, &defaultConfig)
}

// SetManyCfg is SetMany with the limits of cfg.
func (z *ZSet) SetManyCfg(members [][]byte, scores []float64, cfg *Config) int {
	added := 0
	k := 0
	if z.sk == nil && len(members) > 1 {
		// Apply the changes to the decoded entries (members alias lp
		// and the arguments until the new lp is built).
		entries := z.AppendEntries(make([]ZEntry, 0, z.n+min(len(members), ZSetMaxListpackEntries, int(min(cfg.ZSetMaxListpackEntries, 1<<20)))))
		for ; k < len(members); k++ {
			m, f := members[k], lpScore(scores[k])
			i := zindex(entries, m)
			if i >= 0 {
				if entries[i].Score != f {
					e := ZEntry{f, entries[i].Member}
					entries = slices.Delete(entries, i, i+1)
					entries = zinsertSorted(entries, e)
				}
				continue
			}
			if int64(len(entries))+1 > cfg.ZSetMaxListpackEntries || int64(len(m)) > cfg.ZSetMaxListpackValue {
				break // Set converts from here on
			}
			entries = zinsertSorted(entries, ZEntry{f, bytesString(m)})
			added++
		}
		*z = *NewZSetListpack(entries)
	}
	for ; k < len(members); k++ {
		if z.SetCfg(members[k], scores[k], cfg) {
			added++
		}
	}
	return added
}

// zindex returns the index of the entry of member m, or -1.
func zindex(entries []ZEntry, m []byte) int {
	n := len(m)
	if n == 0 {
		for i := range entries {
			if entries[i].Member == "" {
				return i
			}
		}
		return -1
	}
	last := m[n-1]
	for i := range entries {
		// Lengths, then last bytes, differ for most members.
		if e := entries[i].Member; len(e) == n && e[n-1] == last && e == string(m) {
			return i
		}
	}
	return -1
}

func zinsertSorted(entries []ZEntry, e ZEntry) []ZEntry {
	i, _ := slices.BinarySearchFunc(entries, e, func(a, b ZEntry) int {
		if zless(a, b) {
			return -1
		}
		return 1 // never equal: members are distinct
	})
	return slices.Insert(entries, i, e)
}

func (z *ZSet) convertToSkiplist() {
	entries := z.AppendEntries(make([]ZEntry, 0, z.n))
	for i := range entries {
		entries[i].Member = strings.Clone(entries[i].Member)
	}
	s := newSkipFromSorted(entries, false)
	z.lp, z.n, z.sk = "", 0, s.sk
}

// Delete removes member and tells whether it was in the set.
func (z *ZSet) Delete(member []byte) bool {
	if z.sk != nil {
		e, ok := z.sk.dict.Delete(zdictEntry{h: xxhash.Sum64(member), member: string(member)})
		if ok {
			z.sk.tree.delete(ZEntry{e.score, e.member})
			z.sk.bytes -= len(e.member)
		}
		return ok
	}
	if start, end, _, _ := z.lpFind(member, 0); start >= 0 {
		z.lp = zlpCut(z.lp, start, end)
		z.n--
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
	_, _, _, i := z.lpFind(member, 0)
	return i, i >= 0
}

// At returns the entry of rank i (0 <= i < Len()). It takes O(i) on a
// listpack: to visit many entries, use Ascend, Descend or AppendEntries.
func (z *ZSet) At(i int) ZEntry {
	if z.sk != nil {
		return z.sk.tree.at(i)
	}
	e, _ := zlpEntry(z.lp, z.lpSeek(i))
	return e
}

// AppendEntries appends every entry in order to dst.
func (z *ZSet) AppendEntries(dst []ZEntry) []ZEntry {
	dst = slices.Grow(dst, z.Len())
	z.Ascend(0, func(e ZEntry) bool {
		dst = append(dst, e)
		return true
	})
	return dst
}

// AppendRange appends to dst up to count entries from rank start (>= 0)
// on, in ascending order, or in descending order from rank min(start,
// Len()-1) when reverse. Unlike Ascend and Descend it calls no function
// per entry.
func (z *ZSet) AppendRange(dst []ZEntry, start, count int, reverse bool) []ZEntry {
	if count <= 0 || start < 0 {
		return dst
	}
	if z.sk != nil {
		fn := func(e ZEntry) bool {
			dst = append(dst, e)
			count--
			return count > 0
		}
		if reverse {
			z.sk.tree.descend(start, fn)
		} else {
			z.sk.tree.ascend(start, fn)
		}
		return dst
	}
	lp := z.lp
	if !reverse {
		for off := z.lpSeek(start); off < len(lp) && count > 0; count-- {
			var e ZEntry
			// zlpEntry's common case, inline.
			if n := lp[off]; n < 0x80 && off+1+int(n) < len(lp) && lp[off+1+int(n)] < zlpSmallInt {
				end := off + 1 + int(n)
				b := lp[end]
				e.Member, e.Score = lp[off+1:end], float64(unzigzag(uint64(b)))
				off = end + 1
			} else {
				e, off = zlpEntry(lp, off)
			}
			dst = append(dst, e)
		}
		return dst
	}
	// Decode forward, then reverse.
	hi := min(start, z.n-1)
	lo := max(hi-count+1, 0)
	first := len(dst)
	dst = z.AppendRange(dst, lo, hi-lo+1, false)
	slices.Reverse(dst[first:])
	return dst
}

// Ascend calls fn for the entries of rank i, i+1, ... until fn returns
// false or the set ends. Entries of a listpack are decoded as they are
// visited; their members alias the listpack.
func (z *ZSet) Ascend(i int, fn func(ZEntry) bool) {
	if z.sk != nil {
		z.sk.tree.ascend(i, fn)
		return
	}
	lp := z.lp
	for off := z.lpSeek(max(i, 0)); off < len(lp); {
		var e ZEntry
		e, off = zlpEntry(lp, off)
		if !fn(e) {
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
	i = min(i, z.n-1)
	if i < 0 {
		return
	}
	var stack [ZSetMaxListpackEntries]int32
	offs := z.lpOffsets(stack[:0], i)
	lp := z.lp
	for k := len(offs) - 1; k >= 0; k-- {
		e, _ := zlpEntry(lp, int(offs[k]))
		if !fn(e) {
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
	i := 0
	for off := 0; off < len(z.lp); i++ {
		var e ZEntry
		e, off = zlpEntry(z.lp, off)
		if pred(e) {
			return i
		}
	}
	return i
}

// Last returns the rank of the last entry for which pred is true (-1 if
// none): a listpack is scanned from the end; a skiplist is searched
// assuming pred is true then false along the order.
func (z *ZSet) Last(pred func(ZEntry) bool) int {
	if z.sk != nil {
		return z.sk.tree.search(func(e ZEntry) bool { return !pred(e) }) - 1
	}
	var stack [ZSetMaxListpackEntries]int32
	offs := z.lpOffsets(stack[:0], z.n-1)
	for k := len(offs) - 1; k >= 0; k-- {
		if e, _ := zlpEntry(z.lp, int(offs[k])); pred(e) {
			return k
		}
	}
	return -1
}

// DeleteRange removes the entries of rank start..end inclusive (0 <=
// start <= end < Len()) and returns how many it removed.
func (z *ZSet) DeleteRange(start, end int) int {
	n := end - start + 1
	if z.sk == nil {
		from := z.lpSeek(start)
		to := from
		for k := 0; k < n; k++ {
			to = zlpNext(z.lp, to)
		}
		z.lp = zlpCut(z.lp, from, to)
		z.n -= n
		return n
	}
	if n > z.Len()/2 {
		// Rebuild from what remains.
		keep := z.AppendEntries(make([]ZEntry, 0, z.Len()))
		keep = append(keep[:start], keep[end+1:]...)
		z.sk = newSkipFromSorted(keep, false).sk
		return n
	}
	for k := 0; k < n; k++ {
		e := z.sk.tree.at(start)
		z.sk.tree.delete(e)
		z.sk.dict.Delete(zdictEntry{h: memberHash(e.Member), member: e.Member})
		z.sk.bytes -= len(e.Member)
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
		z.Ascend(0, func(e ZEntry) bool {
			fn(e)
			return true
		})
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
		return newSkipFromSorted(entries, false)
	}
	return NewZSetListpack(entries)
}
