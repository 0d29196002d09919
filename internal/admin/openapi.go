package admin

import (
	"encoding"
	"encoding/json"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// The OpenAPI 3.1 description of the admin API is generated from the registered routes (so an
// endpoint cannot be left out) and the Go types of the configuration objects (so a field cannot
// be left out): GET /api/v1/openapi.json serves it to any valid token. Every route needs a
// summary in routeDocs; a test fails for a route without one, or for a summary without a route.

// routeDoc documents one endpoint.
type routeDoc struct {
	summary string
	// query lists the query parameters.
	query []string
}

var pagedQuery = []string{"page", "per_page"}

var routeDocs = map[string]routeDoc{
	"GET /api/v1/users":                                 {"List the user registry", []string{"page", "per_page", "email"}},
	"GET /api/v1/users/{id}":                            {"Get one user (id or e-mail) with sessions and recent logins", nil},
	"GET /api/v1/users/{id}/active_sessions":            {"List a user's active sessions", nil},
	"POST /api/v1/users/{id}/revoke":                    {"Revoke every session and gateway device of a user", nil},
	"DELETE /api/v1/users/{id}/active_sessions/{nonce}": {"Revoke one session of a user", nil},
	"POST /api/v1/apps/{id}/revoke_tokens":              {"Revoke every token issued for an application", nil},
	"GET /api/v1/devices":                               {"List enrolled gateway devices", []string{"user", "page", "per_page"}},
	"POST /api/v1/devices/revoke":                       {"Revoke several gateway devices (a JSON array of ids)", nil},
	"POST /api/v1/devices/{id}/revoke":                  {"Revoke one gateway device", nil},
	"POST /api/v1/users/{id}/revoke_devices":            {"Revoke every gateway device of a user", nil},
	"GET /api/v1/audit":                                 {"Query the audit log, newest first", []string{"since", "until", "actor", "actor_type", "action", "target_type", "target_id", "result", "page", "per_page"}},
	"GET /api/v1/logs/access_requests":                  {"Authentication events with Cloudflare's access_requests fields", []string{"since", "until", "email", "user_id", "app_uid", "limit", "direction", "page", "per_page"}},
	"GET /api/v1/gateway/apps":                          {"The gateway's application library with review statuses", []string{"review_status", "type", "ai", "search", "page", "per_page"}},
	"GET /api/v1/gateway/apps/{id}":                     {"One application of the library", nil},
	"PUT /api/v1/gateway/apps/{id}/review_status":       {"Set one application's review status", nil},
	"POST /api/v1/gateway/apps/review_status":           {"Set several applications' review status, all or none", nil},
	"GET /api/v1/gateway/report":                        {"The Shadow-AI discovery report", []string{"since", "top"}},
	"GET /api/v1/reports/ai_security":                   {"The AI security report: AI apps in use, prompts by topic and action, users with the most risky prompts, MCP tool calls (with an mcp scope); audited", []string{"since", "top_users"}},
	"GET /api/v1/reports/access":                        {"The Access report: logins and refusals per day, by reason, application and identity provider", []string{"since"}},
	"GET /api/v1/gateway/prompt-logs":                   {"The AI prompt logs (sealed payloads only)", []string{"conversation_id", "user", "app", "since", "until", "limit", "cursor"}},
	"GET /api/v1/mcp/servers":                           {"MCP servers with their sync state", pagedQuery},
	"GET /api/v1/mcp/servers/{id}":                      {"One MCP server with its synced tools, prompts and resources", nil},
	"POST /api/v1/mcp/servers/{id}/sync":                {"Sync an MCP server now", nil},
	"POST /api/v1/mcp/servers/{id}/approve_tools":       {"Approve an MCP server's current tool definitions", nil},
	"POST /api/v1/mcp/servers/{id}/authorize":           {"Start the administrator's authorization at an oauth MCP server (returns the URL to open)", nil},
	"GET /api/v1/mcp/portals":                           {"MCP portals with their endpoints", pagedQuery},
	"GET /api/v1/mcp/logs":                              {"The MCP call logs", []string{"portal", "server", "user", "decision", "since", "until", "limit", "cursor"}},
	"POST " + pathServiceTokens + "/{id}/rotate":        {"Give a service token a new client secret (returned once)", nil},
	"GET /api/v1/openapi.json":                          {"This description", nil},
	"GET /api/v1/gateway/rules":                         {"The gateway's HTTP rules in precedence order (managed by the file)", pagedQuery},
	"GET /api/v1/gateway/rules/{id}":                    {"One gateway rule", nil},
	"POST /api/v1/gateway/rules/check":                  {"Check a rule expression with the gateway's compiler (changes nothing; read scopes allow it)", nil},
	"GET /api/v1/dlp/profiles":                          {"The DLP profiles, predefined and custom", pagedQuery},
	"GET /api/v1/dlp/profiles/{id}":                     {"One DLP profile with its entries", nil},
	"POST /api/v1/dlp/profiles/{id}/test":               {"Scan pasted text with a DLP profile (redacted findings; audited without the text)", nil},
	"GET /api/v1/gateway/certificates":                  {"The gateway's TLS inspection CAs, newest first (public certificates only)", pagedQuery},
	"GET /api/v1/gateway/certificates/{id}":             {"One gateway CA (public certificate only)", nil},
	"GET /api/v1/keys":                                  {"The published signing keys, newest first (public JWKs and certificates only)", pagedQuery},
}

// routeSchemas gives the request body and result of routes outside objectDocs.
var routeSchemas = map[string]struct {
	body, result reflect.Type
	list         bool
}{
	"GET /api/v1/gateway/rules":             {nil, reflect.TypeFor[GatewayRuleView](), true},
	"GET /api/v1/gateway/rules/{id}":        {nil, reflect.TypeFor[GatewayRuleView](), false},
	"POST /api/v1/gateway/rules/check":      {reflect.TypeFor[ExpressionCheck](), reflect.TypeFor[ExpressionCheckResult](), false},
	"GET /api/v1/dlp/profiles":              {nil, reflect.TypeFor[DLPProfile](), true},
	"GET /api/v1/dlp/profiles/{id}":         {nil, reflect.TypeFor[DLPProfile](), false},
	"POST /api/v1/dlp/profiles/{id}/test":   {reflect.TypeFor[DLPTest](), reflect.TypeFor[DLPScan](), false},
	"GET /api/v1/gateway/certificates":      {nil, reflect.TypeFor[GatewayCertificate](), true},
	"GET /api/v1/gateway/certificates/{id}": {nil, reflect.TypeFor[GatewayCertificate](), false},
	"GET /api/v1/keys":                      {nil, reflect.TypeFor[SigningKeyInfo](), true},
	"GET /api/v1/reports/ai_security":       {nil, reflect.TypeFor[AISecurityReport](), false},
	"GET /api/v1/reports/access":            {nil, reflect.TypeFor[AccessReport](), false},
}

// objectDocs names each configuration object endpoint's schema and what it holds.
var objectDocs = map[string]struct {
	schema reflect.Type
	what   string
}{
	pathApps:          {reflect.TypeFor[store.Application](), "Access applications"},
	pathPolicies:      {reflect.TypeFor[store.Policy](), "reusable Access policies"},
	pathGroups:        {reflect.TypeFor[store.RuleGroup](), "rule groups (Access groups)"},
	pathLists:         {reflect.TypeFor[store.List](), "e-mail and IP lists"},
	pathIdPs:          {reflect.TypeFor[store.IdentityProvider](), "identity providers"},
	pathServiceTokens: {reflect.TypeFor[store.ServiceToken](), "service tokens"},
	pathMCPServers:    {reflect.TypeFor[store.MCPServer](), "MCP servers (configuration)"},
	pathMCPPortals:    {reflect.TypeFor[store.MCPPortal](), "MCP portals (configuration)"},
}

// objectRoute reports the configuration object endpoint a route belongs to ("" when none) and
// whether it is the per-object form.
func objectRoute(path string) (base string, one bool) {
	for b := range objectDocs {
		if path == b {
			return b, false
		}
		if path == b+"/{id}" {
			return b, true
		}
	}
	return "", false
}

// docOf returns a route's documentation; ok is false for an undocumented route.
func docOf(rt Route) (routeDoc, bool) {
	if d, ok := routeDocs[rt.Method+" "+rt.Path]; ok {
		return d, true
	}
	base, one := objectRoute(rt.Path)
	if base == "" {
		return routeDoc{}, false
	}
	what := objectDocs[base].what
	switch {
	case !one && rt.Method == http.MethodGet:
		return routeDoc{"List " + what, []string{"page", "per_page", "managed_by"}}, true
	case !one && rt.Method == http.MethodPost:
		return routeDoc{"Create one of the " + what + " (managed_by api)", nil}, true
	case one && rt.Method == http.MethodGet:
		return routeDoc{"Get one of the " + what + ", with its ETag", nil}, true
	case one && rt.Method == http.MethodPut:
		return routeDoc{"Replace one of the " + what + " (If-Match honoured)", nil}, true
	case one && rt.Method == http.MethodPatch:
		return routeDoc{"Change one of the " + what + " with a JSON merge patch (If-Match honoured)", nil}, true
	case one && rt.Method == http.MethodDelete:
		return routeDoc{"Delete one of the " + what + " (If-Match honoured)", nil}, true
	}
	return routeDoc{}, false
}

var pathParam = regexp.MustCompile(`\{([a-z_]+)\}`)

// OpenAPI returns the OpenAPI 3.1 description of the API's routes.
func (a *API) OpenAPI() map[string]any {
	defs := map[string]any{}
	for _, t := range []reflect.Type{reflect.TypeFor[Envelope](), reflect.TypeFor[Message](), reflect.TypeFor[ResultInfo]()} {
		schemaOf(t, defs)
	}
	paths := map[string]any{}
	for _, rt := range a.routes {
		doc, _ := docOf(rt)
		op := map[string]any{
			"operationId": operationID(rt),
			"summary":     doc.summary,
			"tags":        []string{rt.Area},
			"responses":   responses(rt, defs),
		}
		if rt.Area == scopeAny {
			op["tags"] = []string{"meta"}
		}
		var params []any
		for _, m := range pathParam.FindAllStringSubmatch(rt.Path, -1) {
			params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
		}
		for _, q := range doc.query {
			params = append(params, map[string]any{"name": q, "in": "query", "required": false, "schema": map[string]any{"type": "string"}})
		}
		base, one := objectRoute(rt.Path)
		if one && rt.Method != http.MethodGet || rt.Path == pathServiceTokens+"/{id}/rotate" {
			params = append(params, map[string]any{"name": "If-Match", "in": "header", "required": false,
				"description": "the ETag the object was read with; 412 when it changed since", "schema": map[string]any{"type": "string"}})
		}
		if len(params) > 0 {
			op["parameters"] = params
		}
		if base != "" && (rt.Method == http.MethodPost && !one || rt.Method == http.MethodPut) {
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{"application/json": map[string]any{
				"schema": schemaOf(objectDocs[base].schema, defs)}}}
		}
		if sc, ok := routeSchemas[rt.Method+" "+rt.Path]; ok && sc.body != nil {
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{"application/json": map[string]any{
				"schema": schemaOf(sc.body, defs)}}}
		}
		if rt.Read {
			op["description"] = "Changes nothing: a token with a read scope of its area may call it."
		}
		if base != "" && rt.Method == http.MethodPatch {
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{"application/merge-patch+json": map[string]any{
				"schema": map[string]any{"type": "object"}}, "application/json": map[string]any{"schema": map[string]any{"type": "object"}}}}
		}
		p := strings.TrimSuffix(rt.Path, "/")
		item, _ := paths[p].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[p] = item
		}
		item[strings.ToLower(rt.Method)] = op
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{"title": "Gatehouse admin API", "version": "1",
			"description": "Cloudflare-shaped administration of Gatehouse. Authenticate with Authorization: Bearer <admin API token>; a token's scopes decide which areas (tags) it may read and write."},
		"servers":    []any{map[string]any{"url": "/"}},
		"security":   []any{map[string]any{"bearer": []any{}}},
		"paths":      paths,
		"components": map[string]any{"schemas": defs, "securitySchemes": map[string]any{"bearer": map[string]any{"type": "http", "scheme": "bearer"}}},
	}
}

func operationID(rt Route) string {
	s := strings.NewReplacer("/api/v1/", "", "{", "", "}", "", "/", "_", "-", "_", ".", "_").Replace(rt.Path)
	return strings.ToLower(rt.Method) + "_" + s
}

func responses(rt Route, defs map[string]any) map[string]any {
	var result any = map[string]any{}
	if sc, ok := routeSchemas[rt.Method+" "+rt.Path]; ok {
		result = schemaOf(sc.result, defs)
		if sc.list {
			result = map[string]any{"type": "array", "items": result}
		}
	}
	if base, one := objectRoute(rt.Path); base != "" && rt.Method != http.MethodDelete {
		obj := schemaOf(objectDocs[base].schema, defs)
		if one || rt.Method == http.MethodPost {
			result = obj
		} else {
			result = map[string]any{"type": "array", "items": obj}
		}
	}
	ok := map[string]any{"description": "success", "content": map[string]any{"application/json": map[string]any{
		"schema": map[string]any{"allOf": []any{ref("Envelope"), map[string]any{"properties": map[string]any{"result": result}}}}}}}
	if base, one := objectRoute(rt.Path); base != "" && (one && rt.Method != http.MethodDelete || rt.Method == http.MethodPost) {
		ok["headers"] = map[string]any{"ETag": map[string]any{"description": "the object's entity tag", "schema": map[string]any{"type": "string"}}}
	}
	failure := map[string]any{"description": "an error: errors[] says what (400 invalid, 401 no valid token, 403 scope, 404, 409 conflict or managed by the file, 412 If-Match, 429 rate limit)",
		"content": map[string]any{"application/json": map[string]any{"schema": ref("Envelope")}}}
	status := "200"
	if rt.Method == http.MethodPost {
		if base, one := objectRoute(rt.Path); base != "" && !one {
			status = "201"
		}
	}
	return map[string]any{status: ok, "default": failure}
}

func ref(name string) map[string]any { return map[string]any{"$ref": "#/components/schemas/" + name} }

// readOnlyFields are set by Gatehouse, never by a request.
var readOnlyFields = map[string]bool{"managed_by": true, "aud": true, "created_at": true}

var (
	textMarshaler = reflect.TypeFor[encoding.TextMarshaler]()
	timeType      = reflect.TypeFor[time.Time]()
)

// schemaOf returns the JSON Schema of t as encoding/json writes it, defining named structs in
// defs and referring to them.
func schemaOf(t reflect.Type, defs map[string]any) any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case t == reflect.TypeFor[store.Destination]():
		defs["Destination"] = map[string]any{"oneOf": []any{
			map[string]any{"type": "string", "description": "host[/path]"},
			map[string]any{"type": "object", "properties": map[string]any{"type": map[string]any{"type": "string"}, "uri": map[string]any{"type": "string"}}},
		}}
		return ref("Destination")
	case t.Implements(textMarshaler) || reflect.PointerTo(t).Implements(textMarshaler):
		return map[string]any{"type": "string"}
	}
	switch t.Kind() {
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return map[string]any{"type": "string"}
		}
		return map[string]any{"type": "array", "items": schemaOf(t.Elem(), defs)}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": schemaOf(t.Elem(), defs)}
	case reflect.Interface:
		return map[string]any{}
	case reflect.Struct:
		name := t.Name()
		if name == "" {
			return structSchema(t, defs)
		}
		if _, ok := defs[name]; !ok {
			defs[name] = map[string]any{} // placeholder: recursive types
			defs[name] = structSchema(t, defs)
		}
		return ref(name)
	}
	return map[string]any{}
}

func structSchema(t reflect.Type, defs map[string]any) map[string]any {
	props := map[string]any{}
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for i := range t.NumField() {
			f := t.Field(i)
			tag := f.Tag.Get("json")
			if tag == "-" || !f.IsExported() && !f.Anonymous {
				continue
			}
			name, _, _ := strings.Cut(tag, ",")
			if f.Anonymous && name == "" {
				ft := f.Type
				for ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if ft.Kind() == reflect.Struct {
					walk(ft)
					continue
				}
			}
			if name == "" {
				name = f.Name
			}
			s := schemaOf(f.Type, defs)
			if readOnlyFields[name] {
				s = map[string]any{"allOf": []any{s}, "readOnly": true}
			}
			props[name] = s
		}
	}
	walk(t)
	return map[string]any{"type": "object", "properties": props}
}

// openAPIDoc is the encoded description, made once per API.
type openAPIDoc struct {
	once sync.Once
	doc  []byte
}

func (a *API) openAPI(_ *http.Request, _ Actor) (any, *ResultInfo, error) {
	a.doc.once.Do(func() { a.doc.doc, _ = json.Marshal(a.OpenAPI()) })
	return rawDoc(a.doc.doc), nil, nil
}

// rawDoc is served as the whole answer, without the envelope.
type rawDoc []byte

// undocumented returns the routes without a summary and the summaries without a route.
func (a *API) undocumented() (routes, stale []string) {
	seen := map[string]bool{}
	for _, rt := range a.routes {
		k := rt.Method + " " + rt.Path
		seen[k] = true
		if _, ok := docOf(rt); !ok {
			routes = append(routes, k)
		}
	}
	for k := range routeSchemas {
		if !seen[k] {
			stale = append(stale, k)
		}
	}
	for k := range routeDocs {
		if !seen[k] {
			stale = append(stale, k)
		}
	}
	slices.Sort(stale)
	return routes, stale
}
