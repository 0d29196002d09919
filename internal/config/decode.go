package config

import (
	"encoding"
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/gatehouse/gatehouse/internal/store"
)

// The decoder walks the yaml.Node tree next to the target Go value so that every problem
// (unknown field, duplicate field, wrong kind, bad scalar) is reported with its position and
// path, and decoding goes on after a problem. It is the strict equivalent of yaml.v3's
// KnownFields mode, which stops at nothing but reports only line numbers.

// issue is a problem before its position is resolved: either at node, or at the node path
// resolves to (see locate).
type issue struct {
	path string
	msg  string
	node *yaml.Node
}

// maxNodes bounds the work of one decode, aliases included (a "billion laughs" document stops
// here instead of exhausting memory).
const maxNodes = 1 << 20

type decoder struct {
	issues []issue
	// failed holds the paths whose value could not be decoded; validation skips them, so a bad
	// value is reported once and not again as "missing".
	failed map[string]bool
	active map[*yaml.Node]bool
	budget int
}

func newDecoder() *decoder {
	return &decoder{failed: map[string]bool{}, active: map[*yaml.Node]bool{}, budget: maxNodes}
}

func (d *decoder) fail(n *yaml.Node, path, msg string) {
	d.issues = append(d.issues, issue{path: path, msg: msg, node: n})
	d.failed[path] = true
}

var (
	prefixType   = reflect.TypeFor[netip.Prefix]()
	timeType     = reflect.TypeFor[time.Time]()
	unmarshalerT = reflect.TypeFor[yaml.Unmarshaler]()
	textUnmarshT = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// decode stores n into v (which must be settable), reporting problems under path.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	d.budget--
	if d.budget < 0 {
		if d.budget == -1 {
			d.fail(n, path, "document is too large (or expands too many aliases)")
			d.failed[""] = true // what was decoded is incomplete: skip validation
		}
		return
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return
		}
		d.decode(n.Content[0], v, path)
		return
	case yaml.AliasNode:
		if d.active[n] || n.Alias == nil {
			d.fail(n, path, "alias refers to a value that contains it")
			return
		}
		d.active[n] = true
		d.decode(n.Alias, v, path)
		delete(d.active, n)
		return
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		v.SetZero()
		return
	}

	t := v.Type()
	switch {
	case t == prefixType:
		d.prefix(n, v, path)
		return
	case t == timeType:
		var tm time.Time
		if n.Kind != yaml.ScalarNode || n.Decode(&tm) != nil {
			d.fail(n, path, "expected a timestamp such as 2030-01-31T00:00:00Z")
			return
		}
		v.Set(reflect.ValueOf(tm.UTC()))
		return
	case reflect.PointerTo(t).Implements(unmarshalerT):
		if t.Kind() == reflect.Struct && n.Kind == yaml.SequenceNode {
			d.mismatch(n, t, path) // a string or a mapping is expected
			return
		}
		if t.Kind() == reflect.Struct && n.Kind == yaml.MappingNode {
			// Check the mapping form's keys and value kinds first: custom unmarshalers decode
			// without KnownFields.
			before := len(d.issues)
			d.structure(n, reflect.New(t).Elem(), path)
			if len(d.issues) > before {
				d.failed[path] = true
				return
			}
		}
		if err := n.Decode(v.Addr().Interface()); err != nil {
			d.fail(n, path, cleanError(err))
		}
		return
	case reflect.PointerTo(t).Implements(textUnmarshT):
		if n.Kind != yaml.ScalarNode {
			d.mismatch(n, t, path)
			return
		}
		if err := v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(n.Value)); err != nil {
			d.fail(n, path, err.Error())
		}
		return
	}

	switch t.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(t.Elem()))
		}
		d.decode(n, v.Elem(), path)
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			d.mismatch(n, t, path)
			return
		}
		d.structure(n, v, path)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.mismatch(n, t, path)
			return
		}
		s := reflect.MakeSlice(t, len(n.Content), len(n.Content))
		for i, c := range n.Content {
			d.decode(c, s.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
		v.Set(s)
	case reflect.Map, reflect.Interface:
		// Free-form values (an identity provider's type-specific config): yaml.v3 decodes them and
		// the type's own parser checks them.
		if t.Kind() == reflect.Map && n.Kind != yaml.MappingNode {
			d.mismatch(n, t, path)
			return
		}
		if err := n.Decode(v.Addr().Interface()); err != nil {
			d.fail(n, path, cleanError(err))
		}
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			d.mismatch(n, t, path)
			return
		}
		v.SetString(n.Value)
	case reflect.Bool:
		if n.Kind != yaml.ScalarNode || n.Decode(v.Addr().Interface()) != nil {
			d.mismatch(n, t, path)
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
			d.mismatch(n, t, path)
			return
		}
		if n.Decode(v.Addr().Interface()) != nil {
			d.fail(n, path, "integer out of range")
		}
	default:
		// A field type this decoder does not know: a programming error, caught by the tests.
		d.fail(n, path, fmt.Sprintf("cannot decode into %s", t))
	}
}

// pair is one key and value of a mapping; merged pairs come from a YAML merge key ("<<").
type pair struct {
	key, value *yaml.Node
	merged     bool
}

// pairs returns n's key/value pairs with merge keys expanded: merged pairs first (so explicit
// keys override them), each merged mapping once.
func pairs(n *yaml.Node) []pair {
	var merged, own []pair
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			var srcs []*yaml.Node
			switch deref(v).Kind {
			case yaml.MappingNode:
				srcs = []*yaml.Node{deref(v)}
			case yaml.SequenceNode:
				// Earlier mappings in the list take precedence, so they come last.
				for j := len(deref(v).Content) - 1; j >= 0; j-- {
					srcs = append(srcs, deref(deref(v).Content[j]))
				}
			}
			for _, src := range srcs {
				if src.Kind != yaml.MappingNode || src == n {
					continue
				}
				for j := 0; j+1 < len(src.Content); j += 2 {
					merged = append(merged, pair{src.Content[j], src.Content[j+1], true})
				}
			}
			continue
		}
		own = append(own, pair{k, v, false})
	}
	return append(merged, own...)
}

// deref follows aliases (without cycle checks; callers only use it for shape).
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	if n == nil {
		return &yaml.Node{}
	}
	return n
}

// structure decodes a mapping into struct v field by field.
func (d *decoder) structure(n *yaml.Node, v reflect.Value, path string) {
	fields := yamlFields(v.Type())
	seen := map[string]*yaml.Node{}
	for _, p := range pairs(n) {
		if p.key.Kind != yaml.ScalarNode {
			d.fail(p.key, path, "mapping keys must be strings")
			continue
		}
		name := p.key.Value
		if path == "" && strings.HasPrefix(name, "x-") {
			continue // extension keys at the top level hold anchors for reuse
		}
		fpath := join(path, name)
		if !p.merged {
			if prev, dup := seen[name]; dup {
				d.fail(p.key, fpath, fmt.Sprintf("duplicate field (first set on line %d)", prev.Line))
				continue
			}
			seen[name] = p.key
		}
		idx, ok := fields.index[name]
		if !ok {
			d.fail(p.key, fpath, unknownField(name, fields.names))
			continue
		}
		f := v.Field(idx)
		f.SetZero() // a later (explicit) value replaces a merged one entirely
		d.decode(p.value, f, fpath)
	}
}

func (d *decoder) mismatch(n *yaml.Node, t reflect.Type, path string) {
	d.fail(n, path, fmt.Sprintf("expected %s, got %s", describeType(t), describeNode(n)))
}

func (d *decoder) prefix(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.ScalarNode {
		d.mismatch(n, prefixType, path)
		return
	}
	p, msg := parsePrefix(n.Value)
	if msg != "" {
		d.fail(n, path, msg)
		return
	}
	v.Set(reflect.ValueOf(p))
}

// parsePrefix accepts a CIDR in canonical form or a single address (a /32 or /128).
func parsePrefix(s string) (netip.Prefix, string) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, "expected a CIDR such as 10.0.0.0/8 or an IP address"
		}
		if m := p.Masked(); m != p {
			return netip.Prefix{}, fmt.Sprintf("%s has bits set after the prefix length; did you mean %s?", s, m)
		}
		return p, ""
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, "expected a CIDR such as 10.0.0.0/8 or an IP address"
	}
	return netip.PrefixFrom(a, a.BitLen()), ""
}

// describeType says what a YAML value of type t looks like, for "expected ..." messages.
func describeType(t reflect.Type) string {
	switch t {
	case prefixType:
		return "a CIDR such as 10.0.0.0/8"
	case reflect.TypeFor[Secret]():
		return secretForms
	}
	if t.Kind() == reflect.Struct && reflect.PointerTo(t).Implements(unmarshalerT) {
		return "a string or a mapping"
	}
	switch t {
	case reflect.TypeFor[store.Duration]():
		return "a duration such as 30m or 24h"
	case reflect.TypeFor[ByteSize]():
		return "a size such as 65536 or 64KiB"
	}
	switch t.Kind() {
	case reflect.Pointer:
		return describeType(t.Elem())
	case reflect.Struct, reflect.Map:
		return "a mapping"
	case reflect.Slice:
		return "a list"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer"
	}
	return "a value"
}

// describeNode names the kind of a YAML value without quoting it: it may be a misplaced secret.
func describeNode(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!str":
			return "a string"
		case "!!int", "!!float":
			return "a number"
		case "!!bool":
			return "a boolean"
		case "!!timestamp":
			return "a timestamp"
		}
	}
	return "a scalar"
}

var lineRE = regexp.MustCompile(`^(yaml: )?line \d+: `)

// cleanError turns a yaml.v3 decode error into a message without the line prefix (positions are
// reported separately).
func cleanError(err error) string {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs := make([]string, len(te.Errors))
		for i, m := range te.Errors {
			msgs[i] = lineRE.ReplaceAllString(m, "")
		}
		return strings.Join(msgs, "; ")
	}
	return strings.TrimPrefix(lineRE.ReplaceAllString(err.Error(), ""), "yaml: ")
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

type fieldSet struct {
	index map[string]int
	names []string
}

var fieldSets sync.Map // reflect.Type → fieldSet

// yamlFields maps the YAML names of t's fields (from yaml tags, like yaml.v3) to field indexes.
func yamlFields(t reflect.Type) fieldSet {
	if fs, ok := fieldSets.Load(t); ok {
		return fs.(fieldSet)
	}
	fs := fieldSet{index: map[string]int{}}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		fs.index[name] = i
		fs.names = append(fs.names, name)
	}
	fieldSets.Store(t, fs)
	return fs
}

// unknownField builds the message for an unknown key, suggesting a close known one.
func unknownField(name string, known []string) string {
	best, bestD := "", 3
	for _, k := range known {
		if d := editDistance(strings.ToLower(name), k); d < bestD {
			best, bestD = k, d
		}
	}
	if best != "" {
		return fmt.Sprintf("unknown field; did you mean %q?", best)
	}
	return "unknown field"
}

// editDistance is the Levenshtein distance of a and b (short strings only).
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 64
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := prev[j-1]
			if a[i-1] != b[j-1] {
				c++
			}
			cur[j] = min(c, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
