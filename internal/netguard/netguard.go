// Package netguard owns the dialer every outbound fetch of Gatehouse uses (OIDC discovery and
// JWKS, token endpoints, SAML metadata, provider APIs). It resolves a name once, refuses addresses
// that are never a legitimate identity provider (link-local and cloud metadata addresses,
// unspecified, multicast, broadcast, and IPv4 addresses hidden in IPv6 forms of those), and dials
// exactly the vetted address, so DNS rebinding cannot swap it. Loopback and private addresses
// are allowed: identity providers on internal networks are normal, and their URLs come from the
// administrator's configuration, not from users.
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

var forbidden = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("169.254.0.0/16"), // link-local, cloud metadata (169.254.169.254)
	netip.MustParsePrefix("224.0.0.0/4"),
	netip.MustParsePrefix("240.0.0.0/4"), // reserved and broadcast
	netip.MustParsePrefix("::/128"),
	netip.MustParsePrefix("fe80::/10"),
	netip.MustParsePrefix("ff00::/8"),
	netip.MustParsePrefix("fd00:ec2::254/128"), // AWS IMDS over IPv6
}

// Allowed reports whether addr may be dialled.
func Allowed(addr netip.Addr) bool {
	addr = addr.Unmap()
	if !addr.IsValid() {
		return false
	}
	// 6to4 and NAT64 forms of an IPv4 address are judged by the embedded address.
	if addr.Is6() {
		b := addr.As16()
		if b[0] == 0x20 && b[1] == 0x02 { // 2002::/16
			return Allowed(netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}))
		}
		if netip.MustParsePrefix("64:ff9b::/96").Contains(addr) {
			return Allowed(netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}))
		}
	}
	for _, p := range forbidden {
		if p.Contains(addr) {
			return false
		}
	}
	return true
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
