package app_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/mcp"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/testenv"
)

// upstreamAS is an independent OAuth 2.1 authorization server for upstream MCP servers:
// dynamic client registration (confidential clients, client_secret_basic), the authorization
// code grant with PKCE S256 and resource indicators, and refresh with rotation (a refresh token
// works once; a reused one revokes the grant). Whoever opens its authorization endpoint is
// signed in as user, or refused (error=access_denied) while deny is set. Its clock is the
// test's.
type upstreamAS struct {
	*httptest.Server
	now func() time.Time
	ttl time.Duration

	mu sync.Mutex
	// user is who signs in next; deny refuses the next authorizations; wrongResource, when
	// set, is the audience of the tokens issued instead of the one asked for.
	user, wrongResource string
	deny                bool
	clients             map[string]asClient
	codes               map[string]asCode
	access              map[string]asToken
	refresh             map[string]asToken
	refreshes           []string // the resource of each refresh
}

type asClient struct{ secret, redirect string }

type asCode struct{ client, redirect, challenge, resource, user string }

type asToken struct {
	client, user, resource string
	expires                time.Time
}

func (a *upstreamAS) set(f func(a *upstreamAS)) {
	a.mu.Lock()
	defer a.mu.Unlock()
	f(a)
}

func startUpstreamAS(t *testing.T, now func() time.Time) *upstreamAS {
	t.Helper()
	a := &upstreamAS{now: now, ttl: 5 * time.Minute, clients: map[string]asClient{}, codes: map[string]asCode{},
		access: map[string]asToken{}, refresh: map[string]asToken{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/oauth-authorization-server", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"issuer": a.URL, "authorization_endpoint": a.URL + "/authorize",
			"token_endpoint": a.URL + "/token", "registration_endpoint": a.URL + "/register",
			"response_types_supported": []string{"code"}, "code_challenge_methods_supported": []string{"S256"},
			"grant_types_supported": []string{"authorization_code", "refresh_token"}, "token_endpoint_auth_methods_supported": []string{"client_secret_basic"}})
	})
	mux.HandleFunc("POST /register", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			RedirectURIs []string `json:"redirect_uris"`
			AuthMethod   string   `json:"token_endpoint_auth_method"`
		}
		if json.NewDecoder(r.Body).Decode(&req) != nil || len(req.RedirectURIs) != 1 || req.AuthMethod != "client_secret_basic" {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_client_metadata"})
			return
		}
		id, secret := rand.Text(), rand.Text()
		a.set(func(a *upstreamAS) { a.clients[id] = asClient{secret, req.RedirectURIs[0]} })
		writeJSON(w, http.StatusCreated, map[string]any{"client_id": id, "client_secret": secret, "redirect_uris": req.RedirectURIs,
			"token_endpoint_auth_method": "client_secret_basic"})
	})
	mux.HandleFunc("GET /authorize", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		a.mu.Lock()
		c, ok := a.clients[q.Get("client_id")]
		user, deny := a.user, a.deny
		a.mu.Unlock()
		if !ok || c.redirect != q.Get("redirect_uri") {
			http.Error(w, "unknown client or redirect URI", http.StatusBadRequest)
			return
		}
		back, _ := url.Parse(c.redirect)
		v := url.Values{"state": {q.Get("state")}, "iss": {a.URL}}
		switch {
		case deny:
			v.Set("error", "access_denied")
		case q.Get("response_type") != "code" || q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("resource") == "":
			v.Set("error", "invalid_request")
		default:
			code := rand.Text()
			a.set(func(a *upstreamAS) {
				a.codes[code] = asCode{q.Get("client_id"), c.redirect, q.Get("code_challenge"), q.Get("resource"), user}
			})
			v.Set("code", code)
		}
		back.RawQuery = v.Encode()
		http.Redirect(w, r, back.String(), http.StatusFound)
	})
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		id, secret, _ := r.BasicAuth()
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
		a.mu.Lock()
		defer a.mu.Unlock()
		if c, ok := a.clients[id]; !ok || c.secret != secret {
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client"})
			return
		}
		var grant asToken
		switch r.PostFormValue("grant_type") {
		case "authorization_code":
			code, ok := a.codes[r.PostFormValue("code")]
			delete(a.codes, r.PostFormValue("code"))
			sum := sha256.Sum256([]byte(r.PostFormValue("code_verifier")))
			if !ok || code.client != id || code.redirect != r.PostFormValue("redirect_uri") ||
				base64.RawURLEncoding.EncodeToString(sum[:]) != code.challenge || code.resource != r.PostFormValue("resource") {
				writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant"})
				return
			}
			grant = asToken{client: id, user: code.user, resource: code.resource}
		case "refresh_token":
			rt := r.PostFormValue("refresh_token")
			old, ok := a.refresh[rt]
			delete(a.refresh, rt) // rotation: a refresh token works once
			if !ok || old.client != id || old.resource != r.PostFormValue("resource") {
				writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant"})
				return
			}
			a.refreshes = append(a.refreshes, r.PostFormValue("resource"))
			grant = asToken{client: id, user: old.user, resource: old.resource}
		default:
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "unsupported_grant_type"})
			return
		}
		if a.wrongResource != "" {
			grant.resource = a.wrongResource
		}
		grant.expires = a.now().Add(a.ttl)
		at, rt := rand.Text(), rand.Text()
		a.access[at], a.refresh[rt] = grant, grant
		writeJSON(w, http.StatusOK, map[string]any{"access_token": at, "token_type": "Bearer", "expires_in": int(a.ttl.Seconds()), "refresh_token": rt})
	})
	a.Server = httptest.NewServer(mux)
	t.Cleanup(a.Close)
	return a
}

// verify is an upstream MCP server's check of a token: issued by this server, unexpired, and
// for resource (its audience).
func (a *upstreamAS) verify(token, resource string) (asToken, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	g, ok := a.access[token]
	return g, ok && g.resource == resource && a.now().Before(g.expires)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// oauthUpstream is an independent MCP server (the official Go SDK, with its bearer-token
// middleware) protected by an upstreamAS: it accepts only tokens the server issued for its own
// resource, answers others with 401 and a resource_metadata challenge, and its whoami tool
// names the upstream account the token acts for.
type oauthUpstream struct {
	*httptest.Server
	resource string
	mu       sync.Mutex
	auth     []string
}

func (u *oauthUpstream) seen() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return slices.Clone(u.auth)
}

func startOAuthUpstream(t *testing.T, as *upstreamAS, name string) *oauthUpstream {
	t.Helper()
	s := sdk.NewServer(&sdk.Implementation{Name: name, Version: "1"}, nil)
	sdk.AddTool(s, &sdk.Tool{Name: "whoami", Description: "Names the account."}, func(ctx context.Context, req *sdk.CallToolRequest, _ struct{}) (*sdk.CallToolResult, any, error) {
		return &sdk.CallToolResult{Content: []sdk.Content{&sdk.TextContent{Text: name + ":" + req.Extra.TokenInfo.UserID}}}, nil, nil
	})
	u := &oauthUpstream{}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/oauth-protected-resource/mcp", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"resource": u.resource, "authorization_servers": []string{as.URL}})
	})
	verifier := func(_ context.Context, token string, _ *http.Request) (*auth.TokenInfo, error) {
		g, ok := as.verify(token, u.resource)
		if !ok {
			return nil, auth.ErrInvalidToken
		}
		return &auth.TokenInfo{UserID: g.user, Expiration: time.Now().Add(time.Hour)}, nil
	}
	protect := auth.RequireBearerToken(verifier, &auth.RequireBearerTokenOptions{})
	mcpHandler := protect(sdk.NewStreamableHTTPHandler(func(*http.Request) *sdk.Server { return s }, nil))
	mux.Handle("/mcp", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		u.auth = append(u.auth, r.Header.Get("Authorization"))
		u.mu.Unlock()
		// The challenge names the metadata, as the MCP authorization specification says.
		w.Header().Set("WWW-Authenticate", `Bearer resource_metadata="`+u.URL+`/.well-known/oauth-protected-resource/mcp"`)
		mcpHandler.ServeHTTP(&challengeOn401{ResponseWriter: w}, r)
	}))
	u.Server = httptest.NewServer(mux)
	u.resource = u.URL + "/mcp"
	t.Cleanup(u.Close)
	return u
}

// challengeOn401 keeps the WWW-Authenticate challenge only on a 401.
type challengeOn401 struct{ http.ResponseWriter }

func (c *challengeOn401) WriteHeader(code int) {
	if code != http.StatusUnauthorized {
		c.Header().Del("WWW-Authenticate")
	}
	c.ResponseWriter.WriteHeader(code)
}

func (c *challengeOn401) Write(b []byte) (int, error) { return c.ResponseWriter.Write(b) }

func (c *challengeOn401) Flush() {
	if f, ok := c.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

const mcpOAuthConfig = `
organization: {name: T, auth_domain: localhost}
identity_providers:
  - {id: pin, name: E-mail PIN, type: onetimepin}
policies:
  - {id: staff, decision: allow, include: [{email_domain: {domain: example.com}}]}
mcp_servers:
  - {id: notes, name: Notes, url: NOTES/mcp, auth_type: oauth, review_status: approved}
  - {id: files, name: Files, url: FILES/mcp, auth_type: oauth, review_status: approved}
mcp_portals:
  - id: agents
    name: Agents
    servers: [{server_id: notes, on_behalf: true}, {server_id: files}]
    policies: [{ref: staff, precedence: 1}]
`

func waitSync(t *testing.T, e *testenv.Env, id string, ok func(*store.MCPServerState) bool) *store.MCPServerState {
	t.Helper()
	st := e.G.Store.(store.MCP)
	for deadline := time.Now().Add(10 * time.Second); ; {
		s, err := st.GetMCPServerState(t.Context(), id)
		if err == nil && ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("server %s: state %+v %v\n%s", id, s, err, e.Logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// adminAPI calls the running Gatehouse's admin API and decodes the result.
func adminAPI(t *testing.T, e *testenv.Env, method, path string, out any) {
	t.Helper()
	_, token, err := (&admin.Service{Store: e.G.Store}).CreateAdminToken(t.Context(), admin.CLIActor, "oauth-e2e-"+rand.Text())
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(method, e.URL("localhost", path), nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := e.NewBrowser().Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	var env struct {
		Result json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(b, &env); err != nil || json.Unmarshal(env.Result, out) != nil {
		t.Fatalf("%s %s: %s", method, path, b)
	}
}

// noFollow returns b's client without following redirects.
func noFollow(b *testenv.Browser) *http.Client {
	return &http.Client{Jar: b.Jar, Transport: b.Transport, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// callbackOf runs the authorization URL at the upstream AS without following its redirect back
// and returns the callback URL (with code and state) the browser would open.
func callbackOf(t *testing.T, b *testenv.Browser, authURL string) string {
	t.Helper()
	resp, err := noFollow(b).Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("authorization at the upstream AS: %d", resp.StatusCode)
	}
	return resp.Header.Get("Location")
}

// connectStart posts the connect form of the first server on a connect page (logging in first
// when needed) and returns the authorization URL Gatehouse sends the browser to.
func connectStart(t *testing.T, b *testenv.Browser, connectURL, email, op string) string {
	t.Helper()
	resp, page := b.Get(t, connectURL)
	if !strings.Contains(page, "connected accounts") {
		resp, page = b.Login(t, connectURL, email)
	}
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `value="`+op+`"`) {
		t.Fatalf("connect page (want %s): %d\n%s", op, resp.StatusCode, page)
	}
	action, fields := testenv.Form(t, page)
	req, _ := http.NewRequest(http.MethodPost, resp.Request.URL.ResolveReference(&url.URL{Path: action}).String(), strings.NewReader(fields.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r, err := noFollow(b).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("%s: %d", op, r.StatusCode)
	}
	return r.Header.Get("Location")
}

func whoami(t *testing.T, cs *sdk.ClientSession, server string) (string, error) {
	t.Helper()
	res, err := cs.CallTool(t.Context(), &sdk.CallToolParams{Name: server + "_whoami", Arguments: map[string]any{}})
	if err != nil {
		return "", err
	}
	if res.IsError || len(res.Content) != 1 {
		return "", fmt.Errorf("tool error: %+v", res)
	}
	return res.Content[0].(*sdk.TextContent).Text, nil
}

// TestMCPUpstreamOAuth: Gatehouse as the OAuth client of upstream MCP servers protected by an
// independent authorization server. The administrator authorises each server (its credential
// for syncs and for portal entries without on_behalf); each user connects an on_behalf server
// once on the portal's connect page, and their calls use their own tokens, refreshed (with
// rotation) when they expire; refusals: a state used twice, another user finishing one's
// authorization, the AS refusing, tokens for another resource; disconnecting and revoking a
// user delete their tokens. No token presented to the portal reaches an upstream.
func TestMCPUpstreamOAuth(t *testing.T) {
	var env atomic.Pointer[testenv.Env]
	as := startUpstreamAS(t, func() time.Time {
		if e := env.Load(); e != nil {
			return e.Clock.Now()
		}
		return time.Now()
	})
	notes, files := startOAuthUpstream(t, as, "notes"), startOAuthUpstream(t, as, "files")
	e := testenv.Start(t, strings.NewReplacer("NOTES", notes.URL, "FILES", files.URL).Replace(mcpOAuthConfig))
	env.Store(e)
	ctx := t.Context()
	ua := e.G.Store.(store.MCPUpstreamAuth)

	// Before the administrator authorises, syncs fail and say why.
	for _, id := range []string{"notes", "files"} {
		s := waitSync(t, e, id, func(s *store.MCPServerState) bool { return s.Status == store.MCPSyncFailed })
		if s.Error == nil || s.Error.Type != mcp.SyncErrorAuthorizationRequired || !strings.Contains(s.Error.Message, "authorize") {
			t.Errorf("%s before authorization: %+v", id, s.Error)
		}
	}

	// The administrator authorises both servers: the admin API returns the URL, the browser
	// signs in at the upstream AS, which sends it back to Gatehouse's callback.
	adminBrowser := e.NewBrowser()
	as.set(func(a *upstreamAS) { a.user = "ops" })
	for _, id := range []string{"notes", "files"} {
		var a admin.MCPAuthorization
		adminAPI(t, e, http.MethodPost, "/api/v1/mcp/servers/"+id+"/authorize", &a)
		u, _ := url.Parse(a.AuthorizationURL)
		q := u.Query()
		wantResource := map[string]string{"notes": notes.resource, "files": files.resource}[id]
		if q.Get("code_challenge_method") != "S256" || q.Get("resource") != wantResource || q.Get("redirect_uri") != e.URL("localhost", "/.gatehouse/mcp/servers-callback") {
			t.Fatalf("authorization URL %s", a.AuthorizationURL)
		}
		cb := callbackOf(t, adminBrowser, a.AuthorizationURL)
		resp, page := adminBrowser.Get(t, cb)
		if resp.StatusCode != http.StatusOK || !strings.Contains(page, "authorised at the MCP server "+id) {
			t.Fatalf("admin callback: %d %s", resp.StatusCode, page)
		}
		// A state finishes once.
		resp, page = adminBrowser.Get(t, cb)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "already finished") {
			t.Errorf("the callback replayed: %d %s", resp.StatusCode, page)
		}
		waitSync(t, e, id, func(s *store.MCPServerState) bool { return s.Status == store.MCPSyncReady })
	}

	// Alice uses the portal (OAuth, as an MCP client does). files uses the administrator's
	// grant; notes is on_behalf and she has not connected it: the call fails with the URL.
	alice := e.NewBrowser()
	h, hc, _ := oauthClientWith(t, e, alice, "alice@example.com", false)
	c := sdk.NewClient(&sdk.Implementation{Name: "agent", Version: "1"}, nil)
	cs, err := c.Connect(ctx, &sdk.StreamableClientTransport{Endpoint: portalURL(e, "agents"), HTTPClient: hc,
		OAuthHandler: h, DisableStandaloneSSE: true, MaxRetries: -1}, nil)
	if err != nil {
		t.Fatalf("connect: %v\n%s", err, e.Logs.String())
	}
	defer cs.Close()
	if got, err := whoami(t, cs, "files"); err != nil || got != "files:ops" {
		t.Errorf("files_whoami = %q %v, want the administrator's account", got, err)
	}
	connectURL := e.URL("localhost", "/.gatehouse/mcp/connect/agents")
	_, err = whoami(t, cs, "notes")
	var werr *jsonrpc.Error
	if !errors.As(err, &werr) || werr.Code != mcp.CodeAuthorizationRequired || !strings.Contains(werr.Message, connectURL) ||
		!strings.Contains(string(werr.Data), `"connect_url":"`+connectURL+`"`) {
		t.Fatalf("notes before Alice connected: %v", err)
	}

	// Bob cannot finish Alice's authorization (and spends it: Alice starts again).
	as.set(func(a *upstreamAS) { a.user = "alice-notes" })
	aliceCB := callbackOf(t, alice, connectStart(t, alice, connectURL, "alice@example.com", "connect"))
	bob := e.NewBrowser()
	bob.Login(t, connectURL, "bob@example.com")
	if resp, page := bob.Get(t, aliceCB); resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "another user") {
		t.Errorf("Bob finishing Alice's authorization: %d %s", resp.StatusCode, page)
	}
	if resp, page := alice.Get(t, aliceCB); resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "already finished") {
		t.Errorf("Alice's authorization after Bob spent it: %d %s", resp.StatusCode, page)
	}
	if _, err := whoami(t, cs, "notes"); err == nil {
		t.Fatal("notes works after a refused authorization")
	}

	// Alice connects: her calls to notes act as her upstream account.
	resp, page := alice.Get(t, callbackOf(t, alice, connectStart(t, alice, connectURL, "alice@example.com", "connect")))
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "Connected since") {
		t.Fatalf("after connecting: %d %s", resp.StatusCode, page)
	}
	if got, err := whoami(t, cs, "notes"); err != nil || got != "notes:alice-notes" {
		t.Fatalf("notes_whoami = %q %v", got, err)
	}
	aliceUser, err := e.G.Store.GetUserByEmail(ctx, "alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	g, err := ua.GetMCPUpstreamGrant(ctx, "notes", aliceUser.ID)
	if err != nil || g.UserEmail != "alice@example.com" {
		t.Fatalf("Alice's grant: %+v %v", g, err)
	}
	for _, tok := range as.accessTokens() {
		if strings.Contains(string(g.Sealed), tok) {
			t.Error("the stored grant holds a token in the clear")
		}
	}

	// The tokens expire: the next call refreshes them (rotation), once, with the resource.
	e.Clock.Advance(10 * time.Minute)
	if got, err := whoami(t, cs, "notes"); err != nil || got != "notes:alice-notes" {
		t.Fatalf("notes_whoami after expiry = %q %v", got, err)
	}
	if got, err := whoami(t, cs, "files"); err != nil || got != "files:ops" {
		t.Fatalf("files_whoami after expiry = %q %v", got, err)
	}
	as.mu.Lock()
	refreshes := slices.Clone(as.refreshes)
	as.mu.Unlock()
	slices.Sort(refreshes)
	want := []string{files.resource, notes.resource}
	slices.Sort(want)
	if !slices.Equal(refreshes, want) {
		t.Errorf("refreshes %v, want one per grant: %v", refreshes, want)
	}

	// No token presented to the portal reaches an upstream, and each upstream sees only tokens
	// issued for it.
	ts, err := h.TokenSource(ctx)
	if err != nil {
		t.Fatal(err)
	}
	portalTok, err := ts.Token()
	if err != nil {
		t.Fatal(err)
	}
	for _, up := range []*oauthUpstream{notes, files} {
		for _, a := range up.seen() {
			tok, _ := strings.CutPrefix(a, "Bearer ")
			if strings.Contains(a, portalTok.AccessToken) {
				t.Errorf("%s was sent the portal's token", up.resource)
			}
			if g, ok := as.grantOf(tok); a != "" && (!ok || g.resource != up.resource) {
				t.Errorf("%s was sent a token for %q", up.resource, g.resource)
			}
		}
	}

	// The upstream AS refuses: nothing is stored; Alice is still connected with her grant.
	as.set(func(a *upstreamAS) { a.deny = true })
	connectStart(t, alice, connectURL, "alice@example.com", "disconnect")
	if _, err := ua.GetMCPUpstreamGrant(ctx, "notes", aliceUser.ID); err == nil {
		t.Error("the grant survives disconnecting")
	}
	if _, err := whoami(t, cs, "notes"); err == nil || !strings.Contains(err.Error(), connectURL) {
		t.Errorf("notes after disconnecting: %v", err)
	}
	resp, page = alice.Get(t, callbackOf(t, alice, connectStart(t, alice, connectURL, "alice@example.com", "connect")))
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "access_denied") {
		t.Errorf("the AS refused: %d %s", resp.StatusCode, page)
	}

	// Tokens for another resource: the upstream refuses them, Gatehouse refreshes once, and
	// then drops the grant instead of using it.
	as.set(func(a *upstreamAS) { a.deny, a.wrongResource = false, files.resource })
	alice.Get(t, callbackOf(t, alice, connectStart(t, alice, connectURL, "alice@example.com", "connect")))
	if _, err := whoami(t, cs, "notes"); err == nil || !strings.Contains(err.Error(), connectURL) {
		t.Errorf("notes with a token for files: %v", err)
	}
	if _, err := ua.GetMCPUpstreamGrant(ctx, "notes", aliceUser.ID); err == nil {
		t.Error("a grant the upstream refuses is kept")
	}

	// Every authorization, failed or not, and every disconnect is in the audit log.
	events, err := e.G.Store.(store.AuditLog).ListAuditEvents(ctx, store.AuditQuery{TargetType: "mcp_server", Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, ev := range events {
		count[ev.Action+" "+ev.Actor+" "+ev.TargetID+" "+ev.Result]++
	}
	for k, want := range map[string]int{
		mcp.ActionUpstreamConnect + " mcp-upstream-callback notes success": 1, // the administrator's
		mcp.ActionUpstreamConnect + " alice@example.com notes success":     2,
		mcp.ActionUpstreamConnect + " bob@example.com notes failure":       1, // Alice's state
		mcp.ActionUpstreamConnect + " alice@example.com notes failure":     1, // access_denied (a spent state names no server)
		mcp.ActionUpstreamDisconnect + " alice@example.com notes success":  1,
	} {
		if count[k] != want {
			t.Errorf("audit %q: %d, want %d (all: %v)", k, count[k], want, count)
		}
	}

	// Revoking Alice deletes her upstream grants; the administrator's stay.
	as.set(func(a *upstreamAS) { a.wrongResource = "" })
	alice.Get(t, callbackOf(t, alice, connectStart(t, alice, connectURL, "alice@example.com", "connect")))
	if got, err := whoami(t, cs, "notes"); err != nil || got != "notes:alice-notes" {
		t.Fatalf("notes_whoami after reconnecting = %q %v", got, err)
	}
	if _, err := (&admin.Service{Store: e.G.Store}).RevokeUser(ctx, admin.CLIActor, "alice@example.com"); err != nil {
		t.Fatal(err)
	}
	if list, err := ua.ListMCPUpstreamGrants(ctx, aliceUser.ID); err != nil || len(list) != 0 {
		t.Errorf("grants after revoking Alice: %+v %v", list, err)
	}
	if _, err := ua.GetMCPUpstreamGrant(ctx, "notes", ""); err != nil {
		t.Errorf("the administrator's grant after revoking Alice: %v", err)
	}
}

func (a *upstreamAS) accessTokens() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	for k := range a.access {
		out = append(out, k)
	}
	return out
}

func (a *upstreamAS) grantOf(token string) (asToken, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	g, ok := a.access[token]
	return g, ok
}

// TestMCPUpstreamOAuthScaleOut: two replicas on PostgreSQL with no session affinity. An
// authorization started at one replica finishes at the other (the state is in the store), a
// user's grant serves calls at both, and after expiry one refresh serves both (the other
// replica reads the refreshed grant from the store instead of spending the rotated refresh
// token).
func TestMCPUpstreamOAuthScaleOut(t *testing.T) {
	storage := `storage: {driver: postgres, dsn: "` + testenv.PostgresDSN(t) + `"}`
	var clock atomic.Pointer[testenv.Clock]
	as := startUpstreamAS(t, func() time.Time {
		if c := clock.Load(); c != nil {
			return c.Now()
		}
		return time.Now()
	})
	notes, files := startOAuthUpstream(t, as, "notes"), startOAuthUpstream(t, as, "files")
	c := testenv.StartCluster(t, 2, strings.NewReplacer("NOTES", notes.URL, "FILES", files.URL).Replace(mcpOAuthConfig), storage)
	r0, r1 := c.Replicas[0], c.Replicas[1]
	clock.Store(r0.Clock)
	ctx := t.Context()

	// The administrator's authorization starts at replica 0 and finishes at replica 1.
	as.set(func(a *upstreamAS) { a.user = "ops" })
	var a admin.MCPAuthorization
	adminAPI(t, r0, http.MethodPost, "/api/v1/mcp/servers/notes/authorize", &a)
	b1 := r1.NewBrowser()
	if resp, page := b1.Get(t, callbackOf(t, b1, a.AuthorizationURL)); resp.StatusCode != http.StatusOK || !strings.Contains(page, "authorised") {
		t.Fatalf("admin callback at the other replica: %d %s\n%s", resp.StatusCode, page, r1.Logs.String())
	}
	waitSync(t, r0, "notes", func(s *store.MCPServerState) bool { return s.Status == store.MCPSyncReady })

	// Alice's browser and client alternate between the replicas on every request.
	alice := c.NewBrowser()
	h, _, _ := oauthClientWith(t, r0, alice, "alice@example.com", false)
	cl := sdk.NewClient(&sdk.Implementation{Name: "agent", Version: "1"}, nil)
	alternating := &http.Client{Transport: c.NewBrowser().Client.Transport, Timeout: 10 * time.Second}
	cs, err := cl.Connect(ctx, &sdk.StreamableClientTransport{Endpoint: portalURL(r0, "agents"), HTTPClient: alternating,
		OAuthHandler: h, DisableStandaloneSSE: true, MaxRetries: -1}, nil)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer cs.Close()
	as.set(func(a *upstreamAS) { a.user = "alice-notes" })
	connectURL := r0.URL("localhost", "/.gatehouse/mcp/connect/agents")
	// The connect form posts to one replica, the callback lands on the other.
	if resp, page := alice.Get(t, callbackOf(t, alice, connectStart(t, alice, connectURL, "alice@example.com", "connect"))); resp.StatusCode != http.StatusOK || !strings.Contains(page, "Connected since") {
		t.Fatalf("after connecting: %d %s", resp.StatusCode, page)
	}
	for i := range 4 {
		if got, err := whoami(t, cs, "notes"); err != nil || got != "notes:alice-notes" {
			t.Fatalf("call %d: %q %v", i, got, err)
		}
	}
	r0.Clock.Advance(10 * time.Minute)
	for i := range 4 {
		if got, err := whoami(t, cs, "notes"); err != nil || got != "notes:alice-notes" {
			t.Fatalf("call %d after expiry: %q %v\n%s\n%s", i, got, err, r0.Logs.String(), r1.Logs.String())
		}
	}
	for i, r := range c.Replicas {
		if !strings.Contains(r.Logs.String(), `"capability":"notes_whoami","upstream_capability":"whoami","email":"alice@example.com"`) {
			t.Errorf("replica %d served none of Alice's calls", i)
		}
	}
	if !strings.Contains(r1.Logs.String(), `"msg":"mcp upstream authorized","server":"notes","portal":"","user":"","administrator":true`) {
		t.Error("the administrator's authorization did not finish at replica 1")
	}
	as.mu.Lock()
	n := 0
	for _, r := range as.refreshes {
		if r == notes.resource {
			n++
		}
	}
	as.mu.Unlock()
	// One refresh of Alice's grant; the administrator's grant is refreshed by syncs only.
	if n != 1 {
		t.Errorf("%d refreshes of notes grants after expiry, want Alice's one", n)
	}
}
