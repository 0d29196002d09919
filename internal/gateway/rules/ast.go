package rules

import (
	"net/netip"
	"strconv"
	"strings"
)

// Expr is a parsed expression. Its String method prints it in canonical form, which parses back
// to an equal expression.
type Expr interface {
	// Pos is the byte offset of the expression in its source.
	Pos() int
	String() string
	write(b *strings.Builder, parentPrec int)
}

// Logical operators, by binding strength (wirefilter's): or < xor < and < not.
const (
	precOr = iota + 1
	precXor
	precAnd
	precNot
)

// Binary is a logical and/or/xor of two expressions.
type Binary struct {
	Op   string // "and", "or", "xor"
	L, R Expr
	pos  int
}

// Not negates X.
type Not struct {
	X   Expr
	pos int
}

// Func is any(…) or all(…) over one comparison on an array field.
type Func struct {
	Name string // "any" or "all"
	X    *Compare
	pos  int
}

// FieldRef names a field: Name is canonical (identity.groups[*].name is identity.groups.name),
// Key is the map key of identity.saml_attributes["key"], Each marks [*].
type FieldRef struct {
	Name   string
	Key    string
	HasKey bool
	Each   bool
	pos    int
}

// Compare is Field Op Value.
type Compare struct {
	Field FieldRef
	Op    string // canonical: == != < <= > >= in contains matches
	Value Value
	pos   int
}

// ValueKind tells which member of a Value is set.
type ValueKind uint8

// Kinds of Value.
const (
	ValString ValueKind = iota + 1
	ValInt
	ValIP
	ValSet
	ValList
)

// Value is a literal: a string, an integer, an IP address or network, a set {…} of literals, or a
// named list $name.
type Value struct {
	Kind   ValueKind
	Str    string       // ValString; ValList: the list name
	Int    int64        // ValInt
	Prefix netip.Prefix // ValIP: a single address has the full prefix length and IsNet false
	IsNet  bool         // ValIP written with /bits
	Set    []Value      // ValSet
	pos    int
}

// Pos implementations.
func (e *Binary) Pos() int  { return e.pos }
func (e *Not) Pos() int     { return e.pos }
func (e *Func) Pos() int    { return e.pos }
func (e *Compare) Pos() int { return e.pos }

func exprString(e Expr) string {
	var b strings.Builder
	e.write(&b, 0)
	return b.String()
}

// String prints the expression canonically.
func (e *Binary) String() string  { return exprString(e) }
func (e *Not) String() string     { return exprString(e) }
func (e *Func) String() string    { return exprString(e) }
func (e *Compare) String() string { return exprString(e) }

func opPrec(op string) int {
	switch op {
	case "or":
		return precOr
	case "xor":
		return precXor
	}
	return precAnd
}

func (e *Binary) write(b *strings.Builder, parent int) {
	p := opPrec(e.Op)
	paren := p < parent
	if paren {
		b.WriteByte('(')
	}
	e.L.write(b, p)
	b.WriteString(" " + e.Op + " ")
	// Operators are left-associative: a right operand of the same strength needs parentheses.
	e.R.write(b, p+1)
	if paren {
		b.WriteByte(')')
	}
}

func (e *Not) write(b *strings.Builder, _ int) {
	b.WriteString("not(")
	e.X.write(b, 0)
	b.WriteByte(')')
}

func (e *Func) write(b *strings.Builder, _ int) {
	b.WriteString(e.Name + "(")
	e.X.write(b, 0)
	b.WriteByte(')')
}

func (e *Compare) write(b *strings.Builder, _ int) {
	e.Field.write(b)
	b.WriteString(" " + e.Op + " ")
	e.Value.write(b)
}

func (f *FieldRef) write(b *strings.Builder) {
	b.WriteString(f.Name)
	if f.HasKey {
		b.WriteByte('[')
		writeString(b, f.Key)
		b.WriteByte(']')
	}
	if f.Each {
		b.WriteString("[*]")
	}
}

// String prints the field reference canonically.
func (f FieldRef) String() string {
	var b strings.Builder
	f.write(&b)
	return b.String()
}

func (v *Value) write(b *strings.Builder) {
	switch v.Kind {
	case ValString:
		writeString(b, v.Str)
	case ValInt:
		b.WriteString(strconv.FormatInt(v.Int, 10))
	case ValIP:
		if v.IsNet {
			b.WriteString(v.Prefix.String())
		} else {
			b.WriteString(v.Prefix.Addr().String())
		}
	case ValList:
		b.WriteString("$" + v.Str)
	case ValSet:
		b.WriteByte('{')
		for i := range v.Set {
			if i > 0 {
				b.WriteByte(' ')
			}
			v.Set[i].write(b)
		}
		b.WriteByte('}')
	}
}

// String prints the value canonically.
func (v Value) String() string {
	var b strings.Builder
	v.write(&b)
	return b.String()
}

// writeString quotes s so that the lexer reads it back unchanged.
func writeString(b *strings.Builder, s string) {
	const hex = "0123456789abcdef"
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case c == '\t':
			b.WriteString(`\t`)
		case c < 0x20 || c == 0x7f:
			b.WriteString(`\x`)
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
}
