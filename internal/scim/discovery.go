package scim

import (
	"net/http"

	"github.com/gatehouse/gatehouse/internal/scim/patch"
)

// serveDiscovery serves ServiceProviderConfig, ResourceTypes and Schemas (RFC 7644 §4).
func (h *handler) serveDiscovery(w http.ResponseWriter, r *http.Request, resource, id string) {
	switch resource {
	case "ServiceProviderConfig":
		if id != "" {
			h.s.writeError(w, r, errNotFound)
			return
		}
		writeJSON(w, http.StatusOK, h.serviceProviderConfig())
	case "ResourceTypes":
		types := []map[string]any{
			h.resourceType("User", "/Users", SchemaUser, SchemaEnterprise),
			h.resourceType("Group", "/Groups", SchemaGroup, ""),
		}
		h.serveCollection(w, r, id, types)
	case "Schemas":
		var list []map[string]any
		for _, s := range []*patch.Schema{&patch.UserSchema, &patch.GroupSchema} {
			list = append(list, h.schemaResource(s))
			for i := range s.Extensions {
				list = append(list, h.schemaResource(&s.Extensions[i]))
			}
		}
		h.serveCollection(w, r, id, list)
	}
}

// serveCollection serves a discovery list, or one of its entries by id.
func (h *handler) serveCollection(w http.ResponseWriter, r *http.Request, id string, items []map[string]any) {
	if id == "" {
		out := make([]any, 0, len(items))
		for _, it := range items {
			out = append(out, it)
		}
		writeJSON(w, http.StatusOK, listResponse(len(out), page{startIndex: 1}, out))
		return
	}
	for _, it := range items {
		if it["id"] == id {
			writeJSON(w, http.StatusOK, it)
			return
		}
	}
	h.s.writeError(w, r, errNotFound)
}

func (h *handler) serviceProviderConfig() map[string]any {
	return map[string]any{
		"schemas":          []string{SchemaSPConfig},
		"documentationUri": "https://github.com/gatehouse/gatehouse",
		"patch":            map[string]any{"supported": true},
		"bulk":             map[string]any{"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
		"filter":           map[string]any{"supported": true, "maxResults": h.s.maxPage()},
		"changePassword":   map[string]any{"supported": false},
		"sort":             map[string]any{"supported": false},
		"etag":             map[string]any{"supported": true},
		"authenticationSchemes": []any{map[string]any{
			"type": "oauthbearertoken", "name": "Bearer token", "primary": true,
			"description": "The SCIM secret Gatehouse generated for this identity provider, as an HTTP Bearer token.",
		}},
		"meta": map[string]any{"resourceType": "ServiceProviderConfig", "location": h.base + "/ServiceProviderConfig"},
	}
}

func (h *handler) resourceType(name, endpoint, schema, extension string) map[string]any {
	rt := map[string]any{
		"schemas": []string{SchemaResourceType}, "id": name, "name": name, "endpoint": endpoint, "schema": schema,
		"meta": map[string]any{"resourceType": "ResourceType", "location": h.base + "/ResourceTypes/" + name},
	}
	if extension != "" {
		rt["schemaExtensions"] = []any{map[string]any{"schema": extension, "required": false}}
	}
	return rt
}

func (h *handler) schemaResource(s *patch.Schema) map[string]any {
	return map[string]any{
		"schemas": []string{SchemaSchema}, "id": s.ID, "name": s.Name, "description": s.Description,
		"attributes": renderAttributes(s.Attributes),
		"meta":       map[string]any{"resourceType": "Schema", "location": h.base + "/Schemas/" + s.ID},
	}
}

func renderAttributes(attrs []patch.Attribute) []any {
	out := make([]any, 0, len(attrs))
	for _, a := range attrs {
		m := map[string]any{
			"name": a.Name, "type": a.Type, "multiValued": a.MultiValued, "description": a.Description,
			"required": a.Required, "caseExact": a.CaseExact, "mutability": orDefault(a.Mutability, patch.ReadWrite),
			"returned": orDefault(a.Returned, "default"), "uniqueness": orDefault(a.Uniqueness, "none"),
		}
		if len(a.CanonicalValues) > 0 {
			m["canonicalValues"] = a.CanonicalValues
		}
		if len(a.ReferenceTypes) > 0 {
			m["referenceTypes"] = a.ReferenceTypes
		}
		if len(a.SubAttributes) > 0 {
			m["subAttributes"] = renderAttributes(a.SubAttributes)
		}
		out = append(out, m)
	}
	return out
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
