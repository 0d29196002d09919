package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

const sessionColumns = "id, user_id, email, idp_id, created_at, expires_at, revoked_at, ip, country, identity"

func scanSession(sc scanner) (*store.Session, error) {
	var (
		ss                        store.Session
		created, expires, revoked int64
	)
	if err := sc.Scan(&ss.ID, &ss.UserID, &ss.Email, &ss.IdPID, &created, &expires, &revoked, &ss.IP, &ss.Country, &ss.Identity); err != nil {
		return nil, err
	}
	ss.CreatedAt, ss.ExpiresAt, ss.RevokedAt = fromMicros(created), fromMicros(expires), fromMicros(revoked)
	if len(ss.Identity) == 0 {
		ss.Identity = nil
	}
	return &ss, nil
}

// CreateSession stores a new session; a zero CreatedAt means now. ErrAlreadyExists if the ID is
// taken.
func (s *Store) CreateSession(ctx context.Context, ss *store.Session) error {
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx, now time.Time) error {
		created := utc(ss.CreatedAt)
		if created.IsZero() {
			created = now
		}
		var identity []byte
		if len(ss.Identity) > 0 {
			identity = ss.Identity
		}
		_, err := tx.ExecContext(ctx, s.d.rebind("INSERT INTO sessions ("+sessionColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
			ss.ID, ss.UserID, ss.Email, ss.IdPID, micros(created), micros(utc(ss.ExpiresAt)), micros(utc(ss.RevokedAt)),
			ss.IP, ss.Country, identity)
		if s.d.isUniqueViolation(err) {
			return store.ErrAlreadyExists
		}
		return err
	})
	if err != nil {
		return s.fail("create session", err)
	}
	return nil
}

// GetSession returns an unexpired session, revoked or not.
func (s *Store) GetSession(ctx context.Context, id string) (*store.Session, error) {
	var ss *store.Session
	err := s.read(ctx, func(ctx context.Context, tx *sql.Tx, now time.Time) error {
		var err error
		ss, err = scanSession(tx.QueryRowContext(ctx, s.d.rebind("SELECT "+sessionColumns+" FROM sessions WHERE id = ? AND expires_at > ?"),
			id, micros(now)))
		if errors.Is(err, sql.ErrNoRows) {
			return store.ErrNotFound
		}
		return err
	})
	if err != nil {
		return nil, s.fail("get session", err)
	}
	return ss, nil
}

// ListUserSessions returns the user's unexpired sessions, newest first.
func (s *Store) ListUserSessions(ctx context.Context, userID string) ([]store.Session, error) {
	var list []store.Session
	err := s.read(ctx, func(ctx context.Context, tx *sql.Tx, now time.Time) error {
		rows, err := tx.QueryContext(ctx, s.d.rebind("SELECT "+sessionColumns+" FROM sessions WHERE user_id = ? AND expires_at > ? ORDER BY created_at DESC, id DESC"),
			userID, micros(now))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			ss, err := scanSession(rows)
			if err != nil {
				return err
			}
			list = append(list, *ss)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, s.fail("list user sessions", err)
	}
	return list, nil
}

// RevokeSession marks an unexpired session revoked; revoking it again changes nothing.
// ErrNotFound when the session is unknown or expired.
func (s *Store) RevokeSession(ctx context.Context, id string) error {
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx, now time.Time) error {
		var revoked int64
		err := tx.QueryRowContext(ctx, s.d.rebind("SELECT revoked_at FROM sessions WHERE id = ? AND expires_at > ?"+s.d.forUpdate),
			id, micros(now)).Scan(&revoked)
		if errors.Is(err, sql.ErrNoRows) {
			return store.ErrNotFound
		}
		if err != nil || revoked != 0 {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.d.rebind("UPDATE sessions SET revoked_at = ? WHERE id = ?"), micros(now), id); err != nil {
			return err
		}
		return s.publish(ctx, tx, store.Change{Revocations: true})
	})
	if err != nil {
		return s.fail("revoke session", err)
	}
	s.watchers.notify(store.Change{Revocations: true})
	return nil
}

// RevokeUserSessions sets the user's TokensNotBefore to now and revokes all their sessions not
// revoked yet. ErrNotFound when the user is unknown.
func (s *Store) RevokeUserSessions(ctx context.Context, userID string) error {
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx, now time.Time) error {
		return s.revokeUserSessions(ctx, tx, userID, now)
	})
	if err != nil {
		return s.fail("revoke user sessions", err)
	}
	s.watchers.notify(store.Change{Revocations: true})
	return nil
}

// revokeUserSessions is RevokeUserSessions inside tx; the caller notifies watchers after the
// commit.
func (s *Store) revokeUserSessions(ctx context.Context, tx *sql.Tx, userID string, now time.Time) error {
	res, err := tx.ExecContext(ctx, s.d.rebind("UPDATE users SET tokens_not_before = ?, updated_at = ? WHERE id = ?"),
		micros(now), micros(now), userID)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return store.ErrNotFound
	}
	if _, err := tx.ExecContext(ctx, s.d.rebind("UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at = 0"),
		micros(now), userID); err != nil {
		return err
	}
	if err := s.deleteUserMCPGrants(ctx, tx, userID); err != nil {
		return err
	}
	return s.publish(ctx, tx, store.Change{Revocations: true})
}

// RevokeAppTokens sets the application's token not-before to now.
func (s *Store) RevokeAppTokens(ctx context.Context, appID string) error {
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx, now time.Time) error {
		_, err := tx.ExecContext(ctx, s.d.rebind("INSERT INTO app_revocations (app_id, not_before) VALUES (?, ?)"+
			s.d.upsert("app_id", "not_before = excluded.not_before")), appID, micros(now))
		if err != nil {
			return err
		}
		return s.publish(ctx, tx, store.Change{Revocations: true})
	})
	if err != nil {
		return s.fail("revoke app tokens", err)
	}
	s.watchers.notify(store.Change{Revocations: true})
	return nil
}

// Revocations returns user and app not-before times and the revoked, unexpired sessions.
func (s *Store) Revocations(ctx context.Context) (*store.Revocations, error) {
	r := &store.Revocations{
		UserNotBefore:   map[string]time.Time{},
		AppNotBefore:    map[string]time.Time{},
		RevokedSessions: map[string]time.Time{},
	}
	err := s.read(ctx, func(ctx context.Context, tx *sql.Tx, now time.Time) error {
		for _, q := range []struct {
			query string
			args  []any
			into  map[string]time.Time
		}{
			{"SELECT id, tokens_not_before FROM users WHERE tokens_not_before <> 0", nil, r.UserNotBefore},
			{"SELECT app_id, not_before FROM app_revocations", nil, r.AppNotBefore},
			{"SELECT id, expires_at FROM sessions WHERE revoked_at <> 0 AND expires_at > ?", []any{micros(now)}, r.RevokedSessions},
		} {
			if err := scanTimes(ctx, tx, s.d.rebind(q.query), q.args, q.into); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, s.fail("revocations", err)
	}
	return r, nil
}

// scanTimes reads (id, micros) rows into m.
func scanTimes(ctx context.Context, tx *sql.Tx, query string, args []any, m map[string]time.Time) error {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var t int64
		if err := rows.Scan(&id, &t); err != nil {
			return err
		}
		m[id] = fromMicros(t)
	}
	return rows.Err()
}
