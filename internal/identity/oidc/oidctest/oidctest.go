// Package oidctest runs a scriptable OpenID provider on 127.0.0.1 for tests: discovery, JWKS,
// an authorization endpoint that logs the user in at once, token and UserInfo endpoints. Tests
// change its knobs (claims, signing, keys, discovery flags) to produce negative cases; it keeps
// counters of the requests it served. It is for tests only and never verifies anything beyond
// what a login needs (client secret, code, redirect URI, PKCE).
package oidctest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// The registered client and the provider's key ID.
const (
	ClientID     = "gatehouse-test"
	ClientSecret = "s3cret:with%special chars"
	KeyID        = "key-a"
)

// Epoch is where a Provider's clock starts.
var Epoch = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

var (
	keysOnce            sync.Once
	signingKey, rsaKeyB *rsa.PrivateKey
	ecKey               *ecdsa.PrivateKey
)

func genKeys() {
	keysOnce.Do(func() {
		var err error
		if signingKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		if rsaKeyB, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		if ecKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			panic(err)
		}
	})
}

// SigningKey is the key every Provider signs ID tokens with (published as KeyID).
func SigningKey() *rsa.PrivateKey { genKeys(); return signingKey }

// OtherRSAKey is an RSA key no Provider publishes unless told to (an attacker's, or the next
// key of a rotation).
func OtherRSAKey() *rsa.PrivateKey { genKeys(); return rsaKeyB }

// ECKey is a P-256 key no Provider publishes unless told to.
func ECKey() *ecdsa.PrivateKey { genKeys(); return ecKey }

// Clock is a settable clock.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type grant struct {
	redirectURI, nonce, challenge, method string
}

// Provider is a running fake OpenID provider. Set its knobs before starting a login; they must
// not change while a request is being served.
type Provider struct {
	// Issuer is the provider's URL and issuer identifier (http://127.0.0.1:port).
	Issuer string
	Server *httptest.Server
	// Clock drives iat and exp; give Clock.Now to the relying party too.
	Clock *Clock

	// Counters of the requests served.
	DiscoveryHits, JWKSHits, TokenHits, UserinfoHits atomic.Int32
	// LastTokenAuth is "basic" or "post": how the client authenticated at the token endpoint.
	LastTokenAuth atomic.Value
	// JWKSDown makes the JWKS endpoint answer 503.
	JWKSDown atomic.Bool

	// IssParameterSupported announces RFC 9207 support and adds iss to authorization responses.
	IssParameterSupported bool
	// AuthMethods is token_endpoint_auth_methods_supported (unset: not announced).
	AuthMethods []string
	// NoUserinfo leaves the userinfo_endpoint out of discovery.
	NoUserinfo bool
	// DiscoveryIssuer, when set, is the issuer the discovery document claims.
	DiscoveryIssuer string
	// IDTokenClaims, UserinfoClaims and TokenResponse edit what the provider sends.
	IDTokenClaims  func(map[string]any)
	UserinfoClaims func(map[string]any)
	TokenResponse  func(map[string]any)
	// Sign replaces the ID token signing (alg none, another key, ...).
	Sign func(claims map[string]any) string
	// JWKS replaces the published keys.
	JWKS func() []jose.JSONWebKey

	t     testing.TB
	mu    sync.Mutex
	codes map[string]grant
}

// New starts a Provider on 127.0.0.1; it stops when the test ends.
func New(t testing.TB) *Provider {
	t.Helper()
	genKeys()
	p := &Provider{t: t, codes: map[string]grant{}, Clock: &Clock{t: Epoch}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", p.discovery)
	mux.HandleFunc("GET /authorize", p.authorizeEndpoint)
	mux.HandleFunc("GET /jwks", p.jwks)
	mux.HandleFunc("POST /token", p.token)
	mux.HandleFunc("GET /userinfo", p.userinfo)
	p.Server = httptest.NewServer(mux)
	t.Cleanup(p.Server.Close)
	p.Issuer = p.Server.URL
	return p
}

// Client returns an HTTP client for the provider's endpoints.
func (p *Provider) Client() *http.Client { return p.Server.Client() }

func (p *Provider) discovery(w http.ResponseWriter, _ *http.Request) {
	p.DiscoveryHits.Add(1)
	iss := p.Issuer
	if p.DiscoveryIssuer != "" {
		iss = p.DiscoveryIssuer
	}
	doc := map[string]any{
		"issuer":                                iss,
		"authorization_endpoint":                p.Issuer + "/authorize",
		"token_endpoint":                        p.Issuer + "/token",
		"jwks_uri":                              p.Issuer + "/jwks",
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256", "ES256"},
	}
	if !p.NoUserinfo {
		doc["userinfo_endpoint"] = p.Issuer + "/userinfo"
	}
	if p.AuthMethods != nil {
		doc["token_endpoint_auth_methods_supported"] = p.AuthMethods
	}
	if p.IssParameterSupported {
		doc["authorization_response_iss_parameter_supported"] = true
	}
	writeJSON(w, http.StatusOK, doc)
}

// PublishedKeys returns the keys the JWKS endpoint serves.
func (p *Provider) PublishedKeys() []jose.JSONWebKey {
	if p.JWKS != nil {
		return p.JWKS()
	}
	return []jose.JSONWebKey{PublicJWK(SigningKey(), KeyID)}
}

// PublicJWK is the public half of k as an RS256 signature key named kid.
func PublicJWK(k *rsa.PrivateKey, kid string) jose.JSONWebKey {
	return jose.JSONWebKey{Key: k.Public(), KeyID: kid, Algorithm: string(jose.RS256), Use: "sig"}
}

func (p *Provider) jwks(w http.ResponseWriter, _ *http.Request) {
	p.JWKSHits.Add(1)
	if p.JWKSDown.Load() {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	writeJSON(w, http.StatusOK, jose.JSONWebKeySet{Keys: p.PublishedKeys()})
}

// Authorize plays the authorization endpoint and the user's browser for a relying party's
// redirect URL: it checks the request, issues a code and returns the callback query.
func (p *Provider) Authorize(t testing.TB, redirectURL string) url.Values {
	t.Helper()
	u, err := url.Parse(redirectURL)
	if err != nil {
		t.Fatal(err)
	}
	if got := u.Scheme + "://" + u.Host + u.Path; got != p.Issuer+"/authorize" {
		t.Fatalf("authorization endpoint %q, want %q", got, p.Issuer+"/authorize")
	}
	cb, msg := p.authorize(u.Query())
	if msg != "" {
		t.Fatalf("bad authorization request %s: %s", redirectURL, msg)
	}
	return cb
}

func (p *Provider) authorize(q url.Values) (url.Values, string) {
	if q.Get("response_type") != "code" || q.Get("client_id") != ClientID || q.Get("redirect_uri") == "" ||
		!strings.Contains(" "+q.Get("scope")+" ", " openid ") {
		return nil, "want response_type code, the test client, a redirect_uri and the openid scope"
	}
	code := randomString()
	p.mu.Lock()
	p.codes[code] = grant{q.Get("redirect_uri"), q.Get("nonce"), q.Get("code_challenge"), q.Get("code_challenge_method")}
	p.mu.Unlock()
	cb := url.Values{"code": {code}, "state": {q.Get("state")}}
	if p.IssParameterSupported {
		cb.Set("iss", p.Issuer)
	}
	return cb, ""
}

// authorizeEndpoint logs the user in at once and redirects to the redirect_uri with a code, for
// tests that drive a whole login with an HTTP client.
func (p *Provider) authorizeEndpoint(w http.ResponseWriter, r *http.Request) {
	cb, msg := p.authorize(r.URL.Query())
	if msg != "" {
		http.Error(w, msg, http.StatusBadRequest)
		return
	}
	u, err := url.Parse(r.URL.Query().Get("redirect_uri"))
	if err != nil {
		http.Error(w, "bad redirect_uri", http.StatusBadRequest)
		return
	}
	u.RawQuery = cb.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

func (p *Provider) token(w http.ResponseWriter, r *http.Request) {
	p.TokenHits.Add(1)
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request"})
		return
	}
	id, secret, basic := r.BasicAuth()
	if basic {
		p.LastTokenAuth.Store("basic")
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	} else {
		p.LastTokenAuth.Store("post")
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id != ClientID || secret != ClientSecret {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client"})
		return
	}
	p.mu.Lock()
	g, ok := p.codes[r.PostForm.Get("code")]
	delete(p.codes, r.PostForm.Get("code")) // single use
	p.mu.Unlock()
	if !ok || r.PostForm.Get("grant_type") != "authorization_code" || g.redirectURI != r.PostForm.Get("redirect_uri") {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant"})
		return
	}
	if g.challenge != "" {
		sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
		if g.method != "S256" || base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant", "error_description": "PKCE verification failed"})
			return
		}
	}
	access := randomString()
	claims := p.BaseClaims(g.nonce)
	claims["at_hash"] = ATHash(access)
	if p.IDTokenClaims != nil {
		p.IDTokenClaims(claims)
	}
	resp := map[string]any{"access_token": access, "token_type": "Bearer", "expires_in": 3600, "id_token": p.sign(claims)}
	if p.TokenResponse != nil {
		p.TokenResponse(resp)
	}
	writeJSON(w, http.StatusOK, resp)
}

// BaseClaims are the ID token claims before IDTokenClaims edits them.
func (p *Provider) BaseClaims(nonce string) map[string]any {
	now := p.Clock.Now()
	return map[string]any{
		"iss":            p.Issuer,
		"sub":            "user-1",
		"aud":            ClientID,
		"exp":            now.Add(5 * time.Minute).Unix(),
		"iat":            now.Unix(),
		"nonce":          nonce,
		"email":          "Alice@Example.com",
		"email_verified": true,
		"name":           "Alice Example",
		"groups":         []string{"eng", "ops"},
		"amr":            []string{"pwd", "mfa"},
		"department":     "R&D",
		"roles":          []any{"admin", 7, true},
	}
}

// ATHash is the at_hash of an access token for RS256.
func ATHash(access string) string {
	sum := sha256.Sum256([]byte(access))
	return base64.RawURLEncoding.EncodeToString(sum[:16])
}

func (p *Provider) sign(claims map[string]any) string {
	if p.Sign != nil {
		return p.Sign(claims)
	}
	return SignJWT(p.t, jose.RS256, SigningKey(), KeyID, claims)
}

func (p *Provider) userinfo(w http.ResponseWriter, r *http.Request) {
	p.UserinfoHits.Add(1)
	if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	claims := map[string]any{"sub": "user-1", "email": "alice@example.com", "email_verified": true, "locale": "pt-PT"}
	if p.UserinfoClaims != nil {
		p.UserinfoClaims(claims)
	}
	writeJSON(w, http.StatusOK, claims)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// SignJWT signs claims as a compact JWS with key (*rsa.PrivateKey, *ecdsa.PrivateKey, or []byte
// for HS*), naming kid unless it is "".
func SignJWT(t testing.TB, alg jose.SignatureAlgorithm, key any, kid string, claims map[string]any) string {
	t.Helper()
	var sk any = key
	if kid != "" {
		sk = jose.JSONWebKey{Key: key, KeyID: kid}
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: sk}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := s.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	out, err := obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// RawJWT builds header.claims.sig without signing (alg none and other forgeries).
func RawJWT(header, claims map[string]any, sig string) string {
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	return base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c) + "." + sig
}

func randomString() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
