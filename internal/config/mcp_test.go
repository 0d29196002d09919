package config

import (
	"strings"
	"testing"
)

// mcp_servers and mcp_portals: every refusal names its path. Server ids have no underscore, so
// {server_id}_{tool} names cannot collide across servers; a portal's id cannot be an
// application's.
func TestMCPConfigRefusals(t *testing.T) {
	base := head + `policies: [{id: svc, decision: non_identity, include: [{any_valid_service_token: {}}]}]
mcp_servers:
  - {id: wiki, name: Wiki, url: "https://wiki.example.com/mcp", review_status: approved}
`
	if _, err := Parse([]byte(base+"mcp_portals: [{id: agents, name: Agents, servers: [{server_id: wiki}], policies: [{ref: svc, precedence: 1}]}]\n"), "g.yaml"); err != nil {
		t.Fatalf("valid: %v", err)
	}
	for _, tc := range []struct{ yaml, path string }{
		{"  - {id: wiki_two, name: W, url: \"https://w.example.com/mcp\"}\n", "mcp_servers[1].id"},
		{"  - {id: Wiki2, name: W, url: \"https://w.example.com/mcp\"}\n", "mcp_servers[1].id"},
		{"  - {id: wiki, name: W, url: \"https://w.example.com/mcp\"}\n", "mcp_servers[1].id"},
		{"  - {id: two, name: W, url: \"ftp://w.example.com/mcp\"}\n", "mcp_servers[1].url"},
		{"  - {id: two, name: W, url: \"https://w.example.com/mcp\", auth_type: bearer}\n", "mcp_servers[1].auth_credentials"},
		{"  - {id: two, name: W, url: \"https://w.example.com/mcp\", auth_type: oauth, auth_credentials: x}\n", "mcp_servers[1].auth_credentials"},
		{"  - {id: two, name: W, url: \"https://w.example.com/mcp\", auth_type: oauth, oauth: {client_secret: x}}\n", "mcp_servers[1].oauth.client_secret"},
		{"  - {id: two, name: W, url: \"https://w.example.com/mcp\", auth_type: oauth, oauth: {scopes: [\"a b\"]}}\n", "mcp_servers[1].oauth.scopes[0]"},
		{"  - {id: two, name: W, url: \"https://w.example.com/mcp\", oauth: {client_id: x}}\n", "mcp_servers[1].oauth"},
		{"  - {id: two, name: W, url: \"https://w.example.com/mcp\", auth_type: basic}\n", "mcp_servers[1].auth_type"},
		{"  - {id: two, name: W, url: \"https://w.example.com/mcp\", transport: websocket}\n", "mcp_servers[1].transport"},
		{"  - {id: two, name: W, url: \"https://w.example.com/mcp\", review_status: maybe}\n", "mcp_servers[1].review_status"},
	} {
		_, err := Parse([]byte(base+tc.yaml), "g.yaml")
		if err == nil || !strings.Contains(err.Error(), tc.path) {
			t.Errorf("%q: %v, want a problem at %s", tc.yaml, err, tc.path)
		}
	}
	for _, tc := range []struct{ portal, path string }{
		{"{id: agents, name: A, servers: [{server_id: nope}]}", "mcp_portals[0].servers[0].server_id"},
		{"{id: agents, name: A, servers: [{server_id: wiki}], policies: [{ref: p, precedence: 1, role: administrator}]}", "mcp_portals[0].policies[0].role"},
		{"{id: agents, name: A, servers: []}", "mcp_portals[0].servers"},
		{"{id: agents, name: A, servers: [{server_id: wiki}, {server_id: wiki}]}", "mcp_portals[0].servers[1].server_id"},
		{"{id: agents, name: A, servers: [{server_id: wiki, on_behalf: true}]}", "mcp_portals[0].servers[0].on_behalf"},
		{"{id: servers-callback, name: A, servers: [{server_id: wiki}]}", "mcp_portals[0].id"},
		{"{id: connect, name: A, servers: [{server_id: wiki}]}", "mcp_portals[0].id"},
		{"{id: agents, name: A, servers: [{server_id: wiki, updated_tools: [{name: a, enabled: true}, {name: a}]}]}", "mcp_portals[0].servers[0].updated_tools[1].name"},
		{"{id: agents, name: A, servers: [{server_id: wiki, updated_tools: [{name: a, alias: \"bad name\"}]}]}", "mcp_portals[0].servers[0].updated_tools[0].alias"},
		{"{id: agents, name: A, servers: [{server_id: wiki, updated_tools: [{name: a, alias: a__b}]}]}", "mcp_portals[0].servers[0].updated_tools[0].alias"},
		{"{id: agents, name: A, servers: [{server_id: wiki, updated_tools: [{name: a, alias: _a}]}]}", "mcp_portals[0].servers[0].updated_tools[0].alias"},
		{"{id: agents, name: A, servers: [{server_id: wiki, updated_tools: [{name: a, alias: " + strings.Repeat("x", 41) + "}]}]}", "mcp_portals[0].servers[0].updated_tools[0].alias"},
		{"{id: agents, name: A, servers: [{server_id: wiki, updated_prompts: [{name: a, alias: \"a.b\"}]}]}", "mcp_portals[0].servers[0].updated_prompts[0].alias"},
		// Shown names collide: an alias and another tool's name, two aliases.
		{"{id: agents, name: A, servers: [{server_id: wiki, updated_tools: [{name: search, enabled: true}, {name: delete_all, alias: search}]}]}", "mcp_portals[0].servers[0].updated_tools[1].alias"},
		{"{id: agents, name: A, servers: [{server_id: wiki, updated_tools: [{name: a, alias: x}, {name: b, alias: x}]}]}", "mcp_portals[0].servers[0].updated_tools[1].alias"},
		{"{id: agents, name: A, servers: [{server_id: wiki, updated_prompts: [{name: a, alias: b}, {name: b}]}]}", "mcp_portals[0].servers[0].updated_prompts[1].name"},
		{"{id: agents, name: A, servers: [{server_id: wiki, updated_tools: [{name: a, description: \"" + strings.Repeat("d", 4097) + "\"}]}]}", "mcp_portals[0].servers[0].updated_tools[0].description"},
		{"{id: agents, name: A, servers: [{server_id: wiki}], dlp: {profiles: [no_such_profile]}}", "mcp_portals[0].dlp.profiles[0]"},
		{"{id: agents, name: A, servers: [{server_id: wiki}], prompt_injection: maybe}", "mcp_portals[0].prompt_injection"},
		{"{id: agents, name: A, servers: [{server_id: wiki}], policies: [{ref: nope, precedence: 1}]}", "mcp_portals[0].policies[0].ref"},
		{"{id: agents, name: A, servers: [{server_id: wiki}], oauth: {dynamic_client_registration: {allowed_uris: [\"http://app.example.com/cb\"]}}}", "mcp_portals[0].oauth.dynamic_client_registration.allowed_uris[0]"},
		{"{id: agents, name: A, servers: [{server_id: wiki}], oauth: {client_id_metadata_documents: {allowed_networks: [10.1.2.3/8]}}}", "mcp_portals[0].oauth.client_id_metadata_documents.allowed_networks[0]"},
		{"{id: agents, name: A, servers: [{server_id: wiki}], oauth: {grant: {access_token_lifetime: 1s}}}", "mcp_portals[0].oauth.grant.access_token_lifetime"},
	} {
		_, err := Parse([]byte(base+"mcp_portals: ["+tc.portal+"]\n"), "g.yaml")
		if err == nil || !strings.Contains(err.Error(), tc.path) {
			t.Errorf("%s: %v, want a problem at %s", tc.portal, err, tc.path)
		}
	}
	// Aliases Cloudflare allows, a swap of two names, and a tool aliased to its own name.
	for _, portal := range []string{
		"{id: agents, name: A, servers: [{server_id: wiki, updated_tools: [{name: super_cool_tool, alias: search_customer_records, description: Finds customers.}, {name: b, alias: get-user-profile}, {name: c, alias: " + strings.Repeat("x", 40) + "}]}]}",
		"{id: agents, name: A, servers: [{server_id: wiki, updated_tools: [{name: a, alias: b}, {name: b, alias: a}, {name: c, alias: c}], updated_prompts: [{name: a, alias: A1}]}]}",
	} {
		if _, err := Parse([]byte(base+"mcp_portals: ["+portal+"]\n"), "g.yaml"); err != nil {
			t.Errorf("%s: %v", portal, err)
		}
	}
	// auth_type oauth, with static client credentials or without, and on_behalf on it.
	oauth := base + `  - {id: docs, name: D, url: "https://d.example.com/mcp", auth_type: oauth, oauth: {client_id: gh, client_secret: {env: X}, scopes: [read]}}
  - {id: dcr, name: D, url: "https://d2.example.com/mcp", auth_type: oauth}
mcp_portals: [{id: agents, name: Agents, servers: [{server_id: docs, on_behalf: true}, {server_id: dcr, on_behalf: true}, {server_id: wiki}]}]
`
	if _, err := Parse([]byte(oauth), "g.yaml"); err != nil {
		t.Errorf("oauth servers: %v", err)
	}
	app := strings.Replace(base, "policies:", "applications: [{id: agents, type: self_hosted, name: A, destinations: [a.example.com], upstream: \"http://10.0.0.1\"}]\npolicies:", 1)
	if _, err := Parse([]byte(app+"mcp_portals: [{id: agents, name: A, servers: [{server_id: wiki}]}]\n"), "g.yaml"); err == nil || !strings.Contains(err.Error(), "mcp_portals[0].id") {
		t.Errorf("a portal with an application's id: %v", err)
	}
}
