package sets

import (
	"math"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/server/reply"
)

// spopMoveStrategyMul is Redis's SPOP_MOVE_STRATEGY_MUL: SPOP with a
// count keeps popping random members while the members left are more than
// count/5, and otherwise moves the few members that stay into a new set.
const spopMoveStrategyMul = 5

// maxRandCount bounds the reply of SRANDMEMBER with a negative count.
// Redis 7.0 would build a reply of any size (and run out of memory on
// counts like -2^62); Cairn refuses counts beyond this with "ERR value is
// out of range".
const maxRandCount = 1 << 22

// spop implements
//
//	SPOP key [count]
//
// Without count it removes and replies one random member (nil for a
// missing key). With a count it removes up to count distinct random
// members and replies them as a RESP3 set, as Redis does:
//   - count >= the set's size: the whole set (in the order SUNION would
//     list it) and the key is deleted;
//   - otherwise, if the members left outnumber count/5, count random
//     members are popped one by one;
//   - otherwise the members that stay are drawn at random into a new set,
//     which replaces the old one (its encoding is recomputed: a hashtable
//     whose remaining members are integers becomes an intset), and the
//     rest of the old set is the reply.
//
// The random numbers come from c.Rand(), seeded from the log entry, so
// every replica pops the same members.
func spop(c *command.Ctx, args [][]byte) (reply.Value, error) {
	if len(args) > 3 {
		return reply.Value{}, command.ErrSyntax
	}
	if len(args) == 3 {
		return spopCount(c, args)
	}
	it, s, err := lookupWrite(c, args[1])
	if err != nil || it == nil {
		return reply.Nil, err
	}
	s = mutableSet(c, args[1], it)
	m := s.RemoveAt(c.Rand().IntN(s.Len()))
	c.Notify(command.ClassSet, "spop", args[1])
	if s.Len() == 0 {
		c.DB.Delete(args[1])
		c.Notify(command.ClassGeneric, "del", args[1])
	}
	c.Dirty++
	return reply.Bulk(m), nil
}

func spopCount(c *command.Ctx, args [][]byte) (reply.Value, error) {
	n, err := command.ParseInt(args[2])
	if err != nil || n < 0 {
		return reply.Value{}, errMustBePositive
	}
	it, s, err := lookupWrite(c, args[1])
	if err != nil {
		return reply.Value{}, err
	}
	if it == nil || n == 0 {
		return reply.Set(), nil
	}
	count, size := uint64(n), uint64(s.Len())
	c.Notify(command.ClassSet, "spop", args[1])
	c.Dirty += int64(min(count, size))
	if count >= size {
		// The whole set, listed as SUNION key lists it.
		u := keyspace.NewSet()
		s.Each(func(m []byte) bool { u.AddCfg(m, &c.DB.Cfg); return true })
		c.DB.Delete(args[1])
		c.Notify(command.ClassGeneric, "del", args[1])
		return setReply(u), nil
	}
	it = c.DB.Mutable(it)
	s = it.Obj.(*keyspace.Set)
	rng := c.Rand()
	remaining := size - count
	if remaining*spopMoveStrategyMul > count {
		out := make([]reply.Value, count)
		for i := range out {
			out[i] = reply.Bulk(s.RemoveAt(rng.IntN(s.Len())))
		}
		return reply.Set(out...), nil
	}
	ns := keyspace.NewSet()
	for ; remaining > 0; remaining-- {
		ns.AddCfg(s.RemoveAt(rng.IntN(s.Len())), &c.DB.Cfg)
	}
	it.Obj = ns
	return setReply(s), nil
}

// srandmember implements
//
//	SRANDMEMBER key [count]
//
// Without count it replies one random member (nil for a missing key).
// With a positive count it replies up to count distinct members (the whole
// set in its order when count >= its size); with a negative count exactly
// -count members that may repeat, in random order. It is a read: its
// randomness need not agree across replicas.
func srandmember(c *command.Ctx, args [][]byte) (reply.Value, error) {
	if len(args) > 3 {
		return reply.Value{}, command.ErrSyntax
	}
	if len(args) == 2 {
		s, err := readSet(c, args[1])
		if err != nil || s == nil {
			return reply.Nil, err
		}
		return reply.Bulk(s.Member(c.Rand().IntN(s.Len()))), nil
	}
	count, err := command.ParseInt(args[2])
	if err != nil {
		return reply.Value{}, err
	}
	if count == math.MinInt64 {
		return reply.Value{}, errCountRange
	}
	s, err := readSet(c, args[1])
	if err != nil {
		return reply.Value{}, err
	}
	if s == nil || count == 0 {
		return reply.Array(), nil
	}
	size := s.Len()
	rng := c.Rand()
	switch {
	case count < 0 || count == 1:
		n := count
		if n < 0 {
			n = -n
		}
		if n > maxRandCount {
			return reply.Value{}, errValueRange
		}
		out := make([]reply.Value, n)
		for i := range out {
			out[i] = reply.Bulk(s.Member(rng.IntN(size)))
		}
		return reply.Array(out...), nil
	case count >= int64(size):
		return reply.Array(bulks(s.Members(make([][]byte, 0, size)))...), nil
	case count*3 > int64(size):
		// Distinct members in the set's order, by selection sampling.
		out := make([]reply.Value, 0, count)
		need, left := int(count), size
		for i := 0; need > 0; i++ {
			if rng.IntN(left) < need {
				out = append(out, reply.Bulk(s.Member(i)))
				need--
			}
			left--
		}
		return reply.Array(out...), nil
	default:
		// Few members of a large set: random picks, skipping repeats.
		out := make([]reply.Value, 0, count)
		seen := make(map[int]struct{}, count)
		for len(out) < int(count) {
			i := rng.IntN(size)
			if _, dup := seen[i]; dup {
				continue
			}
			seen[i] = struct{}{}
			out = append(out, reply.Bulk(s.Member(i)))
		}
		return reply.Array(out...), nil
	}
}
