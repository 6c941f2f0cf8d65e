package query

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Expr is an FT.AGGREGATE APPLY/FILTER expression: numbers, 'strings',
// @properties, + - * / % ^, comparisons (== != < <= > >=), && || !, and
// parentheses.
type Expr struct {
	op   string // "num", "str", "prop", or an operator
	num  float64
	str  string
	args []*Expr
}

// Value is an expression value: a number or a string.
type Value struct {
	Num   float64
	Str   string
	IsNum bool
	Null  bool
}

// ParseExpr parses an expression.
func ParseExpr(s string) (*Expr, error) {
	p := &exprParser{s: s}
	e, err := p.parse(0)
	if err != nil {
		return nil, err
	}
	p.skip()
	if p.pos < len(p.s) {
		return nil, &Error{fmt.Sprintf("Syntax error at offset %d near %s", p.pos, p.s[p.pos:])}
	}
	return e, nil
}

type exprParser struct {
	s   string
	pos int
}

func (p *exprParser) skip() {
	for p.pos < len(p.s) && (p.s[p.pos] == ' ' || p.s[p.pos] == '\t') {
		p.pos++
	}
}

var binPrec = map[string]int{"||": 1, "&&": 2, "==": 3, "!=": 3, "<": 4, "<=": 4, ">": 4, ">=": 4,
	"+": 5, "-": 5, "*": 6, "/": 6, "%": 6, "^": 7}

func (p *exprParser) peekOp() string {
	p.skip()
	for _, op := range []string{"||", "&&", "==", "!=", "<=", ">=", "<", ">", "+", "-", "*", "/", "%", "^"} {
		if strings.HasPrefix(p.s[p.pos:], op) {
			return op
		}
	}
	return ""
}

func (p *exprParser) parse(minPrec int) (*Expr, error) {
	left, err := p.unary()
	if err != nil {
		return nil, err
	}
	for {
		op := p.peekOp()
		prec, ok := binPrec[op]
		if op == "" || !ok || prec <= minPrec {
			return left, nil
		}
		p.pos += len(op)
		next := prec
		if op == "^" {
			next = prec - 1 // right associative
		}
		right, err := p.parse(next)
		if err != nil {
			return nil, err
		}
		left = &Expr{op: op, args: []*Expr{left, right}}
	}
}

func (p *exprParser) syntax() error {
	return &Error{fmt.Sprintf("Syntax error at offset %d near %s", p.pos, p.s[min(p.pos, len(p.s)):])}
}

func (p *exprParser) unary() (*Expr, error) {
	p.skip()
	if p.pos >= len(p.s) {
		return nil, p.syntax()
	}
	switch c := p.s[p.pos]; {
	case c == '-' || c == '!':
		p.pos++
		e, err := p.unary()
		if err != nil {
			return nil, err
		}
		return &Expr{op: "u" + string(c), args: []*Expr{e}}, nil
	case c == '(':
		p.pos++
		e, err := p.parse(0)
		if err != nil {
			return nil, err
		}
		p.skip()
		if p.pos >= len(p.s) || p.s[p.pos] != ')' {
			return nil, p.syntax()
		}
		p.pos++
		return e, nil
	case c == '@':
		p.pos++
		start := p.pos
		for p.pos < len(p.s) && (isWord(p.s[p.pos])) {
			p.pos++
		}
		if p.pos == start {
			return nil, p.syntax()
		}
		return &Expr{op: "prop", str: p.s[start:p.pos]}, nil
	case c == '\'' || c == '"':
		end := strings.IndexByte(p.s[p.pos+1:], c)
		if end < 0 {
			return nil, p.syntax()
		}
		s := p.s[p.pos+1 : p.pos+1+end]
		p.pos += end + 2
		return &Expr{op: "str", str: s}, nil
	case c == '.' || ('0' <= c && c <= '9'):
		start := p.pos
		for p.pos < len(p.s) && (p.s[p.pos] == '.' || p.s[p.pos] == 'e' || p.s[p.pos] == 'E' || ('0' <= p.s[p.pos] && p.s[p.pos] <= '9')) {
			p.pos++
		}
		f, err := strconv.ParseFloat(p.s[start:p.pos], 64)
		if err != nil {
			p.pos = start
			return nil, p.syntax()
		}
		return &Expr{op: "num", num: f}, nil
	}
	return nil, p.syntax()
}

func isWord(c byte) bool {
	return c == '_' || ('0' <= c && c <= '9') || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
}

// Props returns the @properties e reads.
func (e *Expr) Props() []string {
	if e.op == "prop" {
		return []string{e.str}
	}
	var out []string
	for _, a := range e.args {
		out = append(out, a.Props()...)
	}
	return out
}

// ToNumber converts v to a number (ok false if it is not one).
func (v Value) ToNumber() (float64, bool) {
	if v.Null {
		return 0, false
	}
	if v.IsNum {
		return v.Num, true
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(v.Str), 64)
	return f, err == nil
}

func truth(v Value) bool {
	if v.Null {
		return false
	}
	if n, ok := v.ToNumber(); ok {
		return n != 0
	}
	return v.Str != ""
}

func boolVal(b bool) Value {
	if b {
		return Value{Num: 1, IsNum: true}
	}
	return Value{Num: 0, IsNum: true}
}

// Eval evaluates e with get giving each property's value.
func (e *Expr) Eval(get func(string) Value) Value {
	switch e.op {
	case "num":
		return Value{Num: e.num, IsNum: true}
	case "str":
		return Value{Str: e.str}
	case "prop":
		return get(e.str)
	case "u-":
		n, ok := e.args[0].Eval(get).ToNumber()
		if !ok {
			return Value{Null: true}
		}
		return Value{Num: -n, IsNum: true}
	case "u!":
		return boolVal(!truth(e.args[0].Eval(get)))
	case "&&":
		return boolVal(truth(e.args[0].Eval(get)) && truth(e.args[1].Eval(get)))
	case "||":
		return boolVal(truth(e.args[0].Eval(get)) || truth(e.args[1].Eval(get)))
	}
	a, b := e.args[0].Eval(get), e.args[1].Eval(get)
	switch e.op {
	case "==", "!=", "<", "<=", ">", ">=":
		var c int
		an, aok := a.ToNumber()
		bn, bok := b.ToNumber()
		switch {
		case aok && bok:
			switch {
			case an < bn:
				c = -1
			case an > bn:
				c = 1
			}
		default:
			c = strings.Compare(a.Str, b.Str)
		}
		switch e.op {
		case "==":
			return boolVal(c == 0)
		case "!=":
			return boolVal(c != 0)
		case "<":
			return boolVal(c < 0)
		case "<=":
			return boolVal(c <= 0)
		case ">":
			return boolVal(c > 0)
		}
		return boolVal(c >= 0)
	}
	an, aok := a.ToNumber()
	bn, bok := b.ToNumber()
	if !aok || !bok {
		return Value{Null: true}
	}
	var r float64
	switch e.op {
	case "+":
		r = an + bn
	case "-":
		r = an - bn
	case "*":
		r = an * bn
	case "/":
		r = an / bn
	case "%":
		r = math.Mod(math.Trunc(an), math.Trunc(bn))
	case "^":
		r = math.Pow(an, bn)
	}
	if math.IsNaN(r) {
		return Value{Null: true}
	}
	return Value{Num: r, IsNum: true}
}
