package vector

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"unsafe"

	"github.com/cespare/xxhash/v2"
)

// ErrDim is returned when a vector's length is not the index dimension.
var ErrDim = errors.New("vector: wrong vector dimension")

// Slot states.
const (
	slotEmpty  uint8 = iota // free; on the free list
	slotLive                // a key's current vector
	slotTomb                // deleted HNSW node still used for navigation
	slotDoomed              // tombstone that the running sweep will free
)

// pageBits sets the page size of the node store: 128 nodes a page.
const (
	pageBits = 7
	pageSize = 1 << pageBits
	pageMask = pageSize - 1
)

// maxLevels bounds a node's level: levels are capped at maxLevels-1 (a key
// reaches level l with probability M^-l, so the cap matters only for tiny
// M and astronomically many keys); the bound keeps the codec's checks
// simple.
const maxLevels = 16

// node is one slot of the store. Its vector lives in its page's vector
// block (see Index.stored), and its level-0 neighbour list in the page's
// l0 block; up holds the lists of levels 1..level (deep-copied by a page
// clone because they change in place). Use Index.list and Index.setList,
// not the fields.
type node struct {
	key   string
	up    [][]uint32 // up[l-1] is the level-l list, l in 1..level (HNSW only)
	state uint8
	level uint8
}

// page is a fixed-size block of slots. gen is the store generation that
// owns it: a page whose gen is older than the index's gen is shared with a
// snapshot and must be cloned before it is written. The page's vectors
// live in one block (pageSize*dim float32, allocated with the first
// vector), which keeps a search's memory accesses close together. A clone
// shares the block (vecsShared) and copies it only when a vector is
// written into the page, which after a snapshot is rare: new vectors go to
// the last page or to slots a vacuum freed.
//
// For HNSW the level-0 neighbour lists of the page's slots live in one
// block too (l0: per slot a count and 2*M ids), so a search hop reads one
// place instead of chasing two slice headers; a clone copies it.
//
// A quantized index keeps, instead of vecs, q8 (pageSize*dim int8s) and
// q8r (a range a slot) for Q8, or bin (pageSize*binWords(dim) words) for
// BIN; vecsShared covers whichever blocks the page has.
type page struct {
	gen        uint64
	vecs       []float32
	q8         []int8
	q8r        []float32
	bin        []uint64
	vecsShared bool
	l0         []uint32
	nodes      [pageSize]node
}

// Index is a FLAT or HNSW vector index keyed by string.
//
// Locking contract: an Index is safe for one writer and any number of
// concurrent readers. Mutations (Set, SetBlob, Delete, Vacuum, Snapshot)
// take the internal write lock; queries (Search, Range, Has, Len, Digest,
// MemSize, Vector) take the read lock. The state machine calls mutations
// from its apply goroutine only; calling them from several goroutines is
// also safe but serialised. A Snapshot, once taken, needs no lock at all.
type Index struct {
	mu   sync.RWMutex
	cfg  Config
	dist func(a, b []float32) float32

	pages     []*page
	n         uint32 // slots in use (high-water mark)
	gen       uint64 // current generation; snapshots bump it
	dirShared bool   // pages slice is shared with a snapshot
	free      []uint32
	freeShr   bool // free slice is shared with a snapshot
	keys      map[string]uint32
	live      int
	tombs     int    // slotTomb nodes
	doomed    int    // slotDoomed nodes
	sweeping  bool   // a sweep is running (see hnsw.go)
	cursor    uint32 // the sweep's next slot
	entry     uint32
	hasEntry  bool
	maxLevel  int

	visited sync.Pool // *visitSet
}

// New returns an empty index for cfg (defaults applied).
func New(cfg Config) (*Index, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	return &Index{
		cfg:  cfg,
		dist: distFunc(cfg.Metric),
		gen:  nextGen(),
		keys: make(map[string]uint32),
	}, nil
}

// Config returns the index configuration with defaults applied.
func (ix *Index) Config() Config { return ix.cfg }

// Len returns the number of keys in the index.
func (ix *Index) Len() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.live
}

// Has reports whether key is in the index.
func (ix *Index) Has(key string) bool {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	_, ok := ix.keys[key]
	return ok
}

// Vector returns a copy of key's stored vector (normalised for Cosine);
// for a quantized index the dequantized vector: q·r/127 for Q8, ±1 for
// BIN.
func (ix *Index) Vector(key string) ([]float32, bool) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	id, ok := ix.keys[key]
	if !ok {
		return nil, false
	}
	v := ix.stored(id)
	switch ix.cfg.Quant {
	case QuantQ8:
		return dequantQ8(v.q, v.r), true
	case QuantBin:
		return dequantBin(v.b, ix.cfg.Dim), true
	}
	return append([]float32(nil), v.f...), true
}

// Quantized returns key's vector as stored: the float32s (QuantNone), the
// int8s as bytes and the range (Q8), or the bit words (BIN).
func (ix *Index) Quantized(key string) (f []float32, q []int8, r float32, b []uint64, ok bool) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	id, ok := ix.keys[key]
	if !ok {
		return nil, nil, 0, nil, false
	}
	v := ix.stored(id)
	return append([]float32(nil), v.f...), append([]int8(nil), v.q...), v.r, append([]uint64(nil), v.b...), true
}

// stored returns slot id's vector in stored form; the slices alias the
// page (read only).
func (ix *Index) stored(id uint32) qvec {
	return pageVec(ix.pages[id>>pageBits], int(id&pageMask), &ix.cfg)
}

// pageVec returns slot i of page p in stored form.
func pageVec(p *page, i int, cfg *Config) qvec {
	d := cfg.Dim
	switch cfg.Quant {
	case QuantQ8:
		return qvec{q: p.q8[i*d : (i+1)*d : (i+1)*d], r: p.q8r[i]}
	case QuantBin:
		w := binWords(d)
		return qvec{b: p.bin[i*w : (i+1)*w : (i+1)*w]}
	}
	return qvec{f: p.vecs[i*d : (i+1)*d : (i+1)*d]}
}

// distTo returns the distance between q (in stored form) and slot id.
func (ix *Index) distTo(q *qvec, id uint32) float32 {
	p := ix.pages[id>>pageBits]
	i := int(id & pageMask)
	d := ix.cfg.Dim
	switch ix.cfg.Quant {
	case QuantQ8:
		return distQ8(q.q, p.q8[i*d:(i+1)*d], q.r, p.q8r[i])
	case QuantBin:
		w := binWords(d)
		return distBin(q.b, p.bin[i*w:(i+1)*w], d)
	}
	return ix.dist(q.f, p.vecs[i*d:(i+1)*d])
}

// prefetch hints the CPU to start loading slot id's stored vector, so
// that a distance computed soon after finds it in cache. A hint only.
func (ix *Index) prefetch(id uint32) {
	p := ix.pages[id>>pageBits]
	i := int(id & pageMask)
	d := ix.cfg.Dim
	switch ix.cfg.Quant {
	case QuantQ8:
		prefetchLines(unsafe.Pointer(unsafe.SliceData(p.q8[i*d:])), (d+127)/64)
	case QuantBin:
		w := binWords(d)
		prefetchLines(unsafe.Pointer(unsafe.SliceData(p.bin[i*w:])), (8*w+127)/64)
	default:
		prefetchLines(unsafe.Pointer(unsafe.SliceData(p.vecs[i*d:])), (4*d+127)/64)
	}
}

// distIDs returns the distance between slots a and b.
func (ix *Index) distIDs(a, b uint32) float32 {
	q := ix.stored(a)
	return ix.distTo(&q, b)
}

// node returns slot id for reading.
func (ix *Index) node(id uint32) *node {
	return &ix.pages[id>>pageBits].nodes[id&pageMask]
}

// mut returns slot id for writing, first copying whatever the slot shares
// with a snapshot: the page directory and the page itself.
func (ix *Index) mut(id uint32) *node {
	if ix.dirShared {
		ix.pages = append([]*page(nil), ix.pages...)
		ix.dirShared = false
	}
	p := ix.pages[id>>pageBits]
	if p.gen != ix.gen {
		c := &page{gen: ix.gen, vecs: p.vecs, q8: p.q8, q8r: p.q8r, bin: p.bin,
			vecsShared: p.vecs != nil || p.q8 != nil || p.bin != nil, nodes: p.nodes}
		if p.l0 != nil {
			c.l0 = append([]uint32(nil), p.l0...)
		}
		for i := range c.nodes {
			nd := &c.nodes[i]
			if nd.up == nil {
				continue
			}
			up := make([][]uint32, len(nd.up))
			for l, ls := range nd.up {
				up[l] = append(make([]uint32, 0, cap(ls)), ls...)
			}
			nd.up = up
		}
		ix.pages[id>>pageBits] = c
		p = c
	}
	return &p.nodes[id&pageMask]
}

// l0Stride is the size of one slot's level-0 record: a count and 2*M ids.
func (ix *Index) l0Stride() int { return 2*ix.cfg.M + 1 }

// list returns slot id's level-l neighbour list (read only: it may alias
// the page's level-0 block).
func (ix *Index) list(id uint32, l int) []uint32 {
	if l == 0 {
		p := ix.pages[id>>pageBits]
		off := int(id&pageMask) * ix.l0Stride()
		return p.l0[off+1 : off+1+int(p.l0[off])]
	}
	return ix.node(id).up[l-1]
}

// setList replaces slot id's level-l list with a copy of ls (at most
// maxLinks(l) ids). The slot must have been returned by mut.
func (ix *Index) setList(id uint32, l int, ls []uint32) {
	if l == 0 {
		p := ix.pages[id>>pageBits]
		if p.l0 == nil {
			p.l0 = make([]uint32, pageSize*ix.l0Stride())
		}
		off := int(id&pageMask) * ix.l0Stride()
		copy(p.l0[off+1:off+ix.l0Stride()], ls)
		p.l0[off] = uint32(len(ls))
		return
	}
	nd := &ix.pages[id>>pageBits].nodes[id&pageMask]
	nd.up[l-1] = append(nd.up[l-1][:0], ls...)
}

// appendList appends x to slot id's level-l list, which must have room.
// The slot must have been returned by mut.
func (ix *Index) appendList(id uint32, l int, x uint32) {
	if l == 0 {
		p := ix.pages[id>>pageBits]
		off := int(id&pageMask) * ix.l0Stride()
		n := p.l0[off]
		p.l0[off+1+int(n)] = x
		p.l0[off] = n + 1
		return
	}
	nd := &ix.pages[id>>pageBits].nodes[id&pageMask]
	nd.up[l-1] = append(nd.up[l-1], x)
}

// setVec copies v (in stored form) into slot id's place in its page's
// vector block. The slot must have been returned by mut.
func (ix *Index) setVec(id uint32, v *qvec) {
	p := ix.pages[id>>pageBits]
	dim := ix.cfg.Dim
	i := int(id & pageMask)
	if p.vecsShared {
		p.vecs = slicesClone(p.vecs)
		p.q8 = slicesClone(p.q8)
		p.q8r = slicesClone(p.q8r)
		p.bin = slicesClone(p.bin)
		p.vecsShared = false
	}
	switch ix.cfg.Quant {
	case QuantQ8:
		if p.q8 == nil {
			p.q8 = make([]int8, pageSize*dim)
			p.q8r = make([]float32, pageSize)
		}
		copy(p.q8[i*dim:(i+1)*dim], v.q)
		p.q8r[i] = v.r
	case QuantBin:
		w := binWords(dim)
		if p.bin == nil {
			p.bin = make([]uint64, pageSize*w)
		}
		copy(p.bin[i*w:(i+1)*w], v.b)
	default:
		if p.vecs == nil {
			p.vecs = make([]float32, pageSize*dim)
		}
		copy(p.vecs[i*dim:(i+1)*dim], v.f)
	}
}

// slicesClone copies s (nil stays nil).
func slicesClone[T any](s []T) []T {
	if s == nil {
		return nil
	}
	return append([]T(nil), s...)
}

// alloc returns a free slot: the most recently freed one (the free list is
// kept so that this is deterministic), or a new one at the end.
func (ix *Index) alloc() uint32 {
	if len(ix.free) > 0 {
		if ix.freeShr {
			ix.free = append([]uint32(nil), ix.free...)
			ix.freeShr = false
		}
		id := ix.free[len(ix.free)-1]
		ix.free = ix.free[:len(ix.free)-1]
		return id
	}
	id := ix.n
	if int(id>>pageBits) == len(ix.pages) {
		if ix.dirShared {
			ix.pages = append([]*page(nil), ix.pages...)
			ix.dirShared = false
		}
		ix.pages = append(ix.pages, &page{gen: ix.gen})
	}
	ix.n++
	return id
}

// prepare checks v's dimension and returns the vector as the index stores
// it (a copy; normalised for Cosine; quantized for Q8 and BIN).
func (ix *Index) prepare(v []float32) (*qvec, error) {
	if len(v) != ix.cfg.Dim {
		return nil, fmt.Errorf("%w: got %d, want %d", ErrDim, len(v), ix.cfg.Dim)
	}
	switch ix.cfg.Quant {
	case QuantQ8:
		q := &qvec{q: make([]int8, len(v))}
		q.r = quantizeQ8(v, q.q)
		return q, nil
	case QuantBin:
		q := &qvec{b: make([]uint64, binWords(len(v)))}
		quantizeBin(v, q.b)
		return q, nil
	}
	if ix.cfg.Metric == Cosine {
		return &qvec{f: normalize(v)}, nil
	}
	return &qvec{f: append([]float32(nil), v...)}, nil
}

// SetBlob decodes blob with the index's element type and sets key to it.
// A blob of the wrong size returns an error wrapping ErrBlobSize and leaves
// the index unchanged (the key's previous vector, if any, is removed so the
// index never serves a stale vector for a hash whose field changed).
func (ix *Index) SetBlob(key string, blob []byte) error {
	v, err := Decode(ix.cfg.Type, blob, ix.cfg.Dim)
	if err != nil {
		ix.Delete(key)
		return err
	}
	return ix.Set(key, v)
}

// Set adds key with vector v, or replaces key's vector. Setting the vector
// a key already has is a no-op.
func (ix *Index) Set(key string, v []float32) error { return ix.SetEF(key, v, 0) }

// SetEF is Set with the insert's candidate-list size ef instead of
// EF_CONSTRUCTION (0 means EF_CONSTRUCTION): VADD ... EF sets it per
// element.
func (ix *Index) SetEF(key string, v []float32, ef int) error {
	vec, err := ix.prepare(v)
	if err != nil {
		return err
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if id, ok := ix.keys[key]; ok {
		if cur := ix.stored(id); equalBits(cur.f, vec.f) && slices.Equal(cur.q, vec.q) &&
			math.Float32bits(cur.r) == math.Float32bits(vec.r) && slices.Equal(cur.b, vec.b) {
			return nil
		}
		ix.remove(id)
	}
	id := ix.alloc()
	nd := ix.mut(id)
	*nd = node{key: key, state: slotLive}
	ix.setVec(id, vec)
	ix.keys[key] = id
	ix.live++
	if ix.cfg.Algorithm == HNSW {
		nd.level = uint8(ix.levelOf(key))
		if ef <= 0 {
			ef = ix.cfg.EFConstruction
		}
		ix.insert(id, ef)
	}
	ix.maybeVacuum()
	return nil
}

// equalBits reports whether a and b are bit-identical.
func equalBits(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] && !(a[i] != a[i] && b[i] != b[i]) {
			return false
		}
	}
	return true
}

// Delete removes key; it reports whether key was present.
func (ix *Index) Delete(key string) bool {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	id, ok := ix.keys[key]
	if !ok {
		return false
	}
	ix.remove(id)
	ix.maybeVacuum()
	return true
}

// remove takes live slot id out of the key map: a FLAT slot is freed at
// once, an HNSW node becomes a tombstone that still routes searches but is
// never returned, until the next vacuum repairs its neighbours and frees it.
func (ix *Index) remove(id uint32) {
	nd := ix.mut(id)
	delete(ix.keys, nd.key)
	ix.live--
	if ix.cfg.Algorithm == FLAT {
		*nd = node{}
		ix.pushFree(id)
		return
	}
	nd.state = slotTomb
	ix.tombs++
	if ix.live == 0 {
		// Nothing left to route to: free everything now, so that the
		// next key starts a fresh graph instead of hanging off tombstones.
		ix.vacuum()
	}
}

// pushFree puts id on the free list.
func (ix *Index) pushFree(id uint32) {
	if ix.freeShr {
		ix.free = append([]uint32(nil), ix.free...)
		ix.freeShr = false
	}
	ix.free = append(ix.free, id)
}

// levelOf returns key's HNSW level: the number of successive draws, from a
// hash chain seeded by (Config.Seed, key), that fall below 2^64/M. A key
// thus reaches level l with probability M^-l, the distribution of the HNSW
// paper with mL = 1/ln(M), in integer arithmetic only.
func (ix *Index) levelOf(key string) int {
	h := xxhash.Sum64String(key) ^ splitmix(ix.cfg.Seed)
	limit := ^uint64(0) / uint64(ix.cfg.M)
	l := 0
	for l < maxLevels-1 {
		h = splitmix(h)
		if h >= limit {
			break
		}
		l++
	}
	return l
}

// splitmix is the SplitMix64 finaliser.
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// vacuumMin and vacuumRatio decide when a sweep of the tombstones starts:
// once they number at least vacuumMin and more than 1/vacuumRatio of all
// nodes.
const (
	vacuumMin   = 64
	vacuumRatio = 10
)

// maybeVacuum advances the running sweep by one step, or starts one when
// tombstones pass the threshold. It runs after every mutation and depends
// only on counts, so every replica sweeps at the same log indexes.
func (ix *Index) maybeVacuum() {
	if ix.cfg.Algorithm != HNSW {
		return
	}
	if !ix.sweeping && ix.tombs >= vacuumMin && ix.tombs*vacuumRatio > ix.live+ix.tombs+ix.doomed {
		ix.startSweep()
	}
	if ix.sweeping {
		ix.sweepStep(sweepRepairs, sweepScan)
	}
}

// Vacuum finishes the cleanup of deleted nodes now: it repairs the
// neighbour lists that point at them and frees their slots. The index
// does this by itself, a little on every write, once deleted nodes pass
// 10% of the graph; Vacuum is for tests and for an explicit compaction.
func (ix *Index) Vacuum() {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.vacuum()
}

// Digest returns a hash of the index's whole state: configuration, entry
// point, every slot (state, key, level, vector bits, neighbour lists) and
// the free list. Two replicas that applied the same operations have the
// same Digest.
func (ix *Index) Digest() uint64 {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.view().digest()
}

// MemSize returns an estimate of the bytes the index holds: vectors, keys,
// neighbour lists, slot headers, the key map and the free list.
func (ix *Index) MemSize() int64 {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	const nodeHdr = 16 + 24 + 8 // key, up headers, state+level
	size := int64(len(ix.pages)) * (pageSize*nodeHdr + 8)
	for _, p := range ix.pages {
		size += int64(cap(p.vecs))*4 + int64(cap(p.l0))*4 +
			int64(cap(p.q8)) + int64(cap(p.q8r))*4 + int64(cap(p.bin))*8
	}
	for id := uint32(0); id < ix.n; id++ {
		nd := ix.node(id)
		if nd.state == slotEmpty {
			continue
		}
		size += int64(len(nd.key))
		for _, ls := range nd.up {
			size += 24 + int64(cap(ls))*4
		}
	}
	// Go map: roughly key header + value + overhead per entry.
	size += int64(len(ix.keys))*(16+4+12) + int64(cap(ix.free))*4
	return size
}
