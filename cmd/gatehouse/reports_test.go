package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/store"
)

// TestReportsCommand: reports ai-security and access print the reports of the configured
// store's rollups as tables (golden, with the days relative to today named) and as JSON, record
// the AI report's reading in the audit log, escape control characters from the logs, and
// refuse a bad --since with what it takes.
func TestReportsCommand(t *testing.T) {
	cfgFile, _ := adminFixture(t)
	cfg, err := config.Load(cfgFile)
	if err != nil {
		t.Fatal(err)
	}
	st, err := app.OpenStore(t.Context(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	today := store.UsageDay(time.Now())
	d1, d2 := today.AddDate(0, 0, -1).Add(12*time.Hour), today.AddDate(0, 0, -2).Add(12*time.Hour)
	ctx := t.Context()
	jailbreak := []store.PromptLogTopic{{ID: "intent_jailbreak", Confidence: "high"}}
	err = st.(store.PromptLogs).AppendPromptLogs(ctx, []store.PromptLog{
		{Time: d1, AppID: "1199", UserEmail: "mallory@example.com", PolicyAction: "block", Topics: jailbreak, PayloadEnc: []byte{2}},
		{Time: d1, AppID: "1199", UserEmail: "mallory@example.com", PolicyAction: "redirect", DLPEntries: []string{"credit_card"}, PayloadEnc: []byte{2}},
		{Time: d2, AppID: "1199", UserEmail: "eve\x1b[2J@example.com", PolicyAction: "block", Topics: jailbreak, PayloadEnc: []byte{2}},
		{Time: d2, AppID: "1199", PolicyAction: "", Topics: []store.PromptLogTopic{{ID: "code", Confidence: "low"}}, PayloadEnc: []byte{2}},
		{Time: today.AddDate(0, 0, -10), AppID: "1199", UserEmail: "old@example.com", PolicyAction: "block", Topics: jailbreak, PayloadEnc: []byte{2}},
	})
	if err == nil {
		err = st.(store.MCP).AppendMCPCallLogs(ctx, []store.MCPCallLog{
			{Time: d1, PortalID: "agents", ServerID: "github", Method: "tools/call", Decision: "block"},
			{Time: d1, PortalID: "agents", ServerID: "github", Method: "tools/call", Decision: "allow"},
			{Time: d2, PortalID: "agents", ServerID: "docs", Method: "tools/list", Decision: "allow"},
		})
	}
	if err == nil {
		err = st.(store.GatewayUsage).AddGatewayUsage(ctx, &store.GatewayUsageBatch{
			Rows:  []store.GatewayUsageRow{{Day: today.AddDate(0, 0, -1), AppID: 1199, AppName: "ChatGPT", Status: "unapproved", Action: "allow", Category: "prompt", Requests: 4, BytesUp: 2048}},
			Users: []store.GatewayUsageUser{{Day: today.AddDate(0, 0, -1), AppID: 1199, User: "u1"}},
		})
	}
	for i, e := range []store.AuthEvent{
		{Time: d1, Action: "login", Allowed: true, IdPID: "pin", Email: "alice@example.com"},
		{Time: d1, Action: "login", Allowed: false, Reasons: []string{"country_blocked"}, AppID: "wiki", Email: "eve@example.com"},
		{Time: d2, Action: "login", Allowed: false, Reasons: []string{"no_matching_policy"}, Email: "eve@example.com"},
	} {
		if err == nil {
			e.ID = "ev-" + string(rune('a'+i))
			err = st.AppendAuthEvent(ctx, &e)
		}
	}
	_ = st.Close()
	if err != nil {
		t.Fatal(err)
	}
	// The days relative to today, named (as wide as a date), so that the golden output holds on any day.
	named := func(s string) string {
		return strings.NewReplacer(today.Format(time.DateOnly), "<today-0d>", today.AddDate(0, 0, -1).Format(time.DateOnly), "<today-1d>",
			today.AddDate(0, 0, -2).Format(time.DateOnly), "<today-2d>").Replace(s)
	}
	text := mustRun(t, "reports", "ai-security", "--config", cfgFile, "--since", "3d")
	if strings.Contains(text, "\x1b") {
		t.Errorf("a control character reached the terminal:\n%q", text)
	}
	access := mustRun(t, "reports", "access", "--config", cfgFile, "--since", "3d")
	golden(t, "reports.golden", named("$ gatehouse reports ai-security --since 3d\n"+text+"\n$ gatehouse reports access --since 3d\n"+access))

	var ai admin.AISecurityReport
	if err := json.Unmarshal([]byte(mustRun(t, "reports", "ai-security", "--config", cfgFile, "--json")), &ai); err != nil {
		t.Fatal(err)
	}
	if ai.Prompts != 5 || ai.Blocked != 3 || ai.MCP == nil || ai.MCP.Requests != 3 || len(ai.Apps) != 1 {
		t.Errorf("--json (30 days): %+v", ai)
	}
	var acc admin.AccessReport
	if err := json.Unmarshal([]byte(mustRun(t, "reports", "access", "--config", cfgFile, "--json", "--since", "2d")), &acc); err != nil {
		t.Fatal(err)
	}
	if acc.Allowed != 2 || acc.Denied != 2 || len(acc.Days) != 2 || acc.DeniedByReason["country_blocked"] != 1 {
		t.Errorf("access --json --since 2d: %+v", acc)
	}
	for _, args := range [][]string{{"ai-security", "--since", "last week"}, {"access", "--since", "0d"}} {
		if _, _, err := run(t, append([]string{"reports", "--config", cfgFile}, args...)...); err == nil || !strings.Contains(err.Error(), "30d") {
			t.Errorf("%v: %v", args, err)
		}
	}
	if _, _, err := run(t, "reports", "ai-security", "--config", cfgFile, "--top-users", "0"); err == nil {
		t.Error("--top-users 0 accepted")
	}
	// (The fixture's own sign-ins of today count too: 1 allowed, 1 refused.)
	// Every AI report reading is in the audit log: the text, the JSON and the bad --since.
	out := mustRun(t, "audit", "query", "--config", cfgFile, "--action", admin.ActionReadAISecurityReport, "--json")
	if n := strings.Count(out, admin.ActionReadAISecurityReport); n != 3 {
		t.Errorf("%d audited readings, want 3:\n%s", n, out)
	}
}
