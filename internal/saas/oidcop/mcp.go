package oidcop

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/httpx"
	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/snapshot"
	"github.com/gatehouse/gatehouse/internal/store"
)

// MCP portals. Every MCP portal (application type mcp_portal) has an OAuth 2.1 authorization
// server, as the MCP authorization specification asks of a protected MCP server:
//
//	issuer    <auth domain><prefix>sso/mcp/<portal id>
//	resource  <auth domain><prefix>mcp/<portal id>   (the portal's MCP endpoint)
//
// It is this provider with three differences. Clients are not configured but registered
// dynamically (RFC 7591, register) as public clients, with the redirect URIs the portal's
// oauth.dynamic_client_registration allows, checked again at every authorization. Every
// authorization request must name the portal as its resource (RFC 8707), and its access
// tokens have the portal's URL as their audience (a token for another portal or application
// is refused there). openid is optional: ID tokens are issued only when it is asked for.
// Logins pass the portal's Access policies, refreshes check them again, and refresh tokens
// rotate, exactly as for SaaS applications.

// MCP defaults (Cloudflare's managed OAuth).
const (
	DefaultMCPAccessTokenLifetime = 15 * time.Minute
	DefaultMCPSessionDuration     = 7 * 24 * time.Hour
	// maxRegistrationBytes bounds a registration request.
	maxRegistrationBytes = 16 << 10
	maxRedirectURIs      = 10
	maxClientNameLen     = 200
	// RegistrationsPerIP bounds client registrations from one address per hour (shared by
	// every replica): registration is unauthenticated, and a client registers once.
	RegistrationsPerIP = 30
)

const pathRegister = "register"

// MCPIssuer is the authorization server issuer of a portal, and MCPResource its resource
// (the MCP endpoint clients connect to).
func MCPIssuer(snap *snapshot.Snapshot, portalID string) string {
	return snap.Issuer + snap.Profile.Path("sso/mcp/"+portalID)
}

// MCPResource is the URL of a portal's MCP endpoint: the resource its tokens are for.
func MCPResource(snap *snapshot.Snapshot, portalID string) string {
	return snap.Issuer + snap.Profile.Path("mcp/"+portalID)
}

// mcpClients is the store capability the portals' clients are kept in.
func (p *Provider) mcpClients() (store.MCPClients, bool) {
	c, ok := p.env.Store.(store.MCPClients)
	return c, ok
}

// ServeMCP serves the authorization server of an MCP portal; rest is the path after the
// issuer (".well-known/oauth-authorization-server", ".well-known/openid-configuration",
// "register", "authorization", "token" or "jwks").
func (p *Provider) ServeMCP(w http.ResponseWriter, r *http.Request, app *snapshot.App, rest string) {
	snap := p.env.Snapshots.Load()
	if snap == nil {
		http.Error(w, "Gatehouse is starting.", http.StatusServiceUnavailable)
		return
	}
	portal := snap.MCPPortals[app.ID]
	if app.Type != store.AppMCPPortal || portal == nil {
		p.failPage(w, r, snap, nil, httpx.Errorf(http.StatusNotFound, "mcp-portal-unknown", "There is no such MCP portal.", nil))
		return
	}
	ep := &endpoint{snap: snap, app: app, issuer: MCPIssuer(snap, app.ID), path: snap.Profile.Path("sso/mcp/" + app.ID),
		resource: MCPResource(snap, app.ID), portal: portal}
	ep.cfg = mcpClientConfig(portal, "", nil)
	switch strings.TrimPrefix(rest, "/") {
	case ".well-known/oauth-authorization-server", ".well-known/openid-configuration":
		if allowMethods(w, r, true, http.MethodGet, http.MethodHead) {
			p.serveMCPMetadata(w, ep)
		}
	case pathJWKS:
		if allowMethods(w, r, true, http.MethodGet, http.MethodHead) {
			p.serveJWKS(w, r)
		}
	case pathRegister:
		if allowMethods(w, r, true, http.MethodPost) {
			p.serveRegister(w, r, ep)
		}
	case pathAuthorization:
		if !allowMethods(w, r, false, http.MethodGet, http.MethodPost) {
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		if err := r.ParseForm(); err != nil {
			p.failPage(w, r, snap, &store.AuthEvent{Action: actionSSO, AppID: app.ID},
				httpx.Errorf(http.StatusBadRequest, "oidc-request-malformed", "The sign-in request is malformed.", err))
			return
		}
		c, herr := p.mcpClient(r.Context(), ep, r.Form.Get("client_id"))
		if herr != nil {
			p.failPage(w, r, snap, &store.AuthEvent{Action: actionSSO, AppID: app.ID}, herr)
			return
		}
		ep.cfg = mcpClientConfig(portal, c.ClientID, c.RedirectURIs)
		p.serveAuthorization(w, r, ep)
	case pathToken:
		if !allowMethods(w, r, true, http.MethodPost) {
			return
		}
		if r.Header.Get("Authorization") == "" {
			// Public clients name themselves in the form; the form is parsed again by the
			// token endpoint (ParseForm keeps what it read).
			r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
			_ = r.ParseForm()
			if c, herr := p.mcpClient(r.Context(), ep, r.PostForm.Get("client_id")); herr == nil {
				ep.cfg = mcpClientConfig(portal, c.ClientID, c.RedirectURIs)
			}
		}
		p.serveToken(w, r, ep)
	default:
		p.failPage(w, r, snap, nil, httpx.Errorf(http.StatusNotFound, "oidc-endpoint-unknown", "There is no such page.", nil))
	}
}

// mcpClientConfig is the client configuration the provider's endpoints check a portal's
// client against: public (PKCE S256 only), authorization code and refresh tokens, the
// portal's token lifetimes.
func mcpClientConfig(portal *store.MCPPortal, clientID string, redirectURIs []string) *store.SaaSApp {
	access, session := DefaultMCPAccessTokenLifetime, DefaultMCPSessionDuration
	if o := portal.OAuth; o != nil && o.Grant != nil {
		access = o.Grant.AccessTokenLifetime.Or(access)
		session = o.Grant.SessionDuration.Or(session)
	}
	return &store.SaaSApp{AuthType: store.SaaSAuthOIDC, ClientID: clientID, RedirectURIs: redirectURIs,
		Scopes: []string{scopeOpenID, scopeEmail, scopeProfile, scopeGroups}, GrantTypes: []string{grantCodeWithPKCE, grantRefresh},
		AllowPKCEWithoutClientSecret: true, AccessTokenLifetime: store.Duration(access),
		RefreshTokenOptions: &store.RefreshTokenOptions{Lifetime: store.Duration(session)}}
}

// mcpClient finds a client, registered or described by its client ID metadata document,
// with the redirect URIs the portal allows.
func (p *Provider) mcpClient(ctx context.Context, ep *endpoint, clientID string) (*store.MCPClient, *httpx.Error) {
	if clientID == "" || len(clientID) > 512 {
		return nil, httpx.Errorf(http.StatusBadRequest, "oidc-client-id-missing", "The sign-in request names no client (client_id).", nil)
	}
	var c *store.MCPClient
	if IsClientIDURL(clientID) {
		var opts *store.MCPClientIDMetadataDocuments
		if o := ep.portal.OAuth; o != nil {
			opts = o.ClientIDMetadataDocuments
		}
		if opts != nil && opts.Disabled {
			return nil, httpx.Errorf(http.StatusBadRequest, "mcp-client-document-refused", "This portal does not accept clients identified by a URL. Register the client instead.", nil)
		}
		doc, err := p.docs.fetch(ctx, clientID, opts, p.now())
		if err != nil {
			msg := "The client's metadata document (its client_id URL) could not be used."
			if errors.Is(err, errClientDocument) {
				msg = "The client's metadata document could not be used: " + strings.TrimPrefix(err.Error(), errClientDocument.Error()+": ") + "."
			}
			return nil, httpx.Errorf(http.StatusBadRequest, "mcp-client-document-refused", msg, err)
		}
		c = doc
	} else {
		cs, ok := p.mcpClients()
		if !ok {
			return nil, httpx.Errorf(http.StatusServiceUnavailable, "mcp-clients-unavailable", "Sign-in is not available.", errors.New("the store keeps no MCP clients"))
		}
		got, err := cs.GetMCPClient(ctx, clientID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return nil, httpx.Errorf(http.StatusBadRequest, "oidc-client-id-unknown", "The sign-in request names a client (client_id) this portal does not know. Register the client again.", nil)
		case err != nil:
			return nil, httpx.Errorf(http.StatusServiceUnavailable, "store-unavailable", "Sign-in is temporarily unavailable. Try again shortly.", err)
		}
		c = got
	}
	allowed := c.RedirectURIs[:0:0]
	for _, u := range c.RedirectURIs {
		if RedirectAllowed(ep.portal.OAuth, u) {
			allowed = append(allowed, u)
		}
	}
	c.RedirectURIs = allowed
	return c, nil
}

// RedirectAllowed reports whether a portal's dynamic client registration allows redirect URI
// raw: http on localhost or a loopback address (any port) unless turned off, else one of the
// allowed URIs (exact, or an https:// prefix ending in /*).
func RedirectAllowed(o *store.MCPPortalOAuth, raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || u.Fragment != "" || u.User != nil || !u.IsAbs() {
		return false
	}
	var dcr store.MCPDynamicClientRegistration
	if o != nil && o.DynamicClientRegistration != nil {
		dcr = *o.DynamicClientRegistration
	}
	if u.Scheme == "http" {
		host := u.Hostname()
		if host == "localhost" && (dcr.AllowAnyOnLocalhost == nil || *dcr.AllowAnyOnLocalhost) {
			return true
		}
		if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() && (dcr.AllowAnyOnLoopback == nil || *dcr.AllowAnyOnLoopback) {
			return true
		}
	}
	for _, a := range dcr.AllowedURIs {
		if a == raw {
			return true
		}
		if prefix, ok := strings.CutSuffix(a, "/*"); ok && strings.HasPrefix(prefix, "https://") && u.Scheme == "https" &&
			strings.HasPrefix(raw, prefix+"/") && staysBelow(u) {
			return true
		}
	}
	return false
}

// staysBelow reports whether a URL's path cannot climb out of a prefix once a browser
// resolves it: no dot segment, written plainly or percent-encoded ("%2e%2e", which browsers
// resolve as ".."), and no encoded or backslash separator.
func staysBelow(u *url.URL) bool {
	esc := u.EscapedPath()
	if strings.ContainsAny(esc, "\\") || strings.Contains(strings.ToLower(esc), "%2f") || strings.Contains(strings.ToLower(esc), "%5c") {
		return false
	}
	p, err := url.PathUnescape(esc)
	if err != nil {
		return false
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "." || seg == ".." {
			return false
		}
	}
	return true
}

// registration is an RFC 7591 client registration request, and its response.
type registration struct {
	RedirectURIs            []string `json:"redirect_uris"`
	ClientName              string   `json:"client_name,omitempty"`
	ClientURI               string   `json:"client_uri,omitempty"`
	TokenEndpointAuthMethod string   `json:"token_endpoint_auth_method,omitempty"`
	GrantTypes              []string `json:"grant_types,omitempty"`
	ResponseTypes           []string `json:"response_types,omitempty"`
	Scope                   string   `json:"scope,omitempty"`
	SoftwareID              string   `json:"software_id,omitempty"`
	SoftwareVersion         string   `json:"software_version,omitempty"`
}

type registrationResponse struct {
	ClientID         string `json:"client_id"`
	ClientIDIssuedAt int64  `json:"client_id_issued_at"`
	registration
}

// serveRegister registers a public client (RFC 7591).
func (p *Provider) serveRegister(w http.ResponseWriter, r *http.Request, ep *endpoint) {
	fail := func(status int, code, desc string) {
		p.audit(r, &store.AuthEvent{Action: "mcp_client_register", AppID: ep.app.ID, Reasons: []string{code}})
		writeJSON(w, status, map[string]string{"error": code, "error_description": desc}, "no-store")
	}
	cs, ok := p.mcpClients()
	if !ok {
		fail(http.StatusServiceUnavailable, "temporarily_unavailable", "client registration is not available")
		return
	}
	ip := httpx.ClientOf(r).IP.String()
	switch ok, err := p.env.Store.HitRateLimit(r.Context(), "mcp-register-ip:"+ip, time.Hour, RegistrationsPerIP); {
	case err != nil:
		p.log.ErrorContext(r.Context(), "mcp client registration: rate limit unavailable", "err", err)
		fail(http.StatusServiceUnavailable, "temporarily_unavailable", "client registration is not available; try again")
		return
	case !ok:
		w.Header().Set("Retry-After", "3600")
		fail(http.StatusTooManyRequests, "temporarily_unavailable", fmt.Sprintf("too many client registrations from this address (at most %d an hour)", RegistrationsPerIP))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRegistrationBytes))
	if err != nil {
		fail(http.StatusBadRequest, "invalid_client_metadata", fmt.Sprintf("the registration must be a JSON object of at most %d bytes", maxRegistrationBytes))
		return
	}
	var reg registration
	if err := json.Unmarshal(body, &reg); err != nil {
		fail(http.StatusBadRequest, "invalid_client_metadata", "the registration is not a valid JSON object")
		return
	}
	switch {
	case len(reg.RedirectURIs) == 0:
		fail(http.StatusBadRequest, "invalid_redirect_uri", "redirect_uris is required")
		return
	case len(reg.RedirectURIs) > maxRedirectURIs:
		fail(http.StatusBadRequest, "invalid_redirect_uri", fmt.Sprintf("at most %d redirect_uris", maxRedirectURIs))
		return
	case reg.TokenEndpointAuthMethod != "" && reg.TokenEndpointAuthMethod != "none":
		fail(http.StatusBadRequest, "invalid_client_metadata", "only public clients (token_endpoint_auth_method none, with PKCE) can register")
		return
	case len(reg.ClientName) > maxClientNameLen || len(reg.ClientURI) > 2048 || len(reg.SoftwareID) > 200 || len(reg.SoftwareVersion) > 100:
		fail(http.StatusBadRequest, "invalid_client_metadata", "a client field is too long")
		return
	}
	for _, g := range reg.GrantTypes {
		if g != "authorization_code" && g != "refresh_token" {
			fail(http.StatusBadRequest, "invalid_client_metadata", "grant_types may be authorization_code and refresh_token only")
			return
		}
	}
	for _, rt := range reg.ResponseTypes {
		if rt != "code" {
			fail(http.StatusBadRequest, "invalid_client_metadata", "response_types may be code only")
			return
		}
	}
	for _, u := range reg.RedirectURIs {
		if !RedirectAllowed(ep.portal.OAuth, u) {
			fail(http.StatusBadRequest, "invalid_redirect_uri", "a redirect URI is not allowed by this portal (allowed: http://localhost and loopback addresses, and the portal's oauth.dynamic_client_registration.allowed_uris)")
			return
		}
	}
	c := &store.MCPClient{ClientID: "mcp_" + randomValue()[:32], ClientName: reg.ClientName, ClientURI: reg.ClientURI,
		RedirectURIs: slices.Clone(reg.RedirectURIs), CreatedAt: p.now().UTC(), SoftwareID: reg.SoftwareID, SoftwareVersion: reg.SoftwareVersion}
	if err := cs.CreateMCPClient(r.Context(), c); err != nil {
		p.log.ErrorContext(r.Context(), "mcp client registration not stored", "portal", ep.app.ID, "err", err)
		fail(http.StatusServiceUnavailable, "temporarily_unavailable", "the client could not be registered; try again")
		return
	}
	reg.TokenEndpointAuthMethod = "none"
	reg.GrantTypes = []string{"authorization_code", "refresh_token"}
	reg.ResponseTypes = []string{"code"}
	p.audit(r, &store.AuthEvent{Action: "mcp_client_register", Allowed: true, AppID: ep.app.ID, Reasons: []string{"mcp-client-registered:" + c.ClientID}})
	writeJSON(w, http.StatusCreated, registrationResponse{ClientID: c.ClientID, ClientIDIssuedAt: c.CreatedAt.Unix(), registration: reg}, "no-store")
}

// mcpMetadata is the authorization server metadata (RFC 8414) of a portal.
type mcpMetadata struct {
	Issuer                            string   `json:"issuer"`
	AuthorizationEndpoint             string   `json:"authorization_endpoint"`
	TokenEndpoint                     string   `json:"token_endpoint"`
	RegistrationEndpoint              string   `json:"registration_endpoint"`
	JWKSURI                           string   `json:"jwks_uri"`
	ResponseTypesSupported            []string `json:"response_types_supported"`
	ResponseModesSupported            []string `json:"response_modes_supported"`
	GrantTypesSupported               []string `json:"grant_types_supported"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
	CodeChallengeMethodsSupported     []string `json:"code_challenge_methods_supported"`
	ScopesSupported                   []string `json:"scopes_supported"`
	SubjectTypesSupported             []string `json:"subject_types_supported"`
	IDTokenSigningAlgValuesSupported  []string `json:"id_token_signing_alg_values_supported"`
	AuthorizationResponseISSSupported bool     `json:"authorization_response_iss_parameter_supported"`
	ClientIDMetadataDocumentSupported bool     `json:"client_id_metadata_document_supported"`
}

func (p *Provider) serveMCPMetadata(w http.ResponseWriter, ep *endpoint) {
	writeJSON(w, http.StatusOK, mcpMetadata{
		Issuer:                            ep.issuer,
		AuthorizationEndpoint:             ep.issuer + "/" + pathAuthorization,
		TokenEndpoint:                     ep.issuer + "/" + pathToken,
		RegistrationEndpoint:              ep.issuer + "/" + pathRegister,
		JWKSURI:                           ep.issuer + "/" + pathJWKS,
		ResponseTypesSupported:            []string{"code"},
		ResponseModesSupported:            []string{"query"},
		GrantTypesSupported:               []string{"authorization_code", "refresh_token"},
		TokenEndpointAuthMethodsSupported: []string{"none"},
		CodeChallengeMethodsSupported:     []string{"S256"},
		ScopesSupported:                   []string{scopeOpenID, scopeEmail, scopeProfile, scopeGroups, scopeOffline},
		SubjectTypesSupported:             []string{"public"},
		IDTokenSigningAlgValuesSupported:  []string{"RS256"},
		AuthorizationResponseISSSupported: true,
		ClientIDMetadataDocumentSupported: ep.portal.OAuth == nil || ep.portal.OAuth.ClientIDMetadataDocuments == nil || !ep.portal.OAuth.ClientIDMetadataDocuments.Disabled,
	}, "public, max-age=300")
}

// PortalToken is what a verified portal access token says.
type PortalToken struct {
	Identity *identity.Identity
	ClientID string
	GrantID  string
	Expires  time.Time
}

// Errors of VerifyPortalToken.
var (
	ErrPortalTokenInvalid = errors.New("oidcop: invalid portal access token")
	ErrPortalTokenRevoked = errors.New("oidcop: portal access token revoked")
)

// VerifyPortalToken checks an access token presented to a portal: signed by Gatehouse, issued
// by the portal's authorization server, with the portal's URL as its audience, unexpired, and
// its grant neither revoked nor its user's, app's or session's tokens revoked since. It returns
// the identity of the grant's last issue (policies are evaluated by the caller). A store
// failure is returned as such (fail closed).
func (p *Provider) VerifyPortalToken(ctx context.Context, portalID, raw string) (*PortalToken, error) {
	snap := p.env.Snapshots.Load()
	if snap == nil || snap.MCPPortals[portalID] == nil {
		return nil, ErrPortalTokenInvalid
	}
	c, err := p.verifyAccessTokenFor(raw, MCPIssuer(snap, portalID), MCPResource(snap, portalID), "")
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrPortalTokenInvalid, err)
	}
	g, ident, err := p.portalGrant(ctx, c.GrantID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, ErrPortalTokenRevoked
	case err != nil:
		return nil, fmt.Errorf("oidcop: read grant: %w", err)
	}
	if !g.RevokedAt.IsZero() || g.AppID != portalID || g.UserID != c.Subject || g.ClientID != c.ClientID {
		return nil, ErrPortalTokenRevoked
	}
	var reason string
	if rv := p.env.Revocations; rv != nil && rv.Current() != nil {
		reason = revokedBy(rv.Current(), g)
	} else if reason, err = p.grantRevoked(ctx, g); err != nil {
		return nil, err
	}
	if reason != "" {
		return nil, ErrPortalTokenRevoked
	}
	return &PortalToken{Identity: ident, ClientID: c.ClientID, GrantID: g.ID, Expires: time.Unix(c.ExpiresAt, 0)}, nil
}

// portalGrantTTL is how long a portal keeps a grant it read: a grant revoked for reuse of
// its refresh token stops its access tokens within it. Revocations of the user, the portal's
// tokens or the session apply at once (the replica's revocation state, checked every time).
const portalGrantTTL = 10 * time.Second

type cachedGrant struct {
	grant *store.OIDCGrant
	ident *identity.Identity
	read  time.Time
}

// portalGrant reads a grant and its identity, from a short cache.
func (p *Provider) portalGrant(ctx context.Context, id string) (*store.OIDCGrant, *identity.Identity, error) {
	now := p.now()
	if v, ok := p.grants.Load(id); ok {
		if c := v.(*cachedGrant); now.Sub(c.read) < portalGrantTTL && !now.Before(c.read) {
			return c.grant, c.ident, nil
		}
	}
	g, err := p.env.Store.GetOIDCGrant(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	var ident identity.Identity
	if err := json.Unmarshal(g.Identity, &ident); err != nil {
		return nil, nil, fmt.Errorf("grant identity: %w", err)
	}
	if p.grantCount.Add(1) > maxCachedGrants {
		p.grants.Clear()
		p.grantCount.Store(1)
	}
	p.grants.Store(id, &cachedGrant{grant: g, ident: &ident, read: now})
	return g, &ident, nil
}

// maxCachedGrants bounds the grants kept.
const maxCachedGrants = 10000

// revokedBy is grantRevoked against a revocation state already at hand.
func revokedBy(rev *store.Revocations, g *store.OIDCGrant) string {
	if nb, ok := rev.UserNotBefore[g.UserID]; ok && g.AuthTime.Before(nb) {
		return "oidc-user-revoked"
	}
	if nb, ok := rev.AppNotBefore[g.AppID]; ok && g.CreatedAt.Before(nb) {
		return "oidc-app-tokens-revoked"
	}
	if _, ok := rev.RevokedSessions[g.SessionID]; ok {
		return "oidc-session-revoked"
	}
	return ""
}
