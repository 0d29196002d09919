package sqlstore

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// TestReportRollupsBackfill checks that migration 0020's backfill computes, from rows stored
// before it, the same rollups as the appends keep (SQLite and, when configured, PostgreSQL).
func TestReportRollupsBackfill(t *testing.T) {
	t.Run("SQLite", func(t *testing.T) {
		s, _ := openTemp(t)
		checkBackfill(t, s)
	})
	t.Run("Postgres", func(t *testing.T) {
		checkBackfill(t, openPostgres(t, postgresTestDSN(t)))
	})
}

func checkBackfill(t *testing.T, s *Store) {
	ctx := t.Context()
	now := time.Now().UTC()
	var prompts []store.PromptLog
	var calls []store.MCPCallLog
	for i := range 300 {
		at := now.Add(-time.Duration(i) * 37 * time.Minute)
		l := store.PromptLog{Time: at, AppID: fmt.Sprint(i % 4), PolicyAction: []string{"allow", "block", ""}[i%3],
			UserEmail: []string{"a@example.com", "", "b@example.com"}[i%3], PayloadEnc: []byte{1}}
		switch i % 4 {
		case 0:
			l.Topics = []store.PromptLogTopic{{ID: "intent_jailbreak", Confidence: "high"}, {ID: "pii", Confidence: "low"}}
		case 1:
			l.DLPEntries = []string{"SSN"}
		case 2:
			l.Topics = []store.PromptLogTopic{{ID: "code", Confidence: "low"}, {ID: "", Confidence: "medium"}}
		}
		prompts = append(prompts, l)
		calls = append(calls, store.MCPCallLog{Time: at, PortalID: "p", ServerID: fmt.Sprint("s", i%3), Method: "tools/call",
			Decision: []string{"allow", "block"}[i%2]})
	}
	if err := s.AppendPromptLogs(ctx, prompts); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendMCPCallLogs(ctx, calls); err != nil {
		t.Fatal(err)
	}
	for i := range 60 {
		e := store.AuthEvent{Time: now.Add(-time.Duration(i) * 3 * time.Hour), Action: "login", Allowed: i%3 == 0,
			AppID: fmt.Sprint("app", i%2), IdPID: fmt.Sprint("idp", i%3)}
		if !e.Allowed {
			e.Reasons = [][]string{nil, {"mfa"}, {"geo", "posture"}}[(i/3)%3]
		}
		if err := s.AppendAuthEvent(ctx, &e); err != nil {
			t.Fatal(err)
		}
	}
	reports := func() []any {
		p, err := s.PromptReportSince(ctx, time.Time{}, 100)
		if err != nil {
			t.Fatal(err)
		}
		m, err := s.MCPCallsSince(ctx, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		a, err := s.AuthReportSince(ctx, now.Add(-4*24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		return []any{p, m, a}
	}
	kept := reports()
	if p := kept[0].(*store.PromptReport); p.Prompts != 300 || len(p.RiskyUsers) == 0 || p.ByTopic["intent_jailbreak"] != 75 {
		t.Fatalf("rollups kept by the appends look wrong: %+v", p)
	}
	if a := kept[2].(*store.AuthReport); a.DeniedByReason[""] == 0 || a.DeniedByReason["geo"] == 0 {
		t.Fatalf("auth rollups kept by the appends look wrong: %+v", a)
	}
	for _, q := range []string{"DROP TABLE prompt_rollup", "DROP TABLE prompt_risky_users", "DROP TABLE prompt_risky_users_weekly", "DROP TABLE mcp_call_rollup",
		"DROP TABLE auth_event_rollup", "DROP INDEX IF EXISTS gateway_usage_key_sums", "DELETE FROM schema_migrations WHERE version = 20"} {
		if _, err := s.db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if got := reports(); !reflect.DeepEqual(got, kept) {
		t.Errorf("after the backfill:\n%+v\n%+v\n%+v\nwant the appends' rollups:\n%+v\n%+v\n%+v", got[0], got[1], got[2], kept[0], kept[1], kept[2])
	}
}
