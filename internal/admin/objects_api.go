package admin

import (
	"io"
	"net/http"
	"slices"

	"github.com/gatehouse/gatehouse/internal/store"
)

// Configuration object endpoints, at Cloudflare's paths (without /accounts/{account_id}):
// access/apps, access/policies, access/groups, access/identity_providers, access/service_tokens,
// access/lists (Cloudflare keeps lists under gateway/lists; Gatehouse's lists serve Access
// policies), access/ai-controls/mcp/servers and access/ai-controls/mcp/portals. Each has GET
// (list, paged, ?managed_by= filters), POST (create), and per object GET (with ETag), PUT
// (replace), PATCH (JSON merge patch) and DELETE, the last three honouring If-Match.
const (
	pathApps          = "/api/v1/access/apps"
	pathPolicies      = "/api/v1/access/policies"
	pathGroups        = "/api/v1/access/groups"
	pathLists         = "/api/v1/access/lists"
	pathIdPs          = "/api/v1/access/identity_providers"
	pathServiceTokens = "/api/v1/access/service_tokens"
	pathMCPServers    = "/api/v1/access/ai-controls/mcp/servers"
	pathMCPPortals    = "/api/v1/access/ai-controls/mcp/portals"
)

// ObjectPaths maps each configuration section to its endpoint.
var ObjectPaths = map[string]string{
	"applications": pathApps, "policies": pathPolicies, "groups": pathGroups, "lists": pathLists,
	"identity_providers": pathIdPs, "service_tokens": pathServiceTokens, "mcp_servers": pathMCPServers,
	"mcp_portals": pathMCPPortals,
}

func (a *API) objectRoutes() {
	objectEndpoints(a, pathApps, a.svc.Applications)
	objectEndpoints(a, pathPolicies, a.svc.Policies)
	objectEndpoints(a, pathGroups, a.svc.Groups)
	objectEndpoints(a, pathLists, a.svc.Lists)
	objectEndpoints(a, pathIdPs, a.svc.IdentityProviders)
	objectEndpoints(a, pathServiceTokens, a.svc.ServiceTokens)
	a.route("POST "+pathServiceTokens+"/{id}/rotate", "", a.rotateServiceToken)
	objectEndpoints(a, pathMCPServers, a.svc.MCPServerObjects)
	objectEndpoints(a, pathMCPPortals, a.svc.MCPPortalObjects)
}

// maxObjectBody bounds a configuration object in a request body.
const maxObjectBody = 1 << 20

func objectEndpoints[T any](a *API, base string, objects func() Objects[T]) {
	a.route("GET "+base, "", func(r *http.Request, _ Actor) (any, *ResultInfo, error) {
		p := &params{r: r}
		page, perPage := p.page(50)
		managedBy := p.str("managed_by")
		if managedBy != "" && managedBy != store.ManagedByFile && managedBy != store.ManagedByAPI && p.err == nil {
			p.err = &invalidParam{"managed_by", "file or api"}
		}
		if p.err != nil {
			return nil, nil, p.err
		}
		o := objects()
		all, err := o.List(r.Context())
		if err != nil {
			return nil, nil, err
		}
		if managedBy != "" {
			all = slices.DeleteFunc(all, func(v T) bool { return *o.k.managedBy(&v) != managedBy })
		}
		out, info := paginate(all, page, perPage)
		shown := make([]any, len(out))
		for i := range out {
			shown[i] = Redacted(out[i])
		}
		return shown, info, nil
	})
	a.route("GET "+base+"/{id}", "", func(r *http.Request, _ Actor) (any, *ResultInfo, error) {
		v, etag, err := objects().Get(r.Context(), r.PathValue("id"))
		if err != nil {
			return nil, nil, err
		}
		return tagged{result: Redacted(*v), etag: etag}, nil, nil
	})
	a.route("POST "+base, "", func(r *http.Request, actor Actor) (any, *ResultInfo, error) {
		var v T
		if err := DecodeStrict(io.LimitReader(r.Body, maxObjectBody), &v); err != nil {
			return nil, nil, err
		}
		o := objects()
		if tok, ok := any(&v).(*store.ServiceToken); ok {
			created, etag, err := a.svc.CreateServiceToken(r.Context(), actor, *tok)
			if err != nil {
				return nil, nil, err
			}
			return tagged{result: withSecret(created), etag: etag, status: http.StatusCreated}, nil, nil
		}
		created, etag, err := o.Create(r.Context(), actor, v)
		if err != nil {
			return nil, nil, err
		}
		return tagged{result: Redacted(*created), etag: etag, status: http.StatusCreated}, nil, nil
	})
	a.route("PUT "+base+"/{id}", "", func(r *http.Request, actor Actor) (any, *ResultInfo, error) {
		var v T
		if err := DecodeStrict(io.LimitReader(r.Body, maxObjectBody), &v); err != nil {
			return nil, nil, err
		}
		got, etag, err := objects().Replace(r.Context(), actor, r.PathValue("id"), v, r.Header.Get("If-Match"))
		if err != nil {
			return nil, nil, err
		}
		return tagged{result: Redacted(*got), etag: etag}, nil, nil
	})
	a.route("PATCH "+base+"/{id}", "", func(r *http.Request, actor Actor) (any, *ResultInfo, error) {
		body, err := io.ReadAll(io.LimitReader(r.Body, maxObjectBody))
		if err != nil {
			return nil, nil, err
		}
		got, etag, err := objects().Patch(r.Context(), actor, r.PathValue("id"), body, r.Header.Get("If-Match"))
		if err != nil {
			return nil, nil, err
		}
		return tagged{result: Redacted(*got), etag: etag}, nil, nil
	})
	a.route("DELETE "+base+"/{id}", "", func(r *http.Request, actor Actor) (any, *ResultInfo, error) {
		id := r.PathValue("id")
		if err := objects().Delete(r.Context(), actor, id, r.Header.Get("If-Match")); err != nil {
			return nil, nil, err
		}
		return map[string]any{"id": id}, nil, nil
	})
}

// withSecret is a created or rotated service token as shown once: redacted like any object,
// with its client secret.
func withSecret(t *ServiceTokenWithSecret) any {
	m, _ := Redacted(t.ServiceToken).(map[string]any)
	if m == nil {
		m = map[string]any{}
	}
	m["client_secret"] = t.ClientSecret
	return m
}

func (a *API) rotateServiceToken(r *http.Request, actor Actor) (any, *ResultInfo, error) {
	t, etag, err := a.svc.RotateServiceToken(r.Context(), actor, r.PathValue("id"), r.Header.Get("If-Match"))
	if err != nil {
		return nil, nil, err
	}
	return tagged{result: withSecret(t), etag: etag}, nil, nil
}
