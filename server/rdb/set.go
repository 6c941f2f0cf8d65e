package rdb

import (
	"encoding/binary"
	"errors"
	"math"

	"github.com/cairndb/cairn/server/keyspace"
)

func init() {
	register(keyspace.TypeSet, encodeSet, decodeSet, TypeSet, TypeSetIntset, TypeSetListpack)
}

// Intset encodings (src/intset.h): the width in bytes of every element.
const (
	intsetEnc16 = 2
	intsetEnc32 = 4
	intsetEnc64 = 8
)

// encodeSet writes what Redis 7.0 writes: an intset-encoded set as
// RDB_TYPE_SET_INTSET (the intset blob as a string), a hashtable one as
// RDB_TYPE_SET (a count, then the members as strings).
//
// The intset uses the narrowest width that holds every member. Redis never
// narrows an intset, so after removals its blob may be wider than Cairn's;
// both load anywhere.
func encodeSet(dst []byte, _ []byte, obj keyspace.Object) (byte, []byte, error) {
	s, ok := obj.(*keyspace.Set)
	if !ok {
		return 0, dst, ErrUnsupported
	}
	if ints, ok := s.Ints(); ok {
		return TypeSetIntset, AppendString(dst, IntsetBlob(ints)), nil
	}
	dst = AppendLen(dst, uint64(s.Len()))
	s.Each(func(m []byte) bool {
		dst = AppendString(dst, m)
		return true
	})
	return TypeSet, dst, nil
}

// IntsetBlob returns Redis's intset serialization of sorted values: the
// width (uint32 LE), the count (uint32 LE), then the values, little endian.
func IntsetBlob(sorted []int64) []byte {
	width := intsetEnc16
	for _, v := range sorted {
		switch {
		case v < math.MinInt32 || v > math.MaxInt32:
			width = intsetEnc64
		case (v < math.MinInt16 || v > math.MaxInt16) && width < intsetEnc32:
			width = intsetEnc32
		}
	}
	b := make([]byte, 8, 8+len(sorted)*width)
	binary.LittleEndian.PutUint32(b, uint32(width))
	binary.LittleEndian.PutUint32(b[4:], uint32(len(sorted)))
	for _, v := range sorted {
		switch width {
		case intsetEnc16:
			b = binary.LittleEndian.AppendUint16(b, uint16(v))
		case intsetEnc32:
			b = binary.LittleEndian.AppendUint32(b, uint32(v))
		default:
			b = binary.LittleEndian.AppendUint64(b, uint64(v))
		}
	}
	return b
}

// IntsetEntries calls fn for each value of an intset blob. It checks the
// blob as Redis's deep intsetValidateIntegrity does: a known width, a size
// that matches the count, at least one value, values strictly increasing.
func IntsetEntries(blob []byte, fn func(v int64) error) error {
	if len(blob) < 8 {
		return ErrBadFormat
	}
	width := binary.LittleEndian.Uint32(blob)
	count := uint64(binary.LittleEndian.Uint32(blob[4:]))
	if width != intsetEnc16 && width != intsetEnc32 && width != intsetEnc64 {
		return ErrBadFormat
	}
	if count == 0 || 8+count*uint64(width) != uint64(len(blob)) {
		return ErrBadFormat
	}
	var prev int64
	for i := uint64(0); i < count; i++ {
		p := blob[8+i*uint64(width):]
		var v int64
		switch width {
		case intsetEnc16:
			v = int64(int16(binary.LittleEndian.Uint16(p)))
		case intsetEnc32:
			v = int64(int32(binary.LittleEndian.Uint32(p)))
		default:
			v = int64(binary.LittleEndian.Uint64(p))
		}
		if i > 0 && v <= prev {
			return ErrBadFormat
		}
		prev = v
		if err := fn(v); err != nil {
			return err
		}
	}
	return nil
}

var errDupMember = errors.New("duplicate set member")

// decodeSet reads RDB_TYPE_SET, RDB_TYPE_SET_INTSET and Redis 7.2's
// RDB_TYPE_SET_LISTPACK. The set is rebuilt by adding the members in
// order, which converts it exactly as Redis 7.0's loader does (an intset
// while every member is an integer and there are at most 512 of them). A
// duplicate member or an empty set is an error, as in Redis.
func decodeSet(r *Reader, t byte) ([]byte, keyspace.Object, error) {
	s := keyspace.NewSet()
	add := func(m []byte) error {
		if !s.AddCfg(m, r.config()) {
			return errDupMember
		}
		return nil
	}
	switch t {
	case TypeSet:
		n, err := r.Len()
		if err != nil {
			return nil, nil, err
		}
		for i := uint64(0); i < n; i++ {
			m, err := r.String()
			if err != nil {
				return nil, nil, err
			}
			if err := add(m); err != nil {
				return nil, nil, err
			}
		}
	case TypeSetIntset:
		blob, err := r.String()
		if err != nil {
			return nil, nil, err
		}
		err = IntsetEntries(blob, func(v int64) error {
			if !s.AddIntCfg(v, r.config()) {
				return errDupMember
			}
			return nil
		})
		if err != nil {
			return nil, nil, err
		}
	case TypeSetListpack:
		blob, err := r.String()
		if err != nil {
			return nil, nil, err
		}
		if err := ListpackEntries(blob, add); err != nil {
			return nil, nil, err
		}
	default:
		return nil, nil, ErrBadFormat
	}
	if s.Len() == 0 {
		return nil, nil, ErrBadFormat
	}
	return nil, s, nil
}
