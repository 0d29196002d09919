package mcp_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// FuzzPortalRequest sends arbitrary JSON-RPC bodies, with arbitrary Mcp-Method and Mcp-Name
// headers, to a portal as an agent who may see some tools and not others: the portal never
// fails (5xx) or panics, and no tool hidden from the agent ever runs on the upstream, however
// the request is framed (batches, duplicate keys, odd ids, header and body disagreeing,
// protocol revision headers).
func FuzzPortalRequest(f *testing.F) {
	seeds := []struct{ body, method, name, version string }{
		{`{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}`, "", "", ""},
		{`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"tickets_echo","arguments":{"text":"x"}}}`, "tools/call", "tickets_echo", "2026-07-28"},
		{`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"tickets_admin_only","arguments":{}}}`, "", "", ""},
		{`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"tickets_echo","name":"tickets_admin_only"}}`, "tools/call", "tickets_echo", "2026-07-28"},
		{`[{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"tickets_disabled"}}]`, "", "", "2025-03-26"},
		{`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"tickets_ad\u006din_only"}}`, "tools/call", "tickets_admin_only", "2026-07-28"},
		{`{"jsonrpc":"2.0","id":{"x":1},"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"a","version":"1"}}}`, "", "", ""},
		{`{"jsonrpc":"2.0","method":"notifications/initialized"}`, "", "", "2025-06-18"},
		{`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"admin_only"}}`, "tools/call", "admin_only", "2026-07-28"},
	}
	for _, s := range seeds {
		f.Add(s.body, s.method, s.name, s.version)
	}
	e := newEnvTB(f)
	url := e.portal.URL + "/cdn-cgi/access/mcp/agents"
	client := &http.Client{}
	f.Fuzz(func(t *testing.T, body, method, name, version string) {
		adminBefore, disabledBefore := adminOnlyRuns.Load(), disabledRuns.Load()
		req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
		if err != nil {
			t.Skip()
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("CF-Access-Client-Id", "agent.access")
		req.Header.Set("CF-Access-Client-Secret", agentSecret)
		for k, v := range map[string]string{"Mcp-Method": method, "Mcp-Name": name, "Mcp-Protocol-Version": version} {
			if v != "" && validHeaderValue(v) {
				req.Header.Set(k, v)
			}
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 500 {
			t.Errorf("status %d", resp.StatusCode)
		}
		if adminOnlyRuns.Load() != adminBefore || disabledRuns.Load() != disabledBefore {
			t.Fatalf("a tool hidden from the agent ran on the upstream (body %q, Mcp-Method %q, Mcp-Name %q)", body, method, name)
		}
	})
}

func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 || c == 0x7f {
			return false
		}
	}
	return true
}
