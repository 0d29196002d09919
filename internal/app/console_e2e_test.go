package app_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/testenv"
	"github.com/gatehouse/gatehouse/internal/token"
)

// consoleConfig has an admin console whose policies make alice an administrator and carol an
// auditor; bob may use the app but not the console.
const consoleConfig = `
organization:
  name: Test Org
  auth_domain: auth.localhost
identity_providers:
  - {id: pin, name: E-mail PIN, type: onetimepin}
applications:
  - id: app
    name: Test App
    destinations: [app.localhost]
    upstream: UPSTREAM
    policies: [{ref: example, precedence: 1}]
  - id: console
    type: admin_console
    name: Admin console
    policies: [{ref: admins, precedence: 1, role: administrator}, {ref: auditors, precedence: 2, role: auditor}]
policies:
  - {id: example, decision: allow, include: [{email_domain: {domain: example.com}}]}
  - {id: admins, decision: allow, include: [{email: {email: alice@example.com}}]}
  - {id: auditors, decision: allow, include: [{email: {email: carol@example.com}}]}
`

const consoleRoot = "/.gatehouse/admin/"

// consoleLogin signs email in at the console's overview and returns the browser and the page.
func consoleLogin(t *testing.T, e *testenv.Env, email string) (*testenv.Browser, *http.Response, string) {
	t.Helper()
	b := e.NewBrowser()
	resp, body := b.Login(t, e.URL("auth.localhost", consoleRoot), email)
	return b, resp, body
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// TestConsoleAccessAndRevocation: the console is behind the admin_console application's
// policies (an allowed administrator sees the overview with the console's security headers; a
// user no policy allows is refused; an auditor sees only the logs and dashboards); a session
// revoked from the console is refused on its very next request and the change is audited with
// the administrator as actor; a post without the CSRF token changes nothing; and a sensitive
// change with a login older than the fresh-login window sends the administrator to sign in
// again instead of revoking.
func TestConsoleAccessAndRevocation(t *testing.T) {
	e := testenv.Start(t, consoleConfig)

	admin, resp, body := consoleLogin(t, e, "alice@example.com")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "<h1>Overview</h1>") || !strings.Contains(body, "administrator") {
		t.Fatalf("administrator at the console: %d\n%s", resp.StatusCode, body)
	}
	h := resp.Header
	if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("CSP = %q", csp)
	}
	if h.Get("Cache-Control") != "no-store" || h.Get("X-Frame-Options") != "DENY" {
		t.Errorf("cache %q frame %q", h.Get("Cache-Control"), h.Get("X-Frame-Options"))
	}

	// bob passes the app's policy but no console policy: signed in (through the app), he is
	// refused at the console. (Signing in at the console itself sends him no PIN at all.)
	bob := e.NewBrowser()
	if resp, body := bob.Login(t, e.URL("app.localhost", "/"), "bob@example.com"); resp.StatusCode != http.StatusOK {
		t.Fatalf("bob's login: %d\n%s", resp.StatusCode, body)
	}
	resp, body = bob.Get(t, e.URL("auth.localhost", consoleRoot))
	if resp.StatusCode != http.StatusForbidden || strings.Contains(body, "<h1>Overview</h1>") {
		t.Errorf("bob at the console: %d\n%s", resp.StatusCode, body)
	}

	// carol is an auditor: logs and dashboards, not users.
	auditor, resp, _ := consoleLogin(t, e, "carol@example.com")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("auditor overview: %d", resp.StatusCode)
	}
	if resp, _ := auditor.Get(t, e.URL("auth.localhost", consoleRoot+"logs/access")); resp.StatusCode != http.StatusOK {
		t.Errorf("auditor access log: %d", resp.StatusCode)
	}
	if resp, _ := auditor.Get(t, e.URL("auth.localhost", consoleRoot+"users")); resp.StatusCode != http.StatusForbidden {
		t.Errorf("auditor users page: %d, want 403", resp.StatusCode)
	}

	// alice's other browser uses the app; she revokes that session from the console.
	e.Clock.Advance(time.Second)
	other := loggedIn(t, e)
	proxied := func() int {
		req, _ := http.NewRequest(http.MethodGet, e.URL("app.localhost", "/"), nil)
		req.Header.Set("Accept", "application/json")
		resp, _ := other.Do(t, req)
		return resp.StatusCode
	}
	if got := proxied(); got != http.StatusOK {
		t.Fatalf("other browser before: %d", got)
	}
	claims, err := token.NewVerifier(e.G.Keys, e.G.Snapshots.Load().Issuer, e.Clock.Now).Verify(appCookie(t, e, other, "app.localhost"))
	if err != nil {
		t.Fatal(err)
	}
	resp, page := admin.Get(t, e.URL("auth.localhost", consoleRoot+"user?id="+claims.Subject))
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, claims.IdentityNonce) {
		t.Fatalf("user page: %d\n%s", resp.StatusCode, page)
	}
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token on the user page:\n%s", page)
	}
	revoke := e.URL("auth.localhost", consoleRoot+"sessions/revoke?back="+url.QueryEscape(consoleRoot+"user"))
	form := url.Values{"user": {claims.Subject}, "session": {claims.IdentityNonce}, "back_query": {"id=" + claims.Subject}}

	// Without the token: refused, nothing revoked.
	if resp, _ := admin.PostForm(t, revoke, form); resp.StatusCode != http.StatusForbidden {
		t.Errorf("revoke without CSRF token: %d, want 403", resp.StatusCode)
	}
	if got := proxied(); got != http.StatusOK {
		t.Fatalf("a post without CSRF token revoked the session: %d", got)
	}

	form.Set("csrf", m[1])
	resp, page = admin.PostForm(t, revoke, form)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "The session was revoked") || resp.Request.URL.Path != consoleRoot+"user" {
		t.Fatalf("revoke: %d at %s\n%s", resp.StatusCode, resp.Request.URL, page)
	}
	if got := proxied(); got != http.StatusUnauthorized {
		t.Errorf("next request after the console revoked the session: %d, want 401", got)
	}
	events, err := e.G.Store.(store.AuditLog).ListAuditEvents(t.Context(), store.AuditQuery{Action: "user.revoke_session"})
	if err != nil || len(events) != 1 || events[0].Actor != "alice@example.com" || events[0].ActorType != store.ActorUser || events[0].Result != store.AuditSuccess {
		t.Errorf("audit: %+v %v", events, err)
	}

	// Ten minutes later the login is too old for a revocation: the console asks for a new
	// sign-in and revokes nothing.
	e.Clock.Advance(10 * time.Minute)
	third := loggedIn(t, e)
	claims, err = token.NewVerifier(e.G.Keys, e.G.Snapshots.Load().Issuer, e.Clock.Now).Verify(appCookie(t, e, third, "app.localhost"))
	if err != nil {
		t.Fatal(err)
	}
	resp, page = admin.Get(t, e.URL("auth.localhost", consoleRoot+"user?id="+claims.Subject))
	if !strings.Contains(page, "need a sign-in within the last 5 minutes") {
		t.Errorf("the user page does not say that changes need a fresh sign-in:\n%s", page)
	}
	form.Set("session", claims.IdentityNonce)
	form.Set("csrf", csrfField.FindStringSubmatch(page)[1])
	resp, page = admin.PostForm(t, revoke, form)
	if !strings.Contains(page, `name="email"`) {
		t.Errorf("a stale login's revocation did not ask to sign in again: %d\n%s", resp.StatusCode, page)
	}
	req, _ := http.NewRequest(http.MethodGet, e.URL("app.localhost", "/"), nil)
	req.Header.Set("Accept", "application/json")
	if resp, _ := third.Do(t, req); resp.StatusCode != http.StatusOK {
		t.Errorf("a stale login revoked the session: %d", resp.StatusCode)
	}
}

// TestConsoleDisabledWithoutApplication: without an admin_console application nobody may use
// the console, not even a signed-in user.
func TestConsoleDisabledWithoutApplication(t *testing.T) {
	e := testenv.Start(t, "")
	b := loggedIn(t, e)
	resp, body := b.Get(t, e.URL("auth.localhost", consoleRoot))
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "admin_console") {
		t.Errorf("console without its application: %d\n%s", resp.StatusCode, body)
	}
}

// TestConsoleConfigurationObjects: an administrator creates a policy and an application in the
// console's object editor; the allowed user reaches the new application at once and another
// user is refused. A change the configuration checks refuse, a stale ETag, a file object and a
// deletion that would leave a reference dangling are each refused with their reason, and change
// nothing.
func TestConsoleConfigurationObjects(t *testing.T) {
	e := testenv.Start(t, consoleConfig)
	admin, resp, _ := consoleLogin(t, e, "alice@example.com")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("login: %d", resp.StatusCode)
	}
	_, page := admin.Get(t, e.URL("auth.localhost", consoleRoot+"objects?kind=policies"))
	csrf := csrfField.FindStringSubmatch(page)
	if csrf == nil {
		t.Fatalf("objects page:\n%s", page)
	}
	post := func(path string, form url.Values) (*http.Response, string) {
		t.Helper()
		form.Set("csrf", csrf[1])
		return admin.PostForm(t, e.URL("auth.localhost", consoleRoot+path), form)
	}
	resp, page = post("objects/create?back="+url.QueryEscape(consoleRoot+"objects"), url.Values{"kind": {"policies"},
		"json": {`{"id": "carols", "decision": "allow", "include": [{"email": {"email": "carol@example.com"}}]}`}})
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "The object was created") || resp.Request.URL.Query().Get("id") != "carols" {
		t.Fatalf("create policy: %d at %s\n%s", resp.StatusCode, resp.Request.URL, page)
	}
	app := fmt.Sprintf(`{"id": "wiki2", "name": "Wiki 2", "type": "self_hosted", "destinations": [{"type": "public", "uri": "wiki2.localhost"}],
		"upstream": %q, "policies": [{"id": "carols", "precedence": 1}]}`, e.Upstream.URL)
	resp, page = post("objects/create", url.Values{"kind": {"applications"}, "json": {app}})
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "The object was created") {
		t.Fatalf("create application: %d\n%s", resp.StatusCode, page)
	}
	carol := e.NewBrowser()
	if resp, body := carol.Login(t, e.URL("wiki2.localhost", "/"), "carol@example.com"); resp.StatusCode != http.StatusOK {
		t.Errorf("carol at the new application: %d\n%s", resp.StatusCode, body)
	}
	bob := e.NewBrowser()
	if resp, _ := bob.Login(t, e.URL("app.localhost", "/"), "bob@example.com"); resp.StatusCode != http.StatusOK {
		t.Fatalf("bob's login: %d", resp.StatusCode)
	}
	if resp, _ := bob.Get(t, e.URL("wiki2.localhost", "/")); resp.StatusCode != http.StatusForbidden {
		t.Errorf("bob at the new application: %d, want 403", resp.StatusCode)
	}

	// Refusals.
	resp, page = post("objects/create", url.Values{"kind": {"applications"}, "json": {`{"id": "bad", "type": "self_hosted", "name": "Bad"}`}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "Nothing was created") || !strings.Contains(page, "destination") {
		t.Errorf("an invalid application: %d\n%s", resp.StatusCode, page)
	}
	resp, page = post("objects/save?back="+url.QueryEscape(consoleRoot+"object"), url.Values{"kind": {"policies"}, "id": {"carols"}, "etag": {`"stale"`},
		"json": {`{"id": "carols", "decision": "allow", "include": [{"everyone": {}}]}`}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "Someone changed this object") {
		t.Errorf("a stale ETag: %d\n%s", resp.StatusCode, page)
	}
	resp, page = post("objects/save", url.Values{"kind": {"policies"}, "id": {"admins"},
		"json": {`{"id": "admins", "decision": "allow", "include": [{"everyone": {}}]}`}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "managed by the configuration file") {
		t.Errorf("a file object: %d\n%s", resp.StatusCode, page)
	}
	if _, page := admin.Get(t, e.URL("auth.localhost", consoleRoot+"object?kind=policies&id=admins")); strings.Contains(page, `name="json"`) {
		t.Error("a file object is offered for editing")
	}
	resp, page = post("objects/delete", url.Values{"kind": {"policies"}, "id": {"carols"}})
	if resp.StatusCode != http.StatusConflict || !strings.Contains(page, "wiki2") {
		t.Errorf("deleting a policy in use: %d\n%s", resp.StatusCode, page)
	}
	if resp, _ := carol.Get(t, e.URL("wiki2.localhost", "/")); resp.StatusCode != http.StatusOK {
		t.Errorf("carol after the refused changes: %d", resp.StatusCode)
	}
	events, _ := e.G.Store.(store.AuditLog).ListAuditEvents(t.Context(), store.AuditQuery{Actor: "alice@example.com", Result: store.AuditSuccess})
	var actions []string
	for _, ev := range events {
		actions = append(actions, ev.Action)
	}
	if got := strings.Join(actions, " "); !strings.Contains(got, "application.create") || !strings.Contains(got, "policy.create") {
		t.Errorf("audit: %s", got)
	}
}
