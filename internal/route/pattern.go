package route

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInvalidPattern is wrapped by the errors ValidatePattern returns.
var ErrInvalidPattern = errors.New("route: invalid destination")

// Limits from DNS (RFC 1035): 253 characters per name, 63 per label.
const (
	maxHostLen  = 253
	maxLabelLen = 63
)

// ValidatePattern checks one destination pattern, host[/path], against Cloudflare's rules:
//
//   - The host is made of dot-separated labels of lower-case letters, digits and hyphens; a label
//     may contain one "*", which matches zero or more characters but never a dot. The host needs
//     at least one literal character, so "*" alone or "*.*" is refused.
//   - The optional path starts with "/"; each slash-separated segment may contain one "*". Path
//     characters are the unreserved ones (letters, digits, "-", ".", "_", "~") plus
//     ! $ & ' ( ) + , = : @, compared without regard to ASCII case (the pattern is stored
//     lower-cased). A path of "/" or "/*" means every path, like no path at all. ";" is refused:
//     requests are routed without their path parameters, so a pattern holding one could never
//     match.
//   - No scheme, port, query, fragment, userinfo, whitespace, backslash or percent-encoding,
//     no empty or dot ("." and "..") path segments: request paths are normalised before matching,
//     so such a pattern could never match.
//
// The returned error wraps ErrInvalidPattern and names the problem.
func ValidatePattern(uri string) error {
	if _, reason := parsePattern(uri); reason != "" {
		return fmt.Errorf("%w %q: %s", ErrInvalidPattern, uri, reason)
	}
	return nil
}

// pattern is a parsed, normalised destination.
type pattern struct {
	key    string // normalised "host" or "host/path" as written, unique per table
	cover  string // host and the path in the form that says what it covers (pathPattern.norm)
	host   string // lower-case, may contain "*"
	labels []hostLabel
	exact  bool // host has no "*"
	lit    int  // literal (non-"*") characters in host
	path   pathPattern
}

// hostLabel is one label of a host pattern: literal pre when !wild, else pre "*" suf.
type hostLabel struct {
	pre, suf string
	wild     bool
}

func (l hostLabel) match(s string) bool {
	if !l.wild {
		return s == l.pre
	}
	return len(s) >= len(l.pre)+len(l.suf) && strings.HasPrefix(s, l.pre) && strings.HasSuffix(s, l.suf)
}

// parsePattern parses and normalises uri; reason is non-empty when it is invalid.
func parsePattern(uri string) (p pattern, reason string) {
	switch {
	case uri == "":
		return p, "destination is empty"
	case strings.Contains(uri, "://"):
		return p, `must not include a scheme: write host[/path], e.g. "app.example.com/admin"`
	}
	for i := 0; i < len(uri); i++ {
		switch c := uri[i]; {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f':
			return p, "must not contain whitespace"
		case c < 0x20 || c == 0x7f:
			return p, "must not contain control characters"
		case c == '\\':
			return p, "must not contain a backslash"
		case c == '?':
			return p, "query strings are not supported"
		case c == '#':
			return p, "fragments are not supported"
		case c == '%':
			return p, "percent-encoding is not allowed; write the character itself"
		case c >= 0x80:
			return p, "non-ASCII characters are not supported (use the punycode xn-- form for host names)"
		}
	}

	host, path, hasPath := strings.Cut(uri, "/")
	if hasPath {
		path = "/" + path
	}
	if reason := parseHost(&p, host); reason != "" {
		return p, reason
	}
	if reason := parsePath(&p.path, path); reason != "" {
		return p, reason
	}
	p.key = p.host + p.path.written
	p.cover = p.host + p.path.norm
	if p.path.open {
		p.cover += "*"
	}
	return p, ""
}

func parseHost(p *pattern, host string) string {
	switch {
	case host == "":
		return "host is missing"
	case strings.Contains(host, "@"):
		return "userinfo (user@) is not allowed"
	case strings.HasPrefix(host, "["):
		return "IPv6 literals are not supported"
	case strings.Contains(host, ":"):
		return "ports are not supported: Cloudflare ignores the port, remove it"
	case len(host) > maxHostLen:
		return fmt.Sprintf("host is longer than %d characters", maxHostLen)
	case strings.HasSuffix(host, "."):
		return "host must not end with a dot"
	}
	p.host = host
	p.exact = true
	for label := range strings.SplitSeq(host, ".") {
		if label == "" {
			return "host has an empty label (\"..\" or a leading dot)"
		}
		if len(label) > maxLabelLen {
			return fmt.Sprintf("host label %q is longer than %d characters", label, maxLabelLen)
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			switch {
			case 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '*':
			case 'A' <= c && c <= 'Z':
				return fmt.Sprintf("host must be lower-case (%q)", strings.ToLower(host))
			default:
				return fmt.Sprintf("character %q is not allowed in a host (letters, digits, hyphens, dots and *)", c)
			}
		}
		l := hostLabel{pre: label}
		switch strings.Count(label, "*") {
		case 0:
		case 1:
			l.pre, l.suf, _ = strings.Cut(label, "*")
			l.wild = true
			p.exact = false
		default:
			return fmt.Sprintf("host label %q has more than one *", label)
		}
		p.lit += len(label) + 1
		if l.wild {
			p.lit--
		}
		p.labels = append(p.labels, l)
	}
	p.lit-- // one dot fewer than labels
	if p.lit == len(p.labels)-1 {
		return "host needs at least one literal character besides * and dots"
	}
	return ""
}

// pathKind says how a pathPattern matches.
type pathKind uint8

const (
	pathAll     pathKind = iota // no path, "/" or "/*": every path
	pathLiteral                 // no "*": the path itself and everything below it
	pathGlob                    // with "*"
)

// pathPattern is a compiled path pattern. Literal characters are lower-case; matching folds
// ASCII case.
//
// Every pattern covers its sub-paths, and a trailing slash never changes what it covers, so
// that a request for "/x" and one for "/x/" (which many origins serve alike) are always decided
// alike: the pattern is reduced to its covering form by removing a trailing "/" or "/*" (as
// often as there is one). A covering form without a trailing "*" is closed: it covers a path
// when it matches a prefix of it that ends where the path ends or at a "/" ("/eng" covers
// "/eng", "/eng/" and "/eng/x"; "/docs/*/edit" covers "/docs/a/edit", "/docs/a/edit/" and
// "/docs/a/b/edit/x", not "/docs/a/editor"). One with a trailing "*" is open: the star takes the
// rest of the path ("/eng*" covers "/eng", "/engineering" and "/eng/x").
type pathPattern struct {
	written string // the path as written, lower-cased, "" for pathAll (for the table's key)
	norm    string // the covering form ("" for pathAll), without the trailing "*" of an open glob
	kind    pathKind
	chunks  []string // pathLiteral: [norm]; pathGlob: the literal parts around each "*"
	open    bool     // pathGlob ending in "*": the last star takes the rest of the path
	prefix  int      // literal characters before the first "*" of the covering form
	lit     int      // literal characters of the covering form
}

func parsePath(pp *pathPattern, path string) string {
	if path == "" || path == "/" || path == "/*" {
		return ""
	}
	segs := strings.Split(path[1:], "/")
	for i, seg := range segs {
		switch {
		case seg == "" && i < len(segs)-1:
			return `path has an empty segment ("//")`
		case seg == "." || seg == "..":
			return `path has a dot segment ("." or "..")`
		case strings.Count(seg, "*") > 1:
			return fmt.Sprintf("path segment %q has more than one *", seg)
		}
		for j := 0; j < len(seg); j++ {
			switch c := seg[j]; {
			case c == ';':
				return `";" is not allowed: requests are routed without their path parameters (";..."), so remove them`
			case !isPatternPathChar(c):
				return fmt.Sprintf("character %q is not allowed in a path", c)
			}
		}
	}
	pp.written = strings.ToLower(path)
	cover := pp.written
	for {
		switch {
		case strings.HasSuffix(cover, "/*"):
			cover = cover[:len(cover)-2]
			continue
		case strings.HasSuffix(cover, "/"):
			cover = cover[:len(cover)-1]
			continue
		}
		break
	}
	if cover == "" {
		pp.written = "" // "/*/" and the like: every path
		return ""
	}
	pp.lit = len(cover) - strings.Count(cover, "*")
	pp.chunks = strings.Split(cover, "*")
	pp.prefix = len(pp.chunks[0])
	if len(pp.chunks) == 1 {
		pp.kind = pathLiteral
		pp.norm = cover
		return ""
	}
	pp.kind = pathGlob
	pp.open = strings.HasSuffix(cover, "*")
	pp.norm = strings.TrimSuffix(cover, "*")
	return ""
}

func isPatternPathChar(c byte) bool {
	if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' {
		return true
	}
	switch c {
	case '-', '.', '_', '~', '!', '$', '&', '\'', '(', ')', '+', ',', ';', '=', ':', '@', '*':
		return true // ';' is refused by parsePath with its own message
	}
	return false
}

// match reports whether the normalised request path s matches (see pathPattern). s is
// processed in units: a percent escape "%XX" is one unit standing for the byte it encodes, any
// other byte is a unit of its own. A literal pattern character matches a unit whose byte equals
// it (ASCII case folded), so ":" matches both ":" and "%3A", and "*" consumes whole units, never
// part of an escape. Matching on units is therefore matching on the decoded path, which is what
// the origin sees. ("/" is never encoded in a normalised path, so a boundary is always a raw "/".)
func (pp *pathPattern) match(s string) bool {
	switch pp.kind {
	case pathAll:
		return true
	case pathLiteral:
		end, ok := matchAt(pp.norm, s, 0)
		return ok && atBoundary(s, end)
	}
	c := pp.chunks
	pos, ok := matchAt(c[0], s, 0)
	if !ok {
		return false
	}
	last := len(c) - 1
	// Middle chunks at their leftmost places leave the most room for the rest.
	for _, m := range c[1:last] {
		if _, pos, ok = find(m, s, pos); !ok {
			return false
		}
	}
	if pp.open {
		return true
	}
	// The last chunk must end at a boundary: try each of its places from pos on.
	for {
		start, end, ok := find(c[last], s, pos)
		if !ok {
			return false
		}
		if atBoundary(s, end) {
			return true
		}
		_, w := unit(s, start)
		pos = start + w
	}
}

// atBoundary reports whether a match ending at byte end of s covers s: it ends where s ends or
// where a sub-path starts.
func atBoundary(s string, end int) bool { return end == len(s) || s[end] == '/' }

// matchAt matches the literal lit against s from byte i and returns where the match ends.
func matchAt(lit, s string, i int) (int, bool) {
	for j := 0; j < len(lit); j++ {
		if i >= len(s) {
			return 0, false
		}
		b, w := unit(s, i)
		if lowerByte(b) != lit[j] {
			return 0, false
		}
		i += w
	}
	return i, true
}

// find returns the start and end of the leftmost match of lit in s starting at a unit boundary
// >= i.
func find(lit, s string, i int) (start, end int, ok bool) {
	for i <= len(s) {
		if end, ok := matchAt(lit, s, i); ok {
			return i, end, true
		}
		if i == len(s) {
			break
		}
		_, w := unit(s, i)
		i += w
	}
	return 0, 0, false
}

// unit returns the byte the unit at s[i] stands for and its width.
func unit(s string, i int) (byte, int) {
	if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
		return unhex(s[i+1])<<4 | unhex(s[i+2]), 3
	}
	return s[i], 1
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

func lowerByte(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + ('a' - 'A')
	}
	return c
}
