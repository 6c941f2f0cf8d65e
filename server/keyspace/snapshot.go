package keyspace

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync/atomic"
	"unsafe"
)

// Snapshot is a point-in-time view of a DB, taken in O(1). It may be
// serialized by another goroutine while the DB keeps changing.
type Snapshot struct {
	tree     keyTree
	db       *DB
	released atomic.Bool
}

// Snapshot returns a point-in-time view of db. It must be called by the
// writer (no concurrent mutation). Release it once it is no longer read:
// until every snapshot is released, the DB copies each item older than
// the newest snapshot before changing it (copy-on-write); with none live
// it changes such items in place again.
func (db *DB) Snapshot() *Snapshot {
	t := db.tree.Copy()
	db.gen++
	db.snaps.Add(1)
	return &Snapshot{tree: t, db: db}
}

// Release tells the DB the snapshot is no longer read (see Snapshot). A
// second call does nothing; the snapshot must not be used after it.
func (s *Snapshot) Release() {
	if s.db != nil && !s.released.Swap(true) {
		s.db.snaps.Add(-1)
	}
}

// Each calls fn for every item of the snapshot, in key order, until fn
// returns false. Items are read-only: the DB copies an item before
// changing it while a snapshot is live.
func (s *Snapshot) Each(fn func(*Item) bool) { s.tree.Scan(fn) }

// Len returns the number of keys in the snapshot.
func (s *Snapshot) Len() int { return s.tree.Len() }

// snapMagic starts a keyspace snapshot; its last byte is the format
// version. It covers every type's encoding, including the codecs other
// files register (RegisterCodec): any change to any of them must raise the
// digit, and a reader meets a higher digit with ErrSnapshotVersion (the
// shard then stops rather than misread). Version 2 added the vector-set
// type (TypeVectorSet, vset.go); a version-1 snapshot is read as is (it
// cannot hold one).
const snapMagic = "CAIRNKS2"

// ErrBadSnapshot is returned when a snapshot stream does not decode.
var ErrBadSnapshot = errors.New("keyspace: bad snapshot")

// ErrSnapshotVersion is returned when a snapshot was written in a newer
// format than this binary reads (the magic's last byte is the version).
var ErrSnapshotVersion = errors.New("keyspace: snapshot format newer than this binary")

// WriteTo serializes the snapshot to w.
func (s *Snapshot) WriteTo(w io.Writer) (int64, error) {
	bw := bufio.NewWriterSize(w, 1<<20)
	bw.WriteString(snapMagic)
	var buf []byte
	var err error
	// Items are scattered over the heap, so encoding them one by one
	// waits on a cache miss for each item and again for its key and
	// value. Gathering a batch first and touching every item, then every
	// key and value, lets those misses overlap.
	batch := make([]*Item, 0, encodeBatch)
	flush := func() {
		touchItems(batch)
		for _, it := range batch {
			buf = appendItem(buf[:0], it)
			if _, err = bw.Write(buf); err != nil {
				return
			}
		}
		batch = batch[:0]
	}
	s.tree.Scan(func(it *Item) bool {
		batch = append(batch, it)
		if len(batch) == encodeBatch {
			flush()
		}
		return err == nil
	})
	if err == nil {
		flush()
	}
	if err != nil {
		return 0, err
	}
	bw.WriteByte(0)
	return 0, bw.Flush()
}

// encodeBatch is how many items WriteTo gathers before encoding them.
const encodeBatch = 64

// touchSink keeps touchItems' loads from being optimized away (atomic:
// snapshots may be written concurrently).
var touchSink atomic.Uint32

// touchItems reads each item's header, then the first byte of each key
// and string value: independent loads the CPU overlaps, so the encoding
// that follows finds them in cache. It changes nothing.
func touchItems(items []*Item) {
	var x byte
	for _, it := range items {
		x ^= byte(len(it.Key)) ^ byte(len(it.Str))
	}
	for _, it := range items {
		if len(it.Key) > 0 {
			x ^= it.Key[0]
		}
		if len(it.Str) > 0 {
			x ^= it.Str[0]
		}
	}
	touchSink.Store(uint32(x))
}

func appendBytes(dst, b []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b...)
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func appendItem(dst []byte, it *Item) []byte {
	dst = append(dst, byte(it.Type()))
	dst = appendString(dst, it.Key)
	dst = binary.AppendVarint(dst, it.ExpireAt)
	switch o := it.Obj.(type) {
	case nil:
		raw := byte(0)
		if it.Raw {
			raw = 1
		}
		dst = append(dst, raw)
		dst = appendBytes(dst, it.Str)
	case *Hash:
		enc := byte(0)
		if o.ht != nil {
			enc = 1
		}
		dst = append(dst, enc)
		dst = binary.AppendUvarint(dst, uint64(o.Len()))
		o.Each(func(name string, value []byte) bool {
			dst = appendString(dst, name)
			dst = appendBytes(dst, value)
			return true
		})
	default:
		c, ok := codecs[o.Type()]
		if !ok {
			panic(fmt.Sprintf("keyspace: no snapshot codec for %T", o))
		}
		dst = c.enc(dst, o)
	}
	return dst
}

// A codec serializes one value type in snapshots. Types other than strings
// and hashes register theirs with RegisterCodec from their own file.
type codec struct {
	enc func(dst []byte, o Object) []byte
	dec func(r *SnapReader) Object
}

var codecs = map[Type]codec{}

// RegisterCodec registers the snapshot encoder and decoder of a value type.
// enc appends the value's body; dec reads it back (errors are recorded in
// the reader and checked by the caller).
func RegisterCodec(t Type, enc func(dst []byte, o Object) []byte, dec func(r *SnapReader) Object) {
	codecs[t] = codec{enc, dec}
}

// AppendSnapBytes appends a length-prefixed byte string (a codec helper).
func AppendSnapBytes(dst, b []byte) []byte { return appendBytes(dst, b) }

// AppendSnapString appends a length-prefixed string (a codec helper).
func AppendSnapString(dst []byte, s string) []byte { return appendString(dst, s) }

// SnapReader reads what codecs wrote. After an error every method returns
// zero values; the caller checks Err.
type SnapReader = snapReader

// Uvarint reads an unsigned varint.
func (sr *snapReader) Uvarint() uint64 { return sr.uvarint() }

// Varint reads a signed varint.
func (sr *snapReader) Varint() int64 { return sr.varint() }

// Byte reads one byte.
func (sr *snapReader) Byte() byte { return sr.byte() }

// Bytes reads a length-prefixed byte string.
func (sr *snapReader) Bytes() []byte { return sr.bytes() }

// Err returns the first error met, if any.
func (sr *snapReader) Err() error { return sr.err }

// Fail records err (e.g. a value that decodes but is invalid).
func (sr *snapReader) Fail(err error) {
	if sr.err == nil {
		sr.err = err
	}
}

type snapReader struct {
	r   *bufio.Reader
	buf []byte
	key []byte // scratch for item keys (newItem copies)
	err error
}

func (sr *snapReader) uvarint() uint64 {
	if sr.err != nil {
		return 0
	}
	n, err := binary.ReadUvarint(sr.r)
	sr.err = err
	return n
}

func (sr *snapReader) varint() int64 {
	if sr.err != nil {
		return 0
	}
	n, err := binary.ReadVarint(sr.r)
	sr.err = err
	return n
}

func (sr *snapReader) byte() byte {
	if sr.err != nil {
		return 0
	}
	b, err := sr.r.ReadByte()
	sr.err = err
	return b
}

// bytes reads a length-prefixed byte string. The length is not trusted: a
// large one is read in chunks as the data actually arrives, so a corrupt
// prefix ends in an error, not in a huge allocation.
func (sr *snapReader) bytes() []byte {
	n := sr.uvarint()
	if sr.err != nil {
		return nil
	}
	if n <= 1<<16 {
		b := make([]byte, n)
		_, sr.err = io.ReadFull(sr.r, b)
		return b
	}
	if n > 1<<40 {
		sr.err = fmt.Errorf("length %d too large", n)
		return nil
	}
	var buf bytes.Buffer
	if _, err := io.CopyN(&buf, sr.r, int64(n)); err != nil {
		sr.err = err
		return nil
	}
	return buf.Bytes()
}

// Load replaces db's content with a snapshot read from r, rebuilding the
// expiry index.
func (db *DB) Load(r io.Reader) error {
	sr := &snapReader{r: bufio.NewReaderSize(r, 1<<20)}
	magic := make([]byte, len(snapMagic))
	if _, err := io.ReadFull(sr.r, magic); err != nil || !readableMagic(magic) {
		if v := magic[len(magic)-1]; err == nil && string(magic[:len(magic)-1]) == snapMagic[:len(snapMagic)-1] && v > snapMagic[len(snapMagic)-1] && v <= '9' {
			return fmt.Errorf("%w: %w: %q", ErrBadSnapshot, ErrSnapshotVersion, magic)
		}
		return fmt.Errorf("%w: magic", ErrBadSnapshot)
	}
	db.Flush()
	db.gen++
	for {
		t := Type(sr.byte())
		if sr.err != nil {
			return fmt.Errorf("%w: %v", ErrBadSnapshot, sr.err)
		}
		if t == TypeNone {
			return nil
		}
		it, err := sr.item(t)
		if err != nil {
			return err
		}
		// Snapshots are written in key order, so the B-tree's bulk-load
		// path (append at the right edge) applies.
		it.gen = db.gen
		db.initAccess(it)
		db.used += it.MemSize()
		it.acct = itemIn
		if prev, replaced := db.tree.Load(it); replaced {
			db.unaccount(prev)
			if prev.ExpireAt != 0 {
				db.expires.Delete(expiry{prev.ExpireAt, prev.order(), prev.Key})
			}
		}
		if it.ExpireAt != 0 {
			db.expires.Set(expiry{it.ExpireAt, it.order(), it.Key})
		}
	}
}

// readableMagic tells whether magic starts a snapshot of a version this
// binary reads: 1 up to snapMagic's.
func readableMagic(magic []byte) bool {
	n := len(snapMagic) - 1
	return len(magic) == len(snapMagic) && string(magic[:n]) == snapMagic[:n] && magic[n] >= '1' && magic[n] <= snapMagic[n]
}

// item decodes the rest of an item whose type byte was t.
// stringItem decodes a string item (its type byte already read) into
// scratch, reading the key and value into kb and vb: no allocation. The
// item is valid only until the next call.
func (sr *snapReader) stringItem(scratch *Item, kb, vb *[]byte) (*Item, error) {
	*kb = sr.appendBytes((*kb)[:0])
	scratch.ExpireAt = sr.varint()
	scratch.Raw = sr.byte() == 1
	*vb = sr.appendBytes((*vb)[:0])
	if sr.err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadSnapshot, sr.err)
	}
	scratch.Key = unsafe.String(unsafe.SliceData(*kb), len(*kb))
	scratch.Str, scratch.Obj = *vb, nil
	return scratch, nil
}

// appendBytes reads a length-prefixed byte string, appended to dst.
func (sr *snapReader) appendBytes(dst []byte) []byte {
	n := sr.uvarint()
	if sr.err != nil {
		return dst
	}
	if n > 1<<40 {
		sr.err = fmt.Errorf("length %d too large", n)
		return dst
	}
	if n > 1<<16 {
		// Large values grow as the data arrives, as bytes() reads them.
		buf := bytes.NewBuffer(dst)
		if _, err := io.CopyN(buf, sr.r, int64(n)); err != nil {
			sr.err = err
			return dst
		}
		return buf.Bytes()
	}
	dst = slices.Grow(dst, int(n))
	b := dst[len(dst) : len(dst)+int(n)]
	_, sr.err = io.ReadFull(sr.r, b)
	return dst[:len(dst)+int(n)]
}

func (sr *snapReader) item(t Type) (*Item, error) {
	sr.key = sr.appendBytes(sr.key[:0])
	it := newItem(unsafe.String(unsafe.SliceData(sr.key), len(sr.key)))
	it.ExpireAt = sr.varint()
	switch t {
	case TypeString:
		it.Raw = sr.byte() == 1
		it.Str = sr.bytes()
	case TypeHash:
		enc := sr.byte()
		if enc > 1 && sr.err == nil {
			sr.err = fmt.Errorf("unknown hash encoding %d", enc)
		}
		n := sr.uvarint()
		h := &Hash{}
		if enc == 1 {
			h.ht = newHashTable()
		}
		for i := uint64(0); i < n && sr.err == nil; i++ {
			name, value := sr.bytes(), sr.bytes()
			if sr.err != nil {
				break
			}
			if h.ht != nil {
				nm := string(name)
				if prev, ok := h.ht.Set(&Field{Name: nm, Value: value, ord: fieldOrd(nm)}); ok {
					h.hb -= len(prev.Name) + len(prev.Value)
				}
				h.hb += len(nm) + len(value)
			} else {
				h.lpAppend(name, value)
			}
		}
		it.Obj = h
	default:
		c, ok := codecs[t]
		if !ok {
			return nil, fmt.Errorf("%w: unknown type %d", ErrBadSnapshot, t)
		}
		it.Obj = c.dec(sr)
		if sr.err == nil && it.Obj == nil {
			sr.err = fmt.Errorf("type %d decoded to nothing", t)
		}
	}
	if sr.err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadSnapshot, sr.err)
	}
	return it, nil
}
