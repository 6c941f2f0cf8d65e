package hashes

import (
	"math"
	"strconv"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/command/glob"
	"github.com/cairndb/cairn/server/reply"
)

const errInvalidCursor = command.Msg("ERR invalid cursor")

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
	cursor, ok := parseCursor(args[2])
	if !ok {
		return reply.Value{}, errInvalidCursor
	}
	h, err := readHash(c, args[1])
	if err != nil {
		return reply.Value{}, err
	}
	if h == nil {
		return reply.Array(reply.BulkString("0"), reply.Array()), nil
	}
	count := int64(10)
	var pattern []byte
	usePattern := false
	for i := 3; i < len(args); i += 2 {
		more := len(args) - i
		switch {
		case command.EqualFold(args[i], "count") && more >= 2:
			n, err := command.ParseInt(args[i+1])
			if err != nil {
				return reply.Value{}, err
			}
			if n < 1 {
				return reply.Value{}, command.ErrSyntax
			}
			count = n
		case command.EqualFold(args[i], "match") && more >= 2:
			pattern = args[i+1]
			usePattern = !(len(pattern) == 1 && pattern[0] == '*')
		default:
			return reply.Value{}, command.ErrSyntax
		}
	}
	if h.Encoding() == "listpack" {
		count = math.MaxInt64
	}
	var out []reply.Value
	visited := int64(0)
	next := h.Scan(cursor, func(name string, v []byte) bool {
		if !usePattern || glob.Match(pattern, []byte(name), false) {
			out = append(out, reply.BulkString(name), reply.Bulk(v))
		}
		visited++
		return visited < count
	})
	return reply.Array(reply.BulkString(strconv.FormatUint(next, 10)), reply.Array(out...)), nil
}

// parseCursor parses a SCAN cursor as Redis's parseScanCursorOrReply does
// with strtoul: the C string (up to a NUL byte) must be an optional sign
// and decimal digits, no leading space, no overflow; a negative number
// wraps around; the empty string is 0.
func parseCursor(b []byte) (uint64, bool) {
	for i, ch := range b {
		if ch == 0 {
			b = b[:i]
			break
		}
	}
	if len(b) == 0 {
		return 0, true
	}
	neg := false
	if b[0] == '+' || b[0] == '-' {
		neg = b[0] == '-'
		b = b[1:]
	}
	if len(b) == 0 {
		return 0, false
	}
	var n uint64
	for _, ch := range b {
		if ch < '0' || ch > '9' {
			return 0, false
		}
		d := uint64(ch - '0')
		if n > (math.MaxUint64-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	if neg {
		n = -n
	}
	return n, true
}
