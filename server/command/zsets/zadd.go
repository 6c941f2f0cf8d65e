package zsets

import (
	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/server/reply"
)

const (
	errXXNX   = command.Msg("ERR XX and NX options at the same time are not compatible")
	errGTLTNX = command.Msg("ERR GT, LT, and/or NX options at the same time are not compatible")
	errIncr1  = command.Msg("ERR INCR option supports a single increment-element pair")
	errNaN    = command.Msg("ERR resulting score is not a number (NaN)")
)

// ZAddFlags are ZADD's options.
type ZAddFlags struct {
	NX, XX, GT, LT, CH, Incr bool
}

// zadd implements
//
//	ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...]
//	ZINCRBY key increment member
//
// exactly as Redis's zaddGenericCommand: options are read from the third
// argument on (so ZINCRBY with an option word there is a syntax error),
// every score is parsed before the key is touched, and ZADD replies with
// the number of members added (or added and updated with CH); with INCR,
// the new score, or nil when NX/XX/GT/LT prevented the change.
func zadd(c *command.Ctx, args [][]byte) (reply.Value, error) {
	var f ZAddFlags
	f.Incr = command.EqualFold(args[0], "zincrby")
	i := 2
	for ; i < len(args); i++ {
		a := args[i]
		switch {
		case command.EqualFold(a, "nx"):
			f.NX = true
		case command.EqualFold(a, "xx"):
			f.XX = true
		case command.EqualFold(a, "ch"):
			f.CH = true
		case command.EqualFold(a, "incr"):
			f.Incr = true
		case command.EqualFold(a, "gt"):
			f.GT = true
		case command.EqualFold(a, "lt"):
			f.LT = true
		default:
			goto done
		}
	}
done:
	return ZAdd(c, args[1], f, args[i:])
}

// ZAdd runs ZADD on key with the given options and score/member pairs
// (GEOADD calls it with computed scores). It validates like Redis: the
// pairs, then the option combinations, then every score.
func ZAdd(c *command.Ctx, key []byte, f ZAddFlags, pairs [][]byte) (reply.Value, error) {
	if len(pairs) == 0 || len(pairs)%2 != 0 {
		return reply.Value{}, command.ErrSyntax
	}
	if f.NX && f.XX {
		return reply.Value{}, errXXNX
	}
	if f.GT && f.NX || f.LT && f.NX || f.GT && f.LT {
		return reply.Value{}, errGTLTNX
	}
	if f.Incr && len(pairs) > 2 {
		return reply.Value{}, errIncr1
	}
	scores := make([]float64, len(pairs)/2)
	for j := range scores {
		s, err := parseScore(pairs[2*j])
		if err != nil {
			return reply.Value{}, err
		}
		scores[j] = s
	}
	it, z, err := lookupWrite(c, key)
	if err != nil {
		return reply.Value{}, err
	}
	noop := func() reply.Value {
		if f.Incr {
			return reply.Nil
		}
		return reply.Int(0)
	}
	if it == nil && f.XX {
		return noop(), nil
	}
	// Decide every change before making any, so a set shared with a
	// snapshot is cloned only when something changes, and a NaN result
	// leaves the key as it was.
	type change struct {
		member []byte
		score  float64
	}
	changes := make([]change, 0, len(scores))
	added, updated, processed := 0, 0, 0
	var newScore float64
	// Members changed earlier in this command are looked up among the
	// changes (a map when there are many).
	var pending map[string]float64
	if len(scores) > 8 {
		pending = make(map[string]float64, len(scores))
	}
	lookupPending := func(m []byte) (float64, bool) {
		if pending != nil {
			v, ok := pending[string(m)]
			return v, ok
		}
		for k := len(changes) - 1; k >= 0; k-- {
			if string(changes[k].member) == string(m) {
				return changes[k].score, true
			}
		}
		return 0, false
	}
	for j, s := range scores {
		member := pairs[2*j+1]
		cur, exists := lookupPending(member)
		if !exists && z != nil {
			cur, exists = z.Score(member)
		}
		if exists {
			if f.NX {
				continue
			}
			if f.Incr {
				s += cur
				if s != s {
					return reply.Value{}, errNaN
				}
			}
			if f.LT && s >= cur || f.GT && s <= cur {
				continue
			}
			newScore = s
			processed++
			if s != cur {
				updated++
				changes = append(changes, change{member, s})
				if pending != nil {
					pending[string(member)] = s
				}
			}
			continue
		}
		if f.XX {
			continue
		}
		newScore = s
		processed++
		added++
		changes = append(changes, change{member, s})
		if pending != nil {
			pending[string(member)] = s
		}
	}
	if len(changes) > 0 {
		if it == nil {
			z = keyspace.NewZSet()
			c.DB.Put(key, nil, z, 0)
		} else {
			z = mutable(c, it)
		}
		if len(changes) == 1 {
			z.SetCfg(changes[0].member, changes[0].score, &c.DB.Cfg)
		} else {
			members := make([][]byte, len(changes))
			scores := make([]float64, len(changes))
			for i, ch := range changes {
				members[i], scores[i] = ch.member, ch.score
			}
			z.SetManyCfg(members, scores, &c.DB.Cfg)
		}
		// Within one command a member may be both added and then
		// updated; Redis counts what each step did, as computed above.
		c.Dirty += int64(added + updated)
		event := "zadd"
		if f.Incr {
			event = "zincr"
		}
		c.Notify(command.ClassZSet, event, key)
	}
	if f.Incr {
		if processed == 0 {
			return reply.Nil, nil
		}
		return score(newScore), nil
	}
	if f.CH {
		return reply.Int(int64(added + updated)), nil
	}
	return reply.Int(int64(added)), nil
}
