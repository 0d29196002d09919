package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// oidcCodeRetention is how long a code row outlives its expiry, so that a late replay of a used
// code is still recognized (and revokes its grant) rather than answered as unknown.
const oidcCodeRetention = time.Hour

const oidcCodeColumns = "code_hash, grant_id, app_id, client_id, redirect_uri, code_challenge, nonce, scopes, user_id, session_id, auth_time, identity, created_at, expires_at, used_at"

const oidcGrantColumns = "id, app_id, client_id, user_id, session_id, scopes, public_client, auth_time, identity, created_at, expires_at, revoked_at, revoke_reason"

const oidcRefreshColumns = "token_hash, grant_id, created_at, expires_at, used_at, successor_hash, sealed_successor"

func joinScopes(s []string) string { return strings.Join(s, " ") }

func splitScopes(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, " ")
}

// blob returns b, or nil for an empty slice, so that empty identities round-trip as nil.
func blob(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

func scanOIDCCode(sc scanner) (*store.OIDCCode, error) {
	var (
		c                                  store.OIDCCode
		scopes                             string
		authTime, created, expires, usedAt int64
	)
	if err := sc.Scan(&c.CodeHash, &c.GrantID, &c.AppID, &c.ClientID, &c.RedirectURI, &c.CodeChallenge, &c.Nonce, &scopes,
		&c.UserID, &c.SessionID, &authTime, &c.Identity, &created, &expires, &usedAt); err != nil {
		return nil, err
	}
	c.Scopes = splitScopes(scopes)
	c.Identity = blob(c.Identity)
	c.AuthTime, c.CreatedAt, c.ExpiresAt, c.UsedAt = fromMicros(authTime), fromMicros(created), fromMicros(expires), fromMicros(usedAt)
	return &c, nil
}

func scanOIDCGrant(sc scanner) (*store.OIDCGrant, error) {
	var (
		g                                   store.OIDCGrant
		scopes                              string
		public                              int
		authTime, created, expires, revoked int64
	)
	if err := sc.Scan(&g.ID, &g.AppID, &g.ClientID, &g.UserID, &g.SessionID, &scopes, &public, &authTime, &g.Identity,
		&created, &expires, &revoked, &g.RevokeReason); err != nil {
		return nil, err
	}
	g.Scopes = splitScopes(scopes)
	g.PublicClient = public != 0
	g.Identity = blob(g.Identity)
	g.AuthTime, g.CreatedAt, g.ExpiresAt, g.RevokedAt = fromMicros(authTime), fromMicros(created), fromMicros(expires), fromMicros(revoked)
	return &g, nil
}

func scanOIDCRefresh(sc scanner) (*store.OIDCRefreshToken, error) {
	var (
		t                        store.OIDCRefreshToken
		created, expires, usedAt int64
	)
	if err := sc.Scan(&t.TokenHash, &t.GrantID, &created, &expires, &usedAt, &t.SuccessorHash, &t.SealedSuccessor); err != nil {
		return nil, err
	}
	t.SealedSuccessor = blob(t.SealedSuccessor)
	t.CreatedAt, t.ExpiresAt, t.UsedAt = fromMicros(created), fromMicros(expires), fromMicros(usedAt)
	return &t, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// CreateOIDCCode stores an authorization code; a zero CreatedAt means now. ErrAlreadyExists if
// the hash is taken. It also deletes the OIDC rows that expired (codes after their retention),
// so that the tables stay small without touching the general sweep.
func (s *Store) CreateOIDCCode(ctx context.Context, c *store.OIDCCode) error {
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx, now time.Time) error {
		for _, q := range []struct {
			query  string
			before time.Time
		}{
			{"DELETE FROM oidc_codes WHERE expires_at <= ?", now.Add(-oidcCodeRetention)},
			{"DELETE FROM oidc_refresh_tokens WHERE expires_at <= ?", now},
			{"DELETE FROM oidc_grants WHERE expires_at <= ?", now},
		} {
			if _, err := tx.ExecContext(ctx, s.d.rebind(q.query), micros(q.before)); err != nil {
				return fmt.Errorf("delete expired OIDC rows: %w", err)
			}
		}
		return s.insert(ctx, tx, "INSERT INTO oidc_codes ("+oidcCodeColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
			c.CodeHash, c.GrantID, c.AppID, c.ClientID, c.RedirectURI, c.CodeChallenge, c.Nonce, joinScopes(c.Scopes),
			c.UserID, c.SessionID, micros(utc(c.AuthTime)), blob(c.Identity), micros(createdOr(c.CreatedAt, now)),
			micros(utc(c.ExpiresAt)), micros(utc(c.UsedAt)))
	})
	if err != nil {
		return s.fail("create OIDC code", err)
	}
	return nil
}

// revokeGrant marks grant id revoked with reason unless it already is (or does not exist).
func (s *Store) revokeGrant(ctx context.Context, tx *sql.Tx, id, reason string, now time.Time) error {
	_, err := tx.ExecContext(ctx, s.d.rebind("UPDATE oidc_grants SET revoked_at = ?, revoke_reason = ? WHERE id = ? AND revoked_at = 0"),
		micros(now), reason, id)
	return err
}

func (s *Store) insertGrant(ctx context.Context, tx *sql.Tx, g *store.OIDCGrant) error {
	return s.insert(ctx, tx, "INSERT INTO oidc_grants ("+oidcGrantColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		g.ID, g.AppID, g.ClientID, g.UserID, g.SessionID, joinScopes(g.Scopes), boolInt(g.PublicClient), micros(g.AuthTime),
		blob(g.Identity), micros(g.CreatedAt), micros(g.ExpiresAt), micros(g.RevokedAt), g.RevokeReason)
}

func (s *Store) insertRefresh(ctx context.Context, tx *sql.Tx, t *store.OIDCRefreshToken) error {
	return s.insert(ctx, tx, "INSERT INTO oidc_refresh_tokens ("+oidcRefreshColumns+") VALUES (?, ?, ?, ?, ?, ?, ?)",
		t.TokenHash, t.GrantID, micros(t.CreatedAt), micros(t.ExpiresAt), micros(t.UsedAt), t.SuccessorHash, blob(t.SealedSuccessor))
}

// normalizeGrant returns a copy of g with times in UTC (CreatedAt defaulting to now).
func normalizeGrant(g *store.OIDCGrant, now time.Time) *store.OIDCGrant {
	n := *g
	n.Scopes = append([]string(nil), g.Scopes...)
	if len(n.Scopes) == 0 {
		n.Scopes = nil
	}
	n.Identity = blob(g.Identity)
	n.CreatedAt = createdOr(g.CreatedAt, now)
	n.AuthTime, n.ExpiresAt, n.RevokedAt = utc(g.AuthTime), utc(g.ExpiresAt), utc(g.RevokedAt)
	return &n
}

func normalizeRefresh(t *store.OIDCRefreshToken, now time.Time) *store.OIDCRefreshToken {
	n := *t
	n.CreatedAt = createdOr(t.CreatedAt, now)
	n.ExpiresAt, n.UsedAt = utc(t.ExpiresAt), utc(t.UsedAt)
	n.SealedSuccessor = blob(t.SealedSuccessor)
	return &n
}

// RedeemOIDCCode uses a code once and creates the grant redeem returns; see store.Store. A
// replayed code revokes its grant and the revocation is committed before ErrConflict returns.
func (s *Store) RedeemOIDCCode(ctx context.Context, codeHash string, redeem func(*store.OIDCCode) (*store.OIDCGrant, *store.OIDCRefreshToken, error)) (*store.OIDCCode, *store.OIDCGrant, error) {
	var (
		code     *store.OIDCCode
		grant    *store.OIDCGrant
		replayed bool
	)
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx, now time.Time) error {
		replayed = false
		c, err := scanOIDCCode(tx.QueryRowContext(ctx, s.d.rebind("SELECT "+oidcCodeColumns+" FROM oidc_codes WHERE code_hash = ?"+s.d.forUpdate), codeHash))
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return store.ErrNotFound
		case err != nil:
			return err
		case !c.UsedAt.IsZero():
			// A replay: commit the revocation, then report the conflict.
			replayed = true
			return s.revokeGrant(ctx, tx, c.GrantID, store.OIDCRevokedCodeReplayed, now)
		case !c.ExpiresAt.After(now):
			return store.ErrNotFound
		}
		arg := *c
		arg.Scopes = append([]string(nil), c.Scopes...)
		g, rt, err := redeem(&arg)
		if err != nil {
			return &callbackError{err}
		}
		if g == nil || g.ID != c.GrantID {
			return errors.New("redeem must return the grant named by the code's GrantID")
		}
		if rt != nil && rt.GrantID != g.ID {
			return errors.New("refresh token does not belong to the grant")
		}
		if _, err := tx.ExecContext(ctx, s.d.rebind("UPDATE oidc_codes SET used_at = ? WHERE code_hash = ? AND used_at = 0"), micros(now), codeHash); err != nil {
			return err
		}
		grant = normalizeGrant(g, now)
		if err := s.insertGrant(ctx, tx, grant); err != nil {
			return err
		}
		if rt != nil {
			if err := s.insertRefresh(ctx, tx, normalizeRefresh(rt, now)); err != nil {
				return err
			}
		}
		c.UsedAt = now
		code = c
		return nil
	})
	if err == nil && replayed {
		err = fmt.Errorf("code already used: %w", store.ErrConflict)
	}
	if err != nil {
		return nil, nil, s.fail("redeem OIDC code", err)
	}
	return code, grant, nil
}

// getGrant reads an unexpired grant inside tx.
func (s *Store) getGrant(ctx context.Context, tx *sql.Tx, id string, now time.Time, lock bool) (*store.OIDCGrant, error) {
	q := "SELECT " + oidcGrantColumns + " FROM oidc_grants WHERE id = ? AND expires_at > ?"
	if lock {
		q += s.d.forUpdate
	}
	g, err := scanOIDCGrant(tx.QueryRowContext(ctx, s.d.rebind(q), id, micros(now)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	return g, err
}

// GetOIDCGrant returns an unexpired grant, revoked or not.
func (s *Store) GetOIDCGrant(ctx context.Context, id string) (*store.OIDCGrant, error) {
	var g *store.OIDCGrant
	err := s.read(ctx, func(ctx context.Context, tx *sql.Tx, now time.Time) error {
		var err error
		g, err = s.getGrant(ctx, tx, id, now, false)
		return err
	})
	if err != nil {
		return nil, s.fail("get OIDC grant", err)
	}
	return g, nil
}

// RevokeOIDCGrant marks an unexpired grant revoked; the first revocation's time and reason stay.
func (s *Store) RevokeOIDCGrant(ctx context.Context, id, reason string) error {
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx, now time.Time) error {
		if _, err := s.getGrant(ctx, tx, id, now, true); err != nil {
			return err
		}
		return s.revokeGrant(ctx, tx, id, reason, now)
	})
	if err != nil {
		return s.fail("revoke OIDC grant", err)
	}
	return nil
}

// GetOIDCRefreshToken returns an unexpired refresh token and its unexpired grant.
func (s *Store) GetOIDCRefreshToken(ctx context.Context, tokenHash string) (*store.OIDCRefreshToken, *store.OIDCGrant, error) {
	var (
		t *store.OIDCRefreshToken
		g *store.OIDCGrant
	)
	err := s.read(ctx, func(ctx context.Context, tx *sql.Tx, now time.Time) error {
		var err error
		t, err = scanOIDCRefresh(tx.QueryRowContext(ctx, s.d.rebind("SELECT "+oidcRefreshColumns+" FROM oidc_refresh_tokens WHERE token_hash = ? AND expires_at > ?"),
			tokenHash, micros(now)))
		if errors.Is(err, sql.ErrNoRows) {
			return store.ErrNotFound
		}
		if err != nil {
			return err
		}
		g, err = s.getGrant(ctx, tx, t.GrantID, now, false)
		return err
	})
	if err != nil {
		return nil, nil, s.fail("get OIDC refresh token", err)
	}
	return t, g, nil
}

// RotateOIDCRefreshToken replaces a refresh token by r.Next; see store.Store. A reuse outside
// the grace period revokes the grant and the revocation is committed before ErrConflict
// returns.
func (s *Store) RotateOIDCRefreshToken(ctx context.Context, r *store.OIDCRefreshRotation) (*store.OIDCRefreshRotated, error) {
	var (
		out    *store.OIDCRefreshRotated
		reused bool
	)
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx, now time.Time) error {
		out, reused = nil, false
		old, err := scanOIDCRefresh(tx.QueryRowContext(ctx, s.d.rebind("SELECT "+oidcRefreshColumns+" FROM oidc_refresh_tokens WHERE token_hash = ?"+s.d.forUpdate), r.OldHash))
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return store.ErrNotFound
		case err != nil:
			return err
		case !old.ExpiresAt.After(now):
			return store.ErrNotFound
		}
		g, err := s.getGrant(ctx, tx, old.GrantID, now, true)
		grace := false
		switch {
		case err != nil:
			return err
		case !g.RevokedAt.IsZero():
			return fmt.Errorf("grant revoked: %w", store.ErrConflict)
		case !old.UsedAt.IsZero():
			if grace, err = s.forgivenReuse(ctx, tx, old, r.ReuseGrace, now); err != nil {
				return err
			}
			if !grace {
				reused = true
				return s.revokeGrant(ctx, tx, g.ID, store.OIDCRevokedRefreshReused, now)
			}
		case r.Next == nil || r.Next.GrantID != g.ID:
			return errors.New("next refresh token does not belong to the grant")
		}
		arg := *g
		arg.Scopes = append([]string(nil), g.Scopes...)
		arg.Identity = append([]byte(nil), g.Identity...)
		if err := r.Update(&arg); err != nil {
			return &callbackError{err}
		}
		g.Identity, g.ExpiresAt = blob(arg.Identity), utc(arg.ExpiresAt)
		if !grace {
			if _, err := tx.ExecContext(ctx, s.d.rebind("UPDATE oidc_refresh_tokens SET used_at = ?, successor_hash = ?, sealed_successor = ? WHERE token_hash = ?"),
				micros(now), r.Next.TokenHash, blob(r.SealedNext), r.OldHash); err != nil {
				return err
			}
			if err := s.insertRefresh(ctx, tx, normalizeRefresh(r.Next, now)); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, s.d.rebind("UPDATE oidc_grants SET identity = ?, expires_at = ? WHERE id = ?"),
			g.Identity, micros(g.ExpiresAt), g.ID); err != nil {
			return err
		}
		out = &store.OIDCRefreshRotated{Grant: g, Reused: grace}
		if grace {
			out.SealedSuccessor = old.SealedSuccessor
		}
		return nil
	})
	if err == nil && reused {
		err = fmt.Errorf("refresh token already used: %w", store.ErrConflict)
	}
	if err != nil {
		return nil, s.fail("rotate OIDC refresh token", err)
	}
	return out, nil
}

// forgivenReuse reports whether presenting the used token old again at now falls within the
// reuse grace period: less than grace after its rotation, with a sealed successor that is
// unexpired and not used itself.
func (s *Store) forgivenReuse(ctx context.Context, tx *sql.Tx, old *store.OIDCRefreshToken, grace time.Duration, now time.Time) (bool, error) {
	if grace <= 0 || !now.Before(old.UsedAt.Add(grace)) || old.SuccessorHash == "" || len(old.SealedSuccessor) == 0 {
		return false, nil
	}
	next, err := scanOIDCRefresh(tx.QueryRowContext(ctx, s.d.rebind("SELECT "+oidcRefreshColumns+" FROM oidc_refresh_tokens WHERE token_hash = ?"), old.SuccessorHash))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, err
	}
	return next.GrantID == old.GrantID && next.UsedAt.IsZero() && next.ExpiresAt.After(now), nil
}
