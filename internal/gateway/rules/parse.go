package rules

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// maxDepth bounds the nesting of parentheses and negations.
const maxDepth = 64

// Parse parses one expression in Cloudflare's rules language (wirefilter) without checking its
// fields against a schema; Compile does that. The empty expression is not valid here (a rule's
// empty expression means "true" and never reaches Parse).
func Parse(src string) (Expr, error) {
	e, pe := parse(src)
	if pe != nil {
		return nil, exprError(src, pe)
	}
	return e, nil
}

func parse(src string) (Expr, *posError) {
	if len(src) > maxExprLen {
		return nil, errAt(0, fmt.Sprintf("expression longer than %d bytes", maxExprLen))
	}
	p := &parser{lex: lexer{src: src}}
	if err := p.advance(); err != nil {
		return nil, err
	}
	if p.tok.kind == tokEOF {
		return nil, errAt(0, "empty expression")
	}
	e, err := p.expr(0)
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tokEOF {
		return nil, p.unexpected("and, or or the end of the expression")
	}
	return e, nil
}

type parser struct {
	lex lexer
	tok token
	// peeked holds a token read ahead by peek.
	peeked *token
}

func (p *parser) advance() *posError {
	if p.peeked != nil {
		p.tok, p.peeked = *p.peeked, nil
		return nil
	}
	t, err := p.lex.next()
	if err != nil {
		return err
	}
	p.tok = t
	return nil
}

func (p *parser) peek() (token, *posError) {
	if p.peeked == nil {
		t, err := p.lex.next()
		if err != nil {
			return token{}, err
		}
		p.peeked = &t
	}
	return *p.peeked, nil
}

func (p *parser) unexpected(want string) *posError {
	if p.tok.kind == tokEOF {
		return errAt(p.tok.pos, "unexpected end of expression; expected "+want)
	}
	return errAt(p.tok.pos, fmt.Sprintf("unexpected %s; expected %s", describe(p.tok), want))
}

func describe(t token) string {
	switch t.kind {
	case tokString:
		return "string " + strconv.Quote(t.text)
	case tokList:
		return "list $" + t.text
	}
	return strconv.Quote(t.text)
}

// logicalOp returns the canonical logical operator of the current token, or "".
func (p *parser) logicalOp() string {
	switch p.tok.text {
	case "and", "&&":
		return "and"
	case "or", "||":
		return "or"
	case "xor", "^^":
		return "xor"
	}
	return ""
}

// expr parses a chain of logical operators by precedence climbing.
func (p *parser) expr(depth int) (Expr, *posError) {
	return p.binary(precOr, depth)
}

func (p *parser) binary(minPrec, depth int) (Expr, *posError) {
	if minPrec > precAnd {
		return p.unary(depth)
	}
	l, err := p.binary(minPrec+1, depth)
	if err != nil {
		return nil, err
	}
	for (p.tok.kind == tokIdent || p.tok.kind == tokOp) && p.logicalOp() != "" && opPrec(p.logicalOp()) == minPrec {
		op, pos := p.logicalOp(), p.tok.pos
		if err := p.advance(); err != nil {
			return nil, err
		}
		r, err := p.binary(minPrec+1, depth)
		if err != nil {
			return nil, err
		}
		l = &Binary{Op: op, L: l, R: r, pos: pos}
	}
	return l, nil
}

func (p *parser) unary(depth int) (Expr, *posError) {
	if depth >= maxDepth {
		return nil, errAt(p.tok.pos, fmt.Sprintf("expression nested deeper than %d", maxDepth))
	}
	if p.tok.kind == tokOp && p.tok.text == "!" || p.tok.kind == tokIdent && p.tok.text == "not" {
		pos := p.tok.pos
		if err := p.advance(); err != nil {
			return nil, err
		}
		x, err := p.unary(depth + 1)
		if err != nil {
			return nil, err
		}
		return &Not{X: x, pos: pos}, nil
	}
	return p.primary(depth)
}

func (p *parser) primary(depth int) (Expr, *posError) {
	switch p.tok.kind {
	case tokLParen:
		if err := p.advance(); err != nil {
			return nil, err
		}
		e, err := p.expr(depth + 1)
		if err != nil {
			return nil, err
		}
		if p.tok.kind != tokRParen {
			return nil, p.unexpected(`")"`)
		}
		return e, p.advance()
	case tokIdent:
		if p.tok.text == "any" || p.tok.text == "all" {
			if next, err := p.peek(); err != nil {
				return nil, err
			} else if next.kind == tokLParen {
				return p.function(depth)
			}
		}
		return p.comparison()
	}
	return nil, p.unexpected("a field, not(…), any(…) or (")
}

func (p *parser) function(depth int) (Expr, *posError) {
	name, pos := p.tok.text, p.tok.pos
	if err := p.advance(); err != nil { // name
		return nil, err
	}
	if err := p.advance(); err != nil { // (
		return nil, err
	}
	inner := p.tok.pos
	x, err := p.expr(depth + 1)
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tokRParen {
		return nil, p.unexpected(`")"`)
	}
	c, ok := x.(*Compare)
	if !ok {
		return nil, errAt(inner, name+"(…) takes one comparison over an array field, like "+name+"(app.ids[*] in {505})")
	}
	// In any/all the array is iterated whether or not [*] was written (Cloudflare's documentation
	// writes both any(identity.saml_attributes["x"] in {…}) and any(app.ids[*] in {…})).
	c.Field.Each = true
	return &Func{Name: name, X: c, pos: pos}, p.advance()
}

// validFieldName reports whether s is dot-separated identifiers.
func validFieldName(s string) bool {
	for part := range strings.SplitSeq(s, ".") {
		if part == "" || isDigit(part[0]) {
			return false
		}
		for i := 0; i < len(part); i++ {
			c := part[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
				return false
			}
		}
	}
	return true
}

func (p *parser) field() (FieldRef, *posError) {
	f := FieldRef{Name: p.tok.text, pos: p.tok.pos}
	if !validFieldName(f.Name) {
		return f, errAt(f.pos, fmt.Sprintf("malformed field name %q", f.Name))
	}
	if err := p.advance(); err != nil {
		return f, err
	}
	for p.tok.kind == tokLBracket {
		open := p.tok.pos
		if err := p.advance(); err != nil {
			return f, err
		}
		switch {
		case p.tok.kind == tokStar && !f.Each:
			f.Each = true
		case p.tok.kind == tokString && !f.HasKey && !f.Each:
			f.Key, f.HasKey = p.tok.text, true
		default:
			return f, errAt(open, `expected [*] or a map key ["name"]`)
		}
		if err := p.advance(); err != nil {
			return f, err
		}
		if p.tok.kind != tokRBracket {
			return f, p.unexpected(`"]"`)
		}
		if err := p.advance(); err != nil {
			return f, err
		}
	}
	// identity.groups[*].name is Cloudflare's newer spelling of identity.groups.name[*].
	if f.Each && !f.HasKey && p.tok.kind == tokIdent && strings.HasPrefix(p.tok.text, ".") {
		if !validFieldName(p.tok.text[1:]) {
			return f, errAt(p.tok.pos, fmt.Sprintf("malformed field name %q", p.tok.text))
		}
		f.Name += p.tok.text
		if err := p.advance(); err != nil {
			return f, err
		}
	}
	return f, nil
}

// comparisonOp returns the canonical comparison operator of the current token, or "".
func (p *parser) comparisonOp() string {
	t := p.tok
	if t.kind == tokOp {
		switch t.text {
		case "==", "!=", "<", "<=", ">", ">=":
			return t.text
		case "~":
			return "matches"
		}
		return ""
	}
	if t.kind != tokIdent {
		return ""
	}
	switch t.text {
	case "eq":
		return "=="
	case "ne":
		return "!="
	case "lt":
		return "<"
	case "le":
		return "<="
	case "gt":
		return ">"
	case "ge":
		return ">="
	case "in", "contains", "matches":
		return t.text
	}
	return ""
}

func (p *parser) comparison() (Expr, *posError) {
	f, err := p.field()
	if err != nil {
		return nil, err
	}
	negate := -1
	if p.tok.kind == tokIdent && p.tok.text == "not" {
		// "field not in {…}" is the dashboard's "not in"; Cloudflare's API writes not(field in {…}).
		negate = p.tok.pos
		if err := p.advance(); err != nil {
			return nil, err
		}
		if op := p.comparisonOp(); op != "in" && op != "matches" && op != "contains" {
			return nil, p.unexpected("in, matches or contains after not")
		}
	}
	op := p.comparisonOp()
	if op == "" {
		return nil, p.unexpected("a comparison operator (==, !=, <, <=, >, >=, in, contains, matches) after " + f.Name)
	}
	if err := p.advance(); err != nil {
		return nil, err
	}
	v, err := p.value(op == "in")
	if err != nil {
		return nil, err
	}
	var e Expr = &Compare{Field: f, Op: op, Value: v, pos: f.pos}
	if negate >= 0 {
		e = &Not{X: e, pos: negate}
	}
	return e, nil
}

func (p *parser) value(setOK bool) (Value, *posError) {
	t := p.tok
	switch t.kind {
	case tokLBrace:
		if !setOK {
			return Value{}, errAt(t.pos, "a set {…} goes only after in")
		}
		v := Value{Kind: ValSet, pos: t.pos}
		if err := p.advance(); err != nil {
			return v, err
		}
		for p.tok.kind != tokRBrace {
			if p.tok.kind == tokComma {
				return v, errAt(p.tok.pos, "set items are separated by spaces, not commas: {\"a\" \"b\"}")
			}
			if p.tok.kind == tokLBrace || p.tok.kind == tokList {
				return v, errAt(p.tok.pos, "a set holds strings, numbers and IP addresses only")
			}
			item, err := p.value(false)
			if err != nil {
				return v, err
			}
			v.Set = append(v.Set, item)
		}
		if len(v.Set) == 0 {
			return v, errAt(t.pos, "empty set")
		}
		return v, p.advance()
	case tokList:
		if !setOK {
			return Value{}, errAt(t.pos, "a list $name goes only after in")
		}
		return Value{Kind: ValList, Str: t.text, pos: t.pos}, p.advance()
	case tokString:
		return Value{Kind: ValString, Str: t.text, pos: t.pos}, p.advance()
	case tokInt:
		n, err := strconv.ParseInt(t.text, 10, 64)
		if err != nil {
			return Value{}, errAt(t.pos, fmt.Sprintf("number %s out of range", t.text))
		}
		return Value{Kind: ValInt, Int: n, pos: t.pos}, p.advance()
	case tokIP:
		v, pe := parseIP(t.text, t.pos)
		if pe != nil {
			return v, pe
		}
		return v, p.advance()
	}
	return Value{}, p.unexpected("a value (a \"string\", a number, an IP address or network, {a set} or $list)")
}

// parseIP parses an IP address or a CIDR network whose host bits are zero.
func parseIP(s string, pos int) (Value, *posError) {
	v := Value{Kind: ValIP, pos: pos}
	if strings.ContainsRune(s, '/') {
		pfx, err := netip.ParsePrefix(s)
		if err != nil {
			return v, errAt(pos, fmt.Sprintf("invalid CIDR %q", s))
		}
		if pfx.Masked() != pfx {
			return v, errAt(pos, fmt.Sprintf("CIDR %s has host bits set; did you mean %s?", s, pfx.Masked()))
		}
		v.Prefix, v.IsNet = pfx, true
		return v, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return v, errAt(pos, fmt.Sprintf("invalid IP address %q", s))
	}
	v.Prefix = netip.PrefixFrom(a, a.BitLen())
	return v, nil
}
