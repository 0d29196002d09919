package admin_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/store"
)

func (f *fixture) post(t *testing.T, path, body string) (int, envelope) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+f.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var env envelope
	if err := json.Unmarshal(raw, &env); err != nil {
		t.Fatalf("POST %s: not JSON: %s", path, raw)
	}
	return resp.StatusCode, env
}

func TestDeviceEndpoints(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	bob, err := f.st.UpsertUserByEmail(ctx, "bob@example.com", store.LastSeen{})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []store.GatewayDevice{
		{ID: "d-a1", UserID: f.user.ID, Name: "laptop"}, {ID: "d-a2", UserID: f.user.ID, Name: "phone"},
		{ID: "d-b1", UserID: bob.ID, Name: "desktop"}, {ID: "d-b2", UserID: bob.ID, Name: "tablet"},
	} {
		d.SecretSHA256 = strings.Repeat("a", 64)
		if err := f.st.CreateGatewayDevice(ctx, &d); err != nil {
			t.Fatal(err)
		}
	}

	var list []map[string]any
	env := f.ok(t, "GET", "/api/v1/devices?per_page=3", &list)
	if len(list) != 3 || env.ResultInfo.TotalCount != 4 || list[0]["id"] != "d-a1" || list[0]["name"] != "laptop" || list[0]["created"] == nil ||
		list[0]["user"].(map[string]any)["email"] != "alice@example.com" || list[0]["user"].(map[string]any)["id"] != f.user.ID {
		t.Fatalf("GET /devices: %v %+v", list, env.ResultInfo)
	}
	if _, leaked := list[0]["secret_sha256"]; leaked {
		t.Error("the device's secret hash is in the answer")
	}
	f.ok(t, "GET", "/api/v1/devices?user=bob@example.com", &list)
	if len(list) != 2 || list[0]["user"].(map[string]any)["email"] != "bob@example.com" {
		t.Fatalf("GET /devices?user=bob: %v", list)
	}
	if status, _ := f.do(t, "GET", "/api/v1/devices?user=nobody@example.com", f.token); status != http.StatusNotFound {
		t.Errorf("unknown user: %d", status)
	}
	if status, _ := f.do(t, "GET", "/api/v1/devices", ""); status != http.StatusUnauthorized {
		t.Errorf("without a token: %d", status)
	}

	var one map[string]any
	f.ok(t, "POST", "/api/v1/devices/d-a1/revoke", &one)
	if one["id"] != "d-a1" || one["revoked_at"] == nil || one["user"].(map[string]any)["email"] != "alice@example.com" {
		t.Errorf("POST /devices/d-a1/revoke: %v", one)
	}
	if status, _ := f.do(t, "POST", "/api/v1/devices/nope/revoke", f.token); status != http.StatusNotFound {
		t.Errorf("revoke unknown: %d", status)
	}

	// Cloudflare's batch: an unknown ID refuses the whole request before anything changes.
	if status, _ := f.post(t, "/api/v1/devices/revoke", `["d-a2","nope"]`); status != http.StatusNotFound {
		t.Errorf("batch with an unknown ID: %d", status)
	}
	if d, _ := f.st.GetGatewayDevice(ctx, "d-a2"); d.Revoked() {
		t.Error("a refused batch revoked a device")
	}
	for _, bad := range []string{`{}`, `[]`, `["a"] ["b"]`, `"d-a2"`} {
		if status, _ := f.post(t, "/api/v1/devices/revoke", bad); status != http.StatusBadRequest {
			t.Errorf("batch body %s: %d, want 400", bad, status)
		}
	}
	if status, env := f.post(t, "/api/v1/devices/revoke", `["d-a2"]`); status != http.StatusOK || env.ResultInfo.Count != 1 {
		t.Errorf("batch: %d %+v", status, env)
	}

	var res map[string]any
	f.ok(t, "POST", "/api/v1/users/bob@example.com/revoke_devices", &res)
	if res["devices_revoked"] != float64(2) || res["id"] != bob.ID {
		t.Errorf("revoke_devices: %v", res)
	}
	all, _ := f.st.ListGatewayDevices(ctx, "")
	for _, d := range all {
		if !d.Revoked() {
			t.Errorf("device %s not revoked", d.ID)
		}
	}
	if f.revoked != 3 {
		t.Errorf("AfterRevoke ran %d times, want 3 (one per successful revocation)", f.revoked)
	}
	evs, err := f.st.ListAuditEvents(ctx, store.AuditQuery{Action: "gateway_device.revoke"})
	if err != nil || len(evs) != 3 || evs[0].ActorType != store.ActorAPIToken || evs[0].Actor != "ci-bot" {
		t.Errorf("audit events: %v %+v", err, evs)
	}
}
