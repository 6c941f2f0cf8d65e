package lists

import (
	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/reply"
)

// lpop implements
//
//	LPOP key [count]   RPOP key [count]
//
// Without count it replies with the element popped (nil if the key does
// not exist); with count, an array of up to count elements (a null array
// if the key does not exist, an empty one for count 0).
func lpop(c *command.Ctx, args [][]byte) (reply.Value, error) { return popCmd(c, args, true) }
func rpop(c *command.Ctx, args [][]byte) (reply.Value, error) { return popCmd(c, args, false) }

func popCmd(c *command.Ctx, args [][]byte, head bool) (reply.Value, error) {
	if len(args) > 3 {
		return reply.Value{}, command.ArityError(string(args[0]))
	}
	hasCount := len(args) == 3
	count := int64(0)
	if hasCount {
		n, err := command.ParseInt(args[2])
		if err != nil || n < 0 {
			return reply.Value{}, errNotPositive
		}
		count = n
	}
	it, _, err := lookupWrite(c, args[1])
	if err != nil {
		return reply.Value{}, err
	}
	if it == nil {
		if hasCount {
			return reply.NilArray, nil
		}
		return reply.Nil, nil
	}
	if hasCount && count == 0 {
		return reply.EmptyArray, nil
	}
	l := mutable(c, args[1], it)
	if !hasCount {
		v := pop(l, head)
		removed(c, args[1], l, head, 1)
		return reply.Bulk(v), nil
	}
	elems := popN(l, head, int(min(count, int64(l.Len()))))
	removed(c, args[1], l, head, len(elems))
	return reply.Array(elems...), nil
}

// mpopFrom pops up to count elements from the first non-empty list among
// keys: it replies [key, [elements]], or ok false when every key is
// missing. A key of another type met first is an error.
func mpopFrom(c *command.Ctx, keys [][]byte, head bool, count int64) (reply.Value, bool, error) {
	for _, k := range keys {
		it, l, err := lookupWrite(c, k)
		if err != nil {
			return reply.Value{}, false, err
		}
		if it == nil || l.Len() == 0 {
			continue
		}
		l = mutable(c, k, it)
		elems := popN(l, head, int(min(count, int64(l.Len()))))
		key := reply.Bulk(append([]byte(nil), k...))
		removed(c, k, l, head, len(elems))
		return reply.Array(key, reply.Array(elems...)), true, nil
	}
	return reply.Value{}, false, nil
}

// mpopArgs parses LMPOP's (and BLMPOP's) arguments from numkeys at index
// i: numkeys key [key ...] LEFT|RIGHT [COUNT count].
func mpopArgs(args [][]byte, i int) (keys [][]byte, head bool, count int64, err error) {
	n, err := command.ParseInt(args[i])
	if err != nil || n <= 0 {
		return nil, false, 0, errNumkeys
	}
	where := int64(i) + n + 1
	if n > int64(len(args)) || where >= int64(len(args)) {
		return nil, false, 0, command.ErrSyntax
	}
	if head, err = parseWhere(args[where]); err != nil {
		return nil, false, 0, err
	}
	count = -1
	for j := int(where) + 1; j < len(args); j++ {
		if count == -1 && command.EqualFold(args[j], "count") && j+1 < len(args) {
			j++
			v, err := command.ParseInt(args[j])
			if err != nil || v <= 0 {
				return nil, false, 0, errCountPositive
			}
			count = v
			continue
		}
		return nil, false, 0, command.ErrSyntax
	}
	if count == -1 {
		count = 1
	}
	return args[i+1 : where], head, count, nil
}

// mpopKeys is the KeysFunc of LMPOP (numkeys at 1) and BLMPOP (at 2).
func mpopKeys(i int) func(args [][]byte) []int {
	return func(args [][]byte) []int {
		if len(args) <= i {
			return nil
		}
		n, err := command.ParseInt(args[i])
		if err != nil || n <= 0 || n > int64(len(args)-i-1) {
			return nil
		}
		idx := make([]int, n)
		for j := range idx {
			idx[j] = i + 1 + j
		}
		return idx
	}
}

// lmpop implements
//
//	LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count]
//
// It pops up to count elements (default 1) from the first non-empty list
// and replies [key, [elements]], or a null array.
func lmpop(c *command.Ctx, args [][]byte) (reply.Value, error) {
	keys, head, count, err := mpopArgs(args, 1)
	if err != nil {
		return reply.Value{}, err
	}
	v, ok, err := mpopFrom(c, keys, head, count)
	if err != nil || !ok {
		return reply.NilArray, err
	}
	return v, nil
}

// blmpop implements
//
//	BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count]
//
// LMPOP that blocks while every list is empty.
func blmpop(c *command.Ctx, args [][]byte) (reply.Value, error) {
	keys, head, count, err := mpopArgs(args, 2)
	if err != nil {
		return reply.Value{}, err
	}
	if _, err := parseTimeout(args[1], c.Now); err != nil {
		return reply.Value{}, err
	}
	v, ok, err := mpopFrom(c, keys, head, count)
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

// blpop implements
//
//	BLPOP key [key ...] timeout   BRPOP key [key ...] timeout
//
// It pops one element from the first non-empty list and replies
// [key, element], blocking while every list is empty.
func blpop(c *command.Ctx, args [][]byte) (reply.Value, error) { return bpopCmd(c, args, true) }
func brpop(c *command.Ctx, args [][]byte) (reply.Value, error) { return bpopCmd(c, args, false) }

func bpopCmd(c *command.Ctx, args [][]byte, head bool) (reply.Value, error) {
	if _, err := parseTimeout(args[len(args)-1], c.Now); err != nil {
		return reply.Value{}, err
	}
	for _, k := range args[1 : len(args)-1] {
		it, l, err := lookupWrite(c, k)
		if err != nil {
			return reply.Value{}, err
		}
		if it == nil || l.Len() == 0 {
			continue
		}
		l = mutable(c, k, it)
		v := pop(l, head)
		key := append([]byte(nil), k...)
		removed(c, k, l, head, 1)
		return reply.Array(reply.Bulk(key), reply.Bulk(v)), nil
	}
	if c.NoBlock {
		return reply.NilArray, nil
	}
	return command.Blocked, nil
}
