package console

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/store"
)

// oauthMCP is the MCP portal's administration with an oauth server whose sync needs the
// administrator's authorization and an unauthenticated one.
type oauthMCP struct {
	fakeMCP
	authorized []string
	authURL    string
}

func (m *oauthMCP) Servers(context.Context) ([]admin.MCPServerInfo, error) {
	return []admin.MCPServerInfo{
		{ID: "crm", Name: "CRM <tools>", URL: "https://crm.example.com/mcp", AuthType: store.MCPAuthOAuth, Status: "error",
			Error: &store.MCPSyncError{Type: store.MCPSyncErrorAuthorizationRequired, Message: "no grant"}},
		{ID: "wiki", Name: "Wiki", URL: "https://wiki.example.com/mcp", AuthType: store.MCPAuthUnauthenticated, Status: "ready"},
	}, nil
}

func (m *oauthMCP) Authorize(_ context.Context, id string) (*admin.MCPAuthorization, error) {
	if id != "crm" {
		return nil, fmt.Errorf("%w: mcp server %q does not use oauth", admin.ErrInvalid, id)
	}
	m.authorized = append(m.authorized, id)
	return &admin.MCPAuthorization{ServerID: id, AuthorizationURL: m.authURL, ExpiresAt: time.Date(2030, 1, 2, 3, 14, 5, 0, time.UTC)}, nil
}

// TestMCPAuthorize: the MCP page says which servers need authorization and offers an
// administrator (only) to authorize oauth servers; the authorization needs the CSRF token and a
// fresh login, is audited, and answers with a page that sends the browser to the authorization
// URL (a refresh and a link: the CSP's form-action forbids redirecting a post elsewhere); a
// server that does not use OAuth is refused with the service's text, and an authorization URL
// the console cannot open is never sent to the browser.
func TestMCPAuthorize(t *testing.T) {
	f := newFixture(t, true)
	m := &oauthMCP{authURL: "https://login.crm.example.com/oauth/authorize?client_id=gh&state=s1&code_challenge=c"}
	f.c.Admin.MCP = m
	body := f.do(t, "GET", "alice@example.com", root+"mcp", nil).Body.String()
	for _, want := range []string{"CRM &lt;tools&gt; needs authorization", "authorization required", "Authorize CRM &lt;tools&gt;", `action="` + root + `mcp/authorize`} {
		if !strings.Contains(body, want) {
			t.Errorf("MCP page lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "Authorize Wiki") {
		t.Error("an unauthenticated server is offered an authorization")
	}
	if body := f.do(t, "GET", "rita@example.com", root+"mcp", nil).Body.String(); strings.Contains(body, "mcp/authorize") || !strings.Contains(body, "needs authorization") {
		t.Errorf("read-only MCP page:\n%s", body)
	}
	if body := f.do(t, "GET", "alice@example.com", root, nil).Body.String(); !strings.Contains(body, "CRM &lt;tools&gt; needs an administrator&#39;s authorization") {
		t.Errorf("the overview does not call attention to the server:\n%s", body)
	}
	csrf := "tok:" + formPurpose + ":alice@example.com"
	target := root + "mcp/authorize?back=" + url.QueryEscape(root+"mcp")
	if w := f.do(t, "POST", "rita@example.com", target, url.Values{"csrf": {"tok:" + formPurpose + ":rita@example.com"}, "server": {"crm"}}); w.Code != http.StatusForbidden {
		t.Errorf("read-only authorize: %d", w.Code)
	}
	if w := f.do(t, "POST", "alice@example.com", target, url.Values{"csrf": {"tok:" + formPurpose + ":rita@example.com"}, "server": {"crm"}}); w.Code != http.StatusForbidden {
		t.Errorf("authorize with another user's CSRF token: %d", w.Code)
	}
	if len(m.authorized) != 0 {
		t.Fatalf("authorized without the role or the CSRF token: %v", m.authorized)
	}
	f.fresh = nil
	w := f.do(t, "POST", "alice@example.com", target, url.Values{"csrf": {csrf}, "server": {"crm"}})
	if w.Code != http.StatusOK || strings.Join(m.authorized, ",") != "crm" {
		t.Fatalf("authorize: %d %v\n%s", w.Code, m.authorized, w.Body.String())
	}
	if len(f.fresh) != 1 || !f.fresh[0].AuthAfter.Equal(f.now.Add(-DefaultFreshLogin)) {
		t.Errorf("authorize asked for freshness %v, want a fresh login", f.fresh)
	}
	escaped := strings.ReplaceAll(m.authURL, "&", "&amp;")
	body = w.Body.String()
	if !strings.Contains(body, `<meta http-equiv="refresh" content="0; url=`+escaped+`">`) || !strings.Contains(body, `href="`+escaped+`"`) ||
		!strings.Contains(body, "login.crm.example.com") || w.Header().Get("Cache-Control") != "no-store" || w.Header().Get("Content-Security-Policy") != CSP {
		t.Errorf("authorize page: %v\n%s", w.Header(), body)
	}
	if strings.Contains(body, "<script") {
		t.Error("the authorize page has a script")
	}
	w = f.do(t, "POST", "alice@example.com", target, url.Values{"csrf": {csrf}, "server": {"wiki"}})
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "Mcp server &#34;wiki&#34; does not use oauth.") {
		t.Errorf("authorize a server without oauth: %d\n%s", w.Code, w.Body.String())
	}
	for _, bad := range []string{"javascript:alert(1)", "/relative", "https://user:pw@login.example.com/x", "data:text/html,x"} {
		m.authURL = bad
		w = f.do(t, "POST", "alice@example.com", target, url.Values{"csrf": {csrf}, "server": {"crm"}})
		if w.Code != http.StatusBadGateway || strings.Contains(w.Body.String(), bad) {
			t.Errorf("authorization URL %q: %d\n%s", bad, w.Code, w.Body.String())
		}
	}
	events, _ := f.st.(store.AuditLog).ListAuditEvents(t.Context(), store.AuditQuery{Action: admin.ActionAuthorizeMCPServer})
	var results []string
	for _, e := range events {
		results = append(results, e.TargetID+"/"+e.Result+"/"+e.Actor)
	}
	if got := strings.Join(results, " "); !strings.Contains(got, "crm/success/alice@example.com") || !strings.Contains(got, "wiki/failure/alice@example.com") {
		t.Errorf("audit: %s", got)
	}
}

// withChecker gives the fixture's admin service the configuration file's checks (as the
// composition root does), so that configuration objects can be changed.
func withChecker(t *testing.T, f *fixture) {
	t.Helper()
	file, err := config.Parse([]byte("version: 1\norganization: {name: Example, auth_domain: auth.example.com}\nsecrets: {master_key_file: /nonexistent/master.key}\n"), "gatehouse.yaml")
	if err != nil {
		t.Fatal(err)
	}
	f.c.Admin.CheckConfig = func(c *store.Config) []admin.Problem {
		var out []admin.Problem
		for _, p := range file.CheckObjects(c) {
			out = append(out, admin.Problem{Path: p.Path, Message: p.Msg})
		}
		return out
	}
}

// secretOf returns the client secret a token page shows, or "".
func secretOf(body string) string {
	_, rest, ok := strings.Cut(body, `<code id="client-secret" class="secret">`)
	if !ok {
		return ""
	}
	s, _, _ := strings.Cut(rest, "<")
	return s
}

// TestServiceTokens: an administrator (only: CSRF token, fresh login) creates a service token
// from the identities page and sees its client secret once, on the answer to the post (no-store,
// never in the Location or a later page), stored only as its SHA-256 and audited; a bad
// lifetime and validation problems are shown beside their fields and create nothing; the
// secret rotates (the old one stops matching), a stale ETag is refused and shown, and a token
// of the file offers no rotation.
func TestServiceTokens(t *testing.T) {
	f := newFixture(t, true)
	withChecker(t, f)
	if _, err := f.st.UpdateConfig(t.Context(), func(c *store.Config) error {
		c.ServiceTokens = []store.ServiceToken{{ID: "file-ci", Name: "File CI", ClientID: "file-ci.example", ClientSecretSHA256: strings.Repeat("0", 64)}}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	csrf := "tok:" + formPurpose + ":alice@example.com"
	target := root + "tokens/create?back=" + url.QueryEscape(root+"identities")
	body := f.do(t, "GET", "alice@example.com", root+"identities", nil).Body.String()
	if !strings.Contains(body, `action="`+root+`tokens/create`) || strings.Contains(body, "Rotate the secret of File CI") {
		t.Errorf("identities page for an administrator:\n%s", body)
	}
	if body := f.do(t, "GET", "rita@example.com", root+"identities", nil).Body.String(); strings.Contains(body, "tokens/create") {
		t.Error("a read-only user is offered the new token form")
	}
	for _, tc := range []struct {
		user, csrf string
	}{{"rita@example.com", "tok:" + formPurpose + ":rita@example.com"}, {"alice@example.com", "tok:" + formPurpose + ":rita@example.com"}, {"alice@example.com", ""}} {
		if w := f.do(t, "POST", tc.user, target, url.Values{"csrf": {tc.csrf}, "name": {"CI"}}); w.Code != http.StatusForbidden {
			t.Errorf("create as %s with token %q: %d", tc.user, tc.csrf, w.Code)
		}
	}
	// Problems beside their fields; nothing created.
	w := f.do(t, "POST", "alice@example.com", target, url.Values{"csrf": {csrf}, "name": {"CI <bot>"}, "duration": {"forever"}})
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), `id="tok-duration-problems"`) || !strings.Contains(w.Body.String(), `value="CI &lt;bot&gt;"`) {
		t.Errorf("bad duration: %d\n%s", w.Code, w.Body.String())
	}
	w = f.do(t, "POST", "alice@example.com", target, url.Values{"csrf": {csrf}, "name": {"CI"}, "id": {"file-ci"}})
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "is managed by the configuration file") {
		t.Errorf("an id the file has: %d\n%s", w.Code, w.Body.String())
	}
	w = f.do(t, "POST", "alice@example.com", target, url.Values{"csrf": {csrf}, "name": {"CI"}, "id": {"bad id!"}})
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), `<ul class="field-problems" id="tok-id-problems"><li>id: `) ||
		!strings.Contains(w.Body.String(), `aria-invalid="true" aria-describedby="tok-id-problems"`) {
		t.Errorf("a bad id is not shown beside its field: %d\n%s", w.Code, w.Body.String())
	}
	if cfg, _ := f.st.GetConfig(t.Context()); len(cfg.ServiceTokens) != 1 {
		t.Fatalf("a refused token was stored: %+v", cfg.ServiceTokens)
	}
	f.fresh = nil
	w = f.do(t, "POST", "alice@example.com", target, url.Values{"csrf": {csrf}, "name": {"CI"}, "id": {"ci"}, "duration": {"720h"}})
	secret := secretOf(w.Body.String())
	if w.Code != http.StatusOK || len(secret) != 64 || w.Header().Get("Cache-Control") != "no-store" || w.Header().Get("Location") != "" {
		t.Fatalf("create: %d %v\n%s", w.Code, w.Header(), w.Body.String())
	}
	if len(f.fresh) != 1 || f.fresh[0].AuthAfter.IsZero() {
		t.Errorf("creating a token asked for freshness %v", f.fresh)
	}
	if !strings.Contains(w.Body.String(), "2030-02-01 03:04:05 UTC") {
		t.Errorf("the token page does not show the expiry of a 720h token:\n%s", w.Body.String())
	}
	tok, etag, err := f.c.Admin.ServiceTokens().Get(t.Context(), "ci")
	sum := sha256.Sum256([]byte(secret))
	if err != nil || tok.ClientSecretSHA256 != hex.EncodeToString(sum[:]) || tok.ManagedBy != store.ManagedByAPI || !strings.Contains(w.Body.String(), tok.ClientID) {
		t.Fatalf("stored token %+v %v", tok, err)
	}
	body = f.do(t, "GET", "alice@example.com", root+"identities", nil).Body.String()
	if strings.Contains(body, secret) || !strings.Contains(body, "Rotate the secret of CI") {
		t.Errorf("identities after the creation:\n%s", body)
	}
	// Rotation: a stale ETag is refused and shown; the current one rotates.
	rotate := root + "tokens/rotate?back=" + url.QueryEscape(root+"identities")
	w = f.do(t, "POST", "alice@example.com", rotate, url.Values{"csrf": {csrf}, "token": {"ci"}, "etag": {`"stale"`}})
	if w.Code != http.StatusConflict || !strings.Contains(w.Body.String(), "Someone changed this object") || secretOf(w.Body.String()) != "" {
		t.Errorf("rotate with a stale ETag: %d\n%s", w.Code, w.Body.String())
	}
	w = f.do(t, "POST", "alice@example.com", rotate, url.Values{"csrf": {csrf}, "token": {"file-ci"}})
	if w.Code != http.StatusConflict || secretOf(w.Body.String()) != "" {
		t.Errorf("rotate a token of the file: %d\n%s", w.Code, w.Body.String())
	}
	w = f.do(t, "POST", "alice@example.com", rotate, url.Values{"csrf": {csrf}, "token": {"ci"}, "etag": {etag}})
	rotated := secretOf(w.Body.String())
	if w.Code != http.StatusOK || len(rotated) != 64 || rotated == secret || !strings.Contains(w.Body.String(), "the old secret no longer works") {
		t.Fatalf("rotate: %d\n%s", w.Code, w.Body.String())
	}
	tok, _, _ = f.c.Admin.ServiceTokens().Get(t.Context(), "ci")
	sum = sha256.Sum256([]byte(rotated))
	if tok.ClientSecretSHA256 != hex.EncodeToString(sum[:]) {
		t.Error("the rotated secret is not the stored one")
	}
	events, _ := f.st.(store.AuditLog).ListAuditEvents(t.Context(), store.AuditQuery{Actor: "alice@example.com"})
	var got []string
	for _, e := range events {
		if strings.Contains(string(e.Details), secret) || strings.Contains(string(e.Details), rotated) {
			t.Errorf("the audit log holds a secret: %s", e.Details)
		}
		if e.TargetID == "ci" {
			got = append(got, e.Action+"/"+e.Result)
		}
	}
	if s := strings.Join(got, " "); !strings.Contains(s, "service_token.create/success") || !strings.Contains(s, "service_token.rotate/success") || !strings.Contains(s, "service_token.rotate/failure") {
		t.Errorf("audit: %s", s)
	}
}

// TestFormEditor: applications and policies are created and changed through their forms, as
// the same objects the admin API makes (with its validation, ETags and audit): validation
// problems are shown beside the fields they concern, with their paths, and change nothing; a
// stale ETag is refused and shown with the values posted kept; rules and fields the form does
// not show are kept; objects of the file are shown read-only with the file named; the role,
// the CSRF token and a fresh login are needed.
func TestFormEditor(t *testing.T) {
	f := newFixture(t, true)
	withChecker(t, f)
	f.c.Admin.ConfigFile = "gatehouse.yaml"
	ctx := t.Context()
	if _, err := f.st.UpdateConfig(ctx, func(c *store.Config) error {
		c.IdentityProviders = []store.IdentityProvider{{ID: "pin", Name: "E-mail PIN", Type: store.IdPOneTimePIN}}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	csrf := "tok:" + formPurpose + ":alice@example.com"
	save := root + "objects/edit/save?back=" + url.QueryEscape(root+"objects/edit")
	post := func(form url.Values) (int, string, string) {
		t.Helper()
		if form.Get("csrf") == "" {
			form.Set("csrf", csrf)
		}
		w := f.do(t, "POST", "alice@example.com", save, form)
		return w.Code, w.Header().Get("Location"), w.Body.String()
	}

	// Read-only: the file's policy, and any form for a read-only user; auditors see none.
	body := f.do(t, "GET", "alice@example.com", root+"objects/edit?kind=policies&id=admins", nil).Body.String()
	if !strings.Contains(body, "managed by the configuration file <code>gatehouse.yaml</code>") || !strings.Contains(body, `<fieldset class="plain" disabled>`) ||
		strings.Contains(body, "objects/edit/save") || !strings.Contains(body, "alice@example.com</textarea>") {
		t.Errorf("a policy of the file:\n%s", body)
	}
	if body := f.do(t, "GET", "rita@example.com", root+"objects/edit?kind=applications", nil).Body.String(); strings.Contains(body, "objects/edit/save") {
		t.Error("a read-only user is offered the form")
	}
	if w := f.do(t, "GET", "carl@example.com", root+"objects/edit?kind=policies&id=admins", nil); w.Code != http.StatusForbidden {
		t.Errorf("auditor: %d", w.Code)
	}
	policy := url.Values{"kind": {"policies"}, "new": {"1"}, "id": {"staff"}, "name": {"Staff"}, "decision": {"allow"},
		"include.emails": {"bob@example.com\n  dora@example.com "}, "include.idps": {"pin"}, "exclude.countries": {"kp, ir"}}
	for _, who := range []string{"rita@example.com", ""} {
		form := url.Values{}
		for k, v := range policy {
			form[k] = v
		}
		form.Set("csrf", "tok:"+formPurpose+":"+who)
		user := who
		if user == "" {
			user = "alice@example.com"
			form.Set("csrf", "tok:"+formPurpose+":mallory@example.com")
		}
		if w := f.do(t, "POST", user, save, form); w.Code != http.StatusForbidden {
			t.Errorf("create as %s: %d", user, w.Code)
		}
	}

	// Validation problems beside their fields; nothing stored.
	bad := url.Values{}
	for k, v := range policy {
		bad[k] = v
	}
	bad.Set("decision", "maybe")
	bad.Set("include.ips", "not-an-address")
	code, _, body := post(bad)
	if code != http.StatusBadRequest || !strings.Contains(body, `id="f-decision-problems"><li>decision: `) ||
		!strings.Contains(body, `<ul class="field-problems" id="f-include-ips-problems"><li>include[3].ip`) || !strings.Contains(body, "dora@example.com </textarea>") {
		t.Errorf("invalid policy: %d\n%s", code, body)
	}
	if _, _, err := f.c.Admin.Policies().Get(ctx, "staff"); err == nil {
		t.Fatal("an invalid policy was stored")
	}
	f.fresh = nil
	code, loc, body := post(policy)
	if code != http.StatusSeeOther || loc != root+"objects/edit?done=object-created&id=staff&kind=policies" {
		t.Fatalf("create policy: %d %s\n%s", code, loc, body)
	}
	if len(f.fresh) != 1 || f.fresh[0].AuthAfter.IsZero() {
		t.Errorf("saving a form asked for freshness %v", f.fresh)
	}
	p, _, err := f.c.Admin.Policies().Get(ctx, "staff")
	if err != nil || p.ManagedBy != store.ManagedByAPI || p.Decision != "allow" || len(p.Include) != 3 || p.Include[1].Email.Email != "dora@example.com" ||
		p.Include[2].LoginMethod.ID != "pin" || len(p.Exclude) != 2 || p.Exclude[1].Geo.CountryCode != "IR" || len(p.Require) != 0 {
		t.Fatalf("stored policy %+v %v", p, err)
	}

	// An application linking it.
	app := url.Values{"kind": {"applications"}, "new": {"1"}, "id": {"wiki"}, "name": {"Wiki"}, "destinations": {"wiki.example.com\nexample.com/wiki"},
		"upstream": {"ftp://10.0.0.5"}, "session_duration": {"8h"}, "precedence.staff": {"1"}, "precedence.admins": {"x"}}
	code, _, body = post(app)
	if code != http.StatusBadRequest || !strings.Contains(body, `id="f-policies-problems"><li>policies: the precedence of admins`) {
		t.Errorf("a bad precedence: %d\n%s", code, body)
	}
	app.Set("precedence.admins", "")
	code, _, body = post(app)
	if code != http.StatusBadRequest || !strings.Contains(body, `<ul class="field-problems" id="f-upstream-problems"><li>upstream: `) || !strings.Contains(body, `value="ftp://10.0.0.5"`) {
		t.Errorf("a bad upstream: %d\n%s", code, body)
	}
	app.Set("upstream", "http://10.0.0.5:8080")
	if code, _, body = post(app); code != http.StatusSeeOther {
		t.Fatalf("create application: %d\n%s", code, body)
	}
	a, etag, err := f.c.Admin.Applications().Get(ctx, "wiki")
	if err != nil || a.Type != store.AppSelfHosted || len(a.Destinations) != 2 || a.Destinations[1].URI != "example.com/wiki" ||
		a.SessionDuration != store.Duration(8*time.Hour) || len(a.Policies) != 1 || a.Policies[0].Ref != "staff" || a.Policies[0].Precedence != 1 {
		t.Fatalf("stored application %+v %v", a, err)
	}

	// Fields the form does not show are kept; a stale ETag is refused with the values kept.
	a.CustomDenyMessage = "Ask IT"
	if _, etag, err = f.c.Admin.Applications().Replace(ctx, admin.CLIActor, "wiki", *a, etag); err != nil {
		t.Fatal(err)
	}
	edit := url.Values{"kind": {"applications"}, "id": {"wiki"}, "etag": {`"stale"`}, "name": {"Team wiki"}, "destinations": {"wiki.example.com"},
		"upstream": {"http://10.0.0.5:8080"}, "allowed_idps": {"pin"}, "precedence.staff": {"2"}, "precedence.admins": {"1"}}
	code, _, body = post(edit)
	if code != http.StatusBadRequest || !strings.Contains(body, "Someone changed this object") || !strings.Contains(body, `value="Team wiki"`) {
		t.Errorf("a stale ETag: %d\n%s", code, body)
	}
	edit.Set("etag", etag)
	if code, loc, body = post(edit); code != http.StatusSeeOther || loc != root+"objects/edit?done=object-saved&id=wiki&kind=applications" {
		t.Fatalf("edit application: %d %s\n%s", code, loc, body)
	}
	a, _, _ = f.c.Admin.Applications().Get(ctx, "wiki")
	if a.Name != "Team wiki" || a.CustomDenyMessage != "Ask IT" || len(a.AllowedIdPs) != 1 || len(a.Policies) != 2 || a.Policies[0].Ref != "admins" || a.SessionDuration != 0 {
		t.Errorf("edited application %+v", a)
	}
	body = f.do(t, "GET", "alice@example.com", root+"objects/edit?kind=applications&id=wiki", nil).Body.String()
	if !strings.Contains(body, `name="precedence.staff" value="2"`) || !strings.Contains(body, `value="pin" checked`) || !strings.Contains(body, "objects/edit/save") {
		t.Errorf("application form:\n%s", body)
	}

	// A policy's other rules are kept by the form.
	p.Require = []store.Rule{{SAML: &store.SAMLRule{AttributeName: "department", AttributeValue: "it"}}}
	_, petag, err := f.c.Admin.Policies().Replace(ctx, admin.CLIActor, "staff", *p, "")
	if err != nil {
		t.Fatal(err)
	}
	body = f.do(t, "GET", "alice@example.com", root+"objects/edit?kind=policies&id=staff", nil).Body.String()
	if !strings.Contains(body, "1 other rule(s)") {
		t.Errorf("the policy form does not mention the SAML rule:\n%s", body)
	}
	edit = url.Values{"kind": {"policies"}, "id": {"staff"}, "etag": {petag}, "name": {"Staff"}, "decision": {"allow"}, "include.domains": {"example.com"},
		"require.everyone": {"1"}}
	if code, _, body = post(edit); code != http.StatusSeeOther {
		t.Fatalf("edit policy: %d\n%s", code, body)
	}
	p, _, _ = f.c.Admin.Policies().Get(ctx, "staff")
	if len(p.Include) != 1 || p.Include[0].EmailDomain == nil || len(p.Exclude) != 0 || len(p.Require) != 2 || p.Require[0].Everyone == nil || p.Require[1].SAML == nil {
		t.Errorf("edited policy %+v", p)
	}
	events, _ := f.st.(store.AuditLog).ListAuditEvents(ctx, store.AuditQuery{Actor: "alice@example.com", Result: store.AuditSuccess})
	var got []string
	for _, e := range events {
		got = append(got, e.Action+":"+e.TargetID)
	}
	if s := strings.Join(got, " "); !strings.Contains(s, "policy.create:staff") || !strings.Contains(s, "application.create:wiki") || !strings.Contains(s, "application.update:wiki") || !strings.Contains(s, "policy.update:staff") {
		t.Errorf("audit: %s", s)
	}
}

// TestDurationText: a duration shown in a form reads as typed and parses back to itself.
func TestDurationText(t *testing.T) {
	for d, want := range map[time.Duration]string{0: "", 8 * time.Hour: "8h", 90 * time.Minute: "1h30m", 30 * time.Second: "30s",
		time.Minute: "1m", time.Hour + time.Second: "1h0m1s", 500 * time.Millisecond: "500ms"} {
		got := durationText(store.Duration(d))
		if got != want {
			t.Errorf("durationText(%v) = %q, want %q", d, got, want)
		}
		if back, ok := formDuration(got); !ok || time.Duration(back) != d {
			t.Errorf("formDuration(%q) = %v, %v", got, back, ok)
		}
	}
}

// FuzzReadPolicyForm: whatever is posted, reading the policy form never panics, keeps the
// rules it does not edit, and makes only rules with a value (no empty e-mail, domain, range
// or country), each mapped back to the field it came from.
func FuzzReadPolicyForm(f *testing.F) {
	f.Add("a@example.com\n b@example.com,", "example.com", "192.0.2.0/24\r\n", "de, FR", "1", "allow")
	f.Add("", "", "", "", "", "")
	f.Add(",,,\n\n", " , ", "\t", ",\t\n", "0", "deny")
	o := formOptions{idps: [][2]string{{"pin", "PIN"}}, groups: [][2]string{{"eng", "Engineering"}}}
	f.Fuzz(func(t *testing.T, emails, domains, ips, countries, everyone, decision string) {
		pf := url.Values{"decision": {decision}, "include.emails": {emails}, "include.domains": {domains}, "exclude.ips": {ips},
			"require.countries": {countries}, "include.everyone": {everyone}, "include.idps": {"pin", emails}, "exclude.groups": {"eng"}}
		saml := store.Rule{SAML: &store.SAMLRule{AttributeName: "a", AttributeValue: "b"}}
		p := store.Policy{ID: "p", Include: []store.Rule{saml}, Require: []store.Rule{saml, {Email: &store.EmailRule{Email: "old@example.com"}}}}
		_, fieldOf, _ := readPolicyForm(pf, &p, o)
		if p.Include == nil || p.Include[len(p.Include)-1].SAML == nil || p.Require[len(p.Require)-1].SAML == nil {
			t.Fatalf("a rule the form does not edit was lost: %+v", p)
		}
		for _, sec := range ruleSections {
			for i, r := range *policySection(&p, sec.key) {
				kind := common(&r)
				if kind == "" {
					continue
				}
				if got := fieldOf(fmt.Sprintf("%s[%d].x", sec.key, i)); got != sec.key+"."+kind {
					t.Fatalf("%s[%d] (%s) maps to %q", sec.key, i, kind, got)
				}
				switch {
				case r.Email != nil && strings.TrimSpace(r.Email.Email) == "", r.EmailDomain != nil && strings.TrimSpace(r.EmailDomain.Domain) == "",
					r.IP != nil && strings.TrimSpace(r.IP.IP) == "", r.Geo != nil && strings.TrimSpace(r.Geo.CountryCode) == "":
					t.Fatalf("an empty rule: %+v", r)
				case r.Email != nil && r.Email.Email == "old@example.com":
					t.Fatal("a rule the form replaced was kept")
				}
			}
		}
	})
}
