package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/internal/store"
)

// Auth event list limits (see store.AuthEventQuery).
const (
	defaultEventLimit = 100
	maxEventLimit     = 1000
)

const eventColumns = "id, time, action, allowed, user_id, email, app_id, app_domain, idp_id, idp_type, ip, country, policy_id, reasons, request_id"

// AppendAuthEvent stores e; an empty ID gets a random UUID and a zero Time means now (e itself is
// not modified). ErrAlreadyExists if the ID is taken.
func (s *Store) AppendAuthEvent(ctx context.Context, e *store.AuthEvent) error {
	id := e.ID
	if id == "" {
		u, err := uuid.NewRandom()
		if err != nil {
			return fmt.Errorf("sqlstore: append auth event: %w", err)
		}
		id = u.String()
	}
	reasons, err := json.Marshal(e.Reasons)
	if err != nil {
		return fmt.Errorf("sqlstore: append auth event: encode reasons: %w", err)
	}
	err = s.write(ctx, func(ctx context.Context, tx *sql.Tx, now time.Time) error {
		// Export readers rely on seq order being commit order; with concurrent writers only a
		// lock held until commit makes the sequence's order that.
		if err := s.lock(ctx, tx, lockAuthEvents); err != nil {
			return err
		}
		ts := micros(createdOr(e.Time, now))
		if err := s.insert(ctx, tx, "INSERT INTO auth_events ("+eventColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
			id, ts, e.Action, e.Allowed, e.UserID, e.Email, e.AppID, e.AppDomain,
			e.IdPID, e.IdPType, e.IP, e.Country, e.PolicyID, string(reasons), e.RequestID); err != nil {
			return err
		}
		return s.addAuthRollup(ctx, tx, e, ts)
	})
	if err != nil {
		return s.fail("append auth event", err)
	}
	return nil
}

// ListAuthEvents returns events matching q, newest first: Since is inclusive, Until exclusive,
// UserID, Email and AppID match exactly; Limit defaults to 100 and is capped at 1000.
func (s *Store) ListAuthEvents(ctx context.Context, q store.AuthEventQuery) ([]store.AuthEvent, error) {
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
	for _, f := range []struct{ col, val string }{{"user_id", q.UserID}, {"email", q.Email}, {"app_id", q.AppID}} {
		if f.val != "" {
			where, args = append(where, f.col+" = ?"), append(args, f.val)
		}
	}
	limit := q.Limit
	if limit <= 0 {
		limit = defaultEventLimit
	}
	limit = min(limit, maxEventLimit)
	query := "SELECT " + eventColumns + " FROM auth_events"
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY time DESC, seq DESC LIMIT ?"
	args = append(args, limit)

	var events []store.AuthEvent
	err := s.read(ctx, func(ctx context.Context, tx *sql.Tx, _ time.Time) error {
		rows, err := tx.QueryContext(ctx, s.d.rebind(query), args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				e       store.AuthEvent
				t       int64
				reasons string
			)
			if err := rows.Scan(&e.ID, &t, &e.Action, &e.Allowed, &e.UserID, &e.Email, &e.AppID, &e.AppDomain,
				&e.IdPID, &e.IdPType, &e.IP, &e.Country, &e.PolicyID, &reasons, &e.RequestID); err != nil {
				return err
			}
			e.Time = fromMicros(t)
			if err := json.Unmarshal([]byte(reasons), &e.Reasons); err != nil {
				return fmt.Errorf("decode reasons: %w", err)
			}
			events = append(events, e)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, s.fail("list auth events", err)
	}
	return events, nil
}
