package mcp_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"testing"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/gatehouse/gatehouse/internal/mcp"
	"github.com/gatehouse/gatehouse/internal/snapshot"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
)

// TestAliases: a portal shows tools and prompts under their aliases ({server_id}_{alias}) with
// the descriptions it overrides, routes a call by alias to the right server's tool, logs both
// names, and keeps applying tool policies (set on the server's name). Hostile cases: an alias
// spelling another server's namespaced tool (beta's whoami aliased alpha_who) stays under its
// own server's prefix and never reaches alpha; the original name of an aliased tool is not
// callable; an alias equal to another of the server's tools' names (readme aliased leak, while
// leak itself is enabled) shows neither. Both the fast path and the SDK's path are run.
func TestAliases(t *testing.T) {
	ctx := t.Context()
	tickets, _ := upstream(t, "")
	cfg := &store.Config{
		Organization: store.Organization{Name: "Example", AuthDomain: "auth.example.com", Wire: store.WireCloudflare},
		Policies: []store.Policy{
			{ID: "agents", Decision: store.DecisionNonIdentity, Include: []store.Rule{{AnyValidServiceToken: &store.Empty{}}}},
			{ID: "admins", Decision: store.DecisionNonIdentity, Include: []store.Rule{{ServiceToken: &store.ServiceTokenRule{TokenID: "admin"}}}},
		},
		ServiceTokens: []store.ServiceToken{
			{ID: "agent", ClientID: "agent.access", ClientSecretSHA256: sha(agentSecret)},
			{ID: "admin", ClientID: "admin.access", ClientSecretSHA256: sha(adminSecret)},
		},
		MCPServers: []store.MCPServer{
			{ID: "alpha", Name: "Alpha", URL: versionedUpstream(t, "alpha", "2025-11-25", false), ReviewStatus: store.MCPReviewApproved},
			{ID: "beta", Name: "Beta", URL: versionedUpstream(t, "beta", "2025-06-18", false), ReviewStatus: store.MCPReviewApproved},
			{ID: "tickets", Name: "Tickets", URL: tickets.URL + "/mcp", ReviewStatus: store.MCPReviewApproved},
		},
		MCPPortals: []store.MCPPortal{{ID: "agents", Name: "Agents", Policies: []store.PolicyLink{{Ref: "agents", Precedence: 1}},
			Servers: []store.MCPPortalServer{
				{ServerID: "alpha", UpdatedTools: []store.MCPToolSetting{{Name: "whoami", Enabled: true, Alias: "who", Description: "Names alpha."}}},
				{ServerID: "beta", UpdatedTools: []store.MCPToolSetting{{Name: "whoami", Enabled: true, Alias: "alpha_who"}}},
				{ServerID: "tickets",
					UpdatedTools: []store.MCPToolSetting{
						{Name: "disabled", Enabled: false},
						{Name: "admin_only", Enabled: true, Alias: "cleanup", Policies: []store.PolicyLink{{Ref: "admins", Precedence: 1}}},
						{Name: "readme", Enabled: true, Alias: "leak"},
						{Name: "echo", Enabled: true, Alias: "say", Description: "Says it back."},
					},
					UpdatedPrompts: []store.MCPToolSetting{{Name: "triage", Enabled: true, Alias: "triage-ticket", Description: "Triage one ticket."}}},
			}}},
	}
	snap, err := snapshot.Compile(cfg, snapshot.Options{Scheme: "https"})
	if err != nil {
		t.Fatal(err)
	}
	holder := &snapshot.Holder{}
	holder.Store(snap)
	st, err := sqlstore.Open(ctx, "sqlite", filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ups := mcp.NewUpstreams(http.DefaultClient)
	defer ups.Close()
	syncer := &mcp.Syncer{Store: st, Upstreams: ups}
	for _, id := range []string{"alpha", "beta", "tickets"} {
		if _, err := syncer.Sync(ctx, snap.MCPServers[id]); err != nil {
			t.Fatalf("%s: %v", id, err)
		}
	}
	logs := mcp.NewCallLogWriter(st, nil)
	p := mcp.New(mcp.Options{Snapshots: holder, Store: st, Upstreams: ups, Logs: logs})
	ps := httptest.NewServer(p)
	defer ps.Close()
	e := &env{portal: ps}
	agent := connect(t, e, "agent.access", agentSecret)

	tools, err := agent.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	shown := map[string]*sdk.Tool{}
	var names []string
	for _, tool := range tools.Tools {
		shown[tool.Name] = tool
		names = append(names, tool.Name)
	}
	slices.Sort(names)
	if want := []string{"alpha_who", "beta_alpha_who", "tickets_say"}; !slices.Equal(names, want) {
		t.Errorf("agent sees %q, want %q", names, want)
	}
	if d := shown["alpha_who"].Description; d != "Names alpha." {
		t.Errorf("alpha_who description %q", d)
	}
	if d := shown["beta_alpha_who"].Description; d != "Names the server." {
		t.Errorf("beta_alpha_who keeps its server's description, got %q", d)
	}
	if d := shown["tickets_say"].Description; d != "Says it back." {
		t.Errorf("tickets_say description %q", d)
	}
	prompts, err := agent.ListPrompts(ctx, nil)
	if err != nil || len(prompts.Prompts) != 1 || prompts.Prompts[0].Name != "tickets_triage-ticket" || prompts.Prompts[0].Description != "Triage one ticket." {
		t.Fatalf("prompts: %+v %v", prompts, err)
	}

	text := func(res *sdk.CallToolResult) string {
		if res == nil || len(res.Content) == 0 {
			return ""
		}
		tc, _ := res.Content[0].(*sdk.TextContent)
		if tc == nil {
			return ""
		}
		return tc.Text
	}
	admin := connect(t, e, "admin.access", adminSecret)
	for _, slow := range []bool{false, true} {
		mcp.SetSlowOnly(p, slow)
		for name, want := range map[string]string{"alpha_who": "alpha", "beta_alpha_who": "beta", "tickets_say": "echo: hi"} {
			args := map[string]any{}
			if name == "tickets_say" {
				args["text"] = "hi"
			}
			res, err := agent.CallTool(ctx, &sdk.CallToolParams{Name: name, Arguments: args})
			if err != nil || text(res) != want {
				t.Errorf("slow %v: %s: %q %v, want %q", slow, name, text(res), err, want)
			}
		}
		for _, name := range []string{"alpha_whoami", "beta_whoami", "tickets_echo", "tickets_cleanup", "tickets_admin_only", "tickets_leak", "tickets_readme", "alpha_tickets_say"} {
			if res, err := agent.CallTool(ctx, &sdk.CallToolParams{Name: name, Arguments: map[string]any{}}); err == nil {
				t.Errorf("slow %v: the agent called %s: %+v", slow, name, res)
			}
		}
		before := adminOnlyRuns.Load()
		if res, err := admin.CallTool(ctx, &sdk.CallToolParams{Name: "tickets_cleanup", Arguments: map[string]any{}}); err != nil || text(res) != "deleted" {
			t.Errorf("slow %v: admin tickets_cleanup: %+v %v", slow, res, err)
		}
		if res, err := admin.CallTool(ctx, &sdk.CallToolParams{Name: "tickets_admin_only", Arguments: map[string]any{}}); err == nil {
			t.Errorf("slow %v: the admin called admin_only by its own name: %+v", slow, res)
		}
		if got := adminOnlyRuns.Load() - before; got != 1 {
			t.Errorf("slow %v: admin_only ran %d times, want once", slow, got)
		}
	}
	res, err := agent.GetPrompt(ctx, &sdk.GetPromptParams{Name: "tickets_triage-ticket", Arguments: map[string]string{"id": "4711"}})
	if err != nil || len(res.Messages) != 1 || res.Messages[0].Content.(*sdk.TextContent).Text != "Triage ticket 4711" {
		t.Errorf("prompt by alias: %+v %v", res, err)
	}
	if _, err := agent.GetPrompt(ctx, &sdk.GetPromptParams{Name: "tickets_triage", Arguments: map[string]string{"id": "1"}}); err == nil {
		t.Error("the prompt's own name was served")
	}

	if err := logs.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	entries, err := st.ListMCPCallLogs(ctx, store.MCPCallLogQuery{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	type logged struct{ capability, upstream, server, decision string }
	seen := map[logged]int{}
	for _, l := range entries {
		seen[logged{l.Capability, l.UpstreamCapability, l.ServerID, l.Decision}]++
	}
	for _, want := range []logged{
		{"alpha_who", "whoami", "alpha", "allow"},
		{"beta_alpha_who", "whoami", "beta", "allow"},
		{"tickets_say", "echo", "tickets", "allow"},
		{"tickets_cleanup", "admin_only", "tickets", "allow"},
		{"tickets_triage-ticket", "triage", "tickets", "allow"},
		{"alpha_whoami", "", "", "block"},
		{"tickets_cleanup", "", "", "block"},
	} {
		if seen[want] == 0 {
			t.Errorf("no call log entry %+v in %+v", want, seen)
		}
	}
}
