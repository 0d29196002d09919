package oidc

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/identity/oidc/oidctest"
)

func TestLogin(t *testing.T) {
	op := oidctest.New(t)
	c := connectorFor(t, op, nil)
	ctx := context.Background()

	req := identity.LoginRequest{State: "flow-state-1", CallbackURL: testCallbackURL}
	start, err := c.StartLogin(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(start.RedirectURL)
	q := u.Query()
	for k, want := range map[string]string{
		"response_type": "code", "client_id": testClientID, "redirect_uri": testCallbackURL,
		"scope": "openid email profile", "state": "flow-state-1", "code_challenge_method": "S256",
	} {
		if got := q.Get(k); got != want {
			t.Errorf("auth request %s = %q, want %q", k, got, want)
		}
	}
	nonce, verifier := start.FlowData[flowNonce], start.FlowData[flowVerifier]
	if len(nonce) < 43 || len(verifier) < 43 || q.Get("nonce") != nonce || q.Get("code_challenge") == "" {
		t.Errorf("nonce/PKCE: flow %v, request %v", start.FlowData, q)
	}
	if strings.Contains(start.RedirectURL, verifier) {
		t.Error("the PKCE verifier leaked into the redirect URL")
	}
	if q.Has("prompt") {
		t.Error("prompt sent although not configured")
	}

	cb := op.Authorize(t, start.RedirectURL)
	r := httptest.NewRequest(http.MethodGet, testCallbackURL+"?"+cb.Encode(), nil)
	if st, err := c.CallbackState(r); err != nil || st != "flow-state-1" {
		t.Fatalf("CallbackState = %q, %v", st, err)
	}
	id, err := c.HandleCallback(ctx, r, req, start.FlowData)
	if err != nil {
		t.Fatal(err)
	}
	if id.Email != "alice@example.com" || id.Name != "Alice Example" || id.IdP != (identity.IdP{ID: "corp-oidc", Type: "oidc"}) {
		t.Errorf("identity = %+v", id)
	}
	if !slices.Equal(id.AMR, []string{"pwd", "mfa"}) {
		t.Errorf("AMR = %v", id.AMR)
	}
	if want := []identity.Group{{Name: "eng"}, {Name: "ops"}}; !slices.Equal(id.Groups, want) {
		t.Errorf("Groups = %v", id.Groups)
	}
	if len(id.OIDCClaims) != 2 || !slices.Equal(id.OIDCClaims["department"], []string{"R&D"}) ||
		!slices.Equal(id.OIDCClaims["roles"], []string{"admin", "7", "true"}) {
		t.Errorf("OIDCClaims = %v", id.OIDCClaims)
	}
	if got := op.LastTokenAuth.Load(); got != "basic" {
		t.Errorf("token endpoint auth = %v, want basic", got)
	}
	if op.DiscoveryHits.Load() != 1 || op.JWKSHits.Load() != 1 || op.UserinfoHits.Load() != 1 {
		t.Errorf("hits: discovery %d, jwks %d, userinfo %d", op.DiscoveryHits.Load(), op.JWKSHits.Load(), op.UserinfoHits.Load())
	}

	// A second login reuses the discovered metadata and the keys.
	if _, err := login(t, op, c, nil); err != nil {
		t.Fatal(err)
	}
	if op.DiscoveryHits.Load() != 1 || op.JWKSHits.Load() != 1 {
		t.Errorf("second login refetched: discovery %d, jwks %d", op.DiscoveryHits.Load(), op.JWKSHits.Load())
	}
	// The code is single-use at the provider: replaying the callback fails at the exchange.
	if _, err := c.HandleCallback(ctx, r, req, start.FlowData); identity.FailureReason(err) != reasonTokenExchange {
		t.Errorf("replayed code: %v", err)
	}
}

// TestLoginFailures runs one full login per case against the fake provider with one thing
// wrong, and checks the auth-log reason.
func TestLoginFailures(t *testing.T) {
	tests := []struct {
		name   string
		setup  func(op *oidctest.Provider)
		config func(raw map[string]any)
		cb     func(op *oidctest.Provider, q url.Values)
		want   string // "" means the login succeeds
	}{
		{name: "wrong state", cb: func(_ *oidctest.Provider, q url.Values) { q.Set("state", "someone-elses") }, want: reasonStateMismatch},
		{name: "no state", cb: func(_ *oidctest.Provider, q url.Values) { q.Del("state") }, want: reasonStateMissing},
		{name: "two states", cb: func(_ *oidctest.Provider, q url.Values) { q.Add("state", "x") }, want: reasonCallbackMalformed},
		{name: "two codes", cb: func(_ *oidctest.Provider, q url.Values) { q.Add("code", "x") }, want: reasonCallbackMalformed},
		{name: "no code", cb: func(_ *oidctest.Provider, q url.Values) { q.Del("code") }, want: reasonCodeMissing},
		{name: "idp error", cb: func(_ *oidctest.Provider, q url.Values) {
			q.Del("code")
			q.Set("error", "access_denied")
			q.Set("error_description", "user said no")
		}, want: reasonIdPError},
		{name: "forged code", cb: func(_ *oidctest.Provider, q url.Values) { q.Set("code", "forged") }, want: reasonTokenExchange},

		// RFC 9207.
		{name: "mixed-up iss parameter", cb: func(_ *oidctest.Provider, q url.Values) { q.Set("iss", "https://evil-idp.example") }, want: reasonIssParamMismatch},
		{name: "iss parameter with trailing slash", cb: func(op *oidctest.Provider, q url.Values) { q.Set("iss", op.Issuer+"/") }, want: reasonIssParamMismatch},
		{name: "mixed-up iss on an error response", cb: func(_ *oidctest.Provider, q url.Values) {
			q.Del("code")
			q.Set("error", "access_denied")
			q.Set("iss", "https://evil-idp.example")
		}, want: reasonIssParamMismatch},
		{name: "iss parameter required", setup: func(op *oidctest.Provider) { op.IssParameterSupported = true },
			cb: func(_ *oidctest.Provider, q url.Values) { q.Del("iss") }, want: reasonIssParamMissing},
		{name: "iss parameter present and right", setup: func(op *oidctest.Provider) { op.IssParameterSupported = true }},
		{name: "iss parameter right without discovery flag", cb: func(op *oidctest.Provider, q url.Values) { q.Set("iss", op.Issuer) }},

		// ID token claims.
		{name: "wrong nonce", setup: claims(func(m map[string]any) { m["nonce"] = "replayed-nonce" }), want: reasonNonceMismatch},
		{name: "no nonce", setup: claims(func(m map[string]any) { delete(m, "nonce") }), want: reasonNonceMissing},
		{name: "nonce not a string", setup: claims(func(m map[string]any) { m["nonce"] = 1 }), want: reasonNonceMismatch},
		{name: "wrong issuer", setup: claims(func(m map[string]any) { m["iss"] = "https://evil-idp.example" }), want: reasonIssuerMismatch},
		{name: "issuer differs by a slash", setup: func(op *oidctest.Provider) {
			op.IDTokenClaims = func(m map[string]any) { m["iss"] = op.Issuer + "/" }
		}, want: reasonIssuerMismatch},
		{name: "wrong audience", setup: claims(func(m map[string]any) { m["aud"] = "another-client" }), want: reasonAudienceMismatch},
		{name: "audience prefix", setup: claims(func(m map[string]any) { m["aud"] = testClientID + "x" }), want: reasonAudienceMismatch},
		{name: "audience missing", setup: claims(func(m map[string]any) { delete(m, "aud") }), want: reasonAudienceMismatch},
		{name: "audiences without azp", setup: claims(func(m map[string]any) { m["aud"] = []string{testClientID, "other"} }), want: reasonAZPMismatch},
		{name: "audiences with azp", setup: claims(func(m map[string]any) {
			m["aud"], m["azp"] = []string{"other", testClientID}, testClientID
		})},
		{name: "wrong azp", setup: claims(func(m map[string]any) { m["azp"] = "other" }), want: reasonAZPMismatch},
		{name: "no sub", setup: claims(func(m map[string]any) { delete(m, "sub") }), want: reasonSubjectMissing},
		{name: "expired", setup: func(op *oidctest.Provider) {
			op.IDTokenClaims = func(m map[string]any) { m["exp"] = op.Clock.Now().Add(-2 * clockSkew).Unix() }
		}, want: reasonExpired},
		{name: "expired within skew", setup: func(op *oidctest.Provider) {
			op.IDTokenClaims = func(m map[string]any) { m["exp"] = op.Clock.Now().Add(-clockSkew / 2).Unix() }
		}},
		{name: "no exp", setup: claims(func(m map[string]any) { delete(m, "exp") }), want: reasonIDTokenMalformed},
		{name: "exp as a string", setup: claims(func(m map[string]any) { m["exp"] = "9999999999" }), want: reasonIDTokenMalformed},
		{name: "issued in the future", setup: func(op *oidctest.Provider) {
			op.IDTokenClaims = func(m map[string]any) { m["iat"] = op.Clock.Now().Add(2 * clockSkew).Unix() }
		}, want: reasonIssuedInFuture},
		{name: "not yet valid", setup: func(op *oidctest.Provider) {
			op.IDTokenClaims = func(m map[string]any) { m["nbf"] = op.Clock.Now().Add(2 * clockSkew).Unix() }
		}, want: reasonNotYetValid},
		{name: "at_hash mismatch", setup: claims(func(m map[string]any) { m["at_hash"] = oidctest.ATHash("another access token") }), want: reasonATHashMismatch},

		// Signatures and keys.
		{name: "bad signature", setup: signer(t, func(t testing.TB, m map[string]any) string {
			return oidctest.SignJWT(t, jose.RS256, oidctest.OtherRSAKey(), testKID, m)
		}), want: reasonSignatureInvalid},
		{name: "tampered payload", setup: signer(t, func(t testing.TB, m map[string]any) string {
			good := strings.Split(oidctest.SignJWT(t, jose.RS256, oidctest.SigningKey(), testKID, m), ".")
			m["email"] = "mallory@example.com"
			forged := strings.Split(oidctest.SignJWT(t, jose.RS256, oidctest.OtherRSAKey(), testKID, m), ".")
			return good[0] + "." + forged[1] + "." + good[2]
		}), want: reasonSignatureInvalid},
		{name: "alg none", setup: signer(t, func(_ testing.TB, m map[string]any) string {
			return oidctest.RawJWT(map[string]any{"alg": "none", "kid": testKID}, m, "")
		}), want: reasonAlgNotAllowed},
		{name: "HS256 with the client secret", setup: signer(t, func(t testing.TB, m map[string]any) string {
			return oidctest.SignJWT(t, jose.HS256, []byte(testSecret+strings.Repeat("x", 32)), testKID, m)
		}), want: reasonAlgNotAllowed},
		{name: "HS256 with the public key as secret", setup: signer(t, func(t testing.TB, m map[string]any) string {
			return oidctest.SignJWT(t, jose.HS256, oidctest.SigningKey().PublicKey.N.Bytes(), testKID, m)
		}), want: reasonAlgNotAllowed},
		{name: "RS256 token, kid names an EC key", setup: func(op *oidctest.Provider) {
			op.JWKS = func() []jose.JSONWebKey {
				return []jose.JSONWebKey{{Key: oidctest.ECKey().Public(), KeyID: testKID, Use: "sig"}}
			}
		}, want: reasonKeyAlgMismatch},
		{name: "key pinned to another alg", setup: func(op *oidctest.Provider) {
			op.JWKS = func() []jose.JSONWebKey {
				return []jose.JSONWebKey{{Key: oidctest.SigningKey().Public(), KeyID: testKID, Algorithm: "PS256", Use: "sig"}}
			}
		}, want: reasonKeyAlgMismatch},
		{name: "encryption key", setup: func(op *oidctest.Provider) {
			op.JWKS = func() []jose.JSONWebKey {
				return []jose.JSONWebKey{{Key: oidctest.SigningKey().Public(), KeyID: testKID, Algorithm: "RSA-OAEP", Use: "enc"}}
			}
		}, want: reasonKeyUnknown},
		{name: "ES256", setup: func(op *oidctest.Provider) {
			op.JWKS = func() []jose.JSONWebKey {
				return []jose.JSONWebKey{{Key: oidctest.ECKey().Public(), KeyID: "ec", Use: "sig"}}
			}
			op.Sign = func(m map[string]any) string { return oidctest.SignJWT(t, jose.ES256, oidctest.ECKey(), "ec", m) }
		}},
		{name: "ES384 with a P-256 key", setup: func(op *oidctest.Provider) {
			op.JWKS = func() []jose.JSONWebKey {
				return []jose.JSONWebKey{{Key: oidctest.ECKey().Public(), KeyID: "ec", Use: "sig"}}
			}
			op.Sign = func(m map[string]any) string {
				return oidctest.RawJWT(map[string]any{"alg": "ES384", "kid": "ec"}, m, "AAAA")
			}
		}, want: reasonKeyAlgMismatch},
		{name: "PS256", setup: signer(t, func(t testing.TB, m map[string]any) string {
			return oidctest.SignJWT(t, jose.PS256, oidctest.SigningKey(), "", m) // no kid: every fitting key is tried
		}), want: reasonKeyAlgMismatch}, // the published key is pinned to RS256
		{name: "no kid", setup: signer(t, func(t testing.TB, m map[string]any) string {
			return oidctest.SignJWT(t, jose.RS256, oidctest.SigningKey(), "", m)
		})},
		{name: "unknown kid", setup: signer(t, func(t testing.TB, m map[string]any) string {
			return oidctest.SignJWT(t, jose.RS256, oidctest.SigningKey(), "random-kid", m)
		}), want: reasonKeyUnknown},
		{name: "crit header", setup: signer(t, func(t testing.TB, m map[string]any) string {
			return oidctest.RawJWT(map[string]any{"alg": "RS256", "kid": testKID, "crit": []string{"exp"}, "exp": 1}, m, "AAAA")
		}), want: reasonIDTokenMalformed},
		{name: "access token type", setup: signer(t, func(t testing.TB, m map[string]any) string {
			return oidctest.RawJWT(map[string]any{"alg": "RS256", "kid": testKID, "typ": "at+jwt"}, m, "AAAA")
		}), want: reasonIDTokenMalformed},
		{name: "JWE instead of JWS", setup: signer(t, func(_ testing.TB, _ map[string]any) string { return "a.b.c.d.e" }), want: reasonIDTokenMalformed},
		{name: "oversized ID token", setup: claims(func(m map[string]any) { m["pad"] = strings.Repeat("x", maxIDTokenBytes) }), want: reasonIDTokenMalformed},

		// Token response.
		{name: "no id_token", setup: func(op *oidctest.Provider) { op.TokenResponse = func(m map[string]any) { delete(m, "id_token") } }, want: reasonIDTokenMissing},
		{name: "not a bearer token", setup: func(op *oidctest.Provider) { op.TokenResponse = func(m map[string]any) { m["token_type"] = "MAC" } }, want: reasonTokenResponse},
		{name: "wrong client secret", config: func(raw map[string]any) { raw["client_secret"] = "nope" }, want: reasonTokenExchange},

		// UserInfo and the e-mail address.
		{name: "userinfo sub differs", setup: userinfo(func(m map[string]any) { m["sub"] = "user-2" }), want: reasonUserinfoSubMismatch},
		{name: "userinfo without sub", setup: userinfo(func(m map[string]any) { delete(m, "sub") }), want: reasonUserinfoSubMismatch},
		{name: "email_verified false", setup: claims(func(m map[string]any) { m["email_verified"] = false }), want: reasonEmailUnverified},
		{name: "email_verified false in userinfo", setup: userinfo(func(m map[string]any) { m["email_verified"] = "false" }), want: reasonEmailUnverified},
		{name: "email_verified odd value", setup: claims(func(m map[string]any) { m["email_verified"] = 1 }), want: reasonEmailUnverified},
		{name: "email_verified as string true", setup: claims(func(m map[string]any) { m["email_verified"] = "true" })},
		{name: "email only in userinfo", setup: claims(func(m map[string]any) { delete(m, "email") })},
		{name: "no email anywhere", setup: func(op *oidctest.Provider) {
			op.IDTokenClaims = func(m map[string]any) { delete(m, "email") }
			op.UserinfoClaims = func(m map[string]any) { delete(m, "email") }
		}, want: reasonEmailMissing},
		{name: "email with display name", setup: claims(func(m map[string]any) { m["email"] = "Mallory <alice@example.com>" }), want: reasonEmailInvalid},
		{name: "email with two @", setup: claims(func(m map[string]any) { m["email"] = "alice@evil.com@example.com" }), want: reasonEmailInvalid},
		{name: "email not a string", setup: claims(func(m map[string]any) { m["email"] = []string{"alice@example.com"} }), want: reasonEmailInvalid},
		{name: "email with spaces", setup: claims(func(m map[string]any) { m["email"] = " alice@example.com" }), want: reasonEmailInvalid},
		// Look-alikes are refused, never mapped onto alice@example.com (package mailaddr).
		{name: "email with KELVIN SIGN", setup: claims(func(m map[string]any) { m["email"] = "\u212Alice@example.com" }), want: reasonEmailInvalid},
		{name: "email with LONG S", setup: claims(func(m map[string]any) { m["email"] = "alice@example.\u017Fom" }), want: reasonEmailInvalid},
		{name: "email with a zero-width space", setup: claims(func(m map[string]any) { m["email"] = "ali\u200Bce@example.com" }), want: reasonEmailInvalid},
		{name: "email with Cyrillic a", setup: claims(func(m map[string]any) { m["email"] = "\u0430lice@example.com" }), want: reasonEmailInvalid},
		{name: "email with fullwidth letters", setup: claims(func(m map[string]any) { m["email"] = "alice@\uFF45xample.com" }), want: reasonEmailInvalid},
		{name: "email in upper case", setup: claims(func(m map[string]any) { m["email"] = "Alice@EXAMPLE.com" })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op := oidctest.New(t)
			if tt.setup != nil {
				tt.setup(op)
			}
			c := connectorFor(t, op, tt.config)
			id, err := login(t, op, c, func(q url.Values) {
				if tt.cb != nil {
					tt.cb(op, q)
				}
			})
			if tt.want == "" {
				if err != nil {
					t.Fatalf("login failed: %v", err)
				}
				if id.Email != "alice@example.com" {
					t.Errorf("email %q", id.Email)
				}
				return
			}
			var le *identity.LoginError
			if !errors.As(err, &le) {
				t.Fatalf("error %v (%T) is not a *identity.LoginError; identity %+v", err, err, id)
			}
			if le.Reason != tt.want {
				t.Errorf("reason %q, want %q (%v)", le.Reason, tt.want, err)
			}
			if id != nil {
				t.Error("identity returned with an error")
			}
		})
	}
}

func claims(f func(map[string]any)) func(*oidctest.Provider) {
	return func(op *oidctest.Provider) { op.IDTokenClaims = f }
}

func userinfo(f func(map[string]any)) func(*oidctest.Provider) {
	return func(op *oidctest.Provider) { op.UserinfoClaims = f }
}

func signer(t testing.TB, f func(testing.TB, map[string]any) string) func(*oidctest.Provider) {
	return func(op *oidctest.Provider) { op.Sign = func(m map[string]any) string { return f(t, m) } }
}

func TestCallbackStateVerbatim(t *testing.T) {
	c := connectorFor(t, oidctest.New(t), nil)
	for _, st := range []string{"abc", "a b+c/=", "ünïcode", strings.Repeat("s", 1000)} {
		r := httptest.NewRequest(http.MethodGet, testCallbackURL+"?"+url.Values{"state": {st}, "code": {"c"}}.Encode(), nil)
		got, err := c.CallbackState(r)
		if err != nil || got != st {
			t.Errorf("CallbackState = %q, %v; want %q", got, err, st)
		}
	}
	for query, want := range map[string]string{
		"code=c":             reasonStateMissing,
		"state=a&state=b":    reasonCallbackMalformed,
		"state=%zz":          reasonCallbackMalformed,
		"state=a;b":          reasonCallbackMalformed,
		"state=" + longValue: reasonCallbackMalformed,
	} {
		r := httptest.NewRequest(http.MethodGet, testCallbackURL, nil)
		r.URL.RawQuery = query
		if _, err := c.CallbackState(r); identity.FailureReason(err) != want {
			t.Errorf("CallbackState(%.40q) error %v, want %s", query, err, want)
		}
	}
}

var longValue = strings.Repeat("x", maxCallbackQuery)

func TestFlowDataRequired(t *testing.T) {
	op := oidctest.New(t)
	c := connectorFor(t, op, nil)
	ctx := context.Background()
	req := identity.LoginRequest{State: "st", CallbackURL: testCallbackURL}
	start, err := c.StartLogin(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	cb := op.Authorize(t, start.RedirectURL)
	for _, drop := range []string{flowNonce, flowVerifier, flowRedirectURI} {
		flow := maps(start.FlowData)
		delete(flow, drop)
		r := httptest.NewRequest(http.MethodGet, testCallbackURL+"?"+cb.Encode(), nil)
		if _, err := c.HandleCallback(ctx, r, req, flow); identity.FailureReason(err) != reasonFlowInvalid {
			t.Errorf("without %s: %v", drop, err)
		}
	}
	// The flow's state must be the callback's even if authn were to look up the wrong flow.
	r := httptest.NewRequest(http.MethodGet, testCallbackURL+"?"+cb.Encode(), nil)
	if _, err := c.HandleCallback(ctx, r, identity.LoginRequest{State: "other", CallbackURL: testCallbackURL}, start.FlowData); identity.FailureReason(err) != reasonStateMismatch {
		t.Errorf("other flow: %v", err)
	}
	if op.TokenHits.Load() != 0 {
		t.Errorf("the code was sent to the token endpoint %d times", op.TokenHits.Load())
	}
}

func maps(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func TestPKCEDisabledAndPrompt(t *testing.T) {
	op := oidctest.New(t)
	c := connectorFor(t, op, func(raw map[string]any) {
		raw["pkce_enabled"] = false
		raw["prompt"] = "login"
		raw["scopes"] = "openid email"
	})
	start, err := c.StartLogin(context.Background(), identity.LoginRequest{State: "s", CallbackURL: testCallbackURL})
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(start.RedirectURL)
	q := u.Query()
	if q.Has("code_challenge") || q.Get("prompt") != "login" || q.Get("scope") != "openid email" {
		t.Errorf("auth request %v", q)
	}
	if _, ok := start.FlowData[flowVerifier]; ok {
		t.Error("verifier kept without PKCE")
	}
	if _, err := login(t, op, c, nil); err != nil {
		t.Fatal(err)
	}
}

func TestClientSecretPost(t *testing.T) {
	op := oidctest.New(t)
	op.AuthMethods = []string{"client_secret_post", "private_key_jwt"}
	if _, err := login(t, op, connectorFor(t, op, nil), nil); err != nil {
		t.Fatal(err)
	}
	if got := op.LastTokenAuth.Load(); got != "post" {
		t.Errorf("token endpoint auth = %v, want post", got)
	}
	op.AuthMethods = []string{"client_secret_post", "client_secret_basic"}
	if _, err := login(t, op, connectorFor(t, op, nil), nil); err != nil {
		t.Fatal(err)
	}
	if got := op.LastTokenAuth.Load(); got != "basic" {
		t.Errorf("token endpoint auth = %v, want basic", got)
	}
}

func TestManualEndpoints(t *testing.T) {
	op := oidctest.New(t)
	op.IssParameterSupported = true // would be required with discovery; without it iss is optional
	c := connectorFor(t, op, func(raw map[string]any) {
		raw["auth_url"] = op.Issuer + "/authorize"
		raw["token_url"] = op.Issuer + "/token"
		raw["certs_url"] = op.Issuer + "/jwks"
	})
	if _, err := login(t, op, c, func(q url.Values) { q.Del("iss") }); err != nil {
		t.Fatal(err)
	}
	if op.DiscoveryHits.Load() != 0 || op.UserinfoHits.Load() != 0 {
		t.Errorf("discovery %d, userinfo %d; want none", op.DiscoveryHits.Load(), op.UserinfoHits.Load())
	}
	// A mixed-up iss is still rejected.
	if _, err := login(t, op, c, func(q url.Values) { q.Set("iss", "https://evil.example") }); identity.FailureReason(err) != reasonIssParamMismatch {
		t.Errorf("mixed-up iss: %v", err)
	}
	// With a manual userinfo_url, its sub is checked too.
	op.UserinfoClaims = func(m map[string]any) { m["sub"] = "user-2" }
	c = connectorFor(t, op, func(raw map[string]any) {
		raw["auth_url"] = op.Issuer + "/authorize"
		raw["token_url"] = op.Issuer + "/token"
		raw["certs_url"] = op.Issuer + "/jwks"
		raw["userinfo_url"] = op.Issuer + "/userinfo"
	})
	if _, err := login(t, op, c, nil); identity.FailureReason(err) != reasonUserinfoSubMismatch {
		t.Errorf("manual userinfo: %v", err)
	}
}

func TestEmailClaimAndGroupsSpelling(t *testing.T) {
	op := oidctest.New(t)
	op.IDTokenClaims = func(m map[string]any) {
		delete(m, "email")
		delete(m, "groups")
		m["upn"] = "Bob@Corp.Example"
		m["Groups"] = "admins"
		m["amr"] = "hwk"
	}
	op.UserinfoClaims = func(m map[string]any) { delete(m, "email") }
	c := connectorFor(t, op, func(raw map[string]any) {
		raw["email_claim_name"] = "upn"
		raw["claims"] = []any{"locale", "Groups"}
	})
	id, err := login(t, op, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	if id.Email != "bob@corp.example" || !slices.Equal(id.Groups, []identity.Group{{Name: "admins"}}) || !slices.Equal(id.AMR, []string{"hwk"}) {
		t.Errorf("identity %+v", id)
	}
	// Claims missing from the ID token come from UserInfo.
	if !slices.Equal(id.OIDCClaims["locale"], []string{"pt-PT"}) || !slices.Equal(id.OIDCClaims["Groups"], []string{"admins"}) {
		t.Errorf("OIDCClaims %v", id.OIDCClaims)
	}
}

func TestDiscovery(t *testing.T) {
	op := oidctest.New(t)
	op.DiscoveryIssuer = "https://impostor.example"
	c := connectorFor(t, op, nil)
	ctx := context.Background()
	req := identity.LoginRequest{State: "s", CallbackURL: testCallbackURL}
	if _, err := c.StartLogin(ctx, req); identity.FailureReason(err) != reasonDiscoveryFailed {
		t.Fatalf("impostor discovery: %v", err)
	}
	// A failed discovery is not retried for retryInterval, however many logins come.
	op.DiscoveryIssuer = ""
	for range 5 {
		if _, err := c.StartLogin(ctx, req); identity.FailureReason(err) != reasonDiscoveryFailed {
			t.Fatalf("within the retry interval: %v", err)
		}
	}
	if n := op.DiscoveryHits.Load(); n != 1 {
		t.Errorf("discovery fetched %d times, want 1", n)
	}
	op.Clock.Advance(retryInterval)
	if _, err := c.StartLogin(ctx, req); err != nil {
		t.Fatal(err)
	}
	// Metadata is refreshed after metadataMaxAge; a failed refresh keeps the old document.
	op.Clock.Advance(metadataMaxAge)
	op.DiscoveryIssuer = "https://impostor.example"
	if _, err := c.StartLogin(ctx, req); err != nil {
		t.Fatalf("stale metadata not kept: %v", err)
	}
	if n := op.DiscoveryHits.Load(); n != 3 {
		t.Errorf("discovery fetched %d times, want 3", n)
	}
}

func TestJWKSRefetchRateLimit(t *testing.T) {
	op := oidctest.New(t)
	kid := testKID
	op.Sign = func(m map[string]any) string { return oidctest.SignJWT(t, jose.RS256, oidctest.SigningKey(), kid, m) }
	c := connectorFor(t, op, nil)
	if _, err := login(t, op, c, nil); err != nil {
		t.Fatal(err)
	}
	if n := op.JWKSHits.Load(); n != 1 {
		t.Fatalf("jwks hits %d after the first login", n)
	}

	// Tokens naming random kids: one refetch per retryInterval, no more.
	op.Clock.Advance(retryInterval)
	for i := range 20 {
		kid = "random-" + randomToken()[:8]
		if _, err := login(t, op, c, nil); identity.FailureReason(err) != reasonKeyUnknown {
			t.Fatalf("random kid %d: %v", i, err)
		}
		op.Clock.Advance(time.Second / 4) // 20 logins in 5s
	}
	if n := op.JWKSHits.Load(); n != 2 {
		t.Errorf("jwks hits %d after a burst of unknown kids, want 2", n)
	}
	op.Clock.Advance(retryInterval)
	if _, err := login(t, op, c, nil); identity.FailureReason(err) != reasonKeyUnknown {
		t.Fatal(err)
	}
	if n := op.JWKSHits.Load(); n != 3 {
		t.Errorf("jwks hits %d after the window passed, want 3", n)
	}

	// Key rotation: the provider signs with a new key; the unknown kid refetches and succeeds.
	op.Clock.Advance(retryInterval)
	op.JWKS = func() []jose.JSONWebKey {
		return []jose.JSONWebKey{oidctest.PublicJWK(oidctest.SigningKey(), testKID), oidctest.PublicJWK(oidctest.OtherRSAKey(), "key-b")}
	}
	kid = "key-b"
	op.Sign = func(m map[string]any) string { return oidctest.SignJWT(t, jose.RS256, oidctest.OtherRSAKey(), kid, m) }
	if _, err := login(t, op, c, nil); err != nil {
		t.Fatalf("after rotation: %v", err)
	}
	if n := op.JWKSHits.Load(); n != 4 {
		t.Errorf("jwks hits %d after rotation, want 4", n)
	}

	// Withdrawn keys stop verifying once the cache is refreshed (jwksSoftMaxAge).
	op.JWKS = func() []jose.JSONWebKey { return []jose.JSONWebKey{oidctest.PublicJWK(oidctest.SigningKey(), testKID)} }
	op.Clock.Advance(jwksSoftMaxAge)
	if _, err := login(t, op, c, nil); identity.FailureReason(err) != reasonKeyUnknown {
		t.Errorf("withdrawn key: %v", err)
	}
	if n := op.JWKSHits.Load(); n != 5 {
		t.Errorf("jwks hits %d after the soft max age, want 5", n)
	}
}

func TestJWKSUnavailable(t *testing.T) {
	op := oidctest.New(t)
	c := connectorFor(t, op, nil)
	if _, err := login(t, op, c, nil); err != nil {
		t.Fatal(err)
	}
	// The provider's JWKS breaks: cached keys keep verifying (fail static) until jwksMaxAge.
	op.JWKSDown.Store(true)
	op.Clock.Advance(2 * jwksSoftMaxAge)
	if _, err := login(t, op, c, nil); err != nil {
		t.Fatalf("stale keys not used: %v", err)
	}
	op.Clock.Advance(jwksMaxAge)
	if _, err := login(t, op, c, nil); identity.FailureReason(err) != reasonJWKSUnavailable {
		t.Errorf("expired keys: %v", err)
	}
}

func TestBoundedResponses(t *testing.T) {
	op := oidctest.New(t)
	op.UserinfoClaims = func(m map[string]any) { m["pad"] = strings.Repeat("x", maxUserinfoBytes) }
	if _, err := login(t, op, connectorFor(t, op, nil), nil); identity.FailureReason(err) != reasonUserinfoFailed {
		t.Errorf("oversized userinfo: %v", err)
	}
	op = oidctest.New(t)
	op.TokenResponse = func(m map[string]any) { m["pad"] = strings.Repeat("x", maxTokenBytes) }
	if _, err := login(t, op, connectorFor(t, op, nil), nil); identity.FailureReason(err) != reasonTokenExchange {
		t.Errorf("oversized token response: %v", err)
	}
	op = oidctest.New(t)
	op.JWKS = func() []jose.JSONWebKey {
		keys := make([]jose.JSONWebKey, maxJWKSKeys+1)
		for i := range keys {
			keys[i] = oidctest.PublicJWK(oidctest.SigningKey(), testKID)
		}
		return keys
	}
	if _, err := login(t, op, connectorFor(t, op, nil), nil); identity.FailureReason(err) != reasonJWKSUnavailable {
		t.Errorf("too many keys: %v", err)
	}
}

func TestCheckClaimsHook(t *testing.T) {
	op := oidctest.New(t)
	cfg, err := ParseConfig(map[string]any{"client_id": testClientID, "client_secret": testSecret, "issuer": op.Issuer})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		check func(map[string]any) error
		want  string
	}{
		{func(map[string]any) error { return errors.New("no") }, reasonClaimsRejected},
		{func(map[string]any) error { return identity.Fail("preset-reason", nil) }, "preset-reason"},
		{func(m map[string]any) error { return nil }, ""},
	} {
		c, err := NewFromConfig(storeIdP("p"), cfg, envFor(op), Options{Type: "preset", CheckClaims: tt.check, AuthParams: url.Values{"hd": {"example.com"}}})
		if err != nil {
			t.Fatal(err)
		}
		start, _ := c.StartLogin(context.Background(), identity.LoginRequest{State: "s", CallbackURL: testCallbackURL})
		if u, _ := url.Parse(start.RedirectURL); u.Query().Get("hd") != "example.com" {
			t.Errorf("AuthParams not sent: %s", start.RedirectURL)
		}
		id, err := login(t, op, c, nil)
		if got := identity.FailureReason(err); tt.want != "" && got != tt.want {
			t.Errorf("reason %q, want %q", got, tt.want)
		}
		if tt.want == "" && (err != nil || id.IdP.Type != "preset" || c.Type() != "preset") {
			t.Errorf("login %+v, %v", id, err)
		}
	}
}

// TestForceAuthn: a forced fresh login asks the provider for prompt=login and max_age=0 (keeping a
// configured prompt) and refuses an answer whose auth_time is missing or predates the request.
func TestForceAuthn(t *testing.T) {
	op := oidctest.New(t)
	c := connectorFor(t, op, func(m map[string]any) { m["prompt"] = "select_account" })
	ctx := context.Background()
	run := func(authTime any) error {
		t.Helper()
		op.IDTokenClaims = func(claims map[string]any) {
			if authTime == nil {
				delete(claims, "auth_time")
			} else {
				claims["auth_time"] = authTime
			}
		}
		req := identity.LoginRequest{State: randomToken(), CallbackURL: testCallbackURL, ForceAuthn: true}
		start, err := c.StartLogin(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		q, _ := url.ParseQuery(start.RedirectURL[strings.IndexByte(start.RedirectURL, '?')+1:])
		if q.Get("prompt") != "select_account login" || q.Get("max_age") != "0" {
			t.Errorf("forced login asked prompt=%q max_age=%q", q.Get("prompt"), q.Get("max_age"))
		}
		cb := op.Authorize(t, start.RedirectURL)
		r := httptest.NewRequest(http.MethodGet, testCallbackURL+"?"+cb.Encode(), nil)
		_, err = c.HandleCallback(ctx, r, req, start.FlowData)
		return err
	}
	now := op.Clock.Now().Unix()
	if err := run(float64(now)); err != nil {
		t.Errorf("fresh auth_time refused: %v", err)
	}
	for name, at := range map[string]any{"missing": nil, "an hour old": float64(now - 3600), "a string": "now"} {
		if err := run(at); identity.FailureReason(err) != reasonReauthMissing {
			t.Errorf("auth_time %s: %v, want %s", name, err, reasonReauthMissing)
		}
	}
	// Without ForceAuthn an old auth_time is fine, and no max_age is sent.
	op.IDTokenClaims = func(claims map[string]any) { claims["auth_time"] = float64(now - 3600) }
	if _, err := login(t, op, c, nil); err != nil {
		t.Errorf("ordinary login with an old auth_time: %v", err)
	}
}
