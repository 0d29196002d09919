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
	e := newEnv(t, setup{config: func(upstream string) *store.Config {
		c := baseConfig(upstream, "")
		for _, a := range []store.Application{
			{ID: "docs-edit", Destinations: []store.Destination{{URI: "app.example.com/docs/*/edit"}}},
			{ID: "files", Destinations: []store.Destination{{URI: "app.example.com/files/*"}, {URI: "app.example.com/files.*"}}},
		} {
			a.Type, a.Name, a.AUD, a.Upstream = store.AppSelfHosted, a.ID, audOf(a.ID), upstream+"/"+a.ID
			a.Policies = []store.PolicyLink{{Ref: "boss-only", Precedence: 1}}
			c.Applications = append(c.Applications, a)
		}
		return c
	}})
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
		{name: "a parameter-only segment does not hide a path app", target: "http://app.example.com/;/admin", wantLogin: "admin", wantRedirect: "/;/admin"},
		{name: "path params on the path app's own segment", target: "http://app.example.com/admin;x", wantLogin: "admin", wantRedirect: "/admin;x"},
		{name: "trailing slash of a path app", target: "http://app.example.com/admin/", wantLogin: "admin", wantRedirect: "/admin/"},
		{name: "mid-path wildcard covers its trailing slash", target: "http://app.example.com/docs/a/edit/", wantLogin: "docs-edit", wantRedirect: "/docs/a/edit/"},
		{name: "mid-path wildcard covers its sub-paths", target: "http://app.example.com/docs/a/edit/x", wantLogin: "docs-edit", wantRedirect: "/docs/a/edit/x"},
		{name: "mid-path wildcard, deeper", target: "http://app.example.com/docs/a/b/edit/x/y", wantLogin: "docs-edit", wantRedirect: "/docs/a/b/edit/x/y"},
		{name: "mid-path wildcard is not a prefix match", target: "http://app.example.com/docs/a/editor", wantLogin: "web", wantRedirect: "/docs/a/editor"},
		{name: "a trailing /* covers its own path", target: "http://app.example.com/files", wantLogin: "files", wantRedirect: "/files"},
		{name: "suffix of a path given to the same app", target: "http://app.example.com/files.json", wantLogin: "files", wantRedirect: "/files.json"},
		{name: "asset paths of a host app", target: "http://app.example.com/static/app.min.js", wantLogin: "web", wantRedirect: "/static/app.min.js"},
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

// TestAmbiguousPath checks that paths NormalizePath refuses, and paths an origin may serve as
// a path another application governs, are answered 400 before anything else, and that nothing
// is forwarded or sent to the login flow.
func TestAmbiguousPath(t *testing.T) {
	e := newEnv(t, setup{})
	for _, target := range []string{
		"open.example.com/admin%2Fsecret",     // encoded slash
		"open.example.com/admin%2fsecret",     // lower-case escape
		"open.example.com/x%5C..%5Cadmin",     // encoded backslash
		"open.example.com/x%00",               // encoded control character
		"open.example.com/../admin",           // climbs above the root
		"open.example.com/x/..;/admin",        // parameter on a dot segment
		"open.example.com/x/%2e%2e;/admin",    // the same, encoded
		"open.example.com/x/%252Fadmin",       // double encoding
		"open.example.com/.gatehouse%2Flogin", // encoded slash inside the reserved prefix
		// Forms origins serve as /admin (admin) while the route table would see the host app:
		"app.example.com/admin%3bx",                                 // Spring decodes, then drops ";x"
		"app.example.com/admin%3B/users",                            // the same, upper-case
		"app.example.com/admin%20",                                  // IIS drops trailing spaces
		"app.example.com/admin%20/users",                            // in any segment
		"app.example.com/%20admin",                                  // Spring trims
		"app.example.com/admin.",                                    // Windows drops trailing dots
		"app.example.com/admin%2e",                                  // encoded
		"app.example.com/admin.%2e/users",                           // several
		"app.example.com/admin.json",                                // Spring and Rails serve /admin
		"app.example.com/admin.tar.gz",                              // every cut at a dot
		"app.example.com/admin.json/",                               // with a trailing slash
		"app.example.com/admin%3F.css",                              // /admin behind a proxy that decodes and re-parses
		"app.example.com/admin%23x",                                 // the same with "#"
		"app.example.com/admin::$DATA",                              // NTFS stream of /admin
		"app.example.com/ADMINI~1",                                  // an 8.3 name
		"app.example.com/%c1%a1dmin",                                // overlong "a"
		"app.example.com/%ef%bd%81dmin",                             // fullwidth "a"
		"app.example.com/adm%c4%b1n",                                // dotless i upper-cases to I
		"app.example.com/adm%e2%80%8bin",                            // zero-width space
		"app.example.com/admin/public/%c0%ae%c0%ae",                 // overlong dots below the bypass app
		"app.example.com/admin/public/%ef%bc%8e%ef%bc%8e/users",     // fullwidth dots
		"app.example.com/admin/public/%e2%80%a4%e2%80%a4/users",     // ONE DOT LEADER
		"app.example.com/admin/public%e2%88%95..%e2%88%95users",     // DIVISION SLASH
		"app.example.com/admin/public/x/%c0%ae%c0%ae/%c0%ae%c0%ae/", // two levels up
	} {
		t.Run(target, func(t *testing.T) {
			e.login.Reset()
			r := req(http.MethodGet, "http://"+target, nil)
			r.Header.Set("Accept", "text/html")
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
