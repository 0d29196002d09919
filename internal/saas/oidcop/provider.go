// Package oidcop is Gatehouse's OpenID Connect provider for SaaS applications (Access for SaaS,
// OIDC): every application of type saas with auth_type oidc gets its own issuer,
//
//	<auth domain><prefix>sso/oidc/<app id>
//
// with discovery, an authorization endpoint (authorization code flow only), a token endpoint
// (authorization_code and refresh_token grants), userinfo and jwks. Every login passes the app's
// Access policies through saas.Env.Authorize, and every refresh passes them again through
// saas.Env.Recheck, whichever identity provider the user came from.
//
// Security properties (security rule 15, RFC 9700):
//
//   - redirect_uri must equal one of the app's redirect_uris byte for byte; errors about the
//     client or the redirect URI are shown on an error page and never redirected;
//   - PKCE is S256 only; it is required for apps that allow public clients or list the
//     authorization_code_with_pkce grant type, and a code issued without a challenge refuses a
//     code_verifier (no downgrade);
//   - codes are random, stored hashed, live 60 seconds and are single use: a second use revokes
//     every token issued from the code;
//   - refresh tokens are opaque, stored hashed and rotated at every use; presenting a rotated
//     token again revokes the whole token family, except within the app's reuse grace period
//     (refresh_token_options.reuse_grace_period, default DefaultRefreshReuseGracePeriod) and
//     by the same client, where concurrent refreshes all get fresh tokens and the one successor
//     refresh token (see refreshGrant);
//   - every refresh re-evaluates the app's policies and refuses users who are inactive or whose
//     tokens (or whose app's tokens, or whose session) were revoked after the login;
//   - the authorization response carries iss (RFC 9207).
//
// Not supported: response types other than code (hybrid and implicit flows), response modes
// other than query, request objects, the claims parameter. prompt=none is honoured (an error
// instead of a login page), and prompt=login and max_age force a new login through the identity
// provider (asked to authenticate the user anew) when the org session's login is older; every ID
// token carries auth_time, the time of the login behind it, for relying parties that check it.
//
// Tokens. ID tokens and access tokens are JWTs signed RS256 with the keys of keys.Manager (the
// jwks endpoint publishes the current and the previous key). Access tokens follow RFC 9068
// (header typ at+jwt; aud and client_id are the app's client_id; scope; jti) and carry the
// grant_id of their token family, which userinfo looks up so that a revoked family stops
// working at once. Refresh tokens are opaque. Lifetimes: codes 60 s; access and ID tokens
// access_token_lifetime (default DefaultAccessTokenLifetime, 5 minutes as in Cloudflare's API
// examples); refresh tokens refresh_token_options.lifetime from their issue (default
// DefaultRefreshTokenLifetime, 30 days), renewed with every rotation.
package oidcop

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/internal/httpx"
	"github.com/gatehouse/gatehouse/internal/saas"
	"github.com/gatehouse/gatehouse/internal/snapshot"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/web"
)

// Defaults and fixed lifetimes.
const (
	// DefaultAccessTokenLifetime applies when access_token_lifetime is not set.
	DefaultAccessTokenLifetime = 5 * time.Minute
	// DefaultRefreshTokenLifetime applies when refresh_token_options.lifetime is not set.
	DefaultRefreshTokenLifetime = 30 * 24 * time.Hour
	// CodeLifetime is how long an authorization code can be redeemed.
	CodeLifetime = 60 * time.Second
	// DefaultRefreshReuseGracePeriod applies when refresh_token_options.reuse_grace_period is
	// not set. It covers refreshes that oauth2-proxy (one per request that carried the expired
	// cookie, until the first response sets the new one) and mod_auth_openidc (one per Apache
	// process) send at once, and a client retrying after a lost response.
	DefaultRefreshReuseGracePeriod = 10 * time.Second
	// MaxRefreshReuseGracePeriod bounds reuse_grace_period: within it a stolen rotated token
	// is not detected.
	MaxRefreshReuseGracePeriod = time.Minute
)

// Audit actions.
const (
	actionSSO   = "saas_sso"
	actionToken = "saas_token"
)

// Provider serves the OIDC endpoints of every OIDC SaaS application. It is safe for concurrent
// use; it keeps no per-request state besides small caches.
type Provider struct {
	env saas.Env
	now func() time.Time
	log *slog.Logger

	jwks    atomic.Pointer[jwksCache]
	groupRE sync.Map // group_filter_regex -> *regexp.Regexp
	// docs are the MCP portals' client ID metadata documents.
	docs clientDocuments
	// grants caches the grants behind MCP portal tokens (portalGrant).
	grants     sync.Map
	grantCount atomic.Int64
}

// New returns a Provider for env. env.Now defaults to time.Now and env.Log to a discarding
// logger.
func New(env saas.Env) *Provider {
	p := &Provider{env: env, now: env.Now, log: env.Log}
	if p.now == nil {
		p.now = time.Now
	}
	if p.log == nil {
		p.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return p
}

// endpoint is one request's application context.
type endpoint struct {
	snap   *snapshot.Snapshot
	app    *snapshot.App
	cfg    *store.SaaSApp
	issuer string
	// path is the issuer's path on the auth domain.
	path string
	// resource is set for an MCP portal (see ServeMCP): the portal's URL, which authorization
	// requests must name (RFC 8707) and which is the audience of its access tokens.
	resource string
	portal   *store.MCPPortal
}

// Endpoint names under the issuer.
const (
	pathDiscovery     = ".well-known/openid-configuration"
	pathAuthorization = "authorization"
	pathToken         = "token"
	pathUserinfo      = "userinfo"
	pathJWKS          = "jwks"
)

// ServeHTTP serves the OIDC endpoints of app. rest is the request path after the issuer path
// (".well-known/openid-configuration", "authorization", "token", "userinfo" or "jwks"; a leading
// slash is ignored). Requests for apps that are not OIDC SaaS apps get 404.
func (p *Provider) ServeHTTP(w http.ResponseWriter, r *http.Request, app *snapshot.App, rest string) {
	snap := p.env.Snapshots.Load()
	if snap == nil {
		http.Error(w, "Gatehouse is starting.", http.StatusServiceUnavailable)
		return
	}
	if app == nil || app.Type != store.AppSaaS || app.SaaSApp == nil || app.SaaSApp.AuthType != store.SaaSAuthOIDC {
		p.failPage(w, r, snap, nil, httpx.Errorf(http.StatusNotFound, "saas-app-unknown", "There is no such application.", nil))
		return
	}
	path := snap.Profile.Prefix + "sso/oidc/" + app.ID
	ep := &endpoint{snap: snap, app: app, cfg: app.SaaSApp, issuer: snap.Issuer + path, path: path}
	switch strings.TrimPrefix(rest, "/") {
	case pathDiscovery:
		if allowMethods(w, r, true, http.MethodGet, http.MethodHead) {
			p.serveDiscovery(w, ep)
		}
	case pathJWKS:
		if allowMethods(w, r, true, http.MethodGet, http.MethodHead) {
			p.serveJWKS(w, r)
		}
	case pathAuthorization:
		if allowMethods(w, r, false, http.MethodGet, http.MethodPost) {
			p.serveAuthorization(w, r, ep)
		}
	case pathToken:
		if allowMethods(w, r, true, http.MethodPost) {
			p.serveToken(w, r, ep)
		}
	case pathUserinfo:
		if allowMethods(w, r, true, http.MethodGet, http.MethodPost) {
			p.serveUserinfo(w, r, ep)
		}
	default:
		p.failPage(w, r, snap, nil, httpx.Errorf(http.StatusNotFound, "oidc-endpoint-unknown", "There is no such page.", nil))
	}
}

// allowMethods answers requests whose method is not in methods (405) and, for endpoints that
// non-browser and browser-based relying parties call from scripts (cors), CORS preflights. It
// reports whether the handler should go on. CORS allows any origin without credentials: these
// endpoints never read cookies.
func allowMethods(w http.ResponseWriter, r *http.Request, cors bool, methods ...string) bool {
	allow := strings.Join(methods, ", ")
	if cors {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		if r.Method == http.MethodOptions {
			w.Header().Set("Access-Control-Allow-Methods", allow)
			w.Header().Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
			w.Header().Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return false
		}
	}
	for _, m := range methods {
		if r.Method == m {
			return true
		}
	}
	w.Header().Set("Allow", allow)
	http.Error(w, "Method not allowed.", http.StatusMethodNotAllowed)
	return false
}

// failPage renders err on the error page with a new reference ID and, when ev is not nil,
// records ev as a refused auth event that carries the same reference (RequestID) and err's
// reason: the reference a user reads out finds the event. ev is nil only for requests that are
// no sign-in attempt (an unknown application or page); those are logged with the reference.
// The cause is logged, never shown.
func (p *Provider) failPage(w http.ResponseWriter, r *http.Request, snap *snapshot.Snapshot, ev *store.AuthEvent, err *httpx.Error) {
	err.Ref = httpx.NewRequestID()
	if err.Title == "" {
		err.Title = "Sign-in failed"
	}
	if ev != nil {
		ev.Allowed, ev.RequestID = false, err.Ref
		if !slices.Contains(ev.Reasons, err.Reason) {
			ev.Reasons = append(ev.Reasons, err.Reason)
		}
		p.audit(r, ev)
	}
	web.RenderBrandedError(w, r, p.log, web.BrandOf(&snap.Org), err)
}

// audit records an auth event when the Env has a recorder.
func (p *Provider) audit(r *http.Request, e *store.AuthEvent) {
	if p.env.Audit == nil {
		return
	}
	if c := httpx.ClientOf(r); e.IP == "" && c.IP.IsValid() {
		e.IP = c.IP.String()
		if e.Country == "" {
			e.Country = c.Country
		}
	}
	p.env.Audit.Auth(r.Context(), e)
}

// randomValue returns 32 random bytes, base64url without padding (256 bits).
func randomValue() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // never fails (Go 1.24+: crypto/rand.Read panics rather than fail)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// hashValue is how codes and refresh tokens are stored: the hex SHA-256 of the value.
func hashValue(v string) string {
	sum := sha256.Sum256([]byte(v))
	return hex.EncodeToString(sum[:])
}

// groupFilter returns the compiled group_filter_regex (nil when none or invalid; ValidateApp
// refuses invalid ones, and an invalid one that slipped through releases no groups).
func (p *Provider) groupFilter(pattern string) (re *regexp.Regexp, ok bool) {
	if pattern == "" {
		return nil, true
	}
	if v, found := p.groupRE.Load(pattern); found {
		re, _ = v.(*regexp.Regexp)
		return re, re != nil
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		p.groupRE.Store(pattern, (*regexp.Regexp)(nil))
		return nil, false
	}
	p.groupRE.Store(pattern, re)
	return re, true
}
