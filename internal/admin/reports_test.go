package admin_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/store"
)

// reportData adds to f's store: gateway usage of ChatGPT today, 5 prompt logs today (2 blocked,
// 1 redirected, 3 risky by mallory, 1 risky by a service token) and one 3 days ago, and 4 MCP
// requests (3 tool calls).
func reportData(t *testing.T, f *fixture) {
	t.Helper()
	ctx := t.Context()
	day := store.UsageDay(f.clockNow)
	if err := f.st.AddGatewayUsage(ctx, &store.GatewayUsageBatch{
		Rows:  []store.GatewayUsageRow{{Day: day, AppID: 1199, AppName: "ChatGPT", Status: "unapproved", Action: "allow", Category: "prompt", Requests: 5, BytesUp: 500}},
		Users: []store.GatewayUsageUser{{Day: day, AppID: 1199, User: "u1"}},
	}); err != nil {
		t.Fatal(err)
	}
	jailbreak := []store.PromptLogTopic{{ID: "intent_jailbreak", Confidence: "high"}}
	prompts := []store.PromptLog{
		{Time: f.clockNow.Add(-time.Minute), UserEmail: "mallory@example.com", PolicyAction: "block", Topics: jailbreak},
		{Time: f.clockNow.Add(-2 * time.Minute), UserEmail: "mallory@example.com", PolicyAction: "block", Topics: jailbreak},
		{Time: f.clockNow.Add(-3 * time.Minute), UserEmail: "mallory@example.com", PolicyAction: "redirect", DLPEntries: []string{"credit_card"}},
		{Time: f.clockNow.Add(-4 * time.Minute), UserEmail: "", PolicyAction: "allow", Topics: []store.PromptLogTopic{{ID: "code", Confidence: "medium"}}},
		{Time: f.clockNow.Add(-5 * time.Minute), UserEmail: "bob@example.com", PolicyAction: "allow", Topics: []store.PromptLogTopic{{ID: "code", Confidence: "low"}}},
		{Time: f.clockNow.Add(-72 * time.Hour), UserEmail: "bob@example.com", PolicyAction: "block", Topics: jailbreak},
	}
	for i := range prompts {
		prompts[i].AppID = "1199"
		prompts[i].PayloadEnc = []byte{2}
	}
	if err := f.st.AppendPromptLogs(ctx, prompts); err != nil {
		t.Fatal(err)
	}
	calls := []store.MCPCallLog{
		{Time: f.clockNow.Add(-time.Minute), PortalID: "p", ServerID: "github", Method: "tools/call", Decision: "block"},
		{Time: f.clockNow.Add(-time.Minute), PortalID: "p", ServerID: "github", Method: "tools/call", Decision: "block"},
		{Time: f.clockNow.Add(-time.Minute), PortalID: "p", ServerID: "github", Method: "tools/call", Decision: "allow"},
		{Time: f.clockNow.Add(-time.Minute), PortalID: "p", ServerID: "github", Method: "tools/list", Decision: "allow"},
	}
	if err := f.st.AppendMCPCallLogs(ctx, calls); err != nil {
		t.Fatal(err)
	}
}

// TestAISecurityReportAPI: the AI security report counts the period's prompts by topic and
// action, names the users with the most risky prompts, lists the AI applications used and the
// MCP tool calls by server and decision, and its reading is audited.
func TestAISecurityReportAPI(t *testing.T) {
	f := newFixture(t)
	reportData(t, f)
	var rep admin.AISecurityReport
	f.ok(t, http.MethodGet, "/api/v1/reports/ai_security?since=2d", &rep)
	day := store.UsageDay(f.clockNow)
	if !rep.Since.Equal(day.AddDate(0, 0, -1)) || rep.Prompts != 5 || rep.Blocked != 2 || rep.Redirected != 1 || rep.PromptsByAction["allow"] != 2 ||
		rep.PromptsByTopic["intent_jailbreak"] != 2 || rep.PromptsByTopic["code"] != 2 {
		t.Errorf("prompts: %+v", rep)
	}
	if len(rep.RiskyUsers) != 2 || rep.RiskyUsers[0] != (store.UserCount{UserEmail: "mallory@example.com", Count: 3}) ||
		rep.RiskyUsers[1] != (store.UserCount{UserEmail: "", Count: 1}) {
		t.Errorf("risky users: %+v", rep.RiskyUsers)
	}
	if len(rep.Apps) != 1 || rep.Apps[0].Name != "ChatGPT" || rep.Apps[0].Prompts != 5 || rep.Apps[0].Users != 1 || rep.Apps[0].Status != "unapproved" {
		t.Errorf("apps: %+v", rep.Apps)
	}
	if rep.MCP == nil || rep.MCP.Requests != 4 || len(rep.MCP.ToolCalls) != 2 ||
		rep.MCP.ToolCalls[0] != (admin.MCPToolCounts{ServerID: "github", Decision: "block", Calls: 2}) {
		t.Errorf("mcp: %+v", rep.MCP)
	}
	// The default period (30 days) counts the older prompt too.
	f.ok(t, http.MethodGet, "/api/v1/reports/ai_security", &rep)
	if rep.Prompts != 6 || rep.Blocked != 3 || !rep.Since.Equal(day.AddDate(0, 0, -29)) {
		t.Errorf("30 days: %d prompts, %d blocked, since %v", rep.Prompts, rep.Blocked, rep.Since)
	}
	f.ok(t, http.MethodGet, "/api/v1/reports/ai_security?top_users=1", &rep)
	if len(rep.RiskyUsers) != 1 {
		t.Errorf("top_users=1: %+v", rep.RiskyUsers)
	}
	evs, err := f.svc.QueryAudit(t.Context(), store.AuditQuery{Action: admin.ActionReadAISecurityReport})
	if err != nil || len(evs) != 3 || evs[0].Actor != "ci-bot" || evs[0].Result != store.AuditSuccess {
		t.Errorf("audit: %+v, %v", evs, err)
	}
}

// TestReportsSince: since takes days, durations and dates, is bounded by the retention, and a
// bad one is a 400 that says what since takes.
func TestReportsSince(t *testing.T) {
	f := newFixture(t)
	day := store.UsageDay(f.clockNow)
	for q, want := range map[string]time.Time{"": day.AddDate(0, 0, -29), "7d": day.AddDate(0, 0, -6), "1d": day,
		"36h": day.AddDate(0, 0, -2), "2029-12-25": time.Date(2029, 12, 25, 0, 0, 0, 0, time.UTC)} {
		for _, path := range []string{"/api/v1/reports/access", "/api/v1/reports/ai_security"} {
			var rep struct {
				Since time.Time `json:"since"`
			}
			f.ok(t, http.MethodGet, path+"?since="+q, &rep)
			if !rep.Since.Equal(want) {
				t.Errorf("%s?since=%s: since %v, want %v", path, q, rep.Since, want)
			}
		}
	}
	f.svc.ReportRetention = 10 * 24 * time.Hour
	var rep admin.AccessReport
	f.ok(t, http.MethodGet, "/api/v1/reports/access?since=90d", &rep)
	if oldest := day.AddDate(0, 0, -10); !rep.Since.Equal(oldest) || len(rep.Days) != 11 {
		t.Errorf("since beyond the retention: %v, %d days; want %v", rep.Since, len(rep.Days), oldest)
	}
	for _, q := range []string{"since=yesterday", "since=0d", "since=-3h", "since=3651d", "since=2026-13-01"} {
		for _, path := range []string{"/api/v1/reports/access", "/api/v1/reports/ai_security"} {
			status, env := f.do(t, http.MethodGet, path+"?"+q, f.token)
			if status != http.StatusBadRequest || len(env.Errors) != 1 || !strings.Contains(env.Errors[0].Message, "since") ||
				!strings.Contains(env.Errors[0].Message, "30d") {
				t.Errorf("%s?%s: %d %+v", path, q, status, env.Errors)
			}
		}
	}
	if status, env := f.do(t, http.MethodGet, "/api/v1/reports/ai_security?top_users=0", f.token); status != http.StatusBadRequest {
		t.Errorf("top_users=0: %d %+v", status, env.Errors)
	}
}

// TestAccessReportAPI: the Access report counts the period's sign-ins, with every day of the
// period and the refusals by reason, application and identity provider.
func TestAccessReportAPI(t *testing.T) {
	f := newFixture(t)
	if err := f.st.AppendAuthEvent(t.Context(), &store.AuthEvent{Time: f.clockNow.Add(-49 * time.Hour), Action: "login", Allowed: false,
		Email: "eve@example.com", Reasons: []string{"country_blocked"}, IdPID: "okta"}); err != nil {
		t.Fatal(err)
	}
	var rep admin.AccessReport
	f.ok(t, http.MethodGet, "/api/v1/reports/access?since=7d", &rep)
	if rep.Allowed != 1 || rep.Denied != 2 || len(rep.Days) != 7 || rep.Days[6].Allowed != 1 || rep.Days[6].Denied != 1 || rep.Days[4].Denied != 1 ||
		rep.DeniedByReason["country_blocked"] != 1 || rep.DeniedByApp["wiki"] != 1 || rep.DeniedByApp[""] != 1 || rep.AllowedByIdP["okta"] != 1 {
		t.Errorf("access report: %+v", rep)
	}
	f.ok(t, http.MethodGet, "/api/v1/reports/access?since=1d", &rep)
	if rep.Allowed != 1 || rep.Denied != 1 || len(rep.Days) != 1 {
		t.Errorf("since 1d: %+v", rep)
	}
}

// TestReportScopes: the AI security report needs the gateway area and shows the MCP calls only
// to a token that may also read the mcp area; the Access report needs the access area.
func TestReportScopes(t *testing.T) {
	f := newFixture(t)
	reportData(t, f)
	token := func(scopes ...string) string {
		_, plain, err := f.svc.CreateAdminToken(t.Context(), admin.CLIActor, strings.Join(scopes, "+"), scopes...)
		if err != nil {
			t.Fatal(err)
		}
		return plain
	}
	for _, tc := range []struct {
		scopes     []string
		ai, access int
		mcp        bool
	}{
		{[]string{"read"}, 200, 200, true},
		{[]string{"gateway:read"}, 200, 403, false},
		{[]string{"gateway:read", "mcp:read"}, 200, 403, true},
		{[]string{"mcp"}, 403, 403, false},
		{[]string{"access:read"}, 403, 200, false},
		{[]string{"audit"}, 403, 403, false},
	} {
		tok := token(tc.scopes...)
		status, env := f.do(t, http.MethodGet, "/api/v1/reports/ai_security", tok)
		if status != tc.ai {
			t.Errorf("%v: ai_security %d, want %d", tc.scopes, status, tc.ai)
		}
		if status == 200 {
			var rep admin.AISecurityReport
			if err := json.Unmarshal(env.Result, &rep); err != nil || (rep.MCP != nil) != tc.mcp || rep.Prompts != 6 {
				t.Errorf("%v: mcp %+v, want shown %v (%v)", tc.scopes, rep.MCP, tc.mcp, err)
			}
		}
		if status, _ := f.do(t, http.MethodGet, "/api/v1/reports/access", tok); status != tc.access {
			t.Errorf("%v: access %d, want %d", tc.scopes, status, tc.access)
		}
	}
}

// TestAISecurityReportRefusedUnaudited: a reading of the AI security report that cannot be
// recorded is refused, and nothing of the report is returned.
func TestAISecurityReportRefusedUnaudited(t *testing.T) {
	f := newFixture(t)
	reportData(t, f)
	// The recorder's store keeps no audit events.
	svc := &admin.Service{Store: f.st, Audit: &audit.Recorder{Store: struct{ store.Store }{f.st}}, Now: func() time.Time { return f.clockNow }}
	rep, err := svc.AISecurityReport(t.Context(), admin.CLIActor, admin.ReportQuery{Since: "7d", MCP: true})
	if err == nil || rep != nil {
		t.Errorf("unaudited reading: %+v, %v", rep, err)
	}
	// Without rollups the reports are not available (the console says so).
	svc = &admin.Service{Store: struct{ store.Store }{f.st}}
	if _, err := svc.AccessReport(t.Context(), admin.ReportQuery{}); !errors.Is(err, admin.ErrNotFound) {
		t.Errorf("no rollups: %v", err)
	}
}
