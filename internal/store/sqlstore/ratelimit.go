package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// HitRateLimit counts one event for key in the fixed window containing now and reports whether
// the count is at most limit. Windows of length window are aligned to the Unix epoch. Each key
// has one counter; hitting it with a different window length restarts the count.
func (s *Store) HitRateLimit(ctx context.Context, key string, window time.Duration, limit int) (bool, error) {
	if window <= 0 {
		return false, s.fail("hit rate limit", errors.New("window must be positive"))
	}
	var count int
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx, now time.Time) error {
		n := now.UnixMicro()
		w := max(window.Microseconds(), 1)
		start := n - mod(n, w)
		return tx.QueryRowContext(ctx, s.d.rebind("INSERT INTO rate_limits (key, window_start, window_end, count) VALUES (?, ?, ?, 1)"+
			s.d.upsert("key", "count = CASE WHEN rate_limits.window_start = excluded.window_start AND rate_limits.window_end = excluded.window_end THEN rate_limits.count + 1 ELSE 1 END, "+
				"window_start = excluded.window_start, window_end = excluded.window_end")+
			" RETURNING count"),
			key, start, start+w).Scan(&count)
	})
	if err != nil {
		return false, s.fail("hit rate limit", err)
	}
	return count <= limit, nil
}

// mod is the non-negative remainder of a / b for b > 0.
func mod(a, b int64) int64 {
	r := a % b
	if r < 0 {
		r += b
	}
	return r
}

// RememberOnce records key until expires and reports whether it was new. An expired record of
// the same key is replaced.
func (s *Store) RememberOnce(ctx context.Context, key string, expires time.Time) (bool, error) {
	var fresh bool
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx, now time.Time) error {
		res, err := tx.ExecContext(ctx, s.d.rebind("INSERT INTO seen_once (key, expires_at) VALUES (?, ?)"+
			s.d.upsert("key", "expires_at = excluded.expires_at")+" WHERE seen_once.expires_at <= ?"),
			key, expires.UTC().UnixMicro(), now.UnixMicro())
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		fresh = n == 1
		return err
	})
	if err != nil {
		return false, s.fail("remember once", err)
	}
	return fresh, nil
}
