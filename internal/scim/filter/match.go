package filter

import (
	"encoding/json"
	"strings"
	"time"
)

// MatchOption configures Match.
type MatchOption func(*matchConfig)

type matchConfig struct {
	caseExact func(Path) bool
}

// CaseExact marks attributes whose string values compare case-sensitively (SCIM "caseExact":
// true, e.g. "id", "externalId"). Paths are written as in a filter ("emails.value",
// "urn:…:User:employeeNumber") and compared case-insensitively. Sub-attributes tested inside a
// value path are looked up with their full path (members[value eq "x"] → "members.value").
func CaseExact(paths ...string) MatchOption {
	set := make(map[string]bool, len(paths))
	for _, p := range paths {
		set[strings.ToLower(p)] = true
	}
	return func(c *matchConfig) {
		c.caseExact = func(p Path) bool {
			return set[p.Key()] || (p.URN != "" && set[strings.ToLower(Path{Attr: p.Attr, Sub: p.Sub}.String())])
		}
	}
}

// CaseExactFunc is CaseExact with a predicate, e.g. backed by a SCIM schema definition.
func CaseExactFunc(f func(Path) bool) MatchOption {
	return func(c *matchConfig) { c.caseExact = f }
}

// Match reports whether a SCIM resource, as decoded by encoding/json, satisfies e.
//
// Semantics: attribute names are looked up case-insensitively; an attribute qualified by a core
// schema URN is looked up at the top level, one qualified by an extension URN inside the
// extension's object. A multi-valued attribute matches when any of its values matches; a
// comparison against a complex value without a sub-attribute uses its "value" sub-attribute.
// Strings compare case-insensitively unless marked CaseExact; ordering operators on strings are
// lexicographic (on the case-folded strings unless case-exact), except that two strings that are
// both RFC 3339 timestamps compare as instants. "ne" is the negation of "eq" (so a missing
// attribute is "ne" anything, like SQL ToSQL emits); "eq null" matches a missing or null
// attribute and "ne null" a present one. Values of the wrong type never match.
func Match(e Expr, resource map[string]any, opts ...MatchOption) bool {
	var c matchConfig
	for _, o := range opts {
		o(&c)
	}
	return c.eval(e, resource, nil)
}

// eval evaluates e against res; scope is the enclosing value path's attribute, if any.
func (c *matchConfig) eval(e Expr, res map[string]any, scope *Path) bool {
	switch x := e.(type) {
	case And:
		return c.eval(x.L, res, scope) && c.eval(x.R, res, scope)
	case Or:
		return c.eval(x.L, res, scope) || c.eval(x.R, res, scope)
	case Not:
		return !c.eval(x.X, res, scope)
	case Present:
		for _, v := range resolve(res, x.Path, false) {
			if !isEmpty(v) {
				return true
			}
		}
		return false
	case Compare:
		vals := resolve(res, x.Path, true)
		if x.Value == nil {
			switch x.Op {
			case OpEq:
				return len(vals) == 0
			case OpNe:
				return len(vals) > 0
			}
			return false
		}
		exact := c.isCaseExact(x.Path, scope)
		if x.Op == OpNe {
			for _, v := range vals {
				if compare(OpEq, v, x.Value, exact) {
					return false
				}
			}
			return true
		}
		for _, v := range vals {
			if compare(x.Op, v, x.Value, exact) {
				return true
			}
		}
		return false
	case ValuePath:
		container, ok := containerFor(res, x.Path)
		if !ok {
			return false
		}
		v, _ := lookup(container, x.Path.Attr)
		path := x.Path
		switch vv := v.(type) {
		case map[string]any:
			return c.eval(x.Filter, vv, &path)
		case []any:
			for _, el := range vv {
				if m, ok := el.(map[string]any); ok && c.eval(x.Filter, m, &path) {
					return true
				}
			}
		}
		return false
	}
	return false
}

func (c *matchConfig) isCaseExact(p Path, scope *Path) bool {
	if c.caseExact == nil {
		return false
	}
	if scope != nil {
		p = Path{URN: scope.URN, Attr: scope.Attr, Sub: p.Attr}
	}
	return c.caseExact(p)
}

// lookup finds a key case-insensitively, preferring an exact match.
func lookup(m map[string]any, name string) (any, bool) {
	if v, ok := m[name]; ok {
		return v, true
	}
	for k, v := range m {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return nil, false
}

// IsCoreURN reports whether urn names a core SCIM schema (RFC 7643 §8.7), whose attributes sit
// at the top level of a resource.
func IsCoreURN(urn string) bool {
	return len(urn) >= 34 && strings.EqualFold(urn[:34], "urn:ietf:params:scim:schemas:core:")
}

func containerFor(res map[string]any, p Path) (map[string]any, bool) {
	if p.URN == "" {
		return res, true
	}
	if ext, ok := lookup(res, p.URN); ok {
		m, ok := ext.(map[string]any)
		return m, ok
	}
	if IsCoreURN(p.URN) {
		return res, true
	}
	return nil, false
}

// resolve returns the non-null values at p. With unwrapValue, complex values without a
// sub-attribute in the path are replaced by their "value" sub-attribute.
func resolve(res map[string]any, p Path, unwrapValue bool) []any {
	container, ok := containerFor(res, p)
	if !ok {
		return nil
	}
	v, ok := lookup(container, p.Attr)
	if !ok || v == nil {
		return nil
	}
	var out []any
	add := func(x any) {
		if p.Sub != "" {
			m, ok := x.(map[string]any)
			if !ok {
				return
			}
			x, ok = lookup(m, p.Sub)
			if !ok {
				return
			}
		} else if m, ok := x.(map[string]any); ok && unwrapValue {
			x = m["value"]
		}
		switch xs := x.(type) {
		case nil:
		case []any:
			for _, y := range xs {
				if y != nil {
					out = append(out, y)
				}
			}
		default:
			out = append(out, x)
		}
	}
	if arr, ok := v.([]any); ok {
		for _, el := range arr {
			add(el)
		}
	} else {
		add(v)
	}
	return out
}

func isEmpty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case []any:
		for _, y := range x {
			if !isEmpty(y) {
				return false
			}
		}
		return true
	case map[string]any:
		for _, y := range x {
			if !isEmpty(y) {
				return false
			}
		}
		return true
	}
	return false
}

// compare applies op (not ne) to a resource value and a filter literal.
func compare(op string, have, want any, exact bool) bool {
	switch w := want.(type) {
	case string:
		h, ok := have.(string)
		if !ok {
			return false
		}
		switch op {
		case OpCo, OpSw, OpEw:
		default:
			if ht, ok := parseTime(h); ok {
				if wt, ok := parseTime(w); ok {
					return order(op, ht.Compare(wt))
				}
			}
		}
		if !exact {
			if op == OpEq {
				return strings.EqualFold(h, w)
			}
			h, w = strings.ToLower(h), strings.ToLower(w)
		}
		switch op {
		case OpCo:
			return strings.Contains(h, w)
		case OpSw:
			return strings.HasPrefix(h, w)
		case OpEw:
			return strings.HasSuffix(h, w)
		}
		return order(op, strings.Compare(h, w))
	case bool:
		h, ok := have.(bool)
		return ok && op == OpEq && h == w
	case int64:
		h, ok := number(have)
		return ok && order(op, cmpFloat(h, float64(w)))
	case float64:
		h, ok := number(have)
		return ok && order(op, cmpFloat(h, w))
	}
	return false
}

func order(op string, c int) bool {
	switch op {
	case OpEq:
		return c == 0
	case OpGt:
		return c > 0
	case OpGe:
		return c >= 0
	case OpLt:
		return c < 0
	case OpLe:
		return c <= 0
	}
	return false
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	}
	return 0, false
}

// parseTime parses an RFC 3339 timestamp (SCIM dateTime, RFC 7643 §2.3.5).
func parseTime(s string) (time.Time, bool) {
	if len(s) < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	return t, err == nil
}
