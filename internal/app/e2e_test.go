package app_test

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"crypto/hmac"
	"crypto/sha256"

	"github.com/gatehouse/gatehouse/internal/authn"
	"github.com/gatehouse/gatehouse/internal/testenv"
	"github.com/gatehouse/gatehouse/internal/token"
)

type upstreamView struct {
	Path    string              `json:"path"`
	RawPath string              `json:"raw_path"`
	Query   string              `json:"query"`
	Headers map[string][]string `json:"headers"`
}

func decodeUpstream(t *testing.T, body string) upstreamView {
	t.Helper()
	var v upstreamView
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("upstream answer is not JSON: %v\n%s", err, body)
	}
	return v
}

func (v upstreamView) header(name string) []string {
	return v.Headers[http.CanonicalHeaderKey(name)]
}

// loggedIn returns a browser that completed the PIN login to app.localhost as alice@example.com.
func loggedIn(t *testing.T, e *testenv.Env) *testenv.Browser {
	t.Helper()
	b := e.NewBrowser()
	resp, body := b.Login(t, e.URL("app.localhost", "/start?x=1"), "alice@example.com")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("login ended with %d:\n%s", resp.StatusCode, body)
	}
	return b
}

func appCookie(t *testing.T, e *testenv.Env, b *testenv.Browser, host string) string {
	t.Helper()
	u, _ := url.Parse(e.URL(host, "/"))
	for _, c := range b.Jar.Cookies(u) {
		if c.Name == "Gatehouse_Authorization" {
			return c.Value
		}
	}
	t.Fatalf("no app cookie for %s", host)
	return ""
}

func TestPINLoginFlow(t *testing.T) {
	e := testenv.Start(t, "")
	b := e.NewBrowser()
	resp, body := b.Login(t, e.URL("app.localhost", "/start?x=1"), "Alice@Example.com")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d:\n%s", resp.StatusCode, body)
	}
	if got := resp.Request.URL.String(); got != e.URL("app.localhost", "/start?x=1") {
		t.Errorf("after login the browser is at %s, want the original URL", got)
	}
	v := decodeUpstream(t, body)
	if v.Path != "/start" || v.Query != "x=1" {
		t.Errorf("upstream saw %q?%q", v.Path, v.Query)
	}
	if got := v.header("Gatehouse-Authenticated-User-Email"); len(got) != 1 || got[0] != "alice@example.com" {
		t.Errorf("email header = %v", got)
	}
	jwts := v.header("Gatehouse-Jwt-Assertion")
	if len(jwts) != 1 {
		t.Fatalf("jwt header = %v", jwts)
	}
	snap := e.G.Snapshots.Load()
	claims, err := token.NewVerifier(e.G.Keys, snap.Issuer, time.Now).Verify(jwts[0])
	if err != nil {
		t.Fatalf("origin JWT does not verify: %v", err)
	}
	if claims.Type != "app" || !claims.HasAudience(snap.Apps["app"].AUD) || claims.Email != "alice@example.com" || claims.Subject == "" || claims.IdentityNonce == "" {
		t.Errorf("claims = %+v", claims)
	}
	if claims.Issuer != "http://auth.localhost:"+e.Port {
		t.Errorf("iss = %q", claims.Issuer)
	}

	// The same browser reaches the second app through the org session without a new PIN.
	resp, body = b.Get(t, e.URL("other.localhost", "/x"))
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Host != "other.localhost:"+e.Port {
		t.Fatalf("SSO to other app: %d at %s\n%s", resp.StatusCode, resp.Request.URL, body)
	}
	if n := e.PINs.Count("alice@example.com"); n != 1 {
		t.Errorf("%d PINs sent, want 1", n)
	}

	// get-identity on the app host and on the auth domain.
	for _, u := range []string{e.URL("app.localhost", "/.gatehouse/get-identity"), e.URL("auth.localhost", "/.gatehouse/get-identity")} {
		resp, body = b.Get(t, u)
		var id map[string]any
		if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &id) != nil || id["email"] != "alice@example.com" || id["user_uuid"] != claims.Subject {
			t.Errorf("get-identity %s: %d %s", u, resp.StatusCode, body)
		}
	}

	// The auth log has the login with the IdP.
	events, err := e.G.Store.ListAuthEvents(context.Background(), storeQueryEmail("alice@example.com"))
	if err != nil {
		t.Fatal(err)
	}
	var sawLogin bool
	for _, ev := range events {
		if ev.Action == "login" && ev.Allowed && ev.IdPID == "pin" && ev.AppID == "app" {
			sawLogin = true
		}
	}
	if !sawLogin {
		t.Errorf("no successful login event in %+v", events)
	}

	// Global logout: the old app cookie stops working on every app.
	cookie := appCookie(t, e, b, "app.localhost")
	// A client that does not say the request is same-site is asked to confirm (logout CSRF).
	resp, page := b.Get(t, e.URL("app.localhost", "/.gatehouse/logout"))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	action, form := testenv.ParseForm(t, page)
	if resp, _ = b.PostForm(t, e.URL("app.localhost", action), form); resp.StatusCode != http.StatusOK {
		t.Fatalf("confirmed logout: %d", resp.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodGet, e.URL("app.localhost", "/after-logout"), nil)
	req.AddCookie(&http.Cookie{Name: "Gatehouse_Authorization", Value: cookie})
	resp, _ = e.NewBrowser().Do(t, req)
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("old cookie after logout: %d, want 401", resp.StatusCode)
	}
}

func TestPINDisallowedAddressLooksTheSame(t *testing.T) {
	e := testenv.Start(t, "")
	pages := map[string]string{}
	for _, addr := range []string{"bob@example.com", "mallory@evil.test"} {
		b := e.NewBrowser()
		resp, page := b.Get(t, e.URL("app.localhost", "/"))
		action, fields := testenv.Form(t, page)
		fields.Set("email", addr)
		resp, page = b.PostForm(t, resp.Request.URL.ResolveReference(&url.URL{Path: action}).String(), fields)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d", addr, resp.StatusCode)
		}
		pages[addr] = strings.NewReplacer(addr, "ADDR").Replace(testenvStripHidden(page))
	}
	if pages["bob@example.com"] != pages["mallory@evil.test"] {
		t.Errorf("the page after requesting a PIN differs for an allowed and a disallowed address")
	}
	e.PINs.Wait(t, "bob@example.com")
	if e.PINs.Count("mallory@evil.test") != 0 {
		t.Errorf("a PIN was sent to an address no policy allows")
	}
}

func testenvStripHidden(page string) string {
	var out []string
	for _, line := range strings.Split(page, "\n") {
		if !strings.Contains(line, `type="hidden"`) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

func TestPINWrongCodeAttemptsAndReuse(t *testing.T) {
	e := testenv.Start(t, "")
	b := e.NewBrowser()
	resp, page := b.Get(t, e.URL("app.localhost", "/"))
	base := resp.Request.URL
	action, fields := testenv.Form(t, page)
	fields.Set("email", "carol@example.com")
	_, page = b.PostForm(t, base.ResolveReference(&url.URL{Path: action}).String(), fields)
	action, fields = testenv.Form(t, page)
	pin := e.PINs.Wait(t, "carol@example.com")
	wrong := "000000"
	if pin == wrong {
		wrong = "111111"
	}
	verify := base.ResolveReference(&url.URL{Path: action}).String()
	for i := 0; i < 5; i++ {
		fields.Set("code", wrong)
		resp, page = b.PostForm(t, verify, fields)
		if i < 4 && (resp.StatusCode != http.StatusOK || !strings.Contains(page, "not right")) {
			t.Fatalf("attempt %d: %d\n%s", i, resp.StatusCode, page)
		}
	}
	// The attempt budget is spent: even the right PIN no longer works.
	fields.Set("code", pin)
	resp, _ = b.PostForm(t, verify, fields)
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("right PIN after 5 wrong attempts: %d, want 403", resp.StatusCode)
	}
}

func TestPINExpires(t *testing.T) {
	e := testenv.Start(t, "")
	b := e.NewBrowser()
	resp, page := b.Get(t, e.URL("app.localhost", "/"))
	base := resp.Request.URL
	action, fields := testenv.Form(t, page)
	fields.Set("email", "dave@example.com")
	_, page = b.PostForm(t, base.ResolveReference(&url.URL{Path: action}).String(), fields)
	action, fields = testenv.Form(t, page)
	fields.Set("code", e.PINs.Wait(t, "dave@example.com"))
	e.Clock.Advance(10*time.Minute + time.Second)
	resp, _ = b.PostForm(t, base.ResolveReference(&url.URL{Path: action}).String(), fields)
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("PIN after 10 minutes: %d, want 403", resp.StatusCode)
	}
}

func TestNonBrowserGets401(t *testing.T) {
	e := testenv.Start(t, "")
	c := e.NewBrowser()
	for name, set := range map[string]func(*http.Request){
		"ajax": func(r *http.Request) {
			r.Header.Set("Accept", "text/html")
			r.Header.Set("X-Requested-With", "XMLHttpRequest")
		},
		"json":      func(r *http.Request) { r.Header.Set("Accept", "application/json") },
		"no accept": func(r *http.Request) {},
		"post":      func(r *http.Request) { r.Method = http.MethodPost; r.Header.Set("Accept", "text/html") },
	} {
		req, _ := http.NewRequest(http.MethodGet, e.URL("app.localhost", "/api"), nil)
		set(req)
		resp, _ := c.Do(t, req)
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s: %d, want 401", name, resp.StatusCode)
		}
	}
}

func TestHeaderSpoofingIsStripped(t *testing.T) {
	e := testenv.Start(t, "")
	b := loggedIn(t, e)
	req, _ := http.NewRequest(http.MethodGet, e.URL("app.localhost", "/spoof"), nil)
	req.Header.Set("Accept", "text/html")
	req.Header.Set("Gatehouse-Jwt-Assertion", "forged")
	req.Header.Set("Cf-Access-Jwt-Assertion", "forged")
	req.Header.Set("Cf-Access-Authenticated-User-Email", "ceo@example.com")
	req.Header["Gatehouse_Authenticated_User_Email"] = []string{"ceo@example.com"}
	req.Header["gatehouse-authenticated-user-email"] = []string{"ceo@example.com"}
	req.Header.Set("Connection", "Gatehouse-Authenticated-User-Email, Gatehouse-Jwt-Assertion")
	req.Header.Set("X-Forwarded-For", "1.2.3.4")
	resp, body := b.Do(t, req)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	v := decodeUpstream(t, body)
	for name, vals := range v.Headers {
		lower := strings.ToLower(strings.ReplaceAll(name, "_", "-"))
		if strings.HasPrefix(lower, "cf-access-") {
			t.Errorf("upstream received %s: %v", name, vals)
		}
		if strings.HasPrefix(lower, "gatehouse-") {
			for _, val := range vals {
				if val == "forged" || val == "ceo@example.com" {
					t.Errorf("upstream received spoofed %s: %v", name, vals)
				}
			}
		}
	}
	if got := v.header("Gatehouse-Authenticated-User-Email"); len(got) != 1 || got[0] != "alice@example.com" {
		t.Errorf("email header = %v", got)
	}
	if got := v.header("X-Forwarded-For"); len(got) != 1 || got[0] != "127.0.0.1" {
		t.Errorf("X-Forwarded-For = %v: the untrusted client's value must not pass", got)
	}
}

func TestPathTricks(t *testing.T) {
	e := testenv.Start(t, `
organization: {name: T, auth_domain: auth.localhost}
identity_providers: [{id: pin, name: PIN, type: onetimepin}]
applications:
  - {id: site, name: Site, destinations: [app.localhost], upstream: UPSTREAM, policies: [{ref: public, precedence: 1}]}
  - {id: admin, name: Admin, destinations: ["app.localhost/admin/*"], upstream: UPSTREAM, policies: [{ref: staff, precedence: 1}]}
policies:
  - {id: public, decision: bypass, include: [{everyone: {}}]}
  - {id: staff, decision: allow, include: [{email: {email: root@example.com}}]}
`)
	c := e.NewBrowser()
	get := func(path string) (*http.Response, string) {
		req, _ := http.NewRequest(http.MethodGet, e.URL("app.localhost", "/"), nil)
		req.URL.Opaque = path // send the path bytes as they are
		req.Header.Set("Accept", "application/json")
		return c.Do(t, req)
	}
	cases := []struct {
		path   string
		status int
		seen   string // path the upstream saw, for forwarded requests
	}{
		{"/public", 200, "/public"},
		{"/admin/x", 401, ""},
		{"/ADMIN/x", 401, ""},
		{"/%61dmin/x", 401, ""},
		{"/public/../admin/x", 401, ""},
		{"/public/%2e%2e/admin/x", 401, ""},
		// Go's server reads a request target starting with "//" as an authority: host "admin".
		{"//admin/x", 404, ""},
		{"/admin%2fx", 400, ""},
		{"/admin%5cx", 400, ""},
		{"/admin/..;/x", 400, ""},
		{"/admin;jsessionid=1/x", 401, ""}, // Tomcat reads /admin/x: the admin app governs it
		{"/a%00b", 400, ""},
		{"/a%252e", 400, ""},
		{"/../../etc/passwd", 400, ""},
		{"/docs/./a//b", 200, "/docs/a/b"},
	}
	for _, tc := range cases {
		resp, body := get(tc.path)
		if resp.StatusCode != tc.status {
			t.Errorf("%s: %d, want %d (%s)", tc.path, resp.StatusCode, tc.status, strings.TrimSpace(body))
			continue
		}
		if tc.seen != "" {
			if v := decodeUpstream(t, body); v.Path != tc.seen {
				t.Errorf("%s: upstream saw %q, want %q", tc.path, v.Path, tc.seen)
			}
		}
	}
}

func TestOpenRedirectRejected(t *testing.T) {
	e := testenv.Start(t, "")
	snap := e.G.Snapshots.Load()
	aud := snap.Apps["app"].AUD
	c := e.NewBrowser()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	state := strings.Repeat("a", 64)
	for _, target := range []string{"//evil.test/", "https://evil.test/", "/\\evil.test", "http://app.localhost.evil.test/", "javascript:alert(1)", "https://user@app.localhost/", "/%09/evil.test"} {
		u := e.URL("auth.localhost", "/.gatehouse/login/app.localhost") + "?" + url.Values{"kid": {aud}, "redirect_url": {target}, "state": {state}}.Encode()
		resp, _ := c.Get(t, u)
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("redirect_url %q: %d, want 400 (Location %q)", target, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	// A path of another application on the same host is refused too.
	u := e.URL("auth.localhost", "/.gatehouse/login/other.localhost") + "?" + url.Values{"kid": {aud}, "redirect_url": {"/"}, "state": {state}}.Encode()
	if resp, _ := c.Get(t, u); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("redirect to another app's host: %d", resp.StatusCode)
	}
}

func TestTokenReplayedToAnotherApp(t *testing.T) {
	e := testenv.Start(t, "")
	b := loggedIn(t, e)
	cookie := appCookie(t, e, b, "app.localhost")
	req, _ := http.NewRequest(http.MethodGet, e.URL("other.localhost", "/"), nil)
	req.AddCookie(&http.Cookie{Name: "Gatehouse_Authorization", Value: cookie})
	resp, _ := e.NewBrowser().Do(t, req)
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("app token replayed to another app: %d, want 401", resp.StatusCode)
	}
	// The same token as a header on its own app works (non-browser clients).
	req, _ = http.NewRequest(http.MethodGet, e.URL("app.localhost", "/"), nil)
	req.Header.Set("Gatehouse-Access-Token", cookie)
	if resp, _ := e.NewBrowser().Do(t, req); resp.StatusCode != http.StatusOK {
		t.Errorf("token header on its own app: %d", resp.StatusCode)
	}
}

func TestForgedTokensRejected(t *testing.T) {
	e := testenv.Start(t, "")
	b := loggedIn(t, e)
	good := appCookie(t, e, b, "app.localhost")
	parts := strings.Split(good, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var claims map[string]any
	_ = json.Unmarshal(payload, &claims)

	enc := func(v any) string { b, _ := json.Marshal(v); return base64.RawURLEncoding.EncodeToString(b) }
	tampered := claims
	tampered["email"] = "ceo@example.com"
	pub, _ := e.G.Keys.PublicKey(kidOf(t, good))
	der, _ := x509.MarshalPKIXPublicKey(pub)
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	hs := func(key []byte) string {
		h := enc(map[string]string{"alg": "HS256", "typ": "JWT", "kid": kidOf(t, good)})
		p := enc(claims)
		m := hmac.New(sha256.New, key)
		m.Write([]byte(h + "." + p))
		return h + "." + p + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
	}
	forged := map[string]string{
		"payload tampered": parts[0] + "." + enc(tampered) + "." + parts[2],
		"alg none":         enc(map[string]string{"alg": "none", "typ": "JWT"}) + "." + parts[1] + ".",
		"HS256 with PEM":   hs(pemKey),
		"HS256 with DER":   hs(der),
		"signature cut":    parts[0] + "." + parts[1] + ".",
		"garbage":          "not-a-token",
	}
	for name, tok := range forged {
		req, _ := http.NewRequest(http.MethodGet, e.URL("app.localhost", "/"), nil)
		req.AddCookie(&http.Cookie{Name: "Gatehouse_Authorization", Value: tok})
		resp, _ := e.NewBrowser().Do(t, req)
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s: %d, want 401", name, resp.StatusCode)
		}
	}
}

func kidOf(t *testing.T, raw string) string {
	t.Helper()
	h, _ := base64.RawURLEncoding.DecodeString(strings.Split(raw, ".")[0])
	var hdr struct{ Kid string }
	_ = json.Unmarshal(h, &hdr)
	return hdr.Kid
}

var _ = rsa.PublicKey{}

func TestExpiredAndRevokedSessions(t *testing.T) {
	e := testenv.Start(t, "")
	ctx := context.Background()
	check := func(name string, b *testenv.Browser, want int) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, e.URL("app.localhost", "/"), nil)
		req.Header.Set("Accept", "application/json")
		if resp, _ := b.Do(t, req); resp.StatusCode != want {
			t.Errorf("%s: %d, want %d", name, resp.StatusCode, want)
		}
	}

	b := loggedIn(t, e)
	check("fresh session", b, 200)
	claims, _ := token.NewVerifier(e.G.Keys, e.G.Snapshots.Load().Issuer, e.Clock.Now).Verify(appCookie(t, e, b, "app.localhost"))
	if err := e.G.Store.RevokeSession(ctx, claims.IdentityNonce); err != nil {
		t.Fatal(err)
	}
	e.G.Reload(ctx, storeChangeRevocations())
	check("revoked session", b, 401)

	b = loggedIn(t, e)
	claims, _ = token.NewVerifier(e.G.Keys, e.G.Snapshots.Load().Issuer, e.Clock.Now).Verify(appCookie(t, e, b, "app.localhost"))
	if err := e.G.Store.RevokeUserSessions(ctx, claims.Subject); err != nil {
		t.Fatal(err)
	}
	// No explicit reload: the store's change notification reaches the proxy by itself.
	deadline := time.Now().Add(2 * time.Second)
	for {
		req, _ := http.NewRequest(http.MethodGet, e.URL("app.localhost", "/"), nil)
		req.Header.Set("Accept", "application/json")
		resp, _ := b.Do(t, req)
		if resp.StatusCode == 401 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("user revocation not in effect after 2s")
		}
		time.Sleep(10 * time.Millisecond)
	}

	e.Clock.Advance(time.Second) // a new login after a user-wide revocation needs a later iat
	b = loggedIn(t, e)
	if err := e.G.Store.RevokeAppTokens(ctx, "app"); err != nil {
		t.Fatal(err)
	}
	e.G.Reload(ctx, storeChangeRevocations())
	check("app tokens revoked", b, 401)

	e.Clock.Advance(time.Second)
	b = loggedIn(t, e)
	e.Clock.Advance(25 * time.Hour)
	check("expired session", b, 401)
}

// TestSilentReissue: when the app token expires but the org session is valid, the browser gets a
// new app token without another login, after the policies are evaluated again.
func TestSilentReissue(t *testing.T) {
	e := testenv.Start(t, strings.Replace(testenv.DefaultConfig, "    destinations: [app.localhost]\n", "    destinations: [app.localhost]\n    session_duration: 5m\n", 1))
	b := loggedIn(t, e)
	first := appCookie(t, e, b, "app.localhost")
	e.Clock.Advance(6 * time.Minute)
	resp, body := b.Get(t, e.URL("app.localhost", "/again"))
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/again" {
		t.Fatalf("after the app token expired: %d at %s\n%s", resp.StatusCode, resp.Request.URL, body)
	}
	if second := appCookie(t, e, b, "app.localhost"); second == first {
		t.Errorf("app token was not re-issued")
	}
	if n := e.PINs.Count("alice@example.com"); n != 1 {
		t.Errorf("%d PINs sent; re-issue must not ask for a new login", n)
	}
}

// TestLoginRateLimits: one address can start only so many logins a minute (each stores a flow),
// and request only so many PINs for one e-mail address; both answer 429 and recover with time.
func TestLoginRateLimits(t *testing.T) {
	flows, sends := authn.LoginFlowsPerIP, authn.PINSendsPerEmail
	authn.LoginFlowsPerIP = authn.Limit{Window: time.Minute, Max: 5}
	authn.PINSendsPerEmail = authn.Limit{Window: 10 * time.Minute, Max: 2}
	t.Cleanup(func() { authn.LoginFlowsPerIP, authn.PINSendsPerEmail = flows, sends })

	e := testenv.Start(t, "")
	b := e.NewBrowser()
	for i := 0; i < 5; i++ {
		if resp, _ := b.Get(t, e.URL("app.localhost", "/")); resp.StatusCode != http.StatusOK {
			t.Fatalf("login page %d: %d", i, resp.StatusCode)
		}
	}
	resp, page := b.Get(t, e.URL("app.localhost", "/"))
	if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(page, "Too many sign-ins") {
		t.Fatalf("sixth login in a minute: %d\n%s", resp.StatusCode, page)
	}
	e.Clock.Advance(time.Minute)

	requestPIN := func() *http.Response {
		resp, page := b.Get(t, e.URL("app.localhost", "/"))
		action, fields := testenv.Form(t, page)
		fields.Set("email", "erin@example.com")
		resp, _ = b.PostForm(t, resp.Request.URL.ResolveReference(&url.URL{Path: action}).String(), fields)
		return resp
	}
	for i := 0; i < 2; i++ {
		if resp := requestPIN(); resp.StatusCode != http.StatusOK {
			t.Fatalf("PIN request %d: %d", i, resp.StatusCode)
		}
	}
	if resp := requestPIN(); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("third PIN for one address in 10 minutes: %d, want 429", resp.StatusCode)
	}
	if n := e.PINs.Count("erin@example.com"); n != 2 {
		t.Errorf("%d PINs sent, want 2", n)
	}
	e.Clock.Advance(10 * time.Minute)
	if resp := requestPIN(); resp.StatusCode != http.StatusOK {
		t.Errorf("PIN request after the window: %d", resp.StatusCode)
	}
}
