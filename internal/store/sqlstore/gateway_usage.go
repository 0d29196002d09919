package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

var _ store.GatewayUsage = (*Store)(nil)

// usageDay encodes a time as its UTC day: days since 1970-01-01.
func usageDay(t time.Time) int64 {
	return store.UsageDay(t).Unix() / 86400
}

func fromUsageDay(d int64) time.Time { return time.Unix(d*86400, 0).UTC() }

type usageKey struct {
	day                      int64
	app                      int
	status, action, category string
}

func compareUsageKeys(a, b usageKey) int {
	return cmp.Or(cmp.Compare(a.day, b.day), cmp.Compare(a.app, b.app), cmp.Compare(a.status, b.status),
		cmp.Compare(a.action, b.action), cmp.Compare(a.category, b.category))
}

type usageUserKey struct {
	day  int64
	app  int
	user string
}

// AddGatewayUsage adds a batch of usage rollups and users. Rows and users are merged and
// sorted first, so that concurrent batches lock rows in the same order.
func (s *Store) AddGatewayUsage(ctx context.Context, b *store.GatewayUsageBatch) error {
	type sums struct {
		name                       string
		requests, bytesUp, bytesDn int64
	}
	rows := make(map[usageKey]*sums, len(b.Rows))
	for i, r := range b.Rows {
		switch {
		case r.Day.IsZero():
			return fmt.Errorf("sqlstore: add gateway usage: rows[%d]: zero day", i)
		case r.Status == "" || r.Action == "" || r.Category == "":
			return fmt.Errorf("sqlstore: add gateway usage: rows[%d]: status, action and category are required", i)
		case r.Requests < 0 || r.BytesUp < 0 || r.BytesDown < 0:
			return fmt.Errorf("sqlstore: add gateway usage: rows[%d]: negative counter", i)
		}
		k := usageKey{usageDay(r.Day), r.AppID, r.Status, r.Action, r.Category}
		sm := rows[k]
		if sm == nil {
			sm = &sums{}
			rows[k] = sm
		}
		if r.AppName != "" {
			sm.name = r.AppName
		}
		sm.requests += r.Requests
		sm.bytesUp += r.BytesUp
		sm.bytesDn += r.BytesDown
	}
	users := make(map[usageUserKey]struct{}, len(b.Users))
	for i, u := range b.Users {
		if u.Day.IsZero() || u.User == "" {
			return fmt.Errorf("sqlstore: add gateway usage: users[%d]: day and user are required", i)
		}
		users[usageUserKey{usageDay(u.Day), u.AppID, u.User}] = struct{}{}
	}
	keys := make([]usageKey, 0, len(rows))
	for k := range rows {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, compareUsageKeys)
	ukeys := make([]usageUserKey, 0, len(users))
	for k := range users {
		ukeys = append(ukeys, k)
	}
	slices.SortFunc(ukeys, func(a, b usageUserKey) int {
		return cmp.Or(cmp.Compare(a.day, b.day), cmp.Compare(a.app, b.app), cmp.Compare(a.user, b.user))
	})
	// The distinct (day, user) pairs, for the per-day table, in the same lock order.
	dayUsers := make([]usageUserKey, 0, len(ukeys))
	seenDayUser := make(map[usageUserKey]struct{}, len(ukeys))
	for _, k := range ukeys {
		dk := usageUserKey{day: k.day, user: k.user}
		if _, dup := seenDayUser[dk]; !dup {
			seenDayUser[dk] = struct{}{}
			dayUsers = append(dayUsers, dk)
		}
	}
	slices.SortFunc(dayUsers, func(a, b usageUserKey) int {
		return cmp.Or(cmp.Compare(a.day, b.day), cmp.Compare(a.user, b.user))
	})
	// Each (application, user) once with its latest day, for the per-application table.
	latest := make(map[usageUserKey]int64, len(ukeys))
	for _, k := range ukeys {
		ak := usageUserKey{app: k.app, user: k.user}
		latest[ak] = max(latest[ak], k.day)
	}
	appUsers := make([]usageUserKey, 0, len(latest))
	for k, d := range latest {
		appUsers = append(appUsers, usageUserKey{day: d, app: k.app, user: k.user})
	}
	slices.SortFunc(appUsers, func(a, b usageUserKey) int {
		return cmp.Or(cmp.Compare(a.app, b.app), cmp.Compare(a.user, b.user))
	})
	addRow := s.d.rebind("INSERT INTO gateway_usage (day, app_id, app_status, action, category, app_name, requests, bytes_up, bytes_down)" +
		" VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)" + s.d.upsert("day, app_id, app_status, action, category",
		"requests = gateway_usage.requests + excluded.requests, bytes_up = gateway_usage.bytes_up + excluded.bytes_up,"+
			" bytes_down = gateway_usage.bytes_down + excluded.bytes_down,"+
			" app_name = CASE WHEN excluded.app_name = '' THEN gateway_usage.app_name ELSE excluded.app_name END"))
	addUser := s.d.rebind("INSERT INTO gateway_usage_users (day, app_id, user_key) VALUES (?, ?, ?) ON CONFLICT (day, app_id, user_key) DO NOTHING")
	addAppUser := s.d.rebind("INSERT INTO gateway_usage_app_users (app_id, user_key, last_day) VALUES (?, ?, ?)" +
		s.d.upsert("app_id, user_key", "last_day = CASE WHEN excluded.last_day > gateway_usage_app_users.last_day"+
			" THEN excluded.last_day ELSE gateway_usage_app_users.last_day END"))
	addAppDay := s.d.rebind("INSERT INTO gateway_usage_app_days (day, app_id, users) VALUES (?, ?, ?)" +
		s.d.upsert("day, app_id", "users = gateway_usage_app_days.users + excluded.users"))
	addDayUser := s.d.rebind("INSERT INTO gateway_usage_day_users (day, user_key) VALUES (?, ?) ON CONFLICT (day, user_key) DO NOTHING")
	addDayCount := s.d.rebind("INSERT INTO gateway_usage_day_counts (day, users) VALUES (?, ?)" +
		s.d.upsert("day", "users = gateway_usage_day_counts.users + excluded.users"))
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx, _ time.Time) error {
		if len(keys) > 0 {
			st, err := tx.PrepareContext(ctx, addRow)
			if err != nil {
				return err
			}
			defer st.Close()
			for _, k := range keys {
				sm := rows[k]
				if _, err := st.ExecContext(ctx, k.day, k.app, k.status, k.action, k.category, sm.name, sm.requests, sm.bytesUp, sm.bytesDn); err != nil {
					return err
				}
			}
		}
		if len(ukeys) > 0 {
			st, err := tx.PrepareContext(ctx, addUser)
			if err != nil {
				return err
			}
			defer st.Close()
			dst, err := tx.PrepareContext(ctx, addDayUser)
			if err != nil {
				return err
			}
			defer dst.Close()
			// A user new to an application on a day adds one to its daily count.
			type appDay struct {
				day int64
				app int
			}
			var fresh []appDay
			counts := map[appDay]int64{}
			for _, k := range ukeys {
				res, err := st.ExecContext(ctx, k.day, k.app, k.user)
				if err != nil {
					return err
				}
				n, err := res.RowsAffected()
				if err != nil {
					return err
				}
				if n > 0 {
					ad := appDay{k.day, k.app}
					if counts[ad] == 0 {
						fresh = append(fresh, ad) // in (day, app) order, as ukeys
					}
					counts[ad] += n
				}
			}
			if len(fresh) > 0 {
				cst, err := tx.PrepareContext(ctx, addAppDay)
				if err != nil {
					return err
				}
				defer cst.Close()
				for _, ad := range fresh {
					if _, err := cst.ExecContext(ctx, ad.day, ad.app, counts[ad]); err != nil {
						return err
					}
				}
			}
			ast, err := tx.PrepareContext(ctx, addAppUser)
			if err != nil {
				return err
			}
			defer ast.Close()
			for _, k := range appUsers {
				if _, err := ast.ExecContext(ctx, k.app, k.user, k.day); err != nil {
					return err
				}
			}
			// A user new on a day adds one to the day's count; dayUsers is in day order.
			var dayCounts []struct{ day, users int64 }
			for _, k := range dayUsers {
				res, err := dst.ExecContext(ctx, k.day, k.user)
				if err != nil {
					return err
				}
				n, err := res.RowsAffected()
				if err != nil {
					return err
				}
				if n == 0 {
					continue
				}
				if l := len(dayCounts); l > 0 && dayCounts[l-1].day == k.day {
					dayCounts[l-1].users += n
				} else {
					dayCounts = append(dayCounts, struct{ day, users int64 }{k.day, n})
				}
			}
			if len(dayCounts) > 0 {
				cst, err := tx.PrepareContext(ctx, addDayCount)
				if err != nil {
					return err
				}
				defer cst.Close()
				for _, dc := range dayCounts {
					if _, err := cst.ExecContext(ctx, dc.day, dc.users); err != nil {
						return err
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		return s.fail("add gateway usage", err)
	}
	return nil
}

// GatewayAppUsers lists the users of an application since a day, most recent first.
func (s *Store) GatewayAppUsers(ctx context.Context, appID int, since time.Time, limit int) ([]store.GatewayAppUser, error) {
	from := int64(math.MinInt32)
	if !since.IsZero() {
		from = usageDay(since)
	}
	switch {
	case limit <= 0:
		limit = store.DefaultGatewayAppUsersLimit
	case limit > store.MaxGatewayAppUsersLimit:
		limit = store.MaxGatewayAppUsersLimit
	}
	var out []store.GatewayAppUser
	err := s.read(ctx, func(ctx context.Context, tx *sql.Tx, _ time.Time) error {
		out = nil
		rows, err := tx.QueryContext(ctx, s.d.rebind(
			"SELECT user_key, last_day FROM gateway_usage_app_users WHERE app_id = ? AND last_day >= ?"+
				" ORDER BY last_day DESC, user_key LIMIT ?"), appID, from, limit)
		if err != nil {
			return err
		}
		for rows.Next() {
			var u store.GatewayAppUser
			var day int64
			if err := rows.Scan(&u.User, &day); err != nil {
				rows.Close()
				return err
			}
			u.LastDay = fromUsageDay(day)
			out = append(out, u)
		}
		return closeRows(rows)
	})
	if err != nil {
		return nil, s.fail("list gateway app users", err)
	}
	return out, nil
}

// GatewayUsageSince sums the usage rollups from since's UTC day on.
func (s *Store) GatewayUsageSince(ctx context.Context, since time.Time) (*store.GatewayUsageSummary, error) {
	from := int64(math.MinInt32)
	if !since.IsZero() {
		from = usageDay(since)
	}
	sum := &store.GatewayUsageSummary{AppUsers: map[int]int64{}}
	err := s.read(ctx, func(ctx context.Context, tx *sql.Tx, _ time.Time) error {
		sum.Rows, sum.Days, sum.AppDays = nil, nil, nil
		clear(sum.AppUsers)
		// The last day a key was seen and the sums over the days.
		rows, err := tx.QueryContext(ctx, s.d.rebind(
			"SELECT app_id, app_status, action, category, MAX(day), SUM(requests), SUM(bytes_up), SUM(bytes_down), MAX(app_name)"+
				" FROM gateway_usage WHERE day >= ? GROUP BY app_id, app_status, action, category"+
				" ORDER BY app_id, app_status, action, category"), from)
		if err != nil {
			return err
		}
		for rows.Next() {
			var r store.GatewayUsageRow
			var day int64
			if err := rows.Scan(&r.AppID, &r.Status, &r.Action, &r.Category, &day, &r.Requests, &r.BytesUp, &r.BytesDown, &r.AppName); err != nil {
				rows.Close()
				return err
			}
			r.Day = fromUsageDay(day)
			sum.Rows = append(sum.Rows, r)
		}
		if err := closeRows(rows); err != nil {
			return err
		}

		rows, err = tx.QueryContext(ctx, s.d.rebind(
			"SELECT app_id, COUNT(*) FROM gateway_usage_app_users WHERE last_day >= ? GROUP BY app_id"), from)
		if err != nil {
			return err
		}
		for rows.Next() {
			var app int
			var n int64
			if err := rows.Scan(&app, &n); err != nil {
				rows.Close()
				return err
			}
			sum.AppUsers[app] = n
		}
		if err := closeRows(rows); err != nil {
			return err
		}

		rows, err = tx.QueryContext(ctx, s.d.rebind(
			"SELECT day, app_id, users FROM gateway_usage_app_days WHERE day >= ? ORDER BY app_id, day"), from)
		if err != nil {
			return err
		}
		for rows.Next() {
			var ad store.GatewayUsageAppDay
			var day int64
			if err := rows.Scan(&day, &ad.AppID, &ad.Users); err != nil {
				rows.Close()
				return err
			}
			ad.Day = fromUsageDay(day)
			sum.AppDays = append(sum.AppDays, ad)
		}
		if err := closeRows(rows); err != nil {
			return err
		}

		rows, err = tx.QueryContext(ctx, s.d.rebind(
			"SELECT t.day, t.requests, t.bytes_up, t.bytes_down, COALESCE(u.users, 0) FROM"+
				" (SELECT day, SUM(requests) AS requests, SUM(bytes_up) AS bytes_up, SUM(bytes_down) AS bytes_down"+
				"  FROM gateway_usage WHERE day >= ? GROUP BY day) t"+
				" LEFT JOIN gateway_usage_day_counts u ON u.day = t.day ORDER BY t.day"), from)
		if err != nil {
			return err
		}
		for rows.Next() {
			var d store.GatewayUsageDay
			var day int64
			if err := rows.Scan(&day, &d.Requests, &d.BytesUp, &d.BytesDown, &d.Users); err != nil {
				rows.Close()
				return err
			}
			d.Day = fromUsageDay(day)
			sum.Days = append(sum.Days, d)
		}
		return closeRows(rows)
	})
	if err != nil {
		return nil, s.fail("read gateway usage", err)
	}
	return sum, nil
}

func closeRows(rows *sql.Rows) error {
	err := rows.Err()
	return errors.Join(err, rows.Close())
}

// DeleteGatewayUsageBefore deletes the usage of the UTC days before before's.
func (s *Store) DeleteGatewayUsageBefore(ctx context.Context, before time.Time) (int64, error) {
	day := usageDay(before)
	var n int64
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx, _ time.Time) error {
		res, err := tx.ExecContext(ctx, s.d.rebind("DELETE FROM gateway_usage WHERE day < ?"), day)
		if err != nil {
			return err
		}
		if n, err = res.RowsAffected(); err != nil {
			return err
		}
		if _, err = tx.ExecContext(ctx, s.d.rebind("DELETE FROM gateway_usage_users WHERE day < ?"), day); err != nil {
			return err
		}
		if _, err = tx.ExecContext(ctx, s.d.rebind("DELETE FROM gateway_usage_app_days WHERE day < ?"), day); err != nil {
			return err
		}
		if _, err = tx.ExecContext(ctx, s.d.rebind("DELETE FROM gateway_usage_day_users WHERE day < ?"), day); err != nil {
			return err
		}
		if _, err = tx.ExecContext(ctx, s.d.rebind("DELETE FROM gateway_usage_day_counts WHERE day < ?"), day); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, s.d.rebind("DELETE FROM gateway_usage_app_users WHERE last_day < ?"), day)
		return err
	})
	if err != nil {
		return 0, s.fail("delete gateway usage", err)
	}
	return n, nil
}
