package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

var _ store.GatewayAppReviews = (*Store)(nil)

// ListGatewayAppReviews returns every stored review, by application id.
func (s *Store) ListGatewayAppReviews(ctx context.Context) ([]store.GatewayAppReview, error) {
	var out []store.GatewayAppReview
	err := s.read(ctx, func(ctx context.Context, tx *sql.Tx, _ time.Time) error {
		rows, err := tx.QueryContext(ctx, "SELECT app_id, status, updated_at, updated_by FROM gateway_app_reviews ORDER BY app_id")
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				r       store.GatewayAppReview
				updated int64
			)
			if err := rows.Scan(&r.AppID, &r.Status, &updated, &r.UpdatedBy); err != nil {
				return err
			}
			r.UpdatedAt = fromMicros(updated)
			out = append(out, r)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, s.fail("list gateway app reviews", err)
	}
	return out, nil
}

// errInvalidReview marks a review SetGatewayAppReviews refuses before touching the database.
var errInvalidReview = errors.New("invalid review")

func checkReviews(reviews []store.GatewayAppReview) error {
	seen := make(map[int]bool, len(reviews))
	for i, r := range reviews {
		switch {
		case r.AppID < 1:
			return fmt.Errorf("reviews[%d]: application id %d: %w", i, r.AppID, errInvalidReview)
		case !store.ValidAppReviewStatus(r.Status):
			return fmt.Errorf("reviews[%d]: unknown status %q: %w", i, r.Status, errInvalidReview)
		case seen[r.AppID]:
			return fmt.Errorf("reviews[%d]: application %d appears twice: %w", i, r.AppID, errInvalidReview)
		}
		seen[r.AppID] = true
	}
	return nil
}

// SetGatewayAppReviews stores reviews atomically; see store.GatewayAppReviews.
func (s *Store) SetGatewayAppReviews(ctx context.Context, reviews []store.GatewayAppReview) error {
	if err := checkReviews(reviews); err != nil {
		return fmt.Errorf("sqlstore: set gateway app reviews: %w", err)
	}
	var changed bool
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx, now time.Time) error {
		changed = false
		if err := s.lock(ctx, tx, lockGatewayAppReviews); err != nil {
			return err
		}
		for _, r := range reviews {
			var current string
			err := tx.QueryRowContext(ctx, s.d.rebind("SELECT status FROM gateway_app_reviews WHERE app_id = ?"), r.AppID).Scan(&current)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				current = store.AppReviewUnreviewed
			case err != nil:
				return err
			}
			if current == r.Status {
				continue
			}
			changed = true
			if r.Status == store.AppReviewUnreviewed {
				if _, err := tx.ExecContext(ctx, s.d.rebind("DELETE FROM gateway_app_reviews WHERE app_id = ?"), r.AppID); err != nil {
					return err
				}
				continue
			}
			q := "INSERT INTO gateway_app_reviews (app_id, status, updated_at, updated_by) VALUES (?, ?, ?, ?) " +
				"ON CONFLICT (app_id) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at, updated_by = excluded.updated_by"
			if _, err := tx.ExecContext(ctx, s.d.rebind(q), r.AppID, r.Status, micros(createdOr(r.UpdatedAt, now)), r.UpdatedBy); err != nil {
				return err
			}
		}
		if !changed {
			return nil
		}
		return s.publish(ctx, tx, store.Change{Config: true})
	})
	if err != nil {
		return s.fail("set gateway app reviews", err)
	}
	if changed {
		s.watchers.notify(store.Change{Config: true})
	}
	return nil
}
