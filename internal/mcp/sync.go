package mcp

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/gatehouse/gatehouse/internal/store"
)

// Limits on what one sync keeps of an upstream.
const (
	// MaxTools bounds the tools (and prompts, and resources) kept per server.
	MaxTools = 1000
	// MaxDefinitionBytes bounds the JSON of one server's synced lists.
	MaxDefinitionBytes = 4 << 20
)

// Syncer connects to registered servers, lists their tools, prompts and resources, and
// records what it found in the store, where every replica reads it.
type Syncer struct {
	Store     store.MCP
	Upstreams *Upstreams
	Now       func() time.Time
}

// SyncResult is what one server's sync found.
type SyncResult struct {
	State *store.MCPServerState
	// Changed is set when an approved server's tool definitions differ from the approved ones.
	Changed bool
}

// Sync synchronises one server. A server that cannot be reached or answers with an error
// gets the error status and its previous lists are kept; the error is returned as well.
func (s *Syncer) Sync(ctx context.Context, srv *store.MCPServer) (*SyncResult, error) {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	found, syncErr := s.list(ctx, srv)
	var changed bool
	st, err := s.Store.UpdateMCPServerState(ctx, srv.ID, func(st *store.MCPServerState) error {
		changed = false
		if syncErr != nil {
			st.Status = store.MCPSyncFailed
			st.Error = syncError(syncErr)
			return nil
		}
		st.Error = nil
		st.Transport, st.ProtocolVersion = found.Transport, found.ProtocolVersion
		st.Tools, st.Prompts, st.Resources = found.Tools, found.Prompts, found.Resources
		st.ToolsHash = found.ToolsHash
		st.SyncedAt = now().UTC()
		st.Status = store.MCPSyncReady
		if srv.ReviewStatus == store.MCPReviewApproved {
			if st.ApprovedToolsHash == "" {
				st.ApprovedToolsHash = st.ToolsHash
			}
			if st.ApprovedToolsHash != st.ToolsHash {
				st.Status, changed = store.MCPSyncToolsChanged, true
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("mcp: recording the sync of %q: %w", srv.ID, err)
	}
	if syncErr != nil {
		return &SyncResult{State: st}, syncErr
	}
	return &SyncResult{State: st, Changed: changed}, nil
}

// ApproveTools records the server's current tool definitions as approved (after a change
// was flagged).
func (s *Syncer) ApproveTools(ctx context.Context, serverID string) (*store.MCPServerState, error) {
	return s.Store.UpdateMCPServerState(ctx, serverID, func(st *store.MCPServerState) error {
		if st.ToolsHash == "" {
			return errors.New("the server was never synced")
		}
		st.ApprovedToolsHash = st.ToolsHash
		if st.Status == store.MCPSyncToolsChanged {
			st.Status = store.MCPSyncReady
		}
		return nil
	})
}

// list fetches a server's lists into a state (not stored).
func (s *Syncer) list(ctx context.Context, srv *store.MCPServer) (*store.MCPServerState, error) {
	cs, transport, err := s.Upstreams.Session(ctx, srv)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, DefaultCallTimeout)
	defer cancel()
	st := &store.MCPServerState{ServerID: srv.ID, Transport: transport}
	init := cs.InitializeResult()
	if init != nil {
		st.ProtocolVersion = init.ProtocolVersion
	}
	var tools []*sdk.Tool
	for t, err := range cs.Tools(ctx, nil) {
		if err != nil {
			s.Upstreams.Forget(srv.ID, cs)
			return nil, fmt.Errorf("tools/list: %w", err)
		}
		if len(tools) == MaxTools {
			return nil, fmt.Errorf("tools/list: more than %d tools", MaxTools)
		}
		tools = append(tools, t)
	}
	slices.SortFunc(tools, func(a, b *sdk.Tool) int { return strings.Compare(a.Name, b.Name) })
	if st.Tools, err = json.Marshal(tools); err != nil {
		return nil, fmt.Errorf("tools/list: %w", err)
	}
	st.ToolsHash = definitionsHash(st.Tools)
	if init != nil && init.Capabilities != nil && init.Capabilities.Prompts != nil {
		var prompts []*sdk.Prompt
		for p, err := range cs.Prompts(ctx, nil) {
			if err != nil {
				return nil, fmt.Errorf("prompts/list: %w", err)
			}
			if len(prompts) == MaxTools {
				return nil, fmt.Errorf("prompts/list: more than %d prompts", MaxTools)
			}
			prompts = append(prompts, p)
		}
		if st.Prompts, err = json.Marshal(prompts); err != nil {
			return nil, fmt.Errorf("prompts/list: %w", err)
		}
	}
	if init != nil && init.Capabilities != nil && init.Capabilities.Resources != nil {
		var resources []*sdk.Resource
		for r, err := range cs.Resources(ctx, nil) {
			if err != nil {
				return nil, fmt.Errorf("resources/list: %w", err)
			}
			if len(resources) == MaxTools {
				return nil, fmt.Errorf("resources/list: more than %d resources", MaxTools)
			}
			resources = append(resources, r)
		}
		if st.Resources, err = json.Marshal(resources); err != nil {
			return nil, fmt.Errorf("resources/list: %w", err)
		}
	}
	if n := len(st.Tools) + len(st.Prompts) + len(st.Resources); n > MaxDefinitionBytes {
		return nil, fmt.Errorf("the server's lists take %d bytes, more than %d", n, MaxDefinitionBytes)
	}
	return st, nil
}

// definitionsHash is the SHA-256 of tool definitions in a canonical form: the JSON decoded
// and encoded again (object keys sorted), so that a reordering of keys is no change but any
// change of a name, description, schema or annotation is.
func definitionsHash(tools json.RawMessage) string {
	var v any
	if err := json.Unmarshal(tools, &v); err == nil {
		if b, err := json.Marshal(v); err == nil {
			tools = b
		}
	}
	sum := sha256.Sum256(tools)
	return hex.EncodeToString(sum[:])
}

// SyncErrorAuthorizationRequired is the error_details type of a sync of an oauth server that
// has no administrator's grant (a Gatehouse extension of Cloudflare's types).
const SyncErrorAuthorizationRequired = store.MCPSyncErrorAuthorizationRequired

// syncError describes a failed sync as Cloudflare's error_details: unreachable when no MCP
// answer came, upstream_error when the server answered with an error.
func syncError(err error) *store.MCPSyncError {
	e := &store.MCPSyncError{Type: "unreachable", Message: err.Error()}
	if errors.Is(err, ErrAuthorizationRequired) {
		// Said plainly: nothing is wrong with the server; an administrator must authorise.
		e.Type = SyncErrorAuthorizationRequired
		e.Message = "authorization required: an administrator must authorise Gatehouse at this server " +
			"(gatehouse mcp servers authorize, or POST /api/v1/mcp/servers/{id}/authorize): " + err.Error()
		if len(e.Message) > 500 {
			e.Message = e.Message[:500]
		}
		return e
	}
	var werr *jsonrpc.Error
	if errors.As(err, &werr) && werr.Code != codeRejectedByTransport {
		e.Type, e.MCPErrorCode = "upstream_error", werr.Code
	}
	if status := httpStatusOf(err); status != 0 {
		// The server answered, with an HTTP error.
		e.Type, e.HTTPStatusCode = "upstream_error", status
	}
	if len(e.Message) > 500 {
		e.Message = e.Message[:500]
	}
	return e
}
