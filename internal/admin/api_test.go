package admin_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
)

type fixture struct {
	st       *sqlstore.Store
	srv      *httptest.Server
	token    string
	user     *store.User
	revoked  int
	clockNow time.Time
	svc      *admin.Service
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := t.Context()
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	st, err := sqlstore.Open(ctx, "sqlite", filepath.Join(t.TempDir(), "db"), sqlstore.WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if _, err := st.UpdateConfig(ctx, func(c *store.Config) error {
		c.Applications = []store.Application{{ID: "wiki", Name: "Wiki", Type: "self_hosted"}}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	f := &fixture{st: st, clockNow: now}
	f.user, err = st.UpsertUserByEmail(ctx, "alice@example.com", store.LastSeen{IdPID: "okta", IdPType: "saml", IP: "192.0.2.1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"s1", "s2"} {
		if err := st.CreateSession(ctx, &store.Session{ID: id, UserID: f.user.ID, Email: f.user.Email, IdPID: "okta", ExpiresAt: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	for i, allowed := range []bool{false, true} {
		if err := st.AppendAuthEvent(ctx, &store.AuthEvent{Time: now.Add(time.Duration(i-10) * time.Minute), Action: "login", Allowed: allowed,
			UserID: f.user.ID, Email: f.user.Email, IdPID: "okta", IdPType: "saml", AppID: "wiki", AppDomain: "wiki.example.com",
			IP: "192.0.2.1", Country: "DE", RequestID: "ray-" + string(rune('a'+i))}); err != nil {
			t.Fatal(err)
		}
	}
	gw, err := app.NewGatewayAdmin(ctx, st, nil, func() time.Time { return now }, nil)
	if err != nil {
		t.Fatal(err)
	}
	svc := &admin.Service{Store: st, Audit: &audit.Recorder{Store: st, Now: func() time.Time { return now }},
		Now: func() time.Time { return now }, AfterRevoke: func(context.Context) { f.revoked++ }, Gateway: gw}
	tok, plain, err := svc.CreateAdminToken(ctx, admin.CLIActor, "ci-bot")
	if err != nil || tok.Name != "ci-bot" {
		t.Fatal(err)
	}
	f.token = plain
	f.svc = svc
	f.srv = httptest.NewServer(admin.NewAPI(svc, admin.APIOptions{}))
	t.Cleanup(f.srv.Close)
	return f
}

type envelope struct {
	Success    bool              `json:"success"`
	Errors     []admin.Message   `json:"errors"`
	Messages   []admin.Message   `json:"messages"`
	Result     json.RawMessage   `json:"result"`
	ResultInfo *admin.ResultInfo `json:"result_info"`
}

func (f *fixture) do(t *testing.T, method, path, token string) (int, envelope) {
	t.Helper()
	req, _ := http.NewRequest(method, f.srv.URL+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s %s: Content-Type %q", method, path, ct)
	}
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		t.Fatalf("%s %s: not JSON: %s", method, path, body)
	}
	// Every answer has the full envelope shape.
	var raw map[string]json.RawMessage
	_ = json.Unmarshal(body, &raw)
	for _, k := range []string{"success", "errors", "messages", "result"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("%s %s: envelope lacks %q: %s", method, path, k, body)
		}
	}
	if env.Success != (resp.StatusCode == 200) || env.Success == (len(env.Errors) > 0) {
		t.Errorf("%s %s: status %d with envelope %s", method, path, resp.StatusCode, body)
	}
	if strings.Contains(string(body), "sqlstore") || strings.Contains(string(body), f.token) {
		t.Errorf("%s %s: answer leaks internals: %s", method, path, body)
	}
	return resp.StatusCode, env
}

func (f *fixture) ok(t *testing.T, method, path string, into any) envelope {
	t.Helper()
	status, env := f.do(t, method, path, f.token)
	if status != 200 {
		t.Fatalf("%s %s: %d %+v", method, path, status, env.Errors)
	}
	if into != nil {
		if err := json.Unmarshal(env.Result, into); err != nil {
			t.Fatalf("%s %s: result: %v", method, path, err)
		}
	}
	return env
}

func TestAuthentication(t *testing.T) {
	f := newFixture(t)
	unknown := admin.AdminTokenPrefix + strings.Repeat("A", len(f.token)-len(admin.AdminTokenPrefix))
	cases := []struct{ name, header, reason string }{
		{"none", "", "missing-token"},
		{"wrong scheme", "Basic " + f.token, "malformed-authorization"},
		{"no scheme", f.token, "malformed-authorization"},
		{"empty", "Bearer ", "malformed-authorization"},
		{"not a Gatehouse token", "Bearer gha_nope", "malformed-token"},
		{"another system's token", "Bearer ghp_" + f.token[4:], "malformed-token"},
		{"cut short", "Bearer " + f.token[:len(f.token)-1], "malformed-token"},
		{"unknown", "Bearer " + unknown, "unknown-token"},
	}
	var first []byte
	for _, tc := range cases {
		req, _ := http.NewRequest("GET", f.srv.URL+"/api/v1/users", nil)
		if tc.header != "" {
			req.Header.Set("Authorization", tc.header)
		}
		resp, err := f.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 401 || !strings.Contains(string(body), `"success":false`) || !strings.Contains(string(body), "10000") {
			t.Errorf("%s: %d %s", tc.name, resp.StatusCode, body)
		}
		// Whatever the reason, the answer is the same: it does not tell which tokens exist.
		if first == nil {
			first = body
		} else if string(body) != string(first) || resp.Header.Get("WWW-Authenticate") != `Bearer realm="gatehouse-admin"` {
			t.Errorf("%s: answer %s differs from %s", tc.name, body, first)
		}
	}
	f.ok(t, "GET", "/api/v1/users", nil)
	toks, _ := f.st.ListAdminTokens(t.Context())
	if len(toks) != 1 || toks[0].LastUsedAt.IsZero() || toks[0].TokenHash == f.token || strings.Contains(toks[0].TokenHash, f.token) {
		t.Errorf("stored token: %+v", toks)
	}
	// A deleted token stops working at once.
	if err := f.st.DeleteAdminToken(t.Context(), toks[0].ID); err != nil {
		t.Fatal(err)
	}
	if status, _ := f.do(t, "GET", "/api/v1/users", f.token); status != 401 {
		t.Errorf("deleted token: %d", status)
	}
	cases = append(cases, struct{ name, header, reason string }{"deleted", "", "unknown-token"})
	// Each refusal is audited with its precise reason (newest first).
	evs, _ := f.st.ListAuditEvents(t.Context(), store.AuditQuery{Action: "admin_api.authenticate"})
	if len(evs) != len(cases) {
		t.Fatalf("%d failed authentications in the audit log, want %d: %+v", len(evs), len(cases), evs)
	}
	for i, tc := range cases {
		ev := evs[len(evs)-1-i]
		if ev.Result != store.AuditFailure || ev.IP != "127.0.0.1" || len(ev.Reasons) != 1 || ev.Reasons[0] != tc.reason {
			t.Errorf("%s: audit event %+v, want reason %s", tc.name, ev, tc.reason)
		}
		if strings.Contains(string(ev.Details), f.token[4:]) {
			t.Errorf("%s: the audit event holds the token: %s", tc.name, ev.Details)
		}
	}
}

func TestEndpoints(t *testing.T) {
	f := newFixture(t)
	u := f.user.ID

	var users []admin.UserSummary
	env := f.ok(t, "GET", "/api/v1/users?per_page=10", &users)
	if len(users) != 1 || users[0].ID != u || users[0].LastSeen.IdPID != "okta" || fmt.Sprint(users[0].LinkedIdPs) != "[okta]" {
		t.Errorf("users: %+v", users)
	}
	if env.ResultInfo == nil || env.ResultInfo.TotalCount != 1 || env.ResultInfo.Page != 1 || env.ResultInfo.PerPage != 10 {
		t.Errorf("result_info: %+v", env.ResultInfo)
	}
	f.ok(t, "GET", "/api/v1/users?email=nobody@example.com", &users)
	if len(users) != 0 {
		t.Errorf("email filter: %+v", users)
	}

	var detail admin.UserDetail
	f.ok(t, "GET", "/api/v1/users/"+u, &detail)
	if len(detail.ActiveSessions) != 2 || len(detail.RecentLogins) != 2 || detail.RecentLogins[0].Allowed != true || detail.RecentLogins[1].Allowed {
		t.Errorf("user detail: %+v", detail)
	}
	f.ok(t, "GET", "/api/v1/users/alice@example.com", &detail)

	var sessions []admin.Session
	f.ok(t, "GET", "/api/v1/users/"+u+"/active_sessions", &sessions)
	if len(sessions) != 2 {
		t.Errorf("sessions: %+v", sessions)
	}

	f.ok(t, "DELETE", "/api/v1/users/"+u+"/active_sessions/s1", nil)
	f.ok(t, "GET", "/api/v1/users/"+u+"/active_sessions", &sessions)
	if len(sessions) != 1 || sessions[0].ID != "s2" {
		t.Errorf("after DELETE s1: %+v", sessions)
	}
	f.ok(t, "POST", "/api/v1/users/"+u+"/revoke", nil)
	f.ok(t, "GET", "/api/v1/users/"+u+"/active_sessions", &sessions)
	rv, _ := f.st.Revocations(t.Context())
	if len(sessions) != 0 || rv.UserNotBefore[u].IsZero() {
		t.Errorf("after revoke: %+v %+v", sessions, rv)
	}
	f.ok(t, "POST", "/api/v1/apps/wiki/revoke_tokens", nil)
	if rv, _ = f.st.Revocations(t.Context()); rv.AppNotBefore["wiki"].IsZero() {
		t.Errorf("app not revoked: %+v", rv)
	}
	if f.revoked != 3 {
		t.Errorf("AfterRevoke ran %d times, want 3", f.revoked)
	}

	var reqs []map[string]any
	f.ok(t, "GET", "/api/v1/logs/access_requests?direction=asc", &reqs)
	if len(reqs) != 2 || reqs[0]["allowed"] != false || reqs[1]["user_email"] != "alice@example.com" || reqs[1]["connection"] != "saml" ||
		reqs[1]["app_uid"] != "wiki" || reqs[1]["ip_address"] != "192.0.2.1" || reqs[1]["ray_id"] != "ray-b" || reqs[1]["app_domain"] != "wiki.example.com" {
		t.Errorf("access requests: %+v", reqs)
	}
	f.ok(t, "GET", "/api/v1/logs/access_requests?limit=1&email=ALICE@example.com", &reqs)
	if len(reqs) != 1 || reqs[0]["allowed"] != true {
		t.Errorf("limit 1: %+v", reqs)
	}

	var evs []store.AuditEvent
	f.ok(t, "GET", "/api/v1/audit?actor=ci-bot&result=success&action=user.revoke_session", &evs)
	if len(evs) != 1 || evs[0].ActorType != store.ActorAPIToken || evs[0].TargetID != u || evs[0].IP != "127.0.0.1" ||
		!strings.Contains(string(evs[0].Details), `"s1"`) {
		t.Errorf("audit of the session revocation: %+v", evs)
	}
	env = f.ok(t, "GET", "/api/v1/audit?actor=ci-bot&per_page=2&page=2", &evs)
	if len(evs) != 2 || env.ResultInfo.Page != 2 || env.ResultInfo.Count != 2 {
		t.Errorf("audit page 2: %+v %+v", evs, env.ResultInfo)
	}
	since := f.clockNow.Add(-time.Minute).Format(time.RFC3339)
	f.ok(t, "GET", "/api/v1/audit?target_type=app&since="+since, &evs)
	if len(evs) != 1 || evs[0].Action != admin.ActionRevokeAppTokens {
		t.Errorf("audit by target type: %+v", evs)
	}
}

func TestBadInput(t *testing.T) {
	f := newFixture(t)
	u := f.user.ID
	for _, tc := range []struct {
		method, path string
		status       int
	}{
		{"GET", "/api/v1/users/nobody", 404},
		{"GET", "/api/v1/users/nobody@example.com/active_sessions", 404},
		{"POST", "/api/v1/users/nobody/revoke", 404},
		{"DELETE", "/api/v1/users/" + u + "/active_sessions/nope", 404},
		{"POST", "/api/v1/apps/nope/revoke_tokens", 404},
		{"GET", "/api/v1/nothing", 404},
		{"GET", "/api/v1/users?per_page=0", 400},
		{"GET", "/api/v1/users?page=x", 400},
		{"GET", "/api/v1/audit?since=yesterday", 400},
		{"GET", "/api/v1/audit?since=2030-01-02T00:00:00Z&until=2030-01-01T00:00:00Z", 400},
		{"GET", "/api/v1/audit?per_page=5000", 400},
		{"GET", "/api/v1/logs/access_requests?direction=up", 400},
		{"GET", "/api/v1/logs/access_requests?limit=-1", 400},
	} {
		status, env := f.do(t, tc.method, tc.path, f.token)
		if status != tc.status || len(env.Errors) != 1 || env.Errors[0].Message == "" {
			t.Errorf("%s %s: %d %+v, want %d", tc.method, tc.path, status, env.Errors, tc.status)
		}
	}
	// Another user's session cannot be revoked through this user.
	other, _ := f.st.UpsertUserByEmail(t.Context(), "bob@example.com", store.LastSeen{})
	if status, _ := f.do(t, "DELETE", "/api/v1/users/"+other.ID+"/active_sessions/s1", f.token); status != 404 {
		t.Errorf("revoking alice's session through bob: %d", status)
	}
	if ss, _ := f.st.GetSession(t.Context(), "s1"); !ss.RevokedAt.IsZero() {
		t.Errorf("session revoked through another user")
	}
	evs, _ := f.st.ListAuditEvents(t.Context(), store.AuditQuery{Result: store.AuditFailure, Action: admin.ActionRevokeSession})
	if len(evs) != 2 || evs[0].Reasons[0] != "not-found" {
		t.Errorf("failed revocations in the audit log: %+v", evs)
	}
}

// TestFailedAuthenticationIsBounded: unauthenticated clients cannot fill the audit log; past the
// per-IP limit they get 429 and nothing more is recorded.
func TestFailedAuthenticationIsBounded(t *testing.T) {
	f := newFixture(t)
	for i := 0; i < 30; i++ {
		if status, _ := f.do(t, http.MethodGet, "/api/v1/users", "wrong"); status != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d", i, status)
		}
	}
	if status, _ := f.do(t, http.MethodGet, "/api/v1/users", "wrong"); status != http.StatusTooManyRequests {
		t.Fatalf("attempt 31: %d, want 429", status)
	}
	events, err := f.st.ListAuditEvents(t.Context(), store.AuditQuery{Action: "admin_api.authenticate", Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 30 {
		t.Errorf("%d failed authentications recorded, want 30", len(events))
	}
}
