package rules

import (
	"fmt"
	"math"
	"net/netip"
	"regexp"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"
)

// Lists are the named lists that expressions reference as $name, each a list of values written
// as in a set: strings, decimal integers, or IP addresses and CIDR networks, depending on the
// field the list is compared with.
type Lists map[string][]string

// Expression is a compiled expression: safe for concurrent use.
type Expression struct {
	src   string
	ast   Expr // nil for the empty expression
	root  node
	phase Phase
	needs uint64
}

// CompileExpr parses and type-checks one expression against the field schema and lists. The
// empty (or all-blank: spaces, tabs, newlines) expression is true. Errors are *ExprError.
func CompileExpr(src string, lists Lists) (*Expression, error) {
	x, pe := compileExpr(src, lists, false)
	if pe != nil {
		return nil, exprError(src, pe)
	}
	return x, nil
}

// compileExpr compiles src; allowRule is set for the expressions of allow rules, which see
// more of some fields (Input.SupportAppIDs).
func compileExpr(src string, lists Lists, allowRule bool) (*Expression, *posError) {
	x := &Expression{src: src, root: trueNode{}}
	if strings.Trim(src, " \t\r\n") == "" {
		return x, nil
	}
	ast, pe := parse(src)
	if pe != nil {
		return nil, pe
	}
	c := &exprCompiler{lists: lists, allowRule: allowRule}
	root, pe := c.compile(ast)
	if pe != nil {
		return nil, pe
	}
	x.ast, x.root, x.phase, x.needs = ast, root, c.phase, c.needs
	return x, nil
}

// Match evaluates the expression over in.
func (x *Expression) Match(in *Input) bool { return x.root.eval(in) }

// Phase is the latest phase whose fields the expression uses.
func (x *Expression) Phase() Phase { return x.phase }

// String prints the expression canonically ("" for the empty expression).
func (x *Expression) String() string {
	if x.ast == nil {
		return ""
	}
	return x.ast.String()
}

// Source is the expression as written.
func (x *Expression) Source() string { return x.src }

type exprCompiler struct {
	lists     Lists
	allowRule bool
	phase     Phase
	needs     uint64
}

func (c *exprCompiler) compile(e Expr) (node, *posError) {
	switch e := e.(type) {
	case *Binary:
		l, err := c.compile(e.L)
		if err != nil {
			return nil, err
		}
		r, err := c.compile(e.R)
		if err != nil {
			return nil, err
		}
		switch e.Op {
		case "and":
			return andNode{l, r}, nil
		case "or":
			return orNode{l, r}, nil
		}
		return xorNode{l, r}, nil
	case *Not:
		x, err := c.compile(e.X)
		if err != nil {
			return nil, err
		}
		return notNode{x}, nil
	case *Func:
		return c.compare(e.X, e.Name)
	case *Compare:
		return c.compare(e, "")
	}
	return nil, errAt(e.Pos(), "unsupported expression")
}

// compare compiles one comparison; fn is "any" or "all" inside those functions.
func (c *exprCompiler) compare(e *Compare, fn string) (node, *posError) {
	f := fields[e.Field.Name]
	if f == nil {
		msg := fmt.Sprintf("unknown field %s", e.Field.Name)
		switch s := suggest(e.Field.Name); {
		case strings.HasPrefix(e.Field.Name, "net.") || strings.HasPrefix(e.Field.Name, "dns."):
			msg += "; net.* and dns.* are fields of Cloudflare's network and DNS policies, HTTP rules use http.conn.* and http.request.*"
		case s != "":
			msg += fmt.Sprintf("; did you mean %s?", s)
		}
		return nil, errAt(e.Field.pos, msg)
	}
	c.phase = max(c.phase, f.Phase)
	c.needs |= 1 << fieldIndex(f)

	isArray := f.Type.isArray()
	switch {
	case f.Type == TypeStringArrayMap && !e.Field.HasKey:
		return nil, errAt(e.Field.pos, fmt.Sprintf(`%s needs a name: %s["name"]`, f.Name, f.Name))
	case f.Type == TypeStringArrayMap:
		isArray = true
	case e.Field.HasKey:
		return nil, errAt(e.Field.pos, fmt.Sprintf("%s is a %s, not a map; drop [%q]", f.Name, f.Type, e.Field.Key))
	}
	switch {
	case isArray && fn == "":
		return nil, errAt(e.Field.pos, fmt.Sprintf("%s is an array; compare its elements with any(%s[*] %s …)", f.Name, e.Field.Name, e.Op))
	case !isArray && fn != "":
		return nil, errAt(e.Field.pos, fmt.Sprintf("%s(…) needs an array field; %s is a %s", fn, f.Name, f.Type))
	case !isArray && e.Field.Each:
		return nil, errAt(e.Field.pos, fmt.Sprintf("%s is a %s, not an array; drop [*]", f.Name, f.Type))
	}
	all := fn == "all"

	switch f.Type.elem() {
	case TypeString:
		p, err := c.stringPred(f, e)
		if err != nil {
			return nil, err
		}
		switch {
		case f.str != nil:
			return strNode{ph: f.Phase, get: f.str, fold: f.fold, p: p}, nil
		case f.Name == "http.request.domains":
			return domainsNode{ph: f.Phase, all: all, p: p}, nil
		case f.strs != nil:
			return strsNode{ph: f.Phase, get: f.strs, fold: f.fold, all: all, p: p}, nil
		default:
			return smapNode{ph: f.Phase, get: f.smap, key: e.Field.Key, all: all, p: p}, nil
		}
	case TypeInt:
		p, err := c.intPred(f, e)
		if err != nil {
			return nil, err
		}
		if f.num != nil {
			return intNode{ph: f.Phase, get: f.num, p: p}, nil
		}
		n := intsNode{ph: f.Phase, get: f.nums, all: all, p: p}
		if c.allowRule {
			n.get2 = f.allowNums
		}
		return n, nil
	case TypeIP:
		p, err := c.ipPred(f, e)
		if err != nil {
			return nil, err
		}
		return ipNode{ph: f.Phase, get: f.ip, p: p}, nil
	}
	return nil, errAt(e.pos, "unsupported field type")
}

func (c *exprCompiler) list(v Value) ([]string, *posError) {
	items, ok := c.lists[v.Str]
	if !ok {
		msg := fmt.Sprintf("unknown list $%s", v.Str)
		names := make([]string, 0, len(c.lists))
		for n := range c.lists {
			names = append(names, n)
		}
		slices.Sort(names)
		best, bestD := "", len(v.Str)/3+2
		for _, n := range names {
			if len(v.Str) > 100 || len(n) > 100 {
				continue
			}
			if d := editDistance(v.Str, n); d < bestD {
				best, bestD = n, d
			}
		}
		if best != "" {
			msg += fmt.Sprintf("; did you mean $%s?", best)
		}
		return nil, errAt(v.pos, msg)
	}
	return items, nil
}

func wrongValue(f *Field, op string, v Value, want string) *posError {
	return errAt(v.pos, fmt.Sprintf("%s %s needs %s; got %s", f.Name, op, want, v.String()))
}

func (c *exprCompiler) stringLiteral(f *Field, s string) string {
	if f.fold {
		s = strings.ToLower(s)
		if f.Name == "http.request.host" || f.Name == "http.request.domains" || f.Name == "proxy.endpoint" {
			s = strings.TrimSuffix(s, ".")
		}
	}
	return s
}

func (c *exprCompiler) stringPred(f *Field, e *Compare) (strPred, *posError) {
	v := e.Value
	switch e.Op {
	case "==", "!=", "contains":
		if v.Kind != ValString {
			return nil, wrongValue(f, e.Op, v, "a quoted string")
		}
		s := c.stringLiteral(f, v.Str)
		if e.Op == "contains" {
			return strContains{s}, nil
		}
		if e.Op == "!=" {
			return strNot{strEq{s}}, nil
		}
		return strEq{s}, nil
	case "matches":
		if v.Kind != ValString {
			return nil, wrongValue(f, e.Op, v, "a regular expression in a quoted string")
		}
		re, err := regexp.Compile(v.Str)
		if err == nil {
			if n := regexSize(v.Str); n > maxRegexInsts {
				return nil, errAt(v.pos, fmt.Sprintf("regular expression too complex (%d steps, at most %d): it runs on every request", n, maxRegexInsts))
			}
		}
		if err != nil {
			msg := err.Error()
			if i := strings.Index(msg, ": "); strings.HasPrefix(msg, "error parsing regexp") && i >= 0 {
				msg = msg[i+2:]
			}
			return nil, errAt(v.pos, "invalid regular expression: "+msg)
		}
		return strRegex{re}, nil
	case "in":
		set := make(map[string]struct{})
		switch v.Kind {
		case ValSet:
			for _, item := range v.Set {
				if item.Kind != ValString {
					return nil, wrongValue(f, e.Op, item, "quoted strings in the set")
				}
				set[c.stringLiteral(f, item.Str)] = struct{}{}
			}
		case ValList:
			items, err := c.list(v)
			if err != nil {
				return nil, err
			}
			for _, s := range items {
				set[c.stringLiteral(f, s)] = struct{}{}
			}
		default:
			return nil, wrongValue(f, e.Op, v, "a set {\"a\" \"b\"} or a list $name")
		}
		return strSet(set), nil
	}
	return nil, errAt(e.pos, fmt.Sprintf("operator %s does not apply to %s (a %s); use ==, !=, in, contains or matches", e.Op, f.Name, f.Type.elem()))
}

// intValue reads an integer literal; a quoted decimal string is accepted too, because
// Cloudflare's documentation writes http.response.status_code == "200".
func intValue(f *Field, op string, v Value) (int64, *posError) {
	n := v.Int
	switch v.Kind {
	case ValInt:
	case ValString:
		var err error
		n, err = strconv.ParseInt(v.Str, 10, 64)
		if err != nil {
			return 0, wrongValue(f, op, v, "a number")
		}
	default:
		return 0, wrongValue(f, op, v, "a number")
	}
	if f.scale > 1 {
		if n > math.MaxInt64/f.scale || n < math.MinInt64/f.scale {
			return 0, errAt(v.pos, fmt.Sprintf("number %d out of range for %s", n, f.Name))
		}
		n *= f.scale
	}
	return n, nil
}

// maxRegexInsts bounds a regular expression's compiled size: matching costs up to its size
// times the input's length on every request.
const maxRegexInsts = 2000

// regexSize is the number of instructions of the compiled expression (as regexp compiles it).
func regexSize(expr string) int {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return 0
	}
	prog, err := syntax.Compile(re.Simplify())
	if err != nil {
		return 0
	}
	return len(prog.Inst)
}

func (c *exprCompiler) intPred(f *Field, e *Compare) (intPred, *posError) {
	v := e.Value
	switch e.Op {
	case "==", "!=", "<", "<=", ">", ">=":
		n, err := intValue(f, e.Op, v)
		if err != nil {
			return nil, err
		}
		return intCmp{op: e.Op, v: n}, nil
	case "in":
		set := make(map[int64]struct{})
		switch v.Kind {
		case ValSet:
			for _, item := range v.Set {
				if item.Kind != ValInt {
					return nil, wrongValue(f, e.Op, item, "numbers in the set")
				}
				n, err := intValue(f, e.Op, item)
				if err != nil {
					return nil, err
				}
				set[n] = struct{}{}
			}
		case ValList:
			items, err := c.list(v)
			if err != nil {
				return nil, err
			}
			for _, s := range items {
				n, err := intValue(f, e.Op, Value{Kind: ValString, Str: strings.TrimSpace(s), pos: v.pos})
				if err != nil {
					return nil, errAt(v.pos, fmt.Sprintf("list $%s: %q is not a number", v.Str, s))
				}
				set[n] = struct{}{}
			}
		default:
			return nil, wrongValue(f, e.Op, v, "a set {1 2} or a list $name")
		}
		return intSet(set), nil
	}
	return nil, errAt(e.pos, fmt.Sprintf("operator %s does not apply to %s (an Int); use ==, !=, <, <=, >, >= or in", e.Op, f.Name))
}

// ipValue reads an IP literal; a quoted address or network is accepted too, because Cloudflare's
// documentation writes net.src.internal_src_ip == "192.168.86.0/27".
func ipValue(f *Field, op string, v Value) (netip.Prefix, *posError) {
	switch v.Kind {
	case ValIP:
		return unmapPrefix(v.Prefix), nil
	case ValString:
		pv, err := parseIP(strings.TrimSpace(v.Str), v.pos)
		if err != nil {
			return netip.Prefix{}, err
		}
		return unmapPrefix(pv.Prefix), nil
	}
	return netip.Prefix{}, wrongValue(f, op, v, "an IP address or CIDR network")
}

func unmapPrefix(p netip.Prefix) netip.Prefix {
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		return netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p
}

func (c *exprCompiler) ipPred(f *Field, e *Compare) (ipPred, *posError) {
	v := e.Value
	switch e.Op {
	case "==", "!=":
		// An == against a network means "inside it", as Cloudflare's examples use it.
		p, err := ipValue(f, e.Op, v)
		if err != nil {
			return nil, err
		}
		if e.Op == "!=" {
			return ipNot{ipIn{p}}, nil
		}
		return ipIn{p}, nil
	case "in":
		var set ipIn
		switch v.Kind {
		case ValSet:
			for _, item := range v.Set {
				if item.Kind != ValIP {
					return nil, wrongValue(f, e.Op, item, "IP addresses or CIDR networks in the set")
				}
				p, err := ipValue(f, e.Op, item)
				if err != nil {
					return nil, err
				}
				set = append(set, p)
			}
		case ValList:
			items, err := c.list(v)
			if err != nil {
				return nil, err
			}
			for _, s := range items {
				p, err := ipValue(f, e.Op, Value{Kind: ValString, Str: s, pos: v.pos})
				if err != nil {
					return nil, errAt(v.pos, fmt.Sprintf("list $%s: %q is not an IP address or CIDR network", v.Str, s))
				}
				set = append(set, p)
			}
		default:
			return nil, wrongValue(f, e.Op, v, "a set {10.0.0.0/8 192.0.2.1} or a list $name")
		}
		return set, nil
	}
	return nil, errAt(e.pos, fmt.Sprintf("operator %s does not apply to %s (an IP); use ==, != or in", e.Op, f.Name))
}
