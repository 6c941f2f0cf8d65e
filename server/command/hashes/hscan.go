package hashes

import (
	"strconv"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/command/glob"
	"github.com/cairndb/cairn/server/reply"
)

// hscan implements
//
//	HSCAN key cursor [MATCH pattern] [COUNT count]
//
// A listpack-encoded hash is returned whole with cursor 0, as Redis does.
// A hashtable-encoded one is walked in field-hash order from cursor,
// visiting about COUNT fields (default 10) per call; MATCH filters the
// visited fields afterwards, so a call may return fewer fields than COUNT,
// even none, with a non-zero cursor. Every field present for the whole
// iteration is returned at least once. NOVALUES (Redis 7.4) is not
// supported: Redis 7.0 answers it with a syntax error, and so does Cairn.
func hscan(c *command.Ctx, args [][]byte) (reply.Value, error) {
	cursor, err := command.ParseCursor(args[2])
	if err != nil {
		return reply.Value{}, err
	}
	h, err := readHash(c, args[1])
	if err != nil {
		return reply.Value{}, err
	}
	if h == nil {
		return reply.Array(reply.BulkString("0"), reply.Array()), nil
	}
	opts, err := command.ParseScanOptions(args[3:])
	if err != nil {
		return reply.Value{}, err
	}
	count := opts.Count
	var out []reply.Value
	visited := int64(0)
	next := h.Scan(cursor, func(name string, v []byte) bool {
		if opts.All || glob.Match(opts.Pattern, []byte(name), false) {
			out = append(out, reply.BulkString(name), reply.Bulk(v))
		}
		visited++
		return visited < count
	})
	return reply.Array(reply.BulkString(strconv.FormatUint(next, 10)), reply.Array(out...)), nil
}
