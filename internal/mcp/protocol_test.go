package mcp_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/gatehouse/gatehouse/internal/mcp"
	"github.com/gatehouse/gatehouse/internal/snapshot"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
)

// versionedUpstream is an MCP server (the official Go SDK) speaking only one protocol
// revision, over Streamable HTTP or, with sse, the legacy HTTP+SSE transport.
func versionedUpstream(t *testing.T, name, version string, sse bool) string {
	t.Helper()
	opts := &sdk.ServerOptions{SupportedProtocolVersions: []string{version}}
	if version == "2026-07-28" {
		// A server of the stateless revision also serves clients that initialise (one
		// speaking only it cannot be initialised by them).
		opts.SupportedProtocolVersions = []string{version, "2025-11-25"}
	}
	s := sdk.NewServer(&sdk.Implementation{Name: name, Version: "1"}, opts)
	sdk.AddTool(s, &sdk.Tool{Name: "whoami", Description: "Names the server."}, func(ctx context.Context, req *sdk.CallToolRequest, in struct{}) (*sdk.CallToolResult, any, error) {
		return &sdk.CallToolResult{Content: []sdk.Content{&sdk.TextContent{Text: name}}}, nil, nil
	})
	var h http.Handler
	path := "/mcp"
	if sse {
		h, path = sdk.NewSSEHandler(func(*http.Request) *sdk.Server { return s }, nil), "/sse"
	} else {
		// The 2026-07-28 revision is sessionless: its servers run stateless.
		h = sdk.NewStreamableHTTPHandler(func(*http.Request) *sdk.Server { return s }, &sdk.StreamableHTTPOptions{Stateless: version == "2026-07-28"})
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL + path
}

// TestUpstreamRevisions: the portal negotiates each upstream's revision on its own (one server
// per revision, and a legacy HTTP+SSE server detected from its URL), independently of the
// revision its client speaks.
func TestUpstreamRevisions(t *testing.T) {
	ctx := t.Context()
	upstreams := []struct {
		id, version string
		sse         bool
	}{
		{"legacy", "2024-11-05", true},
		{"june", "2025-06-18", false},
		{"november", "2025-11-25", false},
		{"stateless", "2026-07-28", false},
	}
	cfg := &store.Config{
		Organization:  store.Organization{Name: "Example", AuthDomain: "auth.example.com", Wire: store.WireCloudflare},
		Policies:      []store.Policy{{ID: "agents", Decision: store.DecisionNonIdentity, Include: []store.Rule{{AnyValidServiceToken: &store.Empty{}}}}},
		ServiceTokens: []store.ServiceToken{{ID: "agent", ClientID: "agent.access", ClientSecretSHA256: sha(agentSecret)}},
	}
	portal := store.MCPPortal{ID: "agents", Name: "Agents", Policies: []store.PolicyLink{{Ref: "agents", Precedence: 1}}}
	for _, u := range upstreams {
		cfg.MCPServers = append(cfg.MCPServers, store.MCPServer{ID: u.id, Name: u.id, URL: versionedUpstream(t, u.id, u.version, u.sse), ReviewStatus: store.MCPReviewApproved})
		portal.Servers = append(portal.Servers, store.MCPPortalServer{ServerID: u.id})
	}
	cfg.MCPPortals = []store.MCPPortal{portal}
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
	for _, u := range upstreams {
		res, err := syncer.Sync(ctx, snap.MCPServers[u.id])
		if err != nil {
			t.Fatalf("%s: %v", u.id, err)
		}
		wantTransport := store.MCPTransportStreamable
		if u.sse {
			wantTransport = store.MCPTransportSSE
		}
		if res.State.ProtocolVersion != u.version || res.State.Transport != wantTransport {
			t.Errorf("%s: negotiated %s over %s, want %s over %s", u.id, res.State.ProtocolVersion, res.State.Transport, u.version, wantTransport)
		}
	}
	ps := httptest.NewServer(mcp.New(mcp.Options{Snapshots: holder, Store: st, Upstreams: ups}))
	defer ps.Close()
	cs := connect(t, &env{portal: ps}, "agent.access", agentSecret)
	for _, u := range upstreams {
		res, err := cs.CallTool(ctx, &sdk.CallToolParams{Name: u.id + "_whoami"})
		if err != nil || res.Content[0].(*sdk.TextContent).Text != u.id {
			t.Errorf("%s_whoami: %+v %v", u.id, res, err)
		}
	}

	// Clients of every revision negotiate theirs with the portal, which answers statelessly
	// (no session: any replica answers any request).
	for _, version := range []string{"2025-03-26", "2025-06-18", "2025-11-25", "2026-07-28"} {
		c := sdk.NewClient(&sdk.Implementation{Name: "pinned", Version: "1"}, nil)
		cs, err := c.Connect(ctx, &sdk.StreamableClientTransport{Endpoint: ps.URL + "/cdn-cgi/access/mcp/agents",
			HTTPClient: &http.Client{Transport: headerTransport{id: "agent.access", secret: agentSecret}}, DisableStandaloneSSE: true, MaxRetries: -1},
			&sdk.ClientSessionOptions{ProtocolVersion: version})
		if err != nil {
			t.Errorf("client %s: %v", version, err)
			continue
		}
		if got := cs.InitializeResult().ProtocolVersion; got != version {
			t.Errorf("client %s negotiated %s", version, got)
		}
		res, err := cs.CallTool(ctx, &sdk.CallToolParams{Name: "november_whoami"})
		if err != nil || res.Content[0].(*sdk.TextContent).Text != "november" {
			t.Errorf("client %s: november_whoami: %+v %v", version, res, err)
		}
		cs.Close()
	}
}
