package proxy_test

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/keys"
	"github.com/gatehouse/gatehouse/internal/policy"
	"github.com/gatehouse/gatehouse/internal/proxy"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/token"
	"github.com/gatehouse/gatehouse/internal/wire"
)

// TestValidSessionForwardsIdentity checks both wire profiles: an app token in the cookie or in
// the token header is forwarded to the origin as the profile's JWT header together with the
// e-mail header, and nothing of the other profile.
func TestValidSessionForwardsIdentity(t *testing.T) {
	for _, profile := range []string{"gatehouse", "cloudflare"} {
		e := newEnv(t, setup{profile: profile})
		wp := profileOf(t, profile)
		alice := e.newUser(t, "alice@example.com", identity.Identity{AMR: []string{"otp"}})
		tok := e.appToken(t, alice, "web", nil)
		for _, via := range []string{"cookie", "token header"} {
			t.Run(profile+"/"+via, func(t *testing.T) {
				r := req(http.MethodGet, "http://app.example.com/reports?month=1", nil)
				if via == "cookie" {
					r.AddCookie(&http.Cookie{Name: wp.AppCookie(true), Value: tok})
				} else {
					r.Header.Set(wp.TokenHeader, tok)
				}
				got := e.forwarded(t, r)
				if v := headerFolded(got.Header, wp.JWTHeader); !slices.Equal(v, []string{tok}) {
					t.Errorf("%s = %q, want the app token", wp.JWTHeader, v)
				}
				if v := headerFolded(got.Header, wp.EmailHeader); !slices.Equal(v, []string{"alice@example.com"}) {
					t.Errorf("%s = %q", wp.EmailHeader, v)
				}
				if v := headerFolded(got.Header, wp.TokenHeader); len(v) != 0 {
					t.Errorf("token header forwarded: %q", v)
				}
				for name := range got.Header {
					if l := strings.ToLower(name); (profile == "gatehouse" && strings.HasPrefix(l, "cf-")) ||
						(profile == "cloudflare" && strings.HasPrefix(l, "gatehouse-")) {
						t.Errorf("origin got the other profile's header %q", name)
					}
				}
				if got.Path != "/web/reports" || got.RawQuery != "month=1" {
					t.Errorf("origin saw %q?%q", got.Path, got.RawQuery)
				}
				line := e.lastAccess(t)
				if line["decision"] != "forward" || line["policy"] != "allow-example" || line["user"] != alice.ID || line["email"] != alice.Email {
					t.Errorf("access line = %v", line)
				}
				if rs := reasonsOf(line); !slices.Equal(rs, []string{"policy-matched", "email_domain-ok"}) {
					t.Errorf("reasons = %q", rs)
				}
			})
		}
	}
}

// TestCookieWinsOverTokenHeader pins the precedence: a cookie is used even when a token header
// is present too.
func TestCookieWinsOverTokenHeader(t *testing.T) {
	e := newEnv(t, setup{})
	alice := e.newUser(t, "alice@example.com", identity.Identity{})
	tok := e.appToken(t, alice, "web", nil)
	r := req(http.MethodGet, "http://app.example.com/", nil)
	r.AddCookie(&http.Cookie{Name: appCookie, Value: "garbage"})
	r.Header.Set("Gatehouse-Access-Token", tok)
	if w := e.serve(t, r); w.Code != http.StatusUnauthorized {
		t.Errorf("status = %d, want 401 (the invalid cookie is what counts)", w.Code)
	}
}

// TestUnusableTokensAreNoSession checks that tokens that do not verify, are for another
// application, expired or revoked are treated like no token at all: a browser is sent to log in
// and nothing is forwarded.
func TestUnusableTokensAreNoSession(t *testing.T) {
	tests := []struct {
		name   string
		token  func(t testing.TB, e *env, u user) string
		revoke func(e *env, u user) *store.Revocations
		reason string // why the token was refused, in the access log, the metrics and the login call
	}{
		{name: "expired", reason: "token-expired", token: func(t testing.TB, e *env, u user) string {
			return e.appToken(t, u, "web", func(c *token.Claims) {
				c.IssuedAt, c.NotBefore, c.ExpiresAt = testNow.Add(-2*time.Hour).Unix(), testNow.Add(-2*time.Hour).Unix(), testNow.Add(-time.Second).Unix()
			})
		}},
		{name: "not yet valid", reason: "token-not-yet-valid", token: func(t testing.TB, e *env, u user) string {
			return e.appToken(t, u, "web", func(c *token.Claims) {
				c.IssuedAt, c.NotBefore, c.ExpiresAt = testNow.Add(time.Hour).Unix(), testNow.Add(time.Hour).Unix(), testNow.Add(2*time.Hour).Unix()
			})
		}},
		{name: "wrong audience", reason: "token-audience-mismatch", token: func(t testing.TB, e *env, u user) string { return e.appToken(t, u, "open", nil) }},
		{name: "wrong issuer", reason: "token-wrong-issuer", token: func(t testing.TB, e *env, u user) string {
			return e.appToken(t, u, "web", func(c *token.Claims) { c.Issuer = "https://evil.example.com" })
		}},
		{name: "org token", reason: "token-wrong-type", token: func(t testing.TB, e *env, u user) string {
			return e.appToken(t, u, "web", func(c *token.Claims) { c.Type = token.TypeOrg })
		}},
		{name: "unknown session", reason: "session-not-found", token: func(t testing.TB, e *env, u user) string {
			return e.appToken(t, u, "web", func(c *token.Claims) { c.IdentityNonce = "no-such-session" })
		}},
		{name: "session of another user", reason: "session-subject-mismatch", token: func(t testing.TB, e *env, u user) string {
			other := e.newUser(t, "bob@example.com", identity.Identity{})
			return e.appToken(t, u, "web", func(c *token.Claims) { c.IdentityNonce = other.Session })
		}},
		{name: "tampered", reason: "token-bad-signature", token: func(t testing.TB, e *env, u user) string { return tamper(t, e.appToken(t, u, "web", nil)) }},
		{name: "garbage", reason: "token-malformed", token: func(testing.TB, *env, user) string { return "not.a.jwt" }},
		{name: "session revoked", reason: "session-revoked", token: func(t testing.TB, e *env, u user) string { return e.appToken(t, u, "web", nil) },
			revoke: func(e *env, u user) *store.Revocations {
				return &store.Revocations{RevokedSessions: map[string]time.Time{u.Session: testNow.Add(time.Hour)}}
			}},
		{name: "user revoked", reason: "user-tokens-revoked", token: func(t testing.TB, e *env, u user) string { return e.appToken(t, u, "web", nil) },
			revoke: func(e *env, u user) *store.Revocations {
				return &store.Revocations{UserNotBefore: map[string]time.Time{u.ID: testNow}}
			}},
		{name: "app revoked", reason: "app-tokens-revoked", token: func(t testing.TB, e *env, u user) string { return e.appToken(t, u, "web", nil) },
			revoke: func(e *env, u user) *store.Revocations {
				return &store.Revocations{AppNotBefore: map[string]time.Time{"web": testNow}}
			}},
	}
	e := newEnv(t, setup{})
	alice := e.newUser(t, "alice@example.com", identity.Identity{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.login.Reset()
			e.rev.Set(nil)
			tok := tt.token(t, e, alice)
			if tt.revoke != nil {
				e.rev.Set(tt.revoke(e, alice))
			}
			r := req(http.MethodGet, "http://app.example.com/page?x=1", nil)
			r.Header.Set("Accept", "text/html,application/xhtml+xml")
			r.AddCookie(&http.Cookie{Name: appCookie, Value: tok})
			w := e.serve(t, r)
			if w.Code != http.StatusFound {
				t.Fatalf("status = %d, want a login redirect", w.Code)
			}
			want := []string{"identity-required", tt.reason}
			if c := e.onlyCall(t); c.Kind != "start" || c.App != "web" || c.Redirect != "/page?x=1" || !slices.Equal(c.Reasons, want) {
				t.Errorf("call = %+v, want reasons %q", c, want)
			}
			if e.hits.Load() != 0 {
				t.Error("forwarded without a usable session")
			}
			if line := e.lastAccess(t); line["decision"] != "login" || line["user"] != "" || !slices.Equal(reasonsOf(line), want) {
				t.Errorf("access line = %v, want reasons %q", line, want)
			}
			if n := e.refusals(t, "web", tt.reason); n != 1 {
				t.Errorf("refusals{web,%s} = %v, want 1", tt.reason, n)
			}

			// A non-browser request gets a 401 with the same reasons.
			r = req(http.MethodGet, "http://app.example.com/api", nil)
			r.Header.Set(wire.Gatehouse.TokenHeader, tok)
			assertUnauthorized(t, e.serve(t, r))
			if line := e.lastAccess(t); !slices.Equal(reasonsOf(line), want) {
				t.Errorf("401 access line reasons = %q, want %q", reasonsOf(line), want)
			}
		})
	}
}

// tamper changes the e-mail in a JWT's payload and keeps the original signature.
func tamper(t testing.TB, raw string) string {
	t.Helper()
	parts := strings.Split(raw, ".")
	claims := jwtClaims(t, raw)
	claims["email"] = "boss@example.com"
	b, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	parts[1] = base64.RawURLEncoding.EncodeToString(b)
	return strings.Join(parts, ".")
}

// TestRevocationAfterCaching checks that a token verified and cached on an earlier request stops
// working as soon as the revocation state changes.
func TestRevocationAfterCaching(t *testing.T) {
	e := newEnv(t, setup{})
	alice := e.newUser(t, "alice@example.com", identity.Identity{})
	tok := e.appToken(t, alice, "web", nil)
	r := func() *http.Request {
		r := req(http.MethodGet, "http://app.example.com/", nil)
		r.AddCookie(&http.Cookie{Name: appCookie, Value: tok})
		return r
	}
	e.forwarded(t, r())
	e.forwarded(t, r()) // from the cache
	e.rev.Set(&store.Revocations{RevokedSessions: map[string]time.Time{alice.Session: testNow.Add(time.Hour)}})
	if w := e.serve(t, r()); w.Code != http.StatusUnauthorized {
		t.Errorf("status after revocation = %d, want 401", w.Code)
	}
	if e.hits.Load() != 2 {
		t.Errorf("upstream hits = %d, want 2", e.hits.Load())
	}
}

// TestNoSession checks what a request without a session gets: browser navigations start a login
// for the normalised path and query; everything else gets a 401 JSON answer.
func TestNoSession(t *testing.T) {
	e := newEnv(t, setup{})
	tests := []struct {
		name, method, target string
		header               map[string]string
		wantLogin            string // redirect path, "" for a 401
	}{
		{name: "navigation", method: http.MethodGet, target: "http://app.example.com/a/./b/../c?x=1&y", header: map[string]string{"Accept": "text/html"}, wantLogin: "/a/c?x=1&y"},
		{name: "head navigation", method: http.MethodHead, target: "http://app.example.com/", header: map[string]string{"Accept": "text/html"}, wantLogin: "/"},
		{name: "navigation with */*", method: http.MethodGet, target: "http://app.example.com/z", header: map[string]string{"Accept": "*/*", "Sec-Fetch-Mode": "navigate"}, wantLogin: "/z"},
		{name: "xhr", method: http.MethodGet, target: "http://app.example.com/api", header: map[string]string{"Accept": "text/html", "X-Requested-With": "XMLHttpRequest"}},
		{name: "api client", method: http.MethodGet, target: "http://app.example.com/api", header: map[string]string{"Accept": "application/json"}},
		{name: "no accept", method: http.MethodGet, target: "http://app.example.com/api"},
		{name: "fetch */*", method: http.MethodGet, target: "http://app.example.com/api", header: map[string]string{"Accept": "*/*"}},
		{name: "form post", method: http.MethodPost, target: "http://app.example.com/form", header: map[string]string{"Accept": "text/html"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.login.Reset()
			r := req(tt.method, tt.target, nil)
			for k, v := range tt.header {
				r.Header.Set(k, v)
			}
			w := e.serve(t, r)
			if tt.wantLogin != "" {
				if w.Code != http.StatusFound {
					t.Fatalf("status = %d, want 302", w.Code)
				}
				if c := e.onlyCall(t); c.Kind != "start" || c.App != "web" || c.Host != "app.example.com" || c.Redirect != tt.wantLogin {
					t.Errorf("call = %+v, want a login for %q", c, tt.wantLogin)
				}
				return
			}
			assertUnauthorized(t, w)
			if calls := e.login.Calls(); len(calls) != 0 {
				t.Errorf("login calls %+v", calls)
			}
			if line := e.lastAccess(t); line["decision"] != "login" || line["status"] != float64(401) {
				t.Errorf("access line = %v", line)
			}
		})
	}
	if e.hits.Load() != 0 {
		t.Error("a request without a session was forwarded")
	}
}

func assertUnauthorized(t testing.TB, w interface {
	Result() *http.Response
}) {
	t.Helper()
	res := w.Result()
	defer res.Body.Close()
	body := new(strings.Builder)
	_, _ = io.Copy(body, res.Body)
	if res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("status = %d, want 401", res.StatusCode)
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	if cc := res.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q", cc)
	}
	if got, want := body.String(), `{"error":"unauthorized","message":"Authentication required."}`+"\n"; got != want {
		t.Errorf("body = %q, want %q", got, want)
	}
}

// TestDenials checks that denials reach the login flow's Deny with the decision and with
// nonIdentity set exactly when the request was refused on its non-identity attributes.
func TestDenials(t *testing.T) {
	tests := []struct {
		name            string
		email           string // "" for no session
		ip, country     string
		wantPolicy      string
		wantReasons     []string
		wantNonIdentity bool
		wantUser        string
	}{
		{name: "denied user", email: "mallory@example.com", ip: "198.51.100.7", country: "DE",
			wantPolicy: "deny-mallory", wantReasons: []string{"policy-matched", "email-ok"}, wantUser: "mallory@example.com"},
		{name: "no policy matches the user", email: "eve@other.org", ip: "198.51.100.7", country: "DE",
			wantReasons: []string{"no-policy-matched", "include-failed-email_domain"}, wantUser: "eve@other.org"},
		{name: "country with a session", email: "alice@example.com", ip: "198.51.100.7", country: "KP",
			wantPolicy: "deny-kp", wantReasons: []string{"policy-matched", "geo-ok"}, wantNonIdentity: true},
		{name: "country without a session", ip: "198.51.100.7", country: "KP",
			wantPolicy: "deny-kp", wantReasons: []string{"policy-matched", "geo-ok"}, wantNonIdentity: true},
		{name: "ip without a session", ip: "203.0.113.9", country: "DE",
			wantPolicy: "deny-net", wantReasons: []string{"policy-matched", "ip-ok"}, wantNonIdentity: true},
	}
	e := newEnv(t, setup{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.login.Reset()
			r := withClient(req(http.MethodGet, "http://app.example.com/x", nil), tt.ip, tt.country)
			r.Header.Set("Accept", "text/html")
			if tt.email != "" {
				u := e.newUser(t, tt.email, identity.Identity{})
				r.AddCookie(&http.Cookie{Name: appCookie, Value: e.appToken(t, u, "web", nil)})
			}
			if w := e.serve(t, r); w.Code != http.StatusForbidden {
				t.Fatalf("status = %d, want 403", w.Code)
			}
			c := e.onlyCall(t)
			if c.Kind != "deny" || c.App != "web" || c.NonIdentity != tt.wantNonIdentity || c.Action != policy.ActionDeny {
				t.Errorf("call = %+v", c)
			}
			if c.PolicyID != tt.wantPolicy || !slices.Equal(c.Reasons, tt.wantReasons) {
				t.Errorf("decision = %q %q, want %q %q", c.PolicyID, c.Reasons, tt.wantPolicy, tt.wantReasons)
			}
			if c.UserEmail != tt.wantUser {
				t.Errorf("identity passed to Deny = %q, want %q", c.UserEmail, tt.wantUser)
			}
			wantDecision := "deny"
			if tt.wantNonIdentity {
				wantDecision = "deny_non_identity"
			}
			line := e.lastAccess(t)
			if line["decision"] != wantDecision || line["status"] != float64(http.StatusForbidden) || !slices.Equal(reasonsOf(line), tt.wantReasons) {
				t.Errorf("access line = %v", line)
			}
			if e.hits.Load() != 0 {
				t.Error("denied request was forwarded")
			}
		})
	}
}

// TestBypass checks that a bypass policy forwards without identity headers, whether or not the
// request carries a valid app token for the application.
func TestBypass(t *testing.T) {
	e := newEnv(t, setup{})
	alice := e.newUser(t, "alice@example.com", identity.Identity{HeaderAttributes: map[string][]string{"X-Department": {"Eng"}}})
	for _, withToken := range []bool{false, true} {
		r := req(http.MethodGet, "http://open.example.com/status", nil)
		if withToken {
			r.AddCookie(&http.Cookie{Name: appCookie, Value: e.appToken(t, alice, "open", nil)})
		}
		got := e.forwarded(t, r)
		for name := range got.Header {
			if l := strings.ToLower(name); strings.HasPrefix(l, "gatehouse-") || l == "x-department" {
				t.Errorf("token %v: bypass forwarded identity header %q", withToken, name)
			}
		}
		line := e.lastAccess(t)
		if line["decision"] != "forward" || line["policy"] != "bypass-all" || line["user"] != "" || line["email"] != "" {
			t.Errorf("token %v: access line = %v", withToken, line)
		}
		if rs := reasonsOf(line); !slices.Equal(rs, []string{"policy-matched", "everyone-ok"}) {
			t.Errorf("token %v: reasons = %q", withToken, rs)
		}
	}
}

// serviceTokenRequest returns a request to host with service-token credentials.
func serviceTokenRequest(host, clientID, secret string) *http.Request {
	r := req(http.MethodGet, "http://"+host+"/v1/items", nil)
	r.Header.Set("Accept", "application/json")
	if clientID != "" {
		r.Header.Set("Gatehouse-Client-Id", clientID)
	}
	if secret != "" {
		r.Header.Set("Gatehouse-Client-Secret", secret)
	}
	return r
}

// TestServiceTokenForwarded checks a valid service token: the origin gets a service-token JWT
// (common_name = client ID, empty sub) that verifies, is minted once and reused across requests
// until shortly before it expires, and no credentials.
func TestServiceTokenForwarded(t *testing.T) {
	e := newEnv(t, setup{})
	got := e.forwarded(t, serviceTokenRequest("app.example.com", clientOK, secretOK))
	jwts := headerFolded(got.Header, "Gatehouse-Jwt-Assertion")
	if len(jwts) != 1 {
		t.Fatalf("JWT header = %q", jwts)
	}
	raw := jwts[0]
	claims := jwtClaims(t, raw)
	if claims["common_name"] != clientOK || claims["sub"] != "" || claims["type"] != "app" || claims["email"] != "" {
		t.Errorf("claims = %v", claims)
	}
	if _, ok := claims["sub"]; !ok {
		t.Error("sub claim missing; it must be present and empty")
	}
	verified, err := token.NewVerifier(e.km, e.snap.Issuer, e.clock.Now).Verify(raw)
	if err != nil {
		t.Fatalf("service JWT does not verify: %v", err)
	}
	if !verified.HasAudience(audOf("web")) || verified.ExpiresAt != testNow.Add(time.Hour).Unix() || verified.IssuedAt != testNow.Unix() {
		t.Errorf("verified claims = %+v (want aud of web, exp = now + the app's 1h session)", verified)
	}
	for _, h := range []string{"Gatehouse-Client-Id", "Gatehouse-Client-Secret", "Gatehouse-Authenticated-User-Email"} {
		if v := headerFolded(got.Header, h); len(v) != 0 {
			t.Errorf("origin got %s: %q", h, v)
		}
	}
	line := e.lastAccess(t)
	if line["service_token"] != "tok-ok" || line["policy"] != "svc-any" || line["decision"] != "forward" || line["user"] != "" {
		t.Errorf("access line = %v", line)
	}

	// Ten minutes later the same JWT is reused: no signing per request.
	e.clock.Advance(10 * time.Minute)
	again := e.forwarded(t, serviceTokenRequest("app.example.com", clientOK, secretOK))
	if v := headerFolded(again.Header, "Gatehouse-Jwt-Assertion"); !slices.Equal(v, []string{raw}) {
		t.Errorf("second request got a different JWT")
	}
	// Within a minute of its expiry it is replaced.
	e.clock.Advance(49*time.Minute + 30*time.Second)
	fresh := e.forwarded(t, serviceTokenRequest("app.example.com", clientOK, secretOK))
	v := headerFolded(fresh.Header, "Gatehouse-Jwt-Assertion")
	if len(v) != 1 || v[0] == raw {
		t.Fatalf("JWT was not renewed near its expiry")
	}
	if c := jwtClaims(t, v[0]); c["iat"] != float64(e.clock.Now().Unix()) {
		t.Errorf("renewed JWT iat = %v, want now", c["iat"])
	}

	// Another application gets a JWT of its own audience.
	other := e.forwarded(t, serviceTokenRequest("api.example.com", clientOK, secretOK))
	if c := jwtClaims(t, headerFolded(other.Header, "Gatehouse-Jwt-Assertion")[0]); !slices.Equal(anyStrings(c["aud"]), []string{audOf("api")}) {
		t.Errorf("aud for api = %v", c["aud"])
	}
}

func anyStrings(v any) []string {
	vs, _ := v.([]any)
	out := make([]string, 0, len(vs))
	for _, x := range vs {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

// TestServiceTokenExpiryCapsJWT checks that a service-token JWT never outlives its token.
func TestServiceTokenExpiryCapsJWT(t *testing.T) {
	e := newEnv(t, setup{})
	got := e.forwarded(t, serviceTokenRequest("app.example.com", clientSoon, secretOK))
	c := jwtClaims(t, headerFolded(got.Header, "Gatehouse-Jwt-Assertion")[0])
	if c["exp"] != float64(testNow.Add(30*time.Minute).Unix()) {
		t.Errorf("exp = %v, want the token's expiry", c["exp"])
	}
}

// TestServiceTokenRefused checks refused service-token credentials on an application that only
// service auth can pass: the non-identity denial carries the refusal reason, and nothing is
// forwarded.
func TestServiceTokenRefused(t *testing.T) {
	tests := []struct {
		name, clientID, secret, wantReason string
	}{
		{"wrong secret", clientOK, "wrong", "service-token-invalid"},
		{"unknown client", "nobody.access", secretOK, "service-token-invalid"},
		{"secret without client id", "", secretOK, "service-token-invalid"},
		{"client id without secret", clientOK, "", "service-token-invalid"},
		{"stored hash is not hex", clientBadHash, secretOK, "service-token-invalid"},
		{"disabled", clientDisabled, secretOK, "service-token-disabled"},
		{"expired", clientExpired, secretOK, "service-token-expired"},
	}
	e := newEnv(t, setup{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.login.Reset()
			if w := e.serve(t, serviceTokenRequest("api.example.com", tt.clientID, tt.secret)); w.Code != http.StatusForbidden {
				t.Fatalf("status = %d, want 403", w.Code)
			}
			c := e.onlyCall(t)
			if c.Kind != "deny" || !c.NonIdentity || c.App != "api" {
				t.Errorf("call = %+v", c)
			}
			if !slices.Contains(c.Reasons, tt.wantReason) || c.Reasons[0] != "no-policy-matched" {
				t.Errorf("reasons = %q, want no-policy-matched and %q", c.Reasons, tt.wantReason)
			}
			if e.hits.Load() != 0 {
				t.Error("forwarded with refused credentials")
			}
		})
	}
}

// TestServiceAuth401 checks service_auth_401_redirect: with refused credentials on an
// application a login could pass, the answer is 401 even for a browser; without credentials the
// browser still logs in.
func TestServiceAuth401(t *testing.T) {
	e := newEnv(t, setup{})
	r := serviceTokenRequest("api401.example.com", clientExpired, secretOK)
	r.Header.Set("Accept", "text/html")
	w := e.serve(t, r)
	assertUnauthorized(t, w)
	line := e.lastAccess(t)
	if line["decision"] != "unauthorized" || !slices.Equal(reasonsOf(line), []string{"identity-required", "service-token-expired"}) {
		t.Errorf("access line = %v", line)
	}

	r = req(http.MethodGet, "http://api401.example.com/", nil)
	r.Header.Set("Accept", "text/html")
	if w := e.serve(t, r); w.Code != http.StatusFound {
		t.Errorf("without credentials status = %d, want a login redirect", w.Code)
	}

	// Without the setting, refused credentials and a browser mean a login.
	r = serviceTokenRequest("app.example.com", clientExpired, secretOK)
	r.Header.Set("Accept", "text/html")
	if w := e.serve(t, r); w.Code != http.StatusFound {
		t.Errorf("web status = %d, want a login redirect", w.Code)
	}
}

// TestServiceAuthWithSession checks that a valid service token wins over a user session on an
// application with a service-auth policy (machine policies run first), and that a service-auth
// policy matched by IP forwards without any JWT.
func TestServiceAuthWithSession(t *testing.T) {
	e := newEnv(t, setup{})
	alice := e.newUser(t, "alice@example.com", identity.Identity{})
	r := serviceTokenRequest("api401.example.com", clientOK, secretOK)
	r.AddCookie(&http.Cookie{Name: appCookie, Value: e.appToken(t, alice, "api401", nil)})
	got := e.forwarded(t, r)
	c := jwtClaims(t, headerFolded(got.Header, "Gatehouse-Jwt-Assertion")[0])
	if c["common_name"] != clientOK || c["sub"] != "" {
		t.Errorf("claims = %v, want the service token's", c)
	}
	if v := headerFolded(got.Header, "Gatehouse-Authenticated-User-Email"); len(v) != 0 {
		t.Errorf("e-mail header = %q", v)
	}

	office := withClient(req(http.MethodGet, "http://api.example.com/v1", nil), "192.0.2.44", "DE")
	got = e.forwarded(t, office)
	if v := headerFolded(got.Header, "Gatehouse-Jwt-Assertion"); len(v) != 0 {
		t.Errorf("IP-matched service auth forwarded a JWT: %q", v)
	}
	if line := e.lastAccess(t); line["policy"] != "svc-office" || line["service_token"] != "" {
		t.Errorf("access line = %v", line)
	}
}

// TestServiceTokenWithoutSigningKey checks that a service token the proxy cannot mint a JWT for
// fails closed with 503.
func TestServiceTokenWithoutSigningKey(t *testing.T) {
	e := newEnv(t, setup{})
	res := proxyWithoutKeys(t, e).Authorize(e.ctx, e.snap, &proxy.Request{App: e.snap.Apps["web"], ClientIP: defaultClient.IP,
		ClientID: clientOK, ClientSecret: secretOK})
	if res.Outcome != proxy.OutcomeUnavailable || res.Err == nil {
		t.Errorf("result = %+v, want unavailable with an error", res)
	}
}

// TestStoreUnavailable checks that a store failure while loading a session fails closed: 503
// with a reference ID, the cause logged and never shown, nothing forwarded.
func TestStoreUnavailable(t *testing.T) {
	e := newEnv(t, setup{failing: true})
	alice := e.newUser(t, "alice@example.com", identity.Identity{})
	e.failing.fail.Store(true)
	r := req(http.MethodGet, "http://app.example.com/", nil)
	r.Header.Set("Accept", "text/html")
	r.AddCookie(&http.Cookie{Name: appCookie, Value: e.appToken(t, alice, "web", nil)})
	w := e.serve(t, r)
	assertErrorPage(t, w, http.StatusServiceUnavailable, "Gatehouse cannot check your session right now.", "10.9.8.7", "unavailable", "dial tcp")
	if e.warnReason(t) != "store-unavailable" {
		t.Errorf("warn reason = %q", e.warnReason(t))
	}
	failed := e.logs.Lines(t, "request failed")
	if cause, _ := failed[len(failed)-1]["cause"].(string); !strings.Contains(cause, "10.9.8.7") {
		t.Errorf("cause not logged: %v", failed[len(failed)-1])
	}
	line := e.lastAccess(t)
	if line["decision"] != "unavailable" || line["status"] != float64(http.StatusServiceUnavailable) ||
		!slices.Equal(reasonsOf(line), []string{"store-unavailable"}) {
		t.Errorf("access line = %v, want reasons [store-unavailable]", line)
	}
	if ref, _ := line["ref"].(string); ref == "" || !strings.Contains(w.Body.String(), "Reference: "+ref) {
		t.Errorf("access line ref %q is not the page's reference", ref)
	}
	if n := e.refusals(t, "web", "store-unavailable"); n != 1 {
		t.Errorf("refusals{web,store-unavailable} = %v", n)
	}
	if e.hits.Load() != 0 || len(e.login.Calls()) != 0 {
		t.Error("request was forwarded or sent to login while the store is down")
	}
	if got := e.counter(t, "web", "unavailable", "5xx"); got != 1 {
		t.Errorf("counter = %v", got)
	}

	// Once the store is back the same token works.
	e.failing.fail.Store(false)
	r = req(http.MethodGet, "http://app.example.com/", nil)
	r.AddCookie(&http.Cookie{Name: appCookie, Value: e.appToken(t, alice, "web", nil)})
	e.forwarded(t, r)
}

func TestServiceTokenExpiry(t *testing.T) {
	created := testNow.Add(-time.Hour)
	tests := []struct {
		name string
		st   store.ServiceToken
		want time.Time
	}{
		{"explicit expiry", store.ServiceToken{ExpiresAt: testNow, CreatedAt: created, Duration: store.Duration(time.Minute)}, testNow},
		{"created plus duration", store.ServiceToken{CreatedAt: created, Duration: store.Duration(2 * time.Hour)}, created.Add(2 * time.Hour)},
		{"no creation time", store.ServiceToken{Duration: store.Duration(2 * time.Hour)}, time.Time{}},
		{"no duration", store.ServiceToken{CreatedAt: created}, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := proxy.ServiceTokenExpiry(&tt.st); !got.Equal(tt.want) {
				t.Errorf("expiry = %v, want %v", got, tt.want)
			}
		})
	}
}

// proxyWithoutKeys is e's proxy with a key manager that was never loaded (no signing key).
func proxyWithoutKeys(t testing.TB, e *env) *proxy.Proxy {
	t.Helper()
	km, err := keys.NewManager(e.st, make([]byte, 32), keys.Options{Issuer: e.snap.Issuer})
	if err != nil {
		t.Fatal(err)
	}
	return proxy.New(e.holder, e.login, nil, km, nil, slog.New(slog.DiscardHandler), e.clock.Now, proxy.Options{})
}
