package filter

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Limits applied by Parse. They bound the work a single request can cause; real identity
// providers send filters of one or two clauses.
const (
	// MaxLength is the longest filter Parse accepts, in bytes.
	MaxLength = 4096
	// MaxDepth bounds nesting: each parenthesised group (including the one after "not") and
	// each value path adds a level.
	MaxDepth = 16
	// MaxClauses bounds the number of attribute expressions (comparisons and "pr").
	MaxClauses = 64
)

// ErrInvalidFilter is wrapped by every error Parse and ParsePatchPath return, and by ToSQL
// errors caused by the filter itself (e.g. comparing a boolean column with a string).
var ErrInvalidFilter = errors.New("invalid filter")

// ErrLimit is additionally wrapped by parse errors caused by MaxLength, MaxDepth or MaxClauses.
var ErrLimit = errors.New("filter exceeds a limit")

// ParseError describes why a filter or path does not parse. Msg never contains more than a
// short, quoted excerpt of the input.
type ParseError struct {
	Offset int // byte offset in the input
	Msg    string
	limit  bool
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("invalid filter: %s at offset %d", e.Msg, e.Offset)
}

// Is makes errors.Is(err, ErrInvalidFilter) true, and errors.Is(err, ErrLimit) for limit errors.
func (e *ParseError) Is(target error) bool {
	return target == ErrInvalidFilter || (e.limit && target == ErrLimit)
}

type tokKind int

const (
	tEOF tokKind = iota
	tLParen
	tRParen
	tLBrack
	tRBrack
	tString
	tWord
)

type token struct {
	kind tokKind
	pos  int
	text string // raw word, or decoded string value
}

func isDelim(c byte) bool {
	switch c {
	case ' ', '\t', '\r', '\n', '(', ')', '[', ']', '"':
		return true
	}
	return false
}

func lex(s string) ([]token, error) {
	var toks []token
	for i := 0; i < len(s); {
		c := s[i]
		switch c {
		case ' ', '\t', '\r', '\n':
			i++
			continue
		case '(':
			toks = append(toks, token{kind: tLParen, pos: i})
			i++
		case ')':
			toks = append(toks, token{kind: tRParen, pos: i})
			i++
		case '[':
			toks = append(toks, token{kind: tLBrack, pos: i})
			i++
		case ']':
			toks = append(toks, token{kind: tRBrack, pos: i})
			i++
		case '"':
			j := i + 1
			for ; j < len(s); j++ {
				if s[j] == '\\' {
					j++
					continue
				}
				if s[j] == '"' {
					break
				}
			}
			if j >= len(s) {
				return nil, &ParseError{Offset: i, Msg: "unterminated string"}
			}
			var v string
			if err := json.Unmarshal([]byte(s[i:j+1]), &v); err != nil {
				return nil, &ParseError{Offset: i, Msg: "invalid string literal"}
			}
			toks = append(toks, token{kind: tString, pos: i, text: v})
			i = j + 1
		default:
			j := i
			for j < len(s) && !isDelim(s[j]) {
				j++
			}
			toks = append(toks, token{kind: tWord, pos: i, text: s[i:j]})
			i = j
		}
	}
	return append(toks, token{kind: tEOF, pos: len(s)}), nil
}

type parser struct {
	toks    []token
	i       int
	depth   int
	clauses int
}

func (p *parser) peek() token { return p.toks[p.i] }

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

func (p *parser) errAt(t token, format string, args ...any) error {
	return &ParseError{Offset: t.pos, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) enter(t token) error {
	p.depth++
	if p.depth > MaxDepth {
		return &ParseError{Offset: t.pos, Msg: fmt.Sprintf("nesting deeper than %d", MaxDepth), limit: true}
	}
	return nil
}

// Parse parses a SCIM filter (RFC 7644 §3.4.2.2). Keywords, operators and attribute names are
// case-insensitive; "not" binds tighter than "and", which binds tighter than "or"; "and" and
// "or" associate to the left. Errors wrap ErrInvalidFilter (and ErrLimit for limit violations).
func Parse(s string) (Expr, error) {
	if len(s) > MaxLength {
		return nil, &ParseError{Offset: MaxLength, Msg: fmt.Sprintf("longer than %d bytes", MaxLength), limit: true}
	}
	if !utf8.ValidString(s) {
		return nil, &ParseError{Msg: "not valid UTF-8"}
	}
	toks, err := lex(s)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	e, err := p.parseOr(false)
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tEOF {
		return nil, p.errAt(t, "unexpected %s", describe(t))
	}
	return e, nil
}

// parseOr parses FILTER; inValue is true inside a value path's brackets.
func (p *parser) parseOr(inValue bool) (Expr, error) {
	l, err := p.parseAnd(inValue)
	if err != nil {
		return nil, err
	}
	for p.isKeyword("or") {
		p.next()
		r, err := p.parseAnd(inValue)
		if err != nil {
			return nil, err
		}
		l = Or{L: l, R: r}
	}
	return l, nil
}

func (p *parser) parseAnd(inValue bool) (Expr, error) {
	l, err := p.parseUnary(inValue)
	if err != nil {
		return nil, err
	}
	for p.isKeyword("and") {
		p.next()
		r, err := p.parseUnary(inValue)
		if err != nil {
			return nil, err
		}
		l = And{L: l, R: r}
	}
	return l, nil
}

func (p *parser) isKeyword(kw string) bool {
	t := p.peek()
	return t.kind == tWord && strings.EqualFold(t.text, kw)
}

func (p *parser) parseUnary(inValue bool) (Expr, error) {
	t := p.peek()
	switch {
	case t.kind == tLParen:
		return p.parseGroup(inValue)
	case t.kind == tWord && strings.EqualFold(t.text, "not") && p.toks[p.i+1].kind == tLParen:
		p.next()
		x, err := p.parseGroup(inValue) // the group counts towards MaxDepth
		if err != nil {
			return nil, err
		}
		return Not{X: x}, nil
	case t.kind == tWord:
		return p.parseAttrExp(inValue)
	}
	return nil, p.errAt(t, "expected an attribute expression, found %s", describe(t))
}

func (p *parser) parseGroup(inValue bool) (Expr, error) {
	open := p.next()
	if open.kind != tLParen {
		return nil, p.errAt(open, "expected \"(\", found %s", describe(open))
	}
	if err := p.enter(open); err != nil {
		return nil, err
	}
	e, err := p.parseOr(inValue)
	if err != nil {
		return nil, err
	}
	if t := p.next(); t.kind != tRParen {
		return nil, p.errAt(t, "expected \")\", found %s", describe(t))
	}
	p.depth--
	return e, nil
}

func (p *parser) parseAttrExp(inValue bool) (Expr, error) {
	at := p.next()
	path, err := parsePath(at.text, at.pos)
	if err != nil {
		return nil, err
	}
	if inValue && (path.URN != "" || path.Sub != "") {
		return nil, p.errAt(at, "a value filter names sub-attributes of its attribute only")
	}
	if p.peek().kind == tLBrack {
		if inValue {
			return nil, p.errAt(p.peek(), "value paths do not nest")
		}
		if path.Sub != "" {
			return nil, p.errAt(at, "a value path applies to an attribute, not a sub-attribute")
		}
		return p.parseValuePath(path)
	}
	p.clauses++
	if p.clauses > MaxClauses {
		return nil, &ParseError{Offset: at.pos, Msg: fmt.Sprintf("more than %d clauses", MaxClauses), limit: true}
	}
	opTok := p.next()
	if opTok.kind != tWord {
		return nil, p.errAt(opTok, "expected an operator, found %s", describe(opTok))
	}
	op := strings.ToLower(opTok.text)
	if op == "pr" {
		return Present{Path: path}, nil
	}
	switch op {
	case OpEq, OpNe, OpCo, OpSw, OpEw, OpGt, OpGe, OpLt, OpLe:
	default:
		return nil, p.errAt(opTok, "unknown operator %s", describe(opTok))
	}
	vt := p.next()
	v, err := literal(vt)
	if err != nil {
		return nil, err
	}
	switch op {
	case OpCo, OpSw, OpEw:
		if _, ok := v.(string); !ok {
			return nil, p.errAt(vt, "operator %q needs a string value", op)
		}
	case OpGt, OpGe, OpLt, OpLe:
		switch v.(type) {
		case bool, nil:
			// RFC 7644: boolean (and null) operands of ordering operators are invalid filters.
			return nil, p.errAt(vt, "operator %q needs a string or number value", op)
		}
	}
	return Compare{Path: path, Op: op, Value: v}, nil
}

func (p *parser) parseValuePath(path Path) (Expr, error) {
	open := p.next()
	if err := p.enter(open); err != nil {
		return nil, err
	}
	f, err := p.parseOr(true)
	if err != nil {
		return nil, err
	}
	if t := p.next(); t.kind != tRBrack {
		return nil, p.errAt(t, "expected \"]\", found %s", describe(t))
	}
	p.depth--
	return ValuePath{Path: path, Filter: f}, nil
}

func literal(t token) (any, error) {
	switch t.kind {
	case tString:
		return t.text, nil
	case tWord:
		switch strings.ToLower(t.text) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		case "null":
			return nil, nil
		}
		if n, ok := parseNumber(t.text); ok {
			return n, nil
		}
	}
	return nil, &ParseError{Offset: t.pos, Msg: "expected a value, found " + describe(t)}
}

// parseNumber accepts a JSON number.
func parseNumber(s string) (any, bool) {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			n++
		}
		return n
	}
	start := i
	n := digits()
	if n == 0 || (n > 1 && s[start] == '0') {
		return nil, false
	}
	isInt := true
	if i < len(s) && s[i] == '.' {
		i++
		isInt = false
		if digits() == 0 {
			return nil, false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		isInt = false
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return nil, false
		}
	}
	if i != len(s) {
		return nil, false
	}
	if isInt {
		if v, err := strconv.ParseInt(s, 10, 64); err == nil {
			return v, true
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) {
		return nil, false
	}
	return f, true
}

func describe(t token) string {
	switch t.kind {
	case tEOF:
		return "end of filter"
	case tLParen:
		return "\"(\""
	case tRParen:
		return "\")\""
	case tLBrack:
		return "\"[\""
	case tRBrack:
		return "\"]\""
	case tString:
		return "a string"
	}
	w := t.text
	if len(w) > 32 {
		w = w[:32] + "…"
	}
	return strconv.Quote(w)
}

// ParsePath parses an attribute path: [URN ":"] ATTRNAME ["." ATTRNAME], where ATTRNAME is a
// letter followed by letters, digits, "-" or "_" (or the name "$ref"). Errors wrap
// ErrInvalidFilter.
func ParsePath(s string) (Path, error) {
	if len(s) > MaxLength {
		return Path{}, &ParseError{Msg: "path too long", limit: true}
	}
	return parsePath(s, 0)
}

func parsePath(s string, pos int) (Path, error) {
	var p Path
	rest := s
	if len(s) >= 4 && strings.EqualFold(s[:4], "urn:") {
		i := strings.LastIndexByte(s, ':')
		p.URN, rest = s[:i], s[i+1:]
		if !validURN(p.URN) {
			return Path{}, &ParseError{Offset: pos, Msg: "invalid schema URN"}
		}
	}
	attr, sub, hasSub := strings.Cut(rest, ".")
	if !validName(attr) || (hasSub && !validName(sub)) {
		return Path{}, &ParseError{Offset: pos, Msg: "invalid attribute path " + describe(token{kind: tWord, text: s})}
	}
	p.Attr, p.Sub = attr, sub
	return p, nil
}

func validName(s string) bool {
	if strings.EqualFold(s, "$ref") {
		return true
	}
	if s == "" || !isAlpha(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !isAlpha(c) && !(c >= '0' && c <= '9') && c != '-' && c != '_' {
			return false
		}
	}
	return true
}

func isAlpha(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }

// validURN checks "urn:" NID ":" NSS loosely (RFC 8141 characters, no empty segments at the end).
func validURN(s string) bool {
	parts := strings.Split(s, ":")
	if len(parts) < 3 {
		return false
	}
	for _, part := range parts[1:] {
		if part == "" {
			return false
		}
		for i := 0; i < len(part); i++ {
			c := part[i]
			if !isAlpha(c) && !(c >= '0' && c <= '9') && !strings.ContainsRune("-._+%=@;$,!*'/~&", rune(c)) {
				return false
			}
		}
	}
	return true
}

// PatchPath is the "path" of a PATCH operation (RFC 7644 §3.5.2): an attribute path, or a
// value path optionally followed by a sub-attribute, e.g. `emails[type eq "work"].value`.
type PatchPath struct {
	// Path is the attribute (Path.Sub is set only when there is no Filter).
	Path Path
	// Filter selects values of a multi-valued attribute; nil without brackets.
	Filter Expr
	// SubAttr follows the closing bracket; "" if none.
	SubAttr string
}

// String returns the canonical form of the path.
func (pp PatchPath) String() string {
	s := pp.Path.String()
	if pp.Filter != nil {
		s += "[" + pp.Filter.String() + "]"
	}
	if pp.SubAttr != "" {
		s += "." + pp.SubAttr
	}
	return s
}

// ParsePatchPath parses a PATCH operation path with the same lexer, limits and value-filter
// grammar as Parse. Errors wrap ErrInvalidFilter; a PATCH implementation reports them as
// scimType "invalidPath".
func ParsePatchPath(s string) (PatchPath, error) {
	if len(s) > MaxLength {
		return PatchPath{}, &ParseError{Offset: MaxLength, Msg: fmt.Sprintf("longer than %d bytes", MaxLength), limit: true}
	}
	if !utf8.ValidString(s) {
		return PatchPath{}, &ParseError{Msg: "not valid UTF-8"}
	}
	toks, err := lex(s)
	if err != nil {
		return PatchPath{}, err
	}
	p := &parser{toks: toks}
	at := p.next()
	if at.kind != tWord {
		return PatchPath{}, p.errAt(at, "expected an attribute path, found %s", describe(at))
	}
	path, err := parsePath(at.text, at.pos)
	if err != nil {
		return PatchPath{}, err
	}
	pp := PatchPath{Path: path}
	if p.peek().kind == tLBrack {
		if path.Sub != "" {
			return PatchPath{}, p.errAt(at, "a value path applies to an attribute, not a sub-attribute")
		}
		vp, err := p.parseValuePath(path)
		if err != nil {
			return PatchPath{}, err
		}
		pp.Filter = vp.(ValuePath).Filter
		if t := p.peek(); t.kind == tWord && t.pos == p.toks[p.i-1].pos+1 && strings.HasPrefix(t.text, ".") {
			p.next()
			if !validName(t.text[1:]) {
				return PatchPath{}, p.errAt(t, "invalid sub-attribute %s", describe(t))
			}
			pp.SubAttr = t.text[1:]
		}
	}
	if t := p.peek(); t.kind != tEOF {
		return PatchPath{}, p.errAt(t, "unexpected %s", describe(t))
	}
	return pp, nil
}
