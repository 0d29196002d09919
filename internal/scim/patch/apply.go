package patch

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/scim/filter"
)

// Apply runs ops against resource under schema s and returns the patched resource. resource is
// never modified: Apply copies what it changes, so on error the caller still holds the original
// (RFC 7644 §3.5.2: a PATCH is atomic).
//
// Semantics, following RFC 7644 §3.5.2.1–3:
//   - add without path merges each attribute of the value object; keys may be attribute paths
//     ("name.givenName") or an extension URN holding an object.
//   - add to a multi-valued attribute appends values; a complex value whose "value"
//     sub-attribute equals an existing value's is merged into it instead of duplicated.
//   - add or replace on a complex single-valued attribute merges sub-attributes.
//   - replace on a multi-valued attribute without filter replaces all values; with a value
//     filter it replaces the matching values (or their sub-attribute). A filter that matches
//     nothing is noTarget, except when the attribute has no values at all (replace then acts as
//     add, RFC 7644 §3.5.2.3) or for add: both then create the value the filter's "eq" clauses
//     describe, e.g. emails[type eq "work"].value → {"type":"work","value":…} (Entra).
//   - remove with a value filter that matches nothing is noTarget; remove on "members" with a
//     value list removes those members (Entra).
//   - readOnly attributes (id, meta, groups) fail with mutability unless the value sent equals
//     the current one (Okta echoes the id); immutable ones may only be set while unassigned;
//     required ones (userName, displayName) cannot be removed.
//   - setting "primary" true on one value sets it false on the others.
func Apply(resource map[string]any, ops []Operation, s Schema) (map[string]any, error) {
	if len(ops) > MaxOperations {
		return nil, newError(413, "", "more than %d operations", MaxOperations)
	}
	a := &applier{res: maps.Clone(resource), s: &s, owned: map[string]bool{}}
	if a.res == nil {
		a.res = map[string]any{}
	}
	for i := range ops {
		op := &ops[i]
		if err := op.validate(); err != nil {
			err.Detail = fmt.Sprintf("operation %d: %s", i, err.Detail)
			return nil, err
		}
		if err := a.apply(op); err != nil {
			err.Detail = fmt.Sprintf("operation %d (%s): %s", i, op.Op, err.Detail)
			return nil, err
		}
	}
	return a.res, nil
}

type applier struct {
	res   map[string]any
	s     *Schema
	owned map[string]bool // lower-cased top-level keys already deep-copied
}

func parsePath(s string) (filter.PatchPath, *Error) {
	pp, err := filter.ParsePatchPath(s)
	if err != nil {
		return pp, &Error{Status: 400, ScimType: ScimTypeInvalidPath, Detail: "invalid path " + quote(s), Err: err}
	}
	return pp, nil
}

func quote(s string) string {
	if len(s) > 64 {
		s = s[:64] + "…"
	}
	return strconv.Quote(s)
}

func (a *applier) apply(op *Operation) *Error {
	if op.Path == "" {
		obj := op.Value.(map[string]any) // validate checked
		for _, k := range slices.Sorted(maps.Keys(obj)) {
			v := obj[k]
			if strings.EqualFold(k, "schemas") {
				continue // managed by Apply from the attributes present
			}
			if v == nil && op.Op == "add" {
				continue // nothing to add
			}
			if ext := a.s.Extension(k); ext != nil {
				if err := a.applyExtension(op.Op, ext, v); err != nil {
					return err
				}
				continue
			}
			pp, err := parsePath(k)
			if err != nil {
				return err
			}
			if err := a.applyPath(op.Op, pp, v); err != nil {
				return err
			}
		}
		return nil
	}
	if ext := a.s.Extension(op.Path); ext != nil {
		return a.applyExtension(op.Op, ext, op.Value)
	}
	pp, err := parsePath(op.Path)
	if err != nil {
		return err
	}
	return a.applyPath(op.Op, pp, op.Value)
}

// applyExtension handles a path (or pathless key) naming a whole schema extension.
func (a *applier) applyExtension(op string, ext *Schema, v any) *Error {
	if op == "remove" || v == nil {
		if op == "add" {
			return newError(400, ScimTypeInvalidValue, "%s needs an object value", ext.ID)
		}
		for _, at := range ext.Attributes {
			if at.Required {
				return newError(400, ScimTypeInvalidValue, "%s has required attributes", ext.ID)
			}
		}
		a.ownTop(ext.ID)
		delKey(a.res, ext.ID)
		a.removeSchema(ext.ID)
		return nil
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return newError(400, ScimTypeInvalidValue, "%s needs an object value", ext.ID)
	}
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		pp, err := parsePath(k)
		if err != nil {
			return err
		}
		if pp.Path.URN != "" {
			return newError(400, ScimTypeInvalidPath, "attribute %s inside %s is schema-qualified", quote(k), ext.ID)
		}
		pp.Path.URN = ext.ID
		if err := a.applyPath(op, pp, obj[k]); err != nil {
			return err
		}
	}
	return nil
}

func (a *applier) applyPath(op string, pp filter.PatchPath, v any) *Error {
	var ext *Schema
	var attr *Attribute
	switch {
	case pp.Path.URN == "" || strings.EqualFold(pp.Path.URN, a.s.ID):
		attr = a.s.Attribute(pp.Path.Attr)
	default:
		if ext = a.s.Extension(pp.Path.URN); ext == nil {
			return newError(400, ScimTypeInvalidPath, "unknown schema %s", quote(pp.Path.URN))
		}
		attr = find(ext.Attributes, pp.Path.Attr)
	}
	if attr == nil {
		return newError(400, ScimTypeInvalidPath, "unknown attribute %s", quote(pp.Path.Attr))
	}
	subName := pp.Path.Sub
	if pp.Filter != nil {
		subName = pp.SubAttr
		if attr.Type != TypeComplex || !attr.MultiValued {
			return newError(400, ScimTypeInvalidPath, "a value filter needs a multi-valued complex attribute, %s is not", attr.Name)
		}
		if err := checkFilter(pp.Filter, attr); err != nil {
			return err
		}
	}
	var sub *Attribute
	if subName != "" {
		if sub = attr.Sub(subName); sub == nil {
			return newError(400, ScimTypeInvalidPath, "unknown sub-attribute %s of %s", quote(subName), attr.Name)
		}
	}
	if attr.mutability() == ReadOnly || (sub != nil && sub.mutability() == ReadOnly) {
		if op != "remove" && pp.Filter == nil && sub == nil && a.unchanged(ext, attr, v) {
			return nil // Okta echoes "id" in a pathless replace
		}
		return newError(400, ScimTypeMutability, "attribute %s is readOnly", attr.Name)
	}
	if ext == nil {
		a.ownTop(attr.Name)
	}
	c := a.container(ext, op != "remove")
	if c == nil {
		return nil // removing from an absent extension
	}
	var err *Error
	switch {
	case pp.Filter != nil:
		err = a.filtered(op, c, attr, pp.Filter, sub, v)
	case sub != nil && attr.MultiValued:
		err = a.everyValue(op, c, attr, sub, v)
	case sub != nil:
		err = a.subAttribute(op, c, attr, sub, v)
	default:
		err = a.whole(op, c, attr, v)
	}
	if err == nil && ext != nil && len(c) == 0 {
		delKey(a.res, ext.ID)
		a.removeSchema(ext.ID)
	}
	return err
}

func (a *applier) unchanged(ext *Schema, attr *Attribute, v any) bool {
	c := a.res
	if ext != nil {
		m, ok := getKey(a.res, ext.ID)
		if c, ok = m.(map[string]any); !ok {
			return false
		}
	}
	cur, ok := getKey(c, attr.Name)
	return ok && reflect.DeepEqual(cur, v)
}

// checkFilter requires a value filter to name sub-attributes of attr only.
func checkFilter(e filter.Expr, attr *Attribute) *Error {
	var p filter.Path
	switch x := e.(type) {
	case filter.And:
		if err := checkFilter(x.L, attr); err != nil {
			return err
		}
		return checkFilter(x.R, attr)
	case filter.Or:
		if err := checkFilter(x.L, attr); err != nil {
			return err
		}
		return checkFilter(x.R, attr)
	case filter.Not:
		return checkFilter(x.X, attr)
	case filter.Compare:
		p = x.Path
	case filter.Present:
		p = x.Path
	default:
		return newError(400, ScimTypeInvalidPath, "unsupported value filter")
	}
	if attr.Sub(p.Attr) == nil {
		return newError(400, ScimTypeInvalidPath, "unknown sub-attribute %s of %s in filter", quote(p.Attr), attr.Name)
	}
	return nil
}

// whole applies op to an attribute without sub-attribute or filter.
func (a *applier) whole(op string, c map[string]any, attr *Attribute, v any) *Error {
	cur, exists := getKey(c, attr.Name)
	if op == "remove" && attr.MultiValued && v != nil {
		return a.removeValues(c, attr, v)
	}
	if op == "remove" || (op == "replace" && v == nil) {
		if !exists {
			return nil
		}
		if attr.Required {
			return newError(400, ScimTypeInvalidValue, "required attribute %s cannot be removed", attr.Name)
		}
		if attr.mutability() == Immutable {
			return newError(400, ScimTypeMutability, "attribute %s is immutable", attr.Name)
		}
		delKey(c, attr.Name)
		return nil
	}
	if attr.MultiValued {
		vals, err := coerceMulti(attr, v)
		if err != nil {
			return err
		}
		list := asList(cur)
		if attr.mutability() == Immutable && len(list) > 0 && !reflect.DeepEqual(list, vals) {
			return newError(400, ScimTypeMutability, "attribute %s is immutable", attr.Name)
		}
		if op == "replace" {
			changed := make([]int, len(vals))
			for i := range changed {
				changed[i] = i
			}
			fixPrimary(attr, vals, changed)
			setOrDelete(c, attr.Name, vals)
			return nil
		}
		var changed []int
		for _, nv := range vals {
			i := slices.IndexFunc(list, func(old any) bool { return sameValue(attr, old, nv) })
			if i < 0 {
				list = append(list, nv)
				changed = append(changed, len(list)-1)
				continue
			}
			if om, ok := list[i].(map[string]any); ok {
				if err := merge(attr, om, nv.(map[string]any)); err != nil {
					return err
				}
			}
			changed = append(changed, i)
		}
		fixPrimary(attr, list, changed)
		setOrDelete(c, attr.Name, list)
		return nil
	}
	cv, err := coerce(attr, v)
	if err != nil {
		return err
	}
	if attr.Type == TypeComplex {
		m, _ := cur.(map[string]any)
		if m == nil {
			m = map[string]any{}
		}
		if err := merge(attr, m, cv.(map[string]any)); err != nil {
			return err
		}
		setOrDelete(c, attr.Name, m)
		return nil
	}
	if attr.mutability() == Immutable && exists && cur != nil && !reflect.DeepEqual(cur, cv) {
		return newError(400, ScimTypeMutability, "attribute %s is immutable", attr.Name)
	}
	setKey(c, attr.Name, cv)
	return nil
}

// removeValues removes the listed values from a multi-valued attribute (Entra removes members
// with {"op":"Remove","path":"members","value":[{"value":"id"}]}). Values not present are
// ignored.
func (a *applier) removeValues(c map[string]any, attr *Attribute, v any) *Error {
	vals, err := coerceMulti(attr, v)
	if err != nil {
		return err
	}
	cur, _ := getKey(c, attr.Name)
	list := slices.DeleteFunc(asList(cur), func(old any) bool {
		return slices.ContainsFunc(vals, func(nv any) bool { return sameValue(attr, old, nv) })
	})
	setOrDelete(c, attr.Name, list)
	return nil
}

// subAttribute applies op to "attr.sub" of a single-valued complex attribute.
func (a *applier) subAttribute(op string, c map[string]any, attr, sub *Attribute, v any) *Error {
	cur, _ := getKey(c, attr.Name)
	m, _ := cur.(map[string]any)
	if op == "remove" || v == nil {
		if m == nil {
			return nil
		}
		if _, ok := getKey(m, sub.Name); ok && sub.mutability() == Immutable {
			return newError(400, ScimTypeMutability, "attribute %s.%s is immutable", attr.Name, sub.Name)
		}
		delKey(m, sub.Name)
		setOrDelete(c, attr.Name, m)
		return nil
	}
	cv, err := coerce(sub, v)
	if err != nil {
		return err
	}
	if m == nil {
		m = map[string]any{}
	}
	if err := merge(attr, m, map[string]any{sub.Name: cv}); err != nil {
		return err
	}
	setKey(c, attr.Name, m)
	return nil
}

// everyValue applies op to "attr.sub" on every value of a multi-valued attribute.
func (a *applier) everyValue(op string, c map[string]any, attr, sub *Attribute, v any) *Error {
	cur, _ := getKey(c, attr.Name)
	list := asList(cur)
	if len(list) == 0 {
		if op == "remove" {
			return nil
		}
		return newError(400, ScimTypeNoTarget, "attribute %s has no values", attr.Name)
	}
	all := make([]int, len(list))
	for i := range all {
		all[i] = i
	}
	return a.onValues(op, c, attr, sub, v, list, all)
}

// filtered applies op to the values of attr that match f.
func (a *applier) filtered(op string, c map[string]any, attr *Attribute, f filter.Expr, sub *Attribute, v any) *Error {
	cur, _ := getKey(c, attr.Name)
	list := asList(cur)
	caseExact := filter.CaseExactFunc(func(p filter.Path) bool {
		s := attr.Sub(p.Attr)
		return s != nil && s.CaseExact
	})
	var matches []int
	for i, el := range list {
		if m, ok := el.(map[string]any); ok && filter.Match(f, m, caseExact) {
			matches = append(matches, i)
		}
	}
	if len(matches) > 0 {
		return a.onValues(op, c, attr, sub, v, list, matches)
	}
	if op == "remove" || v == nil || (op == "replace" && len(list) > 0) {
		return newError(400, ScimTypeNoTarget, "no value of %s matches the filter", attr.Name)
	}
	// add, or replace on an attribute without values: create the value the filter describes.
	el := map[string]any{}
	if !equalities(f, el) {
		return newError(400, ScimTypeNoTarget, "no value of %s matches the filter", attr.Name)
	}
	if sub != nil {
		el[sub.Name] = v
	} else {
		m, ok := v.(map[string]any)
		if !ok {
			return newError(400, ScimTypeInvalidValue, "a value of %s must be an object", attr.Name)
		}
		for k, x := range m {
			el[k] = x
		}
	}
	cv, err := coerce(attr, el)
	if err != nil {
		return err
	}
	list = append(list, cv)
	fixPrimary(attr, list, []int{len(list) - 1})
	setKey(c, attr.Name, list)
	return nil
}

// onValues applies op to list[idx...] (or their sub-attribute) and stores the list in c.
func (a *applier) onValues(op string, c map[string]any, attr, sub *Attribute, v any, list []any, idx []int) *Error {
	if op == "remove" || v == nil {
		if sub == nil {
			// Removing whole values is allowed: immutability protects a value in place.
			drop := map[int]bool{}
			for _, i := range idx {
				drop[i] = true
			}
			out := list[:0]
			for i, el := range list {
				if !drop[i] {
					out = append(out, el)
				}
			}
			setOrDelete(c, attr.Name, out)
			return nil
		}
		for _, i := range idx {
			m, ok := list[i].(map[string]any)
			if !ok {
				continue
			}
			if _, has := getKey(m, sub.Name); has && sub.mutability() == Immutable {
				return newError(400, ScimTypeMutability, "attribute %s.%s is immutable", attr.Name, sub.Name)
			}
			delKey(m, sub.Name)
		}
		list = slices.DeleteFunc(list, func(el any) bool {
			m, ok := el.(map[string]any)
			return ok && len(m) == 0
		})
		setOrDelete(c, attr.Name, list)
		return nil
	}
	var nv map[string]any
	if sub != nil {
		cv, err := coerce(sub, v)
		if err != nil {
			return err
		}
		nv = map[string]any{sub.Name: cv}
	} else {
		cv, err := coerce(attr, v)
		if err != nil {
			return err
		}
		nv = cv.(map[string]any)
	}
	for _, i := range idx {
		m, ok := list[i].(map[string]any)
		if !ok {
			continue
		}
		if op == "replace" && sub == nil {
			// Replace the whole value; its immutable sub-attributes must not change.
			for _, s := range immutableSubs(attr) {
				old, had := getKey(m, s)
				if now, ok := nv[s]; had && (!ok || !reflect.DeepEqual(old, now)) {
					return newError(400, ScimTypeMutability, "attribute %s.%s is immutable", attr.Name, s)
				}
			}
			list[i] = maps.Clone(nv)
			continue
		}
		if err := merge(attr, m, nv); err != nil {
			return err
		}
	}
	fixPrimary(attr, list, idx)
	setKey(c, attr.Name, list)
	return nil
}

func immutableSubs(attr *Attribute) []string {
	var out []string
	for _, s := range attr.SubAttributes {
		if s.mutability() == Immutable {
			out = append(out, s.Name)
		}
	}
	return out
}

// merge sets the sub-attributes of src (already coerced) in dst, refusing to change an
// immutable sub-attribute that has a different value.
func merge(attr *Attribute, dst, src map[string]any) *Error {
	for _, k := range slices.Sorted(maps.Keys(src)) {
		sub := attr.Sub(k)
		old, had := getKey(dst, k)
		if sub != nil && sub.mutability() == Immutable && had && !reflect.DeepEqual(old, src[k]) {
			return newError(400, ScimTypeMutability, "attribute %s.%s is immutable", attr.Name, sub.Name)
		}
		setKey(dst, k, src[k])
	}
	return nil
}

// equalities fills el from a filter made of "sub eq value" clauses joined by "and".
func equalities(f filter.Expr, el map[string]any) bool {
	switch x := f.(type) {
	case filter.And:
		return equalities(x.L, el) && equalities(x.R, el)
	case filter.Compare:
		if x.Op != filter.OpEq || x.Value == nil {
			return false
		}
		if n, ok := x.Value.(int64); ok {
			el[x.Path.Attr] = float64(n)
		} else {
			el[x.Path.Attr] = x.Value
		}
		return true
	}
	return false
}

// fixPrimary keeps at most one value with "primary": true, preferring the changed ones.
func fixPrimary(attr *Attribute, list []any, changed []int) {
	if attr.Sub("primary") == nil {
		return
	}
	winner := -1
	for _, i := range changed {
		if m, ok := list[i].(map[string]any); ok && m["primary"] == true {
			winner = i
		}
	}
	if winner < 0 {
		return
	}
	for i, el := range list {
		if m, ok := el.(map[string]any); ok && i != winner && m["primary"] == true {
			m["primary"] = false
		}
	}
}

// sameValue reports whether two values of a multi-valued attribute denote the same value:
// equal "value" sub-attributes for complex values, equal values otherwise (case-insensitively
// unless caseExact).
func sameValue(attr *Attribute, a, b any) bool {
	if am, ok := a.(map[string]any); ok {
		bm, ok := b.(map[string]any)
		if !ok {
			return false
		}
		av, aok := getKey(am, "value")
		bv, bok := getKey(bm, "value")
		if !aok || !bok {
			return reflect.DeepEqual(am, bm)
		}
		sub := attr.Sub("value")
		return equalScalar(av, bv, sub != nil && sub.CaseExact)
	}
	return equalScalar(a, b, attr.CaseExact)
}

func equalScalar(a, b any, caseExact bool) bool {
	as, aok := a.(string)
	bs, bok := b.(string)
	if aok && bok && !caseExact {
		return strings.EqualFold(as, bs)
	}
	return reflect.DeepEqual(a, b)
}

func coerceMulti(attr *Attribute, v any) ([]any, *Error) {
	arr, ok := v.([]any)
	if !ok {
		arr = []any{v}
	}
	out := make([]any, 0, len(arr))
	for _, x := range arr {
		if x == nil {
			continue
		}
		cv, err := coerce(attr, x)
		if err != nil {
			return nil, err
		}
		out = append(out, cv)
	}
	return out, nil
}

// coerce checks one (not multi-valued) value against attr and converts what identity
// providers send in place of the proper JSON type.
func coerce(attr *Attribute, v any) (any, *Error) {
	bad := func(want string) *Error {
		return newError(400, ScimTypeInvalidValue, "attribute %s needs %s", attr.Name, want)
	}
	switch attr.Type {
	case TypeComplex:
		m, ok := v.(map[string]any)
		if !ok {
			// Entra sends the enterprise manager as its bare id.
			if s, isStr := v.(string); isStr && attr.Sub("value") != nil && !attr.MultiValued {
				return map[string]any{"value": s}, nil
			}
			return nil, bad("an object")
		}
		out := make(map[string]any, len(m))
		for k, x := range m {
			sub := attr.Sub(k)
			if sub == nil {
				return nil, newError(400, ScimTypeInvalidValue, "unknown sub-attribute %s of %s", quote(k), attr.Name)
			}
			if x == nil {
				continue // Entra sends "$ref": null
			}
			if sub.mutability() == ReadOnly {
				return nil, newError(400, ScimTypeMutability, "attribute %s.%s is readOnly", attr.Name, sub.Name)
			}
			cx, err := coerce(sub, x)
			if err != nil {
				return nil, err
			}
			out[sub.Name] = cx
		}
		return out, nil
	case TypeBoolean:
		switch x := v.(type) {
		case bool:
			return x, nil
		case string:
			// Okta and Entra send "True"/"False".
			if b, err := strconv.ParseBool(strings.ToLower(x)); err == nil && (strings.EqualFold(x, "true") || strings.EqualFold(x, "false")) {
				return b, nil
			}
		}
		return nil, bad("a boolean")
	case TypeInteger, TypeDecimal:
		var f float64
		switch x := v.(type) {
		case float64:
			f = x
		case int:
			f = float64(x)
		case int64:
			f = float64(x)
		case json.Number:
			var err error
			if f, err = x.Float64(); err != nil {
				return nil, bad("a number")
			}
		default:
			return nil, bad("a number")
		}
		if attr.Type == TypeInteger && f != math.Trunc(f) {
			return nil, bad("an integer")
		}
		return f, nil
	case TypeDateTime:
		s, ok := v.(string)
		if !ok {
			return nil, bad("an RFC 3339 date-time string")
		}
		if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
			return nil, bad("an RFC 3339 date-time string")
		}
		return s, nil
	default: // string, reference, binary
		s, ok := v.(string)
		if !ok {
			return nil, bad("a string")
		}
		return s, nil
	}
}

func asList(v any) []any {
	switch x := v.(type) {
	case []any:
		return x
	case nil:
		return nil
	}
	return []any{v}
}

// getKey looks a key up case-insensitively, preferring an exact match.
func getKey(m map[string]any, name string) (any, bool) {
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

// setKey stores v under name, removing keys that differ from name only in case.
func setKey(m map[string]any, name string, v any) {
	delKey(m, name)
	m[name] = v
}

func delKey(m map[string]any, name string) {
	for k := range m {
		if strings.EqualFold(k, name) {
			delete(m, k)
		}
	}
}

// setOrDelete stores a non-empty list or map and removes the attribute otherwise (an empty
// multi-valued or complex attribute is unassigned).
func setOrDelete(c map[string]any, name string, v any) {
	switch x := v.(type) {
	case []any:
		if len(x) == 0 {
			delKey(c, name)
			return
		}
	case map[string]any:
		if len(x) == 0 {
			delKey(c, name)
			return
		}
	}
	setKey(c, name, v)
}

// ownTop deep-copies the top-level attribute name before its first change, so the caller's
// resource is never modified.
func (a *applier) ownTop(name string) {
	key := strings.ToLower(name)
	if a.owned[key] {
		return
	}
	a.owned[key] = true
	for k, v := range a.res {
		if strings.EqualFold(k, name) {
			a.res[k] = deepCopy(v)
		}
	}
}

func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, y := range x {
			m[k] = deepCopy(y)
		}
		return m
	case []any:
		s := make([]any, len(x))
		for i, y := range x {
			s[i] = deepCopy(y)
		}
		return s
	}
	return v
}

// container returns the object holding ext's attributes (the resource itself for the core
// schema), creating it and listing ext in "schemas" when create is set.
func (a *applier) container(ext *Schema, create bool) map[string]any {
	if ext == nil {
		return a.res
	}
	a.ownTop(ext.ID)
	v, _ := getKey(a.res, ext.ID)
	m, ok := v.(map[string]any)
	if !ok {
		if !create {
			return nil
		}
		m = map[string]any{}
		setKey(a.res, ext.ID, m)
		a.addSchema(ext.ID)
	}
	return m
}

func (a *applier) addSchema(urn string) {
	a.ownTop("schemas")
	cur, ok := getKey(a.res, "schemas")
	list := asList(cur)
	if !ok {
		list = []any{a.s.ID}
	}
	if !slices.ContainsFunc(list, func(x any) bool { s, _ := x.(string); return strings.EqualFold(s, urn) }) {
		list = append(list, urn)
	}
	setKey(a.res, "schemas", list)
}

func (a *applier) removeSchema(urn string) {
	cur, ok := getKey(a.res, "schemas")
	if !ok {
		return
	}
	a.ownTop("schemas")
	cur, _ = getKey(a.res, "schemas")
	list := slices.DeleteFunc(asList(cur), func(x any) bool { s, _ := x.(string); return strings.EqualFold(s, urn) })
	setKey(a.res, "schemas", list)
}
