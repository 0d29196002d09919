package oidcop_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/store"
)

func TestDiscovery(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	w := h.get(".well-known/openid-configuration", nil)
	if w.Code != http.StatusOK || w.Header().Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("discovery answered %d (CORS %q): %s", w.Code, w.Header().Get("Access-Control-Allow-Origin"), w.Body)
	}
	var d map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &d); err != nil {
		t.Fatal(err)
	}
	iss := "https://auth.example.com/.gatehouse/sso/oidc/" + appID
	want := map[string]any{
		"issuer":                                         iss,
		"authorization_endpoint":                         iss + "/authorization",
		"token_endpoint":                                 iss + "/token",
		"userinfo_endpoint":                              iss + "/userinfo",
		"jwks_uri":                                       iss + "/jwks",
		"response_types_supported":                       []any{"code"},
		"grant_types_supported":                          []any{"authorization_code", "refresh_token"},
		"code_challenge_methods_supported":               []any{"S256"},
		"id_token_signing_alg_values_supported":          []any{"RS256"},
		"token_endpoint_auth_methods_supported":          []any{"client_secret_basic", "client_secret_post"},
		"scopes_supported":                               []any{"openid", "email", "profile", "groups", "offline_access"},
		"authorization_response_iss_parameter_supported": true,
		"request_parameter_supported":                    false,
		"request_uri_parameter_supported":                false,
	}
	for k, v := range want {
		if g, _ := json.Marshal(d[k]); string(g) != mustJSON(v) {
			t.Errorf("discovery %s = %s, want %s", k, g, mustJSON(v))
		}
	}
	claims, _ := d["claims_supported"].([]any)
	for _, c := range []string{"sub", "email", "groups", "nonce", "department", "employee_id"} {
		if !slices.Contains(claims, any(c)) {
			t.Errorf("claims_supported %v lacks %q", claims, c)
		}
	}

	// A public-only app without refresh tokens advertises exactly that.
	app := baseApp()
	app.ClientSecretSHA256, app.AllowPKCEWithoutClientSecret = "", true
	app.GrantTypes = []string{"authorization_code_with_pkce"}
	h.setApp("auth.example.com", httpsOpts, app)
	w = h.get(".well-known/openid-configuration", nil)
	d = nil
	_ = json.Unmarshal(w.Body.Bytes(), &d)
	if g := mustJSON(d["token_endpoint_auth_methods_supported"]); g != `["none"]` {
		t.Errorf("public app: token_endpoint_auth_methods_supported = %s, want [\"none\"]", g)
	}
	if g := mustJSON(d["grant_types_supported"]); g != `["authorization_code"]` {
		t.Errorf("app without refresh tokens: grant_types_supported = %s", g)
	}
	if g := mustJSON(d["scopes_supported"]); strings.Contains(g, "offline_access") {
		t.Errorf("app without refresh tokens advertises offline_access: %s", g)
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func TestJWKSPublishesCurrentAndPreviousKeys(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	kids := func() []string {
		w := h.get("jwks", nil)
		var set struct {
			Keys []struct {
				Kid, Kty, Alg, Use, N, E string
			} `json:"keys"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &set); err != nil || w.Code != http.StatusOK {
			t.Fatalf("jwks answered %d: %s", w.Code, w.Body)
		}
		var out []string
		for _, k := range set.Keys {
			if k.Kty != "RSA" || k.Alg != "RS256" || k.Use != "sig" || k.N == "" || k.E == "" {
				t.Errorf("jwks key %+v", k)
			}
			out = append(out, k.Kid)
		}
		if strings.Contains(w.Body.String(), "public_cert") {
			t.Errorf("jwks is not a plain JWK set: %s", w.Body)
		}
		return out
	}
	before := kids()
	_, kid := h.keys.Signer()
	if len(before) != 1 || before[0] != kid {
		t.Fatalf("jwks kids %v, want [%s]", before, kid)
	}
	if err := h.keys.Rotate(t.Context()); err != nil {
		t.Fatal(err)
	}
	_, next := h.keys.Signer()
	if after := kids(); !slices.Equal(after, []string{next, kid}) {
		t.Errorf("after a rotation jwks kids = %v, want [%s %s]", after, next, kid)
	}
}

func TestAuthorizationIssuesCode(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	q := authzParams(verifier)
	q.Set("scope", "openid email unknown-scope offline_access")
	code := h.code(t, q)
	if len(code) < 43 {
		t.Errorf("code %q is short", code)
	}
	h.wantEvent(t, "saas_sso", true, "oidc-code-issued")
	e := h.lastEvent(t, "saas_sso")
	if e.UserID != h.user.ID || e.Email != userEmail || e.IdPID != "idp-oidc" || e.PolicyID != "allow-all" {
		t.Errorf("saas_sso event %+v", e)
	}
	// The code is redeemable; unknown scopes were dropped, offline_access kept (refresh tokens on).
	tr := okTokens(t, h.tokenReq(authBasic, codeForm(code, verifier)))
	if tr.Scope != "openid email offline_access" {
		t.Errorf("granted scope %q, want %q", tr.Scope, "openid email offline_access")
	}

	// The registered URI's own query is kept, and the parameters are added to it.
	q = authzParams(verifier)
	q.Set("redirect_uri", redirectURI2)
	w := h.get("authorization", q)
	if loc := w.Header().Get("Location"); !strings.HasPrefix(loc, redirectURI2+"&code=") && !strings.HasPrefix(loc, redirectURI2+"&") {
		t.Errorf("Location %q does not extend %q", loc, redirectURI2)
	}

	// POST authorization requests work too.
	r := httptest.NewRequest(http.MethodPost, h.issuer()+"/authorization", strings.NewReader(authzParams(verifier).Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if got := location(t, h.do(r), redirectURI); got.Get("code") == "" {
		t.Errorf("POST authorization: %v", got)
	}
}

func TestAuthorizationLoginRoundTrip(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.set(func() { h.loggedOut = true })
	q := authzParams(verifier)
	q.Set("redirect_uri", "https://saas.example.com/oauth/callback2?tenant=7")
	w := h.get("authorization", q)
	if w.Code != http.StatusFound || !strings.HasPrefix(w.Header().Get("Location"), "/login?") {
		t.Fatalf("logged-out authorization answered %d %q, want the login redirect Authorize wrote", w.Code, w.Header().Get("Location"))
	}
	rp := h.returnPaths[len(h.returnPaths)-1]
	wantPrefix := "/.gatehouse/sso/oidc/" + appID + "/authorization?"
	if !strings.HasPrefix(rp, wantPrefix) || strings.Contains(rp, "//") || strings.ContainsAny(rp, "\\\r\n#") {
		t.Fatalf("returnPath %q: want %s... without // or \\", rp, wantPrefix)
	}
	// After the login the browser comes back to returnPath and gets its code.
	h.set(func() { h.loggedOut = false })
	w = h.do(httptest.NewRequest(http.MethodGet, "https://auth.example.com"+rp, nil))
	got := location(t, w, "https://saas.example.com/oauth/callback2?tenant=7")
	if got.Get("code") == "" || got.Get("state") != "state-123" {
		t.Errorf("after login: %v", got)
	}
}

func TestAuthorizationRedirectURIExactMatch(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	for name, uri := range map[string]string{
		"trailing slash":     redirectURI + "/",
		"upper-case host":    "https://SAAS.example.com/oauth/callback",
		"upper-case path":    "https://saas.example.com/OAuth/callback",
		"upper-case scheme":  "HTTPS://saas.example.com/oauth/callback",
		"extra query":        redirectURI + "?next=/admin",
		"missing query":      "https://saas.example.com/oauth/callback2",
		"other query":        "https://saas.example.com/oauth/callback2?tenant=8",
		"longer path":        redirectURI + "/evil",
		"path prefix":        "https://saas.example.com/oauth/call",
		"fragment":           redirectURI + "#frag",
		"empty fragment":     redirectURI + "#",
		"explicit port":      "https://saas.example.com:443/oauth/callback",
		"other port":         "https://saas.example.com:8443/oauth/callback",
		"http scheme":        "http://saas.example.com/oauth/callback",
		"userinfo":           "https://attacker@saas.example.com/oauth/callback",
		"host suffix":        "https://saas.example.com.evil.com/oauth/callback",
		"encoded path":       "https://saas.example.com/oauth%2Fcallback",
		"dot segment":        "https://saas.example.com/oauth/../oauth/callback",
		"double slash":       "https://saas.example.com//oauth/callback",
		"trailing dot host":  "https://saas.example.com./oauth/callback",
		"javascript":         "javascript:alert(1)//https://saas.example.com/oauth/callback",
		"backslash":          `https://saas.example.com\oauth/callback`,
		"leading whitespace": " " + redirectURI,
	} {
		t.Run(name, func(t *testing.T) {
			q := authzParams(verifier)
			q.Set("redirect_uri", uri)
			before := h.authorized
			w := h.get("authorization", q)
			if w.Code != http.StatusBadRequest || w.Header().Get("Location") != "" {
				t.Fatalf("answered %d, Location %q; want 400 and an error page, never a redirect", w.Code, w.Header().Get("Location"))
			}
			if !strings.Contains(w.Body.String(), "not registered") {
				t.Errorf("error page does not explain: %.200s", w.Body)
			}
			if h.authorized != before {
				t.Error("Authorize was called for a request with a bad redirect_uri")
			}
			h.wantEvent(t, "saas_sso", false, "oidc-redirect-uri-mismatch")
		})
	}
}

func TestAuthorizationClientErrorsNeverRedirect(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	for name, tc := range map[string]struct {
		mutate func(url.Values)
		reason string
	}{
		"unknown client":    {func(q url.Values) { q.Set("client_id", "other") }, "oidc-client-id-unknown"},
		"missing client":    {func(q url.Values) { q.Del("client_id") }, "oidc-client-id-missing"},
		"repeated client":   {func(q url.Values) { q.Add("client_id", clientID) }, "oidc-request-malformed"},
		"missing redirect":  {func(q url.Values) { q.Del("redirect_uri") }, "oidc-redirect-uri-missing"},
		"repeated redirect": {func(q url.Values) { q.Add("redirect_uri", redirectURI2) }, "oidc-request-malformed"},
	} {
		t.Run(name, func(t *testing.T) {
			q := authzParams(verifier)
			tc.mutate(q)
			w := h.get("authorization", q)
			if w.Code != http.StatusBadRequest || w.Header().Get("Location") != "" {
				t.Fatalf("answered %d, Location %q; want 400 without a redirect", w.Code, w.Header().Get("Location"))
			}
			h.wantEvent(t, "saas_sso", false, tc.reason)
		})
	}
}

func TestAuthorizationErrorsRedirectToClient(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	for name, tc := range map[string]struct {
		mutate       func(url.Values)
		code, reason string
	}{
		"implicit":               {func(q url.Values) { q.Set("response_type", "token") }, "unsupported_response_type", "oidc-response-type-refused"},
		"id_token":               {func(q url.Values) { q.Set("response_type", "id_token") }, "unsupported_response_type", "oidc-response-type-refused"},
		"hybrid":                 {func(q url.Values) { q.Set("response_type", "code id_token") }, "unsupported_response_type", "oidc-response-type-refused"},
		"no response_type":       {func(q url.Values) { q.Del("response_type") }, "invalid_request", "oidc-response-type-missing"},
		"no openid":              {func(q url.Values) { q.Set("scope", "email profile") }, "invalid_scope", "oidc-scope-openid-missing"},
		"no scope":               {func(q url.Values) { q.Del("scope") }, "invalid_scope", "oidc-scope-openid-missing"},
		"PKCE plain":             {func(q url.Values) { q.Set("code_challenge_method", "plain"); q.Set("code_challenge", verifier) }, "invalid_request", "oidc-pkce-method-refused"},
		"PKCE without method":    {func(q url.Values) { q.Del("code_challenge_method") }, "invalid_request", "oidc-pkce-method-refused"},
		"PKCE method only":       {func(q url.Values) { q.Del("code_challenge") }, "invalid_request", "oidc-pkce-invalid"},
		"PKCE bad challenge":     {func(q url.Values) { q.Set("code_challenge", "short") }, "invalid_request", "oidc-pkce-invalid"},
		"request object":         {func(q url.Values) { q.Set("request", "eyJ.eyJ.sig") }, "request_not_supported", "oidc-request-object-refused"},
		"request_uri":            {func(q url.Values) { q.Set("request_uri", "https://x/r") }, "request_uri_not_supported", "oidc-request-object-refused"},
		"form_post":              {func(q url.Values) { q.Set("response_mode", "form_post") }, "invalid_request", "oidc-response-mode-refused"},
		"repeated scope":         {func(q url.Values) { q.Add("scope", "openid") }, "invalid_request", "oidc-request-malformed"},
		"prompt none with login": {func(q url.Values) { q.Set("prompt", "none login") }, "invalid_request", "oidc-request-malformed"},
		"huge nonce":             {func(q url.Values) { q.Set("nonce", strings.Repeat("n", 600)) }, "invalid_request", "oidc-request-malformed"},
	} {
		t.Run(name, func(t *testing.T) {
			q := authzParams(verifier)
			tc.mutate(q)
			before := h.authorized
			got := location(t, h.get("authorization", q), redirectURI)
			if got.Get("error") != tc.code || got.Get("code") != "" || got.Get("state") != "state-123" || got.Get("iss") != h.issuer() {
				t.Errorf("redirect parameters %v, want error=%s with state and iss and no code", got, tc.code)
			}
			if h.authorized != before {
				t.Error("Authorize was called for an invalid request")
			}
			h.wantEvent(t, "saas_sso", false, tc.reason)
		})
	}
}

func TestAuthorizationPKCERequired(t *testing.T) {
	for name, mutate := range map[string]func(*store.SaaSApp){
		"public clients allowed":       func(a *store.SaaSApp) { a.AllowPKCEWithoutClientSecret = true },
		"authorization_code_with_pkce": func(a *store.SaaSApp) { a.GrantTypes = []string{"authorization_code_with_pkce"} },
	} {
		t.Run(name, func(t *testing.T) {
			app := baseApp()
			mutate(app)
			h := newHarness(t, harnessOpts{app: app})
			got := location(t, h.get("authorization", authzParams("")), redirectURI)
			if got.Get("error") != "invalid_request" || got.Get("code") != "" {
				t.Errorf("authorization without PKCE: %v, want invalid_request", got)
			}
			h.wantEvent(t, "saas_sso", false, "oidc-pkce-required")
			h.code(t, authzParams(verifier))
		})
	}
	// Without either, PKCE is optional for the confidential client.
	h := newHarness(t, harnessOpts{})
	h.code(t, authzParams(""))
}

func TestAuthorizationPromptNone(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	q := authzParams(verifier)
	q.Set("prompt", "none")
	h.code(t, q)

	h.set(func() { h.loggedOut = true })
	got := location(t, h.get("authorization", q), redirectURI)
	if got.Get("error") != "login_required" {
		t.Errorf("prompt=none while logged out: %v, want login_required", got)
	}
	h.set(func() { h.loggedOut, h.denied = false, true })
	got = location(t, h.get("authorization", q), redirectURI)
	if got.Get("error") != "access_denied" {
		t.Errorf("prompt=none while denied: %v, want access_denied", got)
	}
}

func TestAuthorizationDeniedByPolicy(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.set(func() { h.denied = true })
	w := h.get("authorization", authzParams(verifier))
	if w.Code != http.StatusForbidden || w.Header().Get("Location") != "" {
		t.Errorf("denied user: %d %q, want the block page Authorize rendered", w.Code, w.Header().Get("Location"))
	}
}

func TestAuthorizationRequiredClaimMissing(t *testing.T) {
	app := baseApp()
	app.CustomClaims = append(app.CustomClaims, store.OIDCClaim{Name: "cost_center", Scope: "profile", Required: true,
		Source: store.AttributeSource{Name: "costcenter"}})
	h := newHarness(t, harnessOpts{app: app})
	w := h.get("authorization", authzParams(verifier))
	if w.Code != http.StatusForbidden || w.Header().Get("Location") != "" || !strings.Contains(w.Body.String(), "cost_center") {
		t.Fatalf("required claim missing: %d %q %.200s", w.Code, w.Header().Get("Location"), w.Body)
	}
	h.wantEvent(t, "saas_sso", false, "oidc-required-claim-missing")

	// The claim's scope not requested: not released, so not required.
	q := authzParams(verifier)
	q.Set("scope", "openid email")
	h.code(t, q)
}

func TestUnknownEndpointsAndMethods(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	if w := h.get("nope", nil); w.Code != http.StatusNotFound {
		t.Errorf("unknown endpoint: %d", w.Code)
	}
	if w := h.get("", nil); w.Code != http.StatusNotFound {
		t.Errorf("issuer root: %d", w.Code)
	}
	if w := h.get("token", nil); w.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET token: %d", w.Code)
	}
	r := httptest.NewRequest(http.MethodOptions, h.issuer()+"/token", nil)
	if w := h.do(r); w.Code != http.StatusNoContent || w.Header().Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("token preflight: %d %v", w.Code, w.Header())
	}
	w := httptest.NewRecorder()
	h.p.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/x", nil), nil, "jwks")
	if w.Code != http.StatusNotFound {
		t.Errorf("nil app: %d", w.Code)
	}
}
