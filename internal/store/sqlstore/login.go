package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// createdOr returns t normalized, or now when t is zero.
func createdOr(t, now time.Time) time.Time {
	if t.IsZero() {
		return now
	}
	return utc(t)
}

// insert runs an INSERT and maps a key collision to ErrAlreadyExists.
func (s *Store) insert(ctx context.Context, tx *sql.Tx, query string, args ...any) error {
	_, err := tx.ExecContext(ctx, s.d.rebind(query), args...)
	if s.d.isUniqueViolation(err) {
		return store.ErrAlreadyExists
	}
	return err
}

const loginFlowColumns = "id, app_id, redirect_url, idp_id, created_at, expires_at, browser_binding, data"

// CreateLoginFlow stores a login in progress; a zero CreatedAt means now. ErrAlreadyExists if the
// ID is taken.
func (s *Store) CreateLoginFlow(ctx context.Context, f *store.LoginFlow) error {
	data, err := json.Marshal(f.Data)
	if err != nil {
		return fmt.Errorf("sqlstore: create login flow: encode data: %w", err)
	}
	err = s.write(ctx, func(ctx context.Context, tx *sql.Tx, now time.Time) error {
		return s.insert(ctx, tx, "INSERT INTO login_flows ("+loginFlowColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
			f.ID, f.AppID, f.RedirectURL, f.IdPID, micros(createdOr(f.CreatedAt, now)), micros(utc(f.ExpiresAt)),
			f.BrowserBinding, string(data))
	})
	if err != nil {
		return s.fail("create login flow", err)
	}
	return nil
}

// GetLoginFlow returns an unexpired login flow.
func (s *Store) GetLoginFlow(ctx context.Context, id string) (*store.LoginFlow, error) {
	var f store.LoginFlow
	err := s.read(ctx, func(ctx context.Context, tx *sql.Tx, now time.Time) error {
		var created, expires int64
		var data string
		err := tx.QueryRowContext(ctx, s.d.rebind("SELECT "+loginFlowColumns+" FROM login_flows WHERE id = ? AND expires_at > ?"), id, micros(now)).
			Scan(&f.ID, &f.AppID, &f.RedirectURL, &f.IdPID, &created, &expires, &f.BrowserBinding, &data)
		if errors.Is(err, sql.ErrNoRows) {
			return store.ErrNotFound
		}
		if err != nil {
			return err
		}
		f.CreatedAt, f.ExpiresAt = fromMicros(created), fromMicros(expires)
		if err := json.Unmarshal([]byte(data), &f.Data); err != nil {
			return fmt.Errorf("decode data: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, s.fail("get login flow", err)
	}
	return &f, nil
}

// DeleteLoginFlow removes a login flow. ErrNotFound when it is unknown or expired (expired rows
// are left to the periodic sweep).
func (s *Store) DeleteLoginFlow(ctx context.Context, id string) error {
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx, now time.Time) error {
		var expires int64
		err := tx.QueryRowContext(ctx, s.d.rebind("DELETE FROM login_flows WHERE id = ? RETURNING expires_at"), id).Scan(&expires)
		if errors.Is(err, sql.ErrNoRows) || err == nil && expires <= micros(now) {
			return store.ErrNotFound
		}
		return err
	})
	if err != nil {
		return s.fail("delete login flow", err)
	}
	return nil
}

const handoffColumns = "code_hash, session_id, app_id, host, redirect_url, browser_binding, token, created_at, expires_at, used_at"

// CreateHandoffCode stores a single-use code; a zero CreatedAt means now. ErrAlreadyExists if the
// hash is taken.
func (s *Store) CreateHandoffCode(ctx context.Context, c *store.HandoffCode) error {
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx, now time.Time) error {
		return s.insert(ctx, tx, "INSERT INTO handoff_codes ("+handoffColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
			c.CodeHash, c.SessionID, c.AppID, c.Host, c.RedirectURL, c.BrowserBinding, c.Token,
			micros(createdOr(c.CreatedAt, now)), micros(utc(c.ExpiresAt)), micros(utc(c.UsedAt)))
	})
	if err != nil {
		return s.fail("create handoff code", err)
	}
	return nil
}

// ConsumeHandoffCode marks an unused, unexpired code used and returns it.
func (s *Store) ConsumeHandoffCode(ctx context.Context, codeHash string) (*store.HandoffCode, error) {
	var c store.HandoffCode
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx, now time.Time) error {
		var created, expires, used int64
		// The conditional UPDATE is the single point of decision, whatever the isolation level.
		err := tx.QueryRowContext(ctx, s.d.rebind("UPDATE handoff_codes SET used_at = ? WHERE code_hash = ? AND used_at = 0 AND expires_at > ? RETURNING "+handoffColumns),
			micros(now), codeHash, micros(now)).
			Scan(&c.CodeHash, &c.SessionID, &c.AppID, &c.Host, &c.RedirectURL, &c.BrowserBinding, &c.Token, &created, &expires, &used)
		if err == nil {
			c.CreatedAt, c.ExpiresAt, c.UsedAt = fromMicros(created), fromMicros(expires), fromMicros(used)
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		err = tx.QueryRowContext(ctx, s.d.rebind("SELECT expires_at, used_at FROM handoff_codes WHERE code_hash = ?"), codeHash).Scan(&expires, &used)
		switch {
		case errors.Is(err, sql.ErrNoRows), err == nil && expires <= micros(now):
			return store.ErrNotFound
		case err == nil:
			return fmt.Errorf("code already used: %w", store.ErrConflict)
		}
		return err
	})
	if err != nil {
		return nil, s.fail("consume handoff code", err)
	}
	return &c, nil
}

const pinColumns = "id, email, pin_hash, attempts, created_at, expires_at, used_at"

// CreatePINChallenge stores a PIN challenge; a zero CreatedAt means now. ErrAlreadyExists if the
// ID is taken.
func (s *Store) CreatePINChallenge(ctx context.Context, c *store.PINChallenge) error {
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx, now time.Time) error {
		return s.insert(ctx, tx, "INSERT INTO pin_challenges ("+pinColumns+") VALUES (?, ?, ?, ?, ?, ?, ?)",
			c.ID, c.Email, c.PINHash, c.Attempts, micros(createdOr(c.CreatedAt, now)), micros(utc(c.ExpiresAt)), micros(utc(c.UsedAt)))
	})
	if err != nil {
		return s.fail("create PIN challenge", err)
	}
	return nil
}

// AttemptPINChallenge counts an attempt, calls check with the updated challenge and marks the
// challenge used when check returns true. check runs inside the transaction and may run more than
// once if the transaction is retried.
func (s *Store) AttemptPINChallenge(ctx context.Context, id string, maxAttempts int, check func(*store.PINChallenge) bool) (*store.PINChallenge, bool, error) {
	var (
		c        store.PINChallenge
		consumed bool
	)
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx, now time.Time) error {
		var created, expires, used int64
		err := tx.QueryRowContext(ctx, s.d.rebind("SELECT "+pinColumns+" FROM pin_challenges WHERE id = ?"+s.d.forUpdate), id).
			Scan(&c.ID, &c.Email, &c.PINHash, &c.Attempts, &created, &expires, &used)
		switch {
		case errors.Is(err, sql.ErrNoRows), err == nil && expires <= micros(now):
			return store.ErrNotFound
		case err != nil:
			return err
		case used != 0:
			return fmt.Errorf("challenge already used: %w", store.ErrConflict)
		case c.Attempts >= maxAttempts:
			return fmt.Errorf("too many attempts: %w", store.ErrConflict)
		}
		c.CreatedAt, c.ExpiresAt = fromMicros(created), fromMicros(expires)
		c.Attempts++
		arg := c
		consumed = check(&arg)
		c.UsedAt = time.Time{}
		if consumed {
			c.UsedAt = now
		}
		_, err = tx.ExecContext(ctx, s.d.rebind("UPDATE pin_challenges SET attempts = ?, used_at = ? WHERE id = ?"),
			c.Attempts, micros(c.UsedAt), id)
		return err
	})
	if err != nil {
		return nil, false, s.fail("attempt PIN challenge", err)
	}
	return &c, consumed, nil
}
