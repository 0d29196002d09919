package app_test

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// zitadelOP runs zitadel/oidc's example OpenID provider in-process on 127.0.0.1 and registers
// Gatehouse's callback as a web client. Its user is test-user@127.0.0.1 / verysecure, with the
// e-mail test-user@zitadel.ch.
func zitadelOP(t *testing.T, clientID, secret string, env *testenv.Env) (issuer string) {
	t.Helper()
	storage.RegisterClients(storage.WebClient(clientID, secret, env.URL("auth.localhost", "/.gatehouse/callback")))
	srv := httptest.NewUnstartedServer(nil)
	issuer = "http://" + srv.Listener.Addr().String()
	st := storage.NewStorage(storage.NewUserStore(issuer))
	srv.Config.Handler = exampleop.SetupServer(issuer, st, slog.New(slog.DiscardHandler), false)
	srv.Start()
	t.Cleanup(srv.Close)
	return issuer
}

// oidcConfig is a configuration with one OIDC IdP whose issuer is filled in after start, through
// the store (the provider's port is only known once Gatehouse runs).
const oidcConfig = `
organization: {name: T, auth_domain: auth.localhost}
identity_providers:
  - id: pin
    name: E-mail PIN
    type: onetimepin
  - id: zitadel
    name: Zitadel
    type: oidc
    config: {client_id: %s, client_secret: %s, issuer: "ISSUER", claims: [preferred_username]}
applications:
  - {id: app, name: App, destinations: [app.localhost], upstream: UPSTREAM, allowed_idps: [zitadel], policies: [{ref: oidc-user, precedence: 1}]}
  - {id: mixed, name: Mixed, destinations: [mixed.localhost], upstream: UPSTREAM, policies: [{ref: zitadel-login, precedence: 1}, {ref: pin-login, precedence: 2}]}
policies:
  - {id: oidc-user, decision: allow, include: [{oidc: {claim_name: preferred_username, claim_value: test-user@127.0.0.1}}]}
  - {id: zitadel-login, decision: allow, include: [{login_method: {id: zitadel}}]}
  - {id: pin-login, decision: allow, include: [{login_method: {id: pin}}], require: [{email_domain: {domain: zitadel.ch}}]}
`

// startWithZitadel starts Gatehouse and the provider, then points the IdP at the provider.
func startWithZitadel(t *testing.T) *testenv.Env {
	t.Helper()
	clientID := fmt.Sprintf("gatehouse-%d", time.Now().UnixNano())
	e := testenv.Start(t, fmt.Sprintf(strings.Replace(oidcConfig, `"ISSUER"`, "http://127.0.0.1:1", 1), clientID, "web-secret"))
	issuer := zitadelOP(t, clientID, "web-secret", e)
	setIssuer(t, e, "zitadel", issuer)
	return e
}

func TestPeerZitadelOIDCLogin(t *testing.T) {
	e := startWithZitadel(t)
	b := e.NewBrowser()
	resp, page := b.Get(t, e.URL("app.localhost", "/oidc?x=1"))
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `name="password"`) {
		t.Fatalf("expected the provider's login page, got %d\n%s", resp.StatusCode, page)
	}
	action, form := testenv.ParseForm(t, page)
	form.Set("username", "test-user@127.0.0.1")
	form.Set("password", "verysecure")
	resp, body := b.PostForm(t, resp.Request.URL.ResolveReference(mustParse(t, action)).String(), form)
	if resp.StatusCode != http.StatusOK || resp.Request.URL.String() != e.URL("app.localhost", "/oidc?x=1") {
		t.Fatalf("after the provider: %d at %s\n%s", resp.StatusCode, resp.Request.URL, body)
	}
	v := decodeUpstream(t, body)
	if got := v.header("Gatehouse-Authenticated-User-Email"); len(got) != 1 || got[0] != "test-user@zitadel.ch" {
		t.Errorf("email header %v", got)
	}
	claims, err := e.G.Tokens.Verify(v.header("Gatehouse-Jwt-Assertion")[0])
	if err != nil {
		t.Fatal(err)
	}
	if claims.Custom["preferred_username"] != "test-user@127.0.0.1" || claims.IdP == nil || claims.IdP.ID != "zitadel" {
		t.Errorf("claims %+v", claims)
	}
	// The login_method selector sees the OIDC login; SSO needs no second login.
	if resp, _ := b.Get(t, e.URL("mixed.localhost", "/")); resp.StatusCode != http.StatusOK {
		t.Errorf("login_method app: %d", resp.StatusCode)
	}
	// The same person logging in with a PIN later is the same user (one sub).
	pin := e.NewBrowser()
	resp, body = pin.Login(t, e.URL("mixed.localhost", "/"), "Test-User@zitadel.ch")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PIN login: %d %s", resp.StatusCode, body)
	}
	pinClaims, err := e.G.Tokens.Verify(decodeUpstream(t, body).header("Gatehouse-Jwt-Assertion")[0])
	if err != nil || pinClaims.Subject != claims.Subject || pinClaims.IdP.ID != "pin" {
		t.Errorf("PIN login claims %+v (%v), want sub %s", pinClaims, err, claims.Subject)
	}
	users, err := e.G.Store.ListUsers(t.Context())
	if err != nil || len(users) != 1 || users[0].ID != claims.Subject {
		t.Errorf("users after logins through two IdPs: %+v (sub %s)", users, claims.Subject)
	}
	if users[0].LastSeen.IdPID != "pin" {
		t.Errorf("last seen IdP %q, want the latest login's", users[0].LastSeen.IdPID)
	}
}

// TestBrowserOIDCLogin logs in with a real headless Chromium through the zitadel example
// provider's login form.
func TestBrowserOIDCLogin(t *testing.T) {
	e := startWithZitadel(t)
	ctx := testenv.NewChromium(t, 90*time.Second)
	target := e.URL("app.localhost", "/hello?from=oidc")
	err := chromedp.Do(ctx,
		chromedp.Navigate(target),
		chromedp.WaitVisible(`#username`),
		chromedp.SendKeys(`#username`, "test-user@127.0.0.1"),
		chromedp.SendKeys(`#password`, "verysecure"),
		chromedp.Submit(`#password`),
	)
	if err != nil {
		t.Fatalf("provider login: %v", err)
	}
	var loc, body string
	for ctx.Err() == nil {
		loc, _ = chromedp.Run(ctx, chromedp.Location())
		if loc == target {
			body, _ = chromedp.Run(ctx, chromedp.Text(`body`))
			if strings.Contains(body, "test-user@zitadel.ch") {
				break
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(body, `"Gatehouse-Authenticated-User-Email":["test-user@zitadel.ch"]`) {
		t.Fatalf("browser at %s; page: %s", loc, body)
	}
}

// TestPeerIdPTestPageAndFailures covers the administrator's IdP test page, two providers of
// one type on one login page, and a failed provider answer: the user sees a reference ID and the
// auth log has the precise reason under the same reference.
func TestPeerIdPTestPageAndFailures(t *testing.T) {
	clientA := fmt.Sprintf("gatehouse-a-%d", time.Now().UnixNano())
	clientB := clientA + "-b"
	e := testenv.Start(t, fmt.Sprintf(`
organization: {name: T, auth_domain: auth.localhost}
identity_providers:
  - {id: zitadel, name: Zitadel A, type: oidc, config: {client_id: %s, client_secret: web-secret, issuer: "http://127.0.0.1:1"}}
  - {id: zitadel2, name: Zitadel B, type: oidc, config: {client_id: %s, client_secret: wrong-secret, issuer: "http://127.0.0.1:1"}}
applications:
  - {id: app, name: App, destinations: [app.localhost], upstream: UPSTREAM, policies: [{ref: anyone, precedence: 1}]}
policies:
  - {id: anyone, decision: allow, include: [{everyone: {}}]}
`, clientA, clientB))
	issuer := zitadelOP(t, clientA, "web-secret", e)
	storage.RegisterClients(storage.WebClient(clientB, "web-secret", e.URL("auth.localhost", "/.gatehouse/callback")))
	setIssuer(t, e, "zitadel", issuer)
	setIssuer(t, e, "zitadel2", issuer)

	login := func(b *testenv.Browser, start string) (*http.Response, string) {
		t.Helper()
		resp, page := b.Get(t, start)
		action, form := testenv.ParseForm(t, page)
		form.Set("username", "test-user@127.0.0.1")
		form.Set("password", "verysecure")
		return b.PostForm(t, resp.Request.URL.ResolveReference(mustParse(t, action)).String(), form)
	}

	// The test page shows what the provider returned and creates no session.
	b := e.NewBrowser()
	resp, page := login(b, e.URL("auth.localhost", "/.gatehouse/test-idp/zitadel"))
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "test-user@zitadel.ch") || !strings.Contains(page, "No session was created") {
		t.Fatalf("IdP test page: %d\n%s", resp.StatusCode, page)
	}
	if _, body := b.Get(t, e.URL("auth.localhost", "/")); !strings.Contains(body, "not signed in") {
		t.Errorf("the IdP test created a session")
	}

	// Two OIDC providers on one login page.
	b = e.NewBrowser()
	_, page = b.Get(t, e.URL("app.localhost", "/"))
	if !strings.Contains(page, "Zitadel A") || !strings.Contains(page, "Zitadel B") {
		t.Fatalf("login page does not list both providers:\n%s", page)
	}

	// Provider B's client secret is wrong: the token exchange fails.
	b = e.NewBrowser()
	resp, page = login(b, e.URL("auth.localhost", "/.gatehouse/test-idp/zitadel2"))
	if resp.StatusCode != http.StatusForbidden || strings.Contains(page, "invalid_client") {
		t.Fatalf("failed login page: %d\n%s", resp.StatusCode, page)
	}
	m := regexp.MustCompile(`Reference: ([0-9a-f]{16})`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no reference ID on the failure page:\n%s", page)
	}
	events, _ := e.G.Store.ListAuthEvents(t.Context(), storeQueryEmail(""))
	var found bool
	for _, ev := range events {
		if ev.RequestID == m[1] {
			found = true
			if ev.Allowed || ev.IdPID != "zitadel2" || strings.Join(ev.Reasons, ",") != "oidc-token-exchange-failed" {
				t.Errorf("auth event %+v", ev)
			}
		}
	}
	if !found {
		t.Errorf("no auth event with reference %s", m[1])
	}
}
