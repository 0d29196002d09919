package filter

import (
	"errors"
	"fmt"
	"strings"
)

// Column kinds for Column.Kind. The aliases in parentheses are accepted too.
const (
	KindString = "string"
	KindBool   = "bool"   // ("boolean")
	KindTime   = "time"   // ("dateTime"): arguments are time.Time in UTC
	KindInt    = "int"    // ("integer"): arguments are int64 (float64 for non-integral literals)
	KindMicros = "micros" // ("unixmicro"): a time stored as Unix microseconds; arguments are int64
)

// Column tells ToSQL how to compare one SCIM attribute in SQL.
type Column struct {
	// Expr is a trusted SQL column or expression (never user input).
	Expr string
	// Kind is one of the Kind constants.
	Kind string
	// CaseExact compares strings case-sensitively. Note that SQLite's LIKE folds ASCII case
	// unless PRAGMA case_sensitive_like is on, so co/sw/ew stay case-insensitive there.
	CaseExact bool
	// Folded says Expr already holds strings.ToLower of the value: the operand is folded in Go
	// and Expr is not wrapped in LOWER(), so an index on Expr stays usable. Ignored with
	// CaseExact.
	Folded bool
}

// ErrNotIndexed is wrapped by ToSQL errors for filters naming an attribute that has no Column
// (or using a value path): the caller lists without the filter and applies Match in memory.
var ErrNotIndexed = errors.New("filter attribute not indexed")

// NotIndexedError names the attribute ToSQL could not compile.
type NotIndexedError struct {
	Path string
}

func (e *NotIndexedError) Error() string { return "filter attribute not indexed: " + e.Path }

// Is makes errors.Is(err, ErrNotIndexed) true.
func (e *NotIndexedError) Is(target error) bool { return target == ErrNotIndexed }

// ToSQL compiles e into a boolean SQL expression with "?" placeholders and its arguments. cols
// maps attribute paths as written in a filter ("userName", "name.familyName", "emails.value",
// "urn:…:User:employeeNumber"; case-insensitive; a core-URN-qualified path also finds the
// unqualified key) to columns. Values only ever travel as arguments.
//
// The result agrees with Match: case-insensitive strings compare through LOWER() (or a Folded
// column), co/sw/ew use LIKE with "%", "_" and "\" escaped and ESCAPE '\', "ne" and "not" are
// true for NULL columns, "pr" on strings excludes the empty string. One difference remains:
// SQLite's LOWER() folds ASCII only where Match folds Unicode.
//
// Errors wrap ErrNotIndexed for attributes without a column and value paths, and
// ErrInvalidFilter for a literal of the wrong type for its column.
func ToSQL(e Expr, cols map[string]Column) (where string, args []any, err error) {
	idx := make(map[string]Column, len(cols))
	for k, c := range cols {
		idx[strings.ToLower(k)] = c
	}
	var b strings.Builder
	s := &sqlBuilder{cols: idx, b: &b}
	if err := s.expr(e); err != nil {
		return "", nil, err
	}
	return b.String(), s.args, nil
}

type sqlBuilder struct {
	cols map[string]Column
	b    *strings.Builder
	args []any
}

func (s *sqlBuilder) column(p Path) (Column, error) {
	if c, ok := s.cols[p.Key()]; ok {
		return c, nil
	}
	if IsCoreURN(p.URN) {
		if c, ok := s.cols[strings.ToLower(Path{Attr: p.Attr, Sub: p.Sub}.String())]; ok {
			return c, nil
		}
	}
	return Column{}, &NotIndexedError{Path: p.String()}
}

func (s *sqlBuilder) expr(e Expr) error {
	switch x := e.(type) {
	case And:
		return s.binary(x.L, " AND ", x.R)
	case Or:
		return s.binary(x.L, " OR ", x.R)
	case Not:
		// NULL (an absent attribute) counts as false, as in Match.
		s.b.WriteString("NOT COALESCE(")
		if err := s.expr(x.X); err != nil {
			return err
		}
		s.b.WriteString(", FALSE)")
		return nil
	case ValuePath:
		return &NotIndexedError{Path: x.Path.String() + "[…]"}
	case Present:
		c, err := s.column(x.Path)
		if err != nil {
			return err
		}
		if kind(c.Kind) == KindString {
			fmt.Fprintf(s.b, "(%s IS NOT NULL AND %s <> '')", c.Expr, c.Expr)
		} else {
			fmt.Fprintf(s.b, "%s IS NOT NULL", c.Expr)
		}
		return nil
	case Compare:
		return s.compare(x)
	}
	return fmt.Errorf("%w: unsupported expression %T", ErrInvalidFilter, e)
}

func (s *sqlBuilder) binary(l Expr, op string, r Expr) error {
	s.b.WriteByte('(')
	if err := s.expr(l); err != nil {
		return err
	}
	s.b.WriteString(op)
	if err := s.expr(r); err != nil {
		return err
	}
	s.b.WriteByte(')')
	return nil
}

func kind(k string) string {
	switch strings.ToLower(k) {
	case "string", "reference", "binary":
		return KindString
	case "bool", "boolean":
		return KindBool
	case "time", "datetime":
		return KindTime
	case "int", "integer", "decimal":
		return KindInt
	case "micros", "unixmicro":
		return KindMicros
	}
	return k
}

var sqlOps = map[string]string{OpEq: "=", OpNe: "<>", OpGt: ">", OpGe: ">=", OpLt: "<", OpLe: "<="}

func (s *sqlBuilder) compare(x Compare) error {
	c, err := s.column(x.Path)
	if err != nil {
		return err
	}
	col := c.Expr
	if x.Value == nil {
		if x.Op == OpEq {
			fmt.Fprintf(s.b, "%s IS NULL", col)
		} else {
			fmt.Fprintf(s.b, "%s IS NOT NULL", col)
		}
		return nil
	}
	mismatch := func() error {
		return fmt.Errorf("%w: %s %s %s: wrong value type for the attribute", ErrInvalidFilter, x.Path, x.Op, typeName(x.Value))
	}
	lhs, rhs := col, "?"
	var arg any
	switch k := kind(c.Kind); k {
	case KindString:
		v, ok := x.Value.(string)
		if !ok {
			return mismatch()
		}
		switch {
		case c.CaseExact:
		case c.Folded:
			v = strings.ToLower(v)
		default:
			lhs, rhs = "LOWER("+col+")", "LOWER(?)"
		}
		switch x.Op {
		case OpCo:
			v = "%" + escapeLike(v) + "%"
		case OpSw:
			v = escapeLike(v) + "%"
		case OpEw:
			v = "%" + escapeLike(v)
		}
		arg = v
	case KindBool:
		v, ok := x.Value.(bool)
		if !ok || (x.Op != OpEq && x.Op != OpNe) {
			return mismatch()
		}
		arg = v
	case KindInt:
		switch v := x.Value.(type) {
		case int64, float64:
			arg = v
		default:
			return mismatch()
		}
	case KindTime, KindMicros:
		v, ok := x.Value.(string)
		if !ok {
			return mismatch()
		}
		t, ok := parseTime(v)
		if !ok || sqlOps[x.Op] == "" {
			return mismatch()
		}
		if k == KindMicros {
			arg = t.UnixMicro()
		} else {
			arg = t.UTC()
		}
	default:
		return fmt.Errorf("filter: column %q has unknown kind %q", x.Path.String(), c.Kind)
	}
	switch x.Op {
	case OpCo, OpSw, OpEw:
		if _, ok := arg.(string); !ok {
			return mismatch()
		}
		fmt.Fprintf(s.b, "%s LIKE %s ESCAPE '\\'", lhs, rhs)
	case OpNe:
		fmt.Fprintf(s.b, "(%s IS NULL OR %s <> %s)", col, lhs, rhs)
	default:
		fmt.Fprintf(s.b, "%s %s %s", lhs, sqlOps[x.Op], rhs)
	}
	s.args = append(s.args, arg)
	return nil
}

// escapeLike escapes LIKE's wildcards and its escape character.
func escapeLike(s string) string {
	if !strings.ContainsAny(s, `%_\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '%', '_', '\\':
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func typeName(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case bool:
		return "boolean"
	case int64, float64:
		return "number"
	}
	return "null"
}
