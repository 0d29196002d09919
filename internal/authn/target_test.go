package authn

import (
	"errors"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/httpx"
	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/snapshot"
	"github.com/gatehouse/gatehouse/internal/store"
)

var goodState = hashValue("app-nonce", "n")

// loginTargetCases are login requests for the app host in host: want is the redirect path the
// login returns to, or "" when the request must be refused.
var loginTargetCases = []struct {
	name, host, kid, state, redirect string
	want                             string
}{
	{"root", wikiHost, aud("wiki"), goodState, "/", "/"},
	{"path and query", wikiHost, aud("wiki"), goodState, "/docs/a?q=1&r=%2F", "/docs/a?q=1&r=%2F"},
	{"fragment dropped", wikiHost, aud("wiki"), goodState, "/docs#top", "/docs"},
	{"unreserved escape decoded", wikiHost, aud("wiki"), goodState, "/%7Euser/x", "/~user/x"},
	{"host case folded", "WIKI.Example.COM", aud("wiki"), goodState, "/docs", "/docs"},
	{"trailing dot dropped (as the proxy drops it)", "wiki.example.com.", aud("wiki"), goodState, "/docs", "/docs"},
	{"path app on its own path", wikiHost, aud("wiki-admin"), goodState, "/admin/users", "/admin/users"},
	{"other host", soloHost, aud("solo"), goodState, "/x", "/x"},

	{"unknown kid", wikiHost, strings.Repeat("0", 64), goodState, "/", ""},
	{"no kid", wikiHost, "", goodState, "/", ""},
	{"kid of another app", wikiHost, aud("solo"), goodState, "/", ""},
	{"host of another app", soloHost, aud("wiki"), goodState, "/", ""},
	{"host without app", "evil.example", aud("wiki"), goodState, "/", ""},
	{"host suffix", wikiHost + ".evil.example", aud("wiki"), goodState, "/", ""},
	{"no state", wikiHost, aud("wiki"), "", "/", ""},
	{"short state", wikiHost, aud("wiki"), goodState[:63], "/", ""},
	{"upper-case state", wikiHost, aud("wiki"), strings.ToUpper(goodState), "/", ""},
	{"non-hex state", wikiHost, aud("wiki"), strings.Repeat("g", 64), "/", ""},
	{"no redirect", wikiHost, aud("wiki"), goodState, "", ""},
	{"absolute same host", wikiHost, aud("wiki"), goodState, "https://" + wikiHost + "/docs", ""},
	{"absolute other host", wikiHost, aud("wiki"), goodState, "https://evil.example/", ""},
	{"scheme-relative", wikiHost, aud("wiki"), goodState, "//evil.example/", ""},
	{"backslash", wikiHost, aud("wiki"), goodState, "/\\evil.example", ""},
	{"backslashes", wikiHost, aud("wiki"), goodState, "\\\\evil.example", ""},
	{"javascript", wikiHost, aud("wiki"), goodState, "javascript:alert(1)", ""},
	{"relative", wikiHost, aud("wiki"), goodState, "docs", ""},
	{"dot segments", wikiHost, aud("wiki"), goodState, "/docs/../admin/x", ""},
	{"encoded dot segments", wikiHost, aud("wiki"), goodState, "/docs/%2e%2e/admin/x", ""},
	{"encoded slash", wikiHost, aud("wiki"), goodState, "/docs%2F..%2Fadmin", ""},
	{"double encoding", wikiHost, aud("wiki"), goodState, "/%252e%252e/admin", ""},
	{"encoded NUL", wikiHost, aud("wiki"), goodState, "/docs%00", ""},
	{"CRLF", wikiHost, aud("wiki"), goodState, "/docs\r\nSet-Cookie: x=y", ""},
	{"double slash", wikiHost, aud("wiki"), goodState, "/docs//x", ""},
	{"other app's path", wikiHost, aud("wiki"), goodState, "/admin/users", ""},
	{"other app's path, upper case", wikiHost, aud("wiki"), goodState, "/ADMIN/users", ""},
	{"other app's path, escaped", wikiHost, aud("wiki"), goodState, "/adm%69n/users", ""},
	{"other app's path, path parameter", wikiHost, aud("wiki"), goodState, "/admin;x/users", ""},
	{"path app off its path", wikiHost, aud("wiki-admin"), goodState, "/docs", ""},
}

// TestParseLoginTarget: a login request names a known application, a well-formed state and a
// path on the app host that belongs to that application; nothing else is accepted.
func TestParseLoginTarget(t *testing.T) {
	snap := targetSnapshot(t)
	s := &Service{}
	for _, tc := range loginTargetCases {
		t.Run(tc.name, func(t *testing.T) {
			q := url.Values{"kid": {tc.kid}, "state": {tc.state}, "redirect_url": {tc.redirect}}
			got, err := s.parseLoginTarget(snap, tc.host, q)
			if tc.want == "" {
				if err == nil {
					t.Fatalf("accepted, returning to %q", got.redirect)
				}
				if he := httpx.AsError(err); he.Status != http.StatusBadRequest || he.Reason != "bad-login-request" {
					t.Errorf("error = %d %s", he.Status, he.Reason)
				}
				return
			}
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			if got.redirect != tc.want || got.host != httpx.NormalizeHost(tc.host) || got.app.AUD != tc.kid || got.state != tc.state {
				t.Errorf("target = %+v, want redirect %q", got, tc.want)
			}
		})
	}
}

// TestLoginRequestRefused: the login endpoint answers a bad target with 400 and no flow.
func TestLoginRequestRefused(t *testing.T) {
	h := newHarness(t)
	b := h.browser()
	q := url.Values{"kid": {aud("wiki")}, "state": {goodState}, "redirect_url": {"//evil.example/"}}
	r := b.get(loginURL(wikiHost, q))
	h.wantFailure(r, http.StatusBadRequest, "bad-login-request")
	if !strings.Contains(r.body, "This sign-in link is not valid.") || strings.Contains(r.body, "evil.example") {
		t.Errorf("refusal page:\n%s", r.body)
	}
	if r.cookiePrefixed(flowCookie) != nil {
		t.Error("a refused request started a flow")
	}
	q.Set("redirect_url", "/")
	h.wantFailure(b.post(loginURL(wikiHost, q), url.Values{}), http.StatusMethodNotAllowed, "method-not-allowed")
}

// FuzzLoginTarget: whatever parseLoginTarget accepts is a canonical path on the requested
// host that routes to the application the kid names.
func FuzzLoginTarget(f *testing.F) {
	snap := targetSnapshot(f)
	for _, tc := range loginTargetCases {
		f.Add(tc.host, tc.kid, tc.state, tc.redirect)
	}
	s := &Service{}
	f.Fuzz(func(t *testing.T, host, kid, state, redirect string) {
		got, err := s.parseLoginTarget(snap, host, url.Values{"kid": {kid}, "state": {state}, "redirect_url": {redirect}})
		if err != nil {
			return
		}
		if got.app != snap.AppsByAUD[kid] || got.host != httpx.NormalizeHost(host) || got.state != state {
			t.Fatalf("target %+v does not echo the request", got)
		}
		r := got.redirect
		if !strings.HasPrefix(r, "/") || strings.HasPrefix(r, "//") || strings.ContainsAny(r, "\\#") || strings.ContainsFunc(r, func(c rune) bool { return c <= ' ' || c >= 0x7f }) {
			t.Fatalf("%q -> unsafe redirect %q", redirect, r)
		}
		path, _, _ := strings.Cut(r, "?")
		if norm, err := httpx.NormalizePath(path); err != nil || norm != path {
			t.Fatalf("%q -> non-canonical path %q", redirect, path)
		}
		if id, ok, err := snap.Routes.Resolve(got.host, path); err != nil || !ok || id != got.app.ID {
			t.Fatalf("%q -> %q routes to %q, not %q", redirect, path, id, got.app.ID)
		}
		base := &url.URL{Scheme: "https", Host: got.host, Path: "/"}
		u, err := base.Parse(r)
		if err != nil || u.Host != got.host || u.Scheme != "https" {
			t.Fatalf("%q -> %q leaves the host", redirect, r)
		}
	})
}

func targetSnapshot(tb testing.TB) *snapshot.Snapshot {
	tb.Helper()
	snap, err := snapshot.Compile(baseConfig(), snapshot.Options{Scheme: "https", Port: 443})
	if err != nil {
		tb.Fatal(err)
	}
	return snap
}

// TestOrgSessionReused: a browser with an org session logs in to another application without
// the IdP, and the app token never outlives the org session.
func TestOrgSessionReused(t *testing.T) {
	h := newHarness(t)
	b := h.browser()
	b.signIn(wikiHost, "/", "Corp SSO")
	orgToken := b.cookie(authHost, orgCookie)
	sess := h.orgSessions("alice@example.com")[0]

	h.clock.Advance(23 * time.Hour)
	h.corp.set(func(f *fakeIdP) { f.startErr = errors.New("the IdP must not be asked") })
	r := b.follow(b.openApp(soloHost, "/reports"))
	loc := r.location(t)
	if loc.Host != soloHost || loc.Path != prefix+"authorized" {
		t.Fatalf("with an org session, login redirected to %s", loc)
	}
	if r.cookie(orgCookie) != nil {
		t.Error("session reuse set an org cookie")
	}
	if c := r.cookiePrefixed(flowCookie); c == nil || c.MaxAge >= 0 {
		t.Errorf("the finished flow's cookie was not cleared: %+v", c)
	}
	ev := h.lastEvent()
	wantEvent(t, ev, "login", true, "org-session-reused", "policy-matched", "email_domain-ok")
	if ev.AppID != "solo" || ev.UserID != sess.UserID {
		t.Errorf("reuse event = %+v", ev)
	}
	r = b.follow(r)
	if got := r.location(t).RequestURI(); got != "/reports" {
		t.Errorf("hand-off to %s", got)
	}
	app := h.claims(r.cookie(orgCookie).Value)
	if app.ExpiresAt != sess.ExpiresAt.Unix() || app.IdentityNonce != sess.ID {
		t.Errorf("app token expires %d, session %d", app.ExpiresAt, sess.ExpiresAt.Unix())
	}
	if b.cookie(authHost, orgCookie) != orgToken {
		t.Error("org cookie changed")
	}
	if n := len(h.orgSessions("alice@example.com")); n != 1 {
		t.Errorf("%d org sessions, want the one reused", n)
	}
}

// TestPolicyDenial: a login whose identity the app's policies refuse gets the block page (or
// the app's deny URL) and no hand-off, though the org session stays.
func TestPolicyDenial(t *testing.T) {
	h := newHarness(t)
	h.cfg.Organization.CustomDenyMessage = "Ask #it-help for access."
	h.publish()
	h.corp.ident.Email = "mallory@evil.test"
	b := h.browser()
	r := b.idpReturn(b.toIdP(b.openApp(soloHost, "/"), "Corp SSO"))
	if r.status != http.StatusForbidden {
		t.Fatalf("got %d, want the block page\n%s", r.status, r.body)
	}
	reasons := "no-policy-matched,include-failed-email_domain"
	if got := r.header.Get("Gatehouse-Reasons"); got != reasons {
		t.Errorf("Gatehouse-Reasons = %q, want %q", got, reasons)
	}
	if !strings.Contains(r.text(), "You don't have access") || !strings.Contains(r.body, "Ask #it-help for access.") ||
		!strings.Contains(r.body, "https://"+authHost+prefix+"logout") {
		t.Errorf("block page:\n%s", r.body)
	}
	ref := r.ref(t)
	ev := h.lastEvent()
	wantEvent(t, ev, "login", false, strings.Split(reasons, ",")...)
	if ev.Email != "mallory@evil.test" || ev.PolicyID != "" {
		t.Errorf("denial event = %+v", ev)
	}
	if ev.RequestID != ref {
		t.Errorf("the block page shows reference %s, the auth event has %q", ref, ev.RequestID)
	}
	if r.cookie(orgCookie) == nil || len(h.orgSessions("mallory@evil.test")) != 1 {
		t.Error("the org session of a denied login was not kept")
	}

	t.Run("custom deny URL", func(t *testing.T) {
		h.in(t)
		r := b.follow(b.openApp(vaultHost, "/")) // org session reused
		if loc := r.location(t); loc.String() != vaultDeny {
			t.Errorf("denied login redirected to %s, want %s", loc, vaultDeny)
		}
		wantEvent(t, h.lastEvent(), "login", false, "org-session-reused", "no-policy-matched", "include-failed-email")
	})
}

// TestPreflightDenial: a request no identity could pass from this address is refused before
// any IdP, without a flow.
func TestPreflightDenial(t *testing.T) {
	for _, tc := range []struct {
		name    string
		client  httpx.Client
		denyURL string
	}{
		{"block page", httpx.Client{IP: defaultClient.IP, Country: "US"}, ""},
		{"unknown country", httpx.Client{IP: defaultClient.IP}, ""},
		{"non-identity deny URL", httpx.Client{IP: defaultClient.IP, Country: "US"}, "https://www.example.com/not-from-there"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, func(c *store.Config) {
				for i := range c.Applications {
					if c.Applications[i].ID == "office" {
						c.Applications[i].CustomNonIdentityDenyURL = tc.denyURL
						c.Applications[i].CustomDenyURL = "https://www.example.com/identity-deny"
					}
				}
			})
			h.corp.set(func(f *fakeIdP) { f.startErr = errors.New("the IdP must not be asked") })
			b := h.browser()
			b.client = tc.client
			r := b.follow(b.openApp(officeHost, "/"))
			if r.cookiePrefixed(flowCookie) != nil {
				t.Error("a flow was started")
			}
			if tc.denyURL != "" {
				if loc := r.location(t); loc.String() != tc.denyURL {
					t.Errorf("redirected to %s", loc)
				}
				return
			}
			if r.status != http.StatusForbidden || !strings.Contains(r.body, "Access blocked") || !strings.Contains(r.body, "This request is not allowed to reach Office.") {
				t.Fatalf("got %d\n%s", r.status, r.body)
			}
			if got := r.header.Get("Gatehouse-Reasons"); got != "no-policy-matched,require-failed-geo" {
				t.Errorf("Gatehouse-Reasons = %q", got)
			}
			// The refusal is in the auth log with its reasons, under the page's reference.
			ev := h.lastEvent()
			wantEvent(t, ev, "login", false, "no-policy-matched", "require-failed-geo")
			if ev.AppID != "office" || ev.RequestID != r.ref(t) || ev.Country != tc.client.Country {
				t.Errorf("preflight denial event = %+v", ev)
			}
		})
	}
	t.Run("allowed country", func(t *testing.T) {
		h := newHarness(t)
		b := h.browser()
		if r := b.signIn(officeHost, "/", "Corp SSO"); r.cookie(orgCookie) == nil {
			t.Errorf("login from NL failed: %d", r.status)
		}
	})
}

// TestNoLoginMethod: an application without IdPs cannot be logged in to.
func TestNoLoginMethod(t *testing.T) {
	h := newHarness(t, func(c *store.Config) {
		c.IdentityProviders = nil
		for i := range c.Applications {
			c.Applications[i].AllowedIdPs = nil
		}
	})
	b := h.browser()
	h.wantFailure(b.follow(b.openApp(wikiHost, "/")), http.StatusForbidden, "no-login-method")
}

// TestLoginFlowRateLimit: one address can start only LoginFlowsPerIP flows per window.
func TestLoginFlowRateLimit(t *testing.T) {
	setLimit(t, &LoginFlowsPerIP, Limit{Window: time.Minute, Max: 2})
	h := newHarness(t)
	b := h.browser()
	for range 2 {
		if r := b.follow(b.openApp(wikiHost, "/")); r.status != http.StatusOK {
			t.Fatalf("login page: %d", r.status)
		}
	}
	r := b.follow(b.openApp(wikiHost, "/"))
	h.wantFailure(r, http.StatusTooManyRequests, "rate-limited")
	other := h.browser()
	other.client.IP = netip.MustParseAddr("198.51.100.1")
	if r := other.follow(other.openApp(wikiHost, "/")); r.status != http.StatusOK {
		t.Errorf("another address is limited too: %d", r.status)
	}
	h.clock.Advance(time.Minute)
	if r := b.follow(b.openApp(wikiHost, "/")); r.status != http.StatusOK {
		t.Errorf("still limited in the next window: %d", r.status)
	}
}

// TestStart: the start step checks the flow, its browser and the IdP.
func TestStart(t *testing.T) {
	h := newHarness(t)
	b := h.browser()
	r := b.follow(b.openApp(soloHost, "/"))
	start := r.location(t)
	flow := start.Query().Get("flow")
	startURL := func(flow, idp string) string {
		return authURL(prefix + "start?" + url.Values{"flow": {flow}, "idp": {idp}}.Encode())
	}
	h.wantFailure(b.get(startURL("short", "corp")), http.StatusBadRequest, "flow-invalid")
	h.wantFailure(b.get(startURL(flow+"x", "corp")), http.StatusBadRequest, "flow-invalid")
	h.wantFailure(h.browser().get(startURL(flow, "corp")), http.StatusBadRequest, "flow-browser-mismatch")
	h.wantFailure(b.get(startURL(flow, "saml")), http.StatusBadRequest, "idp-not-allowed") // not one of solo's
	h.wantFailure(b.get(startURL(flow, "nope")), http.StatusBadRequest, "idp-not-allowed")

	h.corp.set(func(f *fakeIdP) {
		f.startErr = identity.Fail("oidc-discovery-failed", errors.New("dial tcp: SECRET-HOST"))
	})
	r = b.get(start.String())
	h.wantFailure(r, http.StatusBadGateway, "oidc-discovery-failed")
	if strings.Contains(r.body, "SECRET-HOST") {
		t.Error("the cause reached the page")
	}
	wantEvent(t, h.lastEvent(), "login", false, "oidc-discovery-failed")

	h.rt.Connectors = nil
	h.publish()
	h.wantFailure(b.get(start.String()), http.StatusServiceUnavailable, "idp-unavailable")
}
