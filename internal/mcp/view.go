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

// ToolName is the name a portal shows a server's tool under: {server_id}_{tool}, where tool is
// the tool's alias in the portal (updated_tools[].alias) or else its own name. Server ids have
// no underscore, so names of different servers never collide, whatever their aliases; the
// portal routes a call by the name it showed (the caller's view), never by splitting it.
func ToolName(serverID, tool string) string { return serverID + "_" + tool }

// settingsByName indexes a server entry's tool or prompt settings by the server's name.
func settingsByName(list []store.MCPToolSetting) map[string]*store.MCPToolSetting {
	if len(list) == 0 {
		return nil
	}
	m := make(map[string]*store.MCPToolSetting, len(list))
	for i := range list {
		m[list[i].Name] = &list[i]
	}
	return m
}

func hasAlias(list []store.MCPToolSetting) bool {
	for i := range list {
		if list[i].Alias != "" {
			return true
		}
	}
	return false
}

// shownName is the name a tool or prompt is shown under after its server id: the alias its
// setting gives it (s may be nil), else its own.
func shownName(s *store.MCPToolSetting, name string) string {
	if s != nil && s.Alias != "" {
		return s.Alias
	}
	return name
}

// ambiguousNames returns the shown names that more than one of a server's enabled tools (or
// prompts) would take: an alias equal to another's name, which configuration validation
// cannot see when the other is not in updated_tools (it is known only from the sync). None of
// them is shown, for any caller: a call by that name has no single meaning.
func ambiguousNames(names []string, settings map[string]*store.MCPToolSetting) map[string]bool {
	first := make(map[string]string, len(names))
	var out map[string]bool
	for _, n := range names {
		shown := shownName(settings[n], n)
		if prev, ok := first[shown]; !ok {
			first[shown] = n
		} else if prev != n {
			if out == nil {
				out = map[string]bool{}
			}
			out[shown] = true
		}
	}
	return out
}

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
		settings := settingsByName(e.UpdatedTools)
		toolEnabled := func(name string) bool {
			if s := settings[name]; s != nil {
				return s.Enabled
			}
			return !e.DefaultDisabled
		}
		var ambiguous map[string]bool
		if hasAlias(e.UpdatedTools) {
			names := make([]string, 0, len(ss.tools))
			for _, t := range ss.tools {
				if t != nil && t.Name != "" && toolEnabled(t.Name) {
					names = append(names, t.Name)
				}
			}
			ambiguous = ambiguousNames(names, settings)
		}
		for _, t := range ss.tools {
			if t == nil || t.Name == "" {
				continue
			}
			if !toolEnabled(t.Name) || !admits(snap.Policies.App(policy.MCPToolPolicyID(portal.ID, e.ServerID, t.Name)), &c.in, c.machine) {
				continue
			}
			shown := shownName(settings[t.Name], t.Name)
			name := ToolName(e.ServerID, shown)
			if v.tools[name] != nil || ambiguous[shown] {
				// Two servers cannot share an id; a duplicate tool name keeps the first, and a
				// name two tools would take (an alias equal to another tool's name) shows
				// neither.
				continue
			}
			exposed := *t
			exposed.Name = name
			if s := settings[t.Name]; s != nil && s.Description != "" {
				exposed.Description = s.Description
			}
			v.tools[name] = &visibleTool{server: srv, upstream: t, exposed: &exposed, paramHeaders: ss.paramHeaders[t.Name]}
			v.order = append(v.order, name)
		}
		promptSettings := settingsByName(e.UpdatedPrompts)
		promptEnabled := func(name string) bool {
			if s := promptSettings[name]; s != nil {
				return s.Enabled
			}
			return !e.DefaultDisabled
		}
		ambiguous = nil
		if hasAlias(e.UpdatedPrompts) {
			names := make([]string, 0, len(ss.prompts))
			for _, pr := range ss.prompts {
				if pr != nil && pr.Name != "" && promptEnabled(pr.Name) {
					names = append(names, pr.Name)
				}
			}
			ambiguous = ambiguousNames(names, promptSettings)
		}
		for _, pr := range ss.prompts {
			if pr == nil || pr.Name == "" || !promptEnabled(pr.Name) {
				continue
			}
			shown := shownName(promptSettings[pr.Name], pr.Name)
			name := ToolName(e.ServerID, shown)
			if v.prompts[name] != nil || ambiguous[shown] {
				continue
			}
			exposed := *pr
			exposed.Name = name
			if s := promptSettings[pr.Name]; s != nil && s.Description != "" {
				exposed.Description = s.Description
			}
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
