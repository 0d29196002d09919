package rules

import (
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// refEval is a plain tree-walking interpreter of a type-correct expression, written
// independently of the compiler, for differential testing: the compiled evaluator must agree
// with it on every input.
func refEval(t *testing.T, e Expr, in *Input, lists Lists) bool {
	switch e := e.(type) {
	case *Binary:
		l, r := refEval(t, e.L, in, lists), refEval(t, e.R, in, lists)
		switch e.Op {
		case "and":
			return l && r
		case "or":
			return l || r
		}
		return l != r
	case *Not:
		return !refEval(t, e.X, in, lists)
	case *Func:
		elems := refElems(e.X.Field, in)
		if len(elems) == 0 {
			return false
		}
		for _, el := range elems {
			m := refCompare(t, e.X, el, in, lists)
			if e.Name == "any" && m {
				return true
			}
			if e.Name == "all" && !m {
				return false
			}
		}
		return e.Name == "all"
	case *Compare:
		f := fields[e.Field.Name]
		var v any
		switch {
		case f.str != nil:
			v = f.str(in)
		case f.num != nil:
			v = f.num(in)
		case f.ip != nil:
			v = f.ip(in)
		}
		return refCompare(t, e, v, in, lists)
	}
	t.Fatalf("refEval: %T", e)
	return false
}

func refElems(fr FieldRef, in *Input) []any {
	f := fields[fr.Name]
	var out []any
	switch {
	case f.Name == "http.request.domains" && in.Domains == nil:
		for _, s := range Domains(strings.ToLower(in.Host)) {
			out = append(out, s)
		}
	case f.strs != nil:
		for _, s := range f.strs(in) {
			out = append(out, s)
		}
	case f.nums != nil:
		for _, n := range f.nums(in) {
			out = append(out, int64(n))
		}
	case f.smap != nil:
		for _, s := range f.smap(in)[fr.Key] {
			out = append(out, s)
		}
	}
	return out
}

// refLiterals returns the literals a comparison's value stands for, as strings.
func refLiterals(v Value, lists Lists) []Value {
	switch v.Kind {
	case ValSet:
		return v.Set
	case ValList:
		var out []Value
		for _, s := range lists[v.Str] {
			out = append(out, Value{Kind: ValString, Str: s})
		}
		return out
	}
	return []Value{v}
}

func refCompare(t *testing.T, e *Compare, v any, in *Input, lists Lists) bool {
	f := fields[e.Field.Name]
	lits := refLiterals(e.Value, lists)
	switch v := v.(type) {
	case string:
		norm := func(s string) string {
			if !f.fold {
				return s
			}
			s = strings.ToLower(s)
			switch f.Name {
			case "http.request.host", "http.request.domains", "proxy.endpoint":
				s = strings.TrimSuffix(s, ".")
			}
			return s
		}
		if f.fold {
			v = strings.ToLower(v)
		}
		switch e.Op {
		case "==":
			return v == norm(lits[0].Str)
		case "!=":
			return v != norm(lits[0].Str)
		case "contains":
			return strings.Contains(v, norm(lits[0].Str))
		case "matches":
			return regexp.MustCompile(lits[0].Str).MatchString(v)
		case "in":
			for _, l := range lits {
				if v == norm(l.Str) {
					return true
				}
			}
			return false
		}
	case int64:
		num := func(l Value) int64 {
			n := l.Int
			if l.Kind == ValString {
				n, _ = strconv.ParseInt(strings.TrimSpace(l.Str), 10, 64)
			}
			if f.scale > 1 {
				n *= f.scale
			}
			return n
		}
		switch e.Op {
		case "==":
			return v == num(lits[0])
		case "!=":
			return v != num(lits[0])
		case "<":
			return v < num(lits[0])
		case "<=":
			return v <= num(lits[0])
		case ">":
			return v > num(lits[0])
		case ">=":
			return v >= num(lits[0])
		case "in":
			for _, l := range lits {
				if v == num(l) {
					return true
				}
			}
			return false
		}
	case netip.Addr:
		contains := func(l Value) bool {
			p := l.Prefix
			if l.Kind == ValString {
				s := strings.TrimSpace(l.Str)
				if strings.Contains(s, "/") {
					p = netip.MustParsePrefix(s)
				} else {
					a := netip.MustParseAddr(s)
					p = netip.PrefixFrom(a, a.BitLen())
				}
			}
			if !v.IsValid() {
				return false
			}
			a := v.Unmap()
			if p.Addr().Is4In6() && p.Bits() >= 96 {
				p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
			}
			return p.Contains(a)
		}
		switch e.Op {
		case "==":
			return contains(lits[0])
		case "!=":
			return !contains(lits[0])
		case "in":
			for _, l := range lits {
				if contains(l) {
					return true
				}
			}
			return false
		}
	}
	t.Fatalf("refCompare: %s on %T", e.Op, v)
	return false
}

var refLists = Lists{"list": {"a", "chat.openai.com", "Contractors"}, "nets": {"10.0.0.0/8", "::1"}, "nums": {"1199", "25"}}

func refInputs(s string) []*Input {
	upper := req()
	upper.Host, upper.Domains = "CHAT.OpenAI.com", Domains("CHAT.OpenAI.com")
	derived := req()
	derived.Host, derived.Domains = s, nil
	return []*Input{{}, req(), upper, derived, {
		Host: s, Domains: Domains(s), URL: s, Path: s, Email: s, Method: s, GroupNames: []string{s, "a"},
		SAMLAttributes: map[string][]string{s: {s}, "dept": {s}}, AppIDs: []int{len(s), 1199},
		SrcIP: netip.MustParseAddr("::ffff:10.0.0.1"), DstIP: netip.MustParseAddr("::1"),
		UploadFileSize: int64(len(s)) << 20, ResponseStatus: len(s),
	}}
}

func checkAgainstReference(t *testing.T, src string) {
	x, err := CompileExpr(src, refLists)
	if err != nil || x.ast == nil {
		return
	}
	for i, in := range refInputs(src) {
		if got, want := x.Match(in), refEval(t, x.ast, in, refLists); got != want {
			t.Fatalf("%s on input %d: compiled %v, reference %v", src, i, got, want)
		}
	}
}

func TestAgainstReference(t *testing.T) {
	for _, src := range []string{
		`http.request.host == "Chat.OpenAI.com."`, `http.request.host in $list`, `any(identity.groups[*].name in $list)`,
		`http.conn.src_ip in $nets or http.conn.dst_ip in $nets`, `any(app.ids[*] in $nums)`, `http.upload.file.size >= 1`,
		`http.response.status_code == "0"`, `all(identity.groups[*].name != "x")`, `any(identity.saml_attributes["dept"] contains "a")`,
		`http.request.uri matches "^h" xor http.request.method == "POST"`, `http.conn.src_ip == ::ffff:10.0.0.0/104`,
		`any(http.request.domains[*] == "OPENAI.com") and not(identity.email contains "@")`,
	} {
		checkAgainstReference(t, src)
	}
}

// FuzzAgainstReference: the compiled evaluator agrees with the reference interpreter.
func FuzzAgainstReference(f *testing.F) {
	fuzzSeeds(f)
	f.Add(`http.conn.src_ip in $nets and any(app.ids[*] in $nums) or http.request.host in $list`)
	f.Fuzz(checkAgainstReference)
}
