//go:build wasip1

package main

// cjson: Redis's bundled lua-cjson (2.1.0) as scripts see it, with its
// default configuration: encode and decode, cjson.null, the same output
// bytes (numbers as %.14g, '/' escaped, sparse-array rule) and the same
// error texts. Objects are encoded in the table's iteration order
// (gopher-lua's: array part, then keys in insertion order), which is
// deterministic but not always Lua 5.1's order; decoded objects get their
// keys in document order. The configuration functions
// (encode_max_depth, ...) are not provided.

import (
	"math"
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// jsonNull is cjson.null (a light userdata in Redis).
var jsonNull *lua.LUserData

const (
	jsonMaxDepth     = 1000 // encode_max_depth and decode_max_depth
	jsonSparseRatio  = 2    // encode_sparse_array's ratio and safe
	jsonSparseSafe   = 10
	jsonNumberFormat = 14 // encode_number_precision
)

func openCJSON(L *lua.LState) {
	jsonNull = L.NewUserData()
	mt := L.NewTable()
	L.SetField(mt, "__tostring", L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LString("userdata: (nil)"))
		return 1
	}))
	jsonNull.Metatable = mt
	t := L.NewTable()
	L.SetFuncs(t, map[string]lua.LGFunction{"encode": jsonEncode, "decode": jsonDecode})
	L.SetField(t, "null", jsonNull)
	L.SetField(t, "_NAME", lua.LString("cjson"))
	L.SetField(t, "_VERSION", lua.LString("2.1.0"))
	L.SetGlobal("cjson", t)
}

// fmtG14 formats a number as C's "%.14g" (Lua 5.1's tostring and
// cjson's output).
func fmtG14(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case math.IsNaN(f):
		return "nan"
	}
	return strconv.FormatFloat(f, 'g', jsonNumberFormat, 64)
}

func jsonEncode(L *lua.LState) int {
	if L.GetTop() != 1 {
		argError(L, 1, "encode", "expected 1 argument")
	}
	var b strings.Builder
	jsonAppend(L, &b, L.Get(1), 0)
	L.Push(lua.LString(b.String()))
	return 1
}

// typeName is Lua's type name of v, as cjson's errors show it.
func typeName(v lua.LValue) string { return v.Type().String() }

func jsonAppend(L *lua.LState, b *strings.Builder, v lua.LValue, depth int) {
	switch v := v.(type) {
	case lua.LString:
		jsonAppendString(b, string(v))
	case lua.LNumber:
		f := float64(v)
		if math.IsInf(f, 0) || math.IsNaN(f) {
			L.RaiseError("Cannot serialise number: must not be NaN or Inf")
		}
		b.WriteString(fmtG14(f))
	case lua.LBool:
		if v {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case *lua.LNilType:
		b.WriteString("null")
	case *lua.LTable:
		depth++
		if depth > jsonMaxDepth {
			L.RaiseError("Cannot serialise, excessive nesting (%d)", depth)
		}
		n := jsonArrayLength(L, v)
		if n > 0 {
			b.WriteByte('[')
			for i := 1; i <= n; i++ {
				if i > 1 {
					b.WriteByte(',')
				}
				jsonAppend(L, b, v.RawGetInt(i), depth)
			}
			b.WriteByte(']')
			return
		}
		b.WriteByte('{')
		first := true
		for k, e := v.Next(lua.LNil); k != lua.LNil; k, e = v.Next(k) {
			if !first {
				b.WriteByte(',')
			}
			first = false
			switch k := k.(type) {
			case lua.LNumber:
				b.WriteByte('"')
				b.WriteString(fmtG14(float64(k)))
				b.WriteString(`":`)
			case lua.LString:
				jsonAppendString(b, string(k))
				b.WriteByte(':')
			default:
				L.RaiseError("Cannot serialise %s: table key must be a number or string", typeName(k))
			}
			jsonAppend(L, b, e, depth)
		}
		b.WriteByte('}')
	case *lua.LUserData:
		if v == jsonNull {
			b.WriteString("null")
			return
		}
		L.RaiseError("Cannot serialise userdata: type not supported")
	default:
		L.RaiseError("Cannot serialise %s: type not supported", typeName(v))
	}
}

// jsonArrayLength is cjson's rule: a table whose keys are all integers
// >= 1 is an array of its largest key (holes are nulls), unless it is
// excessively sparse (an error); any other table, the empty one
// included, is an object (-1 or 0).
func jsonArrayLength(L *lua.LState, t *lua.LTable) int {
	maxKey, items := 0.0, 0.0
	for k, _ := t.Next(lua.LNil); k != lua.LNil; k, _ = t.Next(k) {
		n, ok := k.(lua.LNumber)
		if !ok || math.Floor(float64(n)) != float64(n) || n < 1 {
			return -1
		}
		maxKey = math.Max(maxKey, float64(n))
		items++
	}
	if maxKey > items*jsonSparseRatio && maxKey > jsonSparseSafe {
		L.RaiseError("Cannot serialise table: excessively sparse array")
	}
	return int(maxKey)
}

// jsonAppendString appends s quoted with cjson's escapes: control
// characters and DEL as \u00XX except \b \t \n \f \r, and '/' as "\/";
// other bytes as they are.
func jsonAppendString(b *strings.Builder, s string) {
	const hex = "0123456789abcdef"
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '/':
			b.WriteString(`\/`)
		case '\b':
			b.WriteString(`\b`)
		case '\t':
			b.WriteString(`\t`)
		case '\n':
			b.WriteString(`\n`)
		case '\f':
			b.WriteString(`\f`)
		case '\r':
			b.WriteString(`\r`)
		default:
			if c < 0x20 || c == 0x7f {
				b.WriteString(`\u00`)
				b.WriteByte(hex[c>>4])
				b.WriteByte(hex[c&15])
			} else {
				b.WriteByte(c)
			}
		}
	}
	b.WriteByte('"')
}

// JSON tokens, named as cjson's errors name them.
type jsonTok int

const (
	tObjBegin jsonTok = iota
	tObjEnd
	tArrBegin
	tArrEnd
	tString
	tNumber
	tBoolean
	tNull
	tColon
	tComma
	tEnd
	tError
)

var jsonTokNames = []string{"T_OBJ_BEGIN", "T_OBJ_END", "T_ARR_BEGIN", "T_ARR_END", "T_STRING", "T_NUMBER", "T_BOOLEAN", "T_NULL", "T_COLON", "T_COMMA", "T_END", "T_ERROR"}

type jsonToken struct {
	typ   jsonTok
	index int // 0-based; errors show index+1
	str   string
	num   float64
	b     bool
	err   string
}

type jsonParser struct {
	L     *lua.LState
	s     string
	pos   int
	depth int
}

func jsonDecode(L *lua.LState) int {
	if L.GetTop() != 1 {
		argError(L, 1, "decode", "expected 1 argument")
	}
	s := checkString(L, 1, "decode")
	if len(s) >= 2 && (s[0] == 0 || s[1] == 0) {
		L.RaiseError("JSON parser does not support UTF-16 or UTF-32")
	}
	// The C parser stops at the first NUL byte.
	if i := strings.IndexByte(s, 0); i >= 0 {
		s = s[:i]
	}
	p := &jsonParser{L: L, s: s}
	v := p.value(p.next())
	if t := p.next(); t.typ != tEnd {
		p.fail("the end", t)
	}
	L.Push(v)
	return 1
}

func (p *jsonParser) fail(expected string, t jsonToken) {
	found := jsonTokNames[t.typ]
	if t.typ == tError {
		found = t.err
	}
	p.L.RaiseError("Expected %s but found %s at character %d", expected, found, t.index+1)
}

func (p *jsonParser) value(t jsonToken) lua.LValue {
	switch t.typ {
	case tString:
		return lua.LString(t.str)
	case tNumber:
		return lua.LNumber(t.num)
	case tBoolean:
		return lua.LBool(t.b)
	case tNull:
		return jsonNull
	case tObjBegin:
		return p.object()
	case tArrBegin:
		return p.array()
	}
	p.fail("value", t)
	return nil
}

func (p *jsonParser) descend() {
	p.depth++
	if p.depth > jsonMaxDepth {
		p.L.RaiseError("Found too many nested data structures (%d) at character %d", p.depth, p.pos)
	}
}

func (p *jsonParser) object() lua.LValue {
	p.descend()
	t := p.L.NewTable()
	tok := p.next()
	if tok.typ == tObjEnd {
		p.depth--
		return t
	}
	for {
		if tok.typ != tString {
			p.fail("object key string", tok)
		}
		key := tok.str
		if tok = p.next(); tok.typ != tColon {
			p.fail("colon", tok)
		}
		t.RawSetString(key, p.value(p.next()))
		tok = p.next()
		if tok.typ == tObjEnd {
			break
		}
		if tok.typ != tComma {
			p.fail("comma or object end", tok)
		}
		tok = p.next()
	}
	p.depth--
	return t
}

func (p *jsonParser) array() lua.LValue {
	p.descend()
	t := p.L.NewTable()
	tok := p.next()
	if tok.typ == tArrEnd {
		p.depth--
		return t
	}
	for i := 1; ; i++ {
		t.RawSetInt(i, p.value(tok))
		tok = p.next()
		if tok.typ == tArrEnd {
			break
		}
		if tok.typ != tComma {
			p.fail("comma or array end", tok)
		}
		tok = p.next()
	}
	p.depth--
	return t
}

// next scans one token as cjson does, with its default of accepting the
// numbers JSON does not (hexadecimal, leading zeros or '+', Infinity,
// NaN): whatever C's strtod reads.
func (p *jsonParser) next() jsonToken {
	for p.pos < len(p.s) && (p.s[p.pos] == ' ' || p.s[p.pos] == '\t' || p.s[p.pos] == '\n' || p.s[p.pos] == '\r') {
		p.pos++
	}
	t := jsonToken{index: p.pos}
	if p.pos >= len(p.s) {
		t.typ = tEnd
		return t
	}
	single := map[byte]jsonTok{'{': tObjBegin, '}': tObjEnd, '[': tArrBegin, ']': tArrEnd, ':': tColon, ',': tComma}
	c := p.s[p.pos]
	if typ, ok := single[c]; ok {
		p.pos++
		t.typ = typ
		return t
	}
	rest := p.s[p.pos:]
	switch {
	case c == '"':
		return p.string(t)
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number(t)
	case strings.HasPrefix(rest, "true"):
		p.pos += 4
		t.typ, t.b = tBoolean, true
		return t
	case strings.HasPrefix(rest, "false"):
		p.pos += 5
		t.typ = tBoolean
		return t
	case strings.HasPrefix(rest, "null"):
		p.pos += 4
		t.typ = tNull
		return t
	case jsonInvalidNumber(rest):
		return p.number(t)
	}
	t.typ, t.err = tError, "invalid token"
	return t
}

// jsonInvalidNumber tells the non-JSON numbers cjson hands to strtod:
// a leading '+', hexadecimal, leading zeros, inf and nan.
func jsonInvalidNumber(s string) bool {
	if s[0] == '+' {
		return true
	}
	if s[0] == '-' {
		s = s[1:]
	}
	if s == "" {
		return false
	}
	if s[0] == '0' {
		return len(s) > 1 && (s[1]|0x20 == 'x' || (s[1] >= '0' && s[1] <= '9'))
	}
	if s[0] <= '9' {
		return false
	}
	l := strings.ToLower(s[:min(3, len(s))])
	return l == "inf" || l == "nan"
}

func (p *jsonParser) number(t jsonToken) jsonToken {
	f, n := strtod(p.s[p.pos:])
	if n == 0 {
		t.typ, t.err = tError, "invalid number"
		return t
	}
	p.pos += n
	t.typ, t.num = tNumber, f
	return t
}

func (p *jsonParser) string(t jsonToken) jsonToken {
	var b strings.Builder
	p.pos++ // the quote
	for {
		if p.pos >= len(p.s) {
			t.typ, t.err, t.index = tError, "unexpected end of string", p.pos
			return t
		}
		c := p.s[p.pos]
		if c == '"' {
			p.pos++
			break
		}
		if c != '\\' {
			b.WriteByte(c)
			p.pos++
			continue
		}
		if p.pos+1 >= len(p.s) {
			t.typ, t.err, t.index = tError, "invalid escape code", p.pos
			return t
		}
		esc := map[byte]byte{'"': '"', '\\': '\\', '/': '/', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t'}
		e := p.s[p.pos+1]
		if r, ok := esc[e]; ok {
			b.WriteByte(r)
			p.pos += 2
			continue
		}
		if e != 'u' {
			t.typ, t.err, t.index = tError, "invalid escape code", p.pos
			return t
		}
		n := jsonUnicodeEscape(p.s[p.pos:], &b)
		if n == 0 {
			t.typ, t.err, t.index = tError, "invalid unicode escape code", p.pos
			return t
		}
		p.pos += n
	}
	t.typ, t.str = tString, b.String()
	return t
}

// jsonUnicodeEscape decodes \uXXXX (a surrogate pair: two) at the start of
// s into b as UTF-8 and returns the bytes read, 0 when invalid.
func jsonUnicodeEscape(s string, b *strings.Builder) int {
	hex4 := func(s string) int {
		if len(s) < 6 || s[0] != '\\' || s[1] != 'u' {
			return -1
		}
		v, err := strconv.ParseUint(s[2:6], 16, 16)
		if err != nil {
			return -1
		}
		return int(v)
	}
	cp := hex4(s)
	n := 6
	switch {
	case cp < 0:
		return 0
	case cp >= 0xDC00 && cp <= 0xDFFF:
		return 0
	case cp >= 0xD800 && cp <= 0xDBFF:
		lo := hex4(s[6:])
		if lo < 0xDC00 || lo > 0xDFFF {
			return 0
		}
		cp = 0x10000 + (cp&0x3FF)<<10 + (lo & 0x3FF)
		n = 12
	}
	var buf [4]byte
	switch {
	case cp < 0x80:
		b.WriteByte(byte(cp))
	case cp < 0x800:
		buf[0], buf[1] = byte(0xC0|cp>>6), byte(0x80|cp&0x3F)
		b.Write(buf[:2])
	case cp < 0x10000:
		buf[0], buf[1], buf[2] = byte(0xE0|cp>>12), byte(0x80|(cp>>6)&0x3F), byte(0x80|cp&0x3F)
		b.Write(buf[:3])
	default:
		buf[0], buf[1], buf[2], buf[3] = byte(0xF0|cp>>18), byte(0x80|(cp>>12)&0x3F), byte(0x80|(cp>>6)&0x3F), byte(0x80|cp&0x3F)
		b.Write(buf[:4])
	}
	return n
}

// strtod reads the longest prefix of s that C's strtod reads (no leading
// space: the caller is at a token) and returns its value and length (0:
// none). Decimal, hexadecimal (with optional fraction and p exponent),
// inf, infinity and nan.
func strtod(s string) (float64, int) {
	i := 0
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	sign := func(f float64) float64 {
		if neg {
			return -f
		}
		return f
	}
	low := strings.ToLower(s[i:])
	switch {
	case strings.HasPrefix(low, "infinity"):
		return sign(math.Inf(1)), i + 8
	case strings.HasPrefix(low, "inf"):
		return sign(math.Inf(1)), i + 3
	case strings.HasPrefix(low, "nan"):
		n := i + 3
		if n < len(s) && s[n] == '(' {
			j := n + 1
			for j < len(s) && (isAlnum(s[j]) || s[j] == '_') {
				j++
			}
			if j < len(s) && s[j] == ')' {
				n = j + 1
			}
		}
		return math.NaN(), n
	}
	digits := func(j int, hex bool) int {
		for j < len(s) && (s[j] >= '0' && s[j] <= '9' || hex && (s[j]|0x20 >= 'a' && s[j]|0x20 <= 'f')) {
			j++
		}
		return j
	}
	if i+1 < len(s) && s[i] == '0' && s[i+1]|0x20 == 'x' {
		start := i + 2
		j := digits(start, true)
		mant := s[start:j]
		frac := ""
		if j < len(s) && s[j] == '.' {
			k := digits(j+1, true)
			frac = s[j+1 : k]
			if mant != "" || frac != "" {
				j = k
			}
		}
		if mant == "" && frac == "" {
			return 0, i + 1 // strtod reads the "0"
		}
		exp := "p0"
		if j < len(s) && s[j]|0x20 == 'p' {
			k := j + 1
			if k < len(s) && (s[k] == '+' || s[k] == '-') {
				k++
			}
			if e := digits(k, false); e > k {
				exp = s[j:e]
				j = e
			}
		}
		lit := "0x" + mant
		if mant == "" {
			lit = "0x0"
		}
		if frac != "" {
			lit += "." + frac
		}
		f, _ := strconv.ParseFloat(lit+exp, 64)
		return sign(f), j
	}
	j := digits(i, false)
	intPart := j > i
	fracPart := false
	if j < len(s) && s[j] == '.' {
		k := digits(j+1, false)
		fracPart = k > j+1
		if intPart || fracPart {
			j = k
		}
	}
	if !intPart && !fracPart {
		return 0, 0
	}
	if j < len(s) && s[j]|0x20 == 'e' {
		k := j + 1
		if k < len(s) && (s[k] == '+' || s[k] == '-') {
			k++
		}
		if e := digits(k, false); e > k {
			j = e
		}
	}
	f, _ := strconv.ParseFloat(strings.TrimSuffix(s[i:j], "."), 64) // out of range: ±Inf or 0, as strtod
	return sign(f), j
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c|0x20 >= 'a' && c|0x20 <= 'z'
}
