// Package netguard owns the dialer every outbound fetch of Gatehouse uses (OIDC discovery and
// JWKS, token endpoints, SAML metadata, provider APIs). It resolves a name once, refuses addresses
// that are never a legitimate identity provider (link-local and cloud metadata addresses,
// unspecified, multicast, broadcast, and IPv4 addresses hidden in IPv6 forms of those), and dials
// exactly the vetted address, so DNS rebinding cannot swap it. Loopback and private addresses
// are allowed: identity providers on internal networks are normal, and their URLs come from the
// administrator's configuration, not from users.
//
// It also owns what every outbound decision stands on: the class of an address (Classify:
// loopback, private, link-local, metadata, ...) and the canonical form of a destination host
// (CanonicalHost: case, trailing dot, brackets, and the numeric IPv4 spellings resolvers
// accept), which the secure web gateway uses with its own, stricter, rules.
package netguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"time"
)

// ErrForbiddenAddress is returned for a destination netguard refuses.
var ErrForbiddenAddress = errors.New("netguard: destination address not allowed")

// Allowed reports whether addr may be dialled for an identity provider: anything but
// link-local, metadata, unspecified, multicast and reserved addresses (Classify).
func Allowed(addr netip.Addr) bool {
	switch Classify(addr) {
	case ClassPublic, ClassLoopback, ClassPrivate, ClassSpecial:
		return addr.IsValid()
	}
	return false
}

// DialContext resolves address once and dials the first allowed IP it resolves to.
func DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return nil, err
	}
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil, fmt.Errorf("netguard: resolve %s: %w", host, err)
	}
	d := &net.Dialer{Timeout: 10 * time.Second}
	var lastErr error = fmt.Errorf("%w: %s", ErrForbiddenAddress, host)
	for _, ip := range ips {
		if !Allowed(ip) {
			continue
		}
		conn, err := d.DialContext(ctx, network, net.JoinHostPort(ip.Unmap().String(), port))
		if err == nil {
			return conn, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

// NewClient returns an HTTP client that dials through DialContext, ignores environment proxies,
// follows at most 5 redirects and gives up after timeout.
func NewClient(timeout time.Duration) *http.Client {
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			Proxy:                 nil,
			DialContext:           DialContext,
			ForceAttemptHTTP2:     true,
			TLSHandshakeTimeout:   10 * time.Second,
			ResponseHeaderTimeout: timeout,
			MaxIdleConnsPerHost:   8,
			IdleConnTimeout:       90 * time.Second,
		},
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 5 {
				return errors.New("netguard: too many redirects")
			}
			return nil
		},
	}
}
