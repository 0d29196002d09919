package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

var _ store.GatewayCAs = (*Store)(nil)

const gatewayCAColumns = "id, state, fingerprint, certificate_pem, private_key_encrypted, created_at, expires_at, updated_at"

func scanGatewayCA(sc scanner) (*store.GatewayCA, error) {
	var (
		c                         store.GatewayCA
		sealed                    []byte
		created, expires, updated int64
	)
	if err := sc.Scan(&c.ID, &c.State, &c.Fingerprint, &c.CertificatePEM, &sealed, &created, &expires, &updated); err != nil {
		return nil, err
	}
	c.PrivateKeyEncrypted = store.SealedKey(sealed)
	c.CreatedAt, c.ExpiresAt, c.UpdatedAt = fromMicros(created), fromMicros(expires), fromMicros(updated)
	return &c, nil
}

// CreateGatewayCA stores a new, inactive gateway CA.
func (s *Store) CreateGatewayCA(ctx context.Context, c *store.GatewayCA) error {
	if c.State != "" && c.State != store.GatewayCAInactive {
		return fmt.Errorf("sqlstore: create gateway CA: a new CA is %s, not %q", store.GatewayCAInactive, c.State)
	}
	var created time.Time
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx, now time.Time) error {
		created = createdOr(c.CreatedAt, now)
		if err := s.insert(ctx, tx, "INSERT INTO gateway_cas ("+gatewayCAColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
			c.ID, store.GatewayCAInactive, c.Fingerprint, c.CertificatePEM, []byte(c.PrivateKeyEncrypted),
			micros(created), micros(utc(c.ExpiresAt)), micros(created)); err != nil {
			return err
		}
		return s.publish(ctx, tx, store.Change{Keys: true})
	})
	if err != nil {
		return s.fail("create gateway CA", err)
	}
	c.State, c.CreatedAt, c.UpdatedAt = store.GatewayCAInactive, created, created
	s.watchers.notify(store.Change{Keys: true})
	return nil
}

// GetGatewayCA returns a gateway CA by ID.
func (s *Store) GetGatewayCA(ctx context.Context, id string) (*store.GatewayCA, error) {
	var c *store.GatewayCA
	err := s.read(ctx, func(ctx context.Context, tx *sql.Tx, _ time.Time) error {
		var err error
		c, err = s.gatewayCA(ctx, tx, id, false)
		return err
	})
	if err != nil {
		return nil, s.fail("get gateway CA", err)
	}
	return c, nil
}

func (s *Store) gatewayCA(ctx context.Context, tx *sql.Tx, id string, forUpdate bool) (*store.GatewayCA, error) {
	q := "SELECT " + gatewayCAColumns + " FROM gateway_cas WHERE id = ?"
	if forUpdate {
		q += s.d.forUpdate
	}
	c, err := scanGatewayCA(tx.QueryRowContext(ctx, s.d.rebind(q), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	return c, err
}

// ListGatewayCAs returns every gateway CA, newest first.
func (s *Store) ListGatewayCAs(ctx context.Context) ([]store.GatewayCA, error) {
	var out []store.GatewayCA
	err := s.read(ctx, func(ctx context.Context, tx *sql.Tx, _ time.Time) error {
		rows, err := tx.QueryContext(ctx, "SELECT "+gatewayCAColumns+" FROM gateway_cas ORDER BY created_at DESC, id DESC")
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			c, err := scanGatewayCA(rows)
			if err != nil {
				return err
			}
			out = append(out, *c)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, s.fail("list gateway CAs", err)
	}
	return out, nil
}

// SetGatewayCAState moves a gateway CA through its lifecycle; see store.GatewayCAs.
func (s *Store) SetGatewayCAState(ctx context.Context, id, state string) (*store.GatewayCA, error) {
	switch state {
	case store.GatewayCAInactive, store.GatewayCAAvailable, store.GatewayCAInUse:
	default:
		return nil, fmt.Errorf("sqlstore: set gateway CA state: unknown state %q (want %s, %s or %s)",
			state, store.GatewayCAInactive, store.GatewayCAAvailable, store.GatewayCAInUse)
	}
	var (
		out     *store.GatewayCA
		changed bool
	)
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx, now time.Time) error {
		changed = false
		// Serialises state changes across writers: the in-use swap and the available count
		// span rows that row locks alone do not cover.
		if err := s.lock(ctx, tx, lockGatewayCAs); err != nil {
			return err
		}
		c, err := s.gatewayCA(ctx, tx, id, true)
		if err != nil {
			return err
		}
		out = c
		if c.State == state {
			return nil
		}
		if c.State == store.GatewayCAInUse {
			return fmt.Errorf("gateway CA %s is in use; make another CA in use first: %w", id, store.ErrConflict)
		}
		if state != store.GatewayCAInactive {
			if !c.ExpiresAt.After(now) {
				return fmt.Errorf("gateway CA %s expired at %s: %w", id, c.ExpiresAt.Format(time.RFC3339), store.ErrConflict)
			}
			if c.State == store.GatewayCAInactive {
				var n int
				if err := tx.QueryRowContext(ctx, s.d.rebind("SELECT COUNT(*) FROM gateway_cas WHERE state IN (?, ?)"),
					store.GatewayCAAvailable, store.GatewayCAInUse).Scan(&n); err != nil {
					return err
				}
				if n >= store.MaxAvailableGatewayCAs {
					return fmt.Errorf("%d gateway CAs are available or in use already, the most allowed; deactivate one first: %w",
						n, store.ErrConflict)
				}
			}
		}
		if state == store.GatewayCAInUse {
			if _, err := tx.ExecContext(ctx, s.d.rebind("UPDATE gateway_cas SET state = ?, updated_at = ? WHERE state = ?"),
				store.GatewayCAAvailable, micros(now), store.GatewayCAInUse); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, s.d.rebind("UPDATE gateway_cas SET state = ?, updated_at = ? WHERE id = ?"),
			state, micros(now), id); err != nil {
			return err
		}
		c.State, c.UpdatedAt = state, now
		changed = true
		return s.publish(ctx, tx, store.Change{Keys: true})
	})
	if err != nil {
		return nil, s.fail("set gateway CA state", err)
	}
	if changed {
		s.watchers.notify(store.Change{Keys: true})
	}
	return out, nil
}
