package sets

import (
	"strconv"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/command/glob"
	"github.com/cairndb/cairn/server/reply"
)

// sscan implements
//
//	SSCAN key cursor [MATCH pattern] [COUNT count]
//
// An intset is returned whole with cursor 0, as Redis does, and so is a
// small hashtable-encoded set (up to 128 members; Redis may split those
// across calls). A larger set is walked bucket by bucket with Redis's
// reverse-binary cursor, visiting about COUNT members (default 10) per
// call; MATCH filters the visited members afterwards, so a call may return
// fewer members than COUNT, even none, with a non-zero cursor. Every
// member present for the whole iteration is returned at least once.
// Cursors depend only on the members, so any replica continues another's
// iteration.
func sscan(c *command.Ctx, args [][]byte) (reply.Value, error) {
	cursor, err := command.ParseCursor(args[2])
	if err != nil {
		return reply.Value{}, err
	}
	s, err := readSet(c, args[1])
	if err != nil {
		return reply.Value{}, err
	}
	if s == nil {
		return reply.Array(reply.BulkString("0"), reply.Array()), nil
	}
	opts, err := command.ParseScanOptions(args[3:])
	if err != nil {
		return reply.Value{}, err
	}
	count := opts.Count
	out := []reply.Value{}
	next := s.Scan(cursor, count, func(m []byte) {
		if opts.All || glob.Match(opts.Pattern, m, false) {
			out = append(out, reply.Bulk(append([]byte(nil), m...)))
		}
	})
	return reply.Array(reply.BulkString(strconv.FormatUint(next, 10)), reply.Array(out...)), nil
}
