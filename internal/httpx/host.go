package httpx

import (
	"net"
	"net/http"
	"strings"
)

// NormalizeHost returns the host of a Host header without port, IPv6 brackets or one trailing
// dot, with ASCII letters lower-cased. Non-ASCII bytes are left as they are: no destination
// pattern contains them, so such a host matches no application.
func NormalizeHost(hostport string) string {
	h := hostport
	if host, _, err := net.SplitHostPort(hostport); err == nil {
		h = host
	}
	h = strings.TrimSuffix(strings.Trim(h, "[]"), ".")
	for i := 0; i < len(h); i++ {
		if c := h[i]; 'A' <= c && c <= 'Z' {
			b := []byte(h)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return h
}

// StripPathParams removes ";params" from every segment of a normalised path: "/admin;x/secret"
// becomes "/admin/secret", the path servers such as Tomcat and Jetty act on. Routing uses it so a
// more specific application cannot be sidestepped with path parameters; the request is still
// forwarded as it came.
func StripPathParams(p string) string {
	if strings.IndexByte(p, ';') < 0 {
		return p
	}
	var b strings.Builder
	b.Grow(len(p))
	skip := false
	for i := 0; i < len(p); i++ {
		switch c := p[i]; {
		case c == '/':
			skip = false
			b.WriteByte(c)
		case c == ';':
			skip = true
		case !skip:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// WantsHTML reports whether a request is a browser navigation that may be redirected to a login
// page: not marked as AJAX, a GET or HEAD, and accepting HTML.
func WantsHTML(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	if strings.EqualFold(r.Header.Get("X-Requested-With"), "XMLHttpRequest") {
		return false
	}
	accept := r.Header.Get("Accept")
	if accept == "" {
		return false
	}
	return strings.Contains(accept, "text/html") || strings.Contains(accept, "*/*") && r.Header.Get("Sec-Fetch-Mode") == "navigate"
}
