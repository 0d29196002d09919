package sqlstore

import (
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// BenchmarkAppendPromptLogs measures one batch of 100 prompt logs (5 applications, 3 topics, 4
// actions, 20 users) on SQLite: the cost of a log writer's flush, rollups included.
func BenchmarkAppendPromptLogs(b *testing.B) {
	s, _ := openTemp(b)
	ctx := b.Context()
	now := time.Now()
	batch := make([]store.PromptLog, 100)
	for b.Loop() {
		for i := range batch {
			batch[i] = store.PromptLog{Time: now, AppID: fmt.Sprint(i % 5), PolicyAction: []string{"allow", "block", "redirect", ""}[i%4],
				UserEmail: fmt.Sprint("u", i%20, "@example.com"), PayloadEnc: make([]byte, 512),
				Topics: []store.PromptLogTopic{{ID: fmt.Sprint("topic", i%3), Confidence: "medium"}}}
		}
		if err := s.AppendPromptLogs(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppendAuthEvent measures one auth event on SQLite, rollups included.
func BenchmarkAppendAuthEvent(b *testing.B) {
	s, _ := openTemp(b)
	ctx := b.Context()
	i := 0
	for b.Loop() {
		i++
		e := store.AuthEvent{Action: "login", Allowed: i%3 != 0, AppID: fmt.Sprint("app", i%5), IdPID: "okta"}
		if !e.Allowed {
			e.Reasons = []string{"not_in_policy"}
		}
		if err := s.AppendAuthEvent(ctx, &e); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAddGatewayUsage measures one usage recorder flush on SQLite: 50 rollup rows (25
// applications) and 200 (application, user) pairs of 100 users, about half of them new to the
// store, per-day counts included.
func BenchmarkAddGatewayUsage(b *testing.B) {
	s, _ := openTemp(b)
	ctx := b.Context()
	day := time.Now()
	n := 0
	for b.Loop() {
		bt := &store.GatewayUsageBatch{}
		for i := range 50 {
			bt.Rows = append(bt.Rows, store.GatewayUsageRow{Day: day, AppID: i % 25, AppName: "A", Status: "approved",
				Action: []string{"allow", "block"}[i%2], Category: "other", Requests: 3, BytesUp: 100, BytesDown: 1000})
		}
		for i := range 200 {
			bt.Users = append(bt.Users, store.GatewayUsageUser{Day: day, AppID: i % 25, User: fmt.Sprint("u", (n+i)%100000)})
		}
		n += 100
		if err := s.AddGatewayUsage(ctx, bt); err != nil {
			b.Fatal(err)
		}
	}
}
