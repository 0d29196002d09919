package httpx

import (
	"strings"
)

// SafeRedirect validates a post-login (or post-logout) redirect target against the one host it
// may lead to and returns the cleaned target. allowedHost is a host name, optionally with a port
// ("app.example.com", "app.example.com:8443"), compared case-insensitively.
//
// Accepted:
//
//   - a relative reference starting with exactly one "/" ("/", "/docs?q=1#top"); the result is
//     relative as well;
//   - an absolute "https://" or "http://" URL whose authority equals allowedHost exactly: same
//     host, and a port only when allowedHost has that same port. The result has a lower-case
//     scheme and host.
//
// Everything else is refused, in particular: other schemes (javascript:, data:, ...),
// scheme-relative ("//host") and "/\" targets, userinfo ("user@"), any percent-encoding in the
// authority, backslashes, whitespace, control characters and non-ASCII bytes anywhere (raw), and
// percent-encoded control characters anywhere. The path must not contain "//" or dot segments
// ("/./", "/../", also percent-encoded) and must pass NormalizePath, whose canonical form is
// returned; query and fragment are kept as given after their escapes are checked.
//
// The rule of thumb: a browser resolving the result against any page of allowedHost stays on
// allowedHost, and no later decoding or path cleaning can turn it into another origin.
func SafeRedirect(target string, allowedHost string) (string, bool) {
	if target == "" || !validAllowedHost(allowedHost) {
		return "", false
	}
	for i := 0; i < len(target); i++ {
		if c := target[i]; c <= ' ' || c >= 0x7f || c == '\\' {
			return "", false
		}
	}

	rest, fragment, hasFragment := strings.Cut(target, "#")
	rest, query, hasQuery := strings.Cut(rest, "?")
	if !safeEscapes(query) || !safeEscapes(fragment) {
		return "", false
	}

	var prefix, path string
	switch {
	case rest != "" && rest[0] == '/':
		if len(rest) > 1 && rest[1] == '/' {
			return "", false // scheme-relative: another host
		}
		path = rest
	default:
		var scheme string
		switch {
		case hasPrefixFold(rest, "https://"):
			scheme = "https"
		case hasPrefixFold(rest, "http://"):
			scheme = "http"
		default:
			return "", false
		}
		authority, p, _ := strings.Cut(rest[len(scheme)+3:], "/")
		if !equalFoldASCII(authority, allowedHost) {
			return "", false // also rejects userinfo, escapes and empty hosts: allowedHost has none
		}
		prefix = scheme + "://" + lowerASCII(authority)
		path = "/" + p
	}

	if !cleanRedirectPath(path) {
		return "", false
	}
	norm, err := NormalizePath(path)
	if err != nil {
		return "", false
	}

	var b strings.Builder
	b.Grow(len(prefix) + len(norm) + len(query) + len(fragment) + 2)
	b.WriteString(prefix)
	b.WriteString(norm)
	if hasQuery {
		b.WriteByte('?')
		b.WriteString(query)
	}
	if hasFragment {
		b.WriteByte('#')
		b.WriteString(fragment)
	}
	return b.String(), true
}

// cleanRedirectPath rejects "//" anywhere and dot segments (also encoded as %2e): a redirect
// target is a URL we produced ourselves from a normalised request, so it never needs them, and
// other software on the way (a second proxy, the origin's own redirect logic) may clean
// "/./\x" or "/.//x" into something that leaves the origin.
func cleanRedirectPath(path string) bool {
	if strings.Contains(path, "//") {
		return false
	}
	for seg := range strings.SplitSeq(path, "/") {
		if len(seg) > 6 {
			continue // longer than "%2e%2e": not a dot segment
		}
		switch strings.ToLower(seg) {
		case ".", "..", "%2e", "%2e.", ".%2e", "%2e%2e":
			return false
		}
	}
	return true
}

// safeEscapes reports whether every "%" in s starts a valid escape that does not encode a
// control character.
func safeEscapes(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			continue
		}
		if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
			return false
		}
		if isControl(unhex(s[i+1])<<4 | unhex(s[i+2])) {
			return false
		}
		i += 2
	}
	return true
}

// validAllowedHost accepts a host name, IPv4 address or bracketed IPv6 address with an optional
// port. It only guards against a misconfigured allowedHost widening what SafeRedirect accepts.
func validAllowedHost(h string) bool {
	if h == "" {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == ':' || c == '[' || c == ']') {
			return false
		}
	}
	return true
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && equalFoldASCII(s[:len(prefix)], prefix)
}

// equalFoldASCII compares ASCII case-insensitively. Unlike strings.EqualFold it never folds
// non-ASCII runes (the Kelvin sign K is not "k").
func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if lowerByte(a[i]) != lowerByte(b[i]) {
			return false
		}
	}
	return true
}

func lowerByte(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + ('a' - 'A')
	}
	return c
}

func lowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		b[i] = lowerByte(c)
	}
	return string(b)
}
