package oidcop

import (
	"net"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/store"
)

// FuzzRedirectAllowed: whatever the string, a redirect URI a portal's default rules allow is
// an http URL on localhost or a loopback address, and one its allowed_uris prefix allows is an
// https URL below that prefix with no way out of it (dot segments, backslashes, user
// information, another host).
func FuzzRedirectAllowed(f *testing.F) {
	for _, s := range []string{"http://localhost:3000/cb", "http://127.0.0.1:9/cb", "http://[::1]:8/cb", "http://localhost.evil.example/cb",
		"https://app.example.com/oauth/cb", "https://app.example.com/oauth/../admin", "https://app.example.com/oauth\\..\\x",
		"https://app.example.com@evil.example/oauth/cb", "https://app.example.com.evil.example/oauth/cb", "http://127.1/cb",
		"http://0x7f.0.0.1/cb", "cursor://anysphere.cursor-retrieval/oauth/callback", "javascript:alert(1)//localhost",
		"https://app.example.com/oauth/%2e%2e/admin", "HTTP://LOCALHOST/cb", "https://app.example.com/oauth"} {
		f.Add(s)
	}
	rules := &store.MCPPortalOAuth{DynamicClientRegistration: &store.MCPDynamicClientRegistration{
		AllowedURIs: []string{"https://app.example.com/oauth/*", "cursor://anysphere.cursor-retrieval/oauth/callback"}}}
	f.Fuzz(func(t *testing.T, raw string) {
		if RedirectAllowed(nil, raw) {
			u, err := url.Parse(raw)
			if err != nil || u.Scheme != "http" || u.User != nil || u.Fragment != "" {
				t.Fatalf("default rules allowed %q", raw)
			}
			if h := u.Hostname(); h != "localhost" {
				if ip := net.ParseIP(h); ip == nil || !ip.IsLoopback() {
					t.Fatalf("default rules allowed %q (host %q)", raw, h)
				}
			}
		}
		if RedirectAllowed(rules, raw) && !RedirectAllowed(nil, raw) && raw != "cursor://anysphere.cursor-retrieval/oauth/callback" {
			u, err := url.Parse(raw)
			if err != nil || u.Scheme != "https" || u.Host != "app.example.com" || u.User != nil || u.Fragment != "" ||
				!strings.HasPrefix(raw, "https://app.example.com/oauth/") || strings.Contains(raw, "\\") {
				t.Fatalf("the prefix allowed %q", raw)
			}
			if p, err := url.PathUnescape(u.EscapedPath()); err != nil || strings.Contains(p, "/../") || strings.HasSuffix(p, "/..") {
				t.Fatalf("the prefix allowed a way out of it: %q", raw)
			}
		}
	})
}
