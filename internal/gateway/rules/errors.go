package rules

import (
	"fmt"
	"strings"
)

// posError is a problem at a byte offset of one expression.
type posError struct {
	off int
	msg string
}

func errAt(off int, msg string) *posError { return &posError{off: off, msg: msg} }

// ExprError is a problem in one expression, at a byte offset; Line and Col (both from 1, Col
// counting bytes) locate it for people.
type ExprError struct {
	Offset    int
	Line, Col int
	Msg       string
}

// Error formats e as "line:col: msg".
func (e *ExprError) Error() string { return fmt.Sprintf("%d:%d: %s", e.Line, e.Col, e.Msg) }

// exprError places a posError in src.
func exprError(src string, pe *posError) *ExprError {
	off := min(max(pe.off, 0), len(src))
	line := 1 + strings.Count(src[:off], "\n")
	col := off + 1
	if i := strings.LastIndexByte(src[:off], '\n'); i >= 0 {
		col = off - i
	}
	return &ExprError{Offset: off, Line: line, Col: col, Msg: pe.msg}
}

// Error is one problem Compile found in a rule.
type Error struct {
	// Field is the path of the offending value with the YAML/JSON names and zero-based
	// indexes, e.g. "rules[2].traffic" or "rules[0].rule_settings.redirect.target_uri".
	Field string
	// RuleID is the rule's id as configured ("" when the id is missing).
	RuleID string
	// Expr locates the problem inside an expression; nil for problems outside expressions.
	Expr *ExprError
	// Msg says what is wrong, for people (for expression problems, Expr.Msg).
	Msg string
}

// Error formats e as `rules[2].traffic (rule "r1"): 1:5: unknown field …`.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Field)
	if e.RuleID != "" {
		fmt.Fprintf(&b, " (rule %q)", e.RuleID)
	}
	b.WriteString(": ")
	if e.Expr != nil {
		b.WriteString(e.Expr.Error())
	} else {
		b.WriteString(e.Msg)
	}
	return b.String()
}

// Errors is every problem Compile found, in configuration order.
type Errors []*Error

// Error joins the problems with "; ".
func (es Errors) Error() string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "; ")
}

// Unwrap returns the individual problems, so that errors.As finds an *Error.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}
