package main

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/store"
)

// TestGatewayAppsCommands lists the library, sets review statuses as an administrator would and
// checks that the configuration's gateway.app_reviews wins.
func TestGatewayAppsCommands(t *testing.T) {
	cfgFile, _ := adminFixture(t)
	b, err := os.ReadFile(cfgFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfgFile, append(b, "gateway:\n  app_reviews:\n    ChatGPT: approved\n"...), 0o600); err != nil {
		t.Fatal(err)
	}

	var apps []map[string]any
	if err := json.Unmarshal([]byte(mustRun(t, "gateway", "apps", "list", "--ai", "--json", "--config", cfgFile)), &apps); err != nil || len(apps) < 60 {
		t.Fatalf("apps list --ai --json: %v, %d apps", err, len(apps))
	}
	table := mustRun(t, "gateway", "apps", "list", "--status", "approved", "--config", cfgFile)
	if !strings.Contains(table, "ChatGPT") || !strings.Contains(table, "approved (config)") || strings.Count(table, "\n") != 2 {
		t.Errorf("apps list --status approved:\n%s", table)
	}

	out := mustRun(t, "gateway", "apps", "review", "Claude", "90005", "--status", "in_review", "--config", cfgFile)
	if !strings.Contains(out, "Claude (90003)") || !strings.Contains(out, "unreviewed -> in review") || !strings.Contains(out, "Gemini") {
		t.Errorf("apps review printed:\n%s", out)
	}
	if out := mustRun(t, "gateway", "apps", "review", "Claude", "--status", "in review", "--config", cfgFile); !strings.Contains(out, "nothing changed") {
		t.Errorf("reviewing again printed:\n%s", out)
	}
	show := mustRun(t, "gateway", "apps", "show", "claude", "--config", cfgFile)
	for _, want := range []string{"review status:", "in review (store, set by cli", "claude.ai", "control:", "prompt", "posture:", "gen_ai:"} {
		if !strings.Contains(show, want) {
			t.Errorf("apps show lacks %q:\n%s", want, show)
		}
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"Claude", "ChatGPT", "--status", "unapproved"}, "gateway.app_reviews"},
		{[]string{"Claud", "--status", "unapproved"}, `did you mean "Claude"`},
		{[]string{"Claude", "--status", "maybe"}, "unknown review status"},
		{[]string{"Claude"}, "--status is required"},
	} {
		_, _, err := run(t, append(append([]string{"gateway", "apps", "review"}, tc.args...), "--config", cfgFile)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("apps review %v: %v; want an error mentioning %q", tc.args, err, tc.want)
		}
	}
	if _, _, err := run(t, "gateway", "apps", "show", "nosuchapp", "--config", cfgFile); err == nil {
		t.Error("apps show nosuchapp succeeded")
	}
	if out := mustRun(t, "gateway", "apps", "show", "Claude", "--json", "--config", cfgFile); !strings.Contains(out, `"review_status": "in review"`) {
		t.Errorf("Claude after refused commands:\n%s", out)
	}
	events := mustRun(t, "audit", "query", "--action", "gateway_app.review", "--json", "--config", cfgFile)
	if strings.Count(events, `"result": "`+store.AuditSuccess+`"`) != 2 {
		t.Errorf("audit of reviews:\n%s", events)
	}
}
