package rdb

import (
	"errors"

	"github.com/cairndb/cairn/server/keyspace"
)

func init() {
	register(keyspace.TypeHash, encodeHash, decodeHash,
		TypeHash, TypeHashZipmap, TypeHashZiplist, TypeHashListpack)
}

// encodeHash writes a listpack-encoded hash as RDB_TYPE_HASH_LISTPACK (the
// listpack blob as a string, as Redis 7.0 writes it) and a hashtable one
// as RDB_TYPE_HASH (a count, then field and value strings).
func encodeHash(dst []byte, _ []byte, obj keyspace.Object) (byte, []byte, error) {
	h, ok := obj.(*keyspace.Hash)
	if !ok {
		return 0, dst, ErrUnsupported
	}
	if h.Encoding() == "listpack" {
		lp := NewListpack()
		h.Each(func(name string, value []byte) bool {
			lp.Append([]byte(name))
			lp.Append(value)
			return true
		})
		return TypeHashListpack, AppendString(dst, lp.Bytes()), nil
	}
	dst = AppendLen(dst, uint64(h.Len()))
	h.Each(func(name string, value []byte) bool {
		dst = AppendString(dst, []byte(name))
		dst = AppendString(dst, value)
		return true
	})
	return TypeHash, dst, nil
}

var errDup = errors.New("duplicate hash field")

// decodeHash reads any of the hash encodings. The hash is rebuilt through
// Hash.Set, which converts it to a hashtable past the listpack limits, as
// Redis converts on load. A duplicate field or an empty hash is an error,
// as in Redis.
func decodeHash(r *Reader, t byte) ([]byte, keyspace.Object, error) {
	h := keyspace.NewHash()
	add := func(field, value []byte) error {
		if !h.SetCfg(field, value, r.config()) {
			return errDup
		}
		return nil
	}
	switch t {
	case TypeHash:
		n, err := r.Len()
		if err != nil {
			return nil, nil, err
		}
		for i := uint64(0); i < n; i++ {
			f, err := r.String()
			if err != nil {
				return nil, nil, err
			}
			v, err := r.String()
			if err != nil {
				return nil, nil, err
			}
			if err := add(f, v); err != nil {
				return nil, nil, err
			}
		}
	case TypeHashZipmap:
		blob, err := r.String()
		if err != nil {
			return nil, nil, err
		}
		if err := ZipmapEntries(blob, add); err != nil {
			return nil, nil, err
		}
	case TypeHashZiplist, TypeHashListpack:
		blob, err := r.String()
		if err != nil {
			return nil, nil, err
		}
		each := ListpackEntries
		if t == TypeHashZiplist {
			each = ZiplistEntries
		}
		var field []byte
		odd := false
		err = each(blob, func(e []byte) error {
			if !odd {
				field = append(field[:0], e...)
				odd = true
				return nil
			}
			odd = false
			return add(field, e)
		})
		if err != nil {
			return nil, nil, err
		}
		if odd {
			return nil, nil, ErrBadFormat
		}
	default:
		return nil, nil, ErrBadFormat
	}
	if h.Len() == 0 {
		return nil, nil, ErrBadFormat
	}
	return nil, h, nil
}
