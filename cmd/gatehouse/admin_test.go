package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/demo"
	"github.com/gatehouse/gatehouse/internal/keys"
	"github.com/gatehouse/gatehouse/internal/store"
)

// adminFixture writes a demo configuration and seeds its store with a user, two sessions and
// a failed and a successful login. It returns the config file and the user.
func adminFixture(t *testing.T) (string, *store.User) {
	t.Helper()
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "gatehouse.yaml")
	if err := os.WriteFile(cfgFile, []byte(demo.Config(dir, "127.0.0.1:8080", "http://127.0.0.1:9")), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := keys.GenerateMasterKeyFile(filepath.Join(dir, "master.key")); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(cfgFile)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	st, err := app.OpenStore(ctx, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := cfg.Apply(ctx, st); err != nil {
		t.Fatal(err)
	}
	u, err := st.UpsertUserByEmail(ctx, "Alice@Example.com", store.LastSeen{IdPID: "pin", IdPType: "onetimepin", IP: "192.0.2.1"})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for _, id := range []string{"sess-1", "sess-2"} {
		if err := st.CreateSession(ctx, &store.Session{ID: id, UserID: u.ID, Email: u.Email, IdPID: "pin", ExpiresAt: now.Add(time.Hour), Identity: []byte("{}")}); err != nil {
			t.Fatal(err)
		}
	}
	for i, allowed := range []bool{false, true} {
		e := &store.AuthEvent{Time: now.Add(time.Duration(i) * time.Second), Action: "login", Allowed: allowed, UserID: u.ID, Email: u.Email, IdPID: "pin", AppID: "demo"}
		if !allowed {
			e.Reasons = []string{"pin-wrong"}
		}
		if err := st.AppendAuthEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	return cfgFile, u
}

func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	out, stderr, err := run(t, args...)
	if err != nil {
		t.Fatalf("gatehouse %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	return out
}

func TestUsersCommands(t *testing.T) {
	cfg, u := adminFixture(t)

	out := mustRun(t, "users", "list", "--config", cfg)
	for _, want := range []string{"EMAIL", u.ID, "alice@example.com", "active", "pin"} {
		if !strings.Contains(out, want) {
			t.Errorf("users list lacks %q:\n%s", want, out)
		}
	}
	var list []map[string]any
	if err := json.Unmarshal([]byte(mustRun(t, "users", "list", "--config", cfg, "--json")), &list); err != nil || len(list) != 1 {
		t.Fatalf("users list --json: %v %v", err, list)
	}
	if list[0]["id"] != u.ID || list[0]["linked_idps"].([]any)[0] != "pin" {
		t.Errorf("users list --json: %v", list[0])
	}

	out = mustRun(t, "users", "show", "ALICE@example.com", "--config", cfg)
	for _, want := range []string{"Active sessions (2)", "sess-1", "sess-2", "Recent logins (2)", "denied", "pin-wrong", "allowed"} {
		if !strings.Contains(out, want) {
			t.Errorf("users show lacks %q:\n%s", want, out)
		}
	}

	mustRun(t, "users", "revoke", u.ID, "--session", "sess-1", "--config", cfg)
	var detail struct {
		ActiveSessions []struct{ Nonce string } `json:"active_sessions"`
		RecentLogins   []store.AuthEvent        `json:"recent_logins"`
	}
	if err := json.Unmarshal([]byte(mustRun(t, "users", "show", u.ID, "--config", cfg, "--json")), &detail); err != nil {
		t.Fatal(err)
	}
	if len(detail.ActiveSessions) != 1 || detail.ActiveSessions[0].Nonce != "sess-2" || len(detail.RecentLogins) != 2 || detail.RecentLogins[0].Allowed != true {
		t.Errorf("after revoking sess-1: %+v", detail)
	}

	if _, _, err := run(t, "users", "revoke", u.ID, "--session", "nope", "--config", cfg); err == nil {
		t.Errorf("revoking an unknown session succeeded")
	}
	if _, _, err := run(t, "users", "show", "bob@example.com", "--config", cfg); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("unknown user: %v", err)
	}

	out = mustRun(t, "users", "revoke", "alice@example.com", "--config", cfg)
	if !strings.Contains(out, "revoked every session") {
		t.Errorf("users revoke: %s", out)
	}
	if err := json.Unmarshal([]byte(mustRun(t, "users", "show", u.ID, "--config", cfg, "--json")), &detail); err != nil || len(detail.ActiveSessions) != 0 {
		t.Errorf("after revoking the user: %v %+v", err, detail)
	}

	mustRun(t, "apps", "revoke-tokens", "demo", "--config", cfg)
	if _, _, err := run(t, "apps", "revoke-tokens", "nope", "--config", cfg); err == nil {
		t.Errorf("revoking an unknown app succeeded")
	}

	// Every mutation is in the audit log with actor "cli", failures included.
	var evs []store.AuditEvent
	if err := json.Unmarshal([]byte(mustRun(t, "audit", "query", "--config", cfg, "--json", "--actor", "cli")), &evs); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range evs {
		got = append(got, e.Action+":"+e.Result)
		if e.ActorType != store.ActorCLI {
			t.Errorf("actor type %q", e.ActorType)
		}
	}
	want := []string{"app.revoke_tokens:failure", "app.revoke_tokens:success", "user.revoke_sessions:success",
		"user.revoke_session:failure", "user.revoke_session:success"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("audit log:\n got %v\nwant %v", got, want)
	}
	out = mustRun(t, "audit", "query", "--config", cfg, "--action", "app.revoke_tokens", "--target", "demo", "--since", "1h", "--limit", "5")
	if !strings.Contains(out, "cli:cli") || !strings.Contains(out, "app:demo") || strings.Count(out, "\n") != 2 {
		t.Errorf("audit query table:\n%s", out)
	}
	if _, _, err := run(t, "audit", "query", "--config", cfg, "--since", "yesterday"); err == nil {
		t.Errorf("bad --since accepted")
	}
}

func TestAdminTokenCommands(t *testing.T) {
	cfg, _ := adminFixture(t)
	var created struct {
		ID, Name, Token string
	}
	if err := json.Unmarshal([]byte(mustRun(t, "admin-tokens", "create", "ci", "--config", cfg, "--json")), &created); err != nil {
		t.Fatal(err)
	}
	if created.Name != "ci" || !strings.HasPrefix(created.Token, "gha_") || len(created.Token) < 40 {
		t.Fatalf("created: %+v", created)
	}
	out := mustRun(t, "admin-tokens", "list", "--config", cfg)
	if !strings.Contains(out, created.ID) || strings.Contains(out, created.Token) {
		t.Errorf("list shows the ID, never the token:\n%s", out)
	}
	mustRun(t, "admin-tokens", "revoke", created.ID, "--config", cfg)
	if _, _, err := run(t, "admin-tokens", "revoke", created.ID, "--config", cfg); err == nil {
		t.Errorf("revoking twice succeeded")
	}
	audit := mustRun(t, "audit", "query", "--config", cfg, "--json")
	if strings.Contains(audit, created.Token) {
		t.Errorf("the audit log holds the token")
	}
	for _, want := range []string{"admin_token.create", "admin_token.delete"} {
		if !strings.Contains(audit, want) {
			t.Errorf("audit log lacks %s", want)
		}
	}
	if _, _, err := run(t, "admin-tokens", "create", " ", "--config", cfg); err == nil {
		t.Errorf("empty name accepted")
	}

	// Scopes: repeatable and comma-separated, sorted; an unknown one is refused.
	var scoped struct {
		ID     string
		Scopes []string
	}
	if err := json.Unmarshal([]byte(mustRun(t, "admin-tokens", "create", "auditor", "--scope", "audit,access:read", "--scope", "read", "--config", cfg, "--json")), &scoped); err != nil {
		t.Fatal(err)
	}
	if strings.Join(scoped.Scopes, " ") != "access:read audit read" {
		t.Errorf("scopes = %v, want access:read audit read", scoped.Scopes)
	}
	if out := mustRun(t, "admin-tokens", "list", "--config", cfg); !strings.Contains(out, "access:read,audit,read") {
		t.Errorf("list does not show the scopes:\n%s", out)
	}
	if _, _, err := run(t, "admin-tokens", "create", "x", "--scope", "root", "--config", cfg); err == nil {
		t.Errorf("unknown scope accepted")
	}
	if err := json.Unmarshal([]byte(mustRun(t, "admin-tokens", "create", "full", "--config", cfg, "--json")), &scoped); err != nil {
		t.Fatal(err)
	}
	if strings.Join(scoped.Scopes, " ") != "all" {
		t.Errorf("default scopes = %v, want all", scoped.Scopes)
	}
}
