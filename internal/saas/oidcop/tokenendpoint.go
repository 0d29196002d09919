package oidcop

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/policy"
	"github.com/gatehouse/gatehouse/internal/store"
)

// tokenError is an RFC 6749 §5.2 error; reason goes to the audit log only.
type tokenError struct {
	status      int
	code        string
	description string
	reason      string
	cause       error
}

func (e *tokenError) Error() string { return e.code + ": " + e.description }

func invalidGrant(reason, description string) *tokenError {
	return &tokenError{http.StatusBadRequest, "invalid_grant", description, reason, nil}
}

func invalidRequest(reason, description string) *tokenError {
	return &tokenError{http.StatusBadRequest, "invalid_request", description, reason, nil}
}

func invalidClient(reason, description string) *tokenError {
	return &tokenError{http.StatusUnauthorized, "invalid_client", description, reason, nil}
}

func serverError(reason string, cause error) *tokenError {
	return &tokenError{http.StatusInternalServerError, "server_error", "the request could not be processed; try again", reason, cause}
}

// tokenResponse is the successful token response.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
	Scope        string `json:"scope"`
}

// client is the outcome of client authentication.
type client struct {
	id string
	// authenticated is set for client_secret_basic and client_secret_post; public clients
	// (method none) are identified but not authenticated.
	authenticated bool
}

// tokenOutcome is what a grant handler reports for the audit log.
type tokenOutcome struct {
	resp     *tokenResponse
	grant    *store.OIDCGrant
	ident    *identity.Identity
	policyID string
	reasons  []string
}

// serveToken handles the token endpoint.
func (p *Provider) serveToken(w http.ResponseWriter, r *http.Request, ep *endpoint) {
	out, err := p.token(w, r, ep)
	ev := &store.AuthEvent{Action: actionToken, AppID: ep.app.ID}
	if out != nil {
		if out.ident != nil {
			ev.UserID, ev.Email, ev.IdPID, ev.IdPType = out.ident.UserID, out.ident.Email, out.ident.IdP.ID, out.ident.IdP.Type
		} else if out.grant != nil {
			ev.UserID = out.grant.UserID
		}
		ev.PolicyID, ev.Reasons = out.policyID, out.reasons
	}
	var te *tokenError
	if err != nil {
		if !errors.As(err, &te) {
			te = serverError("internal-error", err)
		}
		ev.Reasons = append(ev.Reasons, te.reason)
		p.audit(r, ev)
		if te.cause != nil {
			p.log.LogAttrs(r.Context(), slog.LevelError, "OIDC token request failed",
				slog.String("app", ep.app.ID), slog.String("reason", te.reason), slog.Any("err", te.cause))
		}
		if te.status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Basic realm="`+ep.issuer+`"`)
		}
		writeJSON(w, te.status, map[string]string{"error": te.code, "error_description": te.description}, "no-store")
		return
	}
	ev.Allowed = true
	p.audit(r, ev)
	writeJSON(w, http.StatusOK, out.resp, "no-store")
}

func (p *Provider) token(w http.ResponseWriter, r *http.Request, ep *endpoint) (*tokenOutcome, error) {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, invalidRequest("oidc-request-malformed", "the body must be application/x-www-form-urlencoded")
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		return nil, invalidRequest("oidc-request-malformed", "the body is not a valid form")
	}
	form := r.PostForm // never parameters from the URL query
	for k, vs := range form {
		if len(vs) > 1 {
			return nil, invalidRequest("oidc-request-malformed", repeated(k))
		}
	}
	c, err := authenticateClient(r, form, ep)
	if err != nil {
		return nil, err
	}
	if res := form.Get("resource"); ep.resource != "" && res != "" && strings.TrimSuffix(res, "/") != ep.resource {
		return nil, &tokenError{http.StatusBadRequest, "invalid_target", "resource must be this portal's URL " + ep.resource, "mcp-resource-mismatch", nil}
	}
	switch gt := form.Get("grant_type"); gt {
	case "authorization_code":
		return p.codeGrant(r.Context(), form, ep, c)
	case "refresh_token":
		if !refreshEnabled(ep.cfg) {
			return nil, &tokenError{http.StatusBadRequest, "unauthorized_client", "this client may not use refresh tokens", "oidc-grant-type-refused", nil}
		}
		return p.refreshGrant(r, form, ep, c)
	case "":
		return nil, invalidRequest("oidc-request-malformed", "grant_type is missing")
	default:
		return nil, &tokenError{http.StatusBadRequest, "unsupported_grant_type", "only authorization_code and refresh_token are supported", "oidc-grant-type-refused", nil}
	}
}

// authenticateClient checks client_secret_basic, client_secret_post, or a public client
// (client_id only) when the app allows PKCE without a client secret. Whether a public client may
// redeem a particular code or refresh token is checked by the grant.
func authenticateClient(r *http.Request, form url.Values, ep *endpoint) (*client, error) {
	cfg := ep.cfg
	formID, formSecret := form.Get("client_id"), form.Get("client_secret")
	var id, secret, rawSecret string
	hasSecret := false
	if h := r.Header.Get("Authorization"); h != "" {
		user, pass, ok := r.BasicAuth()
		if !ok {
			return nil, invalidClient("oidc-client-auth-malformed", "only HTTP Basic client authentication is accepted in the Authorization header")
		}
		// RFC 6749 §2.3.1: both are form-urlencoded before Basic encoding. Many clients skip
		// that, so the secret is also compared as sent.
		id, rawSecret = user, pass
		if v, err := url.QueryUnescape(user); err == nil {
			id = v
		}
		secret = pass
		if v, err := url.QueryUnescape(pass); err == nil {
			secret = v
		}
		if form.Has("client_secret") {
			return nil, invalidRequest("oidc-client-auth-malformed", "use one client authentication method only")
		}
		if formID != "" && formID != id {
			return nil, invalidClient("oidc-client-auth-malformed", "client_id does not match the authenticated client")
		}
		hasSecret = true
	} else {
		id, secret, hasSecret = formID, formSecret, form.Has("client_secret")
	}
	if id == "" {
		return nil, invalidClient("oidc-client-auth-required", "client authentication is required")
	}
	if id != cfg.ClientID {
		return nil, invalidClient("oidc-client-unknown", "unknown client")
	}
	if !hasSecret {
		if !cfg.AllowPKCEWithoutClientSecret {
			return nil, invalidClient("oidc-client-auth-required", "client authentication is required")
		}
		return &client{id: id}, nil
	}
	ok := secretMatches(cfg.ClientSecretSHA256, secret)
	if !ok && rawSecret != "" && rawSecret != secret {
		ok = secretMatches(cfg.ClientSecretSHA256, rawSecret)
	}
	if !ok {
		return nil, invalidClient("oidc-client-auth-failed", "client authentication failed")
	}
	return &client{id: id, authenticated: true}, nil
}

// secretMatches compares the SHA-256 of secret with the configured hex digest in constant time.
func secretMatches(wantHex, secret string) bool {
	if wantHex == "" {
		return false
	}
	sum := sha256.Sum256([]byte(secret))
	got := []byte(hex.EncodeToString(sum[:]))
	want := []byte(strings.ToLower(wantHex))
	return len(want) == len(got) && subtle.ConstantTimeCompare(got, want) == 1
}

// lifetimes returns the app's access-token and refresh-token lifetimes.
func lifetimes(cfg *store.SaaSApp) (access, refresh time.Duration) {
	access = cfg.AccessTokenLifetime.Or(DefaultAccessTokenLifetime)
	refresh = DefaultRefreshTokenLifetime
	if cfg.RefreshTokenOptions != nil {
		refresh = cfg.RefreshTokenOptions.Lifetime.Or(DefaultRefreshTokenLifetime)
	}
	return access, refresh
}

// codeGrant redeems an authorization code.
func (p *Provider) codeGrant(ctx context.Context, form url.Values, ep *endpoint, c *client) (*tokenOutcome, error) {
	code, redirectURI, verifier := form.Get("code"), form.Get("redirect_uri"), form.Get("code_verifier")
	if code == "" {
		return nil, invalidRequest("oidc-request-malformed", "code is missing")
	}
	if len(code) > 512 {
		return nil, invalidGrant("oidc-code-unknown", "the code is invalid or expired")
	}
	if !slices.Contains(grantTypes(ep.cfg), grantCode) && !slices.Contains(grantTypes(ep.cfg), grantCodeWithPKCE) {
		return nil, &tokenError{http.StatusBadRequest, "unauthorized_client", "this client may not use authorization codes", "oidc-grant-type-refused", nil}
	}
	accessLife, refreshLife := lifetimes(ep.cfg)
	now := p.now()
	var refresh string
	if refreshEnabled(ep.cfg) {
		refresh = randomValue()
	}
	var refused *tokenError
	used, g, err := p.env.Store.RedeemOIDCCode(ctx, hashValue(code), func(sc *store.OIDCCode) (*store.OIDCGrant, *store.OIDCRefreshToken, error) {
		refused = checkCode(sc, ep, c, redirectURI, verifier)
		if refused != nil {
			return nil, nil, refused
		}
		expires := now.Add(accessLife)
		if refresh != "" {
			expires = now.Add(max(accessLife, refreshLife))
		}
		g := &store.OIDCGrant{ID: sc.GrantID, AppID: sc.AppID, ClientID: sc.ClientID, UserID: sc.UserID,
			SessionID: sc.SessionID, Scopes: sc.Scopes, PublicClient: !c.authenticated, AuthTime: sc.AuthTime,
			Identity: sc.Identity, CreatedAt: now, ExpiresAt: expires}
		var rt *store.OIDCRefreshToken
		if refresh != "" {
			rt = &store.OIDCRefreshToken{TokenHash: hashValue(refresh), GrantID: g.ID, CreatedAt: now, ExpiresAt: now.Add(refreshLife)}
		}
		return g, rt, nil
	})
	switch {
	case refused != nil && errors.Is(err, refused):
		return nil, refused
	case errors.Is(err, store.ErrConflict):
		return nil, invalidGrant("oidc-code-replayed", "the code was already used; the tokens issued from it are revoked")
	case errors.Is(err, store.ErrNotFound):
		return nil, invalidGrant("oidc-code-unknown", "the code is invalid or expired")
	case err != nil:
		return nil, serverError("store-unavailable", err)
	}
	out := &tokenOutcome{grant: g}
	var ident identity.Identity
	if err := json.Unmarshal(g.Identity, &ident); err != nil {
		return out, serverError("oidc-identity-unreadable", err)
	}
	out.ident = &ident
	if reason, err := p.grantRevoked(ctx, g); err != nil {
		return out, serverError("store-unavailable", err)
	} else if reason != "" {
		return out, invalidGrant(reason, "the user's sign-in was revoked")
	}
	resp, err := p.issue(ep, g, &ident, g.Scopes, used.Nonce, refresh, now)
	if err != nil {
		return out, err
	}
	out.resp = resp
	out.reasons = []string{"oidc-code-redeemed"}
	return out, nil
}

// checkCode checks a code against the token request; it runs inside the store's transaction.
func checkCode(sc *store.OIDCCode, ep *endpoint, c *client, redirectURI, verifier string) *tokenError {
	switch {
	case sc.AppID != ep.app.ID || sc.ClientID != c.id:
		return invalidGrant("oidc-code-client-mismatch", "the code was issued to another client")
	case sc.RedirectURI != redirectURI:
		return invalidGrant("oidc-redirect-uri-mismatch", "redirect_uri does not match the authorization request")
	case sc.CodeChallenge == "" && verifier != "":
		// RFC 9700 §2.1.1: a verifier for a code issued without a challenge is a downgrade.
		return invalidGrant("oidc-pkce-unexpected-verifier", "code_verifier sent, but the authorization request had no code_challenge")
	case sc.CodeChallenge == "" && !c.authenticated:
		return invalidClient("oidc-pkce-required", "a public client must use PKCE")
	case sc.CodeChallenge == "":
		return nil
	case verifier == "":
		return invalidGrant("oidc-pkce-verifier-missing", "code_verifier is missing")
	case !validVerifier(verifier):
		return invalidGrant("oidc-pkce-verifier-invalid", "code_verifier is malformed")
	}
	sum := sha256.Sum256([]byte(verifier))
	if subtle.ConstantTimeCompare([]byte(b64.EncodeToString(sum[:])), []byte(sc.CodeChallenge)) != 1 {
		return invalidGrant("oidc-pkce-verifier-mismatch", "code_verifier does not match the code_challenge")
	}
	return nil
}

// reuseGracePeriod returns the app's refresh token reuse grace period.
func reuseGracePeriod(cfg *store.SaaSApp) time.Duration {
	if o := cfg.RefreshTokenOptions; o != nil && o.ReuseGracePeriod != nil {
		return min(o.ReuseGracePeriod.Std(), MaxRefreshReuseGracePeriod)
	}
	return DefaultRefreshReuseGracePeriod
}

// refreshGrant rotates a refresh token after checking the grant, the user's revocations and
// the app's policies again.
//
// Reuse. A refresh token presented again after its rotation is a reuse (RFC 9700 §4.14.2): the
// whole token family is revoked, unless the same client presents it within the app's reuse
// grace period while its successor is still unused. That is what concurrent refreshes look like
// (oauth2-proxy and mod_auth_openidc refresh once per request or process that holds the expired
// session) and a client retrying after a lost response: each such request is checked like a
// refresh and gets new access and ID tokens and the successor refresh token the first refresh
// got, so the family stays one chain. The successor is stored sealed under a key derived from
// the rotated token's value, so only its holders can open it (sealSuccessor).
func (p *Provider) refreshGrant(r *http.Request, form url.Values, ep *endpoint, c *client) (*tokenOutcome, error) {
	ctx := r.Context()
	old := form.Get("refresh_token")
	if old == "" {
		return nil, invalidRequest("oidc-request-malformed", "refresh_token is missing")
	}
	if len(old) > 512 {
		return nil, invalidGrant("oidc-refresh-unknown", "the refresh token is invalid or expired")
	}
	oldHash := hashValue(old)
	tok, g, err := p.env.Store.GetOIDCRefreshToken(ctx, oldHash)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, invalidGrant("oidc-refresh-unknown", "the refresh token is invalid or expired")
	case err != nil:
		return nil, serverError("store-unavailable", err)
	}
	out := &tokenOutcome{grant: g}
	grace := reuseGracePeriod(ep.cfg)
	switch {
	case g.AppID != ep.app.ID || g.ClientID != c.id:
		if !tok.UsedAt.IsZero() && g.RevokedAt.IsZero() {
			// A rotated token in another client's hands: a reuse, never forgiven.
			return out, p.revokeReused(ctx, g)
		}
		return out, invalidGrant("oidc-refresh-client-mismatch", "the refresh token was issued to another client")
	case !g.PublicClient && !c.authenticated:
		return out, invalidClient("oidc-client-auth-required", "client authentication is required")
	case !g.RevokedAt.IsZero():
		return out, invalidGrant("oidc-refresh-revoked", "the refresh token was revoked")
	case !tok.UsedAt.IsZero() && !p.now().Before(tok.UsedAt.Add(grace)):
		// Reuse of a rotated token: someone else may hold the family (RFC 9700 §4.14.2). Within
		// the grace period the store decides (RotateOIDCRefreshToken), atomically.
		return out, p.revokeReused(ctx, g)
	}
	scopes := g.Scopes
	if s := form.Get("scope"); s != "" {
		scopes = strings.Fields(s)
		for _, sc := range scopes {
			if !slices.Contains(g.Scopes, sc) {
				return out, &tokenError{http.StatusBadRequest, "invalid_scope", "scope exceeds the scope originally granted", "oidc-scope-exceeded", nil}
			}
		}
	}
	if reason, err := p.grantRevoked(ctx, g); err != nil {
		return out, serverError("store-unavailable", err)
	} else if reason != "" {
		return out, invalidGrant(reason, "the user's sign-in was revoked")
	}
	if p.env.Recheck == nil {
		return out, serverError("oidc-not-configured", errors.New("saas.Env.Recheck is nil"))
	}
	ident, d, err := p.env.Recheck(ctx, r, ep.app, g.UserID)
	if err != nil {
		return out, serverError("oidc-refresh-recheck-failed", err)
	}
	out.policyID, out.reasons = d.PolicyID, slices.Clone(d.Reasons)
	if d.Action != policy.ActionAllow || ident == nil {
		return out, invalidGrant("oidc-refresh-policy-denied", "the application's policies no longer admit the user")
	}
	if ident.UserID != g.UserID {
		return out, serverError("oidc-refresh-recheck-failed", fmt.Errorf("Recheck returned user %q for %q", ident.UserID, g.UserID))
	}
	out.ident = ident
	if _, missing := p.userClaims(ep.cfg, ident, scopes); missing != "" {
		return out, invalidGrant("oidc-required-claim-missing", "a claim the application requires is missing")
	}
	identJSON, err := json.Marshal(ident)
	if err != nil {
		return out, serverError("internal-error", err)
	}
	accessLife, refreshLife := lifetimes(ep.cfg)
	now := p.now()
	next := randomValue()
	sealed, err := sealSuccessor(old, next)
	if err != nil {
		return out, serverError("internal-error", err)
	}
	rot, err := p.env.Store.RotateOIDCRefreshToken(ctx, &store.OIDCRefreshRotation{
		OldHash:    oldHash,
		Next:       &store.OIDCRefreshToken{TokenHash: hashValue(next), GrantID: g.ID, CreatedAt: now, ExpiresAt: now.Add(refreshLife)},
		SealedNext: sealed,
		ReuseGrace: grace,
		Update: func(sg *store.OIDCGrant) error {
			sg.Identity = identJSON
			sg.ExpiresAt = maxTime(sg.ExpiresAt, now.Add(max(accessLife, refreshLife)))
			return nil
		},
	})
	switch {
	case errors.Is(err, store.ErrConflict):
		return out, invalidGrant("oidc-refresh-reuse", "the refresh token was already used; its token family is revoked")
	case errors.Is(err, store.ErrNotFound):
		return out, invalidGrant("oidc-refresh-unknown", "the refresh token is invalid or expired")
	case err != nil:
		return out, serverError("store-unavailable", err)
	}
	out.grant = rot.Grant
	reason := "oidc-refresh-rotated"
	if rot.Reused {
		// A concurrent or retried refresh within the grace period: hand out the successor.
		if next, err = openSuccessor(old, rot.SealedSuccessor); err != nil {
			return out, serverError("oidc-refresh-successor-unreadable", err)
		}
		reason = "oidc-refresh-grace"
	}
	resp, err := p.issue(ep, rot.Grant, ident, scopes, "", next, now)
	if err != nil {
		return out, err
	}
	out.resp = resp
	out.reasons = append(out.reasons, reason)
	return out, nil
}

// revokeReused revokes a grant whose rotated refresh token came back and returns the error for
// the client.
func (p *Provider) revokeReused(ctx context.Context, g *store.OIDCGrant) error {
	if err := p.env.Store.RevokeOIDCGrant(ctx, g.ID, store.OIDCRevokedRefreshReused); err != nil && !errors.Is(err, store.ErrNotFound) {
		return serverError("store-unavailable", err)
	}
	return invalidGrant("oidc-refresh-reuse", "the refresh token was already used; its token family is revoked")
}

// successorKey derives the key that seals a refresh token's successor from the token's value,
// which the store never sees (it keeps only the SHA-256): reading the database does not open
// the sealed successor.
func successorKey(token string) []byte {
	mac := hmac.New(sha256.New, []byte(token))
	mac.Write([]byte("gatehouse oidc refresh successor v1"))
	return mac.Sum(nil)
}

// sealSuccessor seals next (AES-256-GCM, the token's hash as associated data) for holders of
// token.
func sealSuccessor(token, next string) ([]byte, error) {
	aead, err := successorAEAD(token)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize())
	_, _ = rand.Read(nonce) // crypto/rand.Read never fails (Go 1.24+)
	return aead.Seal(nonce, nonce, []byte(next), []byte(hashValue(token))), nil
}

// openSuccessor opens what sealSuccessor sealed for token.
func openSuccessor(token string, sealed []byte) (string, error) {
	aead, err := successorAEAD(token)
	if err != nil {
		return "", err
	}
	if len(sealed) < aead.NonceSize() {
		return "", errors.New("sealed successor too short")
	}
	plain, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], []byte(hashValue(token)))
	if err != nil {
		return "", fmt.Errorf("open sealed successor: %w", err)
	}
	return string(plain), nil
}

func successorAEAD(token string) (cipher.AEAD, error) {
	block, err := aes.NewCipher(successorKey(token))
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// grantRevoked returns a reason when the grant's tokens must no longer work because the user's
// tokens, the app's tokens or the grant's session were revoked after the login.
func (p *Provider) grantRevoked(ctx context.Context, g *store.OIDCGrant) (string, error) {
	rev, err := p.env.Store.Revocations(ctx)
	if err != nil {
		return "", fmt.Errorf("read revocations: %w", err)
	}
	return revokedBy(rev, g), nil
}

// issue mints the access token and ID token of a grant for scopes; nonce is set on the ID token
// of a code exchange only.
func (p *Provider) issue(ep *endpoint, g *store.OIDCGrant, ident *identity.Identity, scopes []string, nonce, refresh string, now time.Time) (*tokenResponse, error) {
	accessLife, _ := lifetimes(ep.cfg)
	exp := now.Add(accessLife).Unix()
	scope := strings.Join(scopes, " ")
	audience := ep.cfg.ClientID
	if ep.resource != "" {
		audience = ep.resource
	}
	at, err := p.sign(typAccess, &accessClaims{
		Issuer: ep.issuer, Subject: g.UserID, Audience: audience, ClientID: ep.cfg.ClientID, Scope: scope,
		GrantID: g.ID, ID: randomValue()[:22], IssuedAt: now.Unix(), NotBefore: now.Unix(), ExpiresAt: exp,
		AuthTime: g.AuthTime.Unix(),
	})
	if err != nil {
		return nil, serverError("oidc-signing-failed", err)
	}
	if ep.resource != "" && !slices.Contains(scopes, scopeOpenID) {
		// An MCP client that did not ask for an ID token gets none.
		return &tokenResponse{AccessToken: at, TokenType: "Bearer", ExpiresIn: int64(accessLife / time.Second),
			RefreshToken: refresh, Scope: scope}, nil
	}
	claims, missing := p.userClaims(ep.cfg, ident, scopes)
	if missing != "" {
		return nil, invalidGrant("oidc-required-claim-missing", "a claim the application requires is missing")
	}
	claims["sub"] = g.UserID
	claims["iss"] = ep.issuer
	claims["aud"] = ep.cfg.ClientID
	claims["iat"] = now.Unix()
	claims["exp"] = exp
	claims["auth_time"] = g.AuthTime.Unix()
	claims["at_hash"] = atHash(at)
	if nonce != "" {
		claims["nonce"] = nonce
	}
	if len(ident.AMR) > 0 {
		claims["amr"] = ident.AMR
	}
	idt, err := p.sign(typID, claims)
	if err != nil {
		return nil, serverError("oidc-signing-failed", err)
	}
	return &tokenResponse{AccessToken: at, TokenType: "Bearer", ExpiresIn: int64(accessLife / time.Second),
		RefreshToken: refresh, IDToken: idt, Scope: scope}, nil
}
