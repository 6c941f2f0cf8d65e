package zsets

import (
	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/server/reply"
)

const (
	errLimitRank     = command.Msg("ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX")
	errWithscoresLex = command.Msg("ERR syntax error, WITHSCORES not supported in combination with BYLEX")
)

type rangeType int

const (
	rangeAuto rangeType = iota
	rangeRank
	rangeScore
	rangeLex
)

type direction int

const (
	dirAuto direction = iota
	dirForward
	dirReverse
)

// zrangeSpec is one ZRANGE-family request, parsed.
type zrangeSpec struct {
	key        []byte
	kind       rangeType
	reverse    bool
	withScores bool
	offset     int64
	limit      int64 // -1: no limit
	start, end int64
	score      scoreRange
	lex        lexRange
}

// parseZrange parses the arguments from the source key on, as Redis's
// zrangeGenericCommand: options first (in any order), then the range.
func parseZrange(args [][]byte, store bool, kind rangeType, dir direction) (zrangeSpec, error) {
	s := zrangeSpec{key: args[0], limit: -1}
	for j := 3; j < len(args); j++ {
		left := len(args) - j - 1
		a := args[j]
		switch {
		case !store && command.EqualFold(a, "withscores"):
			s.withScores = true
		case command.EqualFold(a, "limit") && left >= 2:
			var err error
			if s.offset, err = parseLong(args[j+1]); err != nil {
				return s, err
			}
			if s.limit, err = parseLong(args[j+2]); err != nil {
				return s, err
			}
			j += 2
		case dir == dirAuto && command.EqualFold(a, "rev"):
			dir = dirReverse
		case kind == rangeAuto && command.EqualFold(a, "bylex"):
			kind = rangeLex
		case kind == rangeAuto && command.EqualFold(a, "byscore"):
			kind = rangeScore
		default:
			return s, command.ErrSyntax
		}
	}
	if dir == dirAuto {
		dir = dirForward
	}
	if kind == rangeAuto {
		kind = rangeRank
	}
	s.kind, s.reverse = kind, dir == dirReverse
	if s.limit != -1 && kind == rangeRank {
		return s, errLimitRank
	}
	if s.withScores && kind == rangeLex {
		return s, errWithscoresLex
	}
	minArg, maxArg := args[1], args[2]
	if s.reverse && kind != rangeRank {
		minArg, maxArg = maxArg, minArg
	}
	var err error
	switch kind {
	case rangeRank:
		if s.start, err = parseLong(minArg); err != nil {
			return s, err
		}
		if s.end, err = parseLong(maxArg); err != nil {
			return s, err
		}
	case rangeScore:
		s.score, err = parseScoreRange(minArg, maxArg)
	case rangeLex:
		s.lex, err = parseLexRange(minArg, maxArg)
	}
	return s, err
}

// run calls emit for every entry of the range, in reply order, and
// returns the rank-range length known in advance (-1 for score and lex
// ranges), as Redis's zrange handlers emit them.
func (s *zrangeSpec) run(z *keyspace.ZSet, emit func(keyspace.ZEntry)) int64 {
	switch s.kind {
	case rangeRank:
		n := int64(z.Len())
		start, end := s.start, s.end
		if start < 0 {
			start += n
		}
		if end < 0 {
			end += n
		}
		start = max(start, 0)
		if start > end || start >= n {
			return 0
		}
		end = min(end, n-1)
		count := end - start + 1
		k := count
		visit := func(e keyspace.ZEntry) bool {
			emit(e)
			k--
			return k > 0
		}
		if s.reverse {
			z.Descend(int(n-1-start), visit)
		} else {
			z.Ascend(int(start), visit)
		}
		return count
	case rangeScore:
		if s.offset > 0 && s.offset >= int64(z.Len()) {
			return -1
		}
		var i int
		if s.reverse {
			i = s.score.last(z)
		} else {
			i = s.score.first(z)
		}
		s.walk(z, i, func(e keyspace.ZEntry) bool {
			if s.reverse {
				return s.score.gteMin(e.Score)
			}
			return s.score.lteMax(e.Score)
		}, emit)
	case rangeLex:
		var i int
		if s.reverse {
			i = s.lex.last(z)
		} else {
			i = s.lex.first(z)
		}
		s.walk(z, i, func(e keyspace.ZEntry) bool {
			if s.reverse {
				return s.lex.gteMin(e.Member)
			}
			return s.lex.lteMax(e.Member)
		}, emit)
	}
	return -1
}

// walk skips offset entries from rank i (-1: none) in the range's
// direction, then emits up to limit entries while in reports them in
// range. A negative offset skips everything, as Redis's "while (offset--)"
// loop runs off the end.
func (s *zrangeSpec) walk(z *keyspace.ZSet, i int, in func(keyspace.ZEntry) bool, emit func(keyspace.ZEntry)) {
	if i < 0 || s.offset < 0 || s.limit == 0 {
		return
	}
	if s.reverse {
		i -= int(min(s.offset, int64(i)+1))
	} else {
		i += int(min(s.offset, int64(z.Len())))
	}
	limit := s.limit
	visit := func(e keyspace.ZEntry) bool {
		if !in(e) {
			return false
		}
		emit(e)
		limit--
		return limit != 0
	}
	if s.reverse {
		z.Descend(i, visit)
	} else {
		z.Ascend(i, visit)
	}
}

// zrangeCmd implements ZRANGE, ZREVRANGE, ZRANGEBYSCORE, ZREVRANGEBYSCORE,
// ZRANGEBYLEX and ZREVRANGEBYLEX:
//
//	ZRANGE key start stop [BYSCORE|BYLEX] [REV] [LIMIT offset count] [WITHSCORES]
//	ZREVRANGE key start stop [WITHSCORES]
//	ZRANGEBYSCORE key min max [WITHSCORES] [LIMIT offset count]
//	ZREVRANGEBYSCORE key max min [WITHSCORES] [LIMIT offset count]
//	ZRANGEBYLEX key min max [LIMIT offset count]
//	ZREVRANGEBYLEX key max min [LIMIT offset count]
func zrangeCmd(kind rangeType, dir direction) command.Handler {
	return func(c *command.Ctx, args [][]byte) (reply.Value, error) {
		s, err := parseZrange(args[1:], false, kind, dir)
		if err != nil {
			return reply.Value{}, err
		}
		z, err := readZSet(c, s.key)
		if err != nil || z == nil {
			return reply.Array(), err
		}
		// The reply aliases the members (immutable strings) and slices
		// the scores' text out of one buffer.
		per := 1
		if s.withScores {
			per = 2
		}
		var out []reply.Value
		var text []byte
		add := func(e keyspace.ZEntry) {
			out = append(out, reply.Value{Kind: reply.KindBulk, Str: memberBytes(e.Member)})
			if s.withScores {
				var v reply.Value
				v, text = appendScore(text, e.Score)
				out = append(out, v)
			}
		}
		if s.kind == rangeRank {
			// Entries are fetched a chunk at a time, without a call per
			// entry.
			n := int64(z.Len())
			count := rankCount(s.start, s.end, n)
			out = make([]reply.Value, 0, count*int64(per))
			if s.withScores {
				text = make([]byte, 0, count*4)
			}
			start := s.start
			if start < 0 {
				start = max(start+n, 0)
			}
			var buf [keyspace.ZSetMaxListpackEntries]keyspace.ZEntry
			for done := int64(0); done < count; {
				rank := start + done
				if s.reverse {
					rank = n - 1 - rank
				}
				chunk := z.AppendRange(buf[:0], int(rank), int(min(count-done, int64(len(buf)))), s.reverse)
				for _, e := range chunk {
					out = append(out, reply.Value{Kind: reply.KindBulk, Str: memberBytes(e.Member)})
					if s.withScores {
						var v reply.Value
						v, text = appendScore(text, e.Score)
						out = append(out, v)
					}
				}
				if len(chunk) == 0 {
					break // cannot happen: count is within the set
				}
				done += int64(len(chunk))
			}
		} else {
			s.run(z, add)
		}
		if s.withScores {
			return reply.Pairs(out...), nil
		}
		return reply.Array(out...), nil
	}
}

// rankCount is the number of entries of the rank range start..end (as
// given, negative from the end) of a set of n entries.
func rankCount(start, end, n int64) int64 {
	if start < 0 {
		start += n
	}
	if end < 0 {
		end += n
	}
	start = max(start, 0)
	if start > end || start >= n {
		return 0
	}
	return min(end, n-1) - start + 1
}

// zrangestore implements
//
//	ZRANGESTORE dst src min max [BYSCORE|BYLEX] [REV] [LIMIT offset count]
//
// The result replaces dst (a missing or empty result deletes it). The new
// set is built as Redis builds it: a listpack (a skiplist when a rank
// range is known to exceed 128 entries) filled member by member, which
// converts as ZADD would.
func zrangestore(c *command.Ctx, args [][]byte) (reply.Value, error) {
	s, err := parseZrange(args[2:], true, rangeAuto, dirAuto)
	if err != nil {
		return reply.Value{}, err
	}
	_, src, err := lookupWrite(c, s.key)
	if err != nil {
		return reply.Value{}, err
	}
	var dst *keyspace.ZSet
	if src != nil {
		var entries []keyspace.ZEntry
		n := s.run(src, func(e keyspace.ZEntry) { entries = append(entries, e) })
		if int64(n) > c.DB.Cfg.ZSetMaxListpackEntries {
			dst = keyspace.NewZSetSkiplist()
		} else {
			dst = keyspace.NewZSet()
		}
		members := make([][]byte, len(entries))
		scores := make([]float64, len(entries))
		for i, e := range entries {
			members[i], scores[i] = memberBytes(e.Member), e.Score
		}
		dst.SetManyCfg(members, scores, &c.DB.Cfg)
	}
	return reply.Int(storeResult(c, args[1], dst, "zrangestore")), nil
}

// zcount implements
//
//	ZCOUNT key min max
func zcount(c *command.Ctx, args [][]byte) (reply.Value, error) {
	r, err := parseScoreRange(args[2], args[3])
	if err != nil {
		return reply.Value{}, err
	}
	z, err := readZSet(c, args[1])
	if err != nil || z == nil {
		return reply.Int(0), err
	}
	first := r.first(z)
	if first < 0 {
		return reply.Int(0), nil
	}
	last := r.last(z)
	return reply.Int(int64(last - first + 1)), nil
}

// zlexcount implements
//
//	ZLEXCOUNT key min max
func zlexcount(c *command.Ctx, args [][]byte) (reply.Value, error) {
	r, err := parseLexRange(args[2], args[3])
	if err != nil {
		return reply.Value{}, err
	}
	z, err := readZSet(c, args[1])
	if err != nil || z == nil {
		return reply.Int(0), err
	}
	first := r.first(z)
	if first < 0 {
		return reply.Int(0), nil
	}
	if z.IsListpack() {
		n := int64(0)
		z.Ascend(first, func(e keyspace.ZEntry) bool {
			if !r.lteMax(e.Member) {
				return false
			}
			n++
			return true
		})
		return reply.Int(n), nil
	}
	count := int64(z.Len() - first)
	if last := r.last(z); last >= 0 {
		count -= int64(z.Len() - 1 - last)
	}
	return reply.Int(count), nil
}
