package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/gateway/usage"
	"github.com/gatehouse/gatehouse/internal/store"
)

// TestGatewayReportCommand: gateway report reads the rollups of the configured store, as text
// and as JSON, and refuses a bad --since.
func TestGatewayReportCommand(t *testing.T) {
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
	err = st.(store.GatewayUsage).AddGatewayUsage(t.Context(), &store.GatewayUsageBatch{
		Rows: []store.GatewayUsageRow{
			{Day: today, AppID: 1199, AppName: "ChatGPT", Status: "unapproved", Action: "allow", Category: "upload", Requests: 4, BytesUp: 3 << 20, BytesDown: 10},
			{Day: today.AddDate(0, 0, -60), AppID: 1199, AppName: "ChatGPT", Status: "unapproved", Action: "allow", Category: "other", Requests: 100, BytesUp: 1},
		},
		Users: []store.GatewayUsageUser{{Day: today, AppID: 1199, User: "u1"}, {Day: today, AppID: 1199, User: "u2"}},
	})
	_ = st.Close()
	if err != nil {
		t.Fatal(err)
	}

	out := mustRun(t, "gateway", "report", "--config", cfgFile)
	for _, want := range []string{"Gateway usage since", "Top unapproved applications", "ChatGPT", "3.0 MiB", "Unique users per day", today.Format(time.DateOnly)} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	var rep usage.Report
	if err := json.Unmarshal([]byte(mustRun(t, "gateway", "report", "--config", cfgFile, "--json", "--since", "90d")), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Totals.Requests != 104 || len(rep.Days) != 2 || rep.Days[1].Users != 2 {
		t.Errorf("--since 90d --json: %+v", rep)
	}
	if _, _, err := run(t, "gateway", "report", "--config", cfgFile, "--since", "last week"); err == nil || !strings.Contains(err.Error(), "since") {
		t.Errorf("a bad --since: %v", err)
	}
}
