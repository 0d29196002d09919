package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// Audit actions of the MCP server portal's administration.
const (
	// ActionSyncMCPServer records a sync started by an administrator, with what it found.
	ActionSyncMCPServer = "mcp_server.sync"
	// ActionApproveMCPTools records the approval of a server's current tool definitions.
	ActionApproveMCPTools = "mcp_server.approve_tools"
	// ActionAuthorizeMCPServer records the start of the administrator's authorization at an
	// oauth server (the grant is made when the authorization server redirects back).
	ActionAuthorizeMCPServer = "mcp_server.authorize"
	// ActionReadMCPCallLogs records each listing of the MCP call logs, with its filters.
	ActionReadMCPCallLogs = "mcp.call_logs.read"
)

// MCPServerInfo is a registered MCP server as the administration shows it: its configuration
// (Cloudflare's field names; the credential is never shown) and what its last sync found.
type MCPServerInfo struct {
	ID               string `json:"id"`
	Name             string `json:"name"`
	URL              string `json:"url"`
	AuthType         string `json:"auth_type"`
	ReviewStatus     string `json:"review_status"`
	HoldChangedTools bool   `json:"hold_changed_tools"`
	// Status is ready, error, tools_changed, or waiting (never synced).
	Status          string              `json:"status"`
	Error           *store.MCPSyncError `json:"error_details,omitempty"`
	Transport       string              `json:"transport,omitempty"`
	ProtocolVersion string              `json:"protocol_version,omitempty"`
	ToolCount       int                 `json:"tool_count"`
	PromptCount     int                 `json:"prompt_count"`
	ResourceCount   int                 `json:"resource_count"`
	ToolNames       []string            `json:"tool_names"`
	PromptNames     []string            `json:"prompt_names"`
	ResourceNames   []string            `json:"resource_names"`
	// ToolsChanged: the tool definitions differ from the approved ones (approve them with
	// approve_tools); Held: and the server's tools are kept from portals until then.
	ToolsChanged bool `json:"tools_changed"`
	Held         bool `json:"held"`
	// Exposed: the server's tools are shown through portals now (approved, synced, not held).
	Exposed    bool      `json:"exposed"`
	LastSynced time.Time `json:"last_synced,omitzero"`
	// Tools, Prompts and Resources are the synced definitions (one server's details only).
	Tools     json.RawMessage `json:"tools,omitempty"`
	Prompts   json.RawMessage `json:"prompts,omitempty"`
	Resources json.RawMessage `json:"resources,omitempty"`
}

// MCPPortalInfo is an MCP portal with its servers and their settings, and its endpoint.
type MCPPortalInfo struct {
	store.MCPPortal
	// Endpoint is the portal's path on the auth domain (<prefix>mcp/<id>).
	Endpoint string `json:"endpoint"`
}

// MCPAuthorization is an authorization of Gatehouse at an oauth server, started by an
// administrator: open AuthorizationURL in a browser, sign in at the server's authorization
// server and approve before ExpiresAt; the grant becomes the server's administrator
// credential.
type MCPAuthorization struct {
	ServerID         string    `json:"server_id"`
	AuthorizationURL string    `json:"authorization_url"`
	ExpiresAt        time.Time `json:"expires_at"`
}

// MCPCallLogQuery filters the MCP call logs; empty fields do not filter.
type MCPCallLogQuery struct {
	// Portal and Server are ids; User an e-mail address; Decision allow, block or error.
	Portal, Server, User, Decision string
	// Since (inclusive) and Until (exclusive) are RFC 3339 times, dates (UTC midnight), days
	// ago (7d) or durations ago (36h).
	Since, Until string
	// Limit is the most entries returned (0: 100); Cursor the cursor a previous page returned.
	Limit  int
	Cursor string
}

// MCP is the MCP server portal's administration: registered servers with their sync state,
// sync and tool approval, portals and call logs. The composition root wires an implementation
// (package admin does not know package mcp). Errors wrap ErrInvalid, ErrNotFound or
// ErrConflict with messages safe to show, as Gateway's do; anything else is internal.
type MCP interface {
	// Servers returns every registered server, by id, without the definitions.
	Servers(ctx context.Context) ([]MCPServerInfo, error)
	// Server returns one server with its synced definitions.
	Server(ctx context.Context, id string) (*MCPServerInfo, error)
	// Sync connects to a server now and records what it found. A server that could not be
	// synced is no error: the result has status error and error_details.
	Sync(ctx context.Context, id string) (*MCPServerInfo, error)
	// ApproveTools records a server's current tool definitions as approved (ErrConflict when
	// it was never synced).
	ApproveTools(ctx context.Context, id string) (*MCPServerInfo, error)
	// Authorize starts the administrator's authorization at an oauth server (ErrInvalid for a
	// server of another auth type).
	Authorize(ctx context.Context, id string) (*MCPAuthorization, error)
	// Portals returns every portal, by id.
	Portals(ctx context.Context) ([]MCPPortalInfo, error)
	// CallLogs lists the call logs q selects, newest first; cursor, when not "", continues
	// the listing.
	CallLogs(ctx context.Context, q MCPCallLogQuery) (entries []store.MCPCallLog, cursor string, err error)
}

func (s *Service) mcp() (MCP, error) {
	if s.MCP == nil {
		return nil, fmt.Errorf("%w: the MCP server portal's administration is not available in this process", ErrNotFound)
	}
	return s.MCP, nil
}

// ListMCPServers returns every registered MCP server with its sync state.
func (s *Service) ListMCPServers(ctx context.Context) ([]MCPServerInfo, error) {
	m, err := s.mcp()
	if err != nil {
		return nil, err
	}
	return m.Servers(ctx)
}

// GetMCPServer returns one MCP server with its synced definitions.
func (s *Service) GetMCPServer(ctx context.Context, id string) (*MCPServerInfo, error) {
	m, err := s.mcp()
	if err != nil {
		return nil, err
	}
	return m.Server(ctx, id)
}

// SyncMCPServer syncs one server now and records it in the audit log with what was found
// (a failed sync is recorded as such, and returned as a result with status error).
func (s *Service) SyncMCPServer(ctx context.Context, a Actor, id string) (*MCPServerInfo, error) {
	m, err := s.mcp()
	var info *MCPServerInfo
	if err == nil {
		info, err = m.Sync(ctx, id)
	}
	details := map[string]any{}
	if info != nil {
		details["status"], details["tool_count"], details["tools_changed"] = info.Status, info.ToolCount, info.ToolsChanged
		if info.Error != nil {
			details["error_type"] = info.Error.Type
		}
	}
	if err := s.finish(ctx, a, ActionSyncMCPServer, "mcp_server", id, details, err); err != nil {
		return nil, err
	}
	return info, nil
}

// ApproveMCPTools approves a server's current tool definitions and records it in the audit
// log.
func (s *Service) ApproveMCPTools(ctx context.Context, a Actor, id string) (*MCPServerInfo, error) {
	m, err := s.mcp()
	var info *MCPServerInfo
	if err == nil {
		info, err = m.ApproveTools(ctx, id)
	}
	details := map[string]any{}
	if info != nil {
		details["tool_names"] = info.ToolNames
	}
	if err := s.finish(ctx, a, ActionApproveMCPTools, "mcp_server", id, details, err); err != nil {
		return nil, err
	}
	return info, nil
}

// AuthorizeMCPServer starts the administrator's authorization at an oauth server and records
// it in the audit log (the URL itself is not recorded: it carries the state).
func (s *Service) AuthorizeMCPServer(ctx context.Context, a Actor, id string) (*MCPAuthorization, error) {
	m, err := s.mcp()
	var out *MCPAuthorization
	if err == nil {
		out, err = m.Authorize(ctx, id)
	}
	details := map[string]any{}
	if out != nil {
		details["expires_at"] = out.ExpiresAt
	}
	if err := s.finish(ctx, a, ActionAuthorizeMCPServer, "mcp_server", id, details, err); err != nil {
		return nil, err
	}
	return out, nil
}

// ListMCPPortals returns every MCP portal.
func (s *Service) ListMCPPortals(ctx context.Context) ([]MCPPortalInfo, error) {
	m, err := s.mcp()
	if err != nil {
		return nil, err
	}
	return m.Portals(ctx)
}

// MCPCallLogs lists the MCP call logs and records the reading, with its filters, in the
// audit log, as GatewayPromptLogs does.
func (s *Service) MCPCallLogs(ctx context.Context, a Actor, q MCPCallLogQuery) ([]store.MCPCallLog, string, error) {
	m, err := s.mcp()
	var (
		entries []store.MCPCallLog
		cursor  string
	)
	if err == nil {
		entries, cursor, err = m.CallLogs(ctx, q)
	}
	details := map[string]any{}
	for k, v := range map[string]string{"portal": q.Portal, "server": q.Server, "user": q.User, "decision": q.Decision,
		"since": q.Since, "until": q.Until, "cursor": q.Cursor} {
		if v != "" {
			details[k] = v
		}
	}
	// A reading that cannot be recorded is refused: the audit trail of call logs is complete.
	if err := s.finish(ctx, a, ActionReadMCPCallLogs, "mcp_call_logs", q.Portal, details, err); err != nil {
		return nil, "", err
	}
	return entries, cursor, nil
}
