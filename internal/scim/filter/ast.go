// Package filter implements the SCIM 2.0 filter language of RFC 7644 §3.4.2.2: a parser with
// limits on size, nesting and clause count, an evaluator over SCIM resources decoded from JSON
// (Match), and a compiler to parameterised SQL WHERE clauses (ToSQL).
//
// Parse never panics and never runs user input as code: values become typed literals, attribute
// paths become Path values, and ToSQL emits only placeholders for values and only caller-supplied
// column expressions for attributes. Every parse error wraps ErrInvalidFilter; a SCIM server maps
// it to HTTP 400 with scimType "invalidFilter".
package filter

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
)

// Expr is a node of a parsed filter: Compare, Present, And, Or, Not or ValuePath.
type Expr interface {
	// String returns the canonical form of the expression: operators and keywords in lower
	// case, attribute names as written, values as JSON, and parentheses exactly where needed
	// for Parse to rebuild the same tree.
	String() string
	isExpr()
}

// Path is an attribute path: an optional schema URN, an attribute name and an optional
// sub-attribute name ("name.familyName"). Names keep the case they were written in; SCIM
// attribute names compare case-insensitively (use Equal or Key).
type Path struct {
	URN, Attr, Sub string
}

// String returns the path as written in a filter: [URN ":"] Attr ["." Sub].
func (p Path) String() string {
	var b strings.Builder
	if p.URN != "" {
		b.WriteString(p.URN)
		b.WriteByte(':')
	}
	b.WriteString(p.Attr)
	if p.Sub != "" {
		b.WriteByte('.')
		b.WriteString(p.Sub)
	}
	return b.String()
}

// Key returns the lower-cased String, suitable as a case-insensitive map key.
func (p Path) Key() string { return strings.ToLower(p.String()) }

// Equal reports whether two paths name the same attribute, ignoring case.
func (p Path) Equal(q Path) bool {
	return strings.EqualFold(p.URN, q.URN) && strings.EqualFold(p.Attr, q.Attr) && strings.EqualFold(p.Sub, q.Sub)
}

// Comparison operators of Compare.Op (always lower case after Parse).
const (
	OpEq = "eq"
	OpNe = "ne"
	OpCo = "co"
	OpSw = "sw"
	OpEw = "ew"
	OpGt = "gt"
	OpGe = "ge"
	OpLt = "lt"
	OpLe = "le"
)

// Compare is "Path Op Value". Value is a string, a bool, nil (JSON null), an int64 for integer
// literals that fit, or a float64 for other numbers.
type Compare struct {
	Path  Path
	Op    string
	Value any
}

// Present is "Path pr": the attribute has a non-empty value.
type Present struct {
	Path Path
}

// And is "L and R".
type And struct {
	L, R Expr
}

// Or is "L or R".
type Or struct {
	L, R Expr
}

// Not is "not (X)".
type Not struct {
	X Expr
}

// ValuePath is "Path[Filter]": Filter is evaluated against each value of the (complex) attribute
// Path, with its own paths relative to that value (e.g. emails[type eq "work"]).
type ValuePath struct {
	Path   Path
	Filter Expr
}

func (Compare) isExpr()   {}
func (Present) isExpr()   {}
func (And) isExpr()       {}
func (Or) isExpr()        {}
func (Not) isExpr()       {}
func (ValuePath) isExpr() {}

func (c Compare) String() string {
	return c.Path.String() + " " + c.Op + " " + formatValue(c.Value)
}

func (p Present) String() string { return p.Path.String() + " pr" }

func (a And) String() string {
	return wrapIf(a.L, isOr) + " and " + wrapIf(a.R, isAndOr)
}

func (o Or) String() string {
	return o.L.String() + " or " + wrapIf(o.R, isOr)
}

func (n Not) String() string { return "not (" + n.X.String() + ")" }

func (v ValuePath) String() string { return v.Path.String() + "[" + v.Filter.String() + "]" }

func isOr(e Expr) bool {
	_, ok := e.(Or)
	return ok
}

func isAndOr(e Expr) bool {
	switch e.(type) {
	case And, Or:
		return true
	}
	return false
}

func wrapIf(e Expr, cond func(Expr) bool) string {
	if cond(e) {
		return "(" + e.String() + ")"
	}
	return e.String()
}

// formatValue renders a literal as JSON without HTML escaping.
func formatValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return strconv.FormatBool(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		// Keep the literal a float when it reparses ("1500.0", not "1500").
		f := strconv.FormatFloat(x, 'g', -1, 64)
		if !strings.ContainsAny(f, ".eE") {
			f += ".0"
		}
		return f
	case string:
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(x) // a string always encodes
		return strings.TrimSuffix(buf.String(), "\n")
	default:
		// Only hand-built trees reach this; keep the output parseable.
		b, err := json.Marshal(x)
		if err != nil {
			return "null"
		}
		return string(b)
	}
}
