package app_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/mcp"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/testenv"
	"github.com/gatehouse/gatehouse/internal/testenv/peers"
)

// oidcProviderPeer returns the Node binary and directory of interop/oidc-provider (panva's
// oidc-provider). When it is not installed the test is skipped, loudly, unless CI=true, where
// it fails.
func oidcProviderPeer(t *testing.T) (node, dir string) {
	t.Helper()
	return peers.Node(t, "oidc-provider", "install.sh", true, "node_modules/oidc-provider/package.json")
}

// startNodeScript runs a Node script of an interop peer until the test ends (closing its
// standard input stops it) and returns the JSON object of the first line it prints.
func startNodeScript(t *testing.T, node, dir, script string, env ...string) map[string]string {
	t.Helper()
	cmd := exec.Command(node, script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.WaitDelay = 5 * time.Second
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = stdin.Close()
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("%s stderr:\n%s", script, stderr.String())
		}
	})
	line := make(chan string, 1)
	go func() {
		r := bufio.NewReader(stdout)
		l, _ := r.ReadString('\n')
		line <- l
		_, _ = io.Copy(io.Discard, r)
	}()
	select {
	case l := <-line:
		var v map[string]string
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Fatalf("%s printed %q (%v); stderr:\n%s", script, l, err, stderr.String())
		}
		return v
	case <-time.After(30 * time.Second):
		t.Fatalf("%s did not start in 30s; stderr:\n%s", script, stderr.String())
	}
	return nil
}

// asLogin plays the user's browser at oidc-provider's development login and consent pages,
// starting at an authorization URL: it signs in as account (or aborts, when abort is set) and
// returns the URL the provider redirects to on the auth domain (Gatehouse's callback), without
// opening it.
func asLogin(t *testing.T, b *testenv.Browser, authURL, account string, abort bool) string {
	t.Helper()
	c := noFollow(b)
	req, _ := http.NewRequest(http.MethodGet, authURL, nil)
	for range 12 {
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if resp.StatusCode/100 == 3 {
			loc, err := resp.Request.URL.Parse(resp.Header.Get("Location"))
			if err != nil {
				t.Fatal(err)
			}
			if loc.Hostname() == "localhost" {
				return loc.String()
			}
			req, _ = http.NewRequest(http.MethodGet, loc.String(), nil)
			continue
		}
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d %.500s", resp.Request.URL, resp.StatusCode, body)
		}
		action, fields := testenv.ParseForm(t, string(body))
		target, err := resp.Request.URL.Parse(action)
		if err != nil {
			t.Fatal(err)
		}
		if abort && fields.Has("login") {
			// The login page's cancel link.
			target.Path = strings.TrimSuffix(strings.TrimSuffix(target.Path, "/"), "/login") + "/abort"
			req, _ = http.NewRequest(http.MethodGet, target.String(), nil)
			continue
		}
		if fields.Has("login") {
			fields.Set("login", account)
			fields.Set("password", "any")
		}
		req, _ = http.NewRequest(http.MethodPost, target.String(), strings.NewReader(fields.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	t.Fatal("no redirect to the auth domain after 12 pages")
	return ""
}

// TestInteropMCPUpstreamOAuth: an upstream MCP server of the official TypeScript SDK 1.x,
// protected with its requireBearerAuth and mcpAuthMetadataRouter helpers, behind panva's
// oidc-provider (dynamic registration, resource indicators, PKCE, rotating refresh tokens,
// introspection). Gatehouse discovers the provider from the server's 401 challenge, registers
// itself, and holds the administrator's grant (syncs) and each user's (on_behalf); the tokens are
// audience-bound to the server, refreshed when Gatehouse's clock says they expired, and nothing
// presented to the portal reaches the server.
func TestInteropMCPUpstreamOAuth(t *testing.T) {
	tsNode, tsDir := mcpTSPeer(t)
	asNode, asDir := oidcProviderPeer(t)
	const rsSecret = "rs-secret&with=specials"
	as := startNodeScript(t, asNode, asDir, "mcp-as.js", "GATEHOUSE_RS_SECRET="+rsSecret)
	rs := startNodeScript(t, tsNode, tsDir, "oauth-server.mjs", "AS_ISSUER="+as["issuer"], "RS_SECRET="+rsSecret)
	e := testenv.Start(t, `
organization: {name: T, auth_domain: localhost}
identity_providers:
  - {id: pin, name: E-mail PIN, type: onetimepin}
policies:
  - {id: staff, decision: allow, include: [{email_domain: {domain: example.com}}]}
mcp_servers:
  - {id: notes, name: Notes, url: `+rs["url"]+`/mcp, auth_type: oauth, review_status: approved}
mcp_portals:
  - {id: agents, name: Agents, servers: [{server_id: notes, on_behalf: true}], policies: [{ref: staff, precedence: 1}]}
`)
	ctx := t.Context()
	seen := func() []string {
		resp, err := http.Get(rs["url"] + "/seen")
		if err != nil {
			t.Fatal(err)
		}
		var v struct {
			Authorization []string `json:"authorization"`
		}
		if err := jsonDecode(resp, &v); err != nil {
			t.Fatal(err)
		}
		return v.Authorization
	}

	// The administrator's grant: discovery, registration, login at the provider, callback.
	s := waitSync(t, e, "notes", func(s *store.MCPServerState) bool { return s.Status == store.MCPSyncFailed })
	if s.Error == nil || s.Error.Type != mcp.SyncErrorAuthorizationRequired {
		t.Fatalf("sync before authorization: %+v", s.Error)
	}
	var a admin.MCPAuthorization
	adminAPI(t, e, http.MethodPost, "/api/v1/mcp/servers/notes/authorize", &a)
	if q := mustURL(t, a.AuthorizationURL).Query(); q.Get("resource") != rs["url"]+"/mcp" || q.Get("scope") != "notes:read" {
		t.Errorf("authorization URL %s", a.AuthorizationURL)
	}
	ops := e.NewBrowser()
	if resp, page := ops.Get(t, asLogin(t, ops, a.AuthorizationURL, "ops", false)); resp.StatusCode != http.StatusOK || !strings.Contains(page, "authorised") {
		t.Fatalf("admin callback: %d %s\n%s", resp.StatusCode, page, e.Logs.String())
	}
	waitSync(t, e, "notes", func(s *store.MCPServerState) bool { return s.Status == store.MCPSyncReady })

	// Alice, through the portal, before and after connecting her own account.
	alice := e.NewBrowser()
	h, hc, _ := oauthClientWith(t, e, alice, "alice@example.com", false)
	c := sdk.NewClient(&sdk.Implementation{Name: "agent", Version: "1"}, nil)
	cs, err := c.Connect(ctx, &sdk.StreamableClientTransport{Endpoint: portalURL(e, "agents"), HTTPClient: hc,
		OAuthHandler: h, DisableStandaloneSSE: true, MaxRetries: -1}, nil)
	if err != nil {
		t.Fatalf("connect: %v\n%s", err, e.Logs.String())
	}
	defer cs.Close()
	connectURL := e.URL("localhost", "/.gatehouse/mcp/connect/agents")
	_, err = whoami(t, cs, "notes")
	var werr *jsonrpc.Error
	if !errors.As(err, &werr) || werr.Code != mcp.CodeAuthorizationRequired || !strings.Contains(werr.Message, connectURL) {
		t.Fatalf("notes before Alice connected: %v", err)
	}
	// The provider refuses (the user cancels at its login page): nothing is connected.
	cb := asLogin(t, alice, connectStart(t, alice, connectURL, "alice@example.com", "connect"), "alice", true)
	if resp, page := alice.Get(t, cb); resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "access_denied") {
		t.Errorf("cancelled at the provider: %d %s", resp.StatusCode, page)
	}
	cb = asLogin(t, alice, connectStart(t, alice, connectURL, "alice@example.com", "connect"), "alice", false)
	if resp, page := alice.Get(t, cb); resp.StatusCode != http.StatusOK || !strings.Contains(page, "Connected since") {
		t.Fatalf("after connecting: %d %s\n%s", resp.StatusCode, page, e.Logs.String())
	}
	if got, err := whoami(t, cs, "notes"); err != nil || got != "notes:alice" {
		t.Fatalf("notes_whoami = %q %v\n%s", got, err, e.Logs.String())
	}
	last := func() string {
		all := seen()
		return all[len(all)-1]
	}
	before := last()

	// Gatehouse's clock passes the expiry: the next call refreshes (the provider rotates the
	// refresh token) and uses a new access token.
	e.Clock.Advance(10 * time.Minute)
	if got, err := whoami(t, cs, "notes"); err != nil || got != "notes:alice" {
		t.Fatalf("notes_whoami after expiry = %q %v\n%s", got, err, e.Logs.String())
	}
	if after := last(); after == before || !strings.HasPrefix(after, "Bearer ") {
		t.Errorf("the call after expiry used %q (before %q)", after, before)
	}

	// Nothing presented to the portal reached the server.
	ts, err := h.TokenSource(ctx)
	if err != nil {
		t.Fatal(err)
	}
	portalTok, err := ts.Token()
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range seen() {
		if strings.Contains(v, portalTok.AccessToken) {
			t.Error("the upstream was sent the portal's token")
		}
	}

	// Disconnecting deletes Alice's tokens: the next call asks her to connect again.
	connectStart(t, alice, connectURL, "alice@example.com", "disconnect")
	if _, err := whoami(t, cs, "notes"); !errors.As(err, &werr) || werr.Code != mcp.CodeAuthorizationRequired {
		t.Errorf("notes after disconnecting: %v", err)
	}
}

func mustURL(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
