// Package query parses RediSearch query strings (dialect 2) into a tree:
// `*`, terms and prefixes, `@text:term`, `@tag:{a|b}`, `@num:[lo (hi]`
// with -inf/+inf, juxtaposition for AND, `|` for OR, `-` for NOT,
// parentheses, `@v:[VECTOR_RANGE r $p]=>{$YIELD_DISTANCE_AS: d}` and a
// trailing `=>[KNN k @v $p EF_RUNTIME e AS name]`. Parameters (`$name`)
// are resolved while parsing from the PARAMS given. It knows nothing of
// indexes: field names are checked by the caller.
package query

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Kind is the kind of a Node.
type Kind uint8

// The node kinds.
const (
	All         Kind = iota // `*`
	Term                    // a text term (Field "" = every TEXT field)
	Tag                     // @field:{a|b}
	Numeric                 // @field:[lo hi]
	VectorRange             // @field:[VECTOR_RANGE r $p]
	And
	Or
	Not
)

// Node is one node of a parsed query.
type Node struct {
	Kind  Kind
	Field string
	// Term, Tag: the values (a Term has one). Prefix marks `word*`.
	Values []string
	Prefix []bool
	// Numeric bounds.
	Lo, Hi          float64
	LoExcl, HiExcl  bool
	Radius          float64
	Vector          []byte
	YieldDistanceAs string
	Children        []*Node
}

// KNN is a `=>[KNN k @field $vec ...]` clause.
type KNN struct {
	K         int
	Field     string
	Vector    []byte
	EFRuntime int
	As        string
}

// Query is a parsed query: a filter and, optionally, a KNN clause.
type Query struct {
	Root *Node
	KNN  *KNN
}

// Error is a syntax or parameter error; its text is what RediSearch says.
type Error struct{ Msg string }

func (e *Error) Error() string { return e.Msg }

// ErrSyntax is wrapped by every syntax error.
var ErrSyntax = errors.New("Syntax error")

type parser struct {
	s      string
	pos    int
	params map[string][]byte
}

func (p *parser) syntax(at int) error {
	near := p.s[min(at, len(p.s)):]
	if i := strings.IndexAny(near, " \t"); i > 0 {
		near = near[:i]
	}
	return &Error{fmt.Sprintf("Syntax error at offset %d near %s", at, near)}
}

// Parse parses q with the given PARAMS.
func Parse(q string, params map[string][]byte) (*Query, error) {
	p := &parser{s: q, params: params}
	out := &Query{}
	body := q
	if i := strings.Index(q, "=>["); i >= 0 {
		body = q[:i]
		knn, err := p.parseKNN(i + 3)
		if err != nil {
			return nil, err
		}
		out.KNN = knn
	}
	p.s = body
	p.skip()
	if p.pos >= len(p.s) {
		if out.KNN == nil {
			return nil, p.syntax(0)
		}
		return nil, p.syntax(0)
	}
	n, err := p.union()
	if err != nil {
		return nil, err
	}
	p.skip()
	if p.pos < len(p.s) {
		return nil, p.syntax(p.pos)
	}
	out.Root = n
	return out, nil
}

func (p *parser) skip() {
	for p.pos < len(p.s) && (p.s[p.pos] == ' ' || p.s[p.pos] == '\t' || p.s[p.pos] == '\n' || p.s[p.pos] == '\r') {
		p.pos++
	}
}

func (p *parser) peek() byte {
	if p.pos < len(p.s) {
		return p.s[p.pos]
	}
	return 0
}

// union := intersect ('|' intersect)*
func (p *parser) union() (*Node, error) {
	var kids []*Node
	for {
		n, err := p.intersect()
		if err != nil {
			return nil, err
		}
		kids = append(kids, n)
		p.skip()
		if p.peek() != '|' {
			break
		}
		p.pos++
	}
	if len(kids) == 1 {
		return kids[0], nil
	}
	return &Node{Kind: Or, Children: kids}, nil
}

// intersect := unary+
func (p *parser) intersect() (*Node, error) {
	var kids []*Node
	for {
		p.skip()
		c := p.peek()
		if c == 0 || c == '|' || c == ')' {
			break
		}
		n, err := p.unary()
		if err != nil {
			return nil, err
		}
		kids = append(kids, n)
	}
	switch len(kids) {
	case 0:
		return nil, p.syntax(p.pos)
	case 1:
		return kids[0], nil
	}
	return &Node{Kind: And, Children: kids}, nil
}

func (p *parser) unary() (*Node, error) {
	if p.peek() == '-' {
		p.pos++
		p.skip()
		n, err := p.unary()
		if err != nil {
			return nil, err
		}
		return &Node{Kind: Not, Children: []*Node{n}}, nil
	}
	return p.atom()
}

// group parses a parenthesised union; p is at the '('.
func (p *parser) group() (*Node, error) {
	p.pos++
	n, err := p.union()
	if err != nil {
		return nil, err
	}
	p.skip()
	if p.peek() != ')' {
		return nil, p.syntax(p.pos)
	}
	p.pos++
	return n, nil
}

func (p *parser) atom() (*Node, error) {
	start := p.pos
	switch c := p.peek(); {
	case c == '(':
		return p.group()
	case c == '*':
		p.pos++
		return &Node{Kind: All}, nil
	case c == '@':
		p.pos++
		name := p.ident()
		if name == "" || p.peek() != ':' {
			return nil, p.syntax(start)
		}
		p.pos++
		p.skip()
		return p.fieldValue(name, start)
	case c == '"':
		p.pos++
		end := strings.IndexByte(p.s[p.pos:], '"')
		if end < 0 {
			return nil, p.syntax(start)
		}
		words := Tokens(p.s[p.pos:p.pos+end], nil)
		p.pos += end + 1
		if len(words) == 0 {
			return nil, p.syntax(start)
		}
		var kids []*Node
		for _, w := range words {
			kids = append(kids, &Node{Kind: Term, Values: []string{w}, Prefix: []bool{false}})
		}
		if len(kids) == 1 {
			return kids[0], nil
		}
		return &Node{Kind: And, Children: kids}, nil
	}
	return p.term("", start)
}

// ident reads a field name (letters, digits, '_', and escaped characters).
func (p *parser) ident() string {
	var b strings.Builder
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		if c == '\\' && p.pos+1 < len(p.s) {
			b.WriteByte(p.s[p.pos+1])
			p.pos += 2
			continue
		}
		if c == '_' || c == '.' || c >= 0x80 || ('0' <= c && c <= '9') || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') {
			b.WriteByte(c)
			p.pos++
			continue
		}
		break
	}
	return b.String()
}

// term reads one word (optionally ending in '*', or a $param).
func (p *parser) term(field string, start int) (*Node, error) {
	if p.peek() == '$' {
		p.pos++
		name := p.ident()
		v, ok := p.params[name]
		if !ok {
			return nil, &Error{fmt.Sprintf("No such parameter `%s`", name)}
		}
		return &Node{Kind: Term, Field: field, Values: []string{strings.ToLower(string(v))}, Prefix: []bool{false}}, nil
	}
	w := p.ident()
	if w == "" {
		return nil, p.syntax(start)
	}
	prefix := false
	if p.peek() == '*' {
		prefix = true
		p.pos++
	}
	return &Node{Kind: Term, Field: field, Values: []string{strings.ToLower(w)}, Prefix: []bool{prefix}}, nil
}

func (p *parser) fieldValue(field string, start int) (*Node, error) {
	switch p.peek() {
	case '{':
		return p.tags(field)
	case '[':
		return p.brackets(field)
	case '(':
		n, err := p.group()
		if err != nil {
			return nil, err
		}
		setField(n, field)
		return n, nil
	}
	return p.term(field, p.pos)
}

// setField gives the text terms under n the field of `@field:(...)`.
func setField(n *Node, field string) {
	if n.Kind == Term && n.Field == "" {
		n.Field = field
	}
	for _, c := range n.Children {
		setField(c, field)
	}
}

// tags reads `{a | b c | d*}`.
func (p *parser) tags(field string) (*Node, error) {
	open := p.pos
	p.pos++
	n := &Node{Kind: Tag, Field: field}
	var cur strings.Builder
	flush := func() error {
		v := strings.TrimSpace(cur.String())
		cur.Reset()
		if v == "" {
			return p.syntax(open)
		}
		prefix := false
		if strings.HasSuffix(v, "*") && !strings.HasSuffix(v, `\*`) {
			prefix = true
			v = v[:len(v)-1]
		}
		if strings.HasPrefix(v, "$") {
			pv, ok := p.params[v[1:]]
			if !ok {
				return &Error{fmt.Sprintf("No such parameter `%s`", v[1:])}
			}
			v = string(pv)
		}
		n.Values = append(n.Values, v)
		n.Prefix = append(n.Prefix, prefix)
		return nil
	}
	for {
		if p.pos >= len(p.s) {
			return nil, p.syntax(open)
		}
		c := p.s[p.pos]
		switch c {
		case '\\':
			if p.pos+1 < len(p.s) {
				cur.WriteByte(p.s[p.pos+1])
				p.pos += 2
				continue
			}
			return nil, p.syntax(p.pos)
		case '|':
			if err := flush(); err != nil {
				return nil, err
			}
			p.pos++
			continue
		case '}':
			if err := flush(); err != nil {
				return nil, err
			}
			p.pos++
			return n, nil
		}
		cur.WriteByte(c)
		p.pos++
	}
}

// brackets reads `[lo hi]` or `[VECTOR_RANGE r $p]` (with an optional
// `=>{$YIELD_DISTANCE_AS: name}` after it).
func (p *parser) brackets(field string) (*Node, error) {
	open := p.pos
	end := strings.IndexByte(p.s[p.pos:], ']')
	if end < 0 {
		return nil, p.syntax(open)
	}
	inner := p.s[p.pos+1 : p.pos+end]
	p.pos += end + 1
	words := strings.Fields(inner)
	if len(words) == 3 && strings.EqualFold(words[0], "VECTOR_RANGE") {
		r, err := p.number(words[1], open)
		if err != nil {
			return nil, err
		}
		blob, err := p.param(words[2], open)
		if err != nil {
			return nil, err
		}
		n := &Node{Kind: VectorRange, Field: field, Radius: r, Vector: blob}
		if strings.HasPrefix(p.s[p.pos:], "=>{") {
			close := strings.IndexByte(p.s[p.pos:], '}')
			if close < 0 {
				return nil, p.syntax(p.pos)
			}
			attrs := p.s[p.pos+3 : p.pos+close]
			at := p.pos
			p.pos += close + 1
			for _, a := range strings.Split(attrs, ";") {
				a = strings.TrimSpace(a)
				if a == "" {
					continue
				}
				k, v, ok := strings.Cut(a, ":")
				if !ok {
					return nil, p.syntax(at)
				}
				k, v = strings.TrimSpace(k), strings.TrimSpace(v)
				switch strings.ToUpper(k) {
				case "$YIELD_DISTANCE_AS":
					n.YieldDistanceAs = v
				case "$EPSILON":
					// accepted: the index's EPSILON applies
				default:
					return nil, &Error{fmt.Sprintf("Invalid attribute %s", strings.TrimPrefix(k, "$"))}
				}
			}
		}
		return n, nil
	}
	if len(words) != 2 {
		return nil, p.syntax(open)
	}
	n := &Node{Kind: Numeric, Field: field}
	var err error
	if n.Lo, n.LoExcl, err = p.bound(words[0], open); err != nil {
		return nil, err
	}
	if n.Hi, n.HiExcl, err = p.bound(words[1], open); err != nil {
		return nil, err
	}
	return n, nil
}

func (p *parser) bound(w string, at int) (float64, bool, error) {
	excl := false
	if strings.HasPrefix(w, "(") {
		excl = true
		w = w[1:]
	}
	f, err := p.number(w, at)
	return f, excl, err
}

func (p *parser) number(w string, at int) (float64, error) {
	if strings.HasPrefix(w, "$") {
		v, ok := p.params[w[1:]]
		if !ok {
			return 0, &Error{fmt.Sprintf("No such parameter `%s`", w[1:])}
		}
		w = string(v)
	}
	switch strings.ToLower(w) {
	case "-inf":
		return math.Inf(-1), nil
	case "inf", "+inf":
		return math.Inf(1), nil
	}
	f, err := strconv.ParseFloat(w, 64)
	if err != nil || math.IsNaN(f) {
		return 0, p.syntax(at)
	}
	return f, nil
}

func (p *parser) param(w string, at int) ([]byte, error) {
	if !strings.HasPrefix(w, "$") {
		return nil, p.syntax(at)
	}
	v, ok := p.params[w[1:]]
	if !ok {
		return nil, &Error{fmt.Sprintf("No such parameter `%s`", w[1:])}
	}
	return v, nil
}

// parseKNN parses the clause after "=>[" at offset at.
func (p *parser) parseKNN(at int) (*KNN, error) {
	end := strings.LastIndexByte(p.s, ']')
	if end < at {
		return nil, p.syntax(at)
	}
	if rest := strings.TrimSpace(p.s[end+1:]); rest != "" {
		return nil, p.syntax(end + 1)
	}
	w := strings.Fields(p.s[at:end])
	if len(w) < 4 || !strings.EqualFold(w[0], "KNN") {
		return nil, p.syntax(at)
	}
	k := &KNN{}
	kv, err := p.number(w[1], at)
	if err != nil {
		return nil, err
	}
	if kv < 0 || kv != math.Trunc(kv) || kv > math.MaxInt32 {
		return nil, &Error{"Invalid value was given"}
	}
	k.K = int(kv)
	if !strings.HasPrefix(w[2], "@") || len(w[2]) < 2 {
		return nil, p.syntax(at)
	}
	k.Field = w[2][1:]
	if k.Vector, err = p.param(w[3], at); err != nil {
		return nil, err
	}
	for i := 4; i < len(w); i += 2 {
		if i+1 >= len(w) {
			return nil, p.syntax(at)
		}
		switch strings.ToUpper(w[i]) {
		case "EF_RUNTIME":
			ef, err := p.number(w[i+1], at)
			if err != nil {
				return nil, err
			}
			if ef < 1 || ef != math.Trunc(ef) || ef > 1<<20 {
				return nil, &Error{"Invalid value was given"}
			}
			k.EFRuntime = int(ef)
		case "AS":
			k.As = w[i+1]
		case "EPSILON":
		default:
			return nil, &Error{fmt.Sprintf("Invalid attribute %s", w[i])}
		}
	}
	return k, nil
}

// Explain renders the tree as FT.EXPLAIN does (an indented outline).
func (q *Query) Explain() string {
	var b strings.Builder
	if q.KNN != nil {
		fmt.Fprintf(&b, "VECTOR {K=%d nearest vectors to `$BLOB` in @%s, AS `%s`}{\n", q.KNN.K, q.KNN.Field, q.KNN.As)
		explain(&b, q.Root, 1)
		b.WriteString("}\n")
		return b.String()
	}
	explain(&b, q.Root, 0)
	return b.String()
}

func explain(b *strings.Builder, n *Node, depth int) {
	ind := strings.Repeat("  ", depth)
	switch n.Kind {
	case All:
		b.WriteString(ind + "<WILDCARD>\n")
	case Term:
		f := ""
		if n.Field != "" {
			f = "@" + n.Field + ":"
		}
		suffix := ""
		if n.Prefix[0] {
			suffix = "*"
		}
		b.WriteString(ind + f + n.Values[0] + suffix + "\n")
	case Tag:
		b.WriteString(ind + "TAG:@" + n.Field + " {\n")
		for i, v := range n.Values {
			s := v
			if n.Prefix[i] {
				s += "*"
			}
			b.WriteString(ind + "  " + s + "\n")
		}
		b.WriteString(ind + "}\n")
	case Numeric:
		lo, hi := "<=", "<="
		if n.LoExcl {
			lo = "<"
		}
		if n.HiExcl {
			hi = "<"
		}
		fmt.Fprintf(b, "%sNUMERIC {%s %s @%s %s %s}\n", ind, fmtNum(n.Lo), lo, n.Field, hi, fmtNum(n.Hi))
	case VectorRange:
		fmt.Fprintf(b, "%sVECTOR {Vectors that are within %s distance radius from `$BLOB` in @%s}\n", ind, fmtNum(n.Radius), n.Field)
	case And, Or, Not:
		name := map[Kind]string{And: "INTERSECT", Or: "UNION", Not: "NOT"}[n.Kind]
		b.WriteString(ind + name + " {\n")
		for _, c := range n.Children {
			explain(b, c, depth+1)
		}
		b.WriteString(ind + "}\n")
	}
}

func fmtNum(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}
