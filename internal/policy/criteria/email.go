package criteria

import (
	"fmt"
	"strings"

	"github.com/gatehouse/gatehouse/internal/mailaddr"
)

// The e-mail selectors compare normal forms (package mailaddr) byte for byte. The configured
// value is normalised when the policy is compiled; the identity's address was normalised when the
// login was accepted, so a match needs no folding: an address that differs from the configured
// one in any way but ASCII letter case, including by a look-alike character, never matches.

// Email returns the email selector: the identity's address is addr (after normalisation).
func Email(addr string) (Criterion, error) {
	e, err := mailaddr.Normalize(addr)
	if err != nil {
		return Criterion{}, err
	}
	return Criterion{kind: KindEmail, value: e}, nil
}

// NormalizeEmailDomain turns "example.com" or "@example.com" into the normal form of the domain
// (mailaddr.NormalizeDomain) and rejects values that could never equal the domain of an address.
func NormalizeEmailDomain(d string) (string, error) {
	d = strings.TrimPrefix(d, "@")
	if strings.Contains(d, "*") {
		return "", fmt.Errorf("invalid e-mail domain %q: wildcards are not supported, email_domain matches the exact domain", d)
	}
	return mailaddr.NormalizeDomain(d)
}

// EmailDomain returns the email_domain selector: the domain of the identity's address equals
// the (normalised) domain exactly; subdomains do not match.
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

// EmailSet is a set of e-mail addresses in normal form. Build it with Add.
type EmailSet map[string]struct{}

// Add normalises addr and adds it to the set, or returns why it has no normal form.
func (s EmailSet) Add(addr string) error {
	e, err := mailaddr.Normalize(addr)
	if err != nil {
		return err
	}
	s[e] = struct{}{}
	return nil
}

// Contains reports whether addr, a normal form, is in the set.
func (s EmailSet) Contains(addr string) bool {
	_, ok := s[addr]
	return ok && addr != ""
}

func matchEmail(want, addr string) bool {
	return addr != "" && addr == want
}

// matchEmailDomain compares the domain of addr, a normal form, with atDomain ("@" + domain): addr
// ends with atDomain after a non-empty local part without '@' (which a normal form never has).
func matchEmailDomain(atDomain, addr string) bool {
	n := len(addr) - len(atDomain)
	return n > 0 && addr[n:] == atDomain && strings.IndexByte(addr[:n], '@') < 0
}
