package gateway

import (
	"encoding/json"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// PACPath is where the gateway serves its proxy auto-configuration file.
const PACPath = "/proxy.pac"

// serveOrigin answers origin-form requests to the gateway itself: the PAC file and nothing else.
func (g *Gateway) serveOrigin(w http.ResponseWriter, r *http.Request, e *entry) {
	e.outcome = "local"
	if r.URL.Path != PACPath {
		e.refuse(http.StatusNotFound, "not-found")
		plainError(w, http.StatusNotFound, "This is the Gatehouse gateway: configure it as your HTTP proxy, or load its configuration from "+PACPath+".")
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		e.refuse(http.StatusMethodNotAllowed, "method-not-allowed")
		w.Header().Set("Allow", "GET, HEAD")
		plainError(w, http.StatusMethodNotAllowed, "The PAC file is read with GET.")
		return
	}
	proxy, ok := proxyAddress(r)
	if !ok {
		e.refuse(http.StatusBadRequest, "bad-host")
		plainError(w, http.StatusBadRequest, "Request the PAC file with the gateway's host name and port in the Host header.")
		return
	}
	authHost := ""
	if snap := g.snaps.Load(); snap != nil {
		authHost = snap.AuthHost
	}
	h := w.Header()
	h.Set("Content-Type", "application/x-ns-proxy-autoconfig")
	h.Set("Cache-Control", "max-age=300")
	h.Set("X-Content-Type-Options", "nosniff")
	e.status = http.StatusOK
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = w.Write([]byte(PAC(proxy, authHost)))
	}
}

// proxyAddress is the gateway's host:port as the client reached it: the Host header, checked
// and canonicalised, with the listener's port when the header has none.
func proxyAddress(r *http.Request) (string, bool) {
	if d, err := ParseAuthority(r.Host, 0); err == nil {
		return d.String(), true
	}
	port := 0
	if la, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		if ap, err := netip.ParseAddrPort(la.String()); err == nil {
			port = int(ap.Port())
		}
	}
	d, err := ParseAuthority(r.Host, uint16(port))
	if err != nil {
		return "", false
	}
	return d.String(), true
}

// PAC returns a proxy auto-configuration script that sends everything through the gateway at
// proxy (host:port) except plain host names (intranet short names) and the organisation's auth
// domain, where devices enrol before they have proxy credentials.
func PAC(proxy, authHost string) string {
	q := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	var b strings.Builder
	b.WriteString("// Proxy auto-configuration served by the Gatehouse gateway.\n")
	b.WriteString("function FindProxyForURL(url, host) {\n")
	b.WriteString("  host = host.toLowerCase();\n")
	b.WriteString("  if (isPlainHostName(host)")
	if authHost != "" {
		b.WriteString(" || host === " + q(authHost))
	}
	b.WriteString(") {\n    return \"DIRECT\";\n  }\n")
	b.WriteString("  return " + q("PROXY "+proxy) + ";\n}\n")
	return b.String()
}
