package rules

import (
	"net/netip"
	"regexp"
	"strings"
)

// node is a compiled expression. eval must not allocate in the common cases: nodes are values
// or small structs held in interfaces built once at compile time.
type node interface {
	eval(in *Input) bool
	// eval3 evaluates with only the fields of phases up to known: fields of later phases are
	// unknown, and so may be the result.
	eval3(in *Input, known Phase) tri
}

// tri is a three-valued truth value.
type tri uint8

const (
	triFalse tri = iota
	triTrue
	triUnknown
)

func triOf(b bool) tri {
	if b {
		return triTrue
	}
	return triFalse
}

type trueNode struct{}

func (trueNode) eval(*Input) bool        { return true }
func (trueNode) eval3(*Input, Phase) tri { return triTrue }

type andNode struct{ l, r node }

func (n andNode) eval(in *Input) bool { return n.l.eval(in) && n.r.eval(in) }

func (n andNode) eval3(in *Input, known Phase) tri {
	l := n.l.eval3(in, known)
	if l == triFalse {
		return triFalse
	}
	r := n.r.eval3(in, known)
	if r == triFalse {
		return triFalse
	}
	if l == triTrue && r == triTrue {
		return triTrue
	}
	return triUnknown
}

type orNode struct{ l, r node }

func (n orNode) eval(in *Input) bool { return n.l.eval(in) || n.r.eval(in) }

func (n orNode) eval3(in *Input, known Phase) tri {
	l := n.l.eval3(in, known)
	if l == triTrue {
		return triTrue
	}
	r := n.r.eval3(in, known)
	if r == triTrue {
		return triTrue
	}
	if l == triFalse && r == triFalse {
		return triFalse
	}
	return triUnknown
}

type xorNode struct{ l, r node }

func (n xorNode) eval(in *Input) bool { return n.l.eval(in) != n.r.eval(in) }

func (n xorNode) eval3(in *Input, known Phase) tri {
	l, r := n.l.eval3(in, known), n.r.eval3(in, known)
	if l == triUnknown || r == triUnknown {
		return triUnknown
	}
	return triOf(l != r)
}

type notNode struct{ x node }

func (n notNode) eval(in *Input) bool { return !n.x.eval(in) }

func (n notNode) eval3(in *Input, known Phase) tri {
	switch n.x.eval3(in, known) {
	case triTrue:
		return triFalse
	case triFalse:
		return triTrue
	}
	return triUnknown
}

// Predicates on one value.

type strPred interface{ test(s string) bool }

type strEq struct{ v string }

func (p strEq) test(s string) bool { return s == p.v }

type strNot struct{ p strPred }

func (p strNot) test(s string) bool { return !p.p.test(s) }

type strContains struct{ v string }

func (p strContains) test(s string) bool { return strings.Contains(s, p.v) }

type strRegex struct{ re *regexp.Regexp }

func (p strRegex) test(s string) bool { return p.re.MatchString(s) }

type strSet map[string]struct{}

func (p strSet) test(s string) bool { _, ok := p[s]; return ok }

type intPred interface{ test(n int64) bool }

type intCmp struct {
	op string
	v  int64
}

func (p intCmp) test(n int64) bool {
	switch p.op {
	case "==":
		return n == p.v
	case "!=":
		return n != p.v
	case "<":
		return n < p.v
	case "<=":
		return n <= p.v
	case ">":
		return n > p.v
	}
	return n >= p.v
}

type intSet map[int64]struct{}

func (p intSet) test(n int64) bool { _, ok := p[n]; return ok }

type ipPred interface{ test(a netip.Addr) bool }

type ipIn []netip.Prefix

func (p ipIn) test(a netip.Addr) bool {
	if !a.IsValid() {
		return false
	}
	a = a.Unmap()
	for _, pfx := range p {
		if pfx.Contains(a) {
			return true
		}
	}
	return false
}

type ipNot struct{ p ipPred }

func (p ipNot) test(a netip.Addr) bool { return !p.p.test(a) }

// Field nodes.

func foldString(s string, on bool) string {
	if on {
		return strings.ToLower(s) // returns s itself when it has no upper case
	}
	return s
}

type strNode struct {
	ph   Phase
	get  func(*Input) string
	fold bool
	p    strPred
}

func (n strNode) eval(in *Input) bool { return n.p.test(foldString(n.get(in), n.fold)) }

type strsNode struct {
	ph   Phase
	get  func(*Input) []string
	fold bool
	all  bool
	p    strPred
}

func (n strsNode) eval(in *Input) bool { return anyString(n.get(in), n.fold, n.all, n.p) }

// anyString tests p on the elements of vs: true when one passes, or with all when every one
// does (and there is at least one, so that all(…) of a missing value is false).
func anyString(vs []string, fold bool, all bool, p strPred) bool {
	if all {
		for _, v := range vs {
			if !p.test(foldString(v, fold)) {
				return false
			}
		}
		return len(vs) > 0
	}
	for _, v := range vs {
		if p.test(foldString(v, fold)) {
			return true
		}
	}
	return false
}

// domainsNode is http.request.domains: Input.Domains, or when that is nil, Input.Host and its
// parent domains, walked without allocating.
type domainsNode struct {
	ph  Phase
	all bool
	p   strPred
}

func (n domainsNode) eval(in *Input) bool {
	if in.Domains != nil {
		return anyString(in.Domains, true, n.all, n.p)
	}
	host := strings.TrimSuffix(foldString(in.Host, true), ".")
	if host == "" {
		return false
	}
	for d, rest := host, true; rest; d, rest = parentDomain(d) {
		if n.p.test(d) != n.all {
			return !n.all
		}
	}
	return n.all
}

func (n domainsNode) eval3(in *Input, known Phase) tri {
	if n.ph > known {
		return triUnknown
	}
	return triOf(n.eval(in))
}

type smapNode struct {
	ph  Phase
	get func(*Input) map[string][]string
	key string
	all bool
	p   strPred
}

func (n smapNode) eval(in *Input) bool { return anyString(n.get(in)[n.key], false, n.all, n.p) }

type intNode struct {
	ph  Phase
	get func(*Input) int64
	p   intPred
}

func (n intNode) eval(in *Input) bool { return n.p.test(n.get(in)) }

type intsNode struct {
	ph  Phase
	get func(*Input) []int
	// get2, when set, adds elements (support apps to app.ids for allow rules).
	get2 func(*Input) []int
	all  bool
	p    intPred
}

func (n intsNode) eval(in *Input) bool {
	vs := n.get(in)
	var more []int
	if n.get2 != nil {
		more = n.get2(in)
	}
	if n.all {
		return len(vs)+len(more) > 0 && allInts(vs, n.p) && allInts(more, n.p)
	}
	return anyInt(vs, n.p) || anyInt(more, n.p)
}

func anyInt(vs []int, p intPred) bool {
	for _, v := range vs {
		if p.test(int64(v)) {
			return true
		}
	}
	return false
}

func allInts(vs []int, p intPred) bool {
	for _, v := range vs {
		if !p.test(int64(v)) {
			return false
		}
	}
	return true
}

type ipNode struct {
	ph  Phase
	get func(*Input) netip.Addr
	p   ipPred
}

func (n ipNode) eval(in *Input) bool { return n.p.test(n.get(in)) }

func (n strNode) eval3(in *Input, known Phase) tri {
	if n.ph > known {
		return triUnknown
	}
	return triOf(n.eval(in))
}

func (n strsNode) eval3(in *Input, known Phase) tri {
	if n.ph > known {
		return triUnknown
	}
	return triOf(n.eval(in))
}

func (n smapNode) eval3(in *Input, known Phase) tri {
	if n.ph > known {
		return triUnknown
	}
	return triOf(n.eval(in))
}

func (n intNode) eval3(in *Input, known Phase) tri {
	if n.ph > known {
		return triUnknown
	}
	return triOf(n.eval(in))
}

func (n intsNode) eval3(in *Input, known Phase) tri {
	if n.ph > known {
		return triUnknown
	}
	return triOf(n.eval(in))
}

func (n ipNode) eval3(in *Input, known Phase) tri {
	if n.ph > known {
		return triUnknown
	}
	return triOf(n.eval(in))
}
