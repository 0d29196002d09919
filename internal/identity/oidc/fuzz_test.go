package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/identity/oidc/oidctest"
	"github.com/gatehouse/gatehouse/internal/store"
)

// memIssuer is the issuer of the in-memory provider used by the fuzzer and the benchmark; its
// endpoints are answered by memTransport, so no socket is opened.
const (
	memIssuer = "https://idp.fuzz.example"
	memState  = "st"
	memNonce  = "nonce-0123456789abcdef0123456789abcdef0123"
)

// memTransport answers the provider's endpoints from memory.
type memTransport struct {
	jwks     []byte
	token    func() []byte
	userinfo func() []byte
}

func (m *memTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		_ = r.Body.Close()
	}
	var body []byte
	switch r.URL.Path {
	case "/jwks":
		body = m.jwks
	case "/token":
		body = m.token()
	case "/userinfo":
		body = m.userinfo()
	default:
		return &http.Response{StatusCode: http.StatusNotFound, Body: io.NopCloser(strings.NewReader("")), Request: r}, nil
	}
	return &http.Response{
		StatusCode: http.StatusOK,
		Header:     http.Header{"Content-Type": {"application/json"}},
		Body:       io.NopCloser(strings.NewReader(string(body))),
		Request:    r,
	}, nil
}

// memConnector returns a connector with hand-configured endpoints served by tr.
func memConnector(t testing.TB, tr http.RoundTripper, userinfo bool) *Connector {
	t.Helper()
	raw := map[string]any{
		"client_id": testClientID, "client_secret": testSecret, "issuer": memIssuer,
		"auth_url": memIssuer + "/authorize", "token_url": memIssuer + "/token", "certs_url": memIssuer + "/jwks",
		"claims": []any{"department", "roles"},
	}
	if userinfo {
		raw["userinfo_url"] = memIssuer + "/userinfo"
	}
	cfg, err := ParseConfig(raw)
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewFromConfig(store.IdentityProvider{ID: "fuzz"}, cfg,
		identity.Env{HTTPClient: &http.Client{Transport: tr}, Now: func() time.Time { return oidctest.Epoch }}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func memJWKS(t testing.TB) []byte {
	b, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		oidctest.PublicJWK(oidctest.SigningKey(), testKID),
		{Key: oidctest.ECKey().Public(), KeyID: "ec", Use: "sig"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// memClaims are valid ID token claims for the in-memory provider.
func memClaims() map[string]any {
	return map[string]any{
		"iss": memIssuer, "sub": "user-1", "aud": testClientID,
		"iat": oidctest.Epoch.Unix(), "exp": oidctest.Epoch.Add(5 * time.Minute).Unix(),
		"nonce": memNonce, "email": "Alice@Example.com", "email_verified": true, "name": "Alice",
		"groups": []string{"eng", "ops"}, "amr": []string{"pwd", "mfa"}, "department": "R&D", "roles": []any{"a", 1, true},
	}
}

func tokenBody(idToken string) []byte {
	b, _ := json.Marshal(map[string]any{"access_token": "at", "token_type": "Bearer", "id_token": idToken})
	return b
}

// FuzzCallback drives HandleCallback end to end with an arbitrary callback query, token
// endpoint answer and UserInfo answer. It must never panic, and it returns an identity or a
// *identity.LoginError, never both, never neither. Seeds come from the table tests' inputs.
func FuzzCallback(f *testing.F) {
	good := memClaims()
	sign := func(alg jose.SignatureAlgorithm, key any, kid string, edit func(map[string]any)) string {
		m := memClaims()
		if edit != nil {
			edit(m)
		}
		return oidctest.SignJWT(f, alg, key, kid, m)
	}
	ui, _ := json.Marshal(map[string]any{"sub": "user-1", "email": "alice@example.com", "email_verified": true})
	okQuery := "state=" + memState + "&code=c"
	seeds := []struct{ query, idToken string }{
		{okQuery, sign(jose.RS256, oidctest.SigningKey(), testKID, nil)},
		{okQuery, sign(jose.ES256, oidctest.ECKey(), "ec", nil)},
		{okQuery, sign(jose.RS256, oidctest.SigningKey(), "", nil)},
		{okQuery, sign(jose.RS256, oidctest.OtherRSAKey(), testKID, nil)},
		{okQuery, sign(jose.RS256, oidctest.SigningKey(), "unknown", nil)},
		{okQuery, sign(jose.RS256, oidctest.SigningKey(), testKID, func(m map[string]any) { m["nonce"] = "x" })},
		{okQuery, sign(jose.RS256, oidctest.SigningKey(), testKID, func(m map[string]any) { m["aud"] = []string{"a", testClientID} })},
		{okQuery, sign(jose.RS256, oidctest.SigningKey(), testKID, func(m map[string]any) { m["exp"] = "soon" })},
		{okQuery, sign(jose.HS256, []byte(strings.Repeat("k", 32)), testKID, nil)},
		{okQuery, oidctest.RawJWT(map[string]any{"alg": "none"}, good, "")},
		{okQuery, oidctest.RawJWT(map[string]any{"alg": "RS256", "crit": []string{"b64"}, "b64": false}, good, "AA")},
		{okQuery + "&iss=" + url.QueryEscape(memIssuer), "a.b.c"},
		{okQuery + "&iss=https://evil.example", ""},
		{"state=st&error=access_denied&error_description=%00%ff", ""},
		{"state=st&state=st&code=c", ""},
		{"state=%zz", ""},
		{"", ""},
	}
	for _, s := range seeds {
		f.Add(s.query, string(tokenBody(s.idToken)), string(ui))
	}
	f.Add(okQuery, `{"access_token":"at","token_type":"bearer","id_token":null}`, `{"sub":1}`)
	f.Add(okQuery, `[]`, `null`)

	jwks := memJWKS(f)
	f.Fuzz(func(t *testing.T, query, tokenAnswer, userinfoAnswer string) {
		tr := &memTransport{jwks: jwks, token: func() []byte { return []byte(tokenAnswer) }, userinfo: func() []byte { return []byte(userinfoAnswer) }}
		c := memConnector(t, tr, true)
		r := httptest.NewRequest(http.MethodGet, "https://auth.example.com/cb", nil)
		r.URL.RawQuery = query
		if st, err := c.CallbackState(r); err == nil && st == "" {
			t.Fatal("CallbackState returned an empty state without error")
		}
		flow := map[string]string{flowNonce: memNonce, flowVerifier: "v", flowRedirectURI: "https://auth.example.com/cb"}
		id, err := c.HandleCallback(context.Background(), r, identity.LoginRequest{State: memState}, flow)
		var le *identity.LoginError
		switch {
		case err != nil && id != nil:
			t.Fatal("identity and error")
		case err == nil && id == nil:
			t.Fatal("neither identity nor error")
		case err != nil && !errors.As(err, &le):
			t.Fatalf("error %T is not a LoginError: %v", err, err)
		case err == nil && (id.Email == "" || id.Email != strings.ToLower(id.Email)):
			t.Fatalf("accepted identity with e-mail %q", id.Email)
		}
	})
}

// BenchmarkCallbackAfterExchange measures what HandleCallback does after the token exchange:
// ID token verification (RS256, cached JWKS), at_hash, the UserInfo request and its sub check,
// and building the identity. "in-memory" answers UserInfo from memory (the CPU cost alone);
// "loopback" fetches it over HTTP from an oidctest provider on 127.0.0.1.
func BenchmarkCallbackAfterExchange(b *testing.B) {
	ctx := context.Background()
	idToken := oidctest.SignJWT(b, jose.RS256, oidctest.SigningKey(), testKID, memClaims())
	ui, _ := json.Marshal(map[string]any{"sub": "user-1", "email": "alice@example.com", "email_verified": true, "locale": "pt"})
	tr := &memTransport{jwks: memJWKS(b), token: func() []byte { return tokenBody(idToken) }, userinfo: func() []byte { return ui }}
	tokens := &tokenResponse{AccessToken: "at", TokenType: "Bearer", IDToken: idToken}

	run := func(b *testing.B, c *Connector) {
		md, err := c.provider(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.finish(ctx, md, tokens, memNonce, 0); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		n := 0
		for b.Loop() {
			if _, err := c.finish(ctx, md, tokens, memNonce, 0); err != nil {
				b.Fatal(err)
			}
			n++
		}
		b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "ops/s")
	}
	b.Run("id-token-only", func(b *testing.B) { run(b, memConnector(b, tr, false)) })
	b.Run("in-memory-userinfo", func(b *testing.B) { run(b, memConnector(b, tr, true)) })
	b.Run("loopback-userinfo", func(b *testing.B) {
		p := oidctest.New(b)
		c := memConnector(b, tr, false)
		// The ID token comes from memory; UserInfo from the loopback provider.
		c.static.UserinfoEndpoint = p.Issuer + "/userinfo"
		c.client = &http.Client{Transport: splitTransport{mem: tr, http: p.Client().Transport}}
		run(b, c)
	})
}

// splitTransport sends the in-memory provider's requests to mem and the rest over HTTP.
type splitTransport struct {
	mem, http http.RoundTripper
}

func (s splitTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Host == strings.TrimPrefix(memIssuer, "https://") {
		return s.mem.RoundTrip(r)
	}
	return s.http.RoundTrip(r)
}

// TestFuzzSeedsReachIdentity checks that the fuzzer's valid seed goes all the way to an identity,
// so that mutations start from the deepest path.
func TestFuzzSeedsReachIdentity(t *testing.T) {
	idToken := oidctest.SignJWT(t, jose.RS256, oidctest.SigningKey(), testKID, memClaims())
	ui := []byte(`{"sub":"user-1","email_verified":true}`)
	tr := &memTransport{jwks: memJWKS(t), token: func() []byte { return tokenBody(idToken) }, userinfo: func() []byte { return ui }}
	c := memConnector(t, tr, true)
	r := httptest.NewRequest(http.MethodGet, "https://auth.example.com/cb?state="+memState+"&code=c", nil)
	flow := map[string]string{flowNonce: memNonce, flowVerifier: "v", flowRedirectURI: "https://auth.example.com/cb"}
	id, err := c.HandleCallback(context.Background(), r, identity.LoginRequest{State: memState}, flow)
	if err != nil || id.Email != "alice@example.com" || len(id.OIDCClaims["roles"]) != 3 {
		t.Fatalf("identity %+v, %v", id, err)
	}
}
