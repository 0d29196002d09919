package reports

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// generator writes the benchmark's rows straight into the store's tables with multi-row
// INSERT … SELECT statements (a server-side series), a million rows a statement:
//
//   - rows/2 prompt logs (prompt_logs), rows/4 MCP call logs (mcp_call_logs) and the rest auth
//     events (auth_events): the per-request rows Gatehouse keeps, over the last 90 days, from
//     5,000 users, 50 AI apps, 12 topics, 40 MCP servers on 5 portals, 30 applications and 4
//     identity providers;
//   - the gateway's web traffic, which Gatehouse keeps only as daily rollups and per-user sets:
//     `rows` simulated requests (5,000 users, each on a handful of 300 applications) aggregated
//     into gateway_usage and the gateway_usage_* user tables, as AddGatewayUsage keeps them;
//   - the report rollups, by the INSERT statements of migration 0020 (its backfill of existing
//     rows), whose equality with the rollups the appends keep is proved by the store's tests.
//
// A store that already holds the rows (a PostgreSQL schema or SQLite file kept from an earlier
// run of the same count) is reused.
type generator struct {
	db     *sql.DB
	driver string
	rows   int
	now    time.Time
	reused bool
	took   time.Duration
}

// maxGenerate bounds the generation.
const maxGenerate = 50 * time.Minute

const chunk = 1_000_000

func (g *generator) summary() string {
	if g.reused {
		return "reused from an earlier run"
	}
	return "generated in " + g.took.Round(time.Second).String()
}

// series returns the WITH prefix and FROM source of the integers lo..hi as column i.
func (g *generator) series(lo, hi int) (with, from string) {
	if g.driver == "postgres" {
		return "", fmt.Sprintf("generate_series(%d::bigint, %d::bigint) AS s(i)", lo, hi)
	}
	return fmt.Sprintf("WITH RECURSIVE s(i) AS (SELECT %d UNION ALL SELECT i + 1 FROM s WHERE i < %d) ", lo, hi), "s"
}

func (g *generator) exec(ctx context.Context, b *testing.B, what, q string) error {
	t0 := time.Now()
	if _, err := g.db.ExecContext(ctx, q); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	fmt.Fprintf(os.Stderr, "  %s: %s\n", what, time.Since(t0).Round(time.Millisecond))
	return nil
}

// forChunks runs q (a format of with, from, and then the series' first and step) over 1..n in
// chunks, ts = base + i*step.
func (g *generator) forChunks(ctx context.Context, b *testing.B, what string, n int, q func(with, from string) string) error {
	start := time.Now()
	for lo := 1; lo <= n; lo += chunk {
		if time.Since(start) > maxGenerate {
			return fmt.Errorf("%s: generation took longer than %s", what, maxGenerate)
		}
		with, from := g.series(lo, min(lo+chunk-1, n))
		if err := g.exec(ctx, b, fmt.Sprintf("%s %d-%d", what, lo, min(lo+chunk-1, n)), q(with, from)); err != nil {
			return err
		}
	}
	return nil
}

func (g *generator) generate(ctx context.Context, b *testing.B) error {
	var any int
	if err := g.db.QueryRowContext(ctx, "SELECT count(*) FROM (SELECT 1 FROM auth_events LIMIT 1) x").Scan(&any); err != nil {
		return err
	}
	if any > 0 {
		g.reused = true
		return nil
	}
	t0 := time.Now()
	base := g.now.AddDate(0, 0, -days).UnixMicro()
	span := int64(days) * microsPerDay
	blob := "X'02'"
	if g.driver == "postgres" {
		blob = "decode('02', 'hex')"
	}
	user := "((i * 7919) % 5000)"
	nPrompts, nMCP := g.rows/2, g.rows/4
	nAuth := g.rows - nPrompts - nMCP
	fmt.Fprintf(os.Stderr, "generating %d prompt logs, %d MCP call logs, %d auth events and the usage of %d gateway requests (%s)\n",
		nPrompts, nMCP, nAuth, g.rows, g.driver)
	ts := func(n int) string { return fmt.Sprintf("(%d + i * %d)", base, span/int64(n)) }

	err := g.forChunks(ctx, b, "prompt_logs", nPrompts, func(with, from string) string {
		return with + "INSERT INTO prompt_logs (ts, request_id, user_email, user_groups, device_id, src_ip, app_id, app_name, app_type," +
			" app_status, control, conversation_id, model, policy_id, policy_name, policy_action, dlp_profiles, dlp_entries," +
			" dlp_confidence, topics, bytes_up, payload_enc) SELECT " + ts(nPrompts) + ", 'r' || i, 'user' || " + user + " || '@example.com'," +
			" '[]', '', '192.0.2.1', CAST(1000 + (i * 31) % 50 AS TEXT), 'AI app', 'Artificial Intelligence', 'approved', 'SendPrompt'," +
			" 'c' || (i / 8), 'gpt', '', '', CASE i % 10 WHEN 0 THEN 'block' WHEN 1 THEN 'redirect' WHEN 2 THEN '' ELSE 'allow' END, '[]'," +
			" CASE WHEN i % 17 = 0 THEN '[\"Credit card\"]' ELSE '[]' END, ''," +
			" CASE i % 6 WHEN 0 THEN '[{\"id\":\"intent_jailbreak\",\"confidence\":\"high\"}]'" +
			" WHEN 1 THEN '[{\"id\":\"content_pii\",\"confidence\":\"low\"},{\"id\":\"content_code\",\"confidence\":\"medium\"}]'" +
			" WHEN 2 THEN '[{\"id\":\"topic_' || (i % 12) || '\",\"confidence\":\"low\"}]' ELSE '[]' END," +
			" 100 + i % 4000, " + blob + " FROM " + from
	})
	if err != nil {
		return err
	}
	err = g.forChunks(ctx, b, "mcp_call_logs", nMCP, func(with, from string) string {
		return with + "INSERT INTO mcp_call_logs (ts, request_id, portal_id, server_id, method, capability, user_id, user_email, client_id," +
			" decision, reason, duration_ms, bytes_in, bytes_out, dlp_entries, topics) SELECT " + ts(nMCP) + ", 'm' || i," +
			" 'portal' || (i % 5), 'server' || ((i * 13) % 40)," +
			" CASE i % 4 WHEN 0 THEN 'prompts/get' WHEN 1 THEN 'resources/read' ELSE 'tools/call' END, 'tool' || (i % 20)," +
			" 'u' || " + user + ", 'user' || " + user + " || '@example.com', '', CASE i % 7 WHEN 0 THEN 'block' WHEN 1 THEN 'error' ELSE 'allow' END," +
			" '', 12.5, i % 1000, i % 3000, '[]', '[]' FROM " + from
	})
	if err != nil {
		return err
	}
	err = g.forChunks(ctx, b, "auth_events", nAuth, func(with, from string) string {
		return with + "INSERT INTO auth_events (id, time, action, allowed, user_id, email, app_id, app_domain, idp_id, idp_type, ip, country," +
			" policy_id, reasons, request_id) SELECT 'e' || i, " + ts(nAuth) + "," +
			" CASE i % 10 WHEN 0 THEN 'service_token' WHEN 1 THEN 'logout' ELSE 'login' END, (i % 5 <> 0), 'u' || " + user + "," +
			" 'user' || " + user + " || '@example.com', 'app' || ((i * 7) % 30), '', CASE i % 4 WHEN 0 THEN 'okta' WHEN 1 THEN 'github'" +
			" WHEN 2 THEN 'pin' ELSE 'entra' END, '', '192.0.2.2', 'DE', ''," +
			" CASE WHEN i % 5 <> 0 THEN 'null' ELSE CASE (i / 5) % 4 WHEN 0 THEN '[\"not_in_policy\"]'" +
			" WHEN 1 THEN '[\"country_blocked\",\"device_posture\"]' WHEN 2 THEN 'null' ELSE '[\"mfa_required\"]' END END, '' FROM " + from
	})
	if err != nil {
		return err
	}
	// The gateway's web traffic, aggregated as the usage recorder and AddGatewayUsage keep it.
	req := func(from string) string {
		return "(SELECT day, app, i, u, CASE app % 3 WHEN 0 THEN 'approved' WHEN 1 THEN 'unapproved' ELSE 'unreviewed' END AS status FROM" +
			" (SELECT " + ts(g.rows) + " / " + fmt.Sprint(microsPerDay) + " AS day, i, " + user + " AS u, ((" + user + " * 13 + i % 7) % 300) + 1 AS app" +
			" FROM " + from + ") r) q"
	}
	err = g.forChunks(ctx, b, "gateway_usage", g.rows, func(with, from string) string {
		return with + "INSERT INTO gateway_usage (day, app_id, app_status, action, category, app_name, requests, bytes_up, bytes_down)" +
			" SELECT day, app, status, CASE i % 20 WHEN 0 THEN 'block' ELSE 'allow' END AS action," +
			" CASE i % 3 WHEN 0 THEN 'prompt' WHEN 1 THEN 'upload' ELSE 'other' END AS category, '', count(*), sum(i % 5000), sum(i % 20000)" +
			" FROM " + req(from) + " GROUP BY day, app, status, CASE i % 20 WHEN 0 THEN 'block' ELSE 'allow' END," +
			" CASE i % 3 WHEN 0 THEN 'prompt' WHEN 1 THEN 'upload' ELSE 'other' END" +
			" ON CONFLICT (day, app_id, app_status, action, category) DO UPDATE SET requests = gateway_usage.requests + excluded.requests," +
			" bytes_up = gateway_usage.bytes_up + excluded.bytes_up, bytes_down = gateway_usage.bytes_down + excluded.bytes_down"
	})
	if err != nil {
		return err
	}
	err = g.forChunks(ctx, b, "gateway_usage_users", g.rows, func(with, from string) string {
		return with + "INSERT INTO gateway_usage_users (day, app_id, user_key) SELECT DISTINCT day, app, 'u' || u FROM " + req(from) +
			" WHERE true ON CONFLICT (day, app_id, user_key) DO NOTHING"
	})
	if err != nil {
		return err
	}
	for _, q := range []struct{ what, sql string }{
		{"gateway_usage_app_days", "INSERT INTO gateway_usage_app_days (day, app_id, users) SELECT day, app_id, count(*) FROM gateway_usage_users GROUP BY day, app_id"},
		{"gateway_usage_app_users", "INSERT INTO gateway_usage_app_users (app_id, user_key, last_day) SELECT app_id, user_key, max(day) FROM gateway_usage_users GROUP BY app_id, user_key"},
		{"gateway_usage_day_users", "INSERT INTO gateway_usage_day_users (day, user_key) SELECT DISTINCT day, user_key FROM gateway_usage_users"},
		{"gateway_usage_day_counts", "INSERT INTO gateway_usage_day_counts (day, users) SELECT day, count(*) FROM gateway_usage_day_users GROUP BY day"},
	} {
		if err := g.exec(ctx, b, q.what, q.sql); err != nil {
			return err
		}
	}
	// The report rollups: migration 0020's backfill.
	src, err := os.ReadFile(filepath.Join("..", "..", "internal", "store", "sqlstore", "migrations", g.driver, "0020_report_rollups.sql"))
	if err != nil {
		return err
	}
	var lines []string
	for l := range strings.SplitSeq(string(src), "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "--") {
			lines = append(lines, l)
		}
	}
	for i, stmt := range strings.Split(strings.Join(lines, "\n"), ";") {
		if s := strings.TrimSpace(stmt); strings.HasPrefix(s, "INSERT") {
			if err := g.exec(ctx, b, fmt.Sprintf("migration 0020 backfill statement %d", i), s); err != nil {
				return err
			}
		}
	}
	// What autovacuum does to tables in steady state (visibility maps for index-only scans,
	// statistics); SQLite has only the statistics.
	analyze := "ANALYZE"
	if g.driver == "postgres" {
		analyze = "VACUUM ANALYZE"
	}
	if err := g.exec(ctx, b, analyze, analyze); err != nil {
		return err
	}
	g.took = time.Since(t0)
	return nil
}
