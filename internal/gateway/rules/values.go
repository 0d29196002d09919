package rules

import "slices"

// ExprStrings returns the strings e compares the field named field with, in order: string
// literals, the members of sets, and the values of the lists it names ($name, from lists).
// contains and matches operands are not values of the field and are left out.
func ExprStrings(e Expr, field string, lists Lists) []string {
	var out []string
	var value func(v Value)
	value = func(v Value) {
		switch v.Kind {
		case ValString:
			out = append(out, v.Str)
		case ValSet:
			for _, m := range v.Set {
				value(m)
			}
		case ValList:
			out = append(out, lists[v.Str]...)
		}
	}
	var walk func(e Expr)
	walk = func(e Expr) {
		switch e := e.(type) {
		case *Binary:
			walk(e.L)
			walk(e.R)
		case *Not:
			walk(e.X)
		case *Func:
			walk(e.X)
		case *Compare:
			if e.Field.Name == field && e.Op != "contains" && e.Op != "matches" {
				value(e.Value)
			}
		}
	}
	walk(e)
	return out
}

// FieldStrings returns the strings the enabled rules compare field with (see ExprStrings),
// without repeats, in evaluation order: for instance the DLP profiles (dlp.profiles) a body must
// be scanned with.
func (p *Policy) FieldStrings(field string) []string {
	var out []string
	for _, r := range p.rules {
		for _, x := range []*Expression{r.traffic, r.identity, r.devicePosture} {
			if x == nil || x.src == "" {
				continue
			}
			e, err := Parse(x.src)
			if err != nil {
				continue // compiled once already: cannot happen
			}
			for _, v := range ExprStrings(e, field, p.lists) {
				if !slices.Contains(out, v) {
					out = append(out, v)
				}
			}
		}
	}
	return out
}
