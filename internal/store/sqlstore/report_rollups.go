package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// The report rollups (migration 0020) are kept current in the transaction of each append: a
// log entry and its counts commit together or not at all, so nothing is counted twice or lost
// across restarts, and concurrent writers (several processes, replicas on one database) add up
// exactly through the upserts. An incremental aggregator would need a watermark that stays
// correct when identity values commit out of order; the same transaction needs none. Keys are
// upserted in sorted order so that concurrent batches take row locks in one order.

var _ store.ReportRollups = (*Store)(nil)

// microsPerDay converts a stored time (Unix microseconds) to a rollup day, as the migration's
// backfill does (ts / 86400000000).
const microsPerDay = 86400 * 1000 * 1000

func rollupDay(t time.Time) int64 { return micros(t) / microsPerDay }

// sinceDay is the first rollup day of a period starting at since (0: every day).
func sinceDay(since time.Time) int64 {
	if since.IsZero() {
		return 0
	}
	return usageDay(since)
}

type promptRollupKey struct {
	day                int64
	app, topic, action string
}

type riskyKey struct {
	day  int64
	user string
}

// addPromptRollups adds a batch of prompt logs to the rollups in tx.
func (s *Store) addPromptRollups(ctx context.Context, tx *sql.Tx, logs []store.PromptLog) error {
	counts := map[promptRollupKey]int64{}
	risky := map[riskyKey]int64{}
	for i := range logs {
		l := &logs[i]
		day := rollupDay(l.Time)
		counts[promptRollupKey{day, l.AppID, "", l.PolicyAction}]++
		for _, t := range l.Topics {
			if t.ID != "" {
				counts[promptRollupKey{day, l.AppID, t.ID, l.PolicyAction}]++
			}
		}
		if store.RiskyPrompt(l) {
			risky[riskyKey{day, l.UserEmail}]++
		}
	}
	keys := sortedKeys(counts, func(a, b promptRollupKey) int {
		return cmp.Or(cmp.Compare(a.day, b.day), strings.Compare(a.app, b.app), strings.Compare(a.topic, b.topic), strings.Compare(a.action, b.action))
	})
	q := s.d.rebind("INSERT INTO prompt_rollup (day, app_id, topic, action, prompts) VALUES (?, ?, ?, ?, ?)" +
		s.d.upsert("day, app_id, topic, action", "prompts = prompt_rollup.prompts + excluded.prompts"))
	args := make([][]any, 0, len(keys))
	for _, k := range keys {
		args = append(args, []any{k.day, k.app, k.topic, k.action, counts[k]})
	}
	if err := execEach(ctx, tx, q, args); err != nil {
		return fmt.Errorf("prompt rollup: %w", err)
	}
	rkeys := sortedKeys(risky, func(a, b riskyKey) int {
		return cmp.Or(cmp.Compare(a.day, b.day), strings.Compare(a.user, b.user))
	})
	q = s.d.rebind("INSERT INTO prompt_risky_users (day, user_email, prompts) VALUES (?, ?, ?)" +
		s.d.upsert("day, user_email", "prompts = prompt_risky_users.prompts + excluded.prompts"))
	args = args[:0]
	weekly := map[riskyKey]int64{}
	for _, k := range rkeys {
		args = append(args, []any{k.day, k.user, risky[k]})
		weekly[riskyKey{k.day / 7, k.user}] += risky[k]
	}
	if err := execEach(ctx, tx, q, args); err != nil {
		return fmt.Errorf("risky prompt rollup: %w", err)
	}
	wkeys := sortedKeys(weekly, func(a, b riskyKey) int {
		return cmp.Or(cmp.Compare(a.day, b.day), strings.Compare(a.user, b.user))
	})
	q = s.d.rebind("INSERT INTO prompt_risky_users_weekly (week, user_email, prompts) VALUES (?, ?, ?)" +
		s.d.upsert("week, user_email", "prompts = prompt_risky_users_weekly.prompts + excluded.prompts"))
	args = args[:0]
	for _, k := range wkeys {
		args = append(args, []any{k.day, k.user, weekly[k]})
	}
	if err := execEach(ctx, tx, q, args); err != nil {
		return fmt.Errorf("weekly risky prompt rollup: %w", err)
	}
	return nil
}

type mcpRollupKey struct {
	day                              int64
	portal, server, method, decision string
}

// addMCPRollups adds a batch of MCP call logs to the rollups in tx.
func (s *Store) addMCPRollups(ctx context.Context, tx *sql.Tx, logs []store.MCPCallLog) error {
	counts := map[mcpRollupKey]int64{}
	for i := range logs {
		l := &logs[i]
		counts[mcpRollupKey{rollupDay(l.Time), l.PortalID, l.ServerID, l.Method, l.Decision}]++
	}
	keys := sortedKeys(counts, func(a, b mcpRollupKey) int {
		return cmp.Or(cmp.Compare(a.day, b.day), strings.Compare(a.portal, b.portal), strings.Compare(a.server, b.server),
			strings.Compare(a.method, b.method), strings.Compare(a.decision, b.decision))
	})
	q := s.d.rebind("INSERT INTO mcp_call_rollup (day, portal_id, server_id, method, decision, calls) VALUES (?, ?, ?, ?, ?, ?)" +
		s.d.upsert("day, portal_id, server_id, method, decision", "calls = mcp_call_rollup.calls + excluded.calls"))
	args := make([][]any, 0, len(keys))
	for _, k := range keys {
		args = append(args, []any{k.day, k.portal, k.server, k.method, k.decision, counts[k]})
	}
	if err := execEach(ctx, tx, q, args); err != nil {
		return fmt.Errorf("mcp call rollup: %w", err)
	}
	return nil
}

type authRollupKey struct {
	day              int64
	kind             int
	action           string
	allowed          bool
	reason, app, idp string
}

// addAuthRollup adds one auth event, stored at micros ts, to the rollups in tx.
func (s *Store) addAuthRollup(ctx context.Context, tx *sql.Tx, e *store.AuthEvent, ts int64) error {
	day := ts / microsPerDay
	counts := map[authRollupKey]int64{{day, 0, e.Action, e.Allowed, "", e.AppID, e.IdPID}: 1}
	for _, r := range e.Reasons {
		counts[authRollupKey{day, 1, e.Action, e.Allowed, r, e.AppID, e.IdPID}]++
	}
	if len(e.Reasons) == 0 {
		counts[authRollupKey{day, 1, e.Action, e.Allowed, "", e.AppID, e.IdPID}]++
	}
	keys := sortedKeys(counts, func(a, b authRollupKey) int {
		return cmp.Or(cmp.Compare(a.kind, b.kind), strings.Compare(a.reason, b.reason))
	})
	q := s.d.rebind("INSERT INTO auth_event_rollup (day, kind, action, allowed, reason, app_id, idp_id, events) VALUES (?, ?, ?, ?, ?, ?, ?, ?)" +
		s.d.upsert("day, kind, action, allowed, reason, app_id, idp_id", "events = auth_event_rollup.events + excluded.events"))
	args := make([][]any, 0, len(keys))
	for _, k := range keys {
		args = append(args, []any{k.day, k.kind, k.action, k.allowed, k.reason, k.app, k.idp, counts[k]})
	}
	if err := execEach(ctx, tx, q, args); err != nil {
		return fmt.Errorf("auth event rollup: %w", err)
	}
	return nil
}

// execEach runs the statement q once per argument list, prepared once.
func execEach(ctx context.Context, tx *sql.Tx, q string, args [][]any) error {
	if len(args) == 0 {
		return nil
	}
	if len(args) == 1 {
		_, err := tx.ExecContext(ctx, q, args[0]...)
		return err
	}
	st, err := tx.PrepareContext(ctx, q)
	if err != nil {
		return err
	}
	defer st.Close()
	for _, a := range args {
		if _, err := st.ExecContext(ctx, a...); err != nil {
			return err
		}
	}
	return nil
}

func sortedKeys[K comparable](m map[K]int64, less func(a, b K) int) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, less)
	return keys
}

// weekAfter returns the first week (day / 7) that starts on or after day.
func weekAfter(day int64) int64 {
	w := day / 7
	if w*7 < day {
		w++
	}
	return w
}

// PromptReportSince counts the prompts of the period from the rollups.
func (s *Store) PromptReportSince(ctx context.Context, since time.Time, topUsers int) (*store.PromptReport, error) {
	switch {
	case topUsers <= 0:
		topUsers = store.DefaultRiskyUsersLimit
	case topUsers > store.MaxRiskyUsersLimit:
		topUsers = store.MaxRiskyUsersLimit
	}
	day := sinceDay(since)
	var out *store.PromptReport
	err := s.read(ctx, func(ctx context.Context, tx *sql.Tx, _ time.Time) error {
		out = &store.PromptReport{ByTopic: map[string]int64{}, ByAction: map[string]int64{}, RiskyUsers: []store.UserCount{}}
		rows, err := tx.QueryContext(ctx, s.d.rebind("SELECT topic, action, SUM(prompts) FROM prompt_rollup WHERE day >= ? GROUP BY topic, action"), day)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var topic, action string
			var n int64
			if err := rows.Scan(&topic, &action, &n); err != nil {
				return err
			}
			if topic == "" {
				out.Prompts += n
				out.ByAction[action] += n
			} else {
				out.ByTopic[topic] += n
			}
		}
		if err := rows.Err(); err != nil {
			return err
		}
		rows.Close()
		// Whole weeks from the first week starting on or after day, and the days before it.
		week := weekAfter(day)
		rows, err = tx.QueryContext(ctx, s.d.rebind(fmt.Sprintf("SELECT user_email, SUM(n) AS total FROM ("+
			"SELECT user_email, prompts AS n FROM prompt_risky_users WHERE day >= ? AND day < ?"+
			" UNION ALL SELECT user_email, prompts AS n FROM prompt_risky_users_weekly WHERE week >= ?) r"+
			" GROUP BY user_email ORDER BY total DESC, user_email LIMIT %d", topUsers)), day, week*7, week)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var u store.UserCount
			if err := rows.Scan(&u.UserEmail, &u.Count); err != nil {
				return err
			}
			out.RiskyUsers = append(out.RiskyUsers, u)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, s.fail("prompt report", err)
	}
	return out, nil
}

// MCPCallsSince counts the MCP requests of the period from the rollups.
func (s *Store) MCPCallsSince(ctx context.Context, since time.Time) ([]store.MCPCallCount, error) {
	var out []store.MCPCallCount
	err := s.read(ctx, func(ctx context.Context, tx *sql.Tx, _ time.Time) error {
		out = []store.MCPCallCount{}
		rows, err := tx.QueryContext(ctx, s.d.rebind("SELECT portal_id, server_id, method, decision, SUM(calls) FROM mcp_call_rollup"+
			" WHERE day >= ? GROUP BY portal_id, server_id, method, decision ORDER BY portal_id, server_id, method, decision"), sinceDay(since))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var c store.MCPCallCount
			if err := rows.Scan(&c.PortalID, &c.ServerID, &c.Method, &c.Decision, &c.Calls); err != nil {
				return err
			}
			out = append(out, c)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, s.fail("mcp call report", err)
	}
	return out, nil
}

// AuthReportSince counts the auth events of the period from the rollups, summed in the
// database so that only the figures cross to the caller.
func (s *Store) AuthReportSince(ctx context.Context, since time.Time) (*store.AuthReport, error) {
	day := sinceDay(since)
	var out *store.AuthReport
	err := s.read(ctx, func(ctx context.Context, tx *sql.Tx, _ time.Time) error {
		out = &store.AuthReport{Days: []store.AuthDay{}, DeniedByReason: map[string]int64{}, DeniedByApp: map[string]int64{},
			AllowedByIdP: map[string]int64{}, ByAction: map[string]int64{}}
		// Each query returns a key, the result and a count.
		each := func(query string, fn func(key string, allowed bool, n int64)) error {
			rows, err := tx.QueryContext(ctx, s.d.rebind(query), day)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var (
					key     string
					allowed bool
					n       int64
				)
				if err := rows.Scan(&key, &allowed, &n); err != nil {
					return err
				}
				fn(key, allowed, n)
			}
			return rows.Err()
		}
		rows, err := tx.QueryContext(ctx, s.d.rebind("SELECT day, allowed, SUM(events) FROM auth_event_rollup WHERE day >= ? AND kind = 0"+
			" GROUP BY day, allowed ORDER BY day"), day)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				d, n    int64
				allowed bool
			)
			if err := rows.Scan(&d, &allowed, &n); err != nil {
				return err
			}
			if len(out.Days) == 0 || !out.Days[len(out.Days)-1].Day.Equal(fromUsageDay(d)) {
				out.Days = append(out.Days, store.AuthDay{Day: fromUsageDay(d)})
			}
			ad := &out.Days[len(out.Days)-1]
			if allowed {
				ad.Allowed += n
				out.Allowed += n
			} else {
				ad.Denied += n
				out.Denied += n
			}
		}
		if err := rows.Err(); err != nil {
			return err
		}
		rows.Close()
		for _, q := range []struct {
			query string
			fn    func(key string, allowed bool, n int64)
		}{
			{"SELECT reason, allowed, SUM(events) FROM auth_event_rollup WHERE day >= ? AND kind = 1 AND NOT allowed GROUP BY reason, allowed",
				func(k string, _ bool, n int64) { out.DeniedByReason[k] += n }},
			{"SELECT app_id, allowed, SUM(events) FROM auth_event_rollup WHERE day >= ? AND kind = 0 AND NOT allowed GROUP BY app_id, allowed",
				func(k string, _ bool, n int64) { out.DeniedByApp[k] += n }},
			{"SELECT idp_id, allowed, SUM(events) FROM auth_event_rollup WHERE day >= ? AND kind = 0 AND allowed GROUP BY idp_id, allowed",
				func(k string, _ bool, n int64) { out.AllowedByIdP[k] += n }},
			{"SELECT action, allowed, SUM(events) FROM auth_event_rollup WHERE day >= ? AND kind = 0 GROUP BY action, allowed",
				func(k string, allowed bool, n int64) {
					if allowed {
						out.ByAction[k+" allowed"] += n
					} else {
						out.ByAction[k+" denied"] += n
					}
				}},
		} {
			if err := each(q.query, q.fn); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, s.fail("auth report", err)
	}
	return out, nil
}

// DeleteReportRollupsBefore deletes the report rollups of the days before before's UTC day.
func (s *Store) DeleteReportRollupsBefore(ctx context.Context, before time.Time) (int64, error) {
	day := usageDay(before)
	var n int64
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx, _ time.Time) error {
		n = 0
		for _, t := range []string{"prompt_rollup", "prompt_risky_users", "mcp_call_rollup", "auth_event_rollup"} {
			res, err := tx.ExecContext(ctx, s.d.rebind("DELETE FROM "+t+" WHERE day < ?"), day)
			if err != nil {
				return err
			}
			k, err := res.RowsAffected()
			if err != nil {
				return err
			}
			n += k
		}
		// The weeks before day's week go; day's own week is summed again from the days kept.
		week := day / 7
		res, err := tx.ExecContext(ctx, s.d.rebind("DELETE FROM prompt_risky_users_weekly WHERE week <= ?"), week)
		if err != nil {
			return err
		}
		k, err := res.RowsAffected()
		if err != nil {
			return err
		}
		n += k
		_, err = tx.ExecContext(ctx, s.d.rebind("INSERT INTO prompt_risky_users_weekly (week, user_email, prompts)"+
			" SELECT ?, user_email, SUM(prompts) FROM prompt_risky_users WHERE day >= ? AND day < ? GROUP BY user_email"), week, day, (week+1)*7)
		return err
	})
	if err != nil {
		return 0, s.fail("delete report rollups", err)
	}
	return n, nil
}
