package app_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/scim"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/testenv"
	"github.com/gatehouse/gatehouse/internal/wire"
)

const scimConfig = `
organization:
  name: Test Org
  auth_domain: auth.localhost
identity_providers:
  - id: pin
    name: E-mail PIN
    type: onetimepin
    scim_config: {enabled: true, user_deprovision: true, identity_update_behavior: automatic}
applications:
  - id: app
    name: Test App
    destinations: [app.localhost]
    upstream: UPSTREAM
    policies: [{ref: example, precedence: 1}]
  - id: eng
    name: Engineering wiki
    destinations: [eng.localhost]
    upstream: UPSTREAM
    policies: [{ref: engineers, precedence: 1}]
policies:
  - {id: example, decision: allow, include: [{email_domain: {domain: example.com}}]}
  - {id: engineers, decision: allow, include: [{okta: {name: Engineers, identity_provider_id: pin}}]}
`

// scimCall sends one SCIM request with the IdP's bearer secret and decodes the JSON answer.
func scimCall(t *testing.T, e *testenv.Env, secret, method, path, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, e.G.SCIM.BaseURL("pin")+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+secret)
	req.Header.Set("Content-Type", "application/scim+json")
	resp, raw := e.NewBrowser().Do(t, req)
	var out map[string]any
	if raw != "" {
		if err := json.Unmarshal([]byte(raw), &out); err != nil {
			t.Fatalf("%s %s: answer is not JSON: %v\n%s", method, path, err, raw)
		}
	}
	return resp.StatusCode, out
}

// TestSCIMDeactivationEndsSessions: a user logged in through the proxy is deactivated over SCIM;
// the very next request with the old cookie is refused, and so is a new login, until SCIM
// reactivates the user.
func TestSCIMDeactivationEndsSessions(t *testing.T) {
	e := testenv.Start(t, scimConfig)
	secret, err := scim.RotateSecret(t.Context(), e.G.Store, "pin")
	if err != nil {
		t.Fatal(err)
	}
	b := loggedIn(t, e)

	status, res := scimCall(t, e, secret, http.MethodPost, "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],
		"userName":"alice@example.com","externalId":"00u1","name":{"givenName":"Alice","familyName":"Liddell"},
		"emails":[{"primary":true,"value":"alice@example.com","type":"work"}],"active":true}`)
	if status != http.StatusCreated {
		t.Fatalf("POST /Users: %d %v", status, res)
	}
	id, _ := res["id"].(string)
	status, res = scimCall(t, e, secret, http.MethodGet, "/Users?filter="+url.QueryEscape(`userName eq "ALICE@example.com"`), "")
	if status != http.StatusOK || res["totalResults"] != float64(1) {
		t.Fatalf("filtered list: %d %v", status, res)
	}

	// Before the group push, the group-gated app refuses the user.
	if resp, _ := b.Get(t, e.URL("eng.localhost", "/")); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("group-gated app before the SCIM group push: %d", resp.StatusCode)
	}

	// identity_update_behavior automatic: SCIM group membership joins the identity's groups.
	status, res = scimCall(t, e, secret, http.MethodPost, "/Groups",
		`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Engineers","members":[{"value":"`+id+`"}]}`)
	if status != http.StatusCreated {
		t.Fatalf("POST /Groups: %d %v", status, res)
	}
	resp, body := b.Get(t, e.URL("app.localhost", e.G.Snapshots.Load().Profile.Path(wire.EndpointGetIdentity)))
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"Engineers"`) {
		t.Fatalf("get-identity after SCIM group push: %d %s", resp.StatusCode, body)
	}
	// ... and the okta group selector admits the user to the group-gated app.
	if resp, body := b.Get(t, e.URL("eng.localhost", "/")); resp.StatusCode != http.StatusOK {
		t.Fatalf("group-gated app after the SCIM group push: %d %s", resp.StatusCode, body)
	}

	// Still signed in.
	resp, body = b.Get(t, e.URL("app.localhost", "/before"))
	if resp.StatusCode != http.StatusOK || decodeUpstream(t, body).Path != "/before" {
		t.Fatalf("before deactivation: %d %s", resp.StatusCode, body)
	}

	// Okta deactivation: PATCH replace active=false.
	status, res = scimCall(t, e, secret, http.MethodPatch, "/Users/"+id,
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":false}}]}`)
	if status != http.StatusOK || res["active"] != false {
		t.Fatalf("PATCH active=false: %d %v", status, res)
	}
	upstreamHits := e.Upstream.Seen()
	resp, _ = b.Get(t, e.URL("app.localhost", "/after"))
	if resp.Request.URL.Host == "app.localhost:"+e.Port && e.Upstream.Seen() != upstreamHits {
		t.Fatalf("the old cookie still reaches the upstream after deactivation (status %d at %s)", resp.StatusCode, resp.Request.URL)
	}
	if seen := e.Upstream.Seen(); seen != nil && seen.URL.Path == "/after" {
		t.Fatalf("upstream saw /after: the deactivated user's session still works")
	}
	// A new login is refused too.
	resp, body = e.NewBrowser().Login(t, e.URL("app.localhost", "/again"), "alice@example.com")
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "deactivated") {
		t.Fatalf("login of a deactivated user: %d\n%s", resp.StatusCode, body)
	}

	// Reactivation lets the user in again.
	status, res = scimCall(t, e, secret, http.MethodPatch, "/Users/"+id,
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"active","value":"True"}]}`)
	if status != http.StatusOK || res["active"] != true {
		t.Fatalf("PATCH active=True: %d %v", status, res)
	}
	// Token times have one-second resolution: a token issued in the second of the revocation
	// counts as issued before it (as Cloudflare's "cannot log in again for up to a minute").
	e.Clock.Advance(2 * time.Second)
	resp, body = e.NewBrowser().Login(t, e.URL("app.localhost", "/back"), "alice@example.com")
	if resp.StatusCode != http.StatusOK || decodeUpstream(t, body).Path != "/back" {
		t.Fatalf("login after reactivation: %d\n%s", resp.StatusCode, body)
	}
	// SCIM writes and the configuration applied at start are in the audit log.
	audit, err := e.G.Store.(store.AuditLog).ListAuditEvents(t.Context(), store.AuditQuery{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	actions := map[string]bool{}
	for _, ev := range audit {
		actions[ev.Action] = true
	}
	for _, want := range []string{"config.apply", "scim.user.post", "scim.user.patch", "scim.group.post"} {
		if !actions[want] {
			t.Errorf("audit log lacks %s: %v", want, actions)
		}
	}
	if !strings.Contains(e.Logs.String(), `"msg":"scim change"`) {
		t.Errorf("SCIM changes are not logged")
	}
	if strings.Contains(e.Logs.String(), secret) {
		t.Errorf("the SCIM secret appears in the log")
	}
}
