package httpx

import (
	"bytes"
	"errors"
	"fmt"
)

// ErrAmbiguousPath is returned (wrapped, with the reason) by NormalizePath for a request path that
// Gatehouse refuses to interpret: one that an origin, a framework or a second decoding pass could
// read differently from the route table. Callers answer 400 and never forward the request.
var ErrAmbiguousPath = errors.New("httpx: ambiguous request path")

const upperHex = "0123456789ABCDEF"

// NormalizePath returns the canonical escaped form of a request path. The input is
// r.URL.EscapedPath() (or a raw request path in the same escaped form); the output is what both
// the route table and policy see and what is forwarded upstream, so that the decision is made on
// exactly the bytes the origin receives.
//
// Canonicalisation, in order:
//
//   - The path must start with "/".
//   - Percent escapes of unreserved characters (ALPHA DIGIT "-" "." "_" "~") are decoded; every
//     other escape keeps its encoding with upper-case hex. Bytes that are not allowed raw in a
//     path (space, `"`, "<", non-ASCII, ...) are percent-encoded.
//   - Repeated slashes collapse into one, then "." and ".." segments are resolved as in RFC 3986
//     §5.2.4 (a path ending in a dot segment keeps its trailing slash). Because decoding comes
//     first, "%2e%2e" is a ".." segment like any other.
//
// Rejected with ErrAmbiguousPath: a path not starting with "/"; an encoded slash (%2F) or
// backslash (%5C); a raw backslash; any control character, raw or encoded (%00-%1F, %7F); a raw
// "#" or "?"; an invalid escape; double encoding ("%25" followed by two hex digits, also when the
// hex digits were themselves encoded); a dot segment carrying a ";" path parameter ("..;",
// ".;x", "..%3B"), which Tomcat-style servers resolve as ".."; and a ".." that would climb above
// the root.
//
// Also rejected, because common origins serve such a path as another one (docs/policies.md,
// "Paths"): an encoded ";" (%3B), which servers that decode before removing path parameters
// read as one; a segment (other than "." and "..") ending in a dot, or starting or ending with a
// space, which Windows and IIS drop and Spring trims; Windows short (8.3) names such as
// "ADMINI~1" and NTFS stream suffixes ("::$DATA"); invalid UTF-8, including
// overlong forms such as %C0%AE for "."; and characters that Unicode normalisation (NFKC), case
// mapping or Windows' best-fit conversion turn into ASCII (fullwidth letters and punctuation,
// U+2024 ONE DOT LEADER, U+212A KELVIN SIGN, U+0131 dotless i, ...), slash, backslash and dot
// look-alikes (U+2215, U+2044, U+2216, U+3002, ...), and invisible or space characters (format
// characters such as U+200B, U+00AD, variation selectors; Unicode white space). Every segment of
// the input is checked, including segments a ".." removes, because an origin that reads "．．"
// as ".." resolves the path differently.
//
// The result satisfies NormalizePath(out) == out, contains no "//", "/./", "/../", backslash or
// control character, and always decodes with url.PathUnescape.
func NormalizePath(escaped string) (string, error) {
	if isCanonical(escaped) {
		return escaped, nil // the common case, without allocating
	}
	return normalizePath(escaped)
}

// isCanonical reports a path that normalizePath would return unchanged because it has nothing to
// decode, collapse, resolve or check further: only raw path characters, no "%", no "//", no
// segment starting with "." (which excludes dot segments, and dot segments with parameters,
// along with harmless names such as ".well-known" that take the slow path), no "." before a "/",
// a ";" or the end, no "~" before a digit and no ":$" (the shapes of Windows names checkSegment
// refuses).
func isCanonical(p string) bool {
	if p == "" || p[0] != '/' {
		return false
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch canonicalByte[c] {
		case byteRaw:
			continue
		case byteInvalid:
			return false
		}
		switch c {
		case '/':
			if i+1 < len(p) && (p[i+1] == '/' || p[i+1] == '.') || i > 0 && p[i-1] == '.' {
				return false
			}
		case '~':
			if i+1 < len(p) && '0' <= p[i+1] && p[i+1] <= '9' {
				return false
			}
		case '$':
			if p[i-1] == ':' {
				return false
			}
		case ';':
			if p[i-1] == '.' {
				return false
			}
		}
	}
	return p[len(p)-1] != '.'
}

// How isCanonical treats a byte: not allowed raw, allowed raw, or allowed raw but worth a look
// at its neighbours.
const (
	byteInvalid = iota
	byteRaw
	byteLook
)

var canonicalByte = func() (t [256]uint8) {
	for c := range 256 {
		switch {
		case c == '/' || c == '~' || c == '$' || c == ';':
			t[c] = byteLook
		case isPathChar(byte(c)):
			t[c] = byteRaw
		}
	}
	return t
}()

func normalizePath(escaped string) (string, error) {
	if escaped == "" || escaped[0] != '/' {
		return "", ambiguous(`path must start with "/"`)
	}

	// Pass 1: canonical escaping.
	buf := make([]byte, 0, len(escaped)+8)
	for i := 0; i < len(escaped); i++ {
		c := escaped[i]
		switch {
		case c == '%':
			if i+2 >= len(escaped) || !isHex(escaped[i+1]) || !isHex(escaped[i+2]) {
				return "", ambiguous("invalid percent escape at byte %d", i)
			}
			b := unhex(escaped[i+1])<<4 | unhex(escaped[i+2])
			i += 2
			switch {
			case b == '/':
				return "", ambiguous("encoded slash (%%2F)")
			case b == '\\':
				return "", ambiguous("encoded backslash (%%5C)")
			case b == ';':
				return "", ambiguous("encoded semicolon (%%3B)")
			case isControl(b):
				return "", ambiguous("encoded control character (%%%02X)", b)
			case isUnreserved(b):
				buf = append(buf, b)
			default:
				buf = append(buf, '%', upperHex[b>>4], upperHex[b&15])
			}
		case c == '\\':
			return "", ambiguous("backslash")
		case isControl(c):
			return "", ambiguous("control character (0x%02X)", c)
		case c == '#':
			return "", ambiguous(`raw "#" in path`)
		case c == '?':
			return "", ambiguous(`raw "?" in path`)
		case isPathChar(c):
			buf = append(buf, c)
		default:
			buf = append(buf, '%', upperHex[c>>4], upperHex[c&15])
		}
	}
	// Double encoding is checked on the canonical form so that "%25%34%31" (which decodes once
	// to "%41") is caught as well as "%2541".
	for i := 0; i+4 < len(buf); i++ {
		if buf[i] == '%' && buf[i+1] == '2' && buf[i+2] == '5' && isHex(buf[i+3]) && isHex(buf[i+4]) {
			return "", ambiguous("double percent-encoding (%%25 followed by hex digits)")
		}
	}

	// Every segment, before dot segments remove any of them (see the doc comment).
	for rest := buf[1:]; ; {
		seg, after, more := bytes.Cut(rest, []byte{'/'})
		if err := checkSegment(seg); err != nil {
			return "", err
		}
		if !more {
			break
		}
		rest = after
	}

	// Pass 2: collapse empty segments and resolve dot segments. out holds "/seg/seg" without a
	// trailing slash; trailing records whether the result ends in "/".
	out := make([]byte, 0, len(buf))
	trailing := false
	rest := buf[1:]
	for {
		seg := rest
		next := -1
		for j, c := range rest {
			if c == '/' {
				next = j
				break
			}
		}
		if next >= 0 {
			seg = rest[:next]
		}
		last := next < 0
		switch {
		case len(seg) == 0:
			trailing = last
		case isDot(seg):
			trailing = last
		case isDotDot(seg):
			k := lastSlash(out)
			if k < 0 {
				return "", ambiguous(`".." climbs above the root`)
			}
			out = out[:k]
			trailing = last
		default:
			if dotParam(seg) {
				return "", ambiguous(`";" in a dot segment`)
			}
			out = append(out, '/')
			out = append(out, seg...)
			trailing = false
		}
		if last {
			break
		}
		rest = rest[next+1:]
	}
	if len(out) == 0 || trailing {
		out = append(out, '/')
	}
	if string(out) == escaped {
		return escaped, nil
	}
	return string(out), nil
}

func ambiguous(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrAmbiguousPath, fmt.Sprintf(format, args...))
}

func lastSlash(b []byte) int {
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == '/' {
			return i
		}
	}
	return -1
}

func isDot(seg []byte) bool    { return len(seg) == 1 && seg[0] == '.' }
func isDotDot(seg []byte) bool { return len(seg) == 2 && seg[0] == '.' && seg[1] == '.' }

// dotParam reports a segment whose part before the first ";" (raw or %3B) is "." or "..".
func dotParam(seg []byte) bool {
	i := bytes.IndexByte(seg, ';')
	if j := bytes.Index(seg, []byte("%3B")); j >= 0 && (i < 0 || j < i) {
		i = j
	}
	return i >= 0 && (isDot(seg[:i]) || isDotDot(seg[:i]))
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

func isControl(c byte) bool { return c < 0x20 || c == 0x7f }

func isUnreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

// isPathChar reports bytes allowed raw in an escaped path besides "%": RFC 3986 pchar and "/".
func isPathChar(c byte) bool {
	if isUnreserved(c) {
		return true
	}
	switch c {
	case '/', ':', '@', '!', '$', '&', '\'', '(', ')', '*', '+', ',', ';', '=':
		return true
	}
	return false
}
