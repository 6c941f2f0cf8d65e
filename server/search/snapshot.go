package search

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"

	"github.com/cespare/xxhash/v2"
	"github.com/tidwall/btree"

	"github.com/cairndb/cairn/vector"
)

// Snapshot is a point-in-time view of a Registry, taken in O(1) per index
// (B-tree and vector-graph copy-on-write). It may be written while the
// registry keeps changing.
type Snapshot struct {
	indexes []snapIndex
	aliases [][2]string
}

type snapIndex struct {
	def      Definition
	ids      *btree.BTreeG[doc]
	maxDocID uint64
	failures int64
	lastErr  string
	lastKey  string
	scanning bool
	cursor   uint64
	scanned  int64
	total    int64
	vecs     []*vector.Snapshot
	live     []*vector.Index // Digest of the live registry only
}

// Snapshot returns a view of r. It must be called by the writer.
func (r *Registry) Snapshot() *Snapshot { return r.view(true) }

// view returns a frozen (cow) view, or one that reads the live registry
// (for Digest under the read lock).
func (r *Registry) view(cow bool) *Snapshot {
	s := &Snapshot{}
	if r == nil {
		return s
	}
	for _, n := range r.names {
		ix := r.byName[n]
		si := snapIndex{def: ix.Def, ids: ix.ids, maxDocID: ix.MaxDocID, failures: ix.Failures,
			lastErr: ix.LastError, lastKey: ix.LastErrorKey, scanning: ix.Scanning, cursor: ix.Cursor, scanned: ix.Scanned, total: ix.ScanTotal, vecs: make([]*vector.Snapshot, len(ix.vecs)), live: ix.vecs}
		if cow {
			// tidwall/btree's Copy is copy-on-write: the live tree clones
			// a shared node before changing it.
			si.ids, si.live = ix.ids.Copy(), nil
			for i, v := range ix.vecs {
				if v != nil {
					si.vecs[i] = v.Snapshot()
				}
			}
		}
		s.indexes = append(s.indexes, si)
	}
	for a, n := range r.aliases {
		s.aliases = append(s.aliases, [2]string{a, n})
	}
	slices.SortFunc(s.aliases, func(a, b [2]string) int {
		if a[0] < b[0] {
			return -1
		}
		if a[0] > b[0] {
			return 1
		}
		return 0
	})
	return s
}

// snapMagic starts the registry's snapshot section; its last byte is the
// format version. A reader meets a higher digit with ErrVersion. Version 2
// adds TEXT field weights and custom stop-word lists; a registry that uses
// neither is written as version 1, byte for byte as before, so binaries
// that only know version 1 keep reading it.
const (
	snapMagic   = "CAIRNFT2"
	snapMagicV1 = "CAIRNFT1"
)

// needsV2 tells whether the snapshot holds anything version 1 cannot.
func (s *Snapshot) needsV2() bool {
	for _, si := range s.indexes {
		if si.def.CustomStopWords {
			return true
		}
		for _, f := range si.def.Fields {
			if f.Weight != 0 && f.Weight != 1 {
				return true
			}
		}
	}
	return false
}

// ErrVersion is returned by Load for a section written by a newer format.
var ErrVersion = errors.New("search: snapshot format newer than this binary")

// ErrCodec is returned by Load for input that does not decode.
var ErrCodec = errors.New("search: bad snapshot section")

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// WriteTo writes the section to w.
func (s *Snapshot) WriteTo(w io.Writer) (int64, error) {
	bw := bufio.NewWriterSize(w, 64<<10)
	if err := s.encode(bw, false); err != nil {
		return 0, err
	}
	return 0, bw.Flush()
}

// Digest hashes the registry's replicated state: definitions, documents
// (with their ids), counters, aliases and each vector graph's digest.
func (s *Snapshot) Digest() uint64 {
	d := xxhash.New()
	bw := bufio.NewWriter(d)
	_ = s.encode(bw, true)
	bw.Flush()
	return d.Sum64()
}

// Digest is Snapshot().Digest() of the live registry; it changes nothing,
// so it may run under the read lock.
func (r *Registry) Digest() uint64 { return r.view(false).Digest() }

func putUvarint(w *bufio.Writer, x uint64) {
	var b [binary.MaxVarintLen64]byte
	w.Write(b[:binary.PutUvarint(b[:], x)])
}

func putString(w *bufio.Writer, s string) {
	putUvarint(w, uint64(len(s)))
	w.WriteString(s)
}

func putBool(w *bufio.Writer, b bool) {
	if b {
		w.WriteByte(1)
	} else {
		w.WriteByte(0)
	}
}

func (s *Snapshot) encode(w *bufio.Writer, digest bool) error {
	v2 := s.needsV2()
	if v2 {
		w.WriteString(snapMagic)
	} else {
		w.WriteString(snapMagicV1)
	}
	putUvarint(w, uint64(len(s.indexes)))
	for _, si := range s.indexes {
		d := &si.def
		putString(w, d.Name)
		putUvarint(w, uint64(len(d.Prefixes)))
		for _, p := range d.Prefixes {
			putString(w, p)
		}
		putBool(w, d.SkipInitialScan)
		putUvarint(w, d.Seed)
		if v2 {
			putBool(w, d.CustomStopWords)
			putUvarint(w, uint64(len(d.StopWords)))
			for _, sw := range d.StopWords {
				putString(w, sw)
			}
		}
		putUvarint(w, uint64(len(d.Fields)))
		for _, f := range d.Fields {
			putString(w, f.Identifier)
			putString(w, f.Attribute)
			w.WriteByte(byte(f.Type))
			putBool(w, f.Sortable)
			w.WriteByte(f.Separator)
			putBool(w, f.CaseSensitive)
			if v2 {
				putUvarint(w, math.Float64bits(f.Weight))
			}
			c := f.Vec
			w.WriteByte(byte(c.Algorithm))
			w.WriteByte(byte(c.Type))
			w.WriteByte(byte(c.Metric))
			putUvarint(w, uint64(c.Dim))
			putUvarint(w, uint64(c.M))
			putUvarint(w, uint64(c.EFConstruction))
			putUvarint(w, uint64(c.EFRuntime))
			putUvarint(w, math.Float64bits(c.Epsilon))
			putUvarint(w, uint64(c.InitialCap))
			putUvarint(w, uint64(c.BlockSize))
			putUvarint(w, c.Seed)
		}
		putUvarint(w, si.maxDocID)
		putUvarint(w, uint64(si.failures))
		putString(w, si.lastErr)
		putString(w, si.lastKey)
		putBool(w, si.scanning)
		putUvarint(w, si.cursor)
		putUvarint(w, uint64(si.scanned))
		putUvarint(w, uint64(si.total))
		putUvarint(w, uint64(si.ids.Len()))
		si.ids.Scan(func(x doc) bool {
			putString(w, x.key)
			putUvarint(w, x.id)
			return true
		})
		for i, v := range si.vecs {
			if si.live != nil && si.live[i] != nil {
				putUvarint(w, si.live[i].Digest())
				continue
			}
			if v == nil {
				continue
			}
			if digest {
				putUvarint(w, v.Digest())
				continue
			}
			var c countWriter
			if _, err := v.WriteTo(&c); err != nil {
				return err
			}
			putUvarint(w, uint64(c.n))
			if _, err := v.WriteTo(w); err != nil {
				return err
			}
		}
	}
	putUvarint(w, uint64(len(s.aliases)))
	for _, a := range s.aliases {
		putString(w, a[0])
		putString(w, a[1])
	}
	return nil
}

// reader decodes a section, remembering the first error.
type reader struct {
	r   *bufio.Reader
	err error
}

func (r *reader) fail(format string, a ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: "+format, append([]any{ErrCodec}, a...)...)
	}
}

func (r *reader) uvarint(max uint64) uint64 {
	if r.err != nil {
		return 0
	}
	x, err := binary.ReadUvarint(r.r)
	if err != nil {
		r.fail("%v", err)
		return 0
	}
	if x > max {
		r.fail("value %d out of range", x)
		return 0
	}
	return x
}

func (r *reader) byte() byte {
	if r.err != nil {
		return 0
	}
	b, err := r.r.ReadByte()
	if err != nil {
		r.fail("%v", err)
	}
	return b
}

func (r *reader) bool() bool {
	b := r.byte()
	if b > 1 {
		r.fail("bad flag %d", b)
	}
	return b == 1
}

const maxString = 512 << 20

func (r *reader) string() string {
	n := r.uvarint(maxString)
	if r.err != nil || n == 0 {
		return ""
	}
	// Read in chunks so a corrupt length cannot allocate gigabytes.
	var out []byte
	for n > 0 && r.err == nil {
		k := min(n, 1<<20)
		chunk := make([]byte, k)
		if _, err := io.ReadFull(r.r, chunk); err != nil {
			r.fail("%v", err)
			return ""
		}
		out = append(out, chunk...)
		n -= k
	}
	return string(out)
}

// Load reads a section written by Snapshot.WriteTo from br, consuming
// exactly the section, and returns the registry (no rebuild).
func Load(br *bufio.Reader) (*Registry, error) {
	magic := make([]byte, len(snapMagic))
	if _, err := io.ReadFull(br, magic); err != nil {
		return nil, fmt.Errorf("%w: magic: %v", ErrCodec, err)
	}
	if string(magic[:len(magic)-1]) != snapMagic[:len(snapMagic)-1] {
		return nil, fmt.Errorf("%w: magic %q", ErrCodec, magic)
	}
	v := magic[len(magic)-1]
	if v != snapMagic[len(snapMagic)-1] && v != snapMagicV1[len(snapMagicV1)-1] {
		if v > snapMagic[len(snapMagic)-1] && v <= '9' {
			return nil, fmt.Errorf("%w: %q", ErrVersion, magic)
		}
		return nil, fmt.Errorf("%w: magic %q", ErrCodec, magic)
	}
	v2 := v == snapMagic[len(snapMagic)-1]
	r := &reader{r: br}
	reg := NewRegistry()
	n := r.uvarint(1 << 20)
	for i := uint64(0); i < n && r.err == nil; i++ {
		var d Definition
		d.Name = r.string()
		np := r.uvarint(1 << 20)
		for j := uint64(0); j < np && r.err == nil; j++ {
			d.Prefixes = append(d.Prefixes, r.string())
		}
		d.SkipInitialScan = r.bool()
		d.Seed = r.uvarint(math.MaxUint64)
		if v2 {
			d.CustomStopWords = r.bool()
			ns := r.uvarint(1 << 20)
			for j := uint64(0); j < ns && r.err == nil; j++ {
				d.StopWords = append(d.StopWords, r.string())
			}
		}
		nf := r.uvarint(1 << 16)
		for j := uint64(0); j < nf && r.err == nil; j++ {
			var f Field
			f.Identifier = r.string()
			f.Attribute = r.string()
			f.Type = FieldType(r.byte())
			if f.Type > Vector {
				r.fail("field type %d", f.Type)
			}
			f.Sortable = r.bool()
			f.Separator = r.byte()
			f.CaseSensitive = r.bool()
			if v2 {
				f.Weight = math.Float64frombits(r.uvarint(math.MaxUint64))
				if f.Weight != f.Weight {
					r.fail("field weight %v", f.Weight)
				}
			}
			c := &f.Vec
			c.Algorithm = vector.Algorithm(r.byte())
			c.Type = vector.ElemType(r.byte())
			c.Metric = vector.Metric(r.byte())
			c.Dim = int(r.uvarint(vector.MaxDim))
			c.M = int(r.uvarint(vector.MaxM))
			c.EFConstruction = int(r.uvarint(vector.MaxEF))
			c.EFRuntime = int(r.uvarint(vector.MaxEF))
			c.Epsilon = math.Float64frombits(r.uvarint(math.MaxUint64))
			c.InitialCap = int(r.uvarint(math.MaxInt32))
			c.BlockSize = int(r.uvarint(math.MaxInt32))
			c.Seed = r.uvarint(math.MaxUint64)
			d.Fields = append(d.Fields, f)
		}
		if r.err != nil {
			break
		}
		if _, dup := reg.byName[d.Name]; dup {
			r.fail("duplicate index %q", d.Name)
			break
		}
		ix := &Index{Def: d, vecs: make([]*vector.Index, len(d.Fields)), tags: &tagCache{}, text: &textCache{}}
		ix.keys, ix.ids = newTrees()
		ix.MaxDocID = r.uvarint(math.MaxUint64)
		ix.Failures = int64(r.uvarint(math.MaxInt64))
		ix.LastError = r.string()
		ix.LastErrorKey = r.string()
		ix.Scanning = r.bool()
		ix.Cursor = r.uvarint(math.MaxUint64)
		ix.Scanned = int64(r.uvarint(math.MaxInt64))
		ix.ScanTotal = int64(r.uvarint(math.MaxInt64))
		nd := r.uvarint(math.MaxInt64)
		for j := uint64(0); j < nd && r.err == nil; j++ {
			x := doc{key: r.string(), id: r.uvarint(ix.MaxDocID)}
			if r.err != nil {
				break
			}
			if _, dup := ix.keys.Get(x); dup {
				r.fail("duplicate document %q", x.key)
				break
			}
			if _, dup := ix.ids.Get(x); dup || x.id == 0 {
				r.fail("bad document id %d", x.id)
				break
			}
			ix.keys.Set(x)
			ix.ids.Set(x)
		}
		for j, f := range d.Fields {
			if f.Type != Vector || r.err != nil {
				continue
			}
			ln := r.uvarint(math.MaxInt64)
			if r.err != nil {
				break
			}
			lr := io.LimitReader(br, int64(ln))
			v, err := vector.Load(lr)
			if err != nil {
				if errors.Is(err, vector.ErrVersion) {
					return nil, fmt.Errorf("%w: %w", ErrVersion, err)
				}
				r.fail("vector field %q: %v", f.Attribute, err)
				break
			}
			if _, err := io.Copy(io.Discard, lr); err != nil {
				r.fail("%v", err)
			}
			if v.Config().Dim != f.Vec.Dim {
				r.fail("vector field %q: dimension mismatch", f.Attribute)
			}
			ix.vecs[j] = v
		}
		reg.byName[d.Name] = ix
		reg.names = append(reg.names, d.Name)
	}
	na := r.uvarint(1 << 20)
	for i := uint64(0); i < na && r.err == nil; i++ {
		a, n := r.string(), r.string()
		if _, ok := reg.byName[n]; !ok && r.err == nil {
			r.fail("alias %q of unknown index %q", a, n)
		}
		reg.aliases[a] = n
	}
	if r.err != nil {
		return nil, r.err
	}
	slices.Sort(reg.names)
	return reg, nil
}
