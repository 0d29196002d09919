package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/internal/mailaddr"
	"github.com/gatehouse/gatehouse/internal/store"
)

const userColumns = "id, email, name, status, created_at, updated_at, tokens_not_before, last_seen, idp_ids, scim_groups"

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

func scanUser(sc scanner) (*store.User, error) {
	var (
		u                         store.User
		created, updated, notBefr int64
		lastSeen, idps, groups    string
	)
	if err := sc.Scan(&u.ID, &u.Email, &u.Name, &u.Status, &created, &updated, &notBefr, &lastSeen, &idps, &groups); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(idps), &u.IdPIDs); err != nil {
		return nil, fmt.Errorf("decode idp_ids: %w", err)
	}
	if err := json.Unmarshal([]byte(groups), &u.SCIMGroups); err != nil {
		return nil, fmt.Errorf("decode scim_groups: %w", err)
	}
	if len(u.IdPIDs) == 0 {
		u.IdPIDs = nil
	}
	if len(u.SCIMGroups) == 0 {
		u.SCIMGroups = nil
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

// Users are stored and found under the normal form of their address (package mailaddr), compared
// byte for byte: the database never folds case (no LOWER(), whose Unicode rules differ between
// SQLite and PostgreSQL and would make look-alikes equal), and an address without a normal form is
// refused with its *mailaddr.Error. Rows written before the normal form existed keep their
// address; one that is not a normal form can never be matched by a login, and stays editable.

// UpsertUserByEmail returns the user with the normal form of email, creating it (status active)
// if absent, and records seen as its last login; a zero seen.At means now.
func (s *Store) UpsertUserByEmail(ctx context.Context, email string, seen store.LastSeen) (*store.User, error) {
	email, err := mailaddr.Normalize(email)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: upsert user: %w", err)
	}
	var u *store.User
	err = s.write(ctx, func(ctx context.Context, tx *sql.Tx, now time.Time) error {
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
		row := tx.QueryRowContext(ctx, s.d.rebind("INSERT INTO users ("+userColumns+") VALUES (?, ?, '', ?, ?, ?, 0, ?, '[]', '{}')"+
			s.d.upsert("email", "updated_at = excluded.updated_at, last_seen = excluded.last_seen")+
			" RETURNING "+userColumns),
			id.String(), email, store.UserActive, micros(now), micros(now), ls)
		if u, err = scanUser(row); err != nil || seen.IdPID == "" || slices.Contains(u.IdPIDs, seen.IdPID) {
			return err
		}
		u.IdPIDs = append(u.IdPIDs, seen.IdPID)
		idps, err := json.Marshal(u.IdPIDs)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, s.d.rebind("UPDATE users SET idp_ids = ? WHERE id = ?"), string(idps), u.ID)
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
	err := s.read(ctx, func(ctx context.Context, tx *sql.Tx, _ time.Time) error {
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
// UpdatedAt becomes now; a changed e-mail is stored in its normal form (refused without one) and
// ErrAlreadyExists if another user has it.
func (s *Store) UpdateUser(ctx context.Context, id string, update func(*store.User) error) (*store.User, error) {
	var (
		u       *store.User
		revoked bool
	)
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx, now time.Time) error {
		cur, err := s.getUser(ctx, tx, id, true)
		if err != nil {
			return err
		}
		before := *cur
		if err := update(cur); err != nil {
			return &callbackError{err}
		}
		u, revoked, err = s.storeUser(ctx, tx, &before, cur, now)
		return err
	})
	if err != nil {
		return nil, s.fail("update user", err)
	}
	if revoked {
		s.watchers.notify(store.Change{Revocations: true})
	}
	return u, nil
}

// storeUser writes cur, the user read as before (locked) and changed by an updater, inside tx:
// ID and CreatedAt are kept, UpdatedAt becomes now, the e-mail is case-folded. It returns the
// user as GetUser would, and whether TokensNotBefore changed, in which case the revocation
// change is published (the caller notifies watchers after the commit).
func (s *Store) storeUser(ctx context.Context, tx *sql.Tx, before, cur *store.User, now time.Time) (*store.User, bool, error) {
	id := before.ID
	cur.ID, cur.CreatedAt, cur.UpdatedAt = id, before.CreatedAt, now
	if cur.Email != before.Email {
		// A new address must have its normal form; an unchanged old one may be kept as it is.
		var err error
		if cur.Email, err = mailaddr.Normalize(cur.Email); err != nil {
			return nil, false, err
		}
	}
	cur.TokensNotBefore = utc(cur.TokensNotBefore)
	revoked := !cur.TokensNotBefore.Equal(before.TokensNotBefore)
	ls, err := encodeLastSeen(cur.LastSeen)
	if err != nil {
		return nil, false, err
	}
	idps, groups, err := encodeUserSets(cur)
	if err != nil {
		return nil, false, err
	}
	_, err = tx.ExecContext(ctx, s.d.rebind("UPDATE users SET email = ?, name = ?, status = ?, updated_at = ?, tokens_not_before = ?, last_seen = ?, idp_ids = ?, scim_groups = ? WHERE id = ?"),
		cur.Email, cur.Name, cur.Status, micros(now), micros(cur.TokensNotBefore), ls, idps, groups, id)
	if s.d.isUniqueViolation(err) {
		return nil, false, fmt.Errorf("e-mail taken by another user: %w", store.ErrAlreadyExists)
	}
	if err != nil {
		return nil, false, err
	}
	if revoked {
		// TokensNotBefore is revocation state every replica holds in memory.
		if err := s.publish(ctx, tx, store.Change{Revocations: true}); err != nil {
			return nil, false, err
		}
	}
	// Read back so the result is exactly what GetUser returns.
	u, err := s.getUser(ctx, tx, id, false)
	return u, revoked, err
}

// encodeUserSets returns the JSON of the user's IdPIDs and SCIMGroups columns.
func encodeUserSets(u *store.User) (idps, groups string, err error) {
	ids, gs := u.IdPIDs, u.SCIMGroups
	if ids == nil {
		ids = []string{}
	}
	if gs == nil {
		gs = map[string][]string{}
	}
	a, err := json.Marshal(ids)
	if err != nil {
		return "", "", fmt.Errorf("encode idp_ids: %w", err)
	}
	b, err := json.Marshal(gs)
	if err != nil {
		return "", "", fmt.Errorf("encode scim_groups: %w", err)
	}
	return string(a), string(b), nil
}

// CreateUser stores a new user with a fresh random UUID and the normal form of its e-mail (both
// set in u). ErrAlreadyExists when the e-mail is taken.
func (s *Store) CreateUser(ctx context.Context, u *store.User) error {
	email, err := mailaddr.Normalize(u.Email)
	if err != nil {
		return fmt.Errorf("sqlstore: create user: %w", err)
	}
	id, err := uuid.NewRandom()
	if err != nil {
		return fmt.Errorf("sqlstore: create user: %w", err)
	}
	err = s.write(ctx, func(ctx context.Context, tx *sql.Tx, now time.Time) error {
		idps, groups, err := encodeUserSets(u)
		if err != nil {
			return err
		}
		ls, err := encodeLastSeen(store.LastSeen{})
		if err != nil {
			return err
		}
		status := u.Status
		if status == "" {
			status = store.UserActive
		}
		_, err = tx.ExecContext(ctx, s.d.rebind("INSERT INTO users ("+userColumns+") VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?, ?)"),
			id.String(), email, u.Name, status, micros(now), micros(now), ls, idps, groups)
		if s.d.isUniqueViolation(err) {
			return store.ErrAlreadyExists
		}
		return err
	})
	if err != nil {
		return s.fail("create user", err)
	}
	u.ID, u.Email = id.String(), email
	return nil
}

// GetUserByEmail returns the user with the normal form of email.
func (s *Store) GetUserByEmail(ctx context.Context, email string) (*store.User, error) {
	email, err := mailaddr.Normalize(email)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: get user by e-mail: %w", err)
	}
	var u *store.User
	err = s.read(ctx, func(ctx context.Context, tx *sql.Tx, _ time.Time) error {
		var err error
		u, err = scanUser(tx.QueryRowContext(ctx, s.d.rebind("SELECT "+userColumns+" FROM users WHERE email = ?"), email))
		if errors.Is(err, sql.ErrNoRows) {
			return store.ErrNotFound
		}
		return err
	})
	if err != nil {
		return nil, s.fail("get user by e-mail", err)
	}
	return u, nil
}

// ListUsers returns every user ordered by e-mail.
func (s *Store) ListUsers(ctx context.Context) ([]store.User, error) {
	var users []store.User
	err := s.read(ctx, func(ctx context.Context, tx *sql.Tx, _ time.Time) error {
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
