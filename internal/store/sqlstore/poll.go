package sqlstore

import (
	"context"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// DefaultPollInterval is how often a Store looks for changes other processes committed to the
// same database (another `gatehouse` command, another replica). On PostgreSQL, LISTEN/NOTIFY
// reports them sooner; the poll is the safety net for notifications lost while the listening
// connection was down.
const DefaultPollInterval = 500 * time.Millisecond

// fingerprint summarises the state snapshots depend on; a change in one part means a process
// changed it. Each revocation and key part is a row count and a checksum of the rows' times (a
// sum modulo a prime, which fits an int64 and is computed alike by every dialect), so that it
// moves when any row's time changes, not only the newest: concurrent writers commit out of time
// order, and revoking again a user revoked before changes no maximum. The sets summed are small:
// revoked unexpired sessions, revoked users and apps, unretired keys.
type fingerprint struct {
	config                                   int64
	sessions, sessionSum, users, usersSum    int64
	apps, appsSum, keys, keysSum, keysRetire int64
	gatewayCAs, gatewayCAsSum                int64
	appReviews, appReviewsSum                int64
}

const fingerprintQuery = `SELECT
	(SELECT COALESCE(MAX(version), 0) FROM config_version),
	(SELECT COUNT(*) FROM sessions WHERE revoked_at <> 0),
	(SELECT CAST(COALESCE(SUM(revoked_at % 1000000007), 0) AS BIGINT) FROM sessions WHERE revoked_at <> 0),
	(SELECT COUNT(*) FROM users WHERE tokens_not_before <> 0),
	(SELECT CAST(COALESCE(SUM(tokens_not_before % 1000000007), 0) AS BIGINT) FROM users WHERE tokens_not_before <> 0),
	(SELECT COUNT(*) FROM app_revocations),
	(SELECT CAST(COALESCE(SUM(not_before % 1000000007), 0) AS BIGINT) FROM app_revocations),
	(SELECT COUNT(*) FROM signing_keys),
	(SELECT CAST(COALESCE(SUM(created_at % 1000000007), 0) AS BIGINT) FROM signing_keys),
	(SELECT CAST(COALESCE(SUM(retire_at % 1000000007), 0) AS BIGINT) FROM signing_keys),
	(SELECT COUNT(*) FROM gateway_cas),
	(SELECT CAST(COALESCE(SUM(updated_at % 1000000007), 0) AS BIGINT) FROM gateway_cas),
	(SELECT COUNT(*) FROM gateway_app_reviews),
	(SELECT CAST(COALESCE(SUM((updated_at + app_id) % 1000000007), 0) AS BIGINT) FROM gateway_app_reviews)`

func (s *Store) fingerprint(ctx context.Context) (fingerprint, error) {
	var f fingerprint
	ctx, finish := s.operation(ctx)
	err := s.db.QueryRowContext(ctx, fingerprintQuery).Scan(&f.config, &f.sessions, &f.sessionSum, &f.users, &f.usersSum,
		&f.apps, &f.appsSum, &f.keys, &f.keysSum, &f.keysRetire, &f.gatewayCAs, &f.gatewayCAsSum,
		&f.appReviews, &f.appReviewsSum)
	return f, finish(err)
}

// changeSince names the parts of cur that differ from last.
func (cur fingerprint) changeSince(last fingerprint) store.Change {
	return store.Change{
		Config: cur.config != last.config || cur.appReviews != last.appReviews || cur.appReviewsSum != last.appReviewsSum,
		Keys: cur.keys != last.keys || cur.keysSum != last.keysSum || cur.keysRetire != last.keysRetire ||
			cur.gatewayCAs != last.gatewayCAs || cur.gatewayCAsSum != last.gatewayCAsSum,
		Revocations: cur.sessions != last.sessions || cur.sessionSum != last.sessionSum ||
			cur.users != last.users || cur.usersSum != last.usersSum || cur.apps != last.apps || cur.appsSum != last.appsSum,
	}
}

// pollChanges notifies watchers of changes committed by other processes. Changes made through
// this Store are notified at commit already; seeing them again here only costs a coalesced,
// redundant notification.
func (s *Store) pollChanges(ctx context.Context, every time.Duration, last fingerprint, err error) {
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
		c := cur.changeSince(last)
		last = cur
		if c.Config || c.Keys || c.Revocations {
			s.watchers.notify(c)
		}
	}
}
