// Package cfloat emulates the C double conversions Redis uses for sorted
// set scores and geo coordinates: glibc strtod (decimal, hexadecimal,
// inf/infinity, nan, leading white space, ERANGE), Redis's string2d and
// d2string, printf's "%.17g", and the "%.17Lf" human format of
// addReplyHumanLongDouble, so Cairn accepts, stores and prints exactly what
// Redis 7.0 does.
package cfloat

import (
	"math"
	"math/big"
	"strconv"
	"strings"
)

// isSpace is C's isspace in the C locale.
func isSpace(c byte) bool { return c == ' ' || (c >= '\t' && c <= '\r') }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isHex(c byte) bool {
	return isDigit(c) || (c|0x20) >= 'a' && (c|0x20) <= 'f'
}

func hasPrefixFold(s []byte, p string) bool {
	return len(s) >= len(p) && strings.EqualFold(string(s[:len(p)]), p)
}

// Strtod is C's strtod over b, which ends at its first NUL byte as a C
// string would. It returns the value, the number of bytes consumed (0 when
// no conversion was done), and whether strtod would set errno to ERANGE
// (overflow to infinity, or underflow of a non-zero value).
func Strtod(b []byte) (v float64, n int, erange bool) {
	for i, c := range b {
		if c == 0 {
			b = b[:i]
			break
		}
	}
	i := 0
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	neg := false
	if i < len(b) && (b[i] == '+' || b[i] == '-') {
		neg = b[i] == '-'
		i++
	}
	sign := func(f float64) float64 {
		if neg {
			return -f
		}
		return f
	}
	rest := b[i:]
	switch {
	case hasPrefixFold(rest, "inf"):
		n := i + 3
		if hasPrefixFold(rest, "infinity") {
			n = i + 8
		}
		return sign(math.Inf(1)), n, false
	case hasPrefixFold(rest, "nan"):
		n := i + 3
		if n < len(b) && b[n] == '(' {
			k := n + 1
			for k < len(b) && (isDigit(b[k]) || (b[k]|0x20) >= 'a' && (b[k]|0x20) <= 'z' || b[k] == '_') {
				k++
			}
			if k < len(b) && b[k] == ')' {
				n = k + 1
			}
		}
		return math.NaN(), n, false
	case len(rest) >= 2 && rest[0] == '0' && (rest[1]|0x20) == 'x' &&
		(len(rest) > 2 && isHex(rest[2]) || len(rest) > 3 && rest[2] == '.' && isHex(rest[3])):
		f, k, er := parseHex(rest[2:])
		return sign(f), i + 2 + k, er
	}
	// Decimal: digits [. digits] [e [sign] digits], at least one digit.
	k := 0
	digits := 0
	nonzero := false
	for k < len(rest) && isDigit(rest[k]) {
		nonzero = nonzero || rest[k] != '0'
		k++
		digits++
	}
	if k < len(rest) && rest[k] == '.' {
		k++
		for k < len(rest) && isDigit(rest[k]) {
			nonzero = nonzero || rest[k] != '0'
			k++
			digits++
		}
	}
	if digits == 0 {
		return 0, 0, false
	}
	if k < len(rest) && (rest[k]|0x20) == 'e' {
		e := k + 1
		if e < len(rest) && (rest[e] == '+' || rest[e] == '-') {
			e++
		}
		if e < len(rest) && isDigit(rest[e]) {
			for e < len(rest) && isDigit(rest[e]) {
				e++
			}
			k = e
		}
	}
	f, err := strconv.ParseFloat(string(rest[:k]), 64)
	if err != nil && !math.IsInf(f, 0) {
		return 0, 0, false // cannot happen for the syntax accepted above
	}
	er := math.IsInf(f, 0) || (f == 0 && nonzero) || (f != 0 && math.Abs(f) < 0x1p-1022)
	return sign(f), i + k, er
}

// parseHex parses the part of a hexadecimal float after "0x".
func parseHex(s []byte) (float64, int, bool) {
	mant := new(big.Int)
	exp := int64(0)
	k := 0
	nonzero := false
	for k < len(s) && isHex(s[k]) {
		mant.Lsh(mant, 4)
		mant.Or(mant, big.NewInt(int64(hexVal(s[k]))))
		nonzero = nonzero || s[k] != '0'
		k++
	}
	if k < len(s) && s[k] == '.' {
		k++
		for k < len(s) && isHex(s[k]) {
			mant.Lsh(mant, 4)
			mant.Or(mant, big.NewInt(int64(hexVal(s[k]))))
			nonzero = nonzero || s[k] != '0'
			exp -= 4
			k++
			if mant.BitLen() > 4096 {
				// Further digits only matter as sticky bits.
				mant.Rsh(mant, 4)
				mant.Or(mant, big.NewInt(1))
				exp += 4
			}
		}
	}
	if k < len(s) && (s[k]|0x20) == 'p' {
		e := k + 1
		eneg := false
		if e < len(s) && (s[e] == '+' || s[e] == '-') {
			eneg = s[e] == '-'
			e++
		}
		if e < len(s) && isDigit(s[e]) {
			var pe int64
			for e < len(s) && isDigit(s[e]) {
				if pe < 1<<40 {
					pe = pe*10 + int64(s[e]-'0')
				}
				e++
			}
			if eneg {
				pe = -pe
			}
			exp += pe
			k = e
		}
	}
	if !nonzero {
		return 0, k, false
	}
	bl := int64(mant.BitLen())
	if exp+bl > 1100 {
		return math.Inf(1), k, true
	}
	if exp+bl < -1100 {
		return 0, k, true
	}
	f := new(big.Float).SetPrec(uint(bl) + 2).SetInt(mant)
	f.SetMantExp(f, int(exp))
	v, _ := f.Float64()
	er := math.IsInf(v, 0) || v == 0 || math.Abs(v) < 0x1p-1022
	return v, k, er
}

func hexVal(c byte) int {
	if isDigit(c) {
		return int(c - '0')
	}
	return int(c|0x20) - 'a' + 10
}

// String2d is Redis's string2d: the whole of b must be a double (no
// leading space, no trailing bytes), not NaN, and not out of range
// (overflow, or underflow to zero).
func String2d(b []byte) (float64, bool) {
	if len(b) == 0 || isSpace(b[0]) {
		return 0, false
	}
	v, n, er := Strtod(b)
	if n != len(b) || v != v || er && (math.IsInf(v, 0) || v == 0) {
		return 0, false
	}
	return v, true
}

// G17 formats f as printf's "%.17g" ("inf", "-inf", "nan" for the special
// values): Redis 7.0's addReplyDouble.
func G17(f float64) string { return FormatG(f, 17) }

// FormatG formats f as strconv's 'g' with precision prec (-1: the
// shortest form that reads back exactly), and the special values as
// Redis prints them: "inf", "-inf", "nan".
func FormatG(f float64, prec int) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case f != f:
		return "nan"
	}
	return strconv.FormatFloat(f, 'g', prec, 64)
}

// AppendG17 appends G17(f) to dst.
func AppendG17(dst []byte, f float64) []byte {
	// An integer of at most 17 digits prints as itself (%.17g switches
	// to an exponent at 1e17); -0 prints as "-0".
	if f > -1e17 && f < 1e17 && (f != 0 || !math.Signbit(f)) {
		if i := int64(f); float64(i) == f {
			return strconv.AppendInt(dst, i, 10)
		}
	}
	switch {
	case math.IsInf(f, 1):
		return append(dst, "inf"...)
	case math.IsInf(f, -1):
		return append(dst, "-inf"...)
	case f != f:
		return append(dst, "nan"...)
	}
	return strconv.AppendFloat(dst, f, 'g', 17, 64)
}

// Double2LL is Redis's double2ll: f as an integer if it is one within
// +/-(2^63-1)/2.
func Double2LL(f float64) (int64, bool) {
	const lim = float64(math.MaxInt64 / 2)
	if f < -lim || f > lim {
		return 0, false
	}
	ll := int64(f)
	if float64(ll) == f {
		return ll, true
	}
	return 0, false
}

// ScoreString is how Redis 7.0 writes a score into a listpack
// (zzlInsertAt): an integer when double2ll succeeds, else d2string's
// "%.17g" text.
func ScoreString(f float64) []byte {
	if ll, ok := Double2LL(f); ok {
		return strconv.AppendInt(nil, ll, 10)
	}
	return AppendG17(nil, f)
}

// Human formats f as Redis's ld2string in human mode ("%.17Lf" without
// trailing zeros, "-0" printed as "0"), as GEOPOS replies coordinates.
func Human(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	s := strconv.FormatFloat(f, 'f', 17, 64)
	if strings.IndexByte(s, '.') >= 0 {
		s = strings.TrimRight(s, "0")
		s = strings.TrimSuffix(s, ".")
	}
	if s == "-0" {
		s = "0"
	}
	return s
}
