package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// SigningKeys returns the current key and the rotated-out keys whose RetireAt is still ahead, in
// rotation order, newest (the current key) first.
func (s *Store) SigningKeys(ctx context.Context) ([]store.SigningKey, error) {
	var keys []store.SigningKey
	err := s.read(ctx, func(ctx context.Context, tx *sql.Tx, now time.Time) error {
		rows, err := tx.QueryContext(ctx, s.d.rebind("SELECT id, key_use, algorithm, private_key_encrypted, certificate_pem, created_at, retire_at FROM signing_keys WHERE retire_at = 0 OR retire_at > ? ORDER BY seq DESC"),
			micros(now))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var k store.SigningKey
			var created, retire int64
			if err := rows.Scan(&k.ID, &k.Use, &k.Algorithm, &k.PrivateKeyEncrypted, &k.CertificatePEM, &created, &retire); err != nil {
				return err
			}
			k.CreatedAt, k.RetireAt = fromMicros(created), fromMicros(retire)
			keys = append(keys, k)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, s.fail("signing keys", err)
	}
	return keys, nil
}

// RotateSigningKey makes next the current key of next.Use (its RetireAt is ignored; a zero
// CreatedAt means now) if that use's current key is expectedCurrent, and retires the old one at
// now + overlap.
// ErrConflict when the current key is another; ErrAlreadyExists when next's ID was used before.
func (s *Store) RotateSigningKey(ctx context.Context, expectedCurrent string, next *store.SigningKey, overlap time.Duration) error {
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx, now time.Time) error {
		var current string
		err := tx.QueryRowContext(ctx, s.d.rebind("SELECT id FROM signing_keys WHERE retire_at = 0 AND key_use = ?"+s.d.forUpdate), next.Use).Scan(&current)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if current != expectedCurrent {
			return fmt.Errorf("current signing key is not the expected one: %w", store.ErrConflict)
		}
		var taken int
		if err := tx.QueryRowContext(ctx, s.d.rebind("SELECT COUNT(*) FROM signing_keys WHERE id = ?"), next.ID).Scan(&taken); err != nil {
			return err
		}
		if taken > 0 {
			return fmt.Errorf("signing key ID reused: %w", store.ErrAlreadyExists)
		}
		if current != "" {
			// Never 0, which marks the current key.
			retire := max(micros(now.Add(overlap)), 1)
			if _, err := tx.ExecContext(ctx, s.d.rebind("UPDATE signing_keys SET retire_at = ? WHERE id = ?"), retire, current); err != nil {
				return err
			}
		}
		// VALUES rather than INSERT ... SELECT, so that PostgreSQL types each argument from its
		// column.
		_, err = tx.ExecContext(ctx, s.d.rebind("INSERT INTO signing_keys (id, seq, key_use, algorithm, private_key_encrypted, certificate_pem, created_at, retire_at) "+
			"VALUES (?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM signing_keys), ?, ?, ?, ?, ?, 0)"),
			next.ID, next.Use, next.Algorithm, next.PrivateKeyEncrypted, next.CertificatePEM, micros(createdOr(next.CreatedAt, now)))
		if s.d.isUniqueViolation(err) {
			// Another transaction installed a current key first: with no current key there is
			// no row to lock, and the unique index on the current key decides (databases that
			// run these concurrently).
			return fmt.Errorf("concurrent rotation: %w", store.ErrConflict)
		}
		if err != nil {
			return err
		}
		return s.publish(ctx, tx, store.Change{Keys: true})
	})
	if err != nil {
		return s.fail("rotate signing key", err)
	}
	s.watchers.notify(store.Change{Keys: true})
	return nil
}
