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

// ScanOptions are HSCAN/SSCAN/ZSCAN's options.
type ScanOptions struct {
	Count   int64  // COUNT, default 10
	Pattern []byte // MATCH pattern (glob.Match); ignored when All
	All     bool   // no MATCH, or MATCH "*": every element passes
}

// ParseScanOptions parses [MATCH pattern] [COUNT count] from args (the
// arguments after the cursor), as Redis's scanGenericCommand: the last of
// each option wins, a COUNT below 1 and anything else is a syntax error.
func ParseScanOptions(args [][]byte) (ScanOptions, error) {
	o := ScanOptions{Count: 10, All: true}
	for i := 0; i < len(args); i += 2 {
		more := len(args) - i
		switch {
		case EqualFold(args[i], "count") && more >= 2:
			n, err := ParseInt(args[i+1])
			if err != nil {
				return o, err
			}
			if n < 1 {
				return o, ErrSyntax
			}
			o.Count = n
		case EqualFold(args[i], "match") && more >= 2:
			o.Pattern = args[i+1]
			o.All = len(o.Pattern) == 1 && o.Pattern[0] == '*'
		default:
			return o, ErrSyntax
		}
	}
	return o, nil
}
