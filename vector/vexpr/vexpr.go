// Package vexpr is the expression language of Redis 8 vector sets' VSIM
// FILTER option: JavaScript-like expressions over an element's JSON
// attribute, such as `.year >= 1980 and .genre in ["drama", "action"]`.
//
// Syntax and semantics follow Redis 8: numbers, 'single' or "double"
// quoted strings (taken as written, without escape processing), tuples
// [1, "a"] (for in), the null literal, selectors .field (top-level fields
// only), the operators ( ) ! not ** * / % + - > >= < <= == != in and && or
// || with Redis's precedence (** right associative, not binding tighter
// than arithmetic), comparisons on numbers (a string is taken as the
// number it spells, else 0), == between two strings compares bytes, JSON
// booleans are 1 and 0, and a selector whose field is missing or not a
// scalar or array makes the whole expression false. Evaluation never
// fails; a malformed expression is refused by Compile.
package vexpr

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Error is a compile error; Near is the part of the expression from the
// position Redis reports (the whole expression when the problem is not
// at one token).
type Error struct{ Near string }

func (e *Error) Error() string { return "syntax error in FILTER expression near: " + e.Near }

type kind uint8

const (
	kNum kind = iota
	kStr
	kTuple
	kSel
	kOp
	kNull
)

type op uint8

const (
	opOpen op = iota
	opClose
	opNot
	opPow
	opMul
	opDiv
	opMod
	opAdd
	opSub
	opGT
	opGTE
	opLT
	opLTE
	opEQ
	opNEQ
	opIn
	opAnd
	opOr
)

type opInfo struct {
	name  string
	op    op
	prec  int
	arity int
}

// ops is the operator table: names, precedence and arity as in Redis.
var ops = []opInfo{
	{"(", opOpen, 7, 0}, {")", opClose, 7, 0},
	{"!", opNot, 6, 1}, {"not", opNot, 6, 1},
	{"**", opPow, 5, 2},
	{"*", opMul, 4, 2}, {"/", opDiv, 4, 2}, {"%", opMod, 4, 2},
	{"+", opAdd, 3, 2}, {"-", opSub, 3, 2},
	{">", opGT, 2, 2}, {">=", opGTE, 2, 2}, {"<", opLT, 2, 2}, {"<=", opLTE, 2, 2},
	{"==", opEQ, 2, 2}, {"!=", opNEQ, 2, 2}, {"in", opIn, 2, 2},
	{"and", opAnd, 1, 2}, {"&&", opAnd, 1, 2},
	{"or", opOr, 0, 2}, {"||", opOr, 0, 2},
}

func info(o op) opInfo {
	for _, i := range ops {
		if i.op == o {
			return i
		}
	}
	panic("vexpr: unknown operator")
}

// value is a token or an evaluation result.
type value struct {
	k     kind
	num   float64
	str   string
	tuple []value
	op    op
}

// Expr is a compiled expression. It is immutable and safe for concurrent
// use.
type Expr struct {
	prog []value // postfix program
}

const opChars = "+-*%/!()<>=|&"

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isSpace(c byte) bool { return c == ' ' || c >= '\t' && c <= '\r' }
func isSelChar(c byte) bool {
	return isAlpha(c) || isDigit(c) || c == '_' || c == '-'
}

type lexer struct {
	s string
	p int
}

func (l *lexer) at(i int) byte {
	if i < len(l.s) {
		return l.s[i]
	}
	return 0
}

func (l *lexer) number() (value, bool) {
	start := l.p
	for {
		c := l.at(l.p)
		if isDigit(c) || c == '.' || c == 'e' || c == 'E' || (l.p == start && c == '-') {
			l.p++
			continue
		}
		break
	}
	txt := l.s[start:l.p]
	if len(txt) > 255 {
		return value{}, false
	}
	f, err := strconv.ParseFloat(txt, 64)
	if err != nil {
		var ne *strconv.NumError
		if !(asNumErr(err, &ne) && ne.Err == strconv.ErrRange) {
			return value{}, false
		}
	}
	return value{k: kNum, num: f}, true
}

func asNumErr(err error, t **strconv.NumError) bool {
	ne, ok := err.(*strconv.NumError)
	if ok {
		*t = ne
	}
	return ok
}

func (l *lexer) str() (value, bool) {
	quote := l.s[l.p]
	l.p++
	start := l.p
	for l.p < len(l.s) {
		if l.s[l.p] == '\\' && l.p+1 < len(l.s) {
			l.p += 2
			continue
		}
		if l.s[l.p] == quote {
			v := value{k: kStr, str: l.s[start:l.p]}
			l.p++
			return v, true
		}
		l.p++
	}
	return value{}, false
}

func (l *lexer) tuple() (value, bool) {
	l.p++ // '['
	t := value{k: kTuple, tuple: []value{}}
	for {
		l.spaces()
		if l.at(l.p) == ']' {
			l.p++
			return t, true
		}
		var e value
		var ok bool
		switch c := l.at(l.p); {
		case isDigit(c) || c == '-':
			e, ok = l.number()
		case c == '"' || c == '\'':
			e, ok = l.str()
		}
		if !ok {
			return value{}, false
		}
		t.tuple = append(t.tuple, e)
		l.spaces()
		switch l.at(l.p) {
		case ']':
			l.p++
			return t, true
		case ',':
			l.p++
		default:
			return value{}, false
		}
	}
}

func (l *lexer) spaces() {
	for l.p < len(l.s) && isSpace(l.s[l.p]) {
		l.p++
	}
}

// operator reads the longest operator that prefixes the run of letters
// and operator characters at p, or the null literal.
func (l *lexer) operator() (value, bool) {
	start := l.p
	for l.p < len(l.s) && (isAlpha(l.s[l.p]) || strings.IndexByte(opChars, l.s[l.p]) >= 0) {
		l.p++
	}
	run := l.s[start:l.p]
	if run == "null" {
		return value{k: kNull}, true
	}
	best := -1
	for i, o := range ops {
		if strings.HasPrefix(run, o.name) && (best < 0 || len(o.name) > len(ops[best].name)) {
			best = i
		}
	}
	if best < 0 {
		return value{}, false
	}
	l.p = start + len(ops[best].name)
	return value{k: kOp, op: ops[best].op}, true
}

// Compile parses an expression. Errors are *Error.
func Compile(expr string) (*Expr, error) {
	// Redis works on a C string: the expression ends at a NUL byte.
	if i := strings.IndexByte(expr, 0); i >= 0 {
		expr = expr[:i]
	}
	l := &lexer{s: expr}
	var toks []value
	for {
		l.spaces()
		minusNum := len(toks) == 0 || (toks[len(toks)-1].k == kOp && toks[len(toks)-1].op != opClose)
		if l.p >= len(l.s) {
			break
		}
		c := l.s[l.p]
		var t value
		ok := false
		switch {
		case isDigit(c) || (minusNum && c == '-' && isDigit(l.at(l.p+1))):
			t, ok = l.number()
		case c == '"' || c == '\'':
			t, ok = l.str()
		case c == '.' && isSelChar(l.at(l.p+1)):
			l.p++
			start := l.p
			for l.p < len(l.s) && isSelChar(l.s[l.p]) {
				l.p++
			}
			t, ok = value{k: kSel, str: l.s[start:l.p]}, true
		case c == '[':
			t, ok = l.tuple()
		case isAlpha(c) || strings.IndexByte(opChars, c) >= 0:
			t, ok = l.operator()
		}
		if !ok {
			near := ""
			if l.p < len(l.s) {
				near = l.s[l.p:]
			} else {
				near = l.s
			}
			return nil, &Error{Near: near}
		}
		toks = append(toks, t)
	}
	whole := &Error{Near: expr}
	var prog, stack []value
	items := 0
	emit := func(o value) bool {
		a := info(o.op).arity
		if items < a {
			return false
		}
		prog = append(prog, o)
		items = items - a + 1
		return true
	}
	for _, t := range toks {
		if t.k != kOp {
			if t.k == kNull {
				// Redis's compiler drops the null literal (it is only
				// produced by JSON values).
				continue
			}
			prog = append(prog, t)
			items++
			continue
		}
		switch t.op {
		case opOpen:
			stack = append(stack, t)
			continue
		case opClose:
			for {
				if len(stack) == 0 {
					return nil, whole
				}
				top := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				if top.op == opOpen {
					break
				}
				if !emit(top) {
					return nil, whole
				}
			}
			continue
		}
		prec := info(t.op).prec
		for len(stack) > 0 {
			top := stack[len(stack)-1]
			if top.op == opOpen {
				break
			}
			tp := info(top.op).prec
			if tp < prec || (t.op == opPow && tp <= prec) {
				break
			}
			stack = stack[:len(stack)-1]
			if !emit(top) {
				return nil, whole
			}
		}
		stack = append(stack, t)
	}
	for len(stack) > 0 {
		top := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if top.op == opOpen || !emit(top) {
			return nil, whole
		}
	}
	if items != 1 {
		return nil, whole
	}
	return &Expr{prog: prog}, nil
}

func toNum(v value) float64 {
	switch v.k {
	case kNum:
		return v.num
	case kStr:
		if len(v.str) >= 256 {
			return 0
		}
		f, ok := parseCNum(v.str)
		if !ok {
			return 0
		}
		return f
	}
	return 0
}

// parseCNum parses a whole string as C's strtod would accept it (leading
// spaces allowed; hex and inf/nan forms included by ParseFloat's rules).
func parseCNum(s string) (float64, bool) {
	t := strings.TrimLeft(s, " \t\n\v\f\r")
	if t == "" {
		return 0, false
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return f, true
		}
		return 0, false
	}
	return f, true
}

func toBool(v value) bool {
	switch v.k {
	case kNum:
		return v.num != 0
	case kStr:
		return v.str != ""
	case kNull:
		return false
	}
	return true
}

func equal(a, b value) bool {
	switch {
	case a.k == kStr && b.k == kStr:
		return a.str == b.str
	case a.k == kNum && b.k == kNum:
		return a.num == b.num
	case a.k == kNull || b.k == kNull:
		return a.k == b.k
	}
	return toNum(a) == toNum(b)
}

// fromJSON converts a decoded JSON value (encoding/json types) to a value;
// false for objects and arrays holding anything but numbers and strings.
func fromJSON(x any) (value, bool) {
	switch x := x.(type) {
	case float64:
		return value{k: kNum, num: x}, true
	case string:
		return value{k: kStr, str: x}, true
	case bool:
		if x {
			return value{k: kNum, num: 1}, true
		}
		return value{k: kNum}, true
	case nil:
		return value{k: kNull}, true
	case []any:
		t := value{k: kTuple, tuple: make([]value, 0, len(x))}
		for _, e := range x {
			switch e.(type) {
			case float64, string:
				v, _ := fromJSON(e)
				t.tuple = append(t.tuple, v)
			default:
				return value{}, false
			}
		}
		return t, true
	}
	return value{}, false
}

// Match evaluates the expression against an element's top-level JSON
// fields (nil when the element has no attribute, or it is not an
// object: nothing matches then).
func (e *Expr) Match(fields map[string]any) bool {
	if fields == nil {
		return false
	}
	st := make([]value, 0, 8)
	for _, t := range e.prog {
		switch t.k {
		case kSel:
			x, ok := fields[t.str]
			if !ok || t.str == "" {
				return false
			}
			v, ok := fromJSON(x)
			if !ok {
				return false
			}
			st = append(st, v)
			continue
		case kOp:
		default:
			st = append(st, t)
			continue
		}
		b := st[len(st)-1]
		st = st[:len(st)-1]
		var a value
		if info(t.op).arity == 2 {
			a = st[len(st)-1]
			st = st[:len(st)-1]
		}
		r := 0.0
		truth := func(c bool) {
			if c {
				r = 1
			}
		}
		switch t.op {
		case opNot:
			truth(!toBool(b))
		case opPow:
			r = math.Pow(toNum(a), toNum(b))
		case opMul:
			r = toNum(a) * toNum(b)
		case opDiv:
			r = toNum(a) / toNum(b)
		case opMod:
			r = math.Mod(toNum(a), toNum(b))
		case opAdd:
			r = toNum(a) + toNum(b)
		case opSub:
			r = toNum(a) - toNum(b)
		case opGT:
			truth(toNum(a) > toNum(b))
		case opGTE:
			truth(toNum(a) >= toNum(b))
		case opLT:
			truth(toNum(a) < toNum(b))
		case opLTE:
			truth(toNum(a) <= toNum(b))
		case opEQ:
			truth(equal(a, b))
		case opNEQ:
			truth(!equal(a, b))
		case opIn:
			if b.k == kTuple {
				for _, x := range b.tuple {
					if equal(a, x) {
						r = 1
						break
					}
				}
			}
		case opAnd:
			truth(toBool(a) && toBool(b))
		case opOr:
			truth(toBool(a) || toBool(b))
		}
		st = append(st, value{k: kNum, num: r})
	}
	if len(st) == 0 {
		return false
	}
	return toBool(st[len(st)-1])
}

// String returns the postfix program (for tests and debugging).
func (e *Expr) String() string {
	var b bytes.Buffer
	for i, t := range e.prog {
		if i > 0 {
			b.WriteByte(' ')
		}
		switch t.k {
		case kNum:
			fmt.Fprintf(&b, "%g", t.num)
		case kStr:
			fmt.Fprintf(&b, "%q", t.str)
		case kSel:
			b.WriteString("." + t.str)
		case kTuple:
			b.WriteString("[")
			for j, x := range t.tuple {
				if j > 0 {
					b.WriteString(",")
				}
				if x.k == kNum {
					fmt.Fprintf(&b, "%g", x.num)
				} else {
					fmt.Fprintf(&b, "%q", x.str)
				}
			}
			b.WriteString("]")
		case kOp:
			b.WriteString(info(t.op).name)
		}
	}
	return b.String()
}
