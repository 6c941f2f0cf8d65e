package zsets

import (
	"sort"
	"strings"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/server/reply"
)

const (
	errWeight        = command.Msg("ERR weight value is not a float")
	errLimitNegative = command.Msg("ERR LIMIT can't be negative")
)

// SetSource is what ZUNION, ZINTER and ZDIFF need from a Redis set value,
// which they accept as a sorted set whose scores are all 1.
type SetSource interface {
	keyspace.Object
	Has(member []byte) bool
	Each(fn func(member []byte) bool)
}

type setOp int

const (
	opUnion setOp = iota
	opInter
	opDiff
)

type aggregate int

const (
	aggSum aggregate = iota
	aggMin
	aggMax
)

// opSource is one input of a set operation (Redis's zsetopsrc).
type opSource struct {
	z      *keyspace.ZSet
	set    SetSource
	weight float64
}

func (s *opSource) len() int {
	switch {
	case s.z != nil:
		return s.z.Len()
	case s.set != nil:
		return s.set.Len()
	}
	return 0
}

// each visits the source's elements (a sorted set from its highest
// entry, as Redis's zuiNext does).
func (s *opSource) each(fn func(member string, score float64) bool) {
	switch {
	case s.z != nil:
		s.z.Descend(s.z.Len()-1, func(e keyspace.ZEntry) bool { return fn(e.Member, e.Score) })
	case s.set != nil:
		s.set.Each(func(m []byte) bool { return fn(string(m), 1) })
	}
}

func (s *opSource) find(member string) (float64, bool) {
	switch {
	case s.z != nil:
		return s.z.Score([]byte(member))
	case s.set != nil:
		if s.set.Has([]byte(member)) {
			return 1, true
		}
	}
	return 0, false
}

func (a aggregate) apply(target *float64, v float64) {
	switch a {
	case aggSum:
		*target += v
		// +inf + -inf is NaN; Redis makes it 0.
		if *target != *target {
			*target = 0
		}
	case aggMin:
		if v < *target {
			*target = v
		}
	case aggMax:
		if v > *target {
			*target = v
		}
	}
}

// setOpResult is a parsed and computed set operation.
type setOpResult struct {
	entries    []keyspace.ZEntry // in order
	withScores bool
	card       int64
}

// runSetOp is Redis's zunionInterDiffGenericCommand from the numkeys
// argument (args[numIdx]) on. dst reports whether the command stores its
// result (no WITHSCORES then); cardOnly is ZINTERCARD.
func runSetOp(c *command.Ctx, args [][]byte, numIdx int, op setOp, dst, cardOnly bool, write bool) (*setOpResult, error) {
	setnum, err := parseLong(args[numIdx])
	if err != nil {
		return nil, err
	}
	if setnum < 1 {
		return nil, command.Msg("ERR at least 1 input key is needed for '" + strings.ToLower(string(args[0])) + "' command")
	}
	if setnum > int64(len(args)-numIdx-1) {
		return nil, command.ErrSyntax
	}
	src := make([]opSource, setnum)
	j := numIdx + 1
	for i := range src {
		var it *keyspace.Item
		if write {
			it = c.DB.Lookup(args[j], c.Now)
		} else {
			it = c.DB.Get(args[j], c.Now)
		}
		j++
		src[i].weight = 1
		if it == nil {
			continue
		}
		switch o := it.Obj.(type) {
		case *keyspace.ZSet:
			src[i].z = o
		case SetSource:
			if o.Type() != keyspace.TypeSet {
				return nil, keyspace.ErrWrongType
			}
			src[i].set = o
		default:
			return nil, keyspace.ErrWrongType
		}
	}
	agg := aggSum
	res := &setOpResult{}
	var limit int64
	for j < len(args) {
		remaining := len(args) - j
		a := args[j]
		switch {
		case op != opDiff && !cardOnly && remaining >= len(src)+1 && command.EqualFold(a, "weights"):
			j++
			for i := range src {
				w, ok := parseWeight(args[j])
				if !ok {
					return nil, errWeight
				}
				src[i].weight = w
				j++
			}
		case op != opDiff && !cardOnly && remaining >= 2 && command.EqualFold(a, "aggregate"):
			switch b := args[j+1]; {
			case command.EqualFold(b, "sum"):
				agg = aggSum
			case command.EqualFold(b, "min"):
				agg = aggMin
			case command.EqualFold(b, "max"):
				agg = aggMax
			default:
				return nil, command.ErrSyntax
			}
			j += 2
		case remaining >= 1 && !dst && !cardOnly && command.EqualFold(a, "withscores"):
			res.withScores = true
			j++
		case cardOnly && remaining >= 2 && command.EqualFold(a, "limit"):
			n, err := parseLong(args[j+1])
			if err != nil || n < 0 {
				return nil, errLimitNegative
			}
			limit = n
			j += 2
		default:
			return nil, command.ErrSyntax
		}
	}
	if op != opDiff {
		// Smallest first, as Redis's qsort (glibc's is a stable merge
		// sort for such arrays), which also fixes the order of the
		// floating-point sums.
		sort.SliceStable(src, func(a, b int) bool { return src[a].len() < src[b].len() })
	}
	switch op {
	case opInter:
		if src[0].len() == 0 {
			break
		}
		src[0].each(func(m string, s float64) bool {
			sc := float64(src[0].weight * s)
			if sc != sc {
				sc = 0
			}
			for k := 1; k < len(src); k++ {
				v, ok := src[k].find(m)
				if !ok {
					return true
				}
				// Explicit rounding: no fused multiply-add, as in C.
				agg.apply(&sc, float64(v*src[k].weight))
			}
			if cardOnly {
				res.card++
				return limit == 0 || res.card < limit
			}
			res.entries = append(res.entries, keyspace.ZEntry{Score: sc, Member: m})
			return true
		})
	case opUnion:
		acc := map[string]int{} // member -> index in entries
		for i := range src {
			src[i].each(func(m string, s float64) bool {
				sc := float64(src[i].weight * s)
				if sc != sc {
					sc = 0
				}
				if k, ok := acc[m]; ok {
					agg.apply(&res.entries[k].Score, sc)
					return true
				}
				acc[m] = len(res.entries)
				res.entries = append(res.entries, keyspace.ZEntry{Score: sc, Member: m})
				return true
			})
		}
	case opDiff:
		if src[0].len() == 0 {
			break
		}
		for k := 1; k < len(src); k++ {
			if src[k].z != nil && src[k].z == src[0].z || src[k].set != nil && src[k].set == src[0].set {
				return res, nil // the same key subtracted from itself
			}
		}
		src[0].each(func(m string, s float64) bool {
			for k := 1; k < len(src); k++ {
				if _, ok := src[k].find(m); ok {
					return true
				}
			}
			res.entries = append(res.entries, keyspace.ZEntry{Score: s, Member: m})
			return true
		})
	}
	sort.Slice(res.entries, func(a, b int) bool {
		x, y := res.entries[a], res.entries[b]
		if x.Score != y.Score {
			return x.Score < y.Score
		}
		return x.Member < y.Member
	})
	return res, nil
}

func parseWeight(b []byte) (float64, bool) {
	f, err := parseScore(b)
	return f, err == nil
}

// setOpRead implements
//
//	ZUNION numkeys key [key ...] [WEIGHTS weight ...] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]
//	ZINTER numkeys key [key ...] [WEIGHTS weight ...] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]
//	ZDIFF numkeys key [key ...] [WITHSCORES]
//
// Sets are accepted as sorted sets whose scores are 1.
func setOpRead(op setOp) command.Handler {
	return func(c *command.Ctx, args [][]byte) (reply.Value, error) {
		res, err := runSetOp(c, args, 1, op, false, false, false)
		if err != nil {
			return reply.Value{}, err
		}
		out := make([]reply.Value, 0, len(res.entries)*2)
		var text []byte
		for _, e := range res.entries {
			out = append(out, reply.Bulk(memberBytes(e.Member)))
			if res.withScores {
				var s reply.Value
				s, text = appendScore(text, e.Score)
				out = append(out, s)
			}
		}
		if res.withScores {
			return reply.Pairs(out...), nil
		}
		return reply.Array(out...), nil
	}
}

// setOpStore implements
//
//	ZUNIONSTORE destination numkeys key [key ...] [WEIGHTS weight ...] [AGGREGATE SUM|MIN|MAX]
//	ZINTERSTORE destination numkeys key [key ...] [WEIGHTS weight ...] [AGGREGATE SUM|MIN|MAX]
//	ZDIFFSTORE destination numkeys key [key ...]
func setOpStore(op setOp) command.Handler {
	event := [...]string{"zunionstore", "zinterstore", "zdiffstore"}[op]
	return func(c *command.Ctx, args [][]byte) (reply.Value, error) {
		res, err := runSetOp(c, args, 2, op, true, false, true)
		if err != nil {
			return reply.Value{}, err
		}
		var z *keyspace.ZSet
		if len(res.entries) > 0 {
			z = keyspace.NewZSetFromSortedCfg(res.entries, &c.DB.Cfg)
		}
		return reply.Int(storeResult(c, args[1], z, event)), nil
	}
}

// zintercard implements
//
//	ZINTERCARD numkeys key [key ...] [LIMIT limit]
func zintercard(c *command.Ctx, args [][]byte) (reply.Value, error) {
	res, err := runSetOp(c, args, 1, opInter, false, true, false)
	if err != nil {
		return reply.Value{}, err
	}
	return reply.Int(res.card), nil
}
