package usage

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/gateway"
)

// BenchmarkRecord is the cost of Record on the request path (the hand-off to the aggregating
// goroutine, which runs meanwhile).
func BenchmarkRecord(b *testing.B) {
	r := New(Options{Store: &fakeStore{}, QueueSize: 1 << 16, FlushInterval: time.Hour})
	r.Start()
	defer r.Close(context.Background())
	e := ev(day0, "user-1", "", 1199, "ChatGPT", 100, 1000)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r.Record(e)
		}
	})
	b.StopTimer()
	s := r.Stats()
	b.ReportMetric(float64(s.Dropped[DropQueueFull])/float64(b.N), "dropped/op")
}

// BenchmarkAggregate is the aggregating goroutine's cost per event (existing key and user).
func BenchmarkAggregate(b *testing.B) {
	r := New(Options{Store: &fakeStore{}})
	events := make([]gateway.Event, 1024)
	for i := range events {
		events[i] = ev(day0, fmt.Sprint("user-", i%50), "", i%20, "App", 100, 1000)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		r.add(&events[i%len(events)])
	}
}

// BenchmarkReportQuery reads the report over the rollups of 1M events (30 days, 100
// applications, 200 users, 3 categories, 2 actions) in SQLite.
func BenchmarkReportQuery(b *testing.B) {
	const events, days, apps, users = 1_000_000, 30, 100, 200
	now := day0.AddDate(0, 0, days)
	st := openSQLite(b, func() time.Time { return now })
	r := New(Options{Store: st, MaxPendingKeys: 1 << 20, MaxPendingUsers: 1 << 22, Now: func() time.Time { return now }})
	rng := rand.New(rand.NewPCG(1, 2))
	cats, actions := []string{"prompt", "upload", "other"}, []string{"allow", "block"}
	start := time.Now()
	for i := range events {
		d := i * days / events
		e := ev(day0.AddDate(0, 0, d), fmt.Sprint("user-", rng.IntN(users)), "", rng.IntN(apps)+1, "App", 1000, 5000)
		e.Category, e.Action = cats[rng.IntN(3)], actions[rng.IntN(2)]
		r.add(&e)
		if (i+1)%(events/days) == 0 {
			if err := r.Flush(context.Background()); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := r.Flush(context.Background()); err != nil {
		b.Fatal(err)
	}
	sum, err := st.GatewayUsageSince(context.Background(), time.Time{})
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("loaded 1M events in %v: %d rollup keys over the period, %d days", time.Since(start).Round(time.Millisecond), len(sum.Rows), len(sum.Days))
	for b.Loop() {
		rep, err := Query(context.Background(), st, day0, DefaultTop, nil)
		if err != nil {
			b.Fatal(err)
		}
		if rep.Totals.Requests != events {
			b.Fatalf("report counts %d requests", rep.Totals.Requests)
		}
	}
}
