package httpx

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
)

// TestClientResolvedOnce: the resolver computes the client (address behind trusted proxies and
// its country) once per request, and every handler below reads that same value.
func TestClientResolvedOnce(t *testing.T) {
	lookups := 0
	cr := &ClientResolver{
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")},
		Country: func(a netip.Addr) string {
			lookups++
			if a == netip.MustParseAddr("198.51.100.9") {
				return "DE"
			}
			return ""
		},
	}
	var seen []Client
	h := cr.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for range 3 {
			seen = append(seen, ClientOf(r))
		}
		if c, ok := ClientFromContext(r.Context()); !ok || c != seen[0] {
			t.Errorf("ClientFromContext = %+v, %v", c, ok)
		}
	}))
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.RemoteAddr = "10.1.2.3:4444"
	r.Header.Set("X-Forwarded-For", "6.6.6.6, 198.51.100.9")
	h.ServeHTTP(httptest.NewRecorder(), r)
	want := Client{IP: netip.MustParseAddr("198.51.100.9"), Country: "DE"}
	for i, c := range seen {
		if c != want {
			t.Errorf("read %d: %+v, want %+v", i, c, want)
		}
	}
	if lookups != 1 {
		t.Errorf("%d country lookups for one request, want 1", lookups)
	}
}

// TestClientOfWithoutResolverBelievesNoForwardedAddress: a request that never passed a resolver
// (a handler called directly) gets its socket peer, whatever X-Forwarded-For claims, and no
// country.
func TestClientOfWithoutResolverBelievesNoForwardedAddress(t *testing.T) {
	for _, xff := range []string{"", "1.2.3.4", "1.2.3.4, 10.0.0.1", "garbage", "[::1]:80"} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = "203.0.113.7:5555"
		if xff != "" {
			r.Header.Set("X-Forwarded-For", xff)
		}
		if got := ClientOf(r); got != (Client{IP: netip.MustParseAddr("203.0.113.7")}) {
			t.Errorf("X-Forwarded-For %q: %+v", xff, got)
		}
	}
}

// TestClientResolverWithoutCountries: no country database knows no countries, and an address
// that cannot be told (a Unix socket peer) is never looked up.
func TestClientResolverWithoutCountries(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.RemoteAddr = "192.0.2.1:1"
	if c := (&ClientResolver{}).Resolve(r); c.IP != netip.MustParseAddr("192.0.2.1") || c.Country != "" {
		t.Errorf("%+v", c)
	}
	r.RemoteAddr = "@"
	cr := &ClientResolver{Country: func(netip.Addr) string { t.Error("looked up an unknown address"); return "XX" }}
	if c := cr.Resolve(r); c.IP.IsValid() || c.Country != "" {
		t.Errorf("unix peer: %+v", c)
	}
}

func TestWithClient(t *testing.T) {
	want := Client{IP: netip.MustParseAddr("2001:db8::1"), Country: "FR"}
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r = r.WithContext(WithClient(r.Context(), want))
	if got := ClientOf(r); got != want {
		t.Errorf("%+v", got)
	}
}
