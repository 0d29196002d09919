package httpx

import (
	"net/netip"
	"strings"
)

// ClientIP returns the address of the client that sent the request.
//
// remoteAddr is the socket peer (http.Request.RemoteAddr, "ip:port" or a bare IP). When the peer
// is not inside one of the trusted prefixes, ClientIP returns it and ignores X-Forwarded-For
// entirely: only a configured proxy may speak for a client. When the peer is trusted, the
// X-Forwarded-For values (all header lines, in order, as in r.Header.Values) are walked from the
// right, the end the trusted proxies appended to, skipping trusted addresses; the first untrusted
// address is the client.
//
// Conservative choices:
//
//   - Entries must be a bare IP address; "ip:port" and "[ipv6]:port" are also accepted because
//     some load balancers append them. Anything else ("unknown", obfuscated identifiers, zoned
//     addresses, garbage) stops the walk, and the address of the last trusted hop that was
//     examined is returned: nothing left of an unparseable entry can be believed. Empty list
//     elements are skipped, as RFC 9110 §5.6.1 requires.
//   - If every entry is trusted (or there is none), the last trusted hop is returned as well.
//     Deployments therefore must not grant access by IP rules to their own proxy addresses.
//   - IPv4-mapped IPv6 addresses are unmapped, both in the input and in trusted prefixes, and the
//     IPv6 zone of the peer is dropped, so that 10.0.0.1 and ::ffff:10.0.0.1 are the same client.
//
// The zero Addr is returned when remoteAddr cannot be parsed (a Unix socket peer, for example);
// callers must treat it as unknown, so that IP rules neither include nor exclude it silently.
func ClientIP(remoteAddr string, xff []string, trusted []netip.Prefix) netip.Addr {
	peer, ok := parseHop(remoteAddr)
	if !ok {
		return netip.Addr{}
	}
	peer = peer.WithZone("")
	if !isTrusted(peer, trusted) {
		return peer
	}
	last := peer
	for h := len(xff) - 1; h >= 0; h-- {
		v := xff[h]
		for v != "" {
			entry := v
			if i := strings.LastIndexByte(v, ','); i >= 0 {
				entry, v = v[i+1:], v[:i]
			} else {
				v = ""
			}
			entry = strings.Trim(entry, " \t")
			if entry == "" {
				continue
			}
			a, ok := parseHop(entry)
			if !ok || a.Zone() != "" {
				return last
			}
			if !isTrusted(a, trusted) {
				return a
			}
			last = a
		}
	}
	return last
}

// parseHop parses "ip", "ip:port" or "[ipv6]:port" and unmaps IPv4-mapped addresses. The form
// with a port is tried first when s ends in a port, so that the common cases parse without a
// failed attempt (whose error allocates).
func parseHop(s string) (netip.Addr, bool) {
	withPort := strings.HasPrefix(s, "[") || strings.Count(s, ":") == 1
	if withPort {
		if ap, err := netip.ParseAddrPort(s); err == nil {
			return ap.Addr().Unmap(), true
		}
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap(), true
	}
	return netip.Addr{}, false
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if pa := p.Addr(); pa.Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(pa.Unmap(), p.Bits()-96)
		}
		if p.Contains(a) {
			return true
		}
	}
	return false
}
