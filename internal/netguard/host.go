package netguard

import (
	"errors"
	"net/netip"
	"strconv"
	"strings"
)

// ErrInvalidHost is returned by CanonicalHost for a host that is neither a DNS name nor an IP
// address in a form it accepts.
var ErrInvalidHost = errors.New("netguard: invalid host")

// maxHostLen bounds a DNS name (RFC 1035), without its trailing dot.
const maxHostLen = 253

// CanonicalHost returns the one spelling of a destination host (without port) that every
// decision about it uses:
//
//   - DNS names: ASCII letters lower-cased and one trailing dot dropped; letters, digits, '-'
//     and '_' in dot-separated labels of 1 to 63 characters, at most 253 in all. Non-ASCII
//     names must arrive in their ASCII (punycode) form.
//   - IPv6 literals, bracketed or not: RFC 5952 text without brackets; IPv4-mapped addresses
//     become their IPv4 address. Zones are refused.
//   - IPv4 in any form inet_aton and WHATWG URL parsers accept — dotted decimal, but also
//     decimal (2130706433), octal (0177.0.0.1), hexadecimal (0x7f.0.0.1) and shorthand (127.1)
//     forms: four dotted decimal octets. As in the WHATWG URL standard, a host whose last label
//     is a number is an IPv4 address or invalid, never a name, so no resolver can read as an
//     address what was vetted as a name.
//
// CanonicalHost(CanonicalHost(h)) == CanonicalHost(h).
func CanonicalHost(h string) (string, error) {
	if inner, ok := strings.CutPrefix(h, "["); ok {
		inner, ok = strings.CutSuffix(inner, "]")
		if !ok || !strings.Contains(inner, ":") {
			return "", ErrInvalidHost
		}
		return canonicalIPv6(inner)
	}
	if strings.Contains(h, ":") {
		return canonicalIPv6(h)
	}
	h = strings.TrimSuffix(h, ".")
	if h == "" || len(h) > maxHostLen {
		return "", ErrInvalidHost
	}
	b := []byte(h)
	labelStart := 0
	for i := 0; i <= len(b); i++ {
		if i == len(b) || b[i] == '.' {
			if n := i - labelStart; n == 0 || n > 63 {
				return "", ErrInvalidHost
			}
			labelStart = i + 1
			continue
		}
		switch c := b[i]; {
		case 'A' <= c && c <= 'Z':
			b[i] = c + 'a' - 'A'
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_':
		default:
			return "", ErrInvalidHost
		}
	}
	h = string(b)
	last := h[strings.LastIndexByte(h, '.')+1:]
	if !isNumberLabel(last) {
		return h, nil
	}
	a, ok := parseIPv4Number(h)
	if !ok {
		return "", ErrInvalidHost
	}
	return a.String(), nil
}

// IsIPLiteral reports whether a canonical host (CanonicalHost) is an IP address.
func IsIPLiteral(canonical string) bool {
	if strings.IndexByte(canonical, ':') < 0 {
		// Not IPv6: an IPv4 address has only digits and dots, and a name is answered without
		// the error value ParseAddr would allocate for it.
		for i := 0; i < len(canonical); i++ {
			if c := canonical[i]; c != '.' && (c < '0' || c > '9') {
				return false
			}
		}
	}
	_, err := netip.ParseAddr(canonical)
	return err == nil
}

func canonicalIPv6(s string) (string, error) {
	if strings.Contains(s, "%") {
		return "", ErrInvalidHost
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return "", ErrInvalidHost
	}
	return a.Unmap().String(), nil
}

// isNumberLabel reports whether a (lower-cased) label is a number in the sense of the WHATWG
// URL standard's "ends in a number" check: decimal digits, or "0x" and hexadecimal digits.
func isNumberLabel(l string) bool {
	if l == "" {
		return false
	}
	if hex, ok := strings.CutPrefix(l, "0x"); ok {
		for i := 0; i < len(hex); i++ {
			if !isHexDigit(hex[i]) {
				return false
			}
		}
		return true
	}
	for i := 0; i < len(l); i++ {
		if l[i] < '0' || l[i] > '9' {
			return false
		}
	}
	return true
}

func isHexDigit(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' }

// parseIPv4Number parses the inet_aton forms of an IPv4 address: one to four parts, each
// decimal, octal (leading 0) or hexadecimal (0x); the last part fills the remaining bytes.
func parseIPv4Number(h string) (netip.Addr, bool) {
	parts := strings.Split(h, ".")
	if len(parts) > 4 {
		return netip.Addr{}, false
	}
	var v uint64
	for i, p := range parts {
		n, ok := parseIPv4Part(p)
		if !ok {
			return netip.Addr{}, false
		}
		if i < len(parts)-1 {
			if n > 255 {
				return netip.Addr{}, false
			}
			v |= n << (8 * (3 - i))
			continue
		}
		if n >= 1<<(8*(4-i)) {
			return netip.Addr{}, false
		}
		v |= n
	}
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), true
}

func parseIPv4Part(p string) (uint64, bool) {
	base := 10
	switch {
	case p == "":
		return 0, false
	case strings.HasPrefix(p, "0x"):
		p, base = p[2:], 16
		if p == "" {
			return 0, true // "0x" is 0, as in WHATWG URL
		}
	case len(p) > 1 && p[0] == '0':
		p, base = p[1:], 8
	}
	if len(p) > 12 {
		return 0, false // too large for any part; also bounds the work
	}
	n, err := strconv.ParseUint(p, base, 64)
	if err != nil || n > 0xffffffff {
		return 0, false
	}
	return n, true
}
