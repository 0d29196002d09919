// Package oidc implements the generic OpenID Connect login method (identity provider type
// "oidc") as an identity.RedirectConnector and identity.CallbackConnector: the authorization code
// flow with PKCE S256, state and nonce bound to the login flow, the RFC 9207 `iss` check, ID token
// verification against the provider's JWKS (exact issuer, audience, azp, expiry, nonce; asymmetric
// algorithms only, key type bound to the algorithm), and the UserInfo `sub` check.
//
// Provider presets (package google) build on it through NewFromConfig and Options.
//
// Every login failure is an *identity.LoginError whose reason names the check that failed, for the
// auth log: oidc-state-missing, oidc-state-mismatch, oidc-callback-malformed,
// oidc-iss-parameter-missing, oidc-iss-parameter-mismatch, oidc-idp-error, oidc-code-missing,
// oidc-flow-invalid, oidc-discovery-failed, oidc-token-exchange-failed, oidc-token-response-invalid,
// oidc-id-token-missing, oidc-id-token-malformed, oidc-algorithm-not-allowed,
// oidc-signing-key-unknown, oidc-key-algorithm-mismatch, oidc-jwks-unavailable,
// oidc-signature-invalid, oidc-issuer-mismatch, oidc-audience-mismatch, oidc-azp-mismatch,
// oidc-subject-missing, oidc-token-expired, oidc-token-not-yet-valid, oidc-token-issued-in-future,
// oidc-nonce-missing, oidc-nonce-mismatch, oidc-at-hash-mismatch, oidc-userinfo-failed,
// oidc-userinfo-sub-mismatch, oidc-email-missing, oidc-email-invalid, oidc-email-unverified,
// oidc-reauthentication-missing (a forced fresh login whose auth_time predates it) and
// oidc-claims-rejected (a preset's check, e.g. Google's hosted domain, may use its own reason). The
// causes may quote provider answers; they are for the log, never for the user.
package oidc

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Flow data keys (identity.LoginStart.FlowData).
const (
	flowNonce       = "nonce"
	flowVerifier    = "pkce_verifier"
	flowRedirectURI = "redirect_uri"
	// flowAuthAfter (Unix seconds) is set for a forced fresh authentication: the ID token's
	// auth_time must not be older.
	flowAuthAfter = "auth_after"
)

const (
	// maxCallbackQuery bounds the callback's query string.
	maxCallbackQuery = 16 << 10
	defaultTimeout   = 30 * time.Second
)

// Options adapt the generic connector to a provider preset.
type Options struct {
	// Type is the connector type reported by Type and in Identity.IdP.Type; default "oidc".
	Type string
	// AuthParams are added to every authorization request (e.g. Google's hd).
	AuthParams url.Values
	// IDTokenIssuers are further exact `iss` values accepted in ID tokens besides the configured
	// issuer (Google documents that its ID tokens may say "accounts.google.com").
	IDTokenIssuers []string
	// CheckClaims, when set, is called with the verified ID token's claims. An error fails the
	// login: a *identity.LoginError keeps its reason, any other error gets oidc-claims-rejected.
	CheckClaims func(claims map[string]any) error
}

// Connector is one configured OIDC identity provider. It is safe for concurrent use.
type Connector struct {
	id     string
	typ    string
	cfg    *Config
	secret string
	opts   Options
	client *http.Client
	nowFn  func() time.Time
	logger *slog.Logger

	// static holds the endpoints when they are configured by hand; otherwise meta caches the
	// discovered ones.
	static *metadata
	meta   metadataCache

	ksMu sync.Mutex
	ks   *keySet
}

var (
	_ identity.RedirectConnector = (*Connector)(nil)
	_ identity.CallbackConnector = (*Connector)(nil)
)

// New returns the connector of an oidc identity provider: it parses idp.Config (see ParseConfig)
// and resolves the client secret. It does no network I/O; the provider is discovered on first use.
func New(idp store.IdentityProvider, env identity.Env) (*Connector, error) {
	cfg, err := ParseConfig(idp.Config)
	if err != nil {
		return nil, fmt.Errorf("identity provider %q: %w", idp.ID, err)
	}
	return NewFromConfig(idp, cfg, env, Options{})
}

// NewFromConfig returns a connector for an already parsed configuration, adapted by opts.
func NewFromConfig(idp store.IdentityProvider, cfg *Config, env identity.Env, opts Options) (*Connector, error) {
	if cfg == nil {
		return nil, errors.New("oidc: nil config")
	}
	secret, err := cfg.ClientSecret.Resolve()
	if err != nil {
		return nil, fmt.Errorf("identity provider %q: client_secret: %w", idp.ID, err)
	}
	if opts.Type == "" {
		opts.Type = store.IdPOIDC
	}
	c := &Connector{
		id:     idp.ID,
		typ:    opts.Type,
		cfg:    cfg,
		secret: secret,
		opts:   opts,
		client: env.HTTPClient,
		nowFn:  env.Now,
		logger: env.Log,
	}
	if c.client == nil {
		c.client = &http.Client{Timeout: defaultTimeout}
	}
	if c.nowFn == nil {
		c.nowFn = time.Now
	}
	if cfg.Manual() {
		c.static = &metadata{
			Issuer:                cfg.Issuer,
			AuthorizationEndpoint: cfg.AuthURL,
			TokenEndpoint:         cfg.TokenURL,
			JWKSURI:               cfg.CertsURL,
			UserinfoEndpoint:      cfg.UserinfoURL,
		}
	}
	return c, nil
}

// Type returns the identity provider type ("oidc", or the preset's).
func (c *Connector) Type() string { return c.typ }

func (c *Connector) now() time.Time { return c.nowFn() }

func (c *Connector) log() *slog.Logger {
	if c.logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return c.logger
}

// keySet returns the key cache of the provider's current jwks_uri.
func (c *Connector) keySet(ctx context.Context) (*keySet, error) {
	md, err := c.provider(ctx)
	if err != nil {
		return nil, identity.Fail(reasonDiscoveryFailed, err)
	}
	c.ksMu.Lock()
	defer c.ksMu.Unlock()
	if c.ks == nil || c.ks.url != md.JWKSURI {
		c.ks = newKeySet(md.JWKSURI, c.client, c.now)
	}
	return c.ks, nil
}

// StartLogin returns the authorization request URL for the flow req.State. The nonce, the PKCE
// verifier and the redirect URI go into FlowData, which authn keeps server-side.
func (c *Connector) StartLogin(ctx context.Context, req identity.LoginRequest) (*identity.LoginStart, error) {
	if req.State == "" || req.CallbackURL == "" {
		return nil, identity.Failf(reasonFlowInvalid, "login request without state or callback URL")
	}
	md, err := c.provider(ctx)
	if err != nil {
		return nil, identity.Fail(reasonDiscoveryFailed, err)
	}
	u, err := url.Parse(md.AuthorizationEndpoint)
	if err != nil {
		return nil, identity.Fail(reasonDiscoveryFailed, fmt.Errorf("authorization endpoint: %w", err))
	}
	nonce, verifier := randomToken(), randomToken()
	q := u.Query()
	for k, vs := range c.opts.AuthParams {
		q[k] = append([]string(nil), vs...)
	}
	q.Set("response_type", "code")
	q.Set("client_id", c.cfg.ClientID)
	q.Set("redirect_uri", req.CallbackURL)
	q.Set("scope", strings.Join(c.cfg.Scopes, " "))
	q.Set("state", req.State)
	q.Set("nonce", nonce)
	prompts := strings.Fields(c.cfg.Prompt)
	flow := map[string]string{flowNonce: nonce, flowRedirectURI: req.CallbackURL}
	if req.ForceAuthn {
		// A fresh authentication: prompt=login, and max_age=0 so that the provider must send
		// auth_time (OIDC Core §3.1.2.1), which the callback checks.
		prompts = slices.DeleteFunc(prompts, func(p string) bool { return p == "none" || p == "login" })
		prompts = append(prompts, "login")
		q.Set("max_age", "0")
		flow[flowAuthAfter] = strconv.FormatInt(c.now().Unix(), 10)
	}
	if len(prompts) > 0 {
		q.Set("prompt", strings.Join(prompts, " "))
	}
	if c.cfg.PKCE {
		sum := sha256.Sum256([]byte(verifier))
		q.Set("code_challenge", base64.RawURLEncoding.EncodeToString(sum[:]))
		q.Set("code_challenge_method", "S256")
		flow[flowVerifier] = verifier
	}
	u.RawQuery = q.Encode()
	return &identity.LoginStart{RedirectURL: u.String(), FlowData: flow}, nil
}

// randomToken returns 256 random bits, base64url-encoded (43 characters: a valid PKCE verifier).
func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b)
}

// callbackParams are the authorization response parameters Gatehouse reads; each may appear at
// most once.
var callbackParams = []string{"state", "code", "iss", "error", "error_description", "error_uri"}

// parseCallback parses the callback's query strictly: bounded, well-formed, and without repeated
// parameters (two `state` or `code` values are a parser-differential attack, not a login).
func parseCallback(r *http.Request) (url.Values, error) {
	if r == nil || r.URL == nil {
		return nil, identity.Failf(reasonCallbackMalformed, "no request URL")
	}
	if len(r.URL.RawQuery) > maxCallbackQuery {
		return nil, identity.Failf(reasonCallbackMalformed, "query is %d bytes (at most %d)", len(r.URL.RawQuery), maxCallbackQuery)
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, identity.Fail(reasonCallbackMalformed, fmt.Errorf("parsing the query: %w", err))
	}
	for _, k := range callbackParams {
		if len(q[k]) > 1 {
			return nil, identity.Failf(reasonCallbackMalformed, "parameter %q appears %d times", k, len(q[k]))
		}
	}
	return q, nil
}

// CallbackState returns the `state` query parameter of the callback, verbatim.
func (c *Connector) CallbackState(r *http.Request) (string, error) {
	q, err := parseCallback(r)
	if err != nil {
		return "", err
	}
	s := q.Get("state")
	if s == "" {
		return "", identity.Failf(reasonStateMissing, "callback has no state parameter")
	}
	return s, nil
}

// HandleCallback finishes the login of the flow req with private data flow: it checks the
// authorization response (state, RFC 9207 iss, error), exchanges the code with the PKCE verifier,
// verifies the ID token and the UserInfo answer and returns the identity.
func (c *Connector) HandleCallback(ctx context.Context, r *http.Request, req identity.LoginRequest, flow map[string]string) (*identity.Identity, error) {
	q, err := parseCallback(r)
	if err != nil {
		return nil, err
	}
	state := q.Get("state")
	switch {
	case state == "":
		return nil, identity.Failf(reasonStateMissing, "callback has no state parameter")
	case req.State == "" || subtle.ConstantTimeCompare([]byte(state), []byte(req.State)) != 1:
		return nil, identity.Failf(reasonStateMismatch, "callback state does not match the login flow")
	}
	md, err := c.provider(ctx)
	if err != nil {
		return nil, identity.Fail(reasonDiscoveryFailed, err)
	}
	// RFC 9207 §2.4: check iss before anything else in the response, error responses included:
	// a response from another provider (mix-up attack) must not be processed at all.
	if iss, present := q["iss"]; present {
		if iss[0] != c.cfg.Issuer {
			return nil, identity.Failf(reasonIssParamMismatch, "authorization response iss %q is not %q", short(iss[0]), c.cfg.Issuer)
		}
	} else if md.IssParameterSupported {
		return nil, identity.Failf(reasonIssParamMissing, "the provider announces authorization_response_iss_parameter_supported but sent no iss")
	}
	if e := q.Get("error"); e != "" {
		return nil, identity.Failf(reasonIdPError, "provider returned error %q: %q", short(e), short(q.Get("error_description")))
	}
	code := q.Get("code")
	if code == "" {
		return nil, identity.Failf(reasonCodeMissing, "callback has neither code nor error")
	}
	nonce, redirectURI := flow[flowNonce], flow[flowRedirectURI]
	verifier, hasVerifier := flow[flowVerifier]
	if nonce == "" || redirectURI == "" || (c.cfg.PKCE && (!hasVerifier || verifier == "")) {
		return nil, identity.Failf(reasonFlowInvalid, "flow data lacks the nonce, redirect URI or PKCE verifier")
	}
	tr, err := c.exchange(ctx, md, code, redirectURI, verifier)
	if err != nil {
		return nil, err
	}
	var authAfter int64
	if v := flow[flowAuthAfter]; v != "" {
		if authAfter, err = strconv.ParseInt(v, 10, 64); err != nil {
			return nil, identity.Failf(reasonFlowInvalid, "flow data has a malformed authentication time")
		}
	}
	return c.finish(ctx, md, tr, nonce, authAfter)
}

// reauthSkew is how far a provider's auth_time may lag the request for a fresh authentication
// (clock differences between Gatehouse and the provider).
const reauthSkew = 2 * time.Minute

// finish is everything after the token exchange: ID token, at_hash, UserInfo and the identity.
// authAfter (Unix seconds, 0 for none) is when a forced fresh authentication was requested: the
// ID token's auth_time must not predate it.
func (c *Connector) finish(ctx context.Context, md *metadata, tr *tokenResponse, nonce string, authAfter int64) (*identity.Identity, error) {
	tok, err := c.verifyIDToken(ctx, tr.IDToken, nonce)
	if err != nil {
		return nil, err
	}
	if authAfter != 0 {
		at, ok := numericDate(tok.claims["auth_time"])
		if !ok || at.Before(time.Unix(authAfter, 0).Add(-reauthSkew)) {
			return nil, identity.Failf(reasonReauthMissing, "a fresh authentication was requested and the ID token's auth_time (%v) predates it", tok.claims["auth_time"])
		}
	}
	if err := checkATHash(tok, tr.AccessToken); err != nil {
		return nil, err
	}
	if c.opts.CheckClaims != nil {
		if err := c.opts.CheckClaims(tok.claims); err != nil {
			var le *identity.LoginError
			if errors.As(err, &le) {
				return nil, err
			}
			return nil, identity.Fail(reasonClaimsRejected, err)
		}
	}
	var userinfo map[string]any
	if md.UserinfoEndpoint != "" {
		if userinfo, err = c.userinfo(ctx, md.UserinfoEndpoint, tr.AccessToken, tok.subject); err != nil {
			return nil, err
		}
	}
	return c.buildIdentity(tok.claims, userinfo)
}
