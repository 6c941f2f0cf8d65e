package zsets

import (
	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/reply"
)

// zcard implements
//
//	ZCARD key
func zcard(c *command.Ctx, args [][]byte) (reply.Value, error) {
	z, err := readZSet(c, args[1])
	if err != nil || z == nil {
		return reply.Int(0), err
	}
	return reply.Int(int64(z.Len())), nil
}

// zscore implements
//
//	ZSCORE key member
func zscore(c *command.Ctx, args [][]byte) (reply.Value, error) {
	z, err := readZSet(c, args[1])
	if err != nil || z == nil {
		return reply.Nil, err
	}
	s, ok := z.Score(args[2])
	if !ok {
		return reply.Nil, nil
	}
	return score(s), nil
}

// zmscore implements
//
//	ZMSCORE key member [member ...]
//
// A missing key is treated as an empty set.
func zmscore(c *command.Ctx, args [][]byte) (reply.Value, error) {
	z, err := readZSet(c, args[1])
	if err != nil {
		return reply.Value{}, err
	}
	out := make([]reply.Value, len(args)-2)
	for i, m := range args[2:] {
		out[i] = reply.Nil
		if z != nil {
			if s, ok := z.Score(m); ok {
				out[i] = score(s)
			}
		}
	}
	return reply.Array(out...), nil
}

// zrank implements
//
//	ZRANK key member [WITHSCORE]
//	ZREVRANK key member [WITHSCORE]
//
// WITHSCORE is Redis 7.2's: the reply is then [rank, score], and a null
// array when the key or member is missing.
func zrank(c *command.Ctx, args [][]byte) (reply.Value, error) {
	if len(args) > 4 {
		return reply.Value{}, command.ArityError(string(args[0]))
	}
	withScore := false
	if len(args) == 4 {
		if !command.EqualFold(args[3], "withscore") {
			return reply.Value{}, command.ErrSyntax
		}
		withScore = true
	}
	none := reply.Nil
	if withScore {
		none = reply.NilArray
	}
	z, err := readZSet(c, args[1])
	if err != nil || z == nil {
		return none, err
	}
	r, ok := z.Rank(args[2])
	if !ok {
		return none, nil
	}
	if command.EqualFold(args[0], "zrevrank") {
		r = z.Len() - 1 - r
	}
	if withScore {
		s, _ := z.Score(args[2])
		return reply.Array(reply.Int(int64(r)), score(s)), nil
	}
	return reply.Int(int64(r)), nil
}
