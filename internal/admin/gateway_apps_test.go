package admin_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/gateway/applib"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
)

type appsFixture struct {
	st    *sqlstore.Store
	srv   *httptest.Server
	token string
}

func newAppsFixture(t *testing.T) *appsFixture {
	t.Helper()
	st, err := sqlstore.Open(t.Context(), "sqlite", filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	gw, err := app.NewGatewayAdmin(t.Context(), st, map[string]string{"ChatGPT": "approved"}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	svc := &admin.Service{Store: st, Audit: &audit.Recorder{Store: st}, Gateway: gw}
	_, plain, err := svc.CreateAdminToken(t.Context(), admin.CLIActor, "reviewer")
	if err != nil {
		t.Fatal(err)
	}
	f := &appsFixture{st: st, token: plain, srv: httptest.NewServer(admin.NewAPI(svc, admin.APIOptions{}))}
	t.Cleanup(f.srv.Close)
	return f
}

func (f *appsFixture) call(t *testing.T, method, path, body string) (int, envelope) {
	t.Helper()
	req, _ := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+f.token)
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var env envelope
	if err := json.Unmarshal(raw, &env); err != nil {
		t.Fatalf("%s %s: not JSON: %s", method, path, raw)
	}
	if env.Success != (resp.StatusCode == 200) {
		t.Errorf("%s %s: status %d with envelope %s", method, path, resp.StatusCode, raw)
	}
	if strings.Contains(string(raw), "sqlstore") {
		t.Errorf("%s %s: answer leaks internals: %s", method, path, raw)
	}
	return resp.StatusCode, env
}

func TestGatewayAppsAPI(t *testing.T) {
	f := newAppsFixture(t)
	claudeID := applib.MustDefault().AppByName("Claude").ID
	reviewOf := func(id int) string {
		t.Helper()
		list, err := f.st.ListGatewayAppReviews(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range list {
			if r.AppID == id {
				return r.Status
			}
		}
		return "unreviewed"
	}

	status, env := f.call(t, "GET", "/api/v1/gateway/apps?ai=true&per_page=1000", "")
	var apps []app.GatewayApp
	if status != 200 || json.Unmarshal(env.Result, &apps) != nil || len(apps) < 60 || env.ResultInfo.TotalCount != len(apps) {
		t.Fatalf("list AI apps: %d, %d apps, %+v", status, len(apps), env.ResultInfo)
	}
	status, env = f.call(t, "GET", "/api/v1/gateway/apps?review_status=approved", "")
	if json.Unmarshal(env.Result, &apps); status != 200 || len(apps) != 1 || apps[0].Name != "ChatGPT" || apps[0].StatusSource != "config" {
		t.Fatalf("approved apps: %d %+v", status, apps)
	}

	var one app.GatewayApp
	status, env = f.call(t, "GET", "/api/v1/gateway/apps/claude", "")
	if json.Unmarshal(env.Result, &one); status != 200 || one.ID != claudeID || one.Confidence == nil || one.Status != "unreviewed" {
		t.Fatalf("get Claude: %d %+v", status, one)
	}

	// One application by path, then a batch.
	status, env = f.call(t, "PUT", "/api/v1/gateway/apps/claude/review_status", `{"review_status": "in review"}`)
	if status != 200 || !strings.Contains(string(env.Result), `"changed":true`) {
		t.Fatalf("PUT review_status: %d %s", status, env.Result)
	}
	status, env = f.call(t, "POST", "/api/v1/gateway/apps/review_status", `{"apps": ["Gemini", "DeepSeek"], "review_status": "unapproved"}`)
	if status != 200 || strings.Count(string(env.Result), `"to":"unapproved"`) != 2 {
		t.Fatalf("POST review_status: %d %s", status, env.Result)
	}
	if got := reviewOf(claudeID); got != store.AppReviewInReview {
		t.Fatalf("Claude is %q after the PUT", got)
	}
	stored, err := f.st.ListGatewayAppReviews(t.Context())
	if err != nil || len(stored) != 3 {
		t.Fatalf("stored reviews: %+v, %v", stored, err)
	}
	for _, r := range stored {
		if r.UpdatedBy != "reviewer" {
			t.Errorf("review %+v not attributed to the API token's name", r)
		}
	}

	// Refusals: configured app (409, nothing changes), unknown app, bad bodies and parameters.
	for _, tc := range []struct {
		method, path, body string
		status             int
		want               string
	}{
		{"POST", "/api/v1/gateway/apps/review_status", `{"apps": ["Claude", "ChatGPT"], "review_status": "unapproved"}`, 409, "gateway.app_reviews"},
		{"PUT", "/api/v1/gateway/apps/chatgpt/review_status", `{"review_status": "unapproved"}`, 409, "configuration file"},
		{"PUT", "/api/v1/gateway/apps/nosuchapp/review_status", `{"review_status": "approved"}`, 404, "not found"},
		{"POST", "/api/v1/gateway/apps/review_status", `{"apps": ["Claud"], "review_status": "approved"}`, 400, "did you mean"},
		{"POST", "/api/v1/gateway/apps/review_status", `{"apps": [], "review_status": "approved"}`, 400, "apps must list"},
		{"POST", "/api/v1/gateway/apps/review_status", `{"apps": [true], "review_status": "approved"}`, 400, "apps[0]"},
		{"PUT", "/api/v1/gateway/apps/claude/review_status", `{"review_status": "approve"}`, 400, "unknown review status"},
		{"PUT", "/api/v1/gateway/apps/claude/review_status", `{"status": "approved"}`, 400, "must be JSON"},
		{"PUT", "/api/v1/gateway/apps/claude/review_status", `not json`, 400, "must be JSON"},
		{"PUT", "/api/v1/gateway/apps/claude/review_status", `{}`, 400, "review_status is required"},
		{"GET", "/api/v1/gateway/apps?ai=maybe", "", 400, "ai"},
		{"GET", "/api/v1/gateway/apps?review_status=approve", "", 400, "unknown review status"},
		{"GET", "/api/v1/gateway/apps?type=Nonsense", "", 400, "unknown application type"},
	} {
		status, env := f.call(t, tc.method, tc.path, tc.body)
		if status != tc.status || len(env.Errors) == 0 || !strings.Contains(env.Errors[0].Message, tc.want) {
			t.Errorf("%s %s %s: %d %+v; want %d mentioning %q", tc.method, tc.path, tc.body, status, env.Errors, tc.status, tc.want)
		}
	}
	if got := reviewOf(claudeID); got != store.AppReviewInReview {
		t.Fatalf("Claude is %q after refused requests, want in review", got)
	}

	// Every change, and every refused change, is in the audit log.
	events, err := f.st.ListAuditEvents(t.Context(), store.AuditQuery{Action: admin.ActionReviewGatewayApps})
	if err != nil {
		t.Fatal(err)
	}
	var ok, conflicts int
	for _, e := range events {
		switch {
		case e.Result == store.AuditSuccess:
			ok++
		case len(e.Reasons) == 1 && e.Reasons[0] == "conflict":
			conflicts++
		}
	}
	if ok != 2 || conflicts != 2 {
		t.Fatalf("audit: %d successes and %d conflicts in %+v; want 2 and 2", ok, conflicts, events)
	}
}
