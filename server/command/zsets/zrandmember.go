package zsets

import (
	"math"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/server/reply"
)

const (
	errCountRange      = command.Msg("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
	errValueOutOfRange = command.Msg("ERR value is out of range")
)

// maxRandCount bounds the reply of ZRANDMEMBER with a negative count:
// Redis 7.0 would build a reply of any size; Cairn refuses counts beyond
// this with "ERR value is out of range" (as HRANDFIELD does).
const maxRandCount = 1 << 22

// zrandmember implements
//
//	ZRANDMEMBER key [count [WITHSCORES]]
//
// Without count it replies with one random member (nil for a missing key).
// With a positive count, up to count distinct members; with a negative
// one, exactly -count members that may repeat; WITHSCORES adds each
// member's score. A count at least the set's size returns the whole set,
// from the highest entry down, as Redis does. It is a read command: its
// randomness need not be the same on every replica.
func zrandmember(c *command.Ctx, args [][]byte) (reply.Value, error) {
	if len(args) == 2 {
		z, err := readZSet(c, args[1])
		if err != nil || z == nil {
			return reply.Nil, err
		}
		return reply.Bulk(memberBytes(z.At(c.Rand().IntN(z.Len())).Member)), nil
	}
	count, err := command.ParseInt(args[2])
	if err != nil {
		return reply.Value{}, err
	}
	if count == math.MinInt64 {
		return reply.Value{}, errCountRange
	}
	if len(args) > 4 || (len(args) == 4 && !command.EqualFold(args[3], "withscores")) {
		return reply.Value{}, command.ErrSyntax
	}
	withScores := len(args) == 4
	if withScores && (count < -math.MaxInt64/2 || count > math.MaxInt64/2) {
		return reply.Value{}, errValueOutOfRange
	}
	z, err := readZSet(c, args[1])
	if err != nil || z == nil || count == 0 {
		return reply.Array(), err
	}
	size := z.Len()
	rng := c.Rand()
	var out []reply.Value
	var text []byte
	add := func(e keyspace.ZEntry) {
		out = append(out, reply.Bulk(memberBytes(e.Member)))
		if withScores {
			var s reply.Value
			s, text = appendScore(text, e.Score)
			out = append(out, s)
		}
	}
	per := 1
	if withScores {
		per = 2
	}
	switch {
	case count < 0 || count == 1:
		n := count
		if n < 0 {
			n = -n
		}
		if n > maxRandCount {
			return reply.Value{}, errValueOutOfRange
		}
		out = make([]reply.Value, 0, int(n)*per)
		if z.IsListpack() && n > 1 {
			// At is O(rank) on a listpack: decode it once.
			entries := z.AppendEntries(nil)
			for i := int64(0); i < n; i++ {
				add(entries[rng.IntN(size)])
			}
			break
		}
		for i := int64(0); i < n; i++ {
			add(z.At(rng.IntN(size)))
		}
	case count >= int64(size):
		out = make([]reply.Value, 0, size*per)
		z.Descend(size-1, func(e keyspace.ZEntry) bool {
			add(e)
			return true
		})
	case z.IsListpack() || count*3 > int64(size):
		// Distinct members in the set's order, by selection sampling.
		out = make([]reply.Value, 0, int(count)*per)
		need, left := int(count), size
		z.Each(func(e keyspace.ZEntry) bool {
			if rng.IntN(left) < need {
				add(e)
				need--
			}
			left--
			return need > 0
		})
	default:
		out = make([]reply.Value, 0, int(count)*per)
		seen := make(map[int]struct{}, count)
		for len(seen) < int(count) {
			i := rng.IntN(size)
			if _, dup := seen[i]; dup {
				continue
			}
			seen[i] = struct{}{}
			add(z.At(i))
		}
	}
	if withScores {
		return reply.Pairs(out...), nil
	}
	return reply.Array(out...), nil
}
