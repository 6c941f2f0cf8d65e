package hashes

import (
	"math"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/reply"
)

const (
	errCountRange      = command.Msg("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
	errValueOutOfRange = command.Msg("ERR value is out of range")
)

// maxRandCount bounds the reply of HRANDFIELD with a negative count.
// Redis 7.0 would try to build a reply of any size (and hang or run out of
// memory on counts like -2^62); Cairn refuses counts beyond this with
// "ERR value is out of range", the error Redis gives for counts it cannot
// double for WITHVALUES.
const maxRandCount = 1 << 22

// hrandfield implements
//
//	HRANDFIELD key [count [WITHVALUES]]
//
// Without count it replies with one random field (nil for a missing key).
// With a positive count, up to count distinct fields; with a negative one,
// exactly -count fields that may repeat; WITHVALUES adds each field's
// value. It is a read command: its randomness does not need to be the same
// on every replica.
func hrandfield(c *command.Ctx, args [][]byte) (reply.Value, error) {
	if len(args) == 2 {
		h, err := readHash(c, args[1])
		if err != nil || h == nil {
			return reply.Nil, err
		}
		name, _ := h.At(c.Rand().IntN(h.Len()))
		return reply.BulkString(name), nil
	}
	count, err := command.ParseInt(args[2])
	if err != nil {
		return reply.Value{}, err
	}
	if count == math.MinInt64 {
		return reply.Value{}, errCountRange
	}
	if len(args) > 4 || (len(args) == 4 && !command.EqualFold(args[3], "withvalues")) {
		return reply.Value{}, command.ErrSyntax
	}
	withValues := len(args) == 4
	if withValues && (count < -math.MaxInt64/2 || count > math.MaxInt64/2) {
		return reply.Value{}, errValueOutOfRange
	}
	h, err := readHash(c, args[1])
	if err != nil || h == nil {
		return reply.Array(), err
	}
	if count == 0 {
		return reply.Array(), nil
	}
	size := h.Len()
	rng := c.Rand()
	out := make([]reply.Value, 0)
	add := func(name string, v []byte) {
		out = append(out, reply.BulkString(name))
		if withValues {
			out = append(out, reply.Bulk(v))
		}
	}
	switch {
	case count < 0 || count == 1:
		// Fields may repeat (or only one is wanted): sample with
		// replacement, in random order.
		n := count
		if n < 0 {
			n = -n
		}
		if n > maxRandCount {
			return reply.Value{}, errValueOutOfRange
		}
		out = make([]reply.Value, 0, int(n)*pairLen(withValues))
		at := h.At
		if h.Encoding() == "listpack" && n > 1 {
			// Hash.At walks a listpack from its start: index
			// its (at most 128) fields once.
			names := make([]string, 0, size)
			values := make([][]byte, 0, size)
			h.Each(func(name string, v []byte) bool {
				names = append(names, name)
				values = append(values, v)
				return true
			})
			at = func(i int) (string, []byte) { return names[i], values[i] }
		}
		for i := int64(0); i < n; i++ {
			add(at(rng.IntN(size)))
		}
	case count >= int64(size):
		// The whole hash, in its order.
		out = make([]reply.Value, 0, size*pairLen(withValues))
		h.Each(func(name string, v []byte) bool {
			add(name, v)
			return true
		})
	case h.Encoding() == "listpack" || count*3 > int64(size):
		// Distinct fields in the hash's order, by selection sampling,
		// as Redis's lpRandomPairsUnique does for listpacks.
		out = make([]reply.Value, 0, int(count)*pairLen(withValues))
		need, left := int(count), size
		h.Each(func(name string, v []byte) bool {
			if rng.IntN(left) < need {
				add(name, v)
				need--
			}
			left--
			return need > 0
		})
	default:
		// Few distinct fields from a large hash: random picks, skipping
		// repeats.
		out = make([]reply.Value, 0, int(count)*pairLen(withValues))
		seen := make(map[int]struct{}, count)
		for len(seen) < int(count) {
			i := rng.IntN(size)
			if _, dup := seen[i]; dup {
				continue
			}
			seen[i] = struct{}{}
			add(h.At(i))
		}
	}
	return pairsReply(out), nil
}

func pairLen(withValues bool) int {
	if withValues {
		return 2
	}
	return 1
}

// pairsReply builds HRANDFIELD WITHVALUES's reply: [field, value] arrays in
// RESP3, one flat array in RESP2, as Redis 7 replies.
func pairsReply(flat []reply.Value) reply.Value {
	return reply.Pairs(flat...)
}
