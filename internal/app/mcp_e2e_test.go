package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/modelcontextprotocol/go-sdk/oauthex"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/saas/oidcop"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/testenv"
)

// mcpUpstream is an independent MCP server (the official Go SDK) that requires its own bearer
// token and records every Authorization header it is sent.
type mcpUpstream struct {
	*httptest.Server
	mu   sync.Mutex
	auth []string
}

func (u *mcpUpstream) seen() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return slices.Clone(u.auth)
}

func startMCPUpstream(t *testing.T, token string) *mcpUpstream {
	t.Helper()
	s := sdk.NewServer(&sdk.Implementation{Name: "tickets", Version: "1"}, nil)
	type echoIn struct {
		Text string `json:"text"`
	}
	sdk.AddTool(s, &sdk.Tool{Name: "echo", Description: "Echoes text."}, func(ctx context.Context, req *sdk.CallToolRequest, in echoIn) (*sdk.CallToolResult, any, error) {
		return &sdk.CallToolResult{Content: []sdk.Content{&sdk.TextContent{Text: "echo: " + in.Text}}}, nil, nil
	})
	h := sdk.NewStreamableHTTPHandler(func(*http.Request) *sdk.Server { return s }, nil)
	u := &mcpUpstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		u.auth = append(u.auth, r.Header.Get("Authorization"))
		u.mu.Unlock()
		if r.Header.Get("Authorization") != "Bearer "+token {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(u.Close)
	return u
}

// mcpConfig's auth domain is localhost itself: MCP clients (the Go SDK's among them) fetch
// OAuth metadata only over HTTPS or from a loopback host, and the test listener is plain HTTP.
const mcpConfig = `
organization: {name: T, auth_domain: localhost}
identity_providers:
  - {id: pin, name: E-mail PIN, type: onetimepin}
policies:
  - {id: staff, decision: allow, include: [{email_domain: {domain: example.com}}]}
mcp_servers:
  - id: tickets
    name: Tickets
    url: MCPURL/mcp
    auth_type: bearer
    auth_credentials: {env: GATEHOUSE_TEST_TICKETS_TOKEN}
    review_status: approved
mcp_portals:
  - id: agents
    name: Agents
    servers: [{server_id: tickets}]
    policies: [{ref: staff, precedence: 1}]
  - id: other
    name: Other
    servers: [{server_id: tickets}]
    policies: [{ref: staff, precedence: 1}]
`

// startMCP runs Gatehouse with two portals on one upstream and waits for the first sync.
func startMCP(t *testing.T) (*testenv.Env, *mcpUpstream) {
	t.Helper()
	up := startMCPUpstream(t, "upstream-token")
	t.Setenv("GATEHOUSE_TEST_TICKETS_TOKEN", "upstream-token")
	e := testenv.Start(t, strings.ReplaceAll(mcpConfig, "MCPURL", up.URL))
	st := e.G.Store.(store.MCP)
	deadline := time.Now().Add(10 * time.Second)
	for {
		s, err := st.GetMCPServerState(t.Context(), "tickets")
		if err == nil && s.Status == store.MCPSyncReady {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server was not synced: %+v %v", s, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return e, up
}

// oauthClient is an MCP client (the official Go SDK) that authorises itself the way a
// desktop client does: protected resource metadata, authorization server metadata, dynamic
// client registration with a loopback redirect URI, PKCE, and a browser that logs in as
// email. It returns the handler and the error the login ended with ("" when it succeeded).
func oauthClient(t *testing.T, e *testenv.Env, email string, denied bool) (*auth.AuthorizationCodeHandler, *http.Client, *string) {
	t.Helper()
	return oauthClientWith(t, e, e.NewBrowser(), email, denied)
}

// oauthClientWith is oauthClient logging in with browser b (a cluster's, to spread the login
// over replicas).
func oauthClientWith(t *testing.T, e *testenv.Env, b *testenv.Browser, email string, denied bool) (*auth.AuthorizationCodeHandler, *http.Client, *string) {
	t.Helper()
	type result struct{ code, state, iss string }
	got := make(chan result, 1)
	cb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		got <- result{q.Get("code"), q.Get("state"), q.Get("iss")}
		_, _ = w.Write([]byte("done"))
	}))
	t.Cleanup(cb.Close)
	hc := &http.Client{Transport: b.Client.Transport, Timeout: 10 * time.Second}
	var loginErr string
	h, err := auth.NewAuthorizationCodeHandler(&auth.AuthorizationCodeHandlerConfig{
		DynamicClientRegistrationConfig: &auth.DynamicClientRegistrationConfig{Metadata: &oauthex.ClientRegistrationMetadata{
			ClientName: "test agent", RedirectURIs: []string{cb.URL + "/callback"}, GrantTypes: []string{"authorization_code", "refresh_token"},
			TokenEndpointAuthMethod: "none"}},
		RedirectURL:         cb.URL + "/callback",
		RequestRefreshToken: true,
		Client:              hc,
		AuthorizationCodeFetcher: func(ctx context.Context, args *auth.AuthorizationArgs) (*auth.AuthorizationResult, error) {
			if denied {
				// The portal's policies do not admit the address: the e-mail PIN login sends
				// it no code (as Access does), so no authorization code can follow.
				resp, page := b.Get(t, args.URL)
				action, fields := testenv.Form(t, page)
				fields.Set("email", email)
				before := e.PINs.Count(email)
				b.PostForm(t, resp.Request.URL.ResolveReference(&url.URL{Path: action}).String(), fields)
				time.Sleep(100 * time.Millisecond) // the PIN would be sent in the background
				if n := e.PINs.Count(email); n != before {
					loginErr = "a PIN was sent"
				} else {
					loginErr = "denied"
				}
				return nil, errors.New("login refused")
			}
			resp, page := b.Login(t, args.URL, email)
			select {
			case r := <-got:
				if r.code == "" {
					return nil, errors.New("no code")
				}
				return &auth.AuthorizationResult{Code: r.code, State: r.state, Iss: r.iss}, nil
			default:
				loginErr = fmt.Sprintf("%d %s", resp.StatusCode, page)
				return nil, errors.New("login refused")
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return h, hc, &loginErr
}

func portalURL(e *testenv.Env, id string) string { return e.URL("localhost", "/.gatehouse/mcp/"+id) }

func TestMCPPortalOAuth(t *testing.T) {
	e, up := startMCP(t)
	h, hc, _ := oauthClient(t, e, "alice@example.com", false)
	c := sdk.NewClient(&sdk.Implementation{Name: "agent", Version: "1"}, nil)
	cs, err := c.Connect(t.Context(), &sdk.StreamableClientTransport{Endpoint: portalURL(e, "agents"), HTTPClient: hc,
		OAuthHandler: h, DisableStandaloneSSE: true, MaxRetries: -1}, nil)
	if err != nil {
		t.Fatalf("connect through OAuth: %v\n%s", err, e.Logs.String())
	}
	defer cs.Close()
	tools, err := cs.ListTools(t.Context(), nil)
	if err != nil || len(tools.Tools) != 1 || tools.Tools[0].Name != "tickets_echo" {
		t.Fatalf("tools: %+v %v", tools, err)
	}
	res, err := cs.CallTool(t.Context(), &sdk.CallToolParams{Name: "tickets_echo", Arguments: map[string]any{"text": "hi"}})
	if err != nil || res.Content[0].(*sdk.TextContent).Text != "echo: hi" {
		t.Fatalf("call: %+v %v", res, err)
	}

	// The portal's token never reaches the upstream: it sees its own credential only.
	for _, a := range up.seen() {
		if a != "Bearer upstream-token" {
			t.Errorf("the upstream was sent Authorization %q", a)
		}
	}

	// The token is bound to its portal: the other portal (same users, same server) refuses it.
	ts, err := h.TokenSource(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	tok, err := ts.Token()
	if err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{portalURL(e, "other"), e.URL("localhost", "/.gatehouse/sso/mcp/other/token")} {
		req, _ := http.NewRequest(http.MethodPost, target, strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`))
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode/100 == 2 {
			t.Errorf("%s accepted the agents portal's token: %d", target, resp.StatusCode)
		}
	}
	// Revoking the user ends the portal's tokens on the replica's next request: the
	// revocation state, not a cache of the grant, decides (as the CLI does it, from outside).
	svc := &admin.Service{Store: e.G.Store}
	if _, err := svc.RevokeUser(t.Context(), admin.CLIActor, "alice@example.com"); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(3 * time.Second); ; {
		req, _ := http.NewRequest(http.MethodPost, portalURL(e, "agents"), strings.NewReader(`{"jsonrpc":"2.0","id":9,"method":"tools/list"}`))
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusUnauthorized {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the token still works 3s after users revoke: %d", resp.StatusCode)
		}
		time.Sleep(20 * time.Millisecond)
	}

	// Logs name the user and the OAuth client.
	st := e.G.Store.(store.MCP)
	deadline := time.Now().Add(5 * time.Second)
	for {
		logs, err := st.ListMCPCallLogs(t.Context(), store.MCPCallLogQuery{PortalID: "agents"})
		if err != nil {
			t.Fatal(err)
		}
		if len(logs) > 0 {
			if logs[0].UserEmail != "alice@example.com" || !strings.HasPrefix(logs[0].ClientID, "mcp_") || logs[0].Decision != "allow" {
				t.Errorf("log: %+v", logs[0])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no call log")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestMCPPortalOAuthRefusals: a user the portal's policies deny gets no code; registration
// refuses redirect URIs the portal does not allow; authorization requests must name the
// portal as their resource.
func TestMCPPortalOAuthRefusals(t *testing.T) {
	e, _ := startMCP(t)
	h, hc, loginErr := oauthClient(t, e, "mallory@evil.test", true)
	c := sdk.NewClient(&sdk.Implementation{Name: "agent", Version: "1"}, nil)
	if _, err := c.Connect(t.Context(), &sdk.StreamableClientTransport{Endpoint: portalURL(e, "agents"), HTTPClient: hc,
		OAuthHandler: h, DisableStandaloneSSE: true, MaxRetries: -1}, nil); err == nil {
		t.Fatal("a user the portal's policies deny connected")
	}
	if *loginErr != "denied" {
		t.Errorf("the denied login ended with %q", *loginErr)
	}

	reg := func(redirect string) int {
		resp, err := hc.Post(e.URL("localhost", "/.gatehouse/sso/mcp/agents/register"), "application/json",
			strings.NewReader(`{"redirect_uris":["`+redirect+`"],"token_endpoint_auth_method":"none"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, bad := range []string{"https://evil.example/cb", "http://10.0.0.1/cb", "cursor://anything", "http://localhost.evil.example/cb", "javascript:alert(1)"} {
		if got := reg(bad); got != http.StatusBadRequest {
			t.Errorf("registering %s: %d", bad, got)
		}
	}
	if got := reg("http://127.0.0.1:33333/callback"); got != http.StatusCreated {
		t.Errorf("registering a loopback redirect: %d", got)
	}

	// Registration is unauthenticated: one address registers at most RegistrationsPerIP
	// clients an hour (these requests included), then gets 429.
	for n := 0; ; n++ {
		got := reg("http://127.0.0.1:33333/callback")
		if got == http.StatusTooManyRequests {
			if n+7 > oidcop.RegistrationsPerIP+1 {
				t.Errorf("refused only after %d registrations", n+7)
			}
			break
		}
		if got != http.StatusCreated || n > 2*oidcop.RegistrationsPerIP {
			t.Fatalf("registration %d: %d", n, got)
		}
	}
	e.Clock.Advance(time.Hour)

	// Without resource, or with another one, the authorization request fails at the client.
	resp, err := hc.Post(e.URL("localhost", "/.gatehouse/sso/mcp/agents/register"), "application/json",
		strings.NewReader(`{"redirect_uris":["http://127.0.0.1:33333/callback"]}`))
	if err != nil {
		t.Fatal(err)
	}
	var id string
	var body struct {
		ClientID string `json:"client_id"`
	}
	if err := jsonDecode(resp, &body); err != nil {
		t.Fatal(err)
	}
	id = body.ClientID
	noFollow := &http.Client{Transport: hc.Transport, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, resource := range []string{"", portalURL(e, "other")} {
		q := url.Values{"response_type": {"code"}, "client_id": {id}, "redirect_uri": {"http://127.0.0.1:33333/callback"},
			"code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"}, "code_challenge_method": {"S256"}, "state": {"s"}}
		if resource != "" {
			q.Set("resource", resource)
		}
		resp, err := noFollow.Get(e.URL("localhost", "/.gatehouse/sso/mcp/agents/authorization?"+q.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc, _ := url.Parse(resp.Header.Get("Location"))
		if resp.StatusCode != http.StatusFound || loc.Query().Get("error") != "invalid_target" {
			t.Errorf("resource %q: %d %s", resource, resp.StatusCode, loc)
		}
	}
}

func jsonDecode(resp *http.Response, v any) error {
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(v)
}
