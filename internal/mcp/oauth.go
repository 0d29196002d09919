package mcp

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/oauthex"

	"github.com/gatehouse/gatehouse/internal/configfield"
	"github.com/gatehouse/gatehouse/internal/keys"
	"github.com/gatehouse/gatehouse/internal/netguard"
	"github.com/gatehouse/gatehouse/internal/store"
)

// ErrAuthorizationRequired is returned (wrapped) when Gatehouse holds no usable grant at an
// oauth server for whom it would call it: never authorised, disconnected, revoked, or a refresh
// the authorization server refused. The administrator (gatehouse mcp servers authorize) or the
// user (the portal's connect page) must authorise again.
var ErrAuthorizationRequired = errors.New("mcp: the upstream server needs authorization")

// Timings and limits of the OAuth client.
const (
	// StateLifetime is how long an authorization may take between its start and its callback.
	StateLifetime = 10 * time.Minute
	// refreshSkew is how long before its expiry an access token is refreshed.
	refreshSkew = 60 * time.Second
	// maxOAuthDocument bounds a metadata document, registration or token response.
	maxOAuthDocument = 1 << 20
	// maxTokenBytes bounds an access or refresh token.
	maxTokenBytes = 16 << 10
	// rivalWaits and rivalWait bound how long a refused refresh looks for another replica's
	// refresh of the same grant before it deletes the grant.
	rivalWaits = 10
	rivalWait  = 100 * time.Millisecond
	// maxCachedGrants bounds the opened grants a Vault keeps in memory.
	maxCachedGrants = 4096
)

// Vault is Gatehouse as the OAuth 2.1 client of upstream MCP servers' authorization servers,
// found as the MCP authorization specification says: the server's 401 challenge or its
// protected resource metadata (RFC 9728), then authorization server metadata (RFC 8414 or
// OpenID Connect discovery). It registers itself (RFC 7591) unless the server's entry names a
// client, authorises with the authorization code grant, PKCE S256 and the resource indicator
// (RFC 8707), and keeps each grant — the administrator's or a user's — sealed under the master
// key in the store, refreshing it before it expires (one refresh at a time per grant in a
// process; a refresh the authorization server refuses deletes the grant). Every URL is fetched
// through the SSRF-safe dialer. Safe for concurrent use.
type Vault struct {
	st     store.MCPUpstreamAuth
	sealer *keys.Sealer
	http   *http.Client
	now    func() time.Time
	name   string

	mu      sync.Mutex
	cache   map[grantKey]*openGrant
	flights map[grantKey]*flight
}

type grantKey struct{ server, user string }

// openGrant is a grant as read and opened, kept for StateTTL.
type openGrant struct {
	read    time.Time
	version int64
	tokens  *tokenSet
}

type flight struct {
	done chan struct{}
	tok  string
	err  error
}

// VaultOptions configure a Vault.
type VaultOptions struct {
	Store store.MCPUpstreamAuth
	// MasterKey seals tokens, client secrets and PKCE verifiers (keys.LoadMasterKey).
	MasterKey []byte
	// HTTP fetches metadata and calls the authorization server; nil is the SSRF-safe dialer.
	HTTP *http.Client
	Now  func() time.Time
	// ClientName is what Gatehouse registers itself as ("Gatehouse" by default).
	ClientName string
}

// NewVault returns a Vault.
func NewVault(o VaultOptions) (*Vault, error) {
	sealer, err := keys.NewSealer(o.MasterKey, keys.PurposeMCPUpstreamTokens)
	if err != nil {
		return nil, fmt.Errorf("mcp: upstream token sealing: %w", err)
	}
	if o.HTTP == nil {
		o.HTTP = netguard.NewClient(30 * time.Second)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.ClientName == "" {
		o.ClientName = "Gatehouse"
	}
	return &Vault{st: o.Store, sealer: sealer, http: o.HTTP, now: o.Now, name: o.ClientName,
		cache: map[grantKey]*openGrant{}, flights: map[grantKey]*flight{}}, nil
}

// String hides the sealing key.
func (v *Vault) String() string { return "mcp.Vault" }

// ClientCredentials is Gatehouse's client at an authorization server.
type ClientCredentials struct {
	ID     string `json:"client_id"`
	Secret string `json:"client_secret,omitempty"`
	// AuthMethod is client_secret_basic, client_secret_post or none.
	AuthMethod string `json:"auth_method"`
}

// tokenSet is what a grant's sealed bytes hold: the tokens, and the client and endpoint that
// refresh them.
type tokenSet struct {
	AccessToken   string            `json:"access_token"`
	RefreshToken  string            `json:"refresh_token,omitempty"`
	Expiry        time.Time         `json:"expiry,omitzero"`
	Scope         string            `json:"scope,omitempty"`
	Client        ClientCredentials `json:"client"`
	TokenEndpoint string            `json:"token_endpoint"`
	Issuer        string            `json:"issuer"`
	Resource      string            `json:"resource"`
}

// pending is what a state's sealed bytes hold.
type pending struct {
	Verifier      string            `json:"verifier"`
	RedirectURI   string            `json:"redirect_uri"`
	Client        ClientCredentials `json:"client"`
	TokenEndpoint string            `json:"token_endpoint"`
	Issuer        string            `json:"issuer"`
	Resource      string            `json:"resource"`
	// IssRequired is set when the authorization server sends iss with its responses (RFC 9207).
	IssRequired bool `json:"iss_required,omitempty"`
}

func grantSealID(server, user string) string { return "mcp grant\x00" + server + "\x00" + user }
func clientSealID(server string) string      { return "mcp client\x00" + server }
func stateSealID(id string) string           { return "mcp state\x00" + id }

func (v *Vault) seal(id string, x any) ([]byte, error) {
	b, err := json.Marshal(x)
	if err != nil {
		return nil, err
	}
	return v.sealer.Seal(id, b)
}

func (v *Vault) open(id string, sealed []byte, x any) error {
	b, err := v.sealer.Open(id, sealed)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, x)
}

// Principal is whom an authorization is for: a user (from a portal's connect page), or the
// administrator (UserID "").
type Principal struct {
	UserID, Email, PortalID string
}

// Begin starts an authorization of srv for p: it discovers the server's authorization server,
// registers Gatehouse there when needed, stores the state and returns the URL to open in a
// browser. redirectURI is the callback on the auth domain (CallbackURL).
func (v *Vault) Begin(ctx context.Context, srv *store.MCPServer, p Principal, redirectURI string) (authURL string, expires time.Time, err error) {
	if srv.AuthType != store.MCPAuthOAuth {
		return "", time.Time{}, fmt.Errorf("mcp server %q does not use auth_type oauth", srv.ID)
	}
	d, err := v.discover(ctx, srv)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("mcp server %q: %w", srv.ID, err)
	}
	client, err := v.client(ctx, srv, d, redirectURI)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("mcp server %q: %w", srv.ID, err)
	}
	state, verifier := randomToken(), randomToken()
	if p.PortalID != "" {
		// The portal travels in the state, so that the callback knows whose session to check
		// before it spends the state.
		state = p.PortalID + stateSep + state
	} else {
		state = stateSep + state
	}
	id := StateID(state)
	sealed, err := v.seal(stateSealID(id), &pending{Verifier: verifier, RedirectURI: redirectURI, Client: *client,
		TokenEndpoint: d.as.TokenEndpoint, Issuer: d.as.Issuer, Resource: d.resource, IssRequired: d.as.AuthorizationResponseIssParameterSupported})
	if err != nil {
		return "", time.Time{}, err
	}
	now := v.now()
	st := &store.MCPUpstreamState{ID: id, ServerID: srv.ID, UserID: p.UserID, UserEmail: p.Email, PortalID: p.PortalID,
		Sealed: sealed, CreatedAt: now, ExpiresAt: now.Add(StateLifetime)}
	if err := v.st.CreateMCPUpstreamState(ctx, st); err != nil {
		return "", time.Time{}, fmt.Errorf("mcp server %q: storing the authorization: %w", srv.ID, err)
	}
	u, _ := url.Parse(d.as.AuthorizationEndpoint) // checked by discover
	q := u.Query()
	q.Set("response_type", "code")
	q.Set("client_id", client.ID)
	q.Set("redirect_uri", redirectURI)
	q.Set("state", state)
	q.Set("code_challenge", s256(verifier))
	q.Set("code_challenge_method", "S256")
	q.Set("resource", d.resource)
	if len(d.scopes) > 0 {
		q.Set("scope", strings.Join(d.scopes, " "))
	}
	u.RawQuery = q.Encode()
	return u.String(), st.ExpiresAt, nil
}

// StateID is the store id of a state parameter: its SHA-256, so that the store never holds a
// value that finishes an authorization.
func StateID(state string) string {
	sum := sha256.Sum256([]byte(state))
	return hex.EncodeToString(sum[:])
}

// stateSep ends the portal id in a state parameter: URL-safe, and in no id or random token.
const stateSep = "~"

// StatePortal is the portal a state parameter names ("" for the administrator's).
func StatePortal(state string) string {
	p, _, _ := strings.Cut(state, stateSep)
	return p
}

// Callback errors, each with a message safe to show.
var (
	ErrStateUnknown   = errors.New("this authorization is unknown, expired or already finished; start it again")
	ErrStateWrongUser = errors.New("this authorization was started by another user")
)

// ASError is an error the authorization server returned (at the callback or the token
// endpoint).
type ASError struct {
	Code        string
	Description string
	Status      int
}

func (e *ASError) Error() string {
	msg := "the authorization server refused: " + e.Code
	if e.Description != "" {
		msg += " (" + e.Description + ")"
	}
	return msg
}

// Finish completes the authorization a callback returns to: it spends the state (once, at any
// replica), checks that user started it (for a user's authorization), and exchanges the code
// for tokens, which it stores as the grant. q is the callback's query.
func (v *Vault) Finish(ctx context.Context, q url.Values, user string) (*store.MCPUpstreamState, error) {
	state := q.Get("state")
	if state == "" {
		return nil, ErrStateUnknown
	}
	st, err := v.st.ConsumeMCPUpstreamState(ctx, StateID(state))
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrStateUnknown
	}
	if err != nil {
		return nil, fmt.Errorf("mcp: reading the authorization: %w", err)
	}
	if st.UserID != user || st.PortalID != StatePortal(state) {
		return st, ErrStateWrongUser
	}
	var pd pending
	if err := v.open(stateSealID(st.ID), st.Sealed, &pd); err != nil {
		return st, fmt.Errorf("mcp: opening the authorization: %w", err)
	}
	if e := q.Get("error"); e != "" {
		return st, &ASError{Code: safeCode(e), Description: safeText(q.Get("error_description"))}
	}
	if iss := q.Get("iss"); iss != "" && iss != pd.Issuer || iss == "" && pd.IssRequired {
		// RFC 9207: a response from another authorization server (mix-up).
		return st, &ASError{Code: "invalid_issuer", Description: "the response did not come from " + pd.Issuer}
	}
	code := q.Get("code")
	if code == "" {
		return st, &ASError{Code: "invalid_response", Description: "no authorization code"}
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {pd.RedirectURI},
		"code_verifier": {pd.Verifier}, "resource": {pd.Resource}}
	tr, err := v.tokenRequest(ctx, pd.TokenEndpoint, &pd.Client, form)
	if err != nil {
		return st, err
	}
	ts := &tokenSet{AccessToken: tr.AccessToken, RefreshToken: tr.RefreshToken, Expiry: tr.expiry(v.now()), Scope: tr.Scope,
		Client: pd.Client, TokenEndpoint: pd.TokenEndpoint, Issuer: pd.Issuer, Resource: pd.Resource}
	sealed, err := v.seal(grantSealID(st.ServerID, st.UserID), ts)
	if err != nil {
		return st, err
	}
	g := &store.MCPUpstreamGrant{ServerID: st.ServerID, UserID: st.UserID, UserEmail: st.UserEmail, Sealed: sealed, ExpiresAt: ts.Expiry}
	if err := v.st.PutMCPUpstreamGrant(ctx, g); err != nil {
		return st, fmt.Errorf("mcp: storing the grant: %w", err)
	}
	v.remember(grantKey{st.ServerID, st.UserID}, g.Version, ts)
	return st, nil
}

// Disconnect deletes a user's (or the administrator's) grant at a server.
func (v *Vault) Disconnect(ctx context.Context, serverID, userID string) error {
	v.mu.Lock()
	delete(v.cache, grantKey{serverID, userID})
	v.mu.Unlock()
	return v.st.DeleteMCPUpstreamGrant(ctx, serverID, userID)
}

// Connected returns the servers a user has a grant at, with its update time.
func (v *Vault) Connected(ctx context.Context, userID string) (map[string]time.Time, error) {
	grants, err := v.st.ListMCPUpstreamGrants(ctx, userID)
	if err != nil {
		return nil, err
	}
	out := make(map[string]time.Time, len(grants))
	for _, g := range grants {
		out[g.ServerID] = g.UpdatedAt
	}
	return out, nil
}

// Token returns a valid access token of the grant of server for user ("" for the
// administrator's), refreshing it when it expires within a minute, or when force is set (the
// server refused it). The error wraps ErrAuthorizationRequired when there is no usable grant.
func (v *Vault) Token(ctx context.Context, serverID, userID string, force bool) (string, error) {
	k := grantKey{serverID, userID}
	now := v.now()
	v.mu.Lock()
	if c := v.cache[k]; c != nil && !force && now.Sub(c.read) < StateTTL && !now.Before(c.read) && c.tokens.fresh(now) {
		v.mu.Unlock()
		return c.tokens.AccessToken, nil
	}
	if f := v.flights[k]; f != nil {
		v.mu.Unlock()
		select {
		case <-f.done:
			return f.tok, f.err
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	f := &flight{done: make(chan struct{})}
	v.flights[k] = f
	v.mu.Unlock()
	// The refresh outlives a caller that gives up: others may be waiting for it.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), DefaultCallTimeout)
	f.tok, f.err = v.token(fctx, k, force)
	cancel()
	v.mu.Lock()
	delete(v.flights, k)
	v.mu.Unlock()
	close(f.done)
	return f.tok, f.err
}

func (ts *tokenSet) fresh(now time.Time) bool {
	return ts.Expiry.IsZero() || now.Add(refreshSkew).Before(ts.Expiry)
}

func (v *Vault) remember(k grantKey, version int64, ts *tokenSet) {
	v.mu.Lock()
	if len(v.cache) >= maxCachedGrants {
		clear(v.cache)
	}
	v.cache[k] = &openGrant{read: v.now(), version: version, tokens: ts}
	v.mu.Unlock()
}

func (v *Vault) forget(k grantKey) {
	v.mu.Lock()
	delete(v.cache, k)
	v.mu.Unlock()
}

// load reads and opens a grant.
func (v *Vault) load(ctx context.Context, k grantKey) (*store.MCPUpstreamGrant, *tokenSet, error) {
	g, err := v.st.GetMCPUpstreamGrant(ctx, k.server, k.user)
	if errors.Is(err, store.ErrNotFound) {
		v.forget(k)
		return nil, nil, fmt.Errorf("%w: no grant", ErrAuthorizationRequired)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("mcp: reading the upstream grant: %w", err)
	}
	var ts tokenSet
	if err := v.open(grantSealID(k.server, k.user), g.Sealed, &ts); err != nil {
		return nil, nil, fmt.Errorf("mcp: opening the upstream grant of %q: %w", k.server, err)
	}
	return g, &ts, nil
}

func (v *Vault) token(ctx context.Context, k grantKey, force bool) (string, error) {
	g, ts, err := v.load(ctx, k)
	if err != nil {
		return "", err
	}
	now := v.now()
	if ts.fresh(now) && !force {
		v.remember(k, g.Version, ts)
		return ts.AccessToken, nil
	}
	if ts.RefreshToken == "" {
		v.forget(k)
		_ = v.st.DeleteMCPUpstreamGrant(ctx, k.server, k.user)
		return "", fmt.Errorf("%w: the access token expired and there is no refresh token", ErrAuthorizationRequired)
	}
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {ts.RefreshToken}, "resource": {ts.Resource}}
	tr, err := v.tokenRequest(ctx, ts.TokenEndpoint, &ts.Client, form)
	if err != nil {
		var ase *ASError
		if !errors.As(err, &ase) {
			return "", fmt.Errorf("mcp: refreshing the upstream grant of %q: %w", k.server, err)
		}
		// Refused: unless another replica refreshed meanwhile (its rotation spent the refresh
		// token this one sent; its swap may land a moment after the refusal), the grant is
		// gone and must be authorised again.
		for range rivalWaits {
			if cur, cts, lerr := v.load(ctx, k); lerr == nil && cur.Version != g.Version && cts.fresh(v.now()) {
				v.remember(k, cur.Version, cts)
				return cts.AccessToken, nil
			} else if lerr != nil {
				break
			}
			select {
			case <-ctx.Done():
				return "", ctx.Err()
			case <-time.After(rivalWait):
			}
		}
		v.forget(k)
		_ = v.st.DeleteMCPUpstreamGrant(ctx, k.server, k.user)
		return "", fmt.Errorf("%w: the refresh was refused: %w", ErrAuthorizationRequired, err)
	}
	next := *ts
	next.AccessToken, next.Expiry = tr.AccessToken, tr.expiry(v.now())
	if tr.RefreshToken != "" {
		next.RefreshToken = tr.RefreshToken // rotation
	}
	if tr.Scope != "" {
		next.Scope = tr.Scope
	}
	sealed, err := v.seal(grantSealID(k.server, k.user), &next)
	if err != nil {
		return "", err
	}
	ng := &store.MCPUpstreamGrant{ServerID: k.server, UserID: k.user, UserEmail: g.UserEmail, Sealed: sealed, ExpiresAt: next.Expiry}
	switch err := v.st.SwapMCPUpstreamGrant(ctx, ng, g.Version); {
	case errors.Is(err, store.ErrConflict):
		// Another replica refreshed first: its tokens are the grant's now.
		cur, cts, lerr := v.load(ctx, k)
		if lerr != nil {
			return "", lerr
		}
		v.remember(k, cur.Version, cts)
		return cts.AccessToken, nil
	case errors.Is(err, store.ErrNotFound):
		v.forget(k)
		return "", fmt.Errorf("%w: the grant was deleted", ErrAuthorizationRequired)
	case err != nil:
		return "", fmt.Errorf("mcp: storing the refreshed grant: %w", err)
	}
	v.remember(k, ng.Version, &next)
	return next.AccessToken, nil
}

// TokenResponse is a token endpoint's answer (RFC 6749 §5.1).
type TokenResponse struct {
	AccessToken  string          `json:"access_token"`
	TokenType    string          `json:"token_type"`
	ExpiresIn    json.RawMessage `json:"expires_in"`
	RefreshToken string          `json:"refresh_token"`
	Scope        string          `json:"scope"`
	Error        string          `json:"error"`
	ErrorDesc    string          `json:"error_description"`
}

func (t *TokenResponse) expiry(now time.Time) time.Time {
	s := strings.Trim(string(t.ExpiresIn), `"`)
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || n > 10*365*24*3600 {
		return time.Time{}
	}
	return now.Add(time.Duration(n) * time.Second)
}

// ParseTokenResponse reads a token endpoint's response body with its status: the tokens, or
// an *ASError.
func ParseTokenResponse(status int, contentType string, body []byte) (*TokenResponse, error) {
	var tr TokenResponse
	if err := json.Unmarshal(body, &tr); err != nil {
		if status != http.StatusOK {
			return nil, &ASError{Code: "server_error", Description: fmt.Sprintf("HTTP %d", status), Status: status}
		}
		return nil, fmt.Errorf("the token response is not JSON: %w", err)
	}
	if status != http.StatusOK || tr.Error != "" {
		code := safeCode(tr.Error)
		if code == "" {
			code = "server_error"
		}
		return nil, &ASError{Code: code, Description: safeText(tr.ErrorDesc), Status: status}
	}
	switch {
	case tr.AccessToken == "":
		return nil, errors.New("the token response has no access_token")
	case !strings.EqualFold(tr.TokenType, "bearer"):
		return nil, fmt.Errorf("the token type is %q, not Bearer", safeText(tr.TokenType))
	case len(tr.AccessToken) > maxTokenBytes || len(tr.RefreshToken) > maxTokenBytes:
		return nil, fmt.Errorf("a token is longer than %d bytes", maxTokenBytes)
	case !headerSafe(tr.AccessToken):
		return nil, errors.New("the access token has characters a header cannot carry")
	}
	return &tr, nil
}

// headerSafe reports whether a token can be sent as a bearer credential unchanged.
func headerSafe(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// tokenRequest posts form to a token endpoint with the client's authentication.
func (v *Vault) tokenRequest(ctx context.Context, endpoint string, c *ClientCredentials, form url.Values) (*TokenResponse, error) {
	switch c.AuthMethod {
	case "client_secret_post":
		form.Set("client_id", c.ID)
		form.Set("client_secret", c.Secret)
	case "client_secret_basic":
	default:
		form.Set("client_id", c.ID)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if c.AuthMethod == "client_secret_basic" {
		req.SetBasicAuth(url.QueryEscape(c.ID), url.QueryEscape(c.Secret))
	}
	resp, err := v.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("token endpoint: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxOAuthDocument+1))
	if err != nil {
		return nil, fmt.Errorf("token endpoint: %w", err)
	}
	if len(body) > maxOAuthDocument {
		return nil, fmt.Errorf("token endpoint: the response is larger than %d bytes", maxOAuthDocument)
	}
	return ParseTokenResponse(resp.StatusCode, resp.Header.Get("Content-Type"), body)
}

// discovery is what Begin learns of a server's authorization.
type discovery struct {
	resource string
	scopes   []string
	as       *oauthex.AuthServerMeta
}

// Challenge is what a 401's WWW-Authenticate says of where to authorise.
type Challenge struct {
	ResourceMetadata string
	Scope            string
}

// ParseChallenge reads the Bearer challenge of WWW-Authenticate header values.
func ParseChallenge(values []string) (Challenge, error) {
	cs, err := oauthex.ParseWWWAuthenticate(values)
	if err != nil {
		return Challenge{}, err
	}
	for _, c := range cs {
		if c.Scheme == "bearer" {
			return Challenge{ResourceMetadata: c.Params["resource_metadata"], Scope: c.Params["scope"]}, nil
		}
	}
	return Challenge{}, nil
}

// discover finds the server's resource and authorization server: the 401 challenge's
// resource_metadata, else the well-known protected resource metadata at the server's path and
// root; a server without metadata (older revisions) has its origin as authorization server.
func (v *Vault) discover(ctx context.Context, srv *store.MCPServer) (*discovery, error) {
	endpoint := DetectTransports(srv.URL, srv.Transport)[0]
	ch := v.probe(ctx, endpoint)
	u, err := url.Parse(endpoint.URL)
	if err != nil {
		return nil, err
	}
	var candidates []string
	if ch.ResourceMetadata != "" {
		candidates = append(candidates, ch.ResourceMetadata)
	}
	origin := u.Scheme + "://" + u.Host
	if p := strings.TrimSuffix(u.EscapedPath(), "/"); p != "" {
		candidates = append(candidates, origin+"/.well-known/oauth-protected-resource"+p)
	}
	candidates = append(candidates, origin+"/.well-known/oauth-protected-resource")
	d := &discovery{}
	var issuer string
	body, found, errs := v.firstDocument(ctx, candidates)
	if found != "" {
		prm, err := ParseResourceMetadata(body, endpoint.URL)
		if err != nil {
			return nil, fmt.Errorf("protected resource metadata %s: %w", found, err)
		}
		d.resource, issuer, d.scopes = prm.Resource, prm.AuthorizationServers[0], prm.ScopesSupported
	}
	if issuer == "" {
		if len(errs) > 0 && !allNotFound(errs) {
			return nil, fmt.Errorf("no protected resource metadata: %w", errors.Join(errs...))
		}
		// No metadata: the server's origin is its authorization server (2025-03-26).
		d.resource, issuer = canonicalResource(u), origin
	}
	if ch.Scope != "" {
		d.scopes = strings.Fields(ch.Scope)
	}
	if srv.OAuth != nil && len(srv.OAuth.Scopes) > 0 {
		d.scopes = srv.OAuth.Scopes
	}
	if d.as, err = v.authServer(ctx, issuer); err != nil {
		return nil, err
	}
	return d, nil
}

func allNotFound(errs []error) bool {
	for _, e := range errs {
		if !strings.HasSuffix(e.Error(), "HTTP 404") {
			return false
		}
	}
	return true
}

// canonicalResource is a URL as a resource indicator: without fragment or query, lower-case
// scheme and host, no trailing slash.
func canonicalResource(u *url.URL) string {
	c := url.URL{Scheme: strings.ToLower(u.Scheme), Host: strings.ToLower(u.Host), Path: strings.TrimSuffix(u.Path, "/")}
	return c.String()
}

// probe asks the server without a credential and reads its challenge.
func (v *Vault) probe(ctx context.Context, ep Endpoint) Challenge {
	var req *http.Request
	var err error
	if ep.Transport == store.MCPTransportSSE {
		req, err = http.NewRequestWithContext(ctx, http.MethodGet, ep.URL, nil)
		if err == nil {
			req.Header.Set("Accept", "text/event-stream")
		}
	} else {
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, ep.URL, strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping"}`))
		if err == nil {
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json, text/event-stream")
		}
	}
	if err != nil {
		return Challenge{}
	}
	ctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	resp, err := v.http.Do(req.WithContext(ctx))
	if err != nil {
		return Challenge{}
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		return Challenge{}
	}
	c, _ := ParseChallenge(resp.Header.Values("WWW-Authenticate"))
	return c
}

// get fetches a JSON document.
func (v *Vault) get(ctx context.Context, u string) ([]byte, int, error) {
	if err := endpointProblem(u); err != nil {
		return nil, 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := v.http.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxOAuthDocument+1))
	if err != nil {
		return nil, 0, err
	}
	if len(body) > maxOAuthDocument {
		return nil, 0, fmt.Errorf("%s: larger than %d bytes", u, maxOAuthDocument)
	}
	if resp.StatusCode == http.StatusOK {
		if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "application/json" && !strings.HasSuffix(mt, "+json") {
			return nil, 0, fmt.Errorf("%s: content type %q, not JSON", u, resp.Header.Get("Content-Type"))
		}
	}
	return body, resp.StatusCode, nil
}

// ParseResourceMetadata reads protected resource metadata (RFC 9728) fetched for the server at
// serverURL: its resource must be the server's URL or a parent of it on the same origin, and it
// must name an authorization server.
func ParseResourceMetadata(body []byte, serverURL string) (*oauthex.ProtectedResourceMetadata, error) {
	var prm oauthex.ProtectedResourceMetadata
	if err := json.Unmarshal(body, &prm); err != nil {
		return nil, fmt.Errorf("not JSON: %w", err)
	}
	su, err := url.Parse(serverURL)
	if err != nil {
		return nil, err
	}
	ru, err := url.Parse(prm.Resource)
	if err != nil || prm.Resource == "" || !ru.IsAbs() || ru.Fragment != "" || ru.User != nil {
		return nil, fmt.Errorf("resource %q is not an absolute URL", safeText(prm.Resource))
	}
	rpath := strings.TrimSuffix(ru.Path, "/")
	spath := strings.TrimSuffix(su.Path, "/")
	if !strings.EqualFold(ru.Scheme, su.Scheme) || !strings.EqualFold(ru.Host, su.Host) ||
		!(spath == rpath || strings.HasPrefix(spath, rpath+"/")) {
		return nil, fmt.Errorf("resource %q is not the server %s", safeText(prm.Resource), serverURL)
	}
	if len(prm.AuthorizationServers) == 0 {
		return nil, errors.New("no authorization_servers")
	}
	for i, a := range prm.AuthorizationServers {
		if err := endpointProblem(a); err != nil {
			return nil, fmt.Errorf("authorization_servers[%d]: %w", i, err)
		}
	}
	return &prm, nil
}

// firstDocument fetches candidates in order and returns the body of the first that answers
// 200 and its URL ("" when none did), with why each one before it failed.
func (v *Vault) firstDocument(ctx context.Context, candidates []string) (body []byte, found string, errs []error) {
	for _, c := range candidates {
		body, status, err := v.get(ctx, c)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if status != http.StatusOK {
			errs = append(errs, fmt.Errorf("%s: HTTP %d", c, status))
			continue
		}
		return body, c, errs
	}
	return nil, "", errs
}

// authServer fetches an authorization server's metadata, trying RFC 8414 and OpenID Connect
// discovery with the well-known path inserted and (OIDC) appended.
func (v *Vault) authServer(ctx context.Context, issuer string) (*oauthex.AuthServerMeta, error) {
	u, err := url.Parse(issuer)
	if err != nil {
		return nil, err
	}
	origin := u.Scheme + "://" + u.Host
	p := strings.TrimSuffix(u.EscapedPath(), "/")
	candidates := []string{origin + "/.well-known/oauth-authorization-server" + p, origin + "/.well-known/openid-configuration" + p}
	if p != "" {
		candidates = append(candidates, origin+p+"/.well-known/openid-configuration")
	}
	body, found, errs := v.firstDocument(ctx, candidates)
	if found == "" {
		return nil, fmt.Errorf("no authorization server metadata for %s: %w", issuer, errors.Join(errs...))
	}
	return ParseAuthServerMetadata(body, issuer)
}

// ParseAuthServerMetadata reads authorization server metadata (RFC 8414, OpenID Connect
// discovery) of issuer: the issuer must be the one asked for, the authorization and token
// endpoints https (or loopback), and PKCE with S256 supported (MCP refuses servers that do not
// say so).
func ParseAuthServerMetadata(body []byte, issuer string) (*oauthex.AuthServerMeta, error) {
	var m oauthex.AuthServerMeta
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("not JSON: %w", err)
	}
	if strings.TrimSuffix(m.Issuer, "/") != strings.TrimSuffix(issuer, "/") {
		return nil, fmt.Errorf("the metadata's issuer %q is not %q", safeText(m.Issuer), issuer)
	}
	if !slices.Contains(m.CodeChallengeMethodsSupported, "S256") {
		return nil, errors.New("the authorization server does not support PKCE with S256")
	}
	if len(m.ResponseTypesSupported) > 0 && !slices.Contains(m.ResponseTypesSupported, "code") {
		return nil, errors.New("the authorization server does not support the authorization code grant")
	}
	for name, e := range map[string]string{"authorization_endpoint": m.AuthorizationEndpoint, "token_endpoint": m.TokenEndpoint} {
		if e == "" {
			return nil, fmt.Errorf("no %s", name)
		}
	}
	for name, e := range map[string]string{"authorization_endpoint": m.AuthorizationEndpoint, "token_endpoint": m.TokenEndpoint,
		"registration_endpoint": m.RegistrationEndpoint} {
		if e == "" {
			continue
		}
		if err := endpointProblem(e); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	return &m, nil
}

// endpointProblem checks a URL the OAuth client sends requests or browsers to: absolute
// https, or http on a loopback host (development and tests), without user information or
// fragment.
func endpointProblem(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return fmt.Errorf("%q is not an absolute URL", safeText(raw))
	}
	if u.User != nil || u.Fragment != "" {
		return fmt.Errorf("%q has user information or a fragment", safeText(raw))
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if loopbackHost(u.Hostname()) {
			return nil
		}
	}
	return fmt.Errorf("%q is not https (http only on loopback)", safeText(raw))
}

func loopbackHost(h string) bool {
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// client returns the client Gatehouse authorises srv as: the configured one, the stored
// registration, or a new registration (RFC 7591).
func (v *Vault) client(ctx context.Context, srv *store.MCPServer, d *discovery, redirectURI string) (*ClientCredentials, error) {
	if o := srv.OAuth; o != nil && o.ClientID != "" {
		c := &ClientCredentials{ID: o.ClientID, AuthMethod: "none"}
		if o.ClientSecret != nil {
			ref, err := configfield.ParseSecretRef(o.ClientSecret)
			if err != nil {
				return nil, fmt.Errorf("oauth.client_secret: %w", err)
			}
			if c.Secret, err = ref.Resolve(); err != nil {
				return nil, fmt.Errorf("oauth.client_secret: %w", err)
			}
			c.AuthMethod = "client_secret_basic"
			if m := d.as.TokenEndpointAuthMethodsSupported; len(m) > 0 && !slices.Contains(m, "client_secret_basic") && slices.Contains(m, "client_secret_post") {
				c.AuthMethod = "client_secret_post"
			}
		}
		return c, nil
	}
	if reg, err := v.st.GetMCPUpstreamClient(ctx, srv.ID); err == nil && reg.Issuer == d.as.Issuer && reg.RedirectURI == redirectURI {
		var c ClientCredentials
		if err := v.open(clientSealID(srv.ID), reg.Sealed, &c); err == nil {
			return &c, nil
		}
	} else if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("reading the client registration: %w", err)
	}
	if d.as.RegistrationEndpoint == "" {
		return nil, errors.New("the authorization server does not offer dynamic client registration: register Gatehouse there and set oauth.client_id (and client_secret)")
	}
	method := "client_secret_basic"
	if m := d.as.TokenEndpointAuthMethodsSupported; len(m) > 0 {
		switch {
		case slices.Contains(m, "client_secret_basic"):
		case slices.Contains(m, "client_secret_post"):
			method = "client_secret_post"
		case slices.Contains(m, "none"):
			method = "none"
		}
	}
	meta := map[string]any{"client_name": v.name, "redirect_uris": []string{redirectURI},
		"grant_types": []string{"authorization_code", "refresh_token"}, "response_types": []string{"code"},
		"token_endpoint_auth_method": method}
	b, _ := json.Marshal(meta)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.as.RegistrationEndpoint, bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := v.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("client registration: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxOAuthDocument+1))
	if err != nil || len(body) > maxOAuthDocument {
		return nil, fmt.Errorf("client registration: the response could not be read or is too large")
	}
	c, err := ParseRegistration(resp.StatusCode, body, method)
	if err != nil {
		return nil, fmt.Errorf("client registration at %s: %w", d.as.RegistrationEndpoint, err)
	}
	sealed, err := v.seal(clientSealID(srv.ID), c)
	if err != nil {
		return nil, err
	}
	if err := v.st.PutMCPUpstreamClient(ctx, &store.MCPUpstreamClient{ServerID: srv.ID, Issuer: d.as.Issuer, RedirectURI: redirectURI, Sealed: sealed}); err != nil {
		return nil, fmt.Errorf("storing the client registration: %w", err)
	}
	return c, nil
}

// ParseRegistration reads a client registration response (RFC 7591 §3.2): the client, with
// the authentication method asked for unless the server chose another.
func ParseRegistration(status int, body []byte, asked string) (*ClientCredentials, error) {
	var r struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
		AuthMethod   string `json:"token_endpoint_auth_method"`
		Error        string `json:"error"`
		ErrorDesc    string `json:"error_description"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("HTTP %d, not JSON", status)
	}
	if status != http.StatusCreated && status != http.StatusOK || r.Error != "" {
		code, desc := safeCode(r.Error), safeText(r.ErrorDesc)
		if code == "" {
			code, desc = "server_error", "HTTP "+strconv.Itoa(status)
		}
		return nil, &ASError{Code: code, Description: desc, Status: status}
	}
	if r.ClientID == "" || len(r.ClientID) > 1024 || len(r.ClientSecret) > 4096 {
		return nil, errors.New("no usable client_id")
	}
	c := &ClientCredentials{ID: r.ClientID, Secret: r.ClientSecret, AuthMethod: asked}
	switch r.AuthMethod {
	case "client_secret_basic", "client_secret_post", "none":
		c.AuthMethod = r.AuthMethod
	}
	if c.Secret == "" {
		c.AuthMethod = "none"
	}
	return c, nil
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func s256(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// safeCode keeps an OAuth error code only when it is one (RFC 6749: %x20-21 / %x23-5B /
// %x5D-7E; here letters, digits, '_', '-' and '.'), at most 64 bytes.
func safeCode(s string) string {
	if len(s) > 64 {
		return "invalid_error"
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return "invalid_error"
		}
	}
	return s
}

// safeText shortens text from another server for messages and logs and drops control
// characters.
func safeText(s string) string {
	if len(s) > 200 {
		s = s[:200]
	}
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f || r == '\uFFFD' {
			return -1
		}
		return r
	}, s)
}
