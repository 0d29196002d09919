package extract

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Path is a field path of the adapter data, a small JSONPath dialect:
//
//	$.messages[-1].content     body root; key, index (negative counts from the end)
//	$.contents[*].parts[*]     every element
//	$.output[?type=message]    keep elements (or an object) whose field equals a value
//	$.f[?type=A|B], [?type!=A] … equals one of the values; … equals none of them (or is absent)
//	$.parts[?!thought]         … whose field is absent, null or false; [?k] present and not false
//	url:model                  a capture of the adapter's path pattern
//	query:alt, header:x-goog-ext-525001261-jspb, form:f.req
//	content[*].text            relative to the current element (inside a messages spec)
//	@                          the current element itself
//
// A step applied to a string that holds JSON decodes it first, so form:f.req[1][0][0] reads
// Gemini's JSON-in-a-string-in-a-form-field.
type Path struct {
	src   string // "$", "url", "query", "header", "form", "" (relative)
	name  string
	steps []step
	text  string
}

type stepKind int

const (
	stepKey stepKind = iota
	stepIndex
	stepAll
	stepFilter
)

type step struct {
	kind  stepKind
	key   string // key, or filter field (dotted)
	index int
	neg   bool   // filter: [?!k]
	value string // filter: k=value
	eq    bool   // filter has =value
	ne    bool   // filter is k!=value (an absent k counts as different)
}

func (p Path) String() string { return p.text }

// ParsePath parses a field path.
func ParsePath(s string) (Path, error) {
	p := Path{text: s}
	rest := s
	switch {
	case strings.HasPrefix(s, "$"):
		p.src, rest = "$", s[1:]
	case strings.HasPrefix(s, "@"):
		rest = s[1:] // the current node
	default:
		for _, src := range []string{"url", "query", "header", "form"} {
			if strings.HasPrefix(s, src+":") {
				p.src = src
				name := s[len(src)+1:]
				end := strings.IndexAny(name, "[")
				if end < 0 {
					end = len(name)
				}
				p.name, rest = name[:end], name[end:]
				if p.name == "" {
					return Path{}, fmt.Errorf("path %q: %s: needs a name", s, src)
				}
				if src == "header" {
					p.name = strings.ToLower(p.name)
				}
				break
			}
		}
	}
	first := p.src == "" && !strings.HasPrefix(s, "@")
	for rest != "" {
		switch {
		case rest[0] == '.' || first && rest[0] != '[':
			if rest[0] == '.' {
				rest = rest[1:]
			}
			end := strings.IndexAny(rest, ".[")
			if end < 0 {
				end = len(rest)
			}
			if end == 0 {
				return Path{}, fmt.Errorf("path %q: empty key", s)
			}
			p.steps = append(p.steps, step{kind: stepKey, key: rest[:end]})
			rest = rest[end:]
		case rest[0] == '[':
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				return Path{}, fmt.Errorf("path %q: unclosed [", s)
			}
			in := rest[1:end]
			rest = rest[end+1:]
			switch {
			case in == "*":
				p.steps = append(p.steps, step{kind: stepAll})
			case strings.HasPrefix(in, "?"):
				f := step{kind: stepFilter}
				in = in[1:]
				if strings.HasPrefix(in, "!") {
					f.neg, in = true, in[1:]
				}
				if k, v, ok := strings.Cut(in, "!="); ok && !f.neg {
					f.key, f.value, f.eq, f.ne = k, v, true, true
				} else if k, v, ok := strings.Cut(in, "="); ok {
					if f.neg {
						return Path{}, fmt.Errorf("path %q: [?!k=v] is not supported", s)
					}
					f.key, f.value, f.eq = k, v, true
				} else {
					f.key = in
				}
				if f.key == "" {
					return Path{}, fmt.Errorf("path %q: empty filter", s)
				}
				p.steps = append(p.steps, f)
			default:
				n, err := strconv.Atoi(in)
				if err != nil {
					return Path{}, fmt.Errorf("path %q: bad index %q", s, in)
				}
				p.steps = append(p.steps, step{kind: stepIndex, index: n})
			}
		default:
			return Path{}, fmt.Errorf("path %q: unexpected %q", s, rest[:1])
		}
		first = false
	}
	return p, nil
}

// Sources a path may read besides the current node.
type sources struct {
	body    any
	url     map[string]string
	query   map[string][]string
	header  map[string]string // lower-case names
	form    map[string][]string
	decoded map[string]any // cache of JSON decoded from strings, keyed by the string
}

// eval returns every value the path reaches from node (or from its source).
func (p Path) eval(src *sources, node any) []any {
	var start any
	switch p.src {
	case "$":
		start = src.body
	case "":
		start = node
	case "url":
		v, ok := src.url[p.name]
		if !ok {
			return nil
		}
		start = v
	case "query":
		if v := src.query[p.name]; len(v) > 0 {
			start = v[0]
		} else {
			return nil
		}
	case "header":
		v, ok := src.header[p.name]
		if !ok {
			return nil
		}
		start = v
	case "form":
		if v := src.form[p.name]; len(v) > 0 {
			start = v[0]
		} else {
			return nil
		}
	}
	if start == nil {
		return nil
	}
	cur := []any{start}
	for _, st := range p.steps {
		var next []any
		for _, v := range cur {
			v = src.decode(v)
			switch st.kind {
			case stepKey:
				if m, ok := v.(map[string]any); ok {
					if x, ok := m[st.key]; ok && x != nil {
						next = append(next, x)
					}
				}
			case stepIndex:
				if a, ok := v.([]any); ok {
					i := st.index
					if i < 0 {
						i += len(a)
					}
					if i >= 0 && i < len(a) && a[i] != nil {
						next = append(next, a[i])
					}
				}
			case stepAll:
				switch x := v.(type) {
				case []any:
					for _, e := range x {
						if e != nil {
							next = append(next, e)
						}
					}
				case map[string]any:
					// Objects have no order worth keeping; [*] over an object is not used.
				}
			case stepFilter:
				if a, ok := v.([]any); ok {
					for _, e := range a {
						if st.keep(src, e) {
							next = append(next, e)
						}
					}
				} else if st.keep(src, v) {
					next = append(next, v)
				}
			}
		}
		cur = next
		if len(cur) == 0 {
			return nil
		}
	}
	return cur
}

func (st step) keep(src *sources, v any) bool {
	m, ok := src.decode(v).(map[string]any)
	if !ok {
		return false
	}
	var x any = m
	for _, k := range strings.Split(st.key, ".") {
		mm, ok := x.(map[string]any)
		if !ok {
			x = nil
			break
		}
		x = mm[k]
	}
	present := x != nil && x != false
	switch {
	case st.neg:
		return !present
	case st.ne:
		s, ok := scalarString(x)
		return !ok || !oneOf(s, st.value)
	case st.eq:
		s, ok := scalarString(x)
		return ok && oneOf(s, st.value)
	}
	return present
}

// oneOf reports whether s is one of the |-separated alternatives.
func oneOf(s, alts string) bool {
	for {
		alt, rest, more := strings.Cut(alts, "|")
		if s == alt {
			return true
		}
		if !more {
			return false
		}
		alts = rest
	}
}

// decode turns a string holding a JSON object or array into its value (cached); other values
// pass through.
func (src *sources) decode(v any) any {
	s, ok := v.(string)
	if !ok {
		return v
	}
	t := strings.TrimSpace(s)
	if len(t) < 2 || (t[0] != '[' && t[0] != '{') {
		return v
	}
	if d, ok := src.decoded[s]; ok {
		return d
	}
	var out any
	if err := json.Unmarshal([]byte(t), &out); err != nil {
		return v
	}
	if src.decoded == nil {
		src.decoded = map[string]any{}
	}
	src.decoded[s] = out
	return out
}

// scalarString renders a JSON scalar.
func scalarString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case bool:
		return strconv.FormatBool(x), true
	case json.Number:
		return x.String(), true
	case *textNode:
		return string(x.b), true
	}
	return "", false
}

// firstString returns the first non-empty scalar any of the paths reaches.
func firstString(src *sources, node any, paths []Path) string {
	for _, p := range paths {
		for _, v := range p.eval(src, node) {
			if s, ok := scalarString(v); ok && s != "" {
				return s
			}
		}
	}
	return ""
}
