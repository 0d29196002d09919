package usage

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse/gatehouse/internal/gateway"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
)

// fakeStore records batches and retention deletes; fail makes writes fail.
type fakeStore struct {
	mu      sync.Mutex
	batches []*store.GatewayUsageBatch
	deletes []time.Time
	fail    error
}

func (f *fakeStore) AddGatewayUsage(_ context.Context, b *store.GatewayUsageBatch) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return f.fail
	}
	f.batches = append(f.batches, b)
	return nil
}

func (f *fakeStore) GatewayUsageSince(context.Context, time.Time) (*store.GatewayUsageSummary, error) {
	return nil, errors.New("not implemented")
}

func (f *fakeStore) DeleteGatewayUsageBefore(_ context.Context, before time.Time) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deletes = append(f.deletes, before)
	return 0, nil
}

// rows returns the rows of every batch, sorted, and the users.
func (f *fakeStore) written() ([]store.GatewayUsageRow, []store.GatewayUsageUser) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var rows []store.GatewayUsageRow
	var users []store.GatewayUsageUser
	for _, b := range f.batches {
		rows = append(rows, b.Rows...)
		users = append(users, b.Users...)
	}
	slices.SortFunc(rows, func(a, b store.GatewayUsageRow) int {
		return compare(fmt.Sprint(a.Day.Unix(), a.AppID, a.Status, a.Action, a.Category), fmt.Sprint(b.Day.Unix(), b.AppID, b.Status, b.Action, b.Category))
	})
	slices.SortFunc(users, func(a, b store.GatewayUsageUser) int {
		return compare(fmt.Sprint(a.Day.Unix(), a.AppID, a.User), fmt.Sprint(b.Day.Unix(), b.AppID, b.User))
	})
	return rows, users
}

func compare(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

var (
	day0 = time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	day1 = day0.AddDate(0, 0, 1)
)

func ev(t time.Time, user, token string, app int, name string, up, down int64) gateway.Event {
	return gateway.Event{Time: t, UserID: user, ServiceTokenID: token, Host: "h.example", Method: "GET",
		AppID: app, AppName: name, AppStatus: "unreviewed", Status: 200, Outcome: "forwarded", BytesUp: up, BytesDown: down}
}

func TestAggregation(t *testing.T) {
	fs := &fakeStore{}
	r := New(Options{Store: fs, Now: func() time.Time { return day1 }})
	late := time.Date(2026, 12, 7, 23, 59, 0, 0, time.FixedZone("UTC-5", -5*3600)) // day1 in UTC
	for _, e := range []gateway.Event{
		ev(day0.Add(time.Hour), "u1", "", 1199, "ChatGPT", 100, 1000),
		ev(day0.Add(2*time.Hour), "u1", "", 1199, "ChatGPT", 50, 500),
		ev(day0.Add(3*time.Hour), "u2", "", 1199, "ChatGPT", 1, 2),
		ev(day0.Add(3*time.Hour), "", "ci", 1199, "ChatGPT", 1, 2),
		ev(late, "u1", "", 1199, "ChatGPT", 7, 8),
		ev(day0, "u1", "", 0, "", 3, 4),
		{Time: day0, Host: "h.example", Status: 407, Outcome: "refused"},               // a proxy-auth challenge: not counted
		{Time: day0, Outcome: "local", Status: 200, UserID: "u1"},                      // the PAC file: not counted
		{Time: day0, Host: "x.example", Status: 403, Outcome: "refused", UserID: "u3"}, // refused by the gateway
		{Time: day0, Host: "chatgpt.com", AppID: 1199, AppName: "ChatGPT", AppStatus: "unapproved", // a policy's block
			Action: "block", Category: "upload", RuleID: "r1", Status: 403, Outcome: "refused", UserID: "u1", BytesUp: 10},
	} {
		r.Record(e)
	}
	if err := r.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	rows, users := fs.written()
	want := []store.GatewayUsageRow{
		{Day: day0, AppID: 0, Status: "unreviewed", Action: "allow", Category: "other", Requests: 1, BytesUp: 3, BytesDown: 4},
		{Day: day0, AppID: 0, Status: "unreviewed", Action: "refused", Category: "other", Requests: 1},
		{Day: day0, AppID: 1199, AppName: "ChatGPT", Status: "unapproved", Action: "block", Category: "upload", Requests: 1, BytesUp: 10},
		{Day: day0, AppID: 1199, AppName: "ChatGPT", Status: "unreviewed", Action: "allow", Category: "other", Requests: 4, BytesUp: 152, BytesDown: 1504},
		{Day: day1, AppID: 1199, AppName: "ChatGPT", Status: "unreviewed", Action: "allow", Category: "other", Requests: 1, BytesUp: 7, BytesDown: 8},
	}
	if !slices.Equal(rows, want) {
		t.Errorf("rows:\n got %+v\nwant %+v", rows, want)
	}
	wantUsers := []store.GatewayUsageUser{
		{Day: day0, AppID: 0, User: "u1"}, {Day: day0, AppID: 0, User: "u3"},
		{Day: day0, AppID: 1199, User: "service_token:ci"}, {Day: day0, AppID: 1199, User: "u1"}, {Day: day0, AppID: 1199, User: "u2"},
		{Day: day1, AppID: 1199, User: "u1"},
	}
	if !slices.Equal(users, wantUsers) {
		t.Errorf("users:\n got %+v\nwant %+v", users, wantUsers)
	}
	if n := float64(r.Stats().Recorded); n != 8 {
		t.Errorf("recorded %v events, want 8", n)
	}

	// A second flush writes only what is new; a user already written is not written again.
	fs.batches = nil
	r.Record(ev(day0.Add(time.Hour), "u1", "", 1199, "ChatGPT", 1, 1))
	r.Record(ev(day0.Add(time.Hour), "u4", "", 1199, "ChatGPT", 1, 1))
	if err := r.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	rows, users = fs.written()
	if len(rows) != 1 || rows[0].Requests != 2 || !slices.Equal(users, []store.GatewayUsageUser{{Day: day0, AppID: 1199, User: "u4"}}) {
		t.Errorf("second flush: rows %+v users %+v", rows, users)
	}
	// Nothing pending: nothing written.
	fs.batches = nil
	if err := r.Flush(t.Context()); err != nil || len(fs.batches) != 0 {
		t.Errorf("empty flush wrote %d batches (%v)", len(fs.batches), err)
	}
}

// TestFlushFailureKeepsCounts: a failed write keeps the sums, which keep adding up and are
// written by the next flush that succeeds.
func TestFlushFailureKeepsCounts(t *testing.T) {
	fs := &fakeStore{fail: store.ErrUnavailable}
	r := New(Options{Store: fs, Now: func() time.Time { return day0 }})
	r.Record(ev(day0, "u1", "", 5, "A", 1, 2))
	if err := r.Flush(t.Context()); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Flush with the store down: %v", err)
	}
	r.Record(ev(day0, "u2", "", 5, "A", 10, 20))
	fs.fail = nil
	if err := r.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	rows, users := fs.written()
	if len(rows) != 1 || rows[0].Requests != 2 || rows[0].BytesUp != 11 || rows[0].BytesDown != 22 || len(users) != 2 {
		t.Errorf("after recovery: rows %+v users %+v", rows, users)
	}
	if n := float64(r.Stats().FlushErrors); n != 1 {
		t.Errorf("flush errors %v, want 1", n)
	}
}

// TestBoundedQueue: Record never blocks; what does not fit is dropped and counted.
func TestBoundedQueue(t *testing.T) {
	fs := &fakeStore{}
	reg := prometheus.NewRegistry()
	r := New(Options{Store: fs, QueueSize: 4, Registerer: reg, Now: func() time.Time { return day0 }})
	start := time.Now()
	for i := range 10 {
		r.Record(ev(day0, fmt.Sprint("u", i), "", 1, "A", 1, 1)) // not started: nobody reads
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("Record blocked for %v", d)
	}
	if n := float64(r.Stats().Dropped[DropQueueFull]); n != 6 {
		t.Errorf("dropped %v events, want 6", n)
	}
	if err := r.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	rows, _ := fs.written()
	if len(rows) != 1 || rows[0].Requests != 4 {
		t.Errorf("rows %+v, want the 4 queued events", rows)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var queueFull float64
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			if mf.GetName() == "gatehouse_gateway_usage_dropped_total" && m.GetLabel()[0].GetValue() == DropQueueFull {
				queueFull = m.GetCounter().GetValue()
			}
		}
	}
	if queueFull != 6 {
		t.Errorf("gatehouse_gateway_usage_dropped_total{reason=queue_full} = %v, want 6", queueFull)
	}
}

// TestBoundedPending: with the store unreachable, the pending sums stop growing at their bound;
// events that need a new key are dropped, the others still add up.
func TestBoundedPending(t *testing.T) {
	fs := &fakeStore{fail: store.ErrUnavailable}
	r := New(Options{Store: fs, MaxPendingKeys: 2, MaxPendingUsers: 3, Now: func() time.Time { return day0 }})
	for app := 1; app <= 3; app++ {
		r.Record(ev(day0, "u1", "", app, "A", 1, 1))
	}
	r.Record(ev(day0, "u1", "", 1, "A", 1, 1)) // existing key and user: counted
	r.Record(ev(day0, "u2", "", 1, "A", 1, 1)) // a third user
	r.Record(ev(day0, "u3", "", 1, "A", 1, 1)) // a fourth: over the bound
	_ = r.Flush(t.Context())
	if n := float64(r.Stats().Dropped[DropPendingFull]); n != 2 {
		t.Errorf("dropped %v, want 2 (a third app, a fourth user)", n)
	}
	if len(r.pending) != 2 || len(r.users) != 3 || r.pending[rollupKey{unixDay(day0), 1, "unreviewed", "allow", "other"}].requests != 3 {
		t.Errorf("pending %d keys, %d users", len(r.pending), len(r.users))
	}
}

// TestRetention: a flush deletes the days past the retention, at most once an hour.
func TestRetention(t *testing.T) {
	fs := &fakeStore{}
	now := day0.Add(10 * time.Hour)
	r := New(Options{Store: fs, Retention: 48 * time.Hour, Now: func() time.Time { return now }})
	for range 2 {
		if err := r.Flush(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	now = now.Add(61 * time.Minute)
	if err := r.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	want := []time.Time{day0.Add(-38 * time.Hour), day0.Add(-38*time.Hour + 61*time.Minute)}
	if !slices.EqualFunc(fs.deletes, want, time.Time.Equal) {
		t.Errorf("deletes %v, want %v", fs.deletes, want)
	}
}

// TestStartClose: the running recorder flushes on its own ticker, and Close writes what is
// left and drops what comes after.
func TestStartClose(t *testing.T) {
	fs := &fakeStore{}
	r := New(Options{Store: fs, FlushInterval: 20 * time.Millisecond, Now: func() time.Time { return day0 }})
	r.Start()
	r.Record(ev(day0, "u1", "", 1, "A", 1, 1))
	deadline := time.Now().Add(5 * time.Second)
	for {
		if rows, _ := fs.written(); len(rows) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the ticker never flushed")
		}
		time.Sleep(5 * time.Millisecond)
	}
	r.Record(ev(day0, "u2", "", 2, "B", 1, 1))
	if err := r.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	rows, users := fs.written()
	if len(rows) != 2 || len(users) != 2 {
		t.Errorf("after Close: rows %+v users %+v", rows, users)
	}
	r.Record(ev(day0, "u3", "", 3, "C", 1, 1))
	if n := float64(r.Stats().Dropped[DropClosed]); n != 1 {
		t.Errorf("dropped after Close: %v", n)
	}
	if err := r.Close(t.Context()); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestConcurrentRecord: events recorded from many goroutines while the recorder flushes are
// all counted (the queue is large enough), with -race checking the hand-off.
func TestConcurrentRecord(t *testing.T) {
	fs := &fakeStore{}
	r := New(Options{Store: fs, QueueSize: 1 << 14, FlushInterval: time.Millisecond, Now: func() time.Time { return day0 }})
	r.Start()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				r.Record(ev(day0, fmt.Sprint("u", g), "", i%7, "A", 1, 2))
			}
		})
	}
	wg.Wait()
	if err := r.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	rows, _ := fs.written()
	var req, up int64
	for _, row := range rows {
		req += row.Requests
		up += row.BytesUp
	}
	if req != 4000 || up != 4000 {
		t.Errorf("counted %d requests, %d bytes; want 4000 each", req, up)
	}
}

func openSQLite(t testing.TB, now func() time.Time) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.Open(context.Background(), "sqlite", filepath.Join(t.TempDir(), "g.db"), sqlstore.WithClock(now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// countingStore counts write attempts and always fails them.
type countingStore struct {
	fakeStore
	mu       sync.Mutex
	attempts int
}

func (c *countingStore) AddGatewayUsage(context.Context, *store.GatewayUsageBatch) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.attempts++
	return store.ErrUnavailable
}

// TestNoRetryStorm: with the store down and the pending sums past half their bound, events do
// not each trigger a write; the ticker retries.
func TestNoRetryStorm(t *testing.T) {
	cs := &countingStore{}
	r := New(Options{Store: cs, MaxPendingKeys: 4, FlushInterval: time.Hour, Now: func() time.Time { return day0 }})
	r.Start()
	for app := range 50 {
		r.Record(ev(day0, "u", "", app%3, "A", 1, 1))
	}
	deadline := time.Now().Add(5 * time.Second)
	for r.Stats().Recorded+r.Stats().Dropped[DropPendingFull] < 50 {
		if time.Now().After(deadline) {
			t.Fatalf("events not summed: %+v", r.Stats())
		}
		time.Sleep(time.Millisecond)
	}
	cs.mu.Lock()
	attempts := cs.attempts
	cs.mu.Unlock()
	if attempts != 1 {
		t.Errorf("%d write attempts for 50 events with the store down; want the first early flush only", attempts)
	}
	if err := r.Close(t.Context()); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Close with the store down: %v", err)
	}
}

// TestRetentionDeletesReportRollups: the recorder's retention also deletes the console's report
// rollups (prompts, MCP calls, auth events) of the days past it, and keeps the days within it.
func TestRetentionDeletesReportRollups(t *testing.T) {
	now := day0.Add(10 * time.Hour)
	st := openSQLite(t, func() time.Time { return now })
	ctx := t.Context()
	for _, at := range []time.Time{now.Add(-5 * 24 * time.Hour), now} {
		if err := st.AppendPromptLogs(ctx, []store.PromptLog{{Time: at, PayloadEnc: []byte{2}}}); err != nil {
			t.Fatal(err)
		}
		if err := st.AppendAuthEvent(ctx, &store.AuthEvent{Time: at, Action: "login", Allowed: true}); err != nil {
			t.Fatal(err)
		}
	}
	r := New(Options{Store: st, Retention: 48 * time.Hour, Now: func() time.Time { return now }})
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	p, err := st.PromptReportSince(ctx, time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	a, err := st.AuthReportSince(ctx, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Prompts != 1 || a.Allowed != 1 {
		t.Errorf("after the retention: %d prompts, %d allowed events counted; want the day within it only (1 each)", p.Prompts, a.Allowed)
	}
}
