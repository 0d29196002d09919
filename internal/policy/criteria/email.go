package criteria

import (
	"fmt"
	"strings"
)

// NormalizeEmail checks that addr looks like an e-mail address (a non-empty local part and
// domain around its last '@', no white space) and lower-cases it.
func NormalizeEmail(addr string) (string, error) {
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 || at == len(addr)-1 || strings.ContainsAny(addr, " \t\r\n") {
		return "", fmt.Errorf("invalid e-mail address %q", addr)
	}
	return strings.ToLower(addr), nil
}

// Email returns the email selector: the identity's address equals addr, case-insensitively.
func Email(addr string) (Criterion, error) {
	e, err := NormalizeEmail(addr)
	if err != nil {
		return Criterion{}, err
	}
	return Criterion{kind: KindEmail, value: e}, nil
}

// NormalizeEmailDomain turns "example.com" or "@example.com" into "example.com" and rejects
// values that could never equal the domain part of an address.
func NormalizeEmailDomain(d string) (string, error) {
	d = strings.TrimPrefix(d, "@")
	switch {
	case d == "":
		return "", fmt.Errorf("empty e-mail domain")
	case strings.ContainsAny(d, "@ \t\r\n"):
		return "", fmt.Errorf("invalid e-mail domain %q", d)
	case strings.Contains(d, "*"):
		return "", fmt.Errorf("invalid e-mail domain %q: wildcards are not supported, email_domain matches the exact domain", d)
	}
	return strings.ToLower(d), nil
}

// EmailDomain returns the email_domain selector: the part of the address after its last '@'
// equals the domain exactly (case-insensitively); subdomains do not match.
func EmailDomain(domain string) (Criterion, error) {
	d, err := NormalizeEmailDomain(domain)
	if err != nil {
		return Criterion{}, err
	}
	// Stored with its '@': see matchEmailDomain.
	return Criterion{kind: KindEmailDomain, value: "@" + d}, nil
}

// EmailList returns the email_list selector for a compiled list.
func EmailList(set EmailSet) Criterion {
	return Criterion{kind: KindEmailList, ext: &extension{emails: set}}
}

// EmailSet is a set of lower-cased e-mail addresses.
type EmailSet map[string]struct{}

// Contains reports whether addr is in the set, case-insensitively.
func (s EmailSet) Contains(addr string) bool {
	if addr == "" {
		return false
	}
	if _, ok := s[addr]; ok || isLowerASCII(addr) {
		return ok
	}
	// Rare: identity.Identity.Email is normally lower-cased already.
	_, ok := s[strings.ToLower(addr)]
	return ok
}

// The configured side is lower-cased at compile time and identities normally carry lower-cased
// addresses, so the exact comparison usually settles a match; EqualFold settles the rest and
// stops at the first differing byte of a mismatch.

func matchEmail(want, addr string) bool {
	return addr != "" && (addr == want || strings.EqualFold(want, addr))
}

// matchEmailDomain compares the part of addr after its last '@' with atDomain ("@" + domain).
// As the domain holds no '@', an address that ends with atDomain after a non-empty local part
// matches, which settles the usual case without scanning for the '@'.
func matchEmailDomain(atDomain, addr string) bool {
	if len(addr) > len(atDomain) && addr[len(addr)-len(atDomain):] == atDomain {
		return true
	}
	at := strings.LastIndexByte(addr, '@')
	return at > 0 && strings.EqualFold(addr[at:], atDomain)
}

// isLowerASCII reports whether s is ASCII without upper-case letters, i.e. whether it is its own
// lower-case form (and so equals a lower-cased value only when identical).
func isLowerASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 0x80 || 'A' <= c && c <= 'Z' {
			return false
		}
	}
	return true
}
