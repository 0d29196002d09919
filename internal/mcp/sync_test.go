package mcp_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/gatehouse/gatehouse/internal/mcp"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
)

func newSyncer(t *testing.T) *mcp.Syncer {
	t.Helper()
	st, err := sqlstore.Open(t.Context(), "sqlite", filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ups := mcp.NewUpstreams(http.DefaultClient)
	t.Cleanup(ups.Close)
	return &mcp.Syncer{Store: st, Upstreams: ups}
}

// TestTransportDetection: a URL without a transport suffix is tried as Streamable HTTP and SSE
// at the URL, then at URL/mcp and URL/sse, moving on only when nothing answers there (404,
// 405, 406).
func TestTransportDetection(t *testing.T) {
	s := sdk.NewServer(&sdk.Implementation{Name: "t", Version: "1"}, nil)
	sdk.AddTool(s, &sdk.Tool{Name: "ping"}, func(ctx context.Context, req *sdk.CallToolRequest, in struct{}) (*sdk.CallToolResult, any, error) {
		return &sdk.CallToolResult{}, nil, nil
	})
	mux := http.NewServeMux()
	mux.Handle("/base/sse", sdk.NewSSEHandler(func(*http.Request) *sdk.Server { return s }, nil))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close) // after the syncer's sessions close (cleanups run last first)
	syncer := newSyncer(t)
	res, err := syncer.Sync(t.Context(), &store.MCPServer{ID: "t", URL: srv.URL + "/base", ReviewStatus: store.MCPReviewApproved})
	if err != nil || res.State.Transport != store.MCPTransportSSE {
		t.Fatalf("detected %+v, %v", res, err)
	}
	got := mcp.DetectTransports("https://h.example/x?k=1", "")
	want := []mcp.Endpoint{{"streamable_http", "https://h.example/x?k=1"}, {"sse", "https://h.example/x?k=1"},
		{"streamable_http", "https://h.example/x/mcp?k=1"}, {"sse", "https://h.example/x/sse?k=1"}}
	if len(got) != len(want) {
		t.Fatalf("%v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("%d: %v, want %v", i, got[i], want[i])
		}
	}
}

// TestSyncErrors: a server that cannot be reached is unreachable; one that answers with an
// HTTP error is an upstream error with its status; either way the error is recorded and the
// previous lists are kept.
func TestSyncErrors(t *testing.T) {
	syncer := newSyncer(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String() + "/mcp"
	ln.Close()
	if res, err := syncer.Sync(t.Context(), &store.MCPServer{ID: "down", URL: closed}); err == nil || res.State.Status != store.MCPSyncFailed ||
		res.State.Error == nil || res.State.Error.Type != "unreachable" {
		t.Errorf("closed port: %+v %v", res, err)
	}
	up, _ := upstream(t, "right-token")
	t.Setenv("GATEHOUSE_TEST_WRONG", "wrong-token")
	res, err := syncer.Sync(t.Context(), &store.MCPServer{ID: "auth", URL: up.URL + "/mcp", AuthType: store.MCPAuthBearer,
		AuthCredentials: map[string]any{"env": "GATEHOUSE_TEST_WRONG"}})
	if err == nil || res.State.Error == nil || res.State.Error.Type != "upstream_error" || res.State.Error.HTTPStatusCode != http.StatusUnauthorized {
		t.Errorf("wrong token: %+v %+v %v", res.State, res.State.Error, err)
	}
}

// TestCallLogRetention: entries older than the retention are deleted, newer ones kept.
func TestCallLogRetention(t *testing.T) {
	st, err := sqlstore.Open(t.Context(), "sqlite", filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Now().UTC()
	entry := func(age time.Duration) store.MCPCallLog {
		return store.MCPCallLog{Time: now.Add(-age), RequestID: "r", PortalID: "p", Method: "tools/call", Decision: "allow"}
	}
	if err := st.AppendMCPCallLogs(t.Context(), []store.MCPCallLog{entry(48 * time.Hour), entry(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	w := mcp.NewCallLogWriterRetaining(st, nil, 24*time.Hour, func() time.Time { return now })
	defer w.Close(t.Context())
	if n := w.Purge(t.Context()); n > 1 {
		t.Errorf("purged %d", n)
	}
	logs, err := st.ListMCPCallLogs(t.Context(), store.MCPCallLogQuery{})
	if err != nil || len(logs) != 1 || !logs[0].Time.After(now.Add(-2*time.Hour)) {
		t.Errorf("left %+v %v", logs, err)
	}
}
