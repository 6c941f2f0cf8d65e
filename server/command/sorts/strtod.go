package sorts

import (
	"math"
	"math/big"
	"strconv"
)

// strtod converts a SORT weight to a double as Redis 7.0 does with C's
// strtod (glibc), accepting exactly what Redis accepts:
//
//   - the value is read as a C string, up to its first NUL byte, and the
//     whole of that must be a number ("5\x00junk" is 5);
//   - leading white space (' ', \t, \n, \v, \f, \r) is skipped, trailing
//     white space is an error;
//   - decimal ("1.5e3", ".5", "5.") and hexadecimal ("0x1p-3", "0x10")
//     forms, and "inf"/"infinity" in any letter case, with a sign;
//   - the empty string is 0 (strtod converts nothing and stops at the
//     terminating NUL), but a string of only spaces, or a lone sign, is
//     an error;
//   - NaN is an error, and so is ERANGE: overflow to infinity, and
//     underflow (a non-zero value whose result is zero or subnormal and
//     inexact; exact subnormals such as 0x1p-1074 are accepted).
func strtod(b []byte) (float64, bool) {
	s := cstr(b)
	if v, ok := fastInt(s); ok {
		return float64(v), true
	}
	i := 0
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	j := i
	neg := false
	if j < len(s) && (s[j] == '+' || s[j] == '-') {
		neg = s[j] == '-'
		j++
	}
	rest := s[j:]
	if len(rest) == 0 {
		// Nothing converted: strtod leaves eptr at the start.
		return 0, len(s) == 0
	}
	switch {
	case hasPrefixFold(rest, "inf"):
		if len(rest) == 3 || (len(rest) == 8 && hasPrefixFold(rest, "infinity")) {
			if neg {
				return math.Inf(-1), true
			}
			return math.Inf(1), true
		}
		return 0, false
	case hasPrefixFold(rest, "nan"):
		return 0, false
	}
	var mant []byte // significant digits without the point
	var exp int64   // value = mant * base^exp (decimal) or mant * 2^exp (hex)
	hex := len(rest) >= 2 && rest[0] == '0' && (rest[1] == 'x' || rest[1] == 'X')
	k := 0
	digit := isDigit
	if hex {
		k = 2
		digit = isHex
	}
	nd := 0
	for k < len(rest) && digit(rest[k]) {
		mant = append(mant, rest[k])
		k++
		nd++
	}
	if k < len(rest) && rest[k] == '.' {
		k++
		for k < len(rest) && digit(rest[k]) {
			mant = append(mant, rest[k])
			k++
			nd++
			if hex {
				exp -= 4
			} else {
				exp--
			}
		}
	}
	if nd == 0 {
		// "0x" without hex digits converts the "0"; "." or "e5" nothing.
		return 0, false
	}
	expc := byte('e')
	if hex {
		expc = 'p'
	}
	if k < len(rest) && (rest[k]|0x20) == expc {
		m := k + 1
		eneg := false
		if m < len(rest) && (rest[m] == '+' || rest[m] == '-') {
			eneg = rest[m] == '-'
			m++
		}
		if m < len(rest) && isDigit(rest[m]) {
			var e int64
			for m < len(rest) && isDigit(rest[m]) {
				if e < 1e15 {
					e = e*10 + int64(rest[m]-'0')
				}
				m++
			}
			if eneg {
				e = -e
			}
			exp += e
			k = m
		}
	}
	if k != len(rest) {
		return 0, false
	}
	// Normalized text for strconv and math/big: sign, digits, exponent.
	var txt []byte
	if neg {
		txt = append(txt, '-')
	}
	if hex {
		txt = append(txt, "0x"...)
	}
	txt = append(txt, mant...)
	if hex {
		txt = append(txt, 'p')
	} else {
		txt = append(txt, 'e')
	}
	txt = strconv.AppendInt(txt, exp, 10)
	f, err := strconv.ParseFloat(string(txt), 64)
	if err != nil {
		// Overflow (ERANGE); a syntax error cannot happen here.
		return 0, false
	}
	if math.Abs(f) <= minNormal && !allZero(mant) && underflows(string(txt), f) {
		return 0, false
	}
	return f, true
}

// underflows tells whether glibc's strtod sets ERANGE for underflow when
// converting txt (non-zero) to f: when the result is inexact and tiny,
// tininess being detected after rounding (x86), that is when the value
// rounded to 53 bits with an unbounded exponent is below the smallest
// normal.
func underflows(txt string, f float64) bool {
	if f == 0 {
		return true
	}
	r, ok := new(big.Rat).SetString(txt)
	if !ok {
		return true
	}
	if r.Cmp(new(big.Rat).SetFloat64(f)) == 0 {
		return false // exact
	}
	rounded := new(big.Float).SetPrec(53).SetRat(r)
	return rounded.Abs(rounded).Cmp(big.NewFloat(minNormal)) < 0
}

const minNormal = 0x1p-1022

// fastInt parses a plain decimal integer of at most 15 digits (exact in
// a double), the common case.
func fastInt(s []byte) (int64, bool) {
	if len(s) == 0 || len(s) > 16 {
		return 0, false
	}
	i := 0
	if s[0] == '-' {
		i = 1
		if len(s) == 1 {
			return 0, false
		}
	}
	var v int64
	for ; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int64(c-'0')
	}
	if s[0] == '-' {
		v = -v
	}
	return v, true
}

func isSpace(c byte) bool { return c == ' ' || (c >= '\t' && c <= '\r') }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isHex(c byte) bool {
	return isDigit(c) || (c|0x20 >= 'a' && c|0x20 <= 'f')
}

func allZero(digits []byte) bool {
	for _, c := range digits {
		if c != '0' {
			return false
		}
	}
	return true
}

func hasPrefixFold(s []byte, lower string) bool {
	if len(s) < len(lower) {
		return false
	}
	for i := 0; i < len(lower); i++ {
		if s[i]|0x20 != lower[i] {
			return false
		}
	}
	return true
}
