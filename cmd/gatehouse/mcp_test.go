package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/keys"
	"github.com/gatehouse/gatehouse/internal/store"
)

// mcpCLIEnv writes a configuration (SQLite) registering an MCP server the test serves with the
// official Go SDK (bearer token from a variable), one that cannot be reached, and a portal.
func mcpCLIEnv(t *testing.T) (cfgFile string) {
	t.Helper()
	s := sdk.NewServer(&sdk.Implementation{Name: "docs", Version: "1"}, nil)
	sdk.AddTool(s, &sdk.Tool{Name: "search", Description: "Searches the docs.\nSecond line."}, func(context.Context, *sdk.CallToolRequest, struct{}) (*sdk.CallToolResult, any, error) {
		return &sdk.CallToolResult{Content: []sdk.Content{&sdk.TextContent{Text: "found"}}}, nil, nil
	})
	h := sdk.NewStreamableHTTPHandler(func(*http.Request) *sdk.Server { return s }, nil)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer docs-token" {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(up.Close)
	t.Setenv("GATEHOUSE_TEST_DOCS_TOKEN", "docs-token")
	dir := t.TempDir()
	if err := keys.GenerateMasterKeyFile(filepath.Join(dir, "master.key")); err != nil {
		t.Fatal(err)
	}
	cfgFile = filepath.Join(dir, "gatehouse.yaml")
	body := fmt.Sprintf(`version: 1
organization: {auth_domain: auth.example.com}
secrets: {master_key_file: %q}
storage: {driver: sqlite, dsn: %q}
mcp_servers:
  - {id: docs, name: Docs, url: %q, auth_type: bearer, auth_credentials: {env: GATEHOUSE_TEST_DOCS_TOKEN}, review_status: approved}
  - {id: down, name: Down, url: "http://127.0.0.1:1/mcp", transport: streamable_http}
mcp_portals:
  - id: agents
    name: Agents
    servers: [{server_id: docs}]
`, filepath.Join(dir, "master.key"), filepath.Join(dir, "gatehouse.db"), up.URL+"/mcp")
	if err := os.WriteFile(cfgFile, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfgFile
}

func TestMCPServersCommands(t *testing.T) {
	cfgFile := mcpCLIEnv(t)
	table := mustRun(t, "mcp", "servers", "list", "--config", cfgFile)
	if !strings.Contains(table, "docs") || !strings.Contains(table, "waiting") || !strings.Contains(table, "not exposed") {
		t.Errorf("list before a sync:\n%s", table)
	}

	// Syncing every server: the unreachable one fails, and so does the command.
	out, _, err := run(t, "mcp", "servers", "sync", "--config", cfgFile)
	if err == nil || !strings.Contains(err.Error(), "1 of 2 syncs failed") {
		t.Fatalf("sync of all: %v\n%s", err, out)
	}
	if !strings.Contains(out, "docs") || !strings.Contains(out, "ready") || !strings.Contains(out, "connection refused") {
		t.Errorf("sync output:\n%s", out)
	}
	if out := mustRun(t, "mcp", "servers", "sync", "docs", "--config", cfgFile); !strings.Contains(out, "ready") {
		t.Errorf("sync docs:\n%s", out)
	}
	if _, _, err := run(t, "mcp", "servers", "sync", "nope", "--config", cfgFile); err == nil {
		t.Error("sync of an unknown server succeeded")
	}

	var list []admin.MCPServerInfo
	if err := json.Unmarshal([]byte(mustRun(t, "mcp", "servers", "list", "--json", "--config", cfgFile)), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].ID != "docs" || list[0].Status != store.MCPSyncReady || list[0].ToolCount != 1 || !list[0].Exposed ||
		list[1].Status != store.MCPSyncFailed || list[1].Error == nil {
		t.Errorf("list: %+v", list)
	}
	show := mustRun(t, "mcp", "servers", "show", "docs", "--config", cfgFile)
	for _, want := range []string{"Docs (docs)", "review_status  approved", "status         ready", "transport      streamable_http", "docs_search  Searches the docs."} {
		if !strings.Contains(show, want) {
			t.Errorf("show lacks %q:\n%s", want, show)
		}
	}
	if strings.Contains(show, "docs-token") {
		t.Errorf("show prints the credential:\n%s", show)
	}
	var detail admin.MCPServerInfo
	if err := json.Unmarshal([]byte(mustRun(t, "mcp", "servers", "show", "docs", "--json", "--config", cfgFile)), &detail); err != nil || len(detail.Tools) == 0 {
		t.Errorf("show --json: %v %+v", err, detail)
	}

	if out := mustRun(t, "mcp", "servers", "approve-tools", "docs", "--config", cfgFile); !strings.Contains(out, "approved the 1 tool definitions of docs: search") {
		t.Errorf("approve-tools: %s", out)
	}
	if _, _, err := run(t, "mcp", "servers", "approve-tools", "down", "--config", cfgFile); err == nil || !strings.Contains(err.Error(), "never synced") {
		t.Errorf("approve-tools of a server never synced: %v", err)
	}

	var events []store.AuditEvent
	if err := json.Unmarshal([]byte(mustRun(t, "audit", "query", "--config", cfgFile, "--json", "--action", admin.ActionSyncMCPServer)), &events); err != nil {
		t.Fatal(err)
	}
	failures := 0
	for _, e := range events {
		if e.Result == store.AuditFailure {
			failures++
			if e.TargetID != "nope" {
				t.Errorf("sync of %s audited as a failure", e.TargetID)
			}
		}
	}
	// docs twice and down once (a failed sync is recorded, not a failed operation), and the
	// unknown server as a refusal.
	if len(events) != 4 || failures != 1 {
		t.Errorf("%d sync audit events, %d failures; want 4 and 1", len(events), failures)
	}
}

func TestMCPLogsCommand(t *testing.T) {
	cfgFile := mcpCLIEnv(t)
	if out := mustRun(t, "mcp", "logs", "--config", cfgFile); out != "No MCP call log entries.\n" {
		t.Errorf("no entries: %q", out)
	}
	cfg, err := config.Load(cfgFile)
	if err != nil {
		t.Fatal(err)
	}
	st, err := app.OpenStore(t.Context(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	err = st.(store.MCP).AppendMCPCallLogs(t.Context(), []store.MCPCallLog{
		{Time: base, RequestID: "req-1", PortalID: "agents", ServerID: "docs", Method: "tools/call", Capability: "docs_search", UpstreamCapability: "search_v2\x1b[2J",
			UserEmail: "alice@example.com", Decision: "allow", Reason: "allowed", DurationMS: 12.5, BytesIn: 120, BytesOut: 512,
			DLPEntries: []string{}, Topics: []string{}},
		{Time: base.Add(time.Minute), RequestID: "req-2", PortalID: "agents", ServerID: "docs", Method: "tools/call", Capability: "docs_leak",
			ClientID: "agent.access", Decision: "block", Reason: "dlp", DurationMS: 3, BytesIn: 80, BytesOut: 0,
			DLPEntries: []string{"aws_access_key"}, Topics: []string{}},
		{Time: base.Add(2 * time.Minute), RequestID: "req-3", PortalID: "agents", Method: "tools/call", Capability: "docs_\x1b[2Jhidden",
			ClientID: "agent.access", Decision: "block", Reason: "tool-not-visible", BytesIn: 60, DLPEntries: []string{}, Topics: []string{}},
	})
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	text := mustRun(t, "mcp", "logs", "--config", cfgFile)
	if strings.Contains(text, "\x1b") {
		t.Errorf("a control character reached the terminal:\n%q", text)
	}
	golden(t, "mcp_logs.golden", "$ gatehouse mcp logs\n"+text)

	lines := strings.Split(strings.TrimSpace(mustRun(t, "mcp", "logs", "--json", "--decision", "block", "--config", cfgFile)), "\n")
	if len(lines) != 2 {
		t.Fatalf("--decision block: %d lines", len(lines))
	}
	var e store.MCPCallLog
	if err := json.Unmarshal([]byte(lines[1]), &e); err != nil || e.RequestID != "req-2" || e.DLPEntries[0] != "aws_access_key" {
		t.Errorf("--json: %v %+v", err, e)
	}
	for args, want := range map[string]int{"--user alice@example.com": 1, "--server docs": 2, "--portal other": 0, "--until 2026-12-01T09:01:00Z": 1} {
		a := append([]string{"mcp", "logs", "--json", "--config", cfgFile}, strings.Fields(args)...)
		out := strings.TrimSpace(mustRun(t, a...))
		n := 0
		if out != "" {
			n = len(strings.Split(out, "\n"))
		}
		if n != want {
			t.Errorf("%s: %d entries, want %d", args, n, want)
		}
	}
	_, stderr, err := run(t, "mcp", "logs", "--limit", "2", "--config", cfgFile)
	if err != nil || !strings.Contains(stderr, "more entries: add --cursor ") {
		t.Errorf("--limit 2: %v %q", err, stderr)
	}
	for _, bad := range [][]string{{"--decision", "maybe"}, {"--since", "yesterday"}, {"--limit", "0"}, {"--cursor", "x"}} {
		if _, _, err := run(t, append([]string{"mcp", "logs", "--config", cfgFile}, bad...)...); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
	var events []store.AuditEvent
	if err := json.Unmarshal([]byte(mustRun(t, "audit", "query", "--config", cfgFile, "--json", "--action", admin.ActionReadMCPCallLogs)), &events); err != nil {
		t.Fatal(err)
	}
	if len(events) < 8 {
		t.Errorf("%d call log readings audited", len(events))
	}
}

// TestMCPServersAuthorizeCommand: an oauth server's sync says it needs authorization;
// `mcp servers authorize` discovers its authorization server (the 401 challenge, protected
// resource metadata, RFC 8414), registers Gatehouse there and prints the URL to open, with PKCE
// and the resource indicator; a server of another auth type is refused.
func TestMCPServersAuthorizeCommand(t *testing.T) {
	var registered []string
	var as *httptest.Server
	as = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/mcp":
			w.Header().Set("WWW-Authenticate", `Bearer resource_metadata="`+as.URL+`/.well-known/oauth-protected-resource/mcp", scope="wiki.read"`)
			w.WriteHeader(http.StatusUnauthorized)
		case "/.well-known/oauth-protected-resource/mcp":
			_ = json.NewEncoder(w).Encode(map[string]any{"resource": as.URL + "/mcp", "authorization_servers": []string{as.URL}})
		case "/.well-known/oauth-authorization-server":
			_ = json.NewEncoder(w).Encode(map[string]any{"issuer": as.URL, "authorization_endpoint": as.URL + "/authorize",
				"token_endpoint": as.URL + "/token", "registration_endpoint": as.URL + "/register", "code_challenge_methods_supported": []string{"S256"}})
		case "/register":
			var m struct {
				RedirectURIs []string `json:"redirect_uris"`
			}
			_ = json.NewDecoder(r.Body).Decode(&m)
			registered = append(registered, m.RedirectURIs...)
			w.WriteHeader(http.StatusCreated)
			_, _ = w.Write([]byte(`{"client_id":"gh-client","client_secret":"gh-secret"}`))
		default:
			http.NotFound(w, r)
		}
	}))
	defer as.Close()
	cfgFile := mcpCLIEnv(t)
	b, err := os.ReadFile(cfgFile)
	if err != nil {
		t.Fatal(err)
	}
	b = []byte(strings.Replace(string(b), "mcp_portals:", "  - {id: wiki, name: Wiki, url: \""+as.URL+"/mcp\", auth_type: oauth, review_status: approved}\nmcp_portals:", 1))
	if err := os.WriteFile(cfgFile, b, 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, _ = run(t, "mcp", "servers", "sync", "wiki", "--config", cfgFile)
	if table := mustRun(t, "mcp", "servers", "list", "--config", cfgFile); !strings.Contains(table, "needs authorization (mcp servers authorize wiki)") {
		t.Errorf("list before authorization:\n%s", table)
	}
	out := mustRun(t, "mcp", "servers", "authorize", "wiki", "--config", cfgFile)
	i := strings.Index(out, as.URL+"/authorize?")
	if i < 0 {
		t.Fatalf("authorize printed:\n%s", out)
	}
	u, err := url.Parse(strings.TrimSpace(out[i:]))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if q.Get("client_id") != "gh-client" || q.Get("resource") != as.URL+"/mcp" || q.Get("scope") != "wiki.read" || q.Get("code_challenge_method") != "S256" ||
		!strings.HasSuffix(q.Get("redirect_uri"), "auth.example.com/.gatehouse/mcp/servers-callback") || len(registered) != 1 || registered[0] != q.Get("redirect_uri") {
		t.Errorf("authorization URL %s (registered %v)", u, registered)
	}
	// The registration is kept: a second authorization does not register again.
	mustRun(t, "mcp", "servers", "authorize", "wiki", "--config", cfgFile)
	if len(registered) != 1 {
		t.Errorf("registered %d times", len(registered))
	}
	if _, _, err := run(t, "mcp", "servers", "authorize", "docs", "--config", cfgFile); err == nil || !strings.Contains(err.Error(), "not oauth") {
		t.Errorf("authorize a bearer server: %v", err)
	}
}
