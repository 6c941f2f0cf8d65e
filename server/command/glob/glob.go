// Package glob implements Redis's glob-style pattern matching
// (stringmatchlen in util.c) as used by KEYS, SCAN, HSCAN, SSCAN, ZSCAN,
// PSUBSCRIBE and friends.
//
// The semantics are Redis's, byte for byte, including its quirks:
//
//   - '*' matches any run of bytes, '?' any single byte;
//   - '[...]' is a class: '^' right after '[' negates it, 'a-z' is a range
//     (reversed ranges such as 'z-a' are swapped), '\x' matches x literally;
//     an unterminated class ends at the end of the pattern;
//   - '\x' outside a class matches x literally; a trailing '\' matches '\';
//   - range bounds compare as C's signed char, as Redis built for x86-64
//     does: bytes >= 0x80 sort before ASCII, so [a-\xff] is the range
//     \xff..a (a byte inside a class compares for equality as itself);
//   - with nocase, ASCII letters are folded (C locale tolower);
//   - a pattern never matches the empty string unless it is empty too:
//     Match("*", "") is false. Redis's KEYS and SCAN-family commands treat
//     the pattern "*" as "no pattern" and so return an empty key or field;
//     callers must do the same.
package glob

// Match reports whether s matches pattern, as Redis's stringmatchlen does.
func Match(pattern, s []byte, nocase bool) bool {
	skip := false
	return match(pattern, s, nocase, &skip)
}

// MatchString is Match for strings.
func MatchString(pattern, s string, nocase bool) bool {
	return Match([]byte(pattern), []byte(s), nocase)
}

// at returns pattern[i], or 0 past the end: Redis's patterns are
// NUL-terminated sds strings and stringmatchlen reads the terminator.
func at(p []byte, i int) byte {
	if i < len(p) {
		return p[i]
	}
	return 0
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// match is a port of stringmatchlen_impl. skip is its skipLongerMatches:
// once the rest of the pattern after a '*' failed to match at every suffix
// of the string, no longer match of an earlier '*' can succeed.
func match(p, s []byte, nocase bool, skip *bool) bool {
	pi, si := 0, 0
	pl, sl := len(p), len(s) // remaining lengths, as in the C code
	for pl > 0 && sl > 0 {
		switch p[pi] {
		case '*':
			for pl > 0 && at(p, pi+1) == '*' {
				pi++
				pl--
			}
			if pl == 1 {
				return true
			}
			for sl > 0 {
				if match(p[pi+1:pi+pl], s[si:si+sl], nocase, skip) {
					return true
				}
				if *skip {
					return false
				}
				si++
				sl--
			}
			*skip = true
			return false
		case '?':
			si++
			sl--
		case '[':
			pi++
			pl--
			not := at(p, pi) == '^'
			if not {
				pi++
				pl--
			}
			matched := false
			c := s[si]
			for {
				if at(p, pi) == '\\' && pl >= 2 {
					pi++
					pl--
					if at(p, pi) == c {
						matched = true
					}
				} else if at(p, pi) == ']' {
					break
				} else if pl == 0 {
					pi--
					pl++
					break
				} else if pl >= 3 && at(p, pi+1) == '-' {
					start, end, cc := int(int8(at(p, pi))), int(int8(at(p, pi+2))), int(int8(c))
					if start > end {
						start, end = end, start
					}
					if nocase {
						start, end, cc = lowerInt(start), lowerInt(end), lowerInt(cc)
					}
					pi += 2
					pl -= 2
					if cc >= start && cc <= end {
						matched = true
					}
				} else if !nocase {
					if at(p, pi) == c {
						matched = true
					}
				} else if lower(at(p, pi)) == lower(c) {
					matched = true
				}
				pi++
				pl--
			}
			if not {
				matched = !matched
			}
			if !matched {
				return false
			}
			si++
			sl--
		case '\\':
			if pl >= 2 {
				pi++
				pl--
			}
			fallthrough
		default:
			if !nocase {
				if p[pi] != s[si] {
					return false
				}
			} else if lower(p[pi]) != lower(s[si]) {
				return false
			}
			si++
			sl--
		}
		pi++
		pl--
		if sl == 0 {
			for at(p, pi) == '*' {
				pi++
				pl--
			}
			break
		}
	}
	return pl == 0 && sl == 0
}

// lowerInt is C's tolower on a (possibly negative) signed char value in
// the C locale.
func lowerInt(c int) int {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
