package command

import "strconv"

// ErrInvalidCursor is Redis's reply to a SCAN-family cursor that does not
// parse.
const ErrInvalidCursor = Msg("ERR invalid cursor")

// ParseCursor parses a SCAN/HSCAN cursor as Redis does (strtoull in base
// 10 on the C string, i.e. up to the first NUL byte): an optional sign ('-'
// negates modulo 2^64) and digits, nothing after them; the empty string is
// 0; a leading space, trailing junk or a value beyond 2^64-1 is
// ErrInvalidCursor.
func ParseCursor(arg []byte) (uint64, error) {
	b := arg
	for i, c := range b {
		if c == 0 {
			b = b[:i]
			break
		}
	}
	if len(b) == 0 {
		return 0, nil
	}
	neg := false
	if b[0] == '+' || b[0] == '-' {
		neg = b[0] == '-'
		b = b[1:]
	}
	if len(b) == 0 || b[0] < '0' || b[0] > '9' {
		return 0, ErrInvalidCursor
	}
	v, err := strconv.ParseUint(string(b), 10, 64)
	if err != nil {
		return 0, ErrInvalidCursor
	}
	if neg {
		v = -v
	}
	return v, nil
}
