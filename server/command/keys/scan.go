package keys

import (
	"strconv"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/command/glob"
	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/server/reply"
)

// scan is SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]. The
// cursor is a position in the keyspace's order (keyspace.DB.Scan), so a key
// present for the whole iteration is returned at least once whatever is
// written meanwhile. COUNT bounds the keys visited per call (default 10);
// MATCH, TYPE and expiry filter the visited keys, as in Redis.
func scan(c *command.Ctx, args [][]byte) (reply.Value, error) {
	cursor, err := command.ParseCursor(args[1])
	if err != nil {
		return reply.Value{}, err
	}
	count := int64(10)
	var pat, typ []byte
	usePat := false
	for i := 2; i < len(args); {
		more := len(args) - i
		switch {
		case isOpt(args[i], "count") && more >= 2:
			n, err := command.ParseInt(args[i+1])
			if err != nil {
				return reply.Value{}, err
			}
			if n < 1 {
				return reply.Value{}, command.ErrSyntax
			}
			count = n
			i += 2
		case isOpt(args[i], "match") && more >= 2:
			pat = args[i+1]
			usePat = !(len(pat) == 1 && pat[0] == '*')
			i += 2
		case isOpt(args[i], "type") && more >= 2:
			typ = cstr(args[i+1])
			i += 2
		default:
			return reply.Value{}, command.ErrSyntax
		}
	}
	keys := []reply.Value{}
	var visited int64
	next := c.DB.Scan(cursor, func(it *keyspace.Item) bool {
		visited++
		if !it.Expired(c.Now) &&
			(!usePat || glob.Match(pat, []byte(it.Key), false)) &&
			(typ == nil || command.EqualFold(typ, it.Type().String())) {
			keys = append(keys, reply.BulkString(it.Key))
		}
		return visited < count
	})
	return reply.Array(reply.Bulk(strconv.AppendUint(nil, next, 10)), reply.Array(keys...)), nil
}
