package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/store"
)

// seedDevices stores two devices of the fixture's user and one of bob's.
func seedDevices(t *testing.T, cfgFile string, u *store.User) (bobID string) {
	t.Helper()
	cfg, err := config.Load(cfgFile)
	if err != nil {
		t.Fatal(err)
	}
	st, err := app.OpenStore(t.Context(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	bob, err := st.UpsertUserByEmail(t.Context(), "bob@example.com", store.LastSeen{})
	if err != nil {
		t.Fatal(err)
	}
	devs := st.(store.GatewayDevices)
	for _, d := range []store.GatewayDevice{
		{ID: "11111111-1111-4111-8111-111111111111", UserID: u.ID, Name: "laptop"},
		{ID: "22222222-2222-4222-8222-222222222222", UserID: u.ID, Name: "phone"},
		{ID: "33333333-3333-4333-8333-333333333333", UserID: bob.ID, Name: "bob's desktop"},
	} {
		d.SecretSHA256 = strings.Repeat("0", 64)
		if err := devs.CreateGatewayDevice(t.Context(), &d); err != nil {
			t.Fatal(err)
		}
	}
	return bob.ID
}

func TestDevicesCommands(t *testing.T) {
	cfg, u := adminFixture(t)
	seedDevices(t, cfg, u)

	out := mustRun(t, "devices", "list", "--config", cfg)
	for _, want := range []string{"ID", "LAST SEEN", "11111111-1111-4111-8111-111111111111", "alice@example.com", "laptop", "bob's desktop"} {
		if !strings.Contains(out, want) {
			t.Errorf("devices list lacks %q:\n%s", want, out)
		}
	}
	var list []map[string]any
	if err := json.Unmarshal([]byte(mustRun(t, "devices", "list", "--user", "ALICE@example.com", "--json", "--config", cfg)), &list); err != nil || len(list) != 2 {
		t.Fatalf("devices list --user --json: %v %v", err, list)
	}
	user, _ := list[0]["user"].(map[string]any)
	if list[0]["name"] != "laptop" || user["email"] != "alice@example.com" || user["id"] != u.ID || list[0]["revoked_at"] != nil || list[0]["created"] == nil {
		t.Errorf("device JSON: %v", list[0])
	}
	for _, d := range list {
		for k := range d {
			if strings.Contains(k, "secret") || strings.Contains(k, "sha") {
				t.Errorf("device JSON shows %q", k)
			}
		}
	}

	out = mustRun(t, "devices", "revoke", "11111111-1111-4111-8111-111111111111", "--config", cfg)
	if !strings.Contains(out, "revoked device 11111111-1111-4111-8111-111111111111 (laptop) of alice@example.com") {
		t.Errorf("devices revoke: %s", out)
	}
	var res map[string]any
	if err := json.Unmarshal([]byte(mustRun(t, "devices", "revoke", "--user", "alice@example.com", "--json", "--config", cfg)), &res); err != nil || res["devices_revoked"] != float64(1) {
		t.Errorf("devices revoke --user: %v %v", err, res)
	}
	if err := json.Unmarshal([]byte(mustRun(t, "devices", "list", "--json", "--config", cfg)), &list); err != nil || len(list) != 3 {
		t.Fatal(err, list)
	}
	for _, d := range list {
		if revoked := d["revoked_at"] != nil; revoked != (d["user"].(map[string]any)["email"] == "alice@example.com") {
			t.Errorf("after revoking alice's devices: %v", d)
		}
	}

	for _, args := range [][]string{
		{"devices", "revoke", "--config", cfg},
		{"devices", "revoke", "x", "--user", "alice@example.com", "--config", cfg},
		{"devices", "revoke", "no-such-device", "--config", cfg},
		{"devices", "list", "--user", "nobody@example.com", "--config", cfg},
	} {
		if _, _, err := run(t, args...); err == nil {
			t.Errorf("gatehouse %s succeeded", strings.Join(args, " "))
		}
	}

	// users revoke revokes bob's devices too.
	mustRun(t, "users", "revoke", "bob@example.com", "--config", cfg)
	if err := json.Unmarshal([]byte(mustRun(t, "devices", "list", "--user", "bob@example.com", "--json", "--config", cfg)), &list); err != nil || len(list) != 1 || list[0]["revoked_at"] == nil {
		t.Errorf("bob's devices after users revoke: %v %v", err, list)
	}
	var evs []store.AuditEvent
	if err := json.Unmarshal([]byte(mustRun(t, "audit", "query", "--config", cfg, "--json", "--actor", "cli")), &evs); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range evs {
		got = append(got, e.Action+":"+e.Result)
	}
	want := []string{"user.revoke_sessions:success", "gateway_device.revoke:failure",
		"user.revoke_devices:success", "gateway_device.revoke:success"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("audit log:\n got %v\nwant %v", got, want)
	}
}
