package oidcop_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/policy"
	"github.com/gatehouse/gatehouse/internal/saas/oidcop"
	"github.com/gatehouse/gatehouse/internal/snapshot"
	"github.com/gatehouse/gatehouse/internal/store"
)

func TestCodeFlowTokens(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	code := h.code(t, authzParams(verifier))
	h.clock.Advance(5 * time.Second)
	tr := okTokens(t, h.tokenReq(authBasic, codeForm(code, verifier)))
	if tr.TokenType != "Bearer" || tr.ExpiresIn != 300 || tr.RefreshToken == "" || tr.Scope != "openid email profile groups" {
		t.Errorf("token response %+v: want Bearer, 300 s (default lifetime), a refresh token and the granted scope", tr)
	}
	h.wantEvent(t, "saas_token", true, "oidc-code-redeemed")

	now := h.clock.Now().Unix()
	hdr, idt := h.decodeJWT(t, tr.IDToken)
	if hdr["typ"] != "JWT" {
		t.Errorf("ID token typ %v", hdr["typ"])
	}
	want := map[string]any{
		"iss": h.issuer(), "aud": clientID, "sub": h.user.ID, "nonce": "nonce-456",
		"iat": float64(now), "exp": float64(now + 300), "auth_time": float64(clockStart.Add(-10 * time.Minute).Unix()),
		"email": userEmail, "email_verified": true, "name": "Alice Liddell",
		"groups": []any{"eng-backend", "eng-oncall"}, "department": "R&D", "employee_id": "E-1234",
		"amr": []any{"pwd", "mfa"}, "custom": map[string]any{"dept": "R&D", "empid": "E-1234"},
	}
	for k, v := range want {
		if mustJSON(idt[k]) != mustJSON(v) {
			t.Errorf("ID token %s = %s, want %s", k, mustJSON(idt[k]), mustJSON(v))
		}
	}
	if idt["at_hash"] != atHashOf(tr.AccessToken) {
		t.Errorf("at_hash %v does not match the access token", idt["at_hash"])
	}

	hdr, at := h.decodeJWT(t, tr.AccessToken)
	if hdr["typ"] != "at+jwt" || at["aud"] != clientID || at["client_id"] != clientID || at["sub"] != h.user.ID ||
		at["scope"] != "openid email profile groups" || at["iss"] != h.issuer() || at["jti"] == "" || at["grant_id"] == "" {
		t.Errorf("access token header %v claims %v", hdr, at)
	}

	w := h.userinfo(tr.AccessToken)
	if w.Code != http.StatusOK {
		t.Fatalf("userinfo answered %d: %s", w.Code, w.Body)
	}
	var ui map[string]any
	_ = json.Unmarshal(w.Body.Bytes(), &ui)
	for _, k := range []string{"sub", "email", "name", "groups", "department", "employee_id"} {
		if mustJSON(ui[k]) != mustJSON(idt[k]) {
			t.Errorf("userinfo %s = %s, ID token has %s", k, mustJSON(ui[k]), mustJSON(idt[k]))
		}
	}
}

func atHashOf(at string) string {
	sum := sha256.Sum256([]byte(at))
	return base64.RawURLEncoding.EncodeToString(sum[:16])
}

func TestScopesLimitClaims(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	q := authzParams(verifier)
	q.Set("scope", "openid")
	tr := okTokens(t, h.tokenReq(authBasic, codeForm(h.code(t, q), verifier)))
	_, idt := h.decodeJWT(t, tr.IDToken)
	for _, k := range []string{"email", "name", "groups", "department", "employee_id", "custom"} {
		if _, ok := idt[k]; ok {
			t.Errorf("scope openid only, yet the ID token has %s", k)
		}
	}
	var ui map[string]any
	_ = json.Unmarshal(h.userinfo(tr.AccessToken).Body.Bytes(), &ui)
	if len(ui) != 1 || ui["sub"] != h.user.ID {
		t.Errorf("userinfo for scope openid = %v, want only sub", ui)
	}
}

func TestAccessTokenLifetimeConfigured(t *testing.T) {
	app := baseApp()
	app.AccessTokenLifetime = store.Duration(time.Hour)
	h := newHarness(t, harnessOpts{app: app})
	tr := okTokens(t, h.tokenReq(authBasic, codeForm(h.code(t, authzParams(verifier)), verifier)))
	if tr.ExpiresIn != 3600 {
		t.Errorf("expires_in %d, want 3600", tr.ExpiresIn)
	}
	h.clock.Advance(time.Hour - time.Second)
	if w := h.userinfo(tr.AccessToken); w.Code != http.StatusOK {
		t.Errorf("userinfo just before expiry: %d", w.Code)
	}
	h.clock.Advance(time.Second)
	if w := h.userinfo(tr.AccessToken); w.Code != http.StatusUnauthorized || !strings.Contains(w.Header().Get("WWW-Authenticate"), `error="invalid_token"`) {
		t.Errorf("userinfo at expiry: %d %q", w.Code, w.Header().Get("WWW-Authenticate"))
	}
}

func TestClientAuthentication(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	code := h.code(t, authzParams(verifier))
	bad := func(name string, r *http.Request, status int, errCode, reason string) {
		t.Helper()
		w := h.do(r)
		oauthErr(t, w, status, errCode)
		if status == http.StatusUnauthorized && !strings.HasPrefix(w.Header().Get("WWW-Authenticate"), "Basic ") {
			t.Errorf("%s: 401 without WWW-Authenticate Basic", name)
		}
		h.wantEvent(t, "saas_token", false, reason)
	}
	req := func(form url.Values, user, pass string) *http.Request {
		r := httptest.NewRequest(http.MethodPost, h.issuer()+"/token", strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if user != "" || pass != "" {
			r.SetBasicAuth(user, pass)
		}
		return r
	}
	form := codeForm(code, verifier)
	bad("wrong basic secret", req(form, clientID, "wrong"), 401, "invalid_client", "oidc-client-auth-failed")
	bad("unknown basic client", req(form, "other", url.QueryEscape(clientSecret)), 401, "invalid_client", "oidc-client-unknown")
	post := cloneValues(form)
	post.Set("client_id", clientID)
	post.Set("client_secret", "wrong")
	bad("wrong post secret", req(post, "", ""), 401, "invalid_client", "oidc-client-auth-failed")
	post.Set("client_secret", "")
	bad("empty post secret", req(post, "", ""), 401, "invalid_client", "oidc-client-auth-failed")
	post.Set("client_secret", clientSecret)
	bad("basic and post", req(post, url.QueryEscape(clientID), url.QueryEscape(clientSecret)), 400, "invalid_request", "oidc-client-auth-malformed")
	mismatch := cloneValues(form)
	mismatch.Set("client_id", "other")
	bad("basic with another client_id", req(mismatch, url.QueryEscape(clientID), url.QueryEscape(clientSecret)), 401, "invalid_client", "oidc-client-auth-malformed")
	none := cloneValues(form)
	none.Set("client_id", clientID)
	bad("no secret for a confidential-only app", req(none, "", ""), 401, "invalid_client", "oidc-client-auth-required")
	bad("no client at all", req(form, "", ""), 401, "invalid_client", "oidc-client-auth-required")
	r := req(form, "", "")
	r.Header.Set("Authorization", "Bearer abc")
	bad("other auth scheme", r, 401, "invalid_client", "oidc-client-auth-malformed")

	// None of these used the code up; client_secret_post redeems it.
	okTokens(t, h.tokenReq(authPost, form))
	// Clients that skip the form-encoding inside Basic still authenticate.
	okTokens(t, h.do(req(codeForm(h.code(t, authzParams(verifier)), verifier), clientID, clientSecret)))
}

func TestCodeReplayRevokesIssuedTokens(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	code := h.code(t, authzParams(verifier))
	first := okTokens(t, h.tokenReq(authBasic, codeForm(code, verifier)))
	if w := h.userinfo(first.AccessToken); w.Code != http.StatusOK {
		t.Fatalf("userinfo with the first token: %d", w.Code)
	}

	oauthErr(t, h.tokenReq(authBasic, codeForm(code, verifier)), 400, "invalid_grant")
	h.wantEvent(t, "saas_token", false, "oidc-code-replayed")

	if w := h.userinfo(first.AccessToken); w.Code != http.StatusUnauthorized {
		t.Errorf("userinfo with a token issued from a replayed code: %d, want 401", w.Code)
	}
	oauthErr(t, h.tokenReq(authBasic, refreshForm(first.RefreshToken)), 400, "invalid_grant")
	h.wantEvent(t, "saas_token", false, "oidc-refresh-revoked")
	g := grantOf(t, h, first.AccessToken)
	if g.RevokeReason != store.OIDCRevokedCodeReplayed {
		t.Errorf("grant revoke reason %q", g.RevokeReason)
	}
}

// grantOf returns the grant of an access token.
func grantOf(t *testing.T, h *harness, at string) *store.OIDCGrant {
	t.Helper()
	_, claims := h.decodeJWT(t, at)
	g, err := h.st.GetOIDCGrant(context.Background(), claims["grant_id"].(string))
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestCodeBindings(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	code := h.code(t, authzParams(verifier))
	for name, tc := range map[string]struct {
		form   url.Values
		reason string
	}{
		"other registered redirect_uri": {withForm(codeForm(code, verifier), "redirect_uri", redirectURI2), "oidc-redirect-uri-mismatch"},
		"redirect_uri with slash":       {withForm(codeForm(code, verifier), "redirect_uri", redirectURI+"/"), "oidc-redirect-uri-mismatch"},
		"no redirect_uri":               {withForm(codeForm(code, verifier), "redirect_uri", ""), "oidc-redirect-uri-mismatch"},
		"unknown code":                  {withForm(codeForm(code, verifier), "code", "nope"), "oidc-code-unknown"},
	} {
		t.Run(name, func(t *testing.T) {
			oauthErr(t, h.tokenReq(authBasic, tc.form), 400, "invalid_grant")
			h.wantEvent(t, "saas_token", false, tc.reason)
		})
	}
	// The refused attempts did not consume the code.
	okTokens(t, h.tokenReq(authBasic, codeForm(code, verifier)))

	// Codes live 60 seconds.
	code = h.code(t, authzParams(verifier))
	h.clock.Advance(60 * time.Second)
	oauthErr(t, h.tokenReq(authBasic, codeForm(code, verifier)), 400, "invalid_grant")
	h.wantEvent(t, "saas_token", false, "oidc-code-unknown")
}

func withForm(f url.Values, k, v string) url.Values {
	f = cloneValues(f)
	if v == "" {
		f.Del(k)
	} else {
		f.Set(k, v)
	}
	return f
}

func TestPKCEDowngrade(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	code := h.code(t, authzParams(verifier))
	other := strings.Repeat("x", 43)
	for name, tc := range map[string]struct {
		verifier, reason string
	}{
		"missing verifier":      {"", "oidc-pkce-verifier-missing"},
		"verifier of another":   {other, "oidc-pkce-verifier-mismatch"},
		"challenge as verifier": {s256(verifier), "oidc-pkce-verifier-mismatch"},
		"short verifier":        {"abc", "oidc-pkce-verifier-invalid"},
		"verifier bad chars":    {verifier[:42] + "/", "oidc-pkce-verifier-invalid"},
	} {
		t.Run(name, func(t *testing.T) {
			oauthErr(t, h.tokenReq(authBasic, codeForm(code, tc.verifier)), 400, "invalid_grant")
			h.wantEvent(t, "saas_token", false, tc.reason)
		})
	}
	okTokens(t, h.tokenReq(authBasic, codeForm(code, verifier)))

	// A code issued without a challenge refuses a verifier (an attacker injecting a code
	// into a PKCE-using client's session).
	noPKCE := h.code(t, authzParams(""))
	oauthErr(t, h.tokenReq(authBasic, codeForm(noPKCE, verifier)), 400, "invalid_grant")
	h.wantEvent(t, "saas_token", false, "oidc-pkce-unexpected-verifier")
	okTokens(t, h.tokenReq(authBasic, codeForm(noPKCE, "")))
}

func TestPublicClient(t *testing.T) {
	app := baseApp()
	app.AllowPKCEWithoutClientSecret = true
	h := newHarness(t, harnessOpts{app: app})

	tr := okTokens(t, h.tokenReq(authNone, codeForm(h.code(t, authzParams(verifier)), verifier)))
	if !grantOf(t, h, tr.AccessToken).PublicClient {
		t.Error("grant of a public client not marked public")
	}
	tr = okTokens(t, h.tokenReq(authNone, refreshForm(tr.RefreshToken)))

	// A public client can never redeem a code issued without PKCE. Such a code cannot come out
	// of this app's authorization endpoint, so plant one.
	planted := "planted-code-without-pkce"
	ident, _ := json.Marshal(h.ident)
	err := h.st.CreateOIDCCode(context.Background(), &store.OIDCCode{CodeHash: secretHash(planted), GrantID: "g-planted",
		AppID: appID, ClientID: clientID, RedirectURI: redirectURI, Scopes: []string{"openid"}, UserID: h.user.ID,
		SessionID: sessionID, AuthTime: h.clock.Now(), Identity: ident, ExpiresAt: h.clock.Now().Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	oauthErr(t, h.tokenReq(authNone, codeForm(planted, "")), 401, "invalid_client")
	h.wantEvent(t, "saas_token", false, "oidc-pkce-required")
	okTokens(t, h.tokenReq(authBasic, codeForm(planted, "")))

	// Refresh tokens of a confidential client need the secret, even where public clients may
	// refresh theirs.
	conf := okTokens(t, h.tokenReq(authBasic, codeForm(h.code(t, authzParams(verifier)), verifier)))
	oauthErr(t, h.tokenReq(authNone, refreshForm(conf.RefreshToken)), 401, "invalid_client")
	okTokens(t, h.tokenReq(authBasic, refreshForm(conf.RefreshToken)))
}

func TestRefreshRotationAndReuseDetection(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	tr0 := okTokens(t, h.tokenReq(authBasic, codeForm(h.code(t, authzParams(verifier)), verifier)))
	h.clock.Advance(10 * time.Minute)
	tr1 := okTokens(t, h.tokenReq(authBasic, refreshForm(tr0.RefreshToken)))
	h.wantEvent(t, "saas_token", true, "oidc-refresh-rotated")
	if tr1.RefreshToken == "" || tr1.RefreshToken == tr0.RefreshToken || tr1.AccessToken == tr0.AccessToken {
		t.Fatalf("refresh did not rotate: %+v", tr1)
	}
	_, idt := h.decodeJWT(t, tr1.IDToken)
	if idt["sub"] != h.user.ID || idt["aud"] != clientID || idt["nonce"] != nil ||
		idt["auth_time"] != float64(clockStart.Add(-10*time.Minute).Unix()) || idt["iat"] != float64(h.clock.Now().Unix()) {
		t.Errorf("refreshed ID token %v: want same sub, aud and auth_time, no nonce, a new iat", idt)
	}
	if w := h.userinfo(tr1.AccessToken); w.Code != http.StatusOK {
		t.Fatalf("userinfo after refresh: %d", w.Code)
	}

	// The rotated-out token presented again after the reuse grace period: reuse, the whole
	// family is revoked.
	h.clock.Advance(oidcop.DefaultRefreshReuseGracePeriod)
	oauthErr(t, h.tokenReq(authBasic, refreshForm(tr0.RefreshToken)), 400, "invalid_grant")
	h.wantEvent(t, "saas_token", false, "oidc-refresh-reuse")
	oauthErr(t, h.tokenReq(authBasic, refreshForm(tr1.RefreshToken)), 400, "invalid_grant")
	h.wantEvent(t, "saas_token", false, "oidc-refresh-revoked")
	for name, at := range map[string]string{"first": tr0.AccessToken, "latest": tr1.AccessToken} {
		if w := h.userinfo(at); w.Code != http.StatusUnauthorized {
			t.Errorf("userinfo with the %s access token after a reuse: %d, want 401", name, w.Code)
		}
	}
	if g := grantOf(t, h, tr1.AccessToken); g.RevokeReason != store.OIDCRevokedRefreshReused {
		t.Errorf("grant revoke reason %q", g.RevokeReason)
	}
}

func TestRefreshTokenLifetime(t *testing.T) {
	app := baseApp()
	app.RefreshTokenOptions = &store.RefreshTokenOptions{Lifetime: store.Duration(2 * time.Hour)}
	h := newHarness(t, harnessOpts{app: app})
	tr := okTokens(t, h.tokenReq(authBasic, codeForm(h.code(t, authzParams(verifier)), verifier)))
	h.clock.Advance(2*time.Hour - time.Second)
	tr = okTokens(t, h.tokenReq(authBasic, refreshForm(tr.RefreshToken)))
	// Each rotation starts a new lifetime.
	h.clock.Advance(2*time.Hour - time.Second)
	tr = okTokens(t, h.tokenReq(authBasic, refreshForm(tr.RefreshToken)))
	h.clock.Advance(2 * time.Hour)
	oauthErr(t, h.tokenReq(authBasic, refreshForm(tr.RefreshToken)), 400, "invalid_grant")
	h.wantEvent(t, "saas_token", false, "oidc-refresh-unknown")
}

func TestRefreshRechecksPolicies(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	tr := okTokens(t, h.tokenReq(authBasic, codeForm(h.code(t, authzParams(verifier)), verifier)))

	var gotUser string
	h.set(func() {
		h.recheck = func(_ context.Context, _ *http.Request, app *snapshot.App, userID string) (*identity.Identity, policy.Decision, error) {
			gotUser = userID
			return nil, policy.Decision{Action: policy.ActionDeny, Reasons: []string{"user-inactive"}}, nil
		}
	})
	oauthErr(t, h.tokenReq(authBasic, refreshForm(tr.RefreshToken)), 400, "invalid_grant")
	h.wantEvent(t, "saas_token", false, "oidc-refresh-policy-denied")
	if e := h.lastEvent(t, "saas_token"); !slices.Contains(e.Reasons, "user-inactive") || e.UserID != h.user.ID {
		t.Errorf("denied refresh event %+v: want the policy's reasons and the user", e)
	}
	if gotUser != h.user.ID {
		t.Errorf("Recheck got user %q, want %q", gotUser, h.user.ID)
	}

	h.set(func() {
		h.recheck = func(context.Context, *http.Request, *snapshot.App, string) (*identity.Identity, policy.Decision, error) {
			return nil, policy.Decision{}, errors.New("store down")
		}
	})
	oauthErr(t, h.tokenReq(authBasic, refreshForm(tr.RefreshToken)), 500, "server_error")
	h.wantEvent(t, "saas_token", false, "oidc-refresh-recheck-failed")

	// A refused refresh does not rotate: once the policies admit the user again, the same
	// token works, and the tokens carry the identity Recheck returned.
	h.set(func() {
		h.recheck = func(_ context.Context, _ *http.Request, _ *snapshot.App, userID string) (*identity.Identity, policy.Decision, error) {
			id := *h.ident
			id.Name = "Alice Renamed"
			id.Groups = []identity.Group{{Name: "eng-platform"}}
			return &id, policy.Decision{Action: policy.ActionAllow, PolicyID: "allow-all"}, nil
		}
	})
	tr = okTokens(t, h.tokenReq(authBasic, refreshForm(tr.RefreshToken)))
	_, idt := h.decodeJWT(t, tr.IDToken)
	if idt["name"] != "Alice Renamed" || mustJSON(idt["groups"]) != `["eng-platform"]` {
		t.Errorf("refreshed ID token %v: want the re-checked identity", idt)
	}
	var ui map[string]any
	_ = json.Unmarshal(h.userinfo(tr.AccessToken).Body.Bytes(), &ui)
	if ui["name"] != "Alice Renamed" {
		t.Errorf("userinfo after refresh %v: want the re-checked identity", ui)
	}
}

func TestRevokedUserTokensStopWorking(t *testing.T) {
	for name, revoke := range map[string]func(h *harness) error{
		"user":    func(h *harness) error { return h.st.RevokeUserSessions(context.Background(), h.user.ID) },
		"session": func(h *harness) error { return h.st.RevokeSession(context.Background(), sessionID) },
		"app":     func(h *harness) error { return h.st.RevokeAppTokens(context.Background(), appID) },
	} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, harnessOpts{})
			tr := okTokens(t, h.tokenReq(authBasic, codeForm(h.code(t, authzParams(verifier)), verifier)))
			h.clock.Advance(time.Minute)
			if err := revoke(h); err != nil {
				t.Fatal(err)
			}
			if w := h.userinfo(tr.AccessToken); w.Code != http.StatusUnauthorized {
				t.Errorf("userinfo after revocation: %d, want 401", w.Code)
			}
			oauthErr(t, h.tokenReq(authBasic, refreshForm(tr.RefreshToken)), 400, "invalid_grant")
			e := h.lastEvent(t, "saas_token")
			if e.Allowed || len(e.Reasons) == 0 || !strings.HasSuffix(e.Reasons[len(e.Reasons)-1], "-revoked") {
				t.Errorf("refresh after revocation: event %+v", e)
			}
		})
	}
}

func TestRefreshScope(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	q := authzParams(verifier)
	q.Set("scope", "openid email")
	tr := okTokens(t, h.tokenReq(authBasic, codeForm(h.code(t, q), verifier)))
	f := refreshForm(tr.RefreshToken)
	f.Set("scope", "openid email profile")
	oauthErr(t, h.tokenReq(authBasic, f), 400, "invalid_scope")
	f.Set("scope", "openid")
	tr = okTokens(t, h.tokenReq(authBasic, f))
	if tr.Scope != "openid" {
		t.Errorf("narrowed refresh scope %q", tr.Scope)
	}
	// The grant keeps its scope for the next refresh.
	if tr = okTokens(t, h.tokenReq(authBasic, refreshForm(tr.RefreshToken))); tr.Scope != "openid email" {
		t.Errorf("scope after a narrowed refresh %q, want the original", tr.Scope)
	}
}

func TestTokenEndpointRequests(t *testing.T) {
	app := baseApp()
	app.GrantTypes = []string{"authorization_code"}
	h := newHarness(t, harnessOpts{app: app})
	tr := okTokens(t, h.tokenReq(authBasic, codeForm(h.code(t, authzParams(verifier)), verifier)))
	if tr.RefreshToken != "" {
		t.Error("refresh token issued although refresh_tokens is not a grant type")
	}
	oauthErr(t, h.tokenReq(authBasic, refreshForm("x")), 400, "unauthorized_client")
	oauthErr(t, h.tokenReq(authBasic, url.Values{"grant_type": {"client_credentials"}}), 400, "unsupported_grant_type")
	oauthErr(t, h.tokenReq(authBasic, url.Values{"grant_type": {"password"}}), 400, "unsupported_grant_type")
	oauthErr(t, h.tokenReq(authBasic, url.Values{}), 400, "invalid_request")
	oauthErr(t, h.tokenReq(authBasic, url.Values{"grant_type": {"authorization_code", "authorization_code"}}), 400, "invalid_request")
	oauthErr(t, h.tokenReq(authBasic, url.Values{"grant_type": {"authorization_code"}}), 400, "invalid_request")

	r := httptest.NewRequest(http.MethodPost, h.issuer()+"/token", strings.NewReader(`{"grant_type":"authorization_code"}`))
	r.Header.Set("Content-Type", "application/json")
	oauthErr(t, h.do(r), 400, "invalid_request")

	// Parameters in the URL query are ignored.
	code := h.code(t, authzParams(verifier))
	r = httptest.NewRequest(http.MethodPost, h.issuer()+"/token?"+codeForm(code, verifier).Encode(), strings.NewReader(""))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.SetBasicAuth(clientID, url.QueryEscape(clientSecret))
	oauthErr(t, h.do(r), 400, "invalid_request")
}

func TestUserinfoRejects(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	tr := okTokens(t, h.tokenReq(authBasic, codeForm(h.code(t, authzParams(verifier)), verifier)))

	w := h.userinfo("")
	if w.Code != http.StatusUnauthorized || w.Header().Get("WWW-Authenticate") != `Bearer realm="`+h.issuer()+`"` {
		t.Errorf("userinfo without token: %d %q", w.Code, w.Header().Get("WWW-Authenticate"))
	}
	parts := strings.Split(tr.AccessToken, ".")
	for name, tok := range map[string]string{
		"ID token":       tr.IDToken,
		"garbage":        "not-a-jwt",
		"refresh token":  tr.RefreshToken,
		"tampered":       parts[0] + "." + parts[1] + "x." + parts[2],
		"no signature":   parts[0] + "." + parts[1] + ".",
		"alg none":       "eyJhbGciOiJub25lIiwidHlwIjoiYXQrand0In0." + parts[1] + ".",
		"huge":           strings.Repeat("a", 20000),
		"wrong audience": h.foreignAccessToken(t),
	} {
		t.Run(name, func(t *testing.T) {
			w := h.userinfo(tok)
			if w.Code != http.StatusUnauthorized || !strings.Contains(w.Header().Get("WWW-Authenticate"), `error="invalid_token"`) {
				t.Errorf("userinfo with %s: %d %q", name, w.Code, w.Header().Get("WWW-Authenticate"))
			}
		})
	}
}

// foreignAccessToken is an access token of another client of the same Gatehouse.
func (h *harness) foreignAccessToken(t *testing.T) string {
	t.Helper()
	app := baseApp()
	app.ClientID = "another-client"
	h.setApp("auth.example.com", httpsOpts, app)
	defer h.setApp("auth.example.com", httpsOpts, baseApp())
	q := authzParams(verifier)
	q.Set("client_id", "another-client")
	code := h.code(t, q)
	f := codeForm(code, verifier)
	r := httptest.NewRequest(http.MethodPost, h.issuer()+"/token", strings.NewReader(f.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.SetBasicAuth("another-client", url.QueryEscape(clientSecret))
	return okTokens(t, h.do(r)).AccessToken
}

func TestConcurrentCodeRedemptionOneWinner(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	code := h.code(t, authzParams(verifier))
	const n = 8
	codes := make(chan int, n)
	start := make(chan struct{})
	for range n {
		go func() {
			<-start
			codes <- h.tokenReq(authBasic, codeForm(code, verifier)).Code
		}()
	}
	close(start)
	ok := 0
	for range n {
		if <-codes == http.StatusOK {
			ok++
		}
	}
	if ok != 1 {
		t.Errorf("%d of %d concurrent redemptions of one code succeeded, want 1", ok, n)
	}
}

// TestAuthEventsUseTheClientFunction: auth events carry the client IP and country resolved for
// the request (trusted proxies resolved, httpx.ClientOf), not the socket address.
func TestAuthEventsUseTheClientFunction(t *testing.T) {
	h := newHarness(t, harnessOpts{client: func(*http.Request) (netip.Addr, string) {
		return netip.MustParseAddr("203.0.113.9"), "DE"
	}})
	code := h.code(t, authzParams(verifier))
	okTokens(t, h.tokenReq(authBasic, codeForm(code, verifier)))
	if ev := h.lastEvent(t, "saas_token"); ev.IP != "203.0.113.9" || ev.Country != "DE" {
		t.Errorf("token event IP %q country %q", ev.IP, ev.Country)
	}
}
