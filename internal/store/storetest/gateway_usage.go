package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// gatewayUsageTests cover the optional GatewayUsage capability; a backend without it skips them.
var gatewayUsageTests = []suiteTest{
	{"AddAndSum", testGatewayUsageAddAndSum},
	{"Since", testGatewayUsageSince},
	{"Invalid", testGatewayUsageInvalid},
	{"Retention", testGatewayUsageRetention},
	{"Concurrent", testGatewayUsageConcurrent},
	{"AppUsers", testGatewayAppUsers},
}

func testGatewayAppUsers(t *testing.T, s store.Store, clock *Clock) {
	u := capability[store.GatewayUsage](t, s)
	who := capability[store.GatewayUsageUsers](t, s)
	ctx := t.Context()
	now := clock.Now()
	day := store.UsageDay(now)
	row := usageRow(now, 1199, "ChatGPT", "unapproved", "allow", "prompt", 1, 1, 1)
	for i, users := range [][]store.GatewayUsageUser{
		{{Day: now.AddDate(0, 0, -3), AppID: 1199, User: "old"}, {Day: now.AddDate(0, 0, -3), AppID: 1199, User: "b"}},
		{{Day: now, AppID: 1199, User: "b"}, {Day: now, AppID: 1199, User: "a"}, {Day: now, AppID: 1199, User: "service_token:ci"}, {Day: now, AppID: 7, User: "z"}},
	} {
		ok(t, fmt.Sprint("AddGatewayUsage ", i), u.AddGatewayUsage(ctx, &store.GatewayUsageBatch{Rows: []store.GatewayUsageRow{row}, Users: users}))
	}
	got, err := who.GatewayAppUsers(ctx, 1199, time.Time{}, 0)
	ok(t, "GatewayAppUsers", err)
	equal(t, "every day", got, []store.GatewayAppUser{{User: "a", LastDay: day}, {User: "b", LastDay: day},
		{User: "service_token:ci", LastDay: day}, {User: "old", LastDay: day.AddDate(0, 0, -3)}})
	got, err = who.GatewayAppUsers(ctx, 1199, now.AddDate(0, 0, -1), 2)
	ok(t, "GatewayAppUsers since", err)
	equal(t, "since yesterday, two", got, []store.GatewayAppUser{{User: "a", LastDay: day}, {User: "b", LastDay: day}})
	got, err = who.GatewayAppUsers(ctx, 42, time.Time{}, 10)
	ok(t, "GatewayAppUsers unknown app", err)
	if len(got) != 0 {
		t.Errorf("users of an application nobody used: %v", got)
	}
	sum, err := u.GatewayUsageSince(ctx, now.AddDate(0, 0, -1))
	ok(t, "GatewayUsageSince", err)
	if sum.AppUsers[1199] != 3 {
		t.Errorf("AppUsers counts %d users since yesterday; GatewayAppUsers lists 3", sum.AppUsers[1199])
	}
}

func usageRow(day time.Time, app int, name, status, action, category string, req, up, down int64) store.GatewayUsageRow {
	return store.GatewayUsageRow{Day: day, AppID: app, AppName: name, Status: status, Action: action,
		Category: category, Requests: req, BytesUp: up, BytesDown: down}
}

func testGatewayUsageAddAndSum(t *testing.T, s store.Store, clock *Clock) {
	u := capability[store.GatewayUsage](t, s)
	ctx := t.Context()
	// The clock is not in UTC: 07:08 at UTC+2 is 05:08 UTC, the same UTC day.
	now := clock.Now()
	day := store.UsageDay(now)
	if day.Location() != time.UTC || day.Hour() != 0 || day.Day() != now.UTC().Day() {
		t.Fatalf("UsageDay(%v) = %v", now, day)
	}
	ok(t, "AddGatewayUsage", u.AddGatewayUsage(ctx, &store.GatewayUsageBatch{
		Rows: []store.GatewayUsageRow{
			usageRow(now, 1199, "ChatGPT", "unreviewed", "allow", "prompt", 2, 100, 1000),
			usageRow(now.Add(time.Hour), 1199, "", "unreviewed", "allow", "prompt", 1, 10, 100), // same key: adds
			usageRow(now, 1199, "ChatGPT", "unreviewed", "block", "upload", 1, 5000, 0),
			usageRow(now, 0, "", "unreviewed", "allow", "other", 3, 1, 2),
		},
		Users: []store.GatewayUsageUser{
			{Day: now, AppID: 1199, User: "u1"}, {Day: now, AppID: 1199, User: "u1"},
			{Day: now, AppID: 1199, User: "service_token:ci"}, {Day: now, AppID: 0, User: "u1"},
		},
	}))
	// A second batch adds to the same rows and repeats a user.
	ok(t, "AddGatewayUsage again", u.AddGatewayUsage(ctx, &store.GatewayUsageBatch{
		Rows:  []store.GatewayUsageRow{usageRow(now, 1199, "ChatGPT", "unreviewed", "allow", "prompt", 1, 1, 1)},
		Users: []store.GatewayUsageUser{{Day: now, AppID: 1199, User: "u1"}, {Day: now, AppID: 1199, User: "u2"}},
	}))
	ok(t, "empty batch", u.AddGatewayUsage(ctx, &store.GatewayUsageBatch{}))

	sum, err := u.GatewayUsageSince(ctx, time.Time{})
	ok(t, "GatewayUsageSince", err)
	equal(t, "rows", sum.Rows, []store.GatewayUsageRow{
		usageRow(day, 0, "", "unreviewed", "allow", "other", 3, 1, 2),
		usageRow(day, 1199, "ChatGPT", "unreviewed", "allow", "prompt", 4, 111, 1101),
		usageRow(day, 1199, "ChatGPT", "unreviewed", "block", "upload", 1, 5000, 0),
	})
	equal(t, "app users", sum.AppUsers, map[int]int64{0: 1, 1199: 3})
	equal(t, "app days", sum.AppDays, []store.GatewayUsageAppDay{{Day: day, AppID: 0, Users: 1}, {Day: day, AppID: 1199, Users: 3}})
	equal(t, "days", sum.Days, []store.GatewayUsageDay{{Day: day, Requests: 8, BytesUp: 5112, BytesDown: 1103, Users: 3}})

	// A later name replaces nothing when empty, and a new one is kept.
	ok(t, "rename", u.AddGatewayUsage(ctx, &store.GatewayUsageBatch{
		Rows: []store.GatewayUsageRow{usageRow(now, 0, "", "unreviewed", "allow", "other", 1, 0, 0)}}))
	sum, err = u.GatewayUsageSince(ctx, now)
	ok(t, "GatewayUsageSince", err)
	if sum.Rows[0].AppName != "" || sum.Rows[0].Requests != 4 {
		t.Errorf("row after an unnamed add: %+v", sum.Rows[0])
	}
}

func testGatewayUsageSince(t *testing.T, s store.Store, clock *Clock) {
	u := capability[store.GatewayUsage](t, s)
	ctx := t.Context()
	d0 := store.UsageDay(clock.Now())
	for i := range 3 {
		day := d0.AddDate(0, 0, i)
		b := &store.GatewayUsageBatch{Rows: []store.GatewayUsageRow{
			usageRow(day.Add(23*time.Hour+59*time.Minute), 7, "App", "approved", "allow", "other", int64(i+1), 10, 20),
		}}
		for j := 0; j <= i; j++ {
			b.Users = append(b.Users, store.GatewayUsageUser{Day: day, AppID: 7, User: fmt.Sprintf("user-%d", j)})
		}
		ok(t, "AddGatewayUsage", u.AddGatewayUsage(ctx, b))
	}
	sum, err := u.GatewayUsageSince(ctx, d0.AddDate(0, 0, 1).Add(12*time.Hour)) // mid-day counts from that day's start
	ok(t, "GatewayUsageSince", err)
	equal(t, "days", sum.Days, []store.GatewayUsageDay{
		{Day: d0.AddDate(0, 0, 1), Requests: 2, BytesUp: 10, BytesDown: 20, Users: 2},
		{Day: d0.AddDate(0, 0, 2), Requests: 3, BytesUp: 10, BytesDown: 20, Users: 3},
	})
	equal(t, "rows", sum.Rows, []store.GatewayUsageRow{usageRow(d0.AddDate(0, 0, 2), 7, "App", "approved", "allow", "other", 5, 20, 40)})
	equal(t, "app users", sum.AppUsers, map[int]int64{7: 3})
	equal(t, "app days", sum.AppDays, []store.GatewayUsageAppDay{{Day: d0.AddDate(0, 0, 1), AppID: 7, Users: 2}, {Day: d0.AddDate(0, 0, 2), AppID: 7, Users: 3}})

	sum, err = u.GatewayUsageSince(ctx, d0.AddDate(0, 0, 3))
	ok(t, "GatewayUsageSince (future)", err)
	if len(sum.Rows) != 0 || len(sum.Days) != 0 || len(sum.AppUsers) != 0 || len(sum.AppDays) != 0 {
		t.Errorf("usage since a day without any: %+v", sum)
	}
}

func testGatewayUsageInvalid(t *testing.T, s store.Store, clock *Clock) {
	u := capability[store.GatewayUsage](t, s)
	ctx := t.Context()
	now := clock.Now()
	good := usageRow(now, 1, "A", "approved", "allow", "other", 1, 1, 1)
	for name, b := range map[string]*store.GatewayUsageBatch{
		"zero day":       {Rows: []store.GatewayUsageRow{good, usageRow(time.Time{}, 1, "A", "approved", "allow", "other", 1, 1, 1)}},
		"no status":      {Rows: []store.GatewayUsageRow{good, usageRow(now, 1, "A", "", "allow", "other", 1, 1, 1)}},
		"no action":      {Rows: []store.GatewayUsageRow{good, usageRow(now, 1, "A", "approved", "", "other", 1, 1, 1)}},
		"no category":    {Rows: []store.GatewayUsageRow{good, usageRow(now, 1, "A", "approved", "allow", "", 1, 1, 1)}},
		"negative":       {Rows: []store.GatewayUsageRow{good, usageRow(now, 1, "A", "approved", "allow", "other", 1, -1, 1)}},
		"empty user":     {Rows: []store.GatewayUsageRow{good}, Users: []store.GatewayUsageUser{{Day: now, AppID: 1}}},
		"user, zero day": {Rows: []store.GatewayUsageRow{good}, Users: []store.GatewayUsageUser{{AppID: 1, User: "u"}}},
	} {
		if err := u.AddGatewayUsage(ctx, b); err == nil {
			t.Errorf("%s: AddGatewayUsage succeeded", name)
		}
	}
	sum, err := u.GatewayUsageSince(ctx, time.Time{})
	ok(t, "GatewayUsageSince", err)
	if len(sum.Rows) != 0 || len(sum.Days) != 0 {
		t.Errorf("a refused batch left usage behind: %+v", sum)
	}
}

func testGatewayUsageRetention(t *testing.T, s store.Store, clock *Clock) {
	u := capability[store.GatewayUsage](t, s)
	ctx := t.Context()
	d0 := store.UsageDay(clock.Now())
	for i := range 4 {
		day := d0.AddDate(0, 0, i)
		ok(t, "AddGatewayUsage", u.AddGatewayUsage(ctx, &store.GatewayUsageBatch{
			Rows: []store.GatewayUsageRow{
				usageRow(day, 1, "A", "approved", "allow", "other", 1, 0, 0),
				usageRow(day, 2, "B", "approved", "allow", "other", 1, 0, 0),
			},
			Users: []store.GatewayUsageUser{{Day: day, AppID: 1, User: fmt.Sprint("u", i)}},
		}))
	}
	n, err := u.DeleteGatewayUsageBefore(ctx, d0.AddDate(0, 0, 2).Add(18*time.Hour))
	ok(t, "DeleteGatewayUsageBefore", err)
	if n != 4 {
		t.Errorf("deleted %d rows, want 4 (two days of two apps)", n)
	}
	sum, err := u.GatewayUsageSince(ctx, time.Time{})
	ok(t, "GatewayUsageSince", err)
	if len(sum.Days) != 2 || !sum.Days[0].Day.Equal(d0.AddDate(0, 0, 2)) || sum.Days[0].Users != 1 || sum.AppUsers[1] != 2 || len(sum.AppDays) != 2 {
		t.Errorf("after retention: %+v", sum)
	}
	n, err = u.DeleteGatewayUsageBefore(ctx, d0)
	ok(t, "DeleteGatewayUsageBefore (nothing)", err)
	if n != 0 {
		t.Errorf("deleted %d rows before the first day", n)
	}
}

// testGatewayUsageConcurrent: batches written at once add up exactly.
func testGatewayUsageConcurrent(t *testing.T, s store.Store, clock *Clock) {
	u := capability[store.GatewayUsage](t, s)
	ctx := t.Context()
	now := clock.Now()
	const writers, each = 8, 10
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				errs <- u.AddGatewayUsage(ctx, &store.GatewayUsageBatch{
					Rows: []store.GatewayUsageRow{
						usageRow(now, 1, "A", "approved", "allow", "other", 1, 10, 100),
						usageRow(now, 2, "B", "unapproved", "block", "upload", 2, 20, 0),
					},
					Users: []store.GatewayUsageUser{{Day: now, AppID: 1, User: fmt.Sprintf("u%d-%d", w, i%3)}},
				})
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		ok(t, "concurrent AddGatewayUsage", err)
	}
	sum, err := u.GatewayUsageSince(ctx, now)
	ok(t, "GatewayUsageSince", err)
	day := store.UsageDay(now)
	equal(t, "rows", sum.Rows, []store.GatewayUsageRow{
		usageRow(day, 1, "A", "approved", "allow", "other", writers*each, 10*writers*each, 100*writers*each),
		usageRow(day, 2, "B", "unapproved", "block", "upload", 2*writers*each, 20*writers*each, 0),
	})
	equal(t, "app users", sum.AppUsers, map[int]int64{1: writers * 3})
	equal(t, "app days", sum.AppDays, []store.GatewayUsageAppDay{{Day: day, AppID: 1, Users: writers * 3}})
	// Each user counted once in the day's unique users, however many batches named them.
	equal(t, "days", sum.Days, []store.GatewayUsageDay{{Day: day, Requests: 3 * writers * each, BytesUp: 30 * writers * each, BytesDown: 100 * writers * each, Users: writers * 3}})
}
