package zsets

import (
	"strconv"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/command/cfloat"
	"github.com/cairndb/cairn/server/command/glob"
	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/server/reply"
)

// zscan implements
//
//	ZSCAN key cursor [MATCH pattern] [COUNT count]
//
// A listpack-encoded set is returned whole with cursor 0, its scores as
// the listpack holds them (integers as integers, others as "%.17g"), as
// Redis does. A skiplist-encoded one is walked in member-hash order from
// cursor, visiting about COUNT members (default 10) per call, scores as
// "%.17g"; MATCH filters the visited members afterwards. Every member
// present for the whole iteration is returned at least once.
func zscan(c *command.Ctx, args [][]byte) (reply.Value, error) {
	cursor, err := command.ParseCursor(args[2])
	if err != nil {
		return reply.Value{}, err
	}
	z, err := readZSet(c, args[1])
	if err != nil {
		return reply.Value{}, err
	}
	if z == nil {
		return reply.Array(reply.BulkString("0"), reply.Array()), nil
	}
	opts, err := command.ParseScanOptions(args[3:])
	if err != nil {
		return reply.Value{}, err
	}
	count := opts.Count
	lp := z.IsListpack()
	var out []reply.Value
	visited := int64(0)
	next := z.Scan(cursor, func(e keyspace.ZEntry) bool {
		if opts.All || glob.Match(opts.Pattern, memberBytes(e.Member), false) {
			s := cfloat.AppendG17(nil, e.Score)
			if lp {
				s = cfloat.ScoreString(e.Score)
			}
			out = append(out, reply.Bulk(memberBytes(e.Member)), reply.Bulk(s))
		}
		visited++
		return visited < count
	})
	return reply.Array(reply.BulkString(strconv.FormatUint(next, 10)), reply.Array(out...)), nil
}
