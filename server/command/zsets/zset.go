package zsets

import (
	"bytes"
	"unsafe"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/command/cfloat"
	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/server/reply"
)

// Errors in Redis's words.
const (
	errNotFloat     = command.Msg("ERR value is not a valid float")
	errMinMaxFloat  = command.Msg("ERR min or max is not a float")
	errMinMaxLex    = command.Msg("ERR min or max not valid string range item")
	errPositive     = command.Msg("ERR value is out of range, must be positive")
	errTimeoutFloat = command.Msg("ERR timeout is not a float or out of range")
	errTimeoutNeg   = command.Msg("ERR timeout is negative")
)

// readZSet returns the sorted set at key for a read command, nil if the
// key does not exist, or ErrWrongType.
func readZSet(c *command.Ctx, key []byte) (*keyspace.ZSet, error) {
	it := c.DB.Get(key, c.Now)
	if it == nil {
		return nil, nil
	}
	z, ok := it.Obj.(*keyspace.ZSet)
	if !ok {
		return nil, keyspace.ErrWrongType
	}
	return z, nil
}

// lookupWrite returns the live item at key and its sorted set for a write
// command (nil, nil if the key does not exist; an expired key is deleted),
// or ErrWrongType. Neither is mutable yet: validate, then call mutable.
func lookupWrite(c *command.Ctx, key []byte) (*keyspace.Item, *keyspace.ZSet, error) {
	it := c.DB.Lookup(key, c.Now)
	if it == nil {
		return nil, nil, nil
	}
	z, ok := it.Obj.(*keyspace.ZSet)
	if !ok {
		return nil, nil, keyspace.ErrWrongType
	}
	return it, z, nil
}

// mutable returns the sorted set at it made mutable.
func mutable(c *command.Ctx, it *keyspace.Item) *keyspace.ZSet {
	return c.DB.Mutable(it).Obj.(*keyspace.ZSet)
}

// score is the reply for a score: a RESP3 double, a bulk string in RESP2,
// printed as Redis 7.0's addReplyDouble does ("%.17g", "inf", "-inf").
func score(f float64) reply.Value {
	return reply.Value{Kind: reply.KindDouble, Str: cfloat.AppendG17(nil, f)}
}

// appendScore appends the text of score f to buf and returns its reply,
// which slices buf (bytes never written again: a later append that grows
// buf copies it away), and the new buf. Replies of many scores share one
// allocation this way.
func appendScore(buf []byte, f float64) (reply.Value, []byte) {
	n := len(buf)
	buf = cfloat.AppendG17(buf, f)
	return reply.Value{Kind: reply.KindDouble, Str: buf[n:len(buf):len(buf)]}, buf
}

// memberBytes returns the bytes of a member without copying them: replies
// may alias members, which are immutable strings (a listpack's entries
// alias its string, which is never changed in place).
func memberBytes(m string) []byte { return unsafe.Slice(unsafe.StringData(m), len(m)) }

// parseScore parses a score or increment argument (Redis's string2d).
func parseScore(b []byte) (float64, error) {
	f, ok := cfloat.String2d(b)
	if !ok {
		return 0, errNotFloat
	}
	return f, nil
}

// parseLong parses a Redis "long" argument.
func parseLong(b []byte) (int64, error) { return command.ParseInt(b) }

// cstr returns b up to its first NUL byte: what C code reading the
// argument as a C string sees.
func cstr(b []byte) []byte {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return b[:i]
	}
	return b
}

// scoreRange is Redis's zrangespec.
type scoreRange struct {
	min, max     float64
	minex, maxex bool
}

// parseScoreBound parses one end of a score range as zslParseRange: an
// optional '(' for an exclusive bound, then strtod up to the end of the C
// string (so "" is 0 and "1\x00junk" is 1); NaN is refused.
func parseScoreBound(b []byte) (float64, bool, bool) {
	s := cstr(b)
	ex := false
	if len(s) > 0 && s[0] == '(' {
		ex = true
		s = s[1:]
	}
	v, n, _ := cfloat.Strtod(s)
	if n != len(s) || v != v {
		return 0, false, false
	}
	return v, ex, true
}

func parseScoreRange(minArg, maxArg []byte) (scoreRange, error) {
	var r scoreRange
	var ok bool
	if r.min, r.minex, ok = parseScoreBound(minArg); !ok {
		return r, errMinMaxFloat
	}
	if r.max, r.maxex, ok = parseScoreBound(maxArg); !ok {
		return r, errMinMaxFloat
	}
	return r, nil
}

func (r *scoreRange) gteMin(v float64) bool {
	if r.minex {
		return v > r.min
	}
	return v >= r.min
}

func (r *scoreRange) lteMax(v float64) bool {
	if r.maxex {
		return v < r.max
	}
	return v <= r.max
}

// inRange is zslIsInRange: whether part of z may be in the range.
func (r *scoreRange) inRange(z *keyspace.ZSet) bool {
	if r.min > r.max || r.min == r.max && (r.minex || r.maxex) {
		return false
	}
	n := z.Len()
	return n > 0 && r.gteMin(z.At(n-1).Score) && r.lteMax(z.At(0).Score)
}

// first returns the rank of the first entry in the range, -1 if none.
func (r *scoreRange) first(z *keyspace.ZSet) int {
	if !r.inRange(z) {
		return -1
	}
	i := z.First(func(e keyspace.ZEntry) bool { return r.gteMin(e.Score) })
	if i >= z.Len() || !r.lteMax(z.At(i).Score) {
		return -1
	}
	return i
}

// last returns the rank of the last entry in the range, -1 if none.
func (r *scoreRange) last(z *keyspace.ZSet) int {
	if !r.inRange(z) {
		return -1
	}
	i := z.Last(func(e keyspace.ZEntry) bool { return r.lteMax(e.Score) })
	if i < 0 || !r.gteMin(z.At(i).Score) {
		return -1
	}
	return i
}

// lexBound is one end of a lexicographic range: a string, or the minimum
// ("-") or maximum ("+") string.
type lexBound struct {
	s    string
	kind int8 // -1 minimum, 0 s, +1 maximum
}

// lexRange is Redis's zlexrangespec.
type lexRange struct {
	min, max     lexBound
	minex, maxex bool
}

// parseLexItem is zslParseLexRangeItem.
func parseLexItem(b []byte) (lexBound, bool, bool) {
	if len(b) == 0 {
		return lexBound{}, false, false
	}
	switch b[0] {
	case '+':
		if len(b) > 1 && b[1] != 0 {
			return lexBound{}, false, false
		}
		return lexBound{kind: 1}, true, true
	case '-':
		if len(b) > 1 && b[1] != 0 {
			return lexBound{}, false, false
		}
		return lexBound{kind: -1}, true, true
	case '(':
		return lexBound{s: string(b[1:])}, true, true
	case '[':
		return lexBound{s: string(b[1:])}, false, true
	}
	return lexBound{}, false, false
}

func parseLexRange(minArg, maxArg []byte) (lexRange, error) {
	var r lexRange
	var ok bool
	if r.min, r.minex, ok = parseLexItem(minArg); !ok {
		return r, errMinMaxLex
	}
	if r.max, r.maxex, ok = parseLexItem(maxArg); !ok {
		return r, errMinMaxLex
	}
	return r, nil
}

// cmpLex is sdscmplex.
func cmpLex(a, b lexBound) int {
	if a.kind == b.kind && a.kind != 0 {
		return 0
	}
	if a.kind == -1 || b.kind == 1 {
		return -1
	}
	if a.kind == 1 || b.kind == -1 {
		return 1
	}
	switch {
	case a.s < b.s:
		return -1
	case a.s > b.s:
		return 1
	}
	return 0
}

func (r *lexRange) gteMin(m string) bool {
	c := cmpLex(lexBound{s: m}, r.min)
	if r.minex {
		return c > 0
	}
	return c >= 0
}

func (r *lexRange) lteMax(m string) bool {
	c := cmpLex(lexBound{s: m}, r.max)
	if r.maxex {
		return c < 0
	}
	return c <= 0
}

func (r *lexRange) inRange(z *keyspace.ZSet) bool {
	c := cmpLex(r.min, r.max)
	if c > 0 || c == 0 && (r.minex || r.maxex) {
		return false
	}
	n := z.Len()
	return n > 0 && r.gteMin(z.At(n-1).Member) && r.lteMax(z.At(0).Member)
}

func (r *lexRange) first(z *keyspace.ZSet) int {
	if !r.inRange(z) {
		return -1
	}
	i := z.First(func(e keyspace.ZEntry) bool { return r.gteMin(e.Member) })
	if i >= z.Len() || !r.lteMax(z.At(i).Member) {
		return -1
	}
	return i
}

func (r *lexRange) last(z *keyspace.ZSet) int {
	if !r.inRange(z) {
		return -1
	}
	i := z.Last(func(e keyspace.ZEntry) bool { return r.lteMax(e.Member) })
	if i < 0 || !r.gteMin(z.At(i).Member) {
		return -1
	}
	return i
}

// deleteIfEmpty deletes key if its set became empty and raises "del".
func deleteIfEmpty(c *command.Ctx, key []byte, z *keyspace.ZSet) bool {
	if z.Len() > 0 {
		return false
	}
	c.DB.Delete(key)
	c.Notify(command.ClassGeneric, "del", key)
	return true
}

// storeResult replaces dst with a sorted set holding entries (in order),
// or deletes dst when entries is empty, as the STORE commands do, raising
// event on dst. It returns the number of entries.
func storeResult(c *command.Ctx, dst []byte, z *keyspace.ZSet, event string) int64 {
	if z == nil || z.Len() == 0 {
		if c.DB.Lookup(dst, c.Now) != nil {
			c.DB.Delete(dst)
			c.Notify(command.ClassGeneric, "del", dst)
			c.Dirty++
		}
		return 0
	}
	c.DB.Put(dst, nil, z, 0)
	c.Notify(command.ClassZSet, event, dst)
	c.Dirty++
	return int64(z.Len())
}
