package rdb

import (
	"encoding/binary"
	"errors"
	"math"
	"sort"

	"github.com/cairndb/cairn/server/command/cfloat"
	"github.com/cairndb/cairn/server/keyspace"
)

func init() {
	register(keyspace.TypeZSet, encodeZSet, decodeZSet,
		TypeZSet, TypeZSet2, TypeZSetZiplist, TypeZSetListpack)
}

// encodeZSet writes a listpack-encoded sorted set as RDB_TYPE_ZSET_LISTPACK
// (member and score entries, scores as Redis 7.0's zzlInsertAt writes them:
// an integer when the score is one, else "%.17g" text) and a skiplist as
// RDB_TYPE_ZSET_2 (a count, then member strings and binary double scores,
// from the greatest to the smallest, as Redis saves them).
func encodeZSet(dst []byte, _ []byte, obj keyspace.Object) (byte, []byte, error) {
	z, ok := obj.(*keyspace.ZSet)
	if !ok {
		return 0, dst, ErrUnsupported
	}
	if z.IsListpack() {
		lp := NewListpack()
		z.Each(func(e keyspace.ZEntry) bool {
			lp.Append([]byte(e.Member))
			lp.Append(cfloat.ScoreString(e.Score))
			return true
		})
		return TypeZSetListpack, AppendString(dst, lp.Bytes()), nil
	}
	dst = AppendLen(dst, uint64(z.Len()))
	z.Descend(z.Len()-1, func(e keyspace.ZEntry) bool {
		dst = AppendString(dst, []byte(e.Member))
		dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(e.Score))
		return true
	})
	return TypeZSet2, dst, nil
}

var (
	errDupZMember = errors.New("duplicate zset member")
	errNaNScore   = errors.New("zset with NaN score")
)

// decodeZSet reads any of the sorted-set encodings. As Redis 7.0 loads
// them: a ZSET or ZSET_2 becomes a listpack if it has at most 128 members
// of at most 64 bytes; a ziplist or listpack stays a listpack unless it has
// more than 128 members. Empty sets, duplicate members and NaN scores are
// errors.
func decodeZSet(r *Reader, t byte) ([]byte, keyspace.Object, error) {
	var entries []keyspace.ZEntry
	listpack := false
	switch t {
	case TypeZSet, TypeZSet2:
		n, err := r.Len()
		if err != nil {
			return nil, nil, err
		}
		if n > uint64(r.Remaining()) {
			return nil, nil, ErrBadFormat
		}
		entries = make([]keyspace.ZEntry, 0, n)
		for i := uint64(0); i < n; i++ {
			m, err := r.String()
			if err != nil {
				return nil, nil, err
			}
			var score float64
			if t == TypeZSet2 {
				b, err := r.Bytes(8)
				if err != nil {
					return nil, nil, err
				}
				score = math.Float64frombits(binary.LittleEndian.Uint64(b))
			} else if score, err = r.doubleValue(); err != nil {
				return nil, nil, err
			}
			entries = append(entries, keyspace.ZEntry{Score: score, Member: string(m)})
		}
	case TypeZSetZiplist, TypeZSetListpack:
		listpack = true
		blob, err := r.String()
		if err != nil {
			return nil, nil, err
		}
		each := ListpackEntries
		if t == TypeZSetZiplist {
			each = ZiplistEntries
		}
		var member string
		odd := false
		err = each(blob, func(e []byte) error {
			if !odd {
				member = string(e)
				odd = true
				return nil
			}
			odd = false
			score, _, _ := cfloat.Strtod(e)
			entries = append(entries, keyspace.ZEntry{Score: score, Member: member})
			return nil
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
	if len(entries) == 0 {
		return nil, nil, ErrBadFormat
	}
	seen := make(map[string]struct{}, len(entries))
	for _, e := range entries {
		if e.Score != e.Score {
			return nil, nil, errNaNScore
		}
		if _, dup := seen[e.Member]; dup {
			return nil, nil, errDupZMember
		}
		seen[e.Member] = struct{}{}
	}
	sort.SliceStable(entries, func(i, j int) bool {
		a, b := entries[i], entries[j]
		if a.Score != b.Score {
			return a.Score < b.Score
		}
		return a.Member < b.Member
	})
	if listpack && int64(len(entries)) <= r.config().ZSetMaxListpackEntries {
		return nil, keyspace.NewZSetListpack(entries), nil
	}
	if listpack {
		return nil, keyspace.NewZSetSkiplistFromSorted(entries), nil
	}
	return nil, keyspace.NewZSetFromSortedCfg(entries, r.config()), nil
}

// doubleValue reads an RDB_TYPE_ZSET score: a length byte (253 NaN, 254
// +inf, 255 -inf) and that many bytes of text, parsed as sscanf "%lg".
func (r *Reader) doubleValue() (float64, error) {
	n, err := r.Byte()
	if err != nil {
		return 0, err
	}
	switch n {
	case 253:
		return math.NaN(), nil
	case 254:
		return math.Inf(1), nil
	case 255:
		return math.Inf(-1), nil
	}
	b, err := r.Bytes(uint64(n))
	if err != nil {
		return 0, err
	}
	v, k, _ := cfloat.Strtod(b)
	if k == 0 {
		return 0, ErrBadFormat
	}
	return v, nil
}
