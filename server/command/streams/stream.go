package streams

import (
	"math"
	"strings"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/server/reply"
)

type streamID = keyspace.StreamID

// Errors, in Redis's words.
const (
	errInvalidID     = command.Msg("ERR Invalid stream ID specified as stream command argument")
	errStartInterval = command.Msg("ERR invalid start ID for the interval")
	errEndInterval   = command.Msg("ERR invalid end ID for the interval")
)

// readStream returns the stream at key for a read command (nil if the key
// does not exist) or ErrWrongType.
func readStream(c *command.Ctx, key []byte) (*keyspace.Stream, error) {
	it := c.DB.Get(key, c.Now)
	if it == nil {
		return nil, nil
	}
	s, ok := it.Obj.(*keyspace.Stream)
	if !ok {
		return nil, keyspace.ErrWrongType
	}
	return s, nil
}

// lookupWrite returns the live item at key and its stream for a write
// command (nil, nil if there is none; an expired key is deleted), or
// ErrWrongType. Call mutable before changing the stream.
func lookupWrite(c *command.Ctx, key []byte) (*keyspace.Item, *keyspace.Stream, error) {
	it := c.DB.Lookup(key, c.Now)
	if it == nil {
		return nil, nil, nil
	}
	s, ok := it.Obj.(*keyspace.Stream)
	if !ok {
		return nil, nil, keyspace.ErrWrongType
	}
	return it, s, nil
}

// mutable returns the stream at it, made changeable in place, or a new
// empty stream stored at key when it is nil.
func mutable(c *command.Ctx, key []byte, it *keyspace.Item) *keyspace.Stream {
	if it == nil {
		return c.DB.Put(key, nil, keyspace.NewStream(), 0).Obj.(*keyspace.Stream)
	}
	return c.DB.Mutable(it).Obj.(*keyspace.Stream)
}

// cString returns b up to its first NUL byte, as C string functions see
// an argument.
func cString(b []byte) []byte {
	for i, c := range b {
		if c == 0 {
			return b[:i]
		}
	}
	return b
}

// isOpt compares an option with a lower-case keyword as strcasecmp does
// (the argument ends at its first NUL byte).
func isOpt(b []byte, lower string) bool { return command.EqualFold(cString(b), lower) }

// isChar tells whether the argument is the one-character string ch (as C
// code tests b[0] == ch && b[1] == '\0').
func isChar(b []byte, ch byte) bool { return len(b) > 0 && b[0] == ch && (len(b) == 1 || b[1] == 0) }

// string2ll is Redis's strict integer parser (util.c).
func string2ll(s []byte) (int64, bool) {
	if len(s) == 0 {
		return 0, false
	}
	if len(s) == 1 && s[0] == '0' {
		return 0, true
	}
	i, neg := 0, false
	if s[0] == '-' {
		neg, i = true, 1
		if len(s) == 1 {
			return 0, false
		}
	}
	if s[i] < '1' || s[i] > '9' {
		return 0, false
	}
	var v uint64
	for ; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		if v > math.MaxUint64/10 {
			return 0, false
		}
		v *= 10
		if v > math.MaxUint64-uint64(c-'0') {
			return 0, false
		}
		v += uint64(c - '0')
	}
	if neg {
		if v > 1<<63 {
			return 0, false
		}
		return -int64(v), true
	}
	if v > math.MaxInt64 {
		return 0, false
	}
	return int64(v), true
}

// string2ull is Redis's string2ull: string2ll for values that fit (negative
// ones are refused), else strtoull, which skips leading white space and
// takes a sign (a '-' negates modulo 2^64).
func string2ull(s []byte) (uint64, bool) {
	if v, ok := string2ll(s); ok {
		if v < 0 {
			return 0, false
		}
		return uint64(v), true
	}
	if len(s) == 0 {
		return 0, false
	}
	i := 0
	for i < len(s) && (s[i] == ' ' || (s[i] >= '\t' && s[i] <= '\r')) {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	if i == len(s) {
		return 0, false
	}
	var v uint64
	for ; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		if v > math.MaxUint64/10 || v*10 > math.MaxUint64-uint64(c-'0') {
			return 0, false // ERANGE
		}
		v = v*10 + uint64(c-'0')
	}
	if neg {
		v = -v
	}
	return v, true
}

// parseID parses a stream ID as streamGenericParseIDOrReply: "ms-seq", or
// "ms" with the sequence missingSeq; "-" and "+" are the smallest and
// largest IDs unless strict. With seqGiven non-nil, "ms-*" is accepted and
// reported by *seqGiven = false.
func parseID(arg []byte, missingSeq uint64, strict bool, seqGiven *bool) (streamID, error) {
	if len(arg) > 127 {
		return streamID{}, errInvalidID
	}
	b := cString(arg)
	if strict && len(b) == 1 && (b[0] == '-' || b[0] == '+') {
		return streamID{}, errInvalidID
	}
	if seqGiven != nil {
		*seqGiven = true
	}
	if len(b) == 1 && b[0] == '-' {
		return streamID{}, nil
	}
	if len(b) == 1 && b[0] == '+' {
		return keyspace.MaxStreamID, nil
	}
	msPart, seqPart, dot := b, []byte(nil), false
	if i := strings.IndexByte(string(b), '-'); i >= 0 {
		msPart, seqPart, dot = b[:i], b[i+1:], true
	}
	ms, ok := string2ull(msPart)
	if !ok {
		return streamID{}, errInvalidID
	}
	seq := missingSeq
	if dot {
		if seqGiven != nil && len(seqPart) == 1 && seqPart[0] == '*' {
			seq = 0
			*seqGiven = false
		} else if seq, ok = string2ull(seqPart); !ok {
			return streamID{}, errInvalidID
		}
	}
	return streamID{Ms: ms, Seq: seq}, nil
}

// parseStrictID parses an ID where "-" and "+" are not allowed.
func parseStrictID(b []byte) (streamID, error) { return parseID(b, 0, true, nil) }

// parseInterval parses a range bound: "(" makes it exclusive (and the
// rest strict).
func parseInterval(b []byte, missingSeq uint64) (id streamID, exclusive bool, err error) {
	if len(b) > 1 && b[0] == '(' {
		id, err = parseID(b[1:], missingSeq, true, nil)
		return id, true, err
	}
	id, err = parseID(b, missingSeq, false, nil)
	return id, false, err
}

// parseRange parses a start and an end bound, applying exclusivity.
func parseRange(start, end []byte) (streamID, streamID, error) {
	s, sx, err := parseInterval(start, 0)
	if err != nil {
		return s, s, err
	}
	if sx {
		var ok bool
		if s, ok = s.Incr(); !ok {
			return s, s, errStartInterval
		}
	}
	e, ex, err := parseInterval(end, math.MaxUint64)
	if err != nil {
		return s, e, err
	}
	if ex {
		var ok bool
		if e, ok = e.Decr(); !ok {
			return s, e, errEndInterval
		}
	}
	return s, e, nil
}

// idBulk returns an ID as a bulk string.
func idBulk(id streamID) reply.Value { return reply.Bulk(id.Append(make([]byte, 0, 24))) }

// entryValue builds the reply of one entry: [id, [field, value, ...]].
func entryValue(id streamID, fv [][]byte) reply.Value {
	var b entryBuilder
	return b.entry(id, fv)
}

// entryBuilder builds entry replies from shared slabs, so a range reply
// costs a few allocations instead of a few per entry.
type entryBuilder struct {
	vals []reply.Value
	ids  []byte
}

func (b *entryBuilder) entry(id streamID, fv [][]byte) reply.Value {
	need := len(fv) + 2
	if cap(b.vals)-len(b.vals) < need {
		b.vals = make([]reply.Value, 0, max(need, 256))
	}
	at := len(b.vals)
	b.vals = b.vals[:at+need]
	elems := b.vals[at : at+need : at+need]
	for i, f := range fv {
		elems[2+i] = reply.Bulk(f)
	}
	if cap(b.ids)-len(b.ids) < 41 {
		b.ids = make([]byte, 0, 4096)
	}
	start := len(b.ids)
	b.ids = id.Append(b.ids)
	elems[0] = reply.Bulk(b.ids[start:len(b.ids):len(b.ids)])
	elems[1] = reply.Array(elems[2:]...)
	return reply.Array(elems[:2:2]...)
}

// rangeReply collects the entries of a range (count 0: all).
func rangeReply(s *keyspace.Stream, start, end streamID, count int64, rev bool) []reply.Value {
	var out []reply.Value
	if count > 0 {
		out = make([]reply.Value, 0, min(count, int64(s.Length()), 1024))
	}
	var b entryBuilder
	s.Range(start, end, rev, func(id streamID, fv [][]byte) bool {
		out = append(out, b.entry(id, fv))
		return count == 0 || int64(len(out)) < count
	})
	return out
}

// subcommandSyntaxError is addReplySubcommandSyntaxError.
func subcommandSyntaxError(cmd string, sub []byte) error {
	s := string(sub)
	if len(s) > 128 {
		s = s[:128]
	}
	return command.Msg("ERR unknown subcommand or wrong number of arguments for '" + s + "'. Try " + cmd + " HELP.")
}

// helpReply is addReplyHelp: the header line, the lines, and HELP's own.
func helpReply(cmd string, lines []string) reply.Value {
	out := make([]reply.Value, 0, len(lines)+3)
	out = append(out, reply.Status(cmd+" <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"))
	for _, l := range lines {
		out = append(out, reply.Status(l))
	}
	out = append(out, reply.Status("HELP"), reply.Status("    Prints this help."))
	return reply.Array(out...)
}
