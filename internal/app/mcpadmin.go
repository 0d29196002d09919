package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/ai/promptlog"
	"github.com/gatehouse/gatehouse/internal/mailaddr"
	"github.com/gatehouse/gatehouse/internal/mcp"
	"github.com/gatehouse/gatehouse/internal/store"
)

// mcpAdmin is admin.MCP on package mcp: the registered servers and portals come from the
// serving snapshot (serve) or the configuration file (the CLI), their states and call logs
// from the store.
type mcpAdmin struct {
	// config returns the registered servers and the portals, and the portals' path prefix
	// (<prefix>mcp/).
	config func() (servers []store.MCPServer, portals []store.MCPPortal, endpoint string)
	st     store.MCP
	syncer *mcp.Syncer
	// changed, when set, runs after a sync or an approval (the portal reads the states again).
	changed func()
	log     *slog.Logger
	now     func() time.Time
	// vault holds the grants at oauth servers, and callback returns the redirect URI of their
	// authorizations; nil when upstream OAuth is not available.
	vault    *mcp.Vault
	callback func() (string, error)
}

var _ admin.MCP = (*mcpAdmin)(nil)

func (m *mcpAdmin) Authorize(ctx context.Context, id string) (*admin.MCPAuthorization, error) {
	srv, err := m.server(id)
	if err != nil {
		return nil, err
	}
	if srv.AuthType != store.MCPAuthOAuth {
		return nil, fmt.Errorf("%w: mcp server %s uses auth_type %s, not oauth", admin.ErrInvalid, id, orUnauthenticated(srv.AuthType))
	}
	if m.vault == nil || m.callback == nil {
		return nil, fmt.Errorf("%w: upstream OAuth needs a store that keeps its grants", admin.ErrConflict)
	}
	cb, err := m.callback()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, mcp.DefaultCallTimeout)
	defer cancel()
	u, expires, err := m.vault.Begin(ctx, srv, mcp.Principal{}, cb)
	if err != nil {
		m.log.Warn("mcp server authorization not started", "server", id, "err", err)
		return nil, fmt.Errorf("%w: mcp server %s: the authorization cannot start: %s", admin.ErrConflict, id, err.Error())
	}
	return &admin.MCPAuthorization{ServerID: id, AuthorizationURL: u, ExpiresAt: expires}, nil
}

func orUnauthenticated(s string) string {
	if s == "" {
		return store.MCPAuthUnauthenticated
	}
	return s
}

func (m *mcpAdmin) server(id string) (*store.MCPServer, error) {
	servers, _, _ := m.config()
	for i := range servers {
		if servers[i].ID == id {
			return &servers[i], nil
		}
	}
	return nil, fmt.Errorf("mcp server %q: %w", id, admin.ErrNotFound)
}

func (m *mcpAdmin) state(ctx context.Context, id string) (*store.MCPServerState, error) {
	st, err := m.st.GetMCPServerState(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	return st, err
}

func (m *mcpAdmin) Servers(ctx context.Context) ([]admin.MCPServerInfo, error) {
	servers, _, _ := m.config()
	states, err := m.st.ListMCPServerStates(ctx)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]*store.MCPServerState, len(states))
	for i := range states {
		byID[states[i].ServerID] = &states[i]
	}
	out := make([]admin.MCPServerInfo, 0, len(servers))
	for i := range servers {
		out = append(out, mcpServerInfo(&servers[i], byID[servers[i].ID], false))
	}
	slices.SortFunc(out, func(a, b admin.MCPServerInfo) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

func (m *mcpAdmin) Server(ctx context.Context, id string) (*admin.MCPServerInfo, error) {
	srv, err := m.server(id)
	if err != nil {
		return nil, err
	}
	st, err := m.state(ctx, id)
	if err != nil {
		return nil, err
	}
	info := mcpServerInfo(srv, st, true)
	return &info, nil
}

func (m *mcpAdmin) Sync(ctx context.Context, id string) (*admin.MCPServerInfo, error) {
	srv, err := m.server(id)
	if err != nil {
		return nil, err
	}
	sctx, cancel := context.WithTimeout(ctx, 2*mcp.DefaultCallTimeout)
	res, err := m.syncer.Sync(sctx, srv)
	cancel()
	if res == nil {
		return nil, err // the store failed: nothing was recorded
	}
	logMCPSync(m.log, srv, res, err)
	if m.changed != nil {
		m.changed()
	}
	info := mcpServerInfo(srv, res.State, false)
	return &info, nil
}

func (m *mcpAdmin) ApproveTools(ctx context.Context, id string) (*admin.MCPServerInfo, error) {
	srv, err := m.server(id)
	if err != nil {
		return nil, err
	}
	prev, err := m.state(ctx, id)
	if err != nil {
		return nil, err
	}
	if prev == nil || prev.ToolsHash == "" {
		return nil, fmt.Errorf("%w: mcp server %s was never synced; sync it first", admin.ErrConflict, id)
	}
	st, err := m.syncer.ApproveTools(ctx, id)
	if err != nil {
		return nil, err
	}
	m.log.Info("mcp server tools approved", "server", id, "tools_hash", st.ToolsHash)
	if m.changed != nil {
		m.changed()
	}
	info := mcpServerInfo(srv, st, false)
	return &info, nil
}

func (m *mcpAdmin) Portals(context.Context) ([]admin.MCPPortalInfo, error) {
	_, portals, endpoint := m.config()
	out := make([]admin.MCPPortalInfo, 0, len(portals))
	for _, p := range portals {
		if p.Servers == nil {
			p.Servers = []store.MCPPortalServer{}
		}
		out = append(out, admin.MCPPortalInfo{MCPPortal: p, Endpoint: endpoint + p.ID})
	}
	slices.SortFunc(out, func(a, b admin.MCPPortalInfo) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// mcpDecisions are the call logs' decisions (package mcp).
var mcpDecisions = []string{"allow", "block", "error"}

func (m *mcpAdmin) CallLogs(ctx context.Context, q admin.MCPCallLogQuery) ([]store.MCPCallLog, string, error) {
	now := m.now()
	since, err := promptlog.ParseTime(q.Since, now)
	if err != nil {
		return nil, "", fmt.Errorf("%w: since %s", admin.ErrInvalid, err.Error())
	}
	until, err := promptlog.ParseTime(q.Until, now)
	if err != nil {
		return nil, "", fmt.Errorf("%w: until %s", admin.ErrInvalid, err.Error())
	}
	before, err := promptlog.ParseCursor(q.Cursor)
	if err != nil {
		return nil, "", fmt.Errorf("%w: cursor: %s", admin.ErrInvalid, err.Error())
	}
	if q.Decision != "" && !slices.Contains(mcpDecisions, q.Decision) {
		return nil, "", fmt.Errorf("%w: decision must be allow, block or error", admin.ErrInvalid)
	}
	limit := q.Limit
	switch {
	case limit == 0:
		limit = store.DefaultMCPCallLogLimit
	case limit < 0 || limit > store.MaxMCPCallLogLimit:
		return nil, "", fmt.Errorf("%w: limit must be between 1 and %d", admin.ErrInvalid, store.MaxMCPCallLogLimit)
	}
	user := q.User
	if n, err := mailaddr.Normalize(user); err == nil {
		user = n
	}
	logs, err := m.st.ListMCPCallLogs(ctx, store.MCPCallLogQuery{PortalID: q.Portal, ServerID: q.Server, UserEmail: user,
		Decision: q.Decision, Since: since, Until: until, Before: before, Limit: limit})
	if err != nil {
		return nil, "", err
	}
	cursor := ""
	if len(logs) == limit {
		cursor = promptlog.FormatCursor(logs[len(logs)-1].ID)
	}
	return logs, cursor, nil
}

// mcpServerInfo describes a server and its state (nil: never synced), with the definitions
// when full.
func mcpServerInfo(srv *store.MCPServer, st *store.MCPServerState, full bool) admin.MCPServerInfo {
	info := admin.MCPServerInfo{ID: srv.ID, Name: srv.Name, URL: srv.URL, AuthType: srv.AuthType, ReviewStatus: srv.ReviewStatus,
		HoldChangedTools: srv.HoldChangedTools, Status: store.MCPSyncWaiting,
		ToolNames: []string{}, PromptNames: []string{}, ResourceNames: []string{}}
	if info.AuthType == "" {
		info.AuthType = store.MCPAuthUnauthenticated
	}
	if info.ReviewStatus == "" {
		info.ReviewStatus = store.MCPReviewUnreviewed
	}
	if st == nil {
		return info
	}
	info.Status, info.Error = st.Status, st.Error
	info.Transport, info.ProtocolVersion, info.LastSynced = st.Transport, st.ProtocolVersion, st.SyncedAt
	info.ToolNames, info.PromptNames, info.ResourceNames = definitionNames(st.Tools), definitionNames(st.Prompts), definitionNames(st.Resources)
	info.ToolCount, info.PromptCount, info.ResourceCount = len(info.ToolNames), len(info.PromptNames), len(info.ResourceNames)
	info.ToolsChanged = st.ApprovedToolsHash != "" && st.ToolsHash != st.ApprovedToolsHash
	info.Held = info.ToolsChanged && srv.HoldChangedTools
	info.Exposed = mcp.Exposed(srv, st)
	if full {
		info.Tools, info.Prompts, info.Resources = st.Tools, st.Prompts, st.Resources
	}
	return info
}

// definitionNames returns the names of a synced list of MCP objects (never nil).
func definitionNames(list json.RawMessage) []string {
	names := []string{}
	if len(list) == 0 {
		return names
	}
	var objs []struct {
		Name string `json:"name"`
	}
	if err := json.Unmarshal(list, &objs); err != nil {
		return names
	}
	for _, o := range objs {
		names = append(names, o.Name)
	}
	return names
}

// logMCPSync writes the log line of one server's sync.
func logMCPSync(log *slog.Logger, srv *store.MCPServer, res *mcp.SyncResult, err error) {
	switch {
	case err != nil:
		log.Warn("mcp server sync failed", "server", srv.ID, "err", err)
	case res.Changed:
		log.Warn("mcp server tools changed since approval", "server", srv.ID, "held", srv.HoldChangedTools)
	default:
		log.Info("mcp server synced", "server", srv.ID, "status", res.State.Status)
	}
}

// NewMCPAdmin returns the MCP server portal's administration on st for an admin.Service, with
// servers and portals as the configuration's mcp_servers and mcp_portals and endpoint as the
// portals' path prefix (<prefix>mcp/). Syncs connect through the SSRF-safe dialer; close
// closes the sessions they opened.
func NewMCPAdmin(st store.MCP, servers []store.MCPServer, portals []store.MCPPortal, endpoint string, now func() time.Time, log *slog.Logger) (m admin.MCP, close func()) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	ups := mcp.NewUpstreams(nil)
	return &mcpAdmin{st: st, syncer: &mcp.Syncer{Store: st, Upstreams: ups, Now: now}, log: log, now: now,
		config: func() ([]store.MCPServer, []store.MCPPortal, string) { return servers, portals, endpoint }}, ups.Close
}
