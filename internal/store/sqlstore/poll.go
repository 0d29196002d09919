package sqlstore

import (
	"context"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// DefaultPollInterval is how often a Store looks for changes other processes committed to the
// same database (another `gatehouse` command, another replica on a shared file).
const DefaultPollInterval = 500 * time.Millisecond

// fingerprint summarises the state snapshots depend on; a change in one part means a process
// changed it. Each part is a cheap aggregate over a small or indexed set of rows.
type fingerprint struct {
	config, sessions, users, apps, keys int64
}

const fingerprintQuery = `SELECT
	(SELECT COALESCE(MAX(version), 0) FROM config_version),
	(SELECT COALESCE(MAX(revoked_at), 0) FROM sessions WHERE revoked_at <> 0),
	(SELECT COALESCE(MAX(tokens_not_before), 0) + COUNT(*) FROM users WHERE tokens_not_before <> 0),
	(SELECT COALESCE(MAX(not_before), 0) + COUNT(*) FROM app_revocations),
	(SELECT COALESCE(MAX(created_at), 0) + COALESCE(MAX(retire_at), 0) + COUNT(*) FROM signing_keys)`

func (s *Store) fingerprint(ctx context.Context) (fingerprint, error) {
	var f fingerprint
	err := s.db.QueryRowContext(ctx, fingerprintQuery).Scan(&f.config, &f.sessions, &f.users, &f.apps, &f.keys)
	return f, err
}

// pollChanges notifies watchers of changes committed by other processes. Changes made through
// this Store are notified at commit already; seeing them again here only costs a coalesced,
// redundant notification.
func (s *Store) pollChanges(ctx context.Context, every time.Duration) {
	last, err := s.fingerprint(ctx)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		cur, ferr := s.fingerprint(ctx)
		if ferr != nil {
			continue // the database is unreachable; callers see that on their own requests
		}
		if err != nil { // no baseline yet
			last, err = cur, nil
			continue
		}
		c := store.Change{Config: cur.config != last.config, Keys: cur.keys != last.keys,
			Revocations: cur.sessions != last.sessions || cur.users != last.users || cur.apps != last.apps}
		last = cur
		if c.Config || c.Keys || c.Revocations {
			s.watchers.notify(c)
		}
	}
}
