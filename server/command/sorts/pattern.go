package sorts

import (
	"bytes"

	"github.com/cairndb/cairn/server/keyspace"
)

// cstr returns b as C code sees it: up to the first NUL byte. Redis
// compares SORT's options with strcasecmp and scans patterns with strchr
// and strstr, which all stop there.
func cstr(b []byte) []byte {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return b[:i]
	}
	return b
}

// isOpt tells whether arg is the option lower (lower case), as Redis's
// strcasecmp sees it.
func isOpt(arg []byte, lower string) bool {
	a := cstr(arg)
	if len(a) != len(lower) {
		return false
	}
	for i := 0; i < len(a); i++ {
		c := a[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// hasStar tells whether a BY pattern contains '*' (Redis's strchr): one
// without is constant, and SORT does not sort.
func hasStar(pattern []byte) bool { return bytes.IndexByte(cstr(pattern), '*') >= 0 }

// lookupPattern is Redis's lookupKeyByPattern: the value that pattern
// names for the element subst, or nil.
//
//   - "#" names the element itself;
//   - otherwise the first '*' is replaced by subst to form a key name (a
//     pattern without '*' names nothing);
//   - if "->" follows the '*' with something after it, the key is the
//     part before the arrow and the value is that hash field;
//   - else the key must hold a string. A missing key, a key of another
//     type or a missing field is nil.
//
// As in Redis, the '#', '*' and "->" tests read the pattern as a C string
// (up to a NUL byte), while the key and field names take the rest of it
// whole.
func lookupPattern(lookup func(key []byte) *keyspace.Item, pattern, subst []byte) ([]byte, bool) {
	cp := cstr(pattern)
	if len(cp) == 1 && cp[0] == '#' {
		return subst, true
	}
	star := bytes.IndexByte(cp, '*')
	if star < 0 {
		return nil, false
	}
	keyEnd := len(pattern)
	var field []byte
	if f := bytes.Index(cp[star+1:], []byte("->")); f >= 0 {
		arrow := star + 1 + f
		if arrow+2 < len(cp) { // *(f+2) != '\0'
			keyEnd = arrow
			field = pattern[arrow+2:]
		}
	}
	key := make([]byte, 0, keyEnd-1+len(subst))
	key = append(key, pattern[:star]...)
	key = append(key, subst...)
	key = append(key, pattern[star+1:keyEnd]...)
	it := lookup(key)
	if it == nil {
		return nil, false
	}
	if field != nil {
		h, ok := it.Obj.(*keyspace.Hash)
		if !ok {
			return nil, false
		}
		return h.Get(field)
	}
	if it.Obj != nil {
		return nil, false
	}
	return it.Str, true
}
