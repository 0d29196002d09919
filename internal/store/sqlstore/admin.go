package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/internal/store"
)

var (
	_ store.UserRegistry = (*Store)(nil)
	_ store.AdminTokens  = (*Store)(nil)
	_ store.AuditLog     = (*Store)(nil)
)

// LinkedIdPs returns the identity providers each user logged in with successfully.
func (s *Store) LinkedIdPs(ctx context.Context, userIDs ...string) (map[string][]string, error) {
	query := "SELECT DISTINCT user_id, idp_id FROM auth_events WHERE " + s.d.isTrue("allowed") + " AND action = 'login' AND idp_id <> '' AND user_id <> ''"
	var args []any
	if len(userIDs) > 0 {
		query += " AND user_id IN (" + strings.TrimSuffix(strings.Repeat("?, ", len(userIDs)), ", ") + ")"
		for _, id := range userIDs {
			args = append(args, id)
		}
	}
	out := map[string][]string{}
	err := s.read(ctx, func(ctx context.Context, tx *sql.Tx, _ time.Time) error {
		rows, err := tx.QueryContext(ctx, s.d.rebind(query), args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var user, idp string
			if err := rows.Scan(&user, &idp); err != nil {
				return err
			}
			out[user] = append(out[user], idp)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, s.fail("linked idps", err)
	}
	for _, v := range out {
		sort.Strings(v)
	}
	return out, nil
}

const adminTokenColumns = "id, name, token_hash, created_at, last_used_at, scopes"

func scanAdminToken(sc scanner) (*store.AdminToken, error) {
	var (
		t             store.AdminToken
		created, used int64
	)
	var scopes string
	if err := sc.Scan(&t.ID, &t.Name, &t.TokenHash, &created, &used, &scopes); err != nil {
		return nil, err
	}
	t.CreatedAt, t.LastUsedAt = fromMicros(created), fromMicros(used)
	t.Scopes = strings.Fields(scopes)
	return &t, nil
}

// CreateAdminToken stores an admin API token by its hash.
func (s *Store) CreateAdminToken(ctx context.Context, t *store.AdminToken) error {
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx, now time.Time) error {
		for _, sc := range t.Scopes {
			if sc == "" || strings.ContainsFunc(sc, unicode.IsSpace) {
				return fmt.Errorf("admin token scope %q is empty or has a space", sc)
			}
		}
		return s.insert(ctx, tx, "INSERT INTO admin_tokens ("+adminTokenColumns+") VALUES (?, ?, ?, ?, ?, ?)",
			t.ID, t.Name, t.TokenHash, micros(createdOr(t.CreatedAt, now)), micros(utc(t.LastUsedAt)), strings.Join(t.Scopes, " "))
	})
	if err != nil {
		return s.fail("create admin token", err)
	}
	return nil
}

// AdminTokenByHash returns the admin API token with this hash.
func (s *Store) AdminTokenByHash(ctx context.Context, tokenHash string) (*store.AdminToken, error) {
	var t *store.AdminToken
	err := s.read(ctx, func(ctx context.Context, tx *sql.Tx, _ time.Time) error {
		var err error
		t, err = scanAdminToken(tx.QueryRowContext(ctx, s.d.rebind("SELECT "+adminTokenColumns+" FROM admin_tokens WHERE token_hash = ?"), tokenHash))
		if errors.Is(err, sql.ErrNoRows) {
			return store.ErrNotFound
		}
		return err
	})
	if err != nil {
		return nil, s.fail("get admin token", err)
	}
	return t, nil
}

// ListAdminTokens returns every admin API token, oldest first.
func (s *Store) ListAdminTokens(ctx context.Context) ([]store.AdminToken, error) {
	var out []store.AdminToken
	err := s.read(ctx, func(ctx context.Context, tx *sql.Tx, _ time.Time) error {
		rows, err := tx.QueryContext(ctx, s.d.rebind("SELECT "+adminTokenColumns+" FROM admin_tokens ORDER BY created_at, id"))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			t, err := scanAdminToken(rows)
			if err != nil {
				return err
			}
			out = append(out, *t)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, s.fail("list admin tokens", err)
	}
	return out, nil
}

// TouchAdminToken records that the token was just used.
func (s *Store) TouchAdminToken(ctx context.Context, id string) error {
	return s.execOne(ctx, "touch admin token", func(now time.Time) (string, []any) {
		return "UPDATE admin_tokens SET last_used_at = ? WHERE id = ?", []any{micros(now), id}
	})
}

// DeleteAdminToken removes an admin API token.
func (s *Store) DeleteAdminToken(ctx context.Context, id string) error {
	return s.execOne(ctx, "delete admin token", func(time.Time) (string, []any) {
		return "DELETE FROM admin_tokens WHERE id = ?", []any{id}
	})
}

// execOne runs one statement that must affect exactly one row (ErrNotFound otherwise).
func (s *Store) execOne(ctx context.Context, op string, stmt func(now time.Time) (string, []any)) error {
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx, now time.Time) error {
		q, args := stmt(now)
		res, err := tx.ExecContext(ctx, s.d.rebind(q), args...)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 0 {
			return store.ErrNotFound
		}
		return nil
	})
	if err != nil {
		return s.fail(op, err)
	}
	return nil
}

const auditColumns = "id, time, actor_type, actor, ip, action, target_type, target_id, result, reasons, details"

func scanAuditEvent(sc scanner, extra ...any) (*store.AuditEvent, error) {
	var (
		e                store.AuditEvent
		t                int64
		reasons, details string
	)
	dest := append([]any{&e.ID, &t, &e.ActorType, &e.Actor, &e.IP, &e.Action, &e.TargetType, &e.TargetID, &e.Result, &reasons, &details}, extra...)
	if err := sc.Scan(dest...); err != nil {
		return nil, err
	}
	e.Time = fromMicros(t)
	if err := json.Unmarshal([]byte(reasons), &e.Reasons); err != nil {
		return nil, fmt.Errorf("decode reasons: %w", err)
	}
	if details != "" {
		e.Details = json.RawMessage(details)
	}
	return &e, nil
}

// AppendAuditEvent stores an audit event.
func (s *Store) AppendAuditEvent(ctx context.Context, e *store.AuditEvent) error {
	id := e.ID
	if id == "" {
		u, err := uuid.NewRandom()
		if err != nil {
			return fmt.Errorf("sqlstore: append audit event: %w", err)
		}
		id = u.String()
	}
	var reasons []string
	if len(e.Reasons) > 0 {
		reasons = e.Reasons
	}
	r, err := json.Marshal(reasons)
	if err != nil {
		return fmt.Errorf("sqlstore: append audit event: encode reasons: %w", err)
	}
	details := ""
	if len(e.Details) > 0 {
		if !json.Valid(e.Details) {
			return fmt.Errorf("sqlstore: append audit event: details are not valid JSON")
		}
		details = string(e.Details)
	}
	err = s.write(ctx, func(ctx context.Context, tx *sql.Tx, now time.Time) error {
		// seq order must be commit order; see AppendAuthEvent.
		if err := s.lock(ctx, tx, lockAudit); err != nil {
			return err
		}
		return s.insert(ctx, tx, "INSERT INTO audit_events ("+auditColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
			id, micros(createdOr(e.Time, now)), e.ActorType, e.Actor, e.IP, e.Action, e.TargetType, e.TargetID, e.Result, string(r), details)
	})
	if err != nil {
		return s.fail("append audit event", err)
	}
	return nil
}

// ListAuditEvents returns audit events matching q, newest first.
func (s *Store) ListAuditEvents(ctx context.Context, q store.AuditQuery) ([]store.AuditEvent, error) {
	var (
		where []string
		args  []any
	)
	if !q.Since.IsZero() {
		where, args = append(where, "time >= ?"), append(args, utc(q.Since).UnixMicro())
	}
	if !q.Until.IsZero() {
		where, args = append(where, "time < ?"), append(args, utc(q.Until).UnixMicro())
	}
	for _, f := range []struct{ col, val string }{
		{"actor", q.Actor}, {"actor_type", q.ActorType}, {"action", q.Action},
		{"target_type", q.TargetType}, {"target_id", q.TargetID}, {"result", q.Result},
	} {
		if f.val != "" {
			where, args = append(where, f.col+" = ?"), append(args, f.val)
		}
	}
	limit := q.Limit
	if limit <= 0 {
		limit = defaultEventLimit
	}
	limit = min(limit, maxEventLimit)
	query := "SELECT " + auditColumns + " FROM audit_events"
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY time DESC, seq DESC LIMIT ? OFFSET ?"
	args = append(args, limit, max(q.Offset, 0))
	var out []store.AuditEvent
	err := s.read(ctx, func(ctx context.Context, tx *sql.Tx, _ time.Time) error {
		rows, err := tx.QueryContext(ctx, s.d.rebind(query), args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			e, err := scanAuditEvent(rows)
			if err != nil {
				return err
			}
			out = append(out, *e)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, s.fail("list audit events", err)
	}
	return out, nil
}

// ExportEvents returns the events of stream after sequence number after, in order.
func (s *Store) ExportEvents(ctx context.Context, stream string, after int64, limit int) ([]store.ExportedEvent, error) {
	if limit <= 0 {
		limit = defaultEventLimit
	}
	limit = min(limit, maxEventLimit)
	var out []store.ExportedEvent
	err := s.read(ctx, func(ctx context.Context, tx *sql.Tx, _ time.Time) error {
		var cols, table string
		switch stream {
		case store.ExportAudit:
			cols, table = auditColumns, "audit_events"
		case store.ExportAuth:
			cols, table = eventColumns, "auth_events"
		default:
			return fmt.Errorf("unknown export stream %q", stream)
		}
		rows, err := tx.QueryContext(ctx, s.d.rebind("SELECT "+cols+", seq FROM "+table+" WHERE seq > ? ORDER BY seq LIMIT ?"), after, limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			ev := store.ExportedEvent{Stream: stream}
			if stream == store.ExportAudit {
				e, err := scanAuditEvent(rows, &ev.Seq)
				if err != nil {
					return err
				}
				ev.Audit = e
			} else {
				e, err := scanAuthEvent(rows, &ev.Seq)
				if err != nil {
					return err
				}
				ev.Auth = e
			}
			out = append(out, ev)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, s.fail("export events", err)
	}
	return out, nil
}

func scanAuthEvent(sc scanner, extra ...any) (*store.AuthEvent, error) {
	var (
		e       store.AuthEvent
		t       int64
		reasons string
	)
	dest := append([]any{&e.ID, &t, &e.Action, &e.Allowed, &e.UserID, &e.Email, &e.AppID, &e.AppDomain,
		&e.IdPID, &e.IdPType, &e.IP, &e.Country, &e.PolicyID, &reasons, &e.RequestID}, extra...)
	if err := sc.Scan(dest...); err != nil {
		return nil, err
	}
	e.Time = fromMicros(t)
	if err := json.Unmarshal([]byte(reasons), &e.Reasons); err != nil {
		return nil, fmt.Errorf("decode reasons: %w", err)
	}
	return &e, nil
}

// ExportCursor returns sink's cursor on stream.
func (s *Store) ExportCursor(ctx context.Context, sink, stream string) (int64, error) {
	var seq int64
	err := s.read(ctx, func(ctx context.Context, tx *sql.Tx, _ time.Time) error {
		err := tx.QueryRowContext(ctx, s.d.rebind("SELECT seq FROM export_cursors WHERE sink = ? AND stream = ?"), sink, stream).Scan(&seq)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		return err
	})
	if err != nil {
		return 0, s.fail("export cursor", err)
	}
	return seq, nil
}

// AdvanceExportCursor moves sink's cursor on stream from expected to next.
func (s *Store) AdvanceExportCursor(ctx context.Context, sink, stream string, expected, next int64) error {
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx, _ time.Time) error {
		var cur int64
		err := tx.QueryRowContext(ctx, s.d.rebind("SELECT seq FROM export_cursors WHERE sink = ? AND stream = ?"+s.d.forUpdate), sink, stream).Scan(&cur)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if cur != expected {
			return fmt.Errorf("cursor is at %d, not %d: %w", cur, expected, store.ErrConflict)
		}
		// Conditional, because a cursor that does not exist yet has no row to lock: two first
		// advances both read 0, and only the one whose insert or update still finds the
		// expected value wins.
		res, err := tx.ExecContext(ctx, s.d.rebind("INSERT INTO export_cursors (sink, stream, seq) VALUES (?, ?, ?)"+
			s.d.upsert("sink, stream", "seq = excluded.seq")+" WHERE export_cursors.seq = ?"), sink, stream, next, expected)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n != 1 {
			return fmt.Errorf("cursor moved concurrently: %w", store.ErrConflict)
		}
		return nil
	})
	if err != nil {
		return s.fail("advance export cursor", err)
	}
	return nil
}
