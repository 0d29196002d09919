package admin_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/store"
)

// mcpUpstream is an independent MCP server (the official Go SDK) with two tools; addTool adds
// a third (a change of its tool definitions).
func mcpUpstream(t *testing.T) (url string, addTool func()) {
	t.Helper()
	s := sdk.NewServer(&sdk.Implementation{Name: "docs", Version: "1"}, nil)
	text := func(s string) (*sdk.CallToolResult, any, error) {
		return &sdk.CallToolResult{Content: []sdk.Content{&sdk.TextContent{Text: s}}}, nil, nil
	}
	sdk.AddTool(s, &sdk.Tool{Name: "search", Description: "Searches the docs."}, func(context.Context, *sdk.CallToolRequest, struct{}) (*sdk.CallToolResult, any, error) {
		return text("found")
	})
	sdk.AddTool(s, &sdk.Tool{Name: "read", Description: "Reads a page."}, func(context.Context, *sdk.CallToolRequest, struct{}) (*sdk.CallToolResult, any, error) {
		return text("page")
	})
	srv := httptest.NewServer(sdk.NewStreamableHTTPHandler(func(*http.Request) *sdk.Server { return s }, nil))
	t.Cleanup(srv.Close)
	return srv.URL + "/mcp", func() {
		sdk.AddTool(s, &sdk.Tool{Name: "delete", Description: "Deletes a page."}, func(context.Context, *sdk.CallToolRequest, struct{}) (*sdk.CallToolResult, any, error) {
			return text("deleted")
		})
	}
}

func TestMCPServersAPI(t *testing.T) {
	f := newFixture(t)
	url, addTool := mcpUpstream(t)
	servers := []store.MCPServer{
		{ID: "docs", Name: "Docs", URL: url, ReviewStatus: store.MCPReviewApproved, HoldChangedTools: true},
		{ID: "down", Name: "Down", URL: "http://127.0.0.1:1/mcp", Transport: store.MCPTransportStreamable},
	}
	portals := []store.MCPPortal{{ID: "agents", Name: "Agents", Servers: []store.MCPPortalServer{{ServerID: "docs", DefaultDisabled: true,
		UpdatedTools: []store.MCPToolSetting{{Name: "search", Enabled: true}}}}}}
	m, closeMCP := app.NewMCPAdmin(f.st, servers, portals, "/cdn-cgi/access/mcp/", func() time.Time { return f.clockNow }, nil)
	t.Cleanup(closeMCP)

	// Without the MCP administration the endpoints answer 404.
	if status, _ := f.do(t, http.MethodGet, "/api/v1/mcp/servers", f.token); status != http.StatusNotFound {
		t.Errorf("without the MCP administration: %d", status)
	}
	f.svc.MCP = m

	var list []admin.MCPServerInfo
	f.ok(t, http.MethodGet, "/api/v1/mcp/servers", &list)
	if len(list) != 2 || list[0].ID != "docs" || list[0].Status != store.MCPSyncWaiting || list[0].Exposed ||
		list[1].AuthType != store.MCPAuthUnauthenticated || list[1].ReviewStatus != store.MCPReviewUnreviewed {
		t.Fatalf("before a sync: %+v", list)
	}

	var synced admin.MCPServerInfo
	f.ok(t, http.MethodPost, "/api/v1/mcp/servers/docs/sync", &synced)
	if synced.Status != store.MCPSyncReady || synced.ToolCount != 2 || !slices.Equal(synced.ToolNames, []string{"read", "search"}) ||
		synced.Transport != store.MCPTransportStreamable || synced.ProtocolVersion == "" || !synced.Exposed || synced.ToolsChanged ||
		!synced.LastSynced.Equal(f.clockNow) || synced.Tools != nil {
		t.Fatalf("synced: %+v", synced)
	}
	var failed admin.MCPServerInfo
	f.ok(t, http.MethodPost, "/api/v1/mcp/servers/down/sync", &failed)
	if failed.Status != store.MCPSyncFailed || failed.Error == nil || failed.Error.Type == "" ||
		!strings.Contains(failed.Error.Message, "connection refused") || failed.Exposed {
		t.Fatalf("unreachable server: %+v %+v", failed, failed.Error)
	}

	var detail admin.MCPServerInfo
	env := f.ok(t, http.MethodGet, "/api/v1/mcp/servers/docs", &detail)
	var tools []sdk.Tool
	if err := json.Unmarshal(detail.Tools, &tools); err != nil || len(tools) != 2 || tools[1].Description != "Searches the docs." {
		t.Fatalf("tool definitions: %v %+v", err, tools)
	}
	var raw map[string]any
	_ = json.Unmarshal(env.Result, &raw)
	for _, k := range []string{"id", "name", "url", "auth_type", "review_status", "status", "transport", "protocol_version",
		"tool_count", "prompt_count", "resource_count", "tool_names", "prompt_names", "resource_names", "tools_changed", "last_synced", "tools"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("server has no %q: %s", k, env.Result)
		}
	}

	// A changed tool list is flagged and, with hold_changed_tools, held until approved.
	addTool()
	f.ok(t, http.MethodPost, "/api/v1/mcp/servers/docs/sync", &synced)
	if synced.Status != store.MCPSyncToolsChanged || !synced.ToolsChanged || !synced.Held || synced.Exposed || synced.ToolCount != 3 {
		t.Fatalf("after a change: %+v", synced)
	}
	var approved admin.MCPServerInfo
	f.ok(t, http.MethodPost, "/api/v1/mcp/servers/docs/approve_tools", &approved)
	if approved.Status != store.MCPSyncReady || approved.ToolsChanged || approved.Held || !approved.Exposed {
		t.Fatalf("after approval: %+v", approved)
	}

	for path, want := range map[string]int{
		"/api/v1/mcp/servers/down/approve_tools": http.StatusConflict, // never synced successfully
		"/api/v1/mcp/servers/nope/approve_tools": http.StatusNotFound,
		"/api/v1/mcp/servers/nope/sync":          http.StatusNotFound,
	} {
		if status, env := f.do(t, http.MethodPost, path, f.token); status != want {
			t.Errorf("%s: %d %+v, want %d", path, status, env.Errors, want)
		}
	}
	if status, _ := f.do(t, http.MethodGet, "/api/v1/mcp/servers/nope", f.token); status != http.StatusNotFound {
		t.Errorf("unknown server: %d", status)
	}
	if status, _ := f.do(t, http.MethodPost, "/api/v1/mcp/servers/docs/sync", ""); status != http.StatusUnauthorized {
		t.Errorf("sync without a token: %d", status)
	}

	var ps []admin.MCPPortalInfo
	f.ok(t, http.MethodGet, "/api/v1/mcp/portals", &ps)
	if len(ps) != 1 || ps[0].Endpoint != "/cdn-cgi/access/mcp/agents" || len(ps[0].Servers) != 1 || !ps[0].Servers[0].DefaultDisabled ||
		len(ps[0].Servers[0].UpdatedTools) != 1 {
		t.Fatalf("portals: %+v", ps)
	}

	// Syncs and approvals are audited, the failed sync with its error type.
	evs, err := f.st.ListAuditEvents(t.Context(), store.AuditQuery{TargetType: "mcp_server", Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, e := range evs {
		count[e.Action+" "+e.TargetID+" "+e.Result]++
		if e.TargetID == "down" && e.Action == admin.ActionSyncMCPServer && !strings.Contains(string(e.Details), `"error_type":"`) {
			t.Errorf("failed sync audited without its error: %s", e.Details)
		}
	}
	if count[admin.ActionSyncMCPServer+" docs "+store.AuditSuccess] != 2 || count[admin.ActionSyncMCPServer+" down "+store.AuditSuccess] != 1 ||
		count[admin.ActionApproveMCPTools+" docs "+store.AuditSuccess] != 1 || count[admin.ActionApproveMCPTools+" down "+store.AuditFailure] != 1 {
		t.Errorf("audit events: %v", count)
	}
}

func TestMCPCallLogsAPI(t *testing.T) {
	f := newFixture(t)
	m, closeMCP := app.NewMCPAdmin(f.st, nil, nil, "/mcp/", func() time.Time { return f.clockNow }, nil)
	t.Cleanup(closeMCP)
	f.svc.MCP = m
	var logs []store.MCPCallLog
	for i, e := range []struct {
		portal, server, email, decision string
		ago                             time.Duration
	}{
		{"agents", "docs", "alice@example.com", "allow", 3 * time.Hour},
		{"agents", "docs", "alice@example.com", "block", 2 * time.Hour},
		{"ops", "tickets", "", "error", time.Hour},
	} {
		logs = append(logs, store.MCPCallLog{Time: f.clockNow.Add(-e.ago), RequestID: fmt.Sprint("r", i), PortalID: e.portal, ServerID: e.server,
			Method: "tools/call", Capability: e.server + "_search", UserEmail: e.email, ClientID: "agent.access", Decision: e.decision,
			Reason: "allowed", DLPEntries: []string{}, Topics: []string{}})
	}
	if err := f.st.AppendMCPCallLogs(t.Context(), logs); err != nil {
		t.Fatal(err)
	}

	var all []store.MCPCallLog
	env := f.ok(t, http.MethodGet, "/api/v1/mcp/logs", &all)
	if len(all) != 3 || all[0].RequestID != "r2" || env.ResultInfo == nil || env.ResultInfo.Count != 3 || env.ResultInfo.Cursor != "" {
		t.Fatalf("all: %+v, info %+v", all, env.ResultInfo)
	}
	for q, want := range map[string]int{
		"?portal=agents":                   2,
		"?server=tickets":                  1,
		"?user=ALICE@example.com":          2,
		"?decision=block":                  1,
		"?since=90m":                       1,
		"?until=150m":                      1,
		"?since=1d&decision=allow":         1,
		"?portal=agents&decision=error":    0,
		"?since=2030-01-01T00:00:00Z":      3,
		"?user=bob@example.com&portal=ops": 0,
	} {
		var got []store.MCPCallLog
		f.ok(t, http.MethodGet, "/api/v1/mcp/logs"+q, &got)
		if len(got) != want {
			t.Errorf("%s: %d entries, want %d", q, len(got), want)
		}
	}
	var page []store.MCPCallLog
	env = f.ok(t, http.MethodGet, "/api/v1/mcp/logs?limit=2", &page)
	if len(page) != 2 || env.ResultInfo.Cursor == "" {
		t.Fatalf("first page: %d entries, cursor %q", len(page), env.ResultInfo.Cursor)
	}
	env = f.ok(t, http.MethodGet, "/api/v1/mcp/logs?limit=2&cursor="+env.ResultInfo.Cursor, &page)
	if len(page) != 1 || page[0].RequestID != "r0" || env.ResultInfo.Cursor != "" {
		t.Errorf("second page: %+v, cursor %q", page, env.ResultInfo.Cursor)
	}
	for _, q := range []string{"?since=yesterday", "?until=-1h", "?limit=0", "?limit=1001", "?cursor=abc", "?decision=maybe"} {
		if status, env := f.do(t, http.MethodGet, "/api/v1/mcp/logs"+q, f.token); status != http.StatusBadRequest || len(env.Errors) != 1 {
			t.Errorf("%s: %d %+v", q, status, env.Errors)
		}
	}
	// Every reading is audited with its filters, refused ones as failures.
	evs, err := f.st.ListAuditEvents(t.Context(), store.AuditQuery{Action: admin.ActionReadMCPCallLogs, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var portalReads, failures int
	for _, e := range evs {
		if e.TargetID == "agents" && strings.Contains(string(e.Details), `"portal":"agents"`) && e.Actor == "ci-bot" {
			portalReads++
		}
		if e.Result == store.AuditFailure {
			failures++
		}
	}
	// Bad limits are refused before the service: 4 of the 6 bad requests reach it.
	if portalReads != 2 || failures != 4 || len(evs) != 1+10+2+4 {
		t.Errorf("audit: %d events, %d portal reads, %d failures", len(evs), portalReads, failures)
	}
}
