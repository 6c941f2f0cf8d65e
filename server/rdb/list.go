package rdb

import "github.com/cairndb/cairn/server/keyspace"

func init() {
	register(keyspace.TypeList, encodeList, decodeList,
		TypeList, TypeListZiplist, TypeListQuicklist, TypeListQuicklist2)
}

// Quicklist node containers (src/quicklist.h).
const (
	containerPlain  = 1
	containerPacked = 2
)

// encodeList writes a list as Redis 7 does, whatever its encoding:
// RDB_TYPE_LIST_QUICKLIST_2, the number of nodes, then each node's
// container and its listpack (or a plain node's element) as a string.
func encodeList(dst []byte, _ []byte, obj keyspace.Object) (byte, []byte, error) {
	l, ok := obj.(*keyspace.List)
	if !ok {
		return 0, dst, ErrUnsupported
	}
	dst = AppendLen(dst, uint64(l.Chunks()))
	l.EachNode(func(elems [][]byte, plain bool) {
		if plain {
			dst = AppendLen(dst, containerPlain)
			dst = AppendString(dst, elems[0])
			return
		}
		dst = AppendLen(dst, containerPacked)
		lp := NewListpack()
		for _, e := range elems {
			lp.Append(e)
		}
		dst = AppendString(dst, lp.Bytes())
	})
	return TypeListQuicklist2, dst, nil
}

// decodeList reads any of the list encodings. Quicklist nodes are kept as
// they are (empty ones skipped), as Redis loads them; the list is then a
// listpack if it is a single small node (Redis 7.2). An empty list is an
// error.
func decodeList(r *Reader, t byte) ([]byte, keyspace.Object, error) {
	l := keyspace.NewList()
	l.SetLimits(r.config())
	collect := func(each func([]byte, func([]byte) error) error, blob []byte) ([][]byte, error) {
		var elems [][]byte
		err := each(blob, func(e []byte) error {
			elems = append(elems, append([]byte(nil), e...))
			return nil
		})
		return elems, err
	}
	switch t {
	case TypeList:
		n, err := r.Len()
		if err != nil {
			return nil, nil, err
		}
		var elems [][]byte
		for i := uint64(0); i < n; i++ {
			e, err := r.String()
			if err != nil {
				return nil, nil, err
			}
			elems = append(elems, e)
		}
		l.MakeQuicklist() // pushed as quicklist nodes
		for _, e := range elems {
			l.PushBack(e)
		}
	case TypeListZiplist:
		blob, err := r.String()
		if err != nil {
			return nil, nil, err
		}
		elems, err := collect(ZiplistEntries, blob)
		if err != nil {
			return nil, nil, err
		}
		l.AppendNode(elems, false)
	case TypeListQuicklist, TypeListQuicklist2:
		n, err := r.Len()
		if err != nil {
			return nil, nil, err
		}
		for i := uint64(0); i < n; i++ {
			container := uint64(containerPacked)
			if t == TypeListQuicklist2 {
				if container, err = r.Len(); err != nil {
					return nil, nil, err
				}
				if container != containerPlain && container != containerPacked {
					return nil, nil, ErrBadFormat
				}
			}
			blob, err := r.String()
			if err != nil {
				return nil, nil, err
			}
			if len(blob) == 0 {
				return nil, nil, ErrBadFormat
			}
			if container == containerPlain {
				l.AppendNode([][]byte{blob}, true)
				continue
			}
			each := ListpackEntries
			if t == TypeListQuicklist {
				each = ZiplistEntries
			}
			elems, err := collect(each, blob)
			if err != nil {
				return nil, nil, err
			}
			l.AppendNode(elems, false)
		}
	default:
		return nil, nil, ErrBadFormat
	}
	if l.Len() == 0 {
		return nil, nil, ErrBadFormat
	}
	l.AutoConvert()
	return nil, l, nil
}
