package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/internal/store"
)

const userColumns = "id, email, name, status, created_at, updated_at, tokens_not_before, last_seen"

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

func scanUser(sc scanner) (*store.User, error) {
	var (
		u                         store.User
		created, updated, notBefr int64
		lastSeen                  string
	)
	if err := sc.Scan(&u.ID, &u.Email, &u.Name, &u.Status, &created, &updated, &notBefr, &lastSeen); err != nil {
		return nil, err
	}
	u.CreatedAt, u.UpdatedAt, u.TokensNotBefore = fromMicros(created), fromMicros(updated), fromMicros(notBefr)
	if err := json.Unmarshal([]byte(lastSeen), &u.LastSeen); err != nil {
		return nil, fmt.Errorf("decode last_seen: %w", err)
	}
	return &u, nil
}

func encodeLastSeen(ls store.LastSeen) (string, error) {
	ls.At = utc(ls.At)
	if len(ls.Identity) == 0 {
		ls.Identity = nil
	}
	b, err := json.Marshal(ls)
	if err != nil {
		return "", fmt.Errorf("encode last_seen: %w", err)
	}
	return string(b), nil
}

// foldEmail is the form in which e-mail addresses are stored and compared.
func foldEmail(email string) string { return strings.ToLower(email) }

// UpsertUserByEmail returns the user with the case-folded e-mail, creating it (status active) if
// absent, and records seen as its last login; a zero seen.At means now.
func (s *Store) UpsertUserByEmail(ctx context.Context, email string, seen store.LastSeen) (*store.User, error) {
	var u *store.User
	err := s.write(ctx, func(tx *sql.Tx, now time.Time) error {
		if seen.At.IsZero() {
			seen.At = now
		}
		ls, err := encodeLastSeen(seen)
		if err != nil {
			return err
		}
		id, err := uuid.NewRandom()
		if err != nil {
			return err
		}
		// One statement, so concurrent first logins of the same address agree on the ID.
		row := tx.QueryRowContext(ctx, s.d.rebind("INSERT INTO users ("+userColumns+") VALUES (?, ?, '', ?, ?, ?, 0, ?)"+
			s.d.upsert("email", "updated_at = excluded.updated_at, last_seen = excluded.last_seen")+
			" RETURNING "+userColumns),
			id.String(), foldEmail(email), store.UserActive, micros(now), micros(now), ls)
		u, err = scanUser(row)
		return err
	})
	if err != nil {
		return nil, s.fail("upsert user", err)
	}
	return u, nil
}

// GetUser returns a user by ID.
func (s *Store) GetUser(ctx context.Context, id string) (*store.User, error) {
	var u *store.User
	err := s.read(ctx, func(tx *sql.Tx, _ time.Time) error {
		var err error
		u, err = s.getUser(ctx, tx, id, false)
		return err
	})
	if err != nil {
		return nil, s.fail("get user", err)
	}
	return u, nil
}

func (s *Store) getUser(ctx context.Context, tx *sql.Tx, id string, lock bool) (*store.User, error) {
	q := "SELECT " + userColumns + " FROM users WHERE id = ?"
	if lock {
		q += s.d.forUpdate
	}
	u, err := scanUser(tx.QueryRowContext(ctx, s.d.rebind(q), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	return u, err
}

// UpdateUser runs update on the user and stores the result. The ID and CreatedAt cannot change;
// UpdatedAt becomes now; the e-mail is case-folded and ErrAlreadyExists if another user has it.
func (s *Store) UpdateUser(ctx context.Context, id string, update func(*store.User) error) (*store.User, error) {
	var u *store.User
	err := s.write(ctx, func(tx *sql.Tx, now time.Time) error {
		cur, err := s.getUser(ctx, tx, id, true)
		if err != nil {
			return err
		}
		createdAt := cur.CreatedAt
		if err := update(cur); err != nil {
			return &callbackError{err}
		}
		cur.ID, cur.CreatedAt, cur.UpdatedAt = id, createdAt, now
		cur.Email = foldEmail(cur.Email)
		cur.TokensNotBefore = utc(cur.TokensNotBefore)
		ls, err := encodeLastSeen(cur.LastSeen)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, s.d.rebind("UPDATE users SET email = ?, name = ?, status = ?, updated_at = ?, tokens_not_before = ?, last_seen = ? WHERE id = ?"),
			cur.Email, cur.Name, cur.Status, micros(now), micros(cur.TokensNotBefore), ls, id)
		if s.d.isUniqueViolation(err) {
			return fmt.Errorf("e-mail taken by another user: %w", store.ErrAlreadyExists)
		}
		if err != nil {
			return err
		}
		// Read back so the result is exactly what GetUser returns.
		u, err = s.getUser(ctx, tx, id, false)
		return err
	})
	if err != nil {
		return nil, s.fail("update user", err)
	}
	return u, nil
}

// ListUsers returns every user ordered by e-mail.
func (s *Store) ListUsers(ctx context.Context) ([]store.User, error) {
	var users []store.User
	err := s.read(ctx, func(tx *sql.Tx, _ time.Time) error {
		rows, err := tx.QueryContext(ctx, s.d.rebind("SELECT "+userColumns+" FROM users ORDER BY email, id"))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			u, err := scanUser(rows)
			if err != nil {
				return err
			}
			users = append(users, *u)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, s.fail("list users", err)
	}
	return users, nil
}
