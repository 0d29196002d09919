package reports

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/audit"
	"github.com/gatehouse/gatehouse/internal/console"
	"github.com/gatehouse/gatehouse/internal/gateway/applib"
	"github.com/gatehouse/gatehouse/internal/gateway/usage"
	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/policy"
	"github.com/gatehouse/gatehouse/internal/session"
	"github.com/gatehouse/gatehouse/internal/snapshot"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
)

// The benchmark's settings (environment):
//
//	GATEHOUSE_BENCH_REPORT_ROWS      raw log rows to generate (required; the benchmark skips
//	                                 without it); at most 20,000,000
//	GATEHOUSE_BENCH_REPORT_DRIVER    sqlite (default) or postgres
//	GATEHOUSE_BENCH_POSTGRES_DSN     the PostgreSQL database (a schema of its own is created
//	                                 in it, and kept for reuse unless GATEHOUSE_BENCH_REPORT_DROP=1)
//	GATEHOUSE_BENCH_REPORT_DIR       where the SQLite file goes (default: a temporary directory)
//	GATEHOUSE_BENCH_REPORT_RUNS      timed runs per page and period (default 30, at most 1000)
const maxRows = 20_000_000

// days is the span of the generated logs, ending now.
const days = 90

const microsPerDay = 86400 * 1000 * 1000

func envInt(b *testing.B, name string, def, most int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(strings.ReplaceAll(v, "_", ""))
	if err != nil || n <= 0 || n > most {
		b.Fatalf("%s=%q: want a number from 1 to %d", name, v, most)
	}
	return n
}

// BenchmarkReportPages generates GATEHOUSE_BENCH_REPORT_ROWS log rows (see generate), then times
// each report page's handler (server time, through httptest, as an administrator) for each
// period, and reports p50 and p95 in milliseconds. As a baseline in the same run it times what
// an exact report without rollups costs: the GROUP BY over the raw rows the AI security and
// Access pages would need.
func BenchmarkReportPages(b *testing.B) {
	rows := envInt(b, "GATEHOUSE_BENCH_REPORT_ROWS", 0, maxRows)
	if rows == 0 {
		b.Skip("set GATEHOUSE_BENCH_REPORT_ROWS (and GATEHOUSE_BENCH_REPORT_DRIVER=postgres with GATEHOUSE_BENCH_POSTGRES_DSN) to run")
	}
	runs := envInt(b, "GATEHOUSE_BENCH_REPORT_RUNS", 30, 1000)
	driver := cmpOr(os.Getenv("GATEHOUSE_BENCH_REPORT_DRIVER"), "sqlite")
	ctx := context.Background()
	now := time.Now().UTC()
	var dsn string
	switch driver {
	case "sqlite":
		dir := os.Getenv("GATEHOUSE_BENCH_REPORT_DIR")
		if dir == "" {
			dir = b.TempDir()
		}
		dsn = filepath.Join(dir, fmt.Sprintf("reports-%d.db", rows))
	case "postgres":
		base := os.Getenv("GATEHOUSE_BENCH_POSTGRES_DSN")
		if base == "" {
			b.Fatal("GATEHOUSE_BENCH_REPORT_DRIVER=postgres needs GATEHOUSE_BENCH_POSTGRES_DSN")
		}
		dsn = postgresSchema(b, base, fmt.Sprintf("bench_reports_%d", rows))
	default:
		b.Fatalf("GATEHOUSE_BENCH_REPORT_DRIVER=%q: want sqlite or postgres", driver)
	}
	t0 := time.Now()
	st, err := sqlstore.Open(ctx, driver, dsn)
	if err != nil {
		b.Fatal(err)
	}
	// Opening applies the migrations the store lacks (on a kept store whose report rollups were
	// dropped, migration 0020's backfill over every row: the upgrade's cost).
	fmt.Fprintf(os.Stderr, "opened the store (migrations included) in %s\n", time.Since(t0).Round(time.Millisecond))
	defer st.Close()
	raw, err := sql.Open(map[string]string{"sqlite": "sqlite", "postgres": "pgx"}[driver], dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer raw.Close()
	g := &generator{db: raw, driver: driver, rows: rows, now: now}
	if err := g.generate(ctx, b); err != nil {
		b.Fatal(err)
	}
	c := newConsole(b, st, now)

	fmt.Fprintf(os.Stderr, "\n%s, %d generated rows (%s), %d runs per page and period, GOMAXPROCS %d\n",
		driver, rows, g.summary(), runs, runtime.GOMAXPROCS(0))
	fmt.Fprintf(os.Stderr, "| page | period | p50 (ms) | p95 (ms) | max (ms) |\n|---|---|---:|---:|---:|\n")
	for _, page := range []string{"reports/shadow-it", "reports/ai", "reports/access"} {
		for _, since := range []string{"24h", "7d", "30d", "90d"} {
			target := "/.gatehouse/admin/" + page + "?since=" + since
			var times []time.Duration
			for i := range runs + 2 {
				r := httptest.NewRequest("GET", target, nil)
				r.Host = "auth.example.com"
				r.Header.Set("X-Test-User", "alice@example.com")
				w := httptest.NewRecorder()
				t0 := time.Now()
				c.ServeHTTP(w, r)
				d := time.Since(t0)
				if w.Code != http.StatusOK {
					b.Fatalf("%s: %d %s", target, w.Code, w.Body.String())
				}
				if i >= 2 { // two warm-up runs
					times = append(times, d)
				}
			}
			p50, p95, mx := percentiles(times)
			fmt.Fprintf(os.Stderr, "| %s | %s | %.1f | %.1f | %.1f |\n", page, since, ms(p50), ms(p95), ms(mx))
			if since == "90d" {
				b.ReportMetric(ms(p95), strings.TrimPrefix(page, "reports/")+"-90d-p95-ms")
			}
		}
	}
	// The baseline: an exact count without rollups reads every raw row of the period.
	fmt.Fprintf(os.Stderr, "\nbaseline, exact counts from the raw rows (no rollups), 3 runs each:\n| query | period | p50 (ms) | max (ms) |\n|---|---|---:|---:|\n")
	for _, q := range []struct{ name, sql, col string }{
		{"prompts by action", "SELECT policy_action, count(*) FROM prompt_logs WHERE ts >= %d GROUP BY policy_action", "ts"},
		{"MCP calls by server and decision", "SELECT server_id, decision, count(*) FROM mcp_call_logs WHERE ts >= %d GROUP BY server_id, decision", "ts"},
		{"auth events by app and result", "SELECT app_id, allowed, count(*) FROM auth_events WHERE time >= %d GROUP BY app_id, allowed", "time"},
	} {
		for _, since := range []int{7, 90} {
			from := now.AddDate(0, 0, -since).UnixMicro()
			var times []time.Duration
			for range 3 {
				t0 := time.Now()
				rs, err := raw.QueryContext(ctx, fmt.Sprintf(q.sql, from))
				if err != nil {
					b.Fatal(err)
				}
				for rs.Next() {
				}
				if err := rs.Err(); err != nil {
					b.Fatal(err)
				}
				rs.Close()
				times = append(times, time.Since(t0))
			}
			p50, _, mx := percentiles(times)
			fmt.Fprintf(os.Stderr, "| %s | %dd | %.1f | %.1f |\n", q.name, since, ms(p50), ms(mx))
		}
	}
	for range b.N {
	}
	if os.Getenv("GATEHOUSE_BENCH_REPORT_DROP") == "1" && driver == "postgres" {
		dropSchema(b, os.Getenv("GATEHOUSE_BENCH_POSTGRES_DSN"), fmt.Sprintf("bench_reports_%d", rows))
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// percentiles returns the p50, p95 (nearest rank) and maximum of times.
func percentiles(times []time.Duration) (p50, p95, mx time.Duration) {
	s := slices.Clone(times)
	slices.Sort(s)
	rank := func(p float64) time.Duration {
		i := int(p*float64(len(s))+0.999999) - 1
		return s[max(0, min(i, len(s)-1))]
	}
	return rank(0.50), rank(0.95), s[len(s)-1]
}

// postgresSchema returns base with search_path set to schema, created when missing.
func postgresSchema(b *testing.B, base, schema string) string {
	db, err := sql.Open("pgx", base)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("CREATE SCHEMA IF NOT EXISTS " + schema); err != nil {
		b.Fatal(err)
	}
	u, err := url.Parse(base)
	if err != nil {
		b.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func dropSchema(b *testing.B, base, schema string) {
	db, err := sql.Open("pgx", base)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
		b.Fatal(err)
	}
}

// newConsole returns the console on st with alice as its administrator, and a gateway
// administration whose Shadow-AI report reads st's usage rollups as the real one does.
func newConsole(b *testing.B, st *sqlstore.Store, now time.Time) *console.Console {
	ctx := context.Background()
	cfg := &store.Config{Version: 1, Organization: store.Organization{Name: "Bench", AuthDomain: "auth.example.com"},
		Policies: []store.Policy{{ID: "admins", Decision: store.DecisionAllow, Include: []store.Rule{{Email: &store.EmailRule{Email: "alice@example.com"}}}}},
		Applications: []store.Application{{ID: "console", Type: store.AppAdminConsole, Name: "Console", AUD: strings.Repeat("a", 64),
			Policies: []store.PolicyLink{{Ref: "admins", Precedence: 1, Role: store.ConsoleRoleAdministrator}}}}}
	snap, err := snapshot.Compile(cfg, snapshot.Options{Scheme: "https", Port: 443})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := st.UpdateConfig(ctx, func(c *store.Config) error {
		c.Organization, c.Policies, c.Applications = cfg.Organization, cfg.Policies, cfg.Applications
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	holder := &snapshot.Holder{}
	holder.Store(snap)
	cat, err := applib.Default()
	if err != nil {
		b.Fatal(err)
	}
	svc := &admin.Service{Store: st, Audit: &audit.Recorder{Store: st}, Gateway: &gatewayReport{st: st, cat: cat}}
	return &console.Console{Snapshots: holder, Store: st, Admin: svc,
		Authorize: func(w http.ResponseWriter, r *http.Request, app *snapshot.App, _ string, _ session.Freshness) (*session.Grant, bool) {
			id := &identity.Identity{Email: r.Header.Get("X-Test-User")}
			d := app.Policies.Evaluate(&policy.Input{Identity: id})
			if d.Action != policy.ActionAllow {
				http.Error(w, "denied", http.StatusForbidden)
				return nil, true
			}
			return &session.Grant{Identity: id, SessionID: "bench", Decision: d}, false
		},
		FormToken:      func(*http.Request, string) string { return "t" },
		CheckFormToken: func(*http.Request, string, string) bool { return false },
	}
}

// gatewayReport is the gateway administration as the Shadow IT page uses it: the report from
// the usage rollups (as internal/app's); the rest is not needed here.
type gatewayReport struct {
	st  *sqlstore.Store
	cat *applib.Catalog
}

var errNotHere = errors.New("not in this benchmark")

func (g *gatewayReport) ListApps(admin.GatewayAppQuery) ([]any, error) { return nil, errNotHere }
func (g *gatewayReport) App(string) (any, error)                       { return nil, errNotHere }
func (g *gatewayReport) SetReviewStatus(context.Context, string, []string, string) (any, []string, error) {
	return nil, nil, errNotHere
}
func (g *gatewayReport) PromptLogs(context.Context, admin.PromptLogQuery) ([]any, string, error) {
	return nil, "", errNotHere
}
func (g *gatewayReport) Report(ctx context.Context, since string, top int) (any, error) {
	from, err := usage.ParseSince(since, time.Now())
	if err != nil {
		return nil, err
	}
	return usage.Query(ctx, g.st, from, top, g.cat)
}
