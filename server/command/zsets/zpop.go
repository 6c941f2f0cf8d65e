package zsets

import (
	"math"
	"math/big"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/command/longdouble"
	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/server/reply"
)

const (
	errNumkeys  = command.Msg("ERR numkeys should be greater than 0")
	errCountPos = command.Msg("ERR count should be greater than 0")
)

// popShape tells how a pop command shapes its reply.
type popShape int

const (
	popFlat   popShape = iota // ZPOPMIN key: [member, score]
	popPairs                  // ZPOPMIN key count: pairs (nested in RESP3)
	popKeyed                  // BZPOPMIN: [key, member, score]
	popNested                 // ZMPOP/BZMPOP: [key, [[member, score], ...]]
)

// pop is Redis's genericZpopCommand: it pops up to count entries (from the
// top when max) from the first existing key of keys, failing with
// WRONGTYPE if that key is not a sorted set. ok is false when no key
// exists.
func pop(c *command.Ctx, keys [][]byte, max bool, count int64, shape popShape) (v reply.Value, ok bool, err error) {
	var key []byte
	var it *keyspace.Item
	for _, k := range keys {
		var z *keyspace.ZSet
		it, z, err = lookupWrite(c, k)
		if err != nil {
			return reply.Value{}, false, err
		}
		if z != nil {
			key = k
			break
		}
	}
	if it == nil {
		return reply.Value{}, false, nil
	}
	if count == 0 {
		return reply.Array(), true, nil
	}
	z := mutable(c, it)
	n := min(count, int64(z.Len()))
	entries := make([]reply.Value, 0, 2*n)
	k := n
	text := make([]byte, 0, 4*n)
	collect := func(e keyspace.ZEntry) bool {
		var s reply.Value
		s, text = appendScore(text, e.Score)
		entries = append(entries, reply.Value{Kind: reply.KindBulk, Str: memberBytes(e.Member)}, s)
		k--
		return k > 0
	}
	if max {
		z.Descend(z.Len()-1, collect)
		z.DeleteRange(z.Len()-int(n), z.Len()-1)
	} else {
		z.Ascend(0, collect)
		z.DeleteRange(0, int(n)-1)
	}
	c.Dirty += n
	event := "zpopmin"
	if max {
		event = "zpopmax"
	}
	c.Notify(command.ClassZSet, event, key)
	deleteIfEmpty(c, key, z)
	switch shape {
	case popFlat:
		return reply.Array(entries...), true, nil
	case popPairs:
		return reply.Pairs(entries...), true, nil
	case popKeyed:
		return reply.Array(append([]reply.Value{reply.Bulk(append([]byte(nil), key...))}, entries...)...), true, nil
	}
	nested := make([]reply.Value, 0, n)
	for k := 0; k+1 < len(entries); k += 2 {
		nested = append(nested, reply.Array(entries[k], entries[k+1]))
	}
	return reply.Array(reply.Bulk(append([]byte(nil), key...)), reply.Array(nested...)), true, nil
}

// zpop implements
//
//	ZPOPMIN key [count]
//	ZPOPMAX key [count]
func zpop(max bool) command.Handler {
	return func(c *command.Ctx, args [][]byte) (reply.Value, error) {
		if len(args) > 3 {
			return reply.Value{}, command.ErrSyntax
		}
		count, shape := int64(1), popFlat
		if len(args) == 3 {
			n, err := parseLong(args[2])
			if err != nil || n < 0 {
				return reply.Value{}, errPositive
			}
			count, shape = n, popPairs
		}
		v, ok, err := pop(c, args[1:2], max, count, shape)
		if err != nil || !ok {
			return reply.Array(), err
		}
		return v, nil
	}
}

// parseTimeout parses a blocking timeout in seconds as Redis's
// getTimeoutFromObjectOrReply: a long double (strtold), times 1000 in long
// double arithmetic, rounded up (ceill) to an integer number of
// milliseconds; so 0.0001 is 1 ms and -0.0001 is 0 (forever). A value
// beyond the 64-bit range converts, as on x86, to the most negative
// integer, so it is reported as negative.
func parseTimeout(b []byte) (int64, error) {
	f, ok := longdouble.Parse(b)
	if !ok {
		return 0, errTimeoutFloat
	}
	ms := longdouble.New().Mul(f, big.NewFloat(1000))
	v := int64(math.MinInt64)
	if !ms.IsInf() {
		c, _ := ms.Int(nil) // truncated toward zero
		if ms.Sign() > 0 && new(big.Float).SetInt(c).Cmp(ms) < 0 {
			c.Add(c, big.NewInt(1))
		}
		if c.IsInt64() {
			v = c.Int64()
		}
	}
	if v < 0 {
		return 0, errTimeoutNeg
	}
	return v, nil
}

func timeoutAt(idx int) func(args [][]byte) int64 {
	return func(args [][]byte) int64 {
		i := idx
		if i < 0 {
			i += len(args)
		}
		if i < 0 || i >= len(args) {
			return 0
		}
		ms, err := parseTimeout(args[i])
		if err != nil {
			return 0
		}
		return ms
	}
}

// bzpop implements
//
//	BZPOPMIN key [key ...] timeout
//	BZPOPMAX key [key ...] timeout
//
// It pops one entry from the first non-empty key and replies [key,
// member, score]; if none exists it blocks (or replies a null array when
// it may not block).
func bzpop(max bool) command.Handler {
	return func(c *command.Ctx, args [][]byte) (reply.Value, error) {
		if _, err := parseTimeout(args[len(args)-1]); err != nil {
			return reply.Value{}, err
		}
		v, ok, err := pop(c, args[1:len(args)-1], max, 1, popKeyed)
		if err != nil {
			return reply.Value{}, err
		}
		if ok {
			return v, nil
		}
		if c.NoBlock {
			return reply.NilArray, nil
		}
		return command.Blocked, nil
	}
}

// parseMpop parses ZMPOP/BZMPOP's "numkeys key [key ...] MIN|MAX [COUNT
// count]" starting at args[i].
func parseMpop(args [][]byte, i int) (keys [][]byte, max bool, count int64, err error) {
	n, err := command.ParseInt(args[i])
	if err != nil || n < 1 {
		return nil, false, 0, errNumkeys
	}
	// n is checked first: i+n+1 overflows for a numkeys near MaxInt64.
	if n >= int64(len(args)-i-1) {
		return nil, false, 0, command.ErrSyntax
	}
	where := int64(i) + n + 1
	if where >= int64(len(args)) {
		return nil, false, 0, command.ErrSyntax
	}
	switch {
	case command.EqualFold(args[where], "min"):
	case command.EqualFold(args[where], "max"):
		max = true
	default:
		return nil, false, 0, command.ErrSyntax
	}
	count = -1
	for j := int(where) + 1; j < len(args); j++ {
		if count == -1 && command.EqualFold(args[j], "count") && j+1 < len(args) {
			j++
			v, err := command.ParseInt(args[j])
			if err != nil || v < 1 {
				return nil, false, 0, errCountPos
			}
			count = v
			continue
		}
		return nil, false, 0, command.ErrSyntax
	}
	if count == -1 {
		count = 1
	}
	return args[i+1 : where], max, count, nil
}

// zmpop implements
//
//	ZMPOP numkeys key [key ...] MIN|MAX [COUNT count]
func zmpop(c *command.Ctx, args [][]byte) (reply.Value, error) {
	keys, max, count, err := parseMpop(args, 1)
	if err != nil {
		return reply.Value{}, err
	}
	v, ok, err := pop(c, keys, max, count, popNested)
	if err != nil {
		return reply.Value{}, err
	}
	if !ok {
		return reply.NilArray, nil
	}
	return v, nil
}

// bzmpop implements
//
//	BZMPOP timeout numkeys key [key ...] MIN|MAX [COUNT count]
func bzmpop(c *command.Ctx, args [][]byte) (reply.Value, error) {
	keys, max, count, err := parseMpop(args, 2)
	if err != nil {
		return reply.Value{}, err
	}
	if _, err := parseTimeout(args[1]); err != nil {
		return reply.Value{}, err
	}
	v, ok, err := pop(c, keys, max, count, popNested)
	if err != nil {
		return reply.Value{}, err
	}
	if ok {
		return v, nil
	}
	if c.NoBlock {
		return reply.NilArray, nil
	}
	return command.Blocked, nil
}

// numkeysKeys returns the key positions of a command whose numkeys
// argument is at idx and whose keys follow it, plus any fixed key
// positions in extra. A bad or excessive numkeys yields no keys at all,
// not even the fixed ones, as Redis's COMMAND GETKEYS (the command then
// fails on its arguments).
func numkeysKeys(idx int, extra ...int) func(args [][]byte) []int {
	return func(args [][]byte) []int {
		if idx >= len(args) {
			return nil
		}
		n, err := command.ParseInt(args[idx])
		if err != nil || n < 1 || n > int64(len(args)-idx-1) {
			return nil
		}
		keys := append([]int(nil), extra...)
		for i := idx + 1; int64(i-idx) <= n; i++ {
			keys = append(keys, i)
		}
		return keys
	}
}
