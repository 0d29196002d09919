package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

var _ store.MCPUpstreamAuth = (*Store)(nil)

const mcpGrantColumns = "server_id, user_id, user_email, sealed, expires_at, version, created_at, updated_at"

func scanMCPGrant(sc scanner) (*store.MCPUpstreamGrant, error) {
	var (
		g                         store.MCPUpstreamGrant
		expires, created, updated int64
	)
	if err := sc.Scan(&g.ServerID, &g.UserID, &g.UserEmail, &g.Sealed, &expires, &g.Version, &created, &updated); err != nil {
		return nil, err
	}
	g.ExpiresAt, g.CreatedAt, g.UpdatedAt = fromMicros(expires), fromMicros(created), fromMicros(updated)
	return &g, nil
}

// GetMCPUpstreamGrant returns a server's grant for a user ("" for the administrator's).
func (s *Store) GetMCPUpstreamGrant(ctx context.Context, serverID, userID string) (*store.MCPUpstreamGrant, error) {
	var out *store.MCPUpstreamGrant
	err := s.read(ctx, func(ctx context.Context, tx *sql.Tx, _ time.Time) error {
		g, err := scanMCPGrant(tx.QueryRowContext(ctx, s.d.rebind("SELECT "+mcpGrantColumns+" FROM mcp_upstream_grants WHERE server_id = ? AND user_id = ?"),
			serverID, userID))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("mcp upstream grant %q/%q: %w", serverID, userID, store.ErrNotFound)
		}
		out = g
		return err
	})
	if err != nil {
		return nil, s.fail("get mcp upstream grant", err)
	}
	return out, nil
}

// ListMCPUpstreamGrants returns a user's grants, by server id.
func (s *Store) ListMCPUpstreamGrants(ctx context.Context, userID string) ([]store.MCPUpstreamGrant, error) {
	out := []store.MCPUpstreamGrant{}
	err := s.read(ctx, func(ctx context.Context, tx *sql.Tx, _ time.Time) error {
		out = out[:0]
		rows, err := tx.QueryContext(ctx, s.d.rebind("SELECT "+mcpGrantColumns+" FROM mcp_upstream_grants WHERE user_id = ? ORDER BY server_id"), userID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			g, err := scanMCPGrant(rows)
			if err != nil {
				return err
			}
			out = append(out, *g)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, s.fail("list mcp upstream grants", err)
	}
	return out, nil
}

// PutMCPUpstreamGrant stores a grant, replacing any of the same server and user.
func (s *Store) PutMCPUpstreamGrant(ctx context.Context, g *store.MCPUpstreamGrant) error {
	if g.ServerID == "" || len(g.Sealed) == 0 {
		return errors.New("sqlstore: put mcp upstream grant: empty server id or sealed tokens")
	}
	var version int64
	var created, now time.Time
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx, at time.Time) error {
		now, created, version = at, at, 1
		var prevVersion, prevCreated int64
		err := tx.QueryRowContext(ctx, s.d.rebind("SELECT version, created_at FROM mcp_upstream_grants WHERE server_id = ? AND user_id = ?"+s.d.forUpdate),
			g.ServerID, g.UserID).Scan(&prevVersion, &prevCreated)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return s.insert(ctx, tx, "INSERT INTO mcp_upstream_grants ("+mcpGrantColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
				g.ServerID, g.UserID, g.UserEmail, g.Sealed, micros(utc(g.ExpiresAt)), version, micros(now), micros(now))
		case err != nil:
			return err
		}
		version = prevVersion + 1
		_, err = tx.ExecContext(ctx, s.d.rebind("UPDATE mcp_upstream_grants SET user_email = ?, sealed = ?, expires_at = ?, version = ?, created_at = ?, updated_at = ? WHERE server_id = ? AND user_id = ?"),
			g.UserEmail, g.Sealed, micros(utc(g.ExpiresAt)), version, micros(now), micros(now), g.ServerID, g.UserID)
		return err
	})
	if err != nil {
		return s.fail("put mcp upstream grant", err)
	}
	g.Version, g.CreatedAt, g.UpdatedAt, g.ExpiresAt = version, created, now, utc(g.ExpiresAt)
	return nil
}

// SwapMCPUpstreamGrant replaces a grant while its version is still version.
func (s *Store) SwapMCPUpstreamGrant(ctx context.Context, g *store.MCPUpstreamGrant, version int64) error {
	if len(g.Sealed) == 0 {
		return errors.New("sqlstore: swap mcp upstream grant: empty sealed tokens")
	}
	var now time.Time
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx, at time.Time) error {
		now = at
		res, err := tx.ExecContext(ctx, s.d.rebind("UPDATE mcp_upstream_grants SET user_email = ?, sealed = ?, expires_at = ?, version = ?, updated_at = ? WHERE server_id = ? AND user_id = ? AND version = ?"),
			g.UserEmail, g.Sealed, micros(utc(g.ExpiresAt)), version+1, micros(now), g.ServerID, g.UserID, version)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 1 {
			return nil
		}
		var cur int64
		err = tx.QueryRowContext(ctx, s.d.rebind("SELECT version FROM mcp_upstream_grants WHERE server_id = ? AND user_id = ?"), g.ServerID, g.UserID).Scan(&cur)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("mcp upstream grant %q/%q: %w", g.ServerID, g.UserID, store.ErrNotFound)
		case err != nil:
			return err
		}
		return fmt.Errorf("mcp upstream grant %q/%q is at version %d, not %d: %w", g.ServerID, g.UserID, cur, version, store.ErrConflict)
	})
	if err != nil {
		return s.fail("swap mcp upstream grant", err)
	}
	g.Version, g.UpdatedAt, g.ExpiresAt = version+1, now, utc(g.ExpiresAt)
	return nil
}

// DeleteMCPUpstreamGrant deletes a grant.
func (s *Store) DeleteMCPUpstreamGrant(ctx context.Context, serverID, userID string) error {
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx, _ time.Time) error {
		_, err := tx.ExecContext(ctx, s.d.rebind("DELETE FROM mcp_upstream_grants WHERE server_id = ? AND user_id = ?"), serverID, userID)
		return err
	})
	if err != nil {
		return s.fail("delete mcp upstream grant", err)
	}
	return nil
}

// deleteUserMCPGrants deletes a user's upstream grants inside tx (the user was revoked).
func (s *Store) deleteUserMCPGrants(ctx context.Context, tx *sql.Tx, userID string) error {
	if userID == "" {
		return nil // "" is the administrator's credential, never a user's
	}
	_, err := tx.ExecContext(ctx, s.d.rebind("DELETE FROM mcp_upstream_grants WHERE user_id = ?"), userID)
	return err
}

// GetMCPUpstreamClient returns a server's client registration.
func (s *Store) GetMCPUpstreamClient(ctx context.Context, serverID string) (*store.MCPUpstreamClient, error) {
	var out *store.MCPUpstreamClient
	err := s.read(ctx, func(ctx context.Context, tx *sql.Tx, _ time.Time) error {
		var c store.MCPUpstreamClient
		var created int64
		err := tx.QueryRowContext(ctx, s.d.rebind("SELECT server_id, issuer, redirect_uri, sealed, created_at FROM mcp_upstream_clients WHERE server_id = ?"), serverID).
			Scan(&c.ServerID, &c.Issuer, &c.RedirectURI, &c.Sealed, &created)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("mcp upstream client %q: %w", serverID, store.ErrNotFound)
		}
		if err != nil {
			return err
		}
		c.CreatedAt = fromMicros(created)
		out = &c
		return nil
	})
	if err != nil {
		return nil, s.fail("get mcp upstream client", err)
	}
	return out, nil
}

// PutMCPUpstreamClient stores a server's client registration, replacing any.
func (s *Store) PutMCPUpstreamClient(ctx context.Context, c *store.MCPUpstreamClient) error {
	if c.ServerID == "" || len(c.Sealed) == 0 {
		return errors.New("sqlstore: put mcp upstream client: empty server id or sealed client")
	}
	var created time.Time
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx, now time.Time) error {
		created = now
		_, err := tx.ExecContext(ctx, s.d.rebind("INSERT INTO mcp_upstream_clients (server_id, issuer, redirect_uri, sealed, created_at) VALUES (?, ?, ?, ?, ?)"+
			s.d.upsert("server_id", "issuer = excluded.issuer, redirect_uri = excluded.redirect_uri, sealed = excluded.sealed, created_at = excluded.created_at")),
			c.ServerID, c.Issuer, c.RedirectURI, c.Sealed, micros(now))
		return err
	})
	if err != nil {
		return s.fail("put mcp upstream client", err)
	}
	c.CreatedAt = created
	return nil
}

const mcpStateColumns = "id, server_id, user_id, user_email, portal_id, sealed, created_at, expires_at"

// CreateMCPUpstreamState stores a pending upstream authorization.
func (s *Store) CreateMCPUpstreamState(ctx context.Context, st *store.MCPUpstreamState) error {
	if st.ID == "" || st.ServerID == "" || len(st.Sealed) == 0 {
		return errors.New("sqlstore: create mcp upstream state: empty id, server id or sealed data")
	}
	var created time.Time
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx, now time.Time) error {
		created = createdOr(st.CreatedAt, now)
		if _, err := tx.ExecContext(ctx, s.d.rebind("DELETE FROM mcp_upstream_states WHERE expires_at <= ?"), micros(now)); err != nil {
			return err
		}
		return s.insert(ctx, tx, "INSERT INTO mcp_upstream_states ("+mcpStateColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
			st.ID, st.ServerID, st.UserID, st.UserEmail, st.PortalID, st.Sealed, micros(created), micros(utc(st.ExpiresAt)))
	})
	if err != nil {
		return s.fail("create mcp upstream state", err)
	}
	st.CreatedAt, st.ExpiresAt = created, utc(st.ExpiresAt)
	return nil
}

// ConsumeMCPUpstreamState returns an unexpired pending authorization and deletes it.
func (s *Store) ConsumeMCPUpstreamState(ctx context.Context, id string) (*store.MCPUpstreamState, error) {
	var out store.MCPUpstreamState
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx, now time.Time) error {
		var created, expires int64
		// The DELETE is the single point of decision: of two consumers, one deletes the row.
		err := tx.QueryRowContext(ctx, s.d.rebind("DELETE FROM mcp_upstream_states WHERE id = ? AND expires_at > ? RETURNING "+mcpStateColumns), id, micros(now)).
			Scan(&out.ID, &out.ServerID, &out.UserID, &out.UserEmail, &out.PortalID, &out.Sealed, &created, &expires)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("mcp upstream state: %w", store.ErrNotFound)
		}
		if err != nil {
			return err
		}
		out.CreatedAt, out.ExpiresAt = fromMicros(created), fromMicros(expires)
		return nil
	})
	if err != nil {
		return nil, s.fail("consume mcp upstream state", err)
	}
	return &out, nil
}
