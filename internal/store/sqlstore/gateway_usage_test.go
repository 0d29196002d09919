package sqlstore

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// TestGatewayUsageDayCountsBackfill checks that migration 0021's backfill computes, from the
// per-day user sets stored before it, the same unique users per day as AddGatewayUsage keeps
// (SQLite and, when configured, PostgreSQL).
func TestGatewayUsageDayCountsBackfill(t *testing.T) {
	t.Run("SQLite", func(t *testing.T) {
		s, _ := openTemp(t)
		checkDayCountsBackfill(t, s)
	})
	t.Run("Postgres", func(t *testing.T) {
		checkDayCountsBackfill(t, openPostgres(t, postgresTestDSN(t)))
	})
}

func checkDayCountsBackfill(t *testing.T, s *Store) {
	ctx := t.Context()
	d0 := store.UsageDay(time.Now()).AddDate(0, 0, -5)
	// Users on several applications and days, some named again in later batches.
	for i := range 12 {
		day := d0.AddDate(0, 0, i%5)
		b := &store.GatewayUsageBatch{Rows: []store.GatewayUsageRow{{Day: day, AppID: i % 3, AppName: "A", Status: "approved",
			Action: "allow", Category: "other", Requests: 1}}}
		for j := range i + 1 {
			b.Users = append(b.Users, store.GatewayUsageUser{Day: day, AppID: j % 3, User: fmt.Sprint("u", j%7)})
		}
		if err := s.AddGatewayUsage(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	kept, err := s.GatewayUsageSince(ctx, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	// Exact counts from the per-day user sets.
	want := map[int64]int64{}
	rows, err := s.db.QueryContext(ctx, "SELECT day, COUNT(DISTINCT user_key) FROM gateway_usage_users GROUP BY day")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var d, n int64
		if err := rows.Scan(&d, &n); err != nil {
			t.Fatal(err)
		}
		want[d] = n
	}
	if err := closeRows(rows); err != nil {
		t.Fatal(err)
	}
	if len(kept.Days) != 5 {
		t.Fatalf("days kept by the adds: %+v", kept.Days)
	}
	for _, d := range kept.Days {
		if d.Users != want[usageDay(d.Day)] || d.Users == 0 {
			t.Errorf("day %s: %d users kept, %d in the user sets", d.Day.Format(time.DateOnly), d.Users, want[usageDay(d.Day)])
		}
	}
	for _, q := range []string{"DROP TABLE gateway_usage_day_counts", "DROP INDEX gateway_usage_day_sums", "DROP INDEX gateway_usage_app_days_by_app", "DELETE FROM schema_migrations WHERE version = 21"} {
		if _, err := s.db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := s.GatewayUsageSince(ctx, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Days, kept.Days) {
		t.Errorf("after the backfill: %+v\nwant the adds' counts: %+v", got.Days, kept.Days)
	}
}
