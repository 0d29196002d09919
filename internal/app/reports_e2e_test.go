package app_test

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestReportsSameEverywhere: on a running Gatehouse with prompt logs, MCP calls and real
// sign-ins (allowed and refused), the AI security and Access reports read through the admin API,
// the CLI's administration (what gatehouse reports runs) and the console show the same numbers,
// and each reading of the AI report is audited with its reader; on SQLite and on PostgreSQL.
func TestReportsSameEverywhere(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testReportsSameEverywhere(t, "") })
	t.Run("postgres", func(t *testing.T) {
		testReportsSameEverywhere(t, `storage: {driver: postgres, dsn: "`+testenv.PostgresDSN(t)+`"}`)
	})
}

func testReportsSameEverywhere(t *testing.T, storage string) {
	e := testenv.StartCluster(t, 1, consoleConfig, storage).Replicas[0]
	ctx := t.Context()
	// Sign-ins: alice is allowed at the console; bob signs in at the app and is refused at the
	// console.
	alice, resp, _ := consoleLogin(t, e, "alice@example.com")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("alice at the console: %d", resp.StatusCode)
	}
	bob := e.NewBrowser()
	if resp, _ := bob.Login(t, e.URL("app.localhost", "/"), "bob@example.com"); resp.StatusCode != http.StatusOK {
		t.Fatalf("bob's login: %d", resp.StatusCode)
	}
	if resp, _ := bob.Get(t, e.URL("auth.localhost", consoleRoot)); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("bob at the console: %d", resp.StatusCode)
	}
	now := time.Now()
	jailbreak := []store.PromptLogTopic{{ID: "intent_jailbreak", Confidence: "high"}}
	var prompts []store.PromptLog
	for i := range 7 {
		l := store.PromptLog{Time: now.Add(-time.Duration(i) * time.Minute), AppID: "1199", UserEmail: "mallory@example.com",
			PolicyAction: []string{"block", "redirect", "allow"}[i%3], PayloadEnc: []byte{2}}
		if i%2 == 0 {
			l.Topics = jailbreak
		}
		prompts = append(prompts, l)
	}
	if err := e.G.Store.(store.PromptLogs).AppendPromptLogs(ctx, prompts); err != nil {
		t.Fatal(err)
	}
	var calls []store.MCPCallLog
	for i := range 5 {
		calls = append(calls, store.MCPCallLog{Time: now.Add(-time.Duration(i) * time.Minute), PortalID: "agents", ServerID: "github",
			Method: "tools/call", Decision: []string{"allow", "block"}[i%2]})
	}
	if err := e.G.Store.(store.MCP).AppendMCPCallLogs(ctx, calls); err != nil {
		t.Fatal(err)
	}
	_, token, err := (&admin.Service{Store: e.G.Store}).CreateAdminToken(ctx, admin.CLIActor, "reports-e2e", admin.ScopeRead)
	if err != nil {
		t.Fatal(err)
	}
	api := func(path string, into any) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, e.URL("auth.localhost", path), nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, body := e.NewBrowser().Do(t, req)
		var env struct {
			Result json.RawMessage `json:"result"`
		}
		if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &env) != nil || json.Unmarshal(env.Result, into) != nil {
			t.Fatalf("%s: %d %s", path, resp.StatusCode, body)
		}
	}

	var ai admin.AISecurityReport
	api("/api/v1/reports/ai_security?since=7d", &ai)
	if ai.Prompts != 7 || ai.Blocked != 3 || ai.Redirected != 2 || ai.PromptsByTopic["intent_jailbreak"] != 4 ||
		len(ai.RiskyUsers) != 1 || ai.RiskyUsers[0].Count != 4 || ai.MCP == nil || ai.MCP.Requests != 5 || len(ai.MCP.ToolCalls) != 2 {
		t.Errorf("API AI report: %+v", ai)
	}
	var acc admin.AccessReport
	api("/api/v1/reports/access?since=7d", &acc)
	if acc.Allowed < 1 || acc.Denied < 1 || len(acc.Days) != 7 || acc.DeniedByApp["console"] < 1 {
		t.Errorf("API Access report: %+v", acc)
	}

	// The CLI's administration on the same configuration.
	cfg, err := config.Load(filepath.Join(e.Dir, "gatehouse.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cli, err := app.OpenAdmin(ctx, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	cliAI, err := cli.AISecurityReport(ctx, admin.CLIActor, admin.ReportQuery{Since: "7d", MCP: true})
	if err != nil {
		t.Fatal(err)
	}
	cliAcc, err := cli.AccessReport(ctx, admin.ReportQuery{Since: "7d"})
	if err != nil {
		t.Fatal(err)
	}
	if a, b := mustJSON(t, ai), mustJSON(t, cliAI); a != b {
		t.Errorf("AI report: API %s, CLI %s", a, b)
	}
	if a, b := mustJSON(t, acc), mustJSON(t, cliAcc); a != b {
		t.Errorf("Access report: API %s, CLI %s", a, b)
	}

	// The console's pages.
	_, body := alice.Get(t, e.URL("auth.localhost", consoleRoot+"reports/ai?since=7d"))
	if want := strconv.FormatInt(ai.Prompts, 10) + " captured prompts and " + strconv.FormatInt(ai.MCP.Requests, 10) + " MCP requests"; !strings.Contains(body, want) ||
		!strings.Contains(body, "mallory@example.com") {
		t.Errorf("console AI report lacks %q:\n%s", want, body)
	}
	_, body = alice.Get(t, e.URL("auth.localhost", consoleRoot+"reports/access?since=7d"))
	want := regexp.MustCompile(`(\d+) allowed and (\d+) refused`).FindStringSubmatch(body)
	if want == nil || want[1] != strconv.FormatInt(acc.Allowed, 10) || want[2] != strconv.FormatInt(acc.Denied, 10) {
		t.Errorf("console Access report %v, API %d allowed %d refused", want, acc.Allowed, acc.Denied)
	}

	// Each AI report reading is audited with its reader: the token, the CLI, alice.
	evs, err := cli.QueryAudit(ctx, store.AuditQuery{Action: admin.ActionReadAISecurityReport})
	if err != nil {
		t.Fatal(err)
	}
	actors := map[string]bool{}
	for _, ev := range evs {
		actors[ev.Actor] = true
	}
	if len(evs) != 3 || !actors["reports-e2e"] || !actors["cli"] || !actors["alice@example.com"] {
		t.Errorf("audited readings: %+v", evs)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
