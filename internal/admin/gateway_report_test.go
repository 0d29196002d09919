package admin_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/gateway/usage"
	"github.com/gatehouse/gatehouse/internal/store"
)

func TestGatewayReport(t *testing.T) {
	f := newFixture(t)
	day := store.UsageDay(f.clockNow)
	if err := f.st.AddGatewayUsage(t.Context(), &store.GatewayUsageBatch{
		Rows: []store.GatewayUsageRow{
			{Day: day, AppID: 1199, AppName: "ChatGPT", Status: "unapproved", Action: "allow", Category: "upload", Requests: 3, BytesUp: 3000, BytesDown: 30},
			{Day: day.AddDate(0, 0, -40), AppID: 1199, AppName: "ChatGPT", Status: "unapproved", Action: "allow", Category: "other", Requests: 1, BytesUp: 1},
		},
		Users: []store.GatewayUsageUser{{Day: day, AppID: 1199, User: "u1"}, {Day: day, AppID: 1199, User: "u2"}},
	}); err != nil {
		t.Fatal(err)
	}
	var rep usage.Report
	f.ok(t, http.MethodGet, "/api/v1/gateway/report", &rep)
	if !rep.Since.Equal(day.AddDate(0, 0, -29)) || rep.Totals.Requests != 3 || rep.Totals.BytesUp != 3000 {
		t.Errorf("default report: since %v totals %+v", rep.Since, rep.Totals)
	}
	var un usage.StatusUsage
	for _, s := range rep.Statuses {
		if s.Status == "unapproved" {
			un = s
		}
	}
	if un.AppCount != 1 || un.Apps[0].Users != 2 || un.Apps[0].Categories["upload"] != 3 || !un.Apps[0].AI || len(rep.Days) != 1 || rep.Days[0].Users != 2 {
		t.Errorf("report: %+v", rep)
	}
	f.ok(t, http.MethodGet, "/api/v1/gateway/report?since=2029-11-01&top=1", &rep)
	if rep.Totals.Requests != 4 || !rep.Since.Equal(time.Date(2029, 11, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("report since a date: %+v", rep.Totals)
	}
	for _, q := range []string{"?since=yesterday", "?since=0d", "?top=0", "?top=x"} {
		if status, env := f.do(t, http.MethodGet, "/api/v1/gateway/report"+q, f.token); status != http.StatusBadRequest || len(env.Errors) != 1 {
			t.Errorf("%s: %d %+v", q, status, env.Errors)
		}
	}
	if status, _ := f.do(t, http.MethodGet, "/api/v1/gateway/report", ""); status != http.StatusUnauthorized {
		t.Errorf("without a token: %d", status)
	}
}
