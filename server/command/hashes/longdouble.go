package hashes

import (
	"math/big"
	"strings"
)

// Redis does HINCRBYFLOAT (and INCRBYFLOAT) in C long double, which on
// x86-64 is the x87 80-bit extended format: a 64-bit significand and a
// 15-bit exponent. These helpers emulate it with math/big: a big.Float of
// precision 64 rounds exactly as the x87 unit does (to nearest, ties to
// even), and the exponent range is checked by hand. Subnormal results are
// not rounded to their reduced precision; they print as 0 anyway.

const (
	ldPrec = 64
	// A finite long double is below 2^16384 (big.Float exponent 16384
	// means |x| is in [2^16383, 2^16384)).
	ldMaxExp = 16384
	// Half the smallest subnormal is 2^-16446: strtold rounds anything up
	// to it (ties to even) to zero and reports ERANGE, which Redis rejects.
	ldUnderflowExp = -16446
	// maxLongDoubleChars is Redis's MAX_LONG_DOUBLE_CHARS: longer
	// arguments are not floats.
	maxLongDoubleChars = 5 * 1024
)

func newLongDouble() *big.Float { return new(big.Float).SetPrec(ldPrec) }

// parseLongDouble parses b as Redis's string2ld does (strtold in the C
// locale, the whole string, no leading space, NaN rejected, ERANGE
// overflow and underflow to zero rejected). Infinity is accepted.
func parseLongDouble(b []byte) (*big.Float, bool) {
	if len(b) == 0 || len(b) >= maxLongDoubleChars {
		return nil, false
	}
	s := string(b)
	neg := false
	if s[0] == '+' || s[0] == '-' {
		neg = s[0] == '-'
		s = s[1:]
	}
	switch strings.ToLower(s) {
	case "inf", "infinity":
		return newLongDouble().SetInf(neg), true
	}
	var r *big.Rat
	if len(s) >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		r = parseHex(s[2:])
	} else {
		r = parseDec(s)
	}
	if r == nil {
		return nil, false
	}
	if neg {
		r.Neg(r)
	}
	if r.Sign() == 0 {
		return newLongDouble(), true
	}
	if new(big.Rat).Abs(r).Cmp(ldUnderflow) <= 0 {
		return nil, false // rounds to zero: ERANGE
	}
	f := newLongDouble().SetRat(r)
	if f.MantExp(nil) > ldMaxExp {
		return nil, false // overflow: ERANGE, HUGE_VALL
	}
	return f, true
}

// ldUnderflow is 2^-16446, half the smallest subnormal long double.
var ldUnderflow = new(big.Rat).SetFrac(big.NewInt(1), new(big.Int).Lsh(big.NewInt(1), -ldUnderflowExp))

// parseDec parses digits[.digits][(e|E)[+|-]digits] with at least one
// mantissa digit, and returns its exact value, or nil.
func parseDec(s string) *big.Rat {
	i := 0
	var mant []byte
	intDigits, fracDigits := 0, 0
	for i < len(s) && isDigit(s[i]) {
		mant = append(mant, s[i])
		intDigits++
		i++
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && isDigit(s[i]) {
			mant = append(mant, s[i])
			fracDigits++
			i++
		}
	}
	if intDigits+fracDigits == 0 {
		return nil
	}
	exp, ok := int64(0), true
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		if exp, i, ok = parseExp(s, i+1); !ok {
			return nil
		}
	}
	if i != len(s) {
		return nil
	}
	return scaled(mant, 10, exp-int64(fracDigits))
}

// parseHex parses the part after "0x": hexdigits[.hexdigits][(p|P)[+|-]digits]
// with at least one mantissa digit.
func parseHex(s string) *big.Rat {
	i := 0
	var mant []byte
	intDigits, fracDigits := 0, 0
	for i < len(s) && isHex(s[i]) {
		mant = append(mant, s[i])
		intDigits++
		i++
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && isHex(s[i]) {
			mant = append(mant, s[i])
			fracDigits++
			i++
		}
	}
	if intDigits+fracDigits == 0 {
		return nil
	}
	exp, ok := int64(0), true
	if i < len(s) && (s[i] == 'p' || s[i] == 'P') {
		if exp, i, ok = parseExp(s, i+1); !ok {
			return nil
		}
	}
	if i != len(s) {
		return nil
	}
	return scaled(mant, 16, exp-4*int64(fracDigits))
}

// parseExp parses [+|-]digits at s[i:], saturating absurd exponents.
func parseExp(s string, i int) (int64, int, bool) {
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	start := i
	var e int64
	for i < len(s) && isDigit(s[i]) {
		if e < 1<<40 {
			e = e*10 + int64(s[i]-'0')
		}
		i++
	}
	if i == start {
		return 0, i, false
	}
	if neg {
		e = -e
	}
	return e, i, true
}

// scaled returns mant (digits in base) × base^exp exactly, or a value far
// out of the long double range when exp is absurd.
func scaled(mant []byte, base int, exp int64) *big.Rat {
	m, ok := new(big.Int).SetString(string(mant), base)
	if !ok {
		return nil
	}
	if m.Sign() == 0 {
		return new(big.Rat)
	}
	// Bound the exponent so the exact value stays cheap to build: beyond
	// these limits the value overflows (m >= 1) or underflows (m <
	// base^len(mant)) whatever the mantissa.
	hi, lo := int64(5000), -int64(len(mant))-5000
	if base == 16 {
		hi, lo = 16400, -4*int64(len(mant))-16500
	}
	exp = max(lo, min(exp, hi))
	var p *big.Int
	if base == 16 {
		p = new(big.Int).Lsh(big.NewInt(1), uint(abs(exp)))
	} else {
		p = new(big.Int).Exp(big.NewInt(10), big.NewInt(abs(exp)), nil)
	}
	if exp >= 0 {
		return new(big.Rat).SetInt(m.Mul(m, p))
	}
	return new(big.Rat).SetFrac(m, p)
}

func abs(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isHex(c byte) bool {
	return isDigit(c) || ('a' <= c && c <= 'f') || ('A' <= c && c <= 'F')
}

// addLongDouble returns a+b rounded to long double, and false if the sum
// is infinite (or NaN).
func addLongDouble(a, b *big.Float) (*big.Float, bool) {
	if a.IsInf() || b.IsInf() {
		return nil, false // inf+x is inf; inf-inf is NaN: both refused
	}
	z := newLongDouble().Add(a, b)
	if z.Sign() != 0 && z.MantExp(nil) > ldMaxExp {
		return nil, false
	}
	return z, true
}

// formatLongDouble prints x as Redis's ld2string(LD_STR_HUMAN): %.17Lf,
// trailing zeros and a trailing point removed, "-0" as "0".
func formatLongDouble(x *big.Float) []byte {
	s := x.Text('f', 17)
	if strings.IndexByte(s, '.') >= 0 {
		s = strings.TrimRight(s, "0")
		s = strings.TrimSuffix(s, ".")
	}
	if s == "-0" {
		s = "0"
	}
	return []byte(s)
}
