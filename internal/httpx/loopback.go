package httpx

import (
	"net/netip"
	"strings"
)

// LoopbackHTTPHost reports whether hostport, the authority of an absolute URL without user
// information (url.URL.Host: brackets kept, optional port), names a loopback host that a
// configured URL may reach over plain http. RFC 8252 §7.3 lets native apps receive redirects on
// a loopback interface; only spellings that every client parses the same way qualify:
//
//   - "localhost" (ASCII, any case; no trailing dot);
//   - an IPv4 literal in 127.0.0.0/8 written as four dotted decimal octets without leading zeros
//     (127.0.0.1, 127.3.2.1);
//   - the IPv6 loopback in its canonical text, "[::1]".
//
// Everything else is refused, even when it denotes a loopback address: IPv4-mapped or
// -compatible IPv6 ([::ffff:127.0.0.1], [::127.0.0.1]), other spellings of ::1
// ([0:0:0:0:0:0:0:1]), zoned addresses ([::1%25lo0]), and the shorthand, decimal, octal and
// hexadecimal IPv4 forms that some resolvers accept (127.1, 2130706433, 0177.0.0.1, 0x7f.0.0.1).
// Browsers, inet_aton, Go's netip and WHATWG URL parsers read those differently, so what
// Gatehouse vets and what a client connects to could disagree.
func LoopbackHTTPHost(hostport string) bool {
	if rest, ok := strings.CutPrefix(hostport, "["); ok {
		inner, port, ok := strings.Cut(rest, "]")
		if !ok || !emptyOrPort(port) {
			return false
		}
		ip, err := netip.ParseAddr(inner)
		// The canonical text (RFC 5952) has no zone and no embedded IPv4.
		return err == nil && ip == netip.IPv6Loopback() && ip.String() == inner
	}
	host, port, _ := strings.Cut(hostport, ":")
	if !emptyOrPort(":" + port) {
		return false
	}
	if asciiLower(host) == "localhost" {
		return true
	}
	// netip.ParseAddr takes exactly four decimal octets without leading zeros for IPv4.
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Is4() && ip.IsLoopback()
}

// asciiLower lower-cases ASCII letters only. strings.EqualFold and strings.ToLower fold Unicode
// too, under which "localhoſt" (U+017F) would equal "localhost".
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// emptyOrPort reports whether s is "" or ":" followed by decimal digits only.
func emptyOrPort(s string) bool {
	if s == "" {
		return true
	}
	if s[0] != ':' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
