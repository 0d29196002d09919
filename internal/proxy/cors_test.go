package proxy_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/identity"
)

func preflightRequest(host, origin, method, headers string) *http.Request {
	r := req(http.MethodOptions, "http://"+host+"/api/items", nil)
	r.Header.Set("Origin", origin)
	r.Header.Set("Access-Control-Request-Method", method)
	if headers != "" {
		r.Header.Set("Access-Control-Request-Headers", headers)
	}
	return r
}

// TestCORSPreflightAnswered checks preflights answered from cors_headers without
// authentication: allowed origins get the configured headers, refused origins none.
func TestCORSPreflightAnswered(t *testing.T) {
	e := newEnv(t, setup{})
	tests := []struct {
		name, host, origin, method, headers string
		want                                map[string]string // "" value: header absent
	}{
		{name: "allowed origin", host: "cors.example.com", origin: "https://ui.example.com", method: "PUT", headers: "X-Custom",
			want: map[string]string{"Access-Control-Allow-Origin": "https://ui.example.com", "Vary": "Origin",
				"Access-Control-Allow-Credentials": "true", "Access-Control-Allow-Methods": "GET, PUT",
				"Access-Control-Allow-Headers": "X-Custom, Content-Type", "Access-Control-Max-Age": "600"}},
		{name: "origin compared case-insensitively", host: "cors.example.com", origin: "HTTPS://UI.EXAMPLE.COM", method: "GET",
			want: map[string]string{"Access-Control-Allow-Origin": "HTTPS://UI.EXAMPLE.COM", "Access-Control-Allow-Credentials": "true"}},
		// Without Allow-Origin a browser refuses the cross-origin request. (The preflight-only
		// Allow-Methods, Allow-Headers and Max-Age are still sent to refused origins today.)
		{name: "refused origin", host: "cors.example.com", origin: "https://evil.example.net", method: "PUT", headers: "X-Custom",
			want: map[string]string{"Access-Control-Allow-Origin": "", "Access-Control-Allow-Credentials": "", "Vary": ""}},
		{name: "allow all", host: "corsall.example.com", origin: "https://anything.example.org", method: "PATCH", headers: "X-A, X-B",
			want: map[string]string{"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Methods": "PATCH",
				"Access-Control-Allow-Headers": "X-A, X-B", "Access-Control-Allow-Credentials": "", "Access-Control-Max-Age": "", "Vary": ""}},
		{name: "allow all without requested headers", host: "corsall.example.com", origin: "https://anything.example.org", method: "GET",
			want: map[string]string{"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Headers": ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := e.serve(t, preflightRequest(tt.host, tt.origin, tt.method, tt.headers))
			if w.Code != http.StatusNoContent {
				t.Fatalf("status = %d, want 204", w.Code)
			}
			for name, want := range tt.want {
				if got := w.Header().Get(name); got != want {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
		})
	}
	if e.hits.Load() != 0 || len(e.login.Calls()) != 0 {
		t.Error("an answered preflight reached the upstream or the login flow")
	}
	if rs := reasonsOf(e.lastAccess(t)); !slices.Equal(rs, []string{"cors-preflight-answered"}) {
		t.Errorf("reasons = %q", rs)
	}
}

// TestCORSOnOrdinaryRequests checks that responses to cross-origin requests carry the CORS
// headers, whether forwarded or refused, and that an OPTIONS request that is not a preflight is
// authenticated like any other.
func TestCORSOnOrdinaryRequests(t *testing.T) {
	e := newEnv(t, setup{})
	alice := e.newUser(t, "alice@example.com", identity.Identity{})

	r := req(http.MethodGet, "http://cors.example.com/api/items", nil)
	r.Header.Set("Origin", "https://ui.example.com")
	r.AddCookie(&http.Cookie{Name: appCookie, Value: e.appToken(t, alice, "cors", nil)})
	w := e.serve(t, r)
	if w.Code != http.StatusOK || w.Header().Get("Access-Control-Allow-Origin") != "https://ui.example.com" ||
		w.Header().Get("Access-Control-Allow-Credentials") != "true" {
		t.Errorf("forwarded: status %d, headers %v", w.Code, w.Header())
	}
	if w.Header().Get("Access-Control-Allow-Methods") != "" {
		t.Error("preflight-only header on an ordinary response")
	}

	r = req(http.MethodGet, "http://cors.example.com/api/items", nil)
	r.Header.Set("Origin", "https://ui.example.com")
	w = e.serve(t, r)
	assertUnauthorized(t, w)
	if w.Header().Get("Access-Control-Allow-Origin") != "https://ui.example.com" {
		t.Error("a 401 to an allowed origin lacks CORS headers, so the page cannot read it")
	}

	w = e.serve(t, req(http.MethodGet, "http://cors.example.com/api/items", nil)) // same-origin: no Origin
	for name := range w.Header() {
		if strings.HasPrefix(name, "Access-Control-") {
			t.Errorf("request without Origin got %s", name)
		}
	}

	r = req(http.MethodOptions, "http://cors.example.com/api/items", nil)
	r.Header.Set("Origin", "https://ui.example.com") // no Access-Control-Request-Method
	assertUnauthorized(t, e.serve(t, r))
	if e.hits.Load() != 1 {
		t.Errorf("upstream hits = %d, want 1", e.hits.Load())
	}
}

// TestOptionsPreflightBypass checks that options_preflight_bypass forwards preflights to the
// origin without authentication or identity, while other requests still need a session.
func TestOptionsPreflightBypass(t *testing.T) {
	e := newEnv(t, setup{})
	r := preflightRequest("preflight.example.com", "https://ui.example.com", "DELETE", "Authorization")
	r.Header.Set("Gatehouse-Jwt-Assertion", "forged")
	got := e.forwarded(t, r)
	if got.Method != http.MethodOptions || got.Path != "/preflight/api/items" ||
		got.Header.Get("Access-Control-Request-Method") != "DELETE" || got.Header.Get("Origin") != "https://ui.example.com" {
		t.Errorf("origin saw %s %s %v", got.Method, got.Path, got.Header)
	}
	for name := range got.Header {
		if strings.HasPrefix(strings.ToLower(name), "gatehouse-") {
			t.Errorf("origin got %s", name)
		}
	}
	line := e.lastAccess(t)
	if !slices.Equal(reasonsOf(line), []string{"cors-preflight-bypass"}) || line["app"] != "preflight" {
		t.Errorf("access line = %v", line)
	}
	if len(e.login.Calls()) != 0 {
		t.Errorf("login calls %+v", e.login.Calls())
	}

	assertUnauthorized(t, e.serve(t, req(http.MethodDelete, "http://preflight.example.com/api/items", nil)))
}
