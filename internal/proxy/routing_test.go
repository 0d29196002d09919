package proxy_test

import (
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/gatehouse/gatehouse/internal/httpx"
	"github.com/gatehouse/gatehouse/internal/store"
)

// TestRouting checks which application decides a request: exact hosts, wildcard hosts and path
// applications, the most specific one winning without inheriting anything from less specific
// ones. Bypass applications forward at once, so the base path the origin sees names the winner;
// the others start a login for the winning application.
func TestRouting(t *testing.T) {
	e := newEnv(t, setup{})
	tests := []struct {
		name, target string
		wantPath     string // forwarded path (bypass applications)
		wantLogin    string // application a login is started for
		wantRedirect string
	}{
		{name: "exact host", target: "http://app.example.com/dashboard", wantLogin: "web", wantRedirect: "/dashboard"},
		{name: "host is case-insensitive and port-free", target: "http://APP.Example.COM:8443/x", wantLogin: "web", wantRedirect: "/x"},
		{name: "path app", target: "http://app.example.com/admin", wantLogin: "admin", wantRedirect: "/admin"},
		{name: "below path app", target: "http://app.example.com/admin/users?id=7", wantLogin: "admin", wantRedirect: "/admin/users?id=7"},
		{name: "path match is case-insensitive", target: "http://app.example.com/ADMIN/x", wantLogin: "admin", wantRedirect: "/ADMIN/x"},
		{name: "path params do not hide a path app", target: "http://app.example.com/admin;jsessionid=1/x", wantLogin: "admin", wantRedirect: "/admin;jsessionid=1/x"},
		{name: "sibling prefix is not below", target: "http://app.example.com/administrator", wantLogin: "web", wantRedirect: "/administrator"},
		// The more specific bypass app wins outright: admin's boss-only policy is not inherited.
		{name: "most specific wins, no inheritance", target: "http://app.example.com/admin/public/logo.png", wantPath: "/public-app/admin/public/logo.png"},
		{name: "wildcard host", target: "http://team1.wild.example.com/x", wantPath: "/wild/x"},
		{name: "wildcard label is not empty-domain", target: "http://wild.example.com/x"},
		{name: "wildcard covers one label only", target: "http://a.b.wild.example.com/x"},
		{name: "dot segments decide the normalised path", target: "http://app.example.com/pub/../admin?q=1", wantLogin: "admin", wantRedirect: "/admin?q=1"},
		{name: "encoded unreserved characters are decoded", target: "http://app.example.com/%61dmin/x", wantLogin: "admin", wantRedirect: "/admin/x"},
		{name: "duplicate slashes collapse", target: "http://app.example.com//admin//x", wantLogin: "admin", wantRedirect: "/admin/x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.login.Reset()
			before := e.hits.Load()
			r := req(http.MethodGet, tt.target, nil)
			r.Header.Set("Accept", "text/html")
			switch {
			case tt.wantPath != "":
				if got := e.forwarded(t, r); got.Path != tt.wantPath {
					t.Errorf("forwarded path = %q, want %q", got.Path, tt.wantPath)
				}
				if calls := e.login.Calls(); len(calls) != 0 {
					t.Errorf("login calls %+v for a bypass app", calls)
				}
			case tt.wantLogin != "":
				w := e.serve(t, r)
				if w.Code != http.StatusFound {
					t.Fatalf("status = %d, want 302", w.Code)
				}
				c := e.onlyCall(t)
				if c.Kind != "start" || c.App != tt.wantLogin || c.Redirect != tt.wantRedirect {
					t.Errorf("login call = %+v, want start for %q with redirect %q", c, tt.wantLogin, tt.wantRedirect)
				}
				if want := httpx.NormalizeHost(r.Host); c.Host != want {
					t.Errorf("login host = %q, want %q", c.Host, want)
				}
			default:
				w := e.serve(t, r)
				assertErrorPage(t, w, http.StatusNotFound, "No application is configured at this address.")
				if rs := reasonsOf(e.lastAccess(t)); !slices.Equal(rs, []string{"no-application"}) {
					t.Errorf("reasons = %q", rs)
				}
			}
			if tt.wantPath == "" && e.hits.Load() != before {
				t.Error("request reached the upstream")
			}
		})
	}
}

func TestUnmatchedRequest(t *testing.T) {
	tests := []struct {
		name       string
		deny       bool
		wantStatus int
		wantReason string
	}{
		{"not found by default", false, http.StatusNotFound, "no-application"},
		{"forbidden with deny_unmatched_requests", true, http.StatusForbidden, "unmatched-request-denied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, setup{config: func(upstream string) *store.Config {
				c := baseConfig(upstream, "")
				c.Organization.DenyUnmatchedRequests = tt.deny
				return c
			}})
			w := e.serve(t, req(http.MethodGet, "http://nothing.example.com/x", nil))
			assertErrorPage(t, w, tt.wantStatus, "No application is configured at this address.")
			line := e.lastAccess(t)
			if rs := reasonsOf(line); !slices.Equal(rs, []string{tt.wantReason}) {
				t.Errorf("reasons = %q, want %q", rs, tt.wantReason)
			}
			if line["app"] != "" || line["status"] != float64(tt.wantStatus) {
				t.Errorf("access line = %v", line)
			}
			if e.hits.Load() != 0 || len(e.login.Calls()) != 0 {
				t.Error("unmatched request was forwarded or sent to login")
			}
		})
	}
}

// TestReservedEndpoints checks that paths under the profile's prefix go to the login flow with
// the endpoint name and the application covering the host (nil without one), before any policy.
func TestReservedEndpoints(t *testing.T) {
	tests := []struct {
		name, profile, target string
		denyUnmatched         bool
		wantApp, wantEndpoint string
	}{
		{name: "login on an app host", target: "http://app.example.com/.gatehouse/login?code=x", wantApp: "web", wantEndpoint: "login"},
		{name: "on a path app's host the host app", target: "http://app.example.com/.gatehouse/logout", wantApp: "web", wantEndpoint: "logout"},
		{name: "no application", target: "http://nothing.example.com/.gatehouse/certs", wantEndpoint: "certs"},
		{name: "no application with deny_unmatched", target: "http://nothing.example.com/.gatehouse/certs", denyUnmatched: true, wantEndpoint: "certs"},
		{name: "after normalisation", target: "http://app.example.com/x/../.gatehouse/get-identity", wantApp: "web", wantEndpoint: "get-identity"},
		{name: "encoded dot", target: "http://app.example.com/%2Egatehouse/authorized", wantApp: "web", wantEndpoint: "authorized"},
		{name: "bare prefix", target: "http://team.wild.example.com/.gatehouse/", wantApp: "wild", wantEndpoint: ""},
		{name: "cloudflare prefix", profile: "cloudflare", target: "http://app.example.com/cdn-cgi/access/authorized", wantApp: "web", wantEndpoint: "authorized"},
	}
	envs := map[string]*env{} // by profile and deny_unmatched_requests
	envFor := func(profile string, denyUnmatched bool) *env {
		key := fmt.Sprint(profile, denyUnmatched)
		if envs[key] == nil {
			envs[key] = newEnv(t, setup{profile: profile, config: func(upstream string) *store.Config {
				c := baseConfig(upstream, profile)
				c.Organization.DenyUnmatchedRequests = denyUnmatched
				return c
			}})
		}
		e := envs[key]
		e.login.Reset()
		return e
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := envFor(tt.profile, tt.denyUnmatched)
			w := e.serve(t, req(http.MethodGet, tt.target, nil))
			if w.Code != 299 {
				t.Fatalf("status = %d, want the endpoint's 299", w.Code)
			}
			c := e.onlyCall(t)
			if c.Kind != "endpoint" || c.App != tt.wantApp || c.Endpoint != tt.wantEndpoint {
				t.Errorf("call = %+v, want endpoint %q for app %q", c, tt.wantEndpoint, tt.wantApp)
			}
			if line := e.lastAccess(t); line["decision"] != "endpoint" || line["app"] != tt.wantApp {
				t.Errorf("access line = %v", line)
			}
			if e.hits.Load() != 0 {
				t.Error("endpoint request reached the upstream")
			}
		})
	}

	t.Run("other profile's prefix is an ordinary path", func(t *testing.T) {
		e := envFor("cloudflare", false)
		r := req(http.MethodGet, "http://app.example.com/.gatehouse/login", nil)
		r.Header.Set("Accept", "text/html")
		e.serve(t, r)
		if c := e.onlyCall(t); c.Kind != "start" || c.Redirect != "/.gatehouse/login" {
			t.Errorf("call = %+v, want a login start", c)
		}
	})
}

// TestAmbiguousPath checks that paths NormalizePath refuses are answered 400 before routing, and
// that nothing is forwarded or sent to the login flow.
func TestAmbiguousPath(t *testing.T) {
	e := newEnv(t, setup{})
	for _, path := range []string{
		"/admin%2Fsecret",     // encoded slash
		"/admin%2fsecret",     // lower-case escape
		"/x%5C..%5Cadmin",     // encoded backslash
		"/x%00",               // encoded control character
		"/../admin",           // climbs above the root
		"/x/..;/admin",        // parameter on a dot segment
		"/x/%2e%2e;/admin",    // the same, encoded
		"/x/%252Fadmin",       // double encoding
		"/.gatehouse%2Flogin", // encoded slash inside the reserved prefix
	} {
		t.Run(path, func(t *testing.T) {
			e.login.Reset()
			r := req(http.MethodGet, "http://open.example.com"+path, nil)
			w := e.serve(t, r)
			assertErrorPage(t, w, http.StatusBadRequest, "The request path is not allowed.", "ambiguous", "encoded", "climbs")
			if rs := reasonsOf(e.lastAccess(t)); !slices.Equal(rs, []string{"ambiguous-path"}) {
				t.Errorf("reasons = %q", rs)
			}
			if e.warnReason(t) != "ambiguous-path" {
				t.Errorf("warn reason = %q", e.warnReason(t))
			}
			if e.hits.Load() != 0 || len(e.login.Calls()) != 0 {
				t.Error("ambiguous request was forwarded or sent to login")
			}
		})
	}
}

// TestForwardedPathIsNormalised checks that the origin receives exactly the path the policy saw,
// below the upstream's base path, with the query untouched.
func TestForwardedPathIsNormalised(t *testing.T) {
	e := newEnv(t, setup{})
	tests := []struct {
		target, wantEscaped, wantQuery string
	}{
		{"http://open.example.com/a/../admin", "/open/admin", ""},
		{"http://open.example.com/./x//y/", "/open/x/y/", ""},
		{"http://open.example.com/%7Euser/%41", "/open/~user/A", ""},
		{"http://open.example.com/caf%c3%a9/a%20b", "/open/caf%C3%A9/a%20b", ""},
		{"http://open.example.com/x/y/..", "/open/x/", ""},
		{"http://open.example.com/x?b=2&a=1&a=%20&c", "/open/x", "b=2&a=1&a=%20&c"},
		{"http://open.example.com/", "/open/", ""},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			got := e.forwarded(t, req(http.MethodGet, tt.target, nil))
			if got.Escaped != tt.wantEscaped || got.RawQuery != tt.wantQuery {
				t.Errorf("origin saw %q ? %q, want %q ? %q", got.Escaped, got.RawQuery, tt.wantEscaped, tt.wantQuery)
			}
			if p, _ := e.lastAccess(t)["path"].(string); "/open"+p != tt.wantEscaped {
				t.Errorf("access log path %q does not match the forwarded path %q", p, tt.wantEscaped)
			}
		})
	}
}
