package vector

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"math"

	"github.com/cespare/xxhash/v2"
)

// Snapshot is a frozen view of an Index at the moment Snapshot was called.
// Taking it is O(1): it shares the index's pages, and the index copies a
// page (and its page directory and free list) the first time it writes it
// afterwards. A Snapshot is immutable and needs no lock; it may be written
// from another goroutine while the index keeps changing.
type Snapshot struct {
	cfg      Config
	pages    []*page
	n        uint32
	free     []uint32
	live     int
	tombs    int
	doomed   int
	sweeping bool
	cursor   uint32
	entry    uint32
	hasEntry bool
	maxLevel int
}

// view returns the current state as a Snapshot without marking it shared;
// the caller must hold the lock for as long as it uses the view.
func (ix *Index) view() *Snapshot {
	return &Snapshot{
		cfg: ix.cfg, pages: ix.pages, n: ix.n, free: ix.free,
		live: ix.live, tombs: ix.tombs, doomed: ix.doomed,
		sweeping: ix.sweeping, cursor: ix.cursor,
		entry: ix.entry, hasEntry: ix.hasEntry, maxLevel: ix.maxLevel,
	}
}

// Snapshot freezes the index's current state in O(1).
func (ix *Index) Snapshot() *Snapshot {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	s := ix.view()
	ix.gen = nextGen()
	ix.dirShared, ix.freeShr = true, true
	return s
}

// Len returns the number of keys in the snapshot.
func (s *Snapshot) Len() int { return s.live }

// node returns slot id of the snapshot.
func (s *Snapshot) node(id uint32) *node {
	return &s.pages[id>>pageBits].nodes[id&pageMask]
}

// list returns slot id's level-l list in the snapshot.
func (s *Snapshot) list(id uint32, l int) []uint32 {
	if l == 0 {
		p := s.pages[id>>pageBits]
		stride := 2*s.cfg.M + 1
		off := int(id&pageMask) * stride
		return p.l0[off+1 : off+1+int(p.l0[off])]
	}
	return s.node(id).up[l-1]
}

// Digest returns the digest the index had when the snapshot was taken.
func (s *Snapshot) Digest() uint64 { return s.digest() }

// digest hashes the state in the codec's order (see Index.Digest).
func (s *Snapshot) digest() uint64 {
	h := xxhash.New()
	w := bufio.NewWriterSize(h, 64<<10)
	s.encodeBody(w)
	w.Flush()
	return h.Sum64()
}

// Codec format, versions 1 and 2 (all integers little endian):
//
//	magic    "CAIRNVEC"
//	version  uint32 (1)
//	config   algorithm u8, metric u8, type u8, quant u8 (0 in version 1),
//	         dim u32, M u32,
//	         efConstruction u32, efRuntime u32, epsilon f64 bits,
//	         initialCap u32, blockSize u32, seed u64
//	graph    n u32 (slots), hasEntry u8, entry u32, maxLevel u32,
//	         sweeping u8, cursor u32
//	slots    n times: state u8 (0 empty, 1 live, 2 tombstone, 3 doomed by
//	         the running sweep); unless empty: level u8, key length uvarint,
//	         key bytes, the vector (QuantNone: dim x f32 bits; Q8: range
//	         f32 bits, dim x int8; BIN: binWords(dim) x u64), and for
//	         HNSW per level 0..level:
//	         count uvarint, count x neighbour id uvarint
//	free     count uvarint, count x slot id uvarint
//	checksum u64: xxhash64 of every byte before it
//
// Version 2 is version 1 with a non-zero quant byte and quantized
// vectors; an unquantized index is still written as version 1 (the same
// bytes as before quantization existed), a quantized one as version 2.
// A reader that meets another magic or a newer version returns an error.
const (
	codecMagic   = "CAIRNVEC"
	codecVersion = 2
)

// codecVersion is the version an index of config c is written as.
func (c Config) codecVersion() uint32 {
	if c.Quant == QuantNone {
		return 1
	}
	return 2
}

// vector reads one stored vector of cfg's form.
func (r *reader) vector(cfg *Config) *qvec {
	switch cfg.Quant {
	case QuantQ8:
		v := &qvec{r: math.Float32frombits(r.u32())}
		b := r.bytes(cfg.Dim)
		if r.err != nil {
			return nil
		}
		if !(v.r >= 0) || math.IsInf(float64(v.r), 0) {
			r.fail("bad Q8 range")
			return nil
		}
		v.q = make([]int8, cfg.Dim)
		for i, x := range b {
			v.q[i] = int8(x)
		}
		return v
	case QuantBin:
		v := &qvec{b: make([]uint64, binWords(cfg.Dim))}
		for i := range v.b {
			v.b[i] = r.u64()
		}
		if r.err == nil && cfg.Dim%64 != 0 && v.b[len(v.b)-1]>>(cfg.Dim%64) != 0 {
			r.fail("BIN vector has bits past the dimension")
		}
		return v
	}
	vb := r.bytes(4 * cfg.Dim)
	if r.err != nil {
		return nil
	}
	v := &qvec{f: make([]float32, cfg.Dim)}
	for i := range v.f {
		v.f[i] = math.Float32frombits(binary.LittleEndian.Uint32(vb[4*i:]))
	}
	return v
}

// ErrCodec is wrapped by every error Load returns for bad input.
var ErrCodec = errors.New("vector: bad index snapshot")

// ErrVersion is returned by Load for a snapshot format it does not know.
var ErrVersion = errors.New("vector: unknown index snapshot version")

// WriteTo writes the snapshot in the codec format. It implements
// io.WriterTo.
func (s *Snapshot) WriteTo(w io.Writer) (int64, error) {
	cw := &countWriter{w: w}
	h := xxhash.New()
	bw := bufio.NewWriterSize(io.MultiWriter(cw, h), 64<<10)
	bw.WriteString(codecMagic)
	putU32(bw, s.cfg.codecVersion())
	s.encodeBody(bw)
	if err := bw.Flush(); err != nil {
		return cw.n, fmt.Errorf("write index snapshot: %w", err)
	}
	var sum [8]byte
	binary.LittleEndian.PutUint64(sum[:], h.Sum64())
	if _, err := cw.Write(sum[:]); err != nil {
		return cw.n, fmt.Errorf("write index snapshot: %w", err)
	}
	return cw.n, nil
}

// countWriter counts the bytes written through it.
type countWriter struct {
	w io.Writer
	n int64
}

// Write writes p to the underlying writer and counts the bytes.
func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func putU32(w *bufio.Writer, x uint32) {
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], x)
	w.Write(b[:])
}

func putU64(w *bufio.Writer, x uint64) {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], x)
	w.Write(b[:])
}

func putUvarint(w *bufio.Writer, x uint64) {
	var b [binary.MaxVarintLen64]byte
	w.Write(b[:binary.PutUvarint(b[:], x)])
}

// encodeBody writes everything after the version: config, graph, slots,
// free list. The digest hashes the same bytes.
func (s *Snapshot) encodeBody(w *bufio.Writer) {
	c := s.cfg
	w.Write([]byte{byte(c.Algorithm), byte(c.Metric), byte(c.Type), byte(c.Quant)})
	putU32(w, uint32(c.Dim))
	putU32(w, uint32(c.M))
	putU32(w, uint32(c.EFConstruction))
	putU32(w, uint32(c.EFRuntime))
	putU64(w, math.Float64bits(c.Epsilon))
	putU32(w, uint32(c.InitialCap))
	putU32(w, uint32(c.BlockSize))
	putU64(w, c.Seed)
	putU32(w, s.n)
	if s.hasEntry {
		w.WriteByte(1)
	} else {
		w.WriteByte(0)
	}
	putU32(w, s.entry)
	putU32(w, uint32(s.maxLevel))
	if s.sweeping {
		w.WriteByte(1)
	} else {
		w.WriteByte(0)
	}
	putU32(w, s.cursor)
	for id := uint32(0); id < s.n; id++ {
		nd := s.node(id)
		w.WriteByte(nd.state)
		if nd.state == slotEmpty {
			continue
		}
		w.WriteByte(nd.level)
		putUvarint(w, uint64(len(nd.key)))
		w.WriteString(nd.key)
		v := pageVec(s.pages[id>>pageBits], int(id&pageMask), &s.cfg)
		switch c.Quant {
		case QuantQ8:
			putU32(w, math.Float32bits(v.r))
			for _, x := range v.q {
				w.WriteByte(byte(x))
			}
		case QuantBin:
			for _, x := range v.b {
				putU64(w, x)
			}
		default:
			for _, x := range v.f {
				putU32(w, math.Float32bits(x))
			}
		}
		if c.Algorithm == HNSW {
			for l := 0; l <= int(nd.level); l++ {
				ls := s.list(id, l)
				putUvarint(w, uint64(len(ls)))
				for _, x := range ls {
					putUvarint(w, uint64(x))
				}
			}
		}
	}
	putUvarint(w, uint64(len(s.free)))
	for _, x := range s.free {
		putUvarint(w, uint64(x))
	}
}

// reader reads the codec, hashing what it reads.
type reader struct {
	r   *bufio.Reader
	h   hash.Hash64
	err error
	buf [8]byte
}

func (r *reader) fail(format string, a ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: "+format, append([]any{ErrCodec}, a...)...)
	}
}

// bytes reads n bytes. Up to 8 bytes come back in r's scratch buffer,
// valid only until the next read.
func (r *reader) bytes(n int) []byte {
	if r.err != nil {
		return nil
	}
	var b []byte
	if n <= len(r.buf) {
		b = r.buf[:n]
		if _, err := io.ReadFull(r.r, b); err != nil {
			r.fail("truncated: %v", err)
			return nil
		}
	} else {
		// Grow with the data, so a bad length cannot force a huge allocation.
		var bb bytes.Buffer
		if m, err := io.CopyN(&bb, r.r, int64(n)); err != nil || m != int64(n) {
			r.fail("truncated: %v", err)
			return nil
		}
		b = bb.Bytes()
	}
	r.h.Write(b)
	return b
}

func (r *reader) u8() uint8 {
	if b := r.bytes(1); b != nil {
		return b[0]
	}
	return 0
}

func (r *reader) u32() uint32 {
	if b := r.bytes(4); b != nil {
		return binary.LittleEndian.Uint32(b)
	}
	return 0
}

func (r *reader) u64() uint64 {
	if b := r.bytes(8); b != nil {
		return binary.LittleEndian.Uint64(b)
	}
	return 0
}

func (r *reader) uvarint(max uint64) uint64 {
	if r.err != nil {
		return 0
	}
	var x uint64
	var s uint
	for i := 0; i < binary.MaxVarintLen64; i++ {
		b := r.u8()
		if r.err != nil {
			return 0
		}
		if b < 0x80 {
			if (i == binary.MaxVarintLen64-1 && b > 1) || (i > 0 && b == 0) {
				break // overflow, or not the minimal encoding
			}
			x |= uint64(b) << s
			if x > max {
				r.fail("value %d over limit %d", x, max)
				return 0
			}
			return x
		}
		x |= uint64(b&0x7f) << s
		s += 7
	}
	r.fail("bad varint")
	return 0
}

// maxKeyLen bounds a key in a snapshot (Redis's own key limit).
const maxKeyLen = 512 << 20

// Load reads an index written by Snapshot.WriteTo and returns it with the
// identical graph (no rebuild). Bad, truncated or corrupted input returns
// an error wrapping ErrCodec (or ErrVersion), never a panic.
func Load(src io.Reader) (*Index, error) {
	r := &reader{r: bufio.NewReaderSize(src, 64<<10), h: xxhash.New()}
	if m := r.bytes(len(codecMagic)); r.err == nil && string(m) != codecMagic {
		r.fail("bad magic %q", m)
	}
	version := r.u32()
	if r.err == nil && (version < 1 || version > codecVersion) {
		return nil, fmt.Errorf("%w: %d (this build reads 1 to %d)", ErrVersion, version, codecVersion)
	}
	var cfg Config
	var hdr [4]byte
	copy(hdr[:], r.bytes(4)) // r.bytes may return r's scratch buffer
	if r.err != nil {
		return nil, r.err
	}
	cfg.Algorithm, cfg.Metric, cfg.Type, cfg.Quant = Algorithm(hdr[0]), Metric(hdr[1]), ElemType(hdr[2]), Quant(hdr[3])
	cfg.Dim = int(r.u32())
	cfg.M = int(r.u32())
	cfg.EFConstruction = int(r.u32())
	cfg.EFRuntime = int(r.u32())
	cfg.Epsilon = math.Float64frombits(r.u64())
	cfg.InitialCap = int(int32(r.u32()))
	cfg.BlockSize = int(int32(r.u32()))
	cfg.Seed = r.u64()
	if r.err != nil {
		return nil, r.err
	}
	if (version == 1 && cfg.Quant != QuantNone) || (version > 1 && cfg.Quant == QuantNone) || cfg.Validate() != nil || cfg.withDefaults() != cfg {
		return nil, fmt.Errorf("%w: bad config %+v", ErrCodec, cfg)
	}
	ix, _ := New(cfg)
	n := r.u32()
	hasEntry := r.u8()
	entry := r.u32()
	maxLevel := r.u32()
	sweeping := r.u8()
	cursor := r.u32()
	if r.err == nil && (hasEntry > 1 || n > math.MaxInt32 || maxLevel >= maxLevels || sweeping > 1 || cursor > n || (sweeping == 0 && cursor != 0)) {
		r.fail("bad graph header")
	}
	for id := uint32(0); id < n && r.err == nil; id++ {
		got := ix.alloc()
		nd := ix.mut(got)
		nd.state = r.u8()
		if nd.state == slotEmpty || r.err != nil {
			continue
		}
		if nd.state > slotDoomed || (nd.state == slotDoomed && sweeping == 0) {
			r.fail("slot %d: bad state %d", id, nd.state)
			break
		}
		nd.level = r.u8()
		if nd.level >= maxLevels || (cfg.Algorithm == FLAT && nd.level != 0) {
			r.fail("slot %d: bad level %d", id, nd.level)
			break
		}
		nd.key = string(r.bytes(int(r.uvarint(maxKeyLen))))
		vec := r.vector(&cfg)
		if r.err != nil {
			break
		}
		ix.setVec(got, vec)
		if cfg.Algorithm == HNSW {
			if nd.level > 0 {
				nd.up = make([][]uint32, nd.level)
			}
			for l := 0; l <= int(nd.level); l++ {
				cnt := int(r.uvarint(uint64(ix.maxLinks(l))))
				ls := make([]uint32, 0, cnt)
				for j := 0; j < cnt && r.err == nil; j++ {
					ls = append(ls, uint32(r.uvarint(uint64(n))))
				}
				ix.setList(got, l, ls)
			}
		}
		switch nd.state {
		case slotLive:
			if _, dup := ix.keys[nd.key]; dup {
				r.fail("slot %d: duplicate key", id)
			}
			ix.keys[nd.key] = id
			ix.live++
		case slotTomb, slotDoomed:
			if cfg.Algorithm == FLAT {
				r.fail("slot %d: tombstone in a FLAT index", id)
			}
			if nd.state == slotTomb {
				ix.tombs++
			} else {
				ix.doomed++
			}
		}
	}
	nfree := r.uvarint(uint64(n))
	inFree := make(map[uint32]bool)
	for i := uint64(0); i < nfree && r.err == nil; i++ {
		x := uint32(r.uvarint(uint64(n)))
		if x >= n || inFree[x] || ix.node(x).state != slotEmpty {
			r.fail("bad free slot %d", x)
		}
		inFree[x] = true
		ix.free = append(ix.free, x)
	}
	if r.err != nil {
		return nil, r.err
	}
	sum := r.h.Sum64()
	var b [8]byte
	if _, err := io.ReadFull(r.r, b[:]); err != nil {
		return nil, fmt.Errorf("%w: truncated checksum", ErrCodec)
	}
	if binary.LittleEndian.Uint64(b[:]) != sum {
		return nil, fmt.Errorf("%w: checksum mismatch", ErrCodec)
	}
	// Structural checks: every empty slot is free, every link points at a
	// used slot that has the level, the entry point is sound.
	empty := 0
	for id := uint32(0); id < n; id++ {
		nd := ix.node(id)
		if nd.state == slotEmpty {
			empty++
			continue
		}
		if int(nd.level) > int(maxLevel) {
			return nil, fmt.Errorf("%w: slot %d: level %d above the top level %d", ErrCodec, id, nd.level, maxLevel)
		}
		for l := 0; l <= int(nd.level) && cfg.Algorithm == HNSW; l++ {
			for _, x := range ix.list(id, l) {
				if x >= n || x == id || ix.node(x).state == slotEmpty || int(ix.node(x).level) < l {
					return nil, fmt.Errorf("%w: slot %d level %d: bad link %d", ErrCodec, id, l, x)
				}
			}
		}
	}
	if empty != len(ix.free) {
		return nil, fmt.Errorf("%w: %d empty slots, %d free", ErrCodec, empty, len(ix.free))
	}
	if hasEntry == 1 {
		if entry >= n || ix.node(entry).state == slotEmpty || int(ix.node(entry).level) != int(maxLevel) || cfg.Algorithm != HNSW {
			return nil, fmt.Errorf("%w: bad entry point", ErrCodec)
		}
		ix.entry, ix.hasEntry, ix.maxLevel = entry, true, int(maxLevel)
	} else if maxLevel != 0 || entry != 0 || (cfg.Algorithm == HNSW && ix.live+ix.tombs+ix.doomed > 0) {
		return nil, fmt.Errorf("%w: bad entry point", ErrCodec)
	}
	if sweeping == 1 && cfg.Algorithm != HNSW {
		return nil, fmt.Errorf("%w: sweep in a FLAT index", ErrCodec)
	}
	ix.sweeping, ix.cursor = sweeping == 1, cursor
	return ix, nil
}
