package lists

import (
	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/reply"
)

// llen implements
//
//	LLEN key
func llen(c *command.Ctx, args [][]byte) (reply.Value, error) {
	l, err := readList(c, args[1])
	if err != nil || l == nil {
		return reply.Int(0), err
	}
	return reply.Int(int64(l.Len())), nil
}

// lindex implements
//
//	LINDEX key index
//
// A missing key replies nil before the index is parsed, as in Redis.
func lindex(c *command.Ctx, args [][]byte) (reply.Value, error) {
	l, err := readList(c, args[1])
	if err != nil || l == nil {
		return reply.Nil, err
	}
	i, err := command.ParseInt(args[2])
	if err != nil {
		return reply.Value{}, err
	}
	if i < -int64(l.Len()) || i >= int64(l.Len()) {
		return reply.Nil, nil
	}
	s, _ := l.Index(int(i))
	return reply.Bulk(append([]byte(nil), s...)), nil
}

// span converts LRANGE-style inclusive indexes (negative from the end)
// over a list of n elements into a start and a count (0 when empty).
func span(start, end int64, n int64) (int64, int64) {
	if start < 0 {
		start += n
	}
	if end < 0 {
		end += n
	}
	if start < 0 {
		start = 0
	}
	if start > end || start >= n {
		return 0, 0
	}
	if end >= n {
		end = n - 1
	}
	return start, end - start + 1
}

// lrange implements
//
//	LRANGE key start stop
//
// The reply's elements alias the list's storage, which is never
// overwritten in place.
func lrange(c *command.Ctx, args [][]byte) (reply.Value, error) {
	start, err := command.ParseInt(args[2])
	if err != nil {
		return reply.Value{}, err
	}
	end, err := command.ParseInt(args[3])
	if err != nil {
		return reply.Value{}, err
	}
	l, err := readList(c, args[1])
	if err != nil || l == nil {
		return reply.EmptyArray, err
	}
	from, n := span(start, end, int64(l.Len()))
	if n == 0 {
		return reply.EmptyArray, nil
	}
	elems := make([]reply.Value, 0, n)
	l.Range(int(from), int(n), false, func(s []byte) {
		elems = append(elems, reply.Value{Kind: reply.KindBulk, Str: s})
	})
	return reply.Value{Kind: reply.KindArray, Elems: elems}, nil
}

// lpos implements
//
//	LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len]
//
// It replies with the index of the rank-th match (negative rank: from the
// tail), or with COUNT, an array of up to num-matches indexes (0: all).
func lpos(c *command.Ctx, args [][]byte) (reply.Value, error) {
	rank, count, maxlen := int64(1), int64(-1), int64(0)
	for j := 3; j < len(args); j++ {
		more := j+1 < len(args)
		switch {
		case command.EqualFold(args[j], "rank") && more:
			j++
			v, err := command.ParseInt(args[j])
			if err != nil {
				return reply.Value{}, err
			}
			if v == -1<<63 {
				return reply.Value{}, errRankRange
			}
			if v == 0 {
				return reply.Value{}, errRankZero
			}
			rank = v
		case command.EqualFold(args[j], "count") && more:
			j++
			v, err := command.ParseInt(args[j])
			if err != nil || v < 0 {
				return reply.Value{}, errCountNegative
			}
			count = v
		case command.EqualFold(args[j], "maxlen") && more:
			j++
			v, err := command.ParseInt(args[j])
			if err != nil || v < 0 {
				return reply.Value{}, errMaxlenNegative
			}
			maxlen = v
		default:
			return reply.Value{}, command.ErrSyntax
		}
	}
	reverse := rank < 0
	if reverse {
		rank = -rank
	}
	l, err := readList(c, args[1])
	if err != nil {
		return reply.Value{}, err
	}
	if l == nil {
		if count != -1 {
			return reply.EmptyArray, nil
		}
		return reply.Nil, nil
	}
	n := int64(l.Len())
	var out []reply.Value
	it := l.Iter(reverse)
	matches := int64(0)
	for index := int64(0); maxlen == 0 || index < maxlen; index++ {
		e, ok := it.Next()
		if !ok {
			break
		}
		if string(e) != string(args[2]) {
			continue
		}
		matches++
		if matches < rank {
			continue
		}
		at := index
		if reverse {
			at = n - index - 1
		}
		if count == -1 {
			return reply.Int(at), nil
		}
		out = append(out, reply.Int(at))
		if count != 0 && matches-rank+1 >= count {
			break
		}
	}
	if count == -1 {
		return reply.Nil, nil
	}
	return reply.Array(out...), nil
}
