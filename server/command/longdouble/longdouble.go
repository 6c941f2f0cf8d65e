// Package longdouble emulates C long double (x87 80-bit extended) as
// Redis uses it for INCRBYFLOAT and HINCRBYFLOAT: strtold parsing, addition
// rounded to a 64-bit mantissa, and "%.17Lf" printing without trailing
// zeros, so Cairn stores and replies the same bytes as Redis.
package longdouble

import (
	"bytes"
	"math/big"
	"strings"
)

// Redis computes INCRBYFLOAT in C long double, which on x86-64 is the x87
// 80-bit extended format: a 64-bit mantissa and a 15-bit exponent. It parses
// with strtold and prints with "%.17Lf" minus trailing zeros. These helpers
// emulate that with math/big.Float at precision 64, which rounds exactly as
// the x87 unit does (round to nearest, ties to even) across the whole
// normal range of the format.

const (
	ldPrec = 64
	// ldMaxExp: a finite long double is below 2^16384.
	ldMaxExp = 16384
	// ldZeroExp: a value below 2^-16446 (half the smallest subnormal,
	// 2^-16445) rounds to zero.
	ldZeroExp = -16445
	// maxLongDoubleChars is Redis's MAX_LONG_DOUBLE_CHARS: longer inputs
	// are not floats.
	maxLongDoubleChars = 5 * 1024
)

// New returns a zero long double.
func New() *big.Float { return new(big.Float).SetPrec(ldPrec).SetMode(big.ToNearestEven) }

// ldOverflows tells whether a finite value rounded to 64 bits is beyond
// the long double range (strtold or the x87 addition would give inf).
func ldOverflows(f *big.Float) bool {
	return !f.IsInf() && f.Sign() != 0 && f.MantExp(nil) > ldMaxExp
}

// ldUnderflows tells whether a non-zero value rounds to zero as a long
// double (strtold then reports ERANGE with a zero result).
func ldUnderflows(f *big.Float) bool {
	if f.IsInf() || f.Sign() == 0 {
		return false
	}
	exp := f.MantExp(nil)
	if exp < ldZeroExp {
		return true
	}
	if exp == ldZeroExp {
		// Exactly 2^-16446 is a tie between 0 and the smallest
		// subnormal: it rounds to even, zero.
		m := new(big.Float)
		f.MantExp(m)
		return m.Abs(m).Cmp(big.NewFloat(0.5)) == 0
	}
	return false
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isHexDigit(c byte) bool {
	return isDigit(c) || ('a' <= c && c <= 'f') || ('A' <= c && c <= 'F')
}

// isCSpace is C's isspace in the C locale.
func isCSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

// scanDigits returns the length of the run of digits (hex digits if hex)
// at the start of s.
func scanDigits(s string, hex bool) int {
	i := 0
	for i < len(s) && ((!hex && isDigit(s[i])) || (hex && isHexDigit(s[i]))) {
		i++
	}
	return i
}

// parseExp parses the decimal exponent digits of s (all digits, at least
// one), saturating far beyond any meaningful exponent.
func parseExp(s string, neg bool) int64 {
	var e int64
	for i := 0; i < len(s); i++ {
		if e < 1<<40 {
			e = e*10 + int64(s[i]-'0')
		}
	}
	if neg {
		return -e
	}
	return e
}

// Parse emulates Redis's string2ld: strtold in the C locale over
// the whole argument (decimal, hexadecimal with a binary exponent,
// "inf"/"infinity" in any case, with an optional sign), rejecting empty or
// over-long input, a leading space, trailing garbage, NaN, overflow, and
// non-zero values that underflow to zero. The result is rounded to 64
// mantissa bits.
func Parse(b []byte) (*big.Float, bool) {
	if len(b) == 0 || len(b) >= maxLongDoubleChars {
		return nil, false
	}
	// Redis requires strtold to consume exactly len(b) bytes, so a NUL
	// byte anywhere makes the argument invalid.
	if bytes.IndexByte(b, 0) >= 0 || isCSpace(b[0]) {
		return nil, false
	}
	s := string(b)
	neg := false
	if s[0] == '+' || s[0] == '-' {
		neg = s[0] == '-'
		s = s[1:]
	}
	f := New()
	switch {
	case strings.EqualFold(s, "inf") || strings.EqualFold(s, "infinity"):
		return f.SetInf(neg), true
	case len(s) >= 3 && (s[1] == 'x' || s[1] == 'X') && s[0] == '0' &&
		(isHexDigit(s[2]) || (s[2] == '.' && len(s) > 3 && isHexDigit(s[3]))):
		if !parseHex(f, s[2:]) {
			return nil, false
		}
	default:
		if !parseDecimal(f, s) {
			return nil, false
		}
	}
	if ldOverflows(f) || ldUnderflows(f) {
		return nil, false
	}
	if neg {
		f.Neg(f)
	}
	return f, true
}

// splitMantissa splits s into integer digits, fraction digits and the rest
// (the exponent part), requiring at least one digit.
func splitMantissa(s string, hex bool) (intPart, frac, rest string, ok bool) {
	n := scanDigits(s, hex)
	intPart, s = s[:n], s[n:]
	if len(s) > 0 && s[0] == '.' {
		m := scanDigits(s[1:], hex)
		frac, s = s[1:1+m], s[1+m:]
	}
	return intPart, frac, s, intPart != "" || frac != ""
}

// parseExpPart parses an exponent part introduced by one of marks ("eE" or
// "pP"): the whole rest must be it, or empty.
func parseExpPart(s, marks string) (int64, bool) {
	if s == "" {
		return 0, true
	}
	if !strings.ContainsRune(marks, rune(s[0])) {
		return 0, false
	}
	s = s[1:]
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	if s == "" || scanDigits(s, false) != len(s) {
		return 0, false
	}
	return parseExp(s, neg), true
}

// parseDecimal sets f to the decimal number s (no sign), correctly rounded.
func parseDecimal(f *big.Float, s string) bool {
	intPart, frac, rest, ok := splitMantissa(s, false)
	if !ok {
		return false
	}
	exp, ok := parseExpPart(rest, "eE")
	if !ok {
		return false
	}
	digits := strings.TrimLeft(intPart+frac, "0")
	if digits == "" {
		return true // zero
	}
	exp -= int64(len(frac))
	// The value is in [10^(nd-1+exp), 10^(nd+exp)). Far outside the
	// long double range there is nothing to compute.
	nd := int64(len(digits))
	switch {
	case nd-1+exp > 4933:
		f.SetMantExp(New().SetInt64(1), ldMaxExp) // overflows
		return true
	case nd+exp < -4952:
		f.SetMantExp(New().SetInt64(1), ldZeroExp-2) // underflows
		return true
	}
	m, _ := new(big.Int).SetString(digits, 10)
	if exp >= 0 {
		m.Mul(m, new(big.Int).Exp(big.NewInt(10), big.NewInt(exp), nil))
		f.SetInt(m)
	} else {
		// Exact operands (SetInt on a zero-precision Float keeps every
		// bit), then one correctly rounded division.
		num := new(big.Float).SetInt(m)
		den := new(big.Float).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(-exp), nil))
		f.Quo(num, den)
	}
	return true
}

// parseHex sets f to the hexadecimal number s (after "0x"), correctly
// rounded.
func parseHex(f *big.Float, s string) bool {
	intPart, frac, rest, ok := splitMantissa(s, true)
	if !ok {
		return false
	}
	exp, ok := parseExpPart(rest, "pP")
	if !ok {
		return false
	}
	digits := strings.TrimLeft(intPart+frac, "0")
	if digits == "" {
		return true
	}
	exp -= 4 * int64(len(frac))
	bits := 4 * int64(len(digits)) // the value is below 2^(bits+exp)
	switch {
	case bits+exp-4 > ldMaxExp:
		f.SetMantExp(New().SetInt64(1), ldMaxExp) // overflows
		return true
	case bits+exp < ldZeroExp-1:
		f.SetMantExp(New().SetInt64(1), ldZeroExp-2) // underflows
		return true
	}
	m, _ := new(big.Int).SetString(digits, 16)
	f.SetInt(m)
	f.SetMantExp(f, int(exp))
	return true
}

// Format prints f as Redis's ld2string in LD_STR_HUMAN mode:
// "%.17Lf", then trailing zeros and a trailing point removed, and "-0"
// printed as "0".
func Format(f *big.Float) string {
	if f.Sign() == 0 || f.MantExp(nil) < -60 {
		// |f| < 2^-61 prints as 17 zero decimals, which trim to "0"
		// ("-0" included); skip the exact expansion of tiny values.
		return "0"
	}
	s := f.Text('f', 17)
	if strings.IndexByte(s, '.') >= 0 {
		s = strings.TrimRight(s, "0")
		s = strings.TrimSuffix(s, ".")
	}
	if s == "-0" {
		s = "0"
	}
	return s
}

// Add returns a+b rounded to long double, and false when either operand is
// infinite or the sum overflows the long double range (Redis answers
// "increment would produce NaN or Infinity").
func Add(a, b *big.Float) (*big.Float, bool) {
	if a.IsInf() || b.IsInf() {
		return nil, false // inf+x is inf; inf-inf is NaN (and big.Float panics)
	}
	z := New().Add(a, b)
	if ldOverflows(z) {
		return nil, false
	}
	return z, true
}
