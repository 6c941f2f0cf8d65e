package keyspace

import (
	"errors"
	"math"
	"strconv"

	"github.com/tidwall/btree"
)

// StreamID is a stream entry ID: milliseconds and sequence number.
type StreamID struct{ Ms, Seq uint64 }

// MaxStreamID is the largest ID ("+").
var MaxStreamID = StreamID{math.MaxUint64, math.MaxUint64}

// Cmp compares a and b: -1, 0 or 1.
func (a StreamID) Cmp(b StreamID) int {
	switch {
	case a.Ms < b.Ms:
		return -1
	case a.Ms > b.Ms:
		return 1
	case a.Seq < b.Seq:
		return -1
	case a.Seq > b.Seq:
		return 1
	}
	return 0
}

// Less tells whether a < b.
func (a StreamID) Less(b StreamID) bool {
	return a.Ms < b.Ms || (a.Ms == b.Ms && a.Seq < b.Seq)
}

// IsZero tells whether the ID is 0-0.
func (a StreamID) IsZero() bool { return a.Ms == 0 && a.Seq == 0 }

// Incr returns the next ID; ok is false (and the result 0-0) for the
// largest ID, as streamIncrID.
func (a StreamID) Incr() (StreamID, bool) {
	if a.Seq == math.MaxUint64 {
		if a.Ms == math.MaxUint64 {
			return StreamID{}, false
		}
		return StreamID{a.Ms + 1, 0}, true
	}
	return StreamID{a.Ms, a.Seq + 1}, true
}

// Decr returns the previous ID; ok is false (and the result the largest
// ID) for 0-0, as streamDecrID.
func (a StreamID) Decr() (StreamID, bool) {
	if a.Seq == 0 {
		if a.Ms == 0 {
			return MaxStreamID, false
		}
		return StreamID{a.Ms - 1, math.MaxUint64}, true
	}
	return StreamID{a.Ms, a.Seq - 1}, true
}

// Append appends the "ms-seq" form of the ID.
func (a StreamID) Append(dst []byte) []byte {
	dst = strconv.AppendUint(dst, a.Ms, 10)
	dst = append(dst, '-')
	return strconv.AppendUint(dst, a.Seq, 10)
}

// String returns "ms-seq".
func (a StreamID) String() string { return string(a.Append(make([]byte, 0, 41))) }

// Stream node limits, as Redis's stream-node-max-bytes and
// stream-node-max-entries defaults: an entry goes to a new node when the
// tail node would reach the byte limit or holds that many entries (live or
// deleted).
var (
	StreamNodeMaxBytes   = 4096
	StreamNodeMaxEntries = 100
)

// Entry flags inside a node.
const (
	streamFlagDeleted    = 1
	streamFlagSameFields = 2
)

// InvalidEntriesRead is a group's entries-read counter when it is unknown
// (SCG_INVALID_ENTRIES_READ).
const InvalidEntriesRead = -1

type streamToken struct{ _ int }

// streamNode is one listpack of entries, keyed by its master ID. Its bytes
// are Redis's: a master entry (count, deleted, field count, fields, 0)
// then entries (flags, ms delta, seq delta, [field count, fields,] values,
// element count). owner is the token of the stream that may change lp in
// place; a node shared with a clone is copied before it is changed.
//
// Bytes of field and value elements are never overwritten: readers build
// replies that alias them. Only the header, the count elements and the
// flags change in place.
type streamNode struct {
	master StreamID
	lp     []byte
	owner  *streamToken
}

func lessNode(a, b *streamNode) bool { return a.master.Less(b.master) }

// Stream is a stream value: a B-tree of listpack nodes ordered by ID, the
// stream's counters and its consumer groups (sorted by name, as Redis's
// rax iterates them).
type Stream struct {
	nodes  *btree.BTreeG[*streamNode]
	length uint64
	token  *streamToken
	// lpBytes is the nodes' total listpack size (memory accounting).
	lpBytes int

	// LastID is the last generated ID; FirstID the first live entry's
	// (0-0 when empty); MaxDeletedID the largest ID deleted by XDEL;
	// EntriesAdded counts every entry ever added.
	LastID, FirstID, MaxDeletedID StreamID
	EntriesAdded                  uint64

	groups []*StreamGroup
}

// NewStream returns an empty stream.
func NewStream() *Stream {
	return &Stream{
		nodes: btree.NewBTreeGOptions(lessNode, btree.Options{NoLocks: true, Degree: 16}),
		token: new(streamToken),
	}
}

// Type implements Object.
func (s *Stream) Type() Type { return TypeStream }

// Encoding implements Object.
func (s *Stream) Encoding() string { return "stream" }

// Len implements Object: the number of entries.
func (s *Stream) Len() int { return int(s.length) }

// Length returns the number of entries.
func (s *Stream) Length() uint64 { return s.length }

// Clone implements Object. The node tree is copied on write and its nodes
// are shared until either side changes one; groups and consumers are
// copied (their pending lists copy on write).
func (s *Stream) Clone() Object {
	c := *s
	c.nodes = s.nodes.Copy()
	// Neither side owns the shared nodes any more.
	s.token = new(streamToken)
	c.token = new(streamToken)
	c.groups = make([]*StreamGroup, len(s.groups))
	for i, g := range s.groups {
		c.groups[i] = g.clone()
	}
	return &c
}

// NodeCount returns the number of listpack nodes (XINFO radix-tree-keys).
func (s *Stream) NodeCount() int { return s.nodes.Len() }

// RaxNodes returns the number of nodes the radix tree of Redis would have
// for this stream's node keys (XINFO radix-tree-nodes): the canonical
// compressed trie of the 16-byte big-endian keys.
func (s *Stream) RaxNodes() int {
	n := s.nodes.Len()
	if n == 0 {
		return 1
	}
	keys := make([][16]byte, 0, n)
	s.nodes.Scan(func(nd *streamNode) bool {
		keys = append(keys, nodeKey(nd.master))
		return true
	})
	return raxCount(keys, 0)
}

func nodeKey(id StreamID) [16]byte {
	var k [16]byte
	for i := 0; i < 8; i++ {
		k[i] = byte(id.Ms >> (56 - 8*i))
		k[8+i] = byte(id.Seq >> (56 - 8*i))
	}
	return k
}

// raxCount counts the nodes of the compressed trie of keys (sorted,
// distinct, all 16 bytes, sharing their first depth bytes) from a node
// that starts at depth (the root, or a child of a branching node).
func raxCount(keys [][16]byte, depth int) int {
	if len(keys) == 1 {
		if depth == 16 {
			return 1 // the key's leaf
		}
		return 2 // a compressed node, then the leaf
	}
	// Longest common prefix of the group from depth.
	d := depth
	first, last := keys[0], keys[len(keys)-1]
	for d < 16 && first[d] == last[d] {
		d++
	}
	count := 0
	if d > depth {
		count++ // a compressed node runs from depth to the branch
	}
	count++ // the branching node at d
	for i := 0; i < len(keys); {
		j := i + 1
		for j < len(keys) && keys[j][d] == keys[i][d] {
			j++
		}
		count += raxCount(keys[i:j], d+1)
		i = j
	}
	return count
}

// nodeHeader parses a node's master entry: live and deleted counts, the
// master field count, the offset of the first master field and of the
// first entry.
func nodeHeader(lp []byte) (count, deleted int64, nfields int, fieldsAt, entriesAt int) {
	p := lpHdrSize
	count, p = lpInt(lp, p)
	deleted, p = lpInt(lp, p)
	var nf int64
	nf, p = lpInt(lp, p)
	fieldsAt = p
	for i := int64(0); i < nf; i++ {
		p = lpSkip(lp, p)
	}
	p = lpSkip(lp, p) // the zero terminator
	return count, deleted, int(nf), fieldsAt, p
}

// nodeEntry is one parsed entry of a node.
type nodeEntry struct {
	id       StreamID
	flags    int64
	at       int // offset of the flags element
	fieldsAt int // first field (or first value with the same-fields flag)
	nfields  int
	end      int // offset of the next entry
}

// parseEntry parses the entry at p of a node with master ID master.
func parseEntry(lp []byte, p int, master StreamID, masterFields int) nodeEntry {
	e := nodeEntry{at: p}
	e.flags, p = lpInt(lp, p)
	var dms, dseq int64
	dms, p = lpInt(lp, p)
	dseq, p = lpInt(lp, p)
	e.id = StreamID{master.Ms + uint64(dms), master.Seq + uint64(dseq)}
	skip := 0
	if e.flags&streamFlagSameFields != 0 {
		e.nfields = masterFields
		skip = masterFields
	} else {
		var nf int64
		nf, p = lpInt(lp, p)
		e.nfields = int(nf)
		skip = 2 * e.nfields
	}
	e.fieldsAt = p
	for i := 0; i < skip; i++ {
		p = lpSkip(lp, p)
	}
	e.end = lpSkip(lp, p) // the lp-count element
	return e
}

// appendFields appends an entry's fields and values (alternating) to fv.
func appendFields(fv [][]byte, lp []byte, e *nodeEntry, masterFieldsAt int) [][]byte {
	p := e.fieldsAt
	var b []byte
	if e.flags&streamFlagSameFields != 0 {
		q := masterFieldsAt
		for i := 0; i < e.nfields; i++ {
			b, q = lpBytes(lp, q)
			fv = append(fv, b)
			b, p = lpBytes(lp, p)
			fv = append(fv, b)
		}
		return fv
	}
	for i := 0; i < 2*e.nfields; i++ {
		b, p = lpBytes(lp, p)
		fv = append(fv, b)
	}
	return fv
}

// eachEntry calls fn for every entry of a node (deleted ones too), in
// order, until fn returns false.
func eachEntry(n *streamNode, fn func(e *nodeEntry, masterFieldsAt int) bool) bool {
	_, _, nf, fieldsAt, p := nodeHeader(n.lp)
	end := len(n.lp) - 1
	var e nodeEntry // one per call: &e escapes through fn
	for p < end {
		e = parseEntry(n.lp, p, n.master, nf)
		if !fn(&e, fieldsAt) {
			return false
		}
		p = e.end
	}
	return true
}

// Range calls fn for every live entry with start <= ID <= end, in ID
// order (descending if rev), until fn returns false. fv alternates fields
// and values; the slice is reused between calls but the byte slices are
// not (they alias the stream's immutable bytes or are new).
func (s *Stream) Range(start, end StreamID, rev bool, fn func(id StreamID, fv [][]byte) bool) {
	if end.Less(start) || s.nodes.Len() == 0 {
		return
	}
	var fv [][]byte
	if !rev {
		var from *streamNode
		s.nodes.Descend(&streamNode{master: start}, func(n *streamNode) bool { from = n; return false })
		if from == nil {
			from, _ = s.nodes.Min()
		}
		s.nodes.Ascend(from, func(n *streamNode) bool {
			return eachEntry(n, func(e *nodeEntry, mf int) bool {
				if e.flags&streamFlagDeleted != 0 || e.id.Less(start) {
					return true
				}
				if end.Less(e.id) {
					return false
				}
				fv = appendFields(fv[:0], n.lp, e, mf)
				return fn(e.id, fv)
			})
		})
		return
	}
	var entries []nodeEntry
	s.nodes.Descend(&streamNode{master: end}, func(n *streamNode) bool {
		entries = entries[:0]
		_, _, nf, mf, p := nodeHeader(n.lp)
		stop := len(n.lp) - 1
		for p < stop {
			e := parseEntry(n.lp, p, n.master, nf)
			entries = append(entries, e)
			p = e.end
		}
		for i := len(entries) - 1; i >= 0; i-- {
			e := &entries[i]
			if e.flags&streamFlagDeleted != 0 || end.Less(e.id) {
				continue
			}
			if e.id.Less(start) {
				return false
			}
			fv = appendFields(fv[:0], n.lp, e, mf)
			if !fn(e.id, fv) {
				return false
			}
		}
		return true
	})
}

// Get returns the fields and values of the live entry id.
func (s *Stream) Get(id StreamID) (fv [][]byte, ok bool) {
	s.Range(id, id, false, func(_ StreamID, f [][]byte) bool {
		fv = append([][]byte(nil), f...)
		ok = true
		return false
	})
	return fv, ok
}

// Exists tells whether id is a live entry.
func (s *Stream) Exists(id StreamID) bool {
	found := false
	s.Range(id, id, false, func(StreamID, [][]byte) bool { found = true; return false })
	return found
}

// FirstEntryID returns the ID of the first live entry.
func (s *Stream) FirstEntryID() (StreamID, bool) {
	var id StreamID
	ok := false
	s.Range(StreamID{}, MaxStreamID, false, func(i StreamID, _ [][]byte) bool { id, ok = i, true; return false })
	return id, ok
}

// LastEntryID returns the ID of the last live entry (streamLastValidID).
func (s *Stream) LastEntryID() (StreamID, bool) {
	var id StreamID
	ok := false
	s.Range(StreamID{}, MaxStreamID, true, func(i StreamID, _ [][]byte) bool { id, ok = i, true; return false })
	return id, ok
}

// NextID returns the ID XADD * generates at now (Unix ms): now-0 if now
// is past the last ID's time, else the last ID plus one. ok is false when
// the last ID is the largest possible.
func (s *Stream) NextID(now int64) (StreamID, bool) {
	if ms := uint64(now); now > 0 && ms > s.LastID.Ms {
		return StreamID{ms, 0}, true
	}
	id, ok := s.LastID.Incr()
	return id, ok
}

// mutableNode returns a version of n that this stream may change in place,
// copying it (and replacing it in the tree) if it is shared.
func (s *Stream) mutableNode(n *streamNode) *streamNode {
	if n.owner == s.token {
		return n
	}
	c := &streamNode{master: n.master, owner: s.token}
	c.lp = append(make([]byte, 0, len(n.lp)+len(n.lp)/4+16), n.lp...)
	s.nodes.Set(c)
	return c
}

// replaceInt replaces the integer element at p of n (owned) with v,
// in place when the encoding keeps its size.
func (s *Stream) replaceInt(n *streamNode, p int, v int64) {
	next := lpSkip(n.lp, p)
	old := next - p
	if lpIntSize(v) == old {
		lpAppendIntRaw(n.lp[p:p], v)
		return
	}
	lp := make([]byte, 0, len(n.lp)+16)
	lp = append(lp, n.lp[:p]...)
	lp = lpAppendIntRaw(lp, v)
	lp = append(lp, n.lp[next:]...)
	lpSetHeader(lp, lpNumele(n.lp))
	s.lpBytes += len(lp) - len(n.lp)
	n.lp = lp
}

// shrink releases a closed node's spare capacity.
func (s *Stream) shrink(n *streamNode) {
	if n.owner == s.token && cap(n.lp)-len(n.lp) > 64 {
		n.lp = append(make([]byte, 0, len(n.lp)), n.lp...)
	}
}

// Append adds an entry with the given ID, which must be greater than
// LastID, and fields and values (alternating, at least one pair). The
// bytes are copied. It updates the length, LastID, EntriesAdded and
// FirstID.
func (s *Stream) Append(id StreamID, fv [][]byte) { s.AppendCfg(id, fv, &defaultConfig) }

// AppendCfg is Append with cfg's stream-node-max-bytes and
// stream-node-max-entries (Append uses Redis's defaults).
func (s *Stream) AppendCfg(id StreamID, fv [][]byte, cfg *Config) {
	numfields := len(fv) / 2
	totelelen := 0
	for _, b := range fv {
		totelelen += len(b)
	}
	tail, _ := s.nodes.Max()
	if tail != nil {
		maxBytes := int(min(cfg.StreamNodeMaxBytes, lpStreamMaxBytes))
		if maxBytes <= 0 {
			maxBytes = lpStreamMaxBytes
		}
		newNode := false
		if len(tail.lp)+totelelen >= maxBytes {
			newNode = true
		} else if cfg.StreamNodeMaxEntries > 0 {
			count, next := lpInt(tail.lp, lpHdrSize)
			deleted, _ := lpInt(tail.lp, next)
			if count+deleted >= cfg.StreamNodeMaxEntries {
				newNode = true
			}
		}
		if newNode {
			s.shrink(tail)
			tail = nil
		}
	}
	flags := int64(0)
	var numele int
	if tail == nil {
		size := lpHdrSize + 1 + 4*lpIntSize(0)
		for i := 0; i < numfields; i++ {
			size += lpElemSize(fv[2*i])
		}
		lp := make([]byte, lpHdrSize, size+2*totelelen+32)
		lp = lpAppendIntRaw(lp, 1)
		lp = lpAppendIntRaw(lp, 0)
		lp = lpAppendIntRaw(lp, int64(numfields))
		for i := 0; i < numfields; i++ {
			lp = lpAppendRaw(lp, fv[2*i])
		}
		lp = lpAppendIntRaw(lp, 0)
		numele = 4 + numfields
		tail = &streamNode{master: id, lp: lp, owner: s.token}
		flags = streamFlagSameFields
		s.nodes.Set(tail)
		s.lpBytes += len(lp)
	} else {
		tail = s.mutableNode(tail)
		count, _ := lpInt(tail.lp, lpHdrSize)
		s.replaceInt(tail, lpHdrSize, count+1)
		numele = lpNumele(tail.lp)
		p := lpSkip(tail.lp, lpHdrSize)
		p = lpSkip(tail.lp, p)
		var mf int64
		mf, p = lpInt(tail.lp, p)
		if int(mf) == numfields {
			same := true
			for i := 0; i < numfields && same; i++ {
				same, p = lpEqual(tail.lp, p, fv[2*i])
			}
			if same {
				flags = streamFlagSameFields
			}
		}
		tail.lp = tail.lp[:len(tail.lp)-1] // drop the terminator
		s.lpBytes--
	}
	lp := tail.lp
	master := tail.master
	lp = lpAppendIntRaw(lp, flags)
	lp = lpAppendIntRaw(lp, int64(id.Ms-master.Ms))
	lp = lpAppendIntRaw(lp, int64(id.Seq-master.Seq))
	lpCount := int64(numfields + 3)
	if flags&streamFlagSameFields == 0 {
		lp = lpAppendIntRaw(lp, int64(numfields))
		for i := 0; i < numfields; i++ {
			lp = lpAppendRaw(lp, fv[2*i])
			lp = lpAppendRaw(lp, fv[2*i+1])
		}
		lpCount += int64(numfields + 1)
		numele += 4 + 2*numfields + 1
	} else {
		for i := 0; i < numfields; i++ {
			lp = lpAppendRaw(lp, fv[2*i+1])
		}
		numele += 3 + numfields + 1
	}
	lp = lpAppendIntRaw(lp, lpCount)
	lp = append(lp, lpEOFByte)
	lpSetHeader(lp, numele)
	s.lpBytes += len(lp) - len(tail.lp)
	tail.lp = lp
	s.length++
	s.EntriesAdded++
	s.LastID = id
	if s.length == 1 {
		s.FirstID = id
	}
}

// deleteEntry marks the live entry id deleted and tells whether it
// existed. A node left without live entries is removed.
func (s *Stream) deleteEntry(id StreamID) bool {
	var node *streamNode
	s.nodes.Descend(&streamNode{master: id}, func(n *streamNode) bool { node = n; return false })
	if node == nil {
		return false
	}
	at := -1
	eachEntry(node, func(e *nodeEntry, _ int) bool {
		if e.id == id {
			if e.flags&streamFlagDeleted == 0 {
				at = e.at
			}
			return false
		}
		return e.id.Less(id)
	})
	if at < 0 {
		return false
	}
	count, next := lpInt(node.lp, lpHdrSize)
	if count == 1 {
		s.nodes.Delete(node)
		s.lpBytes -= len(node.lp)
	} else {
		node = s.mutableNode(node)
		flags, _ := lpInt(node.lp, at)
		s.replaceInt(node, at, flags|streamFlagDeleted)
		deleted, _ := lpInt(node.lp, next)
		s.replaceInt(node, lpHdrSize, count-1)
		next = lpSkip(node.lp, lpHdrSize)
		s.replaceInt(node, next, deleted+1)
	}
	s.length--
	return true
}

// Delete removes the given entries (XDEL) and returns how many existed.
// It updates MaxDeletedID and FirstID.
func (s *Stream) Delete(ids []StreamID) int {
	deleted := 0
	firstDeleted := false
	for _, id := range ids {
		if s.deleteEntry(id) {
			if id == s.FirstID {
				firstDeleted = true
			}
			if s.MaxDeletedID.Less(id) {
				s.MaxDeletedID = id
			}
			deleted++
		}
	}
	if deleted > 0 {
		if s.length == 0 {
			s.FirstID = StreamID{}
		} else if firstDeleted {
			s.FirstID, _ = s.FirstEntryID()
		}
	}
	return deleted
}

// Trim strategies.
const (
	TrimNone = iota
	TrimMaxLen
	TrimMinID
)

// TrimArgs are XADD's and XTRIM's trimming options.
type TrimArgs struct {
	Strategy int
	MaxLen   int64
	MinID    StreamID
	// Approx removes whole nodes only ("~").
	Approx bool
	// Limit caps the number of entries removed (0: no limit).
	Limit int64
}

// Trim trims the stream as Redis's streamTrim and returns the number of
// entries removed.
func (s *Stream) Trim(a TrimArgs) int64 {
	if a.Strategy == TrimNone {
		return 0
	}
	maxlen := uint64(max(a.MaxLen, 0))
	var deleted int64
	for {
		n, ok := s.nodes.Min()
		if !ok {
			break
		}
		if a.Strategy == TrimMaxLen && s.length <= maxlen {
			break
		}
		entries, _ := lpInt(n.lp, lpHdrSize)
		if a.Limit != 0 && deleted+entries > a.Limit {
			break
		}
		var remove bool
		if a.Strategy == TrimMaxLen {
			remove = s.length-uint64(entries) >= maxlen
		} else {
			last := StreamID{}
			eachEntry(n, func(e *nodeEntry, _ int) bool { last = e.id; return true })
			remove = last.Less(a.MinID)
		}
		if remove {
			s.nodes.Delete(n)
			s.lpBytes -= len(n.lp)
			s.length -= uint64(entries)
			deleted += entries
			continue
		}
		if a.Approx {
			break
		}
		n = s.mutableNode(n)
		var fromLP int64
		var marks []int
		eachEntry(n, func(e *nodeEntry, _ int) bool {
			var stop bool
			if a.Strategy == TrimMaxLen {
				stop = s.length <= maxlen
			} else {
				stop = !e.id.Less(a.MinID)
			}
			if stop {
				return false
			}
			if e.flags&streamFlagDeleted == 0 {
				marks = append(marks, e.at)
				fromLP++
				s.length--
			}
			return true
		})
		for _, at := range marks {
			flags, _ := lpInt(n.lp, at)
			s.replaceInt(n, at, flags|streamFlagDeleted) // same size: offsets hold
		}
		deleted += fromLP
		_, next := lpInt(n.lp, lpHdrSize)
		markedDeleted, _ := lpInt(n.lp, next)
		s.replaceInt(n, lpHdrSize, entries-fromLP)
		next = lpSkip(n.lp, lpHdrSize)
		s.replaceInt(n, next, markedDeleted+fromLP)
		break
	}
	if s.length == 0 {
		s.FirstID = StreamID{}
	} else if deleted != 0 {
		s.FirstID, _ = s.FirstEntryID()
	}
	return deleted
}

// RangeHasTombstones tells whether a deleted entry may lie in
// [start, +inf] (streamRangeHasTombstones with no end).
func (s *Stream) RangeHasTombstones(start StreamID) bool {
	if s.length == 0 || s.MaxDeletedID.IsZero() {
		return false
	}
	if s.MaxDeletedID.Less(s.FirstID) {
		return false
	}
	return !s.MaxDeletedID.Less(start)
}

// EstimateDistance returns the logical read counter of id (its distance
// from the first entry ever added) or InvalidEntriesRead when it cannot be
// known (streamEstimateDistanceFromFirstEverEntry).
func (s *Stream) EstimateDistance(id StreamID) int64 {
	if s.EntriesAdded == 0 {
		return 0
	}
	if s.length == 0 && id.Cmp(s.LastID) < 1 {
		return int64(s.EntriesAdded)
	}
	cmpLast := id.Cmp(s.LastID)
	if cmpLast == 0 {
		return int64(s.EntriesAdded)
	} else if cmpLast > 0 {
		return InvalidEntriesRead
	}
	cmpFirst := id.Cmp(s.FirstID)
	if s.MaxDeletedID.IsZero() || s.MaxDeletedID.Less(s.FirstID) {
		if cmpFirst < 0 {
			return int64(s.EntriesAdded - s.length)
		} else if cmpFirst == 0 {
			return int64(s.EntriesAdded - s.length + 1)
		}
	}
	return InvalidEntriesRead
}

// Lag returns a group's lag (entries not yet delivered), and false when it
// cannot be computed (XINFO prints a null).
func (s *Stream) Lag(g *StreamGroup) (int64, bool) {
	if s.EntriesAdded == 0 {
		return 0, true
	}
	if g.EntriesRead != InvalidEntriesRead && !s.RangeHasTombstones(g.LastID) {
		return int64(s.EntriesAdded) - g.EntriesRead, true
	}
	read := s.EstimateDistance(g.LastID)
	if read != InvalidEntriesRead {
		return int64(s.EntriesAdded) - read, true
	}
	return 0, false
}

// Advance records that a group delivered id (greater than its last
// delivered ID): the read counter follows, as in streamReplyWithRange.
func (s *Stream) Advance(g *StreamGroup, id StreamID) {
	if g.EntriesRead != InvalidEntriesRead && !s.RangeHasTombstones(id) {
		g.EntriesRead++
	} else if s.EntriesAdded != 0 {
		g.EntriesRead = s.EstimateDistance(id)
	}
	g.LastID = id
}

// ---- consumer groups ----

// PendingEntry is one entry of a group's pending entries list.
type PendingEntry struct {
	ID            StreamID
	Consumer      string
	DeliveryTime  int64
	DeliveryCount uint64
}

func lessPending(a, b PendingEntry) bool { return a.ID.Less(b.ID) }

func lessID(a, b StreamID) bool { return a.Less(b) }

// StreamGroup is a consumer group.
type StreamGroup struct {
	Name        string
	LastID      StreamID
	EntriesRead int64
	pel         *btree.BTreeG[PendingEntry]
	consumers   []*StreamConsumer // sorted by name
}

// StreamConsumer is a group's consumer.
type StreamConsumer struct {
	Name string
	// SeenTime is the last time the consumer was seen (Unix ms);
	// ActiveTime the last successful read or claim (Redis 7.2's
	// active-time; -1 for never).
	SeenTime, ActiveTime int64
	pel                  *btree.BTreeG[StreamID]
}

func newGroup(name string, last StreamID, entriesRead int64) *StreamGroup {
	return &StreamGroup{Name: name, LastID: last, EntriesRead: entriesRead,
		pel: btree.NewBTreeGOptions(lessPending, btree.Options{NoLocks: true})}
}

func (g *StreamGroup) clone() *StreamGroup {
	c := *g
	c.pel = g.pel.Copy()
	c.consumers = make([]*StreamConsumer, len(g.consumers))
	for i, sc := range g.consumers {
		cc := *sc
		cc.pel = sc.pel.Copy()
		c.consumers[i] = &cc
	}
	return &c
}

// Groups returns the groups in name order. The slice must not be changed.
func (s *Stream) Groups() []*StreamGroup { return s.groups }

func (s *Stream) groupIndex(name string) (int, bool) {
	lo, hi := 0, len(s.groups)
	for lo < hi {
		m := (lo + hi) / 2
		if s.groups[m].Name < name {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo, lo < len(s.groups) && s.groups[lo].Name == name
}

// Group returns the group named name, or nil.
func (s *Stream) Group(name []byte) *StreamGroup {
	if i, ok := s.groupIndex(string(name)); ok {
		return s.groups[i]
	}
	return nil
}

// CreateGroup adds a group; it returns nil if one has that name.
func (s *Stream) CreateGroup(name []byte, last StreamID, entriesRead int64) *StreamGroup {
	i, ok := s.groupIndex(string(name))
	if ok {
		return nil
	}
	g := newGroup(string(name), last, entriesRead)
	s.groups = append(s.groups, nil)
	copy(s.groups[i+1:], s.groups[i:])
	s.groups[i] = g
	return g
}

// DestroyGroup removes a group and tells whether it existed.
func (s *Stream) DestroyGroup(name []byte) bool {
	i, ok := s.groupIndex(string(name))
	if !ok {
		return false
	}
	s.groups = append(s.groups[:i], s.groups[i+1:]...)
	return true
}

// PendingLen returns the number of pending entries.
func (g *StreamGroup) PendingLen() int { return g.pel.Len() }

// Pending returns the pending entry id.
func (g *StreamGroup) Pending(id StreamID) (PendingEntry, bool) {
	return g.pel.Get(PendingEntry{ID: id})
}

// FirstPending and LastPending return the smallest and largest pending
// entries.
func (g *StreamGroup) FirstPending() (PendingEntry, bool) { return g.pel.Min() }

// LastPending returns the largest pending entry.
func (g *StreamGroup) LastPending() (PendingEntry, bool) { return g.pel.Max() }

// AscendPending calls fn for pending entries from ID from on, until fn
// returns false.
func (g *StreamGroup) AscendPending(from StreamID, fn func(PendingEntry) bool) {
	g.pel.Ascend(PendingEntry{ID: from}, fn)
}

// Consumers returns the consumers in name order; the slice must not be
// changed.
func (g *StreamGroup) Consumers() []*StreamConsumer { return g.consumers }

func (g *StreamGroup) consumerIndex(name string) (int, bool) {
	lo, hi := 0, len(g.consumers)
	for lo < hi {
		m := (lo + hi) / 2
		if g.consumers[m].Name < name {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo, lo < len(g.consumers) && g.consumers[lo].Name == name
}

// Consumer returns the consumer named name, or nil.
func (g *StreamGroup) Consumer(name []byte) *StreamConsumer {
	if i, ok := g.consumerIndex(string(name)); ok {
		return g.consumers[i]
	}
	return nil
}

// CreateConsumer adds a consumer seen at now; it returns nil if one has
// that name.
func (g *StreamGroup) CreateConsumer(name []byte, now int64) *StreamConsumer {
	i, ok := g.consumerIndex(string(name))
	if ok {
		return nil
	}
	c := &StreamConsumer{Name: string(name), SeenTime: now, ActiveTime: -1,
		pel: btree.NewBTreeGOptions(lessID, btree.Options{NoLocks: true, Degree: 16})}
	g.consumers = append(g.consumers, nil)
	copy(g.consumers[i+1:], g.consumers[i:])
	g.consumers[i] = c
	return c
}

// DeleteConsumer removes a consumer and its pending entries; it returns
// how many entries it had pending, and false if there was no such
// consumer.
func (g *StreamGroup) DeleteConsumer(name []byte) (int, bool) {
	i, ok := g.consumerIndex(string(name))
	if !ok {
		return 0, false
	}
	c := g.consumers[i]
	n := c.pel.Len()
	c.pel.Scan(func(id StreamID) bool {
		g.pel.Delete(PendingEntry{ID: id})
		return true
	})
	g.consumers = append(g.consumers[:i], g.consumers[i+1:]...)
	return n, true
}

// PendingLen returns the number of entries pending for the consumer.
func (c *StreamConsumer) PendingLen() int { return c.pel.Len() }

// AscendPending calls fn for the consumer's pending IDs from from on,
// until fn returns false.
func (c *StreamConsumer) AscendPending(from StreamID, fn func(StreamID) bool) {
	c.pel.Ascend(from, fn)
}

// Ack removes a pending entry and tells whether it was pending.
func (g *StreamGroup) Ack(id StreamID) bool {
	pe, ok := g.pel.Delete(PendingEntry{ID: id})
	if !ok {
		return false
	}
	if c := g.Consumer([]byte(pe.Consumer)); c != nil {
		c.pel.Delete(id)
	}
	return true
}

// Deliver records that id was delivered to consumer at now: a new pending
// entry, or an existing one moved to consumer with its count reset to 1.
func (g *StreamGroup) Deliver(id StreamID, c *StreamConsumer, now int64) {
	if pe, ok := g.pel.Get(PendingEntry{ID: id}); ok && pe.Consumer != c.Name {
		if old := g.Consumer([]byte(pe.Consumer)); old != nil {
			old.pel.Delete(id)
		}
	}
	g.pel.Set(PendingEntry{ID: id, Consumer: c.Name, DeliveryTime: now, DeliveryCount: 1})
	c.pel.Set(id)
	c.ActiveTime = now
}

// Redeliver updates a pending entry served again from the consumer's
// history: delivery time now, one more delivery.
func (g *StreamGroup) Redeliver(id StreamID, now int64) {
	if pe, ok := g.pel.Get(PendingEntry{ID: id}); ok {
		pe.DeliveryTime = now
		pe.DeliveryCount++
		g.pel.Set(pe)
	}
}

// Claim gives the pending entry pe (which may be new, with an empty
// consumer) to c with the given delivery time and count.
func (g *StreamGroup) Claim(pe PendingEntry, c *StreamConsumer, deliveryTime int64, count uint64) {
	if pe.Consumer != c.Name && pe.Consumer != "" {
		if old := g.Consumer([]byte(pe.Consumer)); old != nil {
			old.pel.Delete(pe.ID)
		}
	}
	if pe.Consumer != c.Name || pe.Consumer == "" {
		c.pel.Set(pe.ID)
	}
	pe.Consumer = c.Name
	pe.DeliveryTime = deliveryTime
	pe.DeliveryCount = count
	g.pel.Set(pe)
}

// ---- loading (snapshots and RDB) ----

// ErrBadStream is returned when serialized stream data is inconsistent.
var ErrBadStream = errors.New("keyspace: bad stream data")

// LoadNode adds a serialized node (a Redis stream listpack) whose master
// ID is master. Nodes must come in ID order. It validates the listpack
// fully: a node that loads is safe to read and change.
func (s *Stream) LoadNode(master StreamID, lp []byte) error {
	if last, ok := s.nodes.Max(); ok && !last.master.Less(master) {
		return ErrBadStream
	}
	live, _, err := validateNode(master, lp)
	if err != nil {
		return err
	}
	if prev, ok := s.lastNodeEntry(); ok && !prev.Less(master) {
		return ErrBadStream
	}
	lp = append(make([]byte, 0, len(lp)), lp...)
	s.nodes.Set(&streamNode{master: master, lp: lp, owner: s.token})
	s.lpBytes += len(lp)
	s.length += uint64(live)
	return nil
}

func (s *Stream) lastNodeEntry() (StreamID, bool) {
	n, ok := s.nodes.Max()
	if !ok {
		return StreamID{}, false
	}
	var id StreamID
	eachEntry(n, func(e *nodeEntry, _ int) bool { id = e.id; return true })
	return id, true
}

// validateNode checks a node's listpack and its stream structure and
// returns its live entry count and last entry ID.
func validateNode(master StreamID, lp []byte) (int64, StreamID, error) {
	bad := func() (int64, StreamID, error) { return 0, StreamID{}, ErrBadStream }
	if len(lp) < lpHdrSize+1 || int(uint32(lp[0])|uint32(lp[1])<<8|uint32(lp[2])<<16|uint32(lp[3])<<24) != len(lp) || lp[len(lp)-1] != lpEOFByte {
		return bad()
	}
	end := len(lp) - 1
	p := lpHdrSize
	elems := 0
	next := func() (int, bool) {
		q := lpCheckElem(lp, p, end)
		if q < 0 {
			return 0, false
		}
		at := p
		p = q
		elems++
		return at, true
	}
	intAt := func() (int64, bool) {
		at, ok := next()
		if !ok {
			return 0, false
		}
		v, s, isInt, _ := lpElem(lp, at)
		if !isInt {
			var ok bool
			if v, ok = lpStringToInt64(s); !ok {
				return 0, false
			}
		}
		return v, true
	}
	count, ok1 := intAt()
	deleted, ok2 := intAt()
	nf, ok3 := intAt()
	if !ok1 || !ok2 || !ok3 || count < 0 || deleted < 0 || nf < 0 || nf > int64(len(lp)) {
		return bad()
	}
	for i := int64(0); i < nf; i++ {
		if _, ok := next(); !ok {
			return bad()
		}
	}
	if z, ok := intAt(); !ok || z != 0 {
		return bad()
	}
	total := count + deleted
	if total <= 0 || total > int64(len(lp)) {
		return bad()
	}
	var live int64
	prev := StreamID{}
	for i := int64(0); i < total; i++ {
		flags, ok := intAt()
		if !ok || flags < 0 || flags > 3 {
			return bad()
		}
		dms, ok1 := intAt()
		dseq, ok2 := intAt()
		if !ok1 || !ok2 {
			return bad()
		}
		id := StreamID{master.Ms + uint64(dms), master.Seq + uint64(dseq)}
		if id.Less(master) || (i > 0 && !prev.Less(id)) {
			return bad()
		}
		prev = id
		fields := nf
		elemsInEntry := int64(3)
		if flags&streamFlagSameFields == 0 {
			var ok bool
			if fields, ok = intAt(); !ok || fields < 0 || fields > int64(len(lp)) {
				return bad()
			}
			elemsInEntry += 1 + 2*fields
			for j := int64(0); j < 2*fields; j++ {
				if _, ok := next(); !ok {
					return bad()
				}
			}
		} else {
			elemsInEntry += fields
			for j := int64(0); j < fields; j++ {
				if _, ok := next(); !ok {
					return bad()
				}
			}
		}
		if lc, ok := intAt(); !ok || lc != elemsInEntry {
			return bad()
		}
		if flags&streamFlagDeleted == 0 {
			live++
		}
	}
	if p != end || live != count {
		return bad()
	}
	if n := lpNumele(lp); n != lpNumeleUnknown && n != elems {
		return bad()
	}
	return live, prev, nil
}

// LoadPending adds a pending entry whose consumer is assigned later by
// LoadConsumerPending.
func (g *StreamGroup) LoadPending(id StreamID, deliveryTime int64, count uint64) error {
	if _, ok := g.pel.Get(PendingEntry{ID: id}); ok {
		return ErrBadStream
	}
	g.pel.Set(PendingEntry{ID: id, DeliveryTime: deliveryTime, DeliveryCount: count})
	return nil
}

// LoadConsumerPending assigns the pending entry id to c.
func (g *StreamGroup) LoadConsumerPending(c *StreamConsumer, id StreamID) error {
	pe, ok := g.pel.Get(PendingEntry{ID: id})
	if !ok || pe.Consumer != "" {
		return ErrBadStream
	}
	pe.Consumer = c.Name
	g.pel.Set(pe)
	c.pel.Set(id)
	return nil
}

// CheckLoaded verifies a loaded stream: the length and last ID agree with
// the nodes and every pending entry has a consumer.
func (s *Stream) CheckLoaded(length uint64) error {
	if length != s.length {
		return ErrBadStream
	}
	if last, ok := s.lastNodeEntry(); ok && s.LastID.Less(last) {
		return ErrBadStream
	}
	for _, g := range s.groups {
		bad := false
		g.pel.Scan(func(pe PendingEntry) bool {
			bad = pe.Consumer == ""
			return !bad
		})
		if bad {
			return ErrBadStream
		}
	}
	return nil
}

// EachNode calls fn with every node's master ID and listpack bytes, in
// order (for serializers; lp must not be changed).
func (s *Stream) EachNode(fn func(master StreamID, lp []byte) bool) {
	s.nodes.Scan(func(n *streamNode) bool { return fn(n.master, n.lp) })
}

// Verify checks the stream's invariants (for tests): every node is a valid
// stream listpack, IDs increase across nodes, the length and first ID
// agree with the entries, and the group and consumer pending lists agree.
func (s *Stream) Verify() error {
	var total uint64
	var prev StreamID
	first := true
	var err error
	s.nodes.Scan(func(n *streamNode) bool {
		live, last, e := validateNode(n.master, n.lp)
		if e != nil || (!first && !prev.Less(n.master)) {
			err = ErrBadStream
			return false
		}
		total += uint64(live)
		prev, first = last, false
		return true
	})
	if err != nil {
		return err
	}
	if total != s.length {
		return errors.New("stream length does not match its entries")
	}
	if !first && s.LastID.Less(prev) {
		return errors.New("stream last ID below its last entry")
	}
	if fid, ok := s.FirstEntryID(); ok && fid != s.FirstID {
		return errors.New("stream first ID does not match its first entry")
	}
	for i, g := range s.groups {
		if i > 0 && s.groups[i-1].Name >= g.Name {
			return errors.New("groups out of order")
		}
		n := 0
		for j, c := range g.consumers {
			if j > 0 && g.consumers[j-1].Name >= c.Name {
				return errors.New("consumers out of order")
			}
			n += c.pel.Len()
			c.pel.Scan(func(id StreamID) bool {
				pe, ok := g.pel.Get(PendingEntry{ID: id})
				if !ok || pe.Consumer != c.Name {
					err = errors.New("consumer pending entry missing from its group")
				}
				return err == nil
			})
			if err != nil {
				return err
			}
		}
		if n != g.pel.Len() {
			return errors.New("group pending entries without a consumer")
		}
	}
	return nil
}
