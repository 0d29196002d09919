package app_test

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/testenv"
)

// apiClient calls the admin API on the auth domain with one token.
type apiClient struct {
	t   *testing.T
	e   *testenv.Env
	tok string
}

type apiAnswer struct {
	Status int
	ETag   string
	Env    struct {
		Success bool              `json:"success"`
		Errors  []admin.Message   `json:"errors"`
		Result  json.RawMessage   `json:"result"`
		Info    *admin.ResultInfo `json:"result_info"`
	}
	Body string
}

func (c apiClient) do(method, path, body string, header ...string) apiAnswer {
	c.t.Helper()
	req, _ := http.NewRequest(method, c.e.URL("auth.localhost", path), strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+c.tok)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, b := c.e.NewBrowser().Do(c.t, req)
	a := apiAnswer{Status: resp.StatusCode, ETag: resp.Header.Get("ETag"), Body: b}
	_ = json.Unmarshal([]byte(b), &a.Env)
	return a
}

func (a apiAnswer) result(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(a.Env.Result, &m); err != nil {
		t.Fatalf("result of %s: %v", a.Body, err)
	}
	return m
}

// TestAdminAPIConfigObjects: an application and a policy created through the admin API admit
// the allowed user through the proxy (and no one else); a reload of the file keeps them and
// removes only what the file dropped; file objects are read-only through the API; a stale
// If-Match gets 412; a read-only token cannot write; the audit log has every change with the
// object before and after.
func TestAdminAPIConfigObjects(t *testing.T) {
	e := testenv.Start(t, "")
	svc := &admin.Service{Store: e.G.Store}
	_, full, err := svc.CreateAdminToken(t.Context(), admin.CLIActor, "e2e")
	if err != nil {
		t.Fatal(err)
	}
	_, readOnly, err := svc.CreateAdminToken(t.Context(), admin.CLIActor, "viewer", admin.ScopeRead)
	if err != nil {
		t.Fatal(err)
	}
	api := apiClient{t, e, full}

	// A policy and an application that uses it.
	a := api.do("POST", "/api/v1/access/policies", `{"id": "alice-only", "decision": "allow", "include": [{"email": {"email": "alice@example.com"}}]}`)
	if a.Status != 201 || a.result(t)["managed_by"] != "api" || a.ETag == "" {
		t.Fatalf("create policy: %d %s (ETag %q)", a.Status, a.Body, a.ETag)
	}
	a = api.do("POST", "/api/v1/access/apps", `{"id": "wiki", "name": "Wiki", "destinations": ["wiki.localhost"], "upstream": "`+
		e.Upstream.URL+`", "policies": [{"id": "alice-only", "precedence": 1}], "aud": "chosen-by-the-client"}`)
	if a.Status != 201 {
		t.Fatalf("create app: %d %s", a.Status, a.Body)
	}
	app := a.result(t)
	if aud, _ := app["aud"].(string); len(aud) != 64 || app["managed_by"] != "api" || app["type"] != "self_hosted" {
		t.Fatalf("created app = %v: want a generated aud, managed_by api and the default type", app)
	}

	// Alice reaches it through the proxy; Bob (allowed on the file's apps) does not.
	b := e.NewBrowser()
	if resp, body := b.Login(t, e.URL("wiki.localhost", "/hello"), "alice@example.com"); resp.StatusCode != 200 || !strings.Contains(body, `"path":"/hello"`) {
		t.Fatalf("alice on the API-created app: %d %s", resp.StatusCode, body)
	}
	bob := e.NewBrowser()
	if resp, _ := bob.Login(t, e.URL("app.localhost", "/"), "bob@example.com"); resp.StatusCode != 200 {
		t.Fatalf("bob on the file's app: %d", resp.StatusCode)
	}
	if resp, _ := bob.Get(t, e.URL("wiki.localhost", "/")); resp.StatusCode != 403 {
		t.Errorf("bob on the API-created app: %d, want 403", resp.StatusCode)
	}

	// A change that fails the file's checks is refused with the field path, and stores nothing.
	a = api.do("POST", "/api/v1/access/apps", `{"id": "clash", "destinations": ["app.localhost"], "upstream": "`+e.Upstream.URL+`", "policies": [{"id": "nope", "precedence": 1}]}`)
	if a.Status != 400 || len(a.Env.Errors) == 0 || !strings.Contains(a.Body, "policies[0]") || !strings.Contains(a.Body, "destinations[0]") {
		t.Errorf("invalid app: %d %s, want 400 naming policies[0] and destinations[0]", a.Status, a.Body)
	}
	if a = api.do("GET", "/api/v1/access/apps/clash", ""); a.Status != 404 {
		t.Errorf("refused app stored: %d", a.Status)
	}

	// File objects are read-only through the API, with the file named.
	a = api.do("PUT", "/api/v1/access/apps/app", `{"name": "Renamed", "destinations": ["app.localhost"], "upstream": "`+e.Upstream.URL+`"}`)
	if a.Status != 409 || !strings.Contains(a.Body, "managed by the configuration file") || !strings.Contains(a.Body, "gatehouse.yaml") {
		t.Errorf("editing a file app: %d %s, want 409 naming the file", a.Status, a.Body)
	}
	if a = api.do("DELETE", "/api/v1/access/policies/example", ""); a.Status != 409 {
		t.Errorf("deleting a file policy: %d %s, want 409", a.Status, a.Body)
	}
	// A policy an application uses cannot be deleted.
	if a = api.do("DELETE", "/api/v1/access/policies/alice-only", ""); a.Status != 409 || !strings.Contains(a.Body, "applications[id=wiki]") {
		t.Errorf("deleting a policy in use: %d %s, want 409 naming the application", a.Status, a.Body)
	}

	// Concurrent edits: the second writer's stale If-Match gets 412.
	got := api.do("GET", "/api/v1/access/apps/wiki", "")
	if got.Status != 200 || got.ETag == "" {
		t.Fatalf("get app: %d ETag %q", got.Status, got.ETag)
	}
	stale := got.ETag
	a = api.do("PATCH", "/api/v1/access/apps/wiki", `{"name": "Wiki 2"}`, "If-Match", stale)
	if a.Status != 200 || a.result(t)["name"] != "Wiki 2" || a.ETag == stale {
		t.Fatalf("patch with the current ETag: %d %s (ETag %s)", a.Status, a.Body, a.ETag)
	}
	a = api.do("PUT", "/api/v1/access/apps/wiki", string(got.Env.Result), "If-Match", stale)
	if a.Status != 412 {
		t.Errorf("put with a stale ETag: %d %s, want 412", a.Status, a.Body)
	}
	if cur := api.do("GET", "/api/v1/access/apps/wiki", ""); cur.result(t)["name"] != "Wiki 2" {
		t.Errorf("the stale write changed the app: %s", cur.Body)
	}

	// A read-only token reads, and cannot write.
	ro := apiClient{t, e, readOnly}
	if a = ro.do("GET", "/api/v1/access/apps?managed_by=api", ""); a.Status != 200 || a.Env.Info == nil || a.Env.Info.TotalCount != 1 {
		t.Errorf("read-only list: %d %s", a.Status, a.Body)
	}
	if a = ro.do("POST", "/api/v1/access/policies", `{"id": "x", "decision": "allow", "include": [{"everyone": {}}]}`); a.Status != 403 {
		t.Errorf("read-only create: %d %s, want 403", a.Status, a.Body)
	}
	if a = ro.do("DELETE", "/api/v1/access/apps/wiki", ""); a.Status != 403 {
		t.Errorf("read-only delete: %d, want 403", a.Status)
	}

	// The audit log has the change with the object before and after.
	a = api.do("GET", "/api/v1/audit?action=application.update&result=success", "")
	var events []struct {
		Actor   string `json:"actor"`
		Details struct {
			Before map[string]any `json:"before"`
			After  map[string]any `json:"after"`
		} `json:"details"`
	}
	if err := json.Unmarshal(a.Env.Result, &events); err != nil || len(events) != 1 {
		t.Fatalf("audit: %d %s", a.Status, a.Body)
	}
	if ev := events[0]; ev.Actor != "e2e" || ev.Details.Before["name"] != "Wiki" || ev.Details.After["name"] != "Wiki 2" {
		t.Errorf("audit event = %+v, want e2e changing Wiki to Wiki 2", ev)
	}

	// Reloading the file: the file drops "other"; the API's app stays and still admits Alice.
	path := filepath.Join(e.Dir, "gatehouse.yaml")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := string(raw)
	i, j := strings.Index(text, "  - id: other"), strings.Index(text, "policies:\n  - {id: example")
	edited := text[:i] + text[j:]
	if err := os.WriteFile(path, []byte(edited), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.G.ApplyFile(t.Context(), f); err != nil {
		t.Fatalf("reload: %v", err)
	}
	if a = api.do("GET", "/api/v1/access/apps/other", ""); a.Status != 404 {
		t.Errorf("app removed from the file: %d, want 404", a.Status)
	}
	if a = api.do("GET", "/api/v1/access/apps/wiki", ""); a.Status != 200 || a.result(t)["managed_by"] != "api" {
		t.Errorf("API app after the reload: %d %s", a.Status, a.Body)
	}
	req, _ := http.NewRequest("GET", e.URL("wiki.localhost", "/again"), nil)
	if resp, _ := b.Do(t, req); resp.StatusCode != 200 {
		t.Errorf("alice on the API app after the reload: %d", resp.StatusCode)
	}

	// A file that declares the API app's id is refused; Gatehouse keeps what it had.
	clash := strings.Replace(edited, "policies:\n  - {id: example", "  - {id: wiki, destinations: [wiki2.localhost], upstream: "+e.Upstream.URL+"}\npolicies:\n  - {id: example", 1)
	if err := os.WriteFile(path, []byte(clash), 0o600); err != nil {
		t.Fatal(err)
	}
	if f, err = config.Load(path); err != nil {
		t.Fatal(err)
	}
	if err := e.G.ApplyFile(t.Context(), f); err == nil || !strings.Contains(err.Error(), "created through the admin API") {
		t.Errorf("reload with a clashing id: %v", err)
	}
	if resp, _ := b.Do(t, req); resp.StatusCode != 200 {
		t.Errorf("alice on the API app after a refused reload: %d", resp.StatusCode)
	}

	// Moving the auth domain needs a restart: a reload that does is refused.
	moved := strings.Replace(edited, "auth_domain: auth.localhost", "auth_domain: login.localhost", 1)
	if err := os.WriteFile(path, []byte(moved), 0o600); err != nil {
		t.Fatal(err)
	}
	if f, err = config.Load(path); err != nil {
		t.Fatal(err)
	}
	if err := e.G.ApplyFile(t.Context(), f); err == nil || !strings.Contains(err.Error(), "next start") {
		t.Errorf("reload moving the auth domain: %v", err)
	}

	// The OpenAPI description is served to any token.
	if a = ro.do("GET", "/api/v1/openapi.json", ""); a.Status != 200 || !strings.Contains(a.Body, `"openapi":"3.1.0"`) {
		t.Errorf("openapi.json: %d %.200s", a.Status, a.Body)
	}
}

// TestAdminAPIServiceTokens: a service token created through the API shows its secret once,
// authenticates at the proxy for a service-auth policy, and stops at once when rotated.
func TestAdminAPIServiceTokens(t *testing.T) {
	e := testenv.Start(t, "")
	_, full, err := (&admin.Service{Store: e.G.Store}).CreateAdminToken(t.Context(), admin.CLIActor, "e2e", "access")
	if err != nil {
		t.Fatal(err)
	}
	api := apiClient{t, e, full}
	a := api.do("POST", "/api/v1/access/service_tokens", `{"name": "CI"}`)
	if a.Status != 201 {
		t.Fatalf("create token: %d %s", a.Status, a.Body)
	}
	tok := a.result(t)
	id, clientID, secret := tok["id"].(string), tok["client_id"].(string), tok["client_secret"].(string)
	if len(secret) != 64 || tok["client_secret_sha256"] != admin.RedactedValue {
		t.Fatalf("created token = %v: want the secret once and the hash redacted", tok)
	}
	if a = api.do("GET", "/api/v1/access/service_tokens/"+id, ""); strings.Contains(a.Body, secret) || strings.Contains(a.Body, "client_secret\"") {
		t.Errorf("GET shows the secret: %s", a.Body)
	}
	for _, body := range []string{
		`{"id": "svc", "decision": "non_identity", "include": [{"service_token": {"token_id": "` + id + `"}}]}`,
	} {
		if a = api.do("POST", "/api/v1/access/policies", body); a.Status != 201 {
			t.Fatalf("create policy: %d %s", a.Status, a.Body)
		}
	}
	if a = api.do("POST", "/api/v1/access/apps", `{"id": "machines", "destinations": ["machines.localhost"], "upstream": "`+e.Upstream.URL+`", "policies": [{"id": "svc", "precedence": 1}]}`); a.Status != 201 {
		t.Fatalf("create app: %d %s", a.Status, a.Body)
	}
	call := func(sec string) int {
		req, _ := http.NewRequest("GET", e.URL("machines.localhost", "/"), nil)
		req.Header.Set("Gatehouse-Client-Id", clientID)
		req.Header.Set("Gatehouse-Client-Secret", sec)
		resp, _ := e.NewBrowser().Do(t, req)
		return resp.StatusCode
	}
	if got := call(secret); got != 200 {
		t.Fatalf("service token at the proxy: %d", got)
	}
	a = api.do("POST", "/api/v1/access/service_tokens/"+id+"/rotate", "")
	newSecret, _ := a.result(t)["client_secret"].(string)
	if a.Status != 200 || len(newSecret) != 64 || newSecret == secret {
		t.Fatalf("rotate: %d %s", a.Status, a.Body)
	}
	if got := call(secret); got == 200 {
		t.Errorf("old secret after rotation: %d", got)
	}
	if got := call(newSecret); got != 200 {
		t.Errorf("new secret after rotation: %d", got)
	}
	// The audit log never holds the secrets.
	a = api.do("GET", "/api/v1/audit?target_type=service_token", "")
	if a.Status != 403 {
		t.Errorf("an access-scoped token read the audit log: %d", a.Status)
	}
	evs, err := (&admin.Service{Store: e.G.Store}).QueryAudit(t.Context(), storeAuditQuery("service_token"))
	if err != nil || len(evs) < 2 {
		t.Fatalf("audit: %v %d", err, len(evs))
	}
	for _, ev := range evs {
		if strings.Contains(string(ev.Details), secret) || strings.Contains(string(ev.Details), newSecret) {
			t.Errorf("audit event %s holds a secret: %s", ev.Action, ev.Details)
		}
	}
}

func storeAuditQuery(targetType string) store.AuditQuery {
	return store.AuditQuery{TargetType: targetType, Limit: 100}
}
