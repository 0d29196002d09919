package mcp

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/gatehouse/gatehouse/internal/policy"
	"github.com/gatehouse/gatehouse/internal/snapshot"
	"github.com/gatehouse/gatehouse/internal/store"
)

// visibleTool is one tool of a caller's view.
type visibleTool struct {
	server   *store.MCPServer
	upstream *sdk.Tool // as the server defines it
	exposed  *sdk.Tool // as the portal shows it: namespaced {server_id}_{tool}
	// paramHeaders is set when the tool's input schema binds parameters to headers
	// (x-mcp-header), which the SDK's path checks: such a tool's calls take it.
	paramHeaders bool
}

// view is what one caller sees of a portal.
type view struct {
	tools map[string]*visibleTool // by exposed name
	order []string
	// prompts are the caller's prompts, by exposed name ({server_id}_{prompt}), and
	// resources the caller's resources, by URI (the first server listing a URI has it).
	prompts     map[string]*visiblePrompt
	promptOrder []string
	resources   map[string]*visibleResource
	uris        []string
	// states is the read of the servers' states the view was computed from.
	states *stateSet
}

// visiblePrompt is one prompt of a caller's view.
type visiblePrompt struct {
	server   *store.MCPServer
	upstream string
	exposed  *sdk.Prompt
}

// visibleResource is one resource of a caller's view.
type visibleResource struct {
	server   *store.MCPServer
	resource *sdk.Resource
}

// has reports whether the view shows the tool, prompt or resource a request names.
func (v *view) has(method, name string) bool {
	switch method {
	case "tools/call":
		return v.tools[name] != nil
	case "prompts/get":
		return v.prompts[name] != nil
	case "resources/read":
		return v.resources[name] != nil
	}
	return false
}

// ToolName is the name a portal shows a server's tool under: {server_id}_{tool}. Server ids
// have no underscore, so the first one splits the name again.
func ToolName(serverID, tool string) string { return serverID + "_" + tool }

// syncedServer is a server's state with its tools decoded.
type syncedServer struct {
	state     store.MCPServerState
	tools     []*sdk.Tool
	prompts   []*sdk.Prompt
	resources []*sdk.Resource
	// paramHeaders names the tools whose input schemas bind parameters to headers.
	paramHeaders map[string]bool
}

// stateSet is every server's state as read at one time.
type stateSet struct {
	read    time.Time
	servers map[string]*syncedServer
}

// serverStates returns the servers' states, read from the store at most StateTTL ago.
// Tools are decoded again only when a server's tool hash changed.
func (p *Portal) serverStates(ctx context.Context) (*stateSet, error) {
	now := p.o.Now()
	p.mu.Lock()
	cur := p.states
	p.mu.Unlock()
	if cur != nil && now.Sub(cur.read) < StateTTL && !now.Before(cur.read) {
		return cur, nil
	}
	states, err := p.o.Store.ListMCPServerStates(ctx)
	if err != nil {
		return nil, fmt.Errorf("mcp: reading server states: %w", err)
	}
	next := &stateSet{read: now, servers: make(map[string]*syncedServer, len(states))}
	for _, st := range states {
		s := &syncedServer{state: st}
		if old := cur.server(st.ServerID); old != nil && old.state.SyncedAt.Equal(st.SyncedAt) && old.state.ToolsHash == st.ToolsHash {
			s.tools, s.prompts, s.resources, s.paramHeaders = old.tools, old.prompts, old.resources, old.paramHeaders
		} else {
			// A list the portal cannot read exposes nothing of it.
			if len(st.Tools) > 0 && json.Unmarshal(st.Tools, &s.tools) != nil {
				s.tools = nil
			}
			if len(st.Prompts) > 0 && json.Unmarshal(st.Prompts, &s.prompts) != nil {
				s.prompts = nil
			}
			if len(st.Resources) > 0 && json.Unmarshal(st.Resources, &s.resources) != nil {
				s.resources = nil
			}
			for _, t := range s.tools {
				if t == nil || t.InputSchema == nil {
					continue
				}
				if b, err := json.Marshal(t.InputSchema); err != nil || bytes.Contains(b, []byte("x-mcp-header")) {
					if s.paramHeaders == nil {
						s.paramHeaders = map[string]bool{}
					}
					s.paramHeaders[t.Name] = true
				}
			}
		}
		next.servers[st.ServerID] = s
	}
	p.mu.Lock()
	p.states = next
	p.mu.Unlock()
	return next, nil
}

// StatesChanged makes the next request read the servers' states from the store again (after
// a sync or an approval on this replica; other replicas read them within StateTTL).
func (p *Portal) StatesChanged() {
	p.mu.Lock()
	if p.states != nil {
		p.states = &stateSet{servers: p.states.servers}
	}
	p.mu.Unlock()
}

func (s *stateSet) server(id string) *syncedServer {
	if s == nil {
		return nil
	}
	return s.servers[id]
}

// Exposed reports whether a registered server's tools may be shown through portals now: it
// is approved, was synced, and its tools are not held for a change awaiting approval.
func Exposed(srv *store.MCPServer, st *store.MCPServerState) bool {
	if srv.ReviewStatus != store.MCPReviewApproved || st == nil || st.ToolsHash == "" {
		return false
	}
	if srv.HoldChangedTools && st.ApprovedToolsHash != st.ToolsHash {
		return false
	}
	return true
}

// view computes what caller c sees of portal: for each server entry, in order, an exposed
// server the caller's policies admit to (service tokens only where the administrator's
// credential is used), and of its tools those enabled in the portal whose own policies admit
// the caller.
func (p *Portal) view(ctx context.Context, snap *snapshot.Snapshot, portal *store.MCPPortal, c *caller) (*view, error) {
	states, err := p.serverStates(ctx)
	if err != nil {
		return nil, err
	}
	v := &view{tools: map[string]*visibleTool{}, prompts: map[string]*visiblePrompt{}, resources: map[string]*visibleResource{}, states: states}
	for i := range portal.Servers {
		e := &portal.Servers[i]
		srv := snap.MCPServers[e.ServerID]
		ss := states.server(e.ServerID)
		if srv == nil || ss == nil || !Exposed(srv, &ss.state) {
			continue
		}
		if c.machine && e.OnBehalf {
			continue
		}
		if !admits(snap.Policies.App(policy.MCPServerPolicyID(portal.ID, e.ServerID)), &c.in, c.machine) {
			continue
		}
		settings := make(map[string]*store.MCPToolSetting, len(e.UpdatedTools))
		for j := range e.UpdatedTools {
			settings[e.UpdatedTools[j].Name] = &e.UpdatedTools[j]
		}
		for _, t := range ss.tools {
			if t == nil || t.Name == "" {
				continue
			}
			enabled := !e.DefaultDisabled
			if s := settings[t.Name]; s != nil {
				enabled = s.Enabled
			}
			if !enabled || !admits(snap.Policies.App(policy.MCPToolPolicyID(portal.ID, e.ServerID, t.Name)), &c.in, c.machine) {
				continue
			}
			name := ToolName(e.ServerID, t.Name)
			if v.tools[name] != nil {
				continue // two servers cannot share an id; a duplicate tool name keeps the first
			}
			exposed := *t
			exposed.Name = name
			v.tools[name] = &visibleTool{server: srv, upstream: t, exposed: &exposed, paramHeaders: ss.paramHeaders[t.Name]}
			v.order = append(v.order, name)
		}
		promptSettings := make(map[string]bool, len(e.UpdatedPrompts))
		for _, s := range e.UpdatedPrompts {
			promptSettings[s.Name] = s.Enabled
		}
		for _, pr := range ss.prompts {
			if pr == nil || pr.Name == "" {
				continue
			}
			enabled, set := promptSettings[pr.Name]
			if !set {
				enabled = !e.DefaultDisabled
			}
			name := ToolName(e.ServerID, pr.Name)
			if !enabled || v.prompts[name] != nil {
				continue
			}
			exposed := *pr
			exposed.Name = name
			v.prompts[name] = &visiblePrompt{server: srv, upstream: pr.Name, exposed: &exposed}
			v.promptOrder = append(v.promptOrder, name)
		}
		for _, r := range ss.resources {
			if r == nil || r.URI == "" || v.resources[r.URI] != nil {
				continue
			}
			v.resources[r.URI] = &visibleResource{server: srv, resource: r}
			v.uris = append(v.uris, r.URI)
		}
	}
	sort.Strings(v.order)
	sort.Strings(v.promptOrder)
	sort.Strings(v.uris)
	return v, nil
}
