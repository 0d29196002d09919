package app_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/testenv"
	"github.com/gatehouse/gatehouse/internal/testenv/peers"
)

// mcpInteropTimeout bounds each run of a Node peer.
const mcpInteropTimeout = 90 * time.Second

// mcpTSPeer returns the Node binary and the directory of interop/mcp-ts (the official
// TypeScript SDK 1.x and the MCP Inspector 2.x). When they are not installed the test is
// skipped, loudly, unless CI=true, where it fails.
func mcpTSPeer(t *testing.T) (node, dir string) {
	t.Helper()
	return peers.Node(t, "mcp-ts", "install-mcp-ts.sh", true, "node_modules/@modelcontextprotocol/sdk/package.json",
		inspectorCLI(""))
}

func inspectorCLI(dir string) string {
	return filepath.Join(dir, "node_modules", "@modelcontextprotocol", "inspector", "clients", "launcher", "build", "index.js")
}

// tsServers is servers.mjs: MCP servers of the TypeScript SDK on one loopback port.
type tsServers struct {
	URL string
}

// tsSeen is what reached the TypeScript servers.
type tsSeen struct {
	Authorization []string `json:"authorization"`
	PortalHeaders []string `json:"portalHeaders"`
	Paths         []string `json:"paths"`
}

func (s *tsServers) seen(t *testing.T) tsSeen {
	t.Helper()
	resp, err := http.Get(s.URL + "/seen")
	if err != nil {
		t.Fatal(err)
	}
	var v tsSeen
	if err := jsonDecode(resp, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// startTSServers runs servers.mjs until the test ends; the vault server requires vaultToken.
func startTSServers(t *testing.T, node, dir, vaultToken string) *tsServers {
	t.Helper()
	v := startNodeScript(t, node, dir, "servers.mjs", "VAULT_TOKEN="+vaultToken)
	if !strings.HasPrefix(v["url"], "http://127.0.0.1:") {
		t.Fatalf("servers.mjs printed %v, not its loopback URL", v)
	}
	return &tsServers{URL: v["url"]}
}

// lockedBuffer is a bytes.Buffer a child process writes to while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// waitSynced waits until every server has been synced and is ready, and returns the states.
func waitSynced(t *testing.T, st store.MCP, ids ...string) map[string]*store.MCPServerState {
	t.Helper()
	out := map[string]*store.MCPServerState{}
	deadline := time.Now().Add(20 * time.Second)
	for _, id := range ids {
		for {
			s, err := st.GetMCPServerState(t.Context(), id)
			if err == nil && s.Status == store.MCPSyncReady {
				out[id] = s
				break
			}
			if time.Now().After(deadline) {
				if s != nil {
					t.Fatalf("server %s was not synced: status %q error %+v (%v)", id, s.Status, s.Error, err)
				}
				t.Fatalf("server %s was not synced: %v", id, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return out
}

// waitCallLogs waits until the store holds n call logs of portal and returns them.
func waitCallLogs(t *testing.T, st store.MCP, portal string, n int) []store.MCPCallLog {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		logs, err := st.ListMCPCallLogs(t.Context(), store.MCPCallLogQuery{PortalID: portal})
		if err != nil {
			t.Fatal(err)
		}
		if len(logs) >= n {
			return logs
		}
		if time.Now().After(deadline) {
			t.Fatalf("portal %s: %d call logs, want %d: %+v", portal, len(logs), n, logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// headerTransport sends a service token's headers with every request.
type headerTransport struct {
	base   http.RoundTripper
	header http.Header
}

func (h *headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	for k, v := range h.header {
		r.Header[k] = v
	}
	return h.base.RoundTrip(r)
}

func textOf(t *testing.T, res *sdk.CallToolResult) string {
	t.Helper()
	if res == nil || len(res.Content) == 0 {
		t.Fatalf("a tool result without content: %+v", res)
	}
	tc, ok := res.Content[0].(*sdk.TextContent)
	if !ok {
		t.Fatalf("the tool result's content is %T, not text", res.Content[0])
	}
	return tc.Text
}

// TestInteropMCPTypeScriptClientOAuth connects the official TypeScript SDK's client (1.x,
// Streamable HTTP) to a portal with its built-in OAuth client: it meets the portal's 401,
// discovers the protected resource and the authorization server, registers itself
// dynamically with a loopback redirect URI, and sends the user to the authorization URL with
// PKCE S256 and the portal as resource. The test's browser logs in there with an e-mail PIN
// and follows the redirect to the driver's loopback callback; the driver exchanges the code,
// lists the tools (namespaced {server_id}_{tool}), calls one, and refreshes its token after
// the portal refused a spoiled one.
func TestInteropMCPTypeScriptClientOAuth(t *testing.T) {
	node, dir := mcpTSPeer(t)
	e, up := startMCP(t)
	portal := portalURL(e, "agents")

	ctx, cancel := context.WithTimeout(t.Context(), mcpInteropTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "client.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PORTAL_URL="+portal, "TOOL=tickets_echo", `TOOL_ARGS={"text":"from typescript"}`)
	cmd.WaitDelay = 5 * time.Second
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Wait() }()

	type event struct {
		Event             string             `json:"event"`
		URL               string             `json:"url"`
		Error             string             `json:"error"`
		Server            sdk.Implementation `json:"server"`
		ClientID          string             `json:"clientID"`
		Registered        bool               `json:"registered"`
		AuthorizationURL  string             `json:"authorizationURL"`
		CallbackIss       string             `json:"callbackIss"`
		TokenType         string             `json:"tokenType"`
		Scope             string             `json:"scope"`
		HasRefreshToken   bool               `json:"hasRefreshToken"`
		TokensSaved       int                `json:"tokensSaved"`
		Refreshed         bool               `json:"refreshed"`
		Tools             []string           `json:"tools"`
		ToolsAfterRefresh []string           `json:"toolsAfterRefresh"`
		Call              json.RawMessage    `json:"call"`
		Exchanges         []string           `json:"exchanges"`
	}
	var result *event
	var loggedIn bool
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		var ev event
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Logf("client.mjs: %s", line)
			continue
		}
		switch ev.Event {
		case "authorize":
			if loggedIn {
				t.Fatalf("the driver asked for a second authorization: %s", ev.URL)
			}
			loggedIn = true
			checkAuthorizationURL(t, e, ev.URL, portal)
			// The browser logs in with an e-mail PIN and follows the redirect to the
			// driver's loopback callback server.
			b := e.NewBrowser()
			resp, page := b.Login(t, ev.URL, "alice@example.com")
			if resp.StatusCode != http.StatusOK || resp.Request.URL.Hostname() != "127.0.0.1" || !strings.Contains(page, "Authorised") {
				t.Fatalf("the login did not end at the driver's callback: %d %s\n%s", resp.StatusCode, resp.Request.URL, page)
			}
		case "result", "error":
			result = &ev
		default:
			t.Logf("client.mjs: %s", line)
		}
	}
	if err := cmd.Wait(); err != nil || result == nil || result.Event != "result" {
		msg := ""
		if result != nil {
			msg = result.Error
		}
		t.Fatalf("the TypeScript client failed: %v %s\nstderr:\n%s\ngatehouse log:\n%s", err, msg, stderr.String(), e.Logs.String())
	}
	t.Logf("TypeScript client's HTTP exchanges:\n%s", strings.Join(result.Exchanges, "\n"))
	t.Logf("TypeScript client: server %s, client %s, scope %q, tools %v, refreshed %v", result.Server.Name, result.ClientID, result.Scope, result.Tools, result.Refreshed)

	// Every discovery variant the SDK tried was served at once (no 404 before a fallback):
	// the only refusals are the portal's 401s and its 405 to the standalone SSE stream (GET),
	// which the stateless portal does not offer.
	fetched := map[string]bool{}
	for _, ex := range result.Exchanges {
		method, rest, _ := strings.Cut(ex, " ")
		target, status, _ := strings.Cut(rest, " ")
		fetched[target] = true
		switch {
		case strings.HasPrefix(status, "2"):
		case target == portal && (method == http.MethodPost && status == "401" || method == http.MethodGet && status == "405"):
		default:
			t.Errorf("the TypeScript client's %s %s was answered %s", method, target, status)
		}
	}
	for _, path := range []string{"/.well-known/oauth-protected-resource/.gatehouse/mcp/agents",
		"/.well-known/oauth-authorization-server/.gatehouse/sso/mcp/agents", "/.gatehouse/sso/mcp/agents/register",
		"/.gatehouse/sso/mcp/agents/token"} {
		if !fetched[e.URL("localhost", path)] {
			t.Errorf("the TypeScript client never fetched %s", path)
		}
	}
	if !result.Registered || !strings.HasPrefix(result.ClientID, "mcp_") {
		t.Errorf("dynamic registration: registered %v, client id %q", result.Registered, result.ClientID)
	}
	if result.Server.Name != "gatehouse/agents" {
		t.Errorf("server info %+v", result.Server)
	}
	if wantIss := e.URL("localhost", "/.gatehouse/sso/mcp/agents"); result.CallbackIss != wantIss {
		t.Errorf("authorization response iss %q, want %q", result.CallbackIss, wantIss)
	}
	if !strings.EqualFold(result.TokenType, "bearer") || !result.HasRefreshToken {
		t.Errorf("token response: type %q, refresh token %v", result.TokenType, result.HasRefreshToken)
	}
	if !slices.Equal(result.Tools, []string{"tickets_echo"}) || !slices.Equal(result.ToolsAfterRefresh, result.Tools) {
		t.Errorf("tools %v, after the refresh %v; want [tickets_echo]", result.Tools, result.ToolsAfterRefresh)
	}
	var call sdk.CallToolResult
	if err := json.Unmarshal(result.Call, &call); err != nil {
		t.Fatalf("call result %s: %v", result.Call, err)
	}
	if call.IsError || textOf(t, &call) != "echo: from typescript" {
		t.Errorf("call result %s", result.Call)
	}
	if !result.Refreshed || result.TokensSaved != 2 {
		t.Errorf("the SDK did not refresh its refused token: refreshed %v, tokens saved %d", result.Refreshed, result.TokensSaved)
	}

	// The portal's token never reached the upstream; the call is logged with the user and
	// the registered client.
	for _, a := range up.seen() {
		if a != "Bearer upstream-token" {
			t.Errorf("the upstream was sent Authorization %q", a)
		}
	}
	logs := waitCallLogs(t, e.G.Store.(store.MCP), "agents", 1)
	if l := logs[0]; l.UserEmail != "alice@example.com" || l.ClientID != result.ClientID || l.Decision != "allow" || l.Capability != "tickets_echo" {
		t.Errorf("call log %+v", l)
	}
}

// checkAuthorizationURL checks what the TypeScript SDK asked the portal's authorization
// server for: the endpoint its metadata names, PKCE S256, a loopback redirect and the portal
// as the resource (RFC 8707).
func checkAuthorizationURL(t *testing.T, e *testenv.Env, raw, portal string) {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if want := e.URL("localhost", "/.gatehouse/sso/mcp/agents/authorization"); u.Scheme+"://"+u.Host+u.Path != want {
		t.Errorf("authorization endpoint %s, want %s", u, want)
	}
	redirect, _ := url.Parse(q.Get("redirect_uri"))
	if q.Get("response_type") != "code" || q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43 ||
		q.Get("resource") != portal || !strings.HasPrefix(q.Get("client_id"), "mcp_") || redirect == nil || redirect.Hostname() != "127.0.0.1" {
		t.Errorf("authorization request %v", q)
	}
}

// mcpTSUpstreamsConfig puts three servers of the TypeScript SDK behind one portal: Streamable
// HTTP (stateful), the legacy HTTP+SSE transport, and Streamable HTTP with a bearer token.
const mcpTSUpstreamsConfig = `
organization: {name: T, auth_domain: localhost}
identity_providers:
  - {id: pin, name: E-mail PIN, type: onetimepin}
service_tokens:
  - {id: agent, name: Agent, client_id: agent.access, client_secret_sha256: "SECRETSHA"}
policies:
  - {id: machines, decision: non_identity, include: [{any_valid_service_token: {}}]}
mcp_servers:
  - {id: calc, name: Calculator, url: TSURL/calc/mcp, review_status: approved}
  - {id: legacy, name: Legacy, url: TSURL/legacy/sse, review_status: approved}
  - id: vault
    name: Vault
    url: TSURL/vault/mcp
    auth_type: bearer
    auth_credentials: {env: GATEHOUSE_TEST_VAULT_TOKEN}
    review_status: approved
mcp_portals:
  - id: tools
    name: Tools
    servers: [{server_id: calc}, {server_id: legacy}, {server_id: vault}]
    policies: [{ref: machines, precedence: 1}]
`

// serviceTokenMCPClient connects the official Go SDK's client to a portal with a service token.
func serviceTokenMCPClient(t *testing.T, e *testenv.Env, transport http.RoundTripper, portal, id, secret string) *sdk.ClientSession {
	t.Helper()
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &headerTransport{base: transport,
		header: http.Header{"Gatehouse-Client-Id": {id}, "Gatehouse-Client-Secret": {secret}}}}
	c := sdk.NewClient(&sdk.Implementation{Name: "agent", Version: "1"}, nil)
	cs, err := c.Connect(t.Context(), &sdk.StreamableClientTransport{Endpoint: portalURL(e, portal), HTTPClient: hc,
		DisableStandaloneSSE: true, MaxRetries: -1}, nil)
	if err != nil {
		t.Fatalf("connect with a service token: %v", err)
	}
	t.Cleanup(func() { _ = cs.Close() })
	return cs
}

// TestInteropMCPTypeScriptUpstreams puts MCP servers built with the official TypeScript SDK
// behind a portal: a stateful Streamable HTTP server, a legacy HTTP+SSE server and a Streamable
// HTTP server that requires a bearer token. Gatehouse syncs them (detecting the transports
// from the URLs) and the official Go SDK's client, with a service token, lists and calls their
// tools through the portal; the upstreams see the configured bearer token and nothing of the
// portal's client.
func TestInteropMCPTypeScriptUpstreams(t *testing.T) {
	node, dir := mcpTSPeer(t)
	ts := startTSServers(t, node, dir, "vault-token")
	t.Setenv("GATEHOUSE_TEST_VAULT_TOKEN", "vault-token")
	cfg := strings.NewReplacer("TSURL", ts.URL, "SECRETSHA", sha("agent-secret")).Replace(mcpTSUpstreamsConfig)
	e := testenv.Start(t, cfg)
	st := e.G.Store.(store.MCP)
	states := waitSynced(t, st, "calc", "legacy", "vault")
	for id, want := range map[string]string{"calc": store.MCPTransportStreamable, "legacy": store.MCPTransportSSE, "vault": store.MCPTransportStreamable} {
		var synced []json.RawMessage
		s := states[id]
		if err := json.Unmarshal(s.Tools, &synced); err != nil || s.Transport != want || s.ProtocolVersion == "" || len(synced) != 1 {
			t.Errorf("server %s synced as %q, protocol %q, tools %s (%v)", id, s.Transport, s.ProtocolVersion, s.Tools, err)
		}
	}

	cs := serviceTokenMCPClient(t, e, e.NewBrowser().Client.Transport, "tools", "agent.access", "agent-secret")
	tools, err := cs.ListTools(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tool := range tools.Tools {
		names = append(names, tool.Name)
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"calc_add", "legacy_echo", "vault_lookup"}) {
		t.Fatalf("tools %v", names)
	}

	calls := []struct {
		tool string
		args map[string]any
		want string
	}{
		{"calc_add", map[string]any{"a": 2, "b": 3}, "sum: 5"},
		{"legacy_echo", map[string]any{"text": "over SSE"}, "legacy echo: over SSE"},
		{"vault_lookup", map[string]any{"key": "k1"}, "vault: k1 = 42"},
		// Again: the stateful and the SSE sessions are reused, not reconnected.
		{"calc_add", map[string]any{"a": 40, "b": 2}, "sum: 42"},
		{"legacy_echo", map[string]any{"text": "again"}, "legacy echo: again"},
	}
	for _, c := range calls {
		res, err := cs.CallTool(t.Context(), &sdk.CallToolParams{Name: c.tool, Arguments: c.args})
		if err != nil {
			t.Fatalf("%s: %v", c.tool, err)
		}
		if res.IsError || textOf(t, res) != c.want {
			t.Errorf("%s: %+v, want %q", c.tool, res.Content, c.want)
		}
		if c.tool == "calc_add" {
			sc, _ := json.Marshal(res.StructuredContent)
			if want := fmt.Sprintf(`{"sum":%v}`, c.args["a"].(int)+c.args["b"].(int)); string(sc) != want {
				t.Errorf("calc_add structured content %s, want %s", sc, want)
			}
		}
	}

	// Only the vault was sent an Authorization header, its own; no upstream saw the service
	// token's headers. The legacy server was used over its event stream and message endpoint.
	seen := ts.seen(t)
	for _, a := range seen.Authorization {
		if a != "/vault/mcp Bearer vault-token" {
			t.Errorf("an upstream was sent Authorization: %q", a)
		}
	}
	if len(seen.Authorization) == 0 {
		t.Error("the vault was never sent its bearer token")
	}
	if len(seen.PortalHeaders) != 0 {
		t.Errorf("the portal's credential headers reached upstreams: %v", seen.PortalHeaders)
	}
	if !slices.Contains(seen.Paths, "GET /legacy/sse") || !slices.Contains(seen.Paths, "POST /legacy/messages") {
		t.Errorf("the legacy server was not used over HTTP+SSE: %v", seen.Paths)
	}
	// Each stateful session was opened once by the sync and once by the portal at most.
	if n := countOf(seen.Paths, "GET /legacy/sse"); n > 2 {
		t.Errorf("the legacy server's event stream was opened %d times", n)
	}

	logs := waitCallLogs(t, st, "tools", len(calls))
	for _, l := range logs {
		if l.Decision != "allow" || l.ClientID != "agent.access" || l.ServerID != strings.Split(l.Capability, "_")[0] {
			t.Errorf("call log %+v", l)
		}
	}
}

func countOf(paths []string, p string) int {
	n := 0
	for _, x := range paths {
		if x == p {
			n++
		}
	}
	return n
}

// mcpInspectorConfig is a portal for service tokens on the Go SDK's upstream.
const mcpInspectorConfig = `
organization: {name: T, auth_domain: localhost}
identity_providers:
  - {id: pin, name: E-mail PIN, type: onetimepin}
service_tokens:
  - {id: agent, name: Agent, client_id: agent.access, client_secret_sha256: "SECRETSHA"}
policies:
  - {id: machines, decision: non_identity, include: [{any_valid_service_token: {}}]}
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
    policies: [{ref: machines, precedence: 1}]
`

// TestInteropMCPInspectorCLI lists and calls tools through a portal with the MCP Inspector's
// CLI mode (Inspector 2.x, on the TypeScript SDK 2.x), authenticated by a service token in the
// wire profile's headers (--header), and reads the JSON it prints. A wrong secret fails.
func TestInteropMCPInspectorCLI(t *testing.T) {
	node, dir := mcpTSPeer(t)
	up := startMCPUpstream(t, "upstream-token")
	t.Setenv("GATEHOUSE_TEST_TICKETS_TOKEN", "upstream-token")
	e := testenv.Start(t, strings.NewReplacer("MCPURL", up.URL, "SECRETSHA", sha("agent-secret")).Replace(mcpInspectorConfig))
	waitSynced(t, e.G.Store.(store.MCP), "tickets")
	home := t.TempDir()

	inspector := func(secret string, args ...string) ([]byte, error) {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), mcpInteropTimeout)
		defer cancel()
		argv := append([]string{inspectorCLI(dir), "--cli", portalURL(e, "agents"), "--transport", "http",
			"--header", "Gatehouse-Client-Id: agent.access", "--header", "Gatehouse-Client-Secret: " + secret}, args...)
		cmd := exec.CommandContext(ctx, node, argv...)
		cmd.Dir = dir
		// The Inspector keeps a catalog and secrets under the home directory: a fresh one.
		cmd.Env = append(os.Environ(), "HOME="+home, "MCP_CATALOG_PATH="+filepath.Join(home, "mcp.json"))
		cmd.WaitDelay = 5 * time.Second
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		if err != nil {
			return stdout.Bytes(), fmt.Errorf("%w\nstdout: %s\nstderr: %s", err, stdout.String(), stderr.String())
		}
		if stderr.Len() > 0 {
			t.Logf("inspector stderr: %s", stderr.String())
		}
		return stdout.Bytes(), nil
	}

	out, err := inspector("agent-secret", "--method", "tools/list")
	if err != nil {
		t.Fatalf("inspector tools/list: %v\ngatehouse log:\n%s", err, e.Logs.String())
	}
	var list struct {
		Tools []struct {
			Name        string          `json:"name"`
			Description string          `json:"description"`
			InputSchema json.RawMessage `json:"inputSchema"`
		} `json:"tools"`
	}
	if err := json.Unmarshal(out, &list); err != nil {
		t.Fatalf("inspector tools/list printed %s: %v", out, err)
	}
	if len(list.Tools) != 1 || list.Tools[0].Name != "tickets_echo" || list.Tools[0].Description != "Echoes text." || len(list.Tools[0].InputSchema) == 0 {
		t.Fatalf("inspector tools/list: %s", out)
	}

	out, err = inspector("agent-secret", "--method", "tools/call", "--tool-name", "tickets_echo", "--tool-arg", "text=from the inspector")
	if err != nil {
		t.Fatalf("inspector tools/call: %v", err)
	}
	var call sdk.CallToolResult
	if err := json.Unmarshal(out, &call); err != nil {
		t.Fatalf("inspector tools/call printed %s: %v", out, err)
	}
	if call.IsError || textOf(t, &call) != "echo: from the inspector" {
		t.Fatalf("inspector tools/call: %s", out)
	}

	// A wrong secret: the portal answers 401 with its OAuth challenge, which the CLI (not
	// interactive here) reports as authentication required.
	if out, err := inspector("wrong-secret", "--method", "tools/list"); err == nil {
		t.Fatalf("the inspector listed tools with a wrong secret: %s", out)
	} else if !strings.Contains(err.Error(), "auth_required") || !strings.Contains(e.Logs.String(), `"reason":"service-token-invalid"`) {
		t.Errorf("with a wrong secret: %v", err)
	}

	logs := waitCallLogs(t, e.G.Store.(store.MCP), "agents", 1)
	if l := logs[0]; l.ClientID != "agent.access" || l.Decision != "allow" || l.Capability != "tickets_echo" {
		t.Errorf("call log %+v", l)
	}
}

// TestMCPPortalScaleOut runs two replicas on one PostgreSQL database. A user logs in with
// OAuth through replica 0; then the official Go SDK's client lists and calls tools with every
// request (a new connection each) going to the next replica in turn, with no session
// affinity: each replica verifies the tokens the other issued, serves the portal statelessly
// and writes its call logs to the one store.
func TestMCPPortalScaleOut(t *testing.T) {
	storage := `storage: {driver: postgres, dsn: "` + testenv.PostgresDSN(t) + `"}`
	up := startMCPUpstream(t, "upstream-token")
	t.Setenv("GATEHOUSE_TEST_TICKETS_TOKEN", "upstream-token")
	c := testenv.StartCluster(t, 2, strings.ReplaceAll(mcpConfig, "MCPURL", up.URL), storage)
	r0 := c.Replicas[0]
	st := r0.G.Store.(store.MCP)
	waitSynced(t, st, "tickets")

	h, _, _ := oauthClientWith(t, r0, r0.NewBrowser(), "alice@example.com", false)
	alternating := &http.Client{Transport: c.NewBrowser().Client.Transport, Timeout: 10 * time.Second}
	client := sdk.NewClient(&sdk.Implementation{Name: "agent", Version: "1"}, nil)
	cs, err := client.Connect(t.Context(), &sdk.StreamableClientTransport{Endpoint: portalURL(r0, "agents"), HTTPClient: alternating,
		OAuthHandler: h, DisableStandaloneSSE: true, MaxRetries: -1}, nil)
	if err != nil {
		t.Fatalf("connect through OAuth: %v", err)
	}
	defer cs.Close()

	// Rounds of one list and two calls: three requests a round, so with two replicas the
	// lists and the calls each land on both.
	const rounds = 4
	for i := range rounds {
		tools, err := cs.ListTools(t.Context(), nil)
		if err != nil || len(tools.Tools) != 1 || tools.Tools[0].Name != "tickets_echo" {
			t.Fatalf("round %d: tools %+v %v", i, tools, err)
		}
		for j := range 2 {
			text := fmt.Sprintf("round %d call %d", i, j)
			res, err := cs.CallTool(t.Context(), &sdk.CallToolParams{Name: "tickets_echo", Arguments: map[string]any{"text": text}})
			if err != nil {
				t.Fatalf("round %d call %d: %v", i, j, err)
			}
			if got := textOf(t, res); got != "echo: "+text {
				t.Errorf("round %d call %d: %q", i, j, got)
			}
		}
	}

	// The store holds every call, whichever replica served it; each replica served some.
	logs := waitCallLogs(t, st, "agents", 2*rounds)
	if len(logs) != 2*rounds {
		t.Fatalf("%d call logs, want %d", len(logs), 2*rounds)
	}
	stored := map[string]bool{}
	for _, l := range logs {
		if l.UserEmail != "alice@example.com" || !strings.HasPrefix(l.ClientID, "mcp_") || l.Decision != "allow" {
			t.Errorf("call log %+v", l)
		}
		stored[l.RequestID] = true
	}
	served := 0
	for i, r := range c.Replicas {
		ids := callLogLines(t, r.Logs.String())
		if len(ids) == 0 {
			t.Errorf("replica %d served no tool call", i)
		}
		for _, id := range ids {
			if !stored[id] {
				t.Errorf("replica %d's call %s is not in the store", i, id)
			}
		}
		served += len(ids)
		t.Logf("replica %d served %d of the %d calls", i, len(ids), 2*rounds)
	}
	if served != 2*rounds {
		t.Errorf("the replicas logged %d calls, want %d", served, 2*rounds)
	}
}

// callLogLines returns the request ids of the "mcp call" lines of a replica's log.
func callLogLines(t *testing.T, log string) []string {
	t.Helper()
	var ids []string
	for line := range strings.SplitSeq(log, "\n") {
		var v struct {
			Msg       string `json:"msg"`
			RequestID string `json:"request_id"`
		}
		if json.Unmarshal([]byte(line), &v) == nil && v.Msg == "mcp call" {
			ids = append(ids, v.RequestID)
		}
	}
	return ids
}
