package httpx

import (
	"net"
	"strings"
)

// NormalizeHost returns the host of a Host header lower-cased, without port, trailing dot or
// IPv6 brackets.
func NormalizeHost(hostport string) string {
	h := hostport
	if host, _, err := net.SplitHostPort(hostport); err == nil {
		h = host
	}
	h = strings.TrimSuffix(strings.Trim(h, "[]"), ".")
	return strings.ToLower(h)
}
