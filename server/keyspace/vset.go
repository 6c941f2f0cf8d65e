package keyspace

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/bits"

	"github.com/cairndb/cairn/vector"
	"github.com/tidwall/btree"
)

// Quant is a vector set's quantization (VADD NOQUANT | Q8 | BIN).
type Quant uint8

// Quantizations, numbered as Redis numbers them.
const (
	QuantNone Quant = 0 // float32 ("f32")
	QuantQ8   Quant = 1 // int8 with a per-vector range ("int8")
	QuantBin  Quant = 2 // one sign bit a component ("bin")
)

// String is the name VINFO and VEMB RAW print.
func (q Quant) String() string {
	switch q {
	case QuantNone:
		return "f32"
	case QuantQ8:
		return "int8"
	case QuantBin:
		return "bin"
	}
	return "unknown"
}

// VectorSet is a Redis 8 vector set: named elements, each with a vector
// (normalised, then quantized) and an optional JSON attribute, indexed by
// Cairn's own HNSW engine (package vector) with the inner-product metric
// over unit vectors, i.e. cosine distance. Everything is deterministic:
// the graph's levels come from the element name and Seed (the seed of
// the log entry that created the set), quantization is plain Go float
// arithmetic with explicit rounding, and the projection matrix of REDUCE
// is the fixed ±1/sqrt(n) Hadamard pattern Redis uses.
//
// Copy-on-write: Clone shares the graph's pages and the element B-tree
// with the original; the keyspace clones a set that a snapshot still
// references before changing it (DB.Mutable).
type VectorSet struct {
	ix     *vector.Index
	elems  *btree.Map[string, *VElem]
	quant  Quant
	m      int
	dim    int       // dimension stored (after REDUCE)
	projIn int       // input dimension of REDUCE, 0 without projection
	proj   []float32 // dim rows of projIn columns; never changed once made
	seed   uint64
	uid    uint64 // VINFO vset-uid
	lastID uint64 // VINFO hnsw-max-node-uid: inserts so far
	attrs  int    // elements with an attribute
	bytes  int64  // element names and attributes, for MemSize
}

// VElem is one element's metadata. It is immutable once stored: a change
// stores a new VElem. (The vector itself, quantized, is in the graph.)
type VElem struct {
	// Norm is the L2 norm of the vector as given (after REDUCE).
	Norm float32
	// Attr is the JSON attribute as given, "" for none.
	Attr string
	// Fields is Attr parsed (nil when Attr is not a JSON object).
	Fields map[string]any
}

// Errors of vector-set construction.
var (
	ErrVSetDim = errors.New("keyspace: bad vector set dimension")
	ErrVSetM   = errors.New("keyspace: bad vector set M")
)

// VSetMaxM is the largest M a vector set accepts (the engine's limit;
// Redis accepts up to 4096).
const VSetMaxM = vector.MaxM

// VSetMaxDim is the largest dimension a vector set accepts (the engine's
// limit; Redis accepts up to 65536).
const VSetMaxDim = vector.MaxDim

// NewVectorSet returns an empty vector set of dimension dim (the reduced
// dimension when projIn > 0), with HNSW degree m and quantization q. seed
// and uid come from the log entry that creates it.
func NewVectorSet(dim, projIn int, q Quant, m int, seed, uid uint64) (*VectorSet, error) {
	if dim < 1 || dim > VSetMaxDim || projIn < 0 || projIn > VSetMaxDim || (projIn > 0 && projIn < dim) {
		return nil, ErrVSetDim
	}
	if m < 4 || m > VSetMaxM {
		return nil, ErrVSetM
	}
	ix, err := vector.New(vector.Config{
		Algorithm: vector.HNSW, Dim: dim, Metric: vector.IP, M: m,
		EFConstruction: 200, EFRuntime: 100, Seed: seed, Quant: vector.Quant(q),
	})
	if err != nil {
		return nil, err
	}
	s := &VectorSet{ix: ix, elems: &btree.Map[string, *VElem]{}, quant: q, m: m, dim: dim, projIn: projIn, seed: seed, uid: uid}
	if projIn > 0 {
		s.proj = hadamard(projIn, dim)
	}
	return s, nil
}

// hadamard is the REDUCE projection: row i, column j is ±1/sqrt(in), +
// when i&j has an even number of bits (the pattern Redis uses, so that
// every replica, and Redis, project alike).
func hadamard(in, out int) []float32 {
	p := make([]float32, in*out)
	scale := float32(1 / math.Sqrt(float64(in)))
	for i := 0; i < out; i++ {
		for j := 0; j < in; j++ {
			v := scale
			if bits.OnesCount32(uint32(i&j))%2 == 1 {
				v = -scale
			}
			p[i*in+j] = v
		}
	}
	return p
}

// Type implements Object.
func (s *VectorSet) Type() Type { return TypeVectorSet }

// Encoding implements Object: Redis reports module values as "raw".
func (s *VectorSet) Encoding() string { return "raw" }

// Len implements Object: the number of elements.
func (s *VectorSet) Len() int { return s.elems.Len() }

// Clone implements Object in O(pages + elements) pointer copies; pages
// and B-tree nodes are copied lazily on write.
func (s *VectorSet) Clone() Object {
	c := *s
	c.ix = s.ix.Clone()
	c.elems = s.elems.Copy()
	return &c
}

// Dim is the stored dimension (after REDUCE).
func (s *VectorSet) Dim() int { return s.dim }

// ProjectionInput is REDUCE's input dimension, 0 without projection.
func (s *VectorSet) ProjectionInput() int { return s.projIn }

// Quant is the set's quantization.
func (s *VectorSet) Quant() Quant { return s.quant }

// M is the set's HNSW degree.
func (s *VectorSet) M() int { return s.m }

// UID is VINFO's vset-uid.
func (s *VectorSet) UID() uint64 { return s.uid }

// LastID is VINFO's hnsw-max-node-uid: the number of inserts so far.
func (s *VectorSet) LastID() uint64 { return s.lastID }

// Attrs is the number of elements that have an attribute.
func (s *VectorSet) Attrs() int { return s.attrs }

// MaxLevel is the graph's top level.
func (s *VectorSet) MaxLevel() int { return s.ix.MaxLevel() }

// Digest is the graph's digest (replicas compare it in tests).
func (s *VectorSet) Digest() uint64 { return s.ix.Digest() }

// Elem returns an element's metadata.
func (s *VectorSet) Elem(name string) (*VElem, bool) { return s.elems.Get(name) }

// ElemAt returns the i-th element in name order (VRANDMEMBER).
func (s *VectorSet) ElemAt(i int) (string, *VElem) {
	k, v, _ := s.elems.GetAt(i)
	return k, v
}

// Project applies the set's REDUCE projection to v (len projIn), or
// returns v when the set has none.
func (s *VectorSet) Project(v []float32) []float32 {
	if s.proj == nil {
		return v
	}
	out := make([]float32, s.dim)
	for i := range out {
		row := s.proj[i*s.projIn : (i+1)*s.projIn]
		var sum float32
		for j, x := range v {
			sum = float32(sum + float32(row[j]*x))
		}
		out[i] = sum
	}
	return out
}

// Prepare turns v (of the stored dimension) into what the graph is given:
// v normalised to unit length, and v's L2 norm (kept for VEMB). The graph
// then stores the unit vector quantized (Q8: int8s and a range; BIN: sign
// bits; NOQUANT: the floats). The arithmetic is plain Go with explicit
// rounding (no fused multiply-add), so every replica gets the same bits.
func (s *VectorSet) Prepare(v []float32) (unit []float32, norm float32) {
	var ss float64
	for _, x := range v {
		ss = float64(ss + float64(float64(x)*float64(x)))
	}
	norm = float32(math.Sqrt(ss))
	unit = make([]float32, len(v))
	if norm != 0 {
		for i, x := range v {
			unit[i] = x / norm
		}
	}
	return unit, norm
}

// Vector returns the element's stored vector, dequantized (q·range/127
// for Q8, ±1 for BIN), still normalised.
func (s *VectorSet) Vector(name string) ([]float32, bool) { return s.ix.Vector(name) }

// Embedding returns the element's vector as Redis's VEMB prints it:
// dequantized and scaled back by its norm (BIN gives ±1 components,
// unscaled).
func (s *VectorSet) Embedding(name string) ([]float32, bool) {
	e, ok := s.elems.Get(name)
	if !ok {
		return nil, false
	}
	v, _ := s.ix.Vector(name)
	if s.quant != QuantBin {
		for i, x := range v {
			v[i] = float32(x * e.Norm)
		}
	}
	return v, true
}

// Raw returns VEMB RAW's quantized bytes (little-endian float32s of the
// normalised vector for f32, one int8 a component for int8, the sign bits
// in little-endian 64-bit words for bin) and the Q8 range (0 otherwise).
func (s *VectorSet) Raw(name string) ([]byte, *VElem, float32, bool) {
	e, ok := s.elems.Get(name)
	if !ok {
		return nil, nil, 0, false
	}
	f, q, rng, b, _ := s.ix.Quantized(name)
	var out []byte
	switch s.quant {
	case QuantNone:
		for _, x := range f {
			out = binary.LittleEndian.AppendUint32(out, math.Float32bits(x))
		}
	case QuantQ8:
		for _, x := range q {
			out = append(out, byte(x))
		}
	case QuantBin:
		for _, w := range b {
			out = binary.LittleEndian.AppendUint64(out, w)
		}
	}
	return out, e, rng, true
}

// Distance is the distance between the element and the unit query q
// (from Prepare) as VSIM computes it; false when there is no such element.
func (s *VectorSet) Distance(name string, q []float32) (float32, bool) {
	return s.ix.DistanceTo(name, q)
}

// Links returns the element's neighbours on each level of the graph,
// from its top level down to 0, each with its similarity to the element
// (VLINKS); false when there is no such element.
func (s *VectorSet) Links(name string) ([][]vector.Result, bool) {
	return s.ix.Links(name)
}

// Range returns up to count element names in [start, end] by byte order
// (VRANGE), each bound inclusive or exclusive, "" with min/max meaning
// unbounded; count < 0 means all.
func (s *VectorSet) Range(start, end string, startIncl, endIncl, fromMin, toMax bool, count int) []string {
	var out []string
	if count == 0 {
		return out
	}
	iter := s.elems.Iter()
	var ok bool
	if fromMin {
		ok = iter.First()
	} else {
		ok = iter.Seek(start)
		if ok && !startIncl && iter.Key() == start {
			ok = iter.Next()
		}
	}
	for ; ok; ok = iter.Next() {
		k := iter.Key()
		if !toMax && (k > end || (!endIncl && k == end)) {
			break
		}
		out = append(out, k)
		if count > 0 && len(out) >= count {
			break
		}
	}
	return out
}

// ParseAttr parses a JSON attribute into its top-level fields (nil if it
// is not a JSON object: filters then never match the element, as Redis).
func ParseAttr(attr string) map[string]any {
	if attr == "" {
		return nil
	}
	var m map[string]any
	if json.Unmarshal([]byte(attr), &m) != nil {
		return nil
	}
	return m
}

// Add inserts name with unit vector vec (from Prepare), searching
// with a candidate list of ef while linking it, or, when name exists,
// replaces its vector. attr, when not nil, sets the attribute ("" removes it);
// when nil an existing element keeps its attribute. It reports whether
// the element is new.
func (s *VectorSet) Add(name string, vec []float32, norm float32, attr *string, ef int) (bool, error) {
	old, exists := s.elems.Get(name)
	if err := s.ix.SetEF(name, vec, ef); err != nil {
		return false, err
	}
	s.lastID++
	e := &VElem{Norm: norm}
	if exists {
		e.Attr, e.Fields = old.Attr, old.Fields
	}
	if attr != nil {
		e.Attr, e.Fields = *attr, ParseAttr(*attr)
	}
	s.putElem(name, old, e)
	return !exists, nil
}

// putElem stores e under name, keeping the counters (old is the previous
// element or nil).
func (s *VectorSet) putElem(name string, old, e *VElem) {
	if old != nil {
		s.bytes -= int64(len(name) + len(old.Attr))
		if old.Attr != "" {
			s.attrs--
		}
	}
	s.bytes += int64(len(name) + len(e.Attr))
	if e.Attr != "" {
		s.attrs++
	}
	s.elems.Set(name, e)
}

// SetAttr sets (or with "" removes) an element's attribute; false when
// there is no such element.
func (s *VectorSet) SetAttr(name, attr string) bool {
	old, ok := s.elems.Get(name)
	if !ok {
		return false
	}
	e := *old
	e.Attr, e.Fields = attr, ParseAttr(attr)
	s.putElem(name, old, &e)
	return true
}

// Remove deletes an element; false when there is none.
func (s *VectorSet) Remove(name string) bool {
	old, ok := s.elems.Get(name)
	if !ok {
		return false
	}
	s.ix.Delete(name)
	s.bytes -= int64(len(name) + len(old.Attr))
	if old.Attr != "" {
		s.attrs--
	}
	s.elems.Delete(name)
	return true
}

// Search returns the k elements nearest to the unit query q (from
// Prepare; the graph quantizes it as it quantizes elements) by cosine
// distance, sorted by (distance, name).
func (s *VectorSet) Search(q []float32, k int, opt *vector.SearchOptions) ([]vector.Result, error) {
	return s.ix.Search(q, k, opt)
}

// memSize is the deterministic size model of a vector set: per element a
// fixed node overhead, its stored vector at the quantization's width,
// its level-0 links (2*M ids), its name and attribute.
func (s *VectorSet) memSize() int64 {
	per := int64(64 + 8*s.m)
	switch s.quant {
	case QuantNone:
		per += int64(4 * s.dim)
	case QuantQ8:
		per += int64(s.dim)
	case QuantBin:
		per += int64((s.dim + 63) / 64 * 8)
	}
	return int64(s.elems.Len())*per + s.bytes + int64(4*len(s.proj))
}

// vsetCodecVersion versions the vector-set body inside a keyspace
// snapshot (the keyspace snapshot format itself is CAIRNKS2). Version 2
// stores Q8 and BIN graphs quantized (the graph's own codec, CAIRNVEC
// version 2) and no per-element Q8 range; version 1 (every graph in
// float32, a range per element) is still read: its Q8/BIN graphs are
// re-quantized on load (vector.Index.Requantize), keeping the graph.
const vsetCodecVersion = 2

func init() { RegisterCodec(TypeVectorSet, encodeVSet, decodeVSet) }

// encodeVSet writes: version, quantization, M, dimension, projection
// input dimension (the matrix is recomputed: it is a fixed function of the
// two dimensions), seed, uid, last id, the elements in name order (name,
// norm as float32 bits, attribute), then the graph in the vector
// package's snapshot codec.
func encodeVSet(dst []byte, o Object) []byte {
	s := o.(*VectorSet)
	dst = append(dst, vsetCodecVersion, byte(s.quant))
	dst = binary.AppendUvarint(dst, uint64(s.m))
	dst = binary.AppendUvarint(dst, uint64(s.dim))
	dst = binary.AppendUvarint(dst, uint64(s.projIn))
	dst = binary.AppendUvarint(dst, s.seed)
	dst = binary.AppendUvarint(dst, s.uid)
	dst = binary.AppendUvarint(dst, s.lastID)
	dst = binary.AppendUvarint(dst, uint64(s.elems.Len()))
	s.elems.Scan(func(name string, e *VElem) bool {
		dst = appendString(dst, name)
		dst = binary.LittleEndian.AppendUint32(dst, math.Float32bits(e.Norm))
		dst = appendString(dst, e.Attr)
		return true
	})
	return appendBytes(dst, s.ix.AppendTo(nil))
}

// AppendVectorSet appends s in the snapshot codec (a DUMP payload body).
func AppendVectorSet(dst []byte, s *VectorSet) []byte { return encodeVSet(dst, s) }

// DecodeVectorSet reads what AppendVectorSet wrote; the whole of b must be
// used. Errors wrap ErrBadSnapshot.
func DecodeVectorSet(b []byte) (*VectorSet, error) {
	br := bytes.NewReader(b)
	sr := &snapReader{r: bufio.NewReader(br)}
	o := decodeVSet(sr)
	if sr.err == nil && (br.Len() != 0 || sr.r.Buffered() != 0) {
		sr.err = errors.New("trailing bytes")
	}
	if sr.err != nil || o == nil {
		return nil, fmt.Errorf("%w: %v", ErrBadSnapshot, sr.err)
	}
	return o.(*VectorSet), nil
}

func decodeVSet(r *SnapReader) Object {
	fail := func(format string, a ...any) Object {
		r.Fail(fmt.Errorf("vector set: "+format, a...))
		return nil
	}
	version := r.Byte()
	if r.Err() == nil && (version < 1 || version > vsetCodecVersion) {
		return fail("codec version %d, this binary reads 1 to %d", version, vsetCodecVersion)
	}
	q := Quant(r.Byte())
	m, dim, projIn := r.Uvarint(), r.Uvarint(), r.Uvarint()
	seed, uid, last := r.Uvarint(), r.Uvarint(), r.Uvarint()
	n := r.Uvarint()
	if r.Err() != nil {
		return nil
	}
	if q > QuantBin || m > VSetMaxM || dim > VSetMaxDim || projIn > VSetMaxDim {
		return fail("bad header")
	}
	s, err := NewVectorSet(int(dim), int(projIn), q, int(m), seed, uid)
	if err != nil {
		return fail("%v", err)
	}
	s.lastID = last
	u32 := func() float32 {
		var b [4]byte
		for i := range b {
			b[i] = r.Byte()
		}
		return math.Float32frombits(binary.LittleEndian.Uint32(b[:]))
	}
	prev := ""
	for i := uint64(0); i < n && r.Err() == nil; i++ {
		name := string(r.Bytes())
		e := &VElem{Norm: u32()}
		if version == 1 {
			u32() // the Q8 range, now kept by the graph
		}
		e.Attr = string(r.Bytes())
		if r.Err() != nil {
			return nil
		}
		if i > 0 && name <= prev {
			return fail("elements out of order")
		}
		prev = name
		e.Fields = ParseAttr(e.Attr)
		s.putElem(name, nil, e)
	}
	g := r.Bytes()
	if r.Err() != nil {
		return nil
	}
	ix, err := vector.Load(bytes.NewReader(g))
	if err != nil {
		return fail("graph: %v", err)
	}
	if version == 1 && q != QuantNone && ix.Config().Quant == vector.QuantNone {
		if ix, err = ix.Requantize(vector.Quant(q)); err != nil {
			return fail("graph: %v", err)
		}
	}
	c := ix.Config()
	if c.Dim != int(dim) || c.M != int(m) || c.Quant != vector.Quant(q) || c.Metric != vector.IP || c.Algorithm != vector.HNSW || c.Seed != seed || ix.Len() != s.elems.Len() {
		return fail("graph does not match the elements")
	}
	ok := true
	s.elems.Scan(func(name string, _ *VElem) bool {
		ok = ix.Has(name)
		return ok
	})
	if !ok {
		return fail("graph does not match the elements")
	}
	s.ix = ix
	return s
}
