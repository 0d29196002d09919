package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

const pendingSAMLColumns = "id, app_id, request_id, relay_state, sp_entity_id, acs_url, created_at, expires_at, used_at"

// CreatePendingSAMLRequest stores a pending SP-initiated SAML request; a zero CreatedAt means
// now. ErrAlreadyExists if the ID is taken.
func (s *Store) CreatePendingSAMLRequest(ctx context.Context, p *store.PendingSAMLRequest) error {
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx, now time.Time) error {
		return s.insert(ctx, tx, "INSERT INTO pending_saml_requests ("+pendingSAMLColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
			p.ID, p.AppID, p.RequestID, p.RelayState, p.SPEntityID, p.ACSURL,
			micros(createdOr(p.CreatedAt, now)), micros(utc(p.ExpiresAt)), micros(utc(p.UsedAt)))
	})
	if err != nil {
		return s.fail("create pending SAML request", err)
	}
	return nil
}

// ConsumePendingSAMLRequest marks an unused, unexpired pending request used and returns it.
func (s *Store) ConsumePendingSAMLRequest(ctx context.Context, id string) (*store.PendingSAMLRequest, error) {
	var p store.PendingSAMLRequest
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx, now time.Time) error {
		var created, expires, used int64
		// The conditional UPDATE is the single point of decision, whatever the isolation level.
		err := tx.QueryRowContext(ctx, s.d.rebind("UPDATE pending_saml_requests SET used_at = ? WHERE id = ? AND used_at = 0 AND expires_at > ? RETURNING "+pendingSAMLColumns),
			micros(now), id, micros(now)).
			Scan(&p.ID, &p.AppID, &p.RequestID, &p.RelayState, &p.SPEntityID, &p.ACSURL, &created, &expires, &used)
		if err == nil {
			p.CreatedAt, p.ExpiresAt, p.UsedAt = fromMicros(created), fromMicros(expires), fromMicros(used)
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		err = tx.QueryRowContext(ctx, s.d.rebind("SELECT expires_at, used_at FROM pending_saml_requests WHERE id = ?"), id).Scan(&expires, &used)
		switch {
		case errors.Is(err, sql.ErrNoRows), err == nil && expires <= micros(now):
			return store.ErrNotFound
		case err == nil:
			return fmt.Errorf("pending SAML request already used: %w", store.ErrConflict)
		}
		return err
	})
	if err != nil {
		return nil, s.fail("consume pending SAML request", err)
	}
	return &p, nil
}
