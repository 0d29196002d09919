package admin

import (
	"net/http"
)

// mcpRoutes registers the MCP server portal's endpoints, with Cloudflare's path shapes where it
// has them. Syncs, approvals and call log readings are audited by the service.
func (a *API) mcpRoutes() {
	a.route("GET /api/v1/mcp/servers", "", a.listMCPServers)
	a.route("GET /api/v1/mcp/servers/{id}", "", a.getMCPServer)
	a.route("POST /api/v1/mcp/servers/{id}/sync", "", a.syncMCPServer)
	a.route("POST /api/v1/mcp/servers/{id}/approve_tools", "", a.approveMCPTools)
	a.route("POST /api/v1/mcp/servers/{id}/authorize", "", a.authorizeMCPServer)
	a.route("GET /api/v1/mcp/portals", "", a.listMCPPortals)
	a.route("GET /api/v1/mcp/logs", "", a.mcpCallLogs)
}

func (a *API) listMCPServers(r *http.Request, _ Actor) (any, *ResultInfo, error) {
	p := &params{r: r}
	page, perPage := p.page(100)
	if p.err != nil {
		return nil, nil, p.err
	}
	servers, err := a.svc.ListMCPServers(r.Context())
	if err != nil {
		return nil, nil, err
	}
	out, info := paginate(servers, page, perPage)
	return out, info, nil
}

func (a *API) getMCPServer(r *http.Request, _ Actor) (any, *ResultInfo, error) {
	v, err := a.svc.GetMCPServer(r.Context(), r.PathValue("id"))
	return v, nil, err
}

// syncMCPServer serves POST /api/v1/mcp/servers/{id}/sync: the server is synced now and
// returned; a sync that failed is a success of the request with status error and
// error_details, as the server list shows it.
func (a *API) syncMCPServer(r *http.Request, actor Actor) (any, *ResultInfo, error) {
	v, err := a.svc.SyncMCPServer(r.Context(), actor, r.PathValue("id"))
	return v, nil, err
}

func (a *API) approveMCPTools(r *http.Request, actor Actor) (any, *ResultInfo, error) {
	v, err := a.svc.ApproveMCPTools(r.Context(), actor, r.PathValue("id"))
	return v, nil, err
}

// authorizeMCPServer serves POST /api/v1/mcp/servers/{id}/authorize: the administrator's
// authorization at an oauth server starts, and the result's authorization_url is opened in a
// browser to finish it.
func (a *API) authorizeMCPServer(r *http.Request, actor Actor) (any, *ResultInfo, error) {
	v, err := a.svc.AuthorizeMCPServer(r.Context(), actor, r.PathValue("id"))
	return v, nil, err
}

func (a *API) listMCPPortals(r *http.Request, _ Actor) (any, *ResultInfo, error) {
	p := &params{r: r}
	page, perPage := p.page(100)
	if p.err != nil {
		return nil, nil, p.err
	}
	portals, err := a.svc.ListMCPPortals(r.Context())
	if err != nil {
		return nil, nil, err
	}
	out, info := paginate(portals, page, perPage)
	return out, info, nil
}

// mcpCallLogs serves GET /api/v1/mcp/logs: the MCP call logs, newest first, filtered by
// ?portal=, ?server=, ?user=, ?decision=, ?since= and ?until=, at most ?limit= (1 to 1000,
// default 100) from ?cursor=; result_info's cursor continues the listing when there may be
// more.
func (a *API) mcpCallLogs(r *http.Request, actor Actor) (any, *ResultInfo, error) {
	p := &params{r: r}
	q := MCPCallLogQuery{Portal: p.str("portal"), Server: p.str("server"), User: p.str("user"), Decision: p.str("decision"),
		Since: p.str("since"), Until: p.str("until"), Limit: p.int("limit", 100, 1, 1000), Cursor: p.str("cursor")}
	if p.err != nil {
		return nil, nil, p.err
	}
	entries, cursor, err := a.svc.MCPCallLogs(r.Context(), actor, q)
	if err != nil {
		return nil, nil, err
	}
	return entries, &ResultInfo{PerPage: q.Limit, Count: len(entries), Cursor: cursor}, nil
}
