package sets

import (
	"sort"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/server/reply"
)

// Errors of SINTERCARD, in Redis's words.
const (
	errNumKeys       = command.Msg("ERR numkeys should be greater than 0")
	errNumKeysArgs   = command.Msg("ERR Number of keys can't be greater than number of args")
	errLimitNegative = command.Msg("ERR LIMIT can't be negative")
)

// loadSets looks up every key (as a writer when write is set: expired keys
// are deleted) and returns their sets, nil for a missing key. Any key of
// another type is WRONGTYPE, even after a missing one.
func loadSets(c *command.Ctx, keys [][]byte, write bool) ([]*keyspace.Set, error) {
	sets := make([]*keyspace.Set, len(keys))
	for i, k := range keys {
		var it *keyspace.Item
		if write {
			it = c.DB.Lookup(k, c.Now)
		} else {
			it = c.DB.Get(k, c.Now)
		}
		if it == nil {
			continue
		}
		s, ok := it.Obj.(*keyspace.Set)
		if !ok {
			return nil, keyspace.ErrWrongType
		}
		sets[i] = s
	}
	return sets, nil
}

// store saves the result of a *STORE command at dst (replacing any value
// and its expiry) and replies with its size; an empty result deletes dst.
func store(c *command.Ctx, dst []byte, res *keyspace.Set, event string) reply.Value {
	if res.Len() > 0 {
		c.DB.Put(dst, nil, res, 0)
		c.Notify(command.ClassSet, event, dst)
		c.Dirty++
		return reply.Int(int64(res.Len()))
	}
	if c.DB.Delete(dst) {
		c.Dirty++
		c.Notify(command.ClassGeneric, "del", dst)
	}
	return reply.Int(0)
}

// sinter implements
//
//	SINTER key [key ...]
//
// Missing keys are empty sets. The members are listed in the order of the
// smallest set (sorted when it is an intset).
func sinter(c *command.Ctx, args [][]byte) (reply.Value, error) {
	return inter(c, args[1:], nil, false, 0)
}

// sinterstore implements
//
//	SINTERSTORE destination key [key ...]
func sinterstore(c *command.Ctx, args [][]byte) (reply.Value, error) {
	return inter(c, args[2:], args[1], false, 0)
}

// sintercard implements
//
//	SINTERCARD numkeys key [key ...] [LIMIT limit]
//
// It replies with the size of the intersection, counting up to limit
// (0: no limit).
func sintercard(c *command.Ctx, args [][]byte) (reply.Value, error) {
	numkeys, err := command.ParseInt(args[1])
	if err != nil || numkeys < 1 {
		return reply.Value{}, errNumKeys
	}
	if numkeys > int64(len(args)-2) {
		return reply.Value{}, errNumKeysArgs
	}
	limit := int64(0)
	for j := 2 + int(numkeys); j < len(args); j++ {
		if command.EqualFold(args[j], "limit") && j+1 < len(args) {
			j++
			limit, err = command.ParseInt(args[j])
			if err != nil || limit < 0 {
				return reply.Value{}, errLimitNegative
			}
			continue
		}
		return reply.Value{}, command.ErrSyntax
	}
	return inter(c, args[2:2+numkeys], nil, true, limit)
}

// sintercardKeys returns SINTERCARD's key positions.
func sintercardKeys(args [][]byte) []int {
	if len(args) < 3 {
		return nil
	}
	n, err := command.ParseInt(args[1])
	if err != nil || n < 1 || n > int64(len(args)-2) {
		return nil
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = 2 + i
	}
	return idx
}

// inter is Redis's sinterGenericCommand: the intersection of the sets at
// keys, stored at dst if it is not nil, counted (up to limit) if cardOnly,
// replied otherwise.
func inter(c *command.Ctx, keys [][]byte, dst []byte, cardOnly bool, limit int64) (reply.Value, error) {
	sets, err := loadSets(c, keys, dst != nil)
	if err != nil {
		return reply.Value{}, err
	}
	for _, s := range sets {
		if s == nil {
			switch {
			case dst != nil:
				return store(c, dst, keyspace.NewSet(), ""), nil
			case cardOnly:
				return reply.Int(0), nil
			}
			return reply.Set(), nil
		}
	}
	// Smallest set first (a stable sort: deterministic on ties).
	sort.SliceStable(sets, func(i, j int) bool { return sets[i].Len() < sets[j].Len() })
	var res *keyspace.Set
	if dst != nil {
		res = keyspace.NewSet()
	}
	var out []reply.Value
	card := int64(0)
	for _, m := range sets[0].Members(make([][]byte, 0, sets[0].Len())) {
		in := true
		for _, o := range sets[1:] {
			if o != sets[0] && !o.Has(m) {
				in = false
				break
			}
		}
		if !in {
			continue
		}
		card++
		switch {
		case cardOnly:
			if limit > 0 && card >= limit {
				return reply.Int(card), nil
			}
		case dst != nil:
			res.AddCfg(m, &c.DB.Cfg)
		default:
			out = append(out, reply.Bulk(m))
		}
	}
	switch {
	case dst != nil:
		return store(c, dst, res, "sinterstore"), nil
	case cardOnly:
		return reply.Int(card), nil
	}
	return reply.Set(out...), nil
}

const (
	opUnion = iota
	opDiff
)

// sunion implements
//
//	SUNION key [key ...]
func sunion(c *command.Ctx, args [][]byte) (reply.Value, error) {
	return unionDiff(c, args[1:], nil, opUnion)
}

// sunionstore implements
//
//	SUNIONSTORE destination key [key ...]
func sunionstore(c *command.Ctx, args [][]byte) (reply.Value, error) {
	return unionDiff(c, args[2:], args[1], opUnion)
}

// sdiff implements
//
//	SDIFF key [key ...]
//
// The members of the first set that are in none of the others.
func sdiff(c *command.Ctx, args [][]byte) (reply.Value, error) {
	return unionDiff(c, args[1:], nil, opDiff)
}

// sdiffstore implements
//
//	SDIFFSTORE destination key [key ...]
func sdiffstore(c *command.Ctx, args [][]byte) (reply.Value, error) {
	return unionDiff(c, args[2:], args[1], opDiff)
}

// unionDiff is Redis's sunionDiffGenericCommand. The result is built as a
// new set, exactly as Redis builds it (starting as an intset, converting
// on the way), so its encoding and its order match: sorted when the
// result is an intset. SDIFF picks Redis's algorithm by the same cost
// estimate, because the second one (copy the first set, then remove) may
// leave a hashtable-encoded result holding only integers.
func unionDiff(c *command.Ctx, keys [][]byte, dst []byte, op int) (reply.Value, error) {
	sets, err := loadSets(c, keys, dst != nil)
	if err != nil {
		return reply.Value{}, err
	}
	res := keyspace.NewSet()
	switch {
	case op == opUnion:
		for _, s := range sets {
			if s != nil {
				s.Each(func(m []byte) bool { res.AddCfg(m, &c.DB.Cfg); return true })
			}
		}
	case sets[0] == nil:
	case sameSet(sets):
		// A set minus itself is empty.
	default:
		oneWork, twoWork := int64(0), int64(0)
		for _, s := range sets {
			if s != nil {
				oneWork += int64(sets[0].Len())
				twoWork += int64(s.Len())
			}
		}
		if oneWork/2 <= twoWork {
			// Algorithm 1: each member of the first set that no other
			// set holds.
			sets[0].Each(func(m []byte) bool {
				for _, o := range sets[1:] {
					if o != nil && o.Has(m) {
						return true
					}
				}
				res.AddCfg(m, &c.DB.Cfg)
				return true
			})
		} else {
			// Algorithm 2: the first set, minus every other set.
			sets[0].Each(func(m []byte) bool { res.AddCfg(m, &c.DB.Cfg); return true })
			for _, o := range sets[1:] {
				if o == nil {
					continue
				}
				o.Each(func(m []byte) bool { res.Remove(m); return res.Len() > 0 })
				if res.Len() == 0 {
					break
				}
			}
		}
	}
	if dst == nil {
		return setReply(res), nil
	}
	event := "sunionstore"
	if op == opDiff {
		event = "sdiffstore"
	}
	return store(c, dst, res, event), nil
}

// sameSet tells whether a later key names the same set as the first.
func sameSet(sets []*keyspace.Set) bool {
	for _, s := range sets[1:] {
		if s == sets[0] {
			return true
		}
	}
	return false
}
