package lists

import (
	"math/big"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/command/longdouble"
	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/server/reply"
)

// Errors Redis gives for list commands.
var (
	errNotPositive    = command.Msg("ERR value is out of range, must be positive")
	errIndexRange     = command.Msg("ERR index out of range")
	errRankZero       = command.Msg("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list")
	errRankRange      = command.Msg("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
	errCountNegative  = command.Msg("ERR COUNT can't be negative")
	errMaxlenNegative = command.Msg("ERR MAXLEN can't be negative")
	errNumkeys        = command.Msg("ERR numkeys should be greater than 0")
	errCountPositive  = command.Msg("ERR count should be greater than 0")
	errTimeoutFloat   = command.Msg("ERR timeout is not a float or out of range")
	errTimeoutNeg     = command.Msg("ERR timeout is negative")
	errTimeoutRange   = command.Msg("ERR timeout is out of range")
)

// readList returns the list stored at key for a read command, nil if the
// key does not exist, or ErrWrongType.
func readList(c *command.Ctx, key []byte) (*keyspace.List, error) {
	it := c.DB.Get(key, c.Now)
	if it == nil {
		return nil, nil
	}
	l, ok := it.Obj.(*keyspace.List)
	if !ok {
		return nil, keyspace.ErrWrongType
	}
	return l, nil
}

// lookupWrite returns the live item at key and its list for a write
// command (nil, nil if the key does not exist; an expired key is
// deleted), or ErrWrongType. Neither is mutable yet: validate, then call
// mutable.
func lookupWrite(c *command.Ctx, key []byte) (*keyspace.Item, *keyspace.List, error) {
	it := c.DB.Lookup(key, c.Now)
	if it == nil {
		return nil, nil, nil
	}
	l, ok := it.Obj.(*keyspace.List)
	if !ok {
		return nil, nil, keyspace.ErrWrongType
	}
	return it, l, nil
}

// mutable returns a list that may be changed in place: the one at it
// (made mutable), or a new empty list stored at key when it is nil.
// The list follows the DB's list-max-listpack-size.
func mutable(c *command.Ctx, key []byte, it *keyspace.Item) *keyspace.List {
	var l *keyspace.List
	if it == nil {
		l = c.DB.Put(key, nil, keyspace.NewList(), 0).Obj.(*keyspace.List)
	} else {
		l = c.DB.Mutable(it).Obj.(*keyspace.List)
	}
	l.SetLimits(&c.DB.Cfg)
	return l
}

// removed does what Redis's listElementsRemoved does after popping n
// elements from the head (or tail) of l at key: the lpop/rpop event, the
// key's deletion when the list is empty, the shrink conversion otherwise,
// and the dirty count.
func removed(c *command.Ctx, key []byte, l *keyspace.List, head bool, n int) {
	if head {
		c.Notify(command.ClassList, "lpop", key)
	} else {
		c.Notify(command.ClassList, "rpop", key)
	}
	deleteIfEmpty(c, key, l)
	c.Dirty += int64(n)
}

// deleteIfEmpty deletes key if its list l is empty (with a "del" event),
// or else tries the shrink conversion.
func deleteIfEmpty(c *command.Ctx, key []byte, l *keyspace.List) bool {
	if l.Len() == 0 {
		c.DB.Delete(key)
		c.Notify(command.ClassGeneric, "del", key)
		return true
	}
	l.ShrinkCheck()
	return false
}

// pop removes one element from the head (or tail) and returns a copy.
func pop(l *keyspace.List, head bool) []byte {
	var s []byte
	if head {
		s = l.PopFront()
	} else {
		s = l.PopBack()
	}
	return append(make([]byte, 0, len(s)), s...)
}

// popN removes up to n elements from the head (or tail) and returns them,
// copied, in the order popped.
func popN(l *keyspace.List, head bool, n int) []reply.Value {
	n = min(n, l.Len())
	out := make([]reply.Value, n)
	for i := range out {
		out[i] = reply.Bulk(pop(l, head))
	}
	return out
}

// argsBytes sums the lengths of elements about to be pushed (for the
// listpack conversion check).
func argsBytes(args [][]byte) int {
	n := 0
	for _, a := range args {
		n += len(a)
	}
	return n
}

// push adds s at the head (or tail) of l.
func push(l *keyspace.List, s []byte, head bool) {
	if head {
		l.PushFront(s)
	} else {
		l.PushBack(s)
	}
}

// parseWhere parses LEFT or RIGHT (true for LEFT).
func parseWhere(b []byte) (bool, error) {
	switch {
	case command.EqualFold(b, "left"):
		return true, nil
	case command.EqualFold(b, "right"):
		return false, nil
	}
	return false, command.ErrSyntax
}

// parseTimeout parses a blocking command's timeout in seconds (a long
// double, as Redis's getTimeoutFromObjectOrReply) into milliseconds, 0
// meaning forever. now is the current time, for the overflow check.
func parseTimeout(b []byte, now int64) (int64, error) {
	f, ok := longdouble.Parse(b)
	if !ok {
		return 0, errTimeoutFloat
	}
	ms := timeoutMillis(f)
	if ms < 0 {
		return 0, errTimeoutNeg
	}
	if ms > 0 && ms > (1<<63-1)-now {
		return 0, errTimeoutRange
	}
	return ms, nil
}

// timeoutMillis is (long long)ceill(f * 1000.0) in x87 arithmetic, as
// Redis computes a timeout in seconds: a value out of int64's range
// converts to the "integer indefinite" INT64_MIN (so "inf" is negative).
func timeoutMillis(f *big.Float) int64 {
	p := longdouble.New().Mul(f, big.NewFloat(1000))
	if p.IsInf() || p.Cmp(big.NewFloat(0x1p63)) >= 0 || p.Cmp(big.NewFloat(-0x1p63)) < 0 {
		return -1 << 63
	}
	v, acc := p.Int64()
	if acc == big.Below && v < 1<<63-1 {
		v++ // a positive fraction rounds up
	}
	return v
}

// blockTimeout is BlockSpec.Timeout for a command whose timeout argument
// is at index i (negative counts from the end).
func blockTimeout(i int) func(args [][]byte) int64 {
	return func(args [][]byte) int64 {
		j := i
		if j < 0 {
			j += len(args)
		}
		if j < 0 || j >= len(args) {
			return 0
		}
		f, ok := longdouble.Parse(args[j])
		if !ok {
			return 0
		}
		return max(timeoutMillis(f), 0)
	}
}
