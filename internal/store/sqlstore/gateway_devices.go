package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

var _ store.GatewayDevices = (*Store)(nil)

const gatewayDeviceColumns = "id, user_id, name, secret_sha256, created_at, last_seen_at, revoked_at"

func scanGatewayDevice(sc scanner) (*store.GatewayDevice, error) {
	var (
		d                      store.GatewayDevice
		created, seen, revoked int64
	)
	if err := sc.Scan(&d.ID, &d.UserID, &d.Name, &d.SecretSHA256, &created, &seen, &revoked); err != nil {
		return nil, err
	}
	d.CreatedAt, d.LastSeenAt, d.RevokedAt = fromMicros(created), fromMicros(seen), fromMicros(revoked)
	return &d, nil
}

// CreateGatewayDevice stores a newly enrolled gateway device.
func (s *Store) CreateGatewayDevice(ctx context.Context, d *store.GatewayDevice) error {
	var created time.Time
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx, now time.Time) error {
		if _, err := s.getUser(ctx, tx, d.UserID, false); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("user %q: %w", d.UserID, store.ErrNotFound)
			}
			return err
		}
		created = createdOr(d.CreatedAt, now)
		return s.insert(ctx, tx, "INSERT INTO gateway_devices ("+gatewayDeviceColumns+") VALUES (?, ?, ?, ?, ?, 0, 0)",
			d.ID, d.UserID, d.Name, d.SecretSHA256, micros(created))
	})
	if err != nil {
		return s.fail("create gateway device", err)
	}
	d.CreatedAt, d.LastSeenAt, d.RevokedAt = created, time.Time{}, time.Time{}
	return nil
}

// GetGatewayDevice returns a gateway device by ID.
func (s *Store) GetGatewayDevice(ctx context.Context, id string) (*store.GatewayDevice, error) {
	var d *store.GatewayDevice
	err := s.read(ctx, func(ctx context.Context, tx *sql.Tx, _ time.Time) error {
		var err error
		d, err = s.gatewayDevice(ctx, tx, id)
		return err
	})
	if err != nil {
		return nil, s.fail("get gateway device", err)
	}
	return d, nil
}

func (s *Store) gatewayDevice(ctx context.Context, tx *sql.Tx, id string) (*store.GatewayDevice, error) {
	d, err := scanGatewayDevice(tx.QueryRowContext(ctx, s.d.rebind("SELECT "+gatewayDeviceColumns+" FROM gateway_devices WHERE id = ?"), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	return d, err
}

// ListGatewayDevices returns a user's gateway devices, or everyone's, oldest first.
func (s *Store) ListGatewayDevices(ctx context.Context, userID string) ([]store.GatewayDevice, error) {
	q, args := "SELECT "+gatewayDeviceColumns+" FROM gateway_devices ORDER BY created_at, id", []any(nil)
	if userID != "" {
		q, args = "SELECT "+gatewayDeviceColumns+" FROM gateway_devices WHERE user_id = ? ORDER BY created_at, id", []any{userID}
	}
	var out []store.GatewayDevice
	err := s.read(ctx, func(ctx context.Context, tx *sql.Tx, _ time.Time) error {
		out = out[:0]
		rows, err := tx.QueryContext(ctx, s.d.rebind(q), args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			d, err := scanGatewayDevice(rows)
			if err != nil {
				return err
			}
			out = append(out, *d)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, s.fail("list gateway devices", err)
	}
	return out, nil
}

// RevokeGatewayDevice revokes one gateway device.
func (s *Store) RevokeGatewayDevice(ctx context.Context, id string) (*store.GatewayDevice, error) {
	var (
		d       *store.GatewayDevice
		changed bool
	)
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx, now time.Time) error {
		changed = false
		res, err := tx.ExecContext(ctx, s.d.rebind("UPDATE gateway_devices SET revoked_at = ? WHERE id = ? AND revoked_at = 0"), micros(now), id)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if d, err = s.gatewayDevice(ctx, tx, id); err != nil {
			return err
		}
		if n > 0 {
			changed = true
			return s.publish(ctx, tx, store.Change{Revocations: true})
		}
		return nil
	})
	if err != nil {
		return nil, s.fail("revoke gateway device", err)
	}
	if changed {
		s.watchers.notify(store.Change{Revocations: true})
	}
	return d, nil
}

// RevokeUserGatewayDevices revokes every gateway device of a user.
func (s *Store) RevokeUserGatewayDevices(ctx context.Context, userID string) (int, error) {
	var n int
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx, now time.Time) error {
		var err error
		n, err = s.revokeUserGatewayDevices(ctx, tx, userID, now)
		return err
	})
	if err != nil {
		return 0, s.fail("revoke user gateway devices", err)
	}
	if n > 0 {
		s.watchers.notify(store.Change{Revocations: true})
	}
	return n, nil
}

// revokeUserGatewayDevices is RevokeUserGatewayDevices inside tx; it publishes the change when
// it revoked anything, and the caller notifies watchers after the commit.
func (s *Store) revokeUserGatewayDevices(ctx context.Context, tx *sql.Tx, userID string, now time.Time) (int, error) {
	res, err := tx.ExecContext(ctx, s.d.rebind("UPDATE gateway_devices SET revoked_at = ? WHERE user_id = ? AND revoked_at = 0"), micros(now), userID)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, err
	}
	if n == 0 {
		return 0, nil
	}
	return int(n), s.publish(ctx, tx, store.Change{Revocations: true})
}

// TouchGatewayDevices records the last-seen times of gateway devices in one transaction.
func (s *Store) TouchGatewayDevices(ctx context.Context, seen map[string]time.Time) error {
	if len(seen) == 0 {
		return nil
	}
	// A fixed order, so that concurrent batches lock rows in the same order.
	ids := slices.Sorted(maps.Keys(seen))
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx, _ time.Time) error {
		for _, id := range ids {
			at := micros(utc(seen[id]))
			if _, err := tx.ExecContext(ctx, s.d.rebind("UPDATE gateway_devices SET last_seen_at = ? WHERE id = ? AND last_seen_at < ?"),
				at, id, at); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return s.fail("touch gateway devices", err)
	}
	return nil
}
